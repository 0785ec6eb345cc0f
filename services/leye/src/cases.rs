//! Cases (persons, enterprises): the command path and the queries, over any
//! [`EventStore`]. One generic implementation, [`Cases`], serves every case
//! kind; a [`CaseKind`] says how that kind decides, folds and stores its events.
//!
//! The command path, in one direction:
//! request (already parsed into domain types) → load the case stream (or
//! take the case as this process last recorded it, or assume a
//! registration's case new: `memory`) → a command id seen before returns the
//! original outcome → fold → `decide` → append at the expected revision →
//! outcome. Nothing else is written. Only an accepted append is answered
//! from a case not read; anything else is decided again on a fresh read.
//!
//! # Concurrency
//! Every append names the revision the decision was based on. If another command
//! got in first, the store refuses; then, when the client did not pin a
//! revision, the command is decided again on the new state (so of two
//! conflicting commands exactly one wins and the other gets the domain's answer,
//! e.g. `ALREADY_PLACED`); when the client pinned `expected_revision`, it gets
//! [`AppError::Conflict`] with the current revision, at once.
//!
//! Within one process, commands on one case take turns, so they do not race;
//! servers sharing a store do race. A command that lost is decided again
//! after a short random pause (growing with each loss, so servers that keep
//! colliding spread out), for as long as [`RETRY_FOR`] allows: a busy case
//! shared by several servers does not answer `ABORTED` to an unpinned
//! command. The call's deadline (tonic's request timeout, or the client's
//! `grpc-timeout` when shorter) cancels the command sooner. The turn is given
//! up for the pause, so the cases that share its stripe are not held up.
//!
//! # Idempotency
//! Event ids derive from the command id, and each event's metadata keeps the
//! command id and a fingerprint of the command. A retry finds its events in the
//! stream and gets the original outcome back. The store also recognises the
//! event ids (when two retries race, or when the case was not read); its
//! "already written" is then answered from a fresh read, whose fingerprints
//! tell a retry from another command reusing the id (`COMMAND_ID_REUSED`).
//! A rejected command wrote nothing, so its retry is decided afresh.

use std::{marker::PhantomData, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use leye_domain::{
    Date, Rejection, beijing_date,
    enterprise::{self, DatedEnterpriseCommand, EnterpriseCase, EnterpriseEvent, EnterpriseRejection},
    envelope::{DecodeError, EventMetadata},
    person::{self, DatedCommand, PersonCase, PersonEvent},
    values::{CreditCode, DistrictCode, ResidentId},
};
use leye_store::{EventData, EventStore, Position, StoreError, StreamName};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    access::{Access, Denied, Place},
    identity::CaseIds,
    personal::PersonalData,
};

mod command;
mod envelope;
mod memory;

pub use envelope::{decode, decode_as, decode_with};
use envelope::{encode, fingerprint};
use memory::CaseMemory;

/// How long an unpinned command keeps being decided again after losing races
/// before it is answered [`AppError::Conflict`]: five attempts are made in
/// any case. Within the default request timeout (30 s): a call's own deadline
/// ends it sooner. Set another with [`Cases::with_retry_for`].
pub const RETRY_FOR: Duration = Duration::from_secs(10);

/// Cases remembered as last decided, by default ([`Cases::with_memory`]).
pub const CASE_MEMORY: usize = memory::CAPACITY;

/// Who sends a command, and how to recognise its retries.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
    /// The authenticated principal's id, or the service's own actor name.
    pub actor: String,
    pub office: String,
    /// The revision the client based its decision on, if it pinned one.
    pub expected_revision: Option<u64>,
    /// Whose authority the command runs under: checked against the case's
    /// place inside the case's turn, and recorded with the events.
    pub access: Access,
}

/// Which case a command is for.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing case, by id.
    Case(Uuid),
    /// The case of this person (registrations): derived from the resident ID.
    Person(ResidentId),
    /// The case of this enterprise (registrations): derived from the credit code.
    Enterprise(CreditCode),
}

impl Target {
    fn case_id(&self, ids: &CaseIds) -> Uuid {
        match self {
            Self::Case(id) => *id,
            Self::Person(resident_id) => ids.person(resident_id),
            Self::Enterprise(code) => ids.enterprise(code),
        }
    }
}

