//! Issue 10, "the policy catalogue, round two": each wrong decision it lists,
//! on both sides of its threshold, phrased from the seed's words. The rows of
//! `rules.rs` hold the thresholds of every rule; these tests hold the readings
//! that cut across rules (domain.md §4, "Readings that hold throughout").

mod common;

use common::{case, d};
use leye_domain::{
    person::{DifficultyCategory as D, PersonGroup as G, PlacementKind as P, TrainingProgramme as T},
    values::Gender,
};
use leye_policy::{Attestation as A, Catalogue, EnterpriseKind as E, NotApplicable, Outcome, SHIPPED_FILES};

fn failed(decision: &leye_policy::Decision) -> Vec<&str> {
    decision.failed().map(|c| c.check.as_str()).collect()
}

// === 1. 签订1年以上劳动合同 is met by an open-ended contract ===

#[test]
fn an_open_ended_contract_meets_every_one_year_contract_condition() {
    // 000 § 9 本区企业每招用1名西青户籍人员并签订1年以上（含1年）劳动合同 — 2,400 yuan
    let xiqing = |contract| {
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .enterprise(&[E::SmallMicro], "120111")
            .placed(P::Enterprise, "2023-09-01", contract)
            .decide()
    };
    let open_ended = xiqing(None);
    assert!(open_ended.is_granted(), "{open_ended}");
    assert!(open_ended.checks.iter().any(|c| c.check == "min_contract_months" && c.detail.contains("无固定期限")));
    assert!(xiqing(Some(12)).is_granted());
    assert_eq!(failed(&xiqing(Some(11))), ["min_contract_months"]);

    // 004 § 10 签订1年以上劳动合同并按规定缴纳社会保险费满3个月 — 1,000 yuan
    let heping = |contract| {
        case("004 § 10", "heping.hiring.one-time", "2024-03-01")
            .spell("2023-01-01", Some("2023-07-01"))
            .placed(P::Enterprise, "2023-07-01", contract)
            .insured(3)
            .decide()
    };
    assert!(heping(None).is_granted(), "{}", heping(None));
    assert_eq!(failed(&heping(Some(11))), ["min_contract_months"]);

    // 002 #67 自正式签订劳动合同当月起1年内 — the income disregard of a first job
    let binhai = |kind, contract| {
        case("002 #67", "binhai.living.first-job-income-disregard", "2024-03-20")
            .groups(&[G::MinimumLivingAllowance])
            .attest(&[A::FirstJob])
            .placed(kind, "2024-03-15", contract)
            .period("2024-03-01", "2025-02-28")
            .decide()
    };
    assert!(binhai(P::Enterprise, None).is_granted());
    // flexible work signs no labour contract: no term recorded there means none
    assert_eq!(failed(&binhai(P::Flexible, None)), ["min_contract_months"]);
}

// === 2. the municipal programmes apply in Xiqing ===

#[test]
fn xiqing_has_the_municipal_programmes_its_opinions_build_on() {
    // 000 § 13 在落实市级创业培训补贴、创业补贴、创业房租补贴政策的基础上: 002 #43's 3,000 yuan
    let startup = case("002 #43", "tianjin.startup.one-time", "2024-03-01")
        .spell("2022-01-01", Some("2022-07-01"))
        .business("2023-03-01", 0)
        .attest(&[A::FirstBusiness, A::BusinessOperatingNormally]);
    let granted = startup.clone().decide();
    assert!(granted.is_granted(), "{granted}");
    assert_eq!(granted.rule.as_ref().map(|r| r.source.as_str()), Some("002 #43; 004 § 14"));
    // 正常经营满1年: a business registered 2023-03-02 has not run a full year on 2024-03-01
    let young = startup.business("2023-03-02", 0).decide();
    assert_eq!(failed(&young), ["min_business_operating_months"]);

    // the municipal flexible subsidy runs in Xiqing before 001 (2022-06-21)
    let flexible = case("000 § 10", "tianjin.flexible.special-difficulty-social-insurance", "2021-03-05")
        .difficulty(&[D::ZeroEmploymentHousehold], "2021-01-01")
        .placed(P::Flexible, "2021-01-01", None)
        .period("2021-03-01", "2021-03-31")
        .decide();
    assert!(flexible.is_granted(), "{flexible}");
    // and the rent subsidy, the enterprise social-insurance subsidy and the internship allowance
    for id in ["tianjin.startup.rent", "tianjin.hiring.social-insurance", "tianjin.internship.living-allowance"] {
        let cat = leye_policy::default_catalogue();
        assert!(cat.rule_in_force(id, &common::district("120111"), d("2021-03-01")).is_ok(), "{id}");
    }
}

