//! `policies/heping.toml`, Heping district (和平区): a granted and a refused
//! row on each side of each threshold (`main.rs` says how the wording is read).

use super::*;

pub(super) fn cases() -> Vec<Case> {
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
