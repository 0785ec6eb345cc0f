//! Bearer tokens, end to end with real keys: Ed25519 from `dev`, P-256
//! generated here by ring, RSA from the checked-in test-only key
//! `fixtures/rsa-2048.test-only.key.pem` (made with `openssl genpkey
//! -algorithm RSA -pkeyopt rsa_keygen_bits:2048`; it protects nothing).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leye_auth::dev::{self, DEV_AUDIENCE, DEV_ISSUER, DevClaims};
use leye_auth::{
    AuthError, AuthMethod, ConfigError, DivisionCode, JwtConfig, KeyAlgorithm, PrincipalId, Role, TokenVerifier,
};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};
use tempfile::TempDir;

const NOW: i64 = 1_760_000_000;
const SUB: &str = "STAFF-0042";

struct Setup {
    dir: TempDir,
    key: PathBuf,
    jwks: PathBuf,
    verifier: TokenVerifier,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, jwks) = dev::create_signing_key(dir.path(), "k1").expect("signing key");
    let verifier = TokenVerifier::new(&JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, &jwks)).expect("verifier");
    Setup { dir, key, jwks, verifier }
}

fn claims() -> DevClaims {
    let mut c = DevClaims::new(SUB, &[Role::Caseworker], &["120101", "120102001"]);
    c.office = Some("和平区就业服务中心".to_owned());
    c.key_id = Some("k1".to_owned());
    c
}

/// Standard claims as JSON, to edit before signing.
fn raw_claims() -> Value {
    claims().to_json(NOW)
}

fn issue(s: &Setup, c: &DevClaims, now: i64) -> String {
    dev::issue_token(&s.key, c, now).expect("issue")
}

fn issue_raw(s: &Setup, claims: &Value) -> String {
    dev::issue_token_with_claims(&s.key, Some("k1"), claims).expect("issue")
}

fn refused(v: &TokenVerifier, token: &str) -> AuthError {
    match v.verify(token, NOW) {
        Ok(p) => panic!("accepted as {}", p.id),
        Err(e) => {
            // No refusal ever repeats the token, its parts or the subject.
            let msg = e.to_string();
            assert!(!msg.contains(SUB) && !msg.to_lowercase().contains("staff-0042"));
            for part in token.split('.').filter(|p| p.len() > 8) {
                assert!(!msg.contains(part), "{msg}");
            }
            e
        }
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A compact JWS with any header, signed by `sign` over the signing input.
fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn without(mut v: Value, claim: &str) -> Value {
    v.as_object_mut().map(|m| m.remove(claim));
    v
}

fn with(mut v: Value, claim: &str, value: Value) -> Value {
    v.as_object_mut().map(|m| m.insert(claim.to_owned(), value));
    v
}

fn write_jwks(dir: &Path, name: &str, keys: Vec<Value>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json!({ "keys": keys }).to_string()).expect("write jwks");
    path
}

fn ed25519_jwk(jwks_file: &Path) -> Value {
    let text = std::fs::read_to_string(jwks_file).expect("read jwks");
    let doc: Value = serde_json::from_str(&text).expect("json");
    doc["keys"][0].clone()
}

fn ec_key() -> (EcdsaKeyPair, Value) {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate P-256");
    let key =
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("P-256 key");
    let point = key.public_key().as_ref();
    assert_eq!(point.len(), 65);
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": "ec1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    });
    (key, jwk)
}

fn rsa_key() -> (RsaKeyPair, Value) {
    let pem = include_str!("fixtures/rsa-2048.test-only.key.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).expect("pem body");
    let key = RsaKeyPair::from_pkcs8(&der).expect("RSA key");
    let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
    let jwk = json!({
        "kty": "RSA", "kid": "rsa1",
        "n": URL_SAFE_NO_PAD.encode(&public.n),
        "e": URL_SAFE_NO_PAD.encode(&public.e),
    });
    (key, jwk)
}

fn es256(key: &EcdsaKeyPair) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |m| key.sign(&SystemRandom::new(), m).expect("sign").as_ref().to_vec()
}

fn rs256(key: &RsaKeyPair) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |m| {
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), m, &mut sig).expect("sign");
        sig
    }
}

