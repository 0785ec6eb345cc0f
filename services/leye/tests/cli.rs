//! The `leye` binary as an operator and an auditor use it: `leye serve` as a
//! process stopped by SIGTERM, then `leye replay` on its data directory.

mod support;

use std::{
    io::Read,
    process::{Command, Stdio},
    time::Duration,
};

use leye_proto::{
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};

const BIN: &str = env!("CARGO_BIN_EXE_leye");
const NAME: &str = "李审计";

fn resident_id() -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first17 = "12011119830704005";
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// Never the same port twice in this process (tests run side by side).
fn free_port() -> u16 {
    leye_store::test_postgres::free_port().unwrap()
}

fn yesterday() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_until_sigterm_then_replay_for_the_auditor() {
    let data = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(data.path())
        .env("LEYE_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut client = None;
    for _ in 0..200 {
        // `leye serve` on loopback creates its development issuer; the token comes from it.
        if let Some(c) = support::authed(addr.parse().unwrap(), &support::token(data.path())).await {
            client = Some(PersonCaseServiceClient::new(c));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut client = client.expect("leye serve came up");
    let registration = pb::Registration {
        resident_id: resident_id(),
        name: NAME.into(),
        hukou: Some(pb::Hukou { district_code: "130102".into(), nature: pb::HukouNature::Rural as i32 }),
        residence: Some(pb::Residence {
            district_code: "120116".into(),
            street_code: "120116002".into(),
            community_code: "120116002003".into(),
        }),
        education: pb::Education::JuniorSecondary as i32,
        groups: vec![pb::PersonGroup::MigrantWorker as i32],
        personal_data: 0,
        ..Default::default()
    };
    let context = || {
        Some(CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            actor: String::new(), // the principal of the token acts
            office: "binhai-1".into(),
            ..Default::default()
        })
    };
    let case_id = client
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: context(),
            effective_date: yesterday(),
            registration: Some(registration),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    // A refused command is logged too: still without personal data.
    let refused = client
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: context(),
            effective_date: yesterday(),
            registration: Some(pb::Registration {
                resident_id: resident_id(),
                name: NAME.into(),
                ..Default::default()
            }),
        })
        .await;
    assert!(refused.is_err());
    drop(client);

    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.wait().unwrap();
    assert!(exit.success(), "leye serve exits cleanly on SIGTERM: {exit:?}");
    let mut logs = String::new();
    server.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("SIGTERM"), "{logs}");
    assert!(logs.contains(&case_id), "logs name the case by its pseudonymous id");
    assert!(!logs.contains(&resident_id()[..14]), "no resident ID in logs:\n{logs}");
    assert!(!logs.contains(NAME), "no name in logs");

    // Both requests are in the audit trail, whose chain the operator can check offline.
    let out = Command::new(BIN).args(["audit", "verify", "--data-dir"]).arg(data.path()).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("audit trail intact: 2 records"), "{said}");

    let out = Command::new(BIN).args(["replay", &case_id, "--data-dir"]).arg(data.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("revision 0"), "{text}");
    assert!(text.contains("person.registered"));
    assert!(text.contains("staff-0042 at office binhai-1"));
    assert!(text.contains(&format!("effective  {}", yesterday())));
    assert!(text.contains("1 event(s)"));

    let out = Command::new(BIN)
        .args(["replay", &case_id, "--format", "json", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.contains("\"event_type\":\"person.registered\""), "{line}");

    // What the service knew before anything was recorded: nothing, said so.
    let out = Command::new(BIN)
        .args(["replay", &case_id, "--recorded-until", "2000-01-01T00:00:00Z", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("0 event(s): case") && said.contains("not recorded yet"), "{said}");

    let out = Command::new(BIN)
        .args(["replay", &uuid::Uuid::new_v4().to_string(), "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such case"));
}

#[test]
fn a_bad_config_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leye.toml");
    std::fs::write(&file, "listen = 5\n").unwrap();
    let out = Command::new(BIN).args(["serve", "--config"]).arg(&file).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("leye.toml"), "{err}");
}

