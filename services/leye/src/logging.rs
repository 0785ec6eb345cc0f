//! Logs and request spans: one `tracing` subscriber for the process.
//!
//! - Logs go to stderr, as text (colours only on a terminal) or as flat JSON
//!   (an event's fields at the top level beside `level`, `target` and
//!   `message`; no nested span objects, no `Debug` text). `LEYE_LOG` filters.
//! - Request spans: the gRPC guard opens one span per request
//!   ([`request_span`]), named `package.Service/Method` as the OpenTelemetry
//!   RPC conventions say, with `rpc.system`, `rpc.service`, `rpc.method` and
//!   `rpc.grpc.status_code`. They are exported over OTLP/gRPC only when an
//!   endpoint is configured (`otlp_endpoint`), in batches from a background
//!   task; a caller's W3C `traceparent` header makes the span its child.
//!   Without an endpoint no request span is made at all.
//!   Span attributes never hold personal data, principals or case ids.

use opentelemetry::{
    propagation::{Extractor, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// Runs `f` on a blocking thread (a key store's I/O, off the runtime's
/// threads) inside the caller's span, so that its log lines carry the
/// caller's fields (`serve{insecure=true}`, …).
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let span = tracing::Span::current();
    Ok(tokio::task::spawn_blocking(move || span.in_scope(f)).await?)
}

/// Whether request spans are exported (set once by [`init`]).
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The span exporter, flushed when dropped (at the end of `main`).
#[derive(Debug)]
pub struct Spans(Option<SdkTracerProvider>);

impl Drop for Spans {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "request spans not all exported at shutdown");
            }
        }
    }
}

/// Installs the process's subscriber: stderr logs filtered by `LEYE_LOG`
/// (default `default_filter`), plus OTLP span export to `otlp_endpoint` when
/// given. Must run inside the Tokio runtime (the exporter's gRPC client).
pub fn init(json: bool, default_filter: &str, otlp_endpoint: Option<&str>) -> anyhow::Result<Spans> {
    let filter = EnvFilter::try_from_env("LEYE_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A log line that cannot be written (stderr closed) is dropped, silently.
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi).log_internal_errors(false);
    let logs = if json {
        text.json().flatten_event(true).with_current_span(false).with_span_list(false).boxed()
    } else {
        text.boxed()
    };
    let (provider, spans) = match otlp_endpoint {
        Some(endpoint) => {
            let provider = provider(endpoint)?;
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("leye"));
            // Only the request spans go out: their target is this module's.
            let only_requests =
                tracing_subscriber::filter::Targets::new().with_target(module_path!(), tracing::Level::INFO);
            (Some(provider), Some(layer.with_filter(only_requests)))
        }
        None => (None, None),
    };
    tracing_subscriber::registry().with(logs.with_filter(filter)).with(spans).init();
    if let Some(endpoint) = otlp_endpoint {
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(endpoint, "request spans exported over OTLP");
    }
    Ok(Spans(provider))
}

fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let valid = endpoint.starts_with("http://") || endpoint.starts_with("https://");
    anyhow::ensure!(valid, "otlp_endpoint must be an http:// or https:// URL (the collector's OTLP/gRPC port)");
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| anyhow::anyhow!("otlp_endpoint {endpoint}: {e}"))?;
    let resource = Resource::builder()
        .with_service_name("leye")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    // Spans leave within a second of their end, in batches of up to 512.
    let batches = BatchConfigBuilder::default().with_scheduled_delay(std::time::Duration::from_secs(1)).build();
    let processor = BatchSpanProcessor::builder(exporter).with_batch_config(batches).build();
    Ok(SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build())
}

/// The span of one gRPC request: `operation` is `package.Service/Method`
/// (already reduced to a known method or `other` by the caller, so callers
/// cannot mint span names). A valid `traceparent` header makes it a child of
/// the caller's span.
pub fn request_span(operation: &str, headers: &tonic::codegen::http::HeaderMap) -> tracing::Span {
    // Without an exporter nobody reads the span: none is made per request.
    if !EXPORTING.load(std::sync::atomic::Ordering::Relaxed) {
        return tracing::Span::none();
    }
    let (service, method) = operation.split_once('/').unwrap_or((operation, ""));
    let span = tracing::info_span!(
        target: module_path!(),
        "grpc request",
        otel.name = %operation,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        // A malformed header yields an empty context: the span starts a trace.
        let _ = span.set_parent(parent);
    }
    span
}

/// Records the answer's gRPC status on the current request span.
pub fn record_status(span: &tracing::Span, code: tonic::Code) {
    span.record("rpc.grpc.status_code", code as i64);
    // Server spans are errors only for the service's own failures.
    let failed = matches!(
        code,
        tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Unimplemented
            | tonic::Code::Internal
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    );
    if failed {
        span.record("otel.status_code", "ERROR");
    }
}

/// HTTP headers as an OpenTelemetry carrier.
struct Headers<'a>(&'a tonic::codegen::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(tonic::codegen::http::HeaderName::as_str).collect()
    }
}
