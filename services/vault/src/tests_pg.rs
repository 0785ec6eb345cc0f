//! The PostgreSQL key store against a PostgreSQL of the tests' own
//! (`leye_store::test_postgres`; skipped when none is installed, unless
//! `LEYE_REQUIRE_POSTGRES=1`).

use std::time::{Duration, Instant};

use leye_store::test_postgres::TestPostgres;

use crate::pgstore::ASSIGN;

use super::*;

fn clear(o: Opened) -> Vec<u8> {
    match o {
        Opened::Clear(c) => c.to_vec(),
        Opened::Erased => panic!("erased"),
    }
}

fn options(pg: &TestPostgres) -> PgKeyStoreOptions {
    let mut o = PgKeyStoreOptions::new(pg.url(), pg.url());
    o.poll_interval = Duration::from_millis(100);
    o.max_staleness = Duration::from_millis(600);
    o
}

/// A master key file under `dir`, holding `key`.
fn key_file(dir: &Path, name: &str, key: &MasterKey) -> KeyFile {
    let path = dir.join(name);
    master::write_private(&path, key.to_hex().as_bytes(), false).unwrap();
    KeyFile::new(path)
}

fn client(pg: &TestPostgres) -> (tokio::runtime::Runtime, tokio_postgres::Client) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        c
    });
    (rt, client)
}

