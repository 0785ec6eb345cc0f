//! What one stored event looks like on NATS: subject, headers, payload.
//!
//! - **Subject** `leye.v1.<case kind>.<district>.<event>`, e.g.
//!   `leye.v1.person.120111.placed`, `leye.v1.enterprise.120111.hire_recorded`:
//!   the case kind and event name come from the event type (`person.placed`),
//!   the district from the event's metadata (GB/T 2260 code of the person's
//!   residence district, or of the enterprise). Subscribers filter
//!   with wildcards: `leye.v1.person.120111.>`, `leye.v1.person.*.placed`.
//! - **Headers** (table in the README, "Consuming events"): `Nats-Msg-Id` is
//!   the event id, so JetStream drops a re-publish within its duplicate
//!   window; the `Leye-*` headers carry the envelope ([`headers`]).
//! - **Payload** the protobuf `leye.person.v1.PersonEvent` or
//!   `leye.enterprise.v1.EnterpriseEvent` of the fact (header
//!   `Leye-Payload-Type` says which), built by [`crate::wire`], the same
//!   mapping the gRPC API uses.
//!
//! # Invariant
//! Subjects and headers hold codes, ids, numbers and dates only; personal data
//! (resident ID, name, free text) is only ever in the payload.

use async_nats::{HeaderMap, header::HeaderName};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use leye_domain::values::DistrictCode;
use leye_proto::enterprise::v1 as epb;
use leye_store::{Position, RecordedEvent};
use prost::Message;
use uuid::Uuid;

use leye_domain::person::PersonFact;

use crate::{
    cases::{self, Enterprise, Person, Recorded},
    personal::PersonalData,
    wire,
};

/// First tokens of every subject leye publishes; the major version changes
/// only with a new protobuf package (`leye.person.v2`).
pub const SUBJECT_PREFIX: &str = "leye.v1";

/// The subjects of the JetStream stream: everything under [`SUBJECT_PREFIX`].
pub const STREAM_SUBJECTS: &str = "leye.v1.>";

/// The credit-code prefix of a sole proprietorship (个体工商户: registration
/// authority 9, kind 2, GB 32100-2015), whose name may be its owner's.
const SOLE_PROPRIETORSHIP: &str = "92";

/// Names of the headers on every message. Values are ASCII.
pub mod headers {
    /// The event id (UUID), the de-duplication key of JetStream.
    pub const NATS_MSG_ID: &str = "Nats-Msg-Id";
    /// The event id (UUID), the subscriber's de-duplication key.
    pub const EVENT_ID: &str = "Leye-Event-Id";
    /// The stable event type, e.g. `person.placed`.
    pub const EVENT_TYPE: &str = "Leye-Event-Type";
    /// Version of the event's schema (decimal), today `1`.
    pub const SCHEMA_VERSION: &str = "Leye-Schema-Version";
    /// The case (UUID, a pseudonym: reveals nothing about the person).
    pub const CASE_ID: &str = "Leye-Case-Id";
    /// Place of the event in its case, from 0 (decimal).
    pub const REVISION: &str = "Leye-Revision";
    /// Place of the event in leye's global log (decimal, increasing).
    pub const GLOBAL_POSITION: &str = "Leye-Global-Position";
    /// The command that produced the event (UUID).
    pub const COMMAND_ID: &str = "Leye-Command-Id";
    /// Ties together the commands and events of one business transaction (UUID).
    pub const CORRELATION_ID: &str = "Leye-Correlation-Id";
    /// The message that caused the command (UUID).
    pub const CAUSATION_ID: &str = "Leye-Causation-Id";
    /// When the fact happened in the world, `YYYY-MM-DD` (Beijing time).
    pub const EFFECTIVE_DATE: &str = "Leye-Effective-Date";
    /// When leye recorded the event, RFC 3339 UTC with microseconds.
    pub const RECORDED_AT: &str = "Leye-Recorded-At";
    /// The case's district (GB/T 2260), also in the subject.
    pub const DISTRICT: &str = "Leye-District";
    /// The protobuf message in the payload: `leye.person.v1.PersonEvent` or
    /// `leye.enterprise.v1.EnterpriseEvent`.
    pub const PAYLOAD_TYPE: &str = "Leye-Payload-Type";
}

