//! Configuration, layered: built-in defaults < config file (TOML) < environment
//! (`LEYE_*`) < command-line flags.
//!
//! | setting | flag | environment | file key | default |
//! |---|---|---|---|---|
//! | gRPC address | `--listen` | `LEYE_LISTEN` | `listen` | `127.0.0.1:50051` |
//! | data directory | `--data-dir` | `LEYE_DATA_DIR` | `data_dir` | `./leye-data` |
//! | pseudonym key file | `--pseudonym-key-file` | `LEYE_PSEUDONYM_KEY_FILE` | `pseudonym_key_file` | `<data_dir>/pseudonym.key` |
//! | personal-data key store shared by every server (`postgres://…`) | `--key-store` | `LEYE_KEY_STORE` | `key_store` | a PostgreSQL event store's database, else `<data_dir>/keys/keys.sqlite` |
//! | master key file (personal data, [`crate::personal`]) | `--master-key-file` | `LEYE_MASTER_KEY_FILE` | `master_key_file` | `<data_dir>/keys/master.key`; the key itself in `LEYE_MASTER_KEY` wins |
//! | cipher of personal data (`aes-256-gcm`, `sm4-gcm`) | `--personal-data-cipher` | `LEYE_PERSONAL_DATA_CIPHER` | `personal_data_cipher` | `aes-256-gcm` |
//! | resident ID and name on NATS (entitled subscribers only) | `--nats-personal-data` | `LEYE_NATS_PERSONAL_DATA` | `nats_personal_data` | `false` |
//! | config file | `--config` | `LEYE_CONFIG` | — | none |
//! | metrics address (HTTP, Prometheus) | `--metrics-listen` | `LEYE_METRICS_LISTEN` | `metrics_listen` | off |
//! | dashboard and JSON API (HTTP, `/`, `/api/v1/`) | `--dashboard-listen` | `LEYE_DASHBOARD_LISTEN` | `dashboard_listen` | off |
//! | OTLP/gRPC collector for request spans | `--otlp-endpoint` | `LEYE_OTLP_ENDPOINT` | `otlp_endpoint` | off |
//! | NATS server URL(s), comma-separated | `--nats-url` | `LEYE_NATS_URL` | `nats_url` | none: publisher off |
//! | JetStream stream name | `--nats-stream` | `LEYE_NATS_STREAM` | `nats_stream` | `LEYE_V1` |
//! | stream replicas (1–5) | `--nats-stream-replicas` | `LEYE_NATS_STREAM_REPLICAS` | `nats_stream_replicas` | `1` |
//! | duplicate window, seconds | `--nats-duplicate-window-secs` | `LEYE_NATS_DUPLICATE_WINDOW_SECS` | `nats_duplicate_window_secs` | `3600` |
//! | stream max age, days (0: unlimited) | `--nats-max-age-days` | `LEYE_NATS_MAX_AGE_DAYS` | `nats_max_age_days` | `30` |
//! | stream max bytes (0: unlimited) | `--nats-max-bytes` | `LEYE_NATS_MAX_BYTES` | `nats_max_bytes` | `10737418240` (10 GiB) |
//! | publishes in flight | `--nats-max-in-flight` | `LEYE_NATS_MAX_IN_FLIGHT` | `nats_max_in_flight` | `256` |
//! | ack timeout, seconds | `--nats-ack-timeout-secs` | `LEYE_NATS_ACK_TIMEOUT_SECS` | `nats_ack_timeout_secs` | `5` |
//! | publisher lag for NOT_SERVING, seconds | `--publisher-max-lag-secs` | `LEYE_PUBLISHER_MAX_LAG_SECS` | `publisher_max_lag_secs` | `30` |
//! | leadership interval on a shared store, ms (100–60000): a standby takes over within about one after a leader exits or is killed, four if its machine vanishes | `--leadership-interval-ms` | `LEYE_LEADERSHIP_INTERVAL_MS` | `leadership_interval_ms` | `1000` |
//! | cases remembered as last decided (0–1000000; 0: every command reads its stream) | `--case-memory` | `LEYE_CASE_MEMORY` | `case_memory` | `16384` |
//! | seconds a query keeps the read model of a server that leads neither the publisher nor the policy finder folding the log, and any server's query index moved on with it (0–86400; 0: always; [`crate::folding`]) | `--readmodel-idle-secs` | `LEYE_READMODEL_IDLE_SECS` | `readmodel_idle_secs` | `600` |
//! | policy finder (政策找人) on/off | `--policy-finder` | `LEYE_POLICY_FINDER` | `policy_finder` | `true` |
//! | policy catalogue directory (`*.toml`) | `--policies` | `LEYE_POLICIES` | `policies` | the catalogue built into the binary (`policies/`) |
//! | event-store chain key file | `--chain-key-file` | `LEYE_CHAIN_KEY_FILE` | `chain_key_file` | `<data_dir>/keys/chain.key` |
//! | chain hash of a new store (`sha256`, `sm3`) | `--chain-algorithm` | `LEYE_CHAIN_ALGORITHM` | `chain_algorithm` | `sha256` (an existing store keeps its own) |
//! | target parameters (local rules) | — | — | `[targets]` table | see `projections/TARGETS.md` |
//! | TLS, tokens, client certificates, reflection, audit retention, limits | `--tls-cert` … (see [`crate::trust`]) | `LEYE_TLS_CERT` … | `[security]` table | loopback: plaintext with the development issuer |
//!
//! The read model lives in `<data_dir>/readmodel/` (see [`READMODEL_DIR`]).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use serde::Deserialize;