/// One kind of case: how it decides, folds and stores its events. Implemented
/// by [`Person`] and [`Enterprise`]; everything else on the command path and
/// the query path is shared.
pub trait CaseKind: Send + Sync + 'static {
    /// The folded state.
    type Case: Default + Clone + Send + Sync + 'static;
    /// A command with its effective date.
    type Command: Serialize + Clone + Send + Sync + 'static;
    type Event: Clone + Send + Sync + 'static;
    /// Streams of this kind are named `<prefix><case id>`.
    const STREAM_PREFIX: &'static str;
    const SCHEMA_VERSION: u32;

    fn decide(case: &Self::Case, command: Self::Command, today: Date) -> Result<Vec<Self::Event>, AppError>;
    fn apply(case: &mut Self::Case, event: &Self::Event);
    /// The district the case belongs to (event metadata, NATS subjects); `None`
    /// before registration.
    fn district(case: &Self::Case) -> Option<DistrictCode>;
    /// Where the case is, for the jurisdiction check; `None` before registration.
    fn place(case: &Self::Case) -> Option<Place>;
    fn command_name(command: &Self::Command) -> &'static str;
    fn event_type(event: &Self::Event) -> &'static str;
    fn effective_date(event: &Self::Event) -> Date;
    fn encode(event: &Self::Event) -> Vec<u8>;
    fn decode(event_type: &str, schema_version: u32, data: &[u8]) -> Result<Self::Event, DecodeError>;
    /// Whether recording this event destroys the case's personal-data key
    /// first (an erasure, PIPL art. 47).
    fn erases(_event: &Self::Event) -> bool {
        false
    }
    /// Whether a lookup by natural key (resident ID, credit code) finds the case.
    fn findable(_case: &Self::Case) -> bool {
        true
    }

    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::Case {
        let mut case = Self::Case::default();
        events.into_iter().for_each(|e| Self::apply(&mut case, e));
        case
    }
}

/// The person (劳动者) case kind: streams `person-<case id>`.
#[derive(Debug, Clone, Copy)]
pub struct Person;

impl CaseKind for Person {
    type Case = PersonCase;
    type Command = DatedCommand;
    type Event = PersonEvent;
    const STREAM_PREFIX: &'static str = "person-";
    const SCHEMA_VERSION: u32 = person::SCHEMA_VERSION;

    fn decide(case: &PersonCase, command: DatedCommand, today: Date) -> Result<Vec<PersonEvent>, AppError> {
        person::decide(case, command, today).map_err(AppError::Rejected)
    }
    fn apply(case: &mut PersonCase, event: &PersonEvent) {
        case.apply(event);
    }
    fn district(case: &PersonCase) -> Option<DistrictCode> {
        case.file().map(|f| f.registration.residence.district.clone())
    }
    fn place(case: &PersonCase) -> Option<Place> {
        case.file().map(|f| {
            let r = &f.registration.residence;
            Place {
                district: r.district.as_str().to_string(),
                street: Some(r.street.clone()),
                community: Some(r.community.clone()),
            }
        })
    }
    fn command_name(command: &DatedCommand) -> &'static str {
        command.command.name()
    }
    fn event_type(event: &PersonEvent) -> &'static str {
        event.fact.event_type()
    }
    fn effective_date(event: &PersonEvent) -> Date {
        event.effective_date
    }
    fn encode(event: &PersonEvent) -> Vec<u8> {
        event.encode()
    }
    fn decode(event_type: &str, schema_version: u32, data: &[u8]) -> Result<PersonEvent, DecodeError> {
        PersonEvent::decode(event_type, schema_version, data)
    }
    fn erases(event: &PersonEvent) -> bool {
        matches!(event.fact, person::PersonFact::PersonalDataErased(_))
    }
    /// An erased person is not found by resident ID until they register again.
    fn findable(case: &PersonCase) -> bool {
        case.file().is_some_and(|f| f.personal_data_erased.is_none())
    }
}

/// The enterprise (用人单位) case kind: streams `enterprise-<case id>`.
#[derive(Debug, Clone, Copy)]
pub struct Enterprise;

impl CaseKind for Enterprise {
    type Case = EnterpriseCase;
    type Command = DatedEnterpriseCommand;
    type Event = EnterpriseEvent;
    const STREAM_PREFIX: &'static str = "enterprise-";
    const SCHEMA_VERSION: u32 = enterprise::SCHEMA_VERSION;

