//! `/metrics` of a running `leye serve`: requests by method and code, commands
//! by type and outcome, every follower's position, the process and the build;
//! the page passes `promtool check metrics` (when installed) and a strict
//! parser of the text format either way.

mod support;

use std::{collections::HashMap, io::Write, time::Duration};

use leye_proto::person::v1 as pb;
use support::*;

const MINUTE: Duration = Duration::from_secs(60);
/// The followers running in the harness (the policy finder is off there).
const FOLLOWERS: [&str; 3] = ["publisher", "projector", "hire_linker"];
const REGISTER: &str = "leye.person.v1.PersonCaseService/RegisterUnemployment";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_user_finds_requests_commands_followers_process_and_build() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    let sent = run_case(&mut client, 1).await;
    assert_eq!(sent.len(), 4);
    // A contact sent twice (the retry gets the original outcome), and the
    // registration again under a new command id (the domain refuses it).
    let context = |command_id: &str| {
        Some(leye_proto::common::v1::CommandContext {
            command_id: command_id.into(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        })
    };
    let contact_id = uuid::Uuid::new_v4().to_string();
    let contact = pb::RecordContactRequest {
        context: context(&contact_id),
        case_id: sent[0].case_id.clone(),
        effective_date: sent[0].effective_date.clone(),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: "again".into(),
        }),
    };
    let first = client.record_contact(contact.clone()).await.unwrap().into_inner().result.unwrap();
    let retry = client.record_contact(contact).await.unwrap().into_inner().result.unwrap();
    assert_eq!(first.event_ids, retry.event_ids);
    let Some(pb::person_event::Event::Registered(registration)) = sent[0].event.event.clone() else {
        panic!("the first event registers")
    };
    // The same person again (the published fact withholds resident ID and name).
    let registration =
        pb::Registration { resident_id: resident_id(1), name: NAME.into(), personal_data: 0, ..registration };
    let again = pb::RegisterUnemploymentRequest {
        context: context(&uuid::Uuid::new_v4().to_string()),
        effective_date: sent[0].effective_date.clone(),
        registration: Some(registration),
    };
    let refused = client.register_unemployment(again).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
    // Without credentials: UNAUTHENTICATED, counted under the same method.
    let channel = leye::client::channel(&leye.addr.to_string(), None).await.unwrap();
    let mut anonymous = pb::person_case_service_client::PersonCaseServiceClient::new(channel);
    let refused = anonymous.register_unemployment(pb::RegisterUnemploymentRequest::default()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // The followers catch up with the store's head.
    let text = eventually("every follower at the store's head", MINUTE, || async {
        let text = leye.metrics_text().await?;
        let s = samples(&text);
        let head = *s.get("leye_store_head_position")?;
        let at_head =
            FOLLOWERS.iter().all(|f| s.get(&format!("leye_follower_position{{follower=\"{f}\"}}")) == Some(&head));
        (head >= 5.0 && at_head).then_some(text)
    })
    .await;
    let (head, text) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    let s = samples(text);
    let get = |k: &str| *s.get(k).unwrap_or_else(|| panic!("{k} missing in\n{text}"));
    assert_eq!(get(&format!("leye_grpc_requests_total{{method=\"{REGISTER}\",code=\"OK\"}}")), 1.0);
    assert_eq!(get(&format!("leye_grpc_requests_total{{method=\"{REGISTER}\",code=\"UNAUTHENTICATED\"}}")), 1.0);
    assert_eq!(get(&format!("leye_grpc_request_duration_seconds_count{{method=\"{REGISTER}\"}}")), 3.0);
    assert_eq!(
        get("leye_commands_total{command=\"register_unemployment\",outcome=\"accepted\",code=\"\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(get("leye_commands_total{command=\"record_contact\",outcome=\"accepted\",code=\"\"}"), 2.0);
    assert_eq!(get("leye_commands_total{command=\"record_contact\",outcome=\"duplicate\",code=\"\"}"), 1.0);
    let rejected = "leye_commands_total{command=\"register_unemployment\",outcome=\"rejected\",code=\"";
    assert!(s.iter().any(|(k, v)| k.starts_with(rejected) && *v == 1.0), "{text}");
    assert!(get("leye_store_append_duration_seconds_count") >= 5.0);
    // The harness runs with the policy finder off: no series for it.
    assert!(!text.contains("follower=\"policy_finder\""), "{text}");
    for f in FOLLOWERS {
        assert_eq!(get(&format!("leye_follower_lag_events{{follower=\"{f}\"}}")), 0.0, "{text}");
        assert_eq!(get(&format!("leye_follower_lag_seconds{{follower=\"{f}\"}}")), 0.0, "{text}");
    }
    assert!(get("process_resident_memory_bytes") > 0.0);
    assert!(get("process_open_fds") > 0.0);
    assert!(get("process_start_time_seconds") > 1.7e9);
    assert_eq!(get(&format!("leye_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))), 1.0);
    // No personal data or case ids in the labels.
    assert!(!text.contains(&resident_id(1)) && !text.contains(&sent[0].case_id), "{text}");

    check_strictly(text);
    promtool(text);
    dashboard_queries_exist(text);
    leye.terminate().await;
}

/// Every sample, by name and labels as written.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// The text format (0.0.4) checked line by line: comments are HELP, TYPE or
/// EOF; every sample belongs to a family with a TYPE; counters end `_total`;
/// histograms have ascending `le` buckets ending at `+Inf`, `_sum` and `_count`.
fn check_strictly(text: &str) {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut buckets: HashMap<String, Vec<f64>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(_), Some(_)) => {}
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                    assert!(kind != "counter" || name.ends_with("_total"), "counter without _total: {line}");
                    assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "TYPE twice: {line}");
                }
                (Some("EOF"), None, None) => {}
                _ => panic!("not a HELP, TYPE or EOF comment: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        assert!(value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value), "value: {line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(char::is_numeric),
            "name: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "labels: {line}");
            }
        }
        match types.get(name) {
            Some(_) => {}
            None => {
                let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s));
                let base = base.filter(|b| types.get(*b).map(String::as_str) == Some("histogram"));
                assert!(base.is_some(), "sample without a TYPE: {line}");
            }
        }
        *seen.entry(name.to_string()).or_default() += 1;
        if name.ends_with("_bucket") {
            let written = series.split("le=\"").nth(1).and_then(|r| r.split('"').next()).expect("le label");
            let le = if written == "+Inf" { f64::INFINITY } else { written.parse().expect("le is a number") };
            let key = series.replace(&format!("le=\"{written}\""), "");
            buckets.entry(key).or_default().push(le);
        }
    }
    for (series, les) in &buckets {
        assert!(les.windows(2).all(|w| w[0] < w[1]), "le not ascending in {series}: {les:?}");
        assert_eq!(les.last(), Some(&f64::INFINITY), "no +Inf bucket in {series}");
    }
    for (name, kind) in &types {
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                assert!(seen.contains_key(&format!("{name}{suffix}")), "{name} has no {suffix}");
            }
        }
    }
}