/// One verifier over an Ed25519, a P-256 and an RSA key.
fn three_keys(s: &Setup) -> (TokenVerifier, EcdsaKeyPair, RsaKeyPair) {
    let (ec, ec_jwk) = ec_key();
    let (rsa, rsa_jwk) = rsa_key();
    let path = write_jwks(s.dir.path(), "three.jwks.json", vec![ed25519_jwk(&s.jwks), ec_jwk, rsa_jwk]);
    let v = TokenVerifier::new(&JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, path)).expect("verifier");
    (v, ec, rsa)
}

#[test]
fn eddsa_token_gives_the_principal() {
    let s = setup();
    let p = s.verifier.verify(&issue(&s, &claims(), NOW), NOW).expect("accepted");
    assert_eq!(p.id.as_str(), "staff-0042");
    assert_eq!(p.roles.iter().copied().collect::<Vec<_>>(), [Role::Caseworker]);
    assert_eq!(
        p.jurisdiction,
        [DivisionCode::parse("120101").expect("code"), DivisionCode::parse("120102001").expect("code")]
    );
    assert_eq!(p.office.as_deref(), Some("和平区就业服务中心"));
    assert!(p.operations.is_empty());
    assert_eq!(p.method, AuthMethod::Bearer { issuer: DEV_ISSUER.to_owned(), key_id: Some("k1".to_owned()) });
    assert_eq!(p.method.label(), format!("bearer:{DEV_ISSUER}"));
    assert!(p.has_role(Role::Caseworker) && !p.has_role(Role::Supervisor));
    assert!(p.covers("120101", None, None));
    assert!(p.covers("120102", Some("120102001"), None));
    assert!(!p.covers("120102", None, None));
    assert!(p.covers_area("120102001003"));
    assert!(!p.covers_area("120000"));
}

#[test]
fn es256_and_rs256_tokens_are_accepted_by_their_kid() {
    let s = setup();
    let (v, ec, rsa) = three_keys(&s);
    assert_eq!(
        v.keys().collect::<Vec<_>>(),
        [("k1", KeyAlgorithm::EdDsa), ("ec1", KeyAlgorithm::Es256), ("rsa1", KeyAlgorithm::Rs256)]
    );
    let c = raw_claims();
    let t = jws(&json!({"alg": "ES256", "kid": "ec1", "typ": "JWT"}), &c, es256(&ec));
    let p = v.verify(&t, NOW).expect("ES256 accepted");
    assert_eq!(p.id.as_str(), "staff-0042");
    assert_eq!(p.method, AuthMethod::Bearer { issuer: DEV_ISSUER.into(), key_id: Some("ec1".into()) });

    let t = jws(&json!({"alg": "RS256", "kid": "rsa1"}), &c, rs256(&rsa));
    let p = v.verify(&t, NOW).expect("RS256 accepted");
    assert_eq!(p.id.as_str(), "staff-0042");

    // Ed25519 still works alongside.
    v.verify(&issue(&s, &claims(), NOW), NOW).expect("EdDSA accepted");

    // Each key only with its own algorithm: an ES256 signature under the RSA kid.
    let t = jws(&json!({"alg": "ES256", "kid": "rsa1"}), &c, es256(&ec));
    assert_eq!(refused(&v, &t).reason(), "TOKEN_ALGORITHM_REFUSED");
    // The right algorithm name but another key's signature.
    let t = jws(&json!({"alg": "RS256", "kid": "rsa1"}), &c, |_| vec![0; 256]);
    assert_eq!(refused(&v, &t).reason(), "TOKEN_SIGNATURE_INVALID");
    // Without kid, with three keys: which one is unknown.
    let t = jws(&json!({"alg": "ES256"}), &c, es256(&ec));
    assert_eq!(refused(&v, &t).reason(), "TOKEN_KEY_UNKNOWN");
}

#[test]
fn forged_and_tampered_tokens_are_refused() {
    let s = setup();
    // Another key published under the same kid.
    let other = tempfile::tempdir().expect("tempdir");
    let (other_key, _) = dev::create_signing_key(other.path(), "k1").expect("key");
    let forged = dev::issue_token(&other_key, &claims(), NOW).expect("issue");
    assert_eq!(refused(&s.verifier, &forged).reason(), "TOKEN_SIGNATURE_INVALID");

    // A genuine token whose payload is swapped for a supervisor's.
    let genuine = issue(&s, &claims(), NOW);
    let parts: Vec<&str> = genuine.split('.').collect();
    let escalated = with(raw_claims(), "roles", json!(["supervisor"]));
    let tampered = format!("{}.{}.{}", parts[0], b64(&escalated), parts[2]);
    assert_eq!(refused(&s.verifier, &tampered).reason(), "TOKEN_SIGNATURE_INVALID");
}

