//! Events of the log decoded for the fold: the payload and the metadata the
//! projector reads, parsed from the stored JSON. Decoding is a pure function
//! of one event, so a rebuild does it on the reading side, in parallel with
//! the folding thread ([`crate::runner::rebuild`]); the live follower decodes
//! inside [`crate::Projector::apply`]. Both use this one decoder.
//!
//! The payload goes through the domain's `PersonEvent::decode` and
//! `EnterpriseEvent::decode`, which read a payload as the service writes it
//! straight into its fact's type (`leye_domain`'s `stored` module); the test
//! `fast_decoding_equals_the_domains` (tests/rebuild.rs) holds what the fold
//! gets equal to serde's derive on every event of a long random history.
//!
//! Events the read model does not fold (subsidy proposals and their review,
//! erasures, an enterprise's headcounts, hires, plans and shortages) are known
//! by their stored type and not decoded at all; neither are streams other
//! than `person-…` and `enterprise-…`. Of the metadata only the office, the
//! district and the schema version are read: straight from its bytes when it
//! is the flat object of plain strings and numbers the service writes
//! (`meta_as_written`), by serde otherwise (same value, or serde's error).
//! Of a person event whose metadata the fold does not read (all but a
//! registration's office and a grant's district: contacts and job
//! recommendations are three quarters of the log) only the schema version is
//! read, from its one `"schema_version":` key (`version_as_written`; a JSON
//! string cannot hold those bytes unescaped), the whole object as above when
//! that key is not found exactly once with a plain number.

use leye_domain::{enterprise::EnterpriseEvent, person::PersonEvent, values::DistrictCode};
use leye_store::{Position, RecordedEvent};
use serde::Deserialize;

use crate::ProjectionError;

/// One event of the global log, decoded.
#[derive(Debug)]
pub struct Decoded {
    pub(crate) position: Position,
    pub(crate) case: Case,
}

/// What the fold reads of an event's metadata.
#[derive(Debug, Deserialize)]
pub(crate) struct Meta {
    /// The service office that recorded the fact.
    pub office: String,
    /// The case's district when the fact was recorded.
    pub district: DistrictCode,
    schema_version: u32,
}

/// The case an event belongs to, with its decoded event.
#[derive(Debug)]
pub(crate) enum Case {
    Person {
        case_id: String,
        /// `None` for the events whose metadata the fold does not read
        /// ([`PERSON_READS_METADATA`]).
        metadata: Option<Meta>,
        event: PersonEvent,
    },
    Enterprise {
        case_id: String,
        metadata: Meta,
        event: EnterpriseEvent,
    },
    /// A stream, or an event type, the read model does not project.
    Other,
}

/// Person event types the fold passes over (see `projector::apply_one`).
const PERSON_NOT_FOLDED: [&str; 4] = [
    "person.subsidy_proposed",
    "person.subsidy_approved",
    "person.subsidy_proposal_rejected",
    "person.personal_data_erased",
];

/// Person event types whose metadata the fold reads: a registration's office
/// (its spell's) and a grant's district (where it counts).
const PERSON_READS_METADATA: [&str; 2] = ["person.registered", "person.subsidy_granted"];

/// Enterprise event types the fold passes over (see `enterprises::apply_one`).
const ENTERPRISE_NOT_FOLDED: [&str; 9] = [
    "enterprise.headcount_reported",
    "enterprise.hire_recorded",
    "enterprise.layoff_plan_filed",
    "enterprise.labour_shortage_reported",
    "enterprise.subsidy_proposed",
    "enterprise.subsidy_approved",
    "enterprise.subsidy_proposal_rejected",
    "enterprise.hire_linked",
    "enterprise.hire_link_refused",
];