#[test]
fn an_invalid_policy_file_is_refused_at_start_naming_file_rule_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    // The shipped catalogue, with one amount made negative in the Xiqing file.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let mut text = std::fs::read_to_string(&path).unwrap();
            if path.file_name().unwrap() == "xiqing.toml" {
                let before = "amount = { kind = \"fixed\", fen = 100000 }";
                assert!(text.contains(before), "the fixture line is in xiqing.toml");
                text = text.replacen(before, "amount = { kind = \"fixed\", fen = -100 }", 1);
            }
            std::fs::write(policies.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let data = dir.path().join("data");
    let out = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
        .arg(&data)
        .arg("--policies")
        .arg(&policies)
        .env("LEYE_LOG", "info")
        .output()
        .unwrap();
    assert!(!out.status.success(), "leye serve must refuse an invalid catalogue");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("xiqing.toml"), "names the file: {stderr}");
    assert!(stderr.contains("xiqing.hiring.one-time"), "names the rule: {stderr}");
    assert!(stderr.contains("amount.fen"), "names the field: {stderr}");
    assert!(!data.join("events.sqlite").exists(), "nothing was opened or created");

    // The same directory, repaired, is accepted: the check is not a blanket refusal.
    let fixed =
        std::fs::read_to_string(policies.join("xiqing.toml")).unwrap().replacen("fen = -100", "fen = 100000", 1);
    std::fs::write(policies.join("xiqing.toml"), fixed).unwrap();
    let out = Command::new(BIN).args(["policies", "check"]).arg(&policies).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// An exposed address without TLS and authentication is refused before
/// anything opens; `--insecure true` lets it start, and every log line says so.
#[tokio::test]
async fn an_exposed_port_without_tls_is_refused_unless_insecure_and_then_every_line_says_so() {
    let data = tempfile::tempdir().unwrap();
    let exposed = format!("0.0.0.0:{}", free_port());
    let out = Command::new(BIN).args(["serve", "--listen", &exposed, "--data-dir"]).arg(data.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without TLS") && err.contains("--insecure"), "{err}");
    assert!(!data.path().join("events.sqlite").exists(), "nothing opened");

    let server = Command::new(BIN)
        .args(["serve", "--insecure", "true", "--listen", &exposed, "--data-dir"])
        .arg(data.path())
        .env("LEYE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port: u16 = exposed.rsplit(':').next().unwrap().parse().unwrap();
    let up = serving(&format!("127.0.0.1:{port}")).await;
    let (exit, logs) = stop(server).await;
    assert!(up, "leye serve --insecure came up: {logs}");
    assert!(exit.success(), "{logs}");
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 3, "{logs}");
    assert!(lines.iter().all(|l| l.contains("insecure=true")), "every line says insecure:\n{logs}");
    assert!(logs.contains("INSECURE"), "{logs}");
}

/// `leye dev token` and `leye dev certs` give a new user credentials with
/// nothing from outside; the token is accepted by a server on the same data
/// directory (the e2e tests use the same functions through the library).
#[tokio::test]
async fn dev_token_and_dev_certs_work_for_a_new_user() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["dev", "token", "--subject", "staff-0042", "--role", "caseworker", "--jurisdiction", "120111"])
        .args(["--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWS: {token}");
    let bad = Command::new(BIN)
        .args(["dev", "token", "--subject", "x", "--role", "chief", "--jurisdiction", "120111", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!bad.status.success(), "an unknown role is refused");

    let certs = data.path().join("certs");
    let out =
        Command::new(BIN).args(["dev", "certs", "--client", "sys-hr-bureau", "--out"]).arg(&certs).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("tls_cert = ") && said.contains("sha256 = "), "{said}");
    for file in ["leye-dev-ca.pem", "server.pem", "server.key.pem", "client-sys-hr-bureau.pem"] {
        assert!(certs.join(file).is_file(), "{file} written");
    }

    // The token works against `leye serve` on the same data directory.
    let addr = format!("127.0.0.1:{}", free_port());
    let server = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(data.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(serving(&addr).await, "leye serve came up");
    let channel = support::authed(addr.parse().unwrap(), &token).await.expect("connect");
    let request = pb::FindCaseByResidentIdRequest { resident_id: resident_id() };
    let answered = PersonCaseServiceClient::new(channel).find_case_by_resident_id(request).await;
    let answered = Some(answered.map(|_| ()).map_err(|s| s.code()));
    // The health probe for orchestrators: exit 0 when SERVING, no credentials needed.
    let probe = Command::new(BIN).args(["health", "--addr", &addr]).output().unwrap();
    let unknown = Command::new(BIN).args(["health", "--addr", &addr, "--service", "no.such.Service"]).output().unwrap();
    let _ = stop(server).await;
    assert_eq!(answered, Some(Err(tonic::Code::NotFound)), "authenticated, no such case");
    assert!(probe.status.success(), "{}", String::from_utf8_lossy(&probe.stderr));
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "SERVING");
    assert!(!unknown.status.success(), "an unknown service is not SERVING");
}

