//! An operator's and a hostile user's review of the PostgreSQL store, several
//! servers on one store, `--store` and `leye store copy`, through the public
//! interfaces only (the `leye` binary, its gRPC API, its logs and /metrics).
//!
//! Each test says what the README / OPERATIONS / the issue promise. Ten of
//! them failed when written (passwords in --help, config errors and refused
//! values; a copy leaving a partial or mixed log, or running beside a server;
//! verify creating a store; a server that cannot append holding roles;
//! unpinned commands aborted across servers) and were fixed; the others
//! held from the start, but for a copy into a key store of other keys,
//! written with its fix (before it, the events went in, then the keys were
//! refused).
//!
//! PostgreSQL and nats-server are the test's own (free loopback ports), never
//! a server already running on the machine.

#![allow(clippy::unwrap_used)]

mod support;

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use leye_proto::{
    common::v1::CommandContext,
    enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient},
    person::v1 as pb,
};
use leye_store::test_postgres::TestPostgres;
use support::{Leye, NAME, NatsServer};
use tonic_types::StatusExt;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_leye");

/// `leye` with no `LEYE_*` setting of the test's environment.
fn leye() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    c
}

/// `leye generate --people N` into `data` (a synthetic population, its keys
/// and read model), which must succeed.
fn generate(data: &Path, people: u32) {
    let out = leye().args(["generate", "--people", &people.to_string(), "--data-dir"]).arg(data).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// A closed loopback port: nothing listens there.
fn closed_port() -> u16 {
    support::free_port()
}

// === credentials never printed ===

/// OPERATIONS: the store URL is "never printed with its password"; the issue:
/// credentials never printed, `--help` included. An operator who keeps the
/// URL in the environment (systemd `Environment=LEYE_STORE=…`, a container's
/// env) and runs `leye serve --help` sees it in clear: clap prints every set
/// variable's value (`[env: LEYE_STORE=postgres://leye:…@…]`).
#[test]
fn help_never_prints_the_store_password_from_the_environment() {
    for args in [&["serve", "--help"][..], &["verify", "--help"][..]] {
        let out = leye()
            .args(args)
            .env("LEYE_STORE", "postgres://leye:HelpPw-store1@db:5432/leye")
            .env("LEYE_KEY_STORE", "postgres://keys:HelpPw-keys2@db/keys")
            .env("LEYE_NATS_URL", "nats://pub:HelpPw-nats3@n1:4222")
            .output()
            .unwrap();
        let all = text(&out);
        assert!(out.status.success(), "{all}");
        // Expected: no password in `--help`. Happens: `[env: LEYE_STORE=postgres://leye:HelpPw-store1@db:5432/leye]`.
        for pw in ["HelpPw-store1", "HelpPw-keys2", "HelpPw-nats3"] {
            let line = all.lines().find(|l| l.contains(pw)).unwrap_or_default();
            assert!(!all.contains(pw), "leye {args:?} prints the password {pw}: {line}");
        }
    }
}

/// README: "Unknown keys are refused, naming the file and the key"; the
/// issue: credentials never printed (config dumps, error messages). A
/// mistyped key on the store's line, or a missing quote, makes the refusal
/// quote the whole line, password included (the TOML error's snippet).
#[test]
fn a_config_file_error_never_quotes_the_store_password() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("typo.toml", "stroe = \"postgres://leye:CfgPw-typo1@127.0.0.1:1/leye\"\n", "stroe"),
        ("quote.toml", "store = \"postgres://leye:CfgPw-quote2@127.0.0.1:1/leye\n", "quote.toml"),
        ("type.toml", "store = [\"postgres://leye:CfgPw-type3@127.0.0.1:1/leye\"]\n", "store"),
    ];
    let mut leaks = Vec::new();
    for (file, body, named) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, body).unwrap();
        let data = dir.path().join(format!("data-{file}"));
        let out = leye()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{file}: refused: {all}");
        assert!(all.contains(named), "{file}: the error names {named}: {all}");
        assert!(!all.contains("panicked"), "{file}: no panic: {all}");
        let pw = body.split(':').nth(2).unwrap().split('@').next().unwrap();
        if all.contains(pw) {
            leaks.push(format!("{file}: {}", all.lines().find(|l| l.contains(pw)).unwrap()));
        }
    }
    // Expected: refused naming the file and key, without the password.
    // Happens: the line is quoted, e.g. `1 | stroe = "postgres://leye:CfgPw-typo1@…"`.
    assert!(leaks.is_empty(), "config errors print the password:\n{}", leaks.join("\n"));
}

/// The issue: a bad `--store` gets a clear error naming the setting and the
/// rule, changes nothing, never panics, and never prints the password. A
/// URL whose scheme lost its `//` (or the whole scheme) is refused, but the
/// refusal repeats it with the password in clear: the redaction only knows
/// `scheme://user:password@`.
#[test]
fn a_store_value_without_scheme_slashes_is_refused_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut leaks = Vec::new();
    for bad in [
        "postgres:leye:NoSl-Pw1@db:5432/leye",
        "postgres:/leye:NoSl-Pw1@db:5432/leye",
        "leye:NoSl-Pw1@db:5432/leye",
        "postgres//leye:NoSl-Pw1@db:5432/leye",
    ] {
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let out = leye().args(["verify", "--store", bad, "--data-dir"]).arg(&data).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{bad}: refused: {all}");
        assert!(all.contains("store") && all.contains("postgres://USER"), "{bad}: names the setting and forms: {all}");
        assert!(!all.contains("panicked"), "{bad}: {all}");
        assert!(entries(&data).is_empty(), "{bad}: nothing changed in the data directory: {:?}", entries(&data));
        if all.contains("NoSl-Pw1") {
            leaks.push(format!("{bad} -> {}", all.trim()));
        }
    }
    // Expected: refused without the password. Happens: "store: `leye:NoSl-Pw1@db:5432/leye` is not a store; …".
    assert!(leaks.is_empty(), "refusals print the password:\n{}", leaks.join("\n"));
}

