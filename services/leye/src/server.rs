//! `leye serve`: open the embedded store, serve gRPC, publish to NATS, serve
//! metrics, shut down cleanly.
//!
//! Start: store → personal-data key store (master key checked) → pseudonym key (checked against the key
//! store) → policy catalogue, target parameters, publishing settings, access rules (compared with those in force on a shared key store,
//! and watched while serving: `settings`) → metrics listener (if configured) → publisher and its
//! lag sampler (they report on the shared health service) → projector
//! (follows the log into the read model) → policy finder (follows the log,
//! notes eligibilities through the command path) → hire linker (settles each
//! hire on both cases) → gRPC.
//! Stop: gRPC drains → policy finder finishes its case, the linker its hire → projector finishes
//! its batch → publisher takes its
//! pending acks and writes its checkpoint → metrics stop → the store's writer
//! drains and closes.

use std::{future::Future, sync::Arc};
use tracing::Instrument;

use anyhow::Context;
use leye_store::{AnyStore, EventStore};
use tokio::net::TcpListener;
use tonic_health::server::HealthReporter;

use leye_projections::{ProjectionError, runner::ReadModelDir};

use leye_audit::{AuditLog, AuditOptions};
use leye_auth::{CertificateMap, TokenVerifier};

use crate::{
    cases::{Clock, PersonCases},
    config::ServeConfig,
    finder,
    grpc::analytics::AnalyticsApi,
    grpc::guard::{Authenticator, GuardConfig},
    linker, publisher,
    telemetry::{self, Followers, Metrics},
    trust::{AUDIT_FILE, AUDIT_KEY_FILE},
};

/// The policy catalogue: the directory configured, or the one built in. An
/// invalid catalogue is refused with one line per problem (file, rule, field).
pub fn load_catalogue(config: &ServeConfig) -> anyhow::Result<leye_policy::Catalogue> {
    let catalogue = leye_policy::Catalogue::load(config.policies.as_deref()).map_err(|e| {
        let from = config.policies.as_ref().map_or("the built-in catalogue".to_string(), |d| d.display().to_string());
        anyhow::anyhow!("policy catalogue {from} refused:\n{e}")
    })?;
    match &config.policies {
        Some(dir) => tracing::info!(dir = %dir.display(), "policy catalogue loaded"),
        None => tracing::info!("built-in policy catalogue loaded"),
    }
    Ok(catalogue)
}

/// The event store the service runs on: any adapter, chosen by `--store`.
pub type Store = AnyStore;

/// Opens the configured store (the embedded one in `config.data_dir` by
/// default), creating the data directory (0700) if needed, and runs its check
/// at start: the tail of the chain, the head file or row, and for SQLite
/// `PRAGMA quick_check`. A store that fails it opens all the same (reads
/// answer) but refuses appends: see [`AnyStore::integrity`].
pub async fn open_store(config: &ServeConfig) -> anyhow::Result<Store> {
    leye_store::keyfile::create_private_dir(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    // A directory made by an older build (or by hand) is tightened too: it
    // holds personal data and keys.
    if let Err(e) = leye_store::keyfile::restrict(&config.data_dir, 0o700) {
        tracing::warn!(dir = %config.data_dir.display(), error = %e, "cannot make the data directory 0700");
    }
    let store = AnyStore::open(&config.store, &config.any_store_options(true))
        .await
        .with_context(|| format!("opening event store {}", config.store))?;
    tracing::info!(store = %store.describe(), "event store opened");
    Ok(store)
}

/// Runs the service on an already bound listener until `shutdown` resolves.
/// In-flight requests finish, then the store's writer drains and closes, so no
/// acknowledged command is lost.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    clock: Clock,
) -> anyhow::Result<()> {
    let span = serve_span(&config);
    tracing::Instrument::instrument(run_checked(config, listener, shutdown, clock), span).await
}

/// What `serve` runs in: every log line of an insecure service says so
/// (`Span::none()`, which adds nothing, otherwise).
fn serve_span(config: &ServeConfig) -> tracing::Span {
    if config.trust.insecure { tracing::warn_span!("serve", insecure = true) } else { tracing::Span::none() }
}

