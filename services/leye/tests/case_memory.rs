//! The cases a server remembers as it last decided them (`leye::cases`,
//! `cases/memory.rs`): the next command on one reads no stream, and what
//! another server wrote meanwhile is never missed. Two servers are two
//! `PersonCases` of their own (each its memory and turns, as two processes)
//! over one real SQLite store; this server's reads of the store are counted.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use leye::{
    access::Access,
    cases::{AppError, CommandMeta, PersonCases, Target, person_stream},
    identity::CaseIds,
};
use leye_domain::{
    person::{
        self, ContactChannel, ContactOutcome, DatedCommand, PersonCommand, Placement, PlacementEnd, PlacementEndReason,
        PlacementKind,
    },
    values::{CountyCode, PersonName, Residence, ResidentId},
};
use leye_store::{
    AppendResult, ChainedEvent, EventData, EventStore, ExpectedRevision, Position, RecordedEvent, StoreError,
    StreamName, Subscription, headfile,
    sqlite::{SqliteStore, SqliteStoreOptions},
};
use uuid::Uuid;

/// The store as one server sees it: every stream read counted.
#[derive(Clone)]
struct Counted {
    inner: SqliteStore,
    stream_reads: Arc<AtomicUsize>,
}

impl Counted {
    fn reads(&self) -> usize {
        self.stream_reads.load(Ordering::SeqCst)
    }
}

impl EventStore for Counted {
    fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send {
        self.inner.append(stream, expected, events)
    }

    fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        self.stream_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_stream(stream, from_revision)
    }

    fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        self.inner.read_all(after, max)
    }

    fn read_chain(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<ChainedEvent>, StoreError>> + Send {
        self.inner.read_chain(after, max)
    }

    fn sealed_head(&self) -> impl Future<Output = Result<Option<headfile::Link>, StoreError>> + Send {
        self.inner.sealed_head()
    }

    fn head(&self) -> impl Future<Output = Result<Option<Position>, StoreError>> + Send {
        self.inner.head()
    }

    fn subscribe_all(&self, after: Option<Position>) -> Subscription {
        self.inner.subscribe_all(after)
    }
}

struct Servers {
    /// This server's cases and its view of the store.
    here: PersonCases<Counted>,
    store: Counted,
    /// Another server on the same store.
    other: PersonCases<SqliteStore>,
    case: Uuid,
    _dir: tempfile::TempDir,
}

async fn servers() -> Servers {
    let dir = tempfile::tempdir().unwrap();
    let inner = SqliteStore::open(dir.path().join("events.sqlite"), SqliteStoreOptions::default()).await.unwrap();
    let ids = CaseIds::from_key([6; 32]);
    let store = Counted { inner: inner.clone(), stream_reads: Arc::new(AtomicUsize::new(0)) };
    let here = PersonCases::new(store.clone(), ids.clone(), Arc::new(chrono::Utc::now));
    let other = PersonCases::new(inner, ids, Arc::new(chrono::Utc::now));
    let case = register(&here).await;
    Servers { here, store, other, case, _dir: dir }
}

fn meta(expected_revision: Option<u64>) -> CommandMeta {
    CommandMeta {
        command_id: Uuid::new_v4(),
        correlation_id: Uuid::new_v4(),
        causation_id: Uuid::new_v4(),
        actor: "staff-0042".into(),
        office: "120111001".into(),
        expected_revision,
        access: Access::Service("leye-test"),
    }
}

fn dated<S: EventStore>(cases: &PersonCases<S>, command: PersonCommand) -> DatedCommand {
    DatedCommand { effective_date: cases.today(), command }
}

fn contact<S: EventStore>(cases: &PersonCases<S>, note: &str) -> DatedCommand {
    let contact =
        person::Contact { channel: ContactChannel::Phone, outcome: ContactOutcome::StillSeeking, note: note.into() };
    dated(cases, PersonCommand::RecordContact(contact))
}

async fn register(cases: &PersonCases<Counted>) -> Uuid {
    let first17 = "12011119800101001";
    let id = format!("{first17}{}", ResidentId::check_character(first17).unwrap());
    let id = ResidentId::parse(&id, cases.today()).unwrap();
    let registration = person::Registration {
        resident_id: id.clone().into(),
        name: Some(PersonName::parse("测试").unwrap()),
        hukou: person::Hukou { county: CountyCode::parse("120111").unwrap(), nature: person::HukouNature::Urban },
        residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
        education: person::Education::Bachelor,
        graduation: None,
        household: None,
        groups: Default::default(),
    };
    let register = DatedCommand {
        effective_date: cases.today().pred_opt().unwrap(),
        command: PersonCommand::RegisterUnemployment(registration),
    };
    cases.execute(Target::Person(id), meta(None), register).await.unwrap().case_id
}