#[test]
fn where_a_district_adds_conditions_its_rule_replaces_the_city_rule() {
    // 004 § 14 adds 在本区注册经营 and 带动1人以上就业: in Heping the city rule does not apply
    let city = case("004 § 14", "tianjin.startup.one-time", "2024-03-01")
        .spell("2022-01-01", Some("2022-07-01"))
        .business("2023-03-01", 0)
        .attest(&[A::FirstBusiness, A::BusinessOperatingNormally]);
    let in_heping = city.clone().in_district("120101").decide();
    assert!(!in_heping.is_granted());
    assert_eq!(in_heping.not_applicable, Some(NotApplicable::ReplacedBy("heping.startup.one-time".into())));
    assert!(in_heping.failed().all(|c| c.clause.contains("002 #43")), "{in_heping}");
    // … while 004 is in force (to 2025-06-29): a business registered from 2025-06-30 on is under
    // the municipal rule again (the business's registration decides, in_force_by)
    let mut after = city.clone().in_district("120101");
    after.request.on = d("2026-07-01");
    let after = after.business("2025-06-30", 0).decide();
    assert!(after.is_granted(), "{after}");
    // in Binhai there is no replacement
    assert!(city.in_district("120116").decide().is_granted());
}

#[test]
fn grants_recorded_under_a_district_programme_count_for_the_city_programme() {
    // a rent subsidy granted as binhai-startup-rent before the move: 2 years in total
    let c = case("002 #44", "tianjin.startup.rent", "2024-03-01")
        .groups(&[G::TianjinStudent])
        .placed(P::StartUp, "2022-01-01", None)
        .business("2022-01-01", 0)
        .in_district("120116")
        .period("2024-03-01", "2024-03-31");
    assert!(c.clone().decide().is_granted());
    let again = c.prior("binhai-startup-rent", "2022-03-01", "2024-02-29").decide();
    assert_eq!(failed(&again), ["cumulative_months"], "{again}");
}