async fn run_checked(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    clock: Clock,
) -> anyhow::Result<()> {
    // Exposure first: an exposed port without TLS and authentication is refused before anything opens.
    let addr = listener.local_addr().context("the gRPC listener's address")?;
    config.trust.check_exposure(addr)?;
    // The dashboard's port follows the same rule, and is bound before anything opens.
    let dashboard = match config.dashboard_listen {
        Some(d) => {
            config.trust.check_exposure(d)?;
            let tls = crate::http::listener::acceptor(&config.trust)?;
            let listener = TcpListener::bind(d).await.with_context(|| format!("binding dashboard address {d}"))?;
            Some((listener, tls))
        }
        None => None,
    };
    if config.trust.insecure {
        tracing::warn!(%addr, "INSECURE: --insecure given; TLS and configured authentication are not enforced");
    }
    // The policy catalogue next: an invalid file stops the start before anything opens.
    let catalogue = Arc::new(load_catalogue(&config)?);
    let authenticator = authenticator(&config)?;
    // Held while serving: `leye restore` never replaces a store in use.
    let _lock = crate::backup::lock_for_serving(&config.data_dir)?;
    let audit = open_audit(&config)?;
    let store = match open_store(&config).await {
        Ok(s) => s,
        Err(e) => {
            audit.close().await;
            return Err(e);
        }
    };
    // The personal-data key store: a missing or wrong master key (or a lost
    // key store beside sealed data) stops the start.
    let personal = match config.vault.open_for(&store).await.context("personal-data key store") {
        Ok(p) => p,
        Err(e) => {
            store.close().await;
            audit.close().await;
            return Err(e);
        }
    };
    // The pseudonym key, bound to the key store before any case id is derived
    // with it (a server with another key would open second cases); then the
    // catalogue, the target parameters, the publishing settings and the access
    // rules, on a shared key store (a server with others than those in force
    // would decide, report, publish and allow otherwise; watched while serving).
    let settings = crate::settings::Shared::of(
        &catalogue,
        config.policies.as_deref(),
        &config.targets,
        &config.publisher,
        &config.trust,
    );
    let shared_keys = config.vault.shared.is_some().then(|| personal.clone());
    let in_force =
        crate::settings::InForce::new(shared_keys, settings, config.leadership_interval, config.adopt_settings);
    let checked = async {
        let ids = crate::identity::bound_for(&config.pseudonym_key_file, &personal, &store).await?;
        in_force.check().await?;
        anyhow::Ok(ids)
    };
    let ids = match checked.await {
        Ok(ids) => ids,
        Err(e) => {
            store.close().await;
            audit.close().await;
            return Err(e);
        }
    };
    // On a shared store, one server at a time publishes, links hires and finds
    // people. A store that refuses appends (as `commands_refused` below) does
    // not campaign for the hire linker or the policy finder: a server whose
    // store accepts appends runs them (see `leadership`).
    let nats =
        crate::leadership::Nats { url: config.publisher.nats_url.as_ref(), replicas: config.publisher.stream.replicas };
    let roles = crate::leadership::Roles::campaign(&store, nats, config.leadership_interval);
    let mut config = config;
    config.publisher.leader = crate::leadership::Roles::leader(&roles.publisher);
    if config.publisher.personal_data {
        tracing::warn!("resident IDs and names are published on NATS (nats_personal_data = true)");
        config.publisher.opener = Some(crate::personal::Opener(personal.clone()));
    }
    let started = start_followers(&config, &store).await;
    let (publisher, metrics) = match started {
        Ok(f) => f,
        Err(e) => {
            store.close().await;
            audit.close().await;
            return Err(e);
        }
    };
    crate::integrity::report(store.integrity(), &publisher.health).await;
    let readmodel = ReadModelDir::new(config.readmodel_dir());
    // The first generation (empty, at checkpoint 0) exists before gRPC serves,
    // so a query right after the start answers rather than "not built yet".
    // On failure the projector retries it and logs why.
    match readmodel.current_or_init().and_then(|path| leye_projections::ReadModel::open(&path).map(drop)) {
        // Built by a version of leye with other tables: rebuilt before serving.
        Err(ProjectionError::OtherFormat { found, wanted }) => {
            tracing::warn!(
                found,
                wanted,
                "the read model was built by another version of leye: rebuilding it before serving"
            );
            if let Err(e) = leye_projections::runner::rebuild(&store, &readmodel, |_| {}).await {
                tracing::error!(error = %e, "cannot rebuild the read model; queries answer UNAVAILABLE until `leye projections rebuild`");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot create the read model yet; the projector retries"),
        Ok(()) => {}
    }
    let (stop_pruning, pruning_stopped) = tokio::sync::watch::channel(false);
    let pruner = tokio::spawn(keep_pruning(audit.clone(), pruning_stopped).in_current_span());
    let (stop_projector, projector_stopped) = tokio::sync::watch::channel(false);
    // The projector's checkpoint, for queries that wait for a position (read your own writes).
    let (reached, reached_rx) = tokio::sync::watch::channel(0u64);
    // What waiting queries want folded: the projector folds at once until past it.
    let (wanted, wanted_rx) = tokio::sync::watch::channel(leye_projections::runner::Wanted::default());
    // The leader of the publisher (and of the policy finder, which reads the
    // read model) folds always; another server while it is read (`folding`).
    let mut leaders = vec![crate::leadership::Roles::leader(&roles.publisher).map(|l| l.0)];
    if config.finder.enabled {
        leaders.push(crate::leadership::Roles::leader(&roles.finder).map(|l| l.0));
    }
    let (waking, folds, folding_task) = crate::folding::Folding { leaders, idle: config.readmodel_idle }
        .start(log_head(&store), projector_stopped.clone());
    let warmer = tokio::spawn(
        keep_index_warm(
            readmodel.clone(),
            crate::analytics::Analytics::new(readmodel.clone(), config.targets.clone(), clock.clone()),
            waking.clone(),
            reached.subscribe(),
            projector_stopped.clone(),
        )
        .in_current_span(),
    );
    let projector = tokio::spawn(
        keep_projecting(
            store.clone(),
            readmodel.clone(),
            projector_stopped,
            reached,
            wanted_rx,
            folds,
            publisher.metrics.clone(),
        )
        .in_current_span(),
    );
    let (stop_finder, finder_stopped) = tokio::sync::watch::channel(false);
    let mut finder_task = None;
    // The hire linker stops with the finder: both write through the command path.
    let mut linker_task = None;
    let result = async {
        let wait_max = config.trust.limits.query_wait_max();
        let analytics = AnalyticsApi::new(readmodel.clone(), config.targets.clone(), clock.clone())
            .with_progress(crate::analytics::Progress::new(reached_rx, wanted, wait_max).with_waking(waking));
        // A command that keeps losing races to other servers is answered
        // `ABORTED` before the request timeout cancels it.
        let retry_for = crate::trust::Limits::secs(config.trust.limits.request_timeout_secs)
            .saturating_sub(std::time::Duration::from_millis(100))
            .min(crate::cases::RETRY_FOR);
        let cases = PersonCases::new(store.clone(), ids, clock)
            .with_metrics(publisher.metrics.clone())
            .with_retry_for(retry_for)
            .with_memory(config.case_memory);
        let cases = if config.bench_clear_personal_data { cases } else { cases.with_personal_data(personal) };
        let finder_leader = crate::leadership::Roles::leader(&roles.finder);
        finder_task =
            start_finder(&config, &store, &cases, &catalogue, &readmodel, finder_leader, finder_stopped.clone())?;
        let checkpoint_path = config.data_dir.join(linker::CHECKPOINT_FILE);
        let (linker_cases, linker_position) = (cases.clone(), publisher.linker_position.clone());
        linker_task = Some(tokio::spawn(
            crate::leadership::run_while_leading(
                "hire-linker",
                crate::leadership::Roles::leader(&roles.linker),
                finder_stopped,
                move |stop| {
                    linker::keep_linking(
                        linker::Linker::new(linker_cases.clone()).with_position(linker_position.clone()),
                        linker::checkpoint(checkpoint_path.clone()),
                        stop,
                    )
                },
            )
            .in_current_span(),
        ));
        let (stop_dashboard, dashboard_stopped) = tokio::sync::watch::channel(false);
        let dashboard_task = dashboard.map(|(listener, tls)| {
            let app = crate::http::App {
                guard: crate::http::guard::HttpGuard::new(
                    authenticator.clone(),
                    audit.clone(),
                    config.trust.limits.max_in_flight,
                    crate::trust::Limits::secs(config.trust.limits.request_timeout_secs),
                ),
                queries: analytics.queries().clone(),
                store: Some(store.clone()),
            };
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, tls = tls.is_some(), "dashboard listening");
            }
            let mut stopped = dashboard_stopped;
            let limits = &config.trust.limits;
            let limits = crate::grpc::net::ConnLimits {
                max_connections: limits.max_connections,
                max_connections_per_peer: limits.max_connections_per_peer,
                idle_timeout: crate::trust::Limits::secs(limits.idle_timeout_secs),
            };
            tokio::spawn(
                crate::http::serve(listener, limits, tls, app, async move {
                    // Also when the sender is dropped (gRPC ended).
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .in_current_span(),
            )
        });
        // Everything has started: now `--adopt-settings` may stop the others.
        in_force.adopt_if_asked().await?;
        // gRPC's shutdown signal stops the dashboard too; so does another
        // server putting other settings in force (the start's error then).
        let (changed, mut settings_changed) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            tokio::select! {
                () = shutdown => {}
                e = in_force.changed() => {
                    tracing::error!("{e:#}");
                    let _ = changed.send(e);
                }
            }
            stop_dashboard.send_replace(true);
        };
        let api = crate::grpc::Api {
            catalogue,
            analytics,
            health: publisher.health.clone(),
            guard: GuardConfig {
                authenticator,
                audit: audit.clone(),
                reflection: config.trust.reflection,
                max_in_flight: config.trust.limits.max_in_flight,
                metrics: Some(publisher.metrics.clone()),
            },
            trust: config.trust.clone(),
            commands_refused: store.integrity().is_some(),
        };
        let served = crate::grpc::serve(cases, api, listener, shutdown).await;
        let served = match settings_changed.try_recv() {
            Ok(e) => served.and(Err(e)),
            Err(_) => served,
        };
        if let Some(mut task) = dashboard_task {
            match tokio::time::timeout(crate::grpc::SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "dashboard failed"),
                Ok(Err(e)) => tracing::warn!(error = %e, "dashboard task ended abnormally"),
                Err(_) => {
                    tracing::warn!("dashboard connections still open after the grace period; closing them");
                    task.abort();
                }
            }
        }
        served
    }
    .await;
    stop_finder.send_replace(true);
    if let Some(task) = finder_task {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "policy finder task ended abnormally");
        }
    }
    if let Some(task) = linker_task {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "hire linker task ended abnormally");
        }
    }
    stop_projector.send_replace(true);
    if let Err(e) = projector.await {
        tracing::error!(error = %e, "projector task ended abnormally");
    }
    let _ = warmer.await;
    let _ = folding_task.await;
    publisher.handle.stop().await;
    if let Some((stop, task)) = metrics {
        stop.send_replace(true);
        match task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "metrics endpoint failed"),
            Err(e) => tracing::warn!(error = %e, "metrics task ended abnormally"),
            Ok(Ok(())) => {}
        }
    }
    stop_pruning.send_replace(true);
    let _ = pruner.await;
    drop(roles);
    store.close().await;
    audit.close().await;
    tracing::info!("store and audit trail closed; bye");
    result
}