/// `promtool check metrics`: the one `$PROMTOOL` names (`scripts/test.sh`
/// always sets it, unpacking promtool when missing), else one on the PATH.
/// Only a plain `cargo test` on a machine without promtool skips it.
fn promtool(text: &str) {
    let works = |p: &str| std::process::Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success());
    let promtool = match std::env::var("PROMTOOL") {
        Ok(p) => {
            assert!(works(&p), "PROMTOOL={p} does not run");
            p
        }
        Err(_) => match ["promtool", "/usr/bin/promtool"].into_iter().find(|p| works(p)) {
            Some(p) => p.to_string(),
            None => {
                println!("SKIP: promtool not found (scripts/test.sh provides it); the strict parser checked the page");
                return;
            }
        },
    };
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}\n{text}");
}

/// Every series the Grafana dashboard (`docker/grafana/leye-dashboard.json`)
/// queries is on the page: a renamed metric cannot leave a panel empty.
fn dashboard_queries_exist(page: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker/grafana/leye-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 20, "the dashboard has {} queries", exprs.len());
    let mut names = std::collections::BTreeSet::new();
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("leye_").into_iter().chain(rest.find("process_")).min() {
            let name: String =
                rest[at..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit()).collect();
            rest = &rest[at + name.len()..];
            names.insert(name);
        }
    }
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let present = page.lines().any(|l| l.split(['{', ' ']).next() == Some(name.as_str()));
        assert!(present, "the dashboard queries {name}, which /metrics does not serve");
    }
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}
