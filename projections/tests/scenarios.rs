//! Hand-computed scenarios: small histories whose every target value is
//! worked out by hand here, boundaries included.

use std::collections::BTreeSet;

use chrono::Utc;
use leye_domain::{
    envelope::EventMetadata,
    person::*,
    values::{CountyCode, CreditCode, DateRange, Fen, PersonName, Residence},
};
use leye_projections::{Jurisdiction, Period, Projector, ReadModel, TargetParams, read_model::TargetReport};
use leye_store::{Position, RecordedEvent, StreamName};
use uuid::Uuid;

mod support;
use support::{credit_code, d, resident_id};

fn employer() -> CreditCode {
    credit_code("91120111MA05JX0K0")
}

/// Builds a log event by event, as the command path would record it.
#[derive(Default)]
struct World {
    events: Vec<RecordedEvent>,
    revisions: std::collections::HashMap<String, u64>,
}

struct Person {
    seq: u32,
    community: &'static str,
    hukou: &'static str,
    groups: Vec<PersonGroup>,
    household: Option<Uuid>,
}

impl Person {
    fn new(seq: u32, community: &'static str) -> Self {
        Self { seq, community, hukou: "120111", groups: vec![], household: None }
    }
    fn case(&self) -> String {
        format!("00000000-0000-0000-0000-{:012}", self.seq)
    }
    fn registration(&self) -> Registration {
        Registration {
            resident_id: resident_id(self.seq).into(),
            name: Some(PersonName::parse("测试").unwrap()),
            hukou: Hukou { county: CountyCode::parse(self.hukou).unwrap(), nature: HukouNature::Urban },
            residence: Residence::parse(&self.community[..6], &self.community[..9], self.community).unwrap(),
            education: Education::Bachelor,
            graduation: None,
            household: self
                .household
                .map(|h| HouseholdMembership { household_id: h, relation: HouseholdRelation::Other }),
            groups: self.groups.iter().copied().collect::<BTreeSet<_>>(),
        }
    }
}

impl World {
    fn record(&mut self, p: &Person, on: &str, fact: PersonFact) -> &mut Self {
        let case = p.case();
        let revision = self.revisions.entry(case.clone()).or_insert(0);
        let metadata = EventMetadata {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "t".into(),
            office: "o".into(),
            district: leye_domain::values::DistrictCode::parse(&p.community[..6]).unwrap(),
            effective_date: d(on),
            schema_version: SCHEMA_VERSION,
            command_fingerprint: String::new(),
            actor_roles: Vec::new(),
            authenticated_by: String::new(),
        };
        let event = PersonEvent { effective_date: d(on), fact };
        let seq = self.events.len() as u64 + 1;
        self.events.push(RecordedEvent {
            stream: StreamName::parse(format!("person-{case}")).unwrap(),
            revision: *revision,
            position: Position::from_sequence(seq),
            event_id: Uuid::new_v4(),
            event_type: event.fact.event_type().into(),
            data: event.encode(),
            metadata: serde_json::to_vec(&metadata).unwrap(),
            recorded_at: Utc::now(),
        });
        *revision += 1;
        self
    }
    fn register(&mut self, p: &Person, on: &str) -> &mut Self {
        self.record(p, on, PersonFact::Registered(p.registration()))
    }
    fn place(&mut self, p: &Person, on: &str, kind: PlacementKind) -> &mut Self {
        let employer = kind.needs_employer().then(employer);
        self.record(p, on, PersonFact::Placed(Placement { kind, employer, contract_months: Some(12) }))
    }
    fn contact(&mut self, p: &Person, on: &str) -> &mut Self {
        self.record(
            p,
            on,
            PersonFact::Contacted(Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: String::new(),
            }),
        )
    }
    fn exit(&mut self, p: &Person, on: &str, reason: ExitReason) -> &mut Self {
        self.record(p, on, PersonFact::RegistrationExited(RegistrationExit { reason }))
    }
    fn end_placement(&mut self, p: &Person, on: &str) -> &mut Self {
        self.record(p, on, PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::ContractExpired }))
    }
    fn project(&self) -> (tempfile::TempDir, ReadModel) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rm.sqlite");
        let mut projector = Projector::open(&path).unwrap();
        projector.apply(&self.events).unwrap();
        drop(projector);
        let rm = ReadModel::open(&path).unwrap();
        (dir, rm)
    }
}

fn target(report: &TargetReport, id: &str) -> (i64, Option<i64>) {
    let t = report.targets.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no target {id}"));
    (t.numerator, t.denominator)
}

fn report(rm: &ReadModel, j: &str, from: &str, to: &str, as_of: &str) -> TargetReport {
    rm.targets(
        &Jurisdiction::parse(j).unwrap(),
        Period::new(d(from), d(to)).unwrap(),
        d(as_of),
        &TargetParams::default(),
    )
    .unwrap()
}

const XQ_A: &str = "120111001001"; // Xiqing, street 001, community 001
const XQ_B: &str = "120111002003"; // Xiqing, street 002
const HP: &str = "120101001001"; // Heping

#[test]
fn six_months_or_more_is_long_term_the_day_before_is_not() {
    // 001 § 9 "失业半年以上": 以上 includes the number, so a spell that has lasted exactly
    // 6 months is long-term. Registered 2026-01-15: 6 months are reached on 2026-07-15.
    // A is placed on 2026-07-15 (exactly 6 months): long-term.
    // B is placed on 2026-07-16: long-term.
    // D is placed on 2026-07-14 (the day before): not long-term, and no longer at risk (not open).
    // C registered 2025-08-31: + 6 months = 2026-02-28 (no 31 February: the month's last day);
    //   still open → long-term on 2026-02-28, at risk on 2026-02-27.
    // E registered 2026-02-28: + 6 months = 2026-08-28 (not the month's end): long-term on 08-28, not 08-27.
    let (a, b, c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_A));
    let (dd, e) = (Person::new(4, XQ_A), Person::new(5, XQ_B));
    let mut w = World::default();
    w.register(&a, "2026-01-15").register(&b, "2026-01-15").register(&c, "2025-08-31");
    w.register(&dd, "2026-01-15").register(&e, "2026-02-28");
    w.place(&a, "2026-07-15", PlacementKind::Flexible).place(&b, "2026-07-16", PlacementKind::Flexible);
    w.place(&dd, "2026-07-14", PlacementKind::Flexible);
    let (_dir, rm) = w.project();
    let p = TargetParams::default();
    let status = |on: &str, who: &Person| -> Option<&'static str> {
        rm.long_term(&Jurisdiction::city(), d(on), &p)
            .unwrap()
            .iter()
            .find(|r| r.case_id == who.case())
            .map(|r| r.status)
    };
    let list = rm.long_term(&Jurisdiction::city(), d("2026-08-01"), &p).unwrap();
    let long: Vec<&str> = list.iter().filter(|r| r.status == "long_term").map(|r| r.case_id.as_str()).collect();
    // Ordered by days, longest first: C (open, 335 days), B (182), A (181); never D (180).
    assert_eq!(long, vec![c.case().as_str(), b.case().as_str(), a.case().as_str()]);
    let a_row = list.iter().find(|r| r.case_id == a.case()).unwrap();
    assert_eq!((a_row.days, a_row.long_term_from), (181, d("2026-07-15")));
    assert_eq!(status("2026-08-01", &dd), None, "placed the day before 6 months");
    // E on 2026-08-01 is at risk (5 months reached on 07-28), long-term from 08-28 on.
    assert_eq!(status("2026-08-01", &e), Some("at_risk"));
    assert_eq!(status("2026-08-27", &e), Some("at_risk"));
    assert_eq!(status("2026-08-28", &e), Some("long_term"));
    assert_eq!(list.iter().find(|r| r.case_id == e.case()).unwrap().long_term_from, d("2026-08-28"));

    // C at the month's end: at risk on 02-27, long-term on 02-28.
    assert_eq!(status("2026-02-27", &c), Some("at_risk"), "5 months passed on 2026-01-31");
    assert_eq!(status("2026-02-28", &c), Some("long_term"), "2025-08-31 + 6 months = 2026-02-28");
    // A on the day before its 6 months (open): at risk; on the day (placed that day): long-term.
    assert_eq!(status("2026-07-14", &a), Some("at_risk"));
    assert_eq!(status("2026-07-15", &a), Some("long_term"));
    // The at-risk list never holds a long-term spell, nor the long-term one a spell under 6 months.
    for on in ["2026-06-15", "2026-07-14", "2026-07-15", "2026-08-27", "2026-08-28"] {
        for r in rm.long_term(&Jurisdiction::city(), d(on), &p).unwrap() {
            let reached = d(on).min(r.ended_on.unwrap_or(d(on))) >= r.long_term_from;
            assert_eq!(r.status == "long_term", reached, "{on}: {r:?}");
        }
    }
    // The target counts the same spells as the list.
    let r = report(&rm, "", "2026-01-01", "2026-12-31", "2026-07-15");
    assert_eq!(target(&r, "long_term_unemployed"), (3, None), "C; A (placed that day); B (open, 6 months that day)");
    // Looking back 2 years from 2028-07-16: B's spell ended 2026-07-16, exactly 2 years before, still counts.
    let later = rm.long_term(&Jurisdiction::city(), d("2028-07-16"), &p).unwrap();
    assert!(later.iter().any(|r| r.case_id == b.case()));
    let after_window = rm.long_term(&Jurisdiction::city(), d("2028-07-17"), &p).unwrap();
    assert!(!after_window.iter().any(|r| r.case_id == b.case()));
}

