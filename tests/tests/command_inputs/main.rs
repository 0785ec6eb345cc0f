//! A hostile or careless client of every command RPC of
//! `PersonCaseService` and `EnterpriseCaseService`, through the public gRPC
//! interface only (a real server over TLS, real tokens, a real SQLite file).
//!
//! The rules held (the project's guide): "Bad input gets a clear error naming
//! the field and the rule, and changes nothing. No panic on any input from
//! outside. Deny by default: a request no rule allows is refused." With the
//! contract in `proto/` and `docs/API.md`, and the domain rules of
//! `/work/shared/domain.md` (§2 facts, §4 limits).
//!
//! For every refusal a sweep checks: (1) the status and the field or reason
//! it names, (2) that the store did not change (event count), (3) that the
//! server still answers, (4) that the message repeats no resident ID or name.
//!
//! The tests not named `sweep_*` each failed when written (a defect, since
//! fixed); the `sweep_*` tests record what held from the start. Not repeated here
//! (an earlier review): cross-district access, forged context, huge tokens
//! and bodies, undecodable bodies, page tokens.
//!
//! `defects.rs`: one test per defect found; `missing.rs`, `malformed.rs`,
//! `order.rs`: the sweeps. The helpers and the sweep they share are here.

use chrono::Datelike;
use leye_e2e::*;
use leye_proto::{
    analytics::v1 as apb,
    common::v1::{CommandContext, CommandResult},
    enterprise::v1 as epb,
    person::v1 as pb,
};
use tonic::{Code, Status};
use uuid::Uuid;

/// A city-wide supervisor who is also a caseworker: reaches every person
/// command (approval, rejection, revocation and erasure need "supervisor").
const SUPERVISOR: &str = "chief-0001";
const SUPERVISOR_ROLES: &[&str] = &["caseworker", "supervisor", "auditor"];
/// The name `registration()` gives every person.
const NAME: &str = "王小明";
const ENTERPRISE_BODY: &str = "91120111MA05JX0K0";
const STARTUP_CERTIFICATE: &str = "xiqing.startup.training-certificate";
const FLEXIBLE_GRADUATE: &str = "tianjin.flexible.graduate-social-insurance";

/// Collects every way a refusal falls short of the rules, then fails once.
struct Sweep<'a> {
    server: &'a TestServer,
    before: i64,
    secrets: Vec<String>,
    failures: Vec<String>,
}

impl<'a> Sweep<'a> {
    fn new(server: &'a TestServer, secrets: &[&str]) -> Self {
        let mut secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        secrets.push(NAME.to_string());
        Sweep { server, before: server.event_count(), secrets, failures: Vec::new() }
    }

    /// `r` must be refused with `code`, naming `named` as a BadRequest field
    /// or as the ErrorInfo reason, without writing anything or echoing a
    /// resident ID or name.
    fn refused<T>(&mut self, what: &str, r: Result<T, Status>, code: Code, named: &str) {
        match r {
            Ok(_) => self.failures.push(format!("{what}: accepted")),
            Err(s) => {
                let fields = bad_fields(&s);
                let why = reason(&s);
                if s.code() != code {
                    self.failures.push(format!("{what}: {:?} ({}), expected {code:?}", s.code(), s.message()));
                } else if !fields.iter().any(|f| f == named) && why.as_deref() != Some(named) {
                    self.failures.push(format!(
                        "{what}: names fields {fields:?}, reason {why:?}; expected {named} ({})",
                        s.message()
                    ));
                }
                for secret in &self.secrets {
                    if s.message().contains(secret.as_str()) {
                        self.failures.push(format!("{what}: the message repeats {secret}: {}", s.message()));
                    }
                }
            }
        }
        let now = self.server.event_count();
        if now != self.before {
            self.failures.push(format!("{what}: {} event(s) written", now - self.before));
            self.before = now;
        }
    }

    /// A command meant to succeed: its events become the new baseline.
    fn wrote<T>(&mut self, what: &str, r: Result<T, Status>) {
        if let Err(s) = r {
            self.failures.push(format!("{what}: setup refused: {:?} {}", s.code(), s.message()));
        }
        self.before = self.server.event_count();
    }

    fn finish(self) {
        assert!(self.failures.is_empty(), "{} failure(s):\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

/// Every refusal shape of one command with a case id, an effective date and
/// one fact message: the context, its command id, the case id, the date and
/// the fact missing in turn, each named.
macro_rules! each_missing {
    ($sweep:expr, $client:expr, $method:ident, $case:expr, $fact:literal,
     |$cx:ident, $id:ident, $on:ident, $full:ident| $request:expr) => {{
        let make = |$cx: Option<CommandContext>, $id: String, $on: String, $full: bool| $request;
        let no_command_id = Some(CommandContext { command_id: String::new(), ..ctx().unwrap() });
        let case: &str = &$case;
        for (what, request) in [
            ("context", make(None, case.into(), days_ago(1), true)),
            ("context.command_id", make(no_command_id, case.into(), days_ago(1), true)),
            ("case_id", make(ctx(), String::new(), days_ago(1), true)),
            ("effective_date", make(ctx(), case.into(), String::new(), true)),
            ($fact, make(ctx(), case.into(), days_ago(1), false)),
        ] {
            let r = $client.$method(request).await;
            $sweep.refused(&format!("{} without {what}", stringify!($method)), r, Code::InvalidArgument, what);
        }
    }};
}

fn contact(case_id: &str, on: String) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: "回访".into(),
        }),
    }
}

fn enrol(case_id: &str, training_id: &str, programme: pb::TrainingProgramme, ago: i64) -> pb::EnrolTrainingRequest {
    pb::EnrolTrainingRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        training: Some(pb::TrainingEnrolment {
            training_id: training_id.into(),
            programme: programme as i32,
            provider: "西青区职业培训学校".into(),
        }),
    }
}

fn place(case_id: &str, kind: pb::PlacementKind, ago: i64) -> pb::RecordPlacementRequest {
    pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        placement: Some(pb::Placement {
            kind: kind as i32,
            employer_credit_code: String::new(),
            contract_months: None,
        }),
    }
}

fn end_placement(case_id: &str, ago: i64) -> pb::EndPlacementRequest {
    pb::EndPlacementRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::ContractExpired as i32 }),
    }
}

fn person_payee() -> Option<pb::Payee> {
    Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) })
}

fn enterprise_registration(code: &str) -> epb::EnterpriseRegistration {
    epb::EnterpriseRegistration {
        credit_code: code.into(),
        name: "天津西青测试制造有限公司".into(),
        district: "120111".into(),
        industry_code: "C3411".into(),
        insured_employees: 300,
        small_micro: false,
        kinds: vec![epb::EnterpriseKind::TechStartUp as i32],
        check_character_confirmed: false,
    }
}

async fn register_enterprise(e: &mut EnterpriseClient, code: &str, ago: i64) -> String {
    e.register_enterprise(epb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(ago),
        registration: Some(enterprise_registration(code)),
    })
    .await
    .expect("register the enterprise")
    .into_inner()
    .result
    .expect("a command result")
    .case_id
}

async fn still_answers(c: &mut Client, case_id: &str) {
    c.get_case(pb::GetCaseRequest { case_id: case_id.into(), as_of: None })
        .await
        .expect("the server still answers after the sweep");
}

// After the macros above: a `macro_rules!` is in scope only below it.
mod defects;
mod malformed;
mod missing;
mod order;
