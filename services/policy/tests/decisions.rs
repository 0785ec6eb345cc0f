//! Decisions across grants: caps, one-time grants, cumulative limits, the
//! extension to retirement, renewal after re-recognition, jurisdiction
//! precedence, "policy finds people", and facts taken from a person case.

mod common;

use std::collections::BTreeSet;

use common::{case, d, district, fen};
use leye_domain::{
    person::{
        Difficulty, DifficultyCategory as D, Education, Hukou, HukouNature, PersonCase, PersonEvent, PersonFact,
        PersonGroup as G, Placement, PlacementKind as P, Registration, SubsidyGrant,
    },
    values::{CountyCode, CreditCode, DateRange, Gender, PersonName, Residence, ResidentId},
};
use leye_policy::{
    Attestation as A, EnterpriseKind as E, Facts, GrantRequest, Outcome, PayeeKind, PersonFacts, PostType,
};

#[test]
fn a_grant_over_the_cap_is_refused_citing_its_clause_and_the_cap_is_offered() {
    // 002 #37: 每个岗位每月再给予企业最高1000元补助 — 12 months at most 12,000 yuan
    let c = case("002 #37", "tianjin.placement.community-service-post", "2024-01-05")
        .difficulty(&[D::Other], "2023-12-01")
        .placed(P::CommunityServicePost, "2024-01-01", Some(36))
        .attest(&[A::HardToPlaceThroughMarket])
        .period("2024-01-01", "2024-12-31")
        .amount(1_300_000);
    let decision = c.decide();
    assert_eq!(decision.outcome, Outcome::Refused);
    let failed: Vec<_> = decision.failed().collect();
    assert_eq!(failed.len(), 1, "{decision}");
    assert_eq!(failed[0].check, "amount");
    assert!(failed[0].clause.contains("002 #37"), "{}", failed[0].clause);
    assert!(failed[0].detail.contains("13000 yuan asked exceeds the cap 12000 yuan"), "{}", failed[0].detail);
    assert_eq!(decision.max_amount, Some(fen(1_200_000)));
    // proposing the offered cap is granted
    let again = c.amount(1_200_000).decide();
    assert!(again.is_granted(), "{again}");
}

#[test]
fn a_second_one_time_grant_is_refused_citing_its_clause() {
    // 000 § 9: 按每人1000元的标准给予一次性补贴
    let first = case("000 § 9", "xiqing.hiring.one-time", "2024-03-01").groups(&[G::MigrantWorker]).placed(
        P::Enterprise,
        "2024-01-10",
        Some(12),
    );
    assert!(first.decide().is_granted());
    let second = first.prior("xiqing-hiring-one-time", "2024-03-01", "2024-03-01").decide();
    assert!(!second.is_granted());
    let failed: Vec<_> = second.failed().collect();
    assert_eq!(failed.len(), 1, "{second}");
    assert_eq!((failed[0].check.as_str(), failed[0].clause.as_str()), ("one_time", "000 § 9"));
    assert!(failed[0].detail.contains("already granted on 2024-03-01"));
}