#[test]
fn reemployment_rate_with_a_spell_crossing_the_period_and_re_registration() {
    // Period: 2026-Q2 (04-01..06-30).
    // A: registered 2026-02-10 (crosses into Q2), placed 2026-05-05 → in both.
    // B: registered 2026-06-20, still open → denominator only.
    // C: registered 2026-01-05, exited (moved away) 2026-03-31 → ended before Q2: in neither.
    //    Re-registered 2026-04-10, exited "employed" 2026-06-30 (last day) → in both.
    // D: registered 2026-03-01, placed 2026-07-01 (day after the period) → denominator only.
    // E: Heping, registered 2026-04-01, placed 2026-04-02 → in both at city level, not in Xiqing.
    let (a, b, c, dd, e) =
        (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_B), Person::new(4, XQ_B), Person::new(5, HP));
    let mut w = World::default();
    w.register(&a, "2026-02-10").place(&a, "2026-05-05", PlacementKind::Enterprise);
    w.register(&b, "2026-06-20");
    w.register(&c, "2026-01-05").exit(&c, "2026-03-31", ExitReason::MovedAway);
    w.register(&c, "2026-04-10").exit(&c, "2026-06-30", ExitReason::Employed);
    w.register(&dd, "2026-03-01").place(&dd, "2026-07-01", PlacementKind::Flexible);
    w.register(&e, "2026-04-01").place(&e, "2026-04-02", PlacementKind::SelfEmployed);
    let (_dir, rm) = w.project();
    let q2 = report(&rm, "120111", "2026-04-01", "2026-06-30", "2026-12-31");
    assert_eq!(target(&q2, "reemployment_rate"), (2, Some(4)), "Xiqing: A, C of A, B, C, D");
    let city = report(&rm, "", "2026-04-01", "2026-06-30", "2026-12-31");
    assert_eq!(target(&city, "reemployment_rate"), (3, Some(5)));
    let street = report(&rm, "120111002", "2026-04-01", "2026-06-30", "2026-12-31");
    assert_eq!(target(&street, "reemployment_rate"), (1, Some(2)), "street 002: C and D");
    // As of 2026-05-04 (the day before A's placement): A is not yet placed; C's exit not yet known.
    let early = report(&rm, "120111", "2026-04-01", "2026-06-30", "2026-05-04");
    assert_eq!(target(&early, "reemployment_rate"), (0, Some(3)), "A, C, D registered by then; B not yet");
    let on_day = report(&rm, "120111", "2026-04-01", "2026-06-30", "2026-05-05");
    assert_eq!(target(&on_day, "reemployment_rate"), (1, Some(3)));
}

#[test]
fn as_of_before_and_after_a_placement_moves_the_state() {
    let a = Person::new(1, XQ_A);
    let mut w = World::default();
    w.register(&a, "2026-01-10").place(&a, "2026-03-01", PlacementKind::PublicWelfarePost);
    w.end_placement(&a, "2026-06-30");
    let (_dir, rm) = w.project();
    let j = Jurisdiction::parse("120111").unwrap();
    let before = rm.communities(&j, d("2026-02-28")).unwrap();
    assert_eq!((before[0].employed, before[0].unemployed), (0, 1));
    let after = rm.communities(&j, d("2026-03-01")).unwrap();
    assert_eq!((after[0].employed, after[0].unemployed), (1, 0));
    assert!(after[0].full_employment);
    // The placement ended on 06-30 and no registration followed. On a stock date an end is
    // exclusive (as a start is inclusive): employed on 06-29, no longer on 06-30.
    assert_eq!(rm.communities(&j, d("2026-06-29")).unwrap()[0].employed, 1);
    assert!(rm.communities(&j, d("2026-06-30")).unwrap().is_empty());
    let posts = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-12-31");
    assert_eq!(target(&posts, "welfare_post_placements"), (1, None));
    // The local share is a stock: on 12-31 nobody works in a public-welfare post any more.
    assert_eq!(target(&posts, "public_welfare_local_share"), (0, Some(0)));
    let in_post = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-06-29");
    assert_eq!(target(&in_post, "public_welfare_local_share"), (1, Some(1)), "Xiqing hukou in a Xiqing post");
    let too_early = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-02-28");
    assert_eq!(target(&too_early, "welfare_post_placements"), (0, None));
}

#[test]
fn followup_on_the_last_and_the_first_day_of_a_month() {
    // Period: January and February 2026. Registered 2026-01-05.
    // A is contacted on 01-31 (last day of January) and 02-01 (first day of February): 2 of 2 person-months.
    // B is contacted twice on 01-31 and not in February: 1 of 2.
    // C registered 2026-02-28 (the last day) with no contact: 1 person-month, 0 followed.
    let (a, b, c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_A));
    let mut w = World::default();
    w.register(&a, "2026-01-05").contact(&a, "2026-01-31").contact(&a, "2026-02-01");
    w.register(&b, "2026-01-05").contact(&b, "2026-01-31").contact(&b, "2026-01-31");
    w.register(&c, "2026-02-28");
    let (_dir, rm) = w.project();
    let r = report(&rm, "", "2026-01-01", "2026-02-28", "2026-03-15");
    assert_eq!(target(&r, "monthly_followup_rate"), (3, Some(5)));
    // Overdue on 2026-03-15: the last complete month is February: B and C missed it, A did not.
    let overdue = rm.overdue_followups(&Jurisdiction::city(), d("2026-03-15"), &TargetParams::default()).unwrap();
    let ids: BTreeSet<String> = overdue.iter().map(|r| r.case_id.clone()).collect();
    assert_eq!(ids, [b.case(), c.case()].into_iter().collect());
    // With follow-up months starting on the 26th, 01-31 and 02-01 fall in the same month (01-26..02-25):
    // months overlapping Jan-Feb: 12-26..01-25, 01-26..02-25, 02-26..03-25 (clipped to 02-28).
    // A: (m1: no contact, m2: yes, m3: no) → 1 of 3; B: 1 of 3; C: only m3, no → 0 of 1.
    let p = TargetParams { followup_month_start_day: 26, ..TargetParams::default() };
    let r26 = rm
        .targets(&Jurisdiction::city(), Period::new(d("2026-01-01"), d("2026-02-28")).unwrap(), d("2026-03-15"), &p)
        .unwrap();
    assert_eq!(target(&r26, "monthly_followup_rate"), (2, Some(7)));
}

