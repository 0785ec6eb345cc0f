//! Every rule of the shipped catalogue, on each side of each threshold its
//! seed states. Each row names the clause; the boundary it tests is the
//! wording quoted in the rule's `[rule.wording]`:
//! - 以上 / 以内 / 内 include the number (民法典 第1259条): "半年以上" holds at 6 full months.
//! - 满N个月 is reached on the same day of the month N months later.
//! - 年满N周岁 holds from the Nth birthday.
//! - 不足N年 is strict; 不超过 / 最高 / 最长 are inclusive caps.
//! - 达到…20% is inclusive; 低于 (below the control target) is strict.
//!
//! The test `every_rule_has_a_granted_and_a_refused_row` keeps the table complete.

mod common;

use std::collections::BTreeSet;

use common::{Case, case, run};
use leye_domain::{
    person::{DifficultyCategory as D, PersonGroup as G, PlacementKind as P, TrainingProgramme as T},
    values::Gender,
};
use leye_policy::{Attestation as A, EnterpriseKind as E, PostType};

fn xiqing() -> Vec<Case> {
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

fn binhai() -> Vec<Case> {
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

fn heping() -> Vec<Case> {
    let on = "2024-03-01";
    vec![
        // 004: 自发布之日起，有效期5年 — 2020-06-30 ..= 2025-06-29
        case("004 § 1", "tianjin.stability.refund", "2025-06-29")
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(20, 12, 0)
            .base(400_000)
            .granted_amount(200_000),
        // a municipal programme: not bounded by 004's five years (granted in Heping after 2025-06-29)
        case("004 § 1", "tianjin.stability.refund", "2025-06-30")
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(20, 12, 0)
            .base(400_000)
            .in_district("120101")
            .granted(),
        case("004 § 1", "tianjin.stability.refund", "2019-12-31")
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(20, 12, 0)
            .base(400_000)
            .in_district("120101")
            .refused("in_force"),
        case("004 § 1", "heping.upskilling.degree", on)
            .placed(P::Enterprise, "2020-01-01", None)
            .attest(&[A::DegreeObtained])
            .granted_amount(100_000),
        case("004 § 1", "heping.upskilling.degree", on)
            .placed(P::Enterprise, "2020-01-01", None)
            .placement_ended("2024-01-01")
            .attest(&[A::DegreeObtained])
            .refused("still_employed"),
        case("004 § 1", "heping.upskilling.professional-title", on)
            .placed(P::Enterprise, "2020-01-01", None)
            .attest(&[A::ProfessionalTitleObtained])
            .granted_amount(150_000),
        case("004 § 1", "heping.upskilling.professional-title", on)
            .placed(P::Enterprise, "2020-01-01", None)
            .attest(&[A::DegreeObtained])
            .refused("attested"),
        case("004 § 1", "heping.upskilling.skill-certificate", on)
            .placed(P::Enterprise, "2020-01-01", None)
            .attest(&[A::SkillCertificateObtained])
            .granted_amount(200_000),
        case("004 § 1", "heping.upskilling.skill-certificate", on)
            .placed(P::Enterprise, "2020-01-01", None)
            .attest(&[A::SkillCertificateObtained])
            .amount(200_001)
            .refused("amount"),
        // 004 § 9: 80 % of 2,180 = 1,744 a month
        case("004 § 9", "tianjin.internship.living-allowance", on)
            .placed(P::Internship, "2024-01-01", Some(6))
            .period("2024-01-01", "2024-02-29")
            .granted_amount(348_800),
        case("004 § 9", "tianjin.internship.living-allowance", on)
            .placed(P::Internship, "2024-01-01", Some(6))
            .period("2024-01-02", "2024-02-29")
            .refused("period"),
        case("004 § 9", "tianjin.internship.retention-reward", on)
            .attest(&[A::RetainedAfterInternship])
            .granted_amount(300_000),
        case("004 § 9", "tianjin.internship.retention-reward", on)
            .attest(&[A::RetainedAfterInternship])
            .prior("tianjin-internship-retention-reward", "2023-01-01", "2023-01-01")
            .refused("one_time"),
        // 004 § 10: 缴纳社会保险费满3个月 — 3 holds, 2 does not
        case("004 § 10", "heping.hiring.one-time", on)
            .groups(&[G::RuralLabour])
            .placed(P::Enterprise, "2023-11-01", Some(12))
            .insured(3)
            .granted_amount(100_000),
        case("004 § 10", "heping.hiring.one-time", on)
            .groups(&[G::RuralLabour])
            .placed(P::Enterprise, "2023-11-01", Some(12))
            .insured(2)
            .refused("min_insured_months"),
        // 中小微企业吸纳应届高校毕业生
        case("004 § 10", "heping.hiring.one-time", "2024-09-01")
            .enterprise(&[E::Medium], "120101")
            .groups(&[G::Graduate])
            .graduated("2024-06-30", true)
            .placed(P::Enterprise, "2024-07-01", Some(12))
            .insured(3)
            .granted(),
        // 应届 is judged at the hire: graduated 2024, hired 2025-01-02 is not 应届
        case("004 § 10", "heping.hiring.one-time", "2025-04-02")
            .enterprise(&[E::Medium], "120101")
            .groups(&[G::Graduate])
            .graduated("2024-06-30", true)
            .placed(P::Enterprise, "2025-01-02", Some(12))
            .insured(3)
            .refused("any_of"),
        // … and a 2024 graduate hired in 2024, decided in 2025, still is
        case("004 § 10", "heping.hiring.one-time", "2025-01-02")
            .enterprise(&[E::Medium], "120101")
            .groups(&[G::Graduate])
            .graduated("2024-06-30", true)
            .placed(P::Enterprise, "2024-07-01", Some(12))
            .insured(3)
            .granted(),
        case("004 § 10", "heping.hiring.one-time", on)
            .groups(&[G::RuralLabour, G::PoorVillageLabour])
            .placed(P::Enterprise, "2023-11-01", Some(12))
            .insured(3)
            .prior("heping-hiring-poor-village", "2023-12-01", "2023-12-01")
            .refused("excludes"),
        // 标准提高到每人2000元，参保缴费条件放宽至满1个月
        case("004 § 10", "heping.hiring.poor-village-labour", on)
            .groups(&[G::PoorVillageLabour])
            .placed(P::Enterprise, "2024-01-15", Some(12))
            .insured(1)
            .granted_amount(200_000),
        case("004 § 10", "heping.hiring.poor-village-labour", on)
            .groups(&[G::PoorVillageLabour])
            .placed(P::Enterprise, "2024-01-15", Some(12))
            .insured(0)
            .refused("min_insured_months"),
        case("004 § 10", "tianjin.hiring.social-insurance", on)
            .difficulty(&[D::SupportsSeriouslyIllRelative], "2023-06-01")
            .enterprise(&[E::Medium], "120101")
            .placed(P::Enterprise, "2024-03-01", Some(36))
            .period("2024-03-01", "2027-02-28")
            .base(2_000_000)
            .granted(),
        case("004 § 10", "tianjin.hiring.social-insurance", on)
            .born("1995-01-01", Gender::Male)
            .difficulty(&[D::Other], "2023-06-01")
            .enterprise(&[E::Medium], "120101")
            .placed(P::Enterprise, "2024-03-01", Some(36))
            .period("2024-03-01", "2027-02-28")
            .base(2_000_000)
            .refused("any_of"),
        case("004 § 10", "tianjin.hiring.social-insurance-other-difficulty", on)
            .born("1995-01-01", Gender::Male)
            .difficulty(&[D::Other], "2023-06-01")
            .enterprise(&[E::Medium], "120101")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .period("2024-03-01", "2025-02-28")
            .base(500_000)
            .granted(),
        case("004 § 10", "tianjin.hiring.social-insurance-other-difficulty", on)
            .born("1995-01-01", Gender::Male)
            .difficulty(&[D::Other], "2023-06-01")
            .enterprise(&[E::Medium], "120101")
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("tianjin-hiring-social-insurance", "2023-01-01", "2023-12-31")
            .period("2024-03-01", "2025-02-28")
            .base(500_000)
            .refused("excludes"),
        case("004 § 10", "tianjin.hiring.post-subsidy", on)
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("tianjin-hiring-social-insurance", "2024-03-01", "2027-02-28")
            .period("2024-03-01", "2025-02-28")
            .base(1_000_000)
            .granted(),
        case("004 § 10", "tianjin.hiring.post-subsidy", on)
            .placed(P::Enterprise, "2024-03-01", Some(12))
            .prior("tianjin-hiring-social-insurance", "2024-03-01", "2027-02-28")
            .period("2024-03-01", "2025-02-28")
            .refused("amount"),
        // 004 § 11
        case("004 § 11", "tianjin.flexible.graduate-social-insurance", on)
            .graduated("2022-06-30", true)
            .placed(P::Flexible, "2023-01-01", None)
            .period("2024-03-01", "2024-03-31")
            .granted_amount(87_400),
        case("004 § 11", "tianjin.flexible.graduate-social-insurance", on)
            .graduated("2021-06-30", true)
            .placed(P::Flexible, "2023-07-01", None)
            .period("2024-03-01", "2024-03-31")
            .refused("max_months_since_graduation"),
        case("004 § 11", "tianjin.flexible.special-difficulty-social-insurance", on)
            .difficulty(&[D::ZeroEmploymentHousehold], "2024-01-01")
            .placed(P::Flexible, "2024-01-01", None)
            .period("2024-03-01", "2027-02-28")
            .granted(),
        case("004 § 11", "tianjin.flexible.special-difficulty-social-insurance", on)
            .difficulty(&[D::ZeroEmploymentHousehold], "2024-01-01")
            .placed(P::Flexible, "2024-01-01", None)
            .period("2024-03-01", "2027-03-31")
            .refused("max_months"),
        case("004 § 11", "tianjin.flexible.difficulty-4050-social-insurance", on)
            .born("1974-03-01", Gender::Male)
            .difficulty(&[D::Age4050], "2024-01-01")
            .placed(P::Flexible, "2024-01-01", None)
            .period("2024-03-01", "2024-03-31")
            .granted_amount(65_550),
        case("004 § 11", "tianjin.flexible.difficulty-4050-social-insurance", on)
            .born("1974-03-02", Gender::Male)
            .difficulty(&[D::Other], "2024-01-01")
            .placed(P::Flexible, "2024-01-01", None)
            .period("2024-03-01", "2024-03-31")
            .refused("min_age"),
        // 004 § 12
        case("004 § 12", "tianjin.placement.community-service-post", on)
            .difficulty(&[D::Other], "2024-01-01")
            .placed(P::CommunityServicePost, "2024-03-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-03-01", "2024-03-31")
            .granted_amount(100_000),
        case("004 § 12", "tianjin.placement.community-service-post", on)
            .placed(P::CommunityServicePost, "2024-03-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-03-01", "2024-03-31")
            .refused("difficulty"),
        // 004 § 12 has no "at most twice": a third placement is not refused for its count
        case("004 § 12", "heping.placement.public-welfare-post", on)
            .difficulty(&[D::Other], "2024-01-01")
            .placed(P::PublicWelfarePost, "2024-03-01", Some(36))
            .welfare_placements(3)
            .period("2024-03-01", "2027-02-28")
            .base(3_000_000)
            .granted(),
        case("004 § 12", "heping.placement.public-welfare-post", on)
            .difficulty(&[D::Other], "2024-01-01")
            .placed(P::Enterprise, "2024-03-01", Some(36))
            .period("2024-03-01", "2027-02-28")
            .base(3_000_000)
            .refused("placement_kinds"),
        case("004 § 12", "heping.placement.public-welfare-post-subsidy", on)
            .difficulty(&[D::Other], "2024-01-01")
            .placed(P::PublicWelfarePost, "2024-03-01", Some(36))
            .period("2024-03-01", "2027-02-28")
            .base(3_000_000)
            .granted(),
        case("004 § 12", "heping.placement.public-welfare-post-subsidy", on)
            .difficulty(&[D::Other], "2024-01-01")
            .placed(P::PublicWelfarePost, "2024-03-01", Some(36))
            .period("2024-03-01", "2027-03-31")
            .base(3_000_000)
            .refused("max_months"),
        // 004 § 13
        case("004 § 13", "heping.startup.training", on)
            .trained(T::StartUpMalanhua, "2024-02-01", true)
            .granted_amount(50_000),
        case("004 § 13", "heping.startup.training", on)
            .trained(T::VocationalSkills, "2024-02-01", true)
            .refused("training_completed"),
        case("004 § 13", "heping.startup.training-success", on)
            .trained(T::StartUpMalanhua, "2023-09-01", true)
            .business("2024-03-01", 0)
            .prior("heping-startup-training", "2023-09-05", "2023-09-05")
            .granted_amount(100_000),
        case("004 § 13", "heping.startup.training-success", "2024-03-05")
            .trained(T::StartUpMalanhua, "2023-09-01", true)
            .business("2024-03-02", 0)
            .prior("heping-startup-training", "2023-09-05", "2023-09-05")
            .refused("max_months_training_to_business"),
        case("004 § 13", "heping.startup.improve-your-business", on)
            .placed(P::StartUp, "2023-01-01", None)
            .trained(T::ImproveYourBusiness, "2024-02-01", true)
            .granted_amount(150_000),
        case("004 § 13", "heping.startup.improve-your-business", on)
            .trained(T::ImproveYourBusiness, "2024-02-01", true)
            .refused("placement_kinds"),
        // 004 § 14
        case("004 § 14", "heping.startup.first-business-social-insurance", on)
            .difficulty(&[D::Other], "2023-06-01")
            .placed(P::StartUp, "2024-01-01", None)
            .attest(&[A::FirstBusiness])
            .period("2024-03-01", "2027-02-28")
            .base(1_000_000)
            .granted(),
        case("004 § 14", "heping.startup.first-business-social-insurance", on)
            .placed(P::StartUp, "2024-01-01", None)
            .attest(&[A::FirstBusiness])
            .period("2024-03-01", "2027-02-28")
            .base(1_000_000)
            .refused("any_of"),
        case("004 § 14", "heping.startup.first-business-post-subsidy", on)
            .placed(P::StartUp, "2024-01-01", None)
            .prior("heping-startup-social-insurance", "2024-03-01", "2027-02-28")
            .period("2024-03-01", "2025-02-28")
            .base(600_000)
            .granted(),
        case("004 § 14", "heping.startup.first-business-post-subsidy", on)
            .placed(P::StartUp, "2024-01-01", None)
            .period("2024-03-01", "2025-02-28")
            .base(600_000)
            .refused("requires_grant"),
        // 正常经营满1年，带动1人以上就业并连续缴纳12个月社会保险费
        case("004 § 14", "heping.startup.one-time", on)
            .hukou("120101")
            .spell("2022-01-01", Some("2022-07-01"))
            .business("2023-03-01", 1)
            .business_in("120101")
            .insured(12)
            .attest(&[A::FirstBusiness, A::BusinessOperatingNormally])
            .granted_amount(300_000),
        case("004 § 14", "heping.startup.one-time", on)
            .hukou("120101")
            .spell("2022-01-01", Some("2022-07-01"))
            .business("2023-03-01", 0)
            .business_in("120101")
            .insured(12)
            .attest(&[A::FirstBusiness, A::BusinessOperatingNormally])
            .refused("min_business_employees"),
        case("004 § 14", "heping.startup.one-time", on)
            .hukou("130102")
            .spell("2022-01-01", Some("2022-07-01"))
            .business("2023-03-01", 1)
            .business_in("120101")
            .insured(12)
            .attest(&[A::FirstBusiness, A::BusinessOperatingNormally])
            .refused("any_of"),
        // 困难村劳动力: 在本区注册经营3个月以上
        case("004 § 14", "heping.startup.one-time-poor-village", on)
            .groups(&[G::PoorVillageLabour])
            .business("2023-12-01", 0)
            .business_in("120101")
            .granted_amount(300_000),
        case("004 § 14", "heping.startup.one-time-poor-village", on)
            .groups(&[G::PoorVillageLabour])
            .business("2023-12-02", 0)
            .business_in("120101")
            .refused("min_business_operating_months"),
        // 004 § 15: 注册1年内可申请
        case("004 § 15", "heping.startup.rent-premises", "2024-03-01")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2023-03-01", None)
            .business("2023-03-01", 2)
            .business_in("120101")
            .period("2024-03-01", "2024-03-31")
            .granted_amount(200_000),
        case("004 § 15", "heping.startup.rent-premises", "2024-03-02")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2023-03-01", None)
            .business("2023-03-01", 2)
            .business_in("120101")
            .period("2024-03-01", "2024-03-31")
            .refused("max_months_since_business_registration"),
        case("004 § 15", "heping.startup.rent-workstation", on)
            .groups(&[G::HaiheTalent])
            .placed(P::StartUp, "2024-01-01", None)
            .business("2024-01-01", 3)
            .business_in("120101")
            .period("2024-03-01", "2024-03-31")
            .granted_amount(60_000),
        case("004 § 15", "heping.startup.rent-workstation", on)
            .groups(&[G::HaiheTalent])
            .placed(P::StartUp, "2024-01-01", None)
            .business("2024-01-01", 0)
            .business_in("120101")
            .period("2024-03-01", "2024-03-31")
            .amount(30_001)
            .refused("amount"),
        // 租赁房屋 or 租赁工位, 补贴期限最长2年: not both for one month (the premises subsidy paid March)
        case("004 § 15", "heping.startup.rent-workstation", on)
            .groups(&[G::HaiheTalent])
            .placed(P::StartUp, "2024-01-01", None)
            .business("2024-01-01", 3)
            .business_in("120101")
            .prior("heping-startup-rent", "2024-03-01", "2024-03-31")
            .period("2024-03-01", "2024-03-31")
            .refused("period_overlap"),
        // … and the 2 years count over both: 20 months of premises + 4 of workstation allowed, 5 not
        case("004 § 15", "heping.startup.rent-premises", "2024-03-01")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2023-03-01", None)
            .business("2023-03-01", 2)
            .business_in("120101")
            .prior("heping-startup-workstation", "2023-03-01", "2023-06-30")
            .period("2024-03-01", "2025-10-31")
            .granted(),
        case("004 § 15", "heping.startup.rent-premises", "2024-03-01")
            .groups(&[G::TianjinStudent])
            .placed(P::StartUp, "2023-03-01", None)
            .business("2023-03-01", 2)
            .business_in("120101")
            .prior("heping-startup-workstation", "2023-03-01", "2023-07-31")
            .period("2024-03-01", "2025-10-31")
            .refused("cumulative_months"),
        // 004 § 16
        case("004 § 16", "tianjin.incubator.construction", on)
            .no_person()
            .enterprise(&[E::Incubator], "120101")
            .granted_amount(50_000_000),
        case("004 § 16", "tianjin.incubator.construction", on)
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .refused("enterprise_kinds_any"),
        case("004 § 16", "tianjin.incubator.construction-student-tenants", on)
            .no_person()
            .enterprise(&[E::Incubator], "120101")
            .attest(&[A::StudentTenantsHalfOrMore])
            .granted_amount(75_000_000),
        case("004 § 16", "tianjin.incubator.construction-student-tenants", on)
            .no_person()
            .enterprise(&[E::Incubator], "120101")
            .attest(&[A::StudentTenantsHalfOrMore])
            .prior("tianjin-incubator-construction", "2023-01-01", "2023-01-01")
            .refused("one_time"),
        case("004 § 16", "tianjin.incubator.incubation", on)
            .no_person()
            .enterprise(&[E::Incubator], "120101")
            .units(2)
            .granted_amount(2_000_000),
        case("004 § 16", "tianjin.incubator.incubation", on)
            .no_person()
            .enterprise(&[E::Incubator], "120101")
            .units(2)
            .amount(2_000_001)
            .refused("amount"),
        case("004 § 16", "tianjin.incubator.job-creation", on)
            .no_person()
            .enterprise(&[E::Incubator], "120101")
            .units(1)
            .granted_amount(300_000),
        case("004 § 16", "tianjin.incubator.job-creation", on)
            .enterprise(&[E::SmallMicro], "120101")
            .no_person()
            .units(1)
            .refused("enterprise_kinds_any"),
        // 004 § 17: 在我区创业的各类人员 — one loan …
        case("004 § 17", "heping.loan.individual", on)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120101")
            .loan(30_000_000, 36, "2024-01-02")
            .granted(),
        case("004 § 17", "heping.loan.individual", on)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120101")
            .prior("heping-guarantee-loan", "2021-01-01", "2021-01-01")
            .loan(30_000_000, 36, "2024-01-02")
            .refused("max_grants"),
        case("004 § 17", "heping.loan.individual", on)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120116")
            .loan(30_000_000, 36, "2024-01-02")
            .refused("business_district"),
        // … 对带动就业效果明显的创业者…可最多申请3次贷款: a third loan with the attestation, not a fourth
        case("004 § 17", "heping.loan.individual-repeat", on)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 3)
            .business_in("120101")
            .attest(&[A::StrongJobCreator])
            .prior("heping-guarantee-loan", "2021-01-01", "2021-01-01")
            .prior("heping-guarantee-loan", "2022-01-01", "2022-01-01")
            .loan(30_000_000, 36, "2024-01-02")
            .granted(),
        case("004 § 17", "heping.loan.individual-repeat", on)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 3)
            .business_in("120101")
            .attest(&[A::StrongJobCreator])
            .prior("heping-guarantee-loan", "2021-01-01", "2021-01-01")
            .prior("heping-guarantee-loan", "2022-01-01", "2022-01-01")
            .prior("heping-guarantee-loan", "2023-01-01", "2023-01-01")
            .loan(30_000_000, 36, "2024-01-02")
            .refused("max_grants"),
        case("004 § 17", "heping.loan.individual-repeat", on)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 3)
            .business_in("120101")
            .prior("heping-guarantee-loan", "2021-01-01", "2021-01-01")
            .loan(30_000_000, 36, "2024-01-02")
            .refused("attested"),
        case("004 § 17", "heping.loan.individual-key-group-repeat", on)
            .graduated("2020-06-30", true)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 3)
            .business_in("120101")
            .attest(&[A::StrongJobCreator])
            .prior("heping-guarantee-loan", "2021-01-01", "2021-01-01")
            .loan(50_000_000, 36, "2024-01-02")
            .granted(),
        case("004 § 17", "heping.loan.individual-key-group-repeat", on)
            .graduated("2020-06-30", true)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 3)
            .business_in("120101")
            .attest(&[A::StrongJobCreator])
            .loan(50_000_000, 36, "2024-01-02")
            .refused("requires_grant"),
        case("004 § 17", "heping.loan.individual-key-group", on)
            .graduated("2020-06-30", true)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120101")
            .loan(50_000_000, 36, "2024-01-02")
            .granted(),
        case("004 § 17", "heping.loan.individual-key-group", on)
            .graduated("2020-06-30", true)
            .placed(P::StartUp, "2023-01-01", None)
            .business("2023-01-01", 0)
            .business_in("120101")
            .loan(50_000_001, 36, "2024-01-02")
            .refused("loan_principal"),
        case("004 § 17", "heping.loan.small-micro", on)
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(10, 12, 0)
            .hires(2, 0)
            .loan(100_000_000, 24, "2024-01-02")
            .granted(),
        case("004 § 17", "heping.loan.small-micro", on)
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(10, 12, 0)
            .hires(1, 0)
            .loan(100_000_000, 24, "2024-01-02")
            .refused("new_hires"),
        // 004 § 17: a small/micro enterprise's second loan needs 带动就业效果明显 (attested)
        case("004 § 17", "heping.loan.small-micro-repeat", on)
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(10, 12, 0)
            .hires(2, 0)
            .attest(&[A::StrongJobCreator])
            .prior("heping-small-micro-loan", "2022-01-01", "2022-01-01")
            .loan(100_000_000, 24, "2024-01-02")
            .granted(),
        case("004 § 17", "heping.loan.small-micro-repeat", on)
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(10, 12, 0)
            .hires(2, 0)
            .prior("heping-small-micro-loan", "2022-01-01", "2022-01-01")
            .loan(100_000_000, 24, "2024-01-02")
            .refused("attested"),
        case("004 § 17", "heping.loan.small-micro", on)
            .no_person()
            .enterprise(&[E::SmallMicro], "120101")
            .staff(10, 12, 0)
            .hires(2, 0)
            .prior("heping-small-micro-loan", "2022-01-01", "2022-01-01")
            .loan(100_000_000, 24, "2024-01-02")
            .refused("max_grants"),
        // 004 § 18: 对获奖选手和项目，给予最高30万元奖励; 举办创业大赛，给予最高50万元补贴
        case("004 § 18", "heping.contest.haihe-award", on)
            .attest(&[A::HaiheContestAwardWon])
            .amount(30_000_000)
            .granted_amount(30_000_000),
        case("004 § 18", "heping.contest.haihe-award", on)
            .attest(&[A::HaiheContestAwardWon])
            .amount(30_000_001)
            .refused("amount"),
        case("004 § 18", "heping.contest.hosting", on)
            .no_person()
            .enterprise(&[], "120101")
            .attest(&[A::StartUpContestHeld])
            .granted_amount(50_000_000),
        case("004 § 18", "heping.contest.hosting", on).no_person().enterprise(&[], "120101").refused("attested"),
        // 004 § 19-20
        case("004 § 19", "heping.training.online-vocational", on)
            .attest(&[A::OnlineTrainingCompleted])
            .granted_amount(60_000),
        case("004 § 19", "heping.training.online-vocational", on).refused("attested"),
        case("004 § 20", "heping.training.poor-village-provider", on)
            .groups(&[G::PoorVillageLabour])
            .trained(T::VocationalSkills, "2024-02-01", true)
            .base(100_000)
            .granted_amount(120_000),
        case("004 § 20", "heping.training.poor-village-provider", on)
            .groups(&[G::PoorVillageLabour])
            .trained(T::VocationalSkills, "2024-02-01", true)
            .base(100_000)
            .amount(120_001)
            .refused("amount"),
        case("004 § 20", "heping.training.poor-village-living-allowance", on)
            .groups(&[G::PoorVillageLabour])
            .trained(T::VocationalSkills, "2024-02-01", true)
            .granted_amount(50_000),
        case("004 § 20", "heping.training.poor-village-living-allowance", on)
            .groups(&[G::RuralLabour])
            .trained(T::VocationalSkills, "2024-02-01", true)
            .refused("groups_any"),
        // 在一年内申请一次性1000元生活费补贴
        case("004 § 20", "heping.training.difficulty-living-allowance", "2024-02-01")
            .groups(&[G::ZeroEmploymentHousehold])
            .trained(T::VocationalSkills, "2023-02-01", true)
            .granted_amount(100_000),
        case("004 § 20", "heping.training.difficulty-living-allowance", "2024-02-02")
            .groups(&[G::ZeroEmploymentHousehold])
            .trained(T::VocationalSkills, "2023-02-01", true)
            .refused("max_months_since_training"),
        // 004 § 24
        case("004 § 24", "heping.dispatch.hr-agency", on)
            .no_person()
            .enterprise(&[E::HrAgency], "120101")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentOnContractsOfOneYear])
            .units(30)
            .granted_amount(1_800_000),
        case("004 § 24", "heping.dispatch.hr-agency", on)
            .no_person()
            .enterprise(&[E::HrAgency], "120101")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentOnContractsOfOneYear])
            .units(29)
            .refused("min_units"),
        case("004 § 24", "tianjin.dispatch.vocational-school", on)
            .no_person()
            .enterprise(&[E::VocationalSchool], "120103")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentForThreeMonths])
            .units(40)
            .granted_amount(4_000_000),
        case("004 § 24", "tianjin.dispatch.vocational-school", on)
            .no_person()
            .enterprise(&[E::VocationalSchool], "120103")
            .attest(&[A::SentToKeyShortStaffedEnterprise, A::SentForThreeMonths])
            .units(40)
            .amount(4_000_001)
            .refused("amount"),
        // 004 § 28
        case("004 § 28", "heping.living.low-income-temporary-allowance", "2020-06-30")
            .groups(&[G::LowIncomeFamily])
            .spell("2020-06-01", None)
            .granted_amount(200_000),
        case("004 § 28", "heping.living.low-income-temporary-allowance", "2020-06-30")
            .spell("2020-06-01", None)
            .refused("groups_any"),
        case("004 § 28", "heping.living.first-job-income-disregard", on)
            .groups(&[G::MinimumLivingAllowance])
            .attest(&[A::FirstJob])
            .placed(P::Enterprise, "2024-02-10", Some(12))
            .period("2024-02-01", "2025-01-31")
            .granted_amount(720_000),
        case("004 § 28", "heping.living.first-job-income-disregard", on)
            .groups(&[G::MinimumLivingAllowance])
            .attest(&[A::FirstJob])
            .placed(P::Enterprise, "2024-02-10", Some(12))
            .prior("heping-first-job-income-disregard", "2024-02-01", "2024-02-29")
            .period("2024-02-01", "2025-01-31")
            .refused("period_overlap"),
    ]
}

