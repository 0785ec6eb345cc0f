//! The metadata every recorded event carries, beside its payload.
//!
//! The store adds the rest of the envelope itself: stream, revision, global
//! position, event id and the recorded time (its commit clock).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Date, values::DistrictCode};

/// Who recorded an event, why, and for which date. Stored as the event's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// The command that produced the event (client-chosen, the idempotency key).
    pub command_id: Uuid,
    /// Ties together every command and event of one business transaction.
    pub correlation_id: Uuid,
    /// The message that caused this command.
    pub causation_id: Uuid,
    /// Staff id of the caseworker or system account (never a person's name).
    pub actor: String,
    /// The service office that recorded the fact.
    pub office: String,
    /// The district (GB/T 2260) whose jurisdiction the case falls under when the
    /// fact is recorded: the residence district of the latest registration.
    /// Lets followers of the log (publisher, projectors) route by district
    /// without keeping state.
    pub district: DistrictCode,
    /// When the fact happened in the world.
    pub effective_date: Date,
    /// Version of the payload's schema, for upcasting.
    pub schema_version: u32,
    /// SHA-256 (hex) of the command as decided. A retry must carry the same
    /// command; the same command id with another content is refused.
    pub command_fingerprint: String,
    /// Roles of the authenticated principal that recorded the event
    /// (`["service"]` for the service's own followers). Empty in events
    /// recorded before authentication existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actor_roles: Vec<String>,
    /// How the actor was authenticated (`bearer:<issuer>`,
    /// `certificate:<fingerprint prefix>`, `service`). Empty in events recorded
    /// before authentication existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub authenticated_by: String,
}

/// Why a stored event could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event type {event_type} has unknown schema version {version}")]
    UnknownVersion { event_type: String, version: u32 },
    #[error("event type {event_type}: payload does not match its schema: {reason}")]
    Payload { event_type: String, reason: String },
}

/// Where and what kind of JSON error, without serde's message: it may quote
/// the stored value, which can be personal data.
pub fn json_error(e: &serde_json::Error) -> String {
    format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column())
}

/// The stored form (JSON) of an event payload.
pub fn encode_payload<T: Serialize>(event: &T) -> Vec<u8> {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_vec(event).unwrap_or_default()
}

/// Reads a stored payload of schema `version` (upcasting would go here; there
/// is only version `current` yet) and checks that it is the `event_type` the
/// store says, by the type name `type_of` gives the decoded value.
pub fn decode_payload<T: serde::de::DeserializeOwned>(
    event_type: &str,
    version: u32,
    current: u32,
    data: &[u8],
    type_of: impl Fn(&T) -> &'static str,
) -> Result<T, DecodeError> {
    if version != current {
        return Err(DecodeError::UnknownVersion { event_type: event_type.into(), version });
    }
    let event: T = serde_json::from_slice(data)
        .map_err(|e| DecodeError::Payload { event_type: event_type.into(), reason: json_error(&e) })?;
    let actual = type_of(&event);
    if actual != event_type {
        return Err(DecodeError::Payload { event_type: event_type.into(), reason: format!("payload is a {actual}") });
    }
    Ok(event)
}

/// Event ids are derived from the command id, so a command re-decided after a
/// crash or a retry produces the same ids and the store can recognise them.
pub fn event_id(command_id: Uuid, index: usize) -> Uuid {
    Uuid::new_v5(&command_id, format!("event-{index}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stable_and_distinct() {
        let c = Uuid::new_v4();
        assert_eq!(event_id(c, 0), event_id(c, 0));
        assert_ne!(event_id(c, 0), event_id(c, 1));
        assert_ne!(event_id(c, 0), event_id(Uuid::new_v4(), 0));
    }
}
