//! The chain key, the canonical encoding of a record, and the MACs built from
//! them: the record MAC, the head file's tag and the prune anchor's tag.
//!
//! Everything an independent verifier needs is in the crate documentation; the
//! constants and functions here are its single implementation.

use std::{
    fmt,
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Read, Write},
    os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use hmac::{Hmac, Mac};
use rand::TryRngCore;
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
pub(crate) struct ChainKey([u8; MAC_LEN]);

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl ChainKey {
    /// Reads the key at `path`, or creates it (32 bytes from the operating
    /// system's generator, mode 0600, fsynced with its directory) if missing.
    pub fn load_or_create(path: &Path) -> Result<Self, AuditError> {
        match Self::load(path) {
            Err(AuditError::Key { missing: true, .. }) => {}
            other => return other,
        }
        let mut key = [0u8; MAC_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|e| key_error(path, format!("no randomness: {e}")))?;
        let created = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        let mut file = match created {
            Ok(file) => file,
            // Someone else created it meanwhile: use theirs.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Self::load(path),
            Err(e) => return Err(key_error(path, format!("cannot create: {e}"))),
        };
        file.write_all(&key)
            .and_then(|()| file.sync_all())
            .map_err(|e| key_error(path, format!("cannot write: {e}")))?;
        sync_dir(path).map_err(|e| key_error(path, format!("cannot sync its directory: {e}")))?;
        Ok(Self(key))
    }

    /// Reads the key at `path`: exactly 32 bytes, not readable by group or others.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(AuditError::Key {
                    path: path.display().to_string(),
                    reason: "missing".into(),
                    missing: true,
                });
            }
            Err(e) => return Err(key_error(path, format!("cannot open: {e}"))),
        };
        let meta = file.metadata().map_err(|e| key_error(path, e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(key_error(
                path,
                format!("mode {:o} lets group or others access it; it must be 0600", meta.permissions().mode() & 0o777),
            ));
        }
        let mut bytes = Vec::with_capacity(MAC_LEN + 1);
        Read::take(&mut file, MAC_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| key_error(path, format!("cannot read: {e}")))?;
        let key: [u8; MAC_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| key_error(path, format!("must be exactly {MAC_LEN} bytes, not {}", b.len())))?;
        Ok(Self(key))
    }

    fn hmac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length")
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