/// Removes audit records older than the retention once a day (never younger
/// ones: `leye-audit` refuses); a failure is logged and tried again the next day.
async fn keep_pruning(audit: AuditLog, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match audit.prune(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "audit records past their retention removed"),
            Err(e) => tracing::error!(error = %e, "pruning the audit trail failed; retrying tomorrow"),
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)) => {}
        }
    }
}

/// Who may call: the token issuer (configured, or the development issuer on
/// loopback) and the client certificates mapped to principals.
pub fn authenticator(config: &ServeConfig) -> anyhow::Result<Authenticator> {
    let jwt = config.trust.jwt_config(&config.data_dir)?;
    let tokens = TokenVerifier::new(&jwt).map_err(|e| anyhow::anyhow!("token issuer: {e}"))?;
    if config.trust.jwt.is_none() {
        tracing::warn!(dir = %config.data_dir.join(crate::trust::DEV_AUTH_DIR).display(), "development token issuer in use; issue tokens with `leye dev token`");
    }
    let certificates = if config.trust.clients.is_empty() {
        None
    } else {
        Some(Arc::new(
            CertificateMap::new(&config.trust.clients).map_err(|e| anyhow::anyhow!("[[security.clients]]: {e}"))?,
        ))
    };
    Ok(Authenticator { tokens: Some(Arc::new(tokens)), certificates })
}

