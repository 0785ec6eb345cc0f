//! The signals that stop `leye serve`: SIGINT (Ctrl-C) and SIGTERM.
//!
//! Listened for from the start of `serve`, before its port is bound, not from
//! the first poll of the shutdown future (which comes only once the service
//! serves): a signal while the service starts (stores opened, the read model
//! loaded or rebuilt, roles campaigned for) is kept, and the service stops
//! once started, the usual way (requests in flight finished, the publisher's
//! checkpoint written, the store's writer drained). A second signal stops the
//! process at once, for an operator who will not wait for a long start or a
//! slow drain (what the signal's default action did to the first one before:
//! the stores are crash-safe, nothing acknowledged is lost).

use std::future::Future;

/// Starts listening now; the returned future resolves at the first signal.
/// Never resolves if the signals cannot be listened for (logged).
pub fn shutdown() -> impl Future<Output = ()> + Send + 'static {
    let (asked, mut heard) = tokio::sync::watch::channel(false);
    listen(asked);
    async move {
        if heard.wait_for(|asked| *asked).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(unix)]
fn listen(asked: tokio::sync::watch::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut interrupt, mut terminate) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(i), Ok(t)) => (i, t),
        (i, t) => {
            for e in [i.err(), t.err()].into_iter().flatten() {
                tracing::error!(error = %e, "cannot listen for SIGINT and SIGTERM: stop the service with SIGKILL");
            }
            return;
        }
    };
    // In the caller's span: every line of an insecure server says so.
    let listening = async move {
        loop {
            // 128 + the signal's number: how a shell reports a process it ended.
            let (name, status) = tokio::select! {
                _ = interrupt.recv() => ("SIGINT", 130),
                _ = terminate.recv() => ("SIGTERM", 143),
            };
            if asked.send_replace(true) {
                tracing::warn!("{name} again: stopping at once");
                std::process::exit(status);
            }
            tracing::info!("{name}: shutting down (a second signal stops at once)");
        }
    };
    tokio::spawn(tracing::Instrument::in_current_span(listening));
}

#[cfg(not(unix))]
fn listen(asked: tokio::sync::watch::Sender<bool>) {
    tokio::spawn(tracing::Instrument::in_current_span(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => {
                tracing::info!("Ctrl-C: shutting down");
                asked.send_replace(true);
                std::future::pending::<()>().await
            }
            Err(e) => tracing::error!(error = %e, "cannot listen for Ctrl-C"),
        }
    }));
}
