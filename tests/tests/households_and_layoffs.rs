//! Review: households (零就业家庭, 动态清零) and batch layoffs, layoff plans and
//! key enterprises, worked out by hand from the documents and checked
//! through the public gRPC interface only, as a caseworker and a district
//! analyst. Each scenario quotes the clause it follows.

use chrono::Datelike;
use leye_e2e::*;
use leye_proto::{analytics::v1 as apb, enterprise::v1 as epb, person::v1 as pb};
use tonic::Code;
use uuid::Uuid;

// === person side ===

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

/// TARGETS.md "Households": cleared (动态清零) while a member is placed; "when
/// every employed member stops working ... the household is zero-employment
/// again from that day (and must be cleared again); the clearance deadline
/// counts from `since`"; "Days outstanding = A − since; overdue after
/// zero_employment_clearance_days" (30: "a household uncleared longer is
/// overdue").
///
/// By hand: A registers 100 days ago naming H, in the group
/// zero-employment household (signal, identified −100); placed −70; the
/// placement ends −31.
/// - as of −71: zero since −100; as of −50: cleared on −70;
/// - today: zero since −31, 31 days: overdue; as of −1: 30 days, within.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_ending_reopens_the_household_and_the_deadline_counts_from_then() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (case, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    place(&mut c, &case, 70).await;
    let pos = end_placement(&mut c, &case, 31).await;

    assert_eq!(status(&household(&mut a, &h, days_ago(71), pos).await), zero(100, 100));
    assert_eq!(status(&household(&mut a, &h, days_ago(50), pos).await), cleared(100, 70));
    // The change days themselves: a start counts on its day, an end from its day.
    assert_eq!(status(&household(&mut a, &h, days_ago(70), pos).await), cleared(100, 70));
    assert_eq!(status(&household(&mut a, &h, days_ago(32), pos).await), cleared(100, 70));
    assert_eq!(status(&household(&mut a, &h, days_ago(31), pos).await), zero(100, 31));
    assert_eq!(status(&household(&mut a, &h, days_ago(0), pos).await), zero(100, 31));
    assert_eq!(listed(&mut a, &h, days_ago(50), pos).await, None, "cleared on −50");
    assert_eq!(listed(&mut a, &h, days_ago(0), pos).await, Some((31, "overdue".into(), days_ago(100))));
    assert_eq!(listed(&mut a, &h, days_ago(1), pos).await, Some((30, "within_deadline".into(), days_ago(100))));
    server.stop().await;
}

/// TARGETS.md "Employed member": "a spell closed by an exit with reason
/// `employed` ... is employment from the exit's date (inclusive) until the
/// member's next registration as unemployed (exclusive)"; an exit for another
/// reason (moved away, retired, ...) is not employment.
///
/// By hand: B registers −100 naming H1 in the group (identified −100), exits
/// as employed −60, registers again −20 naming H1 (the membership continues,
/// README "Household membership"). C registers −100 naming H2 in the group,
/// exits "moved away" −60.
/// - H1 as of −40: cleared on −60; today: zero since −20 (identified −100);
/// - H2 today: zero since −100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_as_employed_clears_until_the_next_registration_and_other_exits_do_not() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let b_id = resident_id("19800101", 11);
    let (b, _) = register_in(&mut c, &b_id, 100, Some(&h1), true).await;
    exit(&mut c, &b, 60, pb::ExitReason::Employed).await;
    reregister(&mut c, &b_id, 20, &h1).await;
    let (cc, _) = register_in(&mut c, &resident_id("19800202", 22), 100, Some(&h2), true).await;
    let pos = exit(&mut c, &cc, 60, pb::ExitReason::MovedAway).await;

    let case = c.get_case(pb::GetCaseRequest { case_id: b.clone(), as_of: None }).await.unwrap().into_inner();
    let current = case.case.unwrap().current_household.expect("still a member");
    assert_eq!(current.joined_on, days_ago(100), "the re-registration continues the membership");

    assert_eq!(status(&household(&mut a, &h1, days_ago(40), pos).await), cleared(100, 60));
    assert_eq!(status(&household(&mut a, &h1, days_ago(0), pos).await), zero(100, 20));
    assert_eq!(listed(&mut a, &h1, days_ago(0), pos).await, Some((20, "within_deadline".into(), days_ago(100))));
    assert_eq!(status(&household(&mut a, &h2, days_ago(0), pos).await), zero(100, 100));
    server.stop().await;
}

/// TARGETS.md "Identified on A": "A member who has left no longer identifies
/// H; a signal from before joining (from another household) does not identify
/// the new one."
///
/// By hand: P registers −100 naming H1, recognised −90 (identified −90). Q
/// registers −100 naming H2 (no signal). P leaves H1 −40 and joins H2 −40;
/// P is recognised again −20.
/// - H1 as of −50: zero since −90; today: not listed (its member with the
///   signal left);
/// - H2 as of −30: not identified (P's −90 signal predates joining);
///   today: identified −20, zero since −20.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_moving_between_households_takes_no_signal_along() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h1), false).await;
    recognise(&mut c, &p, 90).await;
    let (q, _) = register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h2), false).await;
    leave(&mut c, &p, 40, &h1).await;
    let pos = join(&mut c, &p, 40, &h2).await;

    assert_eq!(status(&household(&mut a, &h1, days_ago(50), pos).await), zero(90, 90));
    // README "Access": "a household is reached through the places of its
    // members on the date asked": with P gone, H1 has none today, so even a
    // city-wide analyst is refused (documented; see the report).
    let e = a
        .get_household(apb::GetHouseholdRequest { household_id: h1.clone(), as_of: days_ago(0), min_position: pos })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(listed(&mut a, &h1, days_ago(0), pos).await, None);

    let h2_then = household(&mut a, &h2, days_ago(30), pos).await;
    assert_eq!(status(&h2_then), not_identified());
    let members: Vec<_> = h2_then.members.iter().map(|m| (m.case_id.clone(), m.joined_on.clone())).collect();
    assert_eq!(members, [(q.clone(), days_ago(100)), (p.clone(), days_ago(40))]);

    let pos = recognise(&mut c, &p, 20).await;
    assert_eq!(status(&household(&mut a, &h2, days_ago(0), pos).await), zero(20, 20));
    assert_eq!(listed(&mut a, &h2, days_ago(0), pos).await, Some((20, "within_deadline".into(), days_ago(20))));
    server.stop().await;
}