/// Opens the audit trail in the data directory (its chain key beside it).
pub fn open_audit(config: &ServeConfig) -> anyhow::Result<AuditLog> {
    leye_store::keyfile::create_private_dir(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let options = AuditOptions { retention_days: config.trust.audit_retention_days, ..AuditOptions::default() };
    AuditLog::open(&config.data_dir.join(AUDIT_FILE), &config.data_dir.join(AUDIT_KEY_FILE), options)
        .map_err(|e| anyhow::anyhow!("opening the audit trail: {e}"))
}

/// The log's head for a query that wakes the read model (`folding`).
fn log_head(store: &Store) -> crate::folding::Head {
    let store = store.clone();
    std::sync::Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.head().await.map(|h| h.map_or(0, |p| p.commit)).map_err(|e| e.to_string()) })
    })
}

/// Runs the projector while `folds` (see `folding`) until `stop`.
async fn keep_projecting(
    store: Store,
    dir: ReadModelDir,
    mut stop: tokio::sync::watch::Receiver<bool>,
    reached: tokio::sync::watch::Sender<u64>,
    wanted: tokio::sync::watch::Receiver<leye_projections::runner::Wanted>,
    mut folds: tokio::sync::watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    loop {
        let Some(term) = crate::leadership::term(&mut folds, &mut stop).await else { return };
        metrics.readmodel_folding(true);
        project(store.clone(), dir.clone(), term, &reached, wanted.clone()).await;
        metrics.readmodel_folding(false);
        if *stop.borrow() {
            return;
        }
    }
}

