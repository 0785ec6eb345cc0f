//! The writer's view of the log: every stream's events (as log sequence
//! numbers) and every event id's place, rebuilt from the log at open and kept
//! caught up with it; and [`plan`], which decides a batch of appends against
//! it exactly as the SQL adapters decide against their tables. Pure: no I/O.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use uuid::Uuid;

use super::envelope::Envelope;
use crate::{
    AppendResult, CurrentRevision, EventData, ExpectedRevision, IntegrityProblem, Position, RecordedEvent, StoreError,
    StreamName,
    chain::{ChainKey, EventBytes, GENESIS, Seal, StoredSeal, Walker},
    headfile::Link,
};

/// Where an event id is in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    /// Shared with the stream's entry in [`Index::streams`]: one copy of a
    /// name per stream, not per event.
    pub stream: Arc<StreamName>,
    pub revision: u64,
    pub seq: u64,
}

/// The log as far as it was read: memory grows with the log (about 120 bytes
/// an event, measured by `index_memory_per_event`; docs/PERFORMANCE.md).
#[derive(Debug)]
pub(super) struct Index {
    /// The last event indexed (seq 0 and [`GENESIS`] before the first).
    pub link: Link,
    /// Its `recorded_at` (µs): the next batch's is never earlier.
    pub recorded_at_us: i64,
    pub ids: HashMap<Uuid, Place>,
    /// Each stream's events by revision: `streams[s][r]` is the seq of revision `r`.
    pub streams: HashMap<Arc<StreamName>, Vec<u64>>,
}

impl Default for Index {
    fn default() -> Self {
        Self { link: Link { seq: 0, hash: GENESIS }, recorded_at_us: 0, ids: HashMap::new(), streams: HashMap::new() }
    }
}

impl Index {
    /// Number of events indexed (= the seq of the last one).
    pub fn len(&self) -> u64 {
        self.link.seq
    }

    /// Adds the next event of the log (already checked against the chain).
    /// Events at or before the last indexed one are ignored, so applying the
    /// same page twice is harmless. Err: the log has a gap or a stream
    /// revision out of order (not a log leye wrote).
    pub fn apply(&mut self, event: &RecordedEvent, seal: &Seal) -> Result<(), StoreError> {
        let seq = event.position.commit;
        if seq <= self.link.seq {
            return Ok(());
        }
        if seq != self.link.seq + 1 {
            return Err(StoreError::Backend(format!("the log jumps from {} to {seq}", self.link.seq)));
        }
        let name = match self.streams.get_key_value(&event.stream) {
            Some((name, _)) => Arc::clone(name),
            None => Arc::new(event.stream.clone()),
        };
        let seqs = self.streams.entry(Arc::clone(&name)).or_default();
        if event.revision != seqs.len() as u64 {
            return Err(StoreError::Backend(format!(
                "log event {seq}: stream revision {} does not follow {} events",
                event.revision,
                seqs.len()
            )));
        }
        seqs.push(seq);
        self.ids.insert(event.event_id, Place { stream: name, revision: event.revision, seq });
        self.link = Link { seq, hash: seal.hash };
        self.recorded_at_us = event.recorded_at.timestamp_micros().max(self.recorded_at_us);
        Ok(())
    }

    /// Adds a page read from the log after the last indexed event, each
    /// event checked against the chain with `key` (when the key is known):
    /// the events before the first break are added, and the break is the
    /// error ([`StoreError::Integrity`], `CHAIN_BROKEN`, naming the position
    /// and the kind, never the contents).
    pub fn extend(&mut self, key: Option<&ChainKey>, page: &[(RecordedEvent, Seal)]) -> Result<(), StoreError> {
        let mut walker = key.map(|k| Walker::from_link(k, self.link, None));
        let indexed = self.link.seq;
        for (event, seal) in page.iter().filter(|(e, _)| e.position.commit > indexed) {
            if let Some(walker) = walker.as_mut() {
                walker.step(&EventBytes::from(event), &StoredSeal::from(seal)).map_err(|b| StoreError::Integrity {
                    code: IntegrityProblem::CHAIN_BROKEN,
                    detail: b.to_string(),
                })?;
            }
            self.apply(event, seal)?;
        }
        Ok(())
    }