/// TARGETS.md: "A person employed before joining is an employed member from
/// the join"; "Cleared on: the first day of the current stretch with an
/// employed member, on or after identified_on".
///
/// By hand: S registers −120 (no household), placed −110. A registers −100
/// naming H in the group (identified −100). S joins H −100: cleared on −100
/// from the first day; never on the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_with_an_employed_member_from_the_start_is_cleared_from_identification() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (s, _) = register_in(&mut c, &resident_id("19800101", 11), 120, None, false).await;
    place(&mut c, &s, 110).await;
    register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h), true).await;
    let pos = join(&mut c, &s, 100, &h).await;
    assert_eq!(status(&household(&mut a, &h, days_ago(0), pos).await), cleared(100, 100));
    assert_eq!(listed(&mut a, &h, days_ago(0), pos).await, None);
    let err = a
        .get_household(apb::GetHouseholdRequest { household_id: h.clone(), as_of: days_ago(101), min_position: pos })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "nobody had joined by −101");
    server.stop().await;
}

/// docs/API.md person codes: `ALREADY_IN_HOUSEHOLD`, `NOT_IN_HOUSEHOLD`, "A
/// household join dated before the previous household was left is
/// BEFORE_PREVIOUS_END; a leave dated before the join, BEFORE_START";
/// dates before the registration (`BEFORE_REGISTRATION`) or in the future
/// (`EFFECTIVE_DATE_IN_FUTURE`). Refused commands write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn household_commands_are_refused_as_documented() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, None, false).await;
    let before = server.event_count();
    let code = |e: tonic::Status| (e.code(), reason(&e));
    let fp = |r: &str| (Code::FailedPrecondition, Some(r.to_string()));

    let e = c.join_household(join_req(&p, days_ago(101), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("BEFORE_REGISTRATION"));
    let e = c.join_household(join_req(&p, days_ago(-1), &h1)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    let e = c.leave_household(leave_req(&p, days_ago(50), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("NOT_IN_HOUSEHOLD"));
    let e = c.join_household(join_req(&Uuid::new_v4().to_string(), days_ago(5), &h1)).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::NotFound, Some("CASE_NOT_FOUND")));
    assert_eq!(server.event_count(), before);

    join(&mut c, &p, 90, &h1).await;
    let e = c.join_household(join_req(&p, days_ago(80), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("ALREADY_IN_HOUSEHOLD"), "joining the same household twice");
    let e = c.join_household(join_req(&p, days_ago(80), &h2)).await.unwrap_err();
    assert_eq!(code(e), fp("ALREADY_IN_HOUSEHOLD"));
    let e = c.leave_household(leave_req(&p, days_ago(80), &h2)).await.unwrap_err();
    assert_eq!(code(e), fp("NOT_IN_HOUSEHOLD"), "leaving a household not joined");
    let e = c.leave_household(leave_req(&p, days_ago(91), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("BEFORE_START"));
    let e = c.leave_household(leave_req(&p, days_ago(-1), &h1)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    leave(&mut c, &p, 40, &h1).await;
    let e = c.join_household(join_req(&p, days_ago(41), &h2)).await.unwrap_err();
    assert_eq!(code(e), fp("BEFORE_PREVIOUS_END"));
    let e = c.leave_household(leave_req(&p, days_ago(30), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("NOT_IN_HOUSEHOLD"), "left already");
    join(&mut c, &p, 40, &h2).await;
    server.stop().await;
}

// === enterprise side ===

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

/// 000 § 3: "对20人以上批量退工减员企业实时预警、动态跟踪、主动服务 ... 对40人以上
/// 批量退工减员企业提供技能培训、专场招聘" (以上 includes the number);
/// TARGETS.md "In time": `reported_on ≤ provided_on ≤ reported_on + 30`
/// ("a service on day 30 is in time, on day 31 late"); enterprise figures
/// belong to the enterprise's district; a goal only for Xiqing (000 is
/// Xiqing's, standing from 2020-05-18), the bare figure for the city and
/// Heping.
///
/// By hand, Xiqing (period −120..0):
/// - a19 (−100): not counted; a20 (−100) visit day 30 (−70): followed;
/// - b20 (−95) visit day 31 (−64): late, not followed;
/// - c39 (−90) visit day 29 (−61): followed;
/// - d40 (−85) fair day 29, training day 30: followed for 20 and 40;
/// - e40 (−80) fair day 1, training day 31: followed for 20, not 40.
///   → 20: 4 / 5; 40: 1 / 2. Heping: h30 (−50) nothing: 0 / 1. City: 4 / 6, 1 / 2.
/// Unserved list (late services end the need): Xiqing none today; as of −65
/// (b20's day 30) b20 within its deadline; Heping h30 as of −20 (day 30)
/// within, as of −19 (day 31) overdue, today 50 days overdue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_layoff_thresholds_service_days_and_district_versus_city() {
    use epb::LayoffService::{JobFair, SkillsTraining, TrackingVisit};
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    let hp = register_enterprise(&mut c, "91120101MA05JX0K1", "120101", 800).await;
    layoff(&mut c, &x, 100, "a19", 19).await;
    layoff(&mut c, &x, 100, "a20", 20).await;
    serve(&mut c, &x, 70, "a20", TrackingVisit).await;
    layoff(&mut c, &x, 95, "b20", 20).await;
    layoff(&mut c, &x, 90, "c39", 39).await;
    layoff(&mut c, &x, 85, "d40", 40).await;
    layoff(&mut c, &x, 80, "e40", 40).await;
    serve(&mut c, &x, 79, "e40", JobFair).await;
    serve(&mut c, &x, 64, "b20", TrackingVisit).await;
    serve(&mut c, &x, 61, "c39", TrackingVisit).await;
    serve(&mut c, &x, 56, "d40", JobFair).await;
    serve(&mut c, &x, 55, "d40", SkillsTraining).await;
    serve(&mut c, &x, 49, "e40", SkillsTraining).await;
    let pos = layoff(&mut c, &hp, 50, "h30", 30).await;

    let case = c.get_enterprise(epb::GetEnterpriseRequest { case_id: x.clone(), as_of: None }).await.unwrap();
    let responses: Vec<(String, i32)> = case
        .into_inner()
        .case
        .unwrap()
        .layoffs
        .iter()
        .map(|l| (l.layoff.as_ref().unwrap().layoff_id.clone(), l.response))
        .collect();
    use epb::LayoffResponse as R;
    assert_eq!(
        responses,
        [
            ("a19".to_string(), R::RecordOnly as i32),
            ("a20".into(), R::WarningAndTracking as i32),
            ("b20".into(), R::WarningAndTracking as i32),
            ("c39".into(), R::WarningAndTracking as i32),
            ("d40".into(), R::TrainingAndJobFairs as i32),
            ("e40".into(), R::TrainingAndJobFairs as i32),
        ]
    );

    let xiqing = targets(&mut a, "120111", pos).await;
    assert_eq!(target(&xiqing, "batch_layoffs_20_followed"), (4, Some(5)));
    assert_eq!(target(&xiqing, "batch_layoffs_40_followed"), (1, Some(2)));
    assert!(!goal(&xiqing, "batch_layoffs_20_followed").0.is_empty(), "000 § 3 is Xiqing's goal");
    assert_eq!(goal(&xiqing, "batch_layoffs_20_followed").1, Some(false));
    let heping = targets(&mut a, "120101", pos).await;
    assert_eq!(target(&heping, "batch_layoffs_20_followed"), (0, Some(1)));
    assert_eq!(goal(&heping, "batch_layoffs_20_followed"), (String::new(), None), "no goal for Heping");
    let city = targets(&mut a, "", pos).await;
    assert_eq!(target(&city, "batch_layoffs_20_followed"), (4, Some(6)));
    assert_eq!(target(&city, "batch_layoffs_40_followed"), (1, Some(2)));
    assert_eq!(goal(&city, "batch_layoffs_20_followed"), (String::new(), None), "no goal for the city");

    assert_eq!(unserved(&mut a, "120111", days_ago(0), pos).await, []);
    let b20 = unserved(&mut a, "120111", days_ago(65), pos).await;
    assert!(b20.contains(&("b20".into(), "within_deadline".into(), 30, vec!["any_service".into()])), "{b20:?}");
    let day = |n: i64, s: &str| vec![("h30".to_string(), s.to_string(), n, vec!["any_service".to_string()])];
    assert_eq!(unserved(&mut a, "120101", days_ago(20), pos).await, day(30, "within_deadline"));
    assert_eq!(unserved(&mut a, "120101", days_ago(19), pos).await, day(31, "overdue"));
    assert_eq!(unserved(&mut a, "", days_ago(0), pos).await, day(50, "overdue"));
    server.stop().await;
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

/// 000 § 3, 002 #13: "提前30日向工会或全体职工说明情况"; README: "planned layoff
/// date − notice date ≥ 30 days"; API.md `NOTICE_AFTER_FILING`,
/// `LAYOFF_BEFORE_FILING`, `LAYOFF_PLAN_EXISTS`.
///
/// By hand (filed today): notice −5, layoff +24 (29 days) refused; notice
/// −5, layoff +25 (30 days) filed; notice +1 refused (after filing); layoff
/// −1 refused (before filing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layoff_plan_notice_of_29_and_30_days() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    let e = c.file_layoff_plan(plan(&x, "p1", 5, -24)).await.unwrap_err();
    assert_eq!(
        (reason(&e).as_deref(), bad_fields(&e)),
        (Some("NOTICE_TOO_SHORT"), vec!["plan.notice_given_on".into()])
    );
    c.file_layoff_plan(plan(&x, "p1", 5, -25)).await.expect("30 days' notice");
    let e = c.file_layoff_plan(plan(&x, "p1", 5, -25)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("LAYOFF_PLAN_EXISTS"));
    let e = c.file_layoff_plan(plan(&x, "p2", -1, -40)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("NOTICE_AFTER_FILING"));
    let e = c.file_layoff_plan(plan(&x, "p3", 40, 1)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("LAYOFF_BEFORE_FILING"));
    server.stop().await;
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

/// 000 § 28 "对超200人重点企业进行用工监测" (超 200: more than 200); README "Key
/// enterprise": "more than 200 insured employees on the designation date
/// (the latest headcount month begun by then, or the registration's
/// figure): 200 is refused, 201 qualifies".
///
/// By hand: registered with 201 and no headcount: designated. Registered
/// with 200: refused. Registered with 300, headcount two months back 150:
/// the latest month says 150: refused. Registered with 150, headcounts two
/// months back 250 and last month 201: designated; again: ALREADY_DESIGNATED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_enterprise_at_200_and_201_from_registration_or_latest_headcount() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let e201 = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 201).await;
    c.designate_key_enterprise(designate(&e201)).await.expect("201 at registration");
    let e200 = register_enterprise(&mut c, "91120111MA05JX0K1", "120111", 200).await;
    let e = c.designate_key_enterprise(designate(&e200)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("BELOW_KEY_ENTERPRISE_SIZE"));
    let shrunk = register_enterprise(&mut c, "91120111MA05JX0K2", "120111", 300).await;
    headcount(&mut c, &shrunk, 2, 150).await;
    let e = c.designate_key_enterprise(designate(&shrunk)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("BELOW_KEY_ENTERPRISE_SIZE"), "the latest headcount is 150");
    let grown = register_enterprise(&mut c, "91120111MA05JX0K3", "120111", 150).await;
    headcount(&mut c, &grown, 2, 250).await;
    headcount(&mut c, &grown, 1, 201).await;
    c.designate_key_enterprise(designate(&grown)).await.expect("201 in the latest month");
    let e = c.designate_key_enterprise(designate(&grown)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("ALREADY_DESIGNATED"));
    server.stop().await;
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

/// TARGETS.md: "A household belongs to every jurisdiction one of its members
/// on `A` lives in (counted once at each level)"; "A person counts for H only
/// while a member: their signals, their placements and their community."
///
/// By hand: A (signal) lives in 120111001002, B in 120111002001, both in H
/// from −100. B leaves −10. Today: H listed and counted for Xiqing, the city,
/// A's community; not for B's community (B left). As of −20: both
/// communities, counted once for Xiqing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_belongs_to_the_places_of_its_members_on_the_date() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (ca, cb) = ("120111001002", "120111002001");
    c.register_unemployment(registration_in(&resident_id("19800101", 11), 100, &h, ca, true)).await.unwrap();
    let b = c
        .register_unemployment(registration_in(&resident_id("19820303", 22), 100, &h, cb, false))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let pos = leave(&mut c, &b, 10, &h).await;
    let count = |r: &apb::GetTargetsResponse| target(r, "zero_employment_households_outstanding").0;
    let a2 = a.clone();
    let at = |j: &'static str, as_of: String| {
        let mut a = a2.clone();
        async move {
            a.get_targets(apb::GetTargetsRequest {
                jurisdiction: j.into(),
                period_from: days_ago(120),
                period_to: days_ago(0),
                as_of,
                min_position: pos,
            })
            .await
            .expect("targets")
            .into_inner()
        }
    };
    assert_eq!(count(&at("120111", String::new()).await), 1);
    assert_eq!(count(&at("", String::new()).await), 1);
    assert_eq!(count(&at(ca, String::new()).await), 1);
    assert_eq!(count(&at(cb, String::new()).await), 0, "B has left");
    assert_eq!(list_zero(&mut a, cb, pos).await, []);
    assert_eq!(list_zero(&mut a, "120111", pos).await, [(h.clone(), vec![ca.to_string()])]);
    let then = at("120111", days_ago(20)).await;
    assert_eq!(count(&then), 1, "counted once");
    assert_eq!(count(&at(cb, days_ago(20)).await), 1);
    server.stop().await;
}

/// Goals (TARGETS.md "Goals"): zero-employment households outstanding is a
/// stock goal of Xiqing with as-of in 2022-06-21..2025-12-31 (001 § 9) and of
/// the city in 2022-05-05..2025-12-31 (003 § 14); "show the bare figure
/// elsewhere" (domain.md §3). As of today (after 2025) no goal applies; as of
/// 2025-06-30 both have "0".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zero_employment_goal_applies_only_within_its_documents_term() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let ago = (today() - start).num_days();
    let (_, pos) = register_in(&mut c, &resident_id("19800101", 11), ago, Some(&h), true).await;
    let report = |j: &str, from: &str, to: &str| apb::GetTargetsRequest {
        jurisdiction: j.into(),
        period_from: from.into(),
        period_to: to.into(),
        as_of: String::new(),
        min_position: pos,
    };
    for j in ["120111", ""] {
        let r = a.get_targets(report(j, "2025-01-01", "2025-06-30")).await.unwrap().into_inner();
        assert_eq!(target(&r, "zero_employment_households_outstanding").0, 1);
        assert_eq!(goal(&r, "zero_employment_households_outstanding").1, Some(false), "{j}: 2025 is in the term");
        let r = a.get_targets(report(j, &days_ago(30), &days_ago(0))).await.unwrap().into_inner();
        assert_eq!(target(&r, "zero_employment_households_outstanding").0, 1);
        assert_eq!(goal(&r, "zero_employment_households_outstanding"), (String::new(), None), "{j}: after 2025");
    }
    let r = a.get_targets(report("120101", "2025-01-01", "2025-06-30")).await.unwrap().into_inner();
    assert_eq!(goal(&r, "zero_employment_households_outstanding"), (String::new(), None), "Heping sets none");
    server.stop().await;
}

/// TARGETS.md "Batch layoff": "reported in `[F, E]`" (both ends in) and "on
/// or before A": by hand, period −100..−50, layoffs of 25 at −101 (out), −100
/// (in), −50 (in), −49 (out), each with a visit 1 day later: as of today 2 / 2. As of
/// −50 (the default: the period's end) (the −100 one served −99, the −50 one not yet): 1 / 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_layoffs_count_by_report_date_within_the_period() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    let mut pos = 0;
    for ago in [101, 100, 50, 49] {
        let id = format!("l{ago}");
        layoff(&mut c, &x, ago, &id, 25).await;
        pos = serve(&mut c, &x, ago - 1, &id, epb::LayoffService::TrackingVisit).await;
    }
    let req = |as_of: String| apb::GetTargetsRequest {
        jurisdiction: "120111".into(),
        period_from: days_ago(100),
        period_to: days_ago(50),
        as_of,
        min_position: pos,
    };
    let r = a.get_targets(req(days_ago(0))).await.unwrap().into_inner();
    assert_eq!(target(&r, "batch_layoffs_20_followed"), (2, Some(2)));
    // As of defaults to the period's end (API.md).
    let r = a.get_targets(req(String::new())).await.unwrap().into_inner();
    assert_eq!(target(&r, "batch_layoffs_20_followed"), (1, Some(2)));
    let r = a.get_targets(req(days_ago(50))).await.unwrap().into_inner();
    assert_eq!(target(&r, "batch_layoffs_20_followed"), (1, Some(2)));
    server.stop().await;
}