    fn decide(
        case: &EnterpriseCase,
        command: DatedEnterpriseCommand,
        today: Date,
    ) -> Result<Vec<EnterpriseEvent>, AppError> {
        enterprise::decide(case, command, today).map_err(AppError::EnterpriseRejected)
    }
    fn apply(case: &mut EnterpriseCase, event: &EnterpriseEvent) {
        case.apply(event);
    }
    fn district(case: &EnterpriseCase) -> Option<DistrictCode> {
        case.file().map(|f| f.registration.district.clone())
    }
    /// An enterprise's seat is known by its district only.
    fn place(case: &EnterpriseCase) -> Option<Place> {
        case.file().map(|f| Place {
            district: f.registration.district.as_str().to_string(),
            street: None,
            community: None,
        })
    }
    fn command_name(command: &DatedEnterpriseCommand) -> &'static str {
        command.command.name()
    }
    fn event_type(event: &EnterpriseEvent) -> &'static str {
        event.fact.event_type()
    }
    fn effective_date(event: &EnterpriseEvent) -> Date {
        event.effective_date
    }
    fn encode(event: &EnterpriseEvent) -> Vec<u8> {
        event.encode()
    }
    fn decode(event_type: &str, schema_version: u32, data: &[u8]) -> Result<EnterpriseEvent, DecodeError> {
        EnterpriseEvent::decode(event_type, schema_version, data)
    }
}

/// What an accepted command wrote (or had written, for a retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub case_id: Uuid,
    pub revision: u64,
    pub event_ids: Vec<Uuid>,
    /// The command had been accepted before: nothing new was written.
    pub duplicate: bool,
    /// Global log position (commit part) of the command's last event; for a
    /// duplicate, of the original's. Queries with this `min_position` read it.
    pub position: u64,
}

/// Everything that can go wrong on the command and query paths. Mapped to a
/// gRPC status in exactly one place (`grpc::status`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("rejected: {0}")]
    Rejected(Rejection),
    #[error("rejected: {0}")]
    EnterpriseRejected(EnterpriseRejection),
    /// The policy catalogue refuses the subsidy: the decision says why, citing
    /// clauses. It holds personal facts (ages, dates): for the caller, not the log.
    #[error("the policy in force refuses the subsidy")]
    PolicyRefused(Box<leye_policy::Decision>),
    /// A request value the service (not the decider) refuses.
    #[error("{field}: {rule}")]
    BadInput { field: &'static str, rule: String },
    #[error("the case moved on concurrently (now at {current:?})")]
    Conflict { current: Option<u64> },
    #[error("command id was already used for a different command")]
    CommandIdReused,
    #[error("no such case")]
    NotFound,
    /// The caller may not do this, here: mapped to PERMISSION_DENIED.
    #[error("denied: {0}")]
    Denied(#[from] Denied),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("stored event cannot be read: {0}")]
    Corrupt(String),
    /// The personal-data key store failed (or is not configured).
    #[error("personal-data key store: {0}")]
    Vault(String),
}

impl AppError {
    /// The stable rejection code, for logs; `""` for errors that are not rejections.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(r) => r.code.as_str(),
            Self::EnterpriseRejected(r) => r.code.as_str(),
            Self::PolicyRefused(_) => "POLICY_REFUSED",
            _ => "",
        }
    }
}