/// The protobuf message type of person event payloads.
pub const PERSON_PAYLOAD_TYPE: &str = "leye.person.v1.PersonEvent";
/// The protobuf message type of enterprise event payloads.
pub const ENTERPRISE_PAYLOAD_TYPE: &str = "leye.enterprise.v1.EnterpriseEvent";

/// One event, ready to publish.
#[derive(Debug, Clone)]
pub struct OutboundEvent {
    pub subject: String,
    pub headers: HeaderMap,
    /// Encoded `leye.person.v1.PersonEvent` (or `EnterpriseEvent`). Holds personal data for
    /// registrations: never logged.
    pub payload: Bytes,
    /// Where the event is in the store's global log: the checkpoint moves here
    /// once JetStream acknowledges it.
    pub position: Position,
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// Why a stored event cannot be published. The texts name the event by id,
/// type and position, never its content.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("event {event_id} at position {position} is in stream {stream}, which is not a case stream leye publishes")]
    UnknownStream { event_id: Uuid, position: Position, stream: String },
    #[error(
        "event {event_id} ({event_type}) at position {position} cannot be decoded by this version of leye \
         (unknown schema version or corrupt payload; inspect it with `leye replay`)"
    )]
    Undecodable { event_id: Uuid, event_type: String, position: Position },
}

/// Builds the message of a stored event. Personal fields are opened with
/// `personal` when given (subscribers entitled to them); otherwise a
/// `registered` payload carries neither resident ID nor name
/// (`personal_data: WITHHELD`).
pub fn build(event: RecordedEvent, personal: Option<&PersonalData>) -> Result<OutboundEvent, BuildError> {
    let (event_id, position) = (event.event_id, event.position);
    let event_type = event.event_type.clone();
    // The decoder's error text may quote the payload: it is dropped here.
    let undecodable = |_| BuildError::Undecodable { event_id, event_type: event_type.clone(), position };
    if let Some(case_id) = cases::case_id_of::<Person>(&event.stream) {
        let recorded = cases::decode_with::<Person>(event, personal).map_err(undecodable)?;
        let payload = match (&recorded.event.fact, personal) {
            // Withheld whatever the store's form (also a store not yet migrated).
            (PersonFact::Registered(r), None) => {
                let mut r = r.clone();
                r.resident_id = r.resident_id.withheld(r.resident_id.is_erased());
                r.name = None;
                wire::to_proto_event(&PersonFact::Registered(r))
            }
            (fact, _) => wire::to_proto_event(fact),
        }
        .encode_to_vec();
        return Ok(outbound(case_id, &recorded, payload, PERSON_PAYLOAD_TYPE));
    }
    if let Some(case_id) = cases::case_id_of::<Enterprise>(&event.stream) {
        let recorded = cases::decode_as::<Enterprise>(event).map_err(undecodable)?;
        let mut message = wire::enterprise::to_proto_enterprise_event(&recorded.event.fact);
        // A sole proprietorship (个体工商户, credit code 92…) is often named
        // after its owner: its name is withheld as a person's is.
        if let (Some(epb::enterprise_event::Event::Registered(r)), None) = (message.event.as_mut(), personal) {
            if r.credit_code.starts_with(SOLE_PROPRIETORSHIP) {
                r.name.clear();
            }
        }
        let payload = message.encode_to_vec();
        return Ok(outbound(case_id, &recorded, payload, ENTERPRISE_PAYLOAD_TYPE));
    }
    Err(BuildError::UnknownStream { event_id, position, stream: event.stream.to_string() })
}

