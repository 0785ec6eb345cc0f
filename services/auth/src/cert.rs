//! Client certificates of other government systems, mapped to principals.
//!
//! The TLS handshake has already verified the chain against the client CA;
//! this only says which principal a verified leaf is. A `sha256` entry pins
//! one certificate; a `subject_cn` entry trusts the client CA to issue that
//! common name only to that system (and survives renewal).

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::division::DivisionCode;
use crate::error::{AuthError, ConfigError};
use crate::jwt::{MAX_JURISDICTION_CODES, MAX_OPERATIONS};
use crate::principal::{AuthMethod, Principal, PrincipalId};
use crate::role::Role;

/// One `[[clients]]` entry: which certificate is which principal.
///
/// ```toml
/// [[clients]]
/// sha256 = "3f…"              # or: subject_cn = "rsj-placement-sync"
/// principal = "rsj-placement-sync"
/// roles = ["system"]
/// jurisdiction = ["120000"]
/// office = "市人社局信息中心"
/// operations = ["leye.person.v1.PersonCaseService/RecordPlacement"]
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// SHA-256 of the certificate's DER, 64 hex digits (`:` separators and
    /// upper case accepted).
    #[serde(default)]
    pub sha256: Option<String>,
    /// The certificate's subject common name, matched exactly.
    #[serde(default)]
    pub subject_cn: Option<String>,
    /// The principal id (canonicalized like a token's `sub`).
    pub principal: String,
    pub roles: Vec<Role>,
    pub jurisdiction: Vec<String>,
    #[serde(default)]
    pub office: Option<String>,
    /// Required (non-empty) with the `system` role, refused without it.
    #[serde(default)]
    pub operations: Vec<String>,
}

/// A validated entry, ready to become a principal.
#[derive(Clone, Debug)]
struct Grant {
    id: PrincipalId,
    roles: BTreeSet<Role>,
    jurisdiction: Vec<DivisionCode>,
    office: Option<String>,
    operations: BTreeSet<String>,
}

/// The validated `[[clients]]` table.
#[derive(Clone, Debug, Default)]
pub struct CertificateMap {
    by_sha256: HashMap<String, Grant>,
    by_cn: HashMap<String, Grant>,
}

impl CertificateMap {
    /// Validates every entry; an error names the entry's index (from 0) and field.
    pub fn new(entries: &[ClientEntry]) -> Result<Self, ConfigError> {
        let mut map = CertificateMap::default();
        for (index, entry) in entries.iter().enumerate() {
            let err = |field, rule: &str| ConfigError::Client { index, field, rule: rule.to_owned() };
            let grant = grant(entry).map_err(|(field, rule)| err(field, &rule))?;
            match (&entry.sha256, &entry.subject_cn) {
                (Some(fp), None) => {
                    let fp =
                        normalize_fingerprint(fp).ok_or_else(|| err("sha256", "is 64 hex digits (colons allowed)"))?;
                    if map.by_sha256.insert(fp, grant).is_some() {
                        return Err(err("sha256", "is already mapped by an earlier entry"));
                    }
                }
                (None, Some(cn)) => {
                    if cn.is_empty() || cn.len() > 256 || cn.chars().any(char::is_control) {
                        return Err(err("subject_cn", "is 1 to 256 bytes without control characters"));
                    }
                    if map.by_cn.insert(cn.clone(), grant).is_some() {
                        return Err(err("subject_cn", "is already mapped by an earlier entry"));
                    }
                }
                _ => {
                    return Err(err("sha256", "or `subject_cn`: exactly one of them must be given"));
                }
            }
        }
        Ok(map)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_sha256.len() + self.by_cn.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The principal for a leaf certificate (DER) the TLS handshake has
    /// already verified: by SHA-256 of the DER first, then by subject CN.
    pub fn principal(&self, der: &[u8]) -> Result<Principal, AuthError> {
        if der.is_empty() {
            return Err(AuthError::CredentialsMissing);
        }
        let sha256 = crate::certificate_sha256(der);
        let grant = match self.by_sha256.get(&sha256) {
            Some(g) => g,
            None => {
                if self.by_cn.is_empty() {
                    return Err(AuthError::CertificateUnknown("no [[clients]] entry has its fingerprint"));
                }
                let cn = single_common_name(der)?;
                self.by_cn.get(&cn).ok_or(AuthError::CertificateUnknown(
                    "no [[clients]] entry has its fingerprint or subject common name",
                ))?
            }
        };
        // Validated at construction; checked again because nothing may ever
        // produce a reserved principal.
        if grant.id.is_reserved() {
            return Err(AuthError::ReservedSubject);
        }
        Ok(Principal {
            id: grant.id.clone(),
            roles: grant.roles.clone(),
            jurisdiction: grant.jurisdiction.clone(),
            office: grant.office.clone(),
            method: AuthMethod::ClientCertificate { sha256 },
            operations: grant.operations.clone(),
        })
    }
}

fn single_common_name(der: &[u8]) -> Result<String, AuthError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|_| AuthError::CertificateUnknown("it cannot be parsed as X.509"))?;
    let mut names = cert.subject().iter_common_name();
    let (Some(first), None) = (names.next(), names.next()) else {
        return Err(AuthError::CertificateUnknown("its subject has no single common name"));
    };
    first.as_str().map(str::to_owned).map_err(|_| AuthError::CertificateUnknown("its common name is not a string"))
}

