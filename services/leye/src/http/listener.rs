//! Connections of the dashboard port, within the same limits as gRPC's
//! (`grpc::net`: a cap on open connections, one per peer, an idle timeout
//! counted on requests in flight), in plain text or over TLS with the gRPC
//! port's certificate and key.
//!
//! TLS handshakes run in their own tasks (at most [`MAX_HANDSHAKES`] at once,
//! each within the configured handshake timeout), so a client that stalls its
//! handshake holds up nobody else; finished connections are handed to
//! `axum::serve` through [`Tls`].

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::transport::server::Connected;

use crate::{
    grpc::net::{Activity, Conn, ConnInfo},
    trust::{Limits, TrustConfig},
};

/// Handshakes in progress at most; further connections wait to be accepted.
pub const MAX_HANDSHAKES: usize = 64;

/// The acceptor for the configured certificate and the handshake timeout, or
/// `None` without TLS. Clients authenticate with bearer tokens here: no
/// client certificates.
pub fn acceptor(trust: &TrustConfig) -> anyhow::Result<Option<(TlsAcceptor, Duration)>> {
    let Some(files) = &trust.tls else { return Ok(None) };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading {}", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| format!("reading {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the dashboard's TLS certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some((TlsAcceptor::from(Arc::new(config)), Limits::secs(trust.limits.tls_handshake_timeout_secs))))
}

/// What `local_addr` answers: the listening address, with an activity nobody uses.
fn local_info(local: &std::io::Result<SocketAddr>) -> std::io::Result<ConnInfo> {
    match local {
        Ok(a) => Ok(ConnInfo { remote: Some(*a), activity: Arc::new(Activity::new()) }),
        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
    }
}

/// Plain-text connections within the limits.
#[derive(Debug)]
pub struct Plain {
    incoming: ReceiverStream<std::io::Result<Conn>>,
    local: std::io::Result<SocketAddr>,
}

impl Plain {
    pub fn new(incoming: ReceiverStream<std::io::Result<Conn>>, local: std::io::Result<SocketAddr>) -> Self {
        Self { incoming, local }
    }
}

impl axum::serve::Listener for Plain {
    type Io = Conn;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Conn, ConnInfo) {
        loop {
            match self.incoming.next().await {
                Some(Ok(conn)) => {
                    let info = conn.connect_info();
                    return (conn, info);
                }
                // The accept loop logs and backs off itself.
                Some(Err(_)) => continue,
                // The accept loop ended (only when dropped): nothing more comes.
                None => std::future::pending().await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<ConnInfo> {
        local_info(&self.local)
    }
}

/// TLS connections within the limits. Dropping it stops accepting.
pub struct Tls {
    ready: mpsc::Receiver<(TlsStream<Conn>, ConnInfo)>,
    local: std::io::Result<SocketAddr>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Tls {
    pub fn new(plain: Plain, acceptor: TlsAcceptor, handshake_timeout: Duration) -> Self {
        let Plain { mut incoming, local } = plain;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let conn = match incoming.next().await {
                    Some(Ok(c)) => c,
                    Some(Err(_)) => continue,
                    None => return,
                };
                let info = conn.connect_info();
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let peer = info.remote.map(|a| a.to_string()).unwrap_or_default();
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(conn)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, info)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "dashboard TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "dashboard TLS handshake timed out"),
                    }
                });
            }
        });
        Self { ready, local, accepting }
    }
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("local", &self.local).finish_non_exhaustive()
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for Tls {
    type Io = TlsStream<Conn>;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, ConnInfo) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task ended (only when dropped): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<ConnInfo> {
        local_info(&self.local)
    }
}
