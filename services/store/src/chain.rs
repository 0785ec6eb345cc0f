//! The tamper-evident chain of the global log, independent of any database:
//! every adapter seals each event with [`ChainKey::seal`] inside its writer and
//! stores the [`Seal`]; [`Walker`] checks a log in position order and names the
//! first break.
//!
//! # The chain
//! Big-endian throughout; `str(x)` is a `u32` byte count, then the bytes; `H`
//! is SHA-256 (default) or SM3 (GB/T 32905-2016, for deployments assessed
//! under GB/T 39786), chosen when a store is created and recorded with it.
//! The event at position `p` carries:
//! ```text
//! prev  = hash of the event before it in the global log (32 zero bytes for the first)
//! hash  = H(str("leye.store.event.v1") || prev || u64 commit || u64 prepare
//!           || str(stream) || u64 revision || event_id (16 bytes) || str(event_type)
//!           || i64 recorded_at (µs since the epoch, UTC) || H(metadata) || H(data))
//! mac   = HMAC-H(key, str("leye.store.mac.v1") || hash)
//! check = H(metadata)[..8] || H(data)[..8]   (diagnostic: names the edited field)
//! ```
//! The head file's tag is `HMAC-H(key, str("leye.store.head.v1") || u64 position || hash)`;
//! the key id is `hex(H(str("leye.store.key-id.v1") || key)[..8])`.
//!
//! The hash alone lets anyone holding the log check its order and contents;
//! the MAC makes a consistent rewrite need the key, which lives apart from the
//! database (a 0600 file). Whoever holds both can rewrite history.

use std::{fmt, path::Path, str::FromStr};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;

use crate::{
    Position, RecordedEvent,
    headfile::{HeadState, LINK_LEN, Link, hex},
    keyfile::{KeyFileError, SecretKey},
};

/// The `prev` of the first event.
pub const GENESIS: [u8; LINK_LEN] = [0; LINK_LEN];

const EVENT_TAG: &[u8] = b"leye.store.event.v1";
const MAC_TAG: &[u8] = b"leye.store.mac.v1";
const HEAD_TAG: &[u8] = b"leye.store.head.v1";
const KEY_ID_TAG: &[u8] = b"leye.store.key-id.v1";

/// The hash function of a chain (and of its HMAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainAlgorithm {
    #[default]
    Sha256,
    /// SM3, GB/T 32905-2016.
    Sm3,
}

impl ChainAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sm3 => "sm3",
        }
    }
}

impl fmt::Display for ChainAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChainAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sha256" => Ok(Self::Sha256),
            "sm3" => Ok(Self::Sm3),
            other => Err(format!("chain algorithm must be `sha256` or `sm3`, not `{other}`")),
        }
    }
}

/// An event's fields as stored, borrowed as raw bytes: the verifier hashes
/// exactly what the database holds, valid UTF-8 or not.
#[derive(Debug, Clone, Copy)]
pub struct EventBytes<'a> {
    pub position: Position,
    pub stream: &'a [u8],
    pub revision: u64,
    pub event_id: &'a [u8],
    pub event_type: &'a [u8],
    pub recorded_at_us: i64,
    pub data: &'a [u8],
    pub metadata: &'a [u8],
}

impl<'a> From<&'a RecordedEvent> for EventBytes<'a> {
    fn from(e: &'a RecordedEvent) -> Self {
        Self {
            position: e.position,
            stream: e.stream.as_str().as_bytes(),
            revision: e.revision,
            event_id: e.event_id.as_bytes(),
            event_type: e.event_type.as_bytes(),
            recorded_at_us: e.recorded_at.timestamp_micros(),
            data: &e.data,
            metadata: &e.metadata,
        }
    }
}

/// What an adapter stores with each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    pub prev: [u8; LINK_LEN],
    pub hash: [u8; LINK_LEN],
    pub mac: [u8; LINK_LEN],
    pub check: [u8; 16],
}

