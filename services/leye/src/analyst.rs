//! `leye projections …`: the analysts' command line.
//!
//! - `rebuild`: replays the whole log into a new read-model generation and
//!   switches to it; a running server keeps answering queries meanwhile and
//!   its projector follows the switch. Progress goes to stderr.
//! - `export`: writes a target table or an action list as CSV or xlsx
//!   ([`crate::export`]), and says on stderr up to which position of the log
//!   the read model it read had folded ([`freshness`]): on a server that
//!   leads no role the read model sleeps while nobody queries it, and an
//!   export there would otherwise be silently as old as its last fold.

use std::io::Write;

use chrono::NaiveDate;
use leye_projections::{Jurisdiction, Period, ReadModel, TargetParams, runner};
use leye_store::EventStore;

use crate::export::{self, Table};

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Export {
    /// Every target with numerator and denominator.
    Targets,
    /// Long-term unemployed and at-risk spells.
    LongTerm,
    /// Zero-employment households not yet cleared.
    Households,
    /// Persons overdue for monthly follow-up.
    OverdueFollowUp,
    /// Matchmaker breaches for registrations in the period.
    Matchmaker,
    /// Registrations to consider for exit.
    ExitReview,
    /// Employment per community.
    Communities,
    /// Subsidy totals by programme, year and district.
    SubsidyTotals,
    /// 政策找人: persons eligible for a programme they have not received, with
    /// rule, clause and reasons (JSON).
    Eligible,
}

/// Rebuilds the read model from position zero, reporting progress.
pub async fn rebuild<S: EventStore>(store: &S, dir: &runner::ReadModelDir, err: &mut impl Write) -> anyhow::Result<()> {
    let (path, events) = runner::rebuild(store, dir, |p| {
        let _ = writeln!(
            err,
            "rebuild: {} / {} events, {:.0} events/s, about {:.0} s left",
            p.events, p.total, p.events_per_second, p.seconds_left
        );
    })
    .await?;
    writeln!(err, "rebuild: done, {events} events; now serving {}", path.display())?;
    Ok(())
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// UTF-8 with BOM, CRLF, header always; digit-only codes with a leading TAB (README, "Exports").
    Csv,
    /// One sheet: codes as text cells, counts and amounts as numbers.
    Xlsx,
}

impl Format {
    /// The format asked for, or the one `out`'s extension names (`.xlsx`), or CSV.
    pub fn resolve(asked: Option<Self>, out: Option<&std::path::Path>) -> Self {
        asked.unwrap_or_else(|| {
            let xlsx = out.and_then(|p| p.extension()).is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            if xlsx { Self::Xlsx } else { Self::Csv }
        })
    }
}

/// The period and as-of date of an export from its optional flags, with the
/// defaults `GetTargets` applies: the period ends on `--to` (default: the
/// as-of date if given, else today in Beijing time) and starts on `--from`
/// (default: 1 January of the period's last year); the as-of date is
/// `--as-of`, default [`Period::default_as_of`] (the end of the period, or
/// today if that is earlier).
pub fn window(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    as_of: Option<NaiveDate>,
    today: NaiveDate,
) -> anyhow::Result<(Period, NaiveDate)> {
    use chrono::Datelike;
    let to = to.or(as_of).unwrap_or(today);
    let from = from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    let period = Period::new(from, to).map_err(|e| anyhow::anyhow!("--from/--to: {e}"))?;
    Ok((period, as_of.unwrap_or_else(|| period.default_as_of(today))))
}

/// The columns of each export, in order (the row types' fields).
pub fn columns(what: Export) -> &'static [&'static str] {
    match what {
        Export::Targets => &["id", "title", "numerator", "denominator", "value", "goal", "met", "source"],
        Export::LongTerm => &["case_id", "community", "registered_on", "ended_on", "days", "long_term_from", "status"],
        Export::Households => &["household_id", "identified_on", "since", "days_outstanding", "overdue", "communities"],
        Export::OverdueFollowUp => &["case_id", "community", "registered_on", "last_contact_on", "missed_month_start"],
        Export::Matchmaker => &["case_id", "community", "registered_on", "same_day_contact", "two_way_in_time"],
        Export::ExitReview => &["case_id", "community", "registered_on", "last_contact_on"],
        Export::Communities => &["community", "employed", "unemployed", "rate", "full_employment"],
        Export::SubsidyTotals => &["programme", "year", "district", "grants", "amount_fen"],
        Export::Eligible => &[
            "case_id",
            "case_kind",
            "rule_id",
            "rule_valid_from",
            "programme",
            "clause",
            "reasons",
            "amount_fen",
            "found_on",
            "district",
            "community",
        ],
    }
}

