//! The bureau's dashboard: an HTTP/1.1 port of `leye serve`
//! (`dashboard_listen`, off unless set) serving
//! - the JSON API `/api/v1/…` ([`api`]): the analytics queries of
//!   `TargetsService`, through [`guard`] (bearer token, the same rules in
//!   `access.rs`, the audit record before the answer);
//! - its OpenAPI 3 description, `/api/v1/openapi.json` (committed beside this
//!   file; a test checks it describes exactly [`api::ROUTES`]);
//! - the dashboard page (`assets/dashboard/`, built into the binary): plain
//!   JavaScript and Apache ECharts, no framework, nothing from elsewhere.
//!
//! The page and the OpenAPI file hold no data and are served to anyone; the
//! page asks for a token, keeps it in `sessionStorage` and sends it as a
//! bearer header (no cookies: nothing a cross-site request could ride on).
//! Every answer carries `Content-Security-Policy: default-src 'self'` (no
//! inline script), `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//! no-referrer` and `X-Frame-Options: DENY`.
//!
//! On a non-loopback address the port needs TLS (the gRPC port's certificate,
//! [`tls`]) or `--insecure`, as gRPC does (`TrustConfig::check_exposure`).

pub mod api;
pub mod guard;
pub mod listener;

use std::future::Future;

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use leye_store::AnyStore;
use tokio::net::TcpListener;

use axum::serve::ListenerExt;

use crate::{analytics::Analytics, grpc::net::ConnInfo};
use guard::HttpGuard;

/// The OpenAPI 3 description of [`api::ROUTES`].
pub const OPENAPI: &str = include_str!("openapi.json");

/// The dashboard's static files: path, content type, body.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", "text/html; charset=utf-8", include_bytes!("../../assets/dashboard/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/dashboard/app.js")),
    ("/style.css", "text/css; charset=utf-8", include_bytes!("../../assets/dashboard/style.css")),
    ("/echarts.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/dashboard/echarts.min.js")),
];

/// The policy on every answer: only this origin's files; no inline script.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                       connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct App {
    pub guard: HttpGuard,
    pub queries: Analytics,
    /// The event log, for the read model's lag (`None` in tests without one).
    pub store: Option<AnyStore>,
}

/// The dashboard's routes.
pub fn router(app: App) -> Router {
    let mut router = Router::new()
        .route("/api/v1/targets", get(api::targets))
        .route("/api/v1/subsidy-totals", get(api::subsidy_totals))
        .route("/api/v1/communities", get(api::communities))
        .route("/api/v1/actions", get(api::actions))
        .route("/api/v1/eligible", get(api::eligible))
        .route("/api/v1/households/{household_id}", get(api::household))
        .route("/api/v1/openapi.json", get(openapi));
    for &(path, content_type, body) in ASSETS {
        router = router.route(path, get(move || async move { ([(header::CONTENT_TYPE, content_type)], body) }));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(middleware::from_fn(security_headers))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], OPENAPI)
}

async fn not_found() -> Response {
    guard::ApiError::NoSuchRoute.into_response()
}

async fn method_not_allowed() -> Response {
    guard::ApiError::ReadOnly.into_response()
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Serves the dashboard on `listener` within `limits` (over TLS when `tls`
/// is given) until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    limits: crate::grpc::net::ConnLimits,
    tls: Option<(tokio_rustls::TlsAcceptor, std::time::Duration)>,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<ConnInfo>();
    let local = listener.local_addr();
    let plain = listener::Plain::new(crate::grpc::net::incoming(listener, limits), local);
    // `tap_io` only for axum's `ConnectInfo` impl over any listener.
    match tls {
        None => axum::serve(plain.tap_io(|_| {}), service).with_graceful_shutdown(shutdown).await,
        Some((acceptor, timeout)) => {
            let tls = listener::Tls::new(plain, acceptor, timeout);
            axum::serve(tls.tap_io(|_| {}), service).with_graceful_shutdown(shutdown).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The OpenAPI file describes exactly the routes served, each a GET with
    /// its parameters, and every route has a rule (deny by default).
    #[test]
    fn every_route_is_described() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "OpenAPI 3");
        let described: BTreeSet<String> =
            doc["paths"].as_object().expect("paths").keys().filter(|p| *p != "/api/v1/openapi.json").cloned().collect();
        let routed: BTreeSet<String> = api::ROUTES.iter().map(|r| r.path.to_string()).collect();
        assert_eq!(described, routed, "openapi.json paths vs api::ROUTES");
        for r in api::ROUTES {
            assert!(crate::access::rule_for(&format!("/{}", r.operation)).is_some(), "{} has no rule", r.path);
            let op = &doc["paths"][r.path]["get"];
            assert!(op.is_object(), "{}: no GET", r.path);
            let named: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            let wanted: BTreeSet<&str> = r.params.iter().copied().collect();
            assert_eq!(named, wanted, "{}: query parameters", r.path);
            for code in ["200", "400", "401", "403"] {
                assert!(op["responses"][code].is_object(), "{}: response {code} not described", r.path);
            }
        }
    }
}
