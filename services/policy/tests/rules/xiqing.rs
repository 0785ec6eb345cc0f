//! `policies/xiqing.toml`, Xiqing district (西青区): a granted and a refused
//! row on each side of each threshold (`main.rs` says how the wording is read).

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        // 000 § 9: 登记失业半年以上 — 6 full months (2023-01-10 → 2023-07-10) holds, 5 does not
        case("000 § 9", "xiqing.hiring.one-time", "2024-03-01")
            .spell("2023-01-10", Some("2023-07-10"))
            .placed(P::Enterprise, "2023-07-10", Some(12))
            .granted_amount(100_000),
        case("000 § 9", "xiqing.hiring.one-time", "2024-03-01")
            .spell("2023-01-11", Some("2023-07-10"))
            .placed(P::Enterprise, "2023-07-10", Some(12))
            .refused("any_of"),
        case("000 § 9", "xiqing.hiring.one-time", "2024-03-01")
            .groups(&[G::MigrantWorker])
            .placed(P::Enterprise, "2024-01-10", Some(12))
            .granted(),
        case("000 § 9", "xiqing.hiring.one-time", "2020-05-17")
            .groups(&[G::MigrantWorker])
            .placed(P::Enterprise, "2020-05-01", Some(12))
            .refused("in_force"),
        // 000 § 9: 签订1年以上（含1年）, 履行合同满6个月后继续履行
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .enterprise(&[E::SmallMicro], "120111")
            .placed(P::Enterprise, "2023-09-01", Some(12))
            .granted_amount(240_000),
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .enterprise(&[E::SmallMicro], "120111")
            .placed(P::Enterprise, "2023-09-02", Some(12))
            .refused("min_months_employed"),
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .enterprise(&[E::SmallMicro], "120111")
            .placed(P::Enterprise, "2023-09-01", Some(11))
            .refused("min_contract_months"),
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .enterprise(&[E::SmallMicro], "120111")
            .placed(P::Enterprise, "2023-09-01", Some(12))
            .placement_ended("2024-02-20")
            .refused("still_employed"),
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .hukou("120112")
            .enterprise(&[E::SmallMicro], "120111")
            .placed(P::Enterprise, "2023-09-01", Some(12))
            .refused("hukou_district"),
        case("000 § 9", "xiqing.hiring.local-hukou-stable-employment", "2024-03-01")
            .enterprise(&[E::SmallMicro], "120112")
            .placed(P::Enterprise, "2023-09-01", Some(12))
            .refused("enterprise_district"),
        // 000 § 9: 再给予1000元 for the listed identities, on top of the 2400
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-03-01")
            .groups(&[G::Veteran])
            .prior("xiqing-hiring-local-hukou", "2024-03-01", "2024-03-01")
            .granted_amount(100_000),
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-03-01")
            .difficulty(&[D::Age4050], "2023-01-01")
            .prior("xiqing-hiring-local-hukou", "2024-03-01", "2024-03-01")
            .granted(),
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-03-01")
            .groups(&[G::Veteran])
            .refused("requires_grant"),
        // “4050”人员 by age, at the hire: a man hired on his 50th birthday holds, the day before not
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-09-05")
            .born("1974-03-01", Gender::Male)
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("xiqing-hiring-local-hukou", "2024-09-05", "2024-09-05")
            .granted_amount(100_000),
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-09-05")
            .born("1974-03-02", Gender::Male)
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("xiqing-hiring-local-hukou", "2024-09-05", "2024-09-05")
            .refused("any_of"),
        case("000 § 9", "xiqing.hiring.local-hukou-key-group-bonus", "2024-03-01")
            .groups(&[G::Graduate])
            .prior("xiqing-hiring-local-hukou", "2024-03-01", "2024-03-01")
            .refused("any_of"),
        // 001 § 3: 最高给予所缴保费四分之三 — 3/4 of 10,000 yuan = 7,500 yuan allowed, 1 fen more refused
        case("001 § 3", "xiqing.flexible.individual-window-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::Flexible, "2023-06-01", None)
            .attest(&[A::PaysAtIndividualWindow])
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .amount(750_000)
            .granted_amount(750_000),
        case("001 § 3", "xiqing.flexible.individual-window-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::Flexible, "2023-06-01", None)
            .attest(&[A::PaysAtIndividualWindow])
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .amount(750_001)
            .refused("amount"),
        // 000 § 10: 一般不超过三年 — 24 + 12 = 36 months allowed, 25 + 12 refused
        case("000 § 10", "xiqing.flexible.individual-window-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2021-06-01")
            .placed(P::Flexible, "2021-06-01", None)
            .attest(&[A::PaysAtIndividualWindow])
            .prior("xiqing-flexible-social-insurance", "2022-01-01", "2023-12-31")
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .granted_amount(750_000),
        case("000 § 10", "xiqing.flexible.individual-window-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2021-06-01")
            .placed(P::Flexible, "2021-06-01", None)
            .attest(&[A::PaysAtIndividualWindow])
            .prior("xiqing-flexible-social-insurance", "2021-12-01", "2023-12-31")
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .refused("cumulative_months"),
        case("001 § 3", "xiqing.flexible.individual-window-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::Flexible, "2023-06-01", None)
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .refused("attested"),
        case("001 § 3", "xiqing.flexible.individual-window-social-insurance", "2022-06-20")
            .difficulty(&[D::Other], "2021-06-01")
            .placed(P::Flexible, "2021-06-01", None)
            .attest(&[A::PaysAtIndividualWindow])
            .period("2022-06-01", "2022-06-30")
            .base(100_000)
            .refused("in_force"),
        // 000 § 12: second placement only for special difficulty
        case("000 § 12", "xiqing.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(1)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .granted(),
        case("000 § 12", "xiqing.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(2)
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .refused("any_of"),
        // 对补贴期满仍然难以…就业的特殊困难人员，可再次…安置: the first placement's 36 months
        // ran out (2020-01..2022-12) — granted; after 12 of them — refused
        case("000 § 12", "xiqing.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::SingleParentHousehold], "2023-06-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(2)
            .prior("xiqing-public-welfare-post", "2020-01-01", "2022-12-31")
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .granted(),
        case("000 § 12", "xiqing.placement.public-welfare-post", "2024-01-05")
            .difficulty(&[D::SingleParentHousehold], "2023-06-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(2)
            .prior("xiqing-public-welfare-post", "2020-01-01", "2020-12-31")
            .period("2024-01-01", "2026-12-31")
            .base(3_000_000)
            .refused("any_of"),
        // 000 § 12: 给予用人单位社保补贴和岗位补贴 — the post subsidy, at the municipal standard
        case("000 § 12", "xiqing.placement.public-welfare-post-subsidy", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(1)
            .period("2024-01-01", "2024-12-31")
            .base(1_200_000)
            .granted_amount(1_200_000),
        case("000 § 12", "xiqing.placement.public-welfare-post-subsidy", "2024-01-05")
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::PublicWelfarePost, "2024-01-01", Some(36))
            .welfare_placements(1)
            .period("2024-01-01", "2027-01-31")
            .base(1_200_000)
            .refused("max_months"),
        // 000 § 13: 本区户籍人员取得《创业培训合格证书》
        case("000 § 13", "xiqing.startup.training-certificate", "2024-03-01")
            .trained(T::StartUpMalanhua, "2024-02-01", true)
            .granted_amount(50_000),
        case("000 § 13", "xiqing.startup.training-certificate", "2024-03-01")
            .hukou("120112")
            .trained(T::StartUpMalanhua, "2024-02-01", true)
            .refused("hukou_district"),
        case("000 § 13", "xiqing.startup.training-certificate", "2024-03-01")
            .trained(T::StartUpMalanhua, "2024-02-01", false)
            .refused("training_completed"),
        // 000 § 13: 半年内领取营业执照 — 6 months after the certificate holds, a day later not
        case("000 § 13", "xiqing.startup.success", "2024-03-01")
            .trained(T::StartUpMalanhua, "2023-01-10", true)
            .business("2023-07-10", 0)
            .attest(&[A::BusinessOperatingNormally])
            .granted_amount(500_000),
        case("000 § 13", "xiqing.startup.success", "2024-03-01")
            .trained(T::StartUpMalanhua, "2023-01-10", true)
            .business("2023-07-11", 0)
            .attest(&[A::BusinessOperatingNormally])
            .refused("max_months_training_to_business"),
        case("000 § 13", "xiqing.startup.success", "2024-03-01")
            .trained(T::StartUpMalanhua, "2023-01-10", true)
            .business("2023-07-10", 0)
            .refused("attested"),
        // 000 § 14: 最高30万元、最长3年 — LPR 3.65 % on 2023-01-01: 300,000 × 3.65 % × 3 = 32,850 yuan
        case("000 § 14", "xiqing.loan.individual", "2023-02-01")
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120111")
            .loan(30_000_000, 36, "2023-01-01")
            .granted_amount(3_285_000),
        case("000 § 14", "xiqing.loan.individual", "2023-02-01")
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120111")
            .loan(30_000_001, 36, "2023-01-01")
            .refused("loan_principal"),
        case("000 § 14", "xiqing.loan.individual", "2023-02-01")
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120111")
            .loan(30_000_000, 37, "2023-01-01")
            .refused("loan_months"),
        // 重点创业群体可上浮至50万元: graduate within 5 years (60 months, inclusive)
        // … judged on the loan's contract date: signed 2023-06-30 holds, 2023-07-01 not
        case("000 § 14", "xiqing.loan.individual-key-group", "2023-07-05")
            .graduated("2018-06-30", true)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120111")
            .loan(50_000_000, 36, "2023-06-30")
            .granted(),
        case("000 § 14", "xiqing.loan.individual-key-group", "2023-07-05")
            .graduated("2018-06-30", true)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120111")
            .loan(50_000_000, 36, "2023-07-01")
            .refused("any_of"),
        // 为在西青区内创业的各类人员: a business registered in Binhai is not
        case("000 § 14", "xiqing.loan.individual", "2023-02-01")
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120116")
            .loan(30_000_000, 36, "2023-01-01")
            .refused("business_district"),
        // 达到…20%（100人以上企业达到10%）
        case("000 § 14", "xiqing.loan.small-micro", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120111")
            .staff(100, 24, 0)
            .hires(10, 0)
            .loan(300_000_000, 24, "2024-01-02")
            .granted(),
        case("000 § 14", "xiqing.loan.small-micro", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120111")
            .staff(99, 24, 0)
            .hires(19, 0)
            .loan(300_000_000, 24, "2024-01-02")
            .refused("new_hires"),
        case("000 § 14", "xiqing.loan.small-micro", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120111")
            .staff(99, 24, 0)
            .hires(20, 0)
            .loan(300_000_000, 24, "2024-01-02")
            .granted(),
        case("000 § 14", "xiqing.loan.small-micro-local-hukou-bonus", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120111")
            .staff(50, 24, 0)
            .hires(12, 10)
            .prior("xiqing-small-micro-loan", "2024-03-01", "2024-03-01")
            .loan(300_000_000, 24, "2024-01-02")
            .granted(),
        case("000 § 14", "xiqing.loan.small-micro-local-hukou-bonus", "2024-03-01")
            .no_person()
            .enterprise(&[E::SmallMicro], "120111")
            .staff(50, 24, 0)
            .hires(12, 9)
            .prior("xiqing-small-micro-loan", "2024-03-01", "2024-03-01")
            .loan(300_000_000, 24, "2024-01-02")
            .refused("new_hires"),
        // 000 § 15: 国家级和市级 最高100万元和50万元
        case("000 § 15", "xiqing.incubator.national-demonstration-award", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120111")
            .attest(&[A::NationalDemonstrationBase])
            .amount(100_000_000)
            .granted(),
        case("000 § 15", "xiqing.incubator.national-demonstration-award", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120111")
            .attest(&[A::NationalDemonstrationBase])
            .amount(100_000_001)
            .refused("amount"),
        case("000 § 15", "xiqing.incubator.municipal-demonstration-award", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120111")
            .attest(&[A::MunicipalDemonstrationBase])
            .granted_amount(50_000_000),
        case("000 § 15", "xiqing.incubator.municipal-demonstration-award", "2024-03-01")
            .no_person()
            .enterprise(&[E::Incubator], "120111")
            .refused("attested"),
        // 000 § 23: 实现1年及以上稳定就业 — 12 full months
        case("000 § 23", "xiqing.hr-agency.referral", "2024-03-01")
            .enterprise(&[E::HrAgency], "120111")
            .placed(P::Enterprise, "2023-03-01", Some(24))
            .granted_amount(50_000),
        case("000 § 23", "xiqing.hr-agency.referral", "2024-03-01")
            .enterprise(&[E::HrAgency], "120111")
            .placed(P::Enterprise, "2023-03-02", Some(24))
            .refused("min_months_employed"),
        case("000 § 23", "xiqing.hr-agency.small-job-fair", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::SmallJobFairHeld])
            .granted_amount(500_000),
        case("000 § 23", "xiqing.hr-agency.small-job-fair", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120113")
            .attest(&[A::SmallJobFairHeld])
            .refused("enterprise_district"),
        case("000 § 23", "xiqing.hr-agency.large-job-fair", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::LargeJobFairHeld])
            .granted_amount(1_000_000),
        case("000 § 23", "xiqing.hr-agency.large-job-fair", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::SmallJobFairHeld])
            .refused("attested"),
        // 000 § 23: 对经认定的市级/国家级人力资源服务产业园，给予100万元/200万元经费资助
        case("000 § 23", "xiqing.hr-agency.municipal-industrial-park", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::MunicipalHrIndustrialPark])
            .granted_amount(100_000_000),
        case("000 § 23", "xiqing.hr-agency.municipal-industrial-park", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::NationalHrIndustrialPark])
            .refused("attested"),
        case("000 § 23", "xiqing.hr-agency.national-industrial-park", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::NationalHrIndustrialPark])
            .granted_amount(200_000_000),
        case("000 § 23", "xiqing.hr-agency.national-industrial-park", "2024-03-01")
            .no_person()
            .enterprise(&[E::HrAgency], "120111")
            .attest(&[A::NationalHrIndustrialPark])
            .prior("xiqing-hr-industrial-park-national", "2023-01-01", "2023-01-01")
            .refused("one_time"),
        // 000 § 25: 实施期限截至2020年12月31日 — that day included
        case("000 § 25", "xiqing.living.low-income-temporary-allowance", "2020-12-31")
            .groups(&[G::LowIncomeFamily])
            .spell("2020-11-01", None)
            .granted_amount(200_000),
        // the registration decides (domain §4): open on some day of the programme, decided later
        case("000 § 25", "xiqing.living.low-income-temporary-allowance", "2021-01-10")
            .groups(&[G::LowIncomeFamily])
            .spell("2020-11-01", None)
            .granted_amount(200_000),
        case("000 § 25", "xiqing.living.low-income-temporary-allowance", "2021-01-10")
            .groups(&[G::LowIncomeFamily])
            .spell("2021-01-01", None)
            .refused("in_force"),
        // a registration closed on the programme's first day was never open within it
        case("000 § 25", "xiqing.living.low-income-temporary-allowance", "2020-12-31")
            .groups(&[G::LowIncomeFamily])
            .spell("2020-01-01", Some("2020-05-18"))
            .refused("registered_unemployed"),
        // 000 § 25: 自就业当月起1年内每月扣减600元
        case("000 § 25", "xiqing.living.first-job-income-disregard", "2024-03-20")
            .groups(&[G::MinimumLivingAllowance])
            .attest(&[A::FirstJob])
            .placed(P::Enterprise, "2024-03-15", Some(12))
            .period("2024-03-01", "2025-02-28")
            .granted_amount(720_000),
        case("000 § 25", "xiqing.living.first-job-income-disregard", "2024-03-20")
            .groups(&[G::MinimumLivingAllowance])
            .attest(&[A::FirstJob])
            .placed(P::Enterprise, "2024-03-15", Some(12))
            .period("2024-03-01", "2025-03-31")
            .refused("max_months"),
        case("000 § 25", "xiqing.living.first-job-income-disregard", "2024-04-20")
            .groups(&[G::MinimumLivingAllowance])
            .attest(&[A::FirstJob])
            .placed(P::Enterprise, "2024-03-15", Some(12))
            .period("2024-04-01", "2025-03-31")
            .refused("period_from_placement_month"),
    ]
}