/// The export's name: its sheet in xlsx, as on the command line.
pub fn name(what: Export) -> &'static str {
    match what {
        Export::Targets => "targets",
        Export::LongTerm => "long-term",
        Export::Households => "households",
        Export::OverdueFollowUp => "overdue-follow-up",
        Export::Matchmaker => "matchmaker",
        Export::ExitReview => "exit-review",
        Export::Communities => "communities",
        Export::SubsidyTotals => "subsidy-totals",
        Export::Eligible => "eligible",
    }
}

/// The table `what` for `j`, `period` and `as_of`, read in one transaction.
pub fn table(
    rm: &ReadModel,
    what: Export,
    j: &Jurisdiction,
    period: Period,
    as_of: NaiveDate,
    params: &TargetParams,
) -> anyhow::Result<Table> {
    let (n, c) = (name(what), columns(what));
    // One read transaction: the rows agree with each other even while the projector commits.
    rm.snapshot(|rm| -> anyhow::Result<Table> {
        match what {
            Export::Targets => export::table(n, c, &rm.targets(j, period, as_of, params)?.targets),
            Export::LongTerm => export::table(n, c, &rm.long_term(j, as_of, params)?),
            Export::Households => export::table(n, c, &rm.zero_employment_households(j, as_of, params)?),
            Export::OverdueFollowUp => export::table(n, c, &rm.overdue_followups(j, as_of, params)?),
            Export::Matchmaker => export::table(n, c, &rm.matchmaker_breaches(j, period, as_of, params)?),
            Export::ExitReview => export::table(n, c, &rm.exit_review(j, as_of, params)?),
            Export::Communities => export::table(n, c, &rm.communities(j, as_of)?),
            Export::SubsidyTotals => export::table(n, c, &rm.subsidy_totals(j, period, as_of)?),
            Export::Eligible => export::table(n, c, &rm.eligible(j, None, as_of, 0, usize::MAX)?.rows),
        }
    })
}

/// What an export says about its read model's age: the position it folded
/// to, the log's head (or why that could not be read), and a warning when
/// the read model is behind the head.
pub fn freshness(folded: u64, head: Result<u64, String>) -> String {
    match head {
        Ok(head) if folded >= head => {
            format!("export: the read model has folded the whole log (position {folded}, the log's head)")
        }
        Ok(head) => format!(
            "export: warning: the read model is {} positions behind the log (folded to {folded}, the log's head at \
             {head}); this export is as of position {folded}. A server that leads no role folds only while it is \
             queried (README, \"Running several servers\"): export on the publisher's leader, or query this server \
             first",
            head - folded
        ),
        Err(e) => format!(
            "export: warning: the read model is as of position {folded}; the log's head could not be read, so \
             whether it is behind is unknown ({e})"
        ),
    }
}