/// A seal as read back: raw bytes that may have been damaged.
#[derive(Debug, Clone, Copy)]
pub struct StoredSeal<'a> {
    pub prev: &'a [u8],
    pub hash: &'a [u8],
    pub mac: &'a [u8],
    pub check: &'a [u8],
}

impl<'a> From<&'a Seal> for StoredSeal<'a> {
    fn from(s: &'a Seal) -> Self {
        Self { prev: &s.prev, hash: &s.hash, mac: &s.mac, check: &s.check }
    }
}

/// The key of a chain, with its algorithm. Never printed.
#[derive(Clone)]
pub struct ChainKey {
    algorithm: ChainAlgorithm,
    key: SecretKey,
    id: String,
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainKey({}, id {})", self.algorithm, self.id)
    }
}

impl ChainKey {
    pub fn new(algorithm: ChainAlgorithm, key: SecretKey) -> Self {
        let digest = hash_parts(algorithm, &[&len32(KEY_ID_TAG.len()), KEY_ID_TAG, key.bytes()]);
        Self { algorithm, key, id: hex(&digest[..8]) }
    }

    /// The key in `path` (see [`SecretKey::load`]).
    pub fn load(path: &Path, algorithm: ChainAlgorithm) -> Result<Self, KeyFileError> {
        Ok(Self::new(algorithm, SecretKey::load(path)?))
    }

    pub fn algorithm(&self) -> ChainAlgorithm {
        self.algorithm
    }

    /// A public name of the key (16 hex digits), recorded with the store so
    /// that a wrong key file is named as such.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The seal of `event`, chained to `prev`.
    pub fn seal(&self, prev: &[u8; LINK_LEN], event: &EventBytes<'_>) -> Seal {
        let (hash, check) = self.event_hash(prev, event);
        Seal { prev: *prev, hash, mac: self.mac(&[&len32(MAC_TAG.len()), MAC_TAG, &hash]), check }
    }

    fn event_hash(&self, prev: &[u8; LINK_LEN], e: &EventBytes<'_>) -> ([u8; LINK_LEN], [u8; 16]) {
        let metadata = hash_parts(self.algorithm, &[e.metadata]);
        let data = hash_parts(self.algorithm, &[e.data]);
        let hash = hash_parts(
            self.algorithm,
            &[
                &len32(EVENT_TAG.len()),
                EVENT_TAG,
                prev,
                &e.position.commit.to_be_bytes(),
                &e.position.prepare.to_be_bytes(),
                &len32(e.stream.len()),
                e.stream,
                &e.revision.to_be_bytes(),
                &len32(e.event_id.len()),
                e.event_id,
                &len32(e.event_type.len()),
                e.event_type,
                &e.recorded_at_us.to_be_bytes(),
                &metadata,
                &data,
            ],
        );
        let mut check = [0u8; 16];
        check[..8].copy_from_slice(&metadata[..8]);
        check[8..].copy_from_slice(&data[..8]);
        (hash, check)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; LINK_LEN] {
        match self.algorithm {
            ChainAlgorithm::Sha256 => mac_with::<Hmac<Sha256>>(self.key.bytes(), parts),
            ChainAlgorithm::Sm3 => mac_with::<Hmac<Sm3>>(self.key.bytes(), parts),
        }
    }

    /// Constant-time comparison of a MAC over `parts`.
    fn check_mac(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        match self.algorithm {
            ChainAlgorithm::Sha256 => verify_with::<Hmac<Sha256>>(self.key.bytes(), parts, tag),
            ChainAlgorithm::Sm3 => verify_with::<Hmac<Sm3>>(self.key.bytes(), parts, tag),
        }
    }

    /// The tag of a head file pointing at `link`.
    pub fn head_tag(&self, link: &Link) -> [u8; LINK_LEN] {
        self.mac(&[&len32(HEAD_TAG.len()), HEAD_TAG, &link.seq.to_be_bytes(), &link.hash])
    }

