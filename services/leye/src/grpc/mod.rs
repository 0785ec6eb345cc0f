//! The gRPC surface: the person-case and enterprise-case services, the
//! analytics (targets) service,
//! gRPC health and reflection.
//!
//! API boundary: only this module knows protobuf request types; errors become
//! statuses only in [`status`].

pub mod analytics;
pub mod audit;
pub mod enterprise;
pub mod guard;
pub mod net;
pub mod person;
pub mod reply;
pub mod status;
pub mod subsidy;

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use leye_policy::Catalogue;

use leye_proto::{
    analytics::v1::targets_service_server::TargetsServiceServer, audit::v1::audit_service_server::AuditServiceServer,
    enterprise::v1::enterprise_case_service_server::EnterpriseCaseServiceServer,
    person::v1::person_case_service_server::PersonCaseServiceServer,
};
use leye_store::EventStore;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic_health::{
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};

use crate::{
    cases::PersonCases,
    subsidies::Subsidies,
    trust::{Limits, TrustConfig},
};
use guard::{GuardConfig, GuardLayer, ReflectionAccess};

/// Largest message the transport decodes at all (bigger: OUT_OF_RANGE, from
/// tonic). Commands are further limited to `limits.max_request_bytes`
/// (64 KiB by default), checked on the bytes received.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How long in-flight requests may run on after shutdown is asked for. Then
/// the remaining connections are dropped: nothing acknowledged is lost (an
/// acknowledged command is already durable), a client that keeps a connection
/// open cannot hold the shutdown up.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What the gRPC port serves, besides the cases.
#[derive(Debug)]
pub struct Api {
    pub catalogue: Arc<Catalogue>,
    pub analytics: analytics::AnalyticsApi,
    pub health: HealthReporter,
    pub guard: GuardConfig,
    pub trust: TrustConfig,
    /// The store failed its check at start: the command services report
    /// NOT_SERVING (the store refuses their appends); queries still serve.
    pub commands_refused: bool,
}

/// Makes ring rustls's process-wide default. The build holds two rustls
/// providers (ring for leye, aws-lc through the KurrentDB client), and rustls
/// then picks none by itself: configurations built without naming one (tonic's
/// server TLS, async-nats's TLS) would panic. Idempotent; called by `main`
/// and by [`serve`] (for servers started inside tests).
pub fn install_crypto_provider() {
    // Err: a provider is already installed (by an earlier call), which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The TLS settings of the port, from the configured files.
pub fn tls_config(trust: &TrustConfig) -> anyhow::Result<Option<ServerTlsConfig>> {
    let Some(files) = &trust.tls else { return Ok(None) };
    let read = |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let identity = Identity::from_pem(read(&files.cert)?, read(&files.key)?);
    let mut tls =
        ServerTlsConfig::new().identity(identity).timeout(Limits::secs(trust.limits.tls_handshake_timeout_secs));
    if let Some(ca) = &files.client_ca {
        // Clients without a certificate may still present a bearer token;
        // a certificate from another CA fails the handshake.
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?)).client_auth_optional(true);
    }
    Ok(Some(tls))
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for up to [`SHUTDOWN_GRACE`]. Every RPC but health passes
/// the [`guard`]. `health` is shared with the parts of the service that report
/// their own status (the publisher reports `leye.Publisher`).
pub async fn serve<S: EventStore>(
    cases: PersonCases<S>,
    api: Api,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let Api { catalogue, analytics, health, guard, trust, commands_refused } = api;
    let limits = trust.limits;
    health.set_serving::<PersonCaseServiceServer<person::PersonApi<S>>>().await;
    health.set_serving::<EnterpriseCaseServiceServer<enterprise::EnterpriseApi<S>>>().await;
    health.set_serving::<TargetsServiceServer<analytics::AnalyticsApi>>().await;
    health.set_serving::<AuditServiceServer<audit::AuditApi<S>>>().await;
    if commands_refused {
        health.set_not_serving::<PersonCaseServiceServer<person::PersonApi<S>>>().await;
        health.set_not_serving::<EnterpriseCaseServiceServer<enterprise::EnterpriseApi<S>>>().await;
    }
    let health_service = HealthServer::new(HealthService::from_health_reporter(health));
    // Reflection v1 and v1alpha (older grpcurl speaks only v1alpha), resolving
    // leye's services, health and the google.rpc error details by symbol.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(leye_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let (reflection_v1, reflection_v1alpha) = match guard.reflection {
        ReflectionAccess::Off => (None, None),
        _ => (Some(reflection().build_v1()?), Some(reflection().build_v1alpha()?)),
    };
    let audit_api = audit::AuditApi::new(guard.audit.clone(), cases.clone());
    let subsidies = Subsidies::new(cases.clone(), catalogue);
    let max = limits.max_request_bytes;
    // Every unsent response is held in memory until the client reads it:
    // one response is at most MAX_MESSAGE_BYTES (see net.rs, "Per peer").
    let enterprise = EnterpriseCaseServiceServer::new(enterprise::EnterpriseApi::new(cases.clone(), subsidies.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let person = PersonCaseServiceServer::new(person::PersonApi::new(cases, subsidies))
        .max_decoding_message_size(max)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let targets = TargetsServiceServer::new(analytics).max_decoding_message_size(max);
    let audit_service = AuditServiceServer::new(audit_api).max_decoding_message_size(max);
    let addr: SocketAddr = listener.local_addr()?;
    install_crypto_provider();
    let mut builder = tonic::transport::Server::builder();
    let tls = tls_config(&trust)?;
    let secured = tls.is_some();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    tracing::info!(%addr, tls = secured, "gRPC listening");
    let max_connections = match net::fd_budget() {
        Some(budget) if (budget as usize) < limits.max_connections => {
            tracing::warn!(
                budget,
                configured = limits.max_connections,
                "connection cap lowered to fit the descriptor limit"
            );
            (budget as usize).max(1)
        }
        _ => limits.max_connections,
    };
    let incoming = net::incoming(
        listener,
        net::ConnLimits {
            max_connections,
            max_connections_per_peer: limits.max_connections_per_peer,
            idle_timeout: Limits::secs(limits.idle_timeout_secs),
        },
    );
    let (asked, asked_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = asked.send(());
    };
    let serving = builder
        .max_concurrent_streams(limits.max_concurrent_streams)
        .concurrency_limit_per_connection(limits.max_requests_per_connection)
        .load_shed(true)
        .timeout(Limits::secs(limits.request_timeout_secs))
        .http2_keepalive_interval(Some(Limits::secs(limits.keepalive_interval_secs)))
        .http2_keepalive_timeout(Some(Limits::secs(limits.keepalive_timeout_secs)))
        .layer(GuardLayer::new(guard))
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(person)
        .add_service(enterprise)
        .add_service(targets)
        .add_service(audit_service)
        .serve_with_incoming_shutdown(incoming, signal);
    let grace_over = async {
        // The sender only drops unsent if serving ended first; then this branch loses the race.
        if asked_rx.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = serving => served?,
        () = grace_over => tracing::warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "connections still open after the grace period; closing them"),
    }
    Ok(())
}