/// A password with `/`, `?` or `#` in it (base64 and generated passwords
/// have them) is taken whole by the PostgreSQL driver (user info runs to the
/// first `@`), but the redaction stops the user info at the first `/` or `?`:
/// an unreachable database then prints the password in its error.
#[test]
fn a_password_with_a_slash_or_question_mark_is_masked_when_postgres_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let mut leaks = Vec::new();
    for (url, pw) in [
        (format!("postgres://leye:ab/SlashPw9@127.0.0.1:{port}/leye"), "SlashPw9"),
        (format!("postgres://leye:ab?QmarkPw9@127.0.0.1:{port}/leye"), "QmarkPw9"),
        (format!("postgresql://leye:ab#HashPw9@127.0.0.1:{port}/leye"), "HashPw9"),
    ] {
        let data = dir.path().join("data");
        let out = leye().args(["verify", "--store", &url, "--data-dir"]).arg(&data).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{url}: {all}");
        assert!(!all.contains("panicked"), "{url}: {all}");
        if all.contains(pw) {
            leaks.push(format!("{url}: {}", all.lines().find(|l| l.contains(pw)).unwrap()));
        }
    }
    // Expected: "cannot connect to PostgreSQL at postgres://leye:***@127.0.0.1:…".
    // Happens: the URL is printed as given, e.g. "postgres://leye:ab/SlashPw9@127.0.0.1:…".
    assert!(leaks.is_empty(), "passwords printed:\n{}", leaks.join("\n"));
}

/// `sqlite:` with an empty path, a path through a file, an unknown scheme:
/// refused with the setting named, never a panic, nothing made.
#[test]
fn bad_store_values_are_refused_naming_the_setting_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let through_file = format!("sqlite:{}/events.sqlite", file.display());
    for (bad, want) in [
        ("sqlite:", "needs a file path"),
        ("sqlite://", "needs a file path"),
        ("mysql://u:UnkPw1@h/d", "sqlite:PATH"),
        ("", "store"),
        (through_file.as_str(), "events.sqlite"),
    ] {
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let out = leye().args(["verify", "--store", bad, "--data-dir"]).arg(&data).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{bad:?}: refused: {all}");
        assert!(all.contains(want), "{bad:?}: says {want:?}: {all}");
        assert!(!all.contains("panicked") && !all.contains("UnkPw1"), "{bad:?}: {all}");
    }
}

// === a PostgreSQL of the test's own, with password authentication ===

/// Switches the test server to password (SCRAM) authentication over TCP
/// with `password` for the role `leye`; the socket stays trusted.
async fn require_password(pg: &TestPostgres, password: &str) {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let hba: String = client.query_one("SHOW hba_file", &[]).await.unwrap().get(0);
    std::fs::write(&hba, "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n").unwrap();
    client.batch_execute(&format!("ALTER ROLE leye PASSWORD '{password}'")).await.unwrap();
    client.query_one("SELECT pg_reload_conf()", &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// A wrong password (in the user info, or as `?password=`) and an
/// unreachable server: the CLI and `leye serve` fail with an error saying
/// what failed, and never print the password, right or wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_an_unreachable_server_fails_clearly_without_printing_it() {
    let Some(pg) = TestPostgres::start() else { return };
    require_password(&pg, "RightPw-7q").await;
    let dir = tempfile::tempdir().unwrap();
    let port = pg.port();
    let wrong = [
        format!("postgres://leye:WrongPw-3x@127.0.0.1:{port}/postgres"),
        format!("postgres://leye@127.0.0.1:{port}/postgres?password=WrongPw-3x&sslmode=disable"),
        format!("postgres://leye:WrongPw-3x@127.0.0.1:{}/postgres", closed_port()),
    ];
    generate(&dir.path().join("src"), 2);
    for url in &wrong {
        let data = dir.path().join("d1");
        let out = leye().args(["verify", "--store", url, "--data-dir"]).arg(&data).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{all}");
        assert!(!all.contains("WrongPw-3x") && !all.contains("panicked"), "{all}");
        assert!(all.contains("PostgreSQL") || all.contains("postgres"), "says what failed: {all}");
        // `leye store copy` into it.
        let from = format!("sqlite:{}", dir.path().join("src/events.sqlite").display());
        let out = leye()
            .args(["store", "copy", "--from", &from, "--to", url, "--data-dir"])
            .arg(dir.path().join("src"))
            .output()
            .unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{all}");
        assert!(!all.contains("WrongPw-3x") && !all.contains("panicked"), "{all}");
        // `leye serve`: stops (or waits) without printing the password.
        let log = dir.path().join("serve.log");
        let mut serve = std::process::Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("LEYE_") {
                serve.env_remove(k);
            }
        }
        let f = std::fs::File::create(&log).unwrap();
        let mut child = serve
            .args(["serve", "--listen", "127.0.0.1:0", "--store", url, "--data-dir"])
            .arg(dir.path().join("d2"))
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        let exited = child.try_wait().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(!logged.contains("WrongPw-3x") && !logged.contains("panicked"), "{logged}");
        match exited {
            Some(status) => assert!(!status.success(), "serve fails on a store it cannot open: {logged}"),
            None => assert!(logged.contains("PostgreSQL"), "still waiting after 20 s, says for what: {logged}"),
        }
    }
    // The right password works and is not printed either.
    let right = format!("postgres://leye:RightPw-7q@127.0.0.1:{port}/postgres");
    let from = format!("sqlite:{}", dir.path().join("src/events.sqlite").display());
    let out = leye()
        .args(["store", "copy", "--from", &from, "--to", &right, "--data-dir"])
        .arg(dir.path().join("src"))
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("RightPw-7q") && all.contains("postgres://leye:***@127.0.0.1"), "{all}");
    let out = leye().args(["verify", "--store", &right, "--data-dir"]).arg(dir.path().join("src")).output().unwrap();
    let all = text(&out);
    assert!(out.status.success() && all.contains("event store intact") && !all.contains("RightPw-7q"), "{all}");
}