/// TARGETS.md "Membership": join inclusive, leave exclusive; employment
/// counts "only on days it overlaps a membership". By hand: A (signal)
/// registers −100 naming H. B registers −120, placed −90, joins H −100,
/// leaves −60, joins again −40 (still placed). As of −50: zero since −60;
/// today: cleared on −40; B's two memberships listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employed_member_leaving_and_rejoining() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (b, _) = register_in(&mut c, &resident_id("19800101", 11), 120, None, false).await;
    register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h), true).await;
    join(&mut c, &b, 100, &h).await;
    place(&mut c, &b, 90).await;
    leave(&mut c, &b, 60, &h).await;
    let pos = join(&mut c, &b, 40, &h).await;
    assert_eq!(status(&household(&mut a, &h, days_ago(95), pos).await), zero(100, 100));
    assert_eq!(status(&household(&mut a, &h, days_ago(70), pos).await), cleared(100, 90));
    assert_eq!(status(&household(&mut a, &h, days_ago(50), pos).await), zero(100, 60));
    assert_eq!(status(&household(&mut a, &h, days_ago(61), pos).await), cleared(100, 90));
    assert_eq!(status(&household(&mut a, &h, days_ago(60), pos).await), zero(100, 60), "leave exclusive");
    assert_eq!(status(&household(&mut a, &h, days_ago(41), pos).await), zero(100, 60));
    assert_eq!(status(&household(&mut a, &h, days_ago(40), pos).await), cleared(100, 40), "join inclusive");
    let now = household(&mut a, &h, days_ago(0), pos).await;
    assert_eq!(status(&now), cleared(100, 40));
    let b_rows: Vec<_> =
        now.members.iter().filter(|m| m.case_id == b).map(|m| (m.joined_on.clone(), m.left_on.clone())).collect();
    assert_eq!(b_rows, [(days_ago(100), days_ago(60)), (days_ago(40), String::new())]);
    server.stop().await;
}