#[test]
fn a_zero_employment_household_spanning_two_districts() {
    // Household H: member A lives in Xiqing, member B in Heping.
    // A is recognised "zero-employment household" on 2026-03-01; B is placed on 2026-04-10.
    let h = Uuid::from_u128(7);
    let mut a = Person::new(1, XQ_A);
    a.household = Some(h);
    let mut b = Person::new(2, HP);
    b.household = Some(h);
    b.hukou = "120101";
    let mut w = World::default();
    w.register(&a, "2026-02-01").register(&b, "2026-02-01");
    w.record(
        &a,
        "2026-03-01",
        PersonFact::DifficultyRecognised(Difficulty {
            categories: [DifficultyCategory::ZeroEmploymentHousehold].into_iter().collect(),
            valid: DateRange::new(d("2026-03-01"), d("2027-02-28")).unwrap(),
        }),
    );
    w.place(&b, "2026-04-10", PlacementKind::Enterprise);
    let (_dir, rm) = w.project();
    let p = TargetParams::default();
    for j in ["", "120111", "120101", "120101001001"] {
        let on = rm.zero_employment_households(&Jurisdiction::parse(j).unwrap(), d("2026-04-09"), &p).unwrap();
        assert_eq!(on.len(), 1, "outstanding in jurisdiction {j:?} on 04-09");
        assert_eq!(on[0].days_outstanding, 39);
        assert!(on[0].overdue, "39 days > 30");
    }
    assert!(
        rm.zero_employment_households(&Jurisdiction::parse("120102").unwrap(), d("2026-04-09"), &p).unwrap().is_empty()
    );
    let cleared = rm.zero_employment_households(&Jurisdiction::city(), d("2026-04-10"), &p).unwrap();
    assert!(cleared.is_empty(), "cleared by B's placement on 04-10");
    let r = report(&rm, "120111", "2026-01-01", "2026-03-31", "2026-03-31");
    assert_eq!(target(&r, "zero_employment_households_outstanding"), (1, None));
    // The zero-employment recognition is not "other difficulty".
    assert_eq!(target(&r, "difficulty_employment_rate"), (0, Some(0)));
}

#[test]
fn matchmaker_same_day_contact_and_two_way_recommendation_within_three_days() {
    // A: registered 03-02, contacted 03-02, two-way recommendation 03-05 (day 3): both met.
    // B: registered 03-02, contacted 03-03, two-way recommendation 03-06 (day 4): both breached.
    // C: registered 03-30, contacted same day; on 03-31 the 3-day deadline (04-02) has not passed: not yet due.
    let (a, b, c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_A));
    let rec =
        |two_way| PersonFact::JobRecommended(JobRecommendation { vacancy_id: "v".into(), enterprise: None, two_way });
    let mut w = World::default();
    w.register(&a, "2026-03-02").contact(&a, "2026-03-02").record(&a, "2026-03-05", rec(true));
    w.register(&b, "2026-03-02").contact(&b, "2026-03-03").record(&b, "2026-03-06", rec(true));
    w.register(&c, "2026-03-30").contact(&c, "2026-03-30");
    let (_dir, rm) = w.project();
    let r = report(&rm, "", "2026-03-01", "2026-03-31", "2026-03-31");
    assert_eq!(target(&r, "matchmaker_same_day_contact_rate"), (2, Some(3)));
    assert_eq!(target(&r, "matchmaker_two_way_rate"), (1, Some(2)));
    let breaches = rm
        .matchmaker_breaches(
            &Jurisdiction::city(),
            Period::new(d("2026-03-01"), d("2026-03-31")).unwrap(),
            d("2026-03-31"),
            &TargetParams::default(),
        )
        .unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].case_id, b.case());
}

#[test]
fn subsidies_training_interns_graduates_and_exit_review() {
    let mut a = Person::new(1, XQ_A);
    a.groups = vec![PersonGroup::GraduateUnemployedAfterSchool];
    let mut b = Person::new(2, XQ_A);
    b.groups = vec![PersonGroup::GraduateUnemployedAfterSchool];
    let c = Person::new(3, XQ_B);
    let grant = |id: &str, fen: i64| {
        PersonFact::SubsidyGranted(SubsidyGrant {
            subsidy_id: id.into(),
            programme: "start-up-training".into(),
            amount: Fen::positive(fen).unwrap(),
            period: DateRange::new(d("2026-01-01"), d("2026-01-31")).unwrap(),
            payee: Payee::Person,
            policy_clause: "000#13".into(),
        })
    };
    let mut w = World::default();
    // A: graduate, contacted, placed as intern in March.
    w.register(&a, "2026-01-10").contact(&a, "2026-01-12").place(&a, "2026-03-01", PlacementKind::Internship);
    // B: graduate, never served, still open.
    w.register(&b, "2026-01-10");
    // C: start-up training, two grants, one revoked on 2026-05-01.
    w.register(&c, "2025-10-01").record(
        &c,
        "2026-01-15",
        PersonFact::TrainingEnrolled(TrainingEnrolment {
            training_id: "t".into(),
            programme: TrainingProgramme::StartUpMalanhua,
            provider: "p".into(),
        }),
    );
    w.record(&c, "2026-02-01", grant("s1", 50_000)).record(&c, "2026-02-02", grant("s2", 100_000));
    w.record(
        &c,
        "2026-05-01",
        PersonFact::SubsidyRevoked(SubsidyRevocation { subsidy_id: "s2".into(), reason: "r".into() }),
    );
    let (_dir, rm) = w.project();
    let year = |as_of| report(&rm, "120111", "2026-01-01", "2026-12-31", as_of);
    let r = year("2026-04-30");
    assert_eq!(target(&r, "graduate_service_rate"), (1, Some(2)));
    assert_eq!(target(&r, "graduate_employment_rate"), (1, Some(2)));
    assert_eq!(target(&r, "startup_trainees"), (1, None));
    assert_eq!(target(&r, "interns"), (1, None));
    assert_eq!(target(&r, "subsidy_granted_fen"), (150_000, None), "s2 not yet revoked on 04-30");
    assert_eq!(target(&year("2026-05-01"), "subsidy_granted_fen"), (50_000, None));
    // Against a configured annual amount: 150 000 fen granted in 2026 up to 04-30, of 1 000 000.
    let budget = leye_projections::targets::Budget {
        id: "b".into(),
        title: "t".into(),
        jurisdiction: "120111".into(),
        year: None,
        first_year: None,
        last_year: None,
        programmes: vec!["start-up-training".into()],
        amount_fen: 1_000_000,
        kind: leye_projections::targets::BudgetKind::Budget,
        source: "s".into(),
    };
    let p = TargetParams { budget: vec![budget], ..TargetParams::default() };
    let j = Jurisdiction::parse("120111").unwrap();
    let r = rm.targets(&j, Period::new(d("2025-01-01"), d("2026-12-31")).unwrap(), d("2026-04-30"), &p).unwrap();
    let lines: Vec<(i32, i64)> = r.budgets.iter().map(|b| (b.year, b.granted_fen)).collect();
    assert_eq!(lines, vec![(2025, 0), (2026, 150_000)]);
    assert!((r.budgets[1].share - 0.15).abs() < 1e-9);
    // An amount set for 2026 on only: no 2025 line.
    let from_2026 = TargetParams {
        budget: vec![leye_projections::targets::Budget { first_year: Some(2026), ..p.budget[0].clone() }],
        ..TargetParams::default()
    };
    let r =
        rm.targets(&j, Period::new(d("2025-01-01"), d("2026-12-31")).unwrap(), d("2026-04-30"), &from_2026).unwrap();
    assert_eq!(r.budgets.iter().map(|b| b.year).collect::<Vec<_>>(), vec![2026]);
    let city = rm
        .targets(&Jurisdiction::city(), Period::new(d("2026-01-01"), d("2026-12-31")).unwrap(), d("2026-04-30"), &p)
        .unwrap();
    assert!(city.budgets.is_empty(), "a district's budget is reported for that district only");
    // Exit review on 2026-04-30 (3 months: since 2026-01-30): B (registered 01-10, never contacted)
    // and C (registered 2025-10-01, never contacted) are listed; A is placed.
    let review =
        rm.exit_review(&Jurisdiction::parse("120111").unwrap(), d("2026-04-30"), &TargetParams::default()).unwrap();
    let ids: BTreeSet<String> = review.iter().map(|r| r.case_id.clone()).collect();
    assert_eq!(ids, [b.case(), c.case()].into_iter().collect());
}

