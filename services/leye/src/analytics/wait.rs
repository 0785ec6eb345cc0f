//! Read your own writes: a query may ask to be answered from a read model
//! that has folded the log up to a position (`min_position`, e.g. the
//! `global_position` a command answered with).
//!
//! The projector reports every checkpoint it commits on a `watch` channel
//! (`leye_projections::runner::follow_reporting`); a query waits on it, no
//! polling, having first raised the position the projector is `wanted` at
//! (so the projector folds at once instead of waiting out its pace,
//! `runner::PACE`), bounded by the server's maximum ([`Progress::max`],
//! `limits.query_wait_max_ms`, 5 s by default) and by the call's deadline
//! when the client sent one. Not reached by then: [`QueryError::NotReached`]
//! naming the position reached, `UNAVAILABLE` when the server's bound ran
//! out (retry later), `DEADLINE_EXCEEDED` when the call's did. The answer
//! itself carries the read model's position, read in the same snapshot as
//! the figures, and is never below `min_position`.

use std::time::{Duration, Instant};

use leye_projections::runner::Wanted;
use tokio::sync::watch;

use super::QueryError;
use crate::folding::Waking;

/// What a query asks to wait for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wait {
    /// The log position the read model must have reached; 0: no wait.
    pub min_position: u64,
    /// The call's own deadline (gRPC `grpc-timeout`), if any.
    pub deadline: Option<Instant>,
}

impl Wait {
    pub fn at_least(min_position: u64) -> Self {
        Self { min_position, deadline: None }
    }
}

/// Which bound a wait ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The server's maximum wait (`UNAVAILABLE`).
    Server,
    /// The call's deadline (`DEADLINE_EXCEEDED`).
    Call,
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Server => "the server's wait bound (limits.query_wait_max_ms)",
            Self::Call => "the call's deadline",
        })
    }
}

/// The projector's position as it reports it, the position queries want it
/// at, and the server's bound on waiting for it.
#[derive(Debug, Clone)]
pub struct Progress {
    reached: watch::Receiver<u64>,
    wanted: watch::Sender<Wanted>,
    max: Duration,
    /// Where the projector may sleep ([`crate::folding`]): queries wake it.
    waking: Option<Waking>,
}

impl Progress {
    pub fn new(reached: watch::Receiver<u64>, wanted: watch::Sender<Wanted>, max: Duration) -> Self {
        Self { reached, wanted, max, waking: None }
    }

    /// Queries note their reads on `waking`, and wait for the log's head when
    /// the read model sleeps.
    pub fn with_waking(mut self, waking: Waking) -> Self {
        self.waking = Some(waking);
        self
    }

    /// The position a query asking for `min_position` waits for: higher when
    /// its read wakes a sleeping read model ([`Waking::wanted`]).
    pub async fn wanted(&self, min_position: u64) -> u64 {
        match &self.waking {
            Some(waking) => waking.wanted(min_position).await,
            None => min_position,
        }
    }

    /// The longest a query waits.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// When a wait for `wait` must end, and which bound that is: the
    /// server's maximum from now, or the call's deadline if sooner.
    pub fn end_of(&self, wait: Wait) -> (Instant, Bound) {
        let server = Instant::now() + self.max;
        match wait.deadline {
            Some(d) if d < server => (d, Bound::Call),
            _ => (server, Bound::Server),
        }
    }

    /// Returns once the projector has reached `wait.min_position`, or
    /// [`QueryError::NotReached`] at the first bound.
    pub async fn wait(&self, wait: Wait) -> Result<(), QueryError> {
        self.wait_until(wait.min_position, self.end_of(wait)).await
    }

    /// Returns once the projector has reached `wanted`, or
    /// [`QueryError::NotReached`] at `end` (from [`Self::end_of`]).
    pub async fn wait_until(&self, wanted: u64, (end, bound): (Instant, Bound)) -> Result<(), QueryError> {
        let mut reached = self.reached.clone();
        if wanted == 0 || *reached.borrow() >= wanted {
            return Ok(());
        }
        // While this query waits, the projector folds at once until past it.
        let now = Instant::now();
        self.wanted.send_if_modified(|w| w.join(wanted, end, now));
        let limit = end.saturating_duration_since(Instant::now());
        let waited = tokio::time::timeout(limit, reached.wait_for(|p| *p >= wanted)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            // Timed out, or the projector stopped (the service is shutting down).
            _ => Err(QueryError::NotReached { wanted, reached: *self.reached.borrow(), bound }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_ends_when_the_position_is_reached_or_at_the_first_bound() {
        let (tx, rx) = watch::channel(5u64);
        let (wanted, wanted_rx) = watch::channel(Wanted::default());
        let p = Progress::new(rx.clone(), wanted.clone(), Duration::from_millis(200));
        assert!(p.wait(Wait::at_least(0)).await.is_ok());
        assert!(p.wait(Wait::at_least(5)).await.is_ok(), "already there");
        // This waiter's bound is far beyond the test's pauses, so a loaded
        // machine that stalls the test cannot end it by its bound: only the
        // position can.
        let patient = Progress::new(rx, wanted, Duration::from_secs(600));
        let waiter = tokio::spawn(async move { patient.wait(Wait::at_least(8)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(wanted_rx.borrow().position, 8, "the waiter asked the projector for its position");
        tx.send_replace(7);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "7 is not 8");
        tx.send_replace(9);
        assert!(waiter.await.unwrap().is_ok());

        let started = Instant::now();
        let e = p.wait(Wait::at_least(100)).await.unwrap_err();
        assert!(matches!(e, QueryError::NotReached { wanted: 100, reached: 9, bound: Bound::Server }), "{e:?}");
        assert_eq!(wanted_rx.borrow().position, 100, "raised while the patient waiter's want lasts");
        assert!(started.elapsed() >= Duration::from_millis(200) && started.elapsed() < Duration::from_secs(60));
        let deadline = Some(Instant::now() + Duration::from_millis(50));
        let e = p.wait(Wait { min_position: 100, deadline }).await.unwrap_err();
        assert!(matches!(e, QueryError::NotReached { bound: Bound::Call, .. }), "{e:?}");
        assert!(e.to_string().contains("position 9") && e.to_string().contains("min_position 100"), "{e}");
        drop(tx);
        let e = p.wait(Wait::at_least(100)).await.unwrap_err();
        assert!(matches!(e, QueryError::NotReached { .. }), "a stopped projector ends the wait: {e:?}");
    }
}
