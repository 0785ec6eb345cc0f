//! Read models of leye and the targets the district and city are held to.
//!
//! # Layout
//! - [`projector`]: folds the store's global log into an embedded SQLite
//!   database, the checkpoint in the same transaction as the rows; enterprise
//!   streams through `enterprises`.
//! - [`runner`]: follows the log from the checkpoint (catch up, then live).
//! - [`targets`]: the target formulas as pure functions over rows; the
//!   person-case ones over the compact rows of [`facts`].
//! - `index`: the in-memory index of those rows per generation, kept at the
//!   checkpoint of each query's snapshot (reloads only changed cases).
//! - [`goals`]: which goal applies to a target, for which jurisdiction and
//!   period (the bare figure elsewhere).
//! - [`read_model`]: selects rows by jurisdiction and date; assembles targets
//!   and action lists.
//! - `schema.sql`: the analysts' tables (documented in `projections/README.md`).
//!
//! # Invariants
//! - The read model is a pure function of the log up to its checkpoint.
//! - Analyst-facing tables hold pseudonymous case ids only: no names, no
//!   resident ID numbers.
//! - Targets use effective dates and only facts effective on or before the
//!   as-of date.

mod appended;
mod case_memory;
mod decoded;
mod enterprises;
pub mod facts;
mod flusher;
mod generations;
pub mod goals;
mod index;
pub mod names;
pub mod params;
pub mod projector;
pub mod read_model;
pub mod runner;
pub mod targets;

pub use decoded::Decoded;
pub use projector::Projector;
pub use read_model::ReadModel;
pub use targets::{Jurisdiction, Period, TargetParams};

/// Why a projection could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("read-model database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("event store: {0}")]
    Store(#[from] leye_store::StoreError),
    #[error("stored event cannot be read: {0}")]
    Corrupt(String),
    #[error("the read model is not built yet")]
    NotReady,
    /// The read model's directory or files (not the event store).
    #[error("read-model directory: {0}")]
    Files(String),
    /// A generation written by a version of leye with another table format
    /// ([`projector::FORMAT`]).
    #[error(
        "the read model was built by another version of leye (table format {found}, this one reads {wanted}): \
         run `leye projections rebuild`"
    )]
    OtherFormat { found: i32, wanted: i32 },
    /// Another rebuild of the same read-model directory holds its lock.
    #[error("another rebuild of this read model is under way (it holds {0}); wait for it to finish")]
    RebuildUnderWay(String),
    /// A rebuild given up because the server is stopping: its generation is
    /// removed and `CURRENT` is untouched.
    #[error("the rebuild was stopped before it finished")]
    Stopped,
}
