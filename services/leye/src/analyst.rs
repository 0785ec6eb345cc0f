//! `leye projections …`: the analysts' command line.
//!
//! - `rebuild`: replays the whole log into a new read-model generation and
//!   switches to it; a running server keeps answering queries meanwhile and
//!   its projector follows the switch. Progress goes to stderr.
//! - `export`: writes a target table or an action list as CSV.

use std::io::Write;

use chrono::NaiveDate;
use leye_projections::{Jurisdiction, Period, ReadModel, TargetParams, runner};
use leye_store::EventStore;
use serde::Serialize;

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

/// Writes `what` as CSV for `j`, `period` and `as_of`.
pub fn export(
    rm: &ReadModel,
    what: Export,
    j: &Jurisdiction,
    period: Period,
    as_of: NaiveDate,
    params: &TargetParams,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    // One read transaction: the rows agree with each other even while the projector commits.
    rm.snapshot(|rm| -> anyhow::Result<usize> {
        Ok(match what {
            Export::Targets => csv(out, &rm.targets(j, period, as_of, params)?.targets)?,
            Export::LongTerm => csv(out, &rm.long_term(j, as_of, params)?)?,
            Export::Households => csv(out, &rm.zero_employment_households(j, as_of, params)?)?,
            Export::OverdueFollowUp => csv(out, &rm.overdue_followups(j, as_of, params)?)?,
            Export::Matchmaker => csv(out, &rm.matchmaker_breaches(j, period, as_of, params)?)?,
            Export::ExitReview => csv(out, &rm.exit_review(j, as_of, params)?)?,
            Export::Communities => csv(out, &rm.communities(j, as_of)?)?,
            Export::SubsidyTotals => csv(out, &rm.subsidy_totals(j, period, as_of)?)?,
            Export::Eligible => csv(out, &rm.eligible(j, None, as_of, 0, usize::MAX)?.rows)?,
        })
    })
}

/// Writes rows as CSV (RFC 4180): a header from the first row's field names,
/// then one line per row. Lists become `;`-joined cells.
pub fn csv<T: Serialize>(out: &mut impl Write, rows: &[T]) -> anyhow::Result<usize> {
    let mut header_written = false;
    for row in rows {
        let serde_json::Value::Object(fields) = serde_json::to_value(row)? else {
            anyhow::bail!("a CSV row must be a struct");
        };
        if !header_written {
            let names: Vec<String> = fields.keys().map(|k| cell(k)).collect();
            writeln!(out, "{}", names.join(","))?;
            header_written = true;
        }
        let cells: Vec<String> = fields
            .values()
            .map(|v| match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => cell(s),
                serde_json::Value::Array(items) => cell(
                    &items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                other => other.to_string(),
            })
            .collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(rows.len())
}

fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        count: i64,
        communities: Vec<&'static str>,
        date: Option<&'static str>,
    }

    #[test]
    fn csv_quotes_and_orders_fields() {
        let mut out = Vec::new();
        let rows = [
            Row { name: "a,b", count: 2, communities: vec!["120111001001", "120101001001"], date: None },
            Row { name: "say \"hi\"", count: 0, communities: vec![], date: Some("2026-01-01") },
        ];
        assert_eq!(csv(&mut out, &rows).unwrap(), 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,count,communities,date\n\"a,b\",2,120111001001;120101001001,\n\"say \"\"hi\"\"\",0,,2026-01-01\n"
        );
    }
}
