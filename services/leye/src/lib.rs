//! The leye server: gRPC commands and queries over the event store, and the
//! auditor's command line.
//!
//! # Layout
//! - [`config`]: layered configuration (defaults, file, environment, flags).
//! - [`identity`]: pseudonymous case ids derived from resident IDs with a key.
//! - [`cases`]: the command path (load → decide → append) and the queries
//!   (state as of, replay, find), generic over the event store.
//! - [`grpc`]: the thin gRPC adapter; the one place errors become statuses.
//! - [`server`]: wiring for `leye serve`: open the store, serve, shut down.
//! - [`replay`]: `leye replay`, a case's history for an auditor.
//!
//! # Invariants
//! - The domain is called with parsed values only; parsing happens in `grpc`.
//! - Nothing but the event store is written on the command path.
//! - Logs carry case ids (pseudonyms), codes and counts, never names or resident IDs.

pub mod cases;
pub mod config;
pub mod grpc;
pub mod identity;
pub mod replay;
pub mod server;
