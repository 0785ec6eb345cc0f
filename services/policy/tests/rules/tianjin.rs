//! `policies/tianjin.toml`, Tianjin municipality (天津市), city-wide: a granted and a refused
//! row on each side of each threshold (`main.rs` says how the wording is read).

use super::*;

pub(super) fn cases() -> Vec<Case> {
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