#[test]
fn reapplying_a_batch_changes_nothing() {
    let a = Person::new(1, XQ_A);
    let mut w = World::default();
    w.register(&a, "2026-01-10").contact(&a, "2026-01-11");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rm.sqlite");
    let mut p = Projector::open(&path).unwrap();
    p.apply(&w.events).unwrap();
    p.apply(&w.events).unwrap();
    p.apply(&w.events[1..]).unwrap();
    assert_eq!(p.events_applied().unwrap(), 2);
    assert_eq!(p.checkpoint().unwrap(), Some(Position::from_sequence(2)));
}

#[test]
fn eligible_persons_leave_the_list_when_the_programme_is_granted_and_return_when_it_is_revoked() {
    let a = Person::new(1, "120111001001");
    let b = Person::new(2, "120101001001");
    let finding = |rule: &str, programme: &str, amount: Option<i64>| {
        PersonFact::EligibilityFound(EligibilityFinding {
            rule_id: rule.into(),
            rule_valid_from: d("2020-05-18"),
            programme: programme.into(),
            clause: "000 § 9".into(),
            reasons: vec![EligibilityReason {
                check: "placement_kinds".into(),
                detail: "placement is enterprise".into(),
                clause: "000 § 9".into(),
            }],
            amount: amount.map(|f| Fen::positive(f).unwrap()),
        })
    };
    let grant = |id: &str, programme: &str| {
        PersonFact::SubsidyGranted(SubsidyGrant {
            subsidy_id: id.into(),
            programme: programme.into(),
            amount: Fen::positive(100_000).unwrap(),
            period: DateRange::new(d("2026-04-01"), d("2026-04-01")).unwrap(),
            payee: Payee::Enterprise(employer()),
            policy_clause: "000 § 9".into(),
        })
    };
    let mut w = World::default();
    w.register(&a, "2026-01-05")
        .register(&b, "2026-01-06")
        .place(&a, "2026-03-01", PlacementKind::Enterprise)
        .record(&a, "2026-03-02", finding("xiqing.hiring.one-time", "xiqing-hiring-one-time", Some(100_000)))
        .record(&b, "2026-03-03", finding("tianjin.other", "tianjin-other", None))
        // Another programme granted to A: A stays on the list.
        .record(&a, "2026-03-10", grant("S0", "tianjin-other"))
        .record(&a, "2026-04-01", grant("S1", "xiqing-hiring-one-time"))
        .record(
            &a,
            "2026-05-01",
            PersonFact::SubsidyRevoked(SubsidyRevocation { subsidy_id: "S1".into(), reason: "r".into() }),
        );
    let (_dir, rm) = w.project();
    let city = Jurisdiction::parse("").unwrap();
    let listed = |j: &Jurisdiction, programme: Option<&str>, on: &str| -> Vec<(String, String)> {
        let page = rm.eligible(j, programme, d(on), 0, 100).unwrap();
        assert_eq!(page.total, page.rows.len());
        page.rows.into_iter().map(|r| (r.case_id, r.rule_id)).collect()
    };
    let a_row = (a.case(), "xiqing.hiring.one-time".to_string());
    let b_row = (b.case(), "tianjin.other".to_string());
    // Before anything was found: empty; found on 2026-03-02 and 03-03.
    assert_eq!(listed(&city, None, "2026-03-01"), vec![]);
    assert_eq!(listed(&city, None, "2026-03-31"), vec![a_row.clone(), b_row.clone()]);
    // Jurisdiction and programme filters.
    assert_eq!(listed(&Jurisdiction::parse("120111").unwrap(), None, "2026-03-31"), vec![a_row.clone()]);
    assert_eq!(listed(&city, Some("tianjin-other"), "2026-03-31"), vec![b_row.clone()]);
    // Granted on 04-01: A leaves the list that day; revoked on 05-01: A is back.
    assert_eq!(listed(&city, None, "2026-04-01"), vec![b_row.clone()]);
    assert_eq!(listed(&city, None, "2026-05-01"), vec![a_row.clone(), b_row.clone()]);
    // The row carries the clause, the reasons, the amount and the residence.
    let page = rm.eligible(&city, None, d("2026-03-31"), 1, 1).unwrap();
    assert_eq!((page.total, page.rows.len()), (2, 1), "the second page of size 1");
    let row = &rm.eligible(&city, None, d("2026-03-31"), 0, 1).unwrap().rows[0];
    assert_eq!((row.clause.as_str(), row.amount_fen, row.found_on), ("000 § 9", Some(100_000), d("2026-03-02")));
    assert_eq!((row.district.as_str(), row.community.as_str()), ("120111", "120111001001"));
    let reasons: serde_json::Value = serde_json::from_str(&row.reasons).unwrap();
    assert_eq!(reasons[0]["check"], "placement_kinds");
    assert_eq!(reasons[0]["clause"], "000 § 9");
}

// === households: membership periods (a person counts only while a member) ===

fn zeh(rm: &ReadModel, j: &str, on: &str) -> Vec<leye_projections::read_model::HouseholdRow> {
    rm.zero_employment_households(&Jurisdiction::parse(j).unwrap(), d(on), &TargetParams::default()).unwrap()
}

fn household(rm: &ReadModel, h: Uuid, on: &str) -> leye_projections::read_model::HouseholdView {
    rm.household(&h.to_string(), d(on)).unwrap().unwrap_or_else(|| panic!("household {h} unknown on {on}"))
}

fn recognised_zero_employment(on: &str) -> PersonFact {
    PersonFact::DifficultyRecognised(Difficulty {
        categories: [DifficultyCategory::ZeroEmploymentHousehold].into_iter().collect(),
        valid: DateRange::new(d(on), d("2027-12-31")).unwrap(),
    })
}

fn joins(h: Uuid) -> PersonFact {
    PersonFact::HouseholdJoined(HouseholdMembership { household_id: h, relation: HouseholdRelation::Spouse })
}