/// domain §4: the municipal social-insurance and post subsidies that Binhai (002 #38) and Heping
/// (004 § 12 "按照市人社局统一安排，增加公益性岗位…给予用人单位最长3年五项社保补贴和岗位补贴")
/// restate, and Xiqing (000 § 12) names, "belong at the city level, in force in every district".
/// A special-difficulty person placed in a public-welfare post in Hedong (120102), a district
/// without a document of its own, is found for the municipal subsidies; in Xiqing and Binhai the
/// district's rules stand in for them; in Heping 004 § 12 does for a placement while 004 was in
/// force (to 2025-06-29), the municipal rule after.
#[test]
fn public_welfare_post_subsidies_are_municipal_with_the_districts_rules_standing_in() {
    let found = |district: &str, placed: &'static str, on: &str| -> Vec<String> {
        let c = case("002 #38", "binhai.placement.public-welfare-post", on)
            .difficulty(&[D::ZeroEmploymentHousehold], "2022-12-01")
            .placed(P::PublicWelfarePost, placed, None)
            .welfare_placements(1);
        leye_policy::default_catalogue()
            .find_eligible(&c.facts, &common::district(district), d(on))
            .into_iter()
            .map(|e| e.rule.id)
            .filter(|id| id.contains("public-welfare-post"))
            .collect()
    };
    let city = ["tianjin.placement.public-welfare-post", "tianjin.placement.public-welfare-post-subsidy"];
    assert_eq!(found("120102", "2023-01-01", "2023-03-01"), city);
    assert_eq!(
        found("120111", "2023-01-01", "2023-03-01"),
        ["xiqing.placement.public-welfare-post", "xiqing.placement.public-welfare-post-subsidy"]
    );
    assert_eq!(
        found("120116", "2023-01-01", "2023-03-01"),
        ["binhai.placement.public-welfare-post", "binhai.placement.public-welfare-post-subsidy"]
    );
    assert_eq!(
        found("120101", "2025-06-29", "2025-09-01"),
        ["heping.placement.public-welfare-post", "heping.placement.public-welfare-post-subsidy"]
    );
    assert_eq!(found("120101", "2025-06-30", "2025-09-01"), city);
    // a request naming the city rule in Xiqing is refused, naming Xiqing's rule
    let in_xiqing = case("002 #38", "tianjin.placement.public-welfare-post", "2023-03-01")
        .difficulty(&[D::ZeroEmploymentHousehold], "2022-12-01")
        .placed(P::PublicWelfarePost, "2023-01-01", None)
        .welfare_placements(1)
        .period("2023-01-01", "2023-02-28")
        .base(100_000)
        .decide();
    assert_eq!(
        in_xiqing.not_applicable,
        Some(NotApplicable::ReplacedBy("xiqing.placement.public-welfare-post".into())),
        "{in_xiqing}"
    );
}

// === 3. 社保补贴期限一般不超过3年 over the 1-year and 3-year subsidies ===

#[test]
fn the_one_and_three_year_social_insurance_subsidies_share_the_three_years() {
    // 004 § 10: a woman of 35+ in difficulty, 12 months as "other difficulty", then the 3-year subsidy
    let c = |from: &str, to: &str| {
        case("004 § 10", "tianjin.hiring.social-insurance", "2025-03-05")
            .born("1985-01-01", Gender::Female)
            .difficulty(&[D::Other], "2024-01-01")
            .enterprise(&[E::Medium], "120101")
            .placed(P::Enterprise, "2024-03-01", Some(60))
            .prior("tianjin-hiring-social-insurance-other-difficulty", "2024-03-01", "2025-02-28")
            .period(from, to)
            .base(5_000_000)
            .decide()
    };
    assert!(c("2025-03-01", "2027-02-28").is_granted(), "12 + 24 = 36");
    assert_eq!(failed(&c("2025-03-01", "2027-03-31")), ["cumulative_months"], "12 + 25 = 37, not 48");
    // nor can the two pay one month twice
    assert_eq!(failed(&c("2025-02-01", "2025-03-31")), ["period_overlap"]);
}

