//! The eligibility finder: policy finds people (政策找人, 免申即享; domain.md §5).
//!
//! Runs inside `leye serve`. It follows the store's global log from its own
//! durable checkpoint (`<data_dir>/policy-finder.checkpoint`, written like the
//! publisher's: temp file, fsync, rename, fsync the directory). For every
//! person or enterprise event it loads that case, derives the policy facts
//! ([`leye_policy::PersonFacts::from_file`], with the facts of the employer of
//! the current placement when it has a case; for an enterprise, the facts of
//! its case as for a subsidy proposal) and asks the catalogue which rules of
//! the case's district (a person's residence; for rules paying the employer,
//! the employer's district when it has a case, as a proposal is decided) the
//! case meets **today** and whose programme it has not received
//! ([`Catalogue::find_eligible`]). Each such rule not yet noted on the case is
//! recorded as the fact `EligibilityFound` on the case's own stream through
//! the ordinary command path (`execute`, actor [`ACTOR`], office [`OFFICE`]).
//! It is published on NATS as `leye.v1.person.<district>.eligibility_found` or
//! `leye.v1.enterprise.<district>.eligibility_found` (the event other systems
//! subscribe to) and folded into the read model's `eligibility` table
//! (`ListEligible`).
//!
//! # Why today, not the event's effective date
//! The finding says what the person can get *now*: what a grant proposed
//! today would be decided on. As for a grant, the version of a rule that
//! counts is the one in force on the date of the fact it rewards (the hire,
//! the training, the registration; domain.md §4): a programme that has since
//! closed is still found for a fact that fell inside it (a 2020 hire found in
//! January 2021), and never for a fact after it. The case is loaded as it
//! stands now, so evaluating it on today keeps facts and date consistent.
//! Today is also never before the latest registration, so the decider never
//! refuses the date.
//!
//! # Time
//! Some rules become true without any event ("registered unemployed 6 months
//! or more", "aged 40", "6 months in the job"). A sweep examines every person
//! and enterprise case of the read model at start and then every
//! [`SWEEP_EVERY`].
//!
//! # Idempotency, and no loops
//! - A rule already noted on the case is skipped (the fold keeps noted
//!   eligibilities); the decider refuses a second note under the same rule
//!   (`ELIGIBILITY_ALREADY_NOTED`), which the finder treats as done.
//! - The command id is UUIDv5 of case id, rule id and rule version, so a
//!   re-sent note (a crash between the append and the checkpoint, the sweep
//!   racing the follower) is answered `duplicate: true` and writes nothing.
//! - The checkpoint moves after a batch is examined: a crash re-examines at
//!   most that batch, which notes nothing new.
//! - `*.eligibility_found` events are skipped: the finder never reacts to its
//!   own findings.
//!
//! # Limits
//! - Facts no case holds (caseworker attestations, social-insurance months,
//!   an enterprise's local-hukou hires) are not supplied, so rules needing
//!   them are not found.
//! - A noted eligibility stays noted: when the person later stops meeting the
//!   rule (e.g. past "within 2 years of graduation"), the row stays on the list
//!   until the programme is granted.
//! - Only one finder may run per store (one `leye serve` with it enabled).

use std::{collections::BTreeSet, path::PathBuf, sync::Arc, time::Duration};

use leye_domain::{
    enterprise::{DatedEnterpriseCommand, EnterpriseCommand, EnterpriseFile, EnterpriseRejectionCode},
    person::{DatedCommand, EligibilityFinding, EligibilityReason, PersonCommand, PersonFile},
    rejection::RejectionCode,
};
use leye_policy::{Catalogue, Eligibility, EnterpriseFacts, Facts, PersonFacts, PriorGrant};
use leye_projections::{ProjectionError, ReadModel, runner::ReadModelDir};
use leye_store::{EventStore, Position, RecordedEvent};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    access::Access,
    cases::{
        AppError, AsOf, CommandMeta, CommandOutcome, Enterprise, EnterpriseCases, PersonCases, Target, case_id_of,
        person_case_id,
    },
    publisher::checkpoint::{CheckpointError, CheckpointFile},
};

/// The actor recorded on the finder's events.
pub const ACTOR: &str = "leye-policy-finder";
/// The office recorded on the finder's events.
pub const OFFICE: &str = "leye";
/// The checkpoint's file name in the data directory.
pub const CHECKPOINT_FILE: &str = "policy-finder.checkpoint";
/// How often every person case is examined again (time-based eligibility).
pub const SWEEP_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// At most this many events are examined before the checkpoint moves.
const BATCH: usize = 500;