use leye_projections::TargetParams;
use leye_vault::Cipher;

use crate::{
    finder::FinderConfig,
    personal::VaultConfig,
    trust::{TrustConfig, TrustSettings},
};

use crate::publisher::{
    self, NatsUrl, PublisherConfig,
    stream::{self, StreamSettings},
};

/// What `leye serve` runs with, after layering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The event store: `sqlite:<data_dir>/events.sqlite` unless configured.
    pub store: leye_store::StoreLocator,
    pub pseudonym_key_file: PathBuf,
    /// The event store's chain key (kept apart from the database file);
    /// `None`: `<data_dir>/keys/chain.key` (see [`Self::chain_key_file`]).
    pub chain_key_file: Option<PathBuf>,
    /// The chain's hash function for a new store; `None`: SHA-256, or what an
    /// existing store records (which must match when set).
    pub chain_algorithm: Option<leye_store::chain::ChainAlgorithm>,
    /// Benchmarks only: the store writes events without seals (hidden flag
    /// `--bench-unsealed`, for `leye-bench --compare-chain`).
    pub bench_unsealed: bool,
    /// Benchmarks only: registrations are stored with resident ID and name in
    /// clear (no flag; set by `leye-bench-sealing --grpc` on the server it runs).
    pub bench_clear_personal_data: bool,
    /// The personal-data key store and its master key.
    pub vault: VaultConfig,
    /// On a shared store, how often leaders prove they lead and standbys try
    /// to take over (`leadership_interval_ms`).
    pub leadership_interval: Duration,
    /// Cases a server remembers as it last decided them (`case_memory`):
    /// the next command on one reads no stream ([`crate::cases`]).
    pub case_memory: usize,
    /// How long a query keeps the read model of a server that leads neither
    /// the publisher nor the policy finder folding, and any server's query
    /// index moved on as it folds (`readmodel_idle_secs`; zero: always;
    /// [`crate::folding`]).
    pub readmodel_idle: Duration,
    /// Where `/metrics` is served; `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the dashboard and its JSON API are served; `None`: not served.
    pub dashboard_listen: Option<SocketAddr>,
    /// Where request spans are exported (OTLP/gRPC); `None`: not exported.
    pub otlp_endpoint: Option<String>,
    /// The NATS publisher; it runs only with a `nats_url`.
    pub publisher: PublisherConfig,
    /// Parameters of the targets that local rule decides.
    pub targets: TargetParams,
    /// The eligibility finder (policy finds people).
    pub finder: FinderConfig,
    /// A policy catalogue directory replacing the built-in one; loaded and
    /// validated at start (an invalid file stops the start, naming file, rule
    /// and field).
    pub policies: Option<PathBuf>,
    /// On a shared key store, put this server's policy catalogue, target
    /// parameters, publishing settings and access rules in force in place of those
    /// recorded (`settings`).
    pub adopt_settings: bool,
    /// TLS, authentication, reflection, the audit trail, resource limits.
    pub trust: TrustConfig,
}

impl ServeConfig {
    /// The event store's chain key file.
    pub fn chain_key_file(&self) -> PathBuf {
        self.chain_key_file.clone().unwrap_or_else(|| self.data_dir.join(leye_store::sqlite::DEFAULT_KEY_FILE))
    }

    /// The event store's file.
    pub fn store_file(&self) -> PathBuf {
        self.data_dir.join(STORE_FILE)
    }

    /// How the event store is opened: the chain key and algorithm configured;
    /// `quick_check` at open for `leye serve`.
    pub fn store_options(&self, quick_check: bool) -> leye_store::SqliteStoreOptions {
        leye_store::SqliteStoreOptions {
            key_file: Some(self.chain_key_file()),
            algorithm: self.chain_algorithm,
            quick_check,
            unsealed_for_benchmarks: self.bench_unsealed,
            ..Default::default()
        }
    }

    /// How [`leye_store::AnyStore`] opens the configured store.
    pub fn any_store_options(&self, quick_check: bool) -> leye_store::AnyStoreOptions {
        leye_store::AnyStoreOptions {
            key_file: self.chain_key_file(),
            algorithm: self.chain_algorithm,
            quick_check,
            unsealed_for_benchmarks: self.bench_unsealed,
        }
    }

