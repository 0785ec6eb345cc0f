//! Which server runs the log's single writers-from-the-log (the publisher, the
//! hire linker, the policy finder) when several servers share one store.
//!
//! On a shared store every server campaigns for each role: through the store
//! on PostgreSQL ([`leye_store::postgres::Leadership`], advisory locks),
//! through NATS on KurrentDB ([`lease`], a lease in a JetStream key-value
//! bucket). A role's task runs only while its server leads the role, and
//! stops (to stand by again) when leadership is lost. On the embedded store
//! the one server leads every role. The read model is each server's own (in
//! its data directory): the publisher's leader folds the log into its own
//! always, another server only while it is read ([`crate::folding`]).
//!
//! A server whose store refuses appends (its check at open found a problem:
//! another chain key, a broken chain, a damaged file; it refuses commands)
//! does not campaign for the roles that append, the hire linker and the
//! policy finder: they stand by for good there ([`Campaign::Declined`]), so a
//! server whose store accepts appends takes them. It still campaigns for the
//! publisher, which only reads the log (the same log on every server of the
//! store, so it publishes the same there); declining it would leave nobody
//! publishing when every server finds the same problem in the shared log
//! (a broken chain), where one server on its own store publishes all the same.

pub mod lease;

use std::{future::Future, time::Duration};

use leye_store::{AnyStore, postgres::Leadership};
use tokio::sync::watch;

use crate::publisher::NatsUrl;

/// How often a standby tries to take a role, and a leader checks its session:
/// a standby takes over within about this long after a leader exits.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// A role's leader state (true while this server leads it), compared by channel.
#[derive(Debug, Clone)]
pub struct Leader(pub watch::Receiver<bool>);

impl PartialEq for Leader {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_channel(&other.0)
    }
}

impl Eq for Leader {}

/// One role's campaign, through the store or through NATS.
#[derive(Debug)]
pub enum Campaign {
    Store(Leadership),
    Nats(lease::NatsLeadership),
    /// No campaign: this server never leads the role (its store refuses
    /// appends). The state stays false, and open, while the roles are kept.
    Declined(watch::Sender<bool>),
}

impl Campaign {
    /// A role this server stands by for, without campaigning.
    pub fn declined() -> Self {
        Self::Declined(watch::channel(false).0)
    }

    fn watch(&self) -> watch::Receiver<bool> {
        match self {
            Self::Store(l) => l.watch(),
            Self::Nats(l) => l.watch(),
            Self::Declined(tx) => tx.subscribe(),
        }
    }
}

/// The campaigns of one server; dropping them frees the roles.
#[derive(Debug, Default)]
pub struct Roles {
    pub publisher: Option<Campaign>,
    pub linker: Option<Campaign>,
    pub finder: Option<Campaign>,
}

/// Where the roles of a KurrentDB deployment are elected: the publisher's
/// NATS servers, with its stream's number of copies.
#[derive(Debug, Clone, Copy)]
pub struct Nats<'a> {
    pub url: Option<&'a NatsUrl>,
    pub replicas: usize,
}

impl Roles {
    /// Campaigns for every role on a shared store (through PostgreSQL, or
    /// through NATS for KurrentDB); nothing on the embedded one. A store that
    /// refuses appends ([`AnyStore::integrity`]) gets no campaign for the hire
    /// linker and the policy finder, on any store: this server never runs them.
    pub fn campaign(store: &AnyStore, nats: Nats<'_>, interval: Duration) -> Self {
        let appends = store.integrity().is_none();
        let roles = |campaign: &dyn Fn(&str) -> Campaign| Self {
            publisher: Some(campaign("publisher")),
            linker: Some(if appends { campaign("hire-linker") } else { Campaign::declined() }),
            finder: Some(if appends { campaign("policy-finder") } else { Campaign::declined() }),
        };
        let roles = match (store, nats.url) {
            (AnyStore::Postgres(pg), _) => roles(&|role| Campaign::Store(Leadership::campaign(pg, role, interval))),
            (AnyStore::KurrentDb(_), Some(url)) => roles(&|role| {
                let lease = lease::Lease { interval };
                Campaign::Nats(lease::NatsLeadership::campaign(url.clone(), nats.replicas, role, lease))
            }),
            (AnyStore::KurrentDb(_), None) => {
                if appends {
                    tracing::warn!(
                        "KurrentDB store without NATS: no leader election, this server runs the hire linker and the \
                         policy finder (run them on one server, or configure nats_url)"
                    );
                }
                Self::default().declining(!appends)
            }
            (AnyStore::Sqlite(_), _) => Self::default().declining(!appends),
        };
        if let Some(problem) = store.integrity() {
            tracing::warn!(
                code = problem.code,
                "the event store refuses appends: this server does not run the hire linker or the policy finder \
                 (a server whose store accepts appends runs them)"
            );
        }
        roles
    }

