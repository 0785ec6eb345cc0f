//! `leye serve`: open the embedded store, serve gRPC, shut down cleanly.

use std::{future::Future, sync::Arc};

use anyhow::Context;
use leye_store::{SqliteStore, SqliteStoreOptions};
use tokio::net::TcpListener;

use crate::{
    cases::{Clock, PersonCases},
    config::{STORE_FILE, ServeConfig},
    identity::CaseIds,
};

/// Opens the embedded store in `config.data_dir`, creating it if needed.
pub async fn open_store(config: &ServeConfig) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let path = config.data_dir.join(STORE_FILE);
    SqliteStore::open(&path, SqliteStoreOptions::default())
        .await
        .with_context(|| format!("opening event store {}", path.display()))
}

/// Runs the service on an already bound listener until `shutdown` resolves.
/// In-flight requests finish, then the store's writer drains and closes, so no
/// acknowledged command is lost.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    clock: Clock,
) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let ids = CaseIds::load_or_create(&config.pseudonym_key_file)?;
    let cases = PersonCases::new(store.clone(), ids, clock);
    let served = crate::grpc::serve(cases, listener, shutdown).await;
    store.close().await;
    tracing::info!("store closed; bye");
    served
}

/// Runs the service on `config.listen`, stopping on SIGINT or SIGTERM.
pub async fn run_until_signal(config: ServeConfig) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("binding gRPC address {}", config.listen))?;
    run(config, listener, shutdown_signal(), Arc::new(chrono::Utc::now)).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}
