use std::path::PathBuf;

use super::*;

fn setup(cipher: Cipher) -> (tempfile::TempDir, PathBuf, KeyFile, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("keys/keys.sqlite");
    let source = KeyFile::new(dir.path().join("keys/master.key"));
    let vault = Vault::open(&store, &source, cipher).unwrap();
    (dir, store, source, vault)
}

fn clear(o: Opened) -> Vec<u8> {
    match o {
        Opened::Clear(c) => c.to_vec(),
        Opened::Erased => panic!("erased"),
    }
}

#[test]
fn sealed_values_open_for_their_subject_and_place_only() {
    for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
        let (_dir, _, _, vault) = setup(cipher);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let sa = vault.seal(a, b"event-1", b"120111199001010052").unwrap();
        let sb = vault.seal(b, b"event-1", b"120111199001010052").unwrap();
        assert_ne!(sa.kid, sb.kid, "one data key per subject");
        assert_eq!(vault.seal(a, b"x", b"y").unwrap().kid, sa.kid, "the subject's key is reused");
        assert_eq!(clear(vault.unseal(a, b"event-1", &sa).unwrap()), b"120111199001010052");
        assert!(matches!(vault.unseal(a, b"event-2", &sa), Err(VaultError::Tampered { .. })), "AAD binds the event");
        assert!(matches!(vault.unseal(b, b"event-1", &sa), Err(VaultError::Tampered { .. })), "bound to the subject");
        let unknown = Sealed { kid: Uuid::new_v4(), ..sa.clone() };
        assert!(matches!(vault.unseal(a, b"event-1", &unknown), Err(VaultError::UnknownKey { .. })));
        assert_eq!(sa.alg, cipher);
    }
}

#[test]
fn erasure_destroys_the_key_in_the_files_and_only_that_subjects() {
    let (dir, store, source, vault) = setup(Cipher::Aes256Gcm);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let sa = vault.seal(a, b"e", b"alpha").unwrap();
    let sb = vault.seal(b, b"e", b"beta").unwrap();
    let wrapped_a = match keystore::key(&vault.lock_conn(), sa.kid).unwrap() {
        Some(keystore::KeyRow::Live { wrapped, .. }) => wrapped,
        _ => panic!("a's key is live"),
    };
    assert_eq!(vault.erase(a, &[sa.kid]).unwrap(), 1);
    assert_eq!(vault.erase(a, &[sa.kid]).unwrap(), 0, "a second erasure finds nothing live");
    assert!(matches!(vault.unseal(a, b"e", &sa).unwrap(), Opened::Erased));
    assert_eq!(clear(vault.unseal(b, b"e", &sb).unwrap()), b"beta");
    assert_eq!(vault.counts().unwrap().destroyed, 1);
    // The wrapped key's bytes are nowhere in the key store's files.
    let needle = keystore::encode_sealed(&wrapped_a);
    let needle = needle.split('"').find(|p| p.len() > 40).unwrap().to_string();
    for entry in std::fs::read_dir(store.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "destroyed key still in a file");
    }
    // A new key for the erased subject seals again; the erased value stays erased.
    let again = vault.seal(a, b"e", b"alpha-2").unwrap();
    assert_ne!(again.kid, sa.kid);
    drop(vault);
    let vault = Vault::open(&store, &source, Cipher::Aes256Gcm).unwrap();
    assert!(matches!(vault.unseal(a, b"e", &sa).unwrap(), Opened::Erased));
    assert_eq!(clear(vault.unseal(a, b"e", &again).unwrap()), b"alpha-2");
    drop(dir);
}

#[test]
fn a_wrong_or_missing_master_key_is_refused_at_open() {
    let (dir, store, source, vault) = setup(Cipher::Aes256Gcm);
    vault.seal(Uuid::new_v4(), b"", b"x").unwrap();
    drop(vault);
    let other = KeyFile::new(dir.path().join("other.key"));
    let err = Vault::open(&store, &other, Cipher::Aes256Gcm).unwrap_err().to_string();
    assert!(err.contains("holds no key") && err.contains("other.key"), "{err}");
    std::fs::write(dir.path().join("other.key"), MasterKey::generate().to_hex().as_bytes()).unwrap();
    let err = Vault::open(&store, &other, Cipher::Aes256Gcm).unwrap_err().to_string();
    assert!(err.contains("does not open the key store"), "{err}");
    std::fs::write(dir.path().join("other.key"), "short").unwrap();
    let err = Vault::open(&store, &other, Cipher::Aes256Gcm).unwrap_err().to_string();
    assert!(err.contains("64 hexadecimal"), "{err}");
    assert!(Vault::open(&store, &source, Cipher::Aes256Gcm).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&store, &dir.path().join("keys/master.key")] {
            assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
        }
    }
}

