//! Logs at every level, /metrics, NATS, the dashboard, OTLP spans, NATS
//! payloads and `leye consume`.

use super::*;

// === 5. logs at every level, /metrics, NATS, the dashboard ===

/// The guide's rule at every log level (`LEYE_LOG=trace`, text and JSON):
/// a person's life, a look-up by resident ID, refusals carrying the resident
/// ID, an erasure; then the log, `/metrics`, every NATS message (with
/// `nats_personal_data` off) and the dashboard's JSON hold neither the
/// resident ID nor the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_resident_id_or_name_in_trace_logs_metrics_nats_or_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let mut leaks = Vec::new();
    for (n, format) in ["text", "json"].iter().enumerate() {
        let nats = NatsServer::start(&tmp.path().join(format!("nats-{format}"))).await;
        let data = tmp.path().join(format!("data-{format}"));
        let url = nats.url();
        let served = Served::start(
            &data,
            "trace",
            &[
                "--log-format",
                format,
                "--nats-url",
                &url,
                "--nats-max-bytes",
                "104857600",
                "--dashboard-listen",
                "127.0.0.1:0",
            ],
        )
        .await;
        let token = support::token(&data);
        let mut c = served.client(&token).await;
        let id = resident_id(300 + n as u32);
        let case_id = register(&mut c, &id).await;
        c.record_contact(contact(&case_id, "来电，仍在求职")).await.unwrap();
        let found = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
        assert_eq!(found.unwrap().into_inner().case_id, case_id);
        let _ = c.record_contact(contact(&case_id, &format!("本人{id}"))).await.expect_err("refused");
        let again = c.register_unemployment(registration(&id, NAME)).await.expect_err("already registered");
        assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");
        let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap();
        assert!(format!("{:?}", replay.get_ref()).contains("ReplayCaseResponse"));
        let mut analyst = served.client(&analyst_token(&data)).await;
        let denied = analyst.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await;
        assert_eq!(denied.expect_err("analysts read no case").code(), tonic::Code::PermissionDenied);
        let mut supervisor = served.client(&supervisor_token(&data)).await;
        supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");
        let gone = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
        assert_eq!(gone.expect_err("erased").code(), tonic::Code::NotFound);

        // The dashboard's JSON, as an analyst.
        let dash = served.dashboard.unwrap();
        let analyst_t = analyst_token(&data);
        let mut pages = String::new();
        for path in [
            format!("/api/v1/targets?jurisdiction=120111&period_from={}&period_to={}", days_ago(60), days_ago(0)),
            "/api/v1/actions?list=exit_review&jurisdiction=120111".to_string(),
            "/api/v1/actions?list=overdue_follow_up&jurisdiction=120111".to_string(),
            "/api/v1/communities?jurisdiction=120111".to_string(),
            format!("/api/v1/households/{id}"),
            format!("/api/v1/targets?jurisdiction={id}&period_from={}&period_to={}", days_ago(60), days_ago(0)),
        ] {
            pages.push_str(&http_get(dash, &path, Some(&analyst_t)).await);
        }
        let metrics = http_get(served.metrics, "/metrics", None).await;

        // Every message on NATS, raw.
        let js = support::jetstream(std::slice::from_ref(&url)).await;
        let mut stream = None;
        for _ in 0..300 {
            if let Ok(mut s) = js.get_stream(support::STREAM).await
                && s.info().await.is_ok_and(|i| i.state.messages >= 3)
            {
                stream = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let Some(stream) = stream else {
            let log = served.log_text();
            let publisher: Vec<&str> =
                log.lines().filter(|l| l.contains("publisher") && !l.contains("TRACE")).take(20).collect();
            panic!("no stream with the events on NATS; publisher log:\n{}", publisher.join("\n"));
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let last = stream.get_info().await.unwrap().state.last_sequence;
        let mut nats_bytes = Vec::new();
        for seq in 1..=last {
            let m = stream.get_raw_message(seq).await.unwrap();
            nats_bytes.extend_from_slice(m.subject.as_bytes());
            for (k, v) in m.headers.iter() {
                nats_bytes.extend_from_slice(k.to_string().as_bytes());
                for v in v {
                    nats_bytes.extend_from_slice(v.as_str().as_bytes());
                }
            }
            nats_bytes.extend_from_slice(&m.payload);
        }
        let log = served.log_text();
        served.stop().await;
        assert!(log.lines().count() > 50, "a trace log: {} lines", log.lines().count());
        for secret in [&id[..], &id[..17], NAME] {
            for (what, text) in
                [("log", log.as_bytes()), ("metrics", metrics.as_bytes()), ("dashboard", pages.as_bytes())]
            {
                if holds(text, secret) {
                    let line = String::from_utf8_lossy(text)
                        .lines()
                        .find(|l| l.contains(secret))
                        .map(|l| l.chars().take(300).collect::<String>())
                        .unwrap_or_default();
                    leaks.push(format!("{format}: {what} holds {secret}: {line}"));
                }
            }
            if holds(&nats_bytes, secret) {
                leaks.push(format!("{format}: NATS holds {secret}"));
            }
        }
        assert!(pages.matches(" 200 OK").count() >= 3, "{pages}");
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

// === 9. OTLP spans ===

/// An OTLP/gRPC receiver keeping every export request.
struct Collector(tokio::sync::mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// docs/OPERATIONS.md: "Spans carry no personal data, principal or case id".
/// A look-up by resident ID, a note refused for holding one, a call to a
/// path made of a resident ID: the exported spans hold none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_spans_hold_no_resident_id_name_principal_or_case_id() {
    let port = support::free_port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let endpoint = format!("http://127.0.0.1:{port}");
    let served = Served::start(&data, "info", &["--otlp-endpoint", &endpoint]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(2_024);
    let case_id = register(&mut c, &id).await;
    let found = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
    assert_eq!(found.unwrap().into_inner().case_id, case_id);
    let _ = c.record_contact(contact(&case_id, &format!("本人{id}"))).await.expect_err("refused");
    call_path(served.addr, &format!("/leye.person.v1.PersonCaseService/{id}"), Some(&support::token(&data))).await;
    let mut spans = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while spans.len() < 4 {
        let Ok(Some(export)) = tokio::time::timeout_at(deadline, rx.recv()).await else { break };
        for r in export.resource_spans {
            for s in r.scope_spans {
                spans.extend(s.spans);
            }
        }
    }
    served.stop().await;
    assert!(spans.len() >= 4, "spans exported: {spans:?}");
    let everything = format!("{spans:?}");
    for secret in [&id[..17], NAME, &case_id, "staff-0042"] {
        assert!(!everything.contains(secret), "{secret} in the exported spans: {everything}");
    }
    assert!(spans.iter().any(|s| s.name == "other"), "an unknown path is `other`");
}

// === 10. NATS payloads, a sole proprietorship, `leye consume` ===

/// A valid unified social credit code (GB 32100-2015) from a 17-character body.
fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

/// README, "Consuming events": a `registered` payload carries neither resident
/// ID nor name "unless the deployment sets `nats_personal_data = true`", and
/// (table of settings) neither does a sole proprietorship's name; `leye
/// consume` "prints each event with personal data masked". With the setting
/// off the raw messages hold none of them; with it on they do (the
/// deployment's choice), and `leye consume` still prints none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_withholds_names_unless_asked_and_consume_masks_them() {
    let tmp = tempfile::tempdir().unwrap();
    let owner = "孙个体";
    let shop = format!("{owner}便利店");
    for (n, on) in [false, true].into_iter().enumerate() {
        let nats = NatsServer::start(&tmp.path().join(format!("nats-{n}"))).await;
        let url = nats.url();
        let data = tmp.path().join(format!("data-{n}"));
        let personal = if on { "true" } else { "false" };
        let served = Served::start(
            &data,
            "info",
            &["--nats-url", &url, "--nats-max-bytes", "104857600", "--nats-personal-data", personal],
        )
        .await;
        let token = support::token(&data);
        let mut c = served.client(&token).await;
        let id = resident_id(700 + n as u32);
        let case_id = register(&mut c, &id).await;
        c.record_contact(contact(&case_id, "来电")).await.unwrap();
        let channel = authed(served.addr, &token).await.unwrap();
        let mut e =
            leye_proto::enterprise::v1::enterprise_case_service_client::EnterpriseCaseServiceClient::new(channel);
        let code = credit_code(&format!("92120111MA05JX0K{n}"));
        e.register_enterprise(leye_proto::enterprise::v1::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(3),
            registration: Some(leye_proto::enterprise::v1::EnterpriseRegistration {
                credit_code: code,
                name: shop.clone(),
                district: "120111".into(),
                industry_code: "F52".into(),
                insured_employees: 1,
                small_micro: true,
                kinds: vec![],
                check_character_confirmed: false,
            }),
        })
        .await
        .expect("a sole proprietorship registered");

        let js = support::jetstream(std::slice::from_ref(&url)).await;
        let mut raw = Vec::new();
        for _ in 0..300 {
            if let Ok(mut s) = js.get_stream(support::STREAM).await
                && s.info().await.is_ok_and(|i| i.state.messages >= 3)
            {
                for seq in 1..=3 {
                    raw.extend_from_slice(&s.get_raw_message(seq).await.unwrap().payload);
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!raw.is_empty(), "three messages on NATS");
        for secret in [&id[..], NAME, owner] {
            assert_eq!(holds(&raw, secret), on, "{secret} on NATS with nats_personal_data = {on}");
        }
        let out = std::process::Command::new(LEYE)
            .args(["consume", "--nats-url", &url, "--durable", "review", "--subject", "leye.v1.>", "--max-events", "3"])
            .env_remove("LEYE_LOG")
            .output()
            .unwrap();
        served.stop().await;
        let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && printed.matches("seq=").count() == 3, "{printed}");
        for secret in [&id[..17], NAME, owner] {
            assert!(!printed.contains(secret), "leye consume prints {secret}: {printed}");
        }
    }
}
