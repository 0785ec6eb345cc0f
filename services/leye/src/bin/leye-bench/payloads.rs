//! What the server stored for each command kind: event types and payload,
//! metadata and total sizes, printed beside the benchmark's figures.

use super::*;

/// One stored event as the server writes it: type, payload, metadata.
#[derive(Debug, Clone)]
pub(super) struct Payload {
    pub(super) event_type: String,
    pub(super) data: Vec<u8>,
    pub(super) metadata: Vec<u8>,
}

/// The four events of one person, as the server would store them.
#[derive(Debug)]
pub(super) struct Payloads {
    pub(super) events: Vec<Payload>,
}

impl Payloads {
    /// Runs the person's commands through the domain's decider and encodes the
    /// events and metadata exactly as the command path does.
    pub(super) fn build(person: &Person, today: Date, employer: &str) -> anyhow::Result<Self> {
        let mut case = PersonCase::default();
        let mut events = Vec::new();
        for command in person.domain_commands(today, employer)? {
            let decided = domain::decide(&case, DatedCommand { effective_date: today, command }, today)?;
            for event in decided {
                case.apply(&event);
                events.push(payload(&event)?);
            }
        }
        ensure!(events.len() == KINDS.len(), "expected one event per command, got {}", events.len());
        Ok(Self { events })
    }
}

pub(super) fn payload(event: &PersonEvent) -> anyhow::Result<Payload> {
    let command_id = Uuid::new_v4();
    let metadata = EventMetadata {
        command_id,
        correlation_id: command_id,
        causation_id: command_id,
        actor: ACTOR.into(),
        office: OFFICE.into(),
        district: leye_domain::values::DistrictCode::parse("120111")?,
        effective_date: event.effective_date,
        schema_version: domain::SCHEMA_VERSION,
        // A SHA-256 in hex, as the command path writes it.
        command_fingerprint: "0".repeat(64),
        actor_roles: Vec::new(),
        authenticated_by: String::new(),
    };
    Ok(Payload {
        event_type: event.fact.event_type().to_string(),
        data: event.encode(),
        metadata: serde_json::to_vec(&metadata)?,
    })
}

pub(super) fn print_payloads(payloads: &Payloads, stored: Option<&Stored>) {
    println!("event sizes in bytes (raw appends use the synthetic ones; the server's are read back from its store):");
    println!(
        "{:<30} {:>14} {:>14} {:>16} {:>16}",
        "event type", "data (synth)", "meta (synth)", "data (server)", "meta (server)"
    );
    for p in &payloads.events {
        let (data, meta) = match stored.and_then(|s| s.sizes.get(&p.event_type)) {
            Some(s) if s.count > 0 => {
                (format!("{:.1}", s.data as f64 / s.count as f64), format!("{:.1}", s.metadata as f64 / s.count as f64))
            }
            _ => ("-".into(), "-".into()),
        };
        println!("{:<30} {:>14} {:>14} {:>16} {:>16}", p.event_type, p.data.len(), p.metadata.len(), data, meta);
    }
}

// ---------------------------------------------------------------------------
// The gRPC clients