// === leye store copy ===

/// README: `leye store copy` (service stopped); `leye restore` "refuses a
/// running server". The issue asks what happens if the service is running.
/// Expected: refused as `restore` does (the running server holds the data
/// directory's lock), since every command the server takes after the copy's
/// snapshot is missing from PostgreSQL. Happens: the copy succeeds while the
/// server takes commands; the event written after it is not in the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_is_refused_while_the_service_runs_on_the_source() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 3);
    let server = Leye::start(&data, None, &[]).await;
    let from = format!("sqlite:{}", data.join("events.sqlite").display());
    let out =
        leye().args(["store", "copy", "--from", &from, "--to", &pg.url(), "--data-dir"]).arg(&data).output().unwrap();
    let all = text(&out);
    let copied = out.status.success();
    // What the running server writes after the copy is not in the target.
    let mut client = server.client().await;
    let r = register(&mut client, 4242).await.expect("the running server takes commands");
    drop(server);
    assert!(
        !copied,
        "store copy succeeded while `leye serve` ran on the source (case {} registered after it is only in \
         SQLite): {all}",
        r.case_id
    );
    assert!(all.contains("running"), "the refusal says a server is running: {all}");
}

/// README: `leye store copy` "verifies the chain" on arrival; the issue:
/// what if the SQLite store was tampered with before copying? Expected: the
/// copy is refused and the target is left as it was (empty), so that the
/// repaired (or restored) source can then be copied. Happens: the pages
/// before the break are committed: the target holds a shorter log that
/// `leye verify` calls intact (a server started on it would serve a truncated
/// history), and copying the good source afterwards is refused ("already
/// holds events").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_refused_for_a_tampered_source_leaves_the_target_untouched() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // More events than the check at open covers (the last 1000).
    generate(&data, 90);
    let good = dir.path().join("good");
    support::copy_dir(&data, &good);
    let total: i64 = rusqlite::Connection::open(data.join("events.sqlite"))
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(total > 1200, "{total} events");
    {
        let conn = rusqlite::Connection::open(data.join("events.sqlite")).unwrap();
        conn.execute_batch("UPDATE events SET data = CAST(' ' || CAST(data AS TEXT) AS BLOB) WHERE position = 120")
            .unwrap();
    }
    let from = format!("sqlite:{}", data.join("events.sqlite").display());
    let url = pg.url();
    let out = leye()
        .args(["store", "copy", "--page", "50", "--from", &from, "--to", &url, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "a tampered source is refused: {all}");
    assert!(all.contains("broken") || all.contains("EDITED"), "{all}");

    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let in_target: i64 = client.query_one("SELECT count(*) FROM leye.events", &[]).await.map(|r| r.get(0)).unwrap_or(0);
    let verify = leye().args(["verify", "--store", &url, "--data-dir"]).arg(&data).output().unwrap();
    let verified = text(&verify);
    // The good source, copied now.
    let good_from = format!("sqlite:{}", good.join("events.sqlite").display());
    let again =
        leye().args(["store", "copy", "--from", &good_from, "--to", &url, "--data-dir"]).arg(&good).output().unwrap();
    let again_text = text(&again);
    assert!(
        in_target == 0,
        "after the refused copy the target holds {in_target} of the {total} events; `leye verify` on it says: \
         {verified}\ncopying the untampered source then: {again_text}"
    );
    assert!(again.status.success(), "{again_text}");
}

/// A second copy into a store that already holds events (the same source, or
/// another one) is refused and the target keeps what it held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_a_store_holding_events_is_refused_and_changes_nothing() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        generate(d, 3);
    }
    let url = format!("postgres://leye:CopyPw-5@127.0.0.1:{}/postgres", pg.port());
    let src = |d: &Path| format!("sqlite:{}", d.join("events.sqlite").display());
    let out = leye().args(["store", "copy", "--from", &src(&a), "--to", &url, "--data-dir"]).arg(&a).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let before = leye().args(["verify", "--store", &url, "--data-dir"]).arg(&a).output().unwrap();
    // B has another chain key; and the same source again.
    for (d, what) in [(&b, "another store"), (&a, "the same store again")] {
        let out =
            leye().args(["store", "copy", "--from", &src(d), "--to", &url, "--data-dir"]).arg(d).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{what}: refused: {all}");
        assert!(!all.contains("CopyPw-5") && !all.contains("panicked"), "{what}: {all}");
    }
    let after = leye().args(["verify", "--store", &url, "--data-dir"]).arg(&a).output().unwrap();
    assert!(after.status.success(), "{}", text(&after));
    let first_line = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .split("; walk")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(first_line(&before), first_line(&after), "the target is unchanged");
}

