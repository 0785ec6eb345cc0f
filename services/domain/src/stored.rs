//! Stored payloads read straight into their fact's type.
//!
//! An event is stored as one JSON object: `effective_date`, `fact` (the tag)
//! and the fact's own fields. serde's derive reads it through `flatten` and
//! the internal tag, which buffer every key and value twice before the fact's
//! type sees them: a contact took 7 004 instructions that way, 4 241 this
//! way (docs/PERFORMANCE.md, "One decoder for stored events").
//!
//! Here the fact's type comes from the stored event type. The date and the
//! tag are read from the object's first bytes as the service writes them
//! (`{"effective_date":"YYYY-MM-DD","fact":"<tag>",…`), the tag must name
//! the stored type, and the object is read once into the fact's type, which
//! passes over those two keys and, as the derive does, refuses either when
//! it comes a second time. Anything else (another order, an escape, a schema
//! version other than the current one, a payload the fact's type refuses)
//! goes to the derive, which gives the same value or says what is wrong:
//! [`PersonEvent::decode`] and [`EnterpriseEvent::decode`] are the one
//! decoder every reader uses (the command path, the publisher, the read
//! model, replay). Tests: this module's, and `leye-projections`'
//! `fast_decoding_equals_the_domains` over a long random history, both
//! against `decode_by_serde`.

use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::{
    Date,
    enterprise::{self, EnterpriseEvent, EnterpriseFact},
    person::{self, PersonEvent, PersonFact},
};

/// A person event read the short way, `None` when it does not read so.
pub(crate) fn person(event_type: &str, version: u32, data: &[u8]) -> Option<PersonEvent> {
    let (effective_date, fact) =
        event(event_type, version, data, ("person.", person::SCHEMA_VERSION), person_fact, PersonFact::event_type)?;
    Some(PersonEvent { effective_date, fact })
}

/// An enterprise event read the short way, `None` when it does not read so.
pub(crate) fn enterprise(event_type: &str, version: u32, data: &[u8]) -> Option<EnterpriseEvent> {
    let kind = ("enterprise.", enterprise::SCHEMA_VERSION);
    let (effective_date, fact) = event(event_type, version, data, kind, enterprise_fact, EnterpriseFact::event_type)?;
    Some(EnterpriseEvent { effective_date, fact })
}

/// The date and fact of an event of a kind (its event types' prefix, its
/// current schema version) read the short way: the head as written, the tag
/// naming the stored type, the fact from the kind's `table`.
fn event<F>(
    event_type: &str,
    version: u32,
    data: &[u8],
    (prefix, current): (&str, u32),
    table: fn(&str, &[u8]) -> Option<Option<F>>,
    type_of: fn(&F) -> &'static str,
) -> Option<(Date, F)> {
    let (effective_date, tag) = head(data).filter(|_| version == current)?;
    if event_type.strip_prefix(prefix) != Some(tag) {
        return None;
    }
    let fact = table(tag, data)??;
    // The tag chose the type: the derive's check that the payload is the type stored.
    (type_of(&fact) == event_type).then_some((effective_date, fact))
}

/// The fact of a person event tagged `tag`: `None` for a tag this table does
/// not know, `Some(None)` for a payload that does not read the short way.
fn person_fact(tag: &str, data: &[u8]) -> Option<Option<PersonFact>> {
    use PersonFact as F;
    Some(match tag {
        "registered" => fact(data).map(F::Registered),
        "difficulty_recognised" => fact(data).map(F::DifficultyRecognised),
        "contacted" => fact(data).map(F::Contacted),
        "job_recommended" => fact(data).map(F::JobRecommended),
        "training_enrolled" => fact(data).map(F::TrainingEnrolled),
        "training_completed" => fact(data).map(F::TrainingCompleted),
        "training_dropped" => fact(data).map(F::TrainingDropped),
        "placed" => fact(data).map(F::Placed),
        "placement_ended" => fact(data).map(F::PlacementEnded),
        "subsidy_proposed" => fact(data).map(F::SubsidyProposed),
        "subsidy_approved" => fact(data).map(F::SubsidyApproved),
        "subsidy_proposal_rejected" => fact(data).map(F::SubsidyProposalRejected),
        "subsidy_granted" => fact(data).map(F::SubsidyGranted),
        "subsidy_revoked" => fact(data).map(F::SubsidyRevoked),
        "benefit_started" => fact(data).map(F::BenefitStarted),
        "benefit_ended" => fact(data).map(F::BenefitEnded),
        "registration_exited" => fact(data).map(F::RegistrationExited),
        "household_joined" => fact(data).map(F::HouseholdJoined),
        "household_left" => fact(data).map(F::HouseholdLeft),
        "eligibility_found" => fact(data).map(F::EligibilityFound),
        "personal_data_erased" => fact(data).map(F::PersonalDataErased),
        _ => return None,
    })
}

