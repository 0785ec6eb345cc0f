//! The catch-up loop behind every adapter's `subscribe_all`: read pages of the
//! global log after the last delivered position, and when caught up wait for
//! the adapter's commit signal (or a poll interval, for writers in other
//! processes). One loop, so every adapter keeps the same "misses nothing,
//! repeats nothing" guarantee.

use std::{future::Future, time::Duration};

use tokio::sync::{mpsc, watch};

use crate::{Position, RecordedEvent, StoreError};

/// Events per read while catching up.
pub(crate) const SUBSCRIPTION_PAGE: usize = 512;

/// Delivers the log after `after` into `tx` until the subscriber goes away,
/// or the store closes (`wake`'s sender dropped) and everything committed was
/// delivered. `read_page(after)` reads up to [`SUBSCRIPTION_PAGE`] events.
pub(crate) async fn follow_log<W, F, Fut>(
    mut read_page: F,
    mut wake: watch::Receiver<W>,
    poll_interval: Duration,
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
            changed = wake.changed() => store_open = changed.is_ok(),
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}