/// README "Key enterprise": "more than 200 insured employees on the
/// designation date (the latest headcount month begun by then, or the
/// registration's figure)". By hand: registered −400 with 150; headcount for
/// the month two months back: 250 (reported today). Designation dated −100
/// (before that month began): the registration's 150: refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_enterprise_designation_uses_the_headcount_of_its_own_date() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 150).await;
    headcount(&mut c, &x, 2, 250).await;
    let e = c
        .designate_key_enterprise(epb::DesignateKeyEnterpriseRequest {
            context: ctx(),
            case_id: x.clone(),
            effective_date: days_ago(100),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("BELOW_KEY_ENTERPRISE_SIZE"));
    server.stop().await;
}

/// README "Household membership": "It needs the case, not an open
/// registration: membership outlives a spell"; person.proto
/// `LeaveHouseholdRequest.effective_date`: "First day no longer a member,
/// not before the day joined (BEFORE_START)" (unlike the join, no "not
/// before the latest registration").
///
/// By hand: P registers −100 naming H (member from −100), exits as employed
/// −60, registers again −20 (not naming a household: the membership
/// continues). The caseworker learns P moved out on −40: −40 is not before
/// the join (−100), so the leave is recorded, and H as of −30 has no member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_dated_between_two_spells_is_recorded() {
    let server = spawn().await;
    let mut c = server.client().await;
    let h = Uuid::new_v4().to_string();
    let rid = resident_id("19800101", 11);
    let (p, _) = register_in(&mut c, &rid, 100, Some(&h), false).await;
    exit(&mut c, &p, 60, pb::ExitReason::Employed).await;
    c.register_unemployment(register_request(&rid, days_ago(20))).await.expect("register again");
    let case = c.get_case(pb::GetCaseRequest { case_id: p.clone(), as_of: None }).await.unwrap().into_inner();
    assert_eq!(case.case.unwrap().current_household.expect("membership continues").joined_on, days_ago(100));
    let left = c.leave_household(leave_req(&p, days_ago(40), &h)).await;
    assert!(left.is_ok(), "a leave dated −40, after the join on −100: {:?}", left.err().map(|e| reason(&e)));
    server.stop().await;
}