fn key_error(path: &Path, reason: String) -> AuditError {
    AuditError::Key { path: path.display().to_string(), reason, missing: false }
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
// Hex

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Decodes exactly 64 lowercase or uppercase hex digits.
pub(crate) fn unhex(text: &[u8]) -> Option<[u8; MAC_LEN]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if text.len() != MAC_LEN * 2 {
        return None;
    }
    let mut out = [0u8; MAC_LEN];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// The head file

/// `<trail>.head`, next to the trail.
pub(crate) fn head_path(trail: &Path) -> PathBuf {
    let mut name = trail.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// What the head file says, once its tag is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadFile {
    Missing,
    /// Unreadable, malformed or with a wrong tag.
    Invalid,
    Valid(Link),
}

/// Bytes per slot of the head file.
const SLOT_LEN: usize = 256;
/// Offset of the second slot: another page, so that one torn write cannot reach both.
const SLOT_1: usize = 4096;
/// Size of the head file.
const HEAD_LEN: usize = SLOT_1 + SLOT_LEN;

/// One slot: the four lines, padded with spaces, ending in a newline.
fn head_slot(key: &ChainKey, link: &Link) -> Vec<u8> {
    let mut slot =
        format!("{HEAD_MAGIC}\nseq={}\nmac={}\ntag={}\n", link.seq, hex(&link.mac), hex(&key.head_tag(link)))
            .into_bytes();
    slot.resize(SLOT_LEN - 1, b' ');
    slot.push(b'\n');
    slot
}

/// Writes the head file. Two identical slots, each written in place and
/// fdatasynced in turn: a crash tears at most the slot being written, and the
/// other still holds a valid head (the new one, or the previous one, which only
/// lags the trail). In the steady state both slots hold the newest head, so no
/// older tagged head lies around to be restored. In-place writes of a file whose
/// size does not change need no metadata journal commit: this costs two
/// `fdatasync`s, a fraction of a temp-file-and-rename.
#[derive(Debug)]
pub(crate) struct HeadWriter {
    path: PathBuf,
}

impl HeadWriter {
    /// Uses the head file at `path`, first creating it (temp file with mode
    /// 0600, fsync, rename, fsync of the directory) holding `link` if it does
    /// not have the expected size.
    pub fn open(path: &Path, key: &ChainKey, link: &Link) -> Result<Self, AuditError> {
        let err = |e: std::io::Error| AuditError::Head { path: path.display().to_string(), reason: e.to_string() };
        let writer = Self { path: path.to_path_buf() };
        match fs::metadata(path) {
            Ok(meta) if meta.len() == HEAD_LEN as u64 => writer.write(key, link)?,
            Ok(_) | Err(_) => {
                let mut bytes = vec![b'\n'; HEAD_LEN];
                let slot = head_slot(key, link);
                bytes[..SLOT_LEN].copy_from_slice(&slot);
                bytes[SLOT_1..].copy_from_slice(&slot);
                let mut tmp = path.as_os_str().to_owned();
                tmp.push(".tmp");
                let tmp = PathBuf::from(tmp);
                let mut file =
                    OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(err)?;
                file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(err)?;
                fs::rename(&tmp, path).map_err(err)?;
                sync_dir(path).map_err(err)?;
            }
        }
        Ok(writer)
    }

    /// Points the head file at `link`.
    pub fn write(&self, key: &ChainKey, link: &Link) -> Result<(), AuditError> {
        let slot = head_slot(key, link);
        // Opened by name each time: a head file or directory that was removed
        // is an error here, not a write into a file nobody will ever see.
        let write = || -> std::io::Result<()> {
            let file = OpenOptions::new().write(true).open(&self.path)?;
            file.write_all_at(&slot, 0)?;
            file.sync_data()?;
            file.write_all_at(&slot, SLOT_1 as u64)?;
            file.sync_data()
        };
        write().map_err(|e| AuditError::Head { path: self.path.display().to_string(), reason: e.to_string() })
    }
}

/// Reads the head file: the valid slot with the higher seq. Only I/O errors
/// other than "not found" are `Err`.
pub(crate) fn read_head(path: &Path, key: &ChainKey) -> Result<HeadFile, AuditError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(HeadFile::Missing),
        Err(e) => return Err(AuditError::Head { path: path.display().to_string(), reason: e.to_string() }),
    };
    if bytes.len() != HEAD_LEN {
        return Ok(HeadFile::Invalid);
    }
    let slots = [&bytes[..SLOT_LEN], &bytes[SLOT_1..]];
    let newest = slots.iter().filter_map(|slot| parse_slot(slot, key)).max_by_key(|link| link.seq);
    Ok(newest.map_or(HeadFile::Invalid, HeadFile::Valid))
}

fn parse_slot(slot: &[u8], key: &ChainKey) -> Option<Link> {
    let text = std::str::from_utf8(slot).ok()?;
    let mut lines = text.trim_end().lines();
    if lines.next()? != HEAD_MAGIC {
        return None;
    }
    let seq = lines.next()?.strip_prefix("seq=")?.parse::<u64>().ok()?;
    let mac = unhex(lines.next()?.strip_prefix("mac=")?.as_bytes())?;
    let tag = unhex(lines.next()?.strip_prefix("tag=")?.as_bytes())?;
    if lines.next().is_some() {
        return None;
    }
    let link = Link { seq, mac };
    key.check_head(&link, &tag).then_some(link)
}

/// fsyncs the directory holding `path`, so that a new name in it is durable.
pub(crate) fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; MAC_LEN] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(unhex(hex(&bytes).as_bytes()), Some(bytes));
        assert_eq!(unhex(b"zz"), None);
        assert_eq!(unhex(&[b'g'; 64]), None);
    }

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