#[test]
fn rotation_rewraps_so_everything_opens_under_the_new_key_only() {
    for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
        let (dir, store, source, mut vault) = setup(cipher);
        let subjects: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let sealed: Vec<Sealed> = subjects.iter().map(|s| vault.seal(*s, b"e", s.as_bytes()).unwrap()).collect();
        vault.erase(subjects[0], &[sealed[0].kid]).unwrap();
        let old = source.load().unwrap().unwrap();
        // Every live key is re-wrapped, those of the pool not used yet too.
        let live = vault.counts().unwrap();
        assert_eq!(live.destroyed, 1);
        assert_eq!(vault.rotate(&source, MasterKey::generate()).unwrap() as u64, live.live);
        drop(vault);
        assert!(source.staged().unwrap().is_none(), "the staged key took the old one's place");
        let vault = Vault::open(&store, &source, cipher).unwrap();
        for (s, v) in subjects.iter().zip(&sealed).skip(1) {
            assert_eq!(clear(vault.unseal(*s, b"e", v).unwrap()), s.as_bytes());
        }
        assert!(matches!(vault.unseal(subjects[0], b"e", &sealed[0]).unwrap(), Opened::Erased));
        let old_file = dir.path().join("old.key");
        std::fs::write(&old_file, old.to_hex().as_bytes()).unwrap();
        assert!(matches!(
            Vault::open(&store, &KeyFile::new(&old_file), cipher),
            Err(VaultError::WrongMasterKey { .. })
        ));
    }
}

#[test]
fn a_rotation_interrupted_after_the_rewrap_is_finished_at_the_next_open() {
    let (_dir, store, source, mut vault) = setup(Cipher::Aes256Gcm);
    let s = Uuid::new_v4();
    let sealed = vault.seal(s, b"e", b"v").unwrap();
    let new = MasterKey::generate();
    source.stage(&new).unwrap();
    vault.rotate_unstaged(new).unwrap();
    drop(vault); // "crash" before promote
    let vault = Vault::open(&store, &source, Cipher::Aes256Gcm).unwrap();
    assert_eq!(clear(vault.unseal(s, b"e", &sealed).unwrap()), b"v");
    assert!(source.staged().unwrap().is_none());
}

#[test]
fn secrets_do_not_show_in_debug() {
    let (_dir, _, _, vault) = setup(Cipher::Aes256Gcm);
    let key = MasterKey::from_bytes([0xab; 32]);
    assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    let sealed = vault.seal(Uuid::new_v4(), b"", b"secret").unwrap();
    let shown = format!("{vault:?} {sealed:?}");
    assert!(!shown.contains("abab") && !shown.contains("ct"), "{shown}");
}

