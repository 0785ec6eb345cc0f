//! The pure mapping between leye's port and KurrentDB: log positions and
//! revisions, the envelope each log event carries in its custom metadata, the
//! chain record, and errors. No I/O: every function here is unit-tested
//! without a server.

use std::{fmt, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::{
    Position, RecordedEvent, StoreError, StreamName,
    chain::{ChainAlgorithm, Seal},
    headfile::LINK_LEN,
};

// === positions and revisions ===

/// The leye sequence number (global position, from 1) of the log event at
/// KurrentDB stream revision `revision` (from 0). The log stream's revisions
/// are dense, so leye's positions are too (the chain walker needs that).
pub fn seq_of_revision(revision: u64) -> u64 {
    revision.saturating_add(1)
}

/// The log stream revision of leye sequence number `seq` (`None` for 0, which
/// names no event: "before the first").
pub fn revision_of_seq(seq: u64) -> Option<u64> {
    seq.checked_sub(1)
}

/// Where a read of the log "strictly after `after`" starts: the revision equal
/// to the sequence number of `after` (the next event's revision).
pub fn first_revision_after(after: Option<Position>) -> u64 {
    after.map_or(0, |p| p.commit)
}

/// The expected state of the log stream for an append made when the writer's
/// index holds `indexed` events: it must still end exactly there, so no other
/// writer appended in between (KurrentDB checks this atomically).
pub fn log_state(indexed: u64) -> kurrentdb::StreamState {
    match revision_of_seq(indexed) {
        None => kurrentdb::StreamState::NoStream,
        Some(revision) => kurrentdb::StreamState::StreamRevision(revision),
    }
}

// === the envelope ===

/// Tag opening every envelope (and its version).
const MAGIC: &[u8; 8] = b"leye-ev1";

/// What a log event carries beside KurrentDB's own fields (event id = leye's
/// event id, event type, data): the leye stream and revision, the recorded
/// time, the seal, and the leye metadata bytes, in KurrentDB's custom
/// metadata. Big-endian; `str(x)` = u32 length then bytes.
///
/// ```text
/// "leye-ev1" || str(stream) || u64 revision || i64 recorded_at_us
///   || prev(32) || hash(32) || mac(32) || check(16) || str(metadata)
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    pub stream: StreamName,
    pub revision: u64,
    pub recorded_at_us: i64,
    pub seal: Seal,
    pub metadata: Vec<u8>,
}

impl fmt::Debug for Envelope {
    // The metadata may name people (correlation data): never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("stream", &self.stream)
            .field("revision", &self.revision)
            .field("recorded_at_us", &self.recorded_at_us)
            .finish_non_exhaustive()
    }
}

/// Why bytes are not an envelope (names the field, never the contents).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log event {seq}: malformed leye envelope ({what}); this event was not written by leye")]
pub struct BadEnvelope {
    pub seq: u64,
    pub what: &'static str,
}

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        let stream = self.stream.as_str().as_bytes();
        let mut out = Vec::with_capacity(8 + 4 + stream.len() + 16 + 112 + 4 + self.metadata.len());
        out.extend_from_slice(MAGIC);
        put_bytes(&mut out, stream);
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&self.recorded_at_us.to_be_bytes());
        out.extend_from_slice(&self.seal.prev);
        out.extend_from_slice(&self.seal.hash);
        out.extend_from_slice(&self.seal.mac);
        out.extend_from_slice(&self.seal.check);
        put_bytes(&mut out, &self.metadata);
        out
    }

    /// Parses the envelope of the log event with sequence number `seq`.
    pub fn decode(seq: u64, bytes: &[u8]) -> Result<Self, BadEnvelope> {
        let bad = |what| BadEnvelope { seq, what };
        let mut r = Reader(bytes);
        if r.take(MAGIC.len()).ok_or(bad("tag"))? != MAGIC {
            return Err(bad("tag"));
        }
        let stream = r.bytes().ok_or(bad("stream"))?;
        let stream = std::str::from_utf8(stream).map_err(|_| bad("stream"))?;
        let stream = StreamName::parse(stream).map_err(|_| bad("stream"))?;
        let revision = u64::from_be_bytes(r.array().ok_or(bad("revision"))?);
        let recorded_at_us = i64::from_be_bytes(r.array().ok_or(bad("recorded_at"))?);
        let prev: [u8; LINK_LEN] = r.array().ok_or(bad("seal"))?;
        let hash: [u8; LINK_LEN] = r.array().ok_or(bad("seal"))?;
        let mac: [u8; LINK_LEN] = r.array().ok_or(bad("seal"))?;
        let check: [u8; 16] = r.array().ok_or(bad("seal"))?;
        let metadata = r.bytes().ok_or(bad("metadata"))?.to_vec();
        if !r.0.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(Self { stream, revision, recorded_at_us, seal: Seal { prev, hash, mac, check }, metadata })
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Stream names are ≤ 200 characters; metadata is bounded by KurrentDB's
    // append size (1 MiB by default), far below 4 GiB.
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.array()?);
        self.take(usize::try_from(len).ok()?)
    }
}

