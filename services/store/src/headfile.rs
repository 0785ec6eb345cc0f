//! A MAC-tagged head file: the last link of a chain, kept outside the
//! database so that deleting the newest entries (truncating the tail) is seen.
//!
//! Shared by the event store (`events.sqlite.head`) and the audit trail
//! (`audit.sqlite.head`); each passes its own first line and tag.
//!
//! The file is 4352 bytes: two slots, at offsets 0 and 4096, of 256 bytes
//! each: four lines of text `<magic>`, `seq=<decimal>`, `<field>=<64 hex>`,
//! `tag=<64 hex>`, padded with spaces to 255 bytes and a newline (the bytes in
//! between are newlines). The head is the valid slot with the higher seq.

use std::{
    fs::{self, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use crate::keyfile::sync_dir;

mod thread;
pub use thread::{HeadThread, Tag};

/// Length of a chain hash or MAC, in bytes.
pub const LINK_LEN: usize = 32;

/// A point of a chain: a sequence number (a position) and the hash or MAC there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub seq: u64,
    pub hash: [u8; LINK_LEN],
}

/// The text of a head file: its first line and the name of the link's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadFormat {
    pub magic: &'static str,
    pub field: &'static str,
}

/// What the head file says, once its tag is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadState {
    Missing,
    /// Unreadable, malformed or with a wrong tag.
    Invalid,
    Valid(Link),
}

/// `<file>.head`, next to `file`.
pub fn head_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// Bytes per slot of the head file.
const SLOT_LEN: usize = 256;
/// Offset of the second slot: another page, so that one torn write cannot reach both.
const SLOT_1: usize = 4096;
/// Size of the head file.
pub const HEAD_LEN: usize = SLOT_1 + SLOT_LEN;

fn slot(format: HeadFormat, link: &Link, tag: &[u8; LINK_LEN]) -> Vec<u8> {
    let mut slot =
        format!("{}\nseq={}\n{}={}\ntag={}\n", format.magic, link.seq, format.field, hex(&link.hash), hex(tag))
            .into_bytes();
    slot.resize(SLOT_LEN - 1, b' ');
    slot.push(b'\n');
    slot
}

/// Writes the head file. Two identical slots, each written in place and
/// fdatasynced in turn: a crash tears at most the slot being written, and the
/// other still holds a valid head (the new one, or the previous one, which only
/// lags the chain). In the steady state both slots hold the newest head, so no
/// older tagged head lies around to be restored. In-place writes of a file whose
/// size does not change need no metadata journal commit: two `fdatasync`s, a
/// fraction of a temp-file-and-rename.
#[derive(Debug)]
pub struct HeadWriter {
    path: PathBuf,
    format: HeadFormat,
}

impl HeadWriter {
    /// Uses the head file at `path`, first creating it (temp file with mode
    /// 0600, fsync, rename, fsync of the directory) holding `link` if it does
    /// not have the expected size.
    pub fn open(path: &Path, format: HeadFormat, link: &Link, tag: &[u8; LINK_LEN]) -> std::io::Result<Self> {
        let writer = Self { path: path.to_path_buf(), format };
        match fs::metadata(path) {
            Ok(meta) if meta.len() == HEAD_LEN as u64 => writer.write(link, tag)?,
            Ok(_) | Err(_) => create(path, format, link, tag)?,
        }
        Ok(writer)
    }

    /// Points the head file at `link`, tagged with `tag`.
    pub fn write(&self, link: &Link, tag: &[u8; LINK_LEN]) -> std::io::Result<()> {
        let slot = slot(self.format, link, tag);
        // Opened by name each time: a head file or directory that was removed
        // is an error here, not a write into a file nobody will ever see.
        let file = OpenOptions::new().write(true).open(&self.path)?;
        file.write_all_at(&slot, 0)?;
        file.sync_data()?;
        file.write_all_at(&slot, SLOT_1 as u64)?;
        file.sync_data()
    }
}

/// Creates (or replaces) the head file atomically.
pub fn create(path: &Path, format: HeadFormat, link: &Link, tag: &[u8; LINK_LEN]) -> std::io::Result<()> {
    let mut bytes = vec![b'\n'; HEAD_LEN];
    let slot = slot(format, link, tag);
    bytes[..SLOT_LEN].copy_from_slice(&slot);
    bytes[SLOT_1..].copy_from_slice(&slot);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Reads the head file: the valid slot with the higher seq, `check` deciding
/// whether a slot's tag is valid for its link. Only I/O errors other than "not
/// found" are `Err`.
pub fn read(path: &Path, format: HeadFormat, check: impl Fn(&Link, &[u8]) -> bool) -> std::io::Result<HeadState> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(HeadState::Missing),
        Err(e) => return Err(e),
    };
    if bytes.len() != HEAD_LEN {
        return Ok(HeadState::Invalid);
    }
    let slots = [&bytes[..SLOT_LEN], &bytes[SLOT_1..]];
    let newest = slots.iter().filter_map(|s| parse_slot(s, format, &check)).max_by_key(|link| link.seq);
    Ok(newest.map_or(HeadState::Invalid, HeadState::Valid))
}

fn parse_slot(slot: &[u8], format: HeadFormat, check: &impl Fn(&Link, &[u8]) -> bool) -> Option<Link> {
    let text = std::str::from_utf8(slot).ok()?;
    let mut lines = text.trim_end().lines();
    if lines.next()? != format.magic {
        return None;
    }
    let seq = lines.next()?.strip_prefix("seq=")?.parse::<u64>().ok()?;
    let hash = unhex(lines.next()?.strip_prefix(format.field)?.strip_prefix('=')?.as_bytes())?;
    let tag = unhex(lines.next()?.strip_prefix("tag=")?.as_bytes())?;
    if lines.next().is_some() {
        return None;
    }
    let link = Link { seq, hash };
    check(&link, &tag).then_some(link)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Decodes exactly 64 lowercase or uppercase hex digits.
pub fn unhex(text: &[u8]) -> Option<[u8; LINK_LEN]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if text.len() != LINK_LEN * 2 {
        return None;
    }
    let mut out = [0u8; LINK_LEN];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: HeadFormat = HeadFormat { magic: "test-head v1", field: "hash" };

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; LINK_LEN] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(unhex(hex(&bytes).as_bytes()), Some(bytes));
        assert_eq!(unhex(b"zz"), None);
        assert_eq!(unhex(&[b'g'; 64]), None);
    }

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_or_untagged_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.head");
        let ok = |_: &Link, tag: &[u8]| tag == [7u8; LINK_LEN];
        assert_eq!(read(&path, F, ok).unwrap(), HeadState::Missing);
        let a = Link { seq: 3, hash: [1; LINK_LEN] };
        let w = HeadWriter::open(&path, F, &a, &[7; LINK_LEN]).unwrap();
        assert_eq!(read(&path, F, ok).unwrap(), HeadState::Valid(a));
        let b = Link { seq: 4, hash: [2; LINK_LEN] };
        w.write(&b, &[7; LINK_LEN]).unwrap();
        // Tear the first slot: the second still holds the head.
        let mut bytes = fs::read(&path).unwrap();
        bytes[10] = b'#';
        fs::write(&path, &bytes).unwrap();
        assert_eq!(read(&path, F, ok).unwrap(), HeadState::Valid(b));
        assert_eq!(read(&path, F, |_, _| false).unwrap(), HeadState::Invalid);
        fs::write(&path, b"short").unwrap();
        assert_eq!(read(&path, F, ok).unwrap(), HeadState::Invalid);
    }
}
