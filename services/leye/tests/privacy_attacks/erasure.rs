//! Erasure and every way back in time; roles; Debug of the contract's
//! messages; a retried registration after an erasure.

use super::*;

// === 6. erasure, then every way back in time ===

/// README, "Personal data": after `ErasePersonalData` "the resident ID and name
/// read as erased everywhere; `FindCaseByResidentId` answers `NOT_FOUND`".
/// Asked as of a revision, an instant or an effective date before the
/// erasure, over gRPC and with `leye replay --recorded-until`, they stay
/// erased; a retry of the original registration does not bring them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_stays_erased_as_of_any_earlier_time_and_in_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "debug", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(4_000);
    let first = registration(&id, NAME);
    let case_id = c.register_unemployment(first.clone()).await.unwrap().into_inner().result.expect("a result").case_id;
    c.record_contact(contact(&case_id, "ok")).await.unwrap();
    let before = chrono::Utc::now();
    let view = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap().into_inner();
    assert_eq!(view.case.unwrap().registration.unwrap().resident_id, id, "readable before");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut supervisor = served.client(&supervisor_token(&data)).await;
    supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");

    use pb::get_case_request::AsOf;
    let as_ofs = [
        None,
        Some(AsOf::Revision(0)),
        Some(AsOf::Revision(1)),
        Some(AsOf::RecordedAt(prost_types::Timestamp { seconds: before.timestamp(), nanos: 0 })),
        Some(AsOf::EffectiveDate(days_ago(10))),
    ];
    let mut shown = String::new();
    for as_of in as_ofs {
        let v = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: as_of.clone() }).await;
        shown.push_str(&format!("{as_of:?}: {:?}\n", v.map(|v| v.into_inner())));
    }
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap();
    shown.push_str(&format!("{:?}", replay.into_inner()));
    let gone = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
    assert_eq!(gone.expect_err("erased").code(), tonic::Code::NotFound);
    // The original registration sent again: a duplicate, nothing read back.
    let retry = c.register_unemployment(first).await.unwrap().into_inner();
    assert!(retry.result.as_ref().unwrap().duplicate, "{retry:?}");
    shown.push_str(&format!("{retry:?}"));
    let log = served.log_text();

    let until = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut cli = std::process::Command::new(LEYE);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            cli.env_remove(k);
        }
    }
    for args in [vec!["--format", "json", "--recorded-until", until.as_str()], vec!["--recorded-until", &until], vec![]]
    {
        let out = cli.args(["replay", &case_id]).args(&args).arg("--data-dir").arg(&data).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        shown.push_str(&String::from_utf8_lossy(&out.stdout));
        cli = std::process::Command::new(LEYE);
    }
    served.stop().await;
    assert!(shown.contains("rased"), "shown as erased: {shown}");
    for secret in [&id[..17], NAME] {
        assert!(!shown.contains(secret), "{secret} read back after the erasure:\n{shown}");
        assert!(!log.contains(secret), "{secret} in the debug log");
    }
}

