//! The subsidy policy catalogue of leye, and grant evaluation.
//!
//! Which subsidies exist, for whom, how much, for how long and since when is
//! **data**: `policies/*.toml` at the repository root, one file per
//! jurisdiction (Tianjin city, Xiqing, Heping, Binhai) plus the dated yearly
//! parameters (`parameters.toml`). The schema is documented key by key in
//! `policies/README.md`. This crate loads and validates those files and
//! decides grants against them. It is pure: no async, no network, no clock;
//! the only I/O is reading the catalogue directory when asked to.
//!
//! # Layout
//! - [`model`]: the catalogue's data types, as deserialised (`deny_unknown_fields`).
//! - [`catalogue`]: loading (`Catalogue::load_dir`, `Catalogue::shipped`) and
//!   validation, with errors naming file, rule and field; rule lookup by id,
//!   jurisdiction and date; dated parameters.
//! - [`facts`]: what a decision needs to know (person, enterprise, prior
//!   grants, the request), and `PersonFacts::from_file` from a person case.
//! - [`evaluate`]: `Catalogue::evaluate` (one grant → a [`Decision`] that
//!   cites its clauses) and `Catalogue::find_eligible` (政策找人).
//! - [`retirement`]: statutory retirement age by birth month, gender and post,
//!   from the dated retirement laws in `parameters.toml`.
//! - [`dates`]: counting in whole months.
//! - `fingerprint`: the catalogue's fingerprint, which the servers of one
//!   deployment compare.
//!
//! # Invariants
//! - A [`Catalogue`] that exists passed every check in [`catalogue`]: ids
//!   unique per period, programmes slugs, amounts positive, periods not
//!   inverted or overlapping, every referenced parameter defined for every day
//!   its rule is in force, every clause citing a declared document.
//! - Evaluation reads only its arguments; the same inputs give the same
//!   decision.
//! - A decision refuses rather than cuts: an amount over the cap, a second
//!   one-time grant, a third public-welfare placement are refused, citing the
//!   clause; `Decision::max_amount` says what could be proposed.
//! - Every check of a decision carries the clause it rests on.
//! - The shipped catalogue is embedded in the binary and loads (test
//!   `shipped_catalogue_loads`); a directory may override it.
//! - Decisions are personal data (ages, dates): never logged.

pub mod catalogue;
pub mod dates;
pub mod evaluate;
pub mod facts;
mod fingerprint;
pub mod model;
pub mod retirement;

pub use catalogue::{Catalogue, CatalogueError, NotApplicable, Problem, SHIPPED_FILES, default_catalogue};
pub use evaluate::{Check, Decision, Eligibility, Outcome, RuleRef};
pub use facts::{
    BusinessFacts, DifficultyFacts, EnterpriseFacts, Facts, GraduationFacts, GrantRequest, LoanFacts, PersonFacts,
    PlacementFacts, PriorGrant, SpellFacts, TrainingFacts,
};
pub use model::{Attestation, EnterpriseKind, Jurisdiction, Nature, PayeeKind, PostType, Rule, Subject};
pub use retirement::{RetirementAge, less_than_one_year_to_retirement, retirement_date, within_years_of_retirement};