    /// These roles, with the hire linker and the policy finder declined when `decline`.
    fn declining(self, decline: bool) -> Self {
        if !decline {
            return self;
        }
        Self { linker: Some(Campaign::declined()), finder: Some(Campaign::declined()), ..self }
    }

    pub fn leader(role: &Option<Campaign>) -> Option<Leader> {
        role.as_ref().map(|l| Leader(l.watch()))
    }
}

/// A stop signal for one leadership term: true once `stop` is, or once
/// `leader` says this server no longer leads. `None`: wait for leadership
/// first; returns `None` if `stop` came first.
pub async fn term(
    leader: &mut watch::Receiver<bool>,
    stop: &mut watch::Receiver<bool>,
) -> Option<watch::Receiver<bool>> {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => return None,
        led = leader.wait_for(|l| *l) => if led.is_err() { return None },
    }
    let (tx, rx) = watch::channel(false);
    let (mut leader, mut stop) = (leader.clone(), stop.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => {}
            _ = leader.wait_for(|l| !*l) => {}
            () = tx.closed() => return,
        }
        tx.send_replace(true);
    });
    Some(rx)
}

/// Runs `task` (given its stop signal) for each term this server leads, until
/// `stop`; without a `leader`, once, until `stop`.
pub async fn run_while_leading<F, Fut>(
    role: &'static str,
    leader: Option<Leader>,
    mut stop: watch::Receiver<bool>,
    mut task: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(Leader(mut leader)) = leader else { return task(stop).await };
    loop {
        let Some(term_stop) = term(&mut leader, &mut stop).await else { return };
        tracing::info!(role, "leading: starting");
        task(term_stop).await;
        if *stop.borrow() {
            return;
        }
        tracing::info!(role, "no longer leading: standing by");
    }
}

#[cfg(test)]
mod tests {
    use leye_store::{AnyStoreOptions, EventData, EventStore, ExpectedRevision, StoreLocator, StreamName};
    use uuid::Uuid;

    use super::*;

    async fn open(path: &std::path::Path, key: &str) -> AnyStore {
        let options = AnyStoreOptions::new(path.with_file_name(key));
        AnyStore::open(&StoreLocator::Sqlite(path.to_path_buf()), &options).await.unwrap()
    }

    #[tokio::test]
    async fn a_store_refusing_appends_declines_the_appending_roles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let nats = Nats { url: None, replicas: 1 };
        let store = open(&path, "chain.key").await;
        let stream = StreamName::parse("person-1").unwrap();
        let event = EventData {
            event_id: Uuid::new_v4(),
            event_type: "Noted".into(),
            data: b"{}".to_vec(),
            metadata: b"{}".to_vec(),
        };
        store.append(&stream, ExpectedRevision::NoStream, vec![event]).await.unwrap();
        let roles = Roles::campaign(&store, nats, INTERVAL);
        assert!(roles.publisher.is_none() && roles.linker.is_none() && roles.finder.is_none(), "{roles:?}");
        store.close().await;

        // Another chain key: the store refuses appends.
        let store = open(&path, "other.key").await;
        assert!(store.integrity().is_some());
        let roles = Roles::campaign(&store, nats, INTERVAL);
        assert!(roles.publisher.is_none(), "one server on its own store publishes: {roles:?}");
        assert!(matches!(roles.linker, Some(Campaign::Declined(_))), "{roles:?}");
        assert!(matches!(roles.finder, Some(Campaign::Declined(_))), "{roles:?}");
        store.close().await;
    }

    #[tokio::test]
    async fn a_declined_role_never_runs_and_stops_with_the_server() {
        let declined = Some(Campaign::declined());
        let (stop_tx, stop) = watch::channel(false);
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = tokio::spawn(run_while_leading("hire-linker", Roles::leader(&declined), stop, {
            let ran = ran.clone();
            move |_| {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                async {}
            }
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!task.is_finished(), "it stands by while the roles are kept");
        stop_tx.send_replace(true);
        task.await.unwrap();
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "a declined role's task never runs");
    }
}
