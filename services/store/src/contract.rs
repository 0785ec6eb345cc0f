//! The contract suite: what every [`EventStore`] adapter must do.
//!
//! An adapter's tests implement [`Harness`] and expand [`store_contract_tests!`]
//! with it, which makes one `#[tokio::test]` per case of this module:
//!
//! ```text
//! leye_store::store_contract_tests!(MyHarness::new());
//! ```
//!
//! Each case is also a plain `pub async fn` taking the harness, to be called by
//! hand. Cases panic (assert) on a broken contract.

use std::{collections::HashSet, future::Future, time::Duration};

use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{
    AppendResult, CurrentRevision, EventData, EventStore, ExpectedRevision, RecordedEvent, StoreError, StreamName,
    Subscription,
    chain::{BreakKind, ChainBreak, ChainKey, EventBytes, StoredSeal, Walker},
    headfile::{HeadState, Link},
};

/// Gives the suite stores to test.
pub trait Harness: Send + Sync + 'static {
    type Store: EventStore;
    /// A fresh, empty store.
    fn fresh(&self) -> impl Future<Output = Self::Store> + Send;
    /// Closes `store` and opens the same storage again (durability check).
    fn reopen(&self, store: Self::Store) -> impl Future<Output = Self::Store> + Send;
    /// The key `store` seals its chain with, read from where the adapter keeps it.
    fn chain_key(&self, store: &Self::Store) -> ChainKey;
}

/// Expands to one `#[tokio::test]` per contract case, in a module
/// `store_contract`, each running the case against a new `$harness` (an
/// expression evaluated once per test; items of the calling module are in scope).
/// The calling crate must depend on tokio.
#[macro_export]
macro_rules! store_contract_tests {
    (@cases $harness:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::contract::$case(&$harness).await;
            }
        )+
    };
    (@skippable $start:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(harness) = $start else { return };
                $crate::contract::$case(&harness).await;
            }
        )+
    };
    // A harness whose server may be missing: `$start` is an `Option` of one,
    // and a test given `None` returns (the harness has said why).
    (skippable $start:expr) => {
        $crate::store_contract_tests!(@each @skippable $start);
    };
    ($harness:expr) => {
        $crate::store_contract_tests!(@each @cases $harness);
    };
    (@each @$form:ident $arg:expr) => {
        mod store_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::store_contract_tests!(@$form $arg;
                append_and_read_back,
                expected_revision_conflicts,
                exact_revision_continues,
                idempotent_retry,
                empty_append,
                concurrent_appends,
                global_order_and_paging,
                subscription_misses_nothing,
                durable_across_reopen,
                recorded_at_never_decreases,
                read_stream_from_middle,
                chain_verifies,
                chain_continues_across_reopen,
                chain_needs_the_key,
            );
        }
    };
}

/// How long a case waits for an event it expects before failing.
const WAIT: Duration = Duration::from_secs(20);

fn stream(name: &str) -> StreamName {
    StreamName::parse(format!("{name}-{}", Uuid::new_v4().simple())).expect("a short name without whitespace is valid")
}

