//! When a server folds the log into its read model.
//!
//! Every server keeps a read model of its own, in its data directory, and a
//! live fold costs about 0.02 ms of the machine an event on each server that
//! folds: three servers all folding every event was the largest cost they
//! added to each other (docs/PERFORMANCE.md, "Only the publisher's leader
//! folds every event"). So a server folds only while its read model is needed:
//! - it leads the publisher: the service's one read model that follows the
//!   log whether or not anyone reads it (with one server, or on the embedded
//!   store, that is always this server), or the policy finder, whose sweeps
//!   read it;
//! - or a query read it less than `readmodel_idle_secs` ago (600 by
//!   default; 0: every server folds always).
//!
//! Otherwise its projector stops, and with it the server's reader of the
//! log's tail when nothing else follows the log there. A query that finds the
//! read model asleep wakes it and waits, within its bound as for
//! `min_position`, until it has folded the log's head as it was when the
//! query arrived ([`Waking::wanted`]): an analyst on any server is never
//! answered from a read model that slept through what happened meanwhile.
//! The read model catches up at the live projector's rate (README, "Several
//! servers").

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

// tokio's clock (the same as std's, except in tests that pause it).
use tokio::{sync::watch, time::Instant};

/// The log's head (commit position; 0 when empty), or why it was not read.
pub type Head = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<u64, String>> + Send>> + Send + Sync>;

/// How long a read keeps a read model folding by default (`readmodel_idle_secs`).
pub const IDLE: Duration = Duration::from_secs(600);

/// Whether to fold at `now`: always while `leading` (or with no idle time),
/// else until `idle` after the last read. The second value is when that
/// ends if nothing changes (`None`: not by time).
fn decide(leading: bool, idle: Duration, last_read: Option<Instant>, now: Instant) -> (bool, Option<Instant>) {
    if leading || idle.is_zero() {
        return (true, None);
    }
    match last_read.and_then(|t| t.checked_add(idle)) {
        Some(until) if until > now => (true, Some(until)),
        _ => (false, None),
    }
}

/// What the queries of a server tell its fold: that they read, and which
/// position a query that woke the read model asked for.
#[derive(Clone)]
pub struct Waking {
    last_read: watch::Sender<Option<Instant>>,
    folding: watch::Receiver<bool>,
    /// The head a wake asked for: later queries wait for it too, so that
    /// none is answered while the read model catches up.
    woken_at: Arc<AtomicU64>,
    head: Head,
    /// `readmodel_idle_secs`: how long a read counts as lately.
    idle: Duration,
}

