//! Commands racing another writer of the same store (another server on a
//! shared store), and the cases a server remembers as it last decided them.
//!
//! - Unpinned commands that lost are decided again on the latest revision,
//!   with a short random pause, for as long as the retry budget allows; a
//!   pinned `expected_revision` that lost is answered at once.
//! - A remembered case (`cases/memory.rs`) spares the next command its
//!   stream read, and what another server wrote meanwhile is never missed:
//!   anything but an accepted append is decided again on a fresh read.
//!   A registration is decided the same way on a case assumed new.
//!
//! The other server is simulated in process: a second `PersonCases` (its
//! own turns and memory, as another process has) over the same real SQLite
//! file, and a store wrapper that, before some appends, records a command
//! through it first (the append then meets a real `WrongExpectedRevision`)
//! and counts this server's stream reads.

use std::{
    future::Future,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use leye::{
    access::Access,
    cases::{AppError, CommandMeta, PersonCases, Target, person_case_id, person_stream},
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

/// A store shared with "another server" that gets in first on the next
/// `races` appends to a person case.
#[derive(Clone)]
struct Racing {
    inner: SqliteStore,
    other: Arc<OnceLock<PersonCases<SqliteStore>>>,
    races: Arc<AtomicU32>,
    /// When set, only this case's appends meet races.
    only: Arc<OnceLock<Uuid>>,
    /// This server's stream reads.
    stream_reads: Arc<AtomicUsize>,
}

impl Racing {
    fn other(&self) -> &PersonCases<SqliteStore> {
        self.other.get().expect("the other server is set up")
    }

    fn reads(&self) -> usize {
        self.stream_reads.load(Ordering::SeqCst)
    }

    /// The event types of `case`'s stream, in order.
    async fn stream_types(&self, case: Uuid) -> Vec<String> {
        let events = self.inner.read_stream(&person_stream(case), 0).await.unwrap();
        events.into_iter().map(|e| e.event_type).collect()
    }

    /// Another server's command on the case of `stream`, if a race is due.
    async fn get_in_first(&self, stream: &StreamName) {
        let Some(case) = person_case_id(stream) else { return };
        if self.only.get().is_some_and(|only| *only != case) {
            return;
        }
        if self.races.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return;
        }
        let other = self.other();
        other.execute(Target::Case(case), meta(None), contact(other, "the other server")).await.unwrap();
    }
}

impl EventStore for Racing {
    fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send {
        let (this, stream) = (self.clone(), stream.clone());
        async move {
            this.get_in_first(&stream).await;
            this.inner.append(&stream, expected, events).await
        }
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

fn resident_id(n: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let birth = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap() + chrono::Duration::days(i64::from(n % 9000));
    let first17 = format!("120111{}{:03}", birth.format("%Y%m%d"), n / 9000 % 1000);
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// This server's cases over the racing store, and one registered case.
async fn setup(dir: &std::path::Path) -> (PersonCases<Racing>, Racing, Uuid) {
    let inner = SqliteStore::open(dir.join("events.sqlite"), SqliteStoreOptions::default()).await.unwrap();
    let ids = CaseIds::from_key([5; 32]);
    let store = Racing {
        inner: inner.clone(),
        other: Arc::new(OnceLock::new()),
        races: Arc::new(AtomicU32::new(0)),
        only: Arc::new(OnceLock::new()),
        stream_reads: Arc::new(AtomicUsize::new(0)),
    };
    store.other.set(PersonCases::new(inner, ids.clone(), Arc::new(chrono::Utc::now))).unwrap();
    let cases = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now));
    let case = register(&cases, 77).await;
    (cases, store, case)
}

/// The registration of the person of `resident_id(n)`, and its target.
fn registration<S: EventStore>(cases: &PersonCases<S>, n: u32, education: person::Education) -> (Target, DatedCommand) {
    let id = ResidentId::parse(&resident_id(n), cases.today()).unwrap();
    let registration = person::Registration {
        resident_id: id.clone().into(),
        name: Some(PersonName::parse("测试").unwrap()),
        hukou: person::Hukou { county: CountyCode::parse("120111").unwrap(), nature: person::HukouNature::Urban },
        residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
        education,
        graduation: None,
        household: None,
        groups: Default::default(),
    };
    let register = DatedCommand {
        effective_date: cases.today().pred_opt().unwrap(),
        command: PersonCommand::RegisterUnemployment(registration),
    };
    (Target::Person(id), register)
}

/// Registers the person of `resident_id(n)` and returns the case id.
async fn register(cases: &PersonCases<Racing>, n: u32) -> Uuid {
    let (target, register) = registration(cases, n, person::Education::Bachelor);
    cases.execute(target, meta(None), register).await.unwrap().case_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpinned_command_losing_many_races_is_decided_on_the_latest_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, case) = setup(dir.path()).await;
    // More lost races in a row than the five attempts made before.
    store.races.store(12, Ordering::SeqCst);
    let started = Instant::now();
    let outcome = cases.execute(Target::Case(case), meta(None), contact(&cases, "this server")).await.unwrap();
    assert_eq!(store.races.load(Ordering::SeqCst), 0, "every race was run");
    // Registration at 0, the other server's twelve contacts, then this one.
    assert_eq!(outcome.revision, 13, "{outcome:?}");
    assert!(!outcome.duplicate);
    let stream = store.inner.read_stream(&person_stream(case), 0).await.unwrap();
    assert_eq!(stream.len(), 14);
    assert_eq!(stream.last().unwrap().event_id, *outcome.event_ids.last().unwrap());
    // Short pauses: well under a second for a dozen races.
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_command_that_lost_a_race_is_answered_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, case) = setup(dir.path()).await;
    store.races.store(1, Ordering::SeqCst);
    let started = Instant::now();
    let lost = cases.execute(Target::Case(case), meta(Some(0)), contact(&cases, "pinned")).await.unwrap_err();
    assert!(matches!(lost, AppError::Conflict { current: Some(1) }), "{lost:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let stream = store.inner.read_stream(&person_stream(case), 0).await.unwrap();
    assert_eq!(stream.len(), 2, "only the other server's contact was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_losing_every_race_gives_up_once_its_retry_budget_is_spent() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, case) = setup(dir.path()).await;
    let cases = cases.with_retry_for(Duration::from_millis(300));
    store.races.store(u32::MAX, Ordering::SeqCst);
    let started = Instant::now();
    let lost = cases.execute(Target::Case(case), meta(None), contact(&cases, "never first")).await.unwrap_err();
    let took = started.elapsed();
    let raced = u32::MAX - store.races.swap(0, Ordering::SeqCst);
    assert!(matches!(lost, AppError::Conflict { current: Some(r) } if u64::from(raced) == r), "{lost:?} after {raced}");
    assert!(raced >= 5, "at least five attempts: {raced}");
    assert!(took < Duration::from_secs(3), "the budget bounds the retries: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_losing_races_does_not_hold_up_the_cases_that_share_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, losing) = setup(dir.path()).await;
    // Another person whose case takes its turn on the same stripe.
    let ids = cases.case_ids().clone();
    let neighbour = (78..200_000)
        .find(|&n| {
            let id = ResidentId::parse(&resident_id(n), cases.today()).unwrap();
            leye::cases::turn_of(ids.person(&id)) == leye::cases::turn_of(losing)
        })
        .expect("a resident ID on the same stripe");
    let neighbour = register(&cases, neighbour).await;
    assert_ne!(neighbour, losing);

    // The losing case meets a race on every append for a whole second.
    store.only.set(losing).unwrap();
    store.races.store(u32::MAX, Ordering::SeqCst);
    let slow = cases.clone().with_retry_for(Duration::from_secs(1));
    let losing_command = tokio::spawn(async move {
        let lost = slow.execute(Target::Case(losing), meta(None), contact(&slow, "never first")).await;
        (lost, Instant::now())
    });
    while store.races.load(Ordering::SeqCst) == u32::MAX {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Its neighbour's command is answered while it is still losing.
    let outcome = cases.execute(Target::Case(neighbour), meta(None), contact(&cases, "the neighbour")).await.unwrap();
    let neighbour_done = Instant::now();
    assert_eq!(outcome.revision, 1, "{outcome:?}");
    let (lost, losing_done) = losing_command.await.unwrap();
    assert!(matches!(lost, Err(AppError::Conflict { .. })), "{lost:?}");
    assert!(
        neighbour_done < losing_done,
        "the neighbour waited {:?} past the losing case's last answer",
        neighbour_done - losing_done
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_command_on_a_case_reads_no_stream_and_a_write_by_another_server_is_never_missed() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, case) = setup(dir.path()).await;
    let other = store.other();
    assert_eq!(store.reads(), 0, "the registration was decided on a case assumed new");
    for (i, note) in ["first", "second"].into_iter().enumerate() {
        let outcome = cases.execute(Target::Case(case), meta(None), contact(&cases, note)).await.unwrap();
        assert_eq!(outcome.revision, i as u64 + 1);
    }
    assert_eq!(store.reads(), 0, "two commands decided on the case as this server recorded it");

    // Another server records a contact: this server's memory is now behind.
    let theirs = other.execute(Target::Case(case), meta(None), contact(other, "other")).await.unwrap();
    assert_eq!(theirs.revision, 3);
    let mine = cases.execute(Target::Case(case), meta(None), contact(&cases, "after")).await.unwrap();
    assert_eq!((mine.revision, mine.duplicate), (4, false), "appended after the other server's event");
    assert_eq!(store.reads(), 1, "the append at the remembered revision was refused; read once, then recorded");
    let events = store.inner.read_stream(&person_stream(case), 0).await.unwrap();
    assert_eq!(events.len(), 5, "nothing lost, nothing doubled");
    assert_eq!(events[3].event_id, theirs.event_ids[0]);
    assert_eq!(events[4].event_id, mine.event_ids[0]);

    // Without memory every command reads its stream.
    let forgetful = cases.clone().with_memory(0);
    for _ in 0..2 {
        forgetful.execute(Target::Case(case), meta(None), contact(&forgetful, "again")).await.unwrap();
    }
    assert_eq!(store.reads(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_case_remembered_out_of_date_would_refuse_or_answer_is_decided_on_a_fresh_read() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, case) = setup(dir.path()).await;
    let other = store.other();
    let placement = Placement { kind: PlacementKind::Flexible, employer: None, contract_months: None };

    // A rejection: on the remembered case (never placed) ending a placement
    // would be refused; the other server placed the person meanwhile.
    let placed = dated(other, PersonCommand::RecordPlacement(placement));
    other.execute(Target::Case(case), meta(None), placed).await.unwrap();
    let end = dated(&cases, PersonCommand::EndPlacement(PlacementEnd { reason: PlacementEndReason::Resigned }));
    let ended = cases.execute(Target::Case(case), meta(None), end).await.unwrap();
    assert_eq!(ended.revision, 2, "decided on the placement the other server recorded");

    // A retry on this server of a command the other server recorded after
    // this server's last command: the original outcome, nothing written.
    let retried = meta(None);
    let first = other.execute(Target::Case(case), retried.clone(), contact(other, "once")).await.unwrap();
    assert_eq!(first.revision, 3);
    let again = cases.execute(Target::Case(case), retried.clone(), contact(&cases, "once")).await.unwrap();
    assert_eq!((again.revision, again.event_ids.clone(), again.duplicate), (3, first.event_ids.clone(), true));
    // The same command id for another command: refused, as on a fresh read.
    let reused = cases.execute(Target::Case(case), retried, contact(&cases, "another note")).await.unwrap_err();
    assert!(matches!(reused, AppError::CommandIdReused), "{reused:?}");

    // A pinned revision the other server's write made current: accepted,
    // although this server remembers the case one revision earlier.
    cases.execute(Target::Case(case), meta(None), contact(&cases, "mine")).await.unwrap();
    let theirs = other.execute(Target::Case(case), meta(None), contact(other, "theirs")).await.unwrap();
    assert_eq!(theirs.revision, 5);
    let pinned = cases.execute(Target::Case(case), meta(Some(5)), contact(&cases, "pinned")).await.unwrap();
    assert_eq!(pinned.revision, 6);
    // And a pinned revision that is out of date is a conflict naming the current one.
    let stale = cases.execute(Target::Case(case), meta(Some(5)), contact(&cases, "stale")).await.unwrap_err();
    assert!(matches!(stale, AppError::Conflict { current: Some(6) }), "{stale:?}");

    assert_eq!(
        store.stream_types(case).await,
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

/// A registration is decided on a case assumed new, with no read; when the
/// case exists (another server registered the person), its append at "no
/// stream" is refused and it gets the answer a fresh read gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_reads_no_stream_and_one_of_a_case_that_exists_gets_a_fresh_reads_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, _) = setup(dir.path()).await;
    let other = store.other();
    assert_eq!(store.reads(), 0);

    // Registered by the other server: this server's registration is the
    // domain's refusal, as the other server's own second one is.
    let (target, register) = registration(&cases, 78, person::Education::Bachelor);
    let theirs = other.execute(target.clone(), meta(None), register.clone()).await.unwrap();
    let mine = cases.execute(target.clone(), meta(None), register.clone()).await.unwrap_err();
    let again = other.execute(target.clone(), meta(None), register).await.unwrap_err();
    assert_eq!((mine.code(), again.code()), ("ALREADY_REGISTERED", "ALREADY_REGISTERED"), "{mine:?} / {again:?}");
    assert_eq!(store.reads(), 1, "the refused append, then one read");
    assert_eq!(store.stream_types(theirs.case_id).await, ["person.registered"]);

    // Without memory a new person's registration still reads nothing.
    let forgetful = cases.clone().with_memory(0);
    let (target, register) = registration(&forgetful, 79, person::Education::Bachelor);
    let new = forgetful.execute(target, meta(None), register).await.unwrap();
    assert_eq!((new.revision, new.duplicate, store.reads()), (0, false, 1));
}

/// A command id the other server recorded, sent to this server (which
/// remembers the case from before, or assumes a registration's case new):
/// the same command gets the original outcome, another command under that
/// id is refused, as on a fresh read, though the store finds the events'
/// ids already written either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_id_the_other_server_recorded_is_recognised_or_refused_as_on_a_fresh_read() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, store, case) = setup(dir.path()).await;
    let other = store.other();

    // On a remembered case (this server recorded the registration only).
    let used = meta(None);
    let first = other.execute(Target::Case(case), used.clone(), contact(other, "once")).await.unwrap();
    let reused = cases.execute(Target::Case(case), used.clone(), contact(&cases, "something else")).await.unwrap_err();
    assert!(matches!(reused, AppError::CommandIdReused), "{reused:?}");
    let again = cases.execute(Target::Case(case), used, contact(&cases, "once")).await.unwrap();
    assert_eq!((again.revision, again.event_ids, again.duplicate), (first.revision, first.event_ids, true));

    // On a registration's case assumed new.
    let used = meta(None);
    let (target, register) = registration(&cases, 80, person::Education::Bachelor);
    let first = other.execute(target.clone(), used.clone(), register.clone()).await.unwrap();
    let (_, changed) = registration(&cases, 80, person::Education::Master);
    let reused = cases.execute(target.clone(), used.clone(), changed).await.unwrap_err();
    assert!(matches!(reused, AppError::CommandIdReused), "{reused:?}");
    let again = cases.execute(target, used, register).await.unwrap();
    assert_eq!((again.revision, again.event_ids, again.duplicate), (0, first.event_ids, true));
    assert_eq!(store.stream_types(first.case_id).await, ["person.registered"]);
    assert_eq!(store.stream_types(case).await, ["person.registered", "person.contacted"]);
}

/// A registration refused after its append on a case assumed new (the
/// person exists, here erased and still registered) had a fresh data key
/// sealed for it: the key is taken back, so the erased person has no live
/// key, also once the assignments pending in memory are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_registration_of_an_erased_person_leaves_no_live_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, _store, _) = setup(dir.path()).await;
    let keys = dir.path().join("keys.sqlite");
    let master = leye_vault::KeyFile::new(dir.path().join("master.key"));
    let vault = leye_vault::Vault::open(&keys, &master, leye_vault::Cipher::default()).unwrap();
    let personal = Arc::new(leye::personal::PersonalData::new(Arc::new(vault)));
    let cases = cases.with_personal_data(personal.clone());

    let (target, register) = registration(&cases, 81, person::Education::Bachelor);
    let case = cases.execute(target.clone(), meta(None), register.clone()).await.unwrap().case_id;
    let erasure = person::PersonalDataErasure { ground: person::ErasureGround::ConsentWithdrawn };
    let erase = dated(&cases, PersonCommand::ErasePersonalData(erasure));
    cases.execute(Target::Case(case), meta(None), erase).await.unwrap();

    let refused = cases.execute(target, meta(None), register).await.unwrap_err();
    assert_eq!(refused.code(), "ALREADY_REGISTERED", "{refused:?}");
    // The next batch of keys writes the assignments made since the last.
    personal.vault().refill_ahead().unwrap();
    let conn = rusqlite::Connection::open(&keys).unwrap();
    let live_keys_of = |subject: Uuid| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM data_key WHERE subject = ?1 AND destroyed_at IS NULL",
            [subject.to_string()],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(live_keys_of(case), 0, "the erased person has no live key");
    // A person registered now gets a key as before.
    let (target, register) = registration(&cases, 82, person::Education::Bachelor);
    let other = cases.execute(target, meta(None), register).await.unwrap().case_id;
    personal.vault().refill_ahead().unwrap();
    assert_eq!(live_keys_of(other), 1);
}