fn leaves(h: Uuid) -> PersonFact {
    PersonFact::HouseholdLeft(HouseholdLeave { household_id: h })
}

#[test]
fn a_member_who_leaves_no_longer_clears_nor_makes_the_household() {
    // Household H: A, B and C register on 2026-02-01 naming H (members from that day).
    // A is recognised "zero-employment household" on 03-01: H identified on 03-01.
    // B is placed on 04-10: H cleared on 04-10.
    // B leaves H on 05-01 (still employed, no longer a member): zero-employment again from 05-01.
    // A leaves H on 06-01: the only member with a signal is gone; C alone has none: H is no
    // longer identified (not outstanding, not cleared either).
    let h = Uuid::from_u128(11);
    let (mut a, mut b, mut c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_B));
    for p in [&mut a, &mut b, &mut c] {
        p.household = Some(h);
    }
    let mut w = World::default();
    w.register(&a, "2026-02-01").register(&b, "2026-02-01").register(&c, "2026-02-01");
    w.record(&a, "2026-03-01", recognised_zero_employment("2026-03-01"));
    w.place(&b, "2026-04-10", PlacementKind::Enterprise);
    w.record(&b, "2026-05-01", leaves(h));
    w.record(&a, "2026-06-01", leaves(h));
    let (_dir, rm) = w.project();

    assert!(rm.household(&h.to_string(), d("2026-01-31")).unwrap().is_none(), "nobody had joined yet");
    // 04-09: outstanding since 03-01, 39 days (> 30: overdue).
    let on = zeh(&rm, "", "2026-04-09");
    assert_eq!(on.len(), 1);
    assert_eq!(
        (on[0].identified_on, on[0].since, on[0].days_outstanding, on[0].overdue),
        (d("2026-03-01"), d("2026-03-01"), 39, true)
    );
    assert_eq!(on[0].communities, vec![XQ_A.to_string(), XQ_B.to_string()]);
    // 04-10: cleared by B's placement.
    assert!(zeh(&rm, "", "2026-04-10").is_empty());
    let v = household(&rm, h, "2026-04-30");
    assert_eq!((v.status.zero_employment, v.status.cleared_on, v.status.since), (false, Some(d("2026-04-10")), None));
    assert_eq!(v.members.iter().filter(|m| m.employed_on_as_of).count(), 1);
    assert!(v.members.iter().all(|m| m.left_on.is_none()), "B's leave on 05-01 is not known on 04-30");
    // 05-01: B has left; H is zero-employment again from 05-01: 0 days, then 30 days on 05-31 (not overdue).
    let again = zeh(&rm, "120111", "2026-05-01");
    assert_eq!(
        (again[0].identified_on, again[0].since, again[0].days_outstanding),
        (d("2026-03-01"), d("2026-05-01"), 0)
    );
    let may31 = zeh(&rm, "120111", "2026-05-31");
    assert_eq!((may31[0].days_outstanding, may31[0].overdue), (30, false));
    assert_eq!(zeh(&rm, "120111", "2026-06-01").len(), 0, "A left on 06-01: no member signals any more");
    let v = household(&rm, h, "2026-05-15");
    let b_row = v.members.iter().find(|m| m.case_id == b.case()).unwrap();
    assert_eq!((b_row.left_on, b_row.member_on_as_of, b_row.employed_on_as_of), (Some(d("2026-05-01")), false, true));
    let v = household(&rm, h, "2026-06-01");
    assert_eq!((v.status.identified_on, v.status.zero_employment, v.status.cleared_on), (None, false, None));
    assert_eq!(v.members.iter().filter(|m| m.member_on_as_of).count(), 1, "only C");
    // The target counts it on 05-31 in Xiqing (A and C live there), not in Heping.
    let r = report(&rm, "120111", "2026-05-01", "2026-05-31", "2026-05-31");
    assert_eq!(target(&r, "zero_employment_households_outstanding"), (1, None));
    assert!(zeh(&rm, "120101", "2026-05-31").is_empty());
}

#[test]
fn a_member_exited_as_employed_clears_the_household_until_registering_again() {
    // TARGETS.md "Households": a member whose spell was closed by an exit with reason
    // employed is employed from the exit until their next registration.
    // Household H: F registers on 2026-02-01 naming H and listing the group
    // "zero-employment household": identified on 02-01.
    // F's registration is exited as employed on 03-01: cleared on 03-01 (not known on 02-28).
    // F registers again on 05-01 (naming H): unemployed, zero-employment again from 05-01.
    let h = Uuid::from_u128(13);
    let mut f = Person::new(6, XQ_A);
    f.household = Some(h);
    f.groups = vec![PersonGroup::ZeroEmploymentHousehold];
    let mut w = World::default();
    w.register(&f, "2026-02-01").exit(&f, "2026-03-01", ExitReason::Employed);
    w.register(&f, "2026-05-01");
    let (_dir, rm) = w.project();

    let feb = zeh(&rm, "", "2026-02-28");
    assert_eq!((feb.len(), feb[0].since, feb[0].days_outstanding), (1, d("2026-02-01"), 27));
    assert!(!household(&rm, h, "2026-02-28").members[0].employed_on_as_of, "the exit is dated after 02-28");
    assert!(zeh(&rm, "", "2026-03-01").is_empty());
    let v = household(&rm, h, "2026-04-30");
    assert_eq!((v.status.zero_employment, v.status.cleared_on), (false, Some(d("2026-03-01"))));
    assert!(v.members[0].employed_on_as_of);
    let r = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-04-30");
    assert_eq!(target(&r, "zero_employment_households_outstanding"), (0, None));
    // Registered as unemployed again on 05-01: the household falls back, since 05-01.
    let may = zeh(&rm, "120111", "2026-05-10");
    assert_eq!(
        (may.len(), may[0].identified_on, may[0].since, may[0].days_outstanding),
        (1, d("2026-02-01"), d("2026-05-01"), 9)
    );
    let v = household(&rm, h, "2026-05-10");
    assert_eq!(
        (v.status.zero_employment, v.status.since, v.members[0].employed_on_as_of),
        (true, Some(d("2026-05-01")), false)
    );
}

#[test]
fn a_member_who_joins_after_being_placed_clears_from_the_join_and_the_household_can_fall_back() {
    // Household H: D registers on 2026-01-10 naming H and listing the group "zero-employment
    // household": identified on 01-10.
    // E registers on 01-10 (no household), is placed on 02-01, joins H on 03-01: H is cleared
    // on 03-01, not on 02-01 (E was not a member then).
    // E's placement ends on 05-01: zero-employment again from 05-01.
    // D is placed on 05-20: cleared again on 05-20.
    let h = Uuid::from_u128(12);
    let mut dd = Person::new(4, XQ_A);
    dd.household = Some(h);
    dd.groups = vec![PersonGroup::ZeroEmploymentHousehold];
    let e = Person::new(5, HP);
    let mut w = World::default();
    w.register(&dd, "2026-01-10").register(&e, "2026-01-10");
    w.place(&e, "2026-02-01", PlacementKind::Flexible);
    w.record(&e, "2026-03-01", joins(h));
    w.end_placement(&e, "2026-05-01");
    w.place(&dd, "2026-05-20", PlacementKind::PublicWelfarePost);
    let (_dir, rm) = w.project();

    let feb = zeh(&rm, "", "2026-02-28");
    assert_eq!((feb[0].since, feb[0].days_outstanding, feb[0].overdue), (d("2026-01-10"), 49, true));
    assert_eq!(feb[0].communities, vec![XQ_A.to_string()], "E is not a member yet");
    assert!(zeh(&rm, "", "2026-03-01").is_empty());
    let v = household(&rm, h, "2026-03-01");
    assert_eq!((v.status.identified_on, v.status.cleared_on), (Some(d("2026-01-10")), Some(d("2026-03-01"))));
    // Now E's Heping community counts: the household is outstanding in Heping on 05-01.
    let may = zeh(&rm, "120101", "2026-05-01");
    assert_eq!((may[0].since, may[0].days_outstanding), (d("2026-05-01"), 0));
    assert_eq!(may[0].communities, vec![HP.to_string(), XQ_A.to_string()]);
    let v = household(&rm, h, "2026-05-19");
    assert_eq!((v.status.zero_employment, v.status.since), (true, Some(d("2026-05-01"))));
    assert!(v.members.iter().all(|m| !m.employed_on_as_of));
    let v = household(&rm, h, "2026-05-20");
    assert_eq!((v.status.zero_employment, v.status.cleared_on), (false, Some(d("2026-05-20"))));
}

