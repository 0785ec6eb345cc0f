//! The cost of sealing personal data on the command path (`leye-bench
//! --personal-data`): the same in-process command path (`PersonCases::execute`
//! on a fresh SQLite store, concurrent tasks, each person registered, then a
//! contact, a job recommendation and a placement), once writing plain
//! payloads and once sealing them with a key store and master key of its own.
//! Same process, same disk, same commands: the difference is the codec (data
//! key created and stored durably per registration, AEAD, JSON rework) and
//! the opening of each registration on every later command's load.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use anyhow::Context;
use leye_domain::{
    person::{
        Contact, ContactChannel, ContactOutcome, DatedCommand, Education, Hukou, HukouNature, JobRecommendation,
        PersonCommand, Placement, PlacementKind, Registration,
    },
    values::{CountyCode, PersonName, Residence, ResidentId},
};
use leye_store::{SqliteStore, SqliteStoreOptions};
use uuid::Uuid;

use super::{Recorder, Window, run_clients};
use crate::{
    access::Access,
    cases::{CommandMeta, PersonCases, Target},
    config::STORE_FILE,
    identity::CaseIds,
    personal::VaultConfig,
};

/// Operation kinds, in the order of [`COMMAND_KINDS`].
pub const COMMAND_KINDS: [&str; 4] = ["register", "contact", "recommend", "place"];

/// Runs the command path for `window` with `tasks` concurrent tasks,
/// sealing personal data when `sealed`.
pub async fn command_path(tmp_parent: &Path, sealed: bool, tasks: usize, window: Window) -> anyhow::Result<Recorder> {
    let dir = tempfile::Builder::new().prefix("leye-bench-personal-").tempdir_in(tmp_parent)?;
    let store = SqliteStore::open(dir.path().join(STORE_FILE), SqliteStoreOptions::default())
        .await
        .context("opening the bench store")?;
    let mut cases = PersonCases::new(store.clone(), CaseIds::from_key(rand::random()), Arc::new(chrono::Utc::now));
    if sealed {
        let vault = VaultConfig {
            key_store: dir.path().join("keys/keys.sqlite"),
            shared: None,
            master_key_file: dir.path().join("keys/master.key"),
            cipher: leye_vault::Cipher::default(),
        };
        cases = cases.with_personal_data(vault.open()?);
    }
    let base: u64 = rand::random::<u32>().into();
    let next = Arc::new(AtomicU64::new(0));
    let rec =
        run_clients(tasks, window, COMMAND_KINDS.len(), |_, rec| person_task(cases.clone(), base, next.clone(), rec))
            .await;
    store.close().await;
    rec
}

async fn person_task(cases: PersonCases<SqliteStore>, base: u64, next: Arc<AtomicU64>, mut rec: Recorder) -> Recorder {
    let today = cases.today();
    let on = today.pred_opt().unwrap_or(today);
    while rec.running() {
        let n = base + next.fetch_add(1, Ordering::Relaxed);
        let (id, commands) = match person(n, today) {
            Ok(p) => p,
            Err(e) => {
                rec.error("bench data", e);
                return rec;
            }
        };
        let mut target = Target::Person(id);
        for (kind, command) in commands.into_iter().enumerate() {
            let started = std::time::Instant::now();
            let meta = CommandMeta {
                command_id: Uuid::new_v4(),
                correlation_id: Uuid::new_v4(),
                causation_id: Uuid::new_v4(),
                actor: "leye-bench".into(),
                office: "bench".into(),
                expected_revision: None,
                access: Access::Service("leye-bench"),
            };
            match cases.execute(target.clone(), meta, DatedCommand { effective_date: on, command }).await {
                Ok(outcome) => {
                    rec.ok(kind, started);
                    target = Target::Case(outcome.case_id);
                }
                Err(e) => {
                    rec.error(COMMAND_KINDS[kind], e);
                    break;
                }
            }
        }
    }
    rec
}

/// The distinct resident IDs [`person`] makes (9 000 birth dates × 1 000
/// sequence numbers); `n` is taken modulo this.
const PERSON_IDS: u64 = 9_000_000;

/// The last of them, kept for probes: a server's readiness command, the
/// fail-over's. A run's persons never meet a probe's, whose person is
/// placed already (a random probe fell inside a run's range about once in
/// 300 probes, and that registration was refused as `CURRENTLY_PLACED`).
const PROBE_IDS: u64 = 100_000;

/// The first `n` of a run of `persons` persons: random, below the probes'.
pub(crate) fn run_base(persons: u64) -> u64 {
    rand::random::<u64>() % (PERSON_IDS - PROBE_IDS).saturating_sub(persons).max(1)
}

/// A probe's person: a different one at each call of this process.
pub(crate) fn probe_person() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    PERSON_IDS - PROBE_IDS + NEXT.fetch_add(1, Ordering::Relaxed) % PROBE_IDS
}

/// Person `n`: a resident ID of its own and the four commands.
pub(crate) fn person(n: u64, today: chrono::NaiveDate) -> anyhow::Result<(ResidentId, Vec<PersonCommand>)> {
    let birth =
        chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default() + chrono::Duration::days((n % 9000) as i64);
    let first17 = format!("120111{}{:03}", birth.format("%Y%m%d"), n / 9000 % 1000);
    let check = ResidentId::check_character(&first17).context("17 digits")?;
    let id = ResidentId::parse(&format!("{first17}{check}"), today)?;
    let registration = Registration {
        resident_id: id.clone().into(),
        name: Some(PersonName::parse("王测试")?),
        hukou: Hukou { county: CountyCode::parse("120111")?, nature: HukouNature::Urban },
        residence: Residence::parse("120111", "120111001", "120111001002").map_err(|(_, e)| e)?,
        education: Education::SeniorSecondary,
        graduation: None,
        household: None,
        groups: Default::default(),
    };
    Ok((
        id,
        vec![
            PersonCommand::RegisterUnemployment(registration),
            PersonCommand::RecordContact(Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: "月度跟踪服务".into(),
            }),
            PersonCommand::RecommendJob(JobRecommendation {
                vacancy_id: format!("V-{n}"),
                enterprise: None,
                two_way: false,
            }),
            PersonCommand::RecordPlacement(Placement {
                kind: PlacementKind::Flexible,
                employer: None,
                contract_months: None,
            }),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A run's persons never include a probe's, whatever the draw: a probe
    /// inside a run's range had its registration refused as `CURRENTLY_PLACED`.
    #[test]
    fn a_runs_persons_never_meet_a_probes() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
        let id = |n| person(n, today).expect("a person").0.as_str().to_string();
        let probes: HashSet<String> = (0..1000).map(|_| id(probe_person())).collect();
        assert_eq!(probes.len(), 1000, "a probe's person came twice");
        for persons in [1, 30_000, 500_000] {
            for _ in 0..100 {
                let base = run_base(persons);
                assert!(base + persons <= PERSON_IDS - PROBE_IDS, "{persons} persons from {base} reach the probes'");
            }
        }
        for _ in 0..3 {
            let base = run_base(30_000);
            let run: HashSet<String> = (base..base + 30_000).map(id).collect();
            assert_eq!(run.len(), 30_000, "a run's person came twice");
            assert!(run.is_disjoint(&probes), "a run from {base} meets a probe");
        }
    }
}
