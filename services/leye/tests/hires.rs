//! A hire shows on the enterprise's case and the person's case, consistently,
//! even when the process dies between the two writes (`leye serve` as a real
//! process on a real SQLite file; see `crate::linker`).

mod support;

use std::{collections::HashMap, sync::Arc, time::Duration};

use leye::{
    access::Access,
    cases::{AsOf, CommandMeta, Enterprise, EnterpriseCases, PersonCases, Target, decode_as, stream_of},
    config::STORE_FILE,
    identity::CaseIds,
    linker::Linker,
};
use leye_domain::enterprise::{DatedEnterpriseCommand, EnterpriseCommand, Hire, HireLinkState};
use leye_proto::{
    enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient},
    person::v1 as pb,
};
use leye_store::{EventStore, SqliteStore, SqliteStoreOptions};
use support::{Leye, eventually, resident_id};
use uuid::Uuid;

type Enterprises = EnterpriseCaseServiceClient<leye::client::Authed>;

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn days_ago(n: i64) -> String {
    (today() - chrono::Duration::days(n)).to_string()
}

fn ctx() -> Option<leye_proto::common::v1::CommandContext> {
    Some(leye_proto::common::v1::CommandContext {
        command_id: Uuid::new_v4().to_string(),
        actor: "staff-0042".into(),
        office: "120111001-service-point".into(),
        ..Default::default()
    })
}

fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

async fn enterprises(leye: &Leye) -> Enterprises {
    let _ = leye.client().await;
    EnterpriseCaseServiceClient::new(support::authed(leye.addr, &leye.token()).await.unwrap())
}

/// Registers `n` people and one enterprise over gRPC; returns their case ids.
async fn register(leye: &Leye, n: u32) -> (Vec<String>, String) {
    let mut people = leye.client().await;
    let mut cases = Vec::new();
    for i in 0..n {
        let registration = pb::Registration {
            resident_id: resident_id(i + 1),
            name: support::NAME.into(),
            hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
            residence: Some(pb::Residence {
                district_code: "120111".into(),
                street_code: "120111001".into(),
                community_code: "120111001002".into(),
            }),
            education: pb::Education::SeniorSecondary as i32,
            ..Default::default()
        };
        let r = people
            .register_unemployment(pb::RegisterUnemploymentRequest {
                context: ctx(),
                effective_date: days_ago(60),
                registration: Some(registration),
            })
            .await
            .expect("register person");
        cases.push(r.into_inner().result.unwrap().case_id);
    }
    let r = enterprises(leye)
        .await
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(400),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: credit_code("91120111MA05JX0K0"),
                name: "天津西青测试制造有限公司".into(),
                district: "120111".into(),
                industry_code: "C3411".into(),
                insured_employees: 300,
                ..Default::default()
            }),
        })
        .await
        .expect("register enterprise");
    (cases, r.into_inner().result.unwrap().case_id)
}

/// Waits until every hire of the enterprise is settled; returns the case.
async fn settled(c: &mut Enterprises, enterprise: &str, hires: usize) -> epb::EnterpriseCase {
    eventually("every hire settled", Duration::from_secs(30), || {
        let mut c = c.clone();
        let id = enterprise.to_string();
        async move {
            let case = c
                .get_enterprise(epb::GetEnterpriseRequest { case_id: id, as_of: None })
                .await
                .ok()?
                .into_inner()
                .case
                .unwrap();
            let done = case.hires.len() == hires && case.hires.iter().all(|h| h.link != epb::HireLink::Pending as i32);
            done.then_some(case)
        }
    })
    .await
}

/// Every `person.placed` event id of a person's case.
async fn placements(leye: &Leye, case_id: &str) -> Vec<String> {
    let events = leye
        .client()
        .await
        .replay_case(pb::ReplayCaseRequest { case_id: case_id.into() })
        .await
        .unwrap()
        .into_inner()
        .events;
    events
        .iter()
        .filter_map(|e| e.metadata.as_ref().filter(|m| m.event_type == "person.placed").map(|m| m.event_id.clone()))
        .collect()
}