    /// The built-in defaults with every file under `data_dir` (store, keys,
    /// checkpoints), as `--data-dir` alone gives.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        ServeSettings { data_dir: Some(data_dir.to_path_buf()), ..Default::default() }
            .layered_over(ServeSettings::default())
            .expect("the built-in defaults are valid")
    }

    /// The directory of read-model generations.
    pub fn readmodel_dir(&self) -> PathBuf {
        self.data_dir.join(READMODEL_DIR)
    }
}

impl Default for ServeConfig {
    /// The built-in defaults (no file, no environment, no flags).
    fn default() -> Self {
        // The defaults are valid by construction (unit-tested below).
        ServeSettings::default().layered_over(ServeSettings::default()).expect("the built-in defaults are valid")
    }
}

/// The settings as given by one layer (flags and environment, or the file).
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// Address for gRPC, e.g. 0.0.0.0:50051.
    #[arg(long, hide_env_values = true, env = "LEYE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// File holding the event store's chain key (32 bytes, 0600; created with
    /// a new store). Default: <data_dir>/keys/chain.key.
    #[arg(long, hide_env_values = true, env = "LEYE_CHAIN_KEY_FILE")]
    pub chain_key_file: Option<PathBuf>,
    /// Hash function of a new store's chain: sha256 (default) or sm3 (GB/T
    /// 32905, for deployments assessed under GB/T 39786). An existing store
    /// keeps the one it was created with.
    #[arg(long, hide_env_values = true, env = "LEYE_CHAIN_ALGORITHM")]
    pub chain_algorithm: Option<String>,
    /// Directory holding the embedded event store and the pseudonym key.
    #[arg(long, hide_env_values = true, env = "LEYE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The event store: sqlite:PATH (default: <data_dir>/events.sqlite),
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (several servers may
    /// share it) or kurrentdb://…. Never printed with its password.
    #[arg(long, hide_env_values = true, env = "LEYE_STORE")]
    #[serde(default, deserialize_with = "deserialize_store")]
    pub store: Option<StoreArg>,
    /// Where the personal-data keys are when they are not beside the event
    /// store: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, shared by every
    /// server (several servers on a KurrentDB store need it). Default: a
    /// PostgreSQL event store's own database, else <data_dir>/keys/keys.sqlite.
    #[arg(long, hide_env_values = true, env = "LEYE_KEY_STORE")]
    #[serde(default, deserialize_with = "deserialize_store")]
    pub key_store: Option<StoreArg>,
    /// File holding the secret key that derives case ids from resident IDs.
    #[arg(long, hide_env_values = true, env = "LEYE_PSEUDONYM_KEY_FILE")]
    pub pseudonym_key_file: Option<PathBuf>,
    /// File holding the master key that wraps each person's data key
    /// (created 0600 on the first start). `LEYE_MASTER_KEY`, holding the key
    /// itself, takes its place when set.
    #[arg(long, hide_env_values = true, env = "LEYE_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Cipher sealing personal data: aes-256-gcm (default) or sm4-gcm (GB/T 39786 deployments).
    #[arg(long, hide_env_values = true, env = "LEYE_PERSONAL_DATA_CIPHER")]
    pub personal_data_cipher: Option<String>,
    /// Publish resident ID and name in NATS `registered` payloads, for
    /// subscribers entitled to them (`true`/`false`; default false).
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_PERSONAL_DATA")]
    pub nats_personal_data: Option<bool>,
    /// Address for the Prometheus metrics endpoint (`/metrics`), e.g.
    /// 127.0.0.1:9464. Off unless set.
    #[arg(long, hide_env_values = true, env = "LEYE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Address for the bureau's dashboard and its JSON API (`/`, `/api/v1/`),
    /// e.g. 127.0.0.1:8080. Off unless set; beyond loopback it needs TLS.
    #[arg(long, hide_env_values = true, env = "LEYE_DASHBOARD_LISTEN")]
    pub dashboard_listen: Option<SocketAddr>,
    /// OpenTelemetry collector's OTLP/gRPC endpoint for request spans, e.g.
    /// http://127.0.0.1:4317. Off unless set.
    #[arg(long, hide_env_values = true, env = "LEYE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// NATS server URL(s), comma-separated: publish every event to JetStream.
    /// Without one, events wait in the store.
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_URL")]
    pub nats_url: Option<NatsUrl>,
    /// JetStream stream name (created or updated on start).
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_STREAM")]
    pub nats_stream: Option<String>,
    /// Copies of the stream in the NATS cluster, 1 to 5 (3 in production).
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_STREAM_REPLICAS")]
    pub nats_stream_replicas: Option<usize>,
    /// JetStream de-duplication window by event id, in seconds.
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_DUPLICATE_WINDOW_SECS")]
    pub nats_duplicate_window_secs: Option<u64>,
    /// Messages older than this are removed from the stream (days; 0: never).
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_MAX_AGE_DAYS")]
    pub nats_max_age_days: Option<u64>,
    /// Size limit of the stream, oldest messages removed first (bytes; 0: none).
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_MAX_BYTES")]
    pub nats_max_bytes: Option<u64>,
    /// Publishes awaiting their acknowledgement at once.
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_MAX_IN_FLIGHT")]
    pub nats_max_in_flight: Option<usize>,
    /// How long one acknowledgement may take before publishing restarts, in seconds.
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_ACK_TIMEOUT_SECS")]
    pub nats_ack_timeout_secs: Option<u64>,
    /// Lag (age of the oldest unpublished event) above which the health
    /// service reports `leye.Publisher` NOT_SERVING, in seconds.
    #[arg(long, hide_env_values = true, env = "LEYE_PUBLISHER_MAX_LAG_SECS")]
    pub publisher_max_lag_secs: Option<u64>,
    /// On a shared store: how often a leader proves it still leads and a
    /// standby tries to take over, in milliseconds (100–60000). A standby
    /// takes over within about one interval after a leader exits or is
    /// killed, about four when the leader's machine vanishes.
    #[arg(long, hide_env_values = true, env = "LEYE_LEADERSHIP_INTERVAL_MS")]
    pub leadership_interval_ms: Option<u64>,
    /// Cases remembered as this server last decided them, so that the next
    /// command on one reads no stream (0 to 1000000; 0: none).
    #[arg(long, hide_env_values = true, env = "LEYE_CASE_MEMORY")]
    pub case_memory: Option<usize>,
    /// Seconds a query keeps this server's read model folding the log when
    /// the server leads neither the publisher nor the policy finder (0 to
    /// 86400; 0: it always folds), and its query index moved on as it folds.
    /// A query on a sleeping read model wakes it and waits until it has
    /// folded the log's head.
    #[arg(long, hide_env_values = true, env = "LEYE_READMODEL_IDLE_SECS")]
    pub readmodel_idle_secs: Option<u64>,
    /// Run the policy finder (政策找人): note on person cases the programmes
    /// they are eligible for and have not received (`true`/`false`).
    #[arg(long, hide_env_values = true, env = "LEYE_POLICY_FINDER")]
    pub policy_finder: Option<bool>,
    /// A directory of policy catalogue files (`*.toml`, see policies/README.md)
    /// replacing the catalogue built into the binary.
    #[arg(long, hide_env_values = true, env = "LEYE_POLICIES")]
    pub policies: Option<PathBuf>,
    /// On a PostgreSQL key store: put this server's policy catalogue,
    /// `[targets]` parameters, publishing settings and access rules in force for every
    /// server of the deployment, in place of those recorded there (the servers
    /// running with others stop within a leadership interval). Without it, a
    /// server whose settings differ from those in force refuses to start.
    /// Flag only.
    #[arg(long)]
    #[serde(skip)]
    pub adopt_settings: bool,
    /// Benchmarks only: write events without seals, so that `leye-bench
    /// --compare-chain` can measure what the chain costs. Such a store never
    /// verifies and refuses appends on its next start.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub bench_unsealed: bool,
    /// Target parameters: config file only, a `[targets]` table.
    #[arg(skip)]
    #[serde(default)]
    pub targets: Option<TargetParams>,
    /// Trust: flags, environment, or the file's `[security]` table.
    #[command(flatten)]
    #[serde(default)]
    pub security: TrustSettings,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATA_DIR: &str = "leye-data";
/// The event store's file name inside the data directory.
pub const STORE_FILE: &str = "events.sqlite";
/// The read-model directory's name inside the data directory.
pub const READMODEL_DIR: &str = "readmodel";

/// A store locator as given (flag, environment or file), parsed into a
/// [`leye_store::StoreLocator`] when the configuration is layered: clap and
/// serde repeat a value they refuse, which could hold a password, so this
/// accepts any text and the layering names the problem without it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreArg(String);

impl StoreArg {
    /// The locator, or an error naming `what` and the accepted forms.
    pub fn parse(&self, what: &str) -> anyhow::Result<leye_store::StoreLocator> {
        self.0.parse().map_err(|e: String| anyhow::anyhow!("{what}: {}", e.trim_start_matches("store: ")))
    }
}

impl std::str::FromStr for StoreArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for StoreArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreArg({})", leye_store::postgres::redact_url(&self.0))
    }
}

