//! The development CA, its certificates verified by rustls-webpki, and
//! client certificates mapped to principals.

use std::path::Path;

use leye_auth::dev::{self, CaFiles, CertFiles};
use leye_auth::{AuthMethod, CertificateMap, ClientEntry, ConfigError, Role};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use webpki::{ALL_VERIFICATION_ALGS, EndEntityCert, KeyUsage, anchor_from_trusted_cert};

const OP: &str = "leye.person.v1.PersonCaseService/RecordPlacement";

fn der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).expect("certificate PEM")
}

fn verify(ca: &CaFiles, leaf: &CertFiles, usage: KeyUsage) -> Result<(), webpki::Error> {
    let ca_der = der(&ca.cert);
    let anchor = anchor_from_trusted_cert(&ca_der)?;
    let leaf_der = der(&leaf.cert);
    let ee = EndEntityCert::try_from(&leaf_der)?;
    ee.verify_for_usage(ALL_VERIFICATION_ALGS, &[anchor], &[], UnixTime::now(), usage, None, None).map(|_| ())
}

#[test]
fn dev_ca_issues_certificates_that_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dev::create_ca(dir.path(), "leye-dev").expect("CA");
    let server = dev::issue_server_cert(&ca, dir.path(), &[]).expect("server cert");
    let client = dev::issue_client_cert(&ca, dir.path(), "rsj-placement-sync").expect("client");

    verify(&ca, &server, KeyUsage::server_auth()).expect("server chain");
    let leaf = der(&server.cert);
    let ee = EndEntityCert::try_from(&leaf).expect("parse");
    for name in ["localhost", "127.0.0.1", "::1"] {
        let name = ServerName::try_from(name).expect("name");
        ee.verify_is_valid_for_subject_name(&name).expect("name covered");
    }
    let other = ServerName::try_from("example.com").expect("name");
    assert!(ee.verify_is_valid_for_subject_name(&other).is_err());

    verify(&ca, &client, KeyUsage::client_auth()).expect("client chain");
    // Each leaf only for its purpose.
    assert!(verify(&ca, &client, KeyUsage::server_auth()).is_err());
    assert!(verify(&ca, &server, KeyUsage::client_auth()).is_err());

    // Another CA's certificate is not trusted.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let rogue_ca = dev::create_ca(elsewhere.path(), "rogue").expect("CA");
    let rogue = dev::issue_client_cert(&rogue_ca, elsewhere.path(), "rsj-placement-sync").expect("client");
    assert!(verify(&ca, &rogue, KeyUsage::client_auth()).is_err());

    // Named server certificates.
    let named_dir = tempfile::tempdir().expect("tempdir");
    let named = dev::issue_server_cert(&ca, named_dir.path(), &["leye.internal".to_owned(), "10.0.0.7".to_owned()])
        .expect("server cert");
    verify(&ca, &named, KeyUsage::server_auth()).expect("chain");
    let leaf = der(&named.cert);
    let ee = EndEntityCert::try_from(&leaf).expect("parse");
    for name in ["leye.internal", "10.0.0.7"] {
        ee.verify_is_valid_for_subject_name(&ServerName::try_from(name).expect("name")).expect("covered");
    }
    assert!(ee.verify_is_valid_for_subject_name(&ServerName::try_from("localhost").expect("name")).is_err());
}

#[cfg(unix)]
#[test]
fn private_keys_are_owner_only_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dev::create_ca(dir.path(), "leye-dev").expect("CA");
    let client = dev::issue_client_cert(&ca, dir.path(), "a").expect("client");
    let (key, jwks) = dev::create_signing_key(dir.path(), "k1").expect("key");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    for private in [&ca.key, &client.key, &key] {
        assert_eq!(mode(private), 0o600, "{}", private.display());
    }
    assert_eq!(mode(&jwks), 0o644);
    assert!(dev::create_ca(dir.path(), "leye-dev").is_err());
    assert!(dev::create_signing_key(dir.path(), "k1").is_err());
    assert!(dev::create_signing_key(dir.path(), "../escape").is_err());
}

fn entry(principal: &str) -> ClientEntry {
    ClientEntry {
        principal: principal.to_owned(),
        roles: vec![Role::System],
        jurisdiction: vec!["120000".to_owned()],
        office: Some("市人社局信息中心".to_owned()),
        operations: vec![OP.to_owned()],
        ..ClientEntry::default()
    }
}