    pub fn check_head_tag(&self, link: &Link, tag: &[u8]) -> bool {
        self.check_mac(&[&len32(HEAD_TAG.len()), HEAD_TAG, &link.seq.to_be_bytes(), &link.hash], tag)
    }
}

fn hash_parts(algorithm: ChainAlgorithm, parts: &[&[u8]]) -> [u8; LINK_LEN] {
    fn with<D: Digest>(parts: &[&[u8]]) -> [u8; LINK_LEN] {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        let mut out = [0u8; LINK_LEN];
        out.copy_from_slice(&d.finalize()[..LINK_LEN]);
        out
    }
    match algorithm {
        ChainAlgorithm::Sha256 => with::<Sha256>(parts),
        ChainAlgorithm::Sm3 => with::<Sm3>(parts),
    }
}

fn mac_with<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> [u8; LINK_LEN] {
    // HMAC takes keys of any length: this cannot fail.
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        m.update(p);
    }
    let mut out = [0u8; LINK_LEN];
    out.copy_from_slice(&m.finalize().into_bytes()[..LINK_LEN]);
    out
}

fn verify_with<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        m.update(p);
    }
    m.verify_slice(tag).is_ok()
}

/// A `u32` big-endian length. Lengths past 4 GiB saturate (no stored field
/// comes near; one that did would fail its hash anyway).
fn len32(len: usize) -> [u8; 4] {
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}

// ---------------------------------------------------------------------------
// Checking a chain

/// How the chain breaks. Never holds event contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The payload no longer matches its hash.
    EditedPayload,
    /// The metadata no longer matches its hash.
    EditedMetadata,
    /// The stream, revision, event id, type or recorded time no longer match.
    EditedEnvelope,
    /// The MAC does not match the hash: the seal was not made with the key
    /// (an event inserted, or rewritten with its hash recomputed, without it).
    Forged,
    /// Positions are missing between two authentic events.
    Deleted,
    /// An event past the sealed head that was not sealed with the key.
    Inserted,
    /// An authentic event that does not follow the one before it: moved or swapped.
    Reordered,
    /// The newest events are gone: the head file names a later one.
    Truncated,
    /// The head file is missing, malformed, forged or names another hash.
    BadHead,
    /// The database file is damaged (SQLite reports corruption).
    Corrupt,
    /// The key file is not the key the store was sealed with, or is missing.
    WrongKey,
}

impl BreakKind {
    /// A stable name, for operators and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EditedPayload => "EDITED_PAYLOAD",
            Self::EditedMetadata => "EDITED_METADATA",
            Self::EditedEnvelope => "EDITED_ENVELOPE",
            Self::Forged => "FORGED",
            Self::Deleted => "DELETED",
            Self::Inserted => "INSERTED",
            Self::Reordered => "REORDERED",
            Self::Truncated => "TRUNCATED",
            Self::BadHead => "BAD_HEAD",
            Self::Corrupt => "CORRUPT",
            Self::WrongKey => "WRONG_KEY",
        }
    }
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first break of a chain: where and how. Never holds event contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// Global position (commit part) of the first event that fails.
    pub position: u64,
    pub kind: BreakKind,
    pub detail: String,
}

impl ChainBreak {
    pub fn new(position: u64, kind: BreakKind, detail: impl Into<String>) -> Self {
        Self { position, kind, detail: detail.into() }
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}: {}", self.kind, self.position, self.detail)
    }
}

/// Checks events in position order, each against the link before it.
#[derive(Debug)]
pub struct Walker<'k> {
    key: &'k ChainKey,
    /// The last event checked (or where the walk started).
    last: Link,
    /// The head file's position: an unsealed event past it is an insertion.
    head_seq: Option<u64>,
    hash_at_head: Option<[u8; LINK_LEN]>,
    events: u64,
}

impl<'k> Walker<'k> {
    /// A walk from the start of the log.
    pub fn new(key: &'k ChainKey, head_seq: Option<u64>) -> Self {
        Self::from_link(key, Link { seq: 0, hash: GENESIS }, head_seq)
    }

