//! Which server runs the log's single writers-from-the-log (the publisher, the
//! hire linker, the policy finder) when several servers share one store.
//!
//! On a shared store every server campaigns for each role: through the store
//! on PostgreSQL ([`leye_store::postgres::Leadership`], advisory locks),
//! through NATS on KurrentDB ([`lease`], a lease in a JetStream key-value
//! bucket). A role's task runs only while its server leads the role, and
//! stops (to stand by again) when leadership is lost. On the embedded store
//! the one server leads every role. The read model is each server's own (in
//! its data directory), so every server projects its own.

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
}

impl Campaign {
    fn watch(&self) -> watch::Receiver<bool> {
        match self {
            Self::Store(l) => l.watch(),
            Self::Nats(l) => l.watch(),
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
    /// through NATS for KurrentDB); nothing on the embedded one.
    pub fn campaign(store: &AnyStore, nats: Nats<'_>, interval: Duration) -> Self {
        let roles = |campaign: &dyn Fn(&str) -> Campaign| Self {
            publisher: Some(campaign("publisher")),
            linker: Some(campaign("hire-linker")),
            finder: Some(campaign("policy-finder")),
        };
        match (store, nats.url) {
            (AnyStore::Postgres(pg), _) => roles(&|role| Campaign::Store(Leadership::campaign(pg, role, interval))),
            (AnyStore::KurrentDb(_), Some(url)) => roles(&|role| {
                let lease = lease::Lease { interval };
                Campaign::Nats(lease::NatsLeadership::campaign(url.clone(), nats.replicas, role, lease))
            }),
            (AnyStore::KurrentDb(_), None) => {
                tracing::warn!(
                    "KurrentDB store without NATS: no leader election, this server runs the hire linker and the \
                     policy finder (run them on one server, or configure nats_url)"
                );
                Self::default()
            }
            (AnyStore::Sqlite(_), _) => Self::default(),
        }
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
