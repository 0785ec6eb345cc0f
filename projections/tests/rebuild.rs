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
use leye_projections::{Jurisdiction, Period, Projector, ReadModel, TargetParams};
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
        let command = match rng.random_range(0..12) {
            0 | 1 => PersonCommand::RegisterUnemployment(Registration {
                resident_id: resident_id(i),
                name: PersonName::parse("随机").unwrap(),
                hukou: Hukou { county: CountyCode::parse(&community[..6]).unwrap(), nature: HukouNature::Urban },
                residence: Residence::parse(&community[..6], &community[..9], community).unwrap(),
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
                if rng.random_range(0..3) == 0 {
                    PersonCommand::RevokeSubsidy(SubsidyRevocation { subsidy_id: format!("s{k}"), reason: "r".into() })
                } else {
                    PersonCommand::GrantSubsidy(SubsidyGrant {
                        subsidy_id: format!("s{k}"),
                        programme: format!("p{k}"),
                        amount: Fen::positive(100_000).unwrap(),
                        period: DateRange::new(on, on).unwrap(),
                        payee: Payee::Person,
                        policy_clause: "000 § 9".into(),
                    })
                }
            }
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
            let metadata = EventMetadata {
                command_id: Uuid::new_v4(),
                correlation_id: Uuid::new_v4(),
                causation_id: Uuid::new_v4(),
                actor: "r".into(),
                office: "o".into(),
                district: DistrictCode::parse(&community[..6]).unwrap(),
                effective_date: on,
                schema_version: SCHEMA_VERSION,
                command_fingerprint: String::new(),
            };
            log.push(RecordedEvent {
                stream: StreamName::parse(format!("person-{}", Uuid::from_u128(u128::from(i) + 1))).unwrap(),
                revision: *revision,
                position: Position::from_sequence(log.len() as u64 + 1),
                event_id: Uuid::new_v4(),
                event_type: event.fact.event_type().into(),
                data: event.encode(),
                metadata: serde_json::to_vec(&metadata).unwrap(),
                recorded_at: Utc::now(),
            });
            *revision += 1;
        }
    }
    log
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
        "eligibility",
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

fn answers(path: &std::path::Path) -> Vec<String> {
    let rm = ReadModel::open(path).unwrap();
    let p = TargetParams::default();
    let mut out = Vec::new();
    for j in ["", "120111", "120111001", "120101001001"] {
        let j = Jurisdiction::parse(j).unwrap();
        for (from, to, a) in [("2025-01-01", "2025-12-31", "2025-12-31"), ("2026-01-01", "2026-06-30", "2026-12-31")] {
            let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
            let r = rm.targets(&j, Period::new(d(from), d(to)).unwrap(), d(a), &p).unwrap();
            out.push(format!("{:?}", r.targets));
            out.push(format!("{:?}", rm.long_term(&j, d(a), &p).unwrap()));
            out.push(format!("{:?}", rm.zero_employment_households(&j, d(a), &p).unwrap()));
            out.push(format!("{:?}", rm.overdue_followups(&j, d(a), &p).unwrap()));
            out.push(format!("{:?}", rm.eligible(&j, None, d(a), 0, usize::MAX).unwrap()));
        }
    }
    out
}

#[test]
fn live_with_a_crash_equals_a_rebuild_from_zero() {
    let log = history(7, 300, 20_000);
    assert!(log.len() > 5_000, "a long history: {} events", log.len());
    let dir = tempfile::tempdir().unwrap();

    // Rebuild: everything at once.
    let rebuilt = dir.path().join("rebuilt.sqlite");
    Projector::open(&rebuilt).unwrap().apply(&log).unwrap();

    // Live: random batches; halfway the projector "crashes" (is dropped) and
    // the follower re-delivers from an older position than the checkpoint.
    let live = dir.path().join("live.sqlite");
    let mut rng = StdRng::seed_from_u64(99);
    let mut projector = Projector::open(&live).unwrap();
    let mut at = 0;
    let mut crashed = false;
    while at < log.len() {
        let n = rng.random_range(1..400).min(log.len() - at);
        projector.apply(&log[at..at + n]).unwrap();
        at += n;
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

    let rebuilt_rows = dump(&rebuilt);
    assert!(rebuilt_rows.iter().any(|r| r.starts_with("eligibility:")), "the history notes eligibilities");
    assert_eq!(dump(&live), rebuilt_rows);
    assert_eq!(answers(&live), answers(&rebuilt));
}