fn grant(entry: &ClientEntry) -> Result<Grant, (&'static str, String)> {
    let id = PrincipalId::parse(&entry.principal).map_err(|r| ("principal", r.to_owned()))?;
    if id.is_reserved() {
        return Err((
            "principal",
            format!("starts with {:?}, reserved for the service's own actors", crate::SERVICE_ACTOR_PREFIX),
        ));
    }
    if entry.roles.is_empty() {
        return Err(("roles", "is a non-empty list of roles".to_owned()));
    }
    let roles: BTreeSet<Role> = entry.roles.iter().copied().collect();
    if entry.jurisdiction.is_empty() || entry.jurisdiction.len() > MAX_JURISDICTION_CODES {
        return Err(("jurisdiction", "lists 1 to 256 division codes".to_owned()));
    }
    let mut jurisdiction = entry
        .jurisdiction
        .iter()
        .map(|c| DivisionCode::parse(c).map_err(|r| ("jurisdiction", r)))
        .collect::<Result<Vec<_>, _>>()?;
    jurisdiction.sort();
    jurisdiction.dedup();
    if let Some(office) = &entry.office
        && !crate::is_valid_office(office)
    {
        return Err(("office", "is 1 to 64 printable characters".to_owned()));
    }
    let system = roles.contains(&Role::System);
    if system && entry.operations.is_empty() {
        return Err(("operations", "is required (non-empty) for the system role".to_owned()));
    }
    if !system && !entry.operations.is_empty() {
        return Err(("operations", "is only given to principals with the system role".to_owned()));
    }
    if entry.operations.len() > MAX_OPERATIONS {
        return Err(("operations", "lists at most 256 methods".to_owned()));
    }
    if let Some(i) = entry.operations.iter().position(|op| !crate::is_grpc_method(op)) {
        return Err(("operations", format!("item {i} is not a full gRPC method name like package.Service/Method")));
    }
    Ok(Grant {
        id,
        roles,
        jurisdiction,
        office: entry.office.clone(),
        operations: entry.operations.iter().cloned().collect(),
    })
}

/// 64 hex digits, optional `:` separators, any case → lowercase hex.
fn normalize_fingerprint(raw: &str) -> Option<String> {
    let hex: String = raw.trim().chars().filter(|c| *c != ':').map(|c| c.to_ascii_lowercase()).collect();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_normalize() {
        let fp = "AB:".repeat(31) + "AB";
        assert_eq!(normalize_fingerprint(&fp), Some("ab".repeat(32)));
        assert_eq!(normalize_fingerprint("ab"), None);
        assert_eq!(normalize_fingerprint(&"zz".repeat(32)), None);
    }
}