fn event(n: usize) -> EventData {
    EventData {
        event_id: Uuid::new_v4(),
        event_type: format!("test.event-{}", n % 3),
        data: format!(r#"{{"n":{n},"text":"héllo"}}"#).into_bytes(),
        metadata: format!(r#"{{"correlation":"{n}"}}"#).into_bytes(),
    }
}

fn events(n: usize) -> Vec<EventData> {
    (0..n).map(event).collect()
}

fn ids_of(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

async fn append_ok<S: EventStore>(
    store: &S,
    stream: &StreamName,
    expected: ExpectedRevision,
    events: Vec<EventData>,
) -> AppendResult {
    match store.append(stream, expected, events).await {
        Ok(result) => result,
        Err(e) => panic!("append to {stream} with {expected} failed: {e}"),
    }
}

async fn read_everything<S: EventStore>(store: &S) -> Vec<RecordedEvent> {
    store.read_all(None, usize::MAX).await.expect("read_all")
}

fn assert_same_events(written: &[EventData], read: &[RecordedEvent]) {
    assert_eq!(read.len(), written.len(), "number of events");
    for (w, r) in written.iter().zip(read) {
        assert_eq!(r.event_id, w.event_id);
        assert_eq!(r.event_type, w.event_type);
        assert_eq!(r.data, w.data);
        assert_eq!(r.metadata, w.metadata);
    }
}

fn assert_wrong_revision(
    result: Result<AppendResult, StoreError>,
    want_stream: &StreamName,
    want_expected: ExpectedRevision,
    want_current: CurrentRevision,
) {
    match result {
        Err(StoreError::WrongExpectedRevision { stream, expected, current }) => {
            assert_eq!(&stream, want_stream);
            assert_eq!(expected, want_expected);
            assert_eq!(current, want_current);
        }
        other => panic!("expected WrongExpectedRevision, got {other:?}"),
    }
}

async fn next_event(sub: &mut Subscription) -> RecordedEvent {
    match tokio::time::timeout(WAIT, sub.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("subscription failed: {e}"),
        Ok(None) => panic!("subscription ended early"),
        Err(_) => panic!("no event from the subscription within {WAIT:?}"),
    }
}

/// Case 1: Appending to a new stream with `NoStream`, then reading it back.
pub async fn append_and_read_back<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("order");
    let written = events(3);

    let result = append_ok(&store, &s, ExpectedRevision::NoStream, written.clone()).await;
    assert_eq!(result.next_expected_revision, 2);
    assert!(!result.already_written);

    let read = store.read_stream(&s, 0).await.expect("read_stream");
    assert_same_events(&written, &read);
    for (i, e) in read.iter().enumerate() {
        assert_eq!(e.stream, s);
        assert_eq!(e.revision, i as u64);
    }
    assert!(read.windows(2).all(|w| w[0].position < w[1].position), "positions increase");
    assert_eq!(result.position, read[2].position);
    assert_eq!(store.head().await.expect("head"), Some(result.position));
}

/// Case 2: Expected-revision conflicts are refused with the stream's current
/// revision, and write nothing; `Any` always succeeds.
pub async fn expected_revision_conflicts<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("case");
    let missing = stream("missing");
    append_ok(&store, &s, ExpectedRevision::NoStream, events(2)).await;
    let head = store.head().await.expect("head");
    let before = store.read_stream(&s, 0).await.expect("read_stream");

    let current = CurrentRevision::Current(1);
    let r = store.append(&s, ExpectedRevision::NoStream, events(1)).await;
    assert_wrong_revision(r, &s, ExpectedRevision::NoStream, current);
    for wrong in [0, 2, 7] {
        let r = store.append(&s, ExpectedRevision::Exact(wrong), events(1)).await;
        assert_wrong_revision(r, &s, ExpectedRevision::Exact(wrong), current);
    }
    let r = store.append(&missing, ExpectedRevision::StreamExists, events(1)).await;
    assert_wrong_revision(r, &missing, ExpectedRevision::StreamExists, CurrentRevision::NoStream);
    let r = store.append(&missing, ExpectedRevision::Exact(0), events(1)).await;
    assert_wrong_revision(r, &missing, ExpectedRevision::Exact(0), CurrentRevision::NoStream);

    assert_eq!(store.read_stream(&s, 0).await.expect("read_stream"), before);
    assert!(store.read_stream(&missing, 0).await.expect("read_stream").is_empty());
    assert_eq!(store.head().await.expect("head"), head);

    let r = append_ok(&store, &s, ExpectedRevision::Any, events(1)).await;
    assert_eq!(r.next_expected_revision, 2);
    let r = append_ok(&store, &missing, ExpectedRevision::Any, events(1)).await;
    assert_eq!(r.next_expected_revision, 0);
    let r = append_ok(&store, &s, ExpectedRevision::StreamExists, events(1)).await;
    assert_eq!(r.next_expected_revision, 3);
}

/// Case 3: `Exact` with the right revision appends; revisions continue without gaps.
pub async fn exact_revision_continues<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("person");
    let mut written = events(1);
    let mut r = append_ok(&store, &s, ExpectedRevision::NoStream, written.clone()).await;
    for n in 1..=4 {
        let more = events(n);
        let next = append_ok(&store, &s, ExpectedRevision::Exact(r.next_expected_revision), more.clone()).await;
        assert_eq!(next.next_expected_revision, r.next_expected_revision + n as u64);
        assert!(next.position > r.position);
        written.extend(more);
        r = next;
    }
    let read = store.read_stream(&s, 0).await.expect("read_stream");
    assert_same_events(&written, &read);
    let revisions: Vec<u64> = read.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, (0..written.len() as u64).collect::<Vec<_>>());
}