#[test]
fn keys_come_durable_from_a_pool_are_never_shared_or_reused_and_erase_by_the_ids_values_name() {
    let (_dir, store, source, vault) = setup(Cipher::Aes256Gcm);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let sa = vault.seal(a, b"e", b"alpha").unwrap();
    let in_file: Vec<String> = {
        let conn = vault.lock_conn();
        let mut q = conn.prepare("SELECT kid FROM data_key WHERE destroyed_at IS NULL").unwrap();
        q.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(in_file.len(), POOL_BATCH, "created ahead, durably, in one batch");
    assert!(in_file.contains(&sa.kid.to_string()), "a key is durable before it seals anything");
    drop(vault);
    // After a restart (the assignment of a's key never written) a still opens and erases.
    let vault = Vault::open(&store, &source, Cipher::Aes256Gcm).unwrap();
    assert_eq!(clear(vault.unseal(a, b"e", &sa).unwrap()), b"alpha", "the value names its key");
    let sb = vault.seal(b, b"e", b"beta").unwrap();
    assert!(!in_file.contains(&sb.kid.to_string()), "keys a stopped process left are never handed out");
    let sa2 = vault.seal(a, b"e", b"alpha-2").unwrap();
    assert_ne!(sa2.kid, sb.kid, "never shared");
    assert_eq!(vault.erase(a, &[sa.kid, sa2.kid]).unwrap(), 2, "every key a's values name");
    assert!(matches!(vault.unseal(a, b"e", &sa).unwrap(), Opened::Erased));
    assert!(matches!(vault.unseal(a, b"e", &sa2).unwrap(), Opened::Erased));
    assert_eq!(clear(vault.unseal(b, b"e", &sb).unwrap()), b"beta");
}

#[test]
fn a_fresh_key_taken_back_before_its_assignment_is_written_is_never_the_subjects() {
    let (_dir, _, _, vault) = setup(Cipher::Aes256Gcm);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let assigned_to = |vault: &Vault, subject: Uuid| -> Vec<String> {
        let conn = vault.lock_conn();
        let mut q = conn.prepare("SELECT kid FROM data_key WHERE subject = ?1 AND destroyed_at IS NULL").unwrap();
        q.query_map([subject.to_string()], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let fresh = vault.prepare(a).unwrap().expect("a has no key yet: a fresh one");
    assert_eq!(vault.prepare(a).unwrap(), None, "the subject's key now, not a fresh one");
    assert!(vault.unbind(a, fresh), "still pending: taken back");
    assert!(!vault.unbind(a, fresh), "once only");
    let again = vault.prepare(a).unwrap().expect("another fresh key");
    assert_ne!(again, fresh, "a key taken back is never handed out again");
    // b's key is written with the next batch; it can no longer be taken back.
    let kept = vault.prepare(b).unwrap().unwrap();
    vault.refill_ahead().unwrap();
    assert!(!vault.unbind(b, kept), "written: stays b's");
    assert_eq!(assigned_to(&vault, a), [again.to_string()], "only the key a kept");
    assert_eq!(assigned_to(&vault, b), [kept.to_string()]);
    assert_eq!(vault.seal(a, b"e", b"alpha").unwrap().kid, again);
}

#[test]
fn a_refill_ahead_writes_the_next_keys_durably_before_the_pool_runs_dry() {
    let (_dir, store, source, vault) = setup(Cipher::Aes256Gcm);
    let first = vault.seal(Uuid::new_v4(), b"e", b"x").unwrap();
    assert_eq!(vault.counts().unwrap().live, POOL_BATCH as u64, "one durable batch before the first seal");
    // Use the pool down to its low mark: a refill becomes due, none ran yet.
    while !vault.refill_due() {
        vault.seal(Uuid::new_v4(), b"e", b"x").unwrap();
    }
    assert_eq!(vault.counts().unwrap().live, POOL_BATCH as u64);
    vault.refill_ahead().unwrap();
    assert!(!vault.refill_due(), "the pool is full again");
    assert_eq!(vault.counts().unwrap().live, 2 * POOL_BATCH as u64, "the next batch is in the key store");
    // The keys handed out are in the file: a fresh vault over it opens what was sealed.
    let subject = Uuid::new_v4();
    let sealed = vault.seal(subject, b"e", b"after the refill").unwrap();
    drop(vault);
    let reopened = Vault::open(&store, &source, Cipher::Aes256Gcm).unwrap();
    assert_eq!(clear(reopened.unseal(subject, b"e", &sealed).unwrap()), b"after the refill");
    assert_ne!(first.kid, sealed.kid);
}

#[test]
fn a_key_read_before_an_erasure_is_not_cached_after_it() {
    let (_dir, _, _, vault) = setup(Cipher::Aes256Gcm);
    let subject = Uuid::new_v4();
    let sealed = vault.seal(subject, b"e", b"alpha").unwrap();
    // Another thread's cache miss: it read the live key from the store …
    let before = vault.caches.erasures.load(Ordering::SeqCst);
    vault.caches.keys.lock().unwrap().clear();
    let key = match keystore::key(&vault.lock_conn(), sealed.kid).unwrap() {
        Some(keystore::KeyRow::Live { wrapped, .. }) => unwrap_key(&vault.master, sealed.kid, &wrapped).unwrap(),
        _ => panic!("live before the erasure"),
    };
    // … then the erasure runs, then that thread caches what it read.
    vault.erase(subject, &[sealed.kid]).unwrap();
    vault.remember(before, sealed.kid, subject, &key);
    assert!(vault.caches.keys.lock().unwrap().is_empty(), "not cached after the erasure");
    assert!(matches!(vault.unseal(subject, b"e", &sealed).unwrap(), Opened::Erased));
    // Without an erasure in between, the same path caches.
    let other = Uuid::new_v4();
    let s = vault.seal(other, b"e", b"beta").unwrap();
    vault.caches.keys.lock().unwrap().clear();
    assert_eq!(clear(vault.unseal(other, b"e", &s).unwrap()), b"beta");
    assert_eq!(vault.caches.keys.lock().unwrap().len(), 1);
}

/// The key store keeps the fingerprint of the deployment's pseudonym key
/// (`binding.rs`): recorded by the first start, compared by every later one;
/// it survives reopening and a master-key rotation (which rewrites the
/// master key's check value beside it).
#[test]
fn the_pseudonym_key_fingerprint_is_recorded_once_then_compared() {
    let (_dir, store, source, vault) = setup(Cipher::Aes256Gcm);
    assert!(!vault.pseudonym_key_bound().unwrap());
    assert_eq!(vault.bind_pseudonym_key("aa11").unwrap(), Binding::Recorded);
    assert!(vault.pseudonym_key_bound().unwrap());
    assert_eq!(vault.bind_pseudonym_key("aa11").unwrap(), Binding::Matches);
    assert_eq!(vault.bind_pseudonym_key("bb22").unwrap(), Binding::Differs, "another key is not recorded over it");
    drop(vault);
    let mut vault = Vault::open(&store, &source, Cipher::Aes256Gcm).unwrap();
    assert_eq!(vault.bind_pseudonym_key("bb22").unwrap(), Binding::Differs, "kept in the file");
    vault.rotate(&source, MasterKey::generate()).unwrap();
    assert_eq!(vault.bind_pseudonym_key("aa11").unwrap(), Binding::Matches, "a rotation keeps it");
}

#[test]
fn a_setting_is_replaced_only_by_adoption_and_the_pseudonym_key_never() {
    let (_dir, store, source, vault) = setup(Cipher::Aes256Gcm);
    assert_eq!(vault.bind(Setting::PolicyCatalogue, "c1").unwrap(), Binding::Recorded);
    assert_eq!(vault.bind(Setting::TargetParams, "t1").unwrap(), Binding::Recorded, "a row of its own");
    assert_eq!(vault.bind(Setting::PolicyCatalogue, "c2").unwrap(), Binding::Differs);
    assert_eq!(vault.adopt(Setting::PolicyCatalogue, "c2").unwrap().as_deref(), Some("c1"));
    assert_eq!(vault.bind(Setting::PolicyCatalogue, "c2").unwrap(), Binding::Matches);
    assert_eq!(vault.bind(Setting::PolicyCatalogue, "c1").unwrap(), Binding::Differs);
    assert_eq!(vault.bound(Setting::TargetParams).unwrap().as_deref(), Some("t1"), "the other setting kept");
    assert_eq!(
        vault.bound_each(&[Setting::Access, Setting::TargetParams, Setting::PolicyCatalogue]).unwrap(),
        [None, Some("t1".to_owned()), Some("c2".to_owned())],
        "in the order asked"
    );

    vault.bind_pseudonym_key("aa11").unwrap();
    assert!(vault.adopt(Setting::PseudonymKey, "bb22").is_err());
    drop(vault);
    let vault = Vault::open(&store, &source, Cipher::Aes256Gcm).unwrap();
    assert_eq!(vault.bound(Setting::PseudonymKey).unwrap().as_deref(), Some("aa11"));
    assert_eq!(vault.bound(Setting::PolicyCatalogue).unwrap().as_deref(), Some("c2"), "kept in the file");
}