fn tianjin() -> Vec<Case> {
    vec![
        // 002 #37 / 004 § 12: 在给予企业社保补贴和岗位补贴的基础上 — the base subsidies of a
        // community service post, for the difficulty persons the market does not place
        case("002 #37", "tianjin.placement.community-service-post-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-01-01", "2024-12-31")
            .base(2_400_000)
            .granted_amount(2_400_000),
        case("004 § 12", "tianjin.placement.community-service-post-social-insurance", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .period("2024-01-01", "2024-12-31")
            .base(2_400_000)
            .refused("attested"),
        case("000 § 12", "tianjin.placement.community-service-post-subsidy", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .granted_amount(1_000_000),
        case("002 #37", "tianjin.placement.community-service-post-subsidy", "2024-01-05")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::CommunityServicePost, "2024-01-01", Some(36))
            .attest(&[A::HardToPlaceThroughMarket])
            .prior("tianjin-community-service-post-subsidy", "2021-01-01", "2023-12-31")
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .refused("cumulative_months"),
        // 004 § 12 按照市人社局统一安排，增加公益性岗位…给予用人单位最长3年五项社保补贴和岗位补贴 (002 #38,
        // 000 § 12 alike): the municipal rule, in a district without a rule of its own (Hedong)
        case("004 § 12", "tianjin.placement.public-welfare-post", "2024-01-05")
            .in_district("120102")
            .difficulty(&[D::ZeroEmploymentHousehold], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", None)
            .welfare_placements(1)
            .period("2024-01-01", "2024-12-31")
            .base(2_400_000)
            .granted_amount(2_400_000),
        case("002 #38", "tianjin.placement.public-welfare-post", "2024-01-05")
            .in_district("120102")
            .placed(P::PublicWelfarePost, "2024-01-01", None)
            .welfare_placements(1)
            .period("2024-01-01", "2024-12-31")
            .base(2_400_000)
            .refused("difficulty"),
        case("000 § 12", "tianjin.placement.public-welfare-post-subsidy", "2024-01-05")
            .in_district("120102")
            .difficulty(&[D::Other], "2023-12-01")
            .placed(P::PublicWelfarePost, "2024-01-01", None)
            .welfare_placements(1)
            .period("2024-01-01", "2026-12-31")
            .base(1_000_000)
            .granted_amount(1_000_000),
        // 对补贴期满仍难以…就业的特殊困难人员，可再次…安置: a second placement of a person who is not
        // a special difficulty person is refused, also after months of a district programme
        case("002 #38", "tianjin.placement.public-welfare-post-subsidy", "2024-01-05")
            .in_district("120102")
            .difficulty(&[D::Other], "2020-01-01")
            .placed(P::PublicWelfarePost, "2024-01-01", None)
            .welfare_placements(2)
            .prior("heping-public-welfare-post-subsidy", "2020-07-01", "2023-06-30")
            .period("2024-01-01", "2024-12-31")
            .base(1_000_000)
            .refused("any_of"),
        // 000 § 24 / 002 #65 / 004 § 27: 距离法定退休年龄不足1年 — man born 1965-01-15 retires 2025-02-15
        case("000 § 24", "tianjin.benefit.extension-to-retirement", "2024-02-16")
            .born("1965-01-15", Gender::Male)
            .spell("2022-01-01", None)
            .attest(&[A::BenefitExhausted])
            .granted(),
        case("002 #65", "tianjin.benefit.extension-to-retirement", "2024-02-15")
            .born("1965-01-15", Gender::Male)
            .spell("2022-01-01", None)
            .attest(&[A::BenefitExhausted])
            .refused("within_years_of_retirement"),
        case("004 § 27", "tianjin.benefit.extension-to-retirement", "2024-02-16")
            .born("1970-01-15", Gender::Female)
            .spell("2022-01-01", None)
            .attest(&[A::BenefitExhausted])
            .refused("within_years_of_retirement"),
        // a woman worker born 1974-06-15 retires at 50 on 2024-06-15 (before the 2025 rise)
        case("004 § 27", "tianjin.benefit.extension-to-retirement", "2024-01-10")
            .born("1974-06-15", Gender::Female)
            .post(PostType::Worker)
            .spell("2022-01-01", None)
            .attest(&[A::BenefitExhausted])
            .in_district("120101")
            .granted(),
        case("000 § 24", "tianjin.benefit.extension-to-retirement", "2024-02-16")
            .born("1965-01-15", Gender::Male)
            .spell("2022-01-01", None)
            .refused("attested"),
    ]
}

fn all() -> Vec<Case> {
    [xiqing(), binhai(), heping(), tianjin()].concat()
}

#[test]
fn xiqing_rules_at_their_thresholds() {
    let f = run(&xiqing());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn binhai_rules_at_their_thresholds() {
    let f = run(&binhai());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn heping_rules_at_their_thresholds() {
    let f = run(&heping());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn tianjin_rules_at_their_thresholds() {
    let f = run(&tianjin());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn every_rule_has_a_granted_and_a_refused_row() {
    let cases = all();
    let granted: BTreeSet<&str> =
        cases.iter().filter(|c| c.expect.is_none()).map(|c| c.request.rule_id.as_str()).collect();
    let refused: BTreeSet<&str> =
        cases.iter().filter(|c| c.expect.is_some()).map(|c| c.request.rule_id.as_str()).collect();
    let mut missing = Vec::new();
    for r in leye_policy::default_catalogue().rules() {
        if !granted.contains(r.id.as_str()) {
            missing.push(format!("{}: no granted row", r.id));
        }
        if !refused.contains(r.id.as_str()) {
            missing.push(format!("{}: no refused row", r.id));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
