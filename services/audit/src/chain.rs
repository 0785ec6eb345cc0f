//! The chain key, the canonical encoding of a record, and the MACs built from
//! them: the record MAC, the head file's tag and the prune anchor's tag.
//!
//! Everything an independent verifier needs is in the crate documentation; the
//! constants and functions here are its single implementation.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use hmac::{Hmac, Mac};
use leye_store::{
    headfile::{self, HeadFormat, HeadState, HeadThread},
    keyfile::{KeyFileError, SecretKey},
};
pub(crate) use leye_store::{
    headfile::{hex, unhex},
    keyfile::sync_dir,
};
use sha2::Sha256;

use crate::AuditError;

type HmacSha256 = Hmac<Sha256>;

/// Length of the key and of every MAC, in bytes.
pub(crate) const MAC_LEN: usize = 32;
/// The `prev` of the first record of a trail that was never pruned.
pub(crate) const GENESIS: [u8; MAC_LEN] = [0; MAC_LEN];

/// Domain tags: the first field of each MAC'd message, so that a record, a head
/// and an anchor can never be mistaken for one another.
const RECORD_TAG: &[u8] = b"leye.audit.record.v1";
const HEAD_TAG: &[u8] = b"leye.audit.head.v1";
const ANCHOR_TAG: &[u8] = b"leye.audit.anchor.v1";

/// First line of the head file.
const HEAD_MAGIC: &str = "leye-audit-head v1";

/// A point of the chain: a sequence number and the MAC of the record there (or,
/// for the start of the chain, of the last record pruned, or [`GENESIS`] at 0).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub seq: u64,
    pub mac: [u8; MAC_LEN],
}

impl Link {
    pub const START: Link = Link { seq: 0, mac: GENESIS };
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Link({}, {})", self.seq, hex(&self.mac))
    }
}

/// The 32-byte HMAC key of the chain. Never printed.
pub(crate) struct ChainKey(SecretKey);

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl ChainKey {
    /// Reads the key at `path`, or creates it (32 bytes from the operating
    /// system's generator, mode 0600, fsynced with its directory) if missing.
    pub fn load_or_create(path: &Path) -> Result<Self, AuditError> {
        SecretKey::load_or_create(path).map(Self).map_err(key_error)
    }

    /// Reads the key at `path`: exactly 32 bytes, not readable by group or others.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        SecretKey::load(path).map(Self).map_err(key_error)
    }

    fn hmac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        HmacSha256::new_from_slice(self.0.bytes()).expect("HMAC accepts any key length")
    }

    /// The MAC of the record encoded as `canonical`, chained to `prev`.
    pub fn record_mac(&self, prev: &[u8; MAC_LEN], canonical: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.hmac();
        mac.update(prev);
        mac.update(canonical);
        mac.finalize().into_bytes().into()
    }

    /// Whether `mac` is the MAC of `canonical` chained to `prev` (constant time).
    pub fn check_record(&self, prev: &[u8; MAC_LEN], canonical: &[u8], mac: &[u8]) -> bool {
        let mut m = self.hmac();
        m.update(prev);
        m.update(canonical);
        m.verify_slice(mac).is_ok()
    }

    /// The tag of a head file or of a prune anchor pointing at `link`.
    fn link_tag(&self, domain: &[u8], link: &Link) -> HmacSha256 {
        let mut m = self.hmac();
        m.update(&field_len(domain.len()));
        m.update(domain);
        m.update(&link.seq.to_be_bytes());
        m.update(&link.mac);
        m
    }

    pub fn anchor_tag(&self, link: &Link) -> [u8; MAC_LEN] {
        self.link_tag(ANCHOR_TAG, link).finalize().into_bytes().into()
    }

    pub fn check_anchor(&self, link: &Link, tag: &[u8]) -> bool {
        self.link_tag(ANCHOR_TAG, link).verify_slice(tag).is_ok()
    }

    fn head_tag(&self, link: &Link) -> [u8; MAC_LEN] {
        self.link_tag(HEAD_TAG, link).finalize().into_bytes().into()
    }

    fn check_head(&self, link: &Link, tag: &[u8]) -> bool {
        self.link_tag(HEAD_TAG, link).verify_slice(tag).is_ok()
    }
}

fn key_error(e: KeyFileError) -> AuditError {
    AuditError::Key { path: e.path, reason: e.reason, missing: e.missing }
}

// ---------------------------------------------------------------------------
// Canonical encoding

/// A record as stored, borrowed as raw bytes: the verifier MACs exactly what the
/// file holds, whether or not it is still valid UTF-8.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordBytes<'a> {
    pub seq: u64,
    /// Microseconds since the Unix epoch, UTC.
    pub time_us: i64,
    pub principal: &'a [u8],
    pub authn: &'a [u8],
    pub peer: &'a [u8],
    pub operation: &'a [u8],
    /// The case ids, 16 bytes each, concatenated in the record's order.
    pub case_ids: &'a [u8],
    pub outcome: &'a [u8],
    pub reason: &'a [u8],
}

impl RecordBytes<'_> {
    /// The canonical bytes (see the crate documentation, "Canonical encoding").
    /// `case_ids` must hold a whole number of ids; every field must be shorter
    /// than 4 GiB. Both are checked before a record is written, and by the
    /// verifier before it calls this.
    pub fn canonical(&self) -> Vec<u8> {
        let strings = [self.principal, self.authn, self.peer, self.operation, self.outcome, self.reason];
        let mut out =
            Vec::with_capacity(4 + RECORD_TAG.len() + 16 + 4 * 8 + strings.iter().map(|s| s.len()).sum::<usize>());
        put(&mut out, RECORD_TAG);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.time_us.to_be_bytes());
        put(&mut out, self.principal);
        put(&mut out, self.authn);
        put(&mut out, self.peer);
        put(&mut out, self.operation);
        out.extend_from_slice(&field_len(self.case_ids.len() / 16));
        out.extend_from_slice(self.case_ids);
        put(&mut out, self.outcome);
        put(&mut out, self.reason);
        out
    }
}

