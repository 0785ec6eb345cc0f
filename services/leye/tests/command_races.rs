//! Unpinned commands racing another writer of the same store (another server
//! on a shared store): the command path (`leye::cases`) decides them again on
//! the latest revision, with a short random pause, for as long as its retry
//! budget allows; a pinned `expected_revision` that lost is answered at once.
//!
//! The other server is simulated in process: a store wrapper that, before
//! some appends, records another command on the same case through a second
//! `PersonCases` (its own turns, as another process has), so the append meets
//! a real `WrongExpectedRevision` from the store.

use std::{
    future::Future,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use leye::{
    access::Access,
    cases::{AppError, CommandMeta, PersonCases, Target, person_case_id},
    identity::CaseIds,
};
use leye_domain::{
    person::{self, ContactChannel, ContactOutcome, DatedCommand, PersonCommand},
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
}

impl Racing {
    /// Another server's command on the case of `stream`, if a race is due.
    async fn get_in_first(&self, stream: &StreamName) {
        let Some(case) = person_case_id(stream) else { return };
        if self.only.get().is_some_and(|only| *only != case) {
            return;
        }
        if self.races.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return;
        }
        let other = self.other.get().expect("the other server is set up");
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

fn contact<S: EventStore>(cases: &PersonCases<S>, note: &str) -> DatedCommand {
    DatedCommand {
        effective_date: cases.today(),
        command: PersonCommand::RecordContact(person::Contact {
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::StillSeeking,
            note: note.into(),
        }),
    }
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
    };
    store.other.set(PersonCases::new(inner, ids.clone(), Arc::new(chrono::Utc::now))).unwrap();
    let cases = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now));
    let case = register(&cases, 77).await;
    (cases, store, case)
}

/// Registers the person of `resident_id(n)` and returns the case id.
async fn register(cases: &PersonCases<Racing>, n: u32) -> Uuid {
    let id = ResidentId::parse(&resident_id(n), cases.today()).unwrap();
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
    let stream = store.inner.read_stream(&leye::cases::person_stream(case), 0).await.unwrap();
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
    let stream = store.inner.read_stream(&leye::cases::person_stream(case), 0).await.unwrap();
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