/// Case 4: Appending the same event ids again is an idempotent success returning
/// the original result, whatever the expected revision; an event id reused
/// anywhere else is a duplicate.
pub async fn idempotent_retry<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("retry");
    let first = events(2);
    let second = events(3);
    let r1 = append_ok(&store, &s, ExpectedRevision::NoStream, first.clone()).await;
    let r2 = append_ok(&store, &s, ExpectedRevision::Exact(1), second.clone()).await;
    let log = read_everything(&store).await;

    for (batch, original, expected) in [
        (&first, r1, ExpectedRevision::NoStream),
        (&first, r1, ExpectedRevision::Exact(0)),
        (&second, r2, ExpectedRevision::Exact(1)),
        (&second, r2, ExpectedRevision::Any),
    ] {
        let retry = append_ok(&store, &s, expected, batch.clone()).await;
        assert!(retry.already_written, "a retry reports already_written");
        assert_eq!(retry.next_expected_revision, original.next_expected_revision);
        assert_eq!(retry.position, original.position);
    }
    assert_eq!(read_everything(&store).await, log, "a retry writes nothing");

    let other = stream("other");
    let dup = |id: Uuid, r: Result<AppendResult, StoreError>| match r {
        Err(StoreError::DuplicateEventId { event_id }) => assert_eq!(event_id, id),
        other => panic!("expected DuplicateEventId, got {other:?}"),
    };
    // The same first id in another stream.
    dup(first[0].event_id, store.append(&other, ExpectedRevision::Any, vec![first[0].clone()]).await);
    // A later id that exists.
    let mut later = events(1);
    later.push(second[1].clone());
    dup(second[1].event_id, store.append(&other, ExpectedRevision::Any, later).await);
    // The same stream, but not the same events from there.
    let mut partial = first.clone();
    partial.push(event(9));
    dup(first[0].event_id, store.append(&s, ExpectedRevision::Any, partial).await);
    let reordered = vec![first[1].clone(), first[0].clone()];
    dup(first[1].event_id, store.append(&s, ExpectedRevision::Any, reordered).await);
    // An id twice in one append.
    let e = event(0);
    dup(e.event_id, store.append(&other, ExpectedRevision::Any, vec![e.clone(), e]).await);

    assert_eq!(read_everything(&store).await, log, "refused appends write nothing");
}

/// Case 5: An append without events is refused.
pub async fn empty_append<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("empty");
    for expected in [ExpectedRevision::Any, ExpectedRevision::NoStream] {
        let r = store.append(&s, expected, Vec::new()).await;
        assert!(matches!(r, Err(StoreError::EmptyAppend)), "got {r:?}");
    }
    assert_eq!(store.head().await.expect("head"), None);
}