/// The event types of the case's stream, in order.
async fn stream_types(s: &Servers) -> Vec<String> {
    let events = s.store.inner.read_stream(&person_stream(s.case), 0).await.unwrap();
    events.into_iter().map(|e| e.event_type).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_command_on_a_case_reads_no_stream_and_a_write_by_another_server_is_never_missed() {
    let s = servers().await;
    assert_eq!(s.store.reads(), 1, "the registration read its (empty) stream");
    for (i, note) in ["first", "second"].into_iter().enumerate() {
        let outcome = s.here.execute(Target::Case(s.case), meta(None), contact(&s.here, note)).await.unwrap();
        assert_eq!(outcome.revision, i as u64 + 1);
    }
    assert_eq!(s.store.reads(), 1, "two commands decided on the case as this server recorded it");

    // Another server records a contact: this server's memory is now behind.
    let theirs = s.other.execute(Target::Case(s.case), meta(None), contact(&s.other, "other")).await.unwrap();
    assert_eq!(theirs.revision, 3);
    let mine = s.here.execute(Target::Case(s.case), meta(None), contact(&s.here, "after")).await.unwrap();
    assert_eq!((mine.revision, mine.duplicate), (4, false), "appended after the other server's event");
    assert_eq!(s.store.reads(), 2, "the append at the remembered revision was refused; read once, then recorded");
    let events = s.store.inner.read_stream(&person_stream(s.case), 0).await.unwrap();
    assert_eq!(events.len(), 5, "nothing lost, nothing doubled");
    assert_eq!(events[3].event_id, theirs.event_ids[0]);
    assert_eq!(events[4].event_id, mine.event_ids[0]);

    // Without memory every command reads its stream.
    let forgetful = s.here.clone().with_memory(0);
    for _ in 0..2 {
        forgetful.execute(Target::Case(s.case), meta(None), contact(&forgetful, "again")).await.unwrap();
    }
    assert_eq!(s.store.reads(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_case_remembered_out_of_date_would_refuse_or_answer_is_decided_on_a_fresh_read() {
    let s = servers().await;
    let placement = Placement { kind: PlacementKind::Flexible, employer: None, contract_months: None };

    // A rejection: on the remembered case (never placed) ending a placement
    // would be refused; the other server placed the person meanwhile.
    s.other
        .execute(Target::Case(s.case), meta(None), dated(&s.other, PersonCommand::RecordPlacement(placement)))
        .await
        .unwrap();
    let end = dated(&s.here, PersonCommand::EndPlacement(PlacementEnd { reason: PlacementEndReason::Resigned }));
    let ended = s.here.execute(Target::Case(s.case), meta(None), end).await.unwrap();
    assert_eq!(ended.revision, 2, "decided on the placement the other server recorded");

    // A retry on this server of a command the other server recorded after
    // this server's last command: the original outcome, nothing written.
    let retried = meta(None);
    let first = s.other.execute(Target::Case(s.case), retried.clone(), contact(&s.other, "once")).await.unwrap();
    assert_eq!(first.revision, 3);
    let again = s.here.execute(Target::Case(s.case), retried.clone(), contact(&s.here, "once")).await.unwrap();
    assert_eq!((again.revision, again.event_ids.clone(), again.duplicate), (3, first.event_ids.clone(), true));
    // The same command id for another command: refused, as on a fresh read.
    let reused = s.here.execute(Target::Case(s.case), retried, contact(&s.here, "another note")).await.unwrap_err();
    assert!(matches!(reused, AppError::CommandIdReused), "{reused:?}");

    // A pinned revision the other server's write made current: accepted,
    // although this server remembers the case one revision earlier.
    s.here.execute(Target::Case(s.case), meta(None), contact(&s.here, "mine")).await.unwrap();
    let theirs = s.other.execute(Target::Case(s.case), meta(None), contact(&s.other, "theirs")).await.unwrap();
    assert_eq!(theirs.revision, 5);
    let pinned = s.here.execute(Target::Case(s.case), meta(Some(5)), contact(&s.here, "pinned")).await.unwrap();
    assert_eq!(pinned.revision, 6);
    // And a pinned revision that is out of date is a conflict naming the current one.
    let stale = s.here.execute(Target::Case(s.case), meta(Some(5)), contact(&s.here, "stale")).await.unwrap_err();
    assert!(matches!(stale, AppError::Conflict { current: Some(6) }), "{stale:?}");

    assert_eq!(
        stream_types(&s).await,
        [
            "person.registered",
            "person.placed",
            "person.placement_ended",
            "person.contacted",
            "person.contacted",
            "person.contacted",
            "person.contacted"
        ]
    );
}
