//! Person cases: the command path and the queries, over any [`EventStore`].
//!
//! The command path, in one direction:
//! request (already parsed into domain types) → load the case stream → a
//! command id seen before returns the original outcome → fold → `decide` →
//! append at the expected revision → outcome. Nothing else is written.
//!
//! # Concurrency
//! Every append names the revision the decision was based on. If another command
//! got in first, the store refuses; then, when the client did not pin a
//! revision, the command is decided again on the new state (so of two
//! conflicting commands exactly one wins and the other gets the domain's answer,
//! e.g. `ALREADY_PLACED`); when the client pinned `expected_revision`, it gets
//! [`AppError::Conflict`] with the current revision.
//!
//! # Idempotency
//! Event ids derive from the command id, and each event's metadata keeps the
//! command id and a fingerprint of the command. A retry finds its events in the
//! stream and gets the original outcome back; the store also recognises the
//! event ids if two retries race. A rejected command wrote nothing, so its retry
//! is decided afresh.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use leye_domain::{
    Date, Rejection, beijing_date,
    envelope::{EventMetadata, event_id},
    person::{self, DatedCommand, PersonCase, PersonEvent},
    values::{DistrictCode, ResidentId},
};
use leye_store::{EventData, EventStore, ExpectedRevision, Position, StoreError, StreamName};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::identity::CaseIds;

/// How often a command is re-decided after losing a race before giving up.
const MAX_ATTEMPTS: usize = 5;

/// Who sends a command, and how to recognise its retries.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
    pub actor: String,
    pub office: String,
    /// The revision the client based its decision on, if it pinned one.
    pub expected_revision: Option<u64>,
}

/// Which case a command is for.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing case, by id.
    Case(Uuid),
    /// The case of this person (registrations): derived from the resident ID.
    Person(ResidentId),
}

/// What an accepted command wrote (or had written, for a retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub case_id: Uuid,
    pub revision: u64,
    pub event_ids: Vec<Uuid>,
    /// The command had been accepted before: nothing new was written.
    pub duplicate: bool,
}

/// Everything that can go wrong on the command and query paths. Mapped to a
/// gRPC status in exactly one place (`grpc::status`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("rejected: {0}")]
    Rejected(Rejection),
    #[error("the case moved on concurrently (now at {current:?})")]
    Conflict { current: Option<u64> },
    #[error("command id was already used for a different command")]
    CommandIdReused,
    #[error("no such case")]
    NotFound,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("stored event cannot be read: {0}")]
    Corrupt(String),
}

/// One recorded event with its envelope.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event_id: Uuid,
    pub event_type: String,
    pub revision: u64,
    pub position: Position,
    pub recorded_at: DateTime<Utc>,
    pub metadata: EventMetadata,
    pub event: PersonEvent,
}

/// Which state of a case a query asks for.
#[derive(Debug, Clone, Copy)]
pub enum AsOf {
    Latest,
    /// After this revision.
    Revision(u64),
    /// What the service knew at this instant.
    RecordedAt(DateTime<Utc>),
    /// The world up to this date, as known now.
    EffectiveDate(Date),
}

/// A case folded up to some point.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case_id: Uuid,
    pub revision: u64,
    pub case: PersonCase,
    /// The date ages are computed on.
    pub reference_date: Date,
}

/// The clock the service reads; tests may pass their own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Person-case commands and queries over a store.
#[derive(Clone)]
pub struct PersonCases<S> {
    store: S,
    ids: CaseIds,
    clock: Clock,
}

impl<S> std::fmt::Debug for PersonCases<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonCases").finish_non_exhaustive()
    }
}

/// The stream of a person case.
pub fn person_stream(case_id: Uuid) -> StreamName {
    // "person-" and a hyphenated UUID: 43 characters, no whitespace.
    StreamName::parse(format!("{PERSON_STREAM_PREFIX}{case_id}")).expect("a person stream name is always valid")
}

const PERSON_STREAM_PREFIX: &str = "person-";

/// The case id of a person stream (`person-<case id>`); `None` for any other stream.
pub fn person_case_id(stream: &StreamName) -> Option<Uuid> {
    stream.as_str().strip_prefix(PERSON_STREAM_PREFIX).and_then(|id| Uuid::parse_str(id).ok())
}