#[test]
fn two_servers_share_keys_and_an_erasure_on_one_reaches_the_others_cache_within_the_staleness_bound() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let master = MasterKey::generate();
    let (ka, kb) = (key_file(dir.path(), "a.key", &master), key_file(dir.path(), "b.key", &master));
    let a = Vault::open_postgres(&options(&pg), &ka, Cipher::Aes256Gcm).unwrap();
    let b = Vault::open_postgres(&options(&pg), &kb, Cipher::Aes256Gcm).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    b.on_erasure({
        let seen = seen.clone();
        move |s| seen.lock().unwrap().push(s)
    });
    let (p, q) = (Uuid::new_v4(), Uuid::new_v4());
    let sp = a.seal(p, b"e", b"120111199001010052").unwrap();
    let sq = a.seal(q, b"e", b"other person").unwrap();
    // B reads what A sealed (the key came from PostgreSQL) and caches the key.
    assert_eq!(clear(b.unseal(p, b"e", &sp).unwrap()), b"120111199001010052");
    assert!(b.caches.keys.lock().unwrap().contains_key(&sp.kid), "B caches the key");
    assert!(b.cache_fresh());
    assert_eq!(a.counts().unwrap(), b.counts().unwrap(), "one store");

    let erased_at = Instant::now();
    assert_eq!(a.erase(p, &[sp.kid]).unwrap(), 1);
    // B stops serving the person within the bound; meanwhile it serves the cached key or nothing.
    let limit = options(&pg).max_staleness;
    loop {
        match b.unseal(p, b"e", &sp).unwrap() {
            Opened::Erased => break,
            Opened::Clear(_) => assert!(erased_at.elapsed() < limit, "B still serves the person after {limit:?}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!("B stopped serving the erased person after {:?}", erased_at.elapsed());
    assert!(!b.caches.keys.lock().unwrap().contains_key(&sp.kid), "dropped from B's cache");
    assert_eq!(*seen.lock().unwrap(), vec![p], "B's callers were told");
    assert_eq!(clear(b.unseal(q, b"e", &sq).unwrap()), b"other person", "the other person stays");
    // A new key for the erased subject on B is a new one, never the destroyed one.
    assert_ne!(b.seal(p, b"e", b"again").unwrap().kid, sp.kid);
}

#[test]
fn nothing_new_is_sealed_under_a_key_another_server_destroyed_even_before_the_erasure_is_followed() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let master = MasterKey::generate();
    let (ka, kb) = (key_file(dir.path(), "a.key", &master), key_file(dir.path(), "b.key", &master));
    let a = Vault::open_postgres(&options(&pg), &ka, Cipher::Aes256Gcm).unwrap();
    let b = Vault::open_postgres(&options(&pg), &kb, Cipher::Aes256Gcm).unwrap();
    let p = Uuid::new_v4();
    b.prepare(p).unwrap();
    let first = b.seal(p, b"e1", b"first registration").unwrap();
    let held = b.caches.keys.lock().unwrap().get(&first.kid).map(|(s, k)| (*s, k.clone())).unwrap();
    // A erases the person (the kids come from the case's sealed payloads).
    assert_eq!(a.erase(p, &[first.kid]).unwrap(), 1);
    // B as if its follower had not run yet (within the staleness bound):
    // the destroyed key still in its caches.
    std::thread::sleep(Duration::from_millis(300));
    b.caches.keys.lock().unwrap().insert(first.kid, held);
    b.caches.live.lock().unwrap().insert(p, first.kid);
    // B registers the person again.
    assert!(b.prepare_blocks(p), "a known subject's key is checked in the store");
    b.prepare(p).unwrap();
    let again = b.seal(p, b"e2", b"second registration").unwrap();
    assert_ne!(again.kid, first.kid, "sealed under a new key, not the destroyed one");
    assert_eq!(clear(a.unseal(p, b"e2", &again).unwrap()), b"second registration", "readable everywhere");
}

#[test]
fn a_wrong_or_missing_master_key_on_another_server_is_refused_at_open_naming_the_source() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let first = key_file(dir.path(), "first.key", &MasterKey::generate());
    Vault::open_postgres(&options(&pg), &first, Cipher::Aes256Gcm).unwrap();
    let wrong = key_file(dir.path(), "wrong.key", &MasterKey::generate());
    let e = Vault::open_postgres(&options(&pg), &wrong, Cipher::Aes256Gcm).unwrap_err();
    assert!(matches!(e, VaultError::WrongMasterKey { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("wrong.key") && text.contains("PostgreSQL key store"), "{text}");
    let missing = KeyFile::new(dir.path().join("missing.key"));
    let text = Vault::open_postgres(&options(&pg), &missing, Cipher::Aes256Gcm).unwrap_err().to_string();
    assert!(text.contains("missing.key") && text.contains("holds no key"), "{text}");
    assert!(!dir.path().join("missing.key").exists(), "no new master key is made for an existing store");
}

#[test]
fn a_cached_key_is_not_served_once_the_erasure_follower_cannot_reach_postgres() {
    let Some(mut pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "m.key", &MasterKey::generate());
    let vault = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    let s = Uuid::new_v4();
    let sealed = vault.seal(s, b"e", b"alpha").unwrap();
    assert_eq!(clear(vault.unseal(s, b"e", &sealed).unwrap()), b"alpha");
    pg.stop();
    std::thread::sleep(options(&pg).max_staleness + Duration::from_millis(200));
    assert!(!vault.cache_fresh());
    assert!(vault.unseal(s, b"e", &sealed).is_err(), "nothing served from memory while erasures cannot be seen");
    pg.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while vault.unseal(s, b"e", &sealed).is_err() {
        assert!(Instant::now() < deadline, "the store comes back");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(clear(vault.unseal(s, b"e", &sealed).unwrap()), b"alpha");
}

#[test]
fn a_destroyed_key_is_gone_from_the_table_and_rotation_and_batches_work_on_postgres() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "m.key", &MasterKey::generate());
    let mut vault = Vault::open_postgres(&options(&pg), &key, Cipher::Sm4Gcm).unwrap();
    let subjects: Vec<Uuid> = (0..POOL_BATCH + 3).map(|_| Uuid::new_v4()).collect();
    let sealed: Vec<Sealed> = subjects.iter().map(|s| vault.seal(*s, b"e", s.as_bytes()).unwrap()).collect();
    assert_eq!(vault.counts().unwrap().live, 2 * POOL_BATCH as u64, "keys are made in batches");
    let gone = match vault.backend.key(sealed[0].kid).unwrap() {
        Some(keystore::KeyRow::Live { wrapped, .. }) => keystore::encode_sealed(&wrapped),
        _ => panic!("live"),
    };
    let needle = gone.split('"').find(|p| p.len() > 40).unwrap().to_string();
    let live = keystore::encode_sealed(match &vault.backend.key(sealed[1].kid).unwrap() {
        Some(keystore::KeyRow::Live { wrapped, .. }) => wrapped,
        _ => panic!("live"),
    });
    assert_eq!(vault.erase(subjects[0], &[sealed[0].kid]).unwrap(), 1);
    // After the erasure's VACUUM and a checkpoint, the table's file no longer holds the wrapped key.
    let (rt, c) = client(&pg);
    let (data, file): (String, String) = rt.block_on(async {
        c.batch_execute("CHECKPOINT").await.unwrap();
        let d = c.query_one("SHOW data_directory", &[]).await.unwrap().get(0);
        let f = c.query_one("SELECT pg_relation_filepath('leye.personal_key_wrapped')", &[]).await.unwrap().get(0);
        (d, f)
    });
    let bytes = std::fs::read(Path::new(&data).join(&file)).unwrap();
    let live_needle = live.split('"').find(|p| p.len() > 40).unwrap().to_string();
    let holds = |n: &str| bytes.windows(n.len()).any(|w| w == n.as_bytes());
    assert!(holds(&live_needle), "the check can see a live key in the file");
    assert!(!holds(&needle), "the destroyed key's wrapped bytes are still in the table's file");
    assert!(matches!(vault.unseal(subjects[0], b"e", &sealed[0]).unwrap(), Opened::Erased));

    // Rotation re-wraps in PostgreSQL; the old key no longer opens, the new one does.
    let new = MasterKey::generate();
    let n = vault.rotate_unstaged(new.clone()).unwrap();
    assert_eq!(n as u64, vault.counts().unwrap().live);
    drop(vault);
    assert!(matches!(
        Vault::open_postgres(&options(&pg), &key, Cipher::Sm4Gcm),
        Err(VaultError::WrongMasterKey { .. })
    ));
    let rotated = key_file(dir.path(), "new.key", &new);
    let vault = Vault::open_postgres(&options(&pg), &rotated, Cipher::Sm4Gcm).unwrap();
    for (s, v) in subjects.iter().zip(&sealed).skip(1) {
        assert_eq!(clear(vault.unseal(*s, b"e", v).unwrap()), s.as_bytes());
    }
}

#[test]
fn a_sqlite_key_store_copied_into_postgres_opens_there_the_same() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys/keys.sqlite");
    let key = KeyFile::new(dir.path().join("keys/master.key"));
    let local = Vault::open(&file, &key, Cipher::Aes256Gcm).unwrap();
    let subjects: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let sealed: Vec<Sealed> = subjects.iter().map(|s| local.seal(*s, b"e", s.as_bytes()).unwrap()).collect();
    local.erase(subjects[0], &[sealed[0].kid]).unwrap();
    drop(local);

    let report = copy_sqlite_to_postgres(&file, &key, &options(&pg)).unwrap();
    assert_eq!((report.keys, report.destroyed, report.added), (POOL_BATCH as u64, 1, POOL_BATCH as u64));
    let again = copy_sqlite_to_postgres(&file, &key, &options(&pg)).unwrap();
    assert_eq!(again.added, 0, "a second copy adds nothing");
    let shared = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    assert!(matches!(shared.unseal(subjects[0], b"e", &sealed[0]).unwrap(), Opened::Erased), "tombstones copied");
    for (s, v) in subjects.iter().zip(&sealed).skip(1) {
        assert_eq!(clear(shared.unseal(*s, b"e", v).unwrap()), s.as_bytes());
    }
    // Into a store of another master key: refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other_file = other_dir.path().join("keys.sqlite");
    let other_key = KeyFile::new(other_dir.path().join("master.key"));
    Vault::open(&other_file, &other_key, Cipher::Aes256Gcm).unwrap().seal(Uuid::new_v4(), b"e", b"x").unwrap();
    let e = copy_sqlite_to_postgres(&other_file, &other_key, &options(&pg)).unwrap_err().to_string();
    assert!(e.contains("another master key"), "{e}");
}

