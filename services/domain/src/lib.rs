//! The pure domain of leye (乐业): public employment case management.
//!
//! Every case is an event stream. A case kind is a *decider*:
//! `decide(&state, command, today) -> Result<Vec<Event>, Rejection>` says whether a
//! command is allowed and what happened; `evolve(state, &event) -> state` folds an
//! event into the state. Both are pure: no I/O, no clock (today is passed in),
//! no async, no protobuf, no SQL.
//!
//! # Layout
//! - [`values`]: value types parsed once at the edge (resident ID, district,
//!   street and community codes, credit code, money, bounded text).
//! - [`person`]: the person (劳动者) case: facts, commands, events, state, decider.
//! - [`enterprise`]: the enterprise (用人单位) case: facts, commands, events, state,
//!   decider, and its own rejection codes.
//! - [`subsidy`]: subsidy proposals and their review (separation of duties),
//!   shared by both case kinds.
//! - [`envelope`]: metadata every recorded event carries.
//! - [`rejection`]: why a decider refuses a command (stable codes).
//!
//! # Invariants
//! - A value type that exists is valid: parse, don't validate.
//! - `decide` never returns an event that `evolve` cannot fold.
//! - Personal data (resident ID, name) has a redacting `Debug` and no `Display`.

pub mod enterprise;
pub mod envelope;
pub mod person;
pub mod rejection;
mod stored;
pub mod subsidy;
pub mod values;

pub use rejection::{Rejection, RejectionCode};

/// A calendar date in Beijing time (UTC+8, no daylight saving).
pub type Date = chrono::NaiveDate;

/// The date "today" in Beijing time for an instant. The only place the domain
/// turns an instant into a date; callers pass the instant in.
pub fn beijing_date(instant: chrono::DateTime<chrono::Utc>) -> Date {
    const UTC_PLUS_8: i32 = 8 * 3600;
    // 8 hours is well inside FixedOffset's ±24 h range.
    let offset = chrono::FixedOffset::east_opt(UTC_PLUS_8).expect("UTC+8 is a valid offset");
    instant.with_timezone(&offset).date_naive()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn beijing_date_turns_at_16_00_utc() {
        let before = chrono::Utc.with_ymd_and_hms(2026, 6, 30, 15, 59, 59).unwrap();
        let after = chrono::Utc.with_ymd_and_hms(2026, 6, 30, 16, 0, 0).unwrap();
        assert_eq!(beijing_date(before), Date::from_ymd_opt(2026, 6, 30).unwrap());
        assert_eq!(beijing_date(after), Date::from_ymd_opt(2026, 7, 1).unwrap());
    }
}