/// The placement event id each settled hire names, by hire id.
async fn links(c: &mut Enterprises, enterprise: &str) -> HashMap<String, String> {
    let events = c
        .replay_enterprise(epb::ReplayEnterpriseRequest { case_id: enterprise.into() })
        .await
        .unwrap()
        .into_inner()
        .events;
    events
        .iter()
        .filter_map(|e| match e.event.as_ref()?.event.as_ref()? {
            epb::enterprise_event::Event::HireLinked(l) => Some((l.hire_id.clone(), l.placement_event_id.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn killed_between_the_two_writes_the_hire_is_settled_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut leye = Leye::start(dir.path(), None, &[]).await;
    let (people, enterprise) = register(&leye, 1).await;
    leye.terminate().await;

    // What a process killed between the two writes leaves behind: the hire on
    // the enterprise's case, the placement on the person's case, the hire not
    // settled, the linker's checkpoint before the hire.
    {
        let store = SqliteStore::open(dir.path().join(STORE_FILE), SqliteStoreOptions::default()).await.unwrap();
        let ids = CaseIds::load_or_create(&dir.path().join("pseudonym.key")).unwrap();
        let persons = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now));
        let firms: EnterpriseCases<SqliteStore> = persons.of_kind();
        let enterprise_id: Uuid = enterprise.parse().unwrap();
        let hire = Hire {
            hire_id: "h1".into(),
            person_case_id: people[0].parse().unwrap(),
            contract_months: Some(24),
            started_on: today() - chrono::Duration::days(3),
        };
        let meta = CommandMeta {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "staff-0042".into(),
            office: "120111001-service-point".into(),
            expected_revision: None,
            access: Access::Service("leye-test"),
        };
        let command = DatedEnterpriseCommand { effective_date: today(), command: EnterpriseCommand::RecordHire(hire) };
        firms.execute(Target::Case(enterprise_id), meta, command).await.unwrap();
        let last = store.read_stream(&stream_of::<Enterprise>(enterprise_id), 0).await.unwrap().pop().unwrap();
        let recorded = decode_as::<Enterprise>(last).unwrap();
        let settle = Linker::new(persons.clone()).place(enterprise_id, &recorded).await.unwrap();
        assert!(settle.is_some(), "the placement was recorded and the hire is still to settle");
        let view = firms.state(enterprise_id, AsOf::Latest, &Access::Service("leye-test")).await.unwrap();
        assert_eq!(view.case.file().unwrap().hire("h1").unwrap().link, HireLinkState::Pending);
        let person_id: Uuid = people[0].parse().unwrap();
        let history = persons.replay(person_id, &Access::Service("leye-test")).await.unwrap();
        assert_eq!(history.iter().filter(|(r, _)| r.event_type == "person.placed").count(), 1);
        store.close().await;
    }

    let leye = Leye::start(dir.path(), None, &[]).await;
    let mut c = enterprises(&leye).await;
    let case = settled(&mut c, &enterprise, 1).await;
    assert_eq!(case.hires[0].link, epb::HireLink::Linked as i32);
    let placed = placements(&leye, &people[0]).await;
    assert_eq!(placed.len(), 1, "the placement is not recorded twice");
    assert_eq!(links(&mut c, &enterprise).await["h1"], placed[0], "the hire names the person's placement");
}

#[tokio::test]
async fn killed_while_hires_arrive_every_hire_shows_once_on_both_cases() {
    const N: u32 = 40;
    let dir = tempfile::tempdir().unwrap();
    let mut leye = Leye::start(dir.path(), None, &[]).await;
    let (people, enterprise) = register(&leye, N).await;
    let c = enterprises(&leye).await;
    let mut tasks = Vec::new();
    for (i, person) in people.iter().enumerate() {
        let mut c = c.clone();
        let request = epb::RecordHireRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(1),
            hire: Some(epb::Hire {
                hire_id: format!("h{i}"),
                person_case_id: person.clone(),
                contract_months: 12,
                started_on: days_ago(2),
            }),
        };
        tasks.push(tokio::spawn(async move { c.record_hire(request).await.map(|_| ()) }));
    }
    for t in tasks {
        t.await.unwrap().expect("hire recorded");
    }
    // No grace: the linker is somewhere in its work.
    leye.kill9().await;

    let leye = Leye::start(dir.path(), None, &[]).await;
    let mut c = enterprises(&leye).await;
    let case = settled(&mut c, &enterprise, N as usize).await;
    assert!(case.hires.iter().all(|h| h.link == epb::HireLink::Linked as i32), "{:?}", case.hires);
    let links = links(&mut c, &enterprise).await;
    assert_eq!(links.len(), N as usize, "each hire settled once");
    for (i, person) in people.iter().enumerate() {
        let placed = placements(&leye, person).await;
        assert_eq!(placed.len(), 1, "person {i}: one placement");
        assert_eq!(links[&format!("h{i}")], placed[0], "hire h{i} names person {i}'s placement");
    }
}
