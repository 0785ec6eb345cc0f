//! Enterprises: batch layoffs (000 § 3), internship posts (001 § 8),
//! subsidies, worked out by hand.

use super::*;

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
