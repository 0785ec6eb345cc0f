//! One command, decided and appended ([`Cases::execute_with`]'s loop): the
//! case read (or taken from memory), the decision, the append at the
//! revision decided on, and what happens after a lost race. Only an
//! accepted append is answered from a remembered case (see `memory`).

use std::time::Duration;

use leye_store::{EventData, EventStore, ExpectedRevision, StoreError, StreamName};
use serde::Serialize;
use uuid::Uuid;

use super::{
    AppError, CaseKind, Cases, CommandMeta, CommandOutcome, Target, encode, fingerprint, memory::Basis, stream_of,
    turn_of,
};
use crate::personal::PersonalData;
use leye_domain::Date;

/// Attempts made however long they take.
const MIN_ATTEMPTS: u32 = 5;

/// The pause before deciding again after the first lost race: a random time up
/// to this, doubling with each further loss up to [`RETRY_PAUSE_MAX`].
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(4);
const RETRY_PAUSE_MAX: Duration = Duration::from_millis(100);

/// The pause before attempt `attempt + 1` after `attempt` lost races: random
/// ("full jitter") up to `RETRY_PAUSE_FIRST * 2^(attempt - 1)`, capped.
fn retry_pause(attempt: u32) -> Duration {
    let ceiling = RETRY_PAUSE_FIRST.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(RETRY_PAUSE_MAX);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

/// How one decision ended ([`Cases::decide_once`]).
enum Step<C> {
    /// Appended: the outcome, and the case as it now stands when it may be
    /// remembered.
    Recorded(CommandOutcome, Option<Basis<C>>),
    /// Answered without writing: the command had been recorded before.
    Answered(CommandOutcome),
    /// Another command got in first; the store's current revision.
    Lost { current: Option<u64>, kind: &'static str },
    /// Not decided on a remembered case (an erasure): decide on a fresh read.
    Again,
}

impl<K: CaseKind, S: EventStore> Cases<K, S> {
    /// [`Self::execute_with`], noting the command's type in `kind` once known.
    pub(super) async fn decide_and_append<R: Serialize>(
        &self,
        target: Target,
        meta: CommandMeta,
        request: &R,
        prepare: impl Fn(&K::Case, Date) -> Result<K::Command, AppError>,
        kind_seen: &mut Option<&'static str>,
    ) -> Result<CommandOutcome, AppError> {
        let case_id = target.case_id(&self.ids);
        meta.access.touch(case_id);
        let stream = stream_of::<K>(case_id);
        let fingerprint = fingerprint(&self.ids, case_id, request);
        let stripe = &self.turns[turn_of(case_id)];
        let mut turn = stripe.lock().await;

        let first_try = tokio::time::Instant::now();
        let mut attempt = 0u32;
        // Whether the command may be decided on a basis not read from the
        // store: the case this process remembers, or, for a registration
        // (a case named by who it is for), a case assumed new. Not after a
        // decision on such a basis was not recorded (see `memory`).
        let mut unread_allowed = true;
        let assume_new = matches!(target, Target::Person(_) | Target::Enterprise(_));
        // Whether the store's "already written" has been checked against a
        // fresh read of the stream (see below).
        let mut written_checked = false;
        loop {
            let generation = self.memory.generation();
            let unread_basis =
                if unread_allowed { self.recall(case_id).or_else(|| assume_new.then(Basis::new_case)) } else { None };
            let unread = unread_basis.is_some();
            let basis = match unread_basis {
                Some(basis) => basis,
                None => {
                    let history = self.load(&stream).await?;
                    Basis::of(&history, |h| K::fold(h.iter().map(|r| &r.event)))
                }
            };
            let step = self.decide_once(case_id, &stream, &meta, &fingerprint, basis, unread, &prepare, kind_seen);
            match (step.await, unread) {
                // The store found the command's events already written: by a
                // retry of this command, or by another command under the same
                // id. Only the stream's fingerprints tell which, so the answer
                // is given on a fresh read (once: a second "already written"
                // is the race of two retries, and answered as such).
                (Ok(Step::Recorded(outcome, _)), _) if outcome.duplicate && !written_checked => {
                    self.memory.forget(case_id);
                    unread_allowed = false;
                    written_checked = true;
                }
                (Ok(Step::Recorded(outcome, after)), _) => {
                    match after {
                        Some(after) => self.memory.keep(generation, case_id, after),
                        None => self.memory.forget(case_id),
                    }
                    return Ok(outcome);
                }
                // Anything but a recorded append is answered on a fresh read.
                (_, true) => {
                    self.memory.forget(case_id);
                    unread_allowed = false;
                }
                (Ok(Step::Answered(outcome)), false) => return Ok(outcome),
                (Ok(Step::Again), false) => {}
                (Ok(Step::Lost { current, kind }), false) => {
                    attempt += 1;
                    if meta.expected_revision.is_some() {
                        return Err(AppError::Conflict { current });
                    }
                    let pause = retry_pause(attempt);
                    if attempt >= MIN_ATTEMPTS && first_try.elapsed() + pause > self.retry_for {
                        tracing::info!(case = %case_id, command = kind, attempt, "lost every race; giving up");
                        return Err(AppError::Conflict { current });
                    }
                    tracing::debug!(
                        case = %case_id,
                        command = kind,
                        attempt,
                        pause_us = u64::try_from(pause.as_micros()).unwrap_or(u64::MAX),
                        "lost a race; deciding again"
                    );
                    // The turn is given up during the pause: the cases that
                    // share its stripe go on meanwhile, and another command
                    // on this case may go first (it is decided on the latest
                    // revision either way).
                    drop(turn);
                    tokio::time::sleep(pause).await;
                    turn = stripe.lock().await;
                }
                (Err(e), false) => return Err(e),
            }
        }
    }

    /// The case as this process last recorded it, taken out of memory,
    /// when it may be served: with a shared key store, only while erasures
    /// are followed.
    fn recall(&self, case_id: Uuid) -> Option<Basis<K::Case>> {
        if self.personal.as_ref().is_some_and(|p| !p.vault().cache_fresh()) {
            self.memory.forget(case_id);
            return None;
        }
        self.memory.take(case_id)
    }

    /// One decision on `basis` and its append at `basis`'s revision;
    /// `unread`: the basis was not read from the store (a remembered case, or
    /// one assumed new), so a refusal on it is decided again, not logged.
    #[allow(clippy::too_many_arguments)]
    async fn decide_once(
        &self,
        case_id: Uuid,
        stream: &StreamName,
        meta: &CommandMeta,
        fingerprint: &str,
        basis: Basis<K::Case>,
        unread: bool,
        prepare: &impl Fn(&K::Case, Date) -> Result<K::Command, AppError>,
        kind_seen: &mut Option<&'static str>,
    ) -> Result<Step<K::Case>, AppError> {
        let Basis { case, revision: current, mut commands } = basis;
        // The command's type when it is answered before being decided: for
        // the metrics only (nothing of it reaches the caller).
        let note_kind = |kind_seen: &mut Option<&'static str>| {
            if self.metrics.is_some() {
                *kind_seen = prepare(&case, self.today()).ok().map(|c| K::command_name(&c));
            }
        };
        // The jurisdiction first: a caller outside it learns nothing more,
        // not even whether its command id was used here.
        let before = K::place(&case);
        if let Some(place) = &before {
            if let Err(denied) = meta.access.check_place(case_id, place) {
                note_kind(kind_seen);
                return Err(denied.into());
            }
        }
        if let Some(outcome) = commands.earlier_outcome(case_id, meta.command_id, fingerprint)? {
            note_kind(kind_seen);
            if !unread {
                tracing::info!(case = %case_id, revision = outcome.revision, "duplicate command: original outcome returned");
            }
            return Ok(Step::Answered(outcome));
        }
        if let Some(expected) = meta.expected_revision {
            if current != Some(expected) {
                return Err(AppError::Conflict { current });
            }
        }
        let today = self.today();
        let command = prepare(&case, today)?;
        let kind = K::command_name(&command);
        *kind_seen = Some(kind);
        let events = K::decide(&case, command, today).inspect_err(|rejection| {
            if !unread {
                tracing::info!(case = %case_id, command = kind, code = rejection.code(), "command rejected");
            }
        })?;
        let erases = events.iter().any(K::erases);
        if erases && unread {
            return Ok(Step::Again);
        }
        let mut after = case;
        events.iter().for_each(|e| K::apply(&mut after, e));
        let (Some(district), Some(place)) = (K::district(&after), K::place(&after)) else {
            // decide only accepts facts on a registered case, or a registration.
            return Err(AppError::Corrupt(format!("case {case_id}: accepted facts left no registration")));
        };
        // A registration opens the case where the caller may act; a move
        // needs a caller covering the new place as well as the old one.
        if before.as_ref() != Some(&place) {
            meta.access.check_place(case_id, &place)?;
        }
        if erases {
            // The key goes before the event is recorded: an erasure on
            // record is always true. A failed append leaves the key gone and
            // the command's retry records the event.
            let personal = self
                .personal
                .as_ref()
                .ok_or_else(|| AppError::Vault("this service has no personal-data key store to erase from".into()))?;
            let stored = self.store.read_stream(stream, 0).await?;
            let kids = stored.iter().filter_map(|e| PersonalData::key_of(&e.event_type, &e.data)).collect();
            let destroyed = personal.erase(case_id, kids).await?;
            tracing::info!(case = %case_id, destroyed, "personal-data keys destroyed");
        }
        // A key given fresh for this decision, with the store it came from
        // (taken back below if none of its sealed values is recorded).
        let fresh_key = match &self.personal {
            Some(p) if events.iter().any(|e| PersonalData::seals(K::event_type(e))) => {
                p.prepare(case_id).await?.map(|kid| (p, kid))
            }
            _ => None,
        };
        let data = events
            .iter()
            .enumerate()
            .map(|(i, e)| encode::<K>(meta, &district, fingerprint, i, e, case_id, self.personal.as_deref()))
            .collect::<Result<Vec<EventData>, AppError>>()?;
        let event_ids: Vec<Uuid> = data.iter().map(|d| d.event_id).collect();
        let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let started = std::time::Instant::now();
        let appended = self.store.append(stream, expected, data).await;
        if let Some(m) = &self.metrics {
            m.append(started.elapsed());
        }
        // The store certainly recorded none of this decision's values when it
        // refused the revision or found the events already written; an error
        // may hide a commit, so its key is kept.
        let not_recorded = match &appended {
            Ok(result) => result.already_written,
            Err(e) => matches!(e, StoreError::WrongExpectedRevision { .. } | StoreError::DuplicateEventId { .. }),
        };
        if let Some((p, kid)) = fresh_key.filter(|_| not_recorded) {
            p.unbind(case_id, kid);
        }
        match appended {
            Ok(result) => {
                // Every request is in the audit trail: a line per command
                // only when asked for (`LEYE_LOG=info,leye::cases=debug`).
                tracing::debug!(
                    case = %case_id,
                    command = kind,
                    revision = result.next_expected_revision,
                    position = %result.position,
                    "command accepted"
                );
                let outcome = CommandOutcome {
                    case_id,
                    revision: result.next_expected_revision,
                    event_ids,
                    duplicate: result.already_written,
                    position: result.position.commit,
                };
                // The case as it now stands, unless the store found the
                // events already written (the stream may have gone on since)
                // or they erased the person.
                let kept = (!result.already_written && !erases).then(|| {
                    let first = result.next_expected_revision + 1 - outcome.event_ids.len() as u64;
                    for (i, id) in outcome.event_ids.iter().enumerate() {
                        commands.add(meta.command_id, fingerprint, *id, first + i as u64, outcome.position);
                    }
                    Basis { case: after, revision: Some(result.next_expected_revision), commands }
                });
                Ok(Step::Recorded(outcome, kept))
            }
            Err(StoreError::WrongExpectedRevision { current, .. }) => {
                let current = match current {
                    leye_store::CurrentRevision::Current(r) => Some(r),
                    leye_store::CurrentRevision::NoStream => None,
                };
                Ok(Step::Lost { current, kind })
            }
            Err(StoreError::DuplicateEventId { .. }) => Err(AppError::CommandIdReused),
            Err(e) => Err(e.into()),
        }
    }
}
