//! `leye replay CASE`: a case's whole history for an auditor, read straight from
//! the data directory (no server needed; safe while one runs: SQLite WAL readers
//! do not block the writer).
//!
//! Each event shows what the auditor needs to judge it: revision and global
//! position, when it was recorded and for which date, who recorded it at which
//! office, under which command and correlation, and the fact itself. The output
//! holds personal data (it is the case file): it goes to the auditor's terminal,
//! never to a log.

use std::io::Write;

use chrono::{DateTime, Utc};
use leye_store::EventStore;
use uuid::Uuid;

use crate::{
    access::Access,
    cases::{AppError, CaseKind, Cases, Enterprise, Person, PersonCases},
};

/// The operator CLI reads the store file directly: it needs file access,
/// not a principal (see README, "Security").
const OPERATOR: Access = Access::Service("leye-cli");

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One block per event, for reading.
    Text,
    /// One JSON object per line, for tools.
    Json,
}

/// What the printer shows of one kind of case: the fact of an event, and the
/// case's status after it.
pub trait Printed: CaseKind {
    fn fact(event: &Self::Event) -> serde_json::Result<serde_json::Value>;
    fn status(case: &Self::Case) -> Option<String>;
}

impl Printed for Person {
    fn fact(event: &Self::Event) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(&event.fact)
    }
    fn status(case: &Self::Case) -> Option<String> {
        case.status().map(|s| format!("{s:?}"))
    }
}

impl Printed for Enterprise {
    fn fact(event: &Self::Event) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(&event.fact)
    }
    fn status(_case: &Self::Case) -> Option<String> {
        None
    }
}

/// Writes the history of `case_id`, a person case or an enterprise case, up
/// to `recorded_until` if given ("what the service knew then").
pub async fn print<S: EventStore>(
    cases: &PersonCases<S>,
    case_id: Uuid,
    recorded_until: Option<DateTime<Utc>>,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    match print_kind(cases, case_id, recorded_until, format, out).await {
        Err(e) if matches!(e.downcast_ref::<AppError>(), Some(AppError::NotFound)) => {
            print_kind(&cases.of_kind::<Enterprise>(), case_id, recorded_until, format, out).await
        }
        other => other,
    }
}

async fn print_kind<K: Printed, S: EventStore>(
    cases: &Cases<K, S>,
    case_id: Uuid,
    recorded_until: Option<DateTime<Utc>>,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let history = cases.replay(case_id, &OPERATOR).await?;
    let mut shown = 0;
    for (r, after) in history.iter().filter(|(r, _)| recorded_until.is_none_or(|t| r.recorded_at <= t)) {
        let m = &r.metadata;
        match format {
            Format::Json => {
                let line = serde_json::json!({
                    "case_id": case_id,
                    "revision": r.revision,
                    "global_position": r.position.commit,
                    "event_id": r.event_id,
                    "event_type": r.event_type,
                    "schema_version": m.schema_version,
                    "recorded_at": r.recorded_at.to_rfc3339(),
                    "effective_date": m.effective_date,
                    "actor": m.actor,
                    "office": m.office,
                    "command_id": m.command_id,
                    "correlation_id": m.correlation_id,
                    "causation_id": m.causation_id,
                    "fact": K::fact(&r.event)?,
                    "status_after": K::status(after),
                });
                writeln!(out, "{line}")?;
            }
            Format::Text => {
                writeln!(out, "── revision {} · position {} · {}", r.revision, r.position, r.event_type)?;
                writeln!(out, "   recorded   {}", r.recorded_at.to_rfc3339())?;
                writeln!(out, "   effective  {}", m.effective_date)?;
                writeln!(out, "   by         {} at office {}", m.actor, m.office)?;
                writeln!(
                    out,
                    "   command    {} (correlation {}, causation {})",
                    m.command_id, m.correlation_id, m.causation_id
                )?;
                writeln!(out, "   event id   {}", r.event_id)?;
                writeln!(out, "   fact       {}", K::fact(&r.event)?)?;
                if let Some(status) = K::status(after) {
                    writeln!(out, "   after      {status}")?;
                }
            }
        }
        shown += 1;
    }
    if format == Format::Text {
        match history.iter().rfind(|(r, _)| recorded_until.is_none_or(|t| r.recorded_at <= t)) {
            Some((last, _)) => writeln!(out, "{shown} event(s); case {case_id} at revision {}", last.revision)?,
            None => writeln!(out, "0 event(s): case {case_id} was not recorded yet then")?,
        }
    }
    Ok(shown)
}
