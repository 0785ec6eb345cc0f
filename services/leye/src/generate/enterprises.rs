//! Synthetic enterprises (用人单位), recorded through the enterprise command
//! path like the persons: one per 50 persons, spread over the districts by
//! population.
//!
//! Each is registered at the start of the window with a valid credit code
//! (GB 32100-2015 check character), a size drawn from a long-tailed
//! distribution (most small, a few over 200 insured employees), the
//! small/micro flag below 100, and sometimes a kind policies single out. Over
//! the window, with seeded draws:
//! - a headcount report for the first month of each quarter;
//! - key-enterprise designation for those over 200 (000 § 28);
//! - about one in eight reports a batch layoff of 5 to 80 people: of 20 or
//!   more, a tracking visit follows within 1 to 45 days in 85 % of cases; of
//!   40 or more, skills training and a job fair each in 80 % (000 § 3; so some
//!   miss the 30-day mark or a service, as the action list expects);
//! - about one in six offers 1 to 20 internship posts (见习岗位);
//! - about one in ten reports a labour shortage.

use std::{collections::BTreeSet, num::NonZeroU32};

use anyhow::anyhow;
use leye_domain::{
    Date,
    enterprise::{
        BatchLayoff, DatedEnterpriseCommand, EnterpriseCommand, EnterpriseKind, EnterpriseName, EnterpriseRegistration,
        Headcount, InternshipOffer, LabourShortage, LayoffService, LayoffServiceProvision,
    },
    values::{CreditCode, DistrictCode},
};
use leye_store::EventStore;
use rand::Rng;

use super::{GenSummary, GeneratorConfig, Places, pick_index, plus_days, rng_for, uuid5};
use crate::{
    access::Access,
    cases::{AppError, CommandMeta, EnterpriseCases, Target},
};

/// Persons per generated enterprise.
pub const PERSONS_PER_ENTERPRISE: usize = 50;

/// Records the enterprises of a generation; adds their commands to `summary`.
pub async fn generate<S: EventStore>(
    cases: &EnterpriseCases<S>,
    cfg: &GeneratorConfig,
    places: &Places,
    summary: &mut GenSummary,
) -> anyhow::Result<()> {
    let count = cfg.people.div_ceil(PERSONS_PER_ENTERPRISE);
    let weights: Vec<f64> = places.districts.iter().map(|d| d.weight).collect();
    for index in 0..count {
        let mut rng = rng_for(cfg.seed, "enterprise", index as u64);
        let district = places.districts[pick_index(&mut rng, &weights)].code;
        let plan = plan(&mut rng, cfg, district, index)?;
        let code = plan.code.clone();
        for (step, (on, command)) in plan.steps.into_iter().enumerate() {
            let command_id = uuid5(&format!("enterprise-command/{}/{index}/{step}", cfg.seed));
            let meta = CommandMeta {
                command_id,
                correlation_id: uuid5(&format!("enterprise/{}/{index}", cfg.seed)),
                causation_id: command_id,
                actor: format!("gen-enterprise-desk-{district}"),
                office: district.to_string(),
                expected_revision: None,
                access: Access::Service("leye-generate"),
            };
            summary.commands += 1;
            *summary.by_command.entry(command.name()).or_default() += 1;
            let target = Target::Enterprise(code.clone());
            match cases.execute(target, meta, DatedEnterpriseCommand { effective_date: on, command }).await {
                Ok(o) if o.duplicate => summary.duplicates += 1,
                Ok(o) => {
                    summary.accepted += 1;
                    summary.events += o.event_ids.len() as u64;
                }
                Err(AppError::EnterpriseRejected(r)) => {
                    tracing::warn!(enterprise = index, step, code = %r.code, "generated command rejected");
                    summary.rejected_unexpected += 1;
                    *summary.rejections.entry(r.code.to_string()).or_default() += 1;
                }
                Err(e) => return Err(anyhow!(e).context(format!("enterprise {index}, step {step}"))),
            }
        }
        summary.enterprises += 1;
    }
    Ok(())
}

struct Plan {
    code: CreditCode,
    steps: Vec<(Date, EnterpriseCommand)>,
}