impl Decoded {
    /// Decodes a stored event (upcast by its schema version). Streams other
    /// than `person-…` and `enterprise-…`, and event types the read model
    /// does not fold, decode to nothing to fold.
    pub fn decode(e: &RecordedEvent) -> Result<Self, ProjectionError> {
        let corrupt = |what: String| ProjectionError::Corrupt(format!("{} revision {}: {what}", e.stream, e.revision));
        let metadata = || -> Result<Meta, ProjectionError> {
            meta_as_written(&e.metadata).map_or_else(
                || {
                    serde_json::from_slice(&e.metadata)
                        .map_err(|err| corrupt(format!("metadata: {}", leye_domain::person::json_error(&err))))
                },
                Ok,
            )
        };
        let stream = e.stream.as_str();
        let event_type = e.event_type.as_str();
        let case = if let Some(case_id) = stream.strip_prefix("enterprise-") {
            if ENTERPRISE_NOT_FOLDED.contains(&event_type) {
                Case::Other
            } else {
                let metadata = metadata()?;
                let event = EnterpriseEvent::decode(event_type, metadata.schema_version, &e.data)
                    .map_err(|err| corrupt(err.to_string()))?;
                Case::Enterprise { case_id: case_id.to_string(), metadata, event }
            }
        } else if let Some(case_id) = stream.strip_prefix("person-") {
            if PERSON_NOT_FOLDED.contains(&event_type) {
                Case::Other
            } else {
                let (version, metadata) = if PERSON_READS_METADATA.contains(&event_type) {
                    let metadata = metadata()?;
                    (metadata.schema_version, Some(metadata))
                } else {
                    match version_as_written(&e.metadata) {
                        Some(version) => (version, None),
                        None => (metadata()?.schema_version, None),
                    }
                };
                let event =
                    PersonEvent::decode(event_type, version, &e.data).map_err(|err| corrupt(err.to_string()))?;
                Case::Person { case_id: case_id.to_string(), metadata, event }
            }
        } else {
            Case::Other
        };
        Ok(Self { position: e.position, case })
    }

    /// The event's position in the global log.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The person event decoded, if this is one the fold reads (for tests
    /// that hold this decoder equal to the domain's).
    pub fn person_event(&self) -> Option<&PersonEvent> {
        match &self.case {
            Case::Person { event, .. } => Some(event),
            _ => None,
        }
    }

    /// The enterprise event decoded, if this is one the fold reads.
    pub fn enterprise_event(&self) -> Option<&EnterpriseEvent> {
        match &self.case {
            Case::Enterprise { event, .. } => Some(event),
            _ => None,
        }
    }
}