/// API.md: after an exit for death, "leaving a household stay[s] possible";
/// joining one needs a living person (`DECEASED`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deceased_member_can_leave_but_not_join() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h1), false).await;
    exit(&mut c, &p, 30, pb::ExitReason::Deceased).await;
    leave(&mut c, &p, 20, &h1).await;
    let e = c.join_household(join_req(&p, days_ago(10), &h2)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("DECEASED"));
    server.stop().await;
}

/// README "Batch layoff": "any number ≥ 1 is recorded": 0 people is bad
/// input naming `layoff.people`; 1 is recorded (record only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_layoff_of_one_is_recorded_and_of_none_refused() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    let e = c
        .report_batch_layoff(epb::ReportBatchLayoffRequest {
            context: ctx(),
            case_id: x.clone(),
            effective_date: days_ago(1),
            layoff: Some(epb::BatchLayoff { layoff_id: "zero".into(), people: 0 }),
        })
        .await
        .unwrap_err();
    assert_eq!((e.code(), bad_fields(&e)), (Code::InvalidArgument, vec!["layoff.people".to_string()]));
    layoff(&mut c, &x, 1, "one", 1).await;
    let e = c
        .record_layoff_service(epb::RecordLayoffServiceRequest {
            context: ctx(),
            case_id: x.clone(),
            effective_date: days_ago(-1),
            service: Some(epb::LayoffServiceProvided {
                layoff_id: "one".into(),
                service: epb::LayoffService::TrackingVisit as i32,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    server.stop().await;
}

/// README "Batch layoff": "`layoff_response` on the event and the case"; 19
/// record only, 20 and 39 warning and tracking, 40 training and job fairs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layoff_response_is_on_the_event() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    for n in [19, 20, 39, 40] {
        layoff(&mut c, &x, 5, &format!("l{n}"), n).await;
    }
    let events = c.replay_enterprise(epb::ReplayEnterpriseRequest { case_id: x }).await.unwrap().into_inner().events;
    let responses: Vec<i32> = events
        .iter()
        .map(|e| e.event.as_ref().unwrap())
        .filter(|e| matches!(e.event, Some(epb::enterprise_event::Event::BatchLayoffReported(_))))
        .map(|e| e.layoff_response)
        .collect();
    use epb::LayoffResponse as R;
    assert_eq!(
        responses,
        [R::RecordOnly, R::WarningAndTracking, R::WarningAndTracking, R::TrainingAndJobFairs].map(|r| r as i32)
    );
    server.stop().await;
}

/// person.proto `households`: "Every household membership, in order; only
/// the last may be current" — after a leave and a rejoin of the same
/// household, GetCase shows both, the second current.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_case_shows_every_membership_after_a_rejoin() {
    let server = spawn().await;
    let mut c = server.client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), false).await;
    leave(&mut c, &p, 60, &h).await;
    join(&mut c, &p, 40, &h).await;
    let case = c.get_case(pb::GetCaseRequest { case_id: p, as_of: None }).await.unwrap().into_inner().case.unwrap();
    let rows: Vec<_> = case.households.iter().map(|r| (r.joined_on.clone(), r.left_on.clone())).collect();
    assert_eq!(rows, [(days_ago(100), days_ago(60)), (days_ago(40), String::new())]);
    assert_eq!(case.current_household.unwrap().joined_on, days_ago(40));
    server.stop().await;
}

