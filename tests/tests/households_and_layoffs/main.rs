//! Review: households (零就业家庭, 动态清零) and batch layoffs, layoff plans and
//! key enterprises, worked out by hand from the documents and checked
//! through the public gRPC interface only, as a caseworker and a district
//! analyst. Each scenario quotes the clause it follows.
//!
//! `households.rs`, `membership.rs`: households; `enterprises.rs`: layoffs and
//! key enterprises. The helpers they share are here.

mod enterprises;
mod households;
mod membership;

use chrono::Datelike;
use leye_e2e::*;
use leye_proto::{analytics::v1 as apb, enterprise::v1 as epb, person::v1 as pb};
use tonic::Code;
use uuid::Uuid;

fn membership(household: &str, relation: pb::HouseholdRelation) -> Option<pb::HouseholdMembership> {
    Some(pb::HouseholdMembership { household_id: household.into(), relation: relation as i32 })
}

/// Registers on `ago` days ago, naming `household` (if any), with the
/// zero-employment-household group when `zero_group`.
async fn register_in(c: &mut Client, rid: &str, ago: i64, household: Option<&str>, zero_group: bool) -> (String, u64) {
    let mut reg = register_request(rid, days_ago(ago));
    let r = reg.registration.as_mut().unwrap();
    r.household = household.and_then(|h| membership(h, pb::HouseholdRelation::Head));
    if zero_group {
        r.groups.push(pb::PersonGroup::ZeroEmploymentHousehold as i32);
    }
    let res = c.register_unemployment(reg).await.expect("register").into_inner().result.unwrap();
    (res.case_id, res.global_position)
}

async fn reregister(c: &mut Client, rid: &str, ago: i64, household: &str) -> u64 {
    let mut reg = register_request(rid, days_ago(ago));
    reg.registration.as_mut().unwrap().household = membership(household, pb::HouseholdRelation::Head);
    c.register_unemployment(reg).await.expect("register again").into_inner().result.unwrap().global_position
}

async fn recognise(c: &mut Client, case: &str, ago: i64) -> u64 {
    c.recognise_difficulty(pb::RecogniseDifficultyRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(ago),
        difficulty: Some(pb::Difficulty {
            categories: vec![pb::DifficultyCategory::ZeroEmploymentHousehold as i32],
            valid_from: days_ago(ago),
            valid_to: days_ago(-300),
        }),
    })
    .await
    .expect("recognise")
    .into_inner()
    .result
    .unwrap()
    .global_position
}

async fn place(c: &mut Client, case: &str, ago: i64) -> u64 {
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(ago),
        placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
    })
    .await
    .expect("place")
    .into_inner()
    .result
    .unwrap()
    .global_position
}

async fn end_placement(c: &mut Client, case: &str, ago: i64) -> u64 {
    c.end_placement(pb::EndPlacementRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(ago),
        end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Resigned as i32 }),
    })
    .await
    .expect("end placement")
    .into_inner()
    .result
    .unwrap()
    .global_position
}

async fn exit(c: &mut Client, case: &str, ago: i64, reason: pb::ExitReason) -> u64 {
    c.exit_registration(pb::ExitRegistrationRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(ago),
        exit: Some(pb::RegistrationExit { reason: reason as i32 }),
    })
    .await
    .expect("exit")
    .into_inner()
    .result
    .unwrap()
    .global_position
}

fn join_req(case: &str, on: String, household: &str) -> pb::JoinHouseholdRequest {
    pb::JoinHouseholdRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: on,
        membership: membership(household, pb::HouseholdRelation::Spouse),
    }
}

fn leave_req(case: &str, on: String, household: &str) -> pb::LeaveHouseholdRequest {
    pb::LeaveHouseholdRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: on,
        leave: Some(pb::HouseholdLeave { household_id: household.into() }),
    }
}

async fn join(c: &mut Client, case: &str, ago: i64, household: &str) -> u64 {
    c.join_household(join_req(case, days_ago(ago), household))
        .await
        .expect("join")
        .into_inner()
        .result
        .unwrap()
        .global_position
}

async fn leave(c: &mut Client, case: &str, ago: i64, household: &str) -> u64 {
    c.leave_household(leave_req(case, days_ago(ago), household))
        .await
        .expect("leave")
        .into_inner()
        .result
        .unwrap()
        .global_position
}

async fn household(a: &mut TargetsClient, h: &str, as_of: String, pos: u64) -> apb::GetHouseholdResponse {
    a.get_household(apb::GetHouseholdRequest { household_id: h.into(), as_of, min_position: pos })
        .await
        .expect("get household")
        .into_inner()
}

/// (identified_on, zero_employment, since, cleared_on)
fn status(h: &apb::GetHouseholdResponse) -> (String, bool, String, String) {
    (h.identified_on.clone(), h.zero_employment, h.zero_employment_since.clone(), h.cleared_on.clone())
}

fn zero(identified: i64, since: i64) -> (String, bool, String, String) {
    (days_ago(identified), true, days_ago(since), String::new())
}

fn cleared(identified: i64, on: i64) -> (String, bool, String, String) {
    (days_ago(identified), false, String::new(), days_ago(on))
}

fn not_identified() -> (String, bool, String, String) {
    (String::new(), false, String::new(), String::new())
}