fn outbound<E>(case_id: Uuid, recorded: &Recorded<E>, payload: Vec<u8>, payload_type: &'static str) -> OutboundEvent {
    let meta = wire::to_proto_metadata(case_id, recorded);
    let district = &recorded.metadata.district;
    // Names are static (no copy, no validation per message); values are
    // moved in where they are already owned strings.
    let name = HeaderName::from_static;
    let mut h = HeaderMap::new();
    h.insert(name(headers::NATS_MSG_ID), meta.event_id.as_str());
    h.insert(name(headers::EVENT_ID), meta.event_id);
    h.insert(name(headers::EVENT_TYPE), meta.event_type);
    h.insert(name(headers::SCHEMA_VERSION), meta.schema_version.to_string());
    h.insert(name(headers::CASE_ID), meta.case_id);
    h.insert(name(headers::REVISION), meta.revision.to_string());
    h.insert(name(headers::GLOBAL_POSITION), meta.global_position.to_string());
    h.insert(name(headers::COMMAND_ID), meta.command_id);
    h.insert(name(headers::CORRELATION_ID), meta.correlation_id);
    h.insert(name(headers::CAUSATION_ID), meta.causation_id);
    h.insert(name(headers::EFFECTIVE_DATE), meta.effective_date);
    h.insert(name(headers::RECORDED_AT), recorded.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true));
    h.insert(name(headers::DISTRICT), district.as_str());
    h.insert(name(headers::PAYLOAD_TYPE), payload_type);

    OutboundEvent {
        subject: subject(&recorded.event_type, district),
        headers: h,
        payload: Bytes::from(payload),
        position: recorded.position,
        event_id: recorded.event_id,
        recorded_at: recorded.recorded_at,
    }
}

/// `leye.v1.<kind>.<district>.<event>` for an event type `<kind>.<event>`.
/// Event types are the domain's static names (lowercase letters and `_`), and
/// district codes are six digits: every token is a valid, literal NATS token.
pub fn subject(event_type: &str, district: &DistrictCode) -> String {
    let (kind, name) = event_type.split_once('.').unwrap_or(("unknown", event_type));
    format!("{SUBJECT_PREFIX}.{kind}.{}.{name}", district.as_str())
}

