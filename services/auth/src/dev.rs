//! Development issuance: everything a test or a new user needs, made locally.
//!
//! - [`create_signing_key`] writes an Ed25519 signing key (PKCS#8 PEM, mode
//!   0600) and the JWKS with its public half; [`issue_token`] signs tokens
//!   with it (`EdDSA`), [`issue_token_with_claims`] signs any claims (for
//!   tests of refusals).
//! - [`create_ca`], [`issue_server_cert`], [`issue_client_cert`]: a
//!   self-signed development CA (ECDSA P-256) and leaf certificates signed by
//!   it; [`fingerprint`] gives a certificate's SHA-256 for `[[clients]]`.
//!
//! Files are created, never overwritten (an existing file is an error), so
//! no key is ever replaced by accident. Keys are written with mode 0600 on Unix.
//! None of this is for production: production keys come from the real issuer
//! and the bureau's CA.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike as _, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use ring::signature::Ed25519KeyPair;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

use crate::role::Role;

/// The issuer [`DevClaims::new`] uses; pair it with [`DEV_AUDIENCE`] in a
/// [`JwtConfig`](crate::JwtConfig).
pub const DEV_ISSUER: &str = "https://auth.dev.leye.invalid";
/// The audience [`DevClaims::new`] uses.
pub const DEV_AUDIENCE: &str = "leye";

/// Why development issuance failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a PEM file of the expected kind: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("the signing key is not an Ed25519 PKCS#8 key")]
    SigningKey,
    #[error("certificate generation: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("`{field}` {rule}")]
    Invalid { field: &'static str, rule: String },
}

fn invalid(field: &'static str, rule: &str) -> DevError {
    DevError::Invalid { field, rule: rule.to_owned() }
}

/// What [`issue_token`] puts in a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevClaims {
    pub sub: String,
    pub roles: Vec<Role>,
    pub jurisdiction: Vec<String>,
    pub office: Option<String>,
    /// Written only when non-empty (required for the system role).
    pub operations: Vec<String>,
    pub issuer: String,
    pub audience: String,
    /// `exp = now + ttl`.
    pub ttl: Duration,
    /// `nbf = now + offset` when given (negative: in the past).
    pub not_before_offset_secs: Option<i64>,
    /// The header's `kid`; without it the verifier uses its only key.
    pub key_id: Option<String>,
}

impl DevClaims {
    /// Claims for [`DEV_ISSUER`] and [`DEV_AUDIENCE`], valid for an hour,
    /// no office, no operations, no `nbf`, no `kid`.
    pub fn new(sub: &str, roles: &[Role], jurisdiction: &[&str]) -> Self {
        DevClaims {
            sub: sub.to_owned(),
            roles: roles.to_vec(),
            jurisdiction: jurisdiction.iter().map(|c| (*c).to_owned()).collect(),
            office: None,
            operations: Vec::new(),
            issuer: DEV_ISSUER.to_owned(),
            audience: DEV_AUDIENCE.to_owned(),
            ttl: Duration::from_secs(3600),
            not_before_offset_secs: None,
            key_id: None,
        }
    }

    /// The JSON claims at `now`: `iat = now`, `exp = now + ttl`.
    pub fn to_json(&self, now_unix_secs: i64) -> Value {
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": self.sub,
            "iat": now_unix_secs,
            "exp": now_unix_secs.saturating_add(ttl),
            "roles": self.roles,
            "jurisdiction": self.jurisdiction,
        });
        if let Some(map) = claims.as_object_mut() {
            if let Some(offset) = self.not_before_offset_secs {
                map.insert("nbf".into(), json!(now_unix_secs.saturating_add(offset)));
            }
            if let Some(office) = &self.office {
                map.insert("office".into(), json!(office));
            }
            if !self.operations.is_empty() {
                map.insert("operations".into(), json!(self.operations));
            }
        }
        claims
    }
}

/// Writes a fresh Ed25519 signing key (`<kid>.key.pem`, PKCS#8, mode 0600)
/// and its public JWKS (`<kid>.jwks.json`, with `kid`, `alg: EdDSA`,
/// `use: sig`) into `dir`; returns (key, JWKS) paths. `kid` is 1 to 64 of
/// `A-Za-z0-9._-`, not starting with `.`.
pub fn create_signing_key(dir: &Path, kid: &str) -> Result<(PathBuf, PathBuf), DevError> {
    if !is_file_stem(kid) {
        return Err(invalid("kid", "is 1 to 64 of A-Za-z0-9._- and does not start with a dot"));
    }
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
    let jwks = json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(key.public_key_raw()),
            "kid": kid,
            "alg": "EdDSA",
            "use": "sig",
        }]
    });
    let key_path = dir.join(format!("{kid}.key.pem"));
    let jwks_path = dir.join(format!("{kid}.jwks.json"));
    write_new(&key_path, key.serialize_pem().as_bytes(), true)?;
    let text = serde_json::to_string_pretty(&jwks).unwrap_or_default();
    write_new(&jwks_path, text.as_bytes(), false)?;
    Ok((key_path, jwks_path))
}

/// Signs a token for `claims` at `now_unix_secs` with the key
/// [`create_signing_key`] wrote.
pub fn issue_token(signing_key_pem: &Path, claims: &DevClaims, now_unix_secs: i64) -> Result<String, DevError> {
    issue_token_with_claims(signing_key_pem, claims.key_id.as_deref(), &claims.to_json(now_unix_secs))
}