impl<S: EventStore> PersonCases<S> {
    pub fn new(store: S, ids: CaseIds, clock: Clock) -> Self {
        Self { store, ids, clock }
    }

    /// Today in Beijing time, from the service's clock.
    pub fn today(&self) -> Date {
        beijing_date((self.clock)())
    }

    pub fn case_ids(&self) -> &CaseIds {
        &self.ids
    }

    /// Decides and records one command.
    pub async fn execute(
        &self,
        target: Target,
        meta: CommandMeta,
        command: DatedCommand,
    ) -> Result<CommandOutcome, AppError> {
        let case_id = match &target {
            Target::Case(id) => *id,
            Target::Person(resident_id) => self.ids.person(resident_id),
        };
        let stream = person_stream(case_id);
        let fingerprint = fingerprint(case_id, &command);
        let kind = command.command.name();

        for attempt in 1..=MAX_ATTEMPTS {
            let history = self.load(&stream).await?;
            if let Some(outcome) = earlier_outcome(case_id, &history, &meta, &fingerprint)? {
                tracing::info!(case = %case_id, command = kind, revision = outcome.revision, "duplicate command: original outcome returned");
                return Ok(outcome);
            }
            let current = history.last().map(|r| r.revision);
            if let Some(expected) = meta.expected_revision {
                if current != Some(expected) {
                    return Err(AppError::Conflict { current });
                }
            }
            let case = PersonCase::from_events(history.iter().map(|r| &r.event));
            let events = person::decide(&case, command.clone(), self.today()).map_err(|rejection| {
                tracing::info!(case = %case_id, command = kind, code = %rejection.code, "command rejected");
                AppError::Rejected(rejection)
            })?;
            let mut after = case;
            events.iter().for_each(|e| after.apply(e));
            let Some(district) = after.file().map(|f| f.registration.residence.district.clone()) else {
                // decide only accepts facts on a registered case, or a registration.
                return Err(AppError::Corrupt(format!("case {case_id}: accepted facts left no registration")));
            };
            let data: Vec<EventData> =
                events.iter().enumerate().map(|(i, e)| encode(&meta, &district, &fingerprint, i, e)).collect();
            let event_ids: Vec<Uuid> = data.iter().map(|d| d.event_id).collect();
            let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
            match self.store.append(&stream, expected, data).await {
                Ok(result) => {
                    tracing::info!(
                        case = %case_id,
                        command = kind,
                        revision = result.next_expected_revision,
                        position = %result.position,
                        "command accepted"
                    );
                    return Ok(CommandOutcome {
                        case_id,
                        revision: result.next_expected_revision,
                        event_ids,
                        duplicate: result.already_written,
                    });
                }
                Err(StoreError::WrongExpectedRevision { current, .. }) => {
                    let current = match current {
                        leye_store::CurrentRevision::Current(r) => Some(r),
                        leye_store::CurrentRevision::NoStream => None,
                    };
                    if meta.expected_revision.is_some() {
                        return Err(AppError::Conflict { current });
                    }
                    tracing::debug!(case = %case_id, command = kind, attempt, "lost a race; deciding again");
                }
                Err(StoreError::DuplicateEventId { .. }) => return Err(AppError::CommandIdReused),
                Err(e) => return Err(e.into()),
            }
        }
        let current = self.load(&stream).await?.last().map(|r| r.revision);
        Err(AppError::Conflict { current })
    }

    /// Every event of a stream, decoded.
    async fn load(&self, stream: &StreamName) -> Result<Vec<Recorded>, AppError> {
        let events = self.store.read_stream(stream, 0).await?;
        events.into_iter().map(decode).collect()
    }

    /// Every event of a case, with the state after each.
    pub async fn replay(&self, case_id: Uuid) -> Result<Vec<(Recorded, PersonCase)>, AppError> {
        let history = self.load(&person_stream(case_id)).await?;
        if history.is_empty() {
            return Err(AppError::NotFound);
        }
        let mut case = PersonCase::default();
        Ok(history
            .into_iter()
            .map(|r| {
                case.apply(&r.event);
                (r, case.clone())
            })
            .collect())
    }

