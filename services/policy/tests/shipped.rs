use leye_policy::Catalogue;

#[test]
fn shipped_catalogue_loads() {
    match Catalogue::shipped() {
        Ok(c) => assert!(c.rules().len() > 50),
        Err(e) => panic!("{e}"),
    }
}

/// Servers compare catalogues by fingerprint: the built-in one and a copy of
/// `policies/` anywhere are one catalogue; a changed byte makes another.
#[test]
fn the_fingerprint_follows_the_files_bytes_not_where_they_lie() {
    let shipped = Catalogue::shipped().unwrap();
    assert_eq!(shipped.fingerprint().len(), 64, "hex SHA-256");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    assert_eq!(Catalogue::load_dir(&repo).unwrap().fingerprint(), shipped.fingerprint());

    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&repo).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    assert_eq!(Catalogue::load_dir(copy.path()).unwrap().fingerprint(), shipped.fingerprint());

    let file = copy.path().join("parameters.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n# a comment\n")).unwrap();
    let changed = Catalogue::load_dir(copy.path()).unwrap();
    assert_ne!(changed.fingerprint(), shipped.fingerprint());

    // A file renamed is another catalogue too (names are part of the input).
    std::fs::write(&file, &text).unwrap();
    std::fs::rename(&file, copy.path().join("parameters2.toml")).unwrap();
    let renamed = Catalogue::load_dir(copy.path()).unwrap();
    assert_ne!(renamed.fingerprint(), shipped.fingerprint());
}
