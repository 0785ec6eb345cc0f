//! Credentials never printed (the store URL, a NATS URL, a config file, `--help`,
//! a trace-level log), and a bad `--store` refused, changing nothing.

use super::*;

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