    /// A walk from `start` (the last event already trusted).
    pub fn from_link(key: &'k ChainKey, start: Link, head_seq: Option<u64>) -> Self {
        Self { key, last: start, head_seq, hash_at_head: None, events: 0 }
    }

    /// The last event checked.
    pub fn last(&self) -> Link {
        self.last
    }

    /// Events checked so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Checks the next event of the log.
    pub fn step(&mut self, event: &EventBytes<'_>, seal: &StoredSeal<'_>) -> Result<(), ChainBreak> {
        let p = event.position.commit;
        let past_head = self.head_seq.is_some_and(|h| p > h);
        let unsealed = |detail: &str| {
            if past_head {
                ChainBreak::new(p, BreakKind::Inserted, format!("an event past the sealed head: {detail}"))
            } else {
                ChainBreak::new(p, BreakKind::Forged, detail)
            }
        };
        let (Some(prev), Some(hash)) = (link_of(seal.prev), link_of(seal.hash)) else {
            return Err(unsealed("its chain columns are missing or malformed"));
        };
        if !self.key.check_mac(&[&len32(MAC_TAG.len()), MAC_TAG, &hash], seal.mac) {
            return Err(unsealed(
                "its MAC does not verify: it was not sealed with the chain key \
                 (inserted, or rewritten with a recomputed hash, by someone without the key)",
            ));
        }
        let expected = self.last.seq + 1;
        if p > expected {
            let detail = format!("events at positions {expected}..={} are missing", p - 1);
            return Err(ChainBreak::new(expected, BreakKind::Deleted, detail));
        }
        if p < expected || prev != self.last.hash {
            return Err(ChainBreak::new(
                p,
                BreakKind::Reordered,
                format!(
                    "an authentic event that does not follow the event at position {}: moved or swapped",
                    self.last.seq
                ),
            ));
        }
        let (computed, check) = self.key.event_hash(&prev, event);
        if computed != hash {
            let (kind, what) = if seal.check.len() != 16 || seal.check[8..] != check[8..] {
                (BreakKind::EditedPayload, "the payload")
            } else if seal.check[..8] != check[..8] {
                (BreakKind::EditedMetadata, "the metadata")
            } else {
                (BreakKind::EditedEnvelope, "the stream, revision, event id, type or recorded time")
            };
            return Err(ChainBreak::new(p, kind, format!("{what} no longer matches the event's hash")));
        }
        self.last = Link { seq: p, hash };
        self.events += 1;
        if self.head_seq == Some(p) {
            self.hash_at_head = Some(hash);
        }
        Ok(())
    }

    /// Compares the end of the walk with the head file. Events past the head
    /// that chain are accepted: the head is written after each commit, so it
    /// may lag by the last batch.
    pub fn finish(&self, head: HeadState) -> Result<(), ChainBreak> {
        let end = self.last;
        match head {
            HeadState::Missing if end.seq == 0 => Ok(()),
            HeadState::Missing => Err(ChainBreak::new(end.seq, BreakKind::BadHead, "the head file is missing")),
            HeadState::Invalid => Err(ChainBreak::new(
                end.seq,
                BreakKind::BadHead,
                "the head file is malformed, or its tag does not verify with the chain key",
            )),
            HeadState::Valid(h) if h.seq > end.seq => Err(ChainBreak::new(
                end.seq + 1,
                BreakKind::Truncated,
                format!("events {}..={} named by the head file are missing", end.seq + 1, h.seq),
            )),
            HeadState::Valid(h) => {
                let known = if h.seq == 0 { Some(GENESIS) } else { self.hash_at_head };
                match known {
                    Some(hash) if hash == h.hash => Ok(()),
                    Some(_) => Err(ChainBreak::new(
                        h.seq,
                        BreakKind::BadHead,
                        "the head file names another hash for this position",
                    )),
                    // The head lies before where this walk started: checked by a full walk.
                    None => Ok(()),
                }
            }
        }
    }
}

