//! A log built event by event for the hand-computed scenarios of
//! `goals.rs` and `as_of_and_boundaries.rs`: each helper records one fact
//! as the command path would (same event types, payloads and metadata),
//! and [`World::project`] folds the log into a read model.
#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeSet;

use chrono::Utc;
use leye_domain::{
    enterprise::{
        EnterpriseEvent, EnterpriseFact, EnterpriseRegistration, GuaranteeLoan, LoanBorrower, WelfarePostKind,
        WelfarePostsDevelopment,
    },
    envelope::EventMetadata,
    person::*,
    values::{CountyCode, CreditCode, DateRange, DistrictCode, Fen, PersonName, Residence},
};
use leye_projections::{Jurisdiction, Period, Projector, ReadModel, TargetParams, read_model::TargetReport};
use leye_store::{Position, RecordedEvent, StreamName};
use uuid::Uuid;

use super::{d, resident_id};

pub fn credit_code(district: &str, seq: u32) -> CreditCode {
    super::credit_code(&format!("91{district}MA05JX{seq:03}"))
}

pub const XQ_A: &str = "120111001001"; // Xiqing, street 001, community 001
pub const XQ_A2: &str = "120111001002"; // Xiqing, street 001, community 002
pub const XQ_B: &str = "120111002003"; // Xiqing, street 002
pub const HP: &str = "120101001001"; // Heping

/// A log built event by event, as the command path records it.
#[derive(Default)]
pub struct World {
    events: Vec<RecordedEvent>,
    revisions: std::collections::HashMap<String, u64>,
}

impl World {
    pub fn push(&mut self, stream: String, district: &str, on: &str, event_type: &str, data: Vec<u8>, schema: u32) {
        let revision = self.revisions.entry(stream.clone()).or_insert(0);
        let metadata = EventMetadata {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "t".into(),
            office: "o".into(),
            district: DistrictCode::parse(district).unwrap(),
            effective_date: d(on),
            schema_version: schema,
            command_fingerprint: String::new(),
            actor_roles: Vec::new(),
            authenticated_by: String::new(),
        };
        self.events.push(RecordedEvent {
            stream: StreamName::parse(stream).unwrap(),
            revision: *revision,
            position: Position::from_sequence(self.events.len() as u64 + 1),
            event_id: Uuid::new_v4(),
            event_type: event_type.into(),
            data,
            metadata: serde_json::to_vec(&metadata).unwrap(),
            recorded_at: Utc::now(),
        });
        *revision += 1;
    }

    pub fn register(&mut self, seq: u32, community: &str, on: &str) -> &mut Self {
        self.register_full(seq, community, "120111", on, &[], None)
    }

    pub fn register_full(
        &mut self,
        seq: u32,
        community: &str,
        hukou: &str,
        on: &str,
        groups: &[PersonGroup],
        household: Option<Uuid>,
    ) -> &mut Self {
        let reg = Registration {
            resident_id: resident_id(seq).into(),
            name: Some(PersonName::parse("测试").unwrap()),
            hukou: Hukou { county: CountyCode::parse(hukou).unwrap(), nature: HukouNature::Urban },
            residence: Residence::parse(&community[..6], &community[..9], community).unwrap(),
            education: Education::Bachelor,
            graduation: None,
            household: household.map(|h| HouseholdMembership { household_id: h, relation: HouseholdRelation::Other }),
            groups: groups.iter().copied().collect::<BTreeSet<_>>(),
        };
        self.person(seq, community, on, PersonFact::Registered(reg))
    }

    pub fn person(&mut self, seq: u32, community: &str, on: &str, fact: PersonFact) -> &mut Self {
        let event = PersonEvent { effective_date: d(on), fact };
        let (t, data) = (event.fact.event_type(), event.encode());
        self.push(format!("person-00000000-0000-0000-0000-{seq:012}"), &community[..6], on, t, data, SCHEMA_VERSION);
        self
    }

    pub fn place(&mut self, seq: u32, community: &str, on: &str, kind: PlacementKind) -> &mut Self {
        let employer = kind.needs_employer().then(|| credit_code("120111", 900));
        self.person(seq, community, on, PersonFact::Placed(Placement { kind, employer, contract_months: Some(12) }))
    }