#[test]
fn expiry_and_not_before_with_bounded_skew() {
    let s = setup();
    let v = &s.verifier;
    // Issued two hours ago for one hour.
    let t = issue(&s, &claims(), NOW - 7200);
    assert_eq!(refused(v, &t).reason(), "TOKEN_EXPIRED");

    let mut c = claims();
    c.not_before_offset_secs = Some(600);
    assert_eq!(refused(v, &issue(&s, &c, NOW)).reason(), "TOKEN_NOT_YET_VALID");

    // Skew is 60 s: expired 59 s ago is accepted, 60 s ago is not.
    let base = with(raw_claims(), "iat", json!(NOW - 600));
    v.verify(&issue_raw(&s, &with(base.clone(), "exp", json!(NOW - 59))), NOW).expect("within skew");
    let t = issue_raw(&s, &with(base.clone(), "exp", json!(NOW - 60)));
    assert_eq!(refused(v, &t).reason(), "TOKEN_EXPIRED");
    // Not before 60 s from now is accepted, 61 s is not.
    v.verify(&issue_raw(&s, &with(raw_claims(), "nbf", json!(NOW + 60))), NOW).expect("within skew");
    let t = issue_raw(&s, &with(raw_claims(), "nbf", json!(NOW + 61)));
    assert_eq!(refused(v, &t).reason(), "TOKEN_NOT_YET_VALID");
    // Issued in the future beyond skew.
    let t = issue_raw(&s, &with(raw_claims(), "iat", json!(NOW + 120)));
    let e = refused(v, &t);
    assert_eq!(e.reason(), "CLAIM_INVALID");
    assert!(e.to_string().contains("`iat`"));

    // A stricter verifier: skew 0, and the boundary moves with it.
    let mut config = JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, &s.jwks);
    config.max_clock_skew_secs = 0;
    let strict = TokenVerifier::new(&config).expect("verifier");
    let t = issue_raw(&s, &with(base.clone(), "exp", json!(NOW)));
    assert_eq!(refused(&strict, &t).reason(), "TOKEN_EXPIRED");
    strict.verify(&issue_raw(&s, &with(base, "exp", json!(NOW + 1))), NOW).expect("one second left");
}

#[test]
fn a_token_verified_before_is_still_checked_for_its_times_at_every_use() {
    let s = setup();
    let v = &s.verifier;
    // Valid from NOW - 30 (nbf) until NOW + 3600 (exp), skew 60.
    let c = with(with(raw_claims(), "nbf", json!(NOW - 30)), "exp", json!(NOW + 3600));
    let t = issue_raw(&s, &c);
    let remembered = t.clone();
    let first = v.verify(&t, NOW).expect("valid");
    // Remembered: the same principal, from a clone too (clones share it).
    assert_eq!(v.verify(&t, NOW + 10).expect("still valid"), first);
    assert_eq!(v.clone().verify(&t, NOW + 3659).expect("within skew"), first);
    // Used again before `nbf` (a clock set back) or after `exp`: refused as
    // without the memory, and again after that.
    assert_eq!(v.verify(&t, NOW - 100).expect_err("not yet").reason(), "TOKEN_NOT_YET_VALID");
    assert_eq!(v.verify(&t, NOW + 3660).expect_err("expired").reason(), "TOKEN_EXPIRED");
    assert_eq!(v.verify(&t, NOW + 3660).expect_err("expired").reason(), "TOKEN_EXPIRED");
    // What is left of its lifetime is bounded on every use as well.
    let mut config = JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, &s.jwks);
    config.max_token_lifetime_secs = 3600;
    let strict = TokenVerifier::new(&config).expect("verifier");
    let c = with(raw_claims(), "exp", json!(NOW + 3600));
    let c = c.as_object().map(|m| {
        let mut m = m.clone();
        m.remove("iat");
        m.remove("nbf");
        Value::Object(m)
    });
    let t = issue_raw(&s, &c.expect("object"));
    strict.verify(&t, NOW).expect("exactly the lifetime");
    assert_eq!(strict.verify(&t, NOW - 61).expect_err("too long").reason(), "TOKEN_LIFETIME_TOO_LONG");
    // A refused token is not remembered: a fixed clock accepts it after.
    let late = issue_raw(&s, &with(raw_claims(), "nbf", json!(NOW + 600)));
    assert_eq!(refused(v, &late).reason(), "TOKEN_NOT_YET_VALID");
    v.verify(&late, NOW + 600).expect("valid from nbf");
    // The same claims with another signature are not the remembered token.
    v.verify(&remembered, NOW).expect("remembered");
    let mut forged = remembered;
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    assert_eq!(refused(v, &forged).reason(), "TOKEN_SIGNATURE_INVALID");
}

