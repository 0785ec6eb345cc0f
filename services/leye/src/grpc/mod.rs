//! The gRPC surface: the person-case and enterprise-case services, the
//! analytics (targets) service,
//! gRPC health and reflection.
//!
//! API boundary: only this module knows protobuf request types; errors become
//! statuses only in [`status`].

pub mod analytics;
pub mod enterprise;
pub mod person;
pub mod status;
pub mod subsidy;

use std::{future::Future, net::SocketAddr, sync::Arc};

use leye_policy::Catalogue;

use leye_proto::{
    analytics::v1::targets_service_server::TargetsServiceServer,
    enterprise::v1::enterprise_case_service_server::EnterpriseCaseServiceServer,
    person::v1::person_case_service_server::PersonCaseServiceServer,
};
use leye_store::EventStore;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic_health::{
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};

use crate::{cases::PersonCases, subsidies::Subsidies};

/// Largest message the transport decodes at all (bigger: OUT_OF_RANGE, from tonic).
/// Commands are further limited to [`person::MAX_COMMAND_BYTES`].
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How long in-flight requests may run on after shutdown is asked for. Then
/// the remaining connections are dropped: nothing acknowledged is lost (an
/// acknowledged command is already durable), a client that keeps a connection
/// open cannot hold the shutdown up.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for up to [`SHUTDOWN_GRACE`]. `health` is shared with the
/// parts of the service that report their own status (the publisher reports
/// `leye.Publisher`); the person service is reported SERVING here.
pub async fn serve<S: EventStore>(
    cases: PersonCases<S>,
    catalogue: Arc<Catalogue>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    analytics: analytics::AnalyticsApi,
    health: HealthReporter,
) -> anyhow::Result<()> {
    health.set_serving::<PersonCaseServiceServer<person::PersonApi<S>>>().await;
    health.set_serving::<EnterpriseCaseServiceServer<enterprise::EnterpriseApi<S>>>().await;
    health.set_serving::<TargetsServiceServer<analytics::AnalyticsApi>>().await;
    let health_service = HealthServer::new(HealthService::from_health_reporter(health));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(leye_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let subsidies = Subsidies::new(cases.clone(), catalogue);
    let enterprise = EnterpriseCaseServiceServer::new(enterprise::EnterpriseApi::new(cases.clone(), subsidies.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let person = PersonCaseServiceServer::new(person::PersonApi::new(cases, subsidies))
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "gRPC listening");
    let (asked, asked_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = asked.send(());
    };
    let serving = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(person)
        .add_service(enterprise)
        .add_service(TargetsServiceServer::new(analytics))
        // Small gRPC responses must not wait for the peer's delayed ACK (~40 ms).
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal);
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
        () = grace_over => tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them"),
    }
    Ok(())
}