/// 001 § 3 "深入落实《天津市关于支持多渠道灵活就业的具体措施分工意见》…对于符合政策条件并在个人窗口
/// 缴费的灵活就业人员最高给予所缴保费四分之三的社会保险补贴" is the municipal flexible-employment
/// subsidy (002 #36 / 004 § 11: special difficulty 3/4 of the minimum contribution) as Xiqing pays
/// it, at most 3/4 of the premiums: a Xiqing special-difficulty flexible worker who paid the minimum
/// contribution at the window in 2023 (12 × 1,249.80 yuan) and received the municipal 3/4 for those
/// months (11,248.20 yuan) is refused the window subsidy for the same months (it would make 150 %);
/// the other way round too; and 灵活就业社保补贴期限一般不超过三年 counts both.
#[test]
fn xiqing_s_window_subsidy_and_the_municipal_flexible_subsidy_never_pay_a_month_twice() {
    let city = |on: &'static str, from: &'static str, to: &'static str| {
        case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", on)
            .difficulty(&[D::ZeroEmploymentHousehold], "2022-12-01")
            .placed(P::Flexible, "2023-01-01", None)
            .period(from, to)
    };
    let window = |on: &'static str, from: &'static str, to: &'static str| {
        case("001 § 3", "xiqing.flexible.individual-window-social-insurance", on)
            .difficulty(&[D::ZeroEmploymentHousehold], "2022-12-01")
            .placed(P::Flexible, "2023-01-01", None)
            .attest(&[A::PaysAtIndividualWindow])
            .period(from, to)
            .base(1_499_760)
    };
    let municipal = city("2024-01-10", "2023-01-01", "2023-12-31").decide();
    assert!(municipal.is_granted(), "{municipal}");
    assert_eq!(municipal.max_amount.map(|f| f.get()), Some(1_124_820)); // 3/4 × 124,980 × 12
    let again = window("2024-01-10", "2023-01-01", "2023-12-31")
        .prior("tianjin-flexible-difficulty", "2023-01-01", "2023-12-31")
        .decide();
    assert_eq!(failed(&again), ["period_overlap"], "{again}");
    // the other way round: months the window subsidy paid are not paid by the city
    let after_window = city("2024-01-10", "2023-01-01", "2023-12-31")
        .prior("xiqing-flexible-social-insurance", "2023-06-01", "2023-06-30")
        .decide();
    assert_eq!(failed(&after_window), ["period_overlap"], "{after_window}");
    // later months are paid, within one 3-year count: 24 municipal months + 12 = 36, + 13 is too many
    let third_year = window("2025-01-10", "2024-01-01", "2024-12-31")
        .prior("tianjin-flexible-difficulty", "2022-01-01", "2023-12-31")
        .decide();
    assert!(third_year.is_granted(), "{third_year}");
    let too_long = window("2025-02-10", "2024-01-01", "2025-01-31")
        .prior("tianjin-flexible-difficulty", "2022-01-01", "2023-12-31")
        .decide();
    assert_eq!(failed(&too_long), ["cumulative_months"], "{too_long}");
}

// === 4. 对带动就业效果明显的创业者和小微企业，可最多申请3次贷款 ===

#[test]
fn only_strong_job_creators_get_a_second_loan() {
    let c = case("004 § 17", "heping.loan.individual", "2024-03-01")
        .placed(P::StartUp, "2023-01-01", None)
        .business("2023-01-01", 0)
        .business_in("120101")
        .loan(30_000_000, 36, "2024-01-02");
    assert!(c.clone().decide().is_granted());
    let second = c.clone().prior("heping-guarantee-loan", "2022-01-01", "2022-01-01");
    assert_eq!(failed(&second.clone().decide()), ["max_grants"]);
    let mut repeat = second.attest(&[A::StrongJobCreator]);
    repeat.request.rule_id = "heping.loan.individual-repeat".into();
    assert!(repeat.decide().is_granted());
}

// === 5. 补贴期满仍难以…就业的特殊困难人员，可再次安置 ===