/// README "Access": GetTargets for "the requested area"; ListActions and
/// GetHousehold for "the area; a household: any member's place", "reached
/// through the places of its members on the date asked". By hand: H has A
/// (Xiqing, signal) and B (Heping) from −100; B leaves −10. A Heping analyst
/// sees H as of −20 (B a member), not today; a Xiqing analyst sees Xiqing's
/// targets and its layoff list, not the city's nor Heping's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_analyst_sees_its_own_area_and_households_through_current_members() {
    let server = spawn().await;
    let mut c = server.client().await;
    let h = Uuid::new_v4().to_string();
    c.register_unemployment(registration_in(&resident_id("19800101", 11), 100, &h, "120111001002", true))
        .await
        .unwrap();
    let b = c
        .register_unemployment(registration_in(&resident_id("19820303", 22), 100, &h, "120101001001", false))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let pos = leave(&mut c, &b, 10, &h).await;
    let mut heping = server.targets_client_as("analyst-hp", &["analyst"], &["120101"]).await;
    assert_eq!(status(&household(&mut heping, &h, days_ago(20), pos).await), zero(100, 100));
    let e = heping
        .get_household(apb::GetHouseholdRequest { household_id: h.clone(), as_of: String::new(), min_position: pos })
        .await
        .unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::PermissionDenied, Some("OUT_OF_JURISDICTION")));

    let mut xiqing = server.targets_client_as("analyst-xq", &["analyst"], &["120111"]).await;
    assert_eq!(status(&household(&mut xiqing, &h, String::new(), pos).await), zero(100, 100));
    let own = targets(&mut xiqing, "120111", pos).await;
    assert_eq!(target(&own, "zero_employment_households_outstanding").0, 1);
    for j in ["", "120101"] {
        let e = xiqing
            .get_targets(apb::GetTargetsRequest {
                jurisdiction: j.into(),
                period_from: days_ago(120),
                period_to: days_ago(0),
                as_of: String::new(),
                min_position: pos,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{j:?}");
    }
    assert_eq!(unserved(&mut xiqing, "120111", String::new(), pos).await, []);
    server.stop().await;
}

/// analytics.proto `page_size`: "1..1000, default 100"; TARGETS.md: the
/// zero-employment list ordered "by the start of the current stretch, then
/// id". By hand: seven households identified −70..−10 (10 days apart): page
/// one holds the five oldest, page two the other two; total 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zero_employment_list_pages_oldest_first() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let mut expected = Vec::new();
    let mut pos = 0;
    for n in 0..7u32 {
        let h = Uuid::new_v4().to_string();
        let ago = 70 - 10 * i64::from(n);
        pos = register_in(&mut c, &resident_id("19800101", 2 * n + 1), ago, Some(&h), true).await.1;
        expected.push((h, ago));
    }
    let page = |token: String| apb::ListActionsRequest {
        list: apb::ActionList::ZeroEmploymentHouseholds as i32,
        jurisdiction: "120111".into(),
        page_size: 5,
        page_token: token,
        min_position: pos,
        ..Default::default()
    };
    let first = a.list_actions(page(String::new())).await.unwrap().into_inner();
    assert_eq!(first.total, 7);
    assert!(!first.next_page_token.is_empty());
    let second = a.list_actions(page(first.next_page_token.clone())).await.unwrap().into_inner();
    assert!(second.next_page_token.is_empty());
    let got: Vec<(String, i64)> =
        first.items.iter().chain(&second.items).map(|i| (i.household_id.clone(), i.days)).collect();
    assert_eq!(got, expected);
    let mut small = page(String::new());
    small.page_size = 1001;
    assert_eq!(a.list_actions(small).await.unwrap_err().code(), Code::InvalidArgument);
    server.stop().await;
}

/// README errors: "`command_id` reused for another command" is
/// `ALREADY_EXISTS` `COMMAND_ID_REUSED`; the same command again is a
/// duplicate writing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_join_resent_is_a_duplicate_and_a_reused_id_is_refused() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, None, false).await;
    let h = Uuid::new_v4().to_string();
    let id = Uuid::new_v4();
    let mut req = join_req(&p, days_ago(50), &h);
    req.context = ctx_with(id);
    assert!(!c.join_household(req.clone()).await.unwrap().into_inner().result.unwrap().duplicate);
    let before = server.event_count();
    assert!(c.join_household(req.clone()).await.unwrap().into_inner().result.unwrap().duplicate);
    let mut other = req.clone();
    other.effective_date = days_ago(40);
    let e = c.join_household(other).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::AlreadyExists, Some("COMMAND_ID_REUSED")));
    let mut l = leave_req(&p, days_ago(10), &h);
    l.context = ctx_with(id);
    let e = c.leave_household(l).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::AlreadyExists, Some("COMMAND_ID_REUSED")));
    assert_eq!(server.event_count(), before);
    server.stop().await;
}

/// TARGETS.md "Goals": batch layoffs are a standing goal of Xiqing "from
/// 2020-05-18" ("the period lies within the document's term");
/// zero-employment households a stock goal of Xiqing "as-of in
/// 2022-06-21..2025-12-31" and of the city "in 2022-05-05..2025-12-31". By
/// hand, at the boundaries (no data needed: the goal text shows even when
/// the denominator is 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goals_start_and_end_on_the_documents_dates() {
    let server = spawn().await;
    let mut a = server.targets_client().await;
    let mut goal_of = async |j: &str, from: &str, to: &str, as_of: &str, id: &str| {
        let r = a
            .get_targets(apb::GetTargetsRequest {
                jurisdiction: j.into(),
                period_from: from.into(),
                period_to: to.into(),
                as_of: as_of.into(),
                min_position: 0,
            })
            .await
            .expect("targets")
            .into_inner();
        !goal(&r, id).0.is_empty()
    };
    let layoffs = "batch_layoffs_20_followed";
    assert!(goal_of("120111", "2020-05-18", "2020-12-31", "", layoffs).await);
    assert!(!goal_of("120111", "2020-05-17", "2020-12-31", "", layoffs).await);
    assert!(!goal_of("", "2020-05-18", "2020-12-31", "", layoffs).await);
    let zero = "zero_employment_households_outstanding";
    let on = |d: &'static str| ("2020-01-01", d);
    for (j, first, before) in [("120111", "2022-06-21", "2022-06-20"), ("", "2022-05-05", "2022-05-04")] {
        assert!(goal_of(j, on(first).0, first, first, zero).await, "{j:?} {first}");
        assert!(!goal_of(j, on(before).0, before, before, zero).await, "{j:?} {before}");
        assert!(goal_of(j, "2025-01-01", "2025-12-31", "2025-12-31", zero).await, "{j:?} 2025-12-31");
        assert!(!goal_of(j, "2026-01-01", "2026-01-01", "2026-01-01", zero).await, "{j:?} 2026-01-01");
    }
    server.stop().await;
}

