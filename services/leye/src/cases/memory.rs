//! What a command is decided on ([`Basis`]), and the cases this process
//! decided last, remembered so that the next command on one of them need
//! not read its stream again ([`CaseMemory`]).
//!
//! # Why a remembered case decides nothing wrong
//! An entry is the case as it stood after a command this process recorded:
//! the folded state, its revision, and the commands its events hold. A
//! command decided on it appends at exactly that revision, so the store
//! accepts the append only if no event was recorded since, by this server
//! or any other: then the entry WAS the case, and the decision is the one a
//! fresh read would have made. Every other answer decided on an entry (a
//! rejection, a denial, a conflict with a pinned revision, the outcome of
//! an earlier command, a lost race, an error) is not given: the entry is
//! dropped and the command decided again on a fresh read. An erasure is
//! never decided on an entry (its key goes before its event).
//!
//! A registration (a case named by the person's resident ID or the
//! enterprise's credit code) is first decided the same way on a case
//! assumed new, sparing the read of what is nearly always an empty stream:
//! its append at "no stream" is accepted only if the stream is indeed empty.
//! A registration of a case that exists is then decided again on a fresh
//! read, as a remembered case out of date is; a data key given fresh for
//! the refused append is taken back (`PersonalData::unbind`), so an erased
//! person is not left with a live key.
//!
//! When the store answers that the command's events were already written
//! (their ids derive from the command id), the answer is given on a fresh
//! read: only the stream's fingerprints tell a retry of this command from
//! another command reusing its id.
//!
//! # Personal data
//! An entry holds the case as folded, names included, as the command path
//! holds it while deciding. It is dropped when the person is erased here or
//! (with a shared key store) on another server, and a case decided before
//! an erasure is not kept after it (the erasure generation, as in
//! [`crate::personal`]'s opened cache). With a PostgreSQL key store entries
//! are served only while the erasure follower is fresh
//! ([`leye_vault::Vault::cache_fresh`]): another server's erasure leaves
//! nothing here after at most that bound. At most [`CAPACITY`] cases are
//! kept; the one recorded longest ago goes first. Dropped entries are freed,
//! not zeroed.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use uuid::Uuid;

use super::{CommandOutcome, Recorded};
use crate::personal::ErasureListener;

/// Cases remembered at most (a person case is a few KiB folded).
pub const CAPACITY: usize = 16_384;

/// A case folded, its last revision (`None`: no stream yet), and the
/// commands its events hold.
#[derive(Debug)]
pub(super) struct Basis<C> {
    pub case: C,
    pub revision: Option<u64>,
    pub commands: Commands,
}

impl<C: Default> Basis<C> {
    /// A case assumed new: no events, no stream.
    pub fn new_case() -> Self {
        Self { case: C::default(), revision: None, commands: Commands::default() }
    }
}

impl<C> Basis<C> {
    /// The basis a stream's events give.
    pub fn of<E>(history: &[Recorded<E>], fold: impl FnOnce(&[Recorded<E>]) -> C) -> Self {
        let mut commands = Commands::default();
        for r in history {
            commands.add(
                r.metadata.command_id,
                &r.metadata.command_fingerprint,
                r.event_id,
                r.revision,
                r.position.commit,
            );
        }
        Self { case: fold(history), revision: history.last().map(|r| r.revision), commands }
    }
}

/// The commands a case's events hold, by command id: what recognises a retry.
#[derive(Debug, Clone, Default)]
pub(super) struct Commands(HashMap<Uuid, Mark>);

/// One command's events in a case: as the last of them says.
#[derive(Debug, Clone)]
struct Mark {
    fingerprint: String,
    event_ids: Vec<Uuid>,
    revision: u64,
    position: u64,
}

impl Commands {
    /// Adds an event of command `command_id` (events in stream order).
    pub fn add(&mut self, command_id: Uuid, fingerprint: &str, event_id: Uuid, revision: u64, position: u64) {
        let mark = self.0.entry(command_id).or_insert_with(|| Mark {
            fingerprint: String::new(),
            event_ids: Vec::new(),
            revision,
            position,
        });
        if mark.fingerprint != fingerprint {
            fingerprint.clone_into(&mut mark.fingerprint);
        }
        mark.event_ids.push(event_id);
        mark.revision = revision;
        mark.position = position;
    }

