//! Facts every server of one deployment must agree on, kept in the key store
//! beside the master key's check value (the key store is the one thing every
//! deployment has, and shares between its servers).
//!
//! Today one: the fingerprint of the **pseudonym key**, the secret that turns
//! a resident ID into a case id (`leye::identity`). A server with another
//! key would open a second case for every person already registered, and
//! nothing in the log would refuse it; so the first server records its key's
//! fingerprint and every later start compares. The fingerprint is computed by
//! the caller (a keyed hash of a fixed text), so this crate never sees the
//! key itself.

use crate::{Vault, VaultError};

/// The row holding the pseudonym key's fingerprint.
pub(crate) const PSEUDONYM_CHECK: &str = "pseudonym_check";

/// What [`Vault::bind_pseudonym_key`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The key store held no fingerprint (a new deployment, or one from before
    /// fingerprints were kept): this one is recorded.
    Recorded,
    /// The key store holds this fingerprint.
    Matches,
    /// The key store holds another key's fingerprint.
    Differs,
}

impl Vault {
    /// Records `fingerprint` as the deployment's pseudonym key when the key
    /// store holds none (two servers starting at once on an empty shared store:
    /// the first to write wins, the other finds [`Binding::Differs`] if its key
    /// is another), else compares it.
    pub fn bind_pseudonym_key(&self, fingerprint: &str) -> Result<Binding, VaultError> {
        if let Some(held) = self.backend.meta(PSEUDONYM_CHECK)? {
            return Ok(if held == fingerprint { Binding::Matches } else { Binding::Differs });
        }
        let stored = self.backend.init_meta(PSEUDONYM_CHECK, fingerprint)?;
        Ok(if stored == fingerprint { Binding::Recorded } else { Binding::Differs })
    }

    /// Whether the key store holds a pseudonym key's fingerprint.
    pub fn pseudonym_key_bound(&self) -> Result<bool, VaultError> {
        Ok(self.backend.meta(PSEUDONYM_CHECK)?.is_some())
    }
}