/// README "Hires and placements": "a hire is recorded on the enterprise's
/// case; leye's hire linker then records the placement on the person's case
/// (... the hire's contract and start date)"; TARGETS.md: a placement current
/// clears the household. By hand: A (signal) registers −100 naming H; an
/// enterprise records A's hire on −5 starting −30: H cleared on −30.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hire_recorded_at_an_enterprise_clears_the_household_from_its_start() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut e = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    let x = register_enterprise(&mut e, "91120111MA05JX0K0", "120111", 800).await;
    e.record_hire(epb::RecordHireRequest {
        context: ctx(),
        case_id: x,
        effective_date: days_ago(5),
        hire: Some(epb::Hire {
            hire_id: "h1".into(),
            person_case_id: p,
            contract_months: 12,
            started_on: days_ago(30),
        }),
    })
    .await
    .expect("hire");
    let mut last = None;
    for _ in 0..200 {
        let now = household(&mut a, &h, String::new(), 0).await;
        if !now.zero_employment {
            last = Some(now);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let now = last.expect("the linker's placement reaches the household");
    assert_eq!(status(&now), cleared(100, 30));
    assert_eq!(status(&household(&mut a, &h, days_ago(31), 0).await), zero(100, 100));
    server.stop().await;
}

/// TARGETS.md `difficulty_employment_rate` (001 § 9 "其他就业困难人员"): "recognised
/// with employment difficulty in a category other than zero-employment
/// household (a recognition listing that category and another counts for
/// the other)". By hand (period −120..0, Xiqing): P zero-employment only (out),
/// Q zero-employment + single parent, placed −30 (in, placed), R single
/// parent (in, not placed): 1 / 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_employment_household_members_are_not_other_difficulty_persons() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let mut recognise_as = async |case: &str, categories: Vec<pb::DifficultyCategory>| {
        c.recognise_difficulty(pb::RecogniseDifficultyRequest {
            context: ctx(),
            case_id: case.into(),
            effective_date: days_ago(90),
            difficulty: Some(pb::Difficulty {
                categories: categories.into_iter().map(|k| k as i32).collect(),
                valid_from: days_ago(90),
                valid_to: days_ago(-300),
            }),
        })
        .await
        .expect("recognise")
        .into_inner()
        .result
        .unwrap()
        .global_position
    };
    use pb::DifficultyCategory::{SingleParentHousehold as Single, ZeroEmploymentHousehold as Zero};
    let mut cases = Vec::new();
    {
        let mut c2 = server.client().await;
        for n in [11, 13, 15] {
            cases.push(register_in(&mut c2, &resident_id("19800101", n), 100, None, false).await.0);
        }
    }
    recognise_as(&cases[0], vec![Zero]).await;
    recognise_as(&cases[1], vec![Zero, Single]).await;
    recognise_as(&cases[2], vec![Single]).await;
    let mut c3 = server.client().await;
    let pos = place(&mut c3, &cases[1], 30).await;
    let r = targets(&mut a, "120111", pos).await;
    assert_eq!(target(&r, "difficulty_employment_rate"), (1, Some(2)));
    server.stop().await;
}

/// TARGETS.md: an exit as employed "is employment from the exit's date ...
/// until the member's next registration"; "A person employed before joining
/// is an employed member from the join". By hand: S registers −120, exits as
/// employed −110, joins H −50. A (signal) registers −100 naming H. H: zero
/// since −100 until −51, cleared on −50; not listed today.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_exited_as_employed_before_joining_clears_from_the_join() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (s, _) = register_in(&mut c, &resident_id("19800101", 11), 120, None, false).await;
    exit(&mut c, &s, 110, pb::ExitReason::Employed).await;
    register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h), true).await;
    let pos = join(&mut c, &s, 50, &h).await;
    assert_eq!(status(&household(&mut a, &h, days_ago(51), pos).await), zero(100, 100));
    assert_eq!(status(&household(&mut a, &h, days_ago(0), pos).await), cleared(100, 50));
    assert_eq!(listed(&mut a, &h, days_ago(0), pos).await, None);
    assert_eq!(listed(&mut a, &h, days_ago(51), pos).await, Some((49, "overdue".into(), days_ago(100))));
    server.stop().await;
}

/// API.md enterprise codes: `INVALID_MONTH` ("a headcount month not given as
/// its first day, or not begun"), `HEADCOUNT_EXISTS`; a designation dated in
/// the future is `EFFECTIVE_DATE_IN_FUTURE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headcount_months_and_designation_dates_are_checked() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    let report = |month: String| epb::ReportHeadcountRequest {
        context: ctx(),
        case_id: x.clone(),
        effective_date: days_ago(0),
        headcount: Some(epb::Headcount { month, insured_employees: 300 }),
    };
    let next_month = date((today().with_day(1).unwrap() + chrono::Duration::days(40)).with_day(1).unwrap());
    let e = c.report_headcount(report(next_month)).await.unwrap_err();
    assert_eq!((reason(&e).as_deref(), bad_fields(&e)), (Some("INVALID_MONTH"), vec!["headcount.month".to_string()]));
    let mid = date(today().with_day(1).unwrap() - chrono::Duration::days(15));
    let e = c.report_headcount(report(mid)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("INVALID_MONTH"));
    c.report_headcount(report(month_start(1))).await.expect("last month");
    let e = c.report_headcount(report(month_start(1))).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("HEADCOUNT_EXISTS"));
    let mut d = designate(&x);
    d.effective_date = days_ago(-1);
    let e = c.designate_key_enterprise(d).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    server.stop().await;
}

/// person.proto `GetCaseRequest.effective_date`: "The world as known now, up
/// to this date". By hand: P registers −100 naming H1, leaves −40 and joins
/// H2 −40. As of −41: in H1 since −100; as of −40: in H2 since −40, H1 left
/// −40.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_case_as_of_a_date_shows_the_household_of_that_date() {
    use pb::get_case_request::AsOf;
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h1), false).await;
    leave(&mut c, &p, 40, &h1).await;
    join(&mut c, &p, 40, &h2).await;
    let mut on = async |ago: i64| {
        c.get_case(pb::GetCaseRequest { case_id: p.clone(), as_of: Some(AsOf::EffectiveDate(days_ago(ago))) })
            .await
            .expect("get case")
            .into_inner()
            .case
            .unwrap()
    };
    let then = on(41).await;
    let current = then.current_household.expect("in H1");
    assert_eq!((current.membership.unwrap().household_id, current.joined_on), (h1.clone(), days_ago(100)));
    assert_eq!(then.households.len(), 1);
    let now = on(40).await;
    let current = now.current_household.expect("in H2");
    assert_eq!((current.membership.unwrap().household_id, current.joined_on), (h2.clone(), days_ago(40)));
    let rows: Vec<_> = now
        .households
        .iter()
        .map(|r| (r.membership.as_ref().unwrap().household_id.clone(), r.joined_on.clone(), r.left_on.clone()))
        .collect();
    assert_eq!(rows, [(h1, days_ago(100), days_ago(40)), (h2, days_ago(40), String::new())]);
    server.stop().await;
}

