//! Through the port, for any adapter: walking a store's whole chain, and
//! copying a log into PostgreSQL with its positions, times and seals, checked
//! on the way and verified again on arrival.

use crate::{
    ChainedEvent, EventStore, Position, StoreError,
    chain::{ChainBreak, ChainKey, EventBytes, StoredSeal, Walker},
    headfile::{HeadState, Link},
    postgres::PostgresStore,
};

/// What a walk of a whole chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Events that verified before the first break (all when intact).
    pub events: u64,
    /// The last event that verified.
    pub end: Link,
    /// The store's sealed head when the walk started.
    pub head: Option<Link>,
    pub broken: Option<ChainBreak>,
}

/// Walks `store`'s whole chain with `key`, `page` events per read, and checks
/// the end against the sealed head read first. Memory stays bounded by `page`.
pub async fn walk<S: EventStore>(store: &S, key: &ChainKey, page: usize) -> Result<Walked, StoreError> {
    let head = store.sealed_head().await?;
    let mut walker = Walker::new(key, head.map(|h| h.seq));
    let mut after = None;
    loop {
        let batch = store.read_chain(after, page.max(1)).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.event.position);
        for c in &batch {
            if let Err(b) = walker.step(&EventBytes::from(&c.event), &StoredSeal::from(&c.seal)) {
                return Ok(Walked { events: walker.events(), end: walker.last(), head, broken: Some(b) });
            }
        }
    }
    let broken = walker.finish(head.map_or(HeadState::Missing, HeadState::Valid)).err();
    Ok(Walked { events: walker.events(), end: walker.last(), head, broken })
}

/// What [`copy_into_postgres`] moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub events: u64,
    /// The last link of the source, and of the target after the copy: the same.
    pub end: Link,
}

/// Copies `from`'s whole log into the empty PostgreSQL store `to`, `page`
/// events per transaction, each page checked against the chain with `key`
/// before it is written (a break in the source stops the copy, naming it), then
/// walks the target's whole chain and requires it to end on the source's last
/// link. `to` must have been opened with the same chain key.
pub async fn copy_into_postgres<S: EventStore>(
    from: &S,
    to: &PostgresStore,
    key: &ChainKey,
    page: usize,
    mut progress: impl FnMut(u64),
) -> Result<Copied, StoreError> {
    if let Some(head) = to.head().await? {
        return Err(StoreError::Backend(format!(
            "the target already holds events (up to position {head}); copy into a new, empty store"
        )));
    }
    let source_head = from.sealed_head().await?;
    let mut walker = Walker::new(key, source_head.map(|h| h.seq));
    let mut after: Option<Position> = None;
    loop {
        let batch: Vec<ChainedEvent> = from.read_chain(after, page.max(1)).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.event.position);
        for c in &batch {
            walker
                .step(&EventBytes::from(&c.event), &StoredSeal::from(&c.seal))
                .map_err(|b| StoreError::Backend(format!("the source's chain is broken, nothing more copied: {b}")))?;
        }
        to.import(&batch).await?;
        progress(walker.events());
    }
    walker
        .finish(source_head.map_or(HeadState::Missing, HeadState::Valid))
        .map_err(|b| StoreError::Backend(format!("the source's chain is broken: {b}")))?;
    let source_end = walker.last();
    let arrived = walk(to, key, page).await?;
    if let Some(b) = arrived.broken {
        return Err(StoreError::Backend(format!("the copy does not verify: {b}")));
    }
    if arrived.end != source_end || arrived.events != walker.events() {
        return Err(StoreError::Backend(format!(
            "the copy ends at position {} after {} events, the source at {} after {}",
            arrived.end.seq,
            arrived.events,
            source_end.seq,
            walker.events()
        )));
    }
    Ok(Copied { events: arrived.events, end: arrived.end })
}