/// Namespace of the finder's command ids (UUIDv5).
const COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_7965_2d70_6f6c_6963_792d_6669_6e64);

const IF_MOVED_ASIDE: &str = "the policy finder then examines every case of the log again; eligibilities already \
     noted are not noted twice";

/// The event types the finder records, and skips when it reads them back.
const OWN_EVENT_TYPES: [&str; 2] = ["person.eligibility_found", "enterprise.eligibility_found"];

/// A case the finder examines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaseRef {
    Person(Uuid),
    Enterprise(Uuid),
}

/// The settings of the finder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinderConfig {
    /// Off: nothing is examined and the checkpoint stays as it is.
    pub enabled: bool,
    pub checkpoint_file: PathBuf,
    /// The interval of the sweep over every person case.
    pub sweep_every: Duration,
}

/// Why the finder stopped. Texts carry case ids, rule ids and positions only.
#[derive(Debug, thiserror::Error)]
pub enum FinderError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("reading the store: {0}")]
    Store(#[from] leye_store::StoreError),
    #[error("case {case}: {error}")]
    Case { case: Uuid, error: AppError },
    #[error("read model: {0}")]
    ReadModel(#[from] ProjectionError),
    #[error("checkpoint task: {0}")]
    Task(String),
}

/// The command id of the note of `rule` (a version) on `case`.
pub fn command_id(case: Uuid, rule_id: &str, valid_from: leye_domain::Date) -> Uuid {
    Uuid::new_v5(&COMMAND_NAMESPACE, format!("{case}/{rule_id}/{valid_from}").as_bytes())
}

/// The finder: examines person and enterprise cases and notes what they are
/// eligible for.
pub struct Finder<S> {
    cases: PersonCases<S>,
    enterprises: EnterpriseCases<S>,
    catalogue: Arc<Catalogue>,
    checkpoint: CheckpointFile,
}

impl<S> std::fmt::Debug for Finder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finder").field("checkpoint", &self.checkpoint.path()).finish_non_exhaustive()
    }
}

impl<S: EventStore> Finder<S> {
    pub fn new(cases: PersonCases<S>, catalogue: Arc<Catalogue>, checkpoint_file: PathBuf) -> Self {
        let checkpoint = CheckpointFile::for_follower(checkpoint_file, "policy finder", IF_MOVED_ASIDE);
        Self { enterprises: cases.of_kind::<Enterprise>(), cases, catalogue, checkpoint }
    }

    /// The stored checkpoint: the last log position examined. A corrupt file
    /// is an error (the service does not start), never "start over" silently.
    pub fn checkpoint(&self) -> Result<Option<Position>, CheckpointError> {
        self.checkpoint.load()
    }

    /// Examines one case on today's date and notes every rule it newly
    /// meets. Returns the rule ids noted now.
    pub async fn examine(&self, case: CaseRef, cause: Uuid) -> Result<Vec<String>, FinderError> {
        match case {
            CaseRef::Person(id) => self.examine_person(id, cause).await,
            CaseRef::Enterprise(id) => self.examine_enterprise(id, cause).await,
        }
        .map_err(|error| FinderError::Case {
            case: match case {
                CaseRef::Person(id) | CaseRef::Enterprise(id) => id,
            },
            error,
        })
    }

