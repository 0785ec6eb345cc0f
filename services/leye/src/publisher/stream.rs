//! The JetStream stream leye publishes to: its settings, created or updated on
//! start, and where publishing resumes.
//!
//! # Settings (all explicit, see [`config`])
//! - name [`StreamSettings::name`] (default `LEYE_V1`), subjects `leye.v1.>`;
//! - file storage; replicas [`StreamSettings::replicas`] (1 by default, 3 in a
//!   cluster);
//! - duplicate window [`StreamSettings::duplicate_window`] (1 h by default):
//!   JetStream drops a message whose `Nats-Msg-Id` it saw within the window. The
//!   server keeps every id of the window in memory (roughly 100–150 bytes each:
//!   at 100 events/s, an hour is 360 000 ids, some 50 MB);
//! - retention by limits: max age [`StreamSettings::max_age`] (30 days) and max
//!   bytes [`StreamSettings::max_bytes`] (10 GiB), no message-count limit,
//!   discard old: the oldest messages go first, a publish is never refused for
//!   space. The limits bound how far back a subscriber can replay from NATS;
//!   leye's store keeps everything.
//!
//! # Resuming without gaps or reordering
//! Every message is published with `Nats-Expected-Last-Sequence` = the stream
//! sequence it must follow. JetStream stores it only if the stream is exactly
//! that long, so a message lost in a reconnect makes every later in-flight one
//! fail too: the stream is always an unbroken run of the global log, in log
//! order, whatever the pipelining. On (re)start the publisher reads the
//! stream's last message and resumes right after the position it carries
//! ([`resume_point`]); its own checkpoint is used only when the stream cannot
//! tell (purged, or aged out). The stream therefore has a single writer: leye.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    stream::{self, DiscardPolicy, LastRawMessageErrorKind, RetentionPolicy, StorageType},
};
use leye_store::Position;

use super::message::{STREAM_SUBJECTS, position_of};

/// How the stream is set up. Plain values, filled from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    pub name: String,
    /// Copies kept by the cluster (1 to 5). With 3, a write is acknowledged
    /// once two servers have it, and one server may fail.
    pub replicas: usize,
    pub duplicate_window: Duration,
    /// Messages older than this are removed; zero: kept forever.
    pub max_age: Duration,
    /// The stream's size limit; `None`: unlimited.
    pub max_bytes: Option<u64>,
}

pub const DEFAULT_STREAM: &str = "LEYE_V1";
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024 * 1024;

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            name: DEFAULT_STREAM.into(),
            replicas: 1,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            max_age: DEFAULT_MAX_AGE,
            max_bytes: Some(DEFAULT_MAX_BYTES),
        }
    }
}

impl StreamSettings {
    /// Checks what JetStream would refuse, with the setting's name.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            return Err("nats_stream: 1 to 64 letters, digits, '_' or '-'".into());
        }
        if !(1..=5).contains(&self.replicas) {
            return Err("nats_stream_replicas: must be 1 to 5".into());
        }
        if self.duplicate_window.is_zero() {
            return Err("nats_duplicate_window_secs: must be at least 1".into());
        }
        if !self.max_age.is_zero() && self.duplicate_window > self.max_age {
            return Err("nats_duplicate_window_secs: must not exceed the stream's max age".into());
        }
        if self.max_bytes.is_some_and(|b| b > i64::MAX as u64) {
            return Err("nats_max_bytes: too large".into());
        }
        Ok(())
    }
}

/// The stream's full configuration.
pub fn config(s: &StreamSettings) -> stream::Config {
    stream::Config {
        name: s.name.clone(),
        description: Some("leye events: every recorded case event, protobuf payloads (proto/leye)".into()),
        subjects: vec![STREAM_SUBJECTS.into()],
        storage: StorageType::File,
        num_replicas: s.replicas,
        duplicate_window: s.duplicate_window,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        max_age: s.max_age,
        max_bytes: s.max_bytes.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        max_messages: -1,
        max_messages_per_subject: -1,
        max_consumers: -1,
        ..Default::default()
    }
}

/// Why the stream could not be set up or read.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("creating or updating stream {name}: {reason}")]
    Setup { name: String, reason: String },
    #[error("reading stream {name}: {reason}")]
    Read { name: String, reason: String },
    #[error(
        "stream {name} ends at global position {stream}, beyond this store's head {head:?}: it was filled from \
         another store, or the store was restored from an older backup. Refusing to publish (events would be \
         skipped); use another stream name or remove the stream"
    )]
    AheadOfStore { name: String, stream: u64, head: Option<u64> },
}