#[test]
fn a_signal_from_before_joining_does_not_identify_the_new_household() {
    // G registers on 2026-01-05 naming household H1 and listing the zero-employment group;
    // leaves H1 and joins H2 on 02-01. On 03-01: H2 is not identified (G's signal dates from
    // H1); H1 has no member any more and belongs to no jurisdiction.
    let (h1, h2) = (Uuid::from_u128(21), Uuid::from_u128(22));
    let mut g = Person::new(6, XQ_A);
    g.household = Some(h1);
    g.groups = vec![PersonGroup::ZeroEmploymentHousehold];
    let mut w = World::default();
    w.register(&g, "2026-01-05");
    w.record(&g, "2026-02-01", leaves(h1)).record(&g, "2026-02-01", joins(h2));
    let (_dir, rm) = w.project();
    assert_eq!(zeh(&rm, "", "2026-01-31").len(), 1, "H1 outstanding while G is in it");
    assert!(zeh(&rm, "", "2026-03-01").is_empty());
    assert_eq!(household(&rm, h2, "2026-03-01").status.identified_on, None);
    let v1 = household(&rm, h1, "2026-03-01");
    assert_eq!((v1.members.len(), v1.members[0].left_on), (1, Some(d("2026-02-01"))));
    // A recognition while in H2 identifies H2 from its date.
    w.record(&g, "2026-03-10", recognised_zero_employment("2026-03-10"));
    let (_dir2, rm) = w.project();
    let v2 = household(&rm, h2, "2026-03-10");
    assert_eq!((v2.status.identified_on, v2.status.since), (Some(d("2026-03-10")), Some(d("2026-03-10"))));
}

// === enterprises: batch layoffs (000 § 3), internship posts (001 § 8), subsidies ===

/// An enterprise case in the scenarios: its case number and district.
struct Enterprise {
    seq: u32,
    district: &'static str,
}

impl Enterprise {
    fn case(&self) -> String {
        format!("00000000-0000-0000-0001-{:012}", self.seq)
    }
}

fn enterprise_credit_code(district: &str, seq: u32) -> CreditCode {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let body = format!("91{district}MA05JX{seq:03}");
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    CreditCode::parse(&format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)).unwrap()
}

impl World {
    fn record_enterprise(
        &mut self,
        e: &Enterprise,
        on: &str,
        fact: leye_domain::enterprise::EnterpriseFact,
    ) -> &mut Self {
        let case = e.case();
        let revision = self.revisions.entry(case.clone()).or_insert(0);
        let metadata = EventMetadata {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "t".into(),
            office: "o".into(),
            district: leye_domain::values::DistrictCode::parse(e.district).unwrap(),
            effective_date: d(on),
            schema_version: leye_domain::enterprise::SCHEMA_VERSION,
            command_fingerprint: String::new(),
            actor_roles: Vec::new(),
            authenticated_by: String::new(),
        };
        let event = leye_domain::enterprise::EnterpriseEvent { effective_date: d(on), fact };
        let seq = self.events.len() as u64 + 1;
        self.events.push(RecordedEvent {
            stream: StreamName::parse(format!("enterprise-{case}")).unwrap(),
            revision: *revision,
            position: Position::from_sequence(seq),
            event_id: Uuid::new_v4(),
            event_type: event.fact.event_type().into(),
            data: event.encode(),
            metadata: serde_json::to_vec(&metadata).unwrap(),
            recorded_at: Utc::now(),
        });
        *revision += 1;
        self
    }
    fn register_enterprise(&mut self, e: &Enterprise, on: &str) -> &mut Self {
        use leye_domain::enterprise::{EnterpriseFact, EnterpriseRegistration};
        // From its stored form, so that fields with a default keep it.
        let reg: EnterpriseRegistration = serde_json::from_value(serde_json::json!({
            "credit_code": enterprise_credit_code(e.district, e.seq).as_str(),
            "name": "测试企业",
            "district": e.district,
            "industry_code": "C3411",
            "insured_employees": 500,
            "small_micro": false,
            "kinds": ["other"],
        }))
        .unwrap();
        self.record_enterprise(e, on, EnterpriseFact::Registered(reg))
    }
    fn layoff(&mut self, e: &Enterprise, on: &str, id: &str, people: u32) -> &mut Self {
        use leye_domain::enterprise::{BatchLayoff, EnterpriseFact};
        let people = std::num::NonZeroU32::new(people).unwrap();
        self.record_enterprise(e, on, EnterpriseFact::BatchLayoffReported(BatchLayoff { layoff_id: id.into(), people }))
    }
    fn serve(
        &mut self,
        e: &Enterprise,
        on: &str,
        id: &str,
        service: leye_domain::enterprise::LayoffService,
    ) -> &mut Self {
        use leye_domain::enterprise::{EnterpriseFact, LayoffServiceProvision};
        self.record_enterprise(
            e,
            on,
            EnterpriseFact::LayoffServiceProvided(LayoffServiceProvision { layoff_id: id.into(), service }),
        )
    }
    fn offer_posts(&mut self, e: &Enterprise, on: &str, id: &str, posts: u32) -> &mut Self {
        use leye_domain::enterprise::{EnterpriseFact, InternshipOffer};
        let posts = std::num::NonZeroU32::new(posts).unwrap();
        self.record_enterprise(
            e,
            on,
            EnterpriseFact::InternshipPostsOffered(InternshipOffer { offer_id: id.into(), posts }),
        )
    }
}

#[test]
fn an_eligible_enterprise_is_listed_at_district_level_until_granted() {
    use leye_domain::enterprise::EnterpriseFact;
    let e = Enterprise { seq: 7, district: "120111" };
    let finding = EligibilityFinding {
        rule_id: "xiqing.loan.small-micro".into(),
        rule_valid_from: d("2020-05-18"),
        programme: "xiqing-small-micro-loan".into(),
        clause: "000 § 14".into(),
        reasons: vec![],
        amount: None,
    };
    let grant = SubsidyGrant {
        subsidy_id: "L1".into(),
        programme: "xiqing-small-micro-loan".into(),
        amount: Fen::positive(500_000).unwrap(),
        period: DateRange::new(d("2026-05-01"), d("2026-05-31")).unwrap(),
        payee: Payee::Enterprise(enterprise_credit_code("120111", 7)),
        policy_clause: "000 § 14".into(),
    };
    let mut w = World::default();
    w.register_enterprise(&e, "2026-01-05")
        .record_enterprise(&e, "2026-03-02", EnterpriseFact::EligibilityFound(finding))
        .record_enterprise(&e, "2026-05-01", EnterpriseFact::SubsidyGranted(grant));
    let (_dir, rm) = w.project();
    let listed = |j: &str, on: &str| -> Vec<(String, String, String)> {
        rm.eligible(&Jurisdiction::parse(j).unwrap(), None, d(on), 0, 100)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| (r.case_id, r.case_kind, r.community))
            .collect()
    };
    let row = (e.case(), "enterprise".to_string(), "120111".to_string());
    // At city and district level (an enterprise has no street or community).
    assert_eq!(listed("", "2026-04-01"), vec![row.clone()]);
    assert_eq!(listed("120111", "2026-04-01"), vec![row]);
    assert_eq!(listed("120111001", "2026-04-01"), vec![]);
    assert_eq!(listed("120101", "2026-04-01"), vec![]);
    // Granted on its own case (enterprise_subsidy): off the list.
    assert_eq!(listed("", "2026-05-01"), vec![]);
}

