//! Why a credential was refused, and why a configuration was.

use std::path::PathBuf;

/// A refused credential. [`AuthError::reason`] is a stable code for the
/// server's status details and audit; the `Display` text names the claim and
/// the rule, never the token, the subject or other values from the credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("no credentials were presented")]
    CredentialsMissing,
    #[error("the bearer token is malformed: {0}")]
    TokenMalformed(&'static str),
    #[error("the bearer token's signature does not verify")]
    TokenSignatureInvalid,
    #[error("the bearer token has expired")]
    TokenExpired,
    #[error("the bearer token is not valid yet")]
    TokenNotYetValid,
    #[error("the bearer token's issuer is not the configured issuer")]
    TokenIssuerInvalid,
    #[error("the bearer token's audience does not include this service")]
    TokenAudienceInvalid,
    #[error("the bearer token names no configured key")]
    TokenKeyUnknown,
    #[error("the bearer token's algorithm is refused: {0}")]
    TokenAlgorithmRefused(&'static str),
    #[error("the bearer token's lifetime exceeds the configured maximum")]
    TokenLifetimeTooLong,
    #[error("claim `{claim}` is invalid (rule: it {rule})")]
    ClaimInvalid { claim: &'static str, rule: String },
    #[error("the subject is reserved for the service's own actors")]
    ReservedSubject,
    #[error("the client certificate is not mapped to a principal: {0}")]
    CertificateUnknown(&'static str),
}

impl AuthError {
    /// The stable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::CredentialsMissing => "CREDENTIALS_MISSING",
            AuthError::TokenMalformed(_) => "TOKEN_MALFORMED",
            AuthError::TokenSignatureInvalid => "TOKEN_SIGNATURE_INVALID",
            AuthError::TokenExpired => "TOKEN_EXPIRED",
            AuthError::TokenNotYetValid => "TOKEN_NOT_YET_VALID",
            AuthError::TokenIssuerInvalid => "TOKEN_ISSUER_INVALID",
            AuthError::TokenAudienceInvalid => "TOKEN_AUDIENCE_INVALID",
            AuthError::TokenKeyUnknown => "TOKEN_KEY_UNKNOWN",
            AuthError::TokenAlgorithmRefused(_) => "TOKEN_ALGORITHM_REFUSED",
            AuthError::TokenLifetimeTooLong => "TOKEN_LIFETIME_TOO_LONG",
            AuthError::ClaimInvalid { .. } => "CLAIM_INVALID",
            AuthError::ReservedSubject => "RESERVED_SUBJECT",
            AuthError::CertificateUnknown(_) => "CERTIFICATE_UNKNOWN",
        }
    }

    pub(crate) fn claim(claim: &'static str, rule: impl Into<String>) -> Self {
        AuthError::ClaimInvalid { claim, rule: rule.into() }
    }
}

/// A configuration the verifiers cannot start with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("JWT configuration: `{field}` {rule}")]
    Jwt { field: &'static str, rule: String },
    #[error("JWKS {path}: {rule}")]
    Jwks { path: PathBuf, rule: String },
    #[error("JWKS {path}: key {index}: `{field}` {rule}")]
    JwksKey { path: PathBuf, index: usize, field: &'static str, rule: String },
    #[error("[[clients]] entry {index}: `{field}` {rule}")]
    Client { index: usize, field: &'static str, rule: String },
}
