//! A long randomized history: folding it live, in random batches, with a crash
//! and re-delivery in the middle, gives exactly the tables and the answers of
//! one rebuild from position zero.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, Utc};
use leye_domain::{
    envelope::EventMetadata,
    person::*,
    values::{CountyCode, DateRange, DistrictCode, Fen, PersonName, Residence, ResidentId},
};
use leye_projections::{Decoded, Jurisdiction, Period, Projector, ReadModel, TargetParams};
use leye_store::{Position, RecordedEvent, StreamName};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rusqlite::Connection;
use uuid::Uuid;

const COMMUNITIES: [&str; 5] = ["120111001001", "120111001002", "120111002001", "120101001001", "120116003004"];

fn resident_id(i: u32) -> ResidentId {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first17 = format!("1201111970{:02}{:02}{:03}", 1 + i % 12, 1 + i % 28, i % 1000);
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    ResidentId::parse(&format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char), NaiveDate::MAX).unwrap()
}

/// A random but valid history: every event is what the decider accepted.
fn history(seed: u64, persons: u32, steps: usize) -> Vec<RecordedEvent> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let mut cases: HashMap<u32, (PersonCase, NaiveDate, u64)> = HashMap::new();
    let mut log = Vec::new();
    let household = Uuid::from_u128(42);
    for _ in 0..steps {
        let i = rng.random_range(0..persons);
        let (case, last, _) = cases.entry(i).or_insert((PersonCase::default(), start, 0));
        let on = (*last + Days::new(rng.random_range(0..20))).min(today);
        let community = COMMUNITIES[(i as usize) % COMMUNITIES.len()];
        let command = match rng.random_range(0..15) {
            0 | 1 => PersonCommand::RegisterUnemployment(Registration {
                resident_id: resident_id(i).into(),
                name: Some(PersonName::parse("随机").unwrap()),
                hukou: Hukou { county: CountyCode::parse(&community[..6]).unwrap(), nature: HukouNature::Urban },
                // A third of the persons move between registrations.
                residence: {
                    let at = if i % 3 == 0 { COMMUNITIES[rng.random_range(0..COMMUNITIES.len())] } else { community };
                    Residence::parse(&at[..6], &at[..9], at).unwrap()
                },
                education: Education::SeniorSecondary,
                graduation: None,
                household: (i % 7 == 0)
                    .then_some(HouseholdMembership { household_id: household, relation: HouseholdRelation::Other }),
                groups: if i % 5 == 0 {
                    [PersonGroup::GraduateUnemployedAfterSchool].into()
                } else {
                    Default::default()
                },
            }),
            2 | 3 => PersonCommand::RecordContact(Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: String::new(),
            }),
            4 => PersonCommand::RecommendJob(JobRecommendation {
                vacancy_id: "v".into(),
                enterprise: None,
                two_way: rng.random(),
            }),
            5 => PersonCommand::RecordPlacement(Placement {
                kind: if rng.random() { PlacementKind::Flexible } else { PlacementKind::SelfEmployed },
                employer: None,
                contract_months: None,
            }),
            6 => PersonCommand::EndPlacement(PlacementEnd { reason: PlacementEndReason::Resigned }),
            7 => PersonCommand::ExitRegistration(RegistrationExit { reason: ExitReason::NoLongerSeeking }),
            8 => PersonCommand::RecogniseDifficulty(Difficulty {
                categories: if i % 7 == 0 {
                    [DifficultyCategory::ZeroEmploymentHousehold].into()
                } else {
                    [DifficultyCategory::Disabled].into()
                },
                valid: DateRange::new(on, on + Days::new(365)).unwrap(),
            }),
            9 => match rng.random_range(0..4) {
                0 => PersonCommand::StartBenefit(BenefitStart { months: 12, extended_to_retirement: false }),
                1 => PersonCommand::EndBenefit(BenefitEnd { reason: BenefitEndReason::Employed }),
                2 => PersonCommand::CompleteTraining(TrainingCompletion {
                    training_id: format!("t{}", rng.random_range(0..3)),
                    certificate: None,
                }),
                _ => PersonCommand::DropTraining(TrainingDrop {
                    training_id: format!("t{}", rng.random_range(0..3)),
                    reason: "r".into(),
                }),
            },
            10 => {
                let k = rng.random_range(0..3);
                PersonCommand::NoteEligibility(EligibilityFinding {
                    rule_id: format!("r.rule.{k}"),
                    rule_valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                    programme: format!("p{k}"),
                    clause: "000 § 9".into(),
                    reasons: vec![EligibilityReason {
                        check: "c".into(),
                        detail: "d".into(),
                        clause: "000 § 9".into(),
                    }],
                    amount: (k == 0).then(|| Fen::positive(100_000).unwrap()),
                })
            }
            11 => {
                let k = rng.random_range(0..3);
                // Proposals, their approval or rejection, revocations; the
                // decider refuses what is out of order (a review of nothing,
                // a second review, a self-review).
                let reviewer = |user: &str| leye_domain::subsidy::Reviewer { user: user.into(), supervisor: true };
                match rng.random_range(0..4) {
                    0 => PersonCommand::RevokeSubsidy(SubsidyRevocation {
                        subsidy_id: format!("s{k}"),
                        reason: "r".into(),
                    }),
                    1 => PersonCommand::ApproveSubsidy(leye_domain::subsidy::ApproveProposal {
                        proposal_id: format!("s{k}"),
                        reviewer: reviewer(if rng.random_range(0..4) == 0 { "staff" } else { "chief" }),
                    }),
                    2 => PersonCommand::RejectSubsidyProposal(leye_domain::subsidy::RejectProposal {
                        proposal_id: format!("s{k}"),
                        reviewer: reviewer("chief"),
                        reason: "r".into(),
                    }),
                    _ => PersonCommand::ProposeSubsidy(leye_domain::subsidy::SubsidyProposal {
                        grant: SubsidyGrant {
                            subsidy_id: format!("s{k}"),
                            programme: format!("p{k}"),
                            amount: Fen::positive(100_000).unwrap(),
                            period: DateRange::new(on, on).unwrap(),
                            payee: Payee::Person,
                            policy_clause: "000 § 9".into(),
                        },
                        rule_id: format!("r.rule.{k}"),
                        rule_valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                        proposed_by: "staff".into(),
                        reasons: vec![],
                        inputs: Default::default(),
                    }),
                }
            }
            // Households 42 and 43: members join and leave (the decider refuses
            // a second household, a leave of another one, and dates out of order).
            12 => PersonCommand::JoinHousehold(HouseholdMembership {
                household_id: Uuid::from_u128(42 + rng.random_range(0..2)),
                relation: HouseholdRelation::Other,
            }),
            13 => PersonCommand::LeaveHousehold(HouseholdLeave {
                household_id: Uuid::from_u128(42 + rng.random_range(0..2)),
            }),
            _ => PersonCommand::EnrolTraining(TrainingEnrolment {
                training_id: format!("t{}", rng.random_range(0..3)),
                programme: TrainingProgramme::StartUpMalanhua,
                provider: "p".into(),
            }),
        };
        let Ok(events) = decide(case, DatedCommand { effective_date: on, command }, today) else { continue };
        let (case, last, revision) = cases.get_mut(&i).unwrap();
        *last = on;
        for event in events {
            case.apply(&event);
            let position = log.len() as u64 + 1;
            log.push(recorded(i, *revision, position, &community[..6], &event));
            *revision += 1;
        }
    }
    log
}