    pub fn current(&self, stream: &StreamName) -> CurrentRevision {
        match self.streams.get(stream).map(Vec::len) {
            Some(n) if n > 0 => CurrentRevision::Current(n as u64 - 1),
            _ => CurrentRevision::NoStream,
        }
    }

    /// The seqs of `stream`'s events from `from_revision` on.
    pub fn seqs(&self, stream: &StreamName, from_revision: u64) -> Vec<u64> {
        let Some(seqs) = self.streams.get(stream) else { return Vec::new() };
        let from = usize::try_from(from_revision).unwrap_or(usize::MAX).min(seqs.len());
        seqs[from..].to_vec()
    }
}

/// An event the batch will append to the log, sealed.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub event_id: Uuid,
    pub event_type: String,
    pub data: Vec<u8>,
    pub envelope: Envelope,
}

/// What one batch will write, and the answer to each request if it does.
#[derive(Debug)]
pub(super) struct Plan {
    /// The index length the batch was decided on: the log must still end there.
    pub base: u64,
    pub events: Vec<Planned>,
    pub results: Vec<Result<AppendResult, StoreError>>,
}

/// One request of a batch, borrowed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ask<'a> {
    pub stream: &'a StreamName,
    pub expected: ExpectedRevision,
    pub events: &'a [EventData],
}

