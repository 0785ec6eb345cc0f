//! The bulk path of the generator, for populations of hundreds of thousands
//! of persons (`leye-bench-projections` at city scale).
//!
//! It plans each person exactly as the command path does (same plan, same
//! command ids, correlation ids, actors, offices) and decides every command
//! with the same decider on the service's today, through
//! [`Cases::decide_detached`](crate::cases::Cases::decide_detached), which
//! encodes the events as `execute` would store them (same payloads, metadata,
//! fingerprints and event ids). How it differs from the command path:
//! - the person's case is folded in memory as the commands are decided: the
//!   stream is never read back;
//! - all of a person's events go to the store in **one** `append` (expected
//!   revision "no stream"), instead of one append per command, so the
//!   store's group commit packs many persons into one transaction;
//! - no gRPC, no turn (the generator is the stream's only writer), no
//!   per-command duplicate check (the store recognises a whole person's
//!   events appended again, same ids in the same order, and writes nothing),
//!   no personal-data sealing.
//!
//! The store still seals every event into its chain. Within a stream the
//! events are the same, in the same order; across streams the global log
//! interleaves whole persons instead of single commands.

use anyhow::anyhow;
use leye_domain::person::{DatedCommand, PersonCase};
use leye_store::{EventStore, ExpectedRevision};

use super::{GeneratorConfig, PersonTally, Places, Population, plan_person, step_meta};
use crate::cases::{AppError, PersonCases, person_stream};

/// Plans one person, decides the plan's commands in memory and appends the
/// accepted events in one write.
pub(super) async fn run_person<S: EventStore>(
    cases: &PersonCases<S>,
    population: &Population,
    places: &Places,
    cfg: &GeneratorConfig,
    index: usize,
) -> anyhow::Result<PersonTally> {
    let member = &population.members[index];
    let plan = plan_person(cfg, places, population, index)?;
    let case_id = cases.case_ids().person(&member.resident_id);
    let mut tally = PersonTally::default();
    let mut case = PersonCase::default();
    let mut events = Vec::new();
    for (step_no, step) in plan.into_iter().enumerate() {
        let meta = step_meta(cfg, places, index, step_no, &step);
        *tally.by_command.entry(step.command.name()).or_default() += 1;
        tally.commands += 1;
        let command = DatedCommand { effective_date: step.date, command: step.command };
        match cases.decide_detached(case_id, &mut case, &meta, command) {
            Ok(decided) => {
                tally.accepted += 1;
                tally.events += decided.len() as u64;
                events.extend(decided);
            }
            Err(AppError::Rejected(r)) if step.expect == Some(r.code) => tally.rejected_by_design += 1,
            Err(AppError::Rejected(r)) => {
                tracing::warn!(case = %case_id, step = step_no, code = %r.code, "generated command rejected");
                tally.unexpected.push(r.code.to_string());
            }
            Err(e) => return Err(anyhow!(e).context(format!("person {index}, step {step_no}"))),
        }
    }
    if !events.is_empty() {
        let appended = cases
            .store()
            .append(&person_stream(case_id), ExpectedRevision::NoStream, events)
            .await
            .map_err(|e| anyhow!(e).context(format!("person {index}: appending")))?;
        if appended.already_written {
            // The same events (same ids, same order) are in the stream already.
            tally.duplicates = std::mem::take(&mut tally.accepted);
            tally.events = 0;
        }
    }
    Ok(tally)
}