/// One recorded event with its envelope.
#[derive(Debug, Clone)]
pub struct Recorded<E = PersonEvent> {
    pub event_id: Uuid,
    pub event_type: String,
    pub revision: u64,
    pub position: Position,
    pub recorded_at: DateTime<Utc>,
    pub metadata: EventMetadata,
    pub event: E,
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
pub struct CaseView<C = PersonCase> {
    pub case_id: Uuid,
    pub revision: u64,
    pub case: C,
    /// The date ages are computed on.
    pub reference_date: Date,
}

/// The clock the service reads; tests may pass their own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Commands and queries of one case kind over a store.
pub struct Cases<K: CaseKind, S> {
    store: S,
    ids: CaseIds,
    clock: Clock,
    /// Commands on one case take turns in this process (striped by case id), so
    /// a busy case (an enterprise hiring forty people at once) is not a storm of
    /// lost races; the expected-revision check still arbitrates between processes.
    turns: Arc<[tokio::sync::Mutex<()>]>,
    /// Commands and store appends are counted here when set.
    metrics: Option<Arc<crate::telemetry::Metrics>>,
    /// Seals personal fields on write and opens them on read when set;
    /// without it payloads are written plain (the format before sealing) and
    /// sealed ones read as withheld.
    personal: Option<Arc<PersonalData>>,
    /// How long an unpinned command keeps being decided again after lost races.
    retry_for: Duration,
    /// The cases this process recorded last, as they then stood: the next
    /// command on one is decided without reading its stream (`memory`).
    /// Shared by clones.
    memory: Arc<CaseMemory<K::Case>>,
    kind: PhantomData<fn() -> K>,
}

/// Stripes of [`Cases::turns`]: two cases share one with probability 1/1024.
const TURN_STRIPES: usize = 1024;

/// The stripe of [`Cases::turns`] whose turn a command on `case_id` takes.
pub fn turn_of(case_id: Uuid) -> usize {
    (case_id.as_u128() % TURN_STRIPES as u128) as usize
}

/// Person-case commands and queries.
pub type PersonCases<S> = Cases<Person, S>;
/// Enterprise-case commands and queries.
pub type EnterpriseCases<S> = Cases<Enterprise, S>;

impl<K: CaseKind, S: Clone> Clone for Cases<K, S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            ids: self.ids.clone(),
            clock: self.clock.clone(),
            turns: self.turns.clone(),
            metrics: self.metrics.clone(),
            personal: self.personal.clone(),
            retry_for: self.retry_for,
            memory: self.memory.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: CaseKind, S> std::fmt::Debug for Cases<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cases").field("kind", &std::any::type_name::<K>()).finish_non_exhaustive()
    }
}

/// The stream of a case of kind `K`.
pub fn stream_of<K: CaseKind>(case_id: Uuid) -> StreamName {
    // A short ASCII prefix and a hyphenated UUID: no whitespace, well under the limit.
    StreamName::parse(format!("{}{case_id}", K::STREAM_PREFIX)).expect("a case stream name is always valid")
}

/// The case id of a stream of kind `K`; `None` for any other stream.
pub fn case_id_of<K: CaseKind>(stream: &StreamName) -> Option<Uuid> {
    stream.as_str().strip_prefix(K::STREAM_PREFIX).and_then(|id| Uuid::parse_str(id).ok())
}

/// The stream of a person case.
pub fn person_stream(case_id: Uuid) -> StreamName {
    stream_of::<Person>(case_id)
}

/// The case id of a person stream (`person-<case id>`); `None` for any other stream.
pub fn person_case_id(stream: &StreamName) -> Option<Uuid> {
    case_id_of::<Person>(stream)
}