/// Signs arbitrary `claims` (`EdDSA`, header `{"alg":"EdDSA","typ":"JWT","kid":…}`)
/// — for tests that need a token the verifier must refuse.
pub fn issue_token_with_claims(signing_key_pem: &Path, kid: Option<&str>, claims: &Value) -> Result<String, DevError> {
    let der = PrivatePkcs8KeyDer::from_pem_file(signing_key_pem)
        .map_err(|e| DevError::Pem { path: signing_key_pem.to_owned(), detail: e.to_string() })?;
    let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_pkcs8_der()).map_err(|_| DevError::SigningKey)?;
    let mut header = json!({"alg": "EdDSA", "typ": "JWT"});
    if let (Some(kid), Some(map)) = (kid, header.as_object_mut()) {
        map.insert("kid".into(), json!(kid));
    }
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let sig = key.sign(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
}

/// The development CA's certificate and key (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A leaf certificate and its key (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A self-signed development CA named `name` (its CN), valid from yesterday
/// for ten years, allowed to sign leaf certificates only: `<name>-ca.pem`
/// and `<name>-ca.key.pem` (0600) in `dir`.
pub fn create_ca(dir: &Path, name: &str) -> Result<CaFiles, DevError> {
    if !is_file_stem(name) {
        return Err(invalid("name", "is 1 to 64 of A-Za-z0-9._- and does not start with a dot"));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params, 3650)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    let files = CaFiles { cert: dir.join(format!("{name}-ca.pem")), key: dir.join(format!("{name}-ca.key.pem")) };
    write_new(&files.key, key.serialize_pem().as_bytes(), true)?;
    write_new(&files.cert, cert.pem().as_bytes(), false)?;
    Ok(files)
}

/// A server certificate signed by `ca` for `names` (DNS names or IP
/// addresses; empty: `localhost`, `127.0.0.1`, `::1`), valid from yesterday
/// for a year: `server.pem` and `server.key.pem` (0600) in `dir`.
pub fn issue_server_cert(ca: &CaFiles, dir: &Path, names: &[String]) -> Result<CertFiles, DevError> {
    let names: Vec<String> =
        if names.is_empty() { vec!["localhost".into(), "127.0.0.1".into(), "::1".into()] } else { names.to_vec() };
    let mut params = CertificateParams::default();
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(n.clone().try_into()?)),
        })
        .collect::<Result<Vec<_>, rcgen::Error>>()?;
    params.distinguished_name = dn(names.first().map_or("localhost", String::as_str));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sign_leaf(ca, dir, "server", params)
}

/// A client certificate signed by `ca` with subject CN `common_name`, valid
/// from yesterday for a year: `client-<cn>.pem` and `client-<cn>.key.pem`
/// (0600) in `dir` (characters outside `A-Za-z0-9._-` become `_` in the file name).
pub fn issue_client_cert(ca: &CaFiles, dir: &Path, common_name: &str) -> Result<CertFiles, DevError> {
    if common_name.is_empty() || common_name.chars().count() > 64 || common_name.chars().any(char::is_control) {
        return Err(invalid("common_name", "is 1 to 64 characters without control characters"));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(common_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let stem: String = common_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    sign_leaf(ca, dir, &format!("client-{stem}"), params)
}

fn sign_leaf(ca: &CaFiles, dir: &Path, stem: &str, mut params: CertificateParams) -> Result<CertFiles, DevError> {
    let ca_key = KeyPair::from_pem(&read(&ca.key)?)?;
    let issuer = Issuer::from_ca_cert_pem(&read(&ca.cert)?, ca_key)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, 365)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, &issuer)?;
    let files = CertFiles { cert: dir.join(format!("{stem}.pem")), key: dir.join(format!("{stem}.key.pem")) };
    write_new(&files.key, key.serialize_pem().as_bytes(), true)?;
    write_new(&files.cert, cert.pem().as_bytes(), false)?;
    Ok(files)
}

/// Lowercase hex SHA-256 of the DER of the (first) certificate in a PEM
/// file — the value of a `[[clients]]` entry's `sha256`.
pub fn fingerprint(cert_pem: &Path) -> Result<String, DevError> {
    let der = CertificateDer::from_pem_file(cert_pem)
        .map_err(|e| DevError::Pem { path: cert_pem.to_owned(), detail: e.to_string() })?;
    Ok(crate::certificate_sha256(&der))
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "leye development");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Valid from yesterday (tolerates a peer's clock slightly behind) for `days`.
fn set_validity(params: &mut CertificateParams, days: i64) -> Result<(), DevError> {
    let day = |offset: i64| {
        let d = (Utc::now() + chrono::Duration::days(offset)).date_naive();
        let month = u8::try_from(d.month()).map_err(|_| invalid("date", "is out of range"))?;
        let dom = u8::try_from(d.day()).map_err(|_| invalid("date", "is out of range"))?;
        Ok::<_, DevError>(rcgen::date_time_ymd(d.year(), month, dom))
    };
    params.not_before = day(-1)?;
    params.not_after = day(days)?;
    Ok(())
}

fn is_file_stem(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn read(path: &Path) -> Result<String, DevError> {
    std::fs::read_to_string(path).map_err(|source| DevError::Io { path: path.to_owned(), source })
}

/// Creates `path` (failing if it exists) with `contents`; mode 0600 when `private`.
fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), DevError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let io = |source| DevError::Io { path: path.to_owned(), source };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}