/// Event `revision` of person `i`'s stream at `position` of the log.
fn recorded(i: u32, revision: u64, position: u64, district: &str, event: &PersonEvent) -> RecordedEvent {
    let stream = format!("person-{}", Uuid::from_u128(u128::from(i) + 1));
    let (date, version) = (event.effective_date, SCHEMA_VERSION);
    stored(stream, revision, position, (district, date, version), event.fact.event_type(), event.encode())
}

/// A stored event as the service writes it, with metadata of `district`,
/// effective date and schema version.
fn stored(
    stream: String,
    revision: u64,
    position: u64,
    (district, effective_date, schema_version): (&str, NaiveDate, u32),
    event_type: &str,
    data: Vec<u8>,
) -> RecordedEvent {
    let metadata = EventMetadata {
        command_id: Uuid::new_v4(),
        correlation_id: Uuid::new_v4(),
        causation_id: Uuid::new_v4(),
        actor: "r".into(),
        office: "o".into(),
        district: DistrictCode::parse(district).unwrap(),
        effective_date,
        schema_version,
        command_fingerprint: String::new(),
        actor_roles: Vec::new(),
        authenticated_by: String::new(),
    };
    RecordedEvent {
        stream: StreamName::parse(stream).unwrap(),
        revision,
        position: Position::from_sequence(position),
        event_id: Uuid::new_v4(),
        event_type: event_type.into(),
        data,
        metadata: serde_json::to_vec(&metadata).unwrap(),
        recorded_at: Utc::now(),
    }
}

