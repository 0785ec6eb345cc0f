//! The hire linker: one hire shows on both cases.
//!
//! A hire (`enterprise.hire_recorded`) is written to the enterprise's stream
//! only; the command path never writes two streams. This follower of the
//! global log then, for each hire not yet settled:
//! 1. records the placement on the person's case (`RecordPlacement`, kind
//!    enterprise, employer = the enterprise's credit code, contract length and
//!    start date of the hire), with a command id derived from the hire's event
//!    id (UUIDv5), so a repeat returns the original outcome and writes nothing;
//! 2. settles the hire on the enterprise's case, again with a derived command
//!    id: `enterprise.hire_linked` naming the placement's event id, or, when the
//!    person's case refused the placement (already placed, hire dated before the
//!    registration, …), `enterprise.hire_link_refused` with the person case's
//!    rejection code and rule.
//!
//! # Consistency when a write fails midway
//! Each step is idempotent and the checkpoint (a file beside the store, like
//! the publisher's) only moves past a hire once both steps are durable. A kill
//! after step 1 leaves the placement recorded and the hire pending; on restart
//! the linker reads from its checkpoint, step 1 finds its command id in the
//! person's stream and returns the original placement, step 2 settles the hire.
//! So the two cases agree once the linker has caught up; until then the
//! enterprise case shows the hire as `HIRE_LINK_PENDING`. Held by
//! `services/leye/tests/hires.rs` (a real `leye serve` killed between the two
//! writes) and the unit tests below.

use std::time::Duration;

use leye_domain::{
    enterprise::{
        DatedEnterpriseCommand, EnterpriseCommand, EnterpriseEvent, EnterpriseFact, EnterpriseRejectionCode, HireLink,
        HireLinkRefusal, HireLinkState,
    },
    person::{DatedCommand, PersonCommand, Placement, PlacementKind},
};
use leye_store::{EventStore, Position, RecordedEvent};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    access::Access,
    cases::{
        AppError, AsOf, CommandMeta, Enterprise, EnterpriseCases, PersonCases, Recorded, Target, case_id_of, decode_as,
    },
    publisher::checkpoint::CheckpointFile,
};

/// Who the linker's commands are recorded as.
pub const ACTOR: &str = "leye-hire-linker";

/// The checkpoint file name in the data directory.
pub const CHECKPOINT_FILE: &str = "hire-linker.checkpoint";

/// Events passed over (not hires) between two checkpoint writes.
const CHECKPOINT_EVERY: u64 = 4096;

/// The linker's checkpoint file.
pub fn checkpoint(path: impl Into<std::path::PathBuf>) -> CheckpointFile {
    CheckpointFile::for_follower(
        path,
        "hire linker",
        "the linker then reads the log from its start; every hire already settled is passed over",
    )
}

/// The person and enterprise cases the linker writes to.
#[derive(Debug, Clone)]
pub struct Linker<S> {
    people: PersonCases<S>,
    enterprises: EnterpriseCases<S>,
    /// Where the linker is, for the metrics.
    position: Option<crate::telemetry::Position>,
}

impl<S: EventStore> Linker<S> {
    pub fn new(people: PersonCases<S>) -> Self {
        Self { enterprises: people.of_kind(), people, position: None }
    }

    /// Reports the position handled in `cell` (the metrics read it).
    pub fn with_position(mut self, cell: crate::telemetry::Position) -> Self {
        self.position = Some(cell);
        self
    }