/// Case 6: Concurrent appends: on one stream from the same revision exactly one
/// wins; on distinct streams all succeed.
pub async fn concurrent_appends<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("contended");
    let r = append_ok(&store, &s, ExpectedRevision::NoStream, events(1)).await;

    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let (store, s) = (store.clone(), s.clone());
        let expected = ExpectedRevision::Exact(r.next_expected_revision);
        tasks.spawn(async move { store.append(&s, expected, events(2)).await });
    }
    let (mut won, mut lost) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            Ok(_) => won += 1,
            Err(StoreError::WrongExpectedRevision { current, .. }) => {
                assert_eq!(current, CurrentRevision::Current(2));
                lost += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((won, lost), (1, 49));
    assert_eq!(store.read_stream(&s, 0).await.expect("read_stream").len(), 3);

    let mut tasks = JoinSet::new();
    for i in 0..100 {
        let store = store.clone();
        tasks.spawn(async move {
            let s = stream(&format!("parallel{i}"));
            let written = events(1 + i % 3);
            let r = store.append(&s, ExpectedRevision::NoStream, written.clone()).await;
            (s, written, r)
        });
    }
    let mut total = 3;
    while let Some(joined) = tasks.join_next().await {
        let (s, written, r) = joined.expect("task");
        let r = r.expect("appends to distinct streams all succeed");
        assert_eq!(r.next_expected_revision, written.len() as u64 - 1);
        let read = store.read_stream(&s, 0).await.expect("read_stream");
        assert_same_events(&written, &read);
        assert_eq!(read.last().map(|e| e.position), Some(r.position));
        total += written.len();
    }
    let log = read_everything(&store).await;
    assert_eq!(log.len(), total);
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));
}

/// Case 7: The global log holds every event once, in strictly increasing position,
/// and pages correctly.
pub async fn global_order_and_paging<H: Harness>(h: &H) {
    let store = h.fresh().await;
    assert!(store.read_all(None, 10).await.expect("read_all").is_empty());
    assert_eq!(store.head().await.expect("head"), None);

    let streams = [stream("a"), stream("b"), stream("c")];
    let mut written = Vec::new();
    for round in 0..7 {
        for (i, s) in streams.iter().enumerate() {
            let batch = events(1 + (round + i) % 3);
            written.extend(batch.iter().map(|e| e.event_id));
            append_ok(&store, s, ExpectedRevision::Any, batch).await;
        }
    }

    let log = read_everything(&store).await;
    assert_eq!(ids_of(&log), written, "the log is in append order");
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(store.head().await.expect("head"), log.last().map(|e| e.position));

    for page_size in [1, 4, 5, log.len(), log.len() + 1] {
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = store.read_all(after, page_size).await.expect("read_all");
            assert!(page.len() <= page_size);
            let Some(last) = page.last() else { break };
            after = Some(last.position);
            paged.extend(page);
        }
        assert_eq!(paged, log, "paging by {page_size}");
    }
    let middle = log[log.len() / 2].position;
    let rest = store.read_all(Some(middle), usize::MAX).await.expect("read_all");
    assert_eq!(rest, log[log.len() / 2 + 1..]);
    let head = log.last().map(|e| e.position);
    assert!(store.read_all(head, 10).await.expect("read_all").is_empty());
    assert!(store.read_all(None, 0).await.expect("read_all").is_empty());
}