const DISTRICTS: [&str; 3] = ["120111", "120101", "120116"];

/// Random but valid enterprise histories (layoffs, services after them,
/// internship posts, subsidies), interleaved at random with `log` (each
/// stream's order kept) and numbered again in log order.
fn with_enterprises(log: Vec<RecordedEvent>, seed: u64, enterprises: u32, steps: usize) -> Vec<RecordedEvent> {
    use leye_domain::{
        enterprise::{self as ent, EnterpriseCommand as C},
        subsidy::{ApproveProposal, Reviewer, SubsidyProposal},
        values::CreditCode,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let mut cases: HashMap<u32, (ent::EnterpriseCase, NaiveDate, u64)> = HashMap::new();
    let mut own = Vec::new();
    for _ in 0..steps {
        let i = rng.random_range(0..enterprises);
        let (case, last, _) = cases.entry(i).or_insert((ent::EnterpriseCase::default(), start, 0));
        let on = (*last + Days::new(rng.random_range(0..15))).min(today);
        let district = DISTRICTS[(i as usize) % DISTRICTS.len()];
        let code = {
            const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
            const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
            let body = format!("91{district}MA{i:07}");
            let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
            CreditCode::parse(&format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)).unwrap()
        };
        let k = rng.random_range(0..4);
        let command = match rng.random_range(0..10) {
            // From its stored form, so that fields with a default keep it.
            0 => C::Register(
                serde_json::from_value(serde_json::json!({
                    "credit_code": code.as_str(),
                    "name": "随机企业",
                    "district": district,
                    "industry_code": "C3411",
                    "insured_employees": 300,
                    "small_micro": rng.random::<bool>(),
                    "kinds": [],
                }))
                .unwrap(),
            ),
            1 | 2 => C::ReportBatchLayoff(ent::BatchLayoff {
                layoff_id: format!("l{k}"),
                people: std::num::NonZeroU32::new(rng.random_range(1..60)).unwrap(),
            }),
            3 | 4 => C::RecordLayoffService(ent::LayoffServiceProvision {
                layoff_id: format!("l{k}"),
                service: [
                    ent::LayoffService::TrackingVisit,
                    ent::LayoffService::SkillsTraining,
                    ent::LayoffService::JobFair,
                ][rng.random_range(0..3)],
            }),
            5 => C::OfferInternshipPosts(ent::InternshipOffer {
                offer_id: format!("o{k}"),
                posts: std::num::NonZeroU32::new(rng.random_range(1..50)).unwrap(),
            }),
            8 => C::DevelopWelfarePosts(ent::WelfarePostsDevelopment {
                development_id: format!("w{k}"),
                kind: [ent::WelfarePostKind::PublicWelfare, ent::WelfarePostKind::CommunityService][k % 2],
                posts: std::num::NonZeroU32::new(rng.random_range(1..30)).unwrap(),
            }),
            9 => C::RecordGuaranteeLoan(ent::GuaranteeLoan {
                loan_id: format!("g{k}"),
                borrower: [ent::LoanBorrower::Enterprise, ent::LoanBorrower::Founder][k % 2],
                principal: Fen::positive(rng.random_range(1..50_000_000)).unwrap(),
                lender: "银行".into(),
                term_months: rng.random_range(1..=36),
            }),
            6 => C::ProposeSubsidy(SubsidyProposal {
                grant: SubsidyGrant {
                    subsidy_id: format!("s{k}"),
                    programme: format!("p{k}"),
                    amount: Fen::positive(50_000).unwrap(),
                    period: DateRange::new(on, on).unwrap(),
                    payee: Payee::Enterprise(code.clone()),
                    policy_clause: "000 § 9".into(),
                },
                rule_id: format!("r.rule.{k}"),
                rule_valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                proposed_by: "staff".into(),
                reasons: vec![],
                inputs: Default::default(),
            }),
            _ if rng.random() => C::ApproveSubsidy(ApproveProposal {
                proposal_id: format!("s{k}"),
                reviewer: Reviewer { user: "chief".into(), supervisor: true },
            }),
            _ => C::RevokeSubsidy(SubsidyRevocation { subsidy_id: format!("s{k}"), reason: "r".into() }),
        };
        let Ok(events) = ent::decide(case, ent::DatedEnterpriseCommand { effective_date: on, command }, today) else {
            continue;
        };
        let (case, last, revision) = cases.get_mut(&i).unwrap();
        *last = on;
        for event in events {
            case.apply(&event);
            let stream = format!("enterprise-{}", Uuid::from_u128(u128::from(i) + 1_000_000));
            let meta = (district, on, ent::SCHEMA_VERSION);
            // Numbered again when merged into the log (below).
            own.push(stored(stream, *revision, 1, meta, event.fact.event_type(), event.encode()));
            *revision += 1;
        }
    }
    let (mut persons, mut enterprises) = (log.into_iter().peekable(), own.into_iter().peekable());
    let mut merged = Vec::new();
    while persons.peek().is_some() || enterprises.peek().is_some() {
        let take_enterprise = match (persons.peek(), enterprises.peek()) {
            (Some(_), Some(_)) => rng.random_range(0..5) == 0,
            (None, _) => true,
            (_, None) => false,
        };
        let mut e = if take_enterprise { enterprises.next() } else { persons.next() }.unwrap();
        e.position = Position::from_sequence(merged.len() as u64 + 1);
        merged.push(e);
    }
    merged
}

