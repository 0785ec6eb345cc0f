//! One reader of the log's tail per store, shared by the store's subscriptions.
//!
//! A server follows the log several times over: its projector, and on the
//! leader the publisher, the hire linker and the policy finder, each with its
//! own checkpoint. Each used to read every new page itself, after every group
//! commit: on PostgreSQL one query per follower per commit per server. The
//! tail reads the new pages once. It follows the log from the head it found
//! at its start, with [`follow_log`] (so it misses nothing and repeats
//! nothing), and keeps the last events it read: a contiguous stretch of the
//! log, at most `kept` events long.
//!
//! A subscription asks the tail first. If its position is the start of the
//! stretch or one of its events, its page is cut from memory; otherwise
//! (further behind, catching up on older history, or ahead of the tail) it
//! reads the store itself, as every subscription did before. A subscription
//! caught up with the tail waits for the tail's signal, given after every
//! page the tail kept and when the tail found its head, instead of the
//! store's commit signal: it reads no sooner than the tail, and no later.
//!
//! The tail starts with the first subscription, stops when no subscription
//! is left or [`RESTART_PAUSE`] after a failed read, and is started again by
//! the next subscription's read (its subscriptions read the store
//! meanwhile). When the store closes, the tail delivers what
//! was committed and drops its signal, which ends caught-up subscriptions as
//! the store's own signal did. [`Tail::following`] tells the adapter whether
//! a tail runs: PostgreSQL's holds its `LISTEN` session only then.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use futures::future::BoxFuture;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    Position, RecordedEvent, StoreError,
    follow::{COALESCE, SUBSCRIPTION_PAGE, follow_log},
};

/// Reads up to [`SUBSCRIPTION_PAGE`] events after a position from the store.
pub(crate) type ReadPage =
    Arc<dyn Fn(Option<Position>) -> BoxFuture<'static, Result<Vec<RecordedEvent>, StoreError>> + Send + Sync>;

/// The store's last position (`None`: the log is empty).
pub(crate) type ReadHead = Arc<dyn Fn() -> BoxFuture<'static, Result<Option<Position>, StoreError>> + Send + Sync>;

/// Events a tail keeps: eight pages, a few MiB. The live projector takes
/// events from its subscription while it waits out its pace (gathering its
/// batch in its own memory), so a subscription keeping up needs only the
/// pages read between two of its reads; a slower one reads the store itself.
pub(crate) const KEPT: usize = 8 * SUBSCRIPTION_PAGE;

/// How long a tail whose read failed waits before it stops (and may be
/// started again by the next subscription's read).
const RESTART_PAUSE: Duration = Duration::from_millis(100);

/// The shared reader of a store's tail; cloning shares it.
pub(crate) struct Tail<W> {
    inner: Arc<Inner<W>>,
}

impl<W> Clone for Tail<W> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

struct Inner<W> {
    read_page: ReadPage,
    read_head: ReadHead,
    /// The store's commit signal; its sender dropped when the store closes.
    wake: watch::Receiver<W>,
    poll_interval: Duration,
    kept: usize,
    state: Mutex<State>,
    /// `true` while a tail runs (something follows the log here); set
    /// under `state`'s lock.
    following: watch::Sender<bool>,
}

struct State {
    /// The stretch of the log the running tail has read; `None` while no
    /// tail runs, or before it found the head.
    stretch: Option<Stretch>,
    /// Bumped when a tail has found its head, after every page it kept and
    /// when it stops; `None` once the store closed and the tail delivered
    /// all it committed.
    signal: Option<watch::Sender<u64>>,
}

