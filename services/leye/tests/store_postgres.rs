//! `leye store copy` from the embedded store into PostgreSQL, and the
//! commands that then read the PostgreSQL store (`verify`, `replay`), on a
//! PostgreSQL of the test's own.

use std::process::Command;

use leye_store::test_postgres::TestPostgres;

const BIN: &str = env!("CARGO_BIN_EXE_leye");

fn leye() -> Command {
    let mut c = Command::new(BIN);
    for var in ["LEYE_LOG", "LEYE_CONFIG", "LEYE_DATA_DIR", "LEYE_PSEUDONYM_KEY_FILE", "LEYE_STORE", "LEYE_KEY_STORE"] {
        c.env_remove(var);
    }
    c
}

fn text(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_generated_store_copied_into_postgres_verifies_and_replays_the_same() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = leye().args(["generate", "--people", "12", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    // The URL as an operator would give it, with a password (trust auth ignores it).
    let url = format!("postgres://leye:pa55word@127.0.0.1:{}/postgres", pg.port());
    let sqlite = format!("sqlite:{}", data.join("events.sqlite").display());

    let out =
        leye().args(["store", "copy", "--from", &sqlite, "--to", &url, "--data-dir"]).arg(&data).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("the copy's chain verifies"), "{stdout}");
    assert!(!stdout.contains("pa55word") && !stderr.contains("pa55word"), "no password printed: {stdout}{stderr}");
    assert!(stdout.contains("postgres://leye:***@127.0.0.1"), "{stdout}");
    // The personal-data keys came along, checked on arrival; a second key copy adds nothing.
    assert!(stdout.contains("data keys") && stdout.contains("PostgreSQL key store"), "{stdout}");
    let out = leye().args(["keys", "copy", "--store", &url, "--data-dir"]).arg(&data).output().unwrap();
    let (keys_out, stderr) = text(&out);
    assert!(out.status.success() && keys_out.contains("checked (0 new)"), "{keys_out}{stderr}");
    assert!(!keys_out.contains("pa55word"));

    // A second copy is refused: the target holds events.
    let out =
        leye().args(["store", "copy", "--from", &sqlite, "--to", &url, "--data-dir"]).arg(&data).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success() && stderr.contains("already holds events"), "{stdout}{stderr}");
    assert!(!stderr.contains("pa55word"));

    // `leye verify` walks the PostgreSQL chain.
    let out = leye().args(["verify", "--store", &url, "--data-dir"]).arg(&data).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success() && stdout.contains("event store intact"), "{stdout}{stderr}");
    let sqlite_verify = leye().args(["verify", "--data-dir"]).arg(&data).output().unwrap();
    let (sqlite_out, _) = text(&sqlite_verify);
    let last_hash = |s: &str| s.split("last hash ").nth(1).map(|r| r[..64].to_string());
    assert_eq!(last_hash(&stdout), last_hash(&sqlite_out), "the same last link: {stdout} / {sqlite_out}");

    // A case replays the same from either store.
    let db = rusqlite::Connection::open(data.join("events.sqlite")).unwrap();
    let stream: String = db
        .query_row(
            "SELECT stream FROM events WHERE stream LIKE 'person-%' GROUP BY stream ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let case = stream.trim_start_matches("person-");
    let from_sqlite = leye().args(["replay", case, "--data-dir"]).arg(&data).output().unwrap();
    let from_pg = leye().args(["replay", case, "--store", &url, "--data-dir"]).arg(&data).output().unwrap();
    assert!(from_pg.status.success(), "{:?}", text(&from_pg));
    assert!(from_sqlite.stdout.len() > 100);
    assert_eq!(from_pg.stdout, from_sqlite.stdout, "the same history");
    // Opened with the keys in PostgreSQL, from another data directory that
    // holds only the master key (no key store file): the same resident IDs.
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("keys")).unwrap();
    for f in ["master.key", "chain.key"] {
        std::fs::copy(data.join("keys").join(f), other.join("keys").join(f)).unwrap();
    }
    let elsewhere = leye().args(["replay", case, "--store", &url, "--data-dir"]).arg(&other).output().unwrap();
    assert!(elsewhere.status.success(), "{:?}", text(&elsewhere));
    assert_eq!(elsewhere.stdout, from_sqlite.stdout, "the same history, personal data opened from PostgreSQL");
    let replayed = String::from_utf8_lossy(&elsewhere.stdout);
    assert!(replayed.contains("resident_id") && !replayed.contains("erased"), "opened, not withheld: {replayed}");
    assert!(!other.join("keys/keys.sqlite").exists());
    // The keys in PostgreSQL with another event store (as several servers on
    // KurrentDB keep them): `--key-store` names the database, here with the
    // SQLite log; the history is the same, opened, and no key file is made.
    let sqlite_log = format!("sqlite:{}", data.join("events.sqlite").display());
    let keys_apart = leye()
        .args(["replay", case, "--store", &sqlite_log, "--key-store", &url, "--data-dir"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(keys_apart.status.success(), "{:?}", text(&keys_apart));
    assert_eq!(keys_apart.stdout, from_sqlite.stdout, "the same history, personal data opened from PostgreSQL");
    assert!(!other.join("keys/keys.sqlite").exists(), "no key store file made");
    let (_, stderr) = text(&keys_apart);
    assert!(!stderr.contains("pa55word"), "{stderr}");
    // A key store that is not PostgreSQL is refused, naming the setting.
    let out = leye()
        .args(["replay", case, "--key-store", "kurrentdb://u:pa55word@k1:2113", "--data-dir"])
        .arg(&other)
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success() && stderr.contains("key_store:") && !stderr.contains("pa55word"), "{stderr}");

    // What only a SQLite file has is refused for PostgreSQL, saying what to do instead.
    let backup = dir.path().join("backup");
    let out = leye().args(["backup"]).arg(&backup).args(["--store", &url, "--data-dir"]).arg(&data).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success() && stderr.contains("pg_basebackup") && !stderr.contains("pa55word"), "{stderr}");
    assert!(!backup.exists(), "nothing written");

    // Bad locators are named, with the forms, without the password.
    let out = leye().args(["verify", "--store", "mysql://u:pa55word@h/d", "--data-dir"]).arg(&data).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success() && stderr.contains("sqlite:PATH") && !stderr.contains("pa55word"), "{stderr}");
}