#[test]
fn a_third_public_welfare_placement_is_refused_citing_002_38() {
    // 002 #38: 对补贴期满仍难以…就业的特殊困难人员，可再次…安置，累计安置不超过2次 — the
    // earlier placement's 36 months ran out (2020-01..2022-12) before this one began.
    let placement = |n: u32| {
        let c = case("002 #38", "binhai.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::MinimumLivingAllowanceHousehold], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(n)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000);
        if n > 1 { c.prior("binhai-public-welfare-post", "2020-01-01", "2022-12-31").decide() } else { c.decide() }
    };
    assert!(placement(1).is_granted());
    assert!(placement(2).is_granted(), "a second placement of a special-difficulty person");
    let third = placement(3);
    assert!(!third.is_granted());
    let failed: Vec<_> = third.failed().collect();
    assert_eq!(failed.len(), 1, "{third}");
    assert_eq!((failed[0].check.as_str(), failed[0].clause.as_str()), ("max_public_welfare_placements", "002 #38"));
    assert!(failed[0].detail.contains("累计安置不超过2次"), "{}", failed[0].detail);
}

#[test]
fn years_of_social_insurance_subsidy_are_counted_across_grants() {
    // 002 #33: 最长3年 — 36 months already granted, a 37th refused
    let c = case("002 #33", "tianjin.hiring.social-insurance", "2024-01-05")
        .born("1975-05-01", Gender::Male)
        .difficulty(&[D::ZeroEmploymentHousehold], "2020-12-01")
        .enterprise(&[E::Medium], "120116")
        .placed(P::Enterprise, "2021-01-01", Some(60))
        .prior("tianjin-hiring-social-insurance", "2021-01-01", "2023-12-31")
        .period("2024-01-01", "2024-01-31")
        .base(200_000);
    let decision = c.decide();
    let failed: Vec<_> = decision.failed().collect();
    assert_eq!(failed.len(), 1, "{decision}");
    assert_eq!(failed[0].check, "cumulative_months");
    assert!(
        failed[0].detail.contains(
            "36 months granted before (with tianjin-hiring-social-insurance-other-difficulty) + 1 asked; at most 36"
        ),
        "{}",
        failed[0].detail
    );
}

#[test]
fn within_five_years_of_retirement_the_subsidy_extends_to_the_retirement_month() {
    // man born 1966-03-15: idx 14 from 1965-01 → 14/4+1 = 4 months → 60y4m → retires 2026-07-15.
    // On 2024-01-01 that is less than 5 years away (after 2021-07-15): 不足5年的可延长至退休.
    let c = |to: &str| {
        case("002 #33", "tianjin.hiring.social-insurance", "2024-01-05")
            .born("1966-03-15", Gender::Male)
            .difficulty(&[D::ZeroEmploymentHousehold], "2020-12-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2021-01-01", Some(120))
            .prior("tianjin-hiring-social-insurance", "2021-01-01", "2023-12-31")
            .period("2024-01-01", to)
            .base(5_000_000)
    };
    let to_retirement = c("2026-07-31").decide();
    assert!(to_retirement.is_granted(), "{to_retirement}");
    assert!(
        to_retirement
            .checks
            .iter()
            .any(|x| x.check == "extend_to_retirement_within_years" && x.detail.contains("60y4m reached 2026-07"))
    );
    let beyond = c("2026-08-31").decide();
    let failed: Vec<_> = beyond.failed().collect();
    assert_eq!(failed.len(), 1, "{beyond}");
    assert_eq!(failed[0].check, "extend_to_retirement_within_years");
    assert!(failed[0].clause.contains("002 #33"), "{}", failed[0].clause);
}

/// 002 #36 / 004 § 11 "对就业困难人员从事个体经营或灵活就业的，给予最长3年三项社保补贴…对距法定退休
/// 年龄不足5年的可延长至退休"; 000 § 10 "灵活就业社保补贴延长至退休". A man born 1964-06-15 reaches 60
/// on 2024-06-15 (1978 law: reached before 2025). The subsidy ends with the retirement month
/// (2024-06): 2024-01..2024-06 is granted; 2024-01..2024-12 runs past it and 2024-07..2024-12 lies
/// wholly after it, so both are refused, although 24 months granted before leave room under 最长3年.
#[test]
fn no_month_after_the_retirement_month_is_granted() {
    let c = |from: &'static str, to: &'static str| {
        case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2025-01-10")
            .born("1964-06-15", Gender::Male)
            .difficulty(&[D::MinimumLivingAllowanceHousehold], "2022-01-01")
            .placed(P::Flexible, "2022-01-01", None)
            .prior("tianjin-flexible-difficulty", "2022-01-01", "2023-12-31")
            .period(from, to)
            .decide()
    };
    let to_retirement = c("2024-01-01", "2024-06-30");
    assert!(to_retirement.is_granted(), "{to_retirement}");
    let across = c("2024-01-01", "2024-12-31");
    let failed: Vec<_> = across.failed().map(|f| (f.check.as_str(), f.detail.as_str())).collect();
    assert_eq!(failed.len(), 1, "{across}");
    assert_eq!(failed[0].0, "extend_to_retirement_within_years");
    assert!(failed[0].1.contains("runs past the retirement month"), "{}", failed[0].1);
    let after = c("2024-07-01", "2024-12-31");
    let failed: Vec<_> = after.failed().map(|f| (f.check.as_str(), f.detail.as_str())).collect();
    assert_eq!(failed.len(), 1, "{after}");
    assert_eq!(failed[0].0, "extend_to_retirement_within_years");
    assert!(failed[0].1.contains("lies after the retirement month"), "{}", failed[0].1);
    assert!(!failed[0].1.contains("no extension"), "{}", failed[0].1);
    // a period ending before retirement, 5 years or more away, is not bounded by it
    let young = case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2025-01-10")
        .born("1980-06-15", Gender::Male)
        .difficulty(&[D::MinimumLivingAllowanceHousehold], "2022-01-01")
        .placed(P::Flexible, "2022-01-01", None)
        .period("2024-01-01", "2024-12-31")
        .decide();
    assert!(young.is_granted(), "{young}");
    assert!(
        young
            .checks
            .iter()
            .any(|c| c.check == "extend_to_retirement_within_years" && c.detail.contains("no extension"))
    );
}

#[test]
fn exactly_five_years_before_retirement_there_is_no_extension() {
    // man born 1975-01-01: idx 120 → 120/4+1 = 31 months → 62y7m → retires 2037-08-01;
    // on 2032-08-01 exactly 5 years remain: not 不足5年
    let c = |from: &str, to: &str| {
        case("002 #33", "tianjin.hiring.social-insurance", from)
            .born("1975-01-01", Gender::Male)
            .difficulty(&[D::ZeroEmploymentHousehold], "2029-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2029-08-01", Some(120))
            .prior("tianjin-hiring-social-insurance", "2029-08-01", "2032-07-31")
            .period(from, to)
            .base(1_000_000)
            .decide()
    };
    let on_the_day = c("2032-08-01", "2032-08-31");
    assert!(on_the_day.failed().any(|f| f.check == "cumulative_months"), "{on_the_day}");
    let a_month_later = c("2032-09-01", "2032-09-30");
    assert!(a_month_later.is_granted(), "{a_month_later}");
}

#[test]
fn re_recognition_renews_the_flexible_subsidy() {
    // 002 #36: 享受期满，符合享受最低生活保障条件，且需赡养患重大疾病直系亲属或单亲家庭人员的，可以重新认定…继续申请
    let c = case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2023-04-05")
        .difficulty(&[D::MinimumLivingAllowanceHousehold], "2023-03-01")
        .placed(P::Flexible, "2020-01-01", None)
        .prior("tianjin-flexible-difficulty", "2020-01-01", "2022-12-31")
        .period("2023-04-01", "2024-03-31");
    let without = c.clone().decide();
    assert!(without.failed().any(|f| f.check == "cumulative_months"), "{without}");
    let renewed = c.groups(&[G::MinimumLivingAllowance, G::SingleParent]).decide();
    assert!(renewed.is_granted(), "{renewed}");
    assert!(renewed.checks.iter().any(|x| x.detail.contains("重新认定")), "{renewed}");
}

#[test]
fn a_district_rule_does_not_apply_in_another_district_and_city_rules_apply_everywhere() {
    let xiqing_rule_in_heping = case("000 § 9", "xiqing.hiring.one-time", "2024-03-01")
        .groups(&[G::MigrantWorker])
        .placed(P::Enterprise, "2024-01-10", Some(12))
        .in_district("120101")
        .decide();
    assert!(!xiqing_rule_in_heping.is_granted());
    assert_eq!(xiqing_rule_in_heping.checks[0].check, "in_force");
    assert!(xiqing_rule_in_heping.checks[0].detail.contains("belongs to district 120111"));

    for code in ["120101", "120111", "120116", "120119"] {
        let city = case("000 § 24", "tianjin.benefit.extension-to-retirement", "2024-06-01")
            .born("1965-01-15", Gender::Male)
            .spell("2022-01-01", None)
            .attest(&[A::BenefitExhausted])
            .in_district(code)
            .decide();
        assert!(city.is_granted(), "{code}: {city}");
        // continued to the statutory age: 60y1m, 2025-02-15
        assert_eq!(
            city.outcome,
            Outcome::Granted { amount: None, period: DateRange::new(d("2024-06-01"), d("2025-02-14")).unwrap() }
        );
    }
}

#[test]
fn unknown_rules_and_wrong_payees_are_refused() {
    let cat = leye_policy::default_catalogue();
    let facts = Facts { person: Some(common::person()), ..Facts::default() };
    let unknown = cat
        .evaluate(&GrantRequest::new("xiqing.nothing", district("120111"), d("2024-01-01"), PayeeKind::Person), &facts);
    assert!(!unknown.is_granted());
    assert!(unknown.checks[0].detail.contains("no rule with this id"));

    let mut wrong_payee = case("000 § 9", "xiqing.hiring.one-time", "2024-03-01").groups(&[G::MigrantWorker]).placed(
        P::Enterprise,
        "2024-01-10",
        Some(12),
    );
    wrong_payee.request.payee = PayeeKind::Person;
    let decision = wrong_payee.decide();
    assert_eq!(decision.failed().map(|f| f.check.as_str()).collect::<Vec<_>>(), ["payee"]);
}

#[test]
fn a_womans_unknown_post_type_matters_only_where_the_readings_differ() {
    // born 1984-01-05: worker idx 108 → 108/2+1 = 55 months → 54y7m; cadre idx 168 → 43, capped 36 → 58: decades away
    let far = case("002 #36", "tianjin.flexible.difficulty-4050-social-insurance", "2024-01-05")
        .born("1984-01-05", Gender::Female)
        .difficulty(&[D::Other], "2023-12-01")
        .placed(P::Flexible, "2023-12-01", None)
        .period("2024-01-01", "2024-01-31")
        .decide();
    assert!(far.is_granted(), "{far}");
    // born 1972-06-01: as a worker retired at 50 on 2022-06-01; as a cadre idx 29 → 29/4+1 = 8 months →
    // 55y8m → 2028-02-01, less than 5 years after 2024-01-01: the readings differ
    let near = case("002 #36", "tianjin.flexible.difficulty-4050-social-insurance", "2024-01-05")
        .born("1972-06-01", Gender::Female)
        .difficulty(&[D::Other], "2023-12-01")
        .placed(P::Flexible, "2023-12-01", None)
        .period("2024-01-01", "2024-01-31");
    let unknown = near.clone().decide();
    assert!(unknown.failed().any(|f| f.detail.contains("post type")), "{unknown}");
    assert!(near.post(PostType::Cadre).decide().is_granted());
}

#[test]
fn every_check_cites_a_clause_and_decisions_are_repeatable() {
    let c = case("002 #44", "tianjin.startup.rent", "2024-03-01")
        .groups(&[G::TianjinStudent])
        .placed(P::StartUp, "2024-01-01", None)
        .business("2024-01-01", 2)
        .period("2024-03-01", "2025-02-28");
    let a = c.decide();
    let b = c.decide();
    assert_eq!(a, b);
    assert!(a.checks.iter().all(|x| x.clause.contains("002 #44")));
    // 1000 + 2 × 500 = 2000 a month × 12
    assert_eq!(
        a.outcome,
        Outcome::Granted {
            amount: Some(fen(2_400_000)),
            period: DateRange::new(d("2024-03-01"), d("2025-02-28")).unwrap()
        }
    );
    let text = a.explain();
    assert!(text.starts_with("tianjin.startup.rent: granted 2400000 fen"), "{text}");
}

#[test]
fn policy_finds_people_lists_unreceived_programmes_with_reasons() {
    let cat = leye_policy::default_catalogue();
    let mut woman = common::person();
    woman.birth_date = d("1984-01-05");
    woman.gender = Gender::Female;
    woman.post_type = Some(PostType::Worker);
    woman.difficulties.push(leye_policy::DifficultyFacts {
        categories: [D::Other].into(),
        recognised_on: d("2023-12-01"),
        valid: DateRange::new(d("2023-12-01"), d("2026-11-30")).unwrap(),
    });
    woman.placement = Some(leye_policy::PlacementFacts {
        kind: P::Flexible,
        started_on: d("2023-12-01"),
        contract_months: None,
        ended_on: None,
    });
    let facts = Facts { person: Some(woman), ..Facts::default() };
    let found = cat.find_eligible(&facts, &district("120116"), d("2024-03-01"));
    let ids: BTreeSet<&str> = found.iter().map(|e| e.rule.id.as_str()).collect();
    assert!(ids.contains("tianjin.flexible.difficulty-4050-social-insurance"), "{ids:?}");
    assert!(!ids.contains("tianjin.flexible.special-difficulty-social-insurance"));
    assert!(!ids.iter().any(|id| id.starts_with("xiqing.") || id.starts_with("heping.")), "{ids:?}");
    let hit = found.iter().find(|e| e.rule.id == "tianjin.flexible.difficulty-4050-social-insurance").unwrap();
    assert!(hit.reasons.iter().all(|r| r.passed && r.clause.contains("002 #36")));
    assert!(hit.reasons.iter().any(|r| r.check == "min_age"));

    // once received, no longer listed
    let mut received = facts.clone();
    received.prior_grants.push(leye_policy::PriorGrant {
        programme: "tianjin-flexible-difficulty".into(),
        rule_id: None,
        amount: Some(fen(65_550)),
        period: DateRange::new(d("2024-01-01"), d("2024-01-31")).unwrap(),
        granted_on: d("2024-01-05"),
    });
    let again = cat.find_eligible(&received, &district("120116"), d("2024-03-01"));
    assert!(!again.iter().any(|e| e.rule.programme == "tianjin-flexible-difficulty"));

    // a city-wide rule is found in any district
    let mut man = common::person();
    man.birth_date = d("1965-01-15");
    man.spells.push(leye_policy::SpellFacts { registered_on: d("2022-01-01"), ended_on: None });
    let facts = Facts { person: Some(man), attested: [A::BenefitExhausted].into(), ..Facts::default() };
    let found = cat.find_eligible(&facts, &district("120104"), d("2024-06-01"));
    assert!(found.iter().any(|e| e.rule.id == "tianjin.benefit.extension-to-retirement"), "{found:?}");
}

fn resident_id(first17: &str) -> ResidentId {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    ResidentId::parse(&format!("{first17}{check}"), d("2026-01-01")).unwrap()
}

fn credit_code() -> CreditCode {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let body = "91120111MA05JX0K0";
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| ALPHABET.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    CreditCode::parse(&format!("{body}{}", ALPHABET[((31 - sum % 31) % 31) as usize] as char)).unwrap()
}

#[test]
fn facts_from_a_person_case_decide_a_hiring_subsidy_once() {
    let ev = |on: &str, fact: PersonFact| PersonEvent { effective_date: d(on), fact };
    let registration = Registration {
        resident_id: resident_id("12011119800615003").into(),
        name: Some(PersonName::parse("测试").unwrap()),
        hukou: Hukou { county: CountyCode::parse("120111").unwrap(), nature: HukouNature::Urban },
        residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
        education: Education::SeniorSecondary,
        graduation: None,
        household: None,
        groups: BTreeSet::new(),
    };
    let placement = Placement { kind: P::Enterprise, employer: Some(credit_code()), contract_months: Some(12) };
    let mut events =
        vec![ev("2023-01-10", PersonFact::Registered(registration)), ev("2023-07-10", PersonFact::Placed(placement))];
    let decide = |events: &[PersonEvent]| {
        let case = PersonCase::from_events(events);
        let (person, grants) = PersonFacts::from_file(case.file().unwrap(), d("2024-03-01"));
        assert_eq!(person.gender, Gender::Male);
        let facts = Facts { person: Some(person), prior_grants: grants, ..Facts::default() };
        let request =
            GrantRequest::new("xiqing.hiring.one-time", district("120111"), d("2024-03-01"), PayeeKind::Enterprise);
        leye_policy::default_catalogue().evaluate(&request, &facts)
    };
    // 2023-01-10 → 2023-07-10: 6 full months registered: 登记失业半年以上
    let first = decide(&events);
    assert!(first.is_granted(), "{first}");
    events.push(ev(
        "2024-03-01",
        PersonFact::SubsidyGranted(SubsidyGrant {
            subsidy_id: "s-1".into(),
            programme: "xiqing-hiring-one-time".into(),
            amount: fen(100_000),
            period: DateRange::new(d("2024-03-01"), d("2024-03-01")).unwrap(),
            payee: leye_domain::person::Payee::Enterprise(credit_code()),
            policy_clause: "xiqing.hiring.one-time".into(),
        }),
    ));
    let second = decide(&events);
    assert_eq!(second.failed().map(|f| f.check.as_str()).collect::<Vec<_>>(), ["one_time"]);
}

/// 002 #33 "…各类企业吸纳零就业家庭人员…的，给予企业最长3年五项社保补贴". A zero-employment-household
/// recognition valid 2022-02-01..2022-12-31 covers the hire of 2022-06-01 (3-year contract): the hire
/// is the rewarded fact (`in_force_by = placement_start`), so the special difficulty is judged on
/// that day, and the 2023 months stay within 最长3年 after the recognition has expired. Facts are
/// taken from the person case as the service takes them.
#[test]
fn a_difficulty_valid_at_the_hire_counts_after_the_recognition_expired() {
    let ev = |on: &str, fact: PersonFact| PersonEvent { effective_date: d(on), fact };
    let registration = Registration {
        resident_id: resident_id("12011119800615003").into(),
        name: Some(PersonName::parse("测试").unwrap()),
        hukou: Hukou { county: CountyCode::parse("120111").unwrap(), nature: HukouNature::Urban },
        residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
        education: Education::SeniorSecondary,
        graduation: None,
        household: None,
        groups: BTreeSet::new(),
    };
    let difficulty = Difficulty {
        categories: [D::ZeroEmploymentHousehold].into(),
        valid: DateRange::new(d("2022-02-01"), d("2022-12-31")).unwrap(),
    };
    let placement = |on: &str| {
        ev(
            on,
            PersonFact::Placed(Placement {
                kind: P::Enterprise,
                employer: Some(credit_code()),
                contract_months: Some(36),
            }),
        )
    };
    let decide = |hired: &str, on: &str, from: &str, to: &str| {
        let events = vec![
            ev("2022-01-10", PersonFact::Registered(registration.clone())),
            ev("2022-02-01", PersonFact::DifficultyRecognised(difficulty.clone())),
            placement(hired),
        ];
        let case = PersonCase::from_events(&events);
        let (person, grants) = PersonFacts::from_file(case.file().unwrap(), d(on));
        let facts = Facts { person: Some(person), prior_grants: grants, ..Facts::default() };
        let mut request =
            GrantRequest::new("tianjin.hiring.social-insurance", district("120111"), d(on), PayeeKind::Enterprise);
        request.period = Some(DateRange::new(d(from), d(to)).unwrap());
        request.base = Some(fen(1_200_000));
        leye_policy::default_catalogue().evaluate(&request, &facts)
    };
    let first_year = decide("2022-06-01", "2022-12-01", "2022-06-01", "2022-11-30");
    assert!(first_year.is_granted(), "{first_year}");
    let second_year = decide("2022-06-01", "2023-02-01", "2023-01-01", "2023-12-31");
    assert!(second_year.is_granted(), "special difficulty at the hire, months 8-19 after it:\n{second_year}");
    assert_eq!(second_year.max_amount.map(|f| f.get()), Some(1_200_000));
    let difficulty_check = second_year.checks.iter().find(|c| c.check.ends_with("difficulty")).unwrap();
    assert!(difficulty_check.detail.contains("valid on 2022-06-01"), "{}", difficulty_check.detail);
    // hired after the recognition expired: not a difficulty person at the hire
    let late = decide("2023-01-10", "2023-02-01", "2023-01-01", "2023-01-31");
    assert!(!late.is_granted(), "{late}");
    assert!(late.failed().any(|c| c.detail.contains("no employment difficulty recognised as valid on 2023-01-10")));
}

/// A status subsidy (002 #36 flexible work, `in_force_by` the grant's date) judges the difficulty on
/// the grant's date: a recognition that expired before it no longer counts.
#[test]
fn a_status_subsidy_needs_the_difficulty_valid_on_the_grant_date() {
    let flexible = |valid_to: &'static str| {
        case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2023-02-01")
            .difficulty_valid(&[D::ZeroEmploymentHousehold], "2022-01-01", valid_to)
            .placed(P::Flexible, "2022-01-01", None)
            .period("2023-01-01", "2023-01-31")
            .decide()
    };
    let valid = flexible("2023-02-01");
    assert!(valid.is_granted(), "{valid}");
    let expired = flexible("2023-01-31");
    assert!(expired.failed().any(|c| c.check == "difficulty"), "{expired}");
}

