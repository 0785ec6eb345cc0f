//! The leye server: gRPC commands and queries over the event store, and the
//! auditor's command line.
//!
//! # Layout
//! - [`config`]: layered configuration (defaults, file, environment, flags).
//! - [`identity`]: pseudonymous case ids derived from resident IDs with a key.
//! - [`cases`]: the command path (load → decide → append) and the queries
//!   (state as of, replay, find), generic over the event store.
//! - [`access`]: the authorization table (role × operation × jurisdiction)
//!   and the gate each request carries; checked by `grpc::guard` (roles) and
//!   where a case's place is known (`cases`).
//! - [`trust`]: TLS, token issuer, client certificates, limits, and the rule
//!   that an exposed port needs them.
//! - [`grpc`]: the thin gRPC adapter; `grpc::guard` authenticates, authorizes
//!   and audits every request; the one place errors become statuses.
//! - [`wire`]: the one mapping from domain values to the public protobuf
//!   messages, used by `grpc` and `publisher` alike.
//! - [`publisher`]: follows the store's global log from its own checkpoint and
//!   publishes every event to NATS JetStream.
//! - [`analytics`]: the analytics queries (targets, lists) both wires answer with.
//! - [`http`]: the bureau's dashboard and its JSON API (`dashboard_listen`), through the same rules and audit.
//! - [`metrics`]: `/metrics` in the Prometheus text format (publisher lag).
//! - [`finder`]: policy finds people (政策找人): follows the log from its own
//!   checkpoint and notes on each person case the programmes it is eligible
//!   for and has not received.
//! - [`server`]: wiring for `leye serve`: open the store, serve, publish, shut down.
//! - [`settings`]: the policy catalogue, target parameters, publishing
//!   settings and access rules every server of a shared key store must
//!   share, compared at start and watched while serving.
//! - [`replay`]: `leye replay`, a case's history for an auditor.
//! - [`consume`]: `leye consume`, a demo JetStream subscriber.
//! - [`devtools`]: `leye dev token|certs`, `leye audit verify`.
//! - [`integrity`]: `leye verify`, the store's check at start on the health
//!   service, the guard of `leye projections rebuild`.
//! - [`backup`]: `leye backup|restore`, the data directory's lock and modes.
//!
//! # Invariants
//! - The domain is called with parsed values only; parsing happens in `grpc`.
//! - Nothing but the event store is written on the command path; the
//!   publisher only reads the store, so NATS never holds a command up.
//! - Only `publisher` (and the demo subscriber `consume`) know NATS.
//! - Every RPC but health passes `grpc::guard`; no handler runs without a
//!   [`access::Gate`], and no request is answered before its audit record is durable.
//! - Logs carry case ids (pseudonyms), codes and counts, never names or resident IDs;
//!   NATS subjects and headers never carry personal data.

pub mod access;
pub mod analyst;
pub mod analytics;
pub mod backup;
pub mod bench;
pub mod cases;
pub mod client;
pub mod config;
pub mod consume;
pub mod devtools;
pub mod export;
pub mod finder;
pub mod folding;
pub mod generate;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod integrity;
pub mod keys;
pub mod leadership;
pub mod linker;
pub mod logging;
pub mod metrics;
pub mod personal;
pub mod publisher;
pub mod replay;
pub mod server;
pub mod settings;
pub mod signals;
pub mod storecopy;
pub mod subsidies;
pub mod telemetry;
pub mod trust;
pub mod wire;