/// OPERATIONS: `leye store copy` brings the data directory's key store along,
/// and is all or nothing. A server started on the new PostgreSQL before the
/// copy, with keys of its own (another master key; the same master key but
/// another pseudonym key), made a key store the copy cannot join: refused,
/// saying why, before a single event is copied. Into a target whose key store
/// agrees, the copy goes through and a server with the data directory's keys
/// starts on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_a_key_store_of_other_keys_is_refused_before_any_event_is_copied() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 3);
    let from = format!("sqlite:{}", data.join("events.sqlite").display());
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    for (db, same_master, refusal) in
        [("other_master", false, "another master key"), ("other_pseudonym", true, "another pseudonym key")]
    {
        client.batch_execute(&format!("CREATE DATABASE {db}")).await.unwrap();
        let url = pg.url_for(db);
        let early = dir.path().join(db);
        // The data directory's chain key (the copy's own checks pass), its
        // master key or not.
        std::fs::create_dir_all(early.join("keys")).unwrap();
        std::fs::copy(data.join("keys/chain.key"), early.join("keys/chain.key")).unwrap();
        if same_master {
            std::fs::copy(data.join("keys/master.key"), early.join("keys/master.key")).unwrap();
        }
        Leye::start(&early, None, &["--store", &url]).await.terminate().await;
        let out =
            leye().args(["store", "copy", "--from", &from, "--to", &url, "--data-dir"]).arg(&data).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success() && all.contains(refusal), "{db}: {all}");
        let (target, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let events: i64 = target.query_one("SELECT count(*) FROM leye.events", &[]).await.unwrap().get(0);
        assert_eq!(events, 0, "{db}: no event copied");
    }
    // A target whose keys agree (a server given the data directory's chain,
    // master and pseudonym keys made it): accepted.
    client.batch_execute("CREATE DATABASE agreeing").await.unwrap();
    let url = pg.url_for("agreeing");
    let early = dir.path().join("agreeing");
    copy_keys(&data, &early);
    let pseudonym = data.join("pseudonym.key");
    let pseudonym = pseudonym.to_str().unwrap();
    Leye::start(&early, None, &["--store", &url, "--pseudonym-key-file", pseudonym]).await.terminate().await;
    let out = leye().args(["store", "copy", "--from", &from, "--to", &url, "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("data keys"), "the key store came along: {}", text(&out));
    let server = Leye::start(&early, None, &["--store", &url, "--pseudonym-key-file", pseudonym]).await;
    register(&mut server.client().await, 8).await.expect("a server with the copied store's keys takes commands");
}

// === two servers on one PostgreSQL ===

fn yesterday() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive().to_string()
}

fn ctx(command_id: &str, expected_revision: Option<u64>) -> Option<CommandContext> {
    Some(CommandContext {
        command_id: command_id.into(),
        office: "120111001".into(),
        expected_revision,
        ..Default::default()
    })
}

async fn register(
    client: &mut support::Client,
    person: u32,
) -> Result<leye_proto::common::v1::CommandResult, tonic::Status> {
    register_with(client, person, &Uuid::new_v4().to_string()).await
}

async fn register_with(
    client: &mut support::Client,
    person: u32,
    command_id: &str,
) -> Result<leye_proto::common::v1::CommandResult, tonic::Status> {
    let req = pb::RegisterUnemploymentRequest {
        context: ctx(command_id, None),
        effective_date: yesterday(),
        registration: Some(pb::Registration {
            resident_id: support::resident_id(person),
            name: NAME.into(),
            hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
            residence: Some(pb::Residence {
                district_code: "120111".into(),
                street_code: "120111001".into(),
                community_code: "120111001002".into(),
            }),
            education: pb::Education::Bachelor as i32,
            ..Default::default()
        }),
    };
    client.register_unemployment(req).await.map(|r| r.into_inner().result.unwrap())
}

fn contact(case_id: &str, command_id: &str, expected: Option<u64>, note: &str) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(command_id, expected),
        case_id: case_id.into(),
        effective_date: yesterday(),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: note.into(),
        }),
    }
}

fn copy_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("keys")).unwrap();
    for f in ["chain.key", "master.key"] {
        std::fs::copy(from.join("keys").join(f), to.join("keys").join(f)).unwrap();
    }
}

/// How many terms `l` has begun as the leader of `role` (its log).
fn role_leaders(l: &Leye, role: &str) -> usize {
    let log = l.log_text();
    if role == "publisher" {
        log.lines().filter(|x| x.contains("leading the publisher role: publishing")).count()
    } else {
        log.lines().filter(|x| x.contains("leading: starting") && x.contains(role)).count()
    }
}

/// Two `leye serve` on the PostgreSQL `url` (keys shared as a deployment
/// does), and the case of person 7 registered on the first.
async fn two_servers(dir: &Path, url: &str, nats: Option<&str>) -> (Leye, Leye, String) {
    let (a_dir, b_dir) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let a = Leye::start(&a_dir, nats, &["--store", url]).await;
    let case = register(&mut a.client().await, 7).await.unwrap().case_id;
    copy_keys(&a_dir, &b_dir);
    let pseudonym = a_dir.join("pseudonym.key");
    let b = Leye::start(&b_dir, nats, &["--store", url, "--pseudonym-key-file", pseudonym.to_str().unwrap()]).await;
    (a, b, case)
}