impl std::fmt::Debug for Waking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waking")
            .field("folding", &*self.folding.borrow())
            .field("woken_at", &self.woken_at.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Waking {
    /// The position a query must wait for, having noted that it reads: its
    /// `min_position`, raised to the log's head when the read model is
    /// asleep (this read wakes it) or still catching up with a wake's head.
    /// A head that cannot be read leaves `min_position`: the answer carries
    /// the position it was read at, as always.
    pub async fn wanted(&self, min_position: u64) -> u64 {
        let asleep = !*self.folding.borrow();
        self.last_read.send_replace(Some(Instant::now()));
        if asleep {
            match (self.head)().await {
                Ok(head) => {
                    self.woken_at.fetch_max(head, Ordering::Relaxed);
                }
                Err(error) => tracing::warn!(
                    %error,
                    "a query woke the read model but the log's head could not be read: it waits for its min_position only"
                ),
            }
        }
        min_position.max(self.woken_at.load(Ordering::Relaxed))
    }

    /// Whether a query read this server's read model less than
    /// `readmodel_idle_secs` ago (always with no idle time): the rule that
    /// keeps a standby's read model folding also keeps every server's query
    /// index warm (`server.rs`, `keep_index_warm`).
    pub fn read_lately(&self) -> bool {
        decide(false, self.idle, *self.last_read.borrow(), Instant::now()).0
    }
}

/// Decides, as leadership and reads change, whether this server folds.
#[derive(Debug)]
pub struct Folding {
    /// The roles that keep the read model folding (the publisher, the policy
    /// finder when on); `None` in the list: no election, this server runs
    /// them all.
    pub leaders: Vec<Option<watch::Receiver<bool>>>,
    pub idle: Duration,
}

impl Folding {
    /// Starts deciding until `stop`: the queries' side, and whether to fold
    /// (true from the start when this server has to).
    pub fn start(
        self,
        head: Head,
        stop: watch::Receiver<bool>,
    ) -> (Waking, watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
        let always = self.leaders.iter().any(Option::is_none);
        let leaders: Vec<_> = self.leaders.into_iter().flatten().collect();
        let leading = leads(always, &leaders);
        let (last_read, read) = watch::channel(None);
        let (folding_tx, folding) = watch::channel(decide(leading, self.idle, None, Instant::now()).0);
        // In the caller's span, as every line the server logs.
        let deciding = keep_deciding(always, leaders, self.idle, read, folding_tx, stop);
        let task = tokio::spawn(tracing::Instrument::in_current_span(deciding));
        (Waking { last_read, folding: folding.clone(), woken_at: Arc::default(), head, idle: self.idle }, folding, task)
    }
}

/// Whether this server leads a role that keeps its read model folding.
fn leads(always: bool, leaders: &[watch::Receiver<bool>]) -> bool {
    always || leaders.iter().any(|l| *l.borrow())
}

async fn keep_deciding(
    always: bool,
    mut leaders: Vec<watch::Receiver<bool>>,
    idle: Duration,
    mut read: watch::Receiver<Option<Instant>>,
    folding: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut first = true;
    loop {
        let leading = leads(always, &leaders);
        let (fold, until) = decide(leading, idle, *read.borrow_and_update(), Instant::now());
        let changed = folding.send_if_modified(|f| std::mem::replace(f, fold) != fold);
        if changed || std::mem::take(&mut first) {
            if fold {
                tracing::info!(leading, "the read model folds the log");
            } else {
                tracing::info!(
                    idle_secs = idle.as_secs(),
                    "the read model sleeps: nobody read it for readmodel_idle_secs and this server leads neither \
                     the publisher nor the policy finder; the next query wakes it"
                );
            }
        }
        let leader_changed = async {
            if leaders.is_empty() {
                return std::future::pending().await;
            }
            let changes = leaders.iter_mut().map(|l| Box::pin(l.changed()));
            let (changed, i, _) = futures::future::select_all(changes).await;
            if changed.is_err() {
                // The role's campaign ended (the server is stopping): it no longer leads.
                leaders.swap_remove(i);
            }
        };
        // While folding by a read, only its end matters (a later read moves
        // it): no wake-up for every query.
        let reads = async {
            if fold || read.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let expiry = async {
            match until {
                Some(until) => tokio::time::sleep_until(until).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = leader_changed => {}
            () = reads => {}
            () = expiry => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_always_folds_a_standby_only_until_idle_after_its_last_read() {
        // Later than now: times before it exist however recently the machine started.
        let (now, idle) = (Instant::now() + Duration::from_secs(3600), Duration::from_secs(600));
        assert_eq!(decide(true, idle, None, now), (true, None));
        assert_eq!(decide(false, Duration::ZERO, None, now), (true, None), "0: every server folds");
        assert_eq!(decide(false, idle, None, now), (false, None), "never read");
        let read = now - Duration::from_secs(10);
        assert_eq!(decide(false, idle, Some(read), now), (true, Some(read + idle)));
        assert_eq!(decide(false, idle, Some(now - idle), now), (false, None), "idle for exactly idle: asleep");
    }

    fn head_at(n: u64, asked: Arc<AtomicU64>) -> Head {
        Arc::new(move || {
            asked.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(n) })
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_wakes_a_standby_which_sleeps_again_after_idle_and_leading_keeps_it_folding() {
        let (stop_tx, stop) = watch::channel(false);
        let (leader_tx, leader) = watch::channel(false);
        let asked = Arc::new(AtomicU64::new(0));
        let idle = Duration::from_secs(60);
        let folding = Folding { leaders: vec![Some(leader)], idle };
        let (waking, mut folds, task) = folding.start(head_at(42, asked.clone()), stop);
        assert!(!*folds.borrow(), "a standby nobody read does not fold");

        // A read while asleep: it wants the head, and wakes the fold.
        assert_eq!(waking.wanted(7).await, 42);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        folds.wait_for(|f| *f).await.unwrap();
        // A read while folding asks no head but still waits for the wake's.
        assert_eq!(waking.wanted(0).await, 42);
        assert_eq!(waking.wanted(50).await, 50);
        assert_eq!(asked.load(Ordering::SeqCst), 1, "no head read while folding");

        // Reads keep it folding; idle after the last one, it sleeps.
        tokio::time::sleep(idle / 2).await;
        waking.wanted(0).await;
        tokio::time::sleep(idle * 3 / 4).await;
        assert!(*folds.borrow(), "the second read moved the end");
        tokio::time::sleep(idle / 2).await;
        folds.wait_for(|f| !*f).await.unwrap();

        // Leading keeps it folding with no reads, until it leads no more.
        leader_tx.send_replace(true);
        folds.wait_for(|f| *f).await.unwrap();
        tokio::time::sleep(idle * 2).await;
        assert!(*folds.borrow(), "a leader folds whether or not it is read");
        leader_tx.send_replace(false);
        folds.wait_for(|f| !*f).await.unwrap();

        stop_tx.send_replace(true);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn read_lately_holds_for_idle_after_each_read_and_always_with_no_idle_time() {
        let (_stop_tx, stop) = watch::channel(false);
        let (_leader_tx, leader) = watch::channel(true);
        let idle = Duration::from_secs(60);
        let (waking, _folds, _task) =
            Folding { leaders: vec![Some(leader.clone())], idle }.start(head_at(5, Arc::default()), stop.clone());
        let (always, _, _task) =
            Folding { leaders: vec![Some(leader)], idle: Duration::ZERO }.start(head_at(5, Arc::default()), stop);
        assert!(!waking.read_lately(), "never read (a leader's fold is not a read)");
        assert!(always.read_lately(), "no idle time: always");
        waking.wanted(0).await;
        tokio::time::sleep(idle - Duration::from_secs(1)).await;
        assert!(waking.read_lately());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!waking.read_lately(), "idle after the last read");
        waking.wanted(0).await;
        assert!(waking.read_lately(), "a new read");
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_election_or_with_no_idle_time_a_server_folds_always() {
        let (_stop_tx, stop) = watch::channel(false);
        let asked = Arc::new(AtomicU64::new(0));
        let (waking, folds, _task) =
            Folding { leaders: vec![None], idle: IDLE }.start(head_at(9, asked.clone()), stop.clone());
        assert!(*folds.borrow());
        assert_eq!(waking.wanted(3).await, 3, "folding: no wait for the head");
        let (_leader_tx, leader) = watch::channel(false);
        let (_, folds, _task) =
            Folding { leaders: vec![Some(leader)], idle: Duration::ZERO }.start(head_at(9, asked.clone()), stop);
        tokio::time::sleep(IDLE * 2).await;
        assert!(*folds.borrow());
        assert_eq!(asked.load(Ordering::SeqCst), 0);
    }
}
