//! The roles a principal may hold. The server decides what each may do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role, written as its lowercase name everywhere (serde, [`FromStr`],
/// [`Display`](fmt::Display)): `caseworker`, `supervisor`, `analyst`,
/// `auditor`, `system`, `admin`. Parsing is exact: `Caseworker` is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Caseworker,
    Supervisor,
    Analyst,
    Auditor,
    /// Another government system (usually a client certificate); its grants
    /// are listed in [`Principal::operations`](crate::Principal::operations).
    System,
    Admin,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 6] =
        [Role::Caseworker, Role::Supervisor, Role::Analyst, Role::Auditor, Role::System, Role::Admin];

    /// The role's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Supervisor => "supervisor",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::System => "system",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role; roles are caseworker, supervisor, analyst, auditor, system, admin")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.to_string().parse::<Role>(), Ok(r));
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<Role>(&json).ok(), Some(r));
        }
        assert_eq!("Caseworker".parse::<Role>(), Err(UnknownRole));
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
    }
}
