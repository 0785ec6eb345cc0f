//! Guarantee loans and safety-net posts developed, end to end: recorded over
//! gRPC on a real socket and a real SQLite file, folded by the projector
//! inside `leye serve`, read back through GetTargets (001 § 4, § 9).

use std::time::Duration;

use leye_e2e::{EnterpriseClient, bad_fields, credit_code, ctx, days_ago, reason, spawn};
use leye_proto::{analytics::v1 as apb, enterprise::v1 as pb};
use tonic::Code;

fn loan(case_id: &str, ago: i64, id: &str, principal_fen: i64, term_months: u32) -> pb::RecordGuaranteeLoanRequest {
    pb::RecordGuaranteeLoanRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        loan: Some(pb::GuaranteeLoanGranted {
            loan_id: id.into(),
            borrower: pb::LoanBorrower::Founder as i32,
            principal_fen,
            lender: "天津农商银行".into(),
            term_months,
        }),
    }
}

fn posts(case_id: &str, ago: i64, id: &str, kind: pb::WelfarePostKind, n: u32) -> pb::DevelopWelfarePostsRequest {
    pb::DevelopWelfarePostsRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        posts: Some(pb::WelfarePostsDeveloped { development_id: id.into(), kind: kind as i32, posts: n }),
    }
}

async fn register(c: &mut EnterpriseClient, code: &str, district: &str) -> String {
    c.register_enterprise(pb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(400),
        registration: Some(pb::EnterpriseRegistration {
            credit_code: credit_code(code),
            name: "天津测试社会服务中心".into(),
            district: district.into(),
            industry_code: "S9221".into(),
            insured_employees: 30,
            small_micro: true,
            kinds: vec![],
            check_character_confirmed: false,
        }),
    })
    .await
    .expect("register")
    .into_inner()
    .result
    .unwrap()
    .case_id
}

fn target<'a>(r: &'a apb::GetTargetsResponse, id: &str) -> Option<&'a apb::Target> {
    r.targets.iter().find(|t| t.id == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loans_count_by_principal_and_posts_as_posts_through_grpc() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let xq = register(&mut c, "91120111MA05JX0K0", "120111").await;
    let hp = register(&mut c, "91120101MA05JX0K1", "120101").await;

    c.record_guarantee_loan(loan(&xq, 30, "g1", 30_000_000, 36)).await.expect("300 000 yuan");
    c.record_guarantee_loan(loan(&xq, 20, "g2", 20_000_000, 24)).await.expect("200 000 yuan");
    c.record_guarantee_loan(loan(&hp, 20, "g1", 100_000_000, 24)).await.expect("Heping, 1 M yuan");
    c.develop_welfare_posts(posts(&xq, 25, "w1", pb::WelfarePostKind::PublicWelfare, 40)).await.unwrap();
    c.develop_welfare_posts(posts(&xq, 15, "w2", pb::WelfarePostKind::CommunityService, 12)).await.unwrap();

    // Refused, naming the rule or the field; nothing recorded.
    let before = server.event_count();
    let err = c.record_guarantee_loan(loan(&xq, 5, "g1", 1_000, 12)).await.unwrap_err();
    assert_eq!((err.code(), reason(&err).as_deref()), (Code::FailedPrecondition, Some("LOAN_EXISTS")));
    let err = c.record_guarantee_loan(loan(&xq, 5, "g3", 1_000, 61)).await.unwrap_err();
    assert_eq!(reason(&err).as_deref(), Some("INVALID_LOAN_TERM"), "{err}");
    assert!(err.message().contains("60 months"), "{}", err.message());
    let err = c.record_guarantee_loan(loan(&xq, 5, "g3", 0, 12)).await.unwrap_err();
    assert_eq!((err.code(), bad_fields(&err)), (Code::InvalidArgument, vec!["loan.principal_fen".to_string()]));
    let mut no_borrower = loan(&xq, 5, "g3", 1_000, 12);
    no_borrower.loan.as_mut().unwrap().borrower = 0;
    no_borrower.loan.as_mut().unwrap().lender = String::new();
    let err = c.record_guarantee_loan(no_borrower).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["loan.borrower", "loan.lender"]);
    let err = c.develop_welfare_posts(posts(&xq, 5, "w1", pb::WelfarePostKind::PublicWelfare, 3)).await.unwrap_err();
    assert_eq!(reason(&err).as_deref(), Some("POSTS_DEVELOPMENT_EXISTS"));
    let err = c.develop_welfare_posts(posts(&xq, 5, "w3", pb::WelfarePostKind::Unspecified, 0)).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["posts.kind", "posts.posts"]);
    assert_eq!(server.event_count(), before, "refused commands write nothing");

    // The case shows them.
    let case = c
        .get_enterprise(pb::GetEnterpriseRequest { case_id: xq.clone(), as_of: None })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let loans: Vec<(String, i64, String)> = case
        .guarantee_loans
        .iter()
        .map(|l| {
            (l.loan.as_ref().unwrap().loan_id.clone(), l.loan.as_ref().unwrap().principal_fen, l.granted_on.clone())
        })
        .collect();
    assert_eq!(loans, [("g1".into(), 30_000_000, days_ago(30)), ("g2".into(), 20_000_000, days_ago(20))]);
    let developed: Vec<u32> = case.welfare_posts.iter().map(|w| w.posts.as_ref().unwrap().posts).collect();
    assert_eq!(developed, [40, 12]);

    // The events carry the facts.
    let replay = c.replay_enterprise(pb::ReplayEnterpriseRequest { case_id: xq.clone() }).await.unwrap().into_inner();
    let last = replay.events.last().unwrap();
    assert!(matches!(
        last.event.as_ref().unwrap().event,
        Some(pb::enterprise_event::Event::WelfarePostsDeveloped(pb::WelfarePostsDeveloped { posts: 12, .. }))
    ));
    // The last command recorded; the projector must reach it.
    let head = last.metadata.as_ref().unwrap().global_position;

    let request = |j: &str| apb::GetTargetsRequest {
        jurisdiction: j.into(),
        period_from: days_ago(60),
        period_to: days_ago(0),
        as_of: String::new(),
        min_position: head,
    };
    let mut report = None;
    for _ in 0..200 {
        match a.get_targets(request("120111")).await {
            Ok(r) if r.get_ref().checkpoint_position >= head => {
                report = Some(r.into_inner());
                break;
            }
            Ok(_) => {}
            Err(e) => assert_eq!(e.code(), Code::Unavailable, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let xq_report = report.expect("the projector caught up");
    let lent = target(&xq_report, "guarantee_loans_principal_fen").unwrap();
    assert_eq!((lent.numerator, lent.denominator), (50_000_000, None), "300 000 + 200 000 yuan, in fen");
    // The last 60 days are not a calendar year of 001's term: the bare figure.
    assert_eq!((lent.goal.as_str(), lent.met), ("", None));
    let developed = target(&xq_report, "welfare_posts_developed").unwrap();
    assert_eq!((developed.numerator, developed.goal.as_str(), developed.met), (52, "", None));
    let city = a.get_targets(request("")).await.unwrap().into_inner();
    assert_eq!(target(&city, "guarantee_loans_principal_fen").unwrap().numerator, 150_000_000);
    let street = a.get_targets(request("120111001")).await.unwrap().into_inner();
    assert!(target(&street, "guarantee_loans_principal_fen").is_none(), "no enterprise figures below a district");
}