#[test]
fn a_second_public_welfare_placement_needs_the_first_subsidy_to_have_run_its_term() {
    let second = |granted_to: &str| {
        case("002 #38", "binhai.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::ZeroEmploymentHousehold], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(2)
            .prior("binhai-public-welfare-post", "2020-01-01", granted_to)
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .decide()
    };
    assert!(second("2022-12-31").is_granted(), "36 months ran out");
    let early = second("2020-12-31");
    assert_eq!(failed(&early)[0], "any_of", "{early}");
    assert!(early.checks.iter().any(|c| c.check.ends_with("prior_placement_subsidy_expired") && !c.passed));
}

// === 6. the date of the fact the programme rewards decides ===

#[test]
fn a_2020_hire_decided_in_2021_is_under_the_2020_programme() {
    // 002 #34 实施期限为2020年1月1日至12月31日
    let hire = |hired: &str| {
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2021-01-20")
            .spell("2020-01-01", Some(hired))
            .placed(P::Enterprise, hired, Some(12))
            .attest(&[A::SocialInsurancePaid])
            .decide()
    };
    let in_2020 = hire("2020-12-31");
    assert!(in_2020.is_granted(), "{in_2020}");
    assert!(in_2020.checks[0].detail.contains("2020-12-31"), "{}", in_2020.checks[0].detail);
    assert_eq!(failed(&hire("2021-01-01")), ["in_force"]);
}

/// 002 #34 "…给予企业一次性吸纳就业补贴，实施期限为2020年1月1日至12月31日"; domain §4 "a 2020
/// hire decided in January 2021 is still under a programme that ran to 2020-12-31" and §5: policy
/// finds people lists what a grant decided today would give, so the 2020 hire's programme is
/// found in January 2021 (as `evaluate` grants it), and a 2021 hire's is not.
#[test]
fn policy_finds_people_lists_an_ended_programme_for_a_fact_inside_it() {
    let hire = |hired: &'static str| {
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2021-01-20")
            .spell("2020-01-01", Some(hired))
            .placed(P::Enterprise, hired, Some(12))
            .attest(&[A::SocialInsurancePaid])
    };
    let found = |c: &common::Case| -> Vec<String> {
        leye_policy::default_catalogue()
            .find_eligible(&c.facts, &common::district("120116"), d("2021-01-20"))
            .into_iter()
            .map(|e| e.rule.id)
            .collect()
    };
    let in_2020 = hire("2020-12-31");
    assert!(in_2020.decide().is_granted(), "{}", in_2020.decide());
    let listed = found(&in_2020);
    assert!(listed.iter().any(|id| id == "binhai.hiring.registered-unemployed-one-time"), "{listed:?}");
    let in_2021 = hire("2021-01-01");
    assert!(!found(&in_2021).iter().any(|id| id == "binhai.hiring.registered-unemployed-one-time"));
}

/// 004 § 14 (Heping, 有效期5年 from 2020-06-30) restates the municipal 3,000 start-up subsidy with
/// conditions of its own and `replaces` the city rule while 004 is in force. A business registered
/// in Heping on 2024-06-01 is decided under 004 § 14 even after 004 ended: found on 2025-07-10, it is
/// Heping's rule that is listed, not the city's (replaced on the business's date); a business of
/// 2025-07-01 is the city's.
#[test]
fn policy_finds_people_checks_replacement_on_the_deciding_date() {
    let founder = |registered: &'static str, on: &'static str| {
        let c = case("004 § 14", "heping.startup.one-time", on)
            .hukou("120101")
            .spell("2023-01-01", Some(registered))
            .business(registered, 1)
            .business_in("120101")
            .insured(12)
            .attest(&[A::FirstBusiness, A::BusinessOperatingNormally]);
        let ids: Vec<String> = leye_policy::default_catalogue()
            .find_eligible(&c.facts, &common::district("120101"), d(on))
            .into_iter()
            .map(|e| e.rule.id)
            .filter(|id| id.ends_with("startup.one-time"))
            .collect();
        (c.decide(), ids)
    };
    let (decision, ids) = founder("2024-06-01", "2025-07-10");
    assert!(decision.is_granted(), "{decision}");
    assert_eq!(ids, ["heping.startup.one-time"]);
    let (_, ids) = founder("2025-07-01", "2026-07-10");
    assert_eq!(ids, ["tianjin.startup.one-time"]);
}

#[test]
fn a_training_certificate_of_the_programme_s_time_decides_not_the_grant_date() {
    // 000 § 13 from 2020-05-18: a certificate of 2020-05-17 is before the programme
    let trained = |on: &str| {
        case("000 § 13", "xiqing.startup.training-certificate", "2020-06-01")
            .trained(T::StartUpMalanhua, on, true)
            .decide()
    };
    assert!(trained("2020-05-18").is_granted());
    assert_eq!(failed(&trained("2020-05-17")), ["in_force"]);
}