/// The config file's `store` and `key_store` keys.
fn deserialize_store<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<StoreArg>, D::Error> {
    let raw: Option<String> = Deserialize::deserialize(d)?;
    Ok(raw.map(StoreArg))
}

impl ServeSettings {
    /// Reads a config file. Unknown keys are refused, naming the file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {}", path.display(), toml_error(&text, &e)))
    }

    /// `self` over `lower`, then the defaults.
    pub fn layered_over(self, lower: ServeSettings) -> anyhow::Result<ServeConfig> {
        let data_dir = self.data_dir.or(lower.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let listen = match self.listen.or(lower.listen) {
            Some(a) => a,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let pseudonym_key_file =
            self.pseudonym_key_file.or(lower.pseudonym_key_file).unwrap_or_else(|| data_dir.join("pseudonym.key"));
        let chain_key_file = self.chain_key_file.or(lower.chain_key_file);
        let chain_algorithm = self
            .chain_algorithm
            .or(lower.chain_algorithm)
            .map(|a| a.parse::<leye_store::chain::ChainAlgorithm>())
            .transpose()
            .map_err(|e| anyhow::anyhow!("chain_algorithm: {e}"))?;
        let cipher = match self.personal_data_cipher.or(lower.personal_data_cipher) {
            None => Cipher::default(),
            Some(c) => Cipher::parse(&c).map_err(|e| anyhow::anyhow!("personal_data_cipher: {e}"))?,
        };
        let mut vault = VaultConfig {
            key_store: data_dir.join(crate::personal::KEY_STORE_FILE),
            shared: None,
            master_key_file: self
                .master_key_file
                .or(lower.master_key_file)
                .unwrap_or_else(|| data_dir.join(crate::personal::MASTER_KEY_FILE)),
            cipher,
        };
        let secs = Duration::from_secs;
        let defaults = StreamSettings::default();
        let stream = StreamSettings {
            name: self.nats_stream.or(lower.nats_stream).unwrap_or(defaults.name),
            replicas: self.nats_stream_replicas.or(lower.nats_stream_replicas).unwrap_or(defaults.replicas),
            duplicate_window: self
                .nats_duplicate_window_secs
                .or(lower.nats_duplicate_window_secs)
                .map_or(defaults.duplicate_window, secs),
            max_age: self
                .nats_max_age_days
                .or(lower.nats_max_age_days)
                .map_or(defaults.max_age, |d| secs(d.saturating_mul(24 * 60 * 60))),
            max_bytes: match self.nats_max_bytes.or(lower.nats_max_bytes) {
                None => defaults.max_bytes,
                Some(0) => None,
                Some(b) => Some(b),
            },
        };
        stream.validate().map_err(|e| anyhow::anyhow!(e))?;
        let max_in_flight =
            self.nats_max_in_flight.or(lower.nats_max_in_flight).unwrap_or(publisher::DEFAULT_MAX_IN_FLIGHT);
        anyhow::ensure!((1..=65_536).contains(&max_in_flight), "nats_max_in_flight: must be 1 to 65536");
        let ack_timeout =
            self.nats_ack_timeout_secs.or(lower.nats_ack_timeout_secs).map_or(publisher::DEFAULT_ACK_TIMEOUT, secs);
        anyhow::ensure!(!ack_timeout.is_zero(), "nats_ack_timeout_secs: must be at least 1");
        let publisher = PublisherConfig {
            nats_url: self.nats_url.or(lower.nats_url),
            checkpoint_file: data_dir.join(checkpoint_file_name(&stream.name)),
            stream,
            max_in_flight,
            ack_timeout,
            max_lag: self
                .publisher_max_lag_secs
                .or(lower.publisher_max_lag_secs)
                .map_or(publisher::DEFAULT_MAX_LAG, secs),
            personal_data: self.nats_personal_data.or(lower.nats_personal_data).unwrap_or(false),
            opener: None,
            leader: None,
        };
        let leadership_interval = Duration::from_millis(
            self.leadership_interval_ms
                .or(lower.leadership_interval_ms)
                .unwrap_or(crate::leadership::INTERVAL.as_millis() as u64),
        );
        anyhow::ensure!(
            (Duration::from_millis(100)..=Duration::from_secs(60)).contains(&leadership_interval),
            "leadership_interval_ms: must be 100 to 60000"
        );
        let case_memory = self.case_memory.or(lower.case_memory).unwrap_or(crate::cases::CASE_MEMORY);
        anyhow::ensure!(case_memory <= 1_000_000, "case_memory: must be 0 to 1000000 (got {case_memory})");
        let readmodel_idle_secs =
            self.readmodel_idle_secs.or(lower.readmodel_idle_secs).unwrap_or(crate::folding::IDLE.as_secs());
        anyhow::ensure!(
            readmodel_idle_secs <= 86_400,
            "readmodel_idle_secs: must be 0 to 86400 (got {readmodel_idle_secs})"
        );
        let metrics_listen = self.metrics_listen.or(lower.metrics_listen);
        let dashboard_listen = self.dashboard_listen.or(lower.dashboard_listen);
        let otlp_endpoint = self.otlp_endpoint.or(lower.otlp_endpoint);
        if let Some(e) = &otlp_endpoint {
            let url = e.strip_prefix("http://").or_else(|| e.strip_prefix("https://"));
            anyhow::ensure!(
                url.is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace)),
                "otlp_endpoint: must be an http:// or https:// URL of the collector's OTLP/gRPC port"
            );
        }
        let targets = self.targets.or(lower.targets).unwrap_or_default();
        targets.validate().map_err(|e| anyhow::anyhow!("targets.{e}"))?;
        let finder = FinderConfig {
            enabled: self.policy_finder.or(lower.policy_finder).unwrap_or(true),
            checkpoint_file: data_dir.join(crate::finder::CHECKPOINT_FILE),
            sweep_every: crate::finder::SWEEP_EVERY,
        };
        let policies = self.policies.or(lower.policies);
        let trust = self.security.layered_over(lower.security)?;
        let store = match self.store.or(lower.store) {
            Some(arg) => arg.parse("store")?,
            None => leye_store::StoreLocator::Sqlite(data_dir.join(STORE_FILE)),
        };
        // The keys: in the PostgreSQL database named, else in a PostgreSQL
        // event store's (servers sharing it share them), else in this server's file.
        let key_store = self.key_store.or(lower.key_store).map(|k| k.parse("key_store")).transpose()?;
        vault.shared = match (&key_store, &store) {
            (Some(leye_store::StoreLocator::Postgres(url)), _) | (None, leye_store::StoreLocator::Postgres(url)) => {
                Some(crate::personal::SharedKeyStore(url.clone()))
            }
            (Some(_), _) => anyhow::bail!(
                "key_store: must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, the database every server \
                 keeps its personal-data keys in; unset, they are in a PostgreSQL event store's database, else in \
                 <data_dir>/keys/keys.sqlite"
            ),
            (None, _) => None,
        };
        Ok(ServeConfig {
            store,
            listen,
            data_dir,
            pseudonym_key_file,
            chain_key_file,
            chain_algorithm,
            bench_unsealed: self.bench_unsealed || lower.bench_unsealed,
            bench_clear_personal_data: false,
            vault,
            leadership_interval,
            case_memory,
            readmodel_idle: Duration::from_secs(readmodel_idle_secs),
            metrics_listen,
            dashboard_listen,
            otlp_endpoint,
            publisher,
            targets,
            finder,
            policies,
            adopt_settings: self.adopt_settings,
            trust,
        })
    }
}