#[test]
fn times_must_be_integers_and_exp_is_required() {
    let s = setup();
    let e = refused(&s.verifier, &issue_raw(&s, &without(raw_claims(), "exp")));
    assert_eq!(e.reason(), "CLAIM_INVALID");
    assert!(e.to_string().contains("`exp`"), "{e}");
    // A string where a number belongs is not "absent" (CVE-2026-25537's class).
    for claim in ["exp", "nbf", "iat"] {
        let t = issue_raw(&s, &with(raw_claims(), claim, json!("99999999999")));
        let e = refused(&s.verifier, &t);
        assert_eq!(e.reason(), "CLAIM_INVALID", "{claim}");
        assert!(e.to_string().contains(claim));
    }
}

#[test]
fn lifetime_is_bounded() {
    let s = setup();
    let mut c = claims();
    c.ttl = Duration::from_secs(13 * 3600);
    assert_eq!(refused(&s.verifier, &issue(&s, &c, NOW)).reason(), "TOKEN_LIFETIME_TOO_LONG");
    c.ttl = Duration::from_secs(12 * 3600);
    s.verifier.verify(&issue(&s, &c, NOW), NOW).expect("exactly 12 h");
    // No iat and no nbf: what remains is bounded instead.
    let far = with(without(raw_claims(), "iat"), "exp", json!(NOW + 400 * 86400));
    assert_eq!(refused(&s.verifier, &issue_raw(&s, &far)).reason(), "TOKEN_LIFETIME_TOO_LONG");
    // exp - nbf too.
    let c = with(with(without(raw_claims(), "iat"), "nbf", json!(NOW - 12 * 3600)), "exp", json!(NOW + 3600));
    assert_eq!(refused(&s.verifier, &issue_raw(&s, &c)).reason(), "TOKEN_LIFETIME_TOO_LONG");
    // Extreme values do not overflow.
    let c = with(raw_claims(), "exp", json!(i64::MAX));
    assert_eq!(refused(&s.verifier, &issue_raw(&s, &c)).reason(), "TOKEN_LIFETIME_TOO_LONG");
    let c = with(raw_claims(), "iat", json!(i64::MIN));
    assert_eq!(refused(&s.verifier, &issue_raw(&s, &c)).reason(), "TOKEN_LIFETIME_TOO_LONG");
}

#[test]
fn issuer_and_audience() {
    let s = setup();
    let v = &s.verifier;
    let mut c = claims();
    c.issuer = "https://evil.example".into();
    assert_eq!(refused(v, &issue(&s, &c, NOW)).reason(), "TOKEN_ISSUER_INVALID");
    let t = issue_raw(&s, &without(raw_claims(), "iss"));
    assert_eq!(refused(v, &t).reason(), "TOKEN_ISSUER_INVALID");

    let mut c = claims();
    c.audience = "other-service".into();
    assert_eq!(refused(v, &issue(&s, &c, NOW)).reason(), "TOKEN_AUDIENCE_INVALID");
    let t = issue_raw(&s, &without(raw_claims(), "aud"));
    assert_eq!(refused(v, &t).reason(), "TOKEN_AUDIENCE_INVALID");
    let t = issue_raw(&s, &with(raw_claims(), "aud", json!(["other", "x"])));
    assert_eq!(refused(v, &t).reason(), "TOKEN_AUDIENCE_INVALID");
    // An array including ours is fine.
    let t = issue_raw(&s, &with(raw_claims(), "aud", json!(["other", DEV_AUDIENCE])));
    v.verify(&t, NOW).expect("audience in array");
}