/// The metadata's three fields the fold reads, from metadata as the service
/// writes it: one flat JSON object, no white space, whose values are strings
/// without escapes, unsigned integers or arrays of such strings, in valid
/// UTF-8. Anything else, or `office`, `district` or `schema_version`
/// missing, repeated or of another type: `None`, and serde reads the object
/// (and says what is wrong). The metadata is ≈ 400 bytes of ids, actor and
/// fingerprint around the three fields; serde read (and checked) every one
/// of its strings for them.
fn meta_as_written(b: &[u8]) -> Option<Meta> {
    /// The string whose opening quote is at `i`, and the index after its closing quote.
    fn plain(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
        let rest = b.get(i + 1..)?;
        let end = special(rest)?;
        (rest[end] == b'"').then(|| (&rest[..end], i + 2 + end))
    }
    fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(value?);
        Some(())
    }
    std::str::from_utf8(b).ok()?;
    if b.first() != Some(&b'{') {
        return None;
    }
    let (mut office, mut district, mut version) = (None, None, None);
    let mut i = 1;
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key, next) = plain(b, i)?;
        if b.get(next) != Some(&b':') {
            return None;
        }
        i = next + 1;
        let ours = matches!(key, b"office" | b"district" | b"schema_version");
        match *b.get(i)? {
            b'"' => {
                let (value, next) = plain(b, i)?;
                i = next;
                // Checked as UTF-8 above, whole; a value's own check only where it is kept.
                let text = || std::str::from_utf8(value).ok();
                match key {
                    b"office" => once(&mut office, text().map(str::to_string))?,
                    b"district" => once(&mut district, text().and_then(|t| DistrictCode::parse(t).ok()))?,
                    b"schema_version" => return None,
                    _ => {}
                }
            }
            b'0'..=b'9' => {
                let number = unsigned(&b[i..])?;
                i += number.len();
                match key {
                    b"schema_version" => once(&mut version, number.parse::<u32>().ok())?,
                    _ if ours => return None,
                    _ => {}
                }
            }
            b'[' if !ours => {
                i += 1;
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    loop {
                        if b.get(i) != Some(&b'"') {
                            return None;
                        }
                        i = plain(b, i)?.1;
                        match *b.get(i)? {
                            b',' => i += 1,
                            b']' => {
                                i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            _ => return None,
        }
        match *b.get(i)? {
            b',' => i += 1,
            b'}' if i + 1 == b.len() => break,
            _ => return None,
        }
    }
    Some(Meta { office: office?, district: district?, schema_version: version? })
}

/// The schema version of metadata as the service writes it, from its one
/// `"schema_version":` key, right after `{` or `,` and followed by an
/// unsigned integer (no leading zero) and `,` or the object's closing `}`:
/// inside a JSON string those bytes would follow a `\`. `None` when the object does not start
/// and end as one, the key is missing or found twice, or its value is
/// anything else: the caller then reads the whole object ([`meta_as_written`],
/// serde), which says what is wrong.
fn version_as_written(b: &[u8]) -> Option<u32> {
    const KEY: &[u8] = br#""schema_version":"#;
    /// Built once: building a finder cost more than the search.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    if b.first() != Some(&b'{') || b.last() != Some(&b'}') {
        return None;
    }
    let mut found = FINDER.find_iter(b);
    let start = found.next()?;
    // A key starts after `{` or `,`; inside a string a quote follows a `\`.
    if found.next().is_some() || !matches!(start.checked_sub(1).map(|i| b[i]), Some(b'{' | b',')) {
        return None;
    }
    let at = start + KEY.len();
    let rest = &b[at..];
    let number = unsigned(rest)?;
    if !matches!(rest.get(number.len()), Some(b',' | b'}')) {
        return None;
    }
    number.parse().ok()
}

/// The JSON unsigned integer `b` starts with (its digits), `None` when it
/// starts with no digit or with a leading zero, which JSON does not allow.
fn unsigned(b: &[u8]) -> Option<&str> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && b[0] == b'0') {
        return None;
    }
    std::str::from_utf8(&b[..digits]).ok()
}

