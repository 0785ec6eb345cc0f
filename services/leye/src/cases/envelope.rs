//! How a command's events are kept in the store and read back: the
//! envelope (metadata) written with each event, the sealing of its personal
//! fields, the command fingerprint that recognises a retry, and the one
//! decoder of stored events ([`decode_with`]).

use leye_domain::{
    envelope::{EventMetadata, event_id},
    values::DistrictCode,
};
use leye_store::EventData;
use serde::Serialize;
use uuid::Uuid;

use super::{AppError, CaseKind, CommandMeta, Person, Recorded, case_id_of};
use crate::{identity::CaseIds, personal::PersonalData};

/// A decided event as the store keeps it: metadata (the command's envelope),
/// and the payload sealed with `personal` when given.
pub(super) fn encode<K: CaseKind>(
    meta: &CommandMeta,
    district: &DistrictCode,
    fingerprint: &str,
    index: usize,
    event: &K::Event,
    case_id: Uuid,
    personal: Option<&PersonalData>,
) -> Result<EventData, AppError> {
    let metadata = EventMetadata {
        command_id: meta.command_id,
        correlation_id: meta.correlation_id,
        causation_id: meta.causation_id,
        actor: meta.actor.clone(),
        office: meta.office.clone(),
        district: district.clone(),
        effective_date: K::effective_date(event),
        schema_version: K::SCHEMA_VERSION,
        command_fingerprint: fingerprint.to_string(),
        actor_roles: meta.access.roles(),
        authenticated_by: meta.access.authenticated_by(),
    };
    let event_id = event_id(meta.command_id, index);
    let event_type = K::event_type(event);
    let data = match personal {
        Some(p) => p.seal(case_id, event_id, event_type, K::encode(event))?,
        None => K::encode(event),
    };
    Ok(EventData {
        event_id,
        event_type: event_type.to_string(),
        data,
        // Plain data with string keys: serialisation cannot fail.
        metadata: serde_json::to_vec(&metadata).unwrap_or_default(),
    })
}

/// A stored person event with its envelope, decoded (upcast by schema version).
pub fn decode(e: leye_store::RecordedEvent) -> Result<Recorded, AppError> {
    decode_as::<Person>(e)
}

/// A stored event of kind `K` with its envelope, decoded (upcast by schema
/// version). The one decoder of stored events: the command path, the queries
/// and the publisher all read events through it.
pub fn decode_as<K: CaseKind>(e: leye_store::RecordedEvent) -> Result<Recorded<K::Event>, AppError> {
    decode_with::<K>(e, None)
}

/// [`decode_as`], opening personal fields with `personal` when given
/// (without it, sealed fields read as withheld).
pub fn decode_with<K: CaseKind>(
    e: leye_store::RecordedEvent,
    personal: Option<&PersonalData>,
) -> Result<Recorded<K::Event>, AppError> {
    let data = match personal {
        Some(p) => {
            let case_id = case_id_of::<K>(&e.stream)
                .ok_or_else(|| AppError::Corrupt(format!("{} is not a case stream", e.stream)))?;
            p.open(case_id, e.event_id, &e.event_type, &e.data)?
        }
        None => std::borrow::Cow::Borrowed(e.data.as_slice()),
    };
    let metadata: EventMetadata = serde_json::from_slice(&e.metadata).map_err(|err| {
        let err = leye_domain::person::json_error(&err);
        AppError::Corrupt(format!("{} revision {}: metadata: {err}", e.stream, e.revision))
    })?;
    let event = K::decode(&e.event_type, metadata.schema_version, &data)
        .map_err(|err| AppError::Corrupt(format!("{} revision {}: {err}", e.stream, e.revision)))?;
    Ok(Recorded {
        event_id: e.event_id,
        event_type: e.event_type,
        revision: e.revision,
        position: e.position,
        recorded_at: e.recorded_at,
        metadata,
        event,
    })
}

/// The fingerprint kept with a command's events ([`CaseIds::fingerprint`]):
/// of the case id and the command as decided, without its personal fields
/// (`resident_id` and `name` at any depth). The case id already stands for the
/// resident ID; leaving the name out means a fingerprint, even with the key,
/// never confirms a guessed name of an erased person (a retry with another
/// spelling of the name is the same command).
pub(super) fn fingerprint(ids: &CaseIds, case_id: Uuid, command: &impl Serialize) -> String {
    // Plain data with string keys: serialisation cannot fail.
    let mut value = serde_json::to_value(command).unwrap_or_default();
    without_personal_fields(&mut value);
    ids.fingerprint(case_id, &serde_json::to_vec(&value).unwrap_or_default())
}

fn without_personal_fields(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            fields.remove("resident_id");
            fields.remove("name");
            fields.values_mut().for_each(without_personal_fields);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_personal_fields),
        _ => {}
    }
}
