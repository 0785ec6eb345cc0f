//! Who is calling leye.
//!
//! `leye-auth` turns a credential into a verified [`Principal`]: a canonical
//! identity, its roles, the part of Tianjin it works in, and how it proved
//! itself. It answers *who*, never *may they*: the server authorizes, wires
//! TLS and audits.
//!
//! # Layout
//!
//! - [`role`]: the six [`Role`]s.
//! - [`division`]: [`DivisionCode`], the administrative division codes a
//!   jurisdiction is made of, and the coverage rules between codes and places.
//! - [`principal`]: [`PrincipalId`] (canonical identity), [`AuthMethod`], [`Principal`].
//! - [`jwt`]: [`JwtConfig`] and [`TokenVerifier`], bearer tokens (compact JWS)
//!   verified against a local JWKS file. Ed25519 (`EdDSA`), P-256 (`ES256`)
//!   and RSA (`RS256`, 2048 bits or more); signatures are checked by `ring`.
//! - [`verified`]: the tokens a verifier has already verified (signature
//!   checked on a token's first use, its times on every use).
//! - [`cert`]: [`ClientEntry`] and [`CertificateMap`], client certificates
//!   (already verified by the TLS handshake) mapped to principals by SHA-256
//!   fingerprint or by subject common name.
//! - [`error`]: [`AuthError`] (with stable [`AuthError::reason`] codes) and [`ConfigError`].
//! - [`dev`]: development issuance — an Ed25519 signing key and its JWKS,
//!   tokens, a development CA with server and client certificates — so tests
//!   and new users need nothing from outside.
//!
//! # Invariants
//!
//! - Every [`Principal`] this crate produces has a canonical id (see
//!   [`PrincipalId::parse`]), at least one role and at least one division
//!   code, and its id never starts with [`SERVICE_ACTOR_PREFIX`]: those ids
//!   belong to the service's own actors (`leye-policy-finder`,
//!   `leye-hire-linker`, …), and a token or certificate claiming one is
//!   refused with `RESERVED_SUBJECT`.
//! - The algorithm of a token comes from the key it names, never from the
//!   token: `none` and HMAC (`HS*`) are refused outright, and a header
//!   algorithm that differs from the key's is refused.
//! - Time is given by the caller (`now_unix_secs`), so verification is
//!   deterministic; skew is bounded (at most 300 s) and so is a token's
//!   lifetime.
//! - Error messages ([`AuthError`]'s `Display`) name a claim and a rule, never
//!   the token, the subject, or any other value taken from the credential
//!   (an unknown role string is named only when it is short and plain ASCII).
//! - No `unwrap` or `panic` on input from outside; no hand-written
//!   cryptography (`ring`, `rcgen`, `x509-parser`, `rustls-pki-types`).

pub mod cert;
pub mod dev;
pub mod division;
pub mod error;
pub mod jwt;
pub mod principal;
pub mod role;
pub mod verified;

pub use cert::{CertificateMap, ClientEntry};
pub use division::{DivisionCode, TIANJIN_DISTRICTS};
pub use error::{AuthError, ConfigError};
pub use jwt::{JwtConfig, KeyAlgorithm, TokenVerifier};
pub use principal::{AuthMethod, Principal, PrincipalId};
pub use role::{Role, UnknownRole};

/// Ids starting with this prefix are the service's own actors
/// (`leye-policy-finder`, `leye-hire-linker`, …); no credential may claim one.
pub const SERVICE_ACTOR_PREFIX: &str = "leye-";

/// Lowercase hex of the SHA-256 of `der` — the fingerprint `[[clients]]`
/// entries name and [`AuthMethod::ClientCertificate`] carries.
pub fn certificate_sha256(der: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `operation` looks like a full gRPC method name,
/// `package.Service/Method` (ASCII letters, digits, `_` and `.`).
pub(crate) fn is_grpc_method(operation: &str) -> bool {
    let Some((service, method)) = operation.split_once('/') else {
        return false;
    };
    let word = |s: &str, dots: bool| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || (dots && c == '.'))
    };
    operation.len() <= 200
        && word(service, true)
        && service.contains('.')
        && !service.starts_with('.')
        && !service.ends_with('.')
        && !service.contains("..")
        && word(method, false)
}

/// Whether `office` is 1..=64 characters, none of them control characters
/// and not only whitespace.
pub(crate) fn is_valid_office(office: &str) -> bool {
    let n = office.chars().count();
    (1..=64).contains(&n)
        && !office.chars().any(char::is_control)
        && !office.trim().is_empty()
        && !office.chars().any(principal::is_invisible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_method_names() {
        assert!(is_grpc_method("leye.person.v1.PersonCaseService/RecordPlacement"));
        for bad in ["", "RecordPlacement", "Service/Method", "leye.x/", "/M", "leye..x/M", "leye.x/M/N", "leye.x/M N"] {
            assert!(!is_grpc_method(bad), "{bad}");
        }
    }

    #[test]
    fn sha256_hex() {
        assert_eq!(certificate_sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn offices() {
        assert!(is_valid_office("和平区就业服务中心"));
        assert!(!is_valid_office(""));
        assert!(!is_valid_office("   "));
        assert!(!is_valid_office("a\nb"));
        assert!(!is_valid_office(&"x".repeat(65)));
    }
}