/// A log event as leye reads it: the recorded event and its seal.
pub fn recorded_event(event: &kurrentdb::RecordedEvent) -> Result<(RecordedEvent, Seal), BadEnvelope> {
    let seq = seq_of_revision(event.revision);
    let envelope = Envelope::decode(seq, &event.custom_metadata)?;
    let recorded_at = recorded_at(envelope.recorded_at_us).ok_or(BadEnvelope { seq, what: "recorded_at" })?;
    let recorded = RecordedEvent {
        stream: envelope.stream,
        revision: envelope.revision,
        position: Position::from_sequence(seq),
        event_id: event.id,
        event_type: event.event_type.clone(),
        data: event.data.to_vec(),
        metadata: envelope.metadata,
        recorded_at,
    };
    Ok((recorded, envelope.seal))
}

/// Microseconds since the epoch as a time (`None` out of chrono's range).
pub fn recorded_at(us: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_micros(us).single()
}

// === the chain record ===

/// The one event of the `{namespace}-chain` stream: which hash function and
/// which key seal this store's log. Plain text, one `name=value` a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRecord {
    pub schema_version: u32,
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
}

impl ChainRecord {
    /// The event type of the chain record.
    pub const EVENT_TYPE: &'static str = "leye.chain";

    pub fn encode(&self) -> Vec<u8> {
        format!("schema_version={}\nalgorithm={}\nkey_id={}\n", self.schema_version, self.algorithm, self.key_id)
            .into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "the chain record is not UTF-8".to_owned())?;
        let (mut version, mut algorithm, mut key_id) = (None, None, None);
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (name, value) =
                line.split_once('=').ok_or_else(|| format!("the chain record line `{line}` is not name=value"))?;
            match name {
                "schema_version" => {
                    version = Some(value.parse::<u32>().map_err(|_| "chain record: schema_version is not a number")?)
                }
                "algorithm" => algorithm = Some(value.parse::<ChainAlgorithm>()?),
                "key_id" if value.len() == 16 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    key_id = Some(value.to_owned())
                }
                "key_id" => return Err("chain record: key_id must be 16 hex digits".into()),
                _ => {} // later versions may add fields
            }
        }
        Ok(Self {
            schema_version: version.ok_or("chain record: schema_version is missing")?,
            algorithm: algorithm.ok_or("chain record: algorithm is missing")?,
            key_id: key_id.ok_or("chain record: key_id is missing")?,
        })
    }
}

// === calls ===

/// The deadline leye sets on each KurrentDB call: `default`, unless the URL
/// sets its own `defaultDeadline` (then the client applies that one). Without
/// either, the client waits forever on a cluster that does not answer.
pub fn call_deadline(url: &str, default: Duration) -> Option<Duration> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let from_url =
        query.split('&').any(|p| p.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("defaultDeadline")));
    (!from_url).then_some(default)
}

// === errors ===