    /// Follows the log from the checkpoint until `stop` turns true; returns an
    /// error for the caller to restart it after (store failure, bad checkpoint).
    pub async fn follow(&self, file: &CheckpointFile, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        let reader = file.clone();
        let mut at = tokio::task::spawn_blocking(move || reader.load()).await??;
        tracing::info!(checkpoint = at.map_or(0, |p| p.commit), "hire linker following the log");
        if let Some(cell) = &self.position {
            cell.set(at.map_or(0, |p| p.commit));
        }
        let mut subscription = self.people.store().subscribe_all(at);
        let mut unsaved = 0u64;
        loop {
            let next = tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                next = subscription.next() => next,
            };
            let Some(event) = next else { break };
            let event = event?;
            let position = event.position;
            let linked = self.handle(event).await?;
            at = Some(position);
            if let Some(cell) = &self.position {
                cell.set(position.commit);
            }
            unsaved += 1;
            if linked || unsaved >= CHECKPOINT_EVERY {
                save(file, position).await?;
                unsaved = 0;
            }
        }
        if let (Some(position), true) = (at, unsaved > 0) {
            save(file, position).await?;
        }
        Ok(())
    }

    /// Links the hire an event records, if it does; `Ok(true)` when it did
    /// anything. Errors are transient (the store): the event is tried again.
    pub async fn handle(&self, event: RecordedEvent) -> anyhow::Result<bool> {
        if event.event_type != "enterprise.hire_recorded" {
            return Ok(false);
        }
        let Some(enterprise_id) = case_id_of::<Enterprise>(&event.stream) else { return Ok(false) };
        let recorded = decode_as::<Enterprise>(event)?;
        self.link(enterprise_id, &recorded).await?;
        Ok(true)
    }

    async fn link(&self, enterprise_id: Uuid, recorded: &Recorded<EnterpriseEvent>) -> anyhow::Result<()> {
        if let Some(settle) = self.place(enterprise_id, recorded).await? {
            self.settle(enterprise_id, recorded, settle).await?;
        }
        Ok(())
    }

    /// Step 1: records the placement a hire asks for on the person's case (or
    /// finds it recorded) and returns how to settle the hire; `None` when the
    /// hire is settled already or the event is not a hire.
    pub async fn place(
        &self,
        enterprise_id: Uuid,
        recorded: &Recorded<EnterpriseEvent>,
    ) -> anyhow::Result<Option<EnterpriseCommand>> {
        let EnterpriseFact::HireRecorded(hire) = &recorded.event.fact else { return Ok(None) };
        let view = self.enterprises.state(enterprise_id, AsOf::Latest, &Access::Service(ACTOR)).await?;
        let Some(file) = view.case.file() else { return Ok(None) };
        if file.hire(&hire.hire_id).is_some_and(|h| h.link != HireLinkState::Pending) {
            return Ok(None); // settled before a crash that kept the checkpoint behind
        }
        let placement = DatedCommand {
            effective_date: hire.started_on,
            command: PersonCommand::RecordPlacement(Placement {
                kind: PlacementKind::Enterprise,
                employer: Some(file.registration.credit_code.clone()),
                contract_months: hire.contract_months,
            }),
        };
        let target = Target::Case(hire.person_case_id);
        Ok(Some(match self.people.execute(target, meta(recorded, "placement"), placement).await {
            Ok(outcome) => {
                let Some(&placement_event_id) = outcome.event_ids.first() else {
                    anyhow::bail!("case {}: a placement wrote no event", outcome.case_id);
                };
                EnterpriseCommand::LinkHire(HireLink { hire_id: hire.hire_id.clone(), placement_event_id })
            }
            Err(AppError::Rejected(r)) => EnterpriseCommand::RefuseHireLink(HireLinkRefusal {
                hire_id: hire.hire_id.clone(),
                reason_code: r.code.as_str().to_string(),
                reason: r.message,
            }),
            Err(e) => return Err(e.into()),
        }))
    }

    /// Step 2: records on the enterprise's case how the hire was settled.
    pub async fn settle(
        &self,
        enterprise_id: Uuid,
        recorded: &Recorded<EnterpriseEvent>,
        settle: EnterpriseCommand,
    ) -> anyhow::Result<()> {
        let linked = matches!(settle, EnterpriseCommand::LinkHire(_));
        let command = DatedEnterpriseCommand { effective_date: recorded.event.effective_date, command: settle };
        match self.enterprises.execute(Target::Case(enterprise_id), meta(recorded, "settle"), command).await {
            Ok(_) => {
                tracing::info!(enterprise = %enterprise_id, linked, "hire settled");
                Ok(())
            }
            Err(AppError::EnterpriseRejected(r)) if r.code == EnterpriseRejectionCode::HireLinkSettled => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The linker's command for `step` of the hire `recorded`: its id derives
/// from the hire's event id, so a repeat is recognised as the same command.
fn meta(recorded: &Recorded<EnterpriseEvent>, step: &str) -> CommandMeta {
    CommandMeta {
        command_id: Uuid::new_v5(&recorded.event_id, format!("hire-linker/{step}").as_bytes()),
        correlation_id: recorded.metadata.correlation_id,
        causation_id: recorded.event_id,
        actor: ACTOR.to_string(),
        office: recorded.metadata.office.clone(),
        expected_revision: None,
        access: Access::Service(ACTOR),
    }
}

async fn save(file: &CheckpointFile, position: Position) -> anyhow::Result<()> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || file.store(position)).await??;
    Ok(())
}

/// Runs the linker until `stop`, restarting it after a failure (logged at
/// once, with backoff) so hires never silently stop being linked.
pub async fn keep_linking<S: EventStore>(linker: Linker<S>, file: CheckpointFile, stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match linker.follow(&file, stop.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "hire linker failed; restarting it")
            }
        }
        let mut stop = stop.clone();
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
