//! Who the caller is, over the harness's TLS server: a bearer token of the
//! configured issuer, else a client certificate mapped to a principal.
//!
//! - A token that does not verify — forged signature, expired, not yet
//!   valid, wrong issuer, wrong audience, unsigned or HMAC, malformed, of an
//!   unknown key, too long-lived, naming a reserved subject — and no token
//!   at all: `UNAUTHENTICATED` with the reason in `ErrorInfo`, and nothing
//!   written.
//! - A client certificate of the trusted CA mapped in `[[clients]]` is that
//!   principal, allowed what its entry grants; one of another CA fails the
//!   TLS handshake; plain text on the TLS port is not answered.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use leye_auth::{ClientEntry, Role, dev};
use leye_e2e::{TestServer, ctx, days_ago, reason, register_request, resident_id, spawn, spawn_with};
use leye_proto::person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient};
use tonic::{
    Code, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};

/// The operation the mapped certificate is granted.
const FIND_CASE: &str = "leye.person.v1.PersonCaseService/FindCaseByResidentId";
/// The principal the mapped certificate is.
const HR_BUREAU: &str = "sys-hr-bureau";

/// Claims the server would accept: a Xiqing caseworker, valid for an hour from `now`.
fn caseworker() -> dev::DevClaims {
    dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..dev::DevClaims::new("staff-0101", &[Role::Caseworker], &["120111"])
    }
}

/// The development issuer's signing key of the server.
fn issuer_key(server: &TestServer) -> std::path::PathBuf {
    leye::trust::dev_issuer(server.data_dir.path()).expect("development issuer").0
}

/// A token signed by the server's issuer with `claims` at `now`.
fn signed(server: &TestServer, claims: &dev::DevClaims, now: i64) -> String {
    dev::issue_token(&issuer_key(server), claims, now).expect("token")
}

/// `header.payload.signature`: the given JSON header over valid claims, and
/// `signature` as the third part (not a signature the issuer's key made).
fn with_header(header: &str, claims: &dev::DevClaims, signature: &[u8]) -> String {
    let payload = claims.to_json(Utc::now().timestamp()).to_string();
    format!("{}.{}.{}", base64url(header.as_bytes()), base64url(payload.as_bytes()), base64url(signature))
}

/// Base64url without padding (RFC 4648 § 5), as JWS uses it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Sends `authorization: Bearer <token>` when it has a token, nothing otherwise.
#[derive(Clone)]
struct Credentials(Option<MetadataValue<Ascii>>);

impl Interceptor for Credentials {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Client = PersonCaseServiceClient<InterceptedService<Channel, Credentials>>;

/// A person-case client over the server's TLS port sending `token` (none: no credentials).
async fn client_with(server: &TestServer, token: Option<&str>) -> Client {
    let value = token.map(|t| format!("Bearer {t}").parse().expect("a printable token"));
    PersonCaseServiceClient::new(InterceptedService::new(server.channel().await, Credentials(value)))
}

fn contact(case_id: &str) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(0),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: "回访".into(),
        }),
    }
}

fn describe(result: &Result<(), Status>) -> String {
    match result {
        Ok(()) => "OK".into(),
        Err(s) => format!("{:?} {} ({})", s.code(), reason(s).unwrap_or_default(), s.message()),
    }
}