#[test]
fn certificates_map_to_principals_by_fingerprint_then_common_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dev::create_ca(dir.path(), "leye-dev").expect("CA");
    let pinned = dev::issue_client_cert(&ca, dir.path(), "rsj-placement-sync").expect("cert");
    let by_name = dev::issue_client_cert(&ca, dir.path(), "tax-bureau-sync").expect("cert");
    let unknown = dev::issue_client_cert(&ca, dir.path(), "someone-else").expect("cert");
    let fp = dev::fingerprint(&pinned.cert).expect("fingerprint");
    assert_eq!(fp.len(), 64);
    assert_eq!(fp, leye_auth::certificate_sha256(&der(&pinned.cert)));

    // The pinned certificate's CN is also mapped, to someone else: the fingerprint wins.
    let map = CertificateMap::new(&[
        ClientEntry { sha256: Some(fp.to_uppercase()), ..entry("RSJ-Placement") },
        ClientEntry {
            subject_cn: Some("tax-bureau-sync".to_owned()),
            roles: vec![Role::Analyst],
            operations: vec![],
            jurisdiction: vec!["120101".to_owned(), "120102".to_owned()],
            office: None,
            ..entry("tax-sync")
        },
        ClientEntry { subject_cn: Some("rsj-placement-sync".to_owned()), ..entry("impostor") },
    ])
    .expect("map");
    assert_eq!(map.len(), 3);

    let p = map.principal(&der(&pinned.cert)).expect("pinned");
    assert_eq!(p.id.as_str(), "rsj-placement");
    assert!(p.has_role(Role::System));
    assert!(p.is_granted(OP));
    assert!(p.covers_area("120000"));
    assert_eq!(p.method, AuthMethod::ClientCertificate { sha256: fp.clone() });
    assert_eq!(p.method.label(), format!("certificate:{}", &fp[..16]));

    let p = map.principal(&der(&by_name.cert)).expect("by CN");
    assert_eq!(p.id.as_str(), "tax-sync");
    assert!(p.has_role(Role::Analyst) && p.operations.is_empty());
    assert!(p.covers("120102", None, None) && !p.covers("120103", None, None));
    assert_eq!(p.method, AuthMethod::ClientCertificate { sha256: dev::fingerprint(&by_name.cert).expect("fp") });

    let e = map.principal(&der(&unknown.cert)).expect_err("unknown");
    assert_eq!(e.reason(), "CERTIFICATE_UNKNOWN");
    assert!(!e.to_string().contains("someone-else"));
    assert_eq!(map.principal(b"not a certificate").expect_err("garbage").reason(), "CERTIFICATE_UNKNOWN");
    assert_eq!(map.principal(&[]).expect_err("empty").reason(), "CREDENTIALS_MISSING");
}

#[test]
fn client_entries_are_validated() {
    let fp = "ab".repeat(32);
    let bad = |e: ClientEntry, field: &str| {
        let entries = [ClientEntry { subject_cn: Some("fine".into()), ..entry("fine") }, e];
        match CertificateMap::new(&entries) {
            Err(ConfigError::Client { index: 1, field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected entry 1 `{field}` refused, got {other:?}"),
        }
    };
    let with_fp = |p: &str| ClientEntry { sha256: Some(fp.clone()), ..entry(p) };
    bad(entry("no-matcher"), "sha256");
    bad(ClientEntry { subject_cn: Some("x".into()), ..with_fp("both") }, "sha256");
    bad(ClientEntry { sha256: Some("abc".into()), ..entry("short") }, "sha256");
    bad(with_fp("leye-policy-finder"), "principal");
    bad(with_fp("LEYE-HIRE-LINKER"), "principal");
    bad(with_fp("has space"), "principal");
    bad(ClientEntry { roles: vec![], ..with_fp("x") }, "roles");
    bad(ClientEntry { jurisdiction: vec!["110000".into()], ..with_fp("x") }, "jurisdiction");
    bad(ClientEntry { jurisdiction: vec![], ..with_fp("x") }, "jurisdiction");
    bad(ClientEntry { operations: vec![], ..with_fp("x") }, "operations");
    bad(ClientEntry { operations: vec!["RecordPlacement".into()], ..with_fp("x") }, "operations");
    bad(ClientEntry { roles: vec![Role::Caseworker], ..with_fp("x") }, "operations");
    bad(ClientEntry { office: Some(String::new()), ..with_fp("x") }, "office");
    bad(ClientEntry { subject_cn: Some("fine".into()), ..entry("dup") }, "subject_cn");
    CertificateMap::new(&[with_fp("a"), with_fp("b")]).expect_err("duplicate fingerprint");
}

#[test]
fn clients_table_from_toml() {
    #[derive(serde::Deserialize)]
    struct File {
        clients: Vec<ClientEntry>,
    }
    let file: File = toml::from_str(&format!(
        r#"
        [[clients]]
        sha256 = "{}"
        principal = "rsj-placement-sync"
        roles = ["system"]
        jurisdiction = ["120000"]
        operations = ["{OP}"]

        [[clients]]
        subject_cn = "district-portal"
        principal = "Portal-120101"
        roles = ["analyst"]
        jurisdiction = ["120101"]
        office = "和平区人社局"
        "#,
        "AB:".repeat(31) + "AB"
    ))
    .expect("toml");
    let map = CertificateMap::new(&file.clients).expect("map");
    assert_eq!(map.len(), 2);
    assert!(
        toml::from_str::<File>("[[clients]]\nprincipal = \"x\"\nroles = [\"root\"]\njurisdiction = [\"120000\"]")
            .is_err(),
        "unknown roles are refused when reading"
    );
}