/// Case 8: A catch-up subscription delivers exactly the log, in order, while
/// appends go on.
pub async fn subscription_misses_nothing<H: Harness>(h: &H) {
    const BEFORE: usize = 700;
    const DURING: usize = 300;
    let store = h.fresh().await;
    let streams = [stream("x"), stream("y"), stream("z")];
    for chunk in 0..BEFORE / 10 {
        append_ok(&store, &streams[chunk % 3], ExpectedRevision::Any, events(10)).await;
    }
    let prefix = read_everything(&store).await;
    let middle = prefix[BEFORE / 2].position;

    let mut from_start = store.subscribe_all(None);
    let mut from_middle = store.subscribe_all(Some(middle));
    let writer = tokio::spawn({
        let (store, streams) = (store.clone(), streams.clone());
        async move {
            let mut tasks = JoinSet::new();
            for (i, s) in streams.into_iter().enumerate() {
                let store = store.clone();
                tasks.spawn(async move {
                    for n in (i..DURING).step_by(3) {
                        append_ok(&store, &s, ExpectedRevision::Any, vec![event(n)]).await;
                        if n % 20 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                });
            }
            while let Some(joined) = tasks.join_next().await {
                joined.expect("append task");
            }
        }
    });

    let mut got = Vec::new();
    for _ in 0..BEFORE + DURING {
        got.push(next_event(&mut from_start).await);
    }
    writer.await.expect("writer task");
    let log = read_everything(&store).await;
    assert_eq!(log.len(), BEFORE + DURING);
    assert_eq!(ids_of(&got), ids_of(&log), "from the start: the whole log in order");
    assert_eq!(got, log);

    let tail: Vec<_> = log.iter().filter(|e| e.position > middle).cloned().collect();
    let mut got = Vec::new();
    for _ in 0..tail.len() {
        got.push(next_event(&mut from_middle).await);
    }
    assert_eq!(ids_of(&got), ids_of(&tail), "from the middle: the rest of the log in order");

    let unique: HashSet<Uuid> = got.iter().map(|e| e.event_id).collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    for sub in [&mut from_start, &mut from_middle] {
        let extra = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
        assert!(extra.is_err(), "nothing more than the log: {extra:?}");
    }

    // Still live after catching up.
    let late = append_ok(&store, &streams[0], ExpectedRevision::Any, events(1)).await;
    assert_eq!(next_event(&mut from_start).await.position, late.position);
    assert_eq!(next_event(&mut from_middle).await.position, late.position);
}

/// Case 9: What was appended survives closing and reopening, and appends continue
/// where they left off.
pub async fn durable_across_reopen<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let (a, b) = (stream("a"), stream("b"));
    append_ok(&store, &a, ExpectedRevision::NoStream, events(3)).await;
    let rb = append_ok(&store, &b, ExpectedRevision::NoStream, events(2)).await;
    let ra = append_ok(&store, &a, ExpectedRevision::Exact(2), events(1)).await;
    let before = read_everything(&store).await;
    let head = store.head().await.expect("head");
    assert_eq!(head, Some(ra.position));

    let store = h.reopen(store).await;
    assert_eq!(read_everything(&store).await, before, "identical after reopening");
    assert_eq!(store.head().await.expect("head"), head);

    let more = append_ok(&store, &a, ExpectedRevision::Exact(ra.next_expected_revision), events(2)).await;
    assert_eq!(more.next_expected_revision, 5);
    let more_b = append_ok(&store, &b, ExpectedRevision::Exact(rb.next_expected_revision), events(1)).await;
    assert_eq!(more_b.next_expected_revision, 2);
    let after = read_everything(&store).await;
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(after.len(), before.len() + 3);
    let head = head.expect("the store has events");
    assert!(after[before.len()..].iter().all(|e| e.position > head), "positions continue");
    let stale = store.append(&a, ExpectedRevision::Exact(ra.next_expected_revision), events(1)).await;
    assert!(matches!(stale, Err(StoreError::WrongExpectedRevision { .. })), "got {stale:?}");
}