/// README "Batch layoff": "any number ≥ 1 is recorded"; policies/tianjin.toml
/// `tianjin.stability.refund` (002 #2, 004 § 1): "不裁员或裁员率低于…控制目标" —
/// an enterprise whose batch layoffs in the last 12 months far exceed its
/// staff is not eligible. By hand: 800 insured, two batch layoffs of
/// 2 147 483 648 people each (each accepted: ≥ 1) in the last year: the
/// layoff count is 4 294 967 296, the rate far above any target: refused.
/// (The layoffs are summed in a u32: 2^32 wraps to 0, "no layoffs".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_batch_layoffs_do_not_wrap_into_no_layoffs() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let x = register_enterprise(&mut c, "91120111MA05JX0K0", "120111", 800).await;
    let code = credit_code("91120111MA05JX0K0");
    layoff(&mut c, &x, 60, "big1", 1 << 31).await;
    layoff(&mut c, &x, 30, "big2", 1 << 31).await;
    let proposal = pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: x.clone(),
        effective_date: days_ago(0),
        proposal_id: "P1".into(),
        rule_id: "tianjin.stability.refund".into(),
        payee: Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(code)) }),
        inputs: Some(pb::ProposalInputs {
            base_fen: 10_000_000,
            enterprise_insured_months: Some(24),
            ..Default::default()
        }),
    };
    let answer = c.evaluate_subsidy(enterprise_dry_run(proposal)).await;
    let decision = answer.expect("the dry run answers").into_inner().decision.unwrap();
    assert!(!decision.granted, "{decision:#?}");
    server.stop().await;
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

/// 002 #2, 004 § 1 (policies/tianjin.toml wording): "参保职工30人及以下 (30
/// included) 的小微企业，裁员率放宽至20% (at most 20 %)"; the layoffs are the
/// batch layoffs of the last 12 months. By hand: 30 insured, 6 laid off
/// (20 %): eligible; another with 7 (23 %): refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_layoffs_feed_the_stability_refund_at_its_20_percent_edge() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let mut decide = async |body: &str, people: u32| {
        let x = register_enterprise(&mut c, body, "120111", 30).await;
        layoff(&mut c, &x, 60, "l", people).await;
        let mut p = refund(&x, "P1");
        p.payee = Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(credit_code(body))) });
        c.evaluate_subsidy(enterprise_dry_run(p)).await.expect("dry run").into_inner().decision.unwrap()
    };
    let six = decide("91120111MA05JX0K0", 6).await;
    assert!(six.granted, "{six:#?}");
    let seven = decide("91120111MA05JX0K1", 7).await;
    assert!(!seven.granted, "{seven:#?}");
    server.stop().await;
}

/// API.md: `ALREADY_IN_HOUSEHOLD` covers "registering naming another
/// household, while a member of one"; a membership may not start before
/// the previous one was left (`BEFORE_PREVIOUS_END`), by registration too.
/// By hand: P registers −100 naming H1, exits (moved away) −80. Registering
/// −70 naming H2: refused (still in H1). P leaves H1 −50; registering −60
/// naming H2: refused (before the leave); −50 naming H2: joins H2 on −50.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_naming_another_household_follows_the_membership_rules() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let rid = resident_id("19800101", 11);
    let (p, _) = register_in(&mut c, &rid, 100, Some(&h1), false).await;
    exit(&mut c, &p, 80, pb::ExitReason::MovedAway).await;
    let naming = |ago: i64| {
        let mut reg = register_request(&rid, days_ago(ago));
        reg.registration.as_mut().unwrap().household = membership(&h2, pb::HouseholdRelation::Head);
        reg
    };
    let e = c.register_unemployment(naming(70)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("ALREADY_IN_HOUSEHOLD"));
    leave(&mut c, &p, 50, &h1).await;
    let e = c.register_unemployment(naming(60)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("BEFORE_PREVIOUS_END"));
    c.register_unemployment(naming(50)).await.expect("registers naming H2");
    let case = c.get_case(pb::GetCaseRequest { case_id: p, as_of: None }).await.unwrap().into_inner().case.unwrap();
    let current = case.current_household.unwrap();
    assert_eq!((current.membership.unwrap().household_id, current.joined_on), (h2, days_ago(50)));
    server.stop().await;
}

/// analytics.proto `ListActionsRequest.as_of`: "default today"; the period
/// applies to the matchmaker and batch-layoff lists only. By hand: A
/// (signal) registers −100 naming H, placed −40. The zero-employment list
/// with a period −120..−50 and no `as_of` is as of today: H cleared, not
/// listed; with `as_of` −50: outstanding 50 days, overdue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zero_employment_list_is_as_of_today_whatever_the_period() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    let pos = place(&mut c, &p, 40).await;
    let page = a
        .list_actions(apb::ListActionsRequest {
            list: apb::ActionList::ZeroEmploymentHouseholds as i32,
            jurisdiction: "120111".into(),
            period_from: days_ago(120),
            period_to: days_ago(50),
            min_position: pos,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<_> = page.items.iter().map(|i| (i.household_id.clone(), i.days, i.status.clone())).collect();
    assert_eq!(rows, []);
    assert_eq!(listed(&mut a, &h, days_ago(50), pos).await, Some((50, "overdue".into(), days_ago(100))));
    server.stop().await;
}

/// API.md: target figures "ignore facts effective after `as_of` (default:
/// the end of the period, or today)"; the household count is a stock on
/// `A`. By hand: A (signal) registers −100 naming H, placed −40. Period
/// −120..−50 without as_of: 1 outstanding; period −30..0: 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_household_count_is_a_stock_on_the_periods_end() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    let pos = place(&mut c, &p, 40).await;
    let mut count = async |from: i64, to: i64| {
        let r = a
            .get_targets(apb::GetTargetsRequest {
                jurisdiction: "120111".into(),
                period_from: days_ago(from),
                period_to: days_ago(to),
                as_of: String::new(),
                min_position: pos,
            })
            .await
            .unwrap()
            .into_inner();
        target(&r, "zero_employment_households_outstanding").0
    };
    assert_eq!(count(120, 50).await, 1);
    assert_eq!(count(30, 0).await, 0);
    server.stop().await;
}