#[test]
fn none_and_hmac_are_refused_whatever_the_key() {
    let s = setup();
    let c = raw_claims();
    for alg in ["none", "None", "NONE"] {
        let t = format!("{}.{}.", b64(&json!({"alg": alg, "kid": "k1"})), b64(&c));
        assert_eq!(refused(&s.verifier, &t).reason(), "TOKEN_ALGORITHM_REFUSED");
    }
    // Algorithm confusion: HMAC keyed with what the attacker knows, the public key.
    let jwks_text = std::fs::read(&s.jwks).expect("jwks");
    let x = URL_SAFE_NO_PAD.decode(ed25519_jwk(&s.jwks)["x"].as_str().expect("x")).expect("x");
    for (alg, hmac_alg) in
        [("HS256", ring::hmac::HMAC_SHA256), ("HS384", ring::hmac::HMAC_SHA384), ("HS512", ring::hmac::HMAC_SHA512)]
    {
        for secret in [&jwks_text[..], &x[..]] {
            let key = ring::hmac::Key::new(hmac_alg, secret);
            let t = jws(&json!({"alg": alg, "kid": "k1"}), &c, |m| ring::hmac::sign(&key, m).as_ref().to_vec());
            assert_eq!(refused(&s.verifier, &t).reason(), "TOKEN_ALGORITHM_REFUSED");
        }
    }
    // A header algorithm that is not the key's.
    let genuine = issue(&s, &claims(), NOW);
    let sig = genuine.rsplit('.').next().unwrap_or_default();
    let t = format!("{}.{}.{sig}", b64(&json!({"alg": "ES256", "kid": "k1"})), b64(&c));
    assert_eq!(refused(&s.verifier, &t).reason(), "TOKEN_ALGORITHM_REFUSED");
    // Critical header extensions are not understood, so refused.
    let t = format!("{}.{}.{sig}", b64(&json!({"alg": "EdDSA", "kid": "k1", "crit": ["exp"]})), b64(&c));
    assert_eq!(refused(&s.verifier, &t).reason(), "TOKEN_MALFORMED");
}

#[test]
fn key_selection() {
    let s = setup();
    let mut c = claims();
    c.key_id = Some("k2".into());
    assert_eq!(refused(&s.verifier, &issue(&s, &c, NOW)).reason(), "TOKEN_KEY_UNKNOWN");
    // No kid and a single key: that key.
    c.key_id = None;
    let p = s.verifier.verify(&issue(&s, &c, NOW), NOW).expect("single key");
    assert!(matches!(p.method, AuthMethod::Bearer { key_id: Some(ref k), .. } if k == "k1"));
}

#[test]
fn roles_jurisdiction_office_and_operations_claims() {
    let s = setup();
    let v = &s.verifier;
    let check = |claims: Value, claim: &str| {
        let e = refused(v, &issue_raw(&s, &claims));
        assert_eq!(e.reason(), "CLAIM_INVALID", "{claim}");
        assert!(e.to_string().contains(&format!("`{claim}`")), "{e}");
        e
    };
    let e = check(with(raw_claims(), "roles", json!(["caseworker", "root"])), "roles");
    assert!(e.to_string().contains("\"root\""), "the unknown role is named: {e}");
    let e = check(with(raw_claims(), "roles", json!(["<script>alert(1)</script>"])), "roles");
    assert!(!e.to_string().contains("script"), "odd role names are not echoed");
    check(with(raw_claims(), "roles", json!(["Caseworker"])), "roles");
    check(with(raw_claims(), "roles", json!([])), "roles");
    check(with(raw_claims(), "roles", json!("caseworker")), "roles");
    check(without(raw_claims(), "roles"), "roles");

    let e = check(with(raw_claims(), "jurisdiction", json!(["110101"])), "jurisdiction");
    assert!(!e.to_string().contains("110101"));
    check(with(raw_claims(), "jurisdiction", json!(["120107"])), "jurisdiction");
    check(with(raw_claims(), "jurisdiction", json!([])), "jurisdiction");
    check(with(raw_claims(), "jurisdiction", json!([120101])), "jurisdiction");
    check(without(raw_claims(), "jurisdiction"), "jurisdiction");

    check(with(raw_claims(), "office", json!("")), "office");
    check(with(raw_claims(), "office", json!("x".repeat(65))), "office");
    check(with(raw_claims(), "office", json!("a\u{0}b")), "office");

    check(without(raw_claims(), "sub"), "sub");
    check(with(raw_claims(), "sub", json!("staff 0042")), "sub");
    check(with(raw_claims(), "sub", json!("x".repeat(65))), "sub");
    check(with(raw_claims(), "sub", json!(42)), "sub");

    // The system role only with operations; others never.
    let op = "leye.person.v1.PersonCaseService/RecordPlacement";
    let system = with(raw_claims(), "roles", json!(["system"]));
    check(system.clone(), "operations");
    check(with(system.clone(), "operations", json!([])), "operations");
    check(with(system.clone(), "operations", json!(["RecordPlacement"])), "operations");
    check(with(raw_claims(), "operations", json!([op])), "operations");
    let p = v.verify(&issue_raw(&s, &with(system, "operations", json!([op]))), NOW).expect("system with operations");
    assert!(p.has_role(Role::System));
    assert!(p.is_granted(op));
    assert!(!p.is_granted("leye.person.v1.PersonCaseService/CloseCase"));
}