    async fn examine_person(&self, case_id: Uuid, cause: Uuid) -> Result<Vec<String>, AppError> {
        let view = match self.cases.state(case_id, AsOf::Latest, &Access::Service(ACTOR)).await {
            Ok(v) => v,
            Err(AppError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let Some(file) = view.case.file() else { return Ok(Vec::new()) };
        let today = self.cases.today();
        let (person, prior_grants) = PersonFacts::from_file(file, today);
        let employer = self.employer_facts(file, today).await?;
        // Subsidies paid to the employer are claimed under the employer's
        // district (as `subsidies.rs` decides them); the rest under the
        // person's residence.
        let employer_district = employer.as_ref().and_then(|e| e.district.clone());
        let facts = Facts { person: Some(person), enterprise: employer, prior_grants, ..Facts::default() };
        let district = file.registration.residence.district.clone();
        let mut found_rules = self.catalogue.find_eligible(&facts, &district, today);
        found_rules.retain(|f| f.rule.payee != leye_policy::PayeeKind::Enterprise || employer_district.is_none());
        if let Some(employer_district) = employer_district {
            let paid_to_employer = self.catalogue.find_eligible(&facts, &employer_district, today);
            found_rules
                .extend(paid_to_employer.into_iter().filter(|f| f.rule.payee == leye_policy::PayeeKind::Enterprise));
        }
        let mut noted = Vec::new();
        for found in found_rules {
            if file.eligibility(&found.rule.id).is_some() {
                continue;
            }
            let rule_id = found.rule.id.clone();
            let meta = meta(case_id, &found, cause);
            let command =
                DatedCommand { effective_date: today, command: PersonCommand::NoteEligibility(finding(found)) };
            if settled(case_id, &rule_id, self.cases.execute(Target::Case(case_id), meta, command).await)? {
                noted.push(rule_id);
            }
        }
        Ok(noted)
    }

    /// The facts of the enterprise of the person's current placement, when it
    /// has a case (hiring rules name the employer's district or kind).
    async fn employer_facts(
        &self,
        file: &PersonFile,
        on: leye_domain::Date,
    ) -> Result<Option<EnterpriseFacts>, AppError> {
        let Some(code) = file.current_placement().and_then(|p| p.placement.employer.clone()) else { return Ok(None) };
        let id = match self.enterprises.find(&Target::Enterprise(code), &Access::Service(ACTOR)).await {
            Ok((id, _)) => id,
            Err(AppError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let view = self.enterprises.state(id, AsOf::Latest, &Access::Service(ACTOR)).await?;
        Ok(view.case.file().map(|f| crate::subsidies::enterprise_facts(f, on, None, 0)))
    }

    async fn examine_enterprise(&self, case_id: Uuid, cause: Uuid) -> Result<Vec<String>, AppError> {
        let view = match self.enterprises.state(case_id, AsOf::Latest, &Access::Service(ACTOR)).await {
            Ok(v) => v,
            Err(AppError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let Some(file) = view.case.file() else { return Ok(Vec::new()) };
        let today = self.cases.today();
        let facts = Facts {
            enterprise: Some(crate::subsidies::enterprise_facts(file, today, None, 0)),
            prior_grants: enterprise_grants(file, today),
            ..Facts::default()
        };
        let mut noted = Vec::new();
        for found in self.catalogue.find_eligible(&facts, &file.registration.district, today) {
            if file.eligibility(&found.rule.id).is_some() {
                continue;
            }
            let rule_id = found.rule.id.clone();
            let meta = meta(case_id, &found, cause);
            let command = DatedEnterpriseCommand {
                effective_date: today,
                command: EnterpriseCommand::NoteEligibility(finding(found)),
            };
            if settled(case_id, &rule_id, self.enterprises.execute(Target::Case(case_id), meta, command).await)? {
                noted.push(rule_id);
            }
        }
        Ok(noted)
    }

    /// Follows the log from the checkpoint until `stop`, examining the case of
    /// every person event, and sweeping every person case of the read model in
    /// `readmodel` at start and then every `sweep_every`.
    pub async fn follow(
        &self,
        store: &S,
        readmodel: Option<&ReadModelDir>,
        sweep_every: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), FinderError> {
        let mut after = self.checkpoint()?;
        let mut events = store.subscribe_all(after);
        tracing::info!(checkpoint = after.map_or(0, |p| p.commit), "policy finder following the log");
        let mut sweep = tokio::time::interval(sweep_every.max(Duration::from_secs(1)));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if after.is_none() {
            // From no checkpoint the whole log is examined, every case with
            // it: the sweep at start would only repeat that.
            sweep.tick().await;
        }
        let sweep_stop = stop.clone();
        loop {
            let first = tokio::select! {
                () = stopped(&mut stop) => return Ok(()),
                _ = sweep.tick() => {
                    if let Some(dir) = readmodel {
                        self.sweep(dir, &sweep_stop).await?;
                    }
                    continue;
                }
                next = events.next() => match next {
                    None => return Ok(()),
                    Some(e) => e?,
                },
            };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match tokio::time::timeout(Duration::ZERO, events.next()).await {
                    Ok(Some(e)) => batch.push(e?),
                    _ => break,
                }
            }
            let last = batch.last().map(|e| e.position);
            for (case, cause) in cases_to_examine(&batch) {
                self.examine(case, cause).await?;
            }
            if last > after {
                after = last;
                if let Some(p) = last {
                    let file = self.checkpoint.clone();
                    tokio::task::spawn_blocking(move || file.store(p))
                        .await
                        .map_err(|e| FinderError::Task(e.to_string()))??;
                }
            }
        }
    }

    /// Examines every person case of the read model (time-based eligibility).
    async fn sweep(&self, dir: &ReadModelDir, stop: &watch::Receiver<bool>) -> Result<(), FinderError> {
        let dir = dir.clone();
        let ids = tokio::task::spawn_blocking(move || -> Result<Vec<CaseRef>, ProjectionError> {
            let rm = match dir.current() {
                Ok(path) => ReadModel::open(&path)?,
                Err(ProjectionError::NotReady) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            let parse = |id: String| Uuid::parse_str(&id).ok();
            let people = rm.person_case_ids()?.into_iter().filter_map(parse).map(CaseRef::Person);
            let enterprises = rm.enterprise_case_ids()?.into_iter().filter_map(parse).map(CaseRef::Enterprise);
            Ok(people.chain(enterprises).collect())
        })
        .await
        .map_err(|e| FinderError::Task(e.to_string()))??;
        let (mut examined, mut noted) = (0usize, 0usize);
        for case in ids {
            if *stop.borrow() {
                break;
            }
            noted += self.examine(case, Uuid::nil()).await?.len();
            examined += 1;
        }
        tracing::info!(examined, noted, "policy finder sweep done");
        Ok(())
    }
}

/// The person and enterprise cases a batch touches, once each, in first-seen
/// order, with the first event that touched each (the cause of a note). The
/// finder's own events and other streams are skipped.
fn cases_to_examine(batch: &[RecordedEvent]) -> Vec<(CaseRef, Uuid)> {
    let mut seen = BTreeSet::new();
    batch
        .iter()
        .filter(|e| !OWN_EVENT_TYPES.contains(&e.event_type.as_str()))
        .filter_map(|e| {
            let case = person_case_id(&e.stream)
                .map(CaseRef::Person)
                .or_else(|| case_id_of::<Enterprise>(&e.stream).map(CaseRef::Enterprise))?;
            Some((case, e.event_id))
        })
        .filter(|(c, _)| seen.insert(*c))
        .collect()
}

/// The envelope of a note: the finder's actor and office, and a command id
/// derived from the case, the rule and its version.
fn meta(case_id: Uuid, found: &Eligibility, cause: Uuid) -> CommandMeta {
    let command_id = command_id(case_id, &found.rule.id, found.rule.valid_from);
    CommandMeta {
        command_id,
        correlation_id: command_id,
        causation_id: cause,
        actor: ACTOR.into(),
        office: OFFICE.into(),
        expected_revision: None,
        access: Access::Service(ACTOR),
    }
}

/// Whether a note was recorded now; a note already made (a duplicate
/// command, `ELIGIBILITY_ALREADY_NOTED`) is done, not an error.
fn settled(case_id: Uuid, rule_id: &str, result: Result<CommandOutcome, AppError>) -> Result<bool, AppError> {
    match result {
        Ok(outcome) if outcome.duplicate => Ok(false),
        Ok(outcome) => {
            tracing::debug!(case = %case_id, rule = %rule_id, revision = outcome.revision, "eligibility found");
            Ok(true)
        }
        // Noted meanwhile (the sweep and the follower raced, or a note of
        // another version of the rule): done.
        Err(AppError::Rejected(r)) if r.code == RejectionCode::EligibilityAlreadyNoted => Ok(false),
        Err(AppError::EnterpriseRejected(r)) if r.code == EnterpriseRejectionCode::EligibilityAlreadyNoted => Ok(false),
        Err(AppError::CommandIdReused) => Ok(false),
        // Nobody is told of a programme after an exit for death: expected, not a warning.
        Err(AppError::Rejected(r)) if r.code == RejectionCode::Deceased => Ok(false),
        Err(AppError::Rejected(r)) => {
            tracing::warn!(case = %case_id, rule = %rule_id, code = %r.code, "eligibility note refused");
            Ok(false)
        }
        Err(AppError::EnterpriseRejected(r)) => {
            tracing::warn!(case = %case_id, rule = %rule_id, code = %r.code, "eligibility note refused");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Grants received by an enterprise case by `on`, not revoked by then.
fn enterprise_grants(file: &EnterpriseFile, on: leye_domain::Date) -> Vec<PriorGrant> {
    file.subsidies
        .iter()
        .filter(|s| s.granted_on <= on && s.revoked_on.is_none_or(|r| r > on))
        .map(|s| PriorGrant {
            programme: s.grant.programme.clone(),
            rule_id: None,
            amount: Some(s.grant.amount),
            period: s.grant.period,
            granted_on: s.granted_on,
        })
        .collect()
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The fact recorded for one eligibility.
fn finding(e: Eligibility) -> EligibilityFinding {
    EligibilityFinding {
        rule_id: e.rule.id,
        rule_valid_from: e.rule.valid_from,
        programme: e.rule.programme,
        clause: e.rule.source,
        reasons: e
            .reasons
            .into_iter()
            .filter(|c| c.passed)
            .map(|c| EligibilityReason { check: c.check, detail: c.detail, clause: c.clause })
            .collect(),
        amount: e.amount,
    }
}

/// Runs the finder until `stop`, restarting it after a failure (logged at
/// once) with a backoff from 200 ms to 10 s, like the projector.
pub async fn keep_finding<S: EventStore>(
    finder: Finder<S>,
    store: S,
    readmodel: ReadModelDir,
    sweep_every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match finder.follow(&store, Some(&readmodel), sweep_every, stop.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "policy finder failed; restarting it")
            }
        }
        tokio::select! {
            () = stopped(&mut stop) => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    //! The finder over a real SQLite store, through the real command path.

    use std::sync::Mutex;

    use chrono::{DateTime, TimeZone, Utc};
    use leye_domain::{
        Date,
        person::{
            Difficulty, DifficultyCategory, Education, Hukou, HukouNature, PersonGroup, Placement, PlacementKind,
            Registration,
        },
        values::{CountyCode, CreditCode, DateRange, PersonName, Residence, ResidentId, parse_date},
    };
    use leye_store::SqliteStore;

    use super::*;
    use crate::{cases::Clock, identity::CaseIds};

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    /// A clock the test moves: noon Beijing time on the day set.
    fn clock(day: &str) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
        let at = |s: &str| {
            let d = d(s);
            Utc.from_utc_datetime(&d.and_hms_opt(4, 0, 0).unwrap())
        };
        let now = Arc::new(Mutex::new(at(day)));
        let read = now.clone();
        (Arc::new(move || *read.lock().unwrap()), now)
    }

    fn set_day(now: &Mutex<DateTime<Utc>>, day: &str) {
        *now.lock().unwrap() = Utc.from_utc_datetime(&d(day).and_hms_opt(4, 0, 0).unwrap());
    }

    fn resident_id(county: &str, birth: &str, seq: u32) -> ResidentId {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let first17 = format!("{county}{birth}{seq:03}");
        let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
        ResidentId::parse(&format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char), d("2026-11-22"))
            .unwrap()
    }

    fn employer() -> CreditCode {
        const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
        let body = "91120111MA05JX0K0";
        let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
        CreditCode::parse(&format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)).unwrap()
    }

    fn registration(id: ResidentId, community: &str, groups: &[PersonGroup]) -> Registration {
        Registration {
            resident_id: id.into(),
            name: Some(PersonName::parse("测试").unwrap()),
            hukou: Hukou { county: CountyCode::parse("130102").unwrap(), nature: HukouNature::Rural },
            residence: Residence::parse(&community[..6], &community[..9], community).unwrap(),
            education: Education::SeniorSecondary,
            graduation: None,
            household: None,
            groups: groups.iter().copied().collect(),
        }
    }

    fn meta() -> CommandMeta {
        CommandMeta {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "staff-1".into(),
            office: "120111001".into(),
            expected_revision: None,
            access: Access::Service(ACTOR),
        }
    }

    async fn run(cases: &PersonCases<SqliteStore>, target: Target, on: &str, command: PersonCommand) -> Uuid {
        cases.execute(target, meta(), DatedCommand { effective_date: d(on), command }).await.unwrap().case_id
    }

    /// Every `person.eligibility_found` in the log: (case, rule, command id).
    async fn found(store: &SqliteStore) -> Vec<(Uuid, String, Uuid)> {
        let mut out = Vec::new();
        for e in store.read_all(None, usize::MAX).await.unwrap() {
            if e.event_type == OWN_EVENT_TYPES[0] {
                let case = person_case_id(&e.stream).unwrap();
                let r = crate::cases::decode(e).unwrap();
                let leye_domain::person::PersonFact::EligibilityFound(f) = &r.event.fact else { unreachable!() };
                assert_eq!((r.metadata.actor.as_str(), r.metadata.office.as_str()), (ACTOR, OFFICE));
                out.push((case, f.rule_id.clone(), r.metadata.command_id));
            }
        }
        out
    }

    /// Runs `follow` until its checkpoint reaches the store's head, then stops it.
    async fn follow_to_head(finder: &Finder<SqliteStore>, store: &SqliteStore, readmodel: Option<&ReadModelDir>) {
        let (stop, stopped) = watch::channel(false);
        let follow = finder.follow(store, readmodel, SWEEP_EVERY, stopped);
        let watch = async {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let head = store.head().await.unwrap();
                if head.is_some() && finder.checkpoint().unwrap() == head {
                    // Settled: the head did not move since (no note pending).
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if store.head().await.unwrap() == head {
                        break;
                    }
                }
                assert!(std::time::Instant::now() < deadline, "the finder did not reach the head");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stop.send_replace(true);
        };
        let (result, ()) = tokio::join!(follow, watch);
        result.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_note_per_eligibility_even_when_restarted_from_an_older_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("events.sqlite"), Default::default()).await.unwrap();
        let (clock, _) = clock("2026-11-22");
        let cases = PersonCases::new(store.clone(), CaseIds::from_key([7; 32]), clock);
        let checkpoint = dir.path().join(CHECKPOINT_FILE);
        let finder = Finder::new(cases.clone(), Arc::new(leye_policy::default_catalogue().clone()), checkpoint.clone());

        // A migrant worker living in Xiqing, registered: no enterprise placement yet,
        // so xiqing.hiring.one-time (000 § 9: placement_kinds = enterprise, and
        // migrant_worker among the alternatives) does not hold.
        let id = resident_id("130102", "19900304", 11);
        let worker = registration(id.clone(), "120111001002", &[PersonGroup::MigrantWorker]);
        let case = run(&cases, Target::Person(id), "2026-09-01", PersonCommand::RegisterUnemployment(worker)).await;
        follow_to_head(&finder, &store, None).await;
        assert_eq!(found(&store).await, vec![]);
        let before_placement = finder.checkpoint().unwrap();

        // Hired by an enterprise: now it holds, and is noted once.
        let placement =
            Placement { kind: PlacementKind::Enterprise, employer: Some(employer()), contract_months: Some(12) };
        run(&cases, Target::Case(case), "2026-10-01", PersonCommand::RecordPlacement(placement)).await;
        follow_to_head(&finder, &store, None).await;
        let rule = "xiqing.hiring.one-time";
        let expected_id = command_id(case, rule, d("2020-05-18"));
        assert_eq!(found(&store).await, vec![(case, rule.to_string(), expected_id)]);
        let head = store.head().await.unwrap();

        // The event itself: today's date, the clause, the reasons and the amount.
        let view = cases.state(case, AsOf::Latest, &Access::Service(ACTOR)).await.unwrap();
        let noted = view.case.file().unwrap().eligibility(rule).unwrap().clone();
        assert_eq!(noted.found_on, d("2026-11-22"));
        assert_eq!(
            (noted.finding.clause.as_str(), noted.finding.programme.as_str()),
            ("000 § 9", "xiqing-hiring-one-time")
        );
        assert_eq!(noted.finding.amount.map(|a| a.get()), Some(100_000));
        assert!(noted.finding.reasons.iter().any(|r| r.check == "placement_kinds" && r.clause == "000 § 9"));
        assert!(
            noted
                .finding
                .reasons
                .iter()
                .any(|r| r.check == "any_of[1].groups_any" && r.detail.contains("migrant_worker"))
        );
        let text = format!("{:?}", noted.finding);
        assert!(
            !text.contains(view.case.file().unwrap().registration.resident_id.known().unwrap().as_str()),
            "no resident ID"
        );
        assert!(!text.contains("测试"), "no name");

        // Restarted from an older checkpoint (before the placement), and from
        // none at all: the whole log is examined again, nothing is noted twice.
        for older in [before_placement, None] {
            match older {
                Some(p) => CheckpointFile::new(&checkpoint).store(p).unwrap(),
                None => std::fs::remove_file(&checkpoint).unwrap(),
            }
            let restarted =
                Finder::new(cases.clone(), Arc::new(leye_policy::default_catalogue().clone()), checkpoint.clone());
            assert_eq!(restarted.checkpoint().unwrap(), older);
            follow_to_head(&restarted, &store, None).await;
            assert_eq!(store.head().await.unwrap(), head, "nothing written");
            assert_eq!(found(&store).await.len(), 1);
        }

        // A crash between the append and the checkpoint re-sends the same
        // command: the command path answers it as a duplicate.
        let again =
            DatedCommand { effective_date: noted.found_on, command: PersonCommand::NoteEligibility(noted.finding) };
        let meta = CommandMeta {
            command_id: expected_id,
            correlation_id: expected_id,
            causation_id: Uuid::nil(),
            actor: ACTOR.into(),
            office: OFFICE.into(),
            expected_revision: None,
            access: Access::Service(ACTOR),
        };
        assert!(cases.execute(Target::Case(case), meta, again).await.unwrap().duplicate);
        assert_eq!(store.head().await.unwrap(), head);

        // Examined again directly (the sweep's path): the noted rule is skipped.
        assert_eq!(finder.examine(CaseRef::Person(case), Uuid::nil()).await.unwrap(), Vec::<String>::new());
        assert_eq!(store.head().await.unwrap(), head);
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sweep_finds_what_time_alone_makes_true() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("events.sqlite"), Default::default()).await.unwrap();
        let (clock, now) = clock("2026-06-01");
        let cases = PersonCases::new(store.clone(), CaseIds::from_key([8; 32]), clock);
        let finder = Finder::new(
            cases.clone(),
            Arc::new(leye_policy::default_catalogue().clone()),
            dir.path().join(CHECKPOINT_FILE),
        );
        // A woman born 1986-07-15 living in Binhai (120116): disabled (a
        // difficulty that is not special), flexibly employed. The rule
        // tianjin.flexible.difficulty-4050-social-insurance (002 #36) needs
        // women aged 40 (年满, inclusive): she turns 40 on 2026-07-15.
        let id = resident_id("120116", "19860715", 22);
        let woman = registration(id.clone(), "120116003004", &[]);
        let case = run(&cases, Target::Person(id), "2026-03-02", PersonCommand::RegisterUnemployment(woman)).await;
        let difficulty = Difficulty {
            categories: [DifficultyCategory::Disabled].into(),
            valid: DateRange::new(d("2026-03-02"), d("2029-03-01")).unwrap(),
        };
        run(&cases, Target::Case(case), "2026-03-02", PersonCommand::RecogniseDifficulty(difficulty)).await;
        let flexible = Placement { kind: PlacementKind::Flexible, employer: None, contract_months: None };
        run(&cases, Target::Case(case), "2026-04-01", PersonCommand::RecordPlacement(flexible)).await;
        let rule = "tianjin.flexible.difficulty-4050-social-insurance".to_string();
        follow_to_head(&finder, &store, None).await;
        assert!(!found(&store).await.iter().any(|(_, r, _)| *r == rule), "39 years old: not yet");

        // Nothing happens on the case; on 2026-07-15 she is 40. The finder
        // starts again (caught up: no event to examine) and its first sweep
        // over the read model's persons finds her.
        set_day(&now, "2026-07-15");
        let readmodel = ReadModelDir::new(dir.path().join("readmodel"));
        leye_projections::runner::rebuild(&store, &readmodel, |_| {}).await.unwrap();
        let head = store.head().await.unwrap();
        assert_eq!(finder.checkpoint().unwrap(), head, "no event left to examine");
        let (stop, stopped) = watch::channel(false);
        let follow = finder.follow(&store, Some(&readmodel), SWEEP_EVERY, stopped);
        let watch = async {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while !found(&store).await.iter().any(|(_, r, _)| *r == rule) {
                assert!(std::time::Instant::now() < deadline, "the sweep did not find her");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stop.send_replace(true);
        };
        let (result, ()) = tokio::join!(follow, watch);
        result.unwrap();
        let notes: Vec<String> = found(&store).await.into_iter().map(|(_, r, _)| r).filter(|r| *r == rule).collect();
        assert_eq!(notes, vec![rule.clone()]);
        let view = cases.state(case, AsOf::Latest, &Access::Service(ACTOR)).await.unwrap();
        let noted = view.case.file().unwrap().eligibility(&rule).unwrap();
        assert_eq!(noted.found_on, d("2026-07-15"));
        assert!(noted.finding.reasons.iter().any(|r| r.check == "min_age" && r.detail.contains("aged 40")));
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_programme_is_found_for_a_fact_that_fell_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("events.sqlite"), Default::default()).await.unwrap();
        // Today is 2025-08-01: Heping's 004 (有效期5年 from 2020-06-30) ended on 2025-06-29.
        let (clock, _) = clock("2025-08-01");
        let cases = PersonCases::new(store.clone(), CaseIds::from_key([10; 32]), clock);
        let finder = Finder::new(
            cases.clone(),
            Arc::new(leye_policy::default_catalogue().clone()),
            dir.path().join(CHECKPOINT_FILE),
        );
        // A Heping resident recognised as a difficulty person (valid to
        // 2025-12-31), placed in a public-welfare post on 2025-06-01, while
        // 004 § 12 was in force: the placement decides (domain §4), so
        // Heping's rule is found after 004 ended, and the municipal rule it
        // replaced on that date is not.
        let id = resident_id("120101", "19750304", 31);
        let person = registration(id.clone(), "120101001001", &[]);
        let case = run(&cases, Target::Person(id), "2025-01-10", PersonCommand::RegisterUnemployment(person)).await;
        let difficulty = Difficulty {
            categories: [DifficultyCategory::ZeroEmploymentHousehold].into(),
            valid: DateRange::new(d("2025-01-10"), d("2025-12-31")).unwrap(),
        };
        run(&cases, Target::Case(case), "2025-01-10", PersonCommand::RecogniseDifficulty(difficulty)).await;
        let post = Placement { kind: PlacementKind::PublicWelfarePost, employer: None, contract_months: None };
        run(&cases, Target::Case(case), "2025-06-01", PersonCommand::RecordPlacement(post)).await;
        follow_to_head(&finder, &store, None).await;
        let rules: Vec<String> = found(&store).await.into_iter().map(|(_, r, _)| r).collect();
        assert!(rules.iter().any(|r| r == "heping.placement.public-welfare-post"), "{rules:?}");
        assert!(!rules.iter().any(|r| r.starts_with("tianjin.placement.public-welfare-post")), "{rules:?}");
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_enterprise_is_found_eligible_from_its_own_case_once() {
        use leye_domain::enterprise::{EnterpriseName, EnterpriseRegistration, Hire};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("events.sqlite"), Default::default()).await.unwrap();
        let (clock, _) = clock("2026-11-22");
        let people = PersonCases::new(store.clone(), CaseIds::from_key([9; 32]), clock);
        let enterprises: EnterpriseCases<SqliteStore> = people.of_kind();
        let finder =
            Finder::new(people, Arc::new(leye_policy::default_catalogue().clone()), dir.path().join(CHECKPOINT_FILE));
        // A small/micro enterprise in Xiqing, 10 insured staff, hires 1 then 2
        // people this year. xiqing.loan.small-micro (000 § 14): small_micro,
        // and new hires reaching 20 % of staff (达到, inclusive): 1/10 does
        // not, 2/10 does.
        let registration = EnterpriseRegistration {
            credit_code: employer(),
            name: EnterpriseName::parse("天津西青测试制造有限公司").unwrap(),
            district: leye_domain::values::DistrictCode::parse("120111").unwrap(),
            industry_code: "C3411".into(),
            insured_employees: 10,
            small_micro: true,
            kinds: Default::default(),
            check_character_valid: true,
        };
        let run = |command: EnterpriseCommand, target: Target, on: &'static str| {
            let enterprises = enterprises.clone();
            async move {
                let command = DatedEnterpriseCommand { effective_date: d(on), command };
                enterprises.execute(target, meta(), command).await.unwrap().case_id
            }
        };
        let case = run(EnterpriseCommand::Register(registration), Target::Enterprise(employer()), "2026-01-05").await;
        let hire = |id: &str| {
            EnterpriseCommand::RecordHire(Hire {
                hire_id: id.into(),
                person_case_id: Uuid::new_v4(),
                contract_months: Some(12),
                started_on: d("2026-03-01"),
            })
        };
        run(hire("h1"), Target::Case(case), "2026-03-01").await;
        follow_to_head(&finder, &store, None).await;
        let rule = "xiqing.loan.small-micro";
        let notes = |store: SqliteStore| async move {
            let mut out = Vec::new();
            for e in store.read_all(None, usize::MAX).await.unwrap() {
                if e.event_type == "enterprise.eligibility_found" {
                    out.push((case_id_of::<Enterprise>(&e.stream).unwrap(), e.event_id));
                }
            }
            out
        };
        assert_eq!(notes(store.clone()).await, vec![], "1 hire for 10 staff: not yet");
        run(hire("h2"), Target::Case(case), "2026-03-01").await;
        follow_to_head(&finder, &store, None).await;
        assert_eq!(notes(store.clone()).await.len(), 1);
        let view = enterprises.state(case, AsOf::Latest, &Access::Service(ACTOR)).await.unwrap();
        let noted = view.case.file().unwrap().eligibility(rule).unwrap();
        assert_eq!((noted.found_on, noted.finding.clause.as_str()), (d("2026-11-22"), "000 § 14"));
        assert_eq!(noted.finding.amount, None, "an interest subsidy depends on the loan");
        assert!(noted.finding.reasons.iter().any(|r| r.check == "new_hires" && r.detail.starts_with("2 new hires")));
        // Restarted from no checkpoint: nothing noted twice.
        std::fs::remove_file(dir.path().join(CHECKPOINT_FILE)).unwrap();
        let head = store.head().await.unwrap();
        follow_to_head(&finder, &store, None).await;
        assert_eq!(store.head().await.unwrap(), head);
        assert_eq!(notes(store.clone()).await.len(), 1);
        store.close().await;
    }
}