/// 002 #40 "…登记失业人员均可参加免费创业培训，按照每人500元的标准，给予培训机构培训费补贴". The
/// training is the rewarded fact (`in_force_by = training_completion`): 登记失业人员 is judged on the
/// day it was completed with its certificate. Registered 2020-10-01, the registration ended when the
/// business started (2021-05-01), certificate 2021-03-15, decided 2021-06-01: granted, 500 yuan to
/// the provider. A certificate of a day when no registration was open is refused, even with a later
/// registration open on the grant's date.
#[test]
fn registered_unemployed_is_judged_at_the_rewarded_training() {
    let trainee = |certificate: &'static str| {
        case("002 #40", "tianjin.startup.training", "2021-06-01").spell("2020-10-01", Some("2021-05-01")).trained(
            T::StartUpMalanhua,
            certificate,
            true,
        )
    };
    let during = trainee("2021-03-15").decide();
    assert!(during.is_granted(), "{during}");
    assert_eq!(during.max_amount.map(|f| f.get()), Some(50_000));
    let reg = during.checks.iter().find(|c| c.check.ends_with("registered_unemployed")).unwrap();
    assert!(reg.detail.contains("open on 2021-03-15"), "{}", reg.detail);
    // trained 2021-05-10, between the spell that ended 2021-05-01 and one begun 2021-05-20
    let between = trainee("2021-05-10").spell("2021-05-20", None).decide();
    assert!(between.failed().any(|c| c.check.ends_with("registered_unemployed")), "{between}");
    assert!(!between.is_granted(), "{between}");
}

/// 000 § 25 "对登记失业的本市低收入救助家庭人员，给予一次性2000元临时生活补助，实施期限截至2020年12月31日"
/// (002 #66, 004 § 28 alike). domain §4: "Which date decides whether a programme was in force is the
/// date of the fact it rewards (the hire, the registration, the training), not the date the grant is
/// decided". The registration decides (`in_force_by = "registration"`): open on some day of the
/// programme, it is judged on the last such day. Registered 2020-11-01 and decided 2021-01-10:
/// granted; registered before the programme and still registered: granted; registered only after
/// it: refused.
#[test]
fn the_low_income_allowance_is_decided_by_the_registration_not_the_grant_date() {
    let allowance = |rule: &'static str, clause: &'static str, on: &'static str, registered: &'static str| {
        case(clause, rule, on).groups(&[G::LowIncomeFamily]).spell(registered, None).decide()
    };
    let xiqing = "xiqing.living.low-income-temporary-allowance";
    let in_2020 = allowance(xiqing, "000 § 25", "2020-12-31", "2020-11-01");
    assert!(in_2020.is_granted(), "{in_2020}");
    let in_2021 = allowance(xiqing, "000 § 25", "2021-01-10", "2020-11-01");
    assert!(in_2021.is_granted(), "{in_2021}");
    assert_eq!(in_2021.max_amount.map(|f| f.get()), Some(200_000));
    assert!(in_2021.checks[0].detail.contains("2020-12-31"), "{}", in_2021.checks[0].detail);
    let before = allowance(xiqing, "000 § 25", "2021-03-01", "2019-07-01");
    assert!(before.is_granted(), "{before}");
    assert_eq!(failed(&allowance(xiqing, "000 § 25", "2021-03-01", "2021-01-01")), ["in_force"]);
    // Binhai and Heping alike
    let binhai = allowance("binhai.living.low-income-temporary-allowance", "002 #66", "2021-02-01", "2020-03-01");
    assert!(binhai.is_granted(), "{binhai}");
    let heping = allowance("heping.living.low-income-temporary-allowance", "004 § 28", "2021-02-01", "2020-03-01");
    assert!(heping.is_granted(), "{heping}");
    // registered within the programme, placed after it: still the programme's registration
    let placed = case("000 § 25", xiqing, "2021-02-01")
        .groups(&[G::LowIncomeFamily])
        .spell("2020-12-01", Some("2021-01-15"))
        .decide();
    assert!(placed.is_granted(), "{placed}");
}

// === 7. the local-hukou bonus counts local-hukou new hires ===

