use super::*;
use crate::{
    enterprise::Headcount,
    person::{Contact, ContactChannel, ContactOutcome, ErasureGround, PersonalDataErasure},
};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn person_events() -> Vec<PersonEvent> {
    vec![
        PersonEvent {
            effective_date: d("2026-03-02"),
            fact: PersonFact::Contacted(Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: "called about the \"port\" vacancy; visits Monday 周一".into(),
            }),
        },
        PersonEvent {
            effective_date: d("2026-04-30"),
            fact: PersonFact::PersonalDataErased(PersonalDataErasure { ground: ErasureGround::ConsentWithdrawn }),
        },
    ]
}

fn enterprise_events() -> Vec<EnterpriseEvent> {
    vec![
        EnterpriseEvent {
            effective_date: d("2026-02-01"),
            fact: EnterpriseFact::HeadcountReported(Headcount { month: d("2026-02-01"), insured_employees: 412 }),
        },
        EnterpriseEvent { effective_date: d("2026-02-03"), fact: EnterpriseFact::DesignatedKeyEnterprise },
    ]
}

#[test]
fn a_payload_as_the_service_writes_it_is_read_the_short_way_and_equals_the_derive() {
    for e in person_events() {
        let (t, data) = (e.fact.event_type(), e.encode());
        assert_eq!(person(t, person::SCHEMA_VERSION, &data).as_ref(), Some(&e), "{t}");
        assert_eq!(PersonEvent::decode_by_serde(t, person::SCHEMA_VERSION, &data).ok().as_ref(), Some(&e), "{t}");
        assert_eq!(PersonEvent::decode(t, person::SCHEMA_VERSION, &data).ok().as_ref(), Some(&e), "{t}");
    }
    for e in enterprise_events() {
        let (t, data) = (e.fact.event_type(), e.encode());
        assert_eq!(enterprise(t, enterprise::SCHEMA_VERSION, &data).as_ref(), Some(&e), "{t}");
        assert_eq!(
            EnterpriseEvent::decode_by_serde(t, enterprise::SCHEMA_VERSION, &data).ok().as_ref(),
            Some(&e),
            "{t}"
        );
        assert_eq!(EnterpriseEvent::decode(t, enterprise::SCHEMA_VERSION, &data).ok().as_ref(), Some(&e), "{t}");
    }
}

/// The tags serde's derive knows, from its "unknown variant" message.
fn derive_tags<T: DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
    let err = serde_json::from_str::<T>(r#"{"fact":"?"}"#).unwrap_err().to_string();
    let listed = err.split_once("expected one of").unwrap_or_else(|| panic!("{err}")).1;
    listed.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn every_fact_the_derive_knows_is_in_the_tables() {
    let people = derive_tags::<PersonFact>();
    assert_eq!(people.len(), 21, "{people:?}");
    for tag in &people {
        assert!(person_fact(tag, b"{}").is_some(), "person.{tag} is not in the short way's table");
    }
    let enterprises = derive_tags::<EnterpriseFact>();
    assert_eq!(enterprises.len(), 19, "{enterprises:?}");
    for tag in &enterprises {
        assert!(enterprise_fact(tag, b"{}").is_some(), "enterprise.{tag} is not in the short way's table");
    }
    assert!(person_fact("no_such_fact", b"{}").is_none() && enterprise_fact("no_such_fact", b"{}").is_none());
}

/// `data` does not read the short way, and `decode` answers as the derive does.
fn as_the_derive(event_type: &str, version: u32, data: &str) -> Result<PersonEvent, crate::person::DecodeError> {
    assert_eq!(person(event_type, version, data.as_bytes()), None, "{data}");
    let by_serde = PersonEvent::decode_by_serde(event_type, version, data.as_bytes());
    let decoded = PersonEvent::decode(event_type, version, data.as_bytes());
    assert_eq!(decoded.as_ref().map_err(ToString::to_string), by_serde.as_ref().map_err(ToString::to_string), "{data}");
    decoded
}

#[test]
fn what_the_derive_refuses_is_refused_with_its_words() {
    let contact = r#""channel":"phone","outcome":"still_seeking","note":"n""#;
    let head = r#"{"effective_date":"2026-03-02","fact":"contacted""#;
    let v = person::SCHEMA_VERSION;
    for data in [
        // A second date or tag after the fact's fields.
        format!(r#"{head},{contact},"effective_date":"2026-03-03"}}"#),
        format!(r#"{head},{contact},"fact":"placed"}}"#),
        // Something after the object, a field missing or of another type.
        format!(r#"{head},{contact}}} x"#),
        format!(r#"{head},"channel":"phone","note":"n"}}"#),
        format!(r#"{head},"channel":"fax","outcome":"still_seeking","note":"n"}}"#),
        // A date that is none.
        format!(r#"{{"effective_date":"2026-02-30","fact":"contacted",{contact}}}"#),
    ] {
        assert!(as_the_derive("person.contacted", v, &data).is_err(), "{data}");
    }
    let as_written = format!("{head},{contact}}}");
    // Another type than stored, another schema version.
    assert!(as_the_derive("person.placed", v, &as_written).is_err());
    assert!(as_the_derive("person.contacted", v + 1, &as_written).is_err());
}

#[test]
fn another_order_an_escape_or_white_space_goes_to_the_derive_with_the_same_value() {
    let v = person::SCHEMA_VERSION;
    let expected = PersonEvent {
        effective_date: d("2026-03-02"),
        fact: PersonFact::Contacted(Contact {
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::StillSeeking,
            note: "n".into(),
        }),
    };
    for data in [
        r#"{"fact":"contacted","effective_date":"2026-03-02","channel":"phone","outcome":"still_seeking","note":"n"}"#,
        r#"{"effective_date":"2026-03-02","fact":"contact\u0065d","channel":"phone","outcome":"still_seeking","note":"n"}"#,
        r#"{ "effective_date":"2026-03-02","fact":"contacted","channel":"phone","outcome":"still_seeking","note":"n"}"#,
        r#"{"effective_date":"2026-03-02","fact":"contacted","ch\u0061nnel":"phone","outcome":"still_seeking","note":"n"}"#,
    ] {
        assert_eq!(as_the_derive("person.contacted", v, data).ok(), Some(expected.clone()), "{data}");
    }
}

#[test]
fn the_head_as_written_is_what_serde_reads() {
    #[derive(serde::Deserialize)]
    struct Head {
        effective_date: Date,
        fact: String,
    }
    for data in [
        &br#"{"effective_date":"2025-03-09","fact":"contacted","channel":"phone"}"#[..],
        br#"{"effective_date":"0999-12-31","fact":"placed"}"#,
    ] {
        let serde: Head = serde_json::from_slice(data).unwrap();
        assert_eq!(head(data), Some((serde.effective_date, serde.fact.as_str())));
    }
    // Anything unusual is left to the derive.
    for data in [
        &br#"{"fact":"contacted","effective_date":"2025-03-09"}"#[..],
        br#"{"effective_date":"2025-02-30","fact":"contacted"}"#,
        br#"{"effective_date":"2025-3-9xx","fact":"contacted"}"#,
        br#"{"effective_date":"2025-03-09","fact":"cont\u0061cted"}"#,
        b"{\"effective_date\":\"2025-03-09\",\"fact\":\"cont\x01acted\"}",
        br#"{"effective_date":"2025-03-09","fact":"#,
        b"",
    ] {
        assert!(head(data).is_none(), "{}", String::from_utf8_lossy(data));
    }
}