/// Runs the projector until `stop`, restarting it after a failure (logged at
/// once) so the read model never silently stops following the log.
async fn project(
    store: Store,
    dir: ReadModelDir,
    mut stop: tokio::sync::watch::Receiver<bool>,
    reached: &tokio::sync::watch::Sender<u64>,
    wanted: tokio::sync::watch::Receiver<leye_projections::runner::Wanted>,
) {
    let mut backoff = std::time::Duration::from_millis(200);
    loop {
        match leye_projections::runner::follow_reporting(
            store.clone(),
            dir.clone(),
            stop.clone(),
            reached,
            wanted.clone(),
        )
        .await
        {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "projector failed; restarting it")
            }
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
    }
}

/// Keeps the read model's in-memory index (`leye_projections::index`) at the
/// projector's checkpoint, off the query path. It is loaded once the server
/// starts, whenever a rebuild switches generation, and on each new day (the
/// dashboard's prepared reports): a whole load takes about 20 s for 500 000
/// persons, and no analyst waits for it. It is moved on by the cases changed
/// since (at most every [`WARM_EVERY`] after a checkpoint) only while a query
/// read the read model less than `readmodel_idle_secs` ago, the rule that
/// keeps a standby folding ([`crate::folding`]): unread for longer, the first
/// query after the quiet spell refreshes it itself (the cases changed
/// meanwhile, a whole load beyond a quarter of them; the same answers) and
/// the warm-ups resume. Under command load with nobody reading, that was
/// about a twelfth of what the publisher's leader spends beyond serving
/// commands (docs/PERFORMANCE.md, "A twentieth machine").
async fn keep_index_warm(
    dir: ReadModelDir,
    dashboard: crate::analytics::Analytics,
    waking: crate::folding::Waking,
    mut reached: tokio::sync::watch::Receiver<u64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // The generation and the day of the last warm-up.
    let mut warmed: Option<(std::path::PathBuf, chrono::NaiveDate)> = None;
    loop {
        let today = dashboard.today();
        // The generation `CURRENT` names now (read once: the warm-up opens it).
        let current = dir.current();
        if warm_due(warmed.as_ref(), current.as_deref().ok(), today, waking.read_lately()) {
            let outcome = tokio::task::spawn_blocking({
                let dashboard = dashboard.clone();
                move || -> Result<_, leye_projections::ProjectionError> {
                    let started = std::time::Instant::now();
                    let generation = current?;
                    let rm = leye_projections::ReadModel::open(&generation)?;
                    let stats = rm.index_stats()?;
                    // The city's dashboard reports, kept from here on (walked only
                    // after a whole load of the index, or on a new day).
                    let walked = dashboard.prepare_city_dashboard(&rm)?;
                    Ok((generation, stats, walked, started.elapsed()))
                }
            })
            .await;
            match outcome {
                Ok(Ok((generation, stats, walked, took))) => {
                    warmed = Some((generation, today));
                    if took >= std::time::Duration::from_secs(1) || walked > 0 {
                        tracing::info!(
                            cases = stats.cases,
                            heap_mib = stats.heap_bytes >> 20,
                            checkpoint = stats.checkpoint,
                            dashboard_reports_prepared = walked,
                            took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                            "read-model index loaded"
                        );
                    }
                }
                Ok(Err(leye_projections::ProjectionError::NotReady)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "read-model index not warmed; queries load it"),
                Err(e) => tracing::warn!(error = %e, "read-model index warm-up ended abnormally"),
            }
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            changed = reached.changed() => if changed.is_err() { return },
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(WARM_EVERY) => {}
        }
    }
}

