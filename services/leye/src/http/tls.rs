//! TLS for the dashboard port, with the gRPC port's certificate and key.
//!
//! Handshakes run in their own tasks (at most [`MAX_HANDSHAKES`] at once,
//! each within the configured handshake timeout), so a client that stalls its
//! handshake holds up nobody else; finished connections are handed to
//! `axum::serve` through [`TlsListener`].

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{net::TcpListener, net::TcpStream, sync::mpsc};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use crate::trust::{Limits, TrustConfig};

/// Handshakes in progress at most; further connections wait to be accepted.
pub const MAX_HANDSHAKES: usize = 64;

/// The acceptor for the configured certificate, or `None` without TLS.
/// Clients authenticate with bearer tokens here: no client certificates.
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

/// Accepted TLS connections, for `axum::serve`. Dropping it stops accepting.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: std::io::Result<SocketAddr>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor, handshake_timeout: Duration) -> Self {
        let local = listener.local_addr();
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "dashboard accept failed; retrying in 100 ms");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
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

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("local", &self.local).finish_non_exhaustive()
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task ended (only when dropped): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.local {
            Ok(a) => Ok(*a),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}