#[test]
fn the_local_hukou_loan_bonus_is_granted_when_local_hires_reach_the_ratio() {
    // 000 § 14 企业新招用人员中西青户籍人员数量达到上述比例: 20 % of 50 staff = 10
    let c = |local| {
        case("000 § 14", "xiqing.loan.small-micro-local-hukou-bonus", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120111")
            .staff(50, 24, 0)
            .hires(12, local)
            .prior("xiqing-small-micro-loan", "2024-03-01", "2024-03-01")
            .loan(300_000_000, 24, "2024-01-02")
            .decide()
    };
    assert!(c(10).is_granted());
    assert_eq!(failed(&c(9)), ["new_hires"]);
}

// === 8. smaller ===

#[test]
fn both_heping_rent_subsidies_cannot_pay_the_same_month() {
    let workstation = case("004 § 15", "heping.startup.rent-workstation", "2024-03-01")
        .groups(&[G::HaiheTalent])
        .placed(P::StartUp, "2024-01-01", None)
        .business("2024-01-01", 1)
        .business_in("120101")
        .period("2024-03-01", "2024-03-31");
    assert!(workstation.clone().decide().is_granted());
    let both = workstation.clone().prior("heping-startup-rent", "2024-03-01", "2024-03-31").decide();
    assert_eq!(failed(&both), ["period_overlap"]);
    let next_month = workstation.prior("heping-startup-rent", "2024-02-01", "2024-02-29").decide();
    assert!(next_month.is_granted());
}

#[test]
fn an_individual_guarantee_loan_needs_the_business_in_the_district() {
    // 002 #47 在新区创业的各类人员
    let loan = |district: &str| {
        case("002 #47", "binhai.loan.individual", "2024-03-01")
            .placed(P::SelfEmployed, "2024-01-01", None)
            .business("2024-01-01", 0)
            .business_in(district)
            .loan(30_000_000, 36, "2024-01-02")
            .decide()
    };
    assert!(loan("120116").is_granted());
    assert_eq!(failed(&loan("120111")), ["business_district"]);
}

#[test]
fn a_4050_person_is_read_by_age_too_for_the_xiqing_bonus() {
    // 000 § 9 “4050”人员: women from their 40th birthday, at the hire
    let woman = |born: &str| {
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-09-05")
            .born(born, Gender::Female)
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("xiqing-hiring-local-hukou", "2024-09-05", "2024-09-05")
            .decide()
    };
    assert!(woman("1984-03-01").is_granted());
    assert_eq!(failed(&woman("1984-03-02"))[0], "any_of");
}

#[test]
fn rural_school_leavers_get_the_one_time_living_allowance() {
    // 004 § 20 农村未继续升学初高中毕业生…还可在一年内申请一次性1000元生活费补贴
    let c = |groups: &[G]| {
        case("004 § 20", "heping.training.difficulty-living-allowance", "2024-03-01")
            .groups(groups)
            .trained(T::VocationalSkills, "2024-01-10", true)
            .decide()
    };
    assert!(c(&[G::RuralSchoolLeaver]).is_granted());
    assert_eq!(failed(&c(&[G::RuralLabour]))[0], "any_of");
}

// === 9. every refusal cites the clause ===

#[test]
fn no_version_in_force_cites_the_clause_of_the_version_found() {
    // a 2021 hire under 002 #34 (2020 only)
    let d = case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2021-03-01")
        .spell("2020-06-01", Some("2021-01-04"))
        .placed(P::Enterprise, "2021-01-04", Some(12))
        .attest(&[A::SocialInsurancePaid])
        .decide();
    assert_eq!(d.outcome, Outcome::Refused);
    let check = d.failed().next().unwrap();
    assert_eq!((check.check.as_str(), check.clause.as_str()), ("in_force", "002 #34"));
    assert!(check.detail.contains("实施期限为2020年1月1日至12月31日"), "{}", check.detail);
    let rule = d.rule.as_ref().expect("the version found is named");
    assert_eq!(
        (rule.source.as_str(), rule.valid_from, rule.valid_to),
        ("002 #34", d_("2020-01-01"), Some(d_("2020-12-31")))
    );
    assert!(matches!(d.not_applicable, Some(NotApplicable::NotInForce(_))));
}

fn d_(s: &str) -> leye_domain::Date {
    d(s)
}

#[test]
fn a_rule_of_another_district_names_the_rule_and_its_clause() {
    let d = case("000 § 9", "xiqing.hiring.one-time", "2024-03-01")
        .groups(&[G::MigrantWorker])
        .placed(P::Enterprise, "2024-01-10", Some(12))
        .in_district("120101")
        .decide();
    assert!(matches!(d.not_applicable, Some(NotApplicable::OtherJurisdiction(_))));
    assert_eq!(d.failed().next().map(|c| c.clause.as_str()), Some("000 § 9"));
    let mut unknown = case("000 § 9", "xiqing.hiring.one-time", "2024-03-01");
    unknown.request.rule_id = "xiqing.hiring.nope".into();
    assert_eq!(unknown.decide().not_applicable, Some(NotApplicable::UnknownRule));
}

// === the catalogue checks the new keys ===

fn load_with(xiqing_extra: &str) -> Result<Catalogue, String> {
    let mut files: Vec<(&str, String)> = SHIPPED_FILES.iter().map(|(n, t)| (*n, t.to_string())).collect();
    for (n, t) in &mut files {
        if *n == "policies/xiqing.toml" {
            t.push_str(xiqing_extra);
        }
    }
    Catalogue::from_texts(files.iter().map(|(n, t)| (*n, t.as_str()))).map_err(|e| e.to_string())
}

const EXTRA: &str = r#"
[[rule]]
id = "xiqing.test.x"
programme = "xiqing-test-x"
title = "test"
source = "000 § 9"
valid_from = 2020-05-18
subject = "person"
payee = "person"
amount = { kind = "fixed", fen = 100 }
"#;

#[test]
fn the_new_keys_are_checked_at_load() {
    assert!(load_with(EXTRA).is_ok());
    let e = load_with(&EXTRA.replace("subject =", "replaces = [\"xiqing.hiring.one-time\"]\nsubject =")).unwrap_err();
    assert!(e.contains("field replaces: \"xiqing.hiring.one-time\" is not a city rule"), "{e}");
    let e = load_with(&EXTRA.replace("subject =", "formerly = [\"xiqing-hiring-one-time\"]\nsubject =")).unwrap_err();
    assert!(e.contains("field formerly: \"xiqing-hiring-one-time\" is still the programme of a rule"), "{e}");
    let e = load_with(&format!("{EXTRA}limits = {{ cumulative_with = [\"xiqing-hiring-one-time\"] }}\n")).unwrap_err();
    assert!(e.contains("field limits.cumulative_with: needs limits.cumulative_months"), "{e}");
    let e = load_with(&EXTRA.replace("subject =", "in_force_by = \"training_completion\"\nsubject =")).unwrap_err();
    assert!(e.contains("field in_force_by: training_completion needs eligible.training_completed"), "{e}");
    let e = load_with(&EXTRA.replace("subject =", "in_force_by = \"registration\"\nsubject =")).unwrap_err();
    assert!(e.contains("field in_force_by: registration needs eligible.registered_unemployed"), "{e}");
}

#[test]
fn policy_finds_people_judges_standing_at_the_hire_too() {
    // 002 #33 其他女年满35周岁男年满45周岁就业困难人员, at the hire: a man who was 44
    // when hired is not found on a later date when he is 45; hired at 45 he is
    let found = |hired: &str| {
        let c = case("002 #33", "tianjin.hiring.social-insurance", "2025-09-01")
            .born("1980-06-15", Gender::Male)
            .difficulty(&[D::Other], "2025-01-01")
            .placed(P::Enterprise, hired, Some(36));
        leye_policy::default_catalogue()
            .find_eligible(&c.facts, &common::district("120116"), d("2025-09-01"))
            .iter()
            .any(|e| e.rule.id == "tianjin.hiring.social-insurance")
    };
    assert!(found("2025-06-15"));
    assert!(!found("2025-06-14"));
}
