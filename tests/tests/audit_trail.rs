//! The audit trail end to end: every request, reads and denials included, is
//! recorded before it is answered; auditors query it over gRPC within their
//! jurisdiction; it holds no resident ID or name; an edited or deleted record
//! is found by the verify command (`leye audit verify`, whose implementation
//! is `leye::devtools::verify_audit`).

use leye_e2e::{CITY, ctx, days_ago, reason, register_request, resident_id, spawn};
use leye_proto::{audit::v1 as apb, person::v1 as pb};
use tonic::Code;

const GET_CASE: &str = "leye.person.v1.PersonCaseService/GetCase";

async fn records(
    a: &mut leye_e2e::AuditClient,
    filter: apb::ListAuditRecordsRequest,
) -> Result<Vec<apb::AuditRecord>, tonic::Status> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = a
            .list_audit_records(apb::ListAuditRecordsRequest { page_token: token, page_size: 7, ..filter.clone() })
            .await?
            .into_inner();
        all.extend(page.records);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn every_read_and_every_denial_is_in_the_trail_without_personal_data() {
    let server = spawn().await;
    let mut c = server.client().await;
    let id = resident_id("19900101", 31);
    let case_id = c
        .register_unemployment(register_request(&id, days_ago(10)))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;

    // N reads give N records.
    const N: usize = 12;
    for _ in 0..N {
        c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap();
    }
    // A caseworker of Heping reading a Xiqing case: denied, and recorded.
    let mut heping = server.client_as("heping-cw-1", &["caseworker"], &["120101"]).await;
    let denied = heping.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap_err();
    assert_eq!(reason(&denied).as_deref(), Some("OUT_OF_JURISDICTION"));
    // No credentials at all: refused, and recorded with no principal.
    let anonymous = pb::person_case_service_client::PersonCaseServiceClient::new(server.channel().await)
        .get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let mut auditor = server.audit_client_as("audit-city-1", &["auditor"], CITY).await;
    let by_case = |operation: &str| apb::ListAuditRecordsRequest {
        case_id: case_id.clone(),
        operation: operation.into(),
        ..Default::default()
    };
    let reads = records(&mut auditor, by_case(GET_CASE)).await.unwrap();
    let ok: Vec<_> = reads.iter().filter(|r| r.outcome == "OK").collect();
    assert_eq!(ok.len(), N, "one record per read");
    assert!(ok.iter().all(|r| r.principal == "staff-0042" && r.case_ids == [case_id.clone()]));
    assert!(ok.iter().all(|r| r.authenticated_by.starts_with("bearer:") && r.peer.starts_with("127.0.0.1:")));
    let denial: Vec<_> = reads.iter().filter(|r| r.outcome == "PERMISSION_DENIED").collect();
    assert_eq!(denial.len(), 1, "{reads:?}");
    assert_eq!((denial[0].principal.as_str(), denial[0].reason.as_str()), ("heping-cw-1", "OUT_OF_JURISDICTION"));
    // The anonymous call names no case (it never got past the guard) but is there.
    let unauthenticated = records(
        &mut auditor,
        apb::ListAuditRecordsRequest { operation: GET_CASE.into(), principal: String::new(), ..Default::default() },
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|r| r.outcome == "UNAUTHENTICATED")
    .collect::<Vec<_>>();
    assert_eq!(unauthenticated.len(), 1);
    assert_eq!((unauthenticated[0].principal.as_str(), unauthenticated[0].authenticated_by.as_str()), ("", "none"));
    assert_eq!(unauthenticated[0].reason, "CREDENTIALS_MISSING");
    // By principal: the registration and the reads of staff-0042.
    let mine =
        records(&mut auditor, apb::ListAuditRecordsRequest { principal: "STAFF-0042".into(), ..Default::default() })
            .await
            .unwrap();
    assert_eq!(mine.len(), N + 1, "{mine:?}");

    // A district auditor: records of a case in the district, nothing city-wide.
    let mut district = server.audit_client_as("audit-xq-1", &["auditor"], &["120111"]).await;
    assert_eq!(records(&mut district, by_case(GET_CASE)).await.unwrap().len(), N + 1);
    let city_wide = records(&mut district, apb::ListAuditRecordsRequest::default()).await.unwrap_err();
    assert_eq!(reason(&city_wide).as_deref(), Some("CITY_LEVEL_REQUIRED"));
    let mut heping_auditor = server.audit_client_as("audit-hp-1", &["auditor"], &["120101"]).await;
    let other = records(&mut heping_auditor, by_case(GET_CASE)).await.unwrap_err();
    assert_eq!(reason(&other).as_deref(), Some("OUT_OF_JURISDICTION"));
    // A caseworker is no auditor.
    let mut cw = leye_proto::audit::v1::audit_service_client::AuditServiceClient::new(
        server.authed("staff-0042", &["caseworker"], CITY).await,
    );
    assert_eq!(reason(&cw.list_audit_records(by_case("")).await.unwrap_err()).as_deref(), Some("ROLE_MISSING"));

    let verified = auditor.verify_audit_trail(apb::VerifyAuditTrailRequest {}).await.unwrap().into_inner();
    assert!(verified.intact, "{verified:?}");

    // The trail holds neither the resident ID nor the name.
    let data_dir = server.stop().await;
    let bytes = std::fs::read(data_dir.path().join(leye::trust::AUDIT_FILE)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(&id) && !text.contains("王小明"), "personal data in the audit trail");
}

#[tokio::test]
async fn an_edited_or_deleted_audit_record_is_found_by_the_verify_command() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = c
        .register_unemployment(register_request(&resident_id("19900101", 33), days_ago(10)))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    for _ in 0..5 {
        c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap();
    }
    c.record_contact(pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: String::new(),
        }),
    })
    .await
    .unwrap();
    let data_dir = server.stop().await;
    let dir = data_dir.path();
    let verify = || {
        let mut out = Vec::new();
        let intact = leye::devtools::verify_audit(dir, &mut out).unwrap();
        (intact, String::from_utf8(out).unwrap())
    };
    let (intact, said) = verify();
    assert!(intact, "{said}");
    assert!(said.contains("intact: 7 records"), "{said}");

    // An attacker with the file: drops the triggers, turns a denial into a success.
    let conn = rusqlite::Connection::open(dir.join(leye::trust::AUDIT_FILE)).unwrap();
    conn.execute_batch(
        "DROP TRIGGER records_no_update; DROP TRIGGER records_no_delete; \
         UPDATE records SET principal = 'someone-else' WHERE seq = 3;",
    )
    .unwrap();
    let (intact, said) = verify();
    assert!(!intact);
    assert!(said.contains("BROKEN at seq 3: edited"), "{said}");
    // Put back, then delete a record in the middle.
    conn.execute("UPDATE records SET principal = 'staff-0042' WHERE seq = 3", []).unwrap();
    assert!(verify().0, "restored");
    conn.execute_batch("DROP TRIGGER record_cases_no_delete; DELETE FROM record_cases WHERE seq = 4; DELETE FROM records WHERE seq = 4;").unwrap();
    let (intact, said) = verify();
    assert!(!intact);
    assert!(said.contains("BROKEN at seq 4: deleted") || said.contains("BROKEN at seq 5"), "{said}");
}
