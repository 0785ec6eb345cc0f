//! Splitting a walk over many cases into consecutive runs of cases, taken
//! by a few threads, for the report's walk and the lists' (each run's
//! result is computed apart and the caller adds them up, in run order).
//!
//! The runs are more than the threads ([`RUNS_PER_THREAD`] each), and a
//! thread takes the next run when it has finished one: on a machine whose
//! cores other work shares, a thread held up on a busy core leaves its
//! remaining runs to the others instead of making the whole walk wait for
//! its half.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::facts::CaseNo;

/// Cases a walk takes on one thread at least: below this, another thread
/// costs more than it saves (a thread is started per walk, about 50 µs).
const CASES_PER_THREAD: usize = 16_384;
/// Threads a walk takes at most (a server answers other queries too).
const MAX_THREADS: usize = 4;
/// Runs a walk is cut into per thread.
const RUNS_PER_THREAD: usize = 8;

/// How many threads a walk over `cases` cases takes: one per
/// [`CASES_PER_THREAD`], at most the cores there are and [`MAX_THREADS`].
pub fn threads_for(cases: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cases / CASES_PER_THREAD).clamp(1, cores.clamp(1, MAX_THREADS))
}

/// `f` of each consecutive run of `cases`, in order, the runs taken in turn
/// by `threads` threads; one run on this thread alone when `threads` is 1.
pub fn over_runs<T: Send>(threads: usize, cases: &[CaseNo], f: impl Fn(&[CaseNo]) -> T + Sync) -> Vec<T> {
    over_runs_beside(threads, cases, f, || ()).0
}

/// [`over_runs`], this thread doing `beside` (work of the same answer that
/// needs no case of the walk, or that cannot leave this thread, such as a
/// query on its SQLite connection) while the `threads` others take the runs.
/// On two cores the work beside the walk no longer adds its whole time to the
/// answer's: the walk's runs balance around it. This thread does not take
/// runs itself once `beside` is done: a version that did measured the lists'
/// pages slower in two alternated pairs, and no faster report.
pub fn over_runs_beside<T: Send, U>(
    threads: usize,
    cases: &[CaseNo],
    f: impl Fn(&[CaseNo]) -> T + Sync,
    beside: impl FnOnce() -> U,
) -> (Vec<T>, U) {
    if threads <= 1 || cases.len() < 2 {
        let other = beside();
        return (vec![f(cases)], other);
    }
    let runs: Vec<&[CaseNo]> = cases.chunks(cases.len().div_ceil(threads * RUNS_PER_THREAD)).collect();
    let (f, runs, next) = (&f, &runs, &AtomicUsize::new(0));
    let take = move || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(run) = runs.get(i) else { break mine };
            mine.push((i, f(run)));
        }
    };
    let (mut done, other): (Vec<(usize, T)>, U) = std::thread::scope(|scope| {
        let helpers: Vec<_> = (0..threads).map(|_| scope.spawn(take)).collect();
        let other = beside();
        let done = helpers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect();
        (done, other)
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    (done.into_iter().map(|(_, t)| t).collect(), other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_case_once_in_order() {
        let cases: Vec<CaseNo> = (0..1001).collect();
        for threads in [1, 2, 3, 4, 7] {
            let runs = over_runs(threads, &cases, <[CaseNo]>::to_vec);
            let expected = if threads == 1 { 1 } else { threads * RUNS_PER_THREAD };
            assert!(runs.len() <= expected && runs.len() >= expected - threads, "{threads}: {}", runs.len());
            assert_eq!(runs.concat(), cases, "{threads} threads");
        }
        let few: Vec<CaseNo> = (0..5).collect();
        assert_eq!(over_runs(4, &few, <[CaseNo]>::to_vec).concat(), few, "fewer cases than runs");
        assert_eq!(over_runs(3, &[], <[CaseNo]>::to_vec), vec![Vec::<CaseNo>::new()]);
        assert_eq!(threads_for(10), 1);
    }

    #[test]
    fn work_beside_the_walk_runs_once_on_this_thread_while_the_runs_cover_every_case() {
        let cases: Vec<CaseNo> = (0..1001).collect();
        let me = std::thread::current().id();
        for threads in [1, 2, 3] {
            let (runs, (calls, on)) =
                over_runs_beside(threads, &cases, <[CaseNo]>::to_vec, || (1, std::thread::current().id()));
            assert_eq!((calls, on), (1, me), "{threads} threads");
            assert_eq!(runs.concat(), cases, "{threads} threads");
        }
        // With two threads or more the walk goes on while `beside` runs:
        // `beside` waits for a run to be done (it would wait forever if the
        // runs started only after it).
        let done = AtomicUsize::new(0);
        let walk = |run: &[CaseNo]| done.fetch_add(run.len(), Ordering::SeqCst);
        let waited = || {
            let start = std::time::Instant::now();
            while done.load(Ordering::SeqCst) == 0 && start.elapsed() < std::time::Duration::from_secs(20) {
                std::thread::yield_now();
            }
            done.load(Ordering::SeqCst) > 0
        };
        let (_, walked_meanwhile) = over_runs_beside(2, &cases, walk, waited);
        assert!(walked_meanwhile, "a helper took runs while this thread was busy beside");
        assert_eq!(done.load(Ordering::SeqCst), cases.len());
    }
}