/// The fact of an enterprise event tagged `tag`, as [`person_fact`].
fn enterprise_fact(tag: &str, data: &[u8]) -> Option<Option<EnterpriseFact>> {
    use EnterpriseFact as F;
    Some(match tag {
        "registered" => fact(data).map(F::Registered),
        "headcount_reported" => fact(data).map(F::HeadcountReported),
        "hire_recorded" => fact(data).map(F::HireRecorded),
        "batch_layoff_reported" => fact(data).map(F::BatchLayoffReported),
        "layoff_service_provided" => fact(data).map(F::LayoffServiceProvided),
        "internship_posts_offered" => fact(data).map(F::InternshipPostsOffered),
        "welfare_posts_developed" => fact(data).map(F::WelfarePostsDeveloped),
        "guarantee_loan_granted" => fact(data).map(F::GuaranteeLoanGranted),
        "layoff_plan_filed" => fact(data).map(F::LayoffPlanFiled),
        // No fields of its own: the object is still read whole.
        "designated_key_enterprise" => fact::<IgnoredAny>(data).map(|_| F::DesignatedKeyEnterprise),
        "labour_shortage_reported" => fact(data).map(F::LabourShortageReported),
        "subsidy_proposed" => fact(data).map(F::SubsidyProposed),
        "subsidy_approved" => fact(data).map(F::SubsidyApproved),
        "subsidy_proposal_rejected" => fact(data).map(F::SubsidyProposalRejected),
        "subsidy_granted" => fact(data).map(F::SubsidyGranted),
        "subsidy_revoked" => fact(data).map(F::SubsidyRevoked),
        "hire_linked" => fact(data).map(F::HireLinked),
        "hire_link_refused" => fact(data).map(F::HireLinkRefused),
        "eligibility_found" => fact(data).map(F::EligibilityFound),
        _ => return None,
    })
}

/// The date and tag of a payload as the service writes it, read from its
/// first bytes without scanning the rest: `{"effective_date":"YYYY-MM-DD",
/// "fact":"<tag>",…` (the derive's field order). Anything else: `None`.
fn head(data: &[u8]) -> Option<(Date, &str)> {
    let rest = data.strip_prefix(br#"{"effective_date":""#)?;
    let (date, rest) = rest.split_at_checked(10)?;
    let rest = rest.strip_prefix(br#"","fact":""#)?;
    // An escape or a control character in the tag: the derive reads it.
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if rest[end] != b'"' {
        return None;
    }
    let tag = std::str::from_utf8(&rest[..end]).ok()?;
    let number = |b: &[u8]| -> Option<u32> {
        b.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let date = Date::from_ymd_opt(i32::try_from(number(&date[..4])?).ok()?, number(&date[5..7])?, number(&date[8..])?)?;
    Some((date, tag))
}

/// The whole payload read into the fact's type `T`, which passes over
/// `effective_date` and `fact` (read by [`head`]); a second of either, or
/// anything after the object, is refused. `None` when it does not read.
fn fact<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let value = de::Deserializer::deserialize_map(&mut de, Payload::<T>(PhantomData)).ok()?;
    de.end().ok()?;
    Some(value)
}

struct Payload<T>(PhantomData<T>);

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for Payload<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event's payload")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(Keys { map, date: false, fact: false }))
    }
}

/// The payload's entries, `effective_date` and `fact` allowed once each (the
/// derive's "duplicate field").
struct Keys<A> {
    map: A,
    date: bool,
    fact: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Keys<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        // Keys borrowed from the input: one with an escape fails here, and the derive reads it.
        let Some(key) = self.map.next_key::<&'de str>()? else { return Ok(None) };
        let seen = match key {
            "effective_date" => Some((&mut self.date, "effective_date")),
            "fact" => Some((&mut self.fact, "fact")),
            _ => None,
        };
        if let Some((seen, name)) = seen {
            if std::mem::replace(seen, true) {
                return Err(de::Error::duplicate_field(name));
            }
        }
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests;