/// Writes `what` in `format` for `j`, `period` and `as_of`. Returns the number of rows.
#[allow(clippy::too_many_arguments)]
pub fn export(
    rm: &ReadModel,
    what: Export,
    format: Format,
    j: &Jurisdiction,
    period: Period,
    as_of: NaiveDate,
    params: &TargetParams,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let t = table(rm, what, j, period, as_of, params)?;
    match format {
        Format::Csv => Ok(export::write_csv(&t, out)?),
        Format::Xlsx => {
            out.write_all(&export::xlsx(&t)?)?;
            Ok(t.rows.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_as_of_default_is_the_end_of_the_period_or_today() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-12-01");
        let (p, a) = window(Some(d("2026-01-01")), Some(d("2026-06-30")), None, today).unwrap();
        assert_eq!((p.from, p.to, a), (d("2026-01-01"), d("2026-06-30"), d("2026-06-30")));
        let (p, a) = window(None, None, None, today).unwrap();
        assert_eq!((p.from, p.to, a), (d("2026-01-01"), today, today));
        let (p, a) = window(None, Some(d("2027-03-31")), None, today).unwrap();
        assert_eq!((p.from, p.to, a), (d("2027-01-01"), d("2027-03-31"), today), "a period still running");
        let (p, a) = window(None, None, Some(d("2025-05-05")), today).unwrap();
        assert_eq!((p.from, p.to, a), (d("2025-01-01"), d("2025-05-05"), d("2025-05-05")));
        assert!(window(Some(d("2026-07-01")), Some(d("2026-06-30")), None, today).is_err());
    }

    #[test]
    fn an_export_says_how_far_its_read_model_has_folded() {
        let whole = freshness(120, Ok(120));
        assert!(whole.contains("whole log") && whole.contains("120") && !whole.contains("warning"), "{whole}");
        let behind = freshness(100, Ok(130));
        assert!(behind.contains("warning") && behind.contains("30 positions behind"), "{behind}");
        assert!(behind.contains("folded to 100") && behind.contains("head at 130"), "{behind}");
        assert!(behind.contains("publisher's leader"), "says what to do: {behind}");
        let unknown = freshness(7, Err("PostgreSQL unreachable".into()));
        assert!(unknown.contains("warning") && unknown.contains("position 7") && unknown.contains("unreachable"));
    }

    #[test]
    fn the_columns_are_the_fields_of_the_rows() {
        use leye_projections::{
            read_model::{EligibleRow, HouseholdRow, SubsidyTotalRow},
            targets::{CommunityRow, ExitReviewRow, LongTermRow, MatchmakerRow, OverdueRow, TargetValue},
        };
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let id = String::from("x");
        let check = |what: Export, row: serde_json::Value| {
            let serde_json::Value::Object(fields) = row else { panic!("{what:?}: not a struct") };
            let names: Vec<&str> = fields.keys().map(String::as_str).collect();
            assert_eq!(names, columns(what), "{what:?}");
        };
        let v = |r: &dyn erased::Ser| r.value();
        check(
            Export::Targets,
            v(&TargetValue {
                id: "t",
                title: "t",
                numerator: 1,
                denominator: None,
                value: 1.0,
                goal: "",
                met: None,
                source: "",
            }),
        );
        check(
            Export::LongTerm,
            v(&LongTermRow {
                case_id: id.clone(),
                community: id.clone(),
                registered_on: d,
                ended_on: None,
                days: 1,
                long_term_from: d,
                status: "long_term",
            }),
        );
        check(
            Export::Households,
            v(&HouseholdRow {
                household_id: id.clone(),
                identified_on: d,
                since: d,
                days_outstanding: 1,
                overdue: false,
                communities: vec![],
            }),
        );
        check(
            Export::OverdueFollowUp,
            v(&OverdueRow {
                case_id: id.clone(),
                community: id.clone(),
                registered_on: d,
                last_contact_on: None,
                missed_month_start: d,
            }),
        );
        check(
            Export::Matchmaker,
            v(&MatchmakerRow {
                case_id: id.clone(),
                community: id.clone(),
                registered_on: d,
                same_day_contact: true,
                two_way_in_time: true,
            }),
        );
        check(
            Export::ExitReview,
            v(&ExitReviewRow { case_id: id.clone(), community: id.clone(), registered_on: d, last_contact_on: None }),
        );
        check(
            Export::Communities,
            v(&CommunityRow { community: id.clone(), employed: 1, unemployed: 0, rate: 1.0, full_employment: true }),
        );
        check(
            Export::SubsidyTotals,
            v(&SubsidyTotalRow { programme: id.clone(), year: 2026, district: id.clone(), grants: 1, amount_fen: 1 }),
        );
        check(
            Export::Eligible,
            v(&EligibleRow {
                case_id: id.clone(),
                case_kind: id.clone(),
                rule_id: id.clone(),
                rule_valid_from: d,
                programme: id.clone(),
                clause: id.clone(),
                reasons: "[]".into(),
                amount_fen: None,
                found_on: d,
                district: id.clone(),
                community: id.clone(),
            }),
        );
    }

    /// Serialises any row to a JSON value (object-safe).
    mod erased {
        pub trait Ser {
            fn value(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Ser for T {
            fn value(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap()
            }
        }
    }
}