/// The zero-employment list row of `h` as of `as_of`: (days, status, reference_date).
async fn listed(a: &mut TargetsClient, h: &str, as_of: String, pos: u64) -> Option<(i64, String, String)> {
    let page = a
        .list_actions(apb::ListActionsRequest {
            list: apb::ActionList::ZeroEmploymentHouseholds as i32,
            jurisdiction: "120111".into(),
            as_of,
            page_size: 100,
            min_position: pos,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    page.items.iter().find(|i| i.household_id == h).map(|i| (i.days, i.status.clone(), i.reference_date.clone()))
}

async fn register_enterprise(c: &mut EnterpriseClient, body: &str, district: &str, insured: u32) -> String {
    c.register_enterprise(epb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(400),
        registration: Some(epb::EnterpriseRegistration {
            credit_code: credit_code(body),
            name: "天津测试制造有限公司".into(),
            district: district.into(),
            industry_code: "C3411".into(),
            insured_employees: insured,
            small_micro: false,
            kinds: vec![],
            check_character_confirmed: false,
        }),
    })
    .await
    .expect("register enterprise")
    .into_inner()
    .result
    .unwrap()
    .case_id
}

async fn layoff(c: &mut EnterpriseClient, case: &str, ago: i64, id: &str, people: u32) -> u64 {
    c.report_batch_layoff(epb::ReportBatchLayoffRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(ago),
        layoff: Some(epb::BatchLayoff { layoff_id: id.into(), people }),
    })
    .await
    .expect("layoff")
    .into_inner()
    .result
    .unwrap()
    .global_position
}

async fn serve(c: &mut EnterpriseClient, case: &str, ago: i64, id: &str, s: epb::LayoffService) -> u64 {
    c.record_layoff_service(epb::RecordLayoffServiceRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(ago),
        service: Some(epb::LayoffServiceProvided { layoff_id: id.into(), service: s as i32 }),
    })
    .await
    .expect("service")
    .into_inner()
    .result
    .unwrap()
    .global_position
}

async fn targets(a: &mut TargetsClient, j: &str, pos: u64) -> apb::GetTargetsResponse {
    a.get_targets(apb::GetTargetsRequest {
        jurisdiction: j.into(),
        period_from: days_ago(120),
        period_to: days_ago(0),
        as_of: String::new(),
        min_position: pos,
    })
    .await
    .expect("targets")
    .into_inner()
}

fn target(r: &apb::GetTargetsResponse, id: &str) -> (i64, Option<i64>) {
    let t = r.targets.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no {id}"));
    (t.numerator, t.denominator)
}

fn goal(r: &apb::GetTargetsResponse, id: &str) -> (String, Option<bool>) {
    let t = r.targets.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no {id}"));
    (t.goal.clone(), t.met)
}

/// (layoff id, status, days, missing) of the unserved list.
async fn unserved(a: &mut TargetsClient, j: &str, as_of: String, pos: u64) -> Vec<(String, String, i64, Vec<String>)> {
    a.list_actions(apb::ListActionsRequest {
        list: apb::ActionList::UnservedBatchLayoffs as i32,
        jurisdiction: j.into(),
        as_of,
        page_size: 100,
        min_position: pos,
        ..Default::default()
    })
    .await
    .expect("unserved")
    .into_inner()
    .items
    .into_iter()
    .map(|i| (i.layoff_id, i.status, i.days, i.missing_services))
    .collect()
}

fn plan(case: &str, id: &str, notice_ago: i64, layoff_ago: i64) -> epb::FileLayoffPlanRequest {
    epb::FileLayoffPlanRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(0),
        plan: Some(epb::LayoffPlan {
            plan_id: id.into(),
            people: 25,
            planned_layoff_on: days_ago(layoff_ago),
            notice_given_on: days_ago(notice_ago),
        }),
    }
}

fn month_start(months_back: u32) -> String {
    let t = today();
    let mut d = t.with_day(1).unwrap();
    for _ in 0..months_back {
        d = (d - chrono::Duration::days(1)).with_day(1).unwrap();
    }
    date(d)
}

async fn headcount(c: &mut EnterpriseClient, case: &str, months_back: u32, insured: u32) {
    c.report_headcount(epb::ReportHeadcountRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(0),
        headcount: Some(epb::Headcount { month: month_start(months_back), insured_employees: insured }),
    })
    .await
    .expect("headcount");
}

fn designate(case: &str) -> epb::DesignateKeyEnterpriseRequest {
    epb::DesignateKeyEnterpriseRequest { context: ctx(), case_id: case.into(), effective_date: days_ago(0) }
}

fn registration_in(
    rid: &str,
    ago: i64,
    household: &str,
    community: &str,
    zero_group: bool,
) -> pb::RegisterUnemploymentRequest {
    let mut reg = register_request(rid, days_ago(ago));
    let r = reg.registration.as_mut().unwrap();
    r.household = membership(household, pb::HouseholdRelation::Head);
    r.residence = Some(pb::Residence {
        district_code: community[..6].into(),
        street_code: community[..9].into(),
        community_code: community.into(),
    });
    if zero_group {
        r.groups.push(pb::PersonGroup::ZeroEmploymentHousehold as i32);
    }
    reg
}

async fn list_zero(a: &mut TargetsClient, j: &str, pos: u64) -> Vec<(String, Vec<String>)> {
    a.list_actions(apb::ListActionsRequest {
        list: apb::ActionList::ZeroEmploymentHouseholds as i32,
        jurisdiction: j.into(),
        page_size: 100,
        min_position: pos,
        ..Default::default()
    })
    .await
    .expect("list")
    .into_inner()
    .items
    .into_iter()
    .map(|i| (i.household_id, i.communities))
    .collect()
}

fn refund(case: &str, proposal_id: &str) -> pb::ProposeSubsidyRequest {
    pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case.into(),
        effective_date: days_ago(0),
        proposal_id: proposal_id.into(),
        rule_id: "tianjin.stability.refund".into(),
        payee: None,
        inputs: Some(pb::ProposalInputs {
            base_fen: 10_000_000,
            enterprise_insured_months: Some(24),
            ..Default::default()
        }),
    }
}
