//! Bearer tokens: compact JWS (RFC 7515) JWTs verified against a local JWKS
//! file (RFC 7517).
//!
//! Verification order: shape → header (`alg`, `kid`, no `crit`) → key →
//! algorithm (the key's; `none` and `HS*` refused first) → signature (`ring`)
//! → `iss` → `aud` → `exp`/`nbf`/`iat` and lifetime → `sub` → `roles` →
//! `jurisdiction` → `office` → `operations`. The claims are only read after
//! the signature verifies.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::division::DivisionCode;
use crate::error::{AuthError, ConfigError};
use crate::principal::{AuthMethod, Principal, PrincipalId};
use crate::role::Role;
use crate::verified::{self, Times, Verified, VerifiedTokens};

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Most division codes a token may list.
pub const MAX_JURISDICTION_CODES: usize = 256;
/// Most operations a token may list.
pub const MAX_OPERATIONS: usize = 256;

/// Where tokens come from and how strictly their times are read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The `iss` every token must carry, exactly.
    pub issuer: String,
    /// The `aud` (string, or one of an array) every token must carry.
    pub audience: String,
    /// The issuer's public keys, a JWKS file (`{"keys": [...]}`).
    pub jwks_file: PathBuf,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`; default 60, at most 300.
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u64,
    /// Longest lifetime a token may have (`exp - iat`, `exp - nbf`, and what
    /// remains of it, `exp - now`); default 12 hours.
    #[serde(default = "default_lifetime")]
    pub max_token_lifetime_secs: u64,
}

fn default_skew() -> u64 {
    JwtConfig::DEFAULT_MAX_CLOCK_SKEW_SECS
}

fn default_lifetime() -> u64 {
    JwtConfig::DEFAULT_MAX_TOKEN_LIFETIME_SECS
}

impl JwtConfig {
    pub const DEFAULT_MAX_CLOCK_SKEW_SECS: u64 = 60;
    /// Upper bound of `max_clock_skew_secs`.
    pub const MAX_CLOCK_SKEW_LIMIT_SECS: u64 = 300;
    pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 12 * 60 * 60;
    /// Upper bound of `max_token_lifetime_secs` (7 days).
    pub const MAX_TOKEN_LIFETIME_LIMIT_SECS: u64 = 7 * 24 * 60 * 60;

    /// A configuration with the default skew and lifetime.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, jwks_file: impl Into<PathBuf>) -> Self {
        JwtConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_file: jwks_file.into(),
            max_clock_skew_secs: Self::DEFAULT_MAX_CLOCK_SKEW_SECS,
            max_token_lifetime_secs: Self::DEFAULT_MAX_TOKEN_LIFETIME_SECS,
        }
    }

    /// Checks the fields (not the JWKS file).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, rule: &str| Err(ConfigError::Jwt { field, rule: rule.to_owned() });
        if self.issuer.trim().is_empty() || self.issuer.chars().any(char::is_control) {
            return err("issuer", "must be non-empty, without control characters");
        }
        if self.audience.trim().is_empty() || self.audience.chars().any(char::is_control) {
            return err("audience", "must be non-empty, without control characters");
        }
        if self.max_clock_skew_secs > Self::MAX_CLOCK_SKEW_LIMIT_SECS {
            return err("max_clock_skew_secs", "must be at most 300");
        }
        if self.max_token_lifetime_secs == 0 || self.max_token_lifetime_secs > Self::MAX_TOKEN_LIFETIME_LIMIT_SECS {
            return err("max_token_lifetime_secs", "must be between 1 and 604800 (7 days)");
        }
        Ok(())
    }
}

/// The signature algorithm a key is for; a token must use its key's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 (`kty: OKP`, `crv: Ed25519`).
    EdDsa,
    /// ECDSA on P-256 with SHA-256 (`kty: EC`, `crv: P-256`).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`kty: RSA`, 2048 to 8192 bits).
    Rs256,
}

impl KeyAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Es256 => "ES256",
            KeyAlgorithm::Rs256 => "RS256",
        }
    }
}

#[derive(Clone)]
enum Material {
    Ed25519(Vec<u8>),
    /// Uncompressed SEC1 point, `04 || x || y`.
    P256(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

#[derive(Clone)]
struct VerifyingKey {
    kid: String,
    alg: KeyAlgorithm,
    material: Material,
}

impl VerifyingKey {
    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig).is_ok(),
            Material::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
            }
            Material::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig).is_ok()
            }
        }
    }
}

/// Verifies bearer tokens against one issuer's keys. Cheap to share
/// (`&self` only); build it once at start-up. Tokens that verified are
/// remembered (see [`crate::verified`]): a token's signature is checked on
/// its first use, its times on every use. Clones share what they remember.
#[derive(Clone)]
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    skew: i64,
    max_lifetime: i64,
    keys: Vec<VerifyingKey>,
    verified: Arc<VerifiedTokens>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("skew", &self.skew)
            .field("max_lifetime", &self.max_lifetime)
            .field("keys", &self.keys.iter().map(|k| (k.kid.as_str(), k.alg.as_str())).collect::<Vec<_>>())
            .finish()
    }
}

impl TokenVerifier {
    /// Validates `config` and loads its JWKS file.
    pub fn new(config: &JwtConfig) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(&config.jwks_file)
            .map_err(|source| ConfigError::Read { path: config.jwks_file.clone(), source })?;
        Self::from_jwks_json(config, &text)
    }

    /// As [`TokenVerifier::new`], with the JWKS given as text
    /// (`config.jwks_file` only names it in errors).
    ///
    /// Every key must have a unique `kid` and be Ed25519, P-256 or RSA of
    /// 2048 to 8192 bits; an `alg`, if given, must be the key's (`EdDSA`,
    /// `ES256`, `RS256`); keys with `use: "enc"` are skipped; symmetric
    /// (`oct`) keys and keys carrying private parts are refused.
    pub fn from_jwks_json(config: &JwtConfig, jwks: &str) -> Result<Self, ConfigError> {
        config.validate()?;
        let path = &config.jwks_file;
        let set_err = |rule: &str| ConfigError::Jwks { path: path.clone(), rule: rule.to_owned() };
        let doc: Value = serde_json::from_str(jwks).map_err(|_| set_err("is not JSON"))?;
        let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| set_err("has no \"keys\" array"))?;
        let mut loaded: Vec<VerifyingKey> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let key_err =
                |field, rule: &str| ConfigError::JwksKey { path: path.clone(), index, field, rule: rule.to_owned() };
            let Some(obj) = key.as_object() else {
                return Err(key_err("key", "is not an object"));
            };
            let Some(key) = parse_jwk(obj).map_err(|(field, rule)| key_err(field, rule))? else {
                continue;
            };
            if loaded.iter().any(|k| k.kid == key.kid) {
                return Err(key_err("kid", "is used by an earlier key"));
            }
            loaded.push(key);
        }
        if loaded.is_empty() {
            return Err(set_err("has no signature verification keys"));
        }
        // Both bounded by `validate`.
        let skew = i64::try_from(config.max_clock_skew_secs).unwrap_or(0);
        let max_lifetime = i64::try_from(config.max_token_lifetime_secs).unwrap_or(0);
        Ok(TokenVerifier {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            skew,
            max_lifetime,
            keys: loaded,
            verified: Arc::new(VerifiedTokens::new(verified::CAPACITY)),
        })
    }

    /// The loaded keys' ids and algorithms.
    pub fn keys(&self) -> impl Iterator<Item = (&str, KeyAlgorithm)> {
        self.keys.iter().map(|k| (k.kid.as_str(), k.alg))
    }

    /// Verifies `token` (the compact JWS, without `Bearer `) at
    /// `now_unix_secs` and returns its principal. A token that verified
    /// before is not checked again but for its times (same answer, see
    /// [`crate::verified`]).
    pub fn verify(&self, token: &str, now_unix_secs: i64) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::CredentialsMissing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TokenMalformed("it is longer than 16 KiB"));
        }
        let digest = VerifiedTokens::digest(token);
        if let Some(known) = self.verified.get(&digest) {
            return match self.check_times(&known.times, now_unix_secs) {
                Ok(()) => Ok(known.principal.clone()),
                Err(e) => {
                    if matches!(e, AuthError::TokenExpired) {
                        self.verified.remove(&digest);
                    }
                    Err(e)
                }
            };
        }
        let (principal, times) = self.verify_signed(token, now_unix_secs)?;
        let skew = i128::from(self.skew);
        let live = |t: &Times| i128::from(now_unix_secs) < t.exp + skew;
        self.verified.insert(digest, Verified { principal: principal.clone(), times }, live);
        Ok(principal)
    }

    /// Every check of [`Self::verify`] on a token not seen before; its
    /// principal and time claims.
    fn verify_signed(&self, token: &str, now_unix_secs: i64) -> Result<(Principal, Times), AuthError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::TokenMalformed("it is not three base64url parts separated by dots"));
        };
        let header = decode_object(header_b64).ok_or(AuthError::TokenMalformed("the header is not a JSON object"))?;
        let alg =
            header.get("alg").and_then(Value::as_str).ok_or(AuthError::TokenMalformed("the header has no `alg`"))?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(AuthError::TokenAlgorithmRefused("unsigned tokens (`none`) are never accepted"));
        }
        if alg.as_bytes().get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"HS")) {
            return Err(AuthError::TokenAlgorithmRefused("HMAC algorithms are never accepted"));
        }
        if header.contains_key("crit") {
            return Err(AuthError::TokenMalformed("the header lists critical extensions, which are not supported"));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(AuthError::TokenMalformed("the header's `kid` is not a string")),
        };
        let key = match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid == kid),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or(AuthError::TokenKeyUnknown)?;
        if alg != key.alg.as_str() {
            return Err(AuthError::TokenAlgorithmRefused("the header's algorithm is not the key's"));
        }
        let sig =
            URL_SAFE_NO_PAD.decode(sig_b64).map_err(|_| AuthError::TokenMalformed("the signature is not base64url"))?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        if !key.verify(signed.as_bytes(), &sig) {
            return Err(AuthError::TokenSignatureInvalid);
        }
        let claims = decode_object(payload_b64).ok_or(AuthError::TokenMalformed("the payload is not a JSON object"))?;
        self.principal_from_claims(&claims, key, now_unix_secs)
    }

    fn principal_from_claims(
        &self,
        claims: &Map<String, Value>,
        key: &VerifyingKey,
        now: i64,
    ) -> Result<(Principal, Times), AuthError> {
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(AuthError::TokenIssuerInvalid);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(AuthError::TokenAudienceInvalid);
        }
        let times = read_times(claims)?;
        self.check_times(&times, now)?;

        let sub = match claims.get("sub") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(AuthError::claim("sub", "is a string")),
            None => return Err(AuthError::claim("sub", "is required")),
        };
        let id = PrincipalId::parse(sub).map_err(|rule| AuthError::claim("sub", rule))?;
        if id.is_reserved() {
            return Err(AuthError::ReservedSubject);
        }

        let roles = parse_roles(claims.get("roles"))?;
        let jurisdiction = parse_jurisdiction(claims.get("jurisdiction"))?;
        let office = match claims.get("office") {
            None | Some(Value::Null) => None,
            Some(Value::String(o)) if crate::is_valid_office(o) => Some(o.clone()),
            Some(_) => {
                return Err(AuthError::claim("office", "is a string of 1 to 64 printable characters"));
            }
        };
        let operations = parse_operations(claims.get("operations"), roles.contains(&Role::System))?;

        let principal = Principal {
            id,
            roles,
            jurisdiction,
            office,
            method: AuthMethod::Bearer { issuer: self.issuer.clone(), key_id: Some(key.kid.clone()) },
            operations,
        };
        Ok((principal, times))
    }

    /// `exp` required; expired when `now >= exp + skew`. `nbf` optional; not
    /// yet valid when `now + skew < nbf`. `iat` optional; refused when
    /// `iat > now + skew`. Lifetime: `exp - iat`, `exp - nbf` and
    /// `exp - now` must each be at most the configured maximum (the last
    /// plus skew), so a token without `iat` and `nbf` is bounded too.
    fn check_times(&self, times: &Times, now: i64) -> Result<(), AuthError> {
        let (now, skew, max) = (i128::from(now), i128::from(self.skew), i128::from(self.max_lifetime));
        let Times { exp, nbf, iat } = *times;
        if now >= exp + skew {
            return Err(AuthError::TokenExpired);
        }
        if let Some(nbf) = nbf
            && now + skew < nbf
        {
            return Err(AuthError::TokenNotYetValid);
        }
        if let Some(iat) = iat
            && iat > now + skew
        {
            return Err(AuthError::claim("iat", "is not in the future"));
        }
        let too_long = |start: i128| exp - start > max;
        if iat.is_some_and(too_long) || nbf.is_some_and(too_long) || exp - now > max + skew {
            return Err(AuthError::TokenLifetimeTooLong);
        }
        Ok(())
    }
}

/// `exp` (required), `nbf` and `iat`, in that order.
fn read_times(claims: &Map<String, Value>) -> Result<Times, AuthError> {
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::claim("exp", "is required"))?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    Ok(Times { exp, nbf, iat })
}

/// An integer NumericDate claim (seconds since the epoch), if present.
fn numeric_date(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<i128>, AuthError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(|t| Some(i128::from(t)))
            .ok_or_else(|| AuthError::claim(claim, "is an integer number of seconds since 1970")),
    }
}

fn parse_roles(value: Option<&Value>) -> Result<BTreeSet<Role>, AuthError> {
    let Some(Value::Array(list)) = value else {
        return Err(AuthError::claim("roles", "is a non-empty array of role names"));
    };
    if list.is_empty() {
        return Err(AuthError::claim("roles", "is a non-empty array of role names"));
    }
    if list.len() > 32 {
        return Err(AuthError::claim("roles", "lists at most 32 roles"));
    }
    list.iter()
        .map(|v| {
            let name = v.as_str().ok_or_else(|| AuthError::claim("roles", "lists only strings"))?;
            name.parse::<Role>().map_err(|_| AuthError::claim("roles", unknown_role_rule(name)))
        })
        .collect()
}

/// Names the unknown role when it is short plain ASCII (it is a role name,
/// not personal data); anything else is not repeated.
pub(crate) fn unknown_role_rule(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!(
            "lists only known roles; \"{name}\" is not one (roles are caseworker, supervisor, analyst, auditor, system, admin)"
        )
    } else {
        "lists only known roles (caseworker, supervisor, analyst, auditor, system, admin)".to_owned()
    }
}

fn parse_jurisdiction(value: Option<&Value>) -> Result<Vec<DivisionCode>, AuthError> {
    let rule = "is a non-empty array of division codes";
    let Some(Value::Array(list)) = value else {
        return Err(AuthError::claim("jurisdiction", rule));
    };
    if list.is_empty() {
        return Err(AuthError::claim("jurisdiction", rule));
    }
    if list.len() > MAX_JURISDICTION_CODES {
        return Err(AuthError::claim("jurisdiction", "lists at most 256 codes"));
    }
    let mut codes = list
        .iter()
        .map(|v| {
            let raw = v.as_str().ok_or_else(|| AuthError::claim("jurisdiction", "lists only strings"))?;
            DivisionCode::parse(raw)
                .map_err(|r| AuthError::claim("jurisdiction", format!("lists only valid codes: {r}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    codes.sort();
    codes.dedup();
    Ok(codes)
}

fn parse_operations(value: Option<&Value>, system: bool) -> Result<BTreeSet<String>, AuthError> {
    match (value, system) {
        (None | Some(Value::Null), false) => Ok(BTreeSet::new()),
        (None | Some(Value::Null), true) => Err(AuthError::claim("operations", "is required for the system role")),
        (Some(_), false) => Err(AuthError::claim("operations", "is only given to principals with the system role")),
        (Some(Value::Array(list)), true) => {
            if list.is_empty() || list.len() > MAX_OPERATIONS {
                return Err(AuthError::claim("operations", "lists 1 to 256 gRPC method names"));
            }
            list.iter()
                .map(|v| match v.as_str() {
                    Some(op) if crate::is_grpc_method(op) => Ok(op.to_owned()),
                    _ => Err(AuthError::claim(
                        "operations",
                        "lists only full gRPC method names like package.Service/Method",
                    )),
                })
                .collect()
        }
        (Some(_), true) => Err(AuthError::claim("operations", "is an array of gRPC method names")),
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// One JWK → a key, `None` to skip it (`use: "enc"`), or the field and rule broken.
fn parse_jwk(obj: &Map<String, Value>) -> Result<Option<VerifyingKey>, (&'static str, &'static str)> {
    let text = |field: &'static str| -> Result<Option<&str>, (&'static str, &'static str)> {
        match obj.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err((field, "is not a string")),
        }
    };
    let bytes = |field: &'static str| -> Result<Vec<u8>, (&'static str, &'static str)> {
        let s = text(field)?.ok_or((field, "is required"))?;
        URL_SAFE_NO_PAD.decode(s).map_err(|_| (field, "is not base64url without padding"))
    };
    match text("use")? {
        Some("enc") => return Ok(None),
        None | Some("sig") => {}
        Some(_) => return Err(("use", "is neither \"sig\" nor \"enc\"")),
    }
    if let Some(ops) = obj.get("key_ops") {
        let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some("verify")));
        if !verifies {
            return Err(("key_ops", "does not include \"verify\""));
        }
    }
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        if obj.contains_key(private) {
            return Err(("key", "carries private or symmetric key material; publish only public keys"));
        }
    }
    let kid = text("kid")?.ok_or(("kid", "is required"))?;
    if kid.is_empty() || kid.len() > 128 || kid.chars().any(char::is_control) {
        return Err(("kid", "is 1 to 128 characters without control characters"));
    }
    let kty = text("kty")?.ok_or(("kty", "is required"))?;
    let (alg, material) = match kty {
        "OKP" => {
            if text("crv")? != Some("Ed25519") {
                return Err(("crv", "is Ed25519 for OKP keys"));
            }
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err(("x", "is 32 bytes for Ed25519"));
            }
            (KeyAlgorithm::EdDsa, Material::Ed25519(x))
        }
        "EC" => {
            if text("crv")? != Some("P-256") {
                return Err(("crv", "is P-256 for EC keys (ES256)"));
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(("x", "and `y` are 32 bytes each for P-256"));
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (KeyAlgorithm::Es256, Material::P256(point))
        }
        "RSA" => {
            let n = strip_zeros(bytes("n")?);
            let e = strip_zeros(bytes("e")?);
            let bits = n.first().map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
            if !(2048..=8192).contains(&bits) {
                return Err(("n", "is an RSA modulus of 2048 to 8192 bits"));
            }
            let too_small = e.len() == 1 && e.first().is_some_and(|b| *b < 3);
            if e.is_empty() || e.len() > 4 || too_small || e.last().is_some_and(|b| b & 1 == 0) {
                return Err(("e", "is an odd public exponent from 3 to 32 bits"));
            }
            (KeyAlgorithm::Rs256, Material::Rsa { n, e })
        }
        "oct" => return Err(("kty", "is oct: symmetric keys are refused")),
        _ => return Err(("kty", "is not OKP, EC or RSA")),
    };
    match text("alg")? {
        None => {}
        Some(a) if a == alg.as_str() => {}
        Some(_) => return Err(("alg", "is not the key type's algorithm (EdDSA, ES256, RS256)")),
    }
    Ok(Some(VerifyingKey { kid: kid.to_owned(), alg, material }))
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    v
}
