//! Facts every server of one deployment must agree on, kept in the key store
//! beside the master key's check value (the key store is the one thing every
//! deployment has, and shares between its servers).
//!
//! Each is a fingerprint computed by the caller, so this crate never sees
//! what it stands for ([`Setting`]):
//! - the **pseudonym key**, the secret that turns a resident ID into a case
//!   id (`leye::identity`). A server with another key would open a second
//!   case for every person already registered, and nothing in the log would
//!   refuse it; so the first server records its key's fingerprint and every
//!   later start compares. It is never replaced.
//! - the **policy catalogue**, the **target parameters**, the **publishing
//!   settings** and the **access rules** (`leye::settings`): two servers with
//!   other catalogues would decide one subsidy two ways, with other
//!   parameters report other figures, with another stream publish elsewhere
//!   once leading, with other rules allow a call the other refuses. Recorded at the first start,
//!   compared at every later one, and replaced only on purpose
//!   ([`Vault::adopt`]).

use crate::{Vault, VaultError};

/// A fact the servers of one key store must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    PseudonymKey,
    PolicyCatalogue,
    TargetParams,
    Publishing,
    Access,
}

impl Setting {
    /// Its row in the key store's meta table.
    pub(crate) fn row(self) -> &'static str {
        match self {
            Self::PseudonymKey => "pseudonym_check",
            Self::PolicyCatalogue => "policy_catalogue_check",
            Self::TargetParams => "target_params_check",
            Self::Publishing => "publishing_check",
            Self::Access => "access_check",
        }
    }
}

/// What [`Vault::bind`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The key store held no fingerprint (a new deployment, or one from before
    /// fingerprints were kept): this one is recorded.
    Recorded,
    /// The key store holds this fingerprint.
    Matches,
    /// The key store holds another fingerprint.
    Differs,
}

impl Vault {
    /// Records `fingerprint` for `setting` when the key store holds none (two
    /// servers starting at once on an empty shared store: the first to write
    /// wins, the other finds [`Binding::Differs`] if its fingerprint is
    /// another), else compares it.
    pub fn bind(&self, setting: Setting, fingerprint: &str) -> Result<Binding, VaultError> {
        if let Some(held) = self.backend.meta(setting.row())? {
            return Ok(if held == fingerprint { Binding::Matches } else { Binding::Differs });
        }
        let stored = self.backend.init_meta(setting.row(), fingerprint)?;
        Ok(if stored == fingerprint { Binding::Recorded } else { Binding::Differs })
    }

    /// The fingerprint the key store holds for `setting`.
    pub fn bound(&self, setting: Setting) -> Result<Option<String>, VaultError> {
        self.backend.meta(setting.row())
    }

    /// The fingerprints the key store holds for `settings`, in their order, in
    /// one look (a server watching the settings in force asks this once a
    /// leadership interval).
    pub fn bound_each(&self, settings: &[Setting]) -> Result<Vec<Option<String>>, VaultError> {
        let rows: Vec<&str> = settings.iter().map(|s| s.row()).collect();
        self.backend.metas(&rows)
    }

    /// Records `fingerprint` for `setting` in place of whatever the key store
    /// held; returns what it held. Never for the pseudonym key, whose
    /// replacement would orphan every case (refused as `VaultError::Store`).
    pub fn adopt(&self, setting: Setting, fingerprint: &str) -> Result<Option<String>, VaultError> {
        if setting == Setting::PseudonymKey {
            return Err(VaultError::Store("the pseudonym key's fingerprint is never replaced".into()));
        }
        let held = self.backend.meta(setting.row())?;
        self.backend.set_meta(setting.row(), fingerprint)?;
        Ok(held)
    }

    /// Records `fingerprint` as the deployment's pseudonym key, or compares
    /// it: [`Self::bind`] for [`Setting::PseudonymKey`].
    pub fn bind_pseudonym_key(&self, fingerprint: &str) -> Result<Binding, VaultError> {
        self.bind(Setting::PseudonymKey, fingerprint)
    }

    /// Whether the key store holds a pseudonym key's fingerprint.
    pub fn pseudonym_key_bound(&self) -> Result<bool, VaultError> {
        Ok(self.bound(Setting::PseudonymKey)?.is_some())
    }
}