fn plan(rng: &mut impl Rng, cfg: &GeneratorConfig, district: &'static str, index: usize) -> anyhow::Result<Plan> {
    let code = credit_code(district, index)?;
    let (start, end) = (cfg.start, cfg.end);
    // Long-tailed sizes: most under 50, one in twenty over 200.
    let insured: u32 = match rng.random_range(0..100) {
        0..=59 => rng.random_range(3..50),
        60..=84 => rng.random_range(50..100),
        85..=94 => rng.random_range(100..200),
        _ => rng.random_range(201..1500),
    };
    let mut kinds = BTreeSet::new();
    let kind_draw = rng.random_range(0..100);
    let kind = match kind_draw {
        0..=5 => Some(EnterpriseKind::TechStartUp),
        6..=8 => Some(EnterpriseKind::GraduateStartUp),
        9..=10 => Some(EnterpriseKind::ElderlyCare),
        11..=12 => Some(EnterpriseKind::EmployeeBasedDomesticService),
        13 => Some(EnterpriseKind::HumanResourcesAgency),
        _ => None,
    };
    kinds.extend(kind);
    let registration = EnterpriseRegistration {
        check_character_valid: true,
        credit_code: code.clone(),
        name: EnterpriseName::parse(&format!("天津生成测试企业{index:05}有限公司"))?,
        district: DistrictCode::parse(district)?,
        industry_code: ["C3411", "F5212", "M7590", "O8010", "E4710"][index % 5].to_string(),
        insured_employees: insured,
        small_micro: insured < 100,
        kinds,
    };
    let mut steps = vec![(start, EnterpriseCommand::Register(registration))];

    // Quarterly headcounts, drifting a few percent.
    let mut headcount = insured;
    let mut month = first_of_next_quarter(start);
    while month <= end {
        let drift = rng.random_range(-5i32..=5);
        headcount = (i64::from(headcount) + i64::from(headcount) * i64::from(drift) / 100).clamp(1, 100_000) as u32;
        steps.push((month, EnterpriseCommand::ReportHeadcount(Headcount { month, insured_employees: headcount })));
        month = first_of_next_quarter(month);
    }
    if insured > 200 && rng.random_bool(0.7) {
        // On the registration day the registration's figure decides.
        steps.push((start, EnterpriseCommand::DesignateKeyEnterprise));
    }
    let span = (end - start).num_days().max(1) as u64;
    let day = |rng: &mut dyn rand::RngCore| plus_days(start, rng.random_range(1..=span));
    if rng.random_bool(0.125) {
        let on = day(rng);
        let people = rng.random_range(5..=80);
        let layoff_id = "L1".to_string();
        steps.push((
            on,
            EnterpriseCommand::ReportBatchLayoff(BatchLayoff { layoff_id: layoff_id.clone(), people: nz(people) }),
        ));
        let service = |rng: &mut dyn rand::RngCore, p: f64, kind: LayoffService, steps: &mut Vec<_>| {
            if rng.random_bool(p) {
                let when = plus_days(on, rng.random_range(1..=45));
                if when <= end {
                    let s = LayoffServiceProvision { layoff_id: layoff_id.clone(), service: kind };
                    steps.push((when, EnterpriseCommand::RecordLayoffService(s)));
                }
            }
        };
        if people >= 20 {
            service(rng, 0.85, LayoffService::TrackingVisit, &mut steps);
        }
        if people >= 40 {
            service(rng, 0.8, LayoffService::SkillsTraining, &mut steps);
            service(rng, 0.8, LayoffService::JobFair, &mut steps);
        }
    }
    if rng.random_bool(1.0 / 6.0) {
        let offer = InternshipOffer { offer_id: "I1".into(), posts: nz(rng.random_range(1..=20)) };
        steps.push((day(rng), EnterpriseCommand::OfferInternshipPosts(offer)));
    }
    if rng.random_bool(0.1) {
        let shortage = LabourShortage { posts: nz(rng.random_range(1..=30)), skills: "数控车工、电工".into() };
        steps.push((day(rng), EnterpriseCommand::ReportLabourShortage(shortage)));
    }
    // In date order; same-day facts keep the order above (stable sort).
    steps.sort_by_key(|(on, _)| *on);
    Ok(Plan { code, steps })
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

fn first_of_next_quarter(d: Date) -> Date {
    use chrono::Datelike;
    let (y, m) = (d.year(), d.month0());
    let next = (m / 3 + 1) * 3;
    let (y, m) = if next >= 12 { (y + 1, next - 12) } else { (y, next) };
    Date::from_ymd_opt(y, m + 1, 1).unwrap_or(d)
}

/// A valid credit code: "91" (an enterprise), the district, "MA", seven
/// digits of the index and the check character.
fn credit_code(district: &str, index: usize) -> anyhow::Result<CreditCode> {
    let body = format!("91{district}MA{:07}", index % 10_000_000);
    let check = CreditCode::check_character(&body).ok_or_else(|| anyhow!("credit code body {body}"))?;
    Ok(CreditCode::parse(&format!("{body}{check}"))?)
}