    /// The outcome of command `command_id` if the case holds its events:
    /// the original's, when `fingerprint` is the one its last event keeps;
    /// [`super::AppError::CommandIdReused`] when another.
    pub fn earlier_outcome(
        &self,
        case_id: Uuid,
        command_id: Uuid,
        fingerprint: &str,
    ) -> Result<Option<CommandOutcome>, super::AppError> {
        let Some(mark) = self.0.get(&command_id) else { return Ok(None) };
        if mark.fingerprint != fingerprint {
            return Err(super::AppError::CommandIdReused);
        }
        Ok(Some(CommandOutcome {
            case_id,
            revision: mark.revision,
            event_ids: mark.event_ids.clone(),
            duplicate: true,
            position: mark.position,
        }))
    }
}

struct Entry<C> {
    basis: Basis<C>,
    /// Which keep put it here (the eviction order names keeps).
    stamp: u64,
}

struct Inner<C> {
    /// Moves on with every erasure.
    generation: u64,
    stamp: u64,
    entries: HashMap<Uuid, Entry<C>>,
    /// `(case, stamp)` in the order kept; a stamp no longer its entry's is stale.
    order: VecDeque<(Uuid, u64)>,
}

/// See the module documentation.
pub(super) struct CaseMemory<C> {
    inner: Mutex<Inner<C>>,
    capacity: usize,
}