// === hand-computed cross-checks (policy review) ===

/// 002 #48 "按贷款合同签订日的1年期贷款市场报价利率（LPR）的50%给予贴息"; 002 #47 "最高30万元创业担保
/// 贷款…贷款期限最长3年…给予全额贴息". LPR 4.05 % until 2020-04-19, 3.85 % from 2020-04-20:
/// 300,000 × rate × 36/12; Binhai small/micro 3,000,000 × 3.85 % × 50 % × 24/12 = 115,500 yuan.
#[test]
fn a_loan_subsidy_uses_the_lpr_of_the_contract_date() {
    let cap = |contract: &str| {
        case("002 #47", "binhai.loan.individual", "2020-06-01")
            .placed(P::StartUp, "2020-03-01", None)
            .business("2020-03-01", 0)
            .business_in("120116")
            .loan(30_000_000, 36, contract)
            .decide()
            .max_amount
            .map(|f| f.get())
    };
    assert_eq!(cap("2020-04-19"), Some(3_645_000)); // 300,000 × 4.05 % × 3
    assert_eq!(cap("2020-04-20"), Some(3_465_000)); // 300,000 × 3.85 % × 3
    let e = case("002 #48", "binhai.loan.small-micro", "2020-06-01")
        .no_person()
        .enterprise(&[E::SmallMicro], "120116")
        .staff(50, 12, 0)
        .hires(10, 0)
        .loan(300_000_000, 24, "2020-04-20")
        .decide();
    assert!(e.is_granted(), "{e}");
    assert_eq!(e.max_amount.map(|f| f.get()), Some(11_550_000));
}