fn unserved(rm: &ReadModel, j: &str, as_of: &str) -> Vec<(String, Vec<&'static str>, bool)> {
    let period = Period::new(d("2026-01-01"), d("2026-06-30")).unwrap();
    rm.unserved_layoffs(&Jurisdiction::parse(j).unwrap(), period, d(as_of), &TargetParams::default())
        .unwrap()
        .into_iter()
        .map(|r| (r.layoff_id, r.missing, r.overdue))
        .collect()
}

#[test]
fn batch_layoffs_of_20_and_40_are_followed_within_30_days() {
    use leye_domain::enterprise::LayoffService::{JobFair, SkillsTraining, TrackingVisit};
    // Xiqing enterprises X1, X2; Heping H. Deadline: reported_on + 30 days.
    let (x1, x2, h) = (
        Enterprise { seq: 1, district: "120111" },
        Enterprise { seq: 2, district: "120111" },
        Enterprise { seq: 3, district: "120101" },
    );
    let mut w = World::default();
    w.register_enterprise(&x1, "2026-01-05")
        .register_enterprise(&x2, "2026-01-05")
        .register_enterprise(&h, "2026-01-05");
    // 19 people: under the threshold, in no target and on no list.
    w.layoff(&x1, "2026-03-02", "l19", 19);
    // 20 people, a visit on day 30 (03-02 + 30 = 04-01): followed.
    w.layoff(&x1, "2026-03-02", "l20a", 20).serve(&x1, "2026-04-01", "l20a", TrackingVisit);
    // 20 people, a visit on day 31 (03-03 + 31 = 04-03): late, not followed; served, so off the list.
    w.layoff(&x1, "2026-03-03", "l20b", 20).serve(&x1, "2026-04-03", "l20b", TrackingVisit);
    // 39 people, nothing: in the 20-target only; on the list (deadline 04-09).
    w.layoff(&x1, "2026-03-10", "l39", 39);
    // 40 people, only a job fair: followed for 20, not for 40 (skills training missing).
    w.layoff(&x1, "2026-04-01", "l40a", 40).serve(&x1, "2026-04-10", "l40a", JobFair);
    // 40 people at X2: training on 05-05, job fair on day 30 (05-01 + 30 = 05-31): followed for both.
    w.layoff(&x2, "2026-05-01", "l40b", 40).serve(&x2, "2026-05-05", "l40b", SkillsTraining).serve(
        &x2,
        "2026-05-31",
        "l40b",
        JobFair,
    );
    // Heping, 50 people, nothing.
    w.layoff(&h, "2026-03-01", "l50", 50);
    let (_dir, rm) = w.project();

    let h1 = |j, as_of| report(&rm, j, "2026-01-01", "2026-06-30", as_of);
    let xq = h1("120111", "2026-06-30");
    // ≥ 20: l20a, l20b, l39, l40a, l40b; followed in time: l20a, l40a, l40b.
    assert_eq!(target(&xq, "batch_layoffs_20_followed"), (3, Some(5)));
    // ≥ 40: l40a, l40b; both services in time: l40b.
    assert_eq!(target(&xq, "batch_layoffs_40_followed"), (1, Some(2)));
    let city = h1("", "2026-06-30");
    assert_eq!(target(&city, "batch_layoffs_20_followed"), (3, Some(6)));
    assert_eq!(target(&city, "batch_layoffs_40_followed"), (1, Some(3)));
    assert_eq!(target(&h1("120101", "2026-06-30"), "batch_layoffs_40_followed"), (0, Some(1)));
    // Below district level enterprises have no place: the targets are left out.
    let street = h1("120111001", "2026-06-30");
    assert!(!street.targets.iter().any(|t| t.id.starts_with("batch_layoffs") || t.id == "internship_posts"));

    // As of 05-20: l40b's job fair (05-31) is not known yet.
    let may = h1("120111", "2026-05-20");
    assert_eq!(target(&may, "batch_layoffs_40_followed"), (0, Some(2)));
    assert_eq!(target(&may, "batch_layoffs_20_followed"), (3, Some(5)), "l40b had its training");
    // As of 04-05: l40a's job fair (04-10) not yet, l40b not yet reported; l20b's late visit never counts.
    let april = h1("120111", "2026-04-05");
    assert_eq!(target(&april, "batch_layoffs_20_followed"), (1, Some(4)));
    assert_eq!(target(&april, "batch_layoffs_40_followed"), (0, Some(1)));

    // The list: what is still missing on the date, overdue after the deadline.
    assert_eq!(
        unserved(&rm, "120111", "2026-06-30"),
        vec![("l39".into(), vec!["any_service"], true), ("l40a".into(), vec!["skills_training"], true)]
    );
    assert_eq!(
        unserved(&rm, "120111", "2026-04-05"),
        vec![("l39".into(), vec!["any_service"], false), ("l40a".into(), vec!["skills_training", "job_fair"], false)]
    );
    // l39's deadline is 04-09: within it on that day, overdue the day after.
    assert!(!unserved(&rm, "120111", "2026-04-09")[0].2);
    assert_eq!(unserved(&rm, "120111", "2026-04-10")[0], ("l39".into(), vec!["any_service"], true));
    assert_eq!(unserved(&rm, "", "2026-06-30").len(), 3, "and Heping's l50");
    assert!(unserved(&rm, "120111001", "2026-06-30").is_empty());

    // The deadline is a parameter.
    let p = TargetParams { batch_layoff_service_days: 31, ..TargetParams::default() };
    let r = rm
        .targets(
            &Jurisdiction::parse("120111").unwrap(),
            Period::new(d("2026-01-01"), d("2026-06-30")).unwrap(),
            d("2026-06-30"),
            &p,
        )
        .unwrap();
    assert_eq!(target(&r, "batch_layoffs_20_followed"), (4, Some(5)), "l20b's visit on day 31 now counts");
}