#[tokio::test]
async fn tokens_that_do_not_verify_and_no_token_are_unauthenticated_and_write_nothing() {
    let server = spawn().await;
    let mut setup = server.client().await;
    let case_id = setup
        .register_unemployment(register_request(&resident_id("19900101", 1), days_ago(100)))
        .await
        .expect("register")
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let now = Utc::now().timestamp();

    // Another Ed25519 key under the issuer's key id: the signature does not verify.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let (forger, _) = dev::create_signing_key(elsewhere.path(), leye::trust::DEV_KEY_ID).expect("forger's key");
    let forged = dev::issue_token(&forger, &caseworker(), now).expect("forged token");

    let wrong_issuer = dev::DevClaims { issuer: "https://auth.elsewhere.invalid".into(), ..caseworker() };
    let wrong_audience = dev::DevClaims { audience: "another-service".into(), ..caseworker() };
    let not_yet_valid = dev::DevClaims { not_before_offset_secs: Some(300), ..caseworker() };
    let unknown_key = dev::DevClaims { key_id: Some("rotated-away".into()), ..caseworker() };
    let too_long = dev::DevClaims { ttl: Duration::from_secs(13 * 3600), ..caseworker() };
    let reserved = dev::DevClaims { sub: "leye-policy-finder".into(), ..caseworker() };

    let refusals: Vec<(&str, Option<String>, &str)> = vec![
        ("no token at all", None, "CREDENTIALS_MISSING"),
        ("a signature by another key with the issuer's key id", Some(forged), "TOKEN_SIGNATURE_INVALID"),
        // Issued two hours ago for an hour: expired an hour ago, far beyond the 60 s skew.
        ("a token that expired an hour ago", Some(signed(&server, &caseworker(), now - 7200)), "TOKEN_EXPIRED"),
        // exp = now - 120: expired by more than the tolerated skew.
        ("a token that expired two minutes ago", Some(signed(&server, &caseworker(), now - 3720)), "TOKEN_EXPIRED"),
        ("a token valid from five minutes on", Some(signed(&server, &not_yet_valid, now)), "TOKEN_NOT_YET_VALID"),
        ("a token of another issuer", Some(signed(&server, &wrong_issuer, now)), "TOKEN_ISSUER_INVALID"),
        ("a token for another audience", Some(signed(&server, &wrong_audience, now)), "TOKEN_AUDIENCE_INVALID"),
        (
            "an unsigned token (alg none)",
            Some(with_header(r#"{"alg":"none","typ":"JWT"}"#, &caseworker(), b"")),
            "TOKEN_ALGORITHM_REFUSED",
        ),
        (
            "an HMAC token (alg HS256)",
            Some(with_header(r#"{"alg":"HS256","typ":"JWT","kid":"leye-dev"}"#, &caseworker(), b"mac")),
            "TOKEN_ALGORITHM_REFUSED",
        ),
        ("a token that is not a JWS", Some("not-a-token".into()), "TOKEN_MALFORMED"),
        ("a token of an unknown key id", Some(signed(&server, &unknown_key, now)), "TOKEN_KEY_UNKNOWN"),
        ("a token living 13 hours", Some(signed(&server, &too_long, now)), "TOKEN_LIFETIME_TOO_LONG"),
        ("a token naming the policy finder", Some(signed(&server, &reserved, now)), "RESERVED_SUBJECT"),
    ];

    let mut failures = Vec::new();
    for (what, token, expected) in &refusals {
        let mut c = client_with(&server, token.as_deref()).await;
        let before = server.event_count();
        let write = c.record_contact(contact(&case_id)).await.map(|_| ());
        let read = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.map(|_| ());
        for (call, result) in [("RecordContact", &write), ("GetCase", &read)] {
            let refused = matches!(result, Err(s) if s.code() == Code::Unauthenticated
                && reason(s).as_deref() == Some(*expected));
            if !refused {
                failures.push(format!("{what}: {call} expected UNAUTHENTICATED {expected}, got {}", describe(result)));
            }
        }
        if server.event_count() != before {
            failures.push(format!("{what}: refused, yet events were written"));
        }
    }
    assert!(failures.is_empty(), "tokens that must not authenticate:\n{}", failures.join("\n"));

    // The same requests with a token that verifies are answered (and the
    // contact is written), so the refusals above are the token's; a token that
    // expired within the 60 s skew still verifies.
    // Issued 3630 s ago for an hour: expired 30 s ago, within the skew.
    let within_skew = signed(&server, &caseworker(), now - 3630);
    for token in [signed(&server, &caseworker(), now), within_skew] {
        let mut c = client_with(&server, Some(&token)).await;
        let before = server.event_count();
        c.record_contact(contact(&case_id)).await.expect("a valid token records the contact");
        assert_eq!(server.event_count(), before + 1, "an accepted contact is one event");
    }
    server.stop().await;
}

// === client certificates ===

/// A TLS channel to `server` trusting the test CA and presenting `identity`
/// (certificate and key, PEM), or the error of connecting.
async fn connect_with(
    server: &TestServer,
    identity: Option<&dev::CertFiles>,
) -> Result<Channel, tonic::transport::Error> {
    let ca = std::fs::read(server.data_dir.path().join("tls/test-ca.pem")).expect("test CA");
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
    if let Some(files) = identity {
        let cert = std::fs::read(&files.cert).expect("client certificate");
        let key = std::fs::read(&files.key).expect("client key");
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Channel::from_shared(format!("https://localhost:{}", server.addr.port()))
        .expect("uri")
        .tls_config(tls)
        .expect("tls config")
        .connect()
        .await
}

/// Whether a call's result came from the service (any gRPC status it sends,
/// success or refusal) rather than from a connection that never carried it
/// (a status made by the client from a transport error).
fn answered_by_the_service(result: &Result<(), Status>) -> bool {
    match result {
        Ok(()) => true,
        Err(s) => {
            let transport = std::error::Error::source(s).is_some_and(|e| e.is::<tonic::transport::Error>());
            !transport
        }
    }
}

#[tokio::test]
async fn a_mapped_client_certificate_is_its_principal_and_one_of_another_ca_fails_the_handshake() {
    // The data directory's CA must exist before the server starts: the
    // mapped certificate is issued by it and named in the configuration.
    let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let tls = leye_e2e::credentials(data_dir.path());
    let test_ca = dev::CaFiles { cert: tls.join("test-ca.pem"), key: tls.join("test-ca.key.pem") };
    let certs = tempfile::tempdir().expect("temp dir");
    let mapped = dev::issue_client_cert(&test_ca, certs.path(), HR_BUREAU).expect("client certificate");
    let fingerprint = dev::fingerprint(&mapped.cert).expect("fingerprint");
    let unmapped = dev::issue_client_cert(&test_ca, certs.path(), "sys-unlisted").expect("client certificate");
    let other_dir = tempfile::tempdir().expect("temp dir");
    let other_ca = dev::create_ca(other_dir.path(), "other").expect("another CA");
    let foreign = dev::issue_client_cert(&other_ca, other_dir.path(), HR_BUREAU).expect("foreign certificate");

    let server = spawn_with(data_dir, |c| {
        c.trust.clients = vec![ClientEntry {
            sha256: Some(fingerprint),
            principal: HR_BUREAU.into(),
            roles: vec![Role::System],
            jurisdiction: vec!["120111".into()],
            operations: vec![FIND_CASE.into()],
            ..Default::default()
        }];
    })
    .await;
    let resident = resident_id("19900101", 1);
    let mut setup = server.client().await;
    let case_id = setup
        .register_unemployment(register_request(&resident, days_ago(100)))
        .await
        .expect("register a Xiqing person")
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let before = server.event_count();

    // Without a token, the mapped certificate is the HR bureau: its granted
    // operation is answered, for a person in its jurisdiction and for one unknown.
    let mut bureau = PersonCaseServiceClient::new(connect_with(&server, Some(&mapped)).await.expect("mutual TLS"));
    let found = bureau
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident.clone() })
        .await
        .expect("the granted operation is answered")
        .into_inner();
    assert_eq!(found.case_id, case_id, "the certificate's principal finds the Xiqing case");
    let unknown = bureau
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id("19900101", 3) })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "an unknown resident is not found: {unknown:?}");
    // Any other operation is not granted: refused for the role, whatever the table's roles.
    let other = bureau.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap_err();
    assert_eq!(
        (other.code(), reason(&other).as_deref()),
        (Code::PermissionDenied, Some("ROLE_MISSING")),
        "an operation the entry does not grant: {other:?}"
    );
    let write = bureau.record_contact(contact(&case_id)).await.unwrap_err();
    assert_eq!((write.code(), reason(&write).as_deref()), (Code::PermissionDenied, Some("ROLE_MISSING")));

    // A certificate of the trusted CA that no entry maps is no principal.
    let mut stranger = PersonCaseServiceClient::new(connect_with(&server, Some(&unmapped)).await.expect("mutual TLS"));
    let refused = stranger
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident.clone() })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_deref()),
        (Code::Unauthenticated, Some("CERTIFICATE_UNKNOWN")),
        "an unmapped certificate: {refused:?}"
    );

    // A certificate of another CA fails the handshake: the connection, or its
    // first call, errors before any service sees the request.
    match connect_with(&server, Some(&foreign)).await {
        Err(_) => {}
        Ok(channel) => {
            let mut c = PersonCaseServiceClient::new(channel);
            let result = c
                .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident.clone() })
                .await
                .map(|_| ());
            assert!(
                !answered_by_the_service(&result),
                "a certificate of an unknown CA must not be answered: {}",
                describe(&result)
            );
        }
    }

    // Plain text on the TLS port is not answered either.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{}", server.addr.port())).expect("uri").connect().await;
    if let Ok(channel) = plain {
        let result = PersonCaseServiceClient::new(channel)
            .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident.clone() })
            .await
            .map(|_| ());
        assert!(!answered_by_the_service(&result), "plain text on the TLS port was answered: {}", describe(&result));
    }

    assert_eq!(server.event_count(), before, "nothing was written by any of these callers");
    server.stop().await;
}