/// Creates the stream, or updates it to [`config`] when a setting differs.
/// An unchanged stream is left alone, so a session can start while a cluster
/// is degraded (an update needs the cluster's meta leader).
pub async fn ensure(ctx: &jetstream::Context, s: &StreamSettings) -> Result<stream::Stream, StreamError> {
    let setup = |e: &dyn std::fmt::Display| StreamError::Setup { name: s.name.clone(), reason: e.to_string() };
    let wanted = config(s);
    if let Ok(existing) = ctx.get_stream(&s.name).await {
        if same_settings(&existing.cached_info().config, &wanted) {
            return Ok(existing);
        }
        tracing::info!(stream = %s.name, "stream settings differ from the configuration: updating the stream");
    }
    ctx.create_or_update_stream(wanted).await.map_err(|e| setup(&e))?;
    ctx.get_stream(&s.name).await.map_err(|e| setup(&e))
}

/// The settings leye sets, compared (the server fills in others).
fn same_settings(have: &stream::Config, want: &stream::Config) -> bool {
    have.subjects == want.subjects
        && have.storage == want.storage
        && have.num_replicas == want.num_replicas
        && have.duplicate_window == want.duplicate_window
        && have.retention == want.retention
        && have.discard == want.discard
        && have.max_age == want.max_age
        && have.max_bytes == want.max_bytes
        && have.max_messages == want.max_messages
        && have.max_messages_per_subject == want.max_messages_per_subject
        && have.description == want.description
}

/// Where publishing resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// Publish the events after this position (`None`: from the start).
    pub after: Option<Position>,
    /// The stream's last sequence: the first message expects it, the next
    /// one that plus one, and so on.
    pub last_sequence: u64,
    pub from: ResumeFrom,
}

/// What the resume point was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeFrom {
    /// The stream never held a message: the whole log is published.
    EmptyStream,
    /// The global position on the stream's last message.
    StreamLastMessage,
    /// The publisher's checkpoint (the stream's last message is gone or not ours).
    Checkpoint,
}

/// Where to resume, from the stream itself when it can tell. `head` is the
/// store's head, to refuse a stream that is ahead of the store.
pub async fn resume_point(
    stream: &stream::Stream,
    checkpoint: Option<Position>,
    head: Option<Position>,
) -> Result<Resume, StreamError> {
    let name = stream.cached_info().config.name.clone();
    let read = |e: &dyn std::fmt::Display| StreamError::Read { name: name.clone(), reason: e.to_string() };
    let info = stream.get_info().await.map_err(|e| read(&e))?;
    let last_sequence = info.state.last_sequence;
    if last_sequence == 0 {
        return Ok(Resume { after: None, last_sequence, from: ResumeFrom::EmptyStream });
    }
    let on_stream = match stream.get_raw_message(last_sequence).await {
        Ok(m) => position_of(&m.headers),
        // Purged or aged out: the stream cannot tell.
        Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => None,
        Err(e) => return Err(read(&e)),
    };
    match on_stream {
        Some(p) if head.is_none_or(|h| p > h) => {
            Err(StreamError::AheadOfStore { name, stream: p.commit, head: head.map(|h| h.commit) })
        }
        Some(p) => Ok(Resume { after: Some(p), last_sequence, from: ResumeFrom::StreamLastMessage }),
        None => Ok(Resume { after: checkpoint, last_sequence, from: ResumeFrom::Checkpoint }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_config_is_explicit() {
        let c = config(&StreamSettings { replicas: 3, ..Default::default() });
        assert_eq!(c.name, "LEYE_V1");
        assert_eq!(c.subjects, vec!["leye.v1.>".to_string()]);
        assert_eq!(c.storage, StorageType::File);
        assert_eq!(c.num_replicas, 3);
        assert_eq!(c.duplicate_window, Duration::from_secs(3600));
        assert_eq!(c.retention, RetentionPolicy::Limits);
        assert_eq!(c.discard, DiscardPolicy::Old);
        assert_eq!(c.max_age, Duration::from_secs(30 * 86400));
        assert_eq!(c.max_bytes, 10 * 1024 * 1024 * 1024);
        assert_eq!(c.max_messages, -1);
        let unlimited = config(&StreamSettings { max_bytes: None, max_age: Duration::ZERO, ..Default::default() });
        assert_eq!((unlimited.max_bytes, unlimited.max_age), (-1, Duration::ZERO));
    }

    #[test]
    fn settings_jetstream_would_refuse_are_refused_naming_the_key() {
        let ok = StreamSettings::default();
        assert!(ok.validate().is_ok());
        let bad = [
            (StreamSettings { name: "LEYE.V1".into(), ..ok.clone() }, "nats_stream"),
            (StreamSettings { replicas: 0, ..ok.clone() }, "nats_stream_replicas"),
            (StreamSettings { replicas: 6, ..ok.clone() }, "nats_stream_replicas"),
            (StreamSettings { duplicate_window: Duration::ZERO, ..ok.clone() }, "nats_duplicate_window_secs"),
            (
                StreamSettings { max_age: Duration::from_secs(60), ..ok.clone() },
                "nats_duplicate_window_secs: must not exceed",
            ),
        ];
        for (s, key) in bad {
            let err = s.validate().unwrap_err();
            assert!(err.starts_with(key), "{err}");
        }
    }
}