/// What a KurrentDB error means to leye, for one operation (`what`, e.g.
/// "appending to the log"). `shown` is the URL without its password. The
/// wrong-expected-version case of the log is handled by the writer before
/// this (it is a race with another writer, not a failure).
pub fn store_error(shown: &str, what: &str, e: &kurrentdb::Error) -> StoreError {
    use kurrentdb::Error as E;
    let why = match e {
        E::AccessDenied => "access denied: check the user and password in the URL and the streams' ACLs".to_owned(),
        E::DeadlineExceeded => "no answer within the deadline (`defaultDeadline` in the URL)".to_owned(),
        E::NotLeaderException(leader) => {
            format!("the node is not the leader (leader: {}:{}); the client reconnects", leader.host, leader.port)
        }
        E::ResourceDeleted => "the stream was deleted: this store cannot be used any more".to_owned(),
        E::UnsupportedFeature => "the server does not support this operation (KurrentDB 21.10 or later needed)".into(),
        E::ConnectionClosed | E::GrpcConnectionError(_) => format!("cannot reach the cluster: {e}"),
        E::WrongExpectedVersion { expected, current } => {
            format!("the log moved under the writer (expected {expected}, at {current})")
        }
        other => other.to_string(),
    };
    StoreError::Backend(format!("KurrentDB at {shown}: {what}: {why}"))
}

/// Reads of a stream that does not exist answer "not found": leye reads that
/// as empty.
pub fn is_missing(e: &kurrentdb::Error) -> bool {
    matches!(e, kurrentdb::Error::ResourceNotFound)
}