/// Whether the index is warmed now, after the last warm-up `warmed` (its
/// generation and day; `None`: none yet): a first warm-up, a new generation
/// (`current`: the one `CURRENT` names now), a new day, or a read lately.
fn warm_due(
    warmed: Option<&(std::path::PathBuf, chrono::NaiveDate)>,
    current: Option<&std::path::Path>,
    today: chrono::NaiveDate,
    read_lately: bool,
) -> bool {
    match warmed {
        None => true,
        Some((generation, day)) => read_lately || current != Some(generation.as_path()) || today != *day,
    }
}

/// The least time between two warm-ups of the read-model index.
const WARM_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Starts the policy finder when enabled. Its checkpoint is read first: a
/// corrupt one stops the service from starting, as the publisher's does.
fn start_finder(
    config: &ServeConfig,
    store: &Store,
    cases: &PersonCases<Store>,
    catalogue: &Arc<leye_policy::Catalogue>,
    readmodel: &ReadModelDir,
    leader: Option<crate::leadership::Leader>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if !config.finder.enabled {
        tracing::info!("policy finder off (policy_finder = false)");
        return Ok(None);
    }
    let new_finder = {
        let (cases, catalogue, file) = (cases.clone(), catalogue.clone(), config.finder.checkpoint_file.clone());
        move || finder::Finder::new(cases.clone(), catalogue.clone(), file.clone())
    };
    new_finder().checkpoint()?;
    let (store, readmodel, sweep_every) = (store.clone(), readmodel.clone(), config.finder.sweep_every);
    Ok(Some(tokio::spawn(
        crate::leadership::run_while_leading("policy-finder", leader, stop, move |stop| {
            finder::keep_finding(new_finder(), store.clone(), readmodel.clone(), sweep_every, stop)
        })
        .in_current_span(),
    )))
}

/// The publisher with its health reporter, the metrics shared by every part,
/// and the hire linker's position cell.
struct Publishing {
    handle: publisher::PublisherHandle,
    health: HealthReporter,
    metrics: Arc<Metrics>,
    linker_position: telemetry::Position,
}

type MetricsTask = Option<(tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<std::io::Result<()>>)>;

/// Where each follower's position comes from at scrape time: the projector's
/// and the policy finder's durable checkpoints, the linker's cell (its file is
/// written only every few thousand events).
fn followers(config: &ServeConfig) -> (Followers, telemetry::Position) {
    let readmodel = ReadModelDir::new(config.readmodel_dir());
    let followers = Followers::default().read("projector", move || {
        let path = readmodel.current().ok()?;
        leye_projections::ReadModel::open(&path).ok()?.checkpoint().ok()
    });
    let followers = if config.finder.enabled {
        let file = publisher::checkpoint::CheckpointFile::new(config.finder.checkpoint_file.clone());
        followers.read("policy_finder", move || Some(file.load().ok()?.map_or(0, |p| p.commit)))
    } else {
        followers
    };
    followers.kept("hire_linker")
}

