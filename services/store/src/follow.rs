//! The catch-up loop behind every adapter's `subscribe_all`: read pages of the
//! global log after the last delivered position, and when caught up wait for
//! the adapter's commit signal (or a poll interval, for writers in other
//! processes). One loop, so every adapter keeps the same "misses nothing,
//! repeats nothing" guarantee. After a commit signal it waits [`COALESCE`]
//! before reading, so a burst of commits is read in one page.

use std::{future::Future, time::Duration};

use tokio::sync::{mpsc, watch};

use crate::{Position, RecordedEvent, StoreError};

/// Events per read while catching up.
pub(crate) const SUBSCRIPTION_PAGE: usize = 512;

/// How long a caught-up reader waits after a commit signal before it reads:
/// the commits of those 2 ms are read in one page instead of one query each.
/// Under command load every server reads the log after every group commit;
/// coalescing took 13–15 % more commands/s with two servers on PostgreSQL
/// (docs/PERFORMANCE.md, "Subscriptions read once per 2 ms"). The price: an
/// event reaches subscribers up to 2 ms later. The store's shared reader
/// (`tail.rs`) waits it; the subscriptions it signals do not wait again.
pub(crate) const COALESCE: Duration = Duration::from_millis(2);

/// Delivers the log after `after` into `tx` until the subscriber goes away,
/// or the store closes (`wake`'s sender dropped) and everything committed was
/// delivered. `read_page(after)` reads up to [`SUBSCRIPTION_PAGE`] events;
/// after a signal the loop waits `coalesce` ([`COALESCE`] on a store's
/// commit signal; none on a tail's, which has waited already).
pub(crate) async fn follow_log<W, F, Fut>(
    mut read_page: F,
    mut wake: watch::Receiver<W>,
    poll_interval: Duration,
    coalesce: Duration,
    mut after: Option<Position>,
    tx: mpsc::Sender<Result<RecordedEvent, StoreError>>,
) where
    F: FnMut(Option<Position>) -> Fut,
    Fut: Future<Output = Result<Vec<RecordedEvent>, StoreError>>,
{
    let mut store_open = true;
    loop {
        // Anything committed from here on changes `wake`, and anything committed
        // before is visible to the read below: no wake-up can be lost.
        wake.mark_unchanged();
        let page = match read_page(after).await {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let caught_up = page.len() < SUBSCRIPTION_PAGE;
        for event in page {
            after = Some(event.position);
            if tx.send(Ok(event)).await.is_err() {
                return; // the subscriber is gone
            }
        }
        if !caught_up {
            continue;
        }
        if !store_open {
            return; // closed, and everything committed was delivered
        }
        tokio::select! {
            () = tx.closed() => return,
            changed = wake.changed() => {
                store_open = changed.is_ok();
                if store_open && !coalesce.is_zero() {
                    tokio::time::sleep(coalesce).await;
                }
            }
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::StreamName;

    fn event(n: u64) -> RecordedEvent {
        RecordedEvent {
            stream: StreamName::parse("person-test").unwrap(),
            revision: n - 1,
            position: Position::from_sequence(n),
            event_id: uuid::Uuid::from_u128(u128::from(n)),
            event_type: "person.contacted".into(),
            data: b"{}".to_vec(),
            metadata: b"{}".to_vec(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// Ten commits in a burst while a subscription is caught up: every
    /// event is delivered once, in order, read in one page after the wait
    /// (one read per commit without it).
    #[tokio::test(start_paused = true)]
    async fn a_burst_of_commits_is_read_in_one_page_and_every_event_arrives_once() {
        let log: Arc<Mutex<Vec<RecordedEvent>>> = Arc::default();
        let reads = Arc::new(Mutex::new(0usize));
        let read_page = {
            let (log, reads) = (log.clone(), reads.clone());
            move |after: Option<Position>| {
                let (log, reads) = (log.clone(), reads.clone());
                async move {
                    *reads.lock().unwrap() += 1;
                    let from = after.map_or(0, |p| p.commit);
                    let log = log.lock().unwrap();
                    Ok(log.iter().filter(|e| e.position.commit > from).take(SUBSCRIPTION_PAGE).cloned().collect())
                }
            }
        };
        let (wake_tx, wake_rx) = watch::channel(0u64);
        let (tx, mut rx) = mpsc::channel(64);
        let follower = tokio::spawn(follow_log(read_page, wake_rx, Duration::from_secs(60), COALESCE, None, tx));
        tokio::time::sleep(Duration::from_millis(5)).await; // caught up on an empty log
        assert_eq!(*reads.lock().unwrap(), 1);
        for n in 1..=10 {
            log.lock().unwrap().push(event(n));
            wake_tx.send_replace(n);
            // The follower runs between commits, as on a busy server (no
            // time passes: without the wait it would read after each one).
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
        }
        let mut delivered = Vec::new();
        while delivered.len() < 10 {
            delivered.push(rx.recv().await.unwrap().unwrap().position.commit);
        }
        assert_eq!(delivered, (1..=10).collect::<Vec<_>>());
        let reads = *reads.lock().unwrap();
        assert!(reads <= 3, "{reads} reads for ten commits (one per commit without coalescing)");
        // Nothing more arrives, and the loop ends when the subscriber goes away.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(rx.try_recv().is_err());
        drop(rx);
        wake_tx.send_replace(11);
        tokio::time::timeout(Duration::from_secs(1), follower).await.unwrap().unwrap();
    }
}
