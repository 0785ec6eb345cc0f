//! Splitting a walk over many cases into consecutive runs of cases, one per
//! thread, for the report's walk and the lists' (each run's result is
//! computed apart and the caller adds them up, in run order).

use crate::facts::CaseNo;

/// Cases a walk takes on one thread at least: below this, another thread
/// costs more than it saves (a thread is started per run, about 50 µs).
const CASES_PER_THREAD: usize = 16_384;
/// Threads a walk takes at most (a server answers other queries too).
const MAX_THREADS: usize = 4;

/// How many threads a walk over `cases` cases takes: one per
/// [`CASES_PER_THREAD`], at most the cores there are and [`MAX_THREADS`].
pub fn threads_for(cases: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cases / CASES_PER_THREAD).clamp(1, cores.clamp(1, MAX_THREADS))
}

/// `f` of each of `threads` consecutive runs of `cases`, in order; on this
/// thread alone when `threads` is 1.
pub fn over_runs<T: Send>(threads: usize, cases: &[CaseNo], f: impl Fn(&[CaseNo]) -> T + Sync) -> Vec<T> {
    if threads <= 1 || cases.len() < 2 {
        return vec![f(cases)];
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            cases.chunks(cases.len().div_ceil(threads)).map(|run| scope.spawn(move || f(run))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_case_once_in_order() {
        let cases: Vec<CaseNo> = (0..1001).collect();
        for threads in [1, 2, 3, 4, 7] {
            let runs = over_runs(threads, &cases, <[CaseNo]>::to_vec);
            assert_eq!(runs.len(), threads.min(cases.len()), "{threads}");
            assert_eq!(runs.concat(), cases, "{threads} threads");
        }
        assert_eq!(over_runs(3, &[], <[CaseNo]>::to_vec), vec![Vec::<CaseNo>::new()]);
        assert_eq!(threads_for(10), 1);
    }
}