#[test]
fn internship_posts_are_summed_across_the_enterprises_of_a_district() {
    let (x1, x2, h) = (
        Enterprise { seq: 1, district: "120111" },
        Enterprise { seq: 2, district: "120111" },
        Enterprise { seq: 3, district: "120101" },
    );
    let mut w = World::default();
    w.register_enterprise(&x1, "2026-01-05")
        .register_enterprise(&x2, "2026-01-05")
        .register_enterprise(&h, "2026-01-05");
    w.offer_posts(&x1, "2026-02-01", "o1", 12).offer_posts(&x1, "2026-07-01", "o2", 30);
    w.offer_posts(&x2, "2026-06-30", "o1", 8);
    w.offer_posts(&h, "2026-03-01", "o1", 100);
    // An intern placed in Xiqing: interns stay beside posts.
    let a = Person::new(1, XQ_A);
    w.register(&a, "2026-01-10").place(&a, "2026-03-01", PlacementKind::Internship);
    let (_dir, rm) = w.project();
    let h1 = |j, as_of| report(&rm, j, "2026-01-01", "2026-06-30", as_of);
    let xq = h1("120111", "2026-06-30");
    assert_eq!(target(&xq, "internship_posts"), (20, None), "12 + 8; o2 is after the period");
    assert_eq!(target(&xq, "interns"), (1, None));
    assert_eq!(target(&h1("", "2026-06-30"), "internship_posts"), (120, None));
    assert_eq!(target(&h1("120101", "2026-06-30"), "internship_posts"), (100, None));
    assert_eq!(target(&h1("120111", "2026-06-29"), "internship_posts"), (12, None), "as of the day before X2's offer");
    // 2 000 posts is a yearly goal of 001 (2022–2025): a half year of 2026 shows the bare figure.
    let t = xq.targets.iter().find(|t| t.id == "internship_posts").unwrap();
    assert_eq!((t.goal, t.met), ("", None));
}

#[test]
fn a_grant_counts_for_the_district_it_was_recorded_in_and_its_community_only_if_there() {
    // TARGETS.md: a person-case grant counts for the district of its event (where it was
    // recorded), and below it for the person's community when granted if that lies in the
    // district; else for the district (and the city) only.
    // G registers in Xiqing (XQ_A) on 2026-01-05 and in Heping (HP) on 2026-03-01.
    // 2026-04-01: a grant recorded in Xiqing (x1, 1 000 fen): Xiqing and the city only.
    // 2026-04-02: a grant recorded in Heping (h1, 300 fen): Heping, its street, its community.
    // K only ever lived in Heping; a grant recorded in Xiqing (k1, 50 fen): Xiqing and the
    // city only. Twenty more Heping communities make Xiqing's query read the cases of its
    // places' lists (not every case): K is on the list of the place "120111".
    let (in_xiqing, in_heping) = (Person::new(8, XQ_A), Person::new(8, HP));
    let (k_in_xiqing, k_in_heping) = (Person::new(9, XQ_A), Person::new(9, HP));
    let grant = |id: &str, fen: i64| {
        PersonFact::SubsidyGranted(SubsidyGrant {
            subsidy_id: id.into(),
            programme: "p".into(),
            amount: Fen::positive(fen).unwrap(),
            period: DateRange::new(d("2026-01-01"), d("2026-12-31")).unwrap(),
            payee: Payee::Person,
            policy_clause: "000 § 13".into(),
        })
    };
    let mut w = World::default();
    w.register(&in_xiqing, "2026-01-05").register(&in_heping, "2026-03-01");
    w.record(&in_xiqing, "2026-04-01", grant("x1", 1_000)).record(&in_heping, "2026-04-02", grant("h1", 300));
    w.register(&k_in_heping, "2026-01-05").record(&k_in_xiqing, "2026-04-03", grant("k1", 50));
    let communities: Vec<&'static str> =
        (0..20).map(|n| &*Box::leak(format!("1201010020{n:02}").into_boxed_str())).collect();
    for (n, c) in communities.into_iter().enumerate() {
        w.register(&Person::new(100 + n as u32, c), "2026-01-05");
    }
    let (_dir, rm) = w.project();
    let granted = |j: &str| target(&report(&rm, j, "2026-01-01", "2026-12-31", "2026-12-31"), "subsidy_granted_fen").0;
    let cases: Vec<(&str, i64)> = vec![
        ("", 1_350),
        ("120111", 1_050),
        ("120111001", 0),
        (XQ_A, 0),
        ("120101", 300),
        ("120101001", 300),
        (HP, 300),
    ];
    for (j, fen) in cases {
        assert_eq!(granted(j), fen, "{j:?}");
    }
    let totals = rm
        .subsidy_totals(
            &Jurisdiction::parse("").unwrap(),
            Period::new(d("2026-01-01"), d("2026-12-31")).unwrap(),
            d("2026-12-31"),
        )
        .unwrap();
    let by_district: Vec<(&str, i64)> = totals.iter().map(|r| (r.district.as_str(), r.amount_fen)).collect();
    assert_eq!(by_district, vec![("120101", 300), ("120111", 1_050)]);
}

#[test]
fn enterprise_subsidies_count_in_the_totals_and_budgets_of_the_city_and_district() {
    use leye_domain::enterprise::EnterpriseFact;
    let x1 = Enterprise { seq: 1, district: "120111" };
    let a = Person::new(1, XQ_A);
    let grant = |id: &str, programme: &str, fen: i64, payee: Payee| SubsidyGrant {
        subsidy_id: id.into(),
        programme: programme.into(),
        amount: Fen::positive(fen).unwrap(),
        period: DateRange::new(d("2026-01-01"), d("2026-12-31")).unwrap(),
        payee,
        policy_clause: "000 § 9".into(),
    };
    let mut w = World::default();
    w.register(&a, "2026-01-10").record(
        &a,
        "2026-02-01",
        PersonFact::SubsidyGranted(grant("p1", "xiqing-startup-success", 1_000, Payee::Person)),
    );
    w.register_enterprise(&x1, "2026-01-05");
    let to_x1 = || Payee::Enterprise(enterprise_credit_code("120111", 1));
    w.record_enterprise(
        &x1,
        "2026-03-01",
        EnterpriseFact::SubsidyGranted(grant("e1", "xiqing-startup-success", 20_000, to_x1())),
    );
    w.record_enterprise(
        &x1,
        "2026-03-02",
        EnterpriseFact::SubsidyGranted(grant("e2", "enterprise-hiring", 300, to_x1())),
    );
    w.record_enterprise(
        &x1,
        "2026-04-01",
        EnterpriseFact::SubsidyRevoked(SubsidyRevocation { subsidy_id: "e2".into(), reason: "r".into() }),
    );
    let (_dir, rm) = w.project();
    let totals = |j: &str, as_of: &str| -> Vec<(String, i64, i64)> {
        rm.subsidy_totals(
            &Jurisdiction::parse(j).unwrap(),
            Period::new(d("2026-01-01"), d("2026-12-31")).unwrap(),
            d(as_of),
        )
        .unwrap()
        .into_iter()
        .map(|r| (r.programme, r.grants, r.amount_fen))
        .collect()
    };
    assert_eq!(
        totals("120111", "2026-03-31"),
        vec![("enterprise-hiring".into(), 1, 300), ("xiqing-startup-success".into(), 2, 21_000)]
    );
    assert_eq!(totals("", "2026-04-01"), vec![("xiqing-startup-success".into(), 2, 21_000)], "e2 revoked on 04-01");
    // A street knows its residents' grants only.
    assert_eq!(totals("120111001", "2026-03-31"), vec![("xiqing-startup-success".into(), 1, 1_000)]);
    // subsidy_granted_fen and the Xiqing start-up floor include the enterprise's grant.
    let r = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-06-30");
    assert_eq!(target(&r, "subsidy_granted_fen"), (21_000, None));
    // The shipped floor is 001's, set for 2022–2025: 2026 has no line.
    assert!(r.budgets.is_empty(), "{:?}", r.budgets);
    let mut p = TargetParams::default();
    p.budget[0].last_year = None;
    let j = Jurisdiction::parse("120111").unwrap();
    let r = rm.targets(&j, Period::new(d("2026-01-01"), d("2026-12-31")).unwrap(), d("2026-06-30"), &p).unwrap();
    assert_eq!(
        r.budgets.iter().map(|b| (b.id.as_str(), b.granted_fen)).collect::<Vec<_>>(),
        vec![("xiqing_startup_subsidies", 21_000)]
    );
}
