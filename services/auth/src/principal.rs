//! The verified caller: canonical identity, roles, jurisdiction, method.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::SERVICE_ACTOR_PREFIX;
use crate::division::DivisionCode;
use crate::role::Role;

/// A canonical principal id, the only form ever compared (separation of
/// duties: "the proposer may not approve" compares these).
///
/// Canonical form, exactly ([`PrincipalId::parse`]):
/// 1. leading and trailing Unicode whitespace is trimmed;
/// 2. the rest must be non-empty, contain no whitespace, no control
///    characters (`Cc`) and no invisible formatting characters (soft hyphen,
///    zero-width spaces and joiners, bidirectional controls, word joiners,
///    byte-order mark);
/// 3. it is lowercased with Rust's [`str::to_lowercase`] — Unicode's
///    locale-independent default lowercase mapping, which for ASCII is
///    ASCII lowercasing (`STAFF-0042` → `staff-0042`). No other
///    normalization (NFKC, full case folding) is applied: `ß` and `ss` stay
///    different ids, as do full-width and ASCII letters;
/// 4. the result is at most 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PrincipalId(String);

impl PrincipalId {
    /// Longest canonical id, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Canonicalizes `raw` (see the type's documentation). The error is the
    /// rule broken; it never repeats the input. Reserved ids are *not*
    /// refused here (see [`PrincipalId::is_reserved`]); the verifiers refuse them.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        // Bound the work before lowercasing anything.
        if raw.len() > 4 * Self::MAX_CHARS + 64 {
            return Err("is at most 64 characters");
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("is not empty");
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err("contains no whitespace");
        }
        if trimmed.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err("contains no control or invisible formatting characters");
        }
        let canonical = trimmed.to_lowercase();
        if canonical.chars().count() > Self::MAX_CHARS {
            return Err("is at most 64 characters");
        }
        Ok(PrincipalId(canonical))
    }

    /// The canonical id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id belongs to the service's own actors
    /// ([`SERVICE_ACTOR_PREFIX`]).
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with(SERVICE_ACTOR_PREFIX)
    }
}

/// Formatting characters that render as nothing and would let two ids look
/// alike: soft hyphen, Mongolian vowel separator, zero-width space / non-joiner
/// / joiner, LRM/RLM, bidi embeddings and overrides, word joiner and
/// invisible operators, bidi isolates, BOM.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a principal proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A bearer token signed by `issuer`'s key `key_id`.
    Bearer { issuer: String, key_id: Option<String> },
    /// A client certificate; `sha256` is the lowercase hex SHA-256 of its DER.
    ClientCertificate { sha256: String },
}

impl AuthMethod {
    /// A short label, safe to log: `bearer:<issuer>` or
    /// `certificate:<first 16 hex digits of the fingerprint>`.
    pub fn label(&self) -> String {
        match self {
            AuthMethod::Bearer { issuer, .. } => format!("bearer:{issuer}"),
            AuthMethod::ClientCertificate { sha256 } => {
                let short: String = sha256.chars().take(16).collect();
                format!("certificate:{short}")
            }
        }
    }
}

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Canonical identity used for every comparison (see [`PrincipalId`]).
    pub id: PrincipalId,
    /// Non-empty.
    pub roles: BTreeSet<Role>,
    /// Non-empty, sorted, without duplicates.
    pub jurisdiction: Vec<DivisionCode>,
    /// The office the principal works for: 1..=64 characters, no control characters.
    pub office: Option<String>,
    pub method: AuthMethod,
    /// For [`Role::System`] principals: the gRPC methods their configuration
    /// grants, like `leye.person.v1.PersonCaseService/RecordPlacement`
    /// (the server checks them). Empty for others.
    pub operations: BTreeSet<String>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether any of the principal's codes covers the place
    /// (see [`DivisionCode::covers`]).
    pub fn covers(&self, district: &str, street: Option<&str>, community: Option<&str>) -> bool {
        self.jurisdiction.iter().any(|c| c.covers(district, street, community))
    }

    /// Whether any of the principal's codes covers the whole area
    /// (see [`DivisionCode::covers_area`]).
    pub fn covers_area(&self, area: &str) -> bool {
        self.jurisdiction.iter().any(|c| c.covers_area(area))
    }

    /// Whether `operation` (a full gRPC method name) is among [`Principal::operations`].
    pub fn is_granted(&self, operation: &str) -> bool {
        self.operations.contains(operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids() {
        let a = PrincipalId::parse("STAFF-0042").expect("valid");
        let b = PrincipalId::parse("  staff-0042\t").expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "staff-0042");
        assert_eq!(PrincipalId::parse("ÉMILE").expect("valid").as_str(), "émile");
        assert_eq!(PrincipalId::parse("工号0042").expect("valid").as_str(), "工号0042");
        for bad in [
            "",
            "   ",
            "staff 0042",
            "staff\u{3000}0042",
            "staff\n0042",
            "staff\u{7}",
            "staff\u{200B}0042",
            "staff\u{202E}2400",
        ] {
            assert!(PrincipalId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PrincipalId::parse(&"x".repeat(64)).is_ok());
        assert!(PrincipalId::parse(&"x".repeat(65)).is_err());
        assert!(PrincipalId::parse(&"工".repeat(64)).is_ok());
        assert!(PrincipalId::parse(&"x".repeat(10_000)).is_err());
        assert!(PrincipalId::parse("LEYE-HIRE-LINKER").expect("valid").is_reserved());
        assert!(!PrincipalId::parse("leye").expect("valid").is_reserved());
    }

    #[test]
    fn labels() {
        let b = AuthMethod::Bearer { issuer: "https://idp".into(), key_id: None };
        assert_eq!(b.label(), "bearer:https://idp");
        let c = AuthMethod::ClientCertificate { sha256: "0123456789abcdef0123".into() };
        assert_eq!(c.label(), "certificate:0123456789abcdef");
    }
}
