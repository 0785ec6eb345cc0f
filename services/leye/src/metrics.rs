//! The metrics endpoint: `GET /metrics` in the Prometheus text format (0.0.4),
//! over plain HTTP on `metrics_listen` (off unless configured).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `leye_store_head_position` | gauge | global position of the last event in the store |
//! | `leye_publisher_enabled` | gauge | 1 when a NATS URL is configured |
//! | `leye_publisher_connected` | gauge | 1 while the NATS connection is up |
//! | `leye_publisher_publishing` | gauge | 1 while a publishing session runs (stream set up) |
//! | `leye_publisher_healthy` | gauge | 1 when `leye.Publisher` is SERVING |
//! | `leye_publisher_checkpoint_position` | gauge | position up to which JetStream acknowledged every event |
//! | `leye_publisher_checkpoint_persisted_position` | gauge | the same, as last written to the checkpoint file |
//! | `leye_publisher_lag_events` | gauge | head − checkpoint position |
//! | `leye_publisher_lag_seconds` | gauge | age of the oldest unacknowledged event; 0 when caught up |
//! | `leye_publisher_published_total` | counter | acknowledged publishes since start (duplicates included) |
//! | `leye_publisher_duplicates_total` | counter | publishes JetStream reported as duplicates |
//! | `leye_publisher_failures_total` | counter | publishing sessions ended by an error |
//!
//! Gauges are sampled every [`crate::publisher::status::SAMPLE_INTERVAL`].

use std::{fmt::Write, future::Future};

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use tokio::net::TcpListener;

use crate::publisher::status::{PublisherStatus, Snapshot};

/// Serves `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    status: PublisherStatus,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics)).with_state(status);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn metrics(State(status): State<PublisherStatus>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render(&status.snapshot()))
}

/// The metrics in the Prometheus text format.
pub fn render(s: &Snapshot) -> String {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let rows: [(&str, &str, &str, f64); 12] = [
        (
            "leye_store_head_position",
            "gauge",
            "Global position of the last event in the store.",
            s.head_position as f64,
        ),
        ("leye_publisher_enabled", "gauge", "1 when a NATS URL is configured.", flag(s.enabled)),
        ("leye_publisher_connected", "gauge", "1 while the NATS connection is up.", flag(s.connected)),
        ("leye_publisher_publishing", "gauge", "1 while a publishing session runs.", flag(s.publishing)),
        ("leye_publisher_healthy", "gauge", "1 when leye.Publisher reports SERVING.", flag(s.healthy)),
        (
            "leye_publisher_checkpoint_position",
            "gauge",
            "Global position up to which JetStream acknowledged every event.",
            s.checkpoint_position as f64,
        ),
        (
            "leye_publisher_checkpoint_persisted_position",
            "gauge",
            "Checkpoint position as last written to the checkpoint file.",
            s.persisted_position as f64,
        ),
        (
            "leye_publisher_lag_events",
            "gauge",
            "Events in the store not yet acknowledged by JetStream.",
            s.lag_events as f64,
        ),
        (
            "leye_publisher_lag_seconds",
            "gauge",
            "Age of the oldest event not yet acknowledged by JetStream; 0 when caught up.",
            s.lag_seconds,
        ),
        (
            "leye_publisher_published_total",
            "counter",
            "Publishes acknowledged by JetStream since start.",
            s.published_total as f64,
        ),
        (
            "leye_publisher_duplicates_total",
            "counter",
            "Publishes JetStream reported as duplicates.",
            s.duplicates_total as f64,
        ),
        ("leye_publisher_failures_total", "counter", "Publishing sessions ended by an error.", s.failures_total as f64),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_in_text_format() {
        let s = Snapshot {
            enabled: true,
            connected: false,
            publishing: false,
            healthy: false,
            checkpoint_position: 10,
            persisted_position: 8,
            head_position: 15,
            lag_events: 5,
            lag_seconds: 2.5,
            published_total: 10,
            duplicates_total: 1,
            failures_total: 3,
        };
        let text = render(&s);
        for line in [
            "leye_publisher_lag_events 5",
            "leye_publisher_lag_seconds 2.5",
            "leye_publisher_published_total 10",
            "leye_publisher_checkpoint_position 10",
            "leye_publisher_connected 0",
            "leye_store_head_position 15",
            "# TYPE leye_publisher_published_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