/// Every row of every read-model table, in a canonical order.
fn dump(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut out = Vec::new();
    for table in [
        "person",
        "person_group",
        "spell",
        "contact",
        "recommendation",
        "placement",
        "training",
        "subsidy",
        "difficulty",
        "benefit",
        "household_membership",
        "eligibility",
        "enterprise",
        "batch_layoff",
        "layoff_service",
        "internship_offer",
        "enterprise_subsidy",
        "welfare_posts",
        "guarantee_loan",
    ] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect();
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// Every table and index definition.
fn schema(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").unwrap();
    stmt.query_map([], |r| {
        Ok(format!("{}: {}: {:?}", r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The jurisdictions [`answers`] asks of.
const JURISDICTIONS: [&str; 4] = ["", "120111", "120111001", "120101001001"];
/// The periods and as-of dates [`answers`] asks for.
const ASKED: [(&str, &str, &str); 2] =
    [("2025-01-01", "2025-12-31", "2025-12-31"), ("2026-01-01", "2026-06-30", "2026-12-31")];

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn answers(path: &std::path::Path) -> Vec<String> {
    let rm = ReadModel::open(path).unwrap();
    let p = TargetParams::default();
    let mut out = Vec::new();
    for j in JURISDICTIONS {
        let j = Jurisdiction::parse(j).unwrap();
        for (from, to, a) in ASKED {
            let d = day;
            let r = rm.targets(&j, Period::new(d(from), d(to)).unwrap(), d(a), &p).unwrap();
            out.push(format!("{:?}", r.targets));
            out.push(format!("{:?}", rm.long_term(&j, d(a), &p).unwrap()));
            out.push(format!("{:?}", rm.zero_employment_households(&j, d(a), &p).unwrap()));
            out.push(format!("{:?}", rm.overdue_followups(&j, d(a), &p).unwrap()));
            for h in [42u128, 43] {
                out.push(format!("{:?}", rm.household(&Uuid::from_u128(h).to_string(), d(a)).unwrap()));
            }
            out.push(format!("{:?}", rm.eligible(&j, None, d(a), 0, usize::MAX).unwrap()));
            let period = Period::new(d(from), d(to)).unwrap();
            out.push(format!("{:?}", rm.unserved_layoffs(&j, period, d(a), &p).unwrap()));
            out.push(format!("{:?}", rm.subsidy_totals(&j, period, d(a)).unwrap()));
        }
    }
    out
}

#[test]
fn live_with_a_crash_equals_a_rebuild_from_zero() {
    let log = with_enterprises(history(7, 300, 20_000), 11, 30, 3_000);
    assert!(log.len() > 5_000, "a long history: {} events", log.len());
    for t in [
        "person.household_joined",
        "person.household_left",
        "person.placed",
        "person.subsidy_granted",
        "person.benefit_ended",
        "person.training_completed",
        "person.training_dropped",
        "person.eligibility_found",
        "enterprise.batch_layoff_reported",
        "enterprise.layoff_service_provided",
        "enterprise.internship_posts_offered",
        "enterprise.subsidy_granted",
        "enterprise.subsidy_revoked",
        "enterprise.welfare_posts_developed",
        "enterprise.guarantee_loan_granted",
    ] {
        assert!(log.iter().filter(|e| e.event_type == t).count() > 10, "the history exercises {t}");
    }
    let dir = tempfile::tempdir().unwrap();

    // Rebuild: everything at once, into a fresh generation as `runner::rebuild`
    // makes one (no journal, query indexes built at the end).
    let rebuilt = dir.path().join("rebuilt.sqlite");
    let mut fresh = Projector::create_fresh(&rebuilt).unwrap();
    for chunk in log.chunks(1_500) {
        fresh.apply(chunk).unwrap();
    }
    fresh.finish_fresh().unwrap();
    assert!(Projector::create_fresh(&rebuilt).is_err(), "a fresh generation is never written over an existing file");

    // Live: random batches; halfway the projector "crashes" (is dropped) and
    // the follower re-delivers from an older position than the checkpoint.
    let live = dir.path().join("live.sqlite");
    let mut rng = StdRng::seed_from_u64(99);
    let mut projector = Projector::open(&live).unwrap();
    let mut at = 0;
    let mut crashed = false;
    let mut batches = 0;
    while at < log.len() {
        let n = rng.random_range(1..400).min(log.len() - at);
        projector.apply(&log[at..at + n]).unwrap();
        at += n;
        batches += 1;
        if batches % 3 == 0 {
            // Queries while the log is folded: the person-case index follows
            // the live model by reloading the cases each batch changed.
            // The reports `answers` asks at the end are asked here too: their
            // sums are kept, and moved on with each refresh (`index/kept.rs`).
            let rm = ReadModel::open(&live).unwrap();
            for (j, period, a) in JURISDICTIONS.iter().flat_map(|j| ASKED.map(|(from, to, a)| (j, (from, to), a))) {
                let j = Jurisdiction::parse(j).unwrap();
                let period = Period::new(day(period.0), day(period.1)).unwrap();
                rm.targets(&j, period, day(a), &TargetParams::default()).unwrap();
            }
            assert_eq!(rm.index_stats().unwrap().checkpoint, rm.checkpoint().unwrap());
        }
        if !crashed && at > log.len() / 2 {
            crashed = true;
            drop(projector);
            projector = Projector::open(&live).unwrap();
            let checkpoint = projector.checkpoint().unwrap().unwrap();
            assert_eq!(checkpoint, log[at - 1].position);
            at -= rng.random_range(1..200).min(at); // re-delivery of events already folded
        }
    }
    assert_eq!(projector.events_applied().unwrap(), log.len() as u64);
    drop(projector);

    // The same tables and indexes, and a WAL-mode file the follower and readers can share.
    assert_eq!(schema(&live), schema(&rebuilt));
    let mode: String = Connection::open(&rebuilt).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");

    let rebuilt_rows = dump(&rebuilt);
    assert!(rebuilt_rows.iter().any(|r| r.starts_with("eligibility:")), "the history notes eligibilities");
    assert_eq!(dump(&live), rebuilt_rows);
    // The live answers come from an index kept up to date batch by batch,
    // the rebuilt ones from an index loaded whole: the same.
    let live_answers = answers(&live);
    let stats = ReadModel::open(&live).unwrap().index_stats().unwrap();
    assert_eq!(stats.loads, 1, "loaded whole once, then refreshed: {stats:?}");
    assert!(stats.refreshes > 10, "{stats:?}");
    assert_eq!(stats.kept_reports, 8, "the live answers are from sums kept through the refreshes: {stats:?}");
    assert_eq!(live_answers, answers(&rebuilt));
    // A report prepared before anyone asks (as the server prepares the
    // dashboard's) is walked once and kept; asked then, it equals a walk's.
    let (rm, p, city) = (ReadModel::open(&live).unwrap(), TargetParams::default(), Jurisdiction::city());
    let (period, a) = (Period::new(day("2026-01-01"), day("2026-03-31")).unwrap(), day("2026-03-31"));
    assert!(rm.prepare_targets(&city, period, a, &p).unwrap(), "walked");
    assert!(!rm.prepare_targets(&city, period, a, &p).unwrap(), "kept: not walked again");
    assert_eq!(rm.index_stats().unwrap().kept_reports, 9);
    let walked = ReadModel::open(&rebuilt).unwrap().targets(&city, period, a, &p).unwrap();
    assert_eq!(format!("{:?}", rm.targets(&city, period, a, &p).unwrap().targets), format!("{:?}", walked.targets));
    // And the index itself: each case's dates (contacts and recommendations
    // added from the rows past the index's rowids) are those of a whole load.
    let refreshed = ReadModel::open(&live).unwrap().index_dates_by_case().unwrap();
    assert_eq!(refreshed.len(), ReadModel::open(&live).unwrap().index_stats().unwrap().cases);
    assert!(refreshed.iter().any(|l| !l.contains("other services []")), "some cases have services");
    assert_eq!(refreshed, ReadModel::open(&rebuilt).unwrap().index_dates_by_case().unwrap());
}

/// A log no decider writes, as a copied or hand-mended store might hold:
/// two registrations with no end between them, a second placement while the
/// first is open, two benefits at once, a group listed twice, a leave of a
/// household never joined. A fresh generation (no keys while it is folded,
/// the open rows remembered by rowid) folds it to the live projector's rows,
/// and its unique keys still build.
#[test]
fn a_log_no_decider_writes_folds_the_same_live_and_fresh() {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let registration = |community: &str, groups: &[PersonGroup]| {
        PersonFact::Registered(Registration {
            resident_id: resident_id(1).into(),
            name: None,
            hukou: Hukou { county: CountyCode::parse(&community[..6]).unwrap(), nature: HukouNature::Urban },
            residence: Residence::parse(&community[..6], &community[..9], community).unwrap(),
            education: Education::SeniorSecondary,
            graduation: None,
            household: Some(HouseholdMembership {
                household_id: Uuid::from_u128(42),
                relation: HouseholdRelation::Other,
            }),
            groups: groups.iter().copied().collect(),
        })
    };
    let placed =
        || PersonFact::Placed(Placement { kind: PlacementKind::Flexible, employer: None, contract_months: None });
    let benefit = || PersonFact::BenefitStarted(BenefitStart { months: 6, extended_to_retirement: false });
    let facts = [
        ("2025-01-02", registration(COMMUNITIES[0], &[PersonGroup::Graduate])),
        ("2025-01-03", registration(COMMUNITIES[1], &[PersonGroup::Graduate, PersonGroup::Veteran])),
        ("2025-01-04", benefit()),
        ("2025-01-05", benefit()),
        ("2025-02-01", placed()),
        ("2025-02-02", placed()),
        ("2025-03-01", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::Resigned })),
        ("2025-03-02", PersonFact::BenefitEnded(BenefitEnd { reason: BenefitEndReason::Employed })),
        ("2025-03-03", PersonFact::HouseholdLeft(HouseholdLeave { household_id: Uuid::from_u128(43) })),
        ("2025-04-01", registration(COMMUNITIES[2], &[PersonGroup::Veteran])),
        ("2025-04-02", PersonFact::HouseholdLeft(HouseholdLeave { household_id: Uuid::from_u128(42) })),
        ("2025-05-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::NoLongerSeeking })),
        ("2025-05-02", benefit()),
        ("2025-06-01", PersonFact::BenefitEnded(BenefitEnd { reason: BenefitEndReason::Exhausted })),
        ("2025-06-02", placed()),
        ("2025-07-01", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::Resigned })),
    ];
    let log: Vec<RecordedEvent> = facts
        .into_iter()
        .enumerate()
        .map(|(k, (on, fact))| {
            recorded(1, k as u64, k as u64 + 1, "120111", &PersonEvent { effective_date: d(on), fact })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (live, rebuilt) = (dir.path().join("live.sqlite"), dir.path().join("rebuilt.sqlite"));
    Projector::open(&live).unwrap().apply(&log).unwrap();
    let mut fresh = Projector::create_fresh(&rebuilt).unwrap();
    fresh.apply(&log).unwrap();
    fresh.finish_fresh().unwrap();
    let conn = Connection::open(&rebuilt).unwrap();
    let one = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };

    assert_eq!(
        one("SELECT group_concat(spell_no || ':' || ended_on || ':' || end_kind, ' ') FROM spell"),
        "1:2025-02-01:placed 2:2025-02-01:placed 3:2025-05-01:exited",
        "both open spells closed by the placement"
    );
    assert_eq!(
        one("SELECT group_concat(placement_no || ':' || ended_on, ' ') FROM placement"),
        "1:2025-03-01 2:2025-03-01 3:2025-07-01"
    );
    assert_eq!(
        one("SELECT group_concat(started_on || ':' || ended_on, ' ') FROM benefit"),
        "2025-01-04:2025-03-02 2025-01-05:2025-03-02 2025-05-02:2025-06-01"
    );
    assert_eq!(
        one("SELECT group_concat(grp || ':' || since, ' ') FROM person_group"),
        "graduate:2025-01-02 veteran:2025-01-03",
        "a group listed again keeps its first row"
    );
    assert_eq!(
        one(
            "SELECT group_concat(membership_no || ':' || joined_on || ':' || ifnull(left_on, '-'), ' ') FROM household_membership"
        ),
        "1:2025-01-02:2025-04-02"
    );
    assert_eq!(
        one("SELECT community || ':' || ifnull(household_id, '-') FROM person"),
        format!("{}:-", COMMUNITIES[2])
    );
    drop(conn);
    let rows = dump(&rebuilt);
    assert_eq!(dump(&live), rows);
    assert_eq!(schema(&live), schema(&rebuilt));
}

#[test]
fn an_answer_is_of_one_checkpoint_when_another_reader_moved_the_index_on() {
    let log = history(3, 120, 4_000);
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.sqlite");
    let mut projector = Projector::open(&live).unwrap();
    let half = log.len() / 2;
    projector.apply(&log[..half]).unwrap();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let (city, p) = (Jurisdiction::city(), TargetParams::default());
    let period = Period::new(d("2025-01-01"), d("2026-12-31")).unwrap();
    let old = ReadModel::open(&live).unwrap();
    let other = ReadModel::open(&live).unwrap();
    let (report, at) = old
        .snapshot(|rm| {
            // This snapshot and the index at the first half of the log.
            let first = rm.index_stats()?;
            assert_eq!(first.checkpoint, rm.checkpoint()?);
            // The projector folds the rest; another reader moves the shared index on.
            projector.apply(&log[half..])?;
            let moved = other.index_stats()?;
            assert!(moved.checkpoint > first.checkpoint, "{first:?} {moved:?}");
            // Asked again in the older snapshot, the index cannot go back: the
            // query reads a newer snapshot, and everything after it is of that one.
            let report = rm.targets(&city, period, d("2026-12-31"), &p)?;
            let at = rm.checkpoint()?;
            assert_eq!(at, moved.checkpoint);
            Ok::<_, leye_projections::ProjectionError>((report, at))
        })
        .unwrap();
    let fresh = ReadModel::open(&live).unwrap();
    assert_eq!(fresh.checkpoint().unwrap(), at);
    assert_eq!(report.targets, fresh.targets(&city, period, d("2026-12-31"), &p).unwrap().targets);
}

/// The projections' decoder (`decoded.rs`: the domain's decoder, which reads
/// a payload as written straight into its fact's type; events the fold passes
/// over not decoded) gives serde's derive's event for every event the fold
/// reads, and refuses what the domain refuses.
#[test]
fn fast_decoding_equals_the_domains() {
    use leye_domain::enterprise::EnterpriseEvent;
    let log = with_enterprises(history(3, 200, 8_000), 5, 30, 2_000);
    let not_folded = |t: &str| {
        [
            "person.subsidy_proposed",
            "person.subsidy_approved",
            "person.subsidy_proposal_rejected",
            "person.personal_data_erased",
        ]
        .contains(&t)
            || t.starts_with("enterprise.")
                && !["registered", "batch_layoff_reported", "layoff_service_provided", "internship_posts_offered"]
                    .iter()
                    .chain(&["welfare_posts_developed", "guarantee_loan_granted", "subsidy_granted", "subsidy_revoked"])
                    .chain(&["eligibility_found", "designated_key_enterprise"])
                    .any(|f| t.strip_prefix("enterprise.") == Some(f))
    };
    let mut types = std::collections::BTreeSet::new();
    for e in &log {
        let decoded = Decoded::decode(e).unwrap();
        assert_eq!(decoded.position(), e.position);
        if e.stream.as_str().starts_with("person-") {
            // serde's derive alone is the reference; the domain's decoder (the
            // fold's) reads every event of the log, folded or not, to the same value.
            let domain = PersonEvent::decode_by_serde(&e.event_type, SCHEMA_VERSION, &e.data).unwrap();
            let short = PersonEvent::decode(&e.event_type, SCHEMA_VERSION, &e.data).unwrap();
            assert_eq!(short, domain, "{}", e.event_type);
            match decoded.person_event() {
                Some(fast) => assert_eq!(fast, &domain, "{}", e.event_type),
                None => assert!(not_folded(&e.event_type), "{} is folded, so decoded", e.event_type),
            }
        } else {
            let domain = EnterpriseEvent::decode_by_serde(&e.event_type, 1, &e.data).unwrap();
            assert_eq!(EnterpriseEvent::decode(&e.event_type, 1, &e.data).unwrap(), domain, "{}", e.event_type);
            match decoded.enterprise_event() {
                Some(fast) => assert_eq!(fast, &domain, "{}", e.event_type),
                None => assert!(not_folded(&e.event_type), "{} is folded, so decoded", e.event_type),
            }
        }
        types.insert(e.event_type.clone());
    }
    assert!(types.len() >= 25, "the history has events of many types: {types:?}");

    // What the domain refuses is refused: a payload of another type than
    // stored, a broken payload, an unknown schema version, broken metadata.
    let contact = log.iter().find(|e| e.event_type == "person.contacted").unwrap();
    let placed = log.iter().find(|e| e.event_type == "person.placed").unwrap();
    let mut wrong_type = contact.clone();
    wrong_type.data = placed.data.clone();
    let mut broken = contact.clone();
    broken.data = br#"{"effective_date":"2025-01-02","fact":"contacted","channel":7}"#.to_vec();
    let mut no_date = contact.clone();
    no_date.data = br#"{"fact":"contacted","channel":"phone","outcome":"still_seeking","note":""}"#.to_vec();
    let mut version = contact.clone();
    let mut metadata: serde_json::Value = serde_json::from_slice(&contact.metadata).unwrap();
    metadata["schema_version"] = 2.into();
    version.metadata = serde_json::to_vec(&metadata).unwrap();
    let mut no_metadata = contact.clone();
    no_metadata.metadata = b"{}".to_vec();
    for (what, e) in [
        ("payload of another type", &wrong_type),
        ("broken payload", &broken),
        ("no date", &no_date),
        ("unknown version", &version),
        ("broken metadata", &no_metadata),
    ] {
        let err = Decoded::decode(e).unwrap_err().to_string();
        assert!(err.contains(&format!("revision {}", e.revision)), "{what}: {err}");
        assert!(!err.contains("随机"), "no personal data in errors: {err}");
    }
}

/// A contact row no batch noted in `changed_case` (a hand-mended read
/// model): the index is loaded whole again, not refreshed from that row
/// alone, and answers as a whole load of the same file does.
#[test]
fn a_row_no_batch_noted_loads_the_index_whole_again() {
    let log = history(5, 40, 800);
    let (first, rest) = log.split_at(log.len() / 2);
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.sqlite");
    let mut projector = Projector::open(&live).unwrap();
    projector.apply(first).unwrap();
    assert_eq!(ReadModel::open(&live).unwrap().index_stats().unwrap().loads, 1);
    // A case the rest of the log does not touch gets a contact by hand.
    let touched: std::collections::HashSet<String> = rest.iter().map(|e| e.stream.to_string()).collect();
    let conn = Connection::open(&live).unwrap();
    let ids: Vec<String> = conn
        .prepare("SELECT case_id FROM person")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let untouched = ids.iter().find(|id| !touched.contains(&format!("person-{id}"))).expect("a case the rest leaves");
    conn.execute(
        "INSERT INTO contact (case_id, contacted_on, channel, outcome) VALUES (?1, '2026-02-03', 'phone', 'reached')",
        [untouched],
    )
    .unwrap();
    projector.apply(rest).unwrap();

    let rm = ReadModel::open(&live).unwrap();
    let kept = rm.index_dates_by_case().unwrap();
    assert_eq!(rm.index_stats().unwrap().loads, 2, "loaded whole again, not refreshed");
    let copy = dir.path().join("copy.sqlite");
    conn.execute("VACUUM INTO ?1", [copy.to_str().unwrap()]).unwrap();
    assert_eq!(kept, ReadModel::open(&copy).unwrap().index_dates_by_case().unwrap());
}