/// The publisher's checkpoint file in the data directory: one per stream, so
/// that pointing the publisher at a new stream starts that stream afresh.
pub fn checkpoint_file_name(stream: &str) -> String {
    format!("publisher-{stream}.checkpoint")
}

/// The name of the default stream, for tools that read it.
pub const DEFAULT_STREAM: &str = stream::DEFAULT_STREAM;

/// A config file's parse error by line and rule, without the file's text:
/// toml's own message quotes the offending line, and serde's quotes a
/// value, either of which may be a password (`store = "postgres://…"`).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|s| text.get(..s.start).unwrap_or(text).matches('\n').count() + 1);
    let mut rule = String::new();
    let mut quoted = false;
    for c in e.message().trim().chars() {
        if c == '"' {
            if !quoted {
                rule.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            rule.push(c);
        }
    }
    // The key of that line (keys are names, never secrets; values are not shown).
    let key = line
        .and_then(|n| text.lines().nth(n - 1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')));
    match (line, key) {
        (Some(n), Some(key)) => format!("line {n}, {key}: {rule}"),
        (Some(n), None) => format!("line {n}: {rule}"),
        _ => rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`ServeSettings::from_file`] of a file named `name` holding `text`.
    fn from_toml(name: &str, text: &str) -> anyhow::Result<ServeSettings> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join(name);
        std::fs::write(&file, text)?;
        ServeSettings::from_file(&file)
    }

    #[test]
    fn a_config_file_error_names_the_line_and_rule_never_the_text() {
        let secret = "s3cr3t-pw";
        for (text, names) in [
            (format!("data_dir = \"/srv\"\nstroe = \"postgres://leye:{secret}@db/leye\"\n"), "stroe"),
            (format!("store = \"postgres://leye:{secret}@db/leye\n"), "line 1"),
            (format!("\nstore = [\"postgres://leye:{secret}@db/leye\"]\n"), "invalid type"),
            (format!("[publisher]\nnats_url = 5\nx = \"{secret}\"\n"), "line"),
        ] {
            let e = format!("{:#}", from_toml("leye.toml", &text).unwrap_err());
            assert!(!e.contains(secret), "the error quotes the file: {e}");
            assert!(e.contains("leye.toml") && e.contains(names), "{e}");
        }
    }

    #[test]
    fn the_chain_settings_are_layered_and_a_bad_algorithm_is_named() {
        let from_file = from_toml("leye.toml", "data_dir = \"/srv/leye\"\nchain_algorithm = \"sm3\"\n").unwrap();
        let cfg = ServeSettings::default().layered_over(from_file).unwrap();
        assert_eq!(cfg.chain_algorithm, Some(leye_store::chain::ChainAlgorithm::Sm3));
        assert_eq!(cfg.chain_key_file(), PathBuf::from("/srv/leye/keys/chain.key"));
        assert_eq!(cfg.store_options(true).key_file, Some(PathBuf::from("/srv/leye/keys/chain.key")));
        let bad = ServeSettings { chain_algorithm: Some("md5".into()), ..Default::default() };
        let e = bad.layered_over(ServeSettings::default()).unwrap_err().to_string();
        assert!(e.contains("chain_algorithm") && e.contains("md5"), "{e}");
    }

    #[test]
    fn the_store_is_chosen_by_file_or_flag_and_never_shown_with_its_password() {
        let text = "data_dir = \"/srv/leye\"\nstore = \"postgres://leye:s3cret@db/leye\"\n";
        let from_file = from_toml("leye.toml", text).unwrap();
        assert!(!format!("{from_file:?}").contains("s3cret"));
        let cfg = ServeSettings::default().layered_over(from_file.clone()).unwrap();
        assert_eq!(cfg.store, leye_store::StoreLocator::Postgres("postgres://leye:s3cret@db/leye".into()));
        assert!(!format!("{cfg:?}").contains("s3cret") && !cfg.store.to_string().contains("s3cret"));
        assert_eq!(
            cfg.vault.shared,
            Some(crate::personal::SharedKeyStore("postgres://leye:s3cret@db/leye".into())),
            "the key store is the event store's database"
        );
        let flag = ServeSettings { store: Some("sqlite:/tmp/x.db".parse().unwrap()), ..Default::default() };
        let cfg = flag.layered_over(from_file).unwrap();
        assert_eq!(cfg.store, leye_store::StoreLocator::Sqlite("/tmp/x.db".into()));
        let default = ServeConfig::in_data_dir(Path::new("/srv/leye"));
        assert_eq!(default.store, leye_store::StoreLocator::Sqlite("/srv/leye/events.sqlite".into()));
        let bad = ServeSettings { store: Some("redis://u:s3cret@h".parse().unwrap()), ..Default::default() };
        let e = bad.layered_over(ServeSettings::default()).unwrap_err().to_string();
        assert!(e.starts_with("store:") && e.contains("postgres://") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn the_key_store_may_be_a_postgresql_database_of_its_own_whatever_the_event_store() {
        let text =
            "store = \"kurrentdb://admin:s3cret@k1:2113?tls=false\"\nkey_store = \"postgres://keys:k3y@db/leye\"\n";
        let from_file = from_toml("leye.toml", text).unwrap();
        assert!(!format!("{from_file:?}").contains("k3y"));
        let cfg = ServeSettings::default().layered_over(from_file.clone()).unwrap();
        assert_eq!(cfg.vault.shared, Some(crate::personal::SharedKeyStore("postgres://keys:k3y@db/leye".into())));
        assert!(!format!("{cfg:?}").contains("k3y") && !cfg.vault.describe().contains("k3y"));
        // Over a PostgreSQL event store, the one named wins over the store's own.
        let flag = ServeSettings {
            store: Some("postgres://leye:s3cret@events/leye".parse().unwrap()),
            key_store: Some("postgres://keys:k3y@other/keys".parse().unwrap()),
            ..Default::default()
        };
        let cfg = flag.layered_over(ServeSettings::default()).unwrap();
        assert_eq!(cfg.vault.shared, Some(crate::personal::SharedKeyStore("postgres://keys:k3y@other/keys".into())));
        // Without it: the KurrentDB server keeps its own file.
        let kurrent = ServeSettings { key_store: None, ..from_file };
        assert_eq!(ServeSettings::default().layered_over(kurrent).unwrap().vault.shared, None);
        for bad in ["sqlite:/srv/keys.sqlite", "kurrentdb://u:k3y@k1:2113", "mysql://u:k3y@h/d"] {
            let settings = ServeSettings { key_store: Some(bad.parse().unwrap()), ..Default::default() };
            let e = settings.layered_over(ServeSettings::default()).unwrap_err().to_string();
            assert!(e.starts_with("key_store:") && e.contains("postgres://") && !e.contains("k3y"), "{bad}: {e}");
        }
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let from_file = from_toml("leye.toml", "listen = \"127.0.0.1:6000\"\ndata_dir = \"/srv/leye\"\n").unwrap();
        let flags = ServeSettings { listen: Some("127.0.0.1:7000".parse().unwrap()), ..Default::default() };
        let cfg = flags.layered_over(from_file).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/leye"));
        assert_eq!(cfg.pseudonym_key_file, PathBuf::from("/srv/leye/pseudonym.key"));
        assert_eq!(cfg.vault.key_store, PathBuf::from("/srv/leye/keys/keys.sqlite"));
        assert_eq!(cfg.vault.master_key_file, PathBuf::from("/srv/leye/keys/master.key"));
        assert_eq!(cfg.vault.cipher, Cipher::Aes256Gcm);
        assert!(!cfg.publisher.personal_data, "no personal data on NATS unless configured");
        let defaults = ServeSettings::default().layered_over(ServeSettings::default()).unwrap();
        assert_eq!(defaults.listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(defaults, ServeConfig::default());
        assert_eq!(defaults.metrics_listen, None);
        assert_eq!(defaults.dashboard_listen, None, "the dashboard is off unless asked for");
        assert_eq!(defaults.publisher.nats_url, None);
        assert_eq!(defaults.publisher.stream, StreamSettings::default());
        assert_eq!(defaults.publisher.checkpoint_file, PathBuf::from("leye-data/publisher-LEYE_V1.checkpoint"));
        assert!(defaults.finder.enabled, "the policy finder runs unless switched off");
        assert_eq!(defaults.finder.checkpoint_file, PathBuf::from("leye-data/policy-finder.checkpoint"));
        let off =
            from_toml("off.toml", "policy_finder = false\n").unwrap().layered_over(ServeSettings::default()).unwrap();
        assert!(!off.finder.enabled);
    }

    #[test]
    fn publisher_settings_layer_like_the_others() {
        let text = "nats_url = \"nats://leye:pw@10.1.1.1:4222,nats://10.1.1.2\"\nnats_stream_replicas = 3\n\
                    nats_max_bytes = 0\nmetrics_listen = \"127.0.0.1:9464\"\nnats_max_in_flight = 64\n";
        let from_file = from_toml("leye.toml", text).unwrap();
        let flags =
            ServeSettings { nats_duplicate_window_secs: Some(600), nats_max_in_flight: Some(32), ..Default::default() };
        let cfg = flags.layered_over(from_file).unwrap();
        let p = &cfg.publisher;
        assert_eq!(p.nats_url.as_ref().map(|u| u.to_string()).as_deref(), Some("10.1.1.1:4222,10.1.1.2:4222"));
        assert!(!format!("{cfg:?}").contains("pw@"), "credentials never shown");
        assert_eq!(p.stream.replicas, 3);
        assert_eq!(p.stream.max_bytes, None);
        assert_eq!(p.stream.duplicate_window, Duration::from_secs(600));
        assert_eq!(p.max_in_flight, 32);
        assert_eq!(cfg.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
    }

    #[test]
    fn bad_publisher_settings_are_refused_naming_the_key() {
        for (settings, key) in [
            (ServeSettings { nats_stream_replicas: Some(7), ..Default::default() }, "nats_stream_replicas"),
            (ServeSettings { personal_data_cipher: Some("des".into()), ..Default::default() }, "personal_data_cipher"),
            (ServeSettings { nats_max_in_flight: Some(0), ..Default::default() }, "nats_max_in_flight"),
            (ServeSettings { nats_stream: Some("a b".into()), ..Default::default() }, "nats_stream"),
            (
                ServeSettings {
                    nats_max_age_days: Some(1),
                    nats_duplicate_window_secs: Some(200_000),
                    ..Default::default()
                },
                "nats_duplicate_window_secs",
            ),
            (ServeSettings { otlp_endpoint: Some("collector:4317".into()), ..Default::default() }, "otlp_endpoint"),
            (ServeSettings { otlp_endpoint: Some("http://".into()), ..Default::default() }, "otlp_endpoint"),
            (ServeSettings { leadership_interval_ms: Some(99), ..Default::default() }, "leadership_interval_ms"),
            (ServeSettings { leadership_interval_ms: Some(60_001), ..Default::default() }, "leadership_interval_ms"),
            (ServeSettings { case_memory: Some(1_000_001), ..Default::default() }, "case_memory"),
            (ServeSettings { readmodel_idle_secs: Some(86_401), ..Default::default() }, "readmodel_idle_secs"),
        ] {
            let err = settings.layered_over(ServeSettings::default()).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
        let err = format!("{:#}", from_toml("leye.toml", "nats_url = \"nats://u:secret@[::1\"\n").unwrap_err());
        assert!(err.contains("leye.toml") && err.contains("not a valid URL"), "{err}");
    }

    #[test]
    fn the_leadership_interval_is_a_second_unless_configured() {
        let default = ServeSettings::default().layered_over(ServeSettings::default()).unwrap();
        assert_eq!(default.leadership_interval, Duration::from_secs(1));
        let file = from_toml("leye.toml", "leadership_interval_ms = 250\n").unwrap();
        assert_eq!(
            ServeSettings::default().layered_over(file).unwrap().leadership_interval,
            Duration::from_millis(250)
        );
        let flag = ServeSettings { leadership_interval_ms: Some(100), ..Default::default() };
        let file = from_toml("leye.toml", "leadership_interval_ms = 250\n").unwrap();
        assert_eq!(flag.layered_over(file).unwrap().leadership_interval, Duration::from_millis(100), "flag over file");
    }

    #[test]
    fn unknown_keys_are_refused_naming_the_file() {
        let err = format!("{:#}", from_toml("bad.toml", "listn = \"x\"\n").unwrap_err());
        assert!(err.contains("bad.toml") && err.contains("listn"), "{err}");
    }
}