impl State {
    /// Bumps `signal`: every caught-up subscription reads its next page.
    fn wake_subscriptions(&self) {
        if let Some(signal) = &self.signal {
            signal.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// The events after `base`, in log order, none left out.
struct Stretch {
    base: Option<Position>,
    events: VecDeque<RecordedEvent>,
}

impl Stretch {
    /// The page after `after`, if `after` is the base or within the stretch
    /// (empty when `after` is its last event: caught up with the tail).
    fn page_after(&self, after: Option<Position>, max: usize) -> Option<Vec<RecordedEvent>> {
        let from = if after == self.base {
            0
        } else {
            let after = after?;
            self.events.binary_search_by(|e| e.position.cmp(&after)).ok()? + 1
        };
        Some(self.events.iter().skip(from).take(max).cloned().collect())
    }
}

impl<W: Send + Sync + 'static> Tail<W> {
    pub(crate) fn new(
        read_page: ReadPage,
        read_head: ReadHead,
        wake: watch::Receiver<W>,
        poll_interval: Duration,
        kept: usize,
    ) -> Self {
        let state = State { stretch: None, signal: Some(watch::channel(0).0) };
        let following = watch::channel(false).0;
        Self {
            inner: Arc::new(Inner {
                read_page,
                read_head,
                wake,
                poll_interval,
                kept,
                state: Mutex::new(state),
                following,
            }),
        }
    }

    /// Whether a tail runs, i.e. some subscription follows the log here (it
    /// stops once none is left, after the next page): `false` from the start
    /// until the first subscription.
    pub(crate) fn following(&self) -> watch::Receiver<bool> {
        self.inner.following.subscribe()
    }

    /// Follows the log after `after` into `tx` (the adapters'
    /// `subscribe_all`); must be called inside a tokio runtime.
    pub(crate) fn subscribe(&self, after: Option<Position>, tx: mpsc::Sender<Result<RecordedEvent, StoreError>>) {
        let signal = {
            let mut state = self.state();
            let signal = state.signal.as_ref().map(watch::Sender::subscribe);
            if signal.is_some() {
                self.start(&mut state);
            }
            signal
        };
        let poll = self.inner.poll_interval;
        match signal {
            Some(signal) => {
                let tail = self.clone();
                let read_page = move |after| {
                    let tail = tail.clone();
                    async move { tail.page(after).await }
                };
                tokio::spawn(follow_log(read_page, signal, poll, Duration::ZERO, after, tx));
            }
            // The store has closed: deliver what is left from the store itself.
            None => {
                self.follow_store(after, tx);
            }
        }
    }

    /// Follows the store itself after `after` into `tx`, on its commit signal.
    fn follow_store(
        &self,
        after: Option<Position>,
        tx: mpsc::Sender<Result<RecordedEvent, StoreError>>,
    ) -> JoinHandle<()> {
        let read = Arc::clone(&self.inner.read_page);
        tokio::spawn(follow_log(
            move |after| read(after),
            self.inner.wake.clone(),
            self.inner.poll_interval,
            COALESCE,
            after,
            tx,
        ))
    }

    /// The page after `after`: from the tail when it holds that position,
    /// otherwise from the store.
    async fn page(&self, after: Option<Position>) -> Result<Vec<RecordedEvent>, StoreError> {
        {
            let mut state = self.state();
            if let Some(page) = state.stretch.as_ref().and_then(|s| s.page_after(after, SUBSCRIPTION_PAGE)) {
                return Ok(page);
            }
            if state.signal.is_some() {
                self.start(&mut state); // after a failed read, or stopped for want of subscribers
            }
        }
        (self.inner.read_page)(after).await
    }

    /// Starts a tail unless one runs; `_locked`: the caller holds the state's
    /// lock, under which [`Self::stop`] clears `following`.
    fn start(&self, _locked: &mut State) {
        if self.inner.following.send_if_modified(|f| !std::mem::replace(f, true)) {
            tokio::spawn(self.clone().run());
        }
    }

    /// The tail itself: finds the head, follows the log from there and keeps
    /// what it reads, until the store closes, a read fails, or nobody
    /// subscribes any more.
    async fn run(self) {
        let head = match (self.inner.read_head)().await {
            Ok(head) => head,
            Err(e) => return self.failed(e).await,
        };
        {
            let mut state = self.state();
            state.stretch = Some(Stretch { base: head, events: VecDeque::new() });
            // A subscription that read the store before `head` was read may
            // wait, caught up, for a commit that is now behind the base and
            // will never come from the tail: woken, it reads that from the
            // store (its position is not in the stretch).
            state.wake_subscriptions();
        }
        let (tx, mut rx) = mpsc::channel(SUBSCRIPTION_PAGE);
        let follower = self.follow_store(head, tx);
        let mut received = Vec::with_capacity(SUBSCRIPTION_PAGE);
        let (failure, closed) = loop {
            received.clear();
            if rx.recv_many(&mut received, SUBSCRIPTION_PAGE).await == 0 {
                break (None, true); // the store closed and everything committed was read
            }
            let mut state = self.state();
            let Some(stretch) = state.stretch.as_mut() else { break (None, false) };
            let mut failure = None;
            for item in received.drain(..) {
                match item {
                    Ok(event) => stretch.events.push_back(event),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            while stretch.events.len() > self.inner.kept {
                stretch.base = stretch.events.pop_front().map(|e| e.position);
            }
            let Some(signal) = state.signal.as_ref() else { break (failure, true) };
            if signal.receiver_count() == 0 {
                break (failure, false);
            }
            // What was read before a failure is served during the pause too.
            state.wake_subscriptions();
            if failure.is_some() {
                break (failure, false);
            }
        };
        follower.abort();
        match failure {
            Some(e) => self.failed(e).await,
            None => self.stop(closed),
        }
    }

    /// After a failed read: waits [`RESTART_PAUSE`] before stopping, so that
    /// a store that keeps failing is not asked again at every signal.
    async fn failed(&self, e: StoreError) {
        tracing::debug!(error = %e, "the shared reader of the log's tail stopped; subscriptions read the store");
        tokio::time::sleep(RESTART_PAUSE).await;
        self.stop(false);
    }

    /// Forgets the stretch; wakes the subscriptions, which then read the
    /// store (and start a tail again), or ends them when the store closed.
    fn stop(&self, closed: bool) {
        let mut state = self.state();
        state.stretch = None;
        self.inner.following.send_replace(false);
        if closed {
            state.signal = None;
        } else {
            state.wake_subscriptions();
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::StreamName;

    /// An in-memory log that counts the reads made of it and can be told to fail.
    #[derive(Clone, Default)]
    struct Log {
        events: Arc<Mutex<Vec<RecordedEvent>>>,
        reads: Arc<AtomicUsize>,
        failing: Arc<AtomicBool>,
        head_reads: Arc<AtomicUsize>,
        head_failing: Arc<AtomicBool>,
        /// While set, a head read waits (a slow first query).
        head_held: Arc<AtomicBool>,
    }

    impl Log {
        fn append(&self, n: u64) {
            let mut events = self.events.lock().unwrap();
            let next = events.len() as u64 + 1;
            events.extend((next..next + n).map(|seq| RecordedEvent {
                stream: StreamName::parse("person-test").unwrap(),
                revision: seq - 1,
                position: Position::from_sequence(seq),
                event_id: uuid::Uuid::from_u128(u128::from(seq)),
                event_type: "person.contacted".into(),
                data: seq.to_le_bytes().to_vec(),
                metadata: b"{}".to_vec(),
                recorded_at: chrono::DateTime::UNIX_EPOCH,
            }));
        }

        fn tail(&self, wake: watch::Receiver<u64>, kept: usize) -> Tail<u64> {
            let log = self.clone();
            let read_page: ReadPage = Arc::new(move |after: Option<Position>| {
                let log = log.clone();
                Box::pin(async move {
                    log.reads.fetch_add(1, Ordering::SeqCst);
                    if log.failing.load(Ordering::SeqCst) {
                        return Err(StoreError::Backend("the store is unreachable".into()));
                    }
                    let from = after.map_or(0, |p| p.commit);
                    let events = log.events.lock().unwrap();
                    Ok(events.iter().filter(|e| e.position.commit > from).take(SUBSCRIPTION_PAGE).cloned().collect())
                })
            });
            let log = self.clone();
            let read_head: ReadHead = Arc::new(move || {
                log.head_reads.fetch_add(1, Ordering::SeqCst);
                let log = log.clone();
                Box::pin(async move {
                    while log.head_held.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let head = log.events.lock().unwrap().last().map(|e| e.position);
                    if log.head_failing.load(Ordering::SeqCst) {
                        return Err(StoreError::Backend("the head cannot be read".into()));
                    }
                    Ok(head)
                })
            });
            Tail::new(read_page, read_head, wake, Duration::from_secs(60), kept)
        }
    }

    impl Tail<u64> {
        fn running(&self) -> bool {
            *self.inner.following.borrow()
        }
    }

    /// A log of `events` events, its commit signal, and a tail over it
    /// keeping `kept` events.
    fn log_with_tail(events: u64, kept: usize) -> (Log, watch::Sender<u64>, Tail<u64>) {
        let log = Log::default();
        log.append(events);
        let (wake, wake_rx) = watch::channel(0u64);
        let tail = log.tail(wake_rx, kept);
        (log, wake, tail)
    }

    fn subscribe(tail: &Tail<u64>, after: u64) -> mpsc::Receiver<Result<RecordedEvent, StoreError>> {
        let (tx, rx) = mpsc::channel(8192);
        tail.subscribe((after > 0).then(|| Position::from_sequence(after)), tx);
        rx
    }

    /// Appends `n` events in commits of `each`, signalling each, letting the
    /// followers run in between.
    async fn commit(log: &Log, wake: &watch::Sender<u64>, n: u64, each: u64) {
        for _ in 0..n / each {
            log.append(each);
            wake.send_modify(|w| *w += 1);
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }

    /// Drains what `rx` holds once everything is delivered: the sequence numbers.
    async fn received(rx: &mut mpsc::Receiver<Result<RecordedEvent, StoreError>>, until: u64) -> Vec<u64> {
        let mut seqs = Vec::new();
        while seqs.last() != Some(&until) {
            let event = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.unwrap().unwrap().unwrap();
            seqs.push(event.position.commit);
        }
        seqs
    }

    /// Subscriptions at the head, far behind, inside the tail's stretch,
    /// ahead of the log and at a position the tail has dropped, while the log
    /// grows past what the tail keeps: each gets every event after its
    /// position once, in order.
    #[tokio::test(start_paused = true)]
    async fn subscriptions_anywhere_get_every_event_once_in_order() {
        let (log, wake, tail) = log_with_tail(3000, 100);
        let mut at_head = subscribe(&tail, 3000);
        tokio::time::sleep(Duration::from_millis(1)).await; // the tail starts at 3000
        commit(&log, &wake, 50, 5).await;
        let mut from_start = subscribe(&tail, 0);
        let mut inside = subscribe(&tail, 3010);
        let mut ahead = subscribe(&tail, 3100);
        commit(&log, &wake, 350, 7).await;
        // At the tail's first base, which it has long since dropped.
        let mut at_first_base = subscribe(&tail, 3000);
        assert_eq!(received(&mut at_first_base, 3400).await, (3001..=3400).collect::<Vec<_>>());
        assert_eq!(received(&mut at_head, 3400).await, (3001..=3400).collect::<Vec<_>>());
        assert_eq!(received(&mut from_start, 3400).await, (1..=3400).collect::<Vec<_>>());
        assert_eq!(received(&mut inside, 3400).await, (3011..=3400).collect::<Vec<_>>());
        assert_eq!(received(&mut ahead, 3400).await, (3101..=3400).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(10)).await;
        for rx in [&mut at_head, &mut from_start, &mut inside, &mut ahead, &mut at_first_base] {
            assert!(rx.try_recv().is_err(), "an event delivered twice");
        }
    }

    /// Eight caught-up subscriptions and forty commits: the log is read about
    /// once a commit, not eight times.
    #[tokio::test(start_paused = true)]
    async fn caught_up_subscriptions_share_one_read_a_commit() {
        let (log, wake, tail) = log_with_tail(10, KEPT);
        let mut subscriptions: Vec<_> = (0..8).map(|_| subscribe(&tail, 10)).collect();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let before = log.reads.load(Ordering::SeqCst);
        commit(&log, &wake, 40, 1).await;
        for rx in &mut subscriptions {
            assert_eq!(received(rx, 50).await, (11..=50).collect::<Vec<_>>());
        }
        let reads = log.reads.load(Ordering::SeqCst) - before;
        assert!(reads <= 45, "{reads} reads of the log for 40 commits and 8 subscriptions (320 without the tail)");
    }

    /// The tail stops when its last subscription goes, starts again with the
    /// next one, and stops when a read fails: its subscriptions read the log
    /// themselves meanwhile and miss nothing.
    #[tokio::test(start_paused = true)]
    async fn the_tail_stops_without_subscriptions_and_after_a_failure_and_nothing_is_missed() {
        let (log, wake, tail) = log_with_tail(0, KEPT);
        let following = tail.following();
        assert!(!*following.borrow(), "nothing follows before the first subscription");
        let first = subscribe(&tail, 0);
        assert!(*following.borrow());
        commit(&log, &wake, 5, 1).await;
        drop(first);
        commit(&log, &wake, 5, 1).await;
        assert!(!tail.running(), "the tail runs on without subscriptions");
        assert!(!*following.borrow(), "the adapter is told nothing follows");
        let mut second = subscribe(&tail, 10);
        commit(&log, &wake, 5, 1).await;
        assert_eq!(received(&mut second, 15).await, (11..=15).collect::<Vec<_>>());
        assert!(tail.running());
        assert!(*following.borrow());
        log.failing.store(true, Ordering::SeqCst);
        log.append(1);
        wake.send_modify(|w| *w += 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        // The subscription's own read failed too: it reports it.
        assert!(matches!(second.recv().await, Some(Err(StoreError::Backend(_)))));
        log.failing.store(false, Ordering::SeqCst);
        let mut third = subscribe(&tail, 15);
        commit(&log, &wake, 4, 2).await;
        assert_eq!(received(&mut third, 20).await, (16..=20).collect::<Vec<_>>());
    }

    /// A tail that cannot start (its head read fails, the log's pages do
    /// not) is tried again at most every [`RESTART_PAUSE`], not at every
    /// signal, and its subscription misses nothing meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_tail_that_keeps_failing_is_not_tried_again_at_every_signal() {
        let (log, wake, tail) = log_with_tail(0, KEPT);
        log.head_failing.store(true, Ordering::SeqCst);
        let mut rx = subscribe(&tail, 0);
        for _ in 0..100 {
            log.append(1);
            wake.send_modify(|w| *w += 1);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(received(&mut rx, 100).await, (1..=100).collect::<Vec<_>>());
        let tries = log.head_reads.load(Ordering::SeqCst);
        assert!(tries <= 12, "{tries} starts of the tail in 1 s");
    }

    /// A tail whose head read was slow starts past a commit that its caught-up
    /// subscription has not read: the subscription is woken to read it from
    /// the store at once, not at the next poll (60 s here) or the next commit.
    #[tokio::test(start_paused = true)]
    async fn a_tail_starting_past_a_waiting_subscription_wakes_it() {
        let (log, wake, tail) = log_with_tail(2, KEPT);
        log.head_held.store(true, Ordering::SeqCst);
        let mut rx = subscribe(&tail, 0);
        assert_eq!(received(&mut rx, 2).await, vec![1, 2]);
        tokio::time::sleep(Duration::from_millis(10)).await; // caught up, waiting for the tail
        log.append(1);
        wake.send_modify(|w| *w += 1); // no follower of the store runs yet
        log.head_held.store(false, Ordering::SeqCst);
        assert_eq!(received(&mut rx, 3).await, vec![3]);
    }

    /// When the store closes, caught-up and lagging subscriptions receive
    /// what was committed and end.
    #[tokio::test(start_paused = true)]
    async fn subscriptions_end_once_the_store_closed_and_everything_was_delivered() {
        let (log, wake, tail) = log_with_tail(1000, 100);
        let mut caught_up = subscribe(&tail, 1000);
        let mut lagging = subscribe(&tail, 0);
        commit(&log, &wake, 30, 3).await;
        drop(wake);
        for (rx, from) in [(&mut caught_up, 1001), (&mut lagging, 1)] {
            assert_eq!(received(rx, 1030).await, (from..=1030).collect::<Vec<_>>());
            let end = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
            assert!(matches!(end, Ok(None)), "the subscription did not end");
        }
        // A subscription made after the close gets what is there, then ends.
        let mut late = subscribe(&tail, 1020);
        assert_eq!(received(&mut late, 1030).await, (1021..=1030).collect::<Vec<_>>());
        assert!(matches!(tokio::time::timeout(Duration::from_secs(5), late.recv()).await, Ok(None)));
    }
}