/// A fresh event id that cannot be confused with a leye event's: only for the
/// chain record.
pub fn chain_record_id(namespace: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("leye.kurrent.chain.{namespace}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(metadata: &[u8]) -> Envelope {
        Envelope {
            stream: StreamName::parse("person-0b0c").expect("valid"),
            revision: 7,
            recorded_at_us: 1_764_000_000_123_456,
            seal: Seal { prev: [1; 32], hash: [2; 32], mac: [3; 32], check: [4; 16] },
            metadata: metadata.to_vec(),
        }
    }

    #[test]
    fn positions_are_the_log_stream_revisions_plus_one() {
        assert_eq!(seq_of_revision(0), 1);
        assert_eq!(seq_of_revision(41), 42);
        assert_eq!(revision_of_seq(42), Some(41));
        assert_eq!(revision_of_seq(0), None);
        assert_eq!(seq_of_revision(u64::MAX), u64::MAX, "saturates, never wraps");
        assert_eq!(first_revision_after(None), 0);
        assert_eq!(first_revision_after(Some(Position::from_sequence(5))), 5, "after seq 5 is revision 5 (seq 6)");
        for seq in 1..100 {
            assert_eq!(revision_of_seq(seq).map(seq_of_revision), Some(seq));
        }
    }

    #[test]
    fn the_log_must_end_where_the_index_ends() {
        assert_eq!(log_state(0), kurrentdb::StreamState::NoStream);
        assert_eq!(log_state(1), kurrentdb::StreamState::StreamRevision(0));
        assert_eq!(log_state(1000), kurrentdb::StreamState::StreamRevision(999));
    }

    #[test]
    fn envelopes_round_trip_exactly() {
        for metadata in [&b""[..], b"{\"correlation\":\"1\"}", &[0, 255, 10, 13], &[7; 70_000]] {
            let e = envelope(metadata);
            assert_eq!(Envelope::decode(3, &e.encode()), Ok(e));
        }
    }

    #[test]
    fn malformed_envelopes_name_the_field_and_never_panic() {
        let good = envelope(b"{}").encode();
        assert_eq!(Envelope::decode(9, b"").unwrap_err(), BadEnvelope { seq: 9, what: "tag" });
        assert_eq!(Envelope::decode(9, b"leye-ev2........").unwrap_err().what, "tag");
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(Envelope::decode(9, &trailing).unwrap_err().what, "trailing bytes");
        // Every truncation fails cleanly, naming some field.
        for cut in 0..good.len() {
            assert!(Envelope::decode(9, &good[..cut]).is_err(), "cut at {cut}");
        }
        // A stream name leye would refuse.
        let mut bad_stream = envelope(b"{}");
        bad_stream.stream = StreamName::parse("x").expect("valid");
        let mut bytes = bad_stream.encode();
        bytes[12] = b' ';
        assert_eq!(Envelope::decode(9, &bytes).unwrap_err().what, "stream");
        // A huge length does not allocate or panic.
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Envelope::decode(9, &huge).unwrap_err().what, "stream");
        let message = Envelope::decode(9, b"nope").unwrap_err().to_string();
        assert!(message.contains("log event 9") && message.contains("tag"), "{message}");
    }

    #[test]
    fn the_envelope_is_never_printed_with_its_metadata() {
        let e = envelope(b"{\"name\":\"Zhang San\"}");
        assert!(!format!("{e:?}").contains("Zhang"));
    }

    #[test]
    fn chain_records_round_trip_and_refuse_nonsense() {
        let record =
            ChainRecord { schema_version: 1, algorithm: ChainAlgorithm::Sm3, key_id: "0123456789abcdef".into() };
        assert_eq!(ChainRecord::decode(&record.encode()), Ok(record.clone()));
        let mut later = record.encode();
        later.extend_from_slice(b"added_later=yes\n");
        assert_eq!(ChainRecord::decode(&later), Ok(record), "unknown fields are ignored");
        let missing = ChainRecord::decode(b"schema_version=1\nalgorithm=sha256\n").unwrap_err();
        assert!(missing.contains("key_id"), "{missing}");
        let bad_alg = ChainRecord::decode(b"schema_version=1\nalgorithm=md5\nkey_id=0123456789abcdef\n").unwrap_err();
        assert!(bad_alg.contains("sha256") && bad_alg.contains("md5"), "{bad_alg}");
        assert!(ChainRecord::decode(b"schema_version=1\nalgorithm=sha256\nkey_id=short\n").is_err());
        assert!(ChainRecord::decode(b"junk").is_err());
        assert!(ChainRecord::decode(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn errors_say_what_failed_and_where_without_a_password() {
        let shown = crate::postgres::redact_url("kurrentdb://admin:changeit@k1:2113");
        let e = store_error(&shown, "appending to the log", &kurrentdb::Error::AccessDenied);
        let text = e.to_string();
        assert!(matches!(e, StoreError::Backend(_)));
        assert!(text.contains("appending to the log") && text.contains("access denied"), "{text}");
        assert!(text.contains("k1:2113") && !text.contains("changeit"), "{text}");
        let e = store_error(&shown, "reading", &kurrentdb::Error::DeadlineExceeded).to_string();
        assert!(e.contains("deadline"), "{e}");
        let leader = kurrentdb::Error::NotLeaderException(kurrentdb::Endpoint { host: "k2".into(), port: 2113 });
        assert!(store_error(&shown, "appending", &leader).to_string().contains("k2:2113"));
        assert!(is_missing(&kurrentdb::Error::ResourceNotFound));
        assert!(!is_missing(&kurrentdb::Error::ResourceDeleted));
    }

    #[test]
    fn every_call_has_a_deadline_unless_the_url_sets_one() {
        let ten = Duration::from_secs(10);
        assert_eq!(call_deadline("kurrentdb://k:2113", ten), Some(ten));
        assert_eq!(call_deadline("kurrentdb://k:2113?tls=false", ten), Some(ten));
        assert_eq!(call_deadline("kurrentdb://k:2113?tls=false&defaultDeadline=2000", ten), None);
        assert_eq!(call_deadline("kurrentdb://k:2113?DEFAULTDEADLINE=5", ten), None);
        assert_eq!(call_deadline("kurrentdb://u:defaultDeadline@k:2113", ten), Some(ten), "a password is no parameter");
    }

    #[test]
    fn recorded_times_out_of_range_are_refused() {
        assert!(recorded_at(0).is_some());
        assert!(recorded_at(i64::MAX).is_none());
        assert_eq!(chain_record_id("leye"), chain_record_id("leye"));
        assert_ne!(chain_record_id("leye"), chain_record_id("t1"));
    }
}
