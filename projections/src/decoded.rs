//! Events of the log decoded for the fold: the payload and the metadata the
//! projector reads, parsed from the stored JSON. Decoding is a pure function
//! of one event, so a rebuild does it on the reading side, in parallel with
//! the folding thread ([`crate::runner::rebuild`]); the live follower decodes
//! inside [`crate::Projector::apply`].

use leye_domain::{enterprise::EnterpriseEvent, envelope::EventMetadata, person::PersonEvent};
use leye_store::{Position, RecordedEvent};

use crate::ProjectionError;

/// One event of the global log, decoded.
#[derive(Debug)]
pub struct Decoded {
    pub(crate) position: Position,
    pub(crate) case: Case,
}

/// The case an event belongs to, with its decoded event.
#[derive(Debug)]
pub(crate) enum Case {
    Person {
        case_id: String,
        metadata: EventMetadata,
        event: PersonEvent,
    },
    Enterprise {
        case_id: String,
        metadata: EventMetadata,
        event: EnterpriseEvent,
    },
    /// A stream the read model does not project.
    Other,
}

impl Decoded {
    /// Decodes a stored event (upcast by its schema version). Streams other
    /// than `person-…` and `enterprise-…` decode to nothing to fold.
    pub fn decode(e: &RecordedEvent) -> Result<Self, ProjectionError> {
        let corrupt = |what: String| ProjectionError::Corrupt(format!("{} revision {}: {what}", e.stream, e.revision));
        let metadata = || -> Result<EventMetadata, ProjectionError> {
            serde_json::from_slice(&e.metadata)
                .map_err(|err| corrupt(format!("metadata: {}", leye_domain::person::json_error(&err))))
        };
        let stream = e.stream.as_str();
        let case = if let Some(case_id) = stream.strip_prefix("enterprise-") {
            let metadata = metadata()?;
            let event = EnterpriseEvent::decode(&e.event_type, metadata.schema_version, &e.data)
                .map_err(|err| corrupt(err.to_string()))?;
            Case::Enterprise { case_id: case_id.to_string(), metadata, event }
        } else if let Some(case_id) = stream.strip_prefix("person-") {
            let metadata = metadata()?;
            let event = PersonEvent::decode(&e.event_type, metadata.schema_version, &e.data)
                .map_err(|err| corrupt(err.to_string()))?;
            Case::Person { case_id: case_id.to_string(), metadata, event }
        } else {
            Case::Other
        };
        Ok(Self { position: e.position, case })
    }

    /// The event's position in the global log.
    pub fn position(&self) -> Position {
        self.position
    }
}