impl<K: CaseKind, S: EventStore> Cases<K, S> {
    pub fn new(store: S, ids: CaseIds, clock: Clock) -> Self {
        let turns = (0..TURN_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect();
        Self {
            store,
            ids,
            clock,
            turns,
            metrics: None,
            personal: None,
            retry_for: RETRY_FOR,
            memory: Arc::new(CaseMemory::new(memory::CAPACITY)),
            kind: PhantomData,
        }
    }

    /// Remembers at most `cases` cases as last recorded (default
    /// [`memory::CAPACITY`]; 0: every command reads its stream).
    pub fn with_memory(mut self, cases: usize) -> Self {
        self.memory = Self::memory_for(cases, self.personal.as_deref());
        self
    }

    /// A new memory of `capacity` cases, that drops a person when
    /// `personal` erases them (here or, with a shared key store, on another
    /// server).
    fn memory_for(capacity: usize, personal: Option<&PersonalData>) -> Arc<CaseMemory<K::Case>> {
        let memory = Arc::new(CaseMemory::new(capacity));
        if let Some(p) = personal {
            let listener: std::sync::Weak<CaseMemory<K::Case>> = Arc::downgrade(&memory);
            p.on_erasure(listener);
        }
        memory
    }

    /// Keeps deciding an unpinned command again after lost races for up to
    /// `retry_for` (default [`RETRY_FOR`]; at least [`MIN_ATTEMPTS`] attempts).
    pub fn with_retry_for(mut self, retry_for: Duration) -> Self {
        self.retry_for = retry_for;
        self
    }

    /// Seals personal fields with `personal` (and opens them on read).
    pub fn with_personal_data(mut self, personal: Arc<PersonalData>) -> Self {
        self.memory = Self::memory_for(self.memory.capacity(), Some(&personal));
        self.personal = Some(personal);
        self
    }

    /// The personal-data codec, when set.
    pub fn personal_data(&self) -> Option<&Arc<PersonalData>> {
        self.personal.as_ref()
    }

    /// Counts commands and times store appends in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::telemetry::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The same store, ids, clock, turns and metrics, for another case kind.
    pub fn of_kind<L: CaseKind>(&self) -> Cases<L, S> {
        Cases {
            store: self.store.clone(),
            ids: self.ids.clone(),
            clock: self.clock.clone(),
            turns: self.turns.clone(),
            metrics: self.metrics.clone(),
            personal: self.personal.clone(),
            retry_for: self.retry_for,
            memory: Cases::<L, S>::memory_for(self.memory.capacity(), self.personal.as_deref()),
            kind: PhantomData,
        }
    }

    /// Today in Beijing time, from the service's clock.
    pub fn today(&self) -> Date {
        beijing_date((self.clock)())
    }

    pub fn case_ids(&self) -> &CaseIds {
        &self.ids
    }

    /// The store the cases live in (for followers of its log).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Decides and records one command.
    pub async fn execute(
        &self,
        target: Target,
        meta: CommandMeta,
        command: K::Command,
    ) -> Result<CommandOutcome, AppError> {
        let request = command.clone();
        self.execute_with(target, meta, &request, move |_, _| Ok(command.clone())).await
    }

    /// Decides and records the command `prepare` makes from the case as it is
    /// (folded, on today's date) — for commands that depend on the state
    /// beyond the decider's rules, e.g. a subsidy evaluated against the policy
    /// catalogue. `prepare` runs inside the case's turn and again after a lost
    /// race, so what it reads is what the append is checked against. Retries
    /// are recognised by the command id and the fingerprint of `request`.
    pub async fn execute_with<R: Serialize>(
        &self,
        target: Target,
        meta: CommandMeta,
        request: &R,
        prepare: impl Fn(&K::Case, Date) -> Result<K::Command, AppError>,
    ) -> Result<CommandOutcome, AppError> {
        let Some(metrics) = self.metrics.clone() else {
            return self.decide_and_append(target, meta, request, prepare, &mut None).await;
        };
        let mut kind = None;
        let result = self.decide_and_append(target, meta, request, prepare, &mut kind).await;
        use crate::telemetry::CommandOutcome as Counted;
        let counted = match &result {
            Ok(outcome) if outcome.duplicate => Counted::Duplicate,
            Ok(_) => Counted::Accepted,
            Err(e @ (AppError::Rejected(_) | AppError::EnterpriseRejected(_))) => Counted::Rejected(e.code()),
            Err(AppError::PolicyRefused(_)) => Counted::Rejected("POLICY_REFUSED"),
            Err(AppError::Conflict { .. }) => Counted::Conflict,
            Err(AppError::Denied(_)) => Counted::Denied,
            Err(_) => Counted::Error,
        };
        metrics.command(kind.unwrap_or("unknown"), counted);
        result
    }

    /// Every event of a stream, decoded.
    async fn load(&self, stream: &StreamName) -> Result<Vec<Recorded<K::Event>>, AppError> {
        let events = self.store.read_stream(stream, 0).await?;
        events.into_iter().map(|e| decode_with::<K>(e, self.personal.as_deref())).collect()
    }

    /// Checks `access` against the case's current place.
    fn check_history(&self, case_id: Uuid, history: &[Recorded<K::Event>], access: &Access) -> Result<(), AppError> {
        access.touch(case_id);
        if history.is_empty() {
            return Err(AppError::NotFound);
        }
        if let Some(place) = K::place(&K::fold(history.iter().map(|r| &r.event))) {
            access.check_place(case_id, &place)?;
        }
        Ok(())
    }

    /// Every event of a case, with the state after each.
    pub async fn replay(&self, case_id: Uuid, access: &Access) -> Result<Vec<(Recorded<K::Event>, K::Case)>, AppError> {
        let history = self.load(&stream_of::<K>(case_id)).await?;
        self.check_history(case_id, &history, access)?;
        let mut case = K::Case::default();
        Ok(history
            .into_iter()
            .map(|r| {
                K::apply(&mut case, &r.event);
                (r, case.clone())
            })
            .collect())
    }

    /// A case as of a revision, a recorded instant or an effective date.
    /// Access follows where the case is now, whatever the date asked for.
    pub async fn state(&self, case_id: Uuid, as_of: AsOf, access: &Access) -> Result<CaseView<K::Case>, AppError> {
        let history = self.load(&stream_of::<K>(case_id)).await?;
        self.check_history(case_id, &history, access)?;
        let keep = |r: &Recorded<K::Event>| match as_of {
            AsOf::Latest => true,
            AsOf::Revision(rev) => r.revision <= rev,
            AsOf::RecordedAt(t) => r.recorded_at <= t,
            AsOf::EffectiveDate(d) => K::effective_date(&r.event) <= d,
        };
        let kept: Vec<&Recorded<K::Event>> = history.iter().filter(|r| keep(r)).collect();
        let Some(last) = kept.last() else { return Err(AppError::NotFound) };
        let reference_date = match as_of {
            AsOf::Latest | AsOf::Revision(_) => self.today(),
            AsOf::RecordedAt(t) => beijing_date(t),
            AsOf::EffectiveDate(d) => d,
        };
        Ok(CaseView { case_id, revision: last.revision, case: K::fold(kept.iter().map(|r| &r.event)), reference_date })
    }

    /// The case a target names, if it exists and `access` reaches it: its id and revision.
    /// By natural key (resident id, credit code) a case outside the caller's
    /// jurisdiction is `NotFound`, as a case that does not exist: a look-up
    /// must not tell whether someone is registered in another district (the
    /// audit record keeps the denial).
    pub async fn find(&self, target: &Target, access: &Access) -> Result<(Uuid, u64), AppError> {
        let case_id = target.case_id(&self.ids);
        let history = self.load(&stream_of::<K>(case_id)).await?;
        match self.check_history(case_id, &history, access) {
            Err(AppError::Denied(_)) if !matches!(target, Target::Case(_)) => return Err(AppError::NotFound),
            checked => checked?,
        }
        // By natural key only: a case id keeps naming an erased case.
        if !matches!(target, Target::Case(_)) && !K::findable(&K::fold(history.iter().map(|r| &r.event))) {
            return Err(AppError::NotFound);
        }
        let last = history.last().ok_or(AppError::NotFound)?;
        Ok((case_id, last.revision))
    }
}

impl<K: CaseKind, S: EventStore> Cases<K, S> {
    /// Decides `command` on `case`, a case the caller holds in memory (a bulk
    /// loader that owns the case's stream: the synthetic generator's bulk
    /// path), applies the accepted events to it and returns them encoded
    /// exactly as [`Self::execute`] would store them: the same decider on
    /// today's date, metadata, fingerprint and event ids. What it leaves out:
    /// reading the stream and the turn (the caller owns the stream), the
    /// duplicate check, the jurisdiction check of `meta.access` (only for
    /// [`Access::Service`](crate::access::Access::Service)) and the append
    /// itself. Refused when personal data is sealed (that needs the key store).
    pub fn decide_detached(
        &self,
        case_id: Uuid,
        case: &mut K::Case,
        meta: &CommandMeta,
        command: K::Command,
    ) -> Result<Vec<EventData>, AppError> {
        if self.personal.is_some() || !matches!(meta.access, crate::access::Access::Service(_)) {
            return Err(AppError::BadInput {
                field: "access",
                rule: "decide_detached is for the service's own bulk loads, without sealing".into(),
            });
        }
        let fingerprint = fingerprint(&self.ids, case_id, &command);
        let events = K::decide(case, command, self.today())?;
        events.iter().for_each(|e| K::apply(case, e));
        let district = K::district(case)
            .ok_or_else(|| AppError::Corrupt(format!("case {case_id}: accepted facts left no registration")))?;
        events
            .iter()
            .enumerate()
            .map(|(i, e)| encode::<K>(meta, &district, &fingerprint, i, e, case_id, None))
            .collect()
    }
}