    pub fn end_placement(&mut self, seq: u32, community: &str, on: &str) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::Resigned }),
        )
    }

    pub fn exit(&mut self, seq: u32, community: &str, on: &str, reason: ExitReason) -> &mut Self {
        self.person(seq, community, on, PersonFact::RegistrationExited(RegistrationExit { reason }))
    }

    pub fn contact(&mut self, seq: u32, community: &str, on: &str) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::Contacted(Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: String::new(),
            }),
        )
    }

    pub fn recommend(&mut self, seq: u32, community: &str, on: &str, two_way: bool) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::JobRecommended(JobRecommendation { vacancy_id: "v".into(), enterprise: None, two_way }),
        )
    }

    pub fn recognise(
        &mut self,
        seq: u32,
        community: &str,
        on: &str,
        categories: &[DifficultyCategory],
        from: &str,
        to: &str,
    ) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::DifficultyRecognised(Difficulty {
                categories: categories.iter().copied().collect(),
                valid: DateRange::new(d(from), d(to)).unwrap(),
            }),
        )
    }

    pub fn enrol(&mut self, seq: u32, community: &str, on: &str, id: &str, programme: TrainingProgramme) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::TrainingEnrolled(TrainingEnrolment { training_id: id.into(), programme, provider: "p".into() }),
        )
    }

    pub fn complete(&mut self, seq: u32, community: &str, on: &str, id: &str) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::TrainingCompleted(TrainingCompletion { training_id: id.into(), certificate: None }),
        )
    }

    pub fn drop_training(&mut self, seq: u32, community: &str, on: &str, id: &str) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::TrainingDropped(TrainingDrop { training_id: id.into(), reason: "r".into() }),
        )
    }

    pub fn grant(&mut self, seq: u32, community: &str, on: &str, id: &str, fen: i64) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::SubsidyGranted(SubsidyGrant {
                subsidy_id: id.into(),
                programme: "start-up-training".into(),
                amount: Fen::positive(fen).unwrap(),
                period: DateRange::new(d("2026-01-01"), d("2026-12-31")).unwrap(),
                payee: Payee::Person,
                policy_clause: "000 § 13".into(),
            }),
        )
    }

    pub fn revoke(&mut self, seq: u32, community: &str, on: &str, id: &str) -> &mut Self {
        self.person(
            seq,
            community,
            on,
            PersonFact::SubsidyRevoked(SubsidyRevocation { subsidy_id: id.into(), reason: "r".into() }),
        )
    }

    pub fn enterprise(&mut self, seq: u32, district: &str, on: &str, fact: EnterpriseFact) -> &mut Self {
        let event = EnterpriseEvent { effective_date: d(on), fact };
        let (t, data) = (event.fact.event_type(), event.encode());
        let stream = format!("enterprise-00000000-0000-0000-0001-{seq:012}");
        self.push(stream, district, on, t, data, leye_domain::enterprise::SCHEMA_VERSION);
        self
    }

    pub fn register_enterprise(&mut self, seq: u32, district: &str, on: &str) -> &mut Self {
        let reg: EnterpriseRegistration = serde_json::from_value(serde_json::json!({
            "credit_code": credit_code(district, seq).as_str(), "name": "测试单位", "district": district,
            "industry_code": "S9221", "insured_employees": 40, "small_micro": true, "kinds": ["other"],
        }))
        .unwrap();
        self.enterprise(seq, district, on, EnterpriseFact::Registered(reg))
    }

    pub fn develop(
        &mut self,
        seq: u32,
        district: &str,
        on: &str,
        id: &str,
        kind: WelfarePostKind,
        posts: u32,
    ) -> &mut Self {
        let posts = std::num::NonZeroU32::new(posts).unwrap();
        let fact =
            EnterpriseFact::WelfarePostsDeveloped(WelfarePostsDevelopment { development_id: id.into(), kind, posts });
        self.enterprise(seq, district, on, fact)
    }

    pub fn lend(&mut self, seq: u32, district: &str, on: &str, id: &str, principal_fen: i64) -> &mut Self {
        let fact = EnterpriseFact::GuaranteeLoanGranted(GuaranteeLoan {
            loan_id: id.into(),
            borrower: LoanBorrower::Enterprise,
            principal: Fen::positive(principal_fen).unwrap(),
            lender: "天津银行".into(),
            term_months: 24,
        });
        self.enterprise(seq, district, on, fact)
    }

    pub fn project(&self) -> (tempfile::TempDir, ReadModel) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rm.sqlite");
        Projector::open(&path).unwrap().apply(&self.events).unwrap();
        let rm = ReadModel::open(&path).unwrap();
        (dir, rm)
    }
}

pub fn report(rm: &ReadModel, j: &str, from: &str, to: &str, as_of: &str) -> TargetReport {
    let period = Period::new(d(from), d(to)).unwrap();
    rm.targets(&Jurisdiction::parse(j).unwrap(), period, d(as_of), &TargetParams::default()).unwrap()
}

/// (numerator, denominator) of one target; panics when absent.
pub fn nd(r: &TargetReport, id: &str) -> (i64, Option<i64>) {
    let t = r.targets.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no target {id}"));
    (t.numerator, t.denominator)
}

/// (numerator, denominator, goal, met) of one target; `None` when the report has no such target.
pub fn t(r: &TargetReport, id: &str) -> Option<(i64, Option<i64>, &'static str, Option<bool>)> {
    r.targets.iter().find(|t| t.id == id).map(|t| (t.numerator, t.denominator, t.goal, t.met))
}

pub fn j(code: &str) -> Jurisdiction {
    Jurisdiction::parse(code).unwrap()
}