/// A server already opened the (empty) PostgreSQL key store with the same
/// master key: its check value is another text (a random nonce) that opens
/// with the same key, and the copy is accepted.
#[test]
fn a_copy_into_a_key_store_a_server_opened_with_the_same_master_key_is_accepted() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys/keys.sqlite");
    let key = KeyFile::new(dir.path().join("keys/master.key"));
    let local = Vault::open(&file, &key, Cipher::Aes256Gcm).unwrap();
    let subject = Uuid::new_v4();
    let sealed = local.seal(subject, b"e", subject.as_bytes()).unwrap();
    drop(local);
    drop(Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap());
    copy_sqlite_to_postgres(&file, &key, &options(&pg)).unwrap();
    let shared = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    assert_eq!(clear(shared.unseal(subject, b"e", &sealed).unwrap()), subject.as_bytes());
}

/// A refill stays cheap however large the key table grows: each handed-out
/// key's assignment reaches its row through the primary key, with the
/// table's statistics stale or fresh (one `UPDATE … FROM UNNEST(…)` for the
/// batch was planned to read every unassigned key of every server, or the
/// whole table). The index on subject holds assigned keys only, and still
/// serves an erasure's look-up by subject; a store made with the earlier
/// full index loses it at open.
#[test]
fn a_refills_assignments_go_through_the_primary_key_and_the_subject_index_holds_assigned_keys_only() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "m.key", &MasterKey::generate());
    let (rt, c) = client(&pg);
    drop(Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap());
    // As an earlier build left the store: a full index on subject.
    rt.block_on(c.batch_execute("CREATE INDEX personal_key_subject ON leye.personal_key (subject)")).unwrap();
    let vault = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    let indexes: Vec<(String, String)> = rt
        .block_on(c.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'personal_key'", &[]))
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(!indexes.iter().any(|(name, _)| name == "personal_key_subject"), "the full index is dropped: {indexes:?}");
    let (_, def) = indexes.iter().find(|(name, _)| name == "personal_key_subject_assigned").expect("the new index");
    assert!(def.ends_with("WHERE (subject IS NOT NULL)"), "{def}");

    // A city's worth of keys, a few thousand of them unassigned (several
    // servers' pools), never analysed, then analysed.
    rt.block_on(c.batch_execute(
        "SET search_path TO leye;
         INSERT INTO personal_key (kid, subject, created_at)
         SELECT uuid_send(gen_random_uuid()), CASE WHEN i % 50 = 0 THEN NULL ELSE uuid_send(gen_random_uuid()) END, 0
         FROM generate_series(1, 200000) AS i",
    ))
    .unwrap();
    let explain = |sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]| {
        let rows = rt.block_on(c.query(&format!("EXPLAIN {sql}"), params)).unwrap();
        rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
    };
    let unassigned: Vec<u8> =
        rt.block_on(c.query_one("SELECT kid FROM personal_key WHERE subject IS NULL LIMIT 1", &[])).unwrap().get(0);
    let subject = Uuid::new_v4().as_bytes().to_vec();
    for analyzed in [false, true] {
        if analyzed {
            rt.block_on(c.batch_execute("ANALYZE personal_key")).unwrap();
        }
        let plan = explain(ASSIGN, &[&unassigned, &subject]);
        assert!(plan.contains("Index Scan using personal_key_pkey"), "analyzed {analyzed}: {plan}");
    }
    // Through the vault: what it hands out is assigned at the next refill.
    let handed = Uuid::new_v4();
    let sealed = vault.seal(handed, b"e", b"x").unwrap();
    for _ in 0..POOL_BATCH {
        vault.seal(Uuid::new_v4(), b"e", b"x").unwrap();
    }
    let recorded: Option<Vec<u8>> = rt
        .block_on(c.query_one("SELECT subject FROM personal_key WHERE kid = $1", &[&sealed.kid.as_bytes().to_vec()]))
        .unwrap()
        .get(0);
    assert_eq!(recorded.as_deref(), Some(handed.as_bytes().as_slice()), "the assignment is recorded");
    // An erasure's look-up by subject uses the index on assigned keys.
    let plan = explain("SELECT kid FROM personal_key WHERE subject = $1", &[&subject]);
    assert!(plan.contains("personal_key_subject_assigned"), "{plan}");
}