/// 002 #36 "…补贴标准为最低缴费标准的3/4" per month, at the value in force that month:
/// December 2020 3/4 × 1,009.20 = 756.90; January 2021 3/4 × 1,123.20 = 842.40; total 1,599.30.
#[test]
fn a_flexible_subsidy_uses_each_month_s_minimum_contribution() {
    let decision = case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2021-02-01")
        .difficulty(&[D::SingleParentHousehold], "2020-11-01")
        .placed(P::Flexible, "2020-12-01", None)
        .period("2020-12-01", "2021-01-31")
        .decide();
    assert!(decision.is_granted(), "{decision}");
    assert_eq!(decision.max_amount.map(|f| f.get()), Some(159_930));
}

/// 000 § 9 "本区企业每招用1名西青户籍人员并签订1年以上（含1年）劳动合同，履行合同满6个月后继续
/// 履行合同的，按每人2400元…其中招用…“4050”人员…再给予1000元补贴": an open-ended contract meets
/// 1年以上 (domain §4); 6 full months are reached on 2023-03-01 for a 2022-09-01 hire, not on
/// 2023-02-28; a woman who turned 40 on the hire day is 4050 at the hire, one born a day later is not.
#[test]
fn the_xiqing_local_hukou_hire_counts_full_months_and_4050_from_the_40th_birthday() {
    let failed = |d: &leye_policy::Decision| d.failed().map(|c| c.check.clone()).collect::<Vec<_>>();
    let hire = |on: &'static str| {
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", on)
            .born("1982-09-01", Gender::Female)
            .enterprise(&[], "120111")
            .placed(P::Enterprise, "2022-09-01", None)
    };
    let ok = hire("2023-03-01").decide();
    assert!(ok.is_granted(), "{ok}");
    assert_eq!(ok.max_amount.map(|f| f.get()), Some(240_000));
    assert_eq!(failed(&hire("2023-02-28").decide()), ["min_months_employed"]);
    let bonus = |born: &str| {
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2023-03-01")
            .born(born, Gender::Female)
            .placed(P::Enterprise, "2022-09-01", None)
            .prior("xiqing-hiring-local-hukou", "2023-03-01", "2023-03-01")
            .decide()
    };
    let forty = bonus("1982-09-01");
    assert!(forty.is_granted(), "{forty}");
    assert_eq!(forty.max_amount.map(|f| f.get()), Some(100_000));
    assert!(!bonus("1982-09-02").is_granted());
}

