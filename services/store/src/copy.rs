//! Through the port, for any adapter: walking a store's whole chain, and
//! copying a log into PostgreSQL with its positions, times and seals: the
//! source walked whole first, then one transaction on the target, checked on
//! the way and verified before it commits (all or nothing).

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

/// Copies `from`'s whole log into the empty PostgreSQL store `to`: walks the
/// source's whole chain first with `key` (a break stops the copy before
/// anything is written), then [`copy_walked`].
pub async fn copy_into_postgres<S: EventStore>(
    from: &S,
    to: &PostgresStore,
    key: &ChainKey,
    page: usize,
    progress: impl FnMut(u64),
) -> Result<Copied, StoreError> {
    let walked = walk(from, key, page).await?;
    if let Some(b) = &walked.broken {
        return Err(source_broken(b));
    }
    copy_walked(from, to, key, &walked, page, progress).await
}

/// The refusal of a source whose chain is broken.
pub fn source_broken(b: &ChainBreak) -> StoreError {
    StoreError::Backend(format!(
        "the source's chain is broken: {b}; nothing was written to the target (run `leye verify` on the source, \
         repair or restore it, then copy again)"
    ))
}

/// Copies the log of `from` up to the end of `walked` (an intact walk of it
/// with `key`) into the empty PostgreSQL store `to`, in ONE transaction
/// ([`PostgresStore::begin_import`]): the target's head locked first (a server
/// on the target waits; a target holding events is refused), `page` events per
/// read, each page checked again against the chain on the way (a source that
/// changed since the walk stops the copy), the chain of what was written walked
/// inside the transaction and required to end on the source's last link, and
/// only then committed. Any failure rolls everything back: the target is left
/// either holding the whole log, verified, or as it was. `to` must have been
/// opened with the same chain key.
pub async fn copy_walked<S: EventStore>(
    from: &S,
    to: &PostgresStore,
    key: &ChainKey,
    walked: &Walked,
    page: usize,
    mut progress: impl FnMut(u64),
) -> Result<Copied, StoreError> {
    if let Some(b) = &walked.broken {
        return Err(source_broken(b));
    }
    let source_end = walked.end;
    let mut import = to.begin_import().await?;
    let written = async {
        let mut walker = Walker::new(key, Some(source_end.seq));
        let mut after: Option<Position> = None;
        while walker.last().seq < source_end.seq {
            let mut batch: Vec<ChainedEvent> = from.read_chain(after, page.max(1)).await.map_err(|e| {
                StoreError::Backend(format!("reading the source: {e}; nothing was written to the target"))
            })?;
            batch.retain(|c| c.event.position.commit <= source_end.seq);
            let Some(last) = batch.last() else { break };
            after = Some(last.event.position);
            for c in &batch {
                walker.step(&EventBytes::from(&c.event), &StoredSeal::from(&c.seal)).map_err(|b| {
                    StoreError::Backend(format!(
                        "the source changed during the copy ({b}); nothing was written to the target"
                    ))
                })?;
            }
            import.write(&batch).await?;
            progress(walker.events());
        }
        if walker.last() != source_end || walker.events() != walked.events {
            return Err(StoreError::Backend(format!(
                "the source changed during the copy: it now ends at position {} after {} events, not at {} after \
                 {}; nothing was written to the target",
                walker.last().seq,
                walker.events(),
                source_end.seq,
                walked.events
            )));
        }
        Ok(())
    }
    .await;
    if let Err(e) = written {
        import.rollback().await;
        return Err(e);
    }
    let end = import.commit(source_end, walked.events, page).await?;
    Ok(Copied { events: walked.events, end })
}