/// The voluntary context switches of a local process so far (`/proc`).
fn switches(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("voluntary_ctxt_switches:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_erasure_follower_is_woken_by_its_poll_not_by_the_event_stores_commits() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "m.key", &MasterKey::generate());
    let mut o = options(&pg);
    o.poll_interval = Duration::from_secs(1);
    o.max_staleness = Duration::from_secs(3);
    let vault = Vault::open_postgres(&o, &key, Cipher::Aes256Gcm).unwrap();
    let (rt, c) = client(&pg);
    // The follower's backend (PostgreSQL runs on this machine).
    let pid: i32 = rt.block_on(async {
        let find = "SELECT pid FROM pg_stat_activity WHERE application_name = 'leye-keys-erasures'";
        for _ in 0..500 {
            if let Some(row) = c.query_opt(find, &[]).await.unwrap() {
                return row.get(0);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no erasure follower session");
    });
    // Commits that notify, as each of the event store's commits does. A
    // session that listened on any channel would be woken by each of them
    // (PostgreSQL 15 signals every listener of the database); a poll every
    // second wakes the follower a few times in all.
    const COMMITS: u64 = 500;
    let (before, started) = (switches(pid), Instant::now());
    rt.block_on(async {
        for _ in 0..COMMITS {
            c.batch_execute("NOTIFY leye_events").await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    let woken = switches(pid) - before;
    let polls = started.elapsed().as_secs() + 2;
    eprintln!("{COMMITS} notifying commits in {:?}: the follower's backend switched {woken} times", started.elapsed());
    assert!(woken <= 4 * polls + 10, "the erasure follower was woken {woken} times by {COMMITS} commits");
    assert!(4 * polls + 10 < COMMITS / 2, "the run was too slow to tell ({polls} polls)");
    // Following erasures by the poll alone is held by
    // `two_servers_share_keys_and_an_erasure_on_one_reaches_the_others_cache_within_the_staleness_bound`.
    drop(vault);
}

/// The pseudonym key's fingerprint in the shared key store: the first server
/// records it, the others compare (another key: `Differs`); `leye keys copy`
/// brings a SQLite key store's fingerprint along, and refuses, copying
/// nothing, a key store bound to another pseudonym key.
#[test]
fn servers_agree_on_the_pseudonym_key_and_a_copy_of_another_deployments_keys_is_refused() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "master.key", &MasterKey::generate());
    let first = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    let second = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    assert_eq!(first.bind_pseudonym_key("c0ffee").unwrap(), Binding::Recorded);
    assert_eq!(second.bind_pseudonym_key("c0ffee").unwrap(), Binding::Matches);
    assert_eq!(second.bind_pseudonym_key("decade").unwrap(), Binding::Differs);
    assert_eq!(second.bind(Setting::Access, "a1").unwrap(), Binding::Recorded);
    assert_eq!(
        first.bound_each(&[Setting::PolicyCatalogue, Setting::PseudonymKey, Setting::Access]).unwrap(),
        [None, Some("c0ffee".to_owned()), Some("a1".to_owned())],
        "one look, in the order asked, none where nothing is held"
    );
    drop((first, second));

    // A SQLite key store of the same master key, bound to another pseudonym key.
    let file = dir.path().join("keys/keys.sqlite");
    let local = Vault::open(&file, &key, Cipher::Aes256Gcm).unwrap();
    local.seal(Uuid::new_v4(), b"e", b"x").unwrap();
    assert_eq!(local.bind_pseudonym_key("decade").unwrap(), Binding::Recorded);
    drop(local);
    let shared = Vault::open_postgres(&options(&pg), &key, Cipher::Aes256Gcm).unwrap();
    let before = shared.counts().unwrap();
    let e = copy_sqlite_to_postgres(&file, &key, &options(&pg)).unwrap_err().to_string();
    assert!(e.contains("another pseudonym key") && e.contains("nothing copied"), "{e}");
    assert_eq!(shared.counts().unwrap(), before, "no key copied");
    assert_eq!(shared.bind_pseudonym_key("c0ffee").unwrap(), Binding::Matches, "the store's own kept");

    // Into an empty PostgreSQL key store: the fingerprint arrives with the keys.
    let Some(pg2) = TestPostgres::start() else { return };
    copy_sqlite_to_postgres(&file, &key, &options(&pg2)).unwrap();
    let shared = Vault::open_postgres(&options(&pg2), &key, Cipher::Aes256Gcm).unwrap();
    assert_eq!(shared.bind_pseudonym_key("decade").unwrap(), Binding::Matches);
    assert_eq!(shared.bind_pseudonym_key("c0ffee").unwrap(), Binding::Differs);
}