/// Decides every request of a batch, in order, against `index` and what the
/// batch accepted before it: idempotent retry, expected revision, duplicate
/// ids (the same rules as the SQL adapters). Accepted events are sealed,
/// continuing the chain from the index's last link, all with one
/// `recorded_at` (`now_us`, or the last one if the clock went back).
pub(super) fn plan(index: &Index, batch: &[Ask<'_>], key: &ChainKey, now_us: i64) -> Plan {
    let recorded_at_us = now_us.max(index.recorded_at_us);
    let mut added: HashMap<Uuid, Place> = HashMap::new();
    let mut current: HashMap<&StreamName, CurrentRevision> = HashMap::new();
    let mut link = index.link;
    let mut events = Vec::new();
    let mut results = Vec::with_capacity(batch.len());
    for ask in batch {
        let result = decide(index, ask, &mut added, &mut current, &mut link, recorded_at_us, key, &mut events);
        results.push(result);
    }
    Plan { base: index.len(), events, results }
}

#[allow(clippy::too_many_arguments)]
fn decide<'a>(
    index: &Index,
    ask: &Ask<'a>,
    added: &mut HashMap<Uuid, Place>,
    current: &mut HashMap<&'a StreamName, CurrentRevision>,
    link: &mut Link,
    recorded_at_us: i64,
    key: &ChainKey,
    out: &mut Vec<Planned>,
) -> Result<AppendResult, StoreError> {
    let Some(first) = ask.events.first() else {
        return Err(StoreError::EmptyAppend);
    };
    let known = |id: &Uuid| added.get(id).or_else(|| index.ids.get(id)).cloned();
    if let Some(found) = known(&first.event_id) {
        // An idempotent retry if the stream holds exactly these ids from there.
        let mut last = found.clone();
        for (i, e) in ask.events.iter().enumerate() {
            match known(&e.event_id) {
                Some(p) if *p.stream == *ask.stream && p.revision == found.revision + i as u64 => last = p,
                _ => return Err(StoreError::DuplicateEventId { event_id: first.event_id }),
            }
        }
        return Ok(AppendResult {
            next_expected_revision: last.revision,
            position: Position::from_sequence(last.seq),
            already_written: true,
        });
    }
    let now = current.get(ask.stream).copied().unwrap_or_else(|| index.current(ask.stream));
    let ok = match (ask.expected, now) {
        (ExpectedRevision::Any, _)
        | (ExpectedRevision::NoStream, CurrentRevision::NoStream)
        | (ExpectedRevision::StreamExists, CurrentRevision::Current(_)) => true,
        (ExpectedRevision::Exact(want), CurrentRevision::Current(have)) => want == have,
        _ => false,
    };
    if !ok {
        return Err(StoreError::WrongExpectedRevision {
            stream: ask.stream.clone(),
            expected: ask.expected,
            current: now,
        });
    }
    let mut in_request = HashSet::new();
    for e in ask.events {
        if known(&e.event_id).is_some() || !in_request.insert(e.event_id) {
            return Err(StoreError::DuplicateEventId { event_id: e.event_id });
        }
    }
    let mut revision = match now {
        CurrentRevision::Current(r) => r + 1,
        CurrentRevision::NoStream => 0,
    };
    let name = Arc::new(ask.stream.clone());
    for e in ask.events {
        let seq = link.seq + 1;
        let seal = key.seal(
            &link.hash,
            &EventBytes {
                position: Position::from_sequence(seq),
                stream: ask.stream.as_str().as_bytes(),
                revision,
                event_id: e.event_id.as_bytes(),
                event_type: e.event_type.as_bytes(),
                recorded_at_us,
                data: &e.data,
                metadata: &e.metadata,
            },
        );
        out.push(Planned {
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            envelope: Envelope {
                stream: ask.stream.clone(),
                revision,
                recorded_at_us,
                seal,
                metadata: e.metadata.clone(),
            },
        });
        added.insert(e.event_id, Place { stream: Arc::clone(&name), revision, seq });
        *link = Link { seq, hash: seal.hash };
        revision += 1;
    }
    current.insert(ask.stream, CurrentRevision::Current(revision - 1));
    Ok(AppendResult {
        next_expected_revision: revision - 1,
        position: Position::from_sequence(link.seq),
        already_written: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        chain::{ChainAlgorithm, StoredSeal, Walker},
        keyfile::SecretKey,
    };

    fn key() -> ChainKey {
        ChainKey::new(ChainAlgorithm::Sha256, SecretKey::from_bytes([7; 32]))
    }

    fn stream(name: &str) -> StreamName {
        StreamName::parse(name).expect("valid")
    }

    fn events(n: usize) -> Vec<EventData> {
        (0..n)
            .map(|i| EventData {
                event_id: Uuid::new_v4(),
                event_type: "test.event".into(),
                data: format!("{{\"n\":{i}}}").into_bytes(),
                metadata: b"{}".to_vec(),
            })
            .collect()
    }

    /// A plan's events as the log holds them once appended.
    fn as_logged(plan: &Plan) -> Vec<(RecordedEvent, Seal)> {
        plan.events
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let event = RecordedEvent {
                    stream: p.envelope.stream.clone(),
                    revision: p.envelope.revision,
                    position: Position::from_sequence(plan.base + 1 + i as u64),
                    event_id: p.event_id,
                    event_type: p.event_type.clone(),
                    data: p.data.clone(),
                    metadata: p.envelope.metadata.clone(),
                    recorded_at: super::super::envelope::recorded_at(p.envelope.recorded_at_us).expect("in range"),
                };
                (event, p.envelope.seal)
            })
            .collect()
    }

    /// Reads a plan back into the index, as the writer does after appending.
    fn apply(index: &mut Index, plan: &Plan) {
        index.extend(Some(&key()), &as_logged(plan)).expect("the plan follows the index and chains");
    }

    #[test]
    fn catching_up_checks_the_chain_and_stops_at_the_break() {
        let key = key();
        let mut index = Index::default();
        let s = stream("tampered");
        let p = plan(&index, &[Ask { stream: &s, expected: ExpectedRevision::Any, events: &events(5) }], &key, 9);
        let mut page = as_logged(&p);
        page[2].0.data = b"{\"n\":99}".to_vec(); // an edit made in KurrentDB, without the key
        let e = index.extend(Some(&key), &page).unwrap_err();
        match &e {
            StoreError::Integrity { code, detail } => {
                assert_eq!(*code, IntegrityProblem::CHAIN_BROKEN);
                assert!(detail.contains("EDITED_PAYLOAD at position 3"), "{detail}");
                assert!(!detail.contains("99"), "never the contents: {detail}");
            }
            other => panic!("expected CHAIN_BROKEN, got {other:?}"),
        }
        assert_eq!(index.len(), 2, "the events before the break are indexed");
        assert_eq!(index.seqs(&s, 0), vec![1, 2]);

        // Another key: the first event is a forgery.
        let mut fresh = Index::default();
        let other = ChainKey::new(ChainAlgorithm::Sha256, SecretKey::from_bytes([8; 32]));
        let e = fresh.extend(Some(&other), &as_logged(&p)).unwrap_err().to_string();
        assert!(e.contains("FORGED at position 1"), "{e}");
        assert_eq!(fresh.len(), 0);
        // Without the key (a CHAIN_KEY problem, appends refused) reads still get an index.
        fresh.extend(None, &page).expect("unchecked");
        assert_eq!(fresh.len(), 5);
        // A page that repeats indexed events (a second catch-up) adds nothing twice.
        let mut whole = Index::default();
        whole.extend(Some(&key), &as_logged(&p)).expect("chains");
        whole.extend(Some(&key), &as_logged(&p)).expect("already indexed");
        assert_eq!(whole.len(), 5);
    }

    #[test]
    fn a_batch_is_decided_like_the_sql_adapters_and_chains() {
        let key = key();
        let mut index = Index::default();
        let (a, b) = (stream("person-a"), stream("person-b"));
        let (ea, eb) = (events(2), events(1));
        let batch = [
            Ask { stream: &a, expected: ExpectedRevision::NoStream, events: &ea },
            // The same stream again in the batch: it now exists.
            Ask { stream: &a, expected: ExpectedRevision::NoStream, events: &eb },
            Ask { stream: &b, expected: ExpectedRevision::Exact(0), events: &eb },
            Ask { stream: &b, expected: ExpectedRevision::Any, events: &eb },
            Ask { stream: &b, expected: ExpectedRevision::Any, events: &[] },
        ];
        let plan = plan(&index, &batch, &key, 1_000);
        assert_eq!(plan.base, 0);
        let r0 = plan.results[0].as_ref().expect("first append");
        assert_eq!(
            (r0.next_expected_revision, r0.position, r0.already_written),
            (1, Position::from_sequence(2), false)
        );
        assert!(matches!(
            &plan.results[1],
            Err(StoreError::WrongExpectedRevision { current: CurrentRevision::Current(1), .. })
        ));
        assert!(matches!(
            &plan.results[2],
            Err(StoreError::WrongExpectedRevision { current: CurrentRevision::NoStream, .. })
        ));
        let r3 = plan.results[3].as_ref().expect("Any appends");
        assert_eq!((r3.next_expected_revision, r3.position), (0, Position::from_sequence(3)));
        assert!(matches!(plan.results[4], Err(StoreError::EmptyAppend)));
        assert_eq!(plan.events.len(), 3);

        // The planned seals verify as a chain from the genesis.
        let mut walker = Walker::new(&key, None);
        for (i, p) in plan.events.iter().enumerate() {
            let event = EventBytes {
                position: Position::from_sequence(i as u64 + 1),
                stream: p.envelope.stream.as_str().as_bytes(),
                revision: p.envelope.revision,
                event_id: p.event_id.as_bytes(),
                event_type: p.event_type.as_bytes(),
                recorded_at_us: p.envelope.recorded_at_us,
                data: &p.data,
                metadata: &p.envelope.metadata,
            };
            walker.step(&event, &StoredSeal::from(&p.envelope.seal)).expect("chains");
        }
        apply(&mut index, &plan);
        assert_eq!(index.len(), 3);
        assert_eq!(index.current(&a), CurrentRevision::Current(1));
        assert_eq!(index.seqs(&a, 1), vec![2]);
        assert_eq!(index.seqs(&b, 0), vec![3]);
        assert!(index.seqs(&a, u64::MAX).is_empty());
        assert_eq!(index.link, walker.last());
    }

    #[test]
    fn retries_are_idempotent_and_reused_ids_are_duplicates() {
        let key = key();
        let mut index = Index::default();
        let (s, other) = (stream("case-1"), stream("case-2"));
        let first = events(2);
        let p = plan(&index, &[Ask { stream: &s, expected: ExpectedRevision::NoStream, events: &first }], &key, 5);
        apply(&mut index, &p);

        let retry = plan(&index, &[Ask { stream: &s, expected: ExpectedRevision::Exact(7), events: &first }], &key, 6);
        assert!(retry.events.is_empty(), "a retry writes nothing");
        let r = retry.results[0].as_ref().expect("idempotent");
        assert_eq!((r.next_expected_revision, r.position, r.already_written), (1, Position::from_sequence(2), true));

        let dup = |r: &Result<AppendResult, StoreError>, want: Uuid| match r {
            Err(StoreError::DuplicateEventId { event_id }) => assert_eq!(*event_id, want),
            other => panic!("expected a duplicate, got {other:?}"),
        };
        let elsewhere =
            plan(&index, &[Ask { stream: &other, expected: ExpectedRevision::Any, events: &first[..1] }], &key, 6);
        dup(&elsewhere.results[0], first[0].event_id);
        let reordered = vec![first[1].clone(), first[0].clone()];
        let r = plan(&index, &[Ask { stream: &s, expected: ExpectedRevision::Any, events: &reordered }], &key, 6);
        dup(&r.results[0], first[1].event_id);
        let mut later = events(1);
        later.push(first[1].clone());
        let r = plan(&index, &[Ask { stream: &other, expected: ExpectedRevision::Any, events: &later }], &key, 6);
        dup(&r.results[0], first[1].event_id);
        let e = events(1).remove(0);
        let twice = vec![e.clone(), e.clone()];
        let r = plan(&index, &[Ask { stream: &other, expected: ExpectedRevision::Any, events: &twice }], &key, 6);
        dup(&r.results[0], e.event_id);

        // Within one batch: the second copy of a request is its idempotent retry.
        let fresh = events(1);
        let ask = Ask { stream: &other, expected: ExpectedRevision::NoStream, events: &fresh };
        let p = plan(&index, &[ask, ask], &key, 6);
        assert_eq!(p.events.len(), 1);
        assert!(p.results[1].as_ref().expect("retry in the batch").already_written);
    }

    /// Resident memory of this process, bytes (Linux `/proc/self/statm`).
    fn resident_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
        pages * 4096
    }

    /// The index's memory per event, measured (not a timing): streams of 5
    /// events named as leye names them (`person-` and 32 hex digits), at two
    /// sizes. Run with `cargo test -p leye-store --lib index_memory -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement for ARCHITECTURE.md; allocates a few hundred MB"]
    fn index_memory_per_event() {
        let seal = Seal { prev: [0; 32], hash: [1; 32], mac: [2; 32], check: [3; 16] };
        for events in [200_000u64, 1_000_000] {
            let before = resident_bytes();
            let mut index = Index::default();
            let mut stream = stream("person-0");
            for seq in 1..=events {
                if seq % 5 == 1 {
                    stream = StreamName::parse(format!("person-{}", Uuid::new_v4().simple())).expect("valid");
                }
                let event = RecordedEvent {
                    stream: stream.clone(),
                    revision: (seq - 1) % 5,
                    position: Position::from_sequence(seq),
                    event_id: Uuid::new_v4(),
                    event_type: String::new(),
                    data: Vec::new(),
                    metadata: Vec::new(),
                    recorded_at: chrono::DateTime::UNIX_EPOCH,
                };
                index.apply(&event, &seal).expect("in order");
            }
            let per_event = resident_bytes().saturating_sub(before) / events;
            println!("index of {events} events in streams of 5: {per_event} bytes an event (resident memory)");
            assert!(per_event < 200, "{per_event} bytes an event");
            assert_eq!(index.len(), events);
        }
    }

    #[test]
    fn recorded_at_never_goes_back_and_the_index_refuses_gaps() {
        let key = key();
        let mut index = Index::default();
        let s = stream("clock");
        let p = plan(&index, &[Ask { stream: &s, expected: ExpectedRevision::Any, events: &events(1) }], &key, 5_000);
        apply(&mut index, &p);
        let p = plan(&index, &[Ask { stream: &s, expected: ExpectedRevision::Any, events: &events(1) }], &key, 10);
        assert_eq!(p.events[0].envelope.recorded_at_us, 5_000, "a clock that went back does not move the log back");

        let mut gap = Index::default();
        let e = &p.events[0];
        let event = RecordedEvent {
            stream: s.clone(),
            revision: 0,
            position: Position::from_sequence(2),
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            metadata: Vec::new(),
            recorded_at: chrono::Utc::now(),
        };
        assert!(gap.apply(&event, &e.envelope.seal).is_err(), "seq 2 cannot follow nothing");
        // Applying what is already indexed is a no-op.
        let before = index.len();
        let again = RecordedEvent { position: Position::from_sequence(1), ..event };
        index.apply(&again, &e.envelope.seal).expect("ignored");
        assert_eq!(index.len(), before);
    }
}
