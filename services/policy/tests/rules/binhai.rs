//! `policies/binhai.toml`, Binhai New Area (滨海新区): a granted and a refused
//! row on each side of each threshold (`main.rs` says how the wording is read).

use super::*;

pub(super) fn cases() -> Vec<Case> {
    let staff = |c: Case, n: u32, months: u32, laid: u32| {
        c.no_person().enterprise(&[E::SmallMicro], "120116").staff(n, months, laid)
    };
    vec![
        // 002 #2: 低于控制目标 5.5 % (strict): 5 of 100 holds, 6 of 100 does not; 满12个月
        staff(case("002 #2", "tianjin.stability.refund", "2024-03-01"), 100, 12, 5)
            .base(1_000_000)
            .granted_amount(500_000),
        staff(case("002 #2", "tianjin.stability.refund", "2024-03-01"), 100, 12, 6).base(1_000_000).refused("layoffs"),
        staff(case("002 #2", "tianjin.stability.refund", "2024-03-01"), 100, 11, 0)
            .base(1_000_000)
            .refused("enterprise_min_insured_months"),
        // 30人及以下 放宽至20%: 6 of 30 (20 %) holds, 7 of 30 does not; 31 staff are not small
        staff(case("002 #2", "tianjin.stability.refund", "2024-03-01"), 30, 12, 6).base(1_000_000).granted(),
        staff(case("002 #2", "tianjin.stability.refund", "2024-03-01"), 30, 12, 7).base(1_000_000).refused("layoffs"),
        staff(case("002 #2", "tianjin.stability.refund", "2024-03-01"), 31, 12, 2).base(1_000_000).refused("layoffs"),
        // 002 #28: 80 % of the minimum wage, month by month: June 2021 2,050 → 1,640; July 2021 2,180 → 1,744
        case("002 #28", "tianjin.internship.living-allowance", "2021-08-01")
            .placed(P::Internship, "2021-06-01", Some(2))
            .period("2021-06-01", "2021-07-31")
            .amount(338_400)
            .granted_amount(338_400),
        case("002 #28", "tianjin.internship.living-allowance", "2021-08-01")
            .placed(P::Internship, "2021-06-01", Some(2))
            .period("2021-06-01", "2021-07-31")
            .amount(338_401)
            .refused("amount"),
        case("002 #28", "tianjin.internship.living-allowance", "2021-08-01")
            .placed(P::Enterprise, "2021-06-01", Some(12))
            .period("2021-06-01", "2021-07-31")
            .refused("placement_kinds"),
        case("002 #28", "tianjin.internship.retention-reward", "2024-03-01")
            .attest(&[A::RetainedAfterInternship])
            .granted_amount(300_000),
        case("002 #28", "tianjin.internship.retention-reward", "2024-03-01").refused("attested"),
        // 002 #33: 3 years; 吸纳毕业2年内 (24 months inclusive) graduates at small/micro
        // enterprises — judged at the hire: hired 2024-06-30 holds, 2024-07-01 not
        case("002 #33", "tianjin.hiring.social-insurance", "2024-07-05")
            .enterprise(&[E::SmallMicro], "120116")
            .graduated("2022-06-30", true)
            .placed(P::Enterprise, "2024-06-30", Some(36))
            .period("2024-07-01", "2027-06-30")
            .base(2_000_000)
            .granted(),
        case("002 #33", "tianjin.hiring.social-insurance", "2024-07-05")
            .enterprise(&[E::SmallMicro], "120116")
            .graduated("2022-06-30", true)
            .placed(P::Enterprise, "2024-07-01", Some(36))
            .period("2024-07-01", "2027-06-30")
            .base(2_000_000)
            .refused("any_of"),
        // 其他女年满35周岁男年满45周岁就业困难人员, at the hire: a man hired on his 45th
        // birthday holds, hired the day before not
        case("002 #33", "tianjin.hiring.social-insurance", "2025-06-20")
            .born("1980-06-15", Gender::Male)
            .difficulty(&[D::Other], "2025-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2025-06-15", Some(36))
            .period("2025-07-01", "2028-06-30")
            .base(2_000_000)
            .granted(),
        case("002 #33", "tianjin.hiring.social-insurance", "2025-06-20")
            .born("1980-06-15", Gender::Male)
            .difficulty(&[D::Other], "2025-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2025-06-14", Some(36))
            .period("2025-07-01", "2028-06-30")
            .base(2_000_000)
            .refused("any_of"),
        // 最长3年: 37 months refused
        case("002 #33", "tianjin.hiring.social-insurance", "2024-03-01")
            .difficulty(&[D::ZeroEmploymentHousehold], "2024-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2024-03-01", Some(48))
            .period("2024-03-01", "2027-03-31")
            .base(2_000_000)
            .refused("max_months"),
        // 002 #33: 其他就业困难人员 1 year, not at elderly-care / domestic-service enterprises
        case("002 #33", "tianjin.hiring.social-insurance-other-difficulty", "2024-03-01")
            .born("1995-01-01", Gender::Male)
            .difficulty(&[D::Other], "2024-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .period("2024-03-01", "2025-02-28")
            .base(500_000)
            .granted(),
        case("002 #33", "tianjin.hiring.social-insurance-other-difficulty", "2024-03-01")
            .born("1995-01-01", Gender::Male)
            .difficulty(&[D::Other], "2024-01-01")
            .enterprise(&[E::ElderlyCare], "120116")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .period("2024-03-01", "2025-02-28")
            .base(500_000)
            .refused("enterprise_kinds_none"),
        case("002 #33", "tianjin.hiring.social-insurance-other-difficulty", "2024-03-01")
            .born("1995-01-01", Gender::Male)
            .difficulty(&[D::Other], "2024-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .period("2024-03-01", "2025-03-31")
            .base(500_000)
            .refused("max_months"),
        case("002 #33", "tianjin.hiring.post-subsidy", "2024-03-01")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("tianjin-hiring-social-insurance", "2024-03-01", "2027-02-28")
            .period("2024-03-01", "2025-02-28")
            .base(1_200_000)
            .granted_amount(1_200_000),
        case("002 #33", "tianjin.hiring.post-subsidy", "2024-03-01")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .period("2024-03-01", "2025-02-28")
            .base(1_200_000)
            .refused("requires_grant"),
        // 002 #29: 接收外省市重点高校学生实习 — 80 % of the minimum wage (2,180 yuan in 2024: 1,744 a month)
        case("002 #29", "binhai.internship.out-of-province-student-allowance", "2024-04-05")
            .placed(P::Internship, "2024-03-01", None)
            .attest(&[A::OutOfProvinceKeyUniversityStudent])
            .period("2024-03-01", "2024-03-31")
            .granted_amount(174_400),
        case("002 #29", "binhai.internship.out-of-province-student-allowance", "2024-04-05")
            .placed(P::Internship, "2024-03-01", None)
            .period("2024-03-01", "2024-03-31")
            .refused("attested"),
        // 002 #33: 社保补贴期限一般不超过3年 — 12 months of the 1-year subsidy, then 24 of the
        // 3-year one allowed, 25 refused (36 in total, not 48)
        case("002 #33", "tianjin.hiring.social-insurance", "2025-03-05")
            .born("1985-01-01", Gender::Female)
            .difficulty(&[D::Other], "2024-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2024-03-01", Some(48))
            .prior("tianjin-hiring-social-insurance-other-difficulty", "2024-03-01", "2025-02-28")
            .period("2025-03-01", "2027-02-28")
            .base(2_000_000)
            .granted(),
        case("002 #33", "tianjin.hiring.social-insurance", "2025-03-05")
            .born("1985-01-01", Gender::Female)
            .difficulty(&[D::Other], "2024-01-01")
            .enterprise(&[E::Medium], "120116")
            .placed(P::Enterprise, "2024-03-01", Some(48))
            .prior("tianjin-hiring-social-insurance-other-difficulty", "2024-03-01", "2025-02-28")
            .period("2025-03-01", "2027-03-31")
            .base(2_000_000)
            .refused("cumulative_months"),
        // 002 #34: 2020-01-01..2020-12-31 only; 登记失业半年以上; 签订1年以上
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2020-12-31")
            .spell("2020-01-15", Some("2020-07-15"))
            .placed(P::Enterprise, "2020-07-15", Some(12))
            .attest(&[A::SocialInsurancePaid])
            .granted_amount(100_000),
        // 实施期限为2020年1月1日至12月31日: the hire's date decides — a 2020 hire decided in
        // January 2021 is granted, a hire of 2021-01-01 is not
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2021-01-15")
            .spell("2020-01-15", Some("2020-07-15"))
            .placed(P::Enterprise, "2020-12-31", Some(12))
            .attest(&[A::SocialInsurancePaid])
            .granted_amount(100_000),
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2021-01-15")
            .spell("2020-01-15", Some("2020-07-15"))
            .placed(P::Enterprise, "2021-01-01", Some(12))
            .attest(&[A::SocialInsurancePaid])
            .refused("in_force"),
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2020-12-31")
            .spell("2020-01-16", Some("2020-07-15"))
            .placed(P::Enterprise, "2020-07-15", Some(12))
            .attest(&[A::SocialInsurancePaid])
            .refused("min_months_registered_unemployed"),
        case("002 #34", "binhai.hiring.registered-unemployed-one-time", "2020-12-31")
            .spell("2020-01-15", Some("2020-07-15"))
            .placed(P::Enterprise, "2020-07-15", Some(11))
            .attest(&[A::SocialInsurancePaid])
            .refused("min_contract_months"),
        // 002 #36: graduates 毕业2年内, 2/3 of the minimum contribution (131,100 fen in 2024 → 87,400 a month)
        // 对毕业2年内的…高校毕业生从事…灵活就业的: judged when the flexible work starts
        case("002 #36", "tianjin.flexible.graduate-social-insurance", "2024-01-05")
            .graduated("2022-01-05", true)
            .placed(P::Flexible, "2024-01-05", None)
            .period("2024-01-01", "2024-12-31")
            .granted_amount(1_048_800),
        case("002 #36", "tianjin.flexible.graduate-social-insurance", "2024-01-05")
            .graduated("2022-01-04", true)
            .placed(P::Flexible, "2024-01-05", None)
            .period("2024-01-01", "2024-12-31")
            .refused("max_months_since_graduation"),
        case("002 #36", "tianjin.flexible.graduate-social-insurance", "2024-01-05")
            .graduated("2022-01-05", false)
            .placed(P::Flexible, "2023-01-01", None)
            .period("2024-01-01", "2024-12-31")
            .refused("tianjin_graduate"),
        case("002 #36", "tianjin.flexible.graduate-social-insurance", "2024-01-05")
            .graduated("2022-01-05", true)
            .placed(P::Flexible, "2023-01-01", None)
            .period("2024-01-01", "2026-01-31")
            .refused("max_months"),
        // 3/4 for special difficulty: 131,100 × 3/4 = 98,325 a month
        case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2024-01-05")
            .difficulty(&[D::MinimumLivingAllowanceHousehold], "2023-12-01")
            .placed(P::SelfEmployed, "2023-12-01", None)
            .period("2024-01-01", "2024-01-31")
            .granted_amount(98_325),
        case("002 #36", "tianjin.flexible.special-difficulty-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::SelfEmployed, "2023-12-01", None)
            .period("2024-01-01", "2024-01-31")
            .refused("difficulty"),
        // 1/2 for other women 年满40周岁: on the 40th birthday, not the day before
        case("002 #36", "tianjin.flexible.difficulty-4050-social-insurance", "2024-01-05")
            .born("1984-01-05", Gender::Female)
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::Flexible, "2023-12-01", None)
            .period("2024-01-01", "2024-01-31")
            .granted_amount(65_550),
        case("002 #36", "tianjin.flexible.difficulty-4050-social-insurance", "2024-01-04")
            .born("1984-01-05", Gender::Female)
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::Flexible, "2023-12-01", None)
            .period("2024-01-01", "2024-01-31")
            .refused("min_age"),
        case("002 #36", "tianjin.flexible.difficulty-4050-social-insurance", "2024-01-05")
            .born("1984-01-05", Gender::Female)
            .difficulty(&[D::SingleParentHousehold], "2023-12-01")
            .placed(P::Flexible, "2023-12-01", None)
            .period("2024-01-01", "2024-01-31")
            .refused("difficulty"),
        // 002 #37: 每月最高1000元，最长3年
        case("002 #37", "tianjin.placement.community-service-post", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-01-01", "2026-12-31")
            .granted_amount(3_600_000),
        case("002 #37", "tianjin.placement.community-service-post", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-01-01", "2027-01-31")
            .refused("max_months"),
        case("002 #37", "tianjin.placement.community-service-post", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-01-01", "2024-12-31")
            .amount(1_200_001)
            .refused("amount"),
        // 002 #38: 累计安置不超过2次
        case("002 #38", "binhai.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::ZeroEmploymentHousehold], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(2)
            .prior("binhai-public-welfare-post", "2020-01-01", "2022-12-31")
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .granted(),
        case("002 #38", "binhai.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::ZeroEmploymentHousehold], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(3)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .refused("max_public_welfare_placements"),
        case("002 #38", "binhai.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(2)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .refused("any_of"),
        case("002 #38", "binhai.placement.public-welfare-post-subsidy", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(1)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .granted(),
        case("002 #38", "binhai.placement.public-welfare-post-subsidy", "2024-01-05")
            .difficulty(&[D::SingleParentHousehold], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(3)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .refused("max_public_welfare_placements"),
        // 002 #40: 毕业5年内 (60 months inclusive), or registered unemployed
        case("002 #40", "tianjin.startup.training", "2024-03-01")
            .spell("2024-01-01", None)
            .trained(T::StartUpMalanhua, "2024-02-20", true)
            .granted_amount(50_000),
        // 毕业5年内的高校毕业生, at the training's completion (2024-03-01)
        case("002 #40", "tianjin.startup.training", "2024-03-05")
            .graduated("2019-02-28", false)
            .trained(T::StartUpMalanhua, "2024-03-01", true)
            .refused("any_of"),
        case("002 #40", "tianjin.startup.training", "2024-03-05")
            .graduated("2019-03-01", false)
            .trained(T::StartUpMalanhua, "2024-03-01", true)
            .granted(),
        case("002 #40", "tianjin.startup.training-success", "2024-09-01")
            .trained(T::StartUpMalanhua, "2024-02-20", true)
            .business("2024-08-20", 0)
            .prior("tianjin-startup-training", "2024-03-01", "2024-03-01")
            .granted_amount(100_000),
        case("002 #40", "tianjin.startup.training-success", "2024-09-01")
            .trained(T::StartUpMalanhua, "2024-02-20", true)
            .business("2024-08-21", 0)
            .prior("tianjin-startup-training", "2024-03-01", "2024-03-01")
            .refused("max_months_training_to_business"),
        // 002 #42: 首次创办企业 最长3年五项社保补贴
        case("002 #42", "tianjin.startup.first-business-social-insurance", "2024-03-01")
            .groups(&[G::HaiheTalent])
            .placed(P::StartUp, "2024-01-01", None)
            .attest(&[A::FirstBusiness])
            .period("2024-03-01", "2027-02-28")
            .base(1_000_000)
            .granted(),
        case("002 #42", "tianjin.startup.first-business-social-insurance", "2024-03-01")
            .groups(&[G::HaiheTalent])
            .placed(P::StartUp, "2024-01-01", None)
            .period("2024-03-01", "2027-02-28")
            .base(1_000_000)
            .refused("attested"),
        case("002 #42", "tianjin.startup.first-business-post-subsidy", "2024-03-01")
            .placed(P::StartUp, "2024-01-01", None)
            .prior("tianjin-startup-social-insurance", "2024-03-01", "2027-02-28")
            .period("2024-03-01", "2025-02-28")
            .base(600_000)
            .granted(),
        case("002 #42", "tianjin.startup.first-business-post-subsidy", "2024-03-01")
            .placed(P::StartUp, "2024-01-01", None)
            .prior("tianjin-startup-social-insurance", "2024-03-01", "2027-02-28")
            .period("2024-03-01", "2025-03-31")
            .base(600_000)
            .refused("max_months"),
        // 002 #43: 正常经营满1年
        case("002 #43", "tianjin.startup.one-time", "2024-03-01")
            .groups(&[G::ReturningFounder])
            .business("2023-03-01", 0)
            .attest(&[A::FirstBusiness, A::BusinessOperatingNormally])
            .granted_amount(300_000),
        case("002 #43", "tianjin.startup.one-time", "2024-03-01")
            .groups(&[G::ReturningFounder])
            .business("2023-03-02", 0)
            .attest(&[A::FirstBusiness, A::BusinessOperatingNormally])
            .refused("min_business_operating_months"),
        // 002 #44: 1000 + 500 per employee, at most 2500 a month, at most 2 years
        case("002 #44", "tianjin.startup.rent", "2024-03-01")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2024-01-01", None)
            .business("2024-01-01", 4)
            .period("2024-03-01", "2026-02-28")
            .granted_amount(6_000_000),
        case("002 #44", "tianjin.startup.rent", "2024-03-01")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2024-01-01", None)
            .business("2024-01-01", 1)
            .period("2024-03-01", "2024-03-31")
            .granted_amount(150_000),
        case("002 #44", "tianjin.startup.rent", "2024-03-01")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2024-01-01", None)
            .business("2024-01-01", 4)
            .period("2024-03-01", "2026-03-31")
            .refused("max_months"),
        // 002 #46: construction up to 500 k; +50 % where student tenants 占50%以上
        case("002 #46", "tianjin.incubator.construction", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .amount(50_000_000)
            .granted(),
        case("002 #46", "tianjin.incubator.construction", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .amount(50_000_001)
            .refused("amount"),
        case("002 #46", "tianjin.incubator.construction-student-tenants", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .attest(&[A::StudentTenantsHalfOrMore])
            .granted_amount(75_000_000),
        case("002 #46", "tianjin.incubator.construction-student-tenants", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .refused("attested"),
        case("002 #46", "tianjin.incubator.incubation", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .units(3)
            .granted_amount(3_000_000),
        case("002 #46", "tianjin.incubator.incubation", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120116")
            .units(3)
            .refused("enterprise_kinds_any"),
        case("002 #46", "tianjin.incubator.job-creation", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .units(10)
            .granted_amount(3_000_000),
        case("002 #46", "tianjin.incubator.job-creation", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .refused("amount"),
        case("002 #46", "tianjin.incubator.national-demonstration-award", "2024-03-01")
            .in_district("120116")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .attest(&[A::NationalDemonstrationBase])
            .granted_amount(100_000_000),
        case("002 #46", "tianjin.incubator.national-demonstration-award", "2024-03-01")
            .in_district("120116")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .attest(&[A::MunicipalDemonstrationBase])
            .refused("attested"),
        case("002 #46", "tianjin.incubator.municipal-demonstration-award", "2024-03-01")
            .in_district("120116")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .attest(&[A::MunicipalDemonstrationBase])
            .granted_amount(50_000_000),
        case("002 #46", "tianjin.incubator.municipal-demonstration-award", "2024-03-01")
            .in_district("120116")
            .no_person()
            .enterprise(&[E::Incubator], "120116")
            .attest(&[A::MunicipalDemonstrationBase])
            .amount(50_000_001)
            .refused("amount"),
        // 002 #47: 最高30万元 (key groups 50万), 最长3年
        case("002 #47", "binhai.loan.individual", "2024-03-01")
            .placed(P::SelfEmployed, "2024-01-01", None)
            .business("2024-01-01", 0)
            .business_in("120116")
            .loan(30_000_000, 36, "2024-01-02")
            .granted(),
        case("002 #47", "binhai.loan.individual", "2024-03-01")
            .placed(P::SelfEmployed, "2024-01-01", None)
            .business("2024-01-01", 0)
            .business_in("120116")
            .loan(50_000_000, 36, "2024-01-02")
            .refused("loan_principal"),
        case("002 #47", "binhai.loan.individual-key-group", "2024-03-01")
            .groups(&[G::HaiheTalent])
            .placed(P::SelfEmployed, "2024-01-01", None)
            .business("2024-01-01", 0)
            .business_in("120116")
            .loan(50_000_000, 36, "2024-01-02")
            .granted(),
        case("002 #47", "binhai.loan.individual-key-group", "2024-03-01")
            .placed(P::SelfEmployed, "2024-01-01", None)
            .business("2024-01-01", 0)
            .business_in("120116")
            .loan(50_000_000, 36, "2024-01-02")
            .refused("any_of"),
        // 002 #48: 50 % of the 1-year LPR on the contract date (3.45 % on 2024-01-02):
        // 3,000,000 × 3.45 % × 50 % × 2 = 103,500 yuan
        case("002 #48", "binhai.loan.small-micro", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120116")
            .staff(50, 24, 0)
            .hires(10, 0)
            .loan(300_000_000, 24, "2024-01-02")
            .granted_amount(10_350_000),
        case("002 #48", "binhai.loan.small-micro", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120116")
            .staff(50, 24, 0)
            .hires(9, 0)
            .loan(300_000_000, 24, "2024-01-02")
            .refused("new_hires"),
        // 002 #62: 一次性输送30人以上 — 30 holds, 29 does not; 每人最高600元
        case("002 #62", "tianjin.dispatch.hr-agency", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120116")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentOnContractsOfOneYear])
            .units(30)
            .granted_amount(1_800_000),
        case("002 #62", "tianjin.dispatch.hr-agency", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120116")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentOnContractsOfOneYear])
            .units(29)
            .refused("min_units"),
        case("002 #62", "tianjin.dispatch.vocational-school", "2024-03-01")
            .no_person()
            .enterprise(&[E::VocationalSchool], "120116")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentForThreeMonths])
            .units(30)
            .granted_amount(3_000_000),
        case("002 #62", "tianjin.dispatch.vocational-school", "2024-03-01")
            .no_person()
            .enterprise(&[E::VocationalSchool], "120116")
            .attest(&[A::SentToKeyShortStaffedEnterprise])
            .units(30)
            .refused("attested"),
        // 002 #66: until 2020-12-31
        case("002 #66", "binhai.living.low-income-temporary-allowance", "2020-12-31")
            .groups(&[G::LowIncomeFamily])
            .spell("2020-06-01", None)
            .granted_amount(200_000),
        case("002 #66", "binhai.living.low-income-temporary-allowance", "2021-01-01")
            .groups(&[G::LowIncomeFamily])
            .spell("2021-01-01", None)
            .refused("in_force"),
        // 002 #67: 自正式签订劳动合同当月起1年内
        case("002 #67", "binhai.living.first-job-income-disregard", "2024-03-20")
            .groups(&[G::LowIncomeFamily])
            .attest(&[A::FirstJob])
            .placed(P::Enterprise, "2024-03-15", Some(12))
            .period("2024-03-01", "2025-02-28")
            .granted_amount(720_000),
        // 002 #67: 自正式签订劳动合同当月起 — flexible work signs no labour contract
        case("002 #67", "binhai.living.first-job-income-disregard", "2024-03-20")
            .groups(&[G::LowIncomeFamily])
            .attest(&[A::FirstJob])
            .placed(P::Flexible, "2024-03-15", None)
            .period("2024-03-01", "2025-02-28")
            .refused("min_contract_months"),
    ]
}