/// README, "What each role may do": an analyst reads no case, no replay, no
/// look-up by resident ID and no audit record; an auditor replays but
/// neither writes nor erases; a caseworker does not erase (deny by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_read_no_more_than_the_table_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(8_080);
    let case_id = register(&mut c, &id).await;
    let mut analyst = served.client(&analyst_token(&data)).await;
    let mut codes = Vec::new();
    codes.push((
        "analyst GetCase",
        analyst.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.map(|_| ()),
    ));
    codes.push((
        "analyst ReplayCase",
        analyst.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.map(|_| ()),
    ));
    codes.push((
        "analyst FindCaseByResidentId",
        analyst.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await.map(|_| ()),
    ));
    let auditor = token_as(&data, "audit-1", &[leye_auth::Role::Auditor]);
    let mut auditor = served.client(&auditor).await;
    codes.push(("auditor RecordContact", auditor.record_contact(contact(&case_id, "x")).await.map(|_| ())));
    codes.push(("auditor ErasePersonalData", auditor.erase_personal_data(erase(&case_id)).await.map(|_| ())));
    codes.push(("caseworker ErasePersonalData", c.erase_personal_data(erase(&case_id)).await.map(|_| ())));
    let channel = authed(served.addr, &analyst_token(&data)).await.unwrap();
    let mut audit = leye_proto::audit::v1::audit_service_client::AuditServiceClient::new(channel);
    codes.push((
        "analyst ListAuditRecords",
        audit.list_audit_records(leye_proto::audit::v1::ListAuditRecordsRequest::default()).await.map(|_| ()),
    ));
    served.stop().await;
    let allowed: Vec<String> = codes
        .into_iter()
        .filter(|(_, r)| !matches!(r, Err(s) if s.code() == tonic::Code::PermissionDenied))
        .map(|(what, r)| format!("{what}: {:?}", r.map_err(|s| s.code())))
        .collect();
    assert!(allowed.is_empty(), "allowed beyond the table:\n{}", allowed.join("\n"));
}

// === 7. Debug of the contract's messages ===

/// ARCHITECTURE.md, `leye-proto`: "redacting `Debug` for messages with
/// personal data"; `proto/src/lib.rs`: "Messages holding personal data
/// (resident ID, name) have a redacting `Debug`, so logging a request with
/// `{:?}` never prints them." Only `Registration` has one
/// (`proto/build.rs`: `skip_debug(["leye.person.v1.Registration"])`):
/// `FindCaseByResidentIdRequest` holds nothing but a resident ID and prints
/// it. Latent: no code path of the server logs it today.
#[test]
fn a_look_up_request_never_prints_its_resident_id_in_debug() {
    let id = resident_id(5);
    let registration = registration(&id, NAME);
    let shown = format!("{registration:?}");
    assert!(!shown.contains(&id) && !shown.contains(NAME), "the registration is redacted: {shown}");
    let find = pb::FindCaseByResidentIdRequest { resident_id: id.clone() };
    let shown = format!("{find:?}");
    assert!(!shown.contains(&id), "Debug of FindCaseByResidentIdRequest: {shown}");
}

/// The same through the public gRPC API, by a caseworker: README, "Personal
/// data": after an erasure "the resident ID and name read as erased
/// everywhere". The registration's command id is known (the client that sent
/// it, `Leye-Command-Id` on NATS, `ReplayCase`); every other field of the
/// registration reads in clear in `GetCase`. Sending the registration again
/// with that command id and a guessed name answers `duplicate: true` when the
/// name is right and `ALREADY_EXISTS` (`COMMAND_ID_REUSED`) when it is wrong,
/// writing nothing either way: an oracle that confirms an erased person's
/// name, one guess a call (`cases/memory.rs`, `Commands::earlier_outcome`, compares the
/// fingerprint of the retried command with the stored one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_registration_never_confirms_an_erased_persons_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(6_006);
    let original = registration(&id, NAME);
    let case_id = c.register_unemployment(original.clone()).await.unwrap().into_inner().result.unwrap().case_id;
    let mut supervisor = served.client(&supervisor_token(&data)).await;
    supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");

    let guess = |name: &str| {
        let mut r = original.clone();
        r.registration.as_mut().unwrap().name = name.into();
        r
    };
    let mut answers = Vec::new();
    for name in ["王伟", "李娜", NAME] {
        let answer = match c.register_unemployment(guess(name)).await {
            Ok(r) => format!("OK duplicate={}", r.into_inner().result.unwrap().duplicate),
            Err(s) => format!("{:?}", s.code()),
        };
        answers.push((name, answer));
    }
    served.stop().await;
    let distinct: std::collections::BTreeSet<&String> = answers.iter().map(|(_, a)| a).collect();
    assert_eq!(distinct.len(), 1, "the answers tell the erased person's name apart: {answers:?}");
}
