//! The metrics endpoint: `GET /metrics` in the Prometheus text format (0.0.4),
//! over plain HTTP on `metrics_listen` (off unless configured). The series
//! come from one [`prometheus_client`] registry ([`crate::telemetry`]), read
//! at scrape time; `promtool check metrics` accepts the page
//! (`services/leye/tests/metrics.rs`).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `leye_grpc_requests_total` | counter | `method`, `code` | requests answered (after the audit record), by gRPC method (`other` for a path the access table does not know) and status code name; the health service and public reflection are not counted |
//! | `leye_grpc_request_duration_seconds` | histogram | `method` | time from arrival to answer, audit record included |
//! | `leye_commands_total` | counter | `command`, `outcome`, `code` | commands decided: `outcome` is `accepted`, `duplicate` (a retry answered with the original outcome), `rejected` (`code` = the rejection code), `conflict`, `denied` or `error`; `command` is the command type (`unknown` when refused before it was known) |
//! | `leye_store_append_duration_seconds` | histogram | | one append to the event store (durable when it returns), refused ones included |
//! | `leye_follower_position` | gauge | `follower` | global position up to which `publisher` (acknowledged by JetStream), `projector` (read model checkpoint), `policy_finder` (checkpoint file; absent when off) and `hire_linker` (in memory) handled the log |
//! | `leye_follower_lag_events` | gauge | `follower` | `leye_store_head_position` − the follower's position |
//! | `leye_follower_lag_seconds` | gauge | `follower` | age of the oldest event the follower has not handled (now − its `recorded_at`); 0 when caught up |
//! | `leye_store_head_position` | gauge | | global position of the last event in the store (sampled every 0.5 s) |
//! | `leye_readmodel_folding` | gauge | | 1 while this server's read model folds the log; 0 while it sleeps (a server that leads neither the publisher nor the policy finder, unread for `readmodel_idle_secs`; its `projector` position then stays where it stopped) |
//! | `leye_publisher_enabled` | gauge | | 1 when a NATS URL is configured |
//! | `leye_publisher_connected` | gauge | | 1 while the NATS connection is up |
//! | `leye_publisher_publishing` | gauge | | 1 while a publishing session runs (stream set up) |
//! | `leye_publisher_healthy` | gauge | | 1 when `leye.Publisher` is SERVING |
//! | `leye_publisher_checkpoint_position` | gauge | | position up to which JetStream acknowledged every event |
//! | `leye_publisher_checkpoint_persisted_position` | gauge | | the same, as last written to the checkpoint file |
//! | `leye_publisher_lag_events` | gauge | | head − checkpoint position |
//! | `leye_publisher_lag_seconds` | gauge | | age of the oldest unacknowledged event; 0 when caught up (also `leye_follower_lag_seconds{follower="publisher"}`) |
//! | `leye_publisher_published_total` | counter | | acknowledged publishes since start (duplicates included) |
//! | `leye_publisher_duplicates_total` | counter | | publishes JetStream reported as duplicates |
//! | `leye_publisher_failures_total` | counter | | publishing sessions ended by an error |
//! | `process_cpu_seconds_total` | counter | | user + system CPU time (Linux, from `/proc/self`; absent elsewhere) |
//! | `process_resident_memory_bytes` | gauge | | resident memory |
//! | `process_open_fds`, `process_max_fds` | gauge | | open file descriptors, and their soft limit |
//! | `process_start_time_seconds` | gauge | | start of the process, Unix time |
//! | `leye_build_info` | gauge | `version` | always 1 |
//!
//! Labels never carry personal data or case ids. Publisher gauges are
//! sampled every [`crate::publisher::status::SAMPLE_INTERVAL`].

use std::{future::Future, sync::Arc};

use axum::{Router, extract::State, http::StatusCode, http::header, response::IntoResponse, routing::get};
use tokio::net::TcpListener;

use crate::telemetry::Metrics;

/// Serves `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(scrape)).with_state(metrics);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    // Reading checkpoints and /proc blocks: off the async threads.
    match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(text) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)], text)
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics not rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{
        publisher::status::PublisherStatus,
        telemetry::{CommandOutcome, Followers},
    };

    use super::*;

    #[test]
    fn renders_every_series_in_text_format() {
        let status = PublisherStatus::new(true, Some(leye_store::Position::from_sequence(10)));
        let followers = Followers::default().read("projector", || Some(7));
        let metrics = Metrics::new(status, followers);
        metrics.request("leye.person.v1.PersonCaseService/RegisterUnemployment", "OK", Duration::from_millis(3));
        metrics.command("RegisterUnemployment", CommandOutcome::Rejected("ALREADY_REGISTERED"));
        metrics.append(Duration::from_millis(2));
        let text = metrics.render();
        for line in [
            "leye_publisher_checkpoint_position 10",
            "leye_publisher_connected 0",
            "leye_publisher_published_total 0",
            "# TYPE leye_publisher_published_total counter",
            "leye_follower_position{follower=\"publisher\"} 10",
            "leye_publisher_lag_seconds 0.0",
            "leye_follower_position{follower=\"projector\"} 7",
            "leye_grpc_requests_total{method=\"leye.person.v1.PersonCaseService/RegisterUnemployment\",code=\"OK\"} 1",
            "leye_grpc_request_duration_seconds_count{method=\"leye.person.v1.PersonCaseService/RegisterUnemployment\"} 1",
            "leye_commands_total{command=\"RegisterUnemployment\",outcome=\"rejected\",code=\"ALREADY_REGISTERED\"} 1",
            "leye_store_append_duration_seconds_count 1",
            concat!("leye_build_info{version=\"", env!("CARGO_PKG_VERSION"), "\"} 1"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        #[cfg(target_os = "linux")]
        assert!(text.lines().any(|l| l.starts_with("process_resident_memory_bytes ")), "{text}");
    }
}