/// The contract (common.proto): `expected_revision` "If set and the case has
/// moved on, the command fails with ABORTED … Unset: the command is decided
/// on the latest revision"; README: `expected_revision`, *when set*, makes
/// the command fail with `ABORTED`. On one server, unpinned commands on one
/// case never fail so. On two servers on one PostgreSQL, an unpinned command
/// racing one on the other server is refused `ABORTED` (`REVISION_CONFLICT`):
/// the server does not decide it again on the latest revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpinned_commands_racing_across_two_servers_are_never_aborted() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b, case) = two_servers(dir.path(), &pg.url(), None).await;
    let (ca, cb) = (a.client().await, b.client().await);
    let mut aborted = Vec::new();
    let mut ok = 0;
    for round in 0..10 {
        let mut tasks = Vec::new();
        for i in 0..10 {
            let mut c = if i % 2 == 0 { ca.clone() } else { cb.clone() };
            let case = case.clone();
            tasks.push(tokio::spawn(async move {
                c.record_contact(contact(&case, &Uuid::new_v4().to_string(), None, &format!("r{round} {i}"))).await
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(s) => aborted.push(format!("{:?}: {}", s.code(), s.message())),
            }
        }
    }
    // Expected: all 100 accepted. Happens: some are refused ABORTED.
    assert!(aborted.is_empty(), "{ok} accepted, {} refused without a pinned revision: {aborted:?}", aborted.len());
}

/// README, "Running several servers": one winner per conflict, a retry on
/// another server answered from the first write; `ABORTED` with
/// `REVISION_CONFLICT` and `current_revision`; `ALREADY_EXISTS` for an id
/// reused; one server at a time runs each role; a standby takes a role
/// within about a second; no password in logs or /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_conflicts_retries_roles_and_no_password() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats")).await;
    let url = format!("postgres://leye:TwoSrvPw-9@127.0.0.1:{}/postgres", pg.port());
    let (mut a, mut b, case) = two_servers(dir.path(), &url, Some(&nats.url())).await;
    let (mut ca, mut cb) = (a.client().await, b.client().await);

    // Conflicts: each round, both servers at once on the same revision.
    let mut revision = 0u64;
    let mut winners = Vec::new();
    for round in 0..8 {
        let (ida, idb) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let (ra, rb) = tokio::join!(
            ca.record_contact(contact(&case, &ida, Some(revision), &format!("a{round}"))),
            cb.record_contact(contact(&case, &idb, Some(revision), &format!("b{round}")))
        );
        let oks = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(oks, 1, "round {round}: exactly one winner: {ra:?} / {rb:?}");
        let (won, lost, id, on_a) = match (ra, rb) {
            (Ok(won), Err(lost)) => (won, lost, ida, true),
            (Err(lost), Ok(won)) => (won, lost, idb, false),
            other => unreachable!("checked above: {other:?}"),
        };
        assert_eq!(lost.code(), tonic::Code::Aborted, "{lost:?}");
        let info = lost.get_error_details().error_info().cloned().expect("ErrorInfo");
        assert_eq!(info.reason, "REVISION_CONFLICT");
        assert_eq!(info.metadata.get("current_revision").map(String::as_str), Some(&*(revision + 1).to_string()));
        let won = won.into_inner().result.unwrap();
        revision = won.revision;
        winners.push((id, on_a, won, round));
    }
    // A retry on the other server is answered from the first write.
    for (id, on_a, won, round) in &winners {
        let other = if *on_a { &mut cb } else { &mut ca };
        let note = format!("{}{round}", if *on_a { "a" } else { "b" });
        let again = other.record_contact(contact(&case, id, Some(won.revision - 1), &note)).await.unwrap();
        let again = again.into_inner().result.unwrap();
        assert!(again.duplicate, "{again:?}");
        assert_eq!((&again.event_ids, again.revision), (&won.event_ids, won.revision));
        // The same id for another command.
        let reused = other.record_contact(contact(&case, id, None, "something else")).await.unwrap_err();
        assert_eq!(reused.code(), tonic::Code::AlreadyExists, "{reused:?}");
    }
    // A registration retried on the other server; the same command sent to both at once.
    let id = Uuid::new_v4().to_string();
    let first = register_with(&mut ca, 8, &id).await.unwrap();
    let again = register_with(&mut cb, 8, &id).await.unwrap();
    assert!(again.duplicate && again.event_ids == first.event_ids, "{first:?} / {again:?}");
    let mut both_written = 0;
    for round in 0..6 {
        let id = Uuid::new_v4().to_string();
        let note = format!("same {round}");
        let (ra, rb) = tokio::join!(
            ca.record_contact(contact(&case, &id, None, &note)),
            cb.record_contact(contact(&case, &id, None, &note))
        );
        let (ra, rb) = (ra.map(|r| r.into_inner().result.unwrap()), rb.map(|r| r.into_inner().result.unwrap()));
        // Expected: both answered, one of them as the duplicate of the other.
        let (ra, rb) = match (ra, rb) {
            (Ok(x), Ok(y)) => (x, y),
            other => panic!("round {round}: the same command on both servers at once: {other:?}"),
        };
        assert_eq!(ra.event_ids, rb.event_ids, "round {round}: one write: {ra:?} / {rb:?}");
        assert!(ra.duplicate != rb.duplicate, "round {round}: one is the duplicate: {ra:?} / {rb:?}");
        both_written += 1;
    }
    // Without a pinned revision, concurrent commands on both servers: every Ok is in the store once.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut c = if i % 2 == 0 { ca.clone() } else { cb.clone() };
        let case = case.clone();
        tasks.push(tokio::spawn(async move {
            c.record_contact(contact(&case, &Uuid::new_v4().to_string(), None, &format!("free {i}"))).await
        }));
    }
    let mut acked = Vec::new();
    let mut aborted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => acked.extend(r.into_inner().result.unwrap().event_ids),
            Err(s) if s.code() == tonic::Code::Aborted => aborted += 1,
            Err(s) => panic!("unexpected refusal {s:?}"),
        }
    }
    eprintln!("unpinned concurrent commands: {} ok, {aborted} ABORTED", acked.len());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let stream = format!("person-{case}");
    let n: i64 =
        client.query_one("SELECT count(*) FROM leye.events WHERE stream = $1", &[&stream]).await.unwrap().get(0);
    assert_eq!(
        n as usize,
        1 + winners.len() + both_written + acked.len(),
        "every acknowledged event once, nothing else"
    );

    // One leader per role.
    support::eventually("one leader for each role", Duration::from_secs(20), || {
        let (pa, pb) = (role_leaders(&a, "publisher"), role_leaders(&b, "publisher"));
        let (la, lb) = (role_leaders(&a, "hire-linker"), role_leaders(&b, "hire-linker"));
        async move { (pa + pb == 1 && la + lb == 1).then_some(()) }
    })
    .await;
    // No password in the logs or /metrics.
    for l in [&a, &b] {
        assert!(!l.log_text().contains("TwoSrvPw-9"), "log");
        let m = l.metrics_text().await.unwrap();
        assert!(!m.contains("TwoSrvPw-9"), "/metrics");
    }
    // The publisher's leader killed: the standby leads within about a second.
    let a_leads = role_leaders(&a, "publisher") == 1;
    let (leader, survivor) = if a_leads { (&mut a, &mut b) } else { (&mut b, &mut a) };
    leader.kill9().await;
    let killed = Instant::now();
    support::eventually("the survivor leads the publisher", Duration::from_secs(10), || {
        let leads = role_leaders(survivor, "publisher") == 1 && role_leaders(survivor, "hire-linker") == 1;
        async move { leads.then_some(()) }
    })
    .await;
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(3), "a standby took the roles after {took:?}, not about a second");
}