    /// A case as of a revision, a recorded instant or an effective date.
    pub async fn state(&self, case_id: Uuid, as_of: AsOf) -> Result<CaseView, AppError> {
        let history = self.load(&person_stream(case_id)).await?;
        let keep = |r: &Recorded| match as_of {
            AsOf::Latest => true,
            AsOf::Revision(rev) => r.revision <= rev,
            AsOf::RecordedAt(t) => r.recorded_at <= t,
            AsOf::EffectiveDate(d) => r.event.effective_date <= d,
        };
        let kept: Vec<&Recorded> = history.iter().filter(|r| keep(r)).collect();
        let Some(last) = kept.last() else { return Err(AppError::NotFound) };
        let reference_date = match as_of {
            AsOf::Latest | AsOf::Revision(_) => self.today(),
            AsOf::RecordedAt(t) => beijing_date(t),
            AsOf::EffectiveDate(d) => d,
        };
        Ok(CaseView {
            case_id,
            revision: last.revision,
            case: PersonCase::from_events(kept.iter().map(|r| &r.event)),
            reference_date,
        })
    }

    /// The case of a person, if one exists: its id and revision.
    pub async fn find(&self, resident_id: &ResidentId) -> Result<(Uuid, u64), AppError> {
        let case_id = self.ids.person(resident_id);
        let events = self.store.read_stream(&person_stream(case_id), 0).await?;
        let last = events.last().ok_or(AppError::NotFound)?;
        Ok((case_id, last.revision))
    }
}

/// The outcome of this command if the stream already holds its events.
fn earlier_outcome(
    case_id: Uuid,
    history: &[Recorded],
    meta: &CommandMeta,
    fingerprint: &str,
) -> Result<Option<CommandOutcome>, AppError> {
    let mine: Vec<&Recorded> = history.iter().filter(|r| r.metadata.command_id == meta.command_id).collect();
    let Some(last) = mine.last() else { return Ok(None) };
    if last.metadata.command_fingerprint != fingerprint {
        return Err(AppError::CommandIdReused);
    }
    Ok(Some(CommandOutcome {
        case_id,
        revision: last.revision,
        event_ids: mine.iter().map(|r| r.event_id).collect(),
        duplicate: true,
    }))
}

fn encode(
    meta: &CommandMeta,
    district: &DistrictCode,
    fingerprint: &str,
    index: usize,
    event: &PersonEvent,
) -> EventData {
    let metadata = EventMetadata {
        command_id: meta.command_id,
        correlation_id: meta.correlation_id,
        causation_id: meta.causation_id,
        actor: meta.actor.clone(),
        office: meta.office.clone(),
        district: district.clone(),
        effective_date: event.effective_date,
        schema_version: person::SCHEMA_VERSION,
        command_fingerprint: fingerprint.to_string(),
    };
    EventData {
        event_id: event_id(meta.command_id, index),
        event_type: event.fact.event_type().to_string(),
        data: event.encode(),
        // Plain data with string keys: serialisation cannot fail.
        metadata: serde_json::to_vec(&metadata).unwrap_or_default(),
    }
}

/// A stored person event with its envelope, decoded (upcast by schema version).
/// The one decoder of stored events: the command path, the queries and the
/// publisher all read events through it.
pub fn decode(e: leye_store::RecordedEvent) -> Result<Recorded, AppError> {
    let metadata: EventMetadata = serde_json::from_slice(&e.metadata).map_err(|err| {
        let err = leye_domain::person::json_error(&err);
        AppError::Corrupt(format!("{} revision {}: metadata: {err}", e.stream, e.revision))
    })?;
    let event = PersonEvent::decode(&e.event_type, metadata.schema_version, &e.data)
        .map_err(|err| AppError::Corrupt(format!("{} revision {}: {err}", e.stream, e.revision)))?;
    Ok(Recorded {
        event_id: e.event_id,
        event_type: e.event_type,
        revision: e.revision,
        position: e.position,
        recorded_at: e.recorded_at,
        metadata,
        event,
    })
}

/// SHA-256 of the case id and the command as decided.
fn fingerprint(case_id: Uuid, command: &DatedCommand) -> String {
    let mut h = Sha256::new();
    h.update(case_id.as_bytes());
    // Plain data with string keys: serialisation cannot fail.
    h.update(serde_json::to_vec(command).unwrap_or_default());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