/// A length-prefixed field: `u32` big-endian byte count, then the bytes.
fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&field_len(bytes.len()));
    out.extend_from_slice(bytes);
}

/// A `u32` big-endian length. Callers keep lengths below 4 GiB (records are
/// validated; a stored field that large would fail the MAC anyway).
fn field_len(len: usize) -> [u8; 4] {
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}

// ---------------------------------------------------------------------------
// The head file (the format and its writer are `leye_store::headfile`'s,
// shared with the event store)

const HEAD_FORMAT: HeadFormat = HeadFormat { magic: HEAD_MAGIC, field: "mac" };

/// `<trail>.head`, next to the trail.
pub(crate) fn head_path(trail: &Path) -> PathBuf {
    headfile::head_path(trail)
}

/// What the head file says, once its tag is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadFile {
    Missing,
    /// Unreadable, malformed or with a wrong tag.
    Invalid,
    Valid(Link),
}

fn shared(link: &Link) -> headfile::Link {
    headfile::Link { seq: link.seq, hash: link.mac }
}

/// The head file as opened: two slots, each written in place and
/// fdatasynced in turn (see `leye_store::headfile`).
#[derive(Debug)]
pub(crate) struct HeadWriter(headfile::HeadWriter, PathBuf);

impl HeadWriter {
    /// Uses the head file at `path`, first creating it holding `link` if it
    /// does not have the expected size, else pointing it at `link`.
    pub fn open(path: &Path, key: &ChainKey, link: &Link) -> Result<Self, AuditError> {
        headfile::HeadWriter::open(path, HEAD_FORMAT, &shared(link), &key.head_tag(link))
            .map(|w| Self(w, path.to_path_buf()))
            .map_err(|e| head_error(path, e))
    }

    /// Hands the file to a thread of its own, which writes the links the
    /// writer publishes after its answers (`leye_store::headfile::HeadThread`).
    pub fn start(self, key: Arc<ChainKey>) -> Result<HeadThreadFile, AuditError> {
        let tag = Box::new(move |l: &headfile::Link| key.head_tag(&Link { seq: l.seq, mac: l.hash }));
        let Self(file, path) = self;
        match HeadThread::start("leye-audit-head", file, tag) {
            Ok(thread) => Ok(HeadThreadFile { thread, path }),
            Err(e) => Err(head_error(&path, e)),
        }
    }
}

/// The head file's thread, as the audit writer uses it.
#[derive(Debug)]
pub(crate) struct HeadThreadFile {
    thread: HeadThread,
    path: PathBuf,
}

impl HeadThreadFile {
    /// Asks for the head file to point at `link`, without waiting.
    pub fn publish(&self, link: &Link) {
        self.thread.publish(shared(link));
    }

    /// Whether the last write failed (and none succeeded since).
    pub fn failed(&self) -> bool {
        self.thread.failed()
    }

    /// Points the head file at `link` and waits for it.
    pub fn write_now(&self, link: &Link) -> Result<(), AuditError> {
        self.thread
            .write_now(shared(link))
            .map_err(|reason| AuditError::Head { path: self.path.display().to_string(), reason })
    }

    /// Writes the last link published, then ends the thread.
    pub fn stop(self) {
        self.thread.stop();
    }
}

fn head_error(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Head { path: path.display().to_string(), reason: e.to_string() }
}

/// Reads the head file: the valid slot with the higher seq. Only I/O errors
/// other than "not found" are `Err`.
pub(crate) fn read_head(path: &Path, key: &ChainKey) -> Result<HeadFile, AuditError> {
    let state = headfile::read(path, HEAD_FORMAT, |l, tag| key.check_head(&Link { seq: l.seq, mac: l.hash }, tag))
        .map_err(|e| head_error(path, e))?;
    Ok(match state {
        HeadState::Missing => HeadFile::Missing,
        HeadState::Invalid => HeadFile::Invalid,
        HeadState::Valid(l) => HeadFile::Valid(Link { seq: l.seq, mac: l.hash }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_encoding_is_the_documented_one() {
        let case = [0xabu8; 16];
        let r = RecordBytes {
            seq: 1,
            time_us: 2,
            principal: b"p",
            authn: b"",
            peer: b"",
            operation: b"op",
            case_ids: &case,
            outcome: b"OK",
            reason: b"",
        };
        let mut want = Vec::new();
        want.extend_from_slice(&20u32.to_be_bytes());
        want.extend_from_slice(b"leye.audit.record.v1");
        want.extend_from_slice(&1u64.to_be_bytes());
        want.extend_from_slice(&2i64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 1, b'p']);
        want.extend_from_slice(&[0, 0, 0, 0]);
        want.extend_from_slice(&[0, 0, 0, 0]);
        want.extend_from_slice(&[0, 0, 0, 2, b'o', b'p']);
        want.extend_from_slice(&[0, 0, 0, 1]);
        want.extend_from_slice(&case);
        want.extend_from_slice(&[0, 0, 0, 2, b'O', b'K']);
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(r.canonical(), want);
    }
}