/// `leye` with none of the environment that would redirect it.
fn leye() -> Command {
    let mut c = Command::new(BIN);
    for var in ["LEYE_LOG", "LEYE_CONFIG", "LEYE_DATA_DIR", "LEYE_PSEUDONYM_KEY_FILE"] {
        c.env_remove(var);
    }
    c
}

/// The person case with the most events in a data directory.
fn busiest_case(data: &std::path::Path) -> String {
    let db = rusqlite::Connection::open(data.join("events.sqlite")).unwrap();
    let stream: String = db
        .query_row(
            "SELECT stream FROM events WHERE stream LIKE 'person-%' GROUP BY stream ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    stream.trim_start_matches("person-").to_string()
}

/// `leye generate` fills a data directory as `serve` would read it, with one
/// progress report instead of a log line per command, and leaves the read
/// model built: an export answers at once. A second run is refused unless
/// `--append`.
#[test]
fn generate_leaves_a_read_model_an_export_can_use_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = leye().args(["generate", "--people", "30", "--data-dir"]).arg(&data).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("command accepted"), "no log line per command:\n{err}");
    assert!(err.lines().count() < 20, "a few progress lines, not one per command:\n{err}");
    let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.starts_with("generate: done: 30 persons"), "ends with the summary:\n{err}");
    assert!(last.contains("events/s") || last.contains("events in"), "{last}");
    assert!(err.contains("events/s") && err.contains("s left"), "progress with rate and ETA:\n{err}");

    let out = leye().args(["projections", "export", "targets", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "no rebuild needed: {}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("\u{feff}id,") && csv.lines().count() > 2, "a BOM, then the header: {csv}");

    let again = leye().args(["generate", "--people", "30", "--data-dir"]).arg(&data).output().unwrap();
    assert!(!again.status.success(), "a data directory with events is not filled again by default");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already holds events") && err.contains("--append"), "says what to do: {err}");
    let append = leye().args(["generate", "--people", "30", "--append", "--data-dir"]).arg(&data).output().unwrap();
    let err = String::from_utf8_lossy(&append.stderr);
    assert!(append.status.success(), "{err}");
    assert!(err.contains("generate: done: 30 persons") && err.contains(" 0 events in"), "nothing new: {err}");

    // Errors say what to do next.
    let empty = dir.path().join("empty");
    let out = leye().args(["projections", "export", "targets", "--data-dir"]).arg(&empty).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("leye generate") && err.contains("leye serve"), "{err}");
    std::fs::create_dir(&empty).unwrap();
    std::fs::copy(data.join("events.sqlite"), empty.join("events.sqlite")).unwrap();
    let out = leye().args(["projections", "export", "targets", "--data-dir"]).arg(&empty).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not built yet") && err.contains("leye projections rebuild --data-dir"), "{err}");
    let out =
        leye().args(["replay", &uuid::Uuid::new_v4().to_string(), "--data-dir"]).arg(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no event store") && err.contains("leye generate"), "{err}");
}

/// An export says on stderr up to where its read model has folded the log,
/// and warns when that is behind the log's head: a server that leads no role
/// folds only while it is queried, and its export would otherwise be silently
/// old. Here the read model is put back to a copy taken before more events
/// were added.
#[test]
fn an_export_from_a_read_model_behind_the_log_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let generate = |args: &[&str]| {
        let out = leye().arg("generate").args(args).arg("--data-dir").arg(&data).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let export = || {
        let out = leye().args(["projections", "export", "targets", "--data-dir"]).arg(&data).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let csv = String::from_utf8(out.stdout).unwrap();
        assert!(csv.starts_with("\u{feff}id,"), "the rows are unchanged on stdout: {csv}");
        (csv, err)
    };
    generate(&["--people", "20", "--seed", "1"]);
    let (_, err) = export();
    assert!(err.contains("folded the whole log") && !err.contains("warning"), "{err}");
    let saved = dir.path().join("readmodel-before");
    support::copy_dir(&data.join("readmodel"), &saved);
    generate(&["--people", "20", "--seed", "2", "--append"]);
    std::fs::remove_dir_all(data.join("readmodel")).unwrap();
    support::copy_dir(&saved, &data.join("readmodel"));

    let (old, err) = export();
    assert!(err.contains("warning") && err.contains("positions behind the log"), "{err}");
    assert!(err.contains("publisher's leader"), "says what to do: {err}");
    let out = leye().args(["projections", "rebuild", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (new, err) = export();
    assert!(err.contains("folded the whole log") && !err.contains("warning"), "{err}");
    assert_ne!(old, new, "the stale export was indeed older");
}

/// `--config` (or LEYE_CONFIG) with a `data_dir` is read by every data
/// subcommand, as by `serve`; `--data-dir` still wins.
#[test]
fn every_subcommand_reads_the_data_dir_of_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("configured");
    let config = dir.path().join("leye.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n", data.to_str().unwrap())).unwrap();
    let out = leye().args(["generate", "--people", "10", "--config"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(data.join("events.sqlite").is_file(), "generate wrote where the config file says");
    let case = busiest_case(&data);

    let out = leye().args(["replay", &case, "--config"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("person.registered"));
    let out = leye().args(["projections", "export", "targets"]).env("LEYE_CONFIG", &config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("\u{feff}id,"));
    let out = leye().args(["projections", "rebuild", "--config"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The flag beats the file.
    let elsewhere = dir.path().join("elsewhere");
    let out =
        leye().args(["replay", &case, "--config"]).arg(&config).arg("--data-dir").arg(&elsewhere).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("elsewhere"));
    // `audit verify` and `dev token` too.
    let out = leye().args(["audit", "verify", "--config"]).arg(&config).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = leye()
        .args(["dev", "token", "--subject", "a-1", "--role", "analyst", "--jurisdiction", "120000", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(data.join("dev-auth").exists(), "the development issuer of the configured data directory");
}

/// `leye replay … | head` with stdout and stderr closed early: a normal end,
/// never a panic (exit 101).
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = leye().args(["generate", "--people", "10", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let case = busiest_case(&data);

    // `| head -c 10`, with stderr into the same pipe: read a little, close both.
    let mut child = leye()
        .args(["replay", &case, "--data-dir"])
        .arg(&data)
        .env("LEYE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(101), "no panic");
    assert!(status.success(), "{status:?}");

    // Both closed before anything is written: every write fails.
    for args in [vec!["replay", case.as_str()], vec!["projections", "export", "targets"]] {
        let mut child = leye()
            .args(&args)
            .arg("--data-dir")
            .arg(&data)
            .env("LEYE_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert!(status.success(), "{args:?}: {status:?}");
    }

    // stdout closed, stderr kept: nothing but the ordinary logs on stderr.
    let mut child = leye()
        .args(["replay", &case, "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}: {err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");

    // generate with stderr closed still fills the directory and builds the read model.
    let more = dir.path().join("more");
    let mut child = leye()
        .args(["generate", "--people", "5", "--data-dir"])
        .arg(&more)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert!(child.wait().unwrap().success());
    assert!(more.join("readmodel/CURRENT").is_file());
}

/// JSON logs are flat (an event's fields beside `level` and `message`), and a
/// refused request leaves a line an operator can filter, with ids and codes only.
#[tokio::test]
async fn json_logs_are_flat_and_refused_requests_are_logged() {
    let data = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let server = Command::new(BIN)
        .args(["--log-format", "json", "serve", "--listen", &addr, "--data-dir"])
        .arg(data.path())
        .env("LEYE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // No token at all: refused, and logged.
    assert!(serving(&addr).await, "leye serve came up");
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let request = pb::FindCaseByResidentIdRequest { resident_id: resident_id() };
    let refused = PersonCaseServiceClient::new(channel).find_case_by_resident_id(request).await.unwrap_err();
    let refused = Some(refused.code());
    let (_, logs) = stop(server).await;
    assert_eq!(refused, Some(tonic::Code::Unauthenticated));
    let lines: Vec<serde_json::Value> =
        logs.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect(l)).collect();
    assert!(lines.iter().all(|l| l.get("fields").is_none() && l.get("message").is_some()), "flat:\n{logs}");
    let line = lines.iter().find(|l| l["message"] == "request refused").expect("the refusal is logged");
    assert_eq!(line["operation"], "leye.person.v1.PersonCaseService/FindCaseByResidentId");
    assert_eq!(
        (line["code"].as_str(), line["reason"].as_str()),
        (Some("UNAUTHENTICATED"), Some("CREDENTIALS_MISSING"))
    );
    assert!(!logs.contains(&resident_id()[..14]), "no resident ID in the log");
    assert!(!logs.contains("Some("), "no Rust Debug text in the log:\n{logs}");
}

/// Whether `leye serve` at `addr` comes up: its health service (which needs no
/// credentials) answers within 10 s.
async fn serving(addr: &str) -> bool {
    for _ in 0..400 {
        let url = format!("http://{addr}");
        let channel = tonic::transport::Channel::from_shared(url).unwrap().connect().await;
        if let Ok(mut health) = channel.map(tonic_health::pb::health_client::HealthClient::new) {
            let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
            if health.check(request).await.is_ok() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// SIGTERM, then the exit status and what the server wrote on stderr.
async fn stop(mut server: std::process::Child) -> (std::process::ExitStatus, String) {
    // Let dropped clients' connection tasks close their sockets before this
    // thread blocks in wait() (else shutdown waits out its grace period).
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal(&server, "TERM");
    let exit = server.wait().unwrap();
    let mut logs = String::new();
    if let Some(mut err) = server.stderr.take() {
        err.read_to_string(&mut logs).unwrap();
    }
    (exit, logs)
}

/// `leye serve` with an empty data directory, caught starting: once it has
/// logged that its event store is open (after the signals are listened for,
/// long before it serves). Not "once its port accepts": a port chosen free
/// may be another test's by then, and a connection to it says nothing of this
/// server (CI once signalled a server that had not begun).
struct Starting {
    _data: tempfile::TempDir,
    server: std::process::Child,
    log: String,
    rest: std::io::BufReader<std::process::ChildStderr>,
}

impl Starting {
    fn new() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut server = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let rest = std::io::BufReader::new(server.stderr.take().unwrap());
        let mut starting = Self { _data: data, server, log: String::new(), rest };
        starting.wait_for("event store opened");
        starting
    }

    /// Reads the log until it holds `text`.
    fn wait_for(&mut self, text: &str) {
        use std::io::BufRead;
        while !self.log.contains(text) {
            assert!(self.rest.read_line(&mut self.log).unwrap() > 0, "leye serve ended before {text:?}: {}", self.log);
        }
    }

    /// Waits for the exit; its status and the whole log.
    fn exit(mut self) -> (std::process::ExitStatus, String) {
        self.rest.read_to_string(&mut self.log).unwrap();
        (self.server.wait().unwrap(), self.log)
    }
}

fn signal(server: &std::process::Child, name: &str) {
    let _ = Command::new("kill").args([&format!("-{name}"), &server.id().to_string()]).status();
}

/// OPERATIONS: `leye serve` stops cleanly on SIGTERM. Also one that arrives
/// while it starts (here once its event store is open). Before the signal was listened for from the start of
/// `serve`, such a SIGTERM ended the process by the signal's default action
/// (an orchestrator stopping a server it had just started, or a test stopping
/// one that had only just said it listens, on a loaded machine).
#[test]
fn a_sigterm_while_the_server_starts_stops_it_cleanly() {
    for round in 0..3 {
        let starting = Starting::new();
        signal(&starting.server, "TERM");
        let (status, logs) = starting.exit();
        assert!(status.success(), "round {round}: {status:?}\n{logs}");
        assert!(logs.contains("SIGTERM: shutting down"), "round {round}: {logs}");
    }
}

/// OPERATIONS: a second signal stops the server at once (an operator who
/// will not wait for a long start or drain). Here SIGINT, then SIGTERM, while
/// it starts: the process ends with 128 + SIGTERM's number, as a shell reports
/// a process a signal ended, saying why.
#[test]
fn a_second_signal_stops_the_server_at_once() {
    let mut starting = Starting::new();
    signal(&starting.server, "INT");
    // Two signals sent at once may be taken in either order: the second is
    // sent once the first was.
    starting.wait_for("SIGINT: shutting down");
    signal(&starting.server, "TERM");
    let (status, logs) = starting.exit();
    assert_eq!(status.code(), Some(143), "{status:?}\n{logs}");
    assert!(logs.contains("SIGINT: shutting down") && logs.contains("SIGTERM again: stopping at once"), "{logs}");
}
