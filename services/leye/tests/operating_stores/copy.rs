//! `leye store copy`: refused while a server runs on the source, for a tampered
//! source, into a store holding events or a key store of other keys, beside a
//! server on the target; all or nothing.

use super::*;

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
    let (url, early, pseudonym) = target_of_the_data_keys(&pg, &client, &data, "agreeing").await;
    let pseudonym = pseudonym.as_str();
    let out = leye().args(["store", "copy", "--from", &from, "--to", &url, "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("data keys"), "the key store came along: {}", text(&out));
    let server = Leye::start(&early, None, &["--store", &url, "--pseudonym-key-file", pseudonym]).await;
    register(&mut server.client().await, 8).await.expect("a server with the copied store's keys takes commands");
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

/// OPERATIONS: `leye store copy` into PostgreSQL "brings the data directory's
/// key store along". Two writes: the keys, then the log in one transaction.
/// The keys go first, so that no failure leaves the log in the target without
/// them (a server started there would open no copied person's resident ID or
/// name). Keys refused (a trigger refuses every key row): the copy fails
/// saying so, and nothing of the log is written. The log refused after the
/// keys went in (a trigger refuses every event row): the copy fails saying
/// the keys left in harm nothing. Each time, `leye store copy` again
/// completes the move, and a server there reads a copied registration in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_writes_the_keys_before_the_log_so_a_failure_never_leaves_the_log_without_them() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 3);
    let from = format!("sqlite:{}", data.join("events.sqlite").display());
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let (url, early, pseudonym) = target_of_the_data_keys(&pg, &client, &data, "target").await;
    let pseudonym = pseudonym.as_str();
    let (target, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let count = async |table: &str| -> i64 {
        target.query_one(&format!("SELECT count(*) FROM leye.{table}"), &[]).await.unwrap().get(0)
    };
    let copy = || leye().args(["store", "copy", "--from", &from, "--to", &url, "--data-dir"]).arg(&data).output();
    let refuse = |table: &str| {
        format!(
            "CREATE FUNCTION leye.refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the test refuses {table} rows'; END $$; \
             CREATE TRIGGER refuse_{table} BEFORE INSERT ON leye.{table} \
             FOR EACH ROW EXECUTE FUNCTION leye.refuse_{table}();"
        )
    };
    let keys_before = count("personal_key").await;

    target.batch_execute(&refuse("personal_key")).await.unwrap();
    let out = copy().unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("were not copied, so neither was the log") && all.contains("the test refuses personal_key rows"),
        "says the keys failed and the log was left alone: {all}"
    );
    assert_eq!(count("events").await, 0, "nothing of the log");
    assert_eq!(count("personal_key").await, keys_before, "no key either");
    target.batch_execute("DROP TRIGGER refuse_personal_key ON leye.personal_key").await.unwrap();

    target.batch_execute(&refuse("events")).await.unwrap();
    let out = copy().unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("the log was not copied") && all.contains("harm nothing") && all.contains("refuses events rows"),
        "says the log failed and the keys in are harmless: {all}"
    );
    assert_eq!(count("events").await, 0, "the log is all or nothing");
    assert!(count("personal_key").await > keys_before, "the keys went in first");
    target.batch_execute("DROP TRIGGER refuse_events ON leye.events").await.unwrap();

    let out = copy().unwrap();
    assert!(out.status.success() && text(&out).contains("data keys"), "{}", text(&out));
    assert!(count("events").await > 0, "the log is in");
    let server = Leye::start(&early, None, &["--store", &url, "--pseudonym-key-file", pseudonym]).await;
    let stream: String = target
        .query_one("SELECT stream FROM leye.events WHERE stream LIKE 'person-%' ORDER BY position LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    let as_of = Some(pb::get_case_request::AsOf::Revision(0));
    let request = pb::GetCaseRequest { case_id: stream.trim_start_matches("person-").into(), as_of };
    let case = server.client().await.get_case(request).await.unwrap().into_inner().case.unwrap();
    let registration = case.registration.unwrap();
    assert!(
        registration.resident_id.len() == 18 && !registration.name.is_empty(),
        "a copied person opens once the keys are in"
    );
}

/// A new database `db` whose schema and key store a first start made with
/// `data`'s chain, master and pseudonym keys (as an operator's first server
/// would): its URL, that server's data directory (beside `data`), and the
/// pseudonym key's path.
async fn target_of_the_data_keys(
    pg: &TestPostgres,
    client: &tokio_postgres::Client,
    data: &Path,
    db: &str,
) -> (String, std::path::PathBuf, String) {
    client.batch_execute(&format!("CREATE DATABASE {db}")).await.unwrap();
    let url = pg.url_for(db);
    let early = data.with_file_name(db);
    copy_keys(data, &early);
    let pseudonym = data.join("pseudonym.key").to_str().unwrap().to_owned();
    Leye::start(&early, None, &["--store", &url, "--pseudonym-key-file", &pseudonym]).await.terminate().await;
    (url, early, pseudonym)
}