/// The index of the first `"`, `\` or control character (below 0x20) in
/// `b`: what ends a JSON string or makes it unusual. Eight bytes at a time
/// (a word has such a byte exactly when the classic has-zero/has-less test of
/// its bytes says so), then byte by byte in the word that has one.
fn special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_ne_bytes(bytes);
        let hit = zero_in(w ^ (ONES * u64::from(b'"')))
            | zero_in(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if hit != 0 {
            break;
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde reads of metadata, for comparing with [`meta_as_written`].
    fn by_serde(b: &[u8]) -> Option<(String, String, u32)> {
        serde_json::from_slice::<Meta>(b).ok().map(|m| (m.office, m.district.as_str().to_string(), m.schema_version))
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_byte() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let alphabet = [b'a', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xe5, b'!', b'#', b'[', b']', 0x00, 0xff];
        let mut seed = 1u64;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        // Mostly plain letters, so the special byte falls anywhere.
                        let r = (seed >> 33) as usize;
                        if r % 8 == 0 { alphabet[r / 8 % alphabet.len()] } else { b'a' + (r % 26) as u8 }
                    })
                    .collect();
                assert_eq!(special(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn metadata_as_written_is_what_serde_reads() {
        let written = br#"{"command_id":"147bc4a9-25be-5aff-a77c-390b4cc415f1","correlation_id":"3af77c1e-531b-51ed-a663-16360d476f3e","actor":"gen-caseworker-05","office":"120102011","district":"120102","effective_date":"2026-09-22","schema_version":1,"command_fingerprint":"15be","actor_roles":["service","admin"],"empty":[],"authenticated_by":"service"}"#;
        let quick = meta_as_written(written).unwrap();
        assert_eq!(Some((quick.office, quick.district.as_str().to_string(), quick.schema_version)), by_serde(written));
        let reordered = br#"{"schema_version":12,"district":"120111","office":"x \u00e9 y"}"#;
        assert!(meta_as_written(reordered).is_none(), "an escape: serde's");
        let reordered = r#"{"schema_version":12,"district":"120111","office":"办事处"}"#.as_bytes();
        let quick = meta_as_written(reordered).unwrap();
        assert_eq!(
            Some((quick.office, quick.district.as_str().to_string(), quick.schema_version)),
            by_serde(reordered)
        );
        // Anything unusual is left to serde, which reads it or says what is wrong.
        for data in [
            &br#"{"office":"1","district":"120102","schema_version":1,"office":"2"}"#[..],
            br#"{"office":"1","district":"999999","schema_version":1}"#,
            br#"{"office":"1","district":"120102","schema_version":01}"#,
            br#"{"office":"1","district":"120102","schema_version":1.0}"#,
            br#"{"office":"1","district":"120102","schema_version":-1}"#,
            br#"{"office":"1","district":"120102","schema_version":"1"}"#,
            br#"{"office":"1","district":"120102","schema_version":99999999999}"#,
            br#"{"office":1,"district":"120102","schema_version":1}"#,
            br#"{"office":"1","district":"120102"}"#,
            br#"{"office":"1","district":"120102","schema_version":1,"nested":{"a":1}}"#,
            br#"{"office":"1","district":"120102","schema_version":1,"flag":true}"#,
            br#"{"office":"1","district":"120102","schema_version":1,"list":[1]}"#,
            br#"{"office":"1", "district":"120102","schema_version":1}"#,
            br#"{"office":"1","district":"120102","schema_version":1}x"#,
            br#"{"office":"1","district":"120102","schema_version":1"#,
            b"{\"office\":\"\xff\",\"district\":\"120102\",\"schema_version\":1}",
            b"{\"office\":\"a\tb\",\"district\":\"120102\",\"schema_version\":1}",
            b"",
            b"{}",
        ] {
            assert!(meta_as_written(data).is_none(), "{}", String::from_utf8_lossy(data));
        }
        // The quick reading takes what serde takes, with the same answer.
        let plain = br#"{"office":"1","district":"120102","schema_version":0,"n":10,"a":["x"]}"#;
        let quick = meta_as_written(plain).unwrap();
        assert_eq!(Some((quick.office, quick.district.as_str().to_string(), quick.schema_version)), by_serde(plain));
    }

    #[test]
    fn the_version_as_written_is_what_serde_reads_or_nothing() {
        let written = br#"{"command_id":"147bc4a9-25be-5aff-a77c-390b4cc415f1","actor":"gen-caseworker-05","office":"120102011","district":"120102","effective_date":"2026-09-22","schema_version":1,"command_fingerprint":"15be","actor_roles":["service","admin"]}"#;
        assert_eq!(version_as_written(written), Some(1));
        assert_eq!(version_as_written(br#"{"schema_version":12}"#), Some(12));
        assert_eq!(version_as_written(br#"{"a":"x","schema_version":0,"b":[]}"#), Some(0));
        // Whatever it reads, serde reads the same number.
        for data in [&written[..], br#"{"office":"1","district":"120102","schema_version":7}"#] {
            assert_eq!(version_as_written(data), by_serde(data).map(|m| m.2));
        }
        // Anything unusual is left to the whole object's reading.
        for data in [
            &br#"{"office":"1","district":"120102"}"#[..],
            br#"{"schema_version":1,"schema_version":2}"#,
            br#"{"schema_version":01}"#,
            br#"{"schema_version":1.0}"#,
            br#"{"schema_version":-1}"#,
            br#"{"schema_version":"1"}"#,
            br#"{"schema_version": 1}"#,
            br#"{"schema_version":99999999999}"#,
            br#"{"schema_version":1"#,
            br#"{"x\"schema_version":1}"#,
            br#"{"note":"a,\"schema_version\":2","office":"1"}"#,
            br#"["schema_version":1]"#,
            b"",
        ] {
            assert_eq!(version_as_written(data), None, "{}", String::from_utf8_lossy(data));
        }
    }
}
