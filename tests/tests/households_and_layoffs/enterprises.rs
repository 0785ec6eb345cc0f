//! Enterprises: batch layoffs and their service, layoff plans' notice, key
//! enterprises by headcount, the goals' dates.

use super::*;

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