/// Binds the metrics endpoint (if configured) and starts the publisher.
async fn start_followers(config: &ServeConfig, store: &Store) -> anyhow::Result<(Publishing, MetricsTask)> {
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding metrics address {addr}"))?),
        None => None,
    };
    let health = HealthReporter::new();
    let (handle, status) = publisher::start(store.clone(), config.publisher.clone(), health.clone())?;
    let (followers, linker_position) = followers(config);
    // Scrapes run on a blocking thread (metrics.rs): waiting on the store there is fine.
    let (log, runtime) = (store.clone(), tokio::runtime::Handle::current());
    let followers = followers.clock(move |after| {
        let next =
            runtime.block_on(log.read_all(Some(leye_store::Position::from_sequence(after)).filter(|_| after > 0), 1));
        next.ok()?.first().map(|e| e.recorded_at)
    });
    let metrics = Arc::new(Metrics::new(status, followers));
    let task = metrics_listener.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "metrics listening on /metrics");
        }
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(
            crate::metrics::serve(listener, metrics.clone(), async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .in_current_span(),
        );
        (stop, task)
    });
    Ok((Publishing { handle, health, metrics, linker_position }, task))
}

/// Runs the service on `config.listen`, stopping on SIGINT or SIGTERM
/// (listened for before anything else: `signals.rs`).
pub async fn run_until_signal(config: ServeConfig) -> anyhow::Result<()> {
    let span = serve_span(&config);
    let serve = async move {
        let signalled = crate::signals::shutdown();
        // Before the port answers: a restore started once it does is refused.
        let _lock = crate::backup::lock_for_serving(&config.data_dir)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding gRPC address {}", config.listen))?;
        run_checked(config, listener, signalled, Arc::new(chrono::Utc::now)).await
    };
    tracing::Instrument::instrument(serve, span).await
}

#[cfg(test)]
mod tests {
    use leye_store::Position;

    use super::*;
    use crate::publisher::{checkpoint::CheckpointFile, status::PublisherStatus};

    #[test]
    fn follower_positions_come_from_the_checkpoints_and_the_linker_cell() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::in_data_dir(dir.path());
        config.finder.enabled = true;
        config.finder.checkpoint_file = dir.path().join(finder::CHECKPOINT_FILE);
        CheckpointFile::new(&config.finder.checkpoint_file).store(Position::from_sequence(7)).unwrap();
        ReadModelDir::new(config.readmodel_dir()).current_or_init().unwrap();
        let (followers, linker) = followers(&config);
        linker.set(3);
        let text = Metrics::new(PublisherStatus::new(false, None), followers).render();
        for line in [
            "leye_follower_position{follower=\"policy_finder\"} 7",
            "leye_follower_position{follower=\"hire_linker\"} 3",
            "leye_follower_position{follower=\"projector\"} 0",
            "leye_follower_position{follower=\"publisher\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        config.finder.enabled = false;
        let text = Metrics::new(PublisherStatus::new(false, None), followers_of(&config)).render();
        assert!(!text.contains("policy_finder"), "{text}");
    }

    fn followers_of(config: &ServeConfig) -> Followers {
        followers(config).0
    }

    #[test]
    fn the_index_is_warmed_first_on_a_new_generation_or_day_and_else_only_while_read() {
        let (day, next_day) = (
            chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
        );
        let (gen1, gen2) = (std::path::PathBuf::from("rm/gen-1"), std::path::PathBuf::from("rm/gen-2"));
        let warmed = (gen1.clone(), day);
        assert!(warm_due(None, Some(&gen1), day, false), "the first warm-up, read or not");
        assert!(warm_due(None, None, day, false), "no generation yet: tried (and reported) as before");
        assert!(!warm_due(Some(&warmed), Some(&gen1), day, false), "unread: not moved on");
        assert!(warm_due(Some(&warmed), Some(&gen1), day, true), "read lately: moved on");
        assert!(warm_due(Some(&warmed), Some(&gen2), day, false), "a rebuild's generation: loaded");
        assert!(warm_due(Some(&warmed), None, day, false), "CURRENT unreadable: tried");
        assert!(warm_due(Some(&warmed), Some(&gen1), next_day, false), "a new day: reports prepared");
    }
}