impl<C> CaseMemory<C> {
    pub fn new(capacity: usize) -> Self {
        let inner = Inner { generation: 0, stamp: 0, entries: HashMap::new(), order: VecDeque::new() };
        Self { inner: Mutex::new(inner), capacity }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<C>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The erasure generation: read before the basis that may be kept is read.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The remembered basis of `case_id`, if any, taken out: a command
    /// decides on it in the case's turn and keeps what it recorded.
    pub fn take(&self, case_id: Uuid) -> Option<Basis<C>> {
        self.lock().entries.remove(&case_id).map(|e| e.basis)
    }

    #[cfg(test)]
    pub fn remembers(&self, case_id: Uuid) -> bool {
        self.lock().entries.contains_key(&case_id)
    }

    /// Remembers `basis` for `case_id`, unless an erasure happened since
    /// `generation` was read.
    pub fn keep(&self, generation: u64, case_id: Uuid, basis: Basis<C>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        inner.stamp += 1;
        let stamp = inner.stamp;
        inner.entries.insert(case_id, Entry { basis, stamp });
        inner.order.push_back((case_id, stamp));
        while inner.entries.len() > self.capacity {
            let Some((oldest, stamp)) = inner.order.pop_front() else { break };
            if inner.entries.get(&oldest).is_some_and(|e| e.stamp == stamp) {
                inner.entries.remove(&oldest);
            }
        }
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(id, stamp)| entries.get(id).is_some_and(|e| e.stamp == *stamp));
        }
    }

    /// Drops what is remembered of `case_id` (it may be out of date).
    pub fn forget(&self, case_id: Uuid) {
        self.lock().entries.remove(&case_id);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl<C: Send> ErasureListener for CaseMemory<C> {
    /// Drops `case_id` (its person was erased) and refuses every basis read
    /// before now.
    fn erased(&self, case_id: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(&case_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basis(revision: u64) -> Basis<u64> {
        Basis { case: revision, revision: Some(revision), commands: Commands::default() }
    }

    #[test]
    fn a_basis_read_before_an_erasure_is_not_kept_and_the_memory_stays_bounded() {
        let memory = CaseMemory::new(3);
        let cases: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let g = memory.generation();
        for (i, c) in cases[..4].iter().enumerate() {
            memory.keep(g, *c, basis(i as u64));
        }
        assert_eq!(memory.len(), 3, "bounded");
        assert!(!memory.remembers(cases[0]), "the one kept longest ago went first");
        // Kept again: now the newest, so the next to go is cases[2].
        memory.keep(g, cases[1], basis(10));
        memory.keep(g, cases[4], basis(4));
        assert!(!memory.remembers(cases[2]));
        assert_eq!(memory.take(cases[1]).map(|b| b.case), Some(10), "the last keep is served");
        assert!(!memory.remembers(cases[1]), "taken out");
        memory.keep(g, cases[1], basis(11));

        let before = memory.generation();
        memory.erased(cases[3]);
        assert!(!memory.remembers(cases[3]), "erased");
        assert_eq!(memory.take(cases[4]).map(|b| b.case), Some(4), "other cases stay");
        memory.keep(before, cases[3], basis(5));
        assert!(!memory.remembers(cases[3]), "a basis read before the erasure is refused");

        for i in 0..50 {
            memory.keep(memory.generation(), cases[1], basis(i));
        }
        assert!(memory.lock().order.len() <= 6, "stale keeps do not pile up");
        memory.forget(cases[1]);
        assert!(!memory.remembers(cases[1]));
        let off = CaseMemory::new(0);
        off.keep(off.generation(), cases[0], basis(1));
        assert!(!off.remembers(cases[0]), "capacity 0 keeps nothing");
    }

    #[test]
    fn a_command_is_recognised_by_its_id_and_its_last_events_fingerprint() {
        let (case, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (e1, e2, e3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut commands = Commands::default();
        commands.add(a, "fa", e1, 0, 7);
        commands.add(a, "fa", e2, 1, 8);
        commands.add(b, "fb", e3, 2, 12);
        let outcome = commands.earlier_outcome(case, a, "fa").unwrap().unwrap();
        assert_eq!(
            (outcome.revision, outcome.position, outcome.event_ids, outcome.duplicate),
            (1, 8, vec![e1, e2], true)
        );
        assert!(matches!(commands.earlier_outcome(case, b, "fa"), Err(super::super::AppError::CommandIdReused)));
        assert!(commands.earlier_outcome(case, Uuid::new_v4(), "fa").unwrap().is_none());
    }

    /// A person erased on this server, through its command path or through
    /// the personal-data codec it shares with the rest of the process (the
    /// hook another server's erasure also takes), is remembered no more.
    #[tokio::test]
    async fn an_erased_person_is_remembered_no_more() {
        use leye_domain::{
            person::{self, DatedCommand, ErasureGround, PersonCommand, PersonalDataErasure},
            values::{CountyCode, PersonName, Residence, ResidentId},
        };
        use leye_store::{
            EventStore,
            sqlite::{SqliteStore, SqliteStoreOptions},
        };

        use crate::{
            access::Access,
            cases::{CommandMeta, PersonCases, Target},
            identity::CaseIds,
            personal::{KEY_STORE_FILE, MASTER_KEY_FILE, PersonalData, VaultConfig},
        };

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("events.sqlite"), SqliteStoreOptions::default()).await.unwrap();
        let vault = VaultConfig {
            key_store: dir.path().join(KEY_STORE_FILE),
            shared: None,
            master_key_file: dir.path().join(MASTER_KEY_FILE),
            cipher: leye_vault::Cipher::default(),
        };
        let personal = vault.open().unwrap();
        let cases = PersonCases::new(store.clone(), CaseIds::from_key([4; 32]), std::sync::Arc::new(chrono::Utc::now))
            .with_personal_data(personal.clone());
        let meta = || CommandMeta {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "staff-0042".into(),
            office: "120111001".into(),
            expected_revision: None,
            access: Access::Service("leye-test"),
        };
        let register = |n: u8| {
            let first17 = format!("1201111980010100{n}");
            let id = format!("{first17}{}", ResidentId::check_character(&first17).unwrap());
            let id = ResidentId::parse(&id, cases.today()).unwrap();
            let registration = person::Registration {
                resident_id: id.clone().into(),
                name: Some(PersonName::parse("王小明").unwrap()),
                hukou: person::Hukou {
                    county: CountyCode::parse("120111").unwrap(),
                    nature: person::HukouNature::Urban,
                },
                residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
                education: person::Education::Bachelor,
                graduation: None,
                household: None,
                groups: Default::default(),
            };
            let command = DatedCommand {
                effective_date: cases.today(),
                command: PersonCommand::RegisterUnemployment(registration),
            };
            (Target::Person(id), command)
        };
        let (mut ids, mut kids) = (Vec::new(), Vec::new());
        for n in [1, 2, 3] {
            let (target, command) = register(n);
            let outcome = cases.execute(target, meta(), command).await.unwrap();
            let stored = store.read_stream(&super::super::person_stream(outcome.case_id), 0).await.unwrap();
            kids.push(PersonalData::key_of(&stored[0].event_type, &stored[0].data).unwrap());
            ids.push(outcome.case_id);
        }
        assert!(ids.iter().all(|id| cases.memory.remembers(*id)), "each case remembered as registered");

        // Erased through the command path.
        let erase = DatedCommand {
            effective_date: cases.today(),
            command: PersonCommand::ErasePersonalData(PersonalDataErasure { ground: ErasureGround::ConsentWithdrawn }),
        };
        cases.execute(Target::Case(ids[0]), meta(), erase).await.unwrap();
        assert!(!cases.memory.remembers(ids[0]), "erased through the command path");
        // Erased by another holder of the codec: the hook drops it too.
        let before = cases.memory.generation();
        personal.erase(ids[1], vec![kids[1]]).await.unwrap();
        assert!(!cases.memory.remembers(ids[1]), "erased through the codec");
        assert_ne!(cases.memory.generation(), before, "what was read before the erasure is not kept");
        assert!(cases.memory.remembers(ids[2]), "the others stay");
        assert_eq!(cases.memory.len(), 1);
    }
}