#[test]
fn reserved_subjects_are_refused() {
    let s = setup();
    for sub in ["leye-policy-finder", "LEYE-HIRE-LINKER", "  Leye-anything  ", "leye-"] {
        let mut c = claims();
        c.sub = sub.into();
        let e = refused(&s.verifier, &issue(&s, &c, NOW));
        assert_eq!(e.reason(), "RESERVED_SUBJECT", "{sub}");
        assert!(!e.to_string().to_lowercase().contains("leye-"), "{e}");
    }
    assert_eq!(leye_auth::SERVICE_ACTOR_PREFIX, "leye-");
}

#[test]
fn case_variants_are_one_principal() {
    let s = setup();
    let ids: Vec<PrincipalId> = ["STAFF-0042", "staff-0042", "Staff-0042", " sTaFf-0042 "]
        .into_iter()
        .map(|sub| {
            let mut c = claims();
            c.sub = sub.into();
            s.verifier.verify(&issue(&s, &c, NOW), NOW).expect("accepted").id
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(ids[0].to_string(), "staff-0042");
    assert_eq!(serde_json::to_string(&ids[0]).expect("json"), "\"staff-0042\"");
}

#[test]
fn malformed_tokens() {
    let s = setup();
    assert_eq!(refused(&s.verifier, "").reason(), "CREDENTIALS_MISSING");
    assert_eq!(refused(&s.verifier, "   ").reason(), "CREDENTIALS_MISSING");
    let genuine = issue(&s, &claims(), NOW);
    for bad in [
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        &format!("{genuine}.extra"),
        &format!("{genuine}="),
        &"a".repeat(20_000),
    ] {
        assert_eq!(refused(&s.verifier, bad).reason(), "TOKEN_MALFORMED", "{bad:.40}");
    }
    // Odd headers, with multi-byte characters where ASCII is expected.
    let c = raw_claims();
    let sig = genuine.rsplit('.').next().unwrap_or_default();
    for header in [
        json!({"alg": "aé", "kid": "k1"}),
        json!({"alg": "é", "kid": "k1"}),
        json!({"alg": "", "kid": "k1"}),
        json!({"alg": "Hé", "kid": "k1"}),
        json!({"alg": 5, "kid": "k1"}),
        json!({"kid": "k1"}),
        json!({"alg": "EdDSA", "kid": 1}),
        json!({"alg": "EdDSA", "kid": "é"}),
        json!(["EdDSA"]),
    ] {
        let t = format!("{}.{}.{sig}", b64(&header), b64(&c));
        let e = refused(&s.verifier, &t);
        assert!(
            matches!(e.reason(), "TOKEN_MALFORMED" | "TOKEN_ALGORITHM_REFUSED" | "TOKEN_KEY_UNKNOWN"),
            "{header}: {e}"
        );
    }
    // Every byte boundary of a genuine token, cut or with a multi-byte character spliced in.
    for i in 0..genuine.len() {
        for t in [genuine[..i].to_owned(), format!("{}é{}", &genuine[..i], &genuine[i..])] {
            assert!(s.verifier.verify(&t, NOW).is_err());
        }
    }
    // A payload that is JSON but not an object, correctly signed.
    let t = dev::issue_token_with_claims(&s.key, Some("k1"), &json!([1, 2])).expect("issue");
    assert_eq!(refused(&s.verifier, &t).reason(), "TOKEN_MALFORMED");
}

#[test]
fn error_messages_carry_no_token_contents() {
    let s = setup();
    let mut c = claims();
    c.sub = "ZHANG-WEI-13800138000".into();
    c.ttl = Duration::from_secs(3600);
    let t = issue(&s, &c, NOW - 7200);
    let e = s.verifier.verify(&t, NOW).expect_err("expired");
    let msg = format!("{e} {e:?}");
    assert!(!msg.contains(&t));
    assert!(!msg.to_lowercase().contains("zhang"), "{msg}");
    assert!(!msg.contains("13800138000"), "{msg}");
    for part in t.split('.') {
        assert!(!msg.contains(part));
    }
    // The same for a claim refusal that sees the subject.
    let bad = with(with(c.to_json(NOW), "sub", json!("ZHANG WEI 13800138000")), "jurisdiction", json!(["110101"]));
    let e = s.verifier.verify(&issue_raw(&s, &bad), NOW).expect_err("refused");
    let msg = format!("{e} {e:?}");
    assert!(!msg.to_lowercase().contains("zhang") && !msg.contains("13800138000"), "{msg}");
}

#[test]
fn configuration_is_validated() {
    let s = setup();
    let dir = s.dir.path();
    let mut config = JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, &s.jwks);
    config.max_clock_skew_secs = 301;
    assert!(matches!(TokenVerifier::new(&config), Err(ConfigError::Jwt { field: "max_clock_skew_secs", .. })));
    config.max_clock_skew_secs = 300;
    TokenVerifier::new(&config).expect("300 is the limit");
    config.max_token_lifetime_secs = 0;
    assert!(TokenVerifier::new(&config).is_err());

    let missing = JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, dir.join("nope.json"));
    assert!(matches!(TokenVerifier::new(&missing), Err(ConfigError::Read { .. })));

    let ed = ed25519_jwk(&s.jwks);
    let (_, rsa) = rsa_key();
    let cases: Vec<(Vec<Value>, &str)> = vec![
        (vec![], "no keys"),
        (vec![json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})], "symmetric"),
        (vec![json!({"kty": "oct", "kid": "h"})], "symmetric"),
        (vec![with(ed.clone(), "d", json!("AAAA"))], "private"),
        (vec![ed.clone(), ed.clone()], "duplicate kid"),
        (vec![without(ed.clone(), "kid")], "no kid"),
        (vec![with(ed.clone(), "alg", json!("ES256"))], "alg mismatch"),
        (vec![with(ed.clone(), "alg", json!("HS256"))], "alg mismatch"),
        (vec![with(ed.clone(), "crv", json!("X25519"))], "crv"),
        (vec![with(ed.clone(), "x", json!("AAAA"))], "short x"),
        (vec![with(rsa.clone(), "n", json!(URL_SAFE_NO_PAD.encode([0xffu8; 128])))], "1024-bit RSA"),
        (vec![with(rsa.clone(), "e", json!("AAE"))], "exponent 1"),
        (vec![with(rsa.clone(), "e", json!("AQAC"))], "even exponent"),
        (vec![json!({"kty": "EC", "crv": "P-384", "kid": "e", "x": "AA", "y": "AA"})], "P-384"),
    ];
    for (i, (keys, what)) in cases.into_iter().enumerate() {
        let path = write_jwks(dir, &format!("bad{i}.json"), keys);
        let r = TokenVerifier::new(&JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, path));
        assert!(r.is_err(), "{what}");
    }
    // Encryption keys are skipped, not refused.
    let enc = with(with(ed.clone(), "use", json!("enc")), "kid", json!("enc1"));
    let path = write_jwks(dir, "enc.json", vec![ed, enc]);
    let v = TokenVerifier::new(&JwtConfig::new(DEV_ISSUER, DEV_AUDIENCE, path)).expect("ok");
    assert_eq!(v.keys().count(), 1);
}

#[test]
fn config_from_toml_has_defaults() {
    let config: JwtConfig = toml::from_str(
        r#"
        issuer = "https://sso.tj.gov.cn"
        audience = "leye"
        jwks_file = "/etc/leye/jwks.json"
        "#,
    )
    .expect("toml");
    assert_eq!(config.max_clock_skew_secs, 60);
    assert_eq!(config.max_token_lifetime_secs, 12 * 3600);
    assert!(toml::from_str::<JwtConfig>("issuer = \"a\"\naudience = \"b\"\njwks_file = \"c\"\nskew = 1").is_err());
}