/// The issue: a bad `--store` "changes nothing". A mistyped SQLite path given
/// to a read-only command (`verify`, `replay`) must say there is no store
/// there, not make one (a new file, a new chain key) and call it intact.
#[test]
fn a_mistyped_sqlite_path_for_verify_makes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let typo = dir.path().join("evnets.sqlite");
    let out = leye()
        .args(["verify", "--store", &format!("sqlite:{}", typo.display()), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "verify of a store that is not there fails: {all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(!typo.exists(), "no store made at the mistyped path: {all}");
    assert!(entries(&data).is_empty(), "nothing made in the data directory: {:?}; {all}", entries(&data));
}

/// Bad PostgreSQL URLs that reach the driver: a clear error, never a panic.
#[test]
fn malformed_postgres_urls_fail_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "postgres://",
        "postgres://127.0.0.1:99999/x",
        "postgres://[::1/x",
        "postgres://leye:MalPw-1@127.0.0.1:1/x?sslmode=bogus",
        "postgres://leye:MalPw-1@127.0.0.1:1/x?connect_timeout=-5",
        "postgresql://%zz:MalPw-1@127.0.0.1:1/x",
    ] {
        let data = dir.path().join("data");
        let out = leye().args(["verify", "--store", bad, "--data-dir"]).arg(&data).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{bad}: {all}");
        assert!(!all.contains("panicked") && !all.contains("MalPw-1"), "{bad}: {all}");
        assert!(all.contains("PostgreSQL") || all.contains("store"), "{bad}: says what failed: {all}");
    }
}

/// README: "Layered: built-in defaults < config file < environment < flags";
/// `--store` from the file, `LEYE_STORE` or the flag, never printed with its
/// password.
#[test]
fn store_from_file_environment_or_flag_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 2);
    let sqlite = format!("sqlite:{}", data.join("events.sqlite").display());
    let closed = format!("postgres://leye:LayerPw-4@127.0.0.1:{}/leye", closed_port());
    let conf = dir.path().join("leye.toml");
    std::fs::write(&conf, format!("store = \"{closed}\"\n")).unwrap();
    let verify = |env: Option<&str>, flag: Option<&str>| {
        let mut c = leye();
        c.args(["verify", "--config"]).arg(&conf).arg("--data-dir").arg(&data);
        if let Some(e) = env {
            c.env("LEYE_STORE", e);
        }
        if let Some(f) = flag {
            c.args(["--store", f]);
        }
        let out = c.output().unwrap();
        let all = text(&out);
        assert!(!all.contains("LayerPw-4") && !all.contains("panicked"), "{all}");
        (out.status.success(), all)
    };
    let (ok, all) = verify(None, None);
    assert!(!ok && all.contains("postgres://leye:***@127.0.0.1"), "the file's store is used: {all}");
    let (ok, all) = verify(Some(&sqlite), None);
    assert!(ok && all.contains("event store intact"), "the environment wins over the file: {all}");
    let (ok, all) = verify(Some(&closed), Some(&sqlite));
    assert!(ok && all.contains("event store intact"), "the flag wins over the environment: {all}");
}

/// OPERATIONS: "A NATS URL may carry credentials …; the service never prints
/// them (logs show hosts and ports only)": a user and password, and a token
/// alone, one server up and one down, in the log and /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_credentials_are_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats")).await;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let urls = format!("nats://pub:NatsPw-1@127.0.0.1:{},nats://NatsTok-2@127.0.0.1:{}", nats.port, closed_port());
    let server = Leye::start(&data, Some(&urls), &[]).await;
    let mut c = server.client().await;
    register(&mut c, 11).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let log = server.log_text();
    let metrics = server.metrics_text().await.unwrap();
    for secret in ["NatsPw-1", "NatsTok-2"] {
        assert!(!log.contains(secret), "log: {}", log.lines().find(|l| l.contains(secret)).unwrap());
        assert!(!metrics.contains(secret), "/metrics");
    }
}

