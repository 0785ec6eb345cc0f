//! Leader election through the store: one PostgreSQL session-level advisory
//! lock per role (publisher, hire linker, policy finder…), held on a
//! connection of its own.
//!
//! - **Acquire.** Every server campaigns: `pg_try_advisory_lock(key)` every
//!   `interval` on its dedicated session. The lock's key is derived from the
//!   schema and the role, so several stores in one database do not collide.
//! - **Hold.** The leader pings its session every `interval`; a ping that fails
//!   or takes longer than `interval` makes it step down at once (and drop the
//!   session). So a leader cut off from the database stops within about
//!   2 × `interval`.
//! - **Release.** A leader that exits (or is killed) closes its socket: the
//!   server ends the session and frees the lock at once, and a standby takes
//!   over within `interval`. A leader whose machine vanished without closing
//!   the socket is dropped by the server's TCP keepalives, set on the session
//!   to notice after about 4 × `interval` (at least 4 s): longer than the old
//!   leader's own step-down (2 × `interval`).
//! - **Overlap.** A session ended on the server while its process lives (an
//!   operator's `pg_terminate_backend`, a server restart) frees the lock at
//!   once, and the old leader learns it at its next ping: for up to one
//!   `interval` two processes may believe they lead. The lock says who should
//!   run a role; what a role writes must stay safe if two ran briefly (the
//!   publisher's messages are de-duplicated by `Nats-Msg-Id`, commands by
//!   their derived event ids).

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::{sync::watch, task::JoinHandle};

use super::{PostgresStore, Target};

/// One role's campaign. Dropping it ends the campaign and frees the lock.
#[derive(Debug)]
pub struct Leadership {
    role: String,
    state: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Leadership {
    /// Starts campaigning for `role` on `store`'s database and schema.
    pub fn campaign(store: &PostgresStore, role: &str, interval: Duration) -> Self {
        let (tx, state) = watch::channel(false);
        let key = lock_key(store.schema(), role);
        let task = tokio::spawn(run(store.inner.target.clone(), role.to_owned(), key, interval, tx));
        Self { role: role.to_owned(), state, task }
    }

    pub fn role(&self) -> &str {
        &self.role
    }

    /// Whether this process leads the role now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }

    /// A receiver of the leader state (true while leading).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.state.clone()
    }
}

/// The advisory lock key of `role` in `schema`.
pub fn lock_key(schema: &str, role: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"leye.leader.v1\0")
        .chain_update(schema)
        .chain_update(b"\0")
        .chain_update(role)
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

async fn run(target: Target, role: String, key: i64, interval: Duration, state: watch::Sender<bool>) {
    let keepalive = interval.as_secs().max(1);
    loop {
        if let Ok(Ok(client)) =
            tokio::time::timeout(interval.max(Duration::from_secs(5)), target.connect("leader")).await
        {
            // Errors here only weaken the bound on a vanished leader (e.g. a Unix socket has no keepalives).
            let _ = client
                .batch_execute(&format!(
                    "SET tcp_keepalives_idle = {}; SET tcp_keepalives_interval = {keepalive}; \
                     SET tcp_keepalives_count = 2",
                    2 * keepalive
                ))
                .await;
            let mut leading = false;
            loop {
                let step = if leading {
                    tokio::time::timeout(interval, client.simple_query("SELECT 1")).await.map(|r| r.map(|_| true))
                } else {
                    tokio::time::timeout(interval, client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]))
                        .await
                        .map(|r| r.and_then(|row| row.try_get::<_, bool>(0)))
                };
                match step {
                    Ok(Ok(true)) if !leading => {
                        leading = true;
                        tracing::info!(role, "leading");
                        state.send_replace(true);
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) | Err(_) => break,
                }
                tokio::time::sleep(interval).await;
            }
            if leading {
                tracing::warn!(role, "lost the database session: no longer leading");
            }
            state.send_replace(false);
            // Dropping the client closes the session (and frees the lock, if the server still holds it).
            drop(client);
        }
        tokio::time::sleep(interval).await;
    }
}
