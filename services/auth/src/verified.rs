//! Tokens already verified, so a client sending the same bearer token with
//! every request costs one signature check per token instead of one per
//! request (an Ed25519 check was about a third of a `leye serve` process's
//! CPU under load; RSA costs more).
//!
//! **What is kept.** Only tokens that passed every check of
//! [`TokenVerifier::verify`](crate::TokenVerifier::verify), keyed by the
//! SHA-256 of the token's exact text: the principal made from its claims and
//! its time claims (`exp`, `nbf`, `iat`). Everything but the time checks is a
//! function of the token and of the verifier's fixed configuration (issuer,
//! audience, keys loaded once at start), so a token that verified once
//! verifies again with the same principal; the time checks are repeated on
//! every use with the caller's `now`, so an expired token is refused exactly
//! as without the cache. Refused tokens are never kept: an attacker cannot
//! fill the cache without valid tokens.
//!
//! **Bounded.** At most [`CAPACITY`] tokens; when full, the expired ones are
//! dropped first, and if that frees nothing, all of them (each is verified
//! again on its next use).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use crate::principal::Principal;

/// Tokens kept at most (a few hundred bytes each).
pub const CAPACITY: usize = 16_384;

/// The SHA-256 of a token's text.
pub(crate) type TokenDigest = [u8; 32];

/// The time claims of a token (seconds since the epoch), checked at every use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Times {
    pub exp: i128,
    pub nbf: Option<i128>,
    pub iat: Option<i128>,
}

/// A token that passed every check once.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub principal: Principal,
    pub times: Times,
}

/// See the module documentation.
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<TokenDigest, Arc<Verified>>>,
    capacity: usize,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    /// The digest a token is kept under.
    pub fn digest(token: &str) -> TokenDigest {
        let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TokenDigest, Arc<Verified>>> {
        // The map is consistent after any panic elsewhere: every change is one call.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shared, so the lock is held for a look-up only (the caller clones
    /// the principal outside it).
    pub fn get(&self, digest: &TokenDigest) -> Option<Arc<Verified>> {
        self.lock().get(digest).cloned()
    }

    pub fn remove(&self, digest: &TokenDigest) {
        self.lock().remove(digest);
    }

    /// Keeps `verified`; when full, first drops the tokens `live` says are
    /// no longer usable, then, if none was, every token.
    pub fn insert(&self, digest: TokenDigest, verified: Verified, live: impl Fn(&Times) -> bool) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&digest) {
            entries.retain(|_, v| live(&v.times));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest, Arc::new(verified));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::{AuthMethod, DivisionCode, PrincipalId, Role};

    fn verified(exp: i128) -> Verified {
        Verified {
            principal: Principal {
                id: PrincipalId::parse("staff-1").expect("id"),
                roles: BTreeSet::from([Role::Caseworker]),
                jurisdiction: vec![DivisionCode::parse("120000").expect("code")],
                office: None,
                method: AuthMethod::Bearer { issuer: "i".into(), key_id: None },
                operations: BTreeSet::new(),
            },
            times: Times { exp, nbf: None, iat: None },
        }
    }

    #[test]
    fn a_full_cache_drops_the_expired_tokens_first_then_everything() {
        let cache = VerifiedTokens::new(3);
        let key = |i: u8| [i; 32];
        cache.insert(key(1), verified(10), |_| true);
        cache.insert(key(2), verified(100), |_| true);
        cache.insert(key(3), verified(100), |_| true);
        assert_eq!(cache.len(), 3);
        // Full: the one expired at 50 goes, the others stay.
        cache.insert(key(4), verified(100), |t| t.exp > 50);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key(1)).is_none());
        assert!(cache.get(&key(2)).is_some() && cache.get(&key(4)).is_some());
        // Full of live tokens: all go, the new one stays.
        cache.insert(key(5), verified(100), |t| t.exp > 50);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&key(5)).is_some());
        // Replacing a kept token does not evict.
        cache.insert(key(5), verified(200), |_| false);
        assert_eq!(cache.get(&key(5)).map(|v| v.times.exp), Some(200));
        cache.remove(&key(5));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn digests_differ_for_different_tokens() {
        assert_ne!(VerifiedTokens::digest("a.b.c"), VerifiedTokens::digest("a.b.d"));
        assert_eq!(VerifiedTokens::digest("a.b.c"), VerifiedTokens::digest("a.b.c"));
    }
}