/// The global position a published message carries, if it is one of ours.
pub fn position_of(headers: &HeaderMap) -> Option<Position> {
    let raw = headers.get(headers::GLOBAL_POSITION)?;
    // SQLite positions are one sequence number (commit = prepare). A KurrentDB
    // adapter would need both parts here, e.g. in a second header.
    raw.as_str().parse::<u64>().ok().map(Position::from_sequence)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use leye_domain::{
        envelope::EventMetadata,
        person::{self, PersonEvent, PersonFact},
        values::{PersonName, ResidentId},
    };
    use leye_proto::person::v1 as pb;
    use leye_store::StreamName;

    use super::*;

    const RESIDENT_ID: &str = "120111198307040057";
    const NAME: &str = "王测试";

    fn registration() -> person::Registration {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        person::Registration {
            resident_id: ResidentId::parse(RESIDENT_ID, today).unwrap().into(),
            name: Some(PersonName::parse(NAME).unwrap()),
            hukou: person::Hukou {
                county: leye_domain::values::CountyCode::parse("120111").unwrap(),
                nature: person::HukouNature::Urban,
            },
            residence: leye_domain::values::Residence::parse("120111", "120111001", "120111001002").unwrap(),
            education: person::Education::Bachelor,
            graduation: None,
            household: None,
            groups: Default::default(),
        }
    }

    fn stored(fact: PersonFact, case_id: Uuid) -> RecordedEvent {
        let effective_date = chrono::NaiveDate::from_ymd_opt(2025, 12, 30).unwrap();
        let event = PersonEvent { effective_date, fact };
        let command_id = Uuid::new_v4();
        let metadata = EventMetadata {
            command_id,
            correlation_id: Uuid::new_v4(),
            causation_id: command_id,
            actor: "staff-1".into(),
            office: "120111001".into(),
            district: DistrictCode::parse("120111").unwrap(),
            effective_date,
            schema_version: person::SCHEMA_VERSION,
            command_fingerprint: "f".into(),
            actor_roles: Vec::new(),
            authenticated_by: String::new(),
        };
        RecordedEvent {
            stream: crate::cases::person_stream(case_id),
            revision: 3,
            position: Position::from_sequence(42),
            event_id: leye_domain::envelope::event_id(command_id, 0),
            event_type: event.fact.event_type().into(),
            data: event.encode(),
            metadata: serde_json::to_vec(&metadata).unwrap(),
            recorded_at: Utc.with_ymd_and_hms(2026, 1, 1, 2, 3, 4).unwrap(),
        }
    }

    /// The message of one enterprise fact of case `case_id`.
    fn enterprise_message(
        fact: leye_domain::enterprise::EnterpriseFact,
        case_id: Uuid,
        personal: Option<&PersonalData>,
    ) -> OutboundEvent {
        let effective_date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let event = leye_domain::enterprise::EnterpriseEvent { effective_date, fact };
        let command_id = Uuid::new_v4();
        let metadata = EventMetadata {
            command_id,
            correlation_id: command_id,
            causation_id: command_id,
            actor: "staff-1".into(),
            office: "120116001".into(),
            district: DistrictCode::parse("120116").unwrap(),
            effective_date,
            schema_version: leye_domain::enterprise::SCHEMA_VERSION,
            command_fingerprint: "f".into(),
            actor_roles: Vec::new(),
            authenticated_by: String::new(),
        };
        build(
            RecordedEvent {
                stream: crate::cases::stream_of::<crate::cases::Enterprise>(case_id),
                revision: 1,
                position: Position::from_sequence(7),
                event_id: leye_domain::envelope::event_id(command_id, 0),
                event_type: event.fact.event_type().into(),
                data: event.encode(),
                metadata: serde_json::to_vec(&metadata).unwrap(),
                recorded_at: Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
            },
            personal,
        )
        .unwrap()
    }

    #[test]
    fn an_enterprise_event_is_published_under_the_enterprise_kind_with_its_payload_type() {
        use leye_domain::enterprise::{BatchLayoff, EnterpriseFact};
        use leye_proto::enterprise::v1 as epb;
        let layoff = BatchLayoff { layoff_id: "L1".into(), people: std::num::NonZeroU32::new(40).unwrap() };
        let case_id = Uuid::new_v4();
        let m = enterprise_message(EnterpriseFact::BatchLayoffReported(layoff), case_id, None);
        assert_eq!(m.subject, "leye.v1.enterprise.120116.batch_layoff_reported");
        let h = |name: &str| m.headers.get(name).map(|v| v.as_str().to_string()).unwrap_or_default();
        assert_eq!(h(headers::PAYLOAD_TYPE), ENTERPRISE_PAYLOAD_TYPE);
        assert_eq!(h(headers::CASE_ID), case_id.to_string());
        let decoded = epb::EnterpriseEvent::decode(m.payload.as_ref()).unwrap();
        assert_eq!(decoded.layoff_response, epb::LayoffResponse::TrainingAndJobFairs as i32);
        let Some(epb::enterprise_event::Event::BatchLayoffReported(l)) = decoded.event else { panic!("not a layoff") };
        assert_eq!((l.layoff_id.as_str(), l.people), ("L1", 40));
    }

    #[test]
    fn a_sole_proprietorship_s_name_is_withheld_unless_personal_data_is_published() {
        use leye_domain::enterprise::{EnterpriseFact, EnterpriseRegistration};
        use leye_proto::enterprise::v1 as epb;
        let registration = |code: &str| -> EnterpriseFact {
            EnterpriseFact::Registered(
                serde_json::from_value::<EnterpriseRegistration>(serde_json::json!({
                    "credit_code": code, "name": "西青区测试人五金店", "district": "120111",
                    "industry_code": "F5211", "insured_employees": 1, "small_micro": true, "kinds": ["other"],
                }))
                .unwrap(),
            )
        };
        let name = |m: &OutboundEvent| {
            let decoded = epb::EnterpriseEvent::decode(m.payload.as_ref()).unwrap();
            let Some(epb::enterprise_event::Event::Registered(r)) = decoded.event else { panic!("not a registration") };
            r.name
        };
        // 个体工商户 (92…): often its owner's name, withheld by default.
        assert_eq!(name(&enterprise_message(registration("92120111MA05JX0K03"), Uuid::new_v4(), None)), "");
        // A company (91…): its registered name.
        let company = enterprise_message(registration("91120111MA05JX0K06"), Uuid::new_v4(), None);
        assert_eq!(name(&company), "西青区测试人五金店");
    }

    #[test]
    fn subject_has_kind_district_and_event_name() {
        let d = DistrictCode::parse("120111").unwrap();
        assert_eq!(subject("person.placed", &d), "leye.v1.person.120111.placed");
        assert_eq!(subject("person.difficulty_recognised", &d), "leye.v1.person.120111.difficulty_recognised");
    }

    #[test]
    fn every_event_type_makes_literal_subject_tokens() {
        // The decider's names: lowercase ASCII and '_' only, no wildcards or dots
        // beyond the kind separator.
        let names = [
            "person.registered",
            "person.difficulty_recognised",
            "person.contacted",
            "person.job_recommended",
            "person.training_enrolled",
            "person.training_completed",
            "person.training_dropped",
            "person.placed",
            "person.placement_ended",
            "person.subsidy_granted",
            "person.subsidy_revoked",
            "person.benefit_started",
            "person.benefit_ended",
            "person.registration_exited",
            "person.eligibility_found",
        ];
        let d = DistrictCode::parse("120101").unwrap();
        for n in names {
            let s = subject(n, &d);
            let tokens: Vec<&str> = s.split('.').collect();
            assert_eq!(tokens.len(), 5, "{s}");
            assert!(
                tokens
                    .iter()
                    .all(|t| !t.is_empty()
                        && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "{s}"
            );
        }
    }

    #[test]
    fn message_carries_envelope_in_headers_and_fact_in_payload() {
        let case_id = Uuid::new_v4();
        let e = stored(PersonFact::Registered(registration()), case_id);
        let event_id = e.event_id;
        let m = build(e.clone(), None).unwrap();
        assert_eq!(m.subject, "leye.v1.person.120111.registered");
        let h = |name: &str| m.headers.get(name).map(|v| v.as_str().to_string()).unwrap_or_default();
        assert_eq!(h(headers::NATS_MSG_ID), event_id.to_string());
        assert_eq!(h(headers::EVENT_ID), event_id.to_string());
        assert_eq!(h(headers::EVENT_TYPE), "person.registered");
        assert_eq!(h(headers::SCHEMA_VERSION), "1");
        assert_eq!(h(headers::CASE_ID), case_id.to_string());
        assert_eq!(h(headers::REVISION), "3");
        assert_eq!(h(headers::GLOBAL_POSITION), "42");
        assert_eq!(h(headers::EFFECTIVE_DATE), "2025-12-30");
        assert_eq!(h(headers::RECORDED_AT), "2026-01-01T02:03:04.000000Z");
        assert_eq!(h(headers::DISTRICT), "120111");
        assert_eq!(h(headers::PAYLOAD_TYPE), PERSON_PAYLOAD_TYPE);
        assert!(Uuid::parse_str(&h(headers::CORRELATION_ID)).is_ok());
        assert!(Uuid::parse_str(&h(headers::COMMAND_ID)).is_ok());
        assert_eq!(position_of(&m.headers), Some(Position::from_sequence(42)));

        // Personal data: in the payload only.
        let all_headers: String =
            m.headers.iter().flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}: {}\n", v.as_str()))).collect();
        for secret in [RESIDENT_ID, NAME] {
            assert!(!all_headers.contains(secret) && !m.subject.contains(secret));
        }
        // By default not in the payload either: the case id alone.
        let registered = |m: &OutboundEvent| {
            let decoded = pb::PersonEvent::decode(m.payload.as_ref()).unwrap();
            let Some(pb::person_event::Event::Registered(r)) = decoded.event else { panic!("not a registration") };
            r
        };
        let r = registered(&m);
        assert_eq!((r.resident_id.as_str(), r.name.as_str()), ("", ""));
        assert_eq!(r.personal_data, pb::PersonalDataState::Withheld as i32);
        assert_eq!(r.residence.unwrap().community_code, "120111001002");
        // For entitled subscribers, opened from the sealed store.
        let dir = tempfile::tempdir().unwrap();
        let vault = crate::personal::VaultConfig {
            key_store: dir.path().join("keys.sqlite"),
            shared: None,
            master_key_file: dir.path().join("master.key"),
            cipher: leye_vault::Cipher::Aes256Gcm,
        }
        .open()
        .unwrap();
        let mut sealed = e;
        sealed.data = vault.seal(case_id, sealed.event_id, "person.registered", sealed.data).unwrap();
        assert!(!String::from_utf8_lossy(&sealed.data).contains(RESIDENT_ID));
        let r = registered(&build(sealed.clone(), Some(&vault)).unwrap());
        assert_eq!((r.resident_id.as_str(), r.name.as_str()), (RESIDENT_ID, NAME));
        assert_eq!(r.personal_data, pb::PersonalDataState::Present as i32);
        assert_eq!(registered(&build(sealed, None).unwrap()).resident_id, "");
    }

    #[test]
    fn an_eligibility_finding_is_published_under_its_own_subject_with_rule_clause_and_reasons() {
        let finding = person::EligibilityFinding {
            rule_id: "xiqing.hiring.one-time".into(),
            rule_valid_from: chrono::NaiveDate::from_ymd_opt(2020, 5, 18).unwrap(),
            programme: "xiqing-hiring-one-time".into(),
            clause: "000 § 9".into(),
            reasons: vec![person::EligibilityReason {
                check: "placement_kinds".into(),
                detail: "placement is enterprise".into(),
                clause: "000 § 9".into(),
            }],
            amount: Some(leye_domain::values::Fen::positive(100_000).unwrap()),
        };
        let m = build(stored(PersonFact::EligibilityFound(finding), Uuid::new_v4()), None).unwrap();
        assert_eq!(m.subject, "leye.v1.person.120111.eligibility_found");
        let decoded = pb::PersonEvent::decode(m.payload.as_ref()).unwrap();
        let Some(pb::person_event::Event::EligibilityFound(f)) = decoded.event else { panic!("not a finding") };
        assert_eq!((f.rule_id.as_str(), f.rule_valid_from.as_str()), ("xiqing.hiring.one-time", "2020-05-18"));
        assert_eq!(
            (f.programme.as_str(), f.clause.as_str(), f.amount_fen),
            ("xiqing-hiring-one-time", "000 § 9", Some(100_000))
        );
        assert_eq!(f.reasons.len(), 1);
        assert_eq!((f.reasons[0].check.as_str(), f.reasons[0].clause.as_str()), ("placement_kinds", "000 § 9"));
    }

    #[test]
    fn foreign_and_corrupt_events_are_refused_without_their_content() {
        let mut e = stored(PersonFact::Registered(registration()), Uuid::new_v4());
        e.stream = StreamName::parse("enterprise-1").unwrap();
        assert!(matches!(build(e, None), Err(BuildError::UnknownStream { .. })));

        let mut e = stored(PersonFact::Registered(registration()), Uuid::new_v4());
        e.data = format!("{{\"effective_date\":\"2025-12-30\",\"registered\":{{\"name\":\"{NAME}\"}}}}").into_bytes();
        let err = build(e, None).unwrap_err();
        assert!(matches!(err, BuildError::Undecodable { .. }));
        assert!(!err.to_string().contains(NAME), "{err}");
    }
}