/// Case 10: `recorded_at` never decreases along the log, and is about now.
pub async fn recorded_at_never_decreases<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let started = chrono::Utc::now();
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.spawn(async move {
            let s = stream(&format!("t{i}"));
            for round in 0..5 {
                append_ok(&store, &s, ExpectedRevision::Any, events(1 + round % 2)).await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task");
    }
    let log = read_everything(&store).await;
    assert!(log.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    let slack = chrono::Duration::minutes(5);
    let now = chrono::Utc::now();
    for e in &log {
        assert!(e.recorded_at >= started - slack && e.recorded_at <= now + slack);
    }
}

/// Case 11: Reading a stream from a middle revision, and reading a missing stream.
pub async fn read_stream_from_middle<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("long");
    let other = stream("other");
    let written = events(6);
    append_ok(&store, &s, ExpectedRevision::NoStream, written[..2].to_vec()).await;
    append_ok(&store, &other, ExpectedRevision::NoStream, events(2)).await;
    append_ok(&store, &s, ExpectedRevision::Exact(1), written[2..].to_vec()).await;

    let from3 = store.read_stream(&s, 3).await.expect("read_stream");
    assert_same_events(&written[3..], &from3);
    assert_eq!(from3.iter().map(|e| e.revision).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(from3.iter().all(|e| e.stream == s));
    assert!(store.read_stream(&s, 6).await.expect("read_stream").is_empty());
    assert!(store.read_stream(&s, u64::MAX).await.expect("read_stream").is_empty());
    assert!(store.read_stream(&stream("missing"), 0).await.expect("read_stream").is_empty());
}

/// Walks the store's whole chain with `key`, page by page, and compares the
/// end with the sealed head (waiting for it to catch up with the log).
async fn walk_chain<S: EventStore>(store: &S, key: &ChainKey, page: usize) -> Result<Link, ChainBreak> {
    let log = read_everything(store).await;
    let last = log.last().map(|e| e.position.commit).unwrap_or(0);
    let deadline = tokio::time::Instant::now() + WAIT;
    let head = loop {
        let head = store.sealed_head().await.expect("sealed_head");
        if head.map_or(0, |h| h.seq) >= last || tokio::time::Instant::now() > deadline {
            break head;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let mut walker = Walker::new(key, head.map(|h| h.seq));
    let mut after = None;
    let mut chained = Vec::new();
    loop {
        let batch = store.read_chain(after, page).await.expect("read_chain");
        let Some(last) = batch.last() else { break };
        after = Some(last.event.position);
        for c in &batch {
            walker.step(&EventBytes::from(&c.event), &StoredSeal::from(&c.seal))?;
        }
        chained.extend(batch.into_iter().map(|c| c.event));
    }
    assert_eq!(chained, log, "read_chain returns the log");
    walker.finish(head.map_or(HeadState::Missing, HeadState::Valid))?;
    assert_eq!(head.map_or(0, |h| h.seq), last, "the sealed head reaches the last event");
    Ok(walker.last())
}

/// Case 12: Every event is sealed: the chain over the global log verifies with
/// the store's key, through concurrent appends, refused appends and retries,
/// and the sealed head names the last event.
pub async fn chain_verifies<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let key = h.chain_key(&store);
    assert_eq!(walk_chain(&store, &key, 7).await, Ok(Link { seq: 0, hash: crate::chain::GENESIS }));
    let contended = stream("contended");
    append_ok(&store, &contended, ExpectedRevision::NoStream, events(2)).await;
    let mut tasks = JoinSet::new();
    for i in 0..40 {
        let (store, contended) = (store.clone(), contended.clone());
        tasks.spawn(async move {
            // Half of these lose their race and are rolled back inside a batch.
            let _ = store.append(&contended, ExpectedRevision::Exact(1), events(1)).await;
            let s = stream(&format!("chain{i}"));
            let batch = events(1 + i % 3);
            append_ok(&store, &s, ExpectedRevision::NoStream, batch.clone()).await;
            let retry = append_ok(&store, &s, ExpectedRevision::NoStream, batch).await;
            assert!(retry.already_written);
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task");
    }
    let end = walk_chain(&store, &key, 13).await.expect("the chain verifies");
    assert_eq!(Some(end.seq), store.head().await.expect("head").map(|p| p.commit));
}

/// Case 13: After reopening, appends continue the same chain.
pub async fn chain_continues_across_reopen<H: Harness>(h: &H) {
    let store = h.fresh().await;
    let s = stream("reopen");
    append_ok(&store, &s, ExpectedRevision::NoStream, events(3)).await;
    let store = h.reopen(store).await;
    append_ok(&store, &s, ExpectedRevision::Exact(2), events(2)).await;
    let key = h.chain_key(&store);
    let end = walk_chain(&store, &key, 2).await.expect("the chain verifies across the reopen");
    assert_eq!(end.seq, store.head().await.expect("head").expect("events").commit);
}

/// Case 14: The seal is keyed: the same log does not verify under another key.
pub async fn chain_needs_the_key<H: Harness>(h: &H) {
    let store = h.fresh().await;
    append_ok(&store, &stream("keyed"), ExpectedRevision::NoStream, events(2)).await;
    let right = h.chain_key(&store);
    let wrong = ChainKey::new(right.algorithm(), crate::keyfile::SecretKey::from_bytes([0x5a; 32]));
    let first = store.read_chain(None, 1).await.expect("read_chain");
    let mut walker = Walker::new(&wrong, None);
    let broken = walker.step(&EventBytes::from(&first[0].event), &StoredSeal::from(&first[0].seal));
    assert!(matches!(broken, Err(ChainBreak { kind: BreakKind::Forged, .. })), "got {broken:?}");
}