fn link_of(bytes: &[u8]) -> Option<[u8; LINK_LEN]> {
    bytes.try_into().ok()
}

/// The outcome of checking a whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
    /// Events that verified before the first break (all of them when intact).
    pub events: u64,
    /// The last event that verified (position 0 and 32 zero bytes when none).
    pub end: Link,
    /// What the head file names, when valid.
    pub head: Option<Link>,
    /// Events up to this position were sealed by the one-way migration of an
    /// older store (as found then), not when they were recorded.
    pub migrated_through: Option<u64>,
    /// The first break, `None` if the whole chain verifies.
    pub broken: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(alg: ChainAlgorithm) -> ChainKey {
        ChainKey::new(alg, SecretKey::from_bytes([9; 32]))
    }

    fn event<'a>(p: u64, data: &'a [u8]) -> EventBytes<'a> {
        EventBytes {
            position: Position::from_sequence(p),
            stream: b"person-1",
            revision: p - 1,
            event_id: &[1; 16],
            event_type: b"person.placed",
            recorded_at_us: 5,
            data,
            metadata: b"{}",
        }
    }

    #[test]
    fn the_two_algorithms_and_keys_give_different_seals_and_key_ids() {
        let e = event(1, b"x");
        let a = key(ChainAlgorithm::Sha256);
        let b = key(ChainAlgorithm::Sm3);
        let c = ChainKey::new(ChainAlgorithm::Sha256, SecretKey::from_bytes([8; 32]));
        assert_ne!(a.seal(&GENESIS, &e).hash, b.seal(&GENESIS, &e).hash);
        assert_eq!(a.seal(&GENESIS, &e).hash, c.seal(&GENESIS, &e).hash, "the hash is unkeyed");
        assert_ne!(a.seal(&GENESIS, &e).mac, c.seal(&GENESIS, &e).mac, "the MAC is keyed");
        assert_ne!(a.id(), c.id());
        assert_eq!(a.id().len(), 16);
        assert!(!format!("{a:?}").contains("09"), "{a:?}");
    }

    #[test]
    fn sm3_is_the_standard_function() {
        // GB/T 32905-2016, example 1: SM3("abc").
        let want = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
        assert_eq!(hex(&hash_parts(ChainAlgorithm::Sm3, &[b"abc"])), want);
    }

    #[test]
    fn the_walker_names_each_kind_of_break() {
        for alg in [ChainAlgorithm::Sha256, ChainAlgorithm::Sm3] {
            let k = key(alg);
            let datas: Vec<Vec<u8>> = (1..=4).map(|i| format!("d{i}").into_bytes()).collect();
            let mut seals = Vec::new();
            let mut prev = GENESIS;
            for (i, d) in datas.iter().enumerate() {
                let s = k.seal(&prev, &event(i as u64 + 1, d));
                prev = s.hash;
                seals.push(s);
            }
            let walk = |order: &[usize], edit: Option<&[u8]>| {
                let mut w = Walker::new(&k, Some(4));
                for (n, &i) in order.iter().enumerate() {
                    let data = if n == 1 { edit.unwrap_or(&datas[i]) } else { &datas[i] };
                    w.step(&event(i as u64 + 1, data), &(&seals[i]).into())?;
                }
                w.finish(HeadState::Valid(Link { seq: 4, hash: seals[3].hash }))
            };
            assert_eq!(walk(&[0, 1, 2, 3], None), Ok(()));
            assert_eq!(walk(&[0, 1, 2, 3], Some(b"zz")).unwrap_err().kind, BreakKind::EditedPayload);
            let deleted = walk(&[0, 2, 3], None).unwrap_err();
            assert_eq!((deleted.kind, deleted.position), (BreakKind::Deleted, 2));
            let truncated = walk(&[0, 1, 2], None).unwrap_err();
            assert_eq!((truncated.kind, truncated.position), (BreakKind::Truncated, 4));
        }
    }
}