/// README: every server needs the same chain key ("another key refuses
/// appends, `CHAIN_KEY`"); one server at a time runs the hire linker and the
/// policy finder, which append. A server started with the wrong chain key
/// refuses commands, as promised; but it still campaigns for the roles that
/// append: once it holds them (here: the healthy server restarted, as in a
/// rolling restart), the healthy server stands by and no hire is linked and
/// no eligibility noted anywhere, for as long as the bad server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_the_wrong_chain_key_leaves_the_appending_roles_to_a_healthy_one() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let mut a = Leye::start(&a_dir, None, &["--store", &url]).await;
    register(&mut a.client().await, 21).await.unwrap();
    // B: the master and pseudonym keys, but not the chain key (forgotten).
    std::fs::create_dir_all(b_dir.join("keys")).unwrap();
    std::fs::copy(a_dir.join("keys/master.key"), b_dir.join("keys/master.key")).unwrap();
    let pseudonym = a_dir.join("pseudonym.key");
    let b = Leye::start(&b_dir, None, &["--store", &url, "--pseudonym-key-file", pseudonym.to_str().unwrap()]).await;
    let refused = register(&mut b.client().await, 22).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "B refuses commands: {refused:?}");
    // A restarts (SIGTERM, then the same command line).
    a.terminate().await;
    // (Fixer: this step waited for B to take the hire linker, the defect itself;
    // it now checks that B, whose store refuses appends, does not take it.)
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(role_leaders(&b, "hire-linker") + role_leaders(&b, "policy-finder"), 0, "{}", b.log_text());
    let a = Leye::start(&a_dir, None, &["--store", &url]).await;
    let person = register(&mut a.client().await, 23).await.expect("A takes commands again").case_id;
    // A hire recorded through A, the healthy server.
    let mut e = EnterpriseCaseServiceClient::new(support::authed(a.addr, &a.token()).await.unwrap());
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let enterprise = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(&Uuid::new_v4().to_string(), None),
            effective_date: (today - chrono::Duration::days(400)).to_string(),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: credit_code("91120111MA05JX0K0"),
                name: "天津西青测试制造有限公司".into(),
                district: "120111".into(),
                industry_code: "C3411".into(),
                insured_employees: 300,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    e.record_hire(epb::RecordHireRequest {
        context: ctx(&Uuid::new_v4().to_string(), None),
        case_id: enterprise.clone(),
        effective_date: today.to_string(),
        hire: Some(epb::Hire {
            hire_id: "h1".into(),
            person_case_id: person,
            contract_months: 12,
            started_on: today.to_string(),
        }),
    })
    .await
    .expect("hire recorded");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut link = epb::HireLink::Pending as i32;
    while Instant::now() < deadline && link == epb::HireLink::Pending as i32 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let case = e
            .get_enterprise(epb::GetEnterpriseRequest { case_id: enterprise.clone(), as_of: None })
            .await
            .unwrap()
            .into_inner()
            .case
            .unwrap();
        link = case.hires.first().map_or(link, |h| h.link);
    }
    // Expected: the hire is linked within a few seconds (a standby takes a role
    // within about a second). Happens: it stays HIRE_LINK_PENDING; the hire
    // linker is held by B, whose store refuses appends.
    assert_ne!(
        link,
        epb::HireLink::Pending as i32,
        "15 s after the hire it is still pending; A leads the hire linker: {}; B's log:\n{}",
        role_leaders(&a, "hire-linker") >= 1,
        b.log_text()
            .lines()
            .filter(|l| l.contains("leading") || l.contains("ALERT") || l.contains("link"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

/// README: `UNAVAILABLE` when "the store fails"; PostgreSQL restarting costs
/// the appends in flight, not the store. Through gRPC: while PostgreSQL is
/// down a command is refused `UNAVAILABLE` without the password, and once it
/// is back the same command (same id) is accepted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_then_back_commands_are_unavailable_then_accepted_once() {
    let Some(mut pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://leye:DownPw-6@127.0.0.1:{}/postgres", pg.port());
    let data = dir.path().join("a");
    std::fs::create_dir_all(&data).unwrap();
    let server = Leye::start(&data, None, &["--store", &url]).await;
    let mut c = server.client().await;
    let case = register(&mut c, 31).await.unwrap().case_id;
    pg.stop();
    let id = Uuid::new_v4().to_string();
    let down = tokio::time::timeout(Duration::from_secs(30), c.record_contact(contact(&case, &id, None, "down")))
        .await
        .expect("answered while PostgreSQL is down")
        .unwrap_err();
    assert_eq!(down.code(), tonic::Code::Unavailable, "{down:?}");
    assert!(!down.message().contains("DownPw-6"), "{down:?}");
    let m = server.metrics_text().await.unwrap();
    assert!(!m.contains("DownPw-6"));
    pg.restart();
    let r = support::eventually("the command accepted once PostgreSQL is back", Duration::from_secs(30), || {
        let mut c = c.clone();
        let req = contact(&case, &id, None, "down");
        async move { c.record_contact(req).await.ok() }
    })
    .await
    .into_inner()
    .result
    .unwrap();
    assert_eq!(r.revision, 1, "{r:?}");
    assert!(!server.log_text().contains("DownPw-6"), "log");
}

/// README: `leye store copy` into "a new, empty store", verified on arrival.
/// The issue: what if the service is running? Here a server already runs on
/// the (empty) PostgreSQL target (an operator started the new servers before
/// copying) and takes a command while the copy runs. Expected: the copy is
/// refused, or the target ends either untouched or holding the whole source.
/// Happens: the copy fails part-way and the target keeps a mix: a prefix of
/// the source and the new server's events chained onto it, a log that
/// verifies; the rest of the source can never be copied in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_the_target_during_the_copy_never_leaves_a_mixed_log() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 90);
    let total: i64 = rusqlite::Connection::open(data.join("events.sqlite"))
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    // The new server on PostgreSQL, with the source's keys (as the README says).
    let url = pg.url();
    let target_dir = dir.path().join("target-server");
    copy_keys(&data, &target_dir);
    let pseudonym = data.join("pseudonym.key");
    let server =
        Leye::start(&target_dir, None, &["--store", &url, "--pseudonym-key-file", pseudonym.to_str().unwrap()]).await;
    let mut c = server.client().await;
    let from = format!("sqlite:{}", data.join("events.sqlite").display());
    let mut copy = tokio::process::Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            copy.env_remove(k);
        }
    }
    let copy = copy
        .args(["store", "copy", "--page", "10", "--from", &from, "--to", &url, "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let copying = tokio::spawn(copy.wait_with_output());
    // Wait until the copy has begun writing, then one command on the server.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = client.query_one("SELECT count(*) FROM leye.events", &[]).await.map(|r| r.get(0)).unwrap_or(0);
        if n > 0 || Instant::now() > deadline || copying.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let registered = register(&mut c, 4343).await;
    let out = copying.await.unwrap().unwrap();
    let all = text(&out);
    let in_target: i64 = client.query_one("SELECT count(*) FROM leye.events", &[]).await.unwrap().get(0);
    let verify = leye().args(["verify", "--store", &url, "--data-dir"]).arg(&data).output().unwrap();
    eprintln!("command on the target server: {registered:?}\ncopy: {all}\nverify: {}", text(&verify));
    let whole = out.status.success() && in_target >= total;
    assert!(
        whole || in_target == 0,
        "the target holds {in_target} events (the source {total}), the copy said: {all}\nverify: {}",
        text(&verify)
    );
}

/// `leye verify` is a check ("safe while the service runs"; the issue: a bad
/// setting "changes nothing"). Pointed at the new, empty PostgreSQL database
/// with a wrong `--data-dir` (one without keys), as an operator checking the
/// connection before `leye store copy` might, it must make nothing. Happens:
/// it creates a new chain key file there, creates the schema and seals the
/// empty store's chain with that new key, says "event store intact: 0
/// events", and the real copy (with the real data directory) is then refused:
/// "the target's chain uses key …, the source's …".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_on_an_empty_postgres_creates_nothing() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wrong");
    std::fs::create_dir_all(&data).unwrap();
    let out = leye().args(["verify", "--store", &pg.url(), "--data-dir"]).arg(&data).output().unwrap();
    let all = text(&out);
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let schemas: i64 = client
        .query_one("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'leye'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!all.contains("panicked"), "{all}");
    // The real copy afterwards.
    let real = dir.path().join("real");
    generate(&real, 2);
    let from = format!("sqlite:{}", real.join("events.sqlite").display());
    let copy =
        leye().args(["store", "copy", "--from", &from, "--to", &pg.url(), "--data-dir"]).arg(&real).output().unwrap();
    assert!(
        entries(&data).is_empty() && schemas == 0 && copy.status.success(),
        "verify made {:?} in the data directory and {schemas} schema(s) `leye`; it said: {all}\nthe copy then: {}",
        entries(&data),
        text(&copy).lines().filter(|l| !l.contains("NOTICE")).collect::<Vec<_>>().join("\n")
    );
}

/// Credentials are never printed, also when an operator turns logging up to
/// `trace` to troubleshoot: `leye serve` on PostgreSQL with password
/// authentication, a command, then the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_in_a_trace_level_log() {
    let Some(pg) = TestPostgres::start() else { return };
    require_password(&pg, "TracePw-8k").await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("postgres://leye:TracePw-8k@127.0.0.1:{}/postgres", pg.port());
    let log = data.join("trace.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["serve", "--policy-finder", "false", "--store", &url, "--data-dir"])
        .arg(&data)
        .args(support::ON_PORT_ZERO)
        .env("LEYE_LOG", "trace")
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, _) = support::listening(&log, &mut child).await;
    let token = support::token(&data);
    let channel = support::eventually("gRPC", Duration::from_secs(30), || {
        let token = token.clone();
        async move { support::authed(addr, &token).await }
    })
    .await;
    let mut c = pb::person_case_service_client::PersonCaseServiceClient::new(channel);
    register(&mut c, 51).await.unwrap();
    let _ = child.kill().await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.len() > 1000, "a trace log was written");
    assert!(
        !text.contains("TracePw-8k"),
        "{}",
        text.lines().find(|l| l.contains("TracePw-8k")).unwrap_or_default().chars().take(400).collect::<String>()
    );
}

/// `leye store copy --page` at its limits: a clear outcome, never a panic.
#[test]
fn store_copy_page_sizes_at_the_limits_do_not_panic() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 2);
    let from = format!("sqlite:{}", data.join("events.sqlite").display());
    for (i, page) in ["18446744073709551615", "9223372036854775808", "0"].iter().enumerate() {
        let url = pg.url_for("postgres").replace("/postgres", &format!("/db{i}"));
        let admin = pg.url();
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let (c, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            c.batch_execute(&format!("CREATE DATABASE db{i}")).await.unwrap();
        });
        let out = leye()
            .args(["store", "copy", "--page", page, "--from", &from, "--to", &url, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        let all = text(&out);
        assert!(!all.contains("panicked"), "--page {page}: {all}");
    }
}
