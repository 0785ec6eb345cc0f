//! Hand-computed scenarios: small histories whose every target value is
//! worked out by hand here, boundaries included.
//!
//! `persons.rs`: persons' targets and lists; `households.rs`: membership
//! periods; `enterprises.rs`: layoffs, internship posts, enterprise subsidies.
//! The log builder and the helpers they share are here.

use std::collections::BTreeSet;

use chrono::Utc;
use leye_domain::{
    envelope::EventMetadata,
    person::*,
    values::{CountyCode, CreditCode, DateRange, Fen, PersonName, Residence},
};
use leye_projections::{Jurisdiction, Period, Projector, ReadModel, TargetParams, read_model::TargetReport};
use leye_store::{Position, RecordedEvent, StreamName};
use uuid::Uuid;

#[path = "../support/mod.rs"]
mod support;
use support::{credit_code, d, resident_id};

mod enterprises;
mod households;
mod persons;

fn employer() -> CreditCode {
    credit_code("91120111MA05JX0K0")
}

/// Builds a log event by event, as the command path would record it.
#[derive(Default)]
struct World {
    events: Vec<RecordedEvent>,
    revisions: std::collections::HashMap<String, u64>,
}

struct Person {
    seq: u32,
    community: &'static str,
    hukou: &'static str,
    groups: Vec<PersonGroup>,
    household: Option<Uuid>,
}

impl Person {
    fn new(seq: u32, community: &'static str) -> Self {
        Self { seq, community, hukou: "120111", groups: vec![], household: None }
    }
    fn case(&self) -> String {
        format!("00000000-0000-0000-0000-{:012}", self.seq)
    }
    fn registration(&self) -> Registration {
        Registration {
            resident_id: resident_id(self.seq).into(),
            name: Some(PersonName::parse("测试").unwrap()),
            hukou: Hukou { county: CountyCode::parse(self.hukou).unwrap(), nature: HukouNature::Urban },
            residence: Residence::parse(&self.community[..6], &self.community[..9], self.community).unwrap(),
            education: Education::Bachelor,
            graduation: None,
            household: self
                .household
                .map(|h| HouseholdMembership { household_id: h, relation: HouseholdRelation::Other }),
            groups: self.groups.iter().copied().collect::<BTreeSet<_>>(),
        }
    }
}

impl World {
    fn record(&mut self, p: &Person, on: &str, fact: PersonFact) -> &mut Self {
        let case = p.case();
        let revision = self.revisions.entry(case.clone()).or_insert(0);
        let metadata = EventMetadata {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "t".into(),
            office: "o".into(),
            district: leye_domain::values::DistrictCode::parse(&p.community[..6]).unwrap(),
            effective_date: d(on),
            schema_version: SCHEMA_VERSION,
            command_fingerprint: String::new(),
            actor_roles: Vec::new(),
            authenticated_by: String::new(),
        };
        let event = PersonEvent { effective_date: d(on), fact };
        let seq = self.events.len() as u64 + 1;
        self.events.push(RecordedEvent {
            stream: StreamName::parse(format!("person-{case}")).unwrap(),
            revision: *revision,
            position: Position::from_sequence(seq),
            event_id: Uuid::new_v4(),
            event_type: event.fact.event_type().into(),
            data: event.encode(),
            metadata: serde_json::to_vec(&metadata).unwrap(),
            recorded_at: Utc::now(),
        });
        *revision += 1;
        self
    }
    fn register(&mut self, p: &Person, on: &str) -> &mut Self {
        self.record(p, on, PersonFact::Registered(p.registration()))
    }
    fn place(&mut self, p: &Person, on: &str, kind: PlacementKind) -> &mut Self {
        let employer = kind.needs_employer().then(employer);
        self.record(p, on, PersonFact::Placed(Placement { kind, employer, contract_months: Some(12) }))
    }
    fn contact(&mut self, p: &Person, on: &str) -> &mut Self {
        self.record(
            p,
            on,
            PersonFact::Contacted(Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: String::new(),
            }),
        )
    }
    fn exit(&mut self, p: &Person, on: &str, reason: ExitReason) -> &mut Self {
        self.record(p, on, PersonFact::RegistrationExited(RegistrationExit { reason }))
    }
    fn end_placement(&mut self, p: &Person, on: &str) -> &mut Self {
        self.record(p, on, PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::ContractExpired }))
    }
    fn project(&self) -> (tempfile::TempDir, ReadModel) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rm.sqlite");
        let mut projector = Projector::open(&path).unwrap();
        projector.apply(&self.events).unwrap();
        drop(projector);
        let rm = ReadModel::open(&path).unwrap();
        (dir, rm)
    }
}

fn target(report: &TargetReport, id: &str) -> (i64, Option<i64>) {
    let t = report.targets.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no target {id}"));
    (t.numerator, t.denominator)
}

fn report(rm: &ReadModel, j: &str, from: &str, to: &str, as_of: &str) -> TargetReport {
    rm.targets(
        &Jurisdiction::parse(j).unwrap(),
        Period::new(d(from), d(to)).unwrap(),
        d(as_of),
        &TargetParams::default(),
    )
    .unwrap()
}

const XQ_A: &str = "120111001001"; // Xiqing, street 001, community 001
const XQ_B: &str = "120111002003"; // Xiqing, street 002
const HP: &str = "120101001001"; // Heping