/// 004 § 10 "对新招用困难村劳动力就业的，标准提高到每人2000元，参保缴费条件放宽至满1个月": the
/// 2,000 replaces the 1,000 (not both), 1 month of insurance suffices, and 004 is in force
/// 2020-06-30..2025-06-29 by the hire's date.
#[test]
fn heping_s_poor_village_hire_replaces_the_1000_and_follows_004_s_period() {
    let failed = |d: &leye_policy::Decision| d.failed().map(|c| c.check.clone()).collect::<Vec<_>>();
    let hire = |hired: &'static str| {
        case("004 § 10", "heping.hiring.poor-village-labour", "2025-08-01")
            .groups(&[G::PoorVillageLabour])
            .placed(P::Enterprise, hired, None)
            .insured(1)
    };
    let ok = hire("2025-06-29").decide();
    assert!(ok.is_granted(), "{ok}");
    assert_eq!(ok.max_amount.map(|f| f.get()), Some(200_000));
    assert_eq!(failed(&hire("2025-06-30").decide()), ["in_force"]);
    let both = hire("2025-06-01").prior("heping-hiring-one-time", "2025-07-01", "2025-07-01").decide();
    assert_eq!(failed(&both), ["excludes"]);
}

/// 000 § 24 "距离法定退休年龄不足1年": a man born 1964-06-15 retires at 60 on 2024-06-15 (1978
/// law); exactly one year before (2023-06-15) is not 不足1年, the next day is, and the benefit
/// runs to the day before retirement.
#[test]
fn the_benefit_extension_needs_strictly_less_than_a_year_to_retirement() {
    let ext = |on: &'static str| {
        case("000 § 24", "tianjin.benefit.extension-to-retirement", on)
            .born("1964-06-15", Gender::Male)
            .spell("2022-01-01", None)
            .attest(&[A::BenefitExhausted])
            .decide()
    };
    assert!(!ext("2023-06-15").is_granted());
    let ok = ext("2023-06-16");
    assert!(ok.is_granted(), "{ok}");
    match ok.outcome {
        Outcome::Granted { period, .. } => assert_eq!(period.to, d("2024-06-14")),
        Outcome::Refused => unreachable!(),
    }
}
