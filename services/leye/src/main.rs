//! The `leye` command: `leye serve` runs the service; `leye replay` prints a
//! case's history for an auditor; `leye consume` prints the events published
//! on NATS, as a subscriber sees them.
//!
//! Every subcommand that reads a data directory resolves it as `serve` does:
//! `--data-dir` > `LEYE_DATA_DIR` > the config file's `data_dir`
//! (`--config`/`LEYE_CONFIG`) > `./leye-data`. A closed standard output or
//! error (`leye replay … | head`) ends the command quietly with exit 0.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, parser::ValueSource};
use leye::{
    analyst,
    cases::PersonCases,
    config::{STORE_FILE, ServeConfig, ServeSettings},
    consume, devtools,
    generate::GenProgress,
    identity::CaseIds,
    personal::PersonalData,
    replay,
};
use leye_projections::{ProjectionError, runner::ReadModelDir};
use leye_store::EventStore;

/// The service allocates and frees small buffers on every request (frames,
/// protobuf messages, JSON envelopes, SQL rows) from many threads, much of it
/// freed on another thread than the one that allocated it. glibc's allocator
/// took about a seventh of `leye serve`'s CPU under command load; mimalloc
/// cut the servers' CPU a command by 15–20 %, and jemalloc 3–6 % more than
/// mimalloc, with less memory held (docs/PERFORMANCE.md, "The service's
/// allocator: jemalloc").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// leye (乐业): case management for public employment services.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Log format.
    #[arg(long, hide_env_values = true, env = "LEYE_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The configuration a data-directory subcommand reads: the same layers as
/// `leye serve` (flags > environment > file > defaults).
#[derive(Debug, Clone, Default, clap::Args)]
struct DataArgs {
    /// TOML config file, as for `leye serve` (its `data_dir`, `pseudonym_key_file`,
    /// `[targets]`, … are used).
    #[arg(long, hide_env_values = true, env = "LEYE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory of the service; default: the config file's `data_dir`,
    /// else ./leye-data.
    #[arg(long, hide_env_values = true, env = "LEYE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The master key file of the personal-data key store, as for `leye serve`
    /// (`LEYE_MASTER_KEY`, holding the key itself, wins).
    #[arg(long, hide_env_values = true, env = "LEYE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// The event store, as for `leye serve` (sqlite:PATH, postgres://…); default:
    /// the config file's `store`, else <data_dir>/events.sqlite.
    #[arg(long, hide_env_values = true, env = "LEYE_STORE")]
    store: Option<leye::config::StoreArg>,
    /// The personal-data key store, as for `leye serve` (postgres://…);
    /// default: the config file's `key_store`, else beside a PostgreSQL event
    /// store, else <data_dir>/keys/keys.sqlite.
    #[arg(long, hide_env_values = true, env = "LEYE_KEY_STORE")]
    key_store: Option<leye::config::StoreArg>,
}

impl DataArgs {
    /// The layered configuration, with `flags` (and these arguments) over the file.
    fn resolve_with(self, flags: ServeSettings) -> anyhow::Result<ServeConfig> {
        let file = match &self.config {
            Some(path) => ServeSettings::from_file(path)?,
            None => ServeSettings::default(),
        };
        let master_key_file = self.master_key_file.or(flags.master_key_file);
        let (store, key_store) = (self.store.or(flags.store), self.key_store.or(flags.key_store));
        ServeSettings { data_dir: self.data_dir.or(flags.data_dir), master_key_file, store, key_store, ..flags }
            .layered_over(file)
    }

    fn resolve(self) -> anyhow::Result<ServeConfig> {
        self.resolve_with(ServeSettings::default())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gRPC API (on the embedded event store unless `--store` names another).
    Serve {
        /// TOML config file (keys as in the README's configuration table,
        /// e.g. listen, data_dir, nats_url, metrics_listen).
        #[arg(long, hide_env_values = true, env = "LEYE_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: Box<ServeSettings>,
    },
    /// Print a case's full history, as recorded, for an auditor.
    Replay {
        /// The case id (a UUID).
        case: uuid::Uuid,
        #[command(flatten)]
        data: DataArgs,
        /// Only events recorded at or before this instant (RFC 3339), i.e. what
        /// the service knew then.
        #[arg(long)]
        recorded_until: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long, value_enum, default_value = "text")]
        format: replay::Format,
    },
    /// Development credentials: tokens from the development issuer, a CA and certificates.
    Dev {
        /// TOML config file, as for `leye serve`: `dev token` uses its
        /// `data_dir` unless `--data-dir` or LEYE_DATA_DIR is given.
        #[arg(long, hide_env_values = true, env = "LEYE_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: devtools::DevCommand,
    },
    /// The audit trail: verify its hash chain offline.
    Audit {
        /// TOML config file, as for `leye serve`: `audit verify` uses its
        /// `data_dir` unless `--data-dir` or LEYE_DATA_DIR is given.
        #[arg(long, hide_env_values = true, env = "LEYE_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: devtools::AuditCommand,
    },
    /// Walk the event store's whole chain and name the first break (edited,
    /// deleted, inserted or reordered events, a truncated tail, a bad head
    /// file, a damaged file); exit 1 if broken. Safe while `leye serve` runs.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Skip `PRAGMA quick_check` (damaged index or free-list pages).
        #[arg(long)]
        no_quick_check: bool,
    },
    /// Write an online, consistent, verified copy of the event store with its
    /// head file and keys into a new directory, while the service runs.
    Backup {
        /// The directory to create (must not hold a backup yet).
        dest: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Put a backup back into a stopped data directory, after verifying it.
    Restore {
        /// A directory written by `leye backup`.
        src: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Restore into a non-empty data directory: its contents are moved
        /// aside into `replaced-<time>/` first.
        #[arg(long)]
        force: bool,
    },
    /// Ask a running server's gRPC health service; exit 0 when SERVING (for
    /// Docker HEALTHCHECK and orchestrators).
    Health(devtools::HealthArgs),
    /// Follow the events published on NATS JetStream with a durable consumer,
    /// printing one line per event (personal data masked).
    Consume(consume::ConsumeArgs),
    /// The analysts' read model: rebuild it, or export a target table or action list as CSV or xlsx.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// The event store itself: copy a log into PostgreSQL.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// The subsidy policy catalogue: check a directory of rule files before
    /// deploying it (`leye serve --policies DIR` refuses an invalid one).
    Policies {
        #[command(subcommand)]
        command: PoliciesCommand,
    },
    /// Create a synthetic Tianjin-like population through the normal command
    /// path (reproducible from the seed), for demos, benchmarks and tests, in
    /// the data directory `leye serve` reads, then build the read model.
    Generate {
        /// Persons to create (about 17 events each).
        #[arg(long, default_value_t = 1000)]
        people: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Add to a data directory that already holds events (by default
        /// refused). The same seed writes nothing new; another seed may collide
        /// with the persons already there.
        #[arg(long)]
        append: bool,
        /// File holding the pseudonym key, as for `leye serve`; default:
        /// `<data_dir>/pseudonym.key`.
        #[arg(long, hide_env_values = true, env = "LEYE_PSEUDONYM_KEY_FILE")]
        pseudonym_key_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Personal-data keys: rotate the master key, or count the data keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// One-way migrations of a data directory (run with the service stopped).
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-wrap every data key under a new master key (no event is rewritten).
    Rotate {
        /// The new master key (64 hex characters); default: a fresh random key
        /// (required when the key comes from LEYE_MASTER_KEY).
        #[arg(long)]
        new_master_key_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// How many data keys are live and destroyed.
    Status {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Copy this server's key store file (<data_dir>/keys/keys.sqlite) into
    /// the key store of the PostgreSQL event store given with --store, which
    /// every server on it shares; every key is checked on arrival. May be run again.
    Copy {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Seal the resident IDs and names a release before sealing stored in
    /// clear (one way; positions and checkpoints unchanged).
    Encrypt {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PoliciesCommand {
    /// Load and validate every `*.toml` of a directory; print what it holds,
    /// or one line per problem (file, rule, field) and fail.
    Check {
        /// The catalogue directory; default: the catalogue built into the binary.
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy the whole log of one store into a new, empty PostgreSQL store,
    /// positions, times and seals kept (both use the chain key of the data
    /// directory or --chain-key-file); the chain is checked on the way and the
    /// copy verified on arrival. Run it with the service stopped.
    Copy {
        /// The source, e.g. sqlite:leye-data/events.sqlite.
        #[arg(long)]
        from: leye::config::StoreArg,
        /// The target, e.g. postgres://leye@db/leye.
        #[arg(long)]
        to: leye::config::StoreArg,
        /// The chain key file (default: <data_dir>/keys/chain.key).
        #[arg(long, hide_env_values = true, env = "LEYE_CHAIN_KEY_FILE")]
        chain_key_file: Option<PathBuf>,
        /// Events per transaction.
        #[arg(long, default_value_t = 2000)]
        page: usize,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Replay the whole log into a new read model and switch to it. Safe while
    /// `leye serve` runs: queries keep answering and its projector follows.
    Rebuild {
        #[command(flatten)]
        data: DataArgs,
        /// Rebuild even if the event store's chain does not verify.
        #[arg(long)]
        force: bool,
    },
    /// Write a target table or an action list as CSV or xlsx.
    Export {
        #[arg(value_enum)]
        what: analyst::Export,
        /// Empty: the city; or a 6-, 9- or 12-digit district, street or community code.
        #[arg(long, default_value = "")]
        jurisdiction: String,
        /// Period start (YYYY-MM-DD); default: 1 January of the period's last year.
        #[arg(long, value_parser = cli_date)]
        from: Option<chrono::NaiveDate>,
        /// Period end (YYYY-MM-DD); default: --as-of if given, else today (Beijing time).
        #[arg(long, value_parser = cli_date)]
        to: Option<chrono::NaiveDate>,
        /// Facts effective after this date are ignored; default, as GetTargets:
        /// the end of the period, or today if that is earlier.
        #[arg(long, value_parser = cli_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Output file; default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// csv or xlsx; default: xlsx when --out ends in .xlsx, else csv.
        #[arg(long, value_enum)]
        format: Option<analyst::Format>,
        /// The config file's `[targets]` table sets the parameters.
        #[command(flatten)]
        data: DataArgs,
    },
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // `dev token` and `audit verify` take `--data-dir` with a default: the
    // config file's `data_dir` applies only when neither the flag nor
    // LEYE_DATA_DIR gave one.
    let data_dir_given = matches
        .subcommand()
        .filter(|(name, _)| ["dev", "audit"].contains(name))
        .and_then(|(_, m)| m.subcommand())
        .filter(|(name, _)| ["token", "verify"].contains(name))
        .and_then(|(_, m)| m.value_source("data_dir"))
        .is_some_and(|source| source != ValueSource::DefaultValue);
    // A command per generated event would flood the terminal: `generate`
    // reports one progress line instead.
    let default_log = if matches!(cli.command, Command::Generate { .. }) { "warn" } else { "info" };
    leye::backup::private_umask();
    leye::grpc::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Only `serve` exports request spans; its configuration says where.
    let otlp_endpoint = match &cli.command {
        Command::Serve { config, settings } => match serve_config(config.clone(), (**settings).clone()) {
            Ok(c) => c.otlp_endpoint,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {e:#}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let spans = {
        let _runtime = runtime.enter();
        match leye::logging::init(cli.log_format == LogFormat::Json, default_log, otlp_endpoint.as_deref()) {
            Ok(spans) => spans,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    };
    let outcome = runtime.block_on(run(cli.command, data_dir_given));
    {
        let _runtime = runtime.enter();
        drop(spans);
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`leye replay … | head`): a normal end.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `e` is, at bottom, a write to a closed pipe.
/// A date on the command line, by the API's rule (`values::parse_date`:
/// `YYYY-MM-DD`, 1900 or later): an export takes the dates GetTargets takes.
fn cli_date(raw: &str) -> Result<chrono::NaiveDate, String> {
    leye_domain::values::parse_date(raw).map_err(|e| e.to_string())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(command: Command, data_dir_given: bool) -> anyhow::Result<()> {
    match command {
        Command::Policies { command: PoliciesCommand::Check { dir } } => {
            let catalogue = leye_policy::Catalogue::load(dir.as_deref()).map_err(|e| {
                let from = dir.as_ref().map_or("the built-in catalogue".to_string(), |d| d.display().to_string());
                anyhow::anyhow!("policy catalogue {from} refused:\n{e}")
            })?;
            let mut out = std::io::stdout().lock();
            for j in catalogue.jurisdictions() {
                let prefix = format!("{}.", j.key);
                let rules: Vec<_> = catalogue.rules().iter().filter(|r| r.id.starts_with(&prefix)).collect();
                let verify = rules.iter().filter(|r| r.verify).count();
                writeln!(out, "{:<10} {:>3} rule versions ({verify} marked verify)  {}", j.key, rules.len(), j.name)?;
            }
            writeln!(
                out,
                "{} documents, {} dated parameters, {} retirement-age laws: the catalogue is valid",
                catalogue.documents().count(),
                catalogue.parameters().count(),
                catalogue.retirement_laws().len()
            )?;
            // What servers on one key store compare (`leye serve --adopt-settings`).
            writeln!(out, "fingerprint {}", catalogue.fingerprint())?;
            out.flush()?;
            Ok(())
        }
        Command::Serve { config, settings } => leye::server::run_until_signal(serve_config(config, *settings)?).await,
        Command::Replay { case, data, recorded_until, format } => {
            let config = data.resolve()?;
            let store = open_existing_store(&config).await?;
            // Replay reads streams by case id only: the key is not needed, so a
            // throwaway one is used and the real key file is never touched.
            // Personal fields are opened with the master key (erased ones say so).
            let personal = personal_data(&config, &store).await?;
            let cases = PersonCases::new(store.clone(), CaseIds::from_key([0; 32]), Arc::new(chrono::Utc::now))
                .with_personal_data(personal);
            let mut out = std::io::stdout().lock();
            let result = replay::print(&cases, case, recorded_until, format, &mut out).await;
            let flushed = out.flush();
            store.close().await;
            result?;
            flushed?;
            Ok(())
        }
        Command::Keys { command } => {
            let report = match command {
                KeysCommand::Rotate { new_master_key_file, data } => {
                    leye::keys::rotate(&data.resolve()?, new_master_key_file.as_deref())?
                }
                KeysCommand::Status { data } => leye::keys::status(&data.resolve()?)?,
                KeysCommand::Copy { data } => leye::keys::copy(&data.resolve()?)?,
            };
            println!("{report}");
            Ok(())
        }
        Command::Migrate { command: MigrateCommand::Encrypt { data } } => {
            let config = data.resolve()?;
            refuse_shared(
                &config,
                "leye migrate encrypt",
                "migrate the SQLite store first, then `leye store copy` it",
            )?;
            let n = leye::keys::migrate_encrypt(&config)?;
            // The rewrite dropped the hash chain of a sealed store: opening
            // the store seals the whole log again before anyone reads it.
            open_existing_store(&config).await?.close().await;
            println!("{n} registrations sealed in {}", config.data_dir.display());
            Ok(())
        }
        Command::Store { command: StoreCommand::Copy { from, to, chain_key_file, page, data } } => {
            let config = data.resolve()?;
            let mut options = config.any_store_options(false);
            if let Some(key) = chain_key_file {
                options.key_file = key;
            }
            let mut out = std::io::stdout().lock();
            let (from, to) = (from.parse("--from")?, to.parse("--to")?);
            // Into PostgreSQL: the personal-data keys of this data directory
            // come along, checked first, so that a refusal copies nothing
            // (`storecopy` writes them before the log).
            let keys = match (&to, config.vault.key_store.exists()) {
                (leye_store::StoreLocator::Postgres(url), true) => {
                    let mut vault = config.vault.clone();
                    vault.shared = Some(leye::personal::SharedKeyStore(url.clone()));
                    Some(tokio::task::spawn_blocking(move || leye::keys::KeysCopy::prepare(&vault)).await??)
                }
                _ => None,
            };
            leye::storecopy::copy(&from, &to, &options, page, keys, &mut out).await?;
            out.flush()?;
            Ok(())
        }
        Command::Projections { command: ProjectionsCommand::Rebuild { data, force } } => {
            let config = data.resolve()?;
            leye::integrity::require_intact_any(&config, force, &mut std::io::stderr()).await?;
            let store = open_existing_store(&config).await?;
            let dir = ReadModelDir::new(config.readmodel_dir());
            let result = analyst::rebuild(&store, &dir, &mut std::io::stderr()).await;
            store.close().await;
            result
        }
        Command::Projections {
            command: ProjectionsCommand::Export { what, jurisdiction, from, to, as_of, out, format, data },
        } => {
            let config = data.resolve()?;
            let params = config.targets.clone();
            let j = leye_projections::Jurisdiction::parse(&jurisdiction)
                .map_err(|e| anyhow::anyhow!("--jurisdiction: {e}"))?;
            let today = leye_domain::beijing_date(chrono::Utc::now());
            let (period, as_of) = analyst::window(from, to, as_of, today)?;
            let format = analyst::Format::resolve(format, out.as_deref());
            let rm = leye_projections::ReadModel::open(&current_read_model(&config)?)?;
            // Before the rows: how old they are (a sleeping standby's read model).
            let folded = rm.checkpoint()?;
            let head = match open_existing_store(&config).await {
                Ok(store) => {
                    let head = store.head().await;
                    store.close().await;
                    head.map(|h| h.map_or(0, |p| p.commit)).map_err(|e| e.to_string())
                }
                Err(e) => Err(format!("{e:#}")),
            };
            // Not `eprintln!`: a closed stderr must not panic (`| head`).
            let _ = writeln!(std::io::stderr().lock(), "{}", analyst::freshness(folded, head));
            let rows = match out {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(
                        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
                    );
                    let n = analyst::export(&rm, what, format, &j, period, as_of, &params, &mut file)?;
                    file.flush()?;
                    n
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    let n = analyst::export(&rm, what, format, &j, period, as_of, &params, &mut stdout)?;
                    stdout.flush()?;
                    n
                }
            };
            tracing::info!(rows, "exported");
            Ok(())
        }
        Command::Generate { people, seed, append, pseudonym_key_file, data } => {
            let config = data.resolve_with(ServeSettings { pseudonym_key_file, ..Default::default() })?;
            generate(&config, people, seed, append).await
        }
        Command::Dev { config, command: devtools::DevCommand::Token(mut args) } => {
            if !data_dir_given {
                args.data_dir = DataArgs { config, ..Default::default() }.resolve()?.data_dir;
            }
            let token = devtools::token(&args, chrono::Utc::now().timestamp())?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}")?;
            out.flush()?;
            Ok(())
        }
        Command::Dev { config: _, command: devtools::DevCommand::Certs(args) } => {
            devtools::certs(&args, &mut std::io::stdout())
        }
        Command::Audit { config, command: devtools::AuditCommand::Verify { data_dir } } => {
            let data_dir =
                if data_dir_given { data_dir } else { DataArgs { config, ..Default::default() }.resolve()?.data_dir };
            let intact = devtools::verify_audit(&data_dir, &mut std::io::stdout())?;
            anyhow::ensure!(intact, "the audit trail has been tampered with or damaged");
            Ok(())
        }
        Command::Verify { data, no_quick_check } => {
            let config = data.resolve()?;
            let mut out = std::io::stdout().lock();
            let intact = leye::integrity::verify_any(&config, !no_quick_check, &mut out).await?;
            out.flush()?;
            anyhow::ensure!(intact, "the event store has been tampered with or damaged");
            Ok(())
        }
        Command::Backup { dest, data } => {
            let config = data.resolve()?;
            refuse_shared(&config, "leye backup", "back PostgreSQL up with pg_basebackup and WAL archiving")?;
            let mut out = std::io::stdout().lock();
            leye::backup::backup(&config, &dest, &mut out)?;
            out.flush()?;
            Ok(())
        }
        Command::Restore { src, data, force } => {
            let config = data.resolve()?;
            refuse_shared(&config, "leye restore", "restore PostgreSQL with its own tools")?;
            let mut out = std::io::stdout().lock();
            leye::backup::restore(&config, &src, force, &mut out)?;
            out.flush()?;
            Ok(())
        }
        Command::Health(args) => {
            let serving = devtools::health(&args, &mut std::io::stdout()).await?;
            anyhow::ensure!(serving, "not serving");
            Ok(())
        }
        Command::Consume(args) => {
            let mut out = std::io::stdout();
            let n = consume::run(args, &mut out).await?;
            tracing::info!(events = n, "consumer stopped");
            Ok(())
        }
    }
}

/// `leye generate`: a population into the data directory `serve` reads, then
/// the read model, so that exports and queries answer at once.
async fn generate(config: &ServeConfig, people: usize, seed: u64, append: bool) -> anyhow::Result<()> {
    let data_dir = &config.data_dir;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    // A server on the directory would fold half a population and start its
    // sweeps on it; the read model is rebuilt here at the end.
    let _alone = leye::backup::lock_alone(data_dir, "generating into it")?;
    let store = leye_store::AnyStore::open(&config.store, &config.any_store_options(false)).await?;
    let head = match store.head().await {
        Ok(head) => head,
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    };
    if let (Some(head), false) = (head, append) {
        store.close().await;
        anyhow::bail!(
            "{} already holds events (up to position {}): give `--data-dir` a new or empty directory, \
             or pass `--append` to add to this one (the same --seed and --people write nothing new; \
             another seed may collide with the persons already there)",
            data_dir.display(),
            head.commit
        );
    }
    let personal = personal_data(config, &store).await?;
    let ids = match leye::identity::bound_for(&config.pseudonym_key_file, &personal, &store).await {
        Ok(ids) => ids,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let cases = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now)).with_personal_data(personal);
    let cfg = leye::generate::GeneratorConfig::new(seed, people, cases.today());
    let mut bar = ProgressLine::new();
    let result = leye::generate::generate(&cases, &cfg, |p| bar.show(&p)).await;
    bar.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            store.close().await;
            return Err(e.context(format!(
                "generating into {} (what was written stays; run again with `--append` and the same \
                 --seed and --people to complete it)",
                data_dir.display()
            )));
        }
    };
    let rebuilt = analyst::rebuild(&store, &ReadModelDir::new(config.readmodel_dir()), &mut std::io::stderr()).await;
    store.close().await;
    rebuilt.context("building the read model (run `leye projections rebuild` to try again)")?;
    let secs = summary.elapsed.as_secs_f64();
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "generate: done: {} persons, {} households, {} enterprises, {} events in {secs:.1} s ({:.0} events/s), \
         {} unexpected rejections; the read model is ready: `leye serve --data-dir {dir}` or `leye projections export targets \
         --data-dir {dir}` next",
        summary.persons,
        summary.households,
        summary.enterprises,
        summary.events,
        summary.events as f64 / secs.max(1e-9),
        summary.rejected_unexpected,
        dir = data_dir.display()
    )?;
    Ok(())
}

/// One progress line on stderr: rewritten in place on a terminal, else a
/// line every few seconds (logs, CI).
struct ProgressLine {
    terminal: bool,
    last: Option<Instant>,
    shown: bool,
}

impl ProgressLine {
    const EVERY: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Self { terminal: std::io::stderr().is_terminal(), last: None, shown: false }
    }

    fn show(&mut self, p: &GenProgress) {
        let line = progress_text(p);
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a closed stderr does not stop the work.
        if self.terminal {
            let _ = write!(err, "\r{line}\x1b[K");
            let _ = err.flush();
            self.shown = true;
        } else if self.last.is_none_or(|t| t.elapsed() >= Self::EVERY) {
            self.last = Some(Instant::now());
            let _ = writeln!(err, "{line}");
        }
    }

    fn finish(&mut self) {
        if self.terminal && self.shown {
            let _ = writeln!(std::io::stderr());
        }
    }
}

fn progress_text(p: &GenProgress) -> String {
    let secs = p.elapsed.as_secs_f64();
    let rate = p.events as f64 / secs.max(1e-9);
    let left = match p.persons_done {
        0 => "?".to_string(),
        done => format!("{:.0}", secs * p.persons_total.saturating_sub(done) as f64 / done as f64),
    };
    let percent = (p.persons_done * 100).checked_div(p.persons_total).unwrap_or(100);
    format!(
        "generate: {} / {} persons ({percent} %), {} events, {rate:.0} events/s, about {left} s left",
        p.persons_done, p.persons_total, p.events
    )
}

/// `what` works on the embedded SQLite store only: refused, saying what to do
/// instead, when the configured store is shared (PostgreSQL).
fn refuse_shared(config: &ServeConfig, what: &str, instead: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.store.is_shared(),
        "{what} works on the embedded SQLite store; the configured store is {}: {instead}",
        config.store
    );
    Ok(())
}

/// Opens the event store of an existing data directory.
/// The personal-data codec; `store` is closed when the key store cannot be opened.
async fn personal_data(config: &ServeConfig, store: &leye_store::AnyStore) -> anyhow::Result<Arc<PersonalData>> {
    let opened = config.vault.open_for(store).await;
    if opened.is_err() {
        store.clone().close().await;
    }
    opened.context("personal-data key store")
}

async fn open_existing_store(config: &ServeConfig) -> anyhow::Result<leye_store::AnyStore> {
    let data_dir = &config.data_dir;
    let path = match &config.store {
        leye_store::StoreLocator::Sqlite(path) => path.clone(),
        // Reading only: a database without a leye store is refused, not created.
        shared => {
            return leye_store::AnyStore::open_existing(shared, &config.any_store_options(false))
                .await
                .with_context(|| format!("opening {shared}"));
        }
    };
    anyhow::ensure!(
        path.exists(),
        "no event store at {}: start `leye serve --data-dir {dir}` or run `leye generate --data-dir {dir}` first \
         (or point --data-dir, LEYE_DATA_DIR or the config file's data_dir at the service's data directory)",
        path.display(),
        dir = data_dir.display()
    );
    leye_store::AnyStore::open(&config.store, &config.any_store_options(false))
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// The current read-model database, or what to do when there is none.
fn current_read_model(config: &ServeConfig) -> anyhow::Result<PathBuf> {
    match ReadModelDir::new(config.readmodel_dir()).current() {
        Err(ProjectionError::NotReady) => {
            let dir = config.data_dir.display();
            if config.data_dir.join(STORE_FILE).exists() {
                anyhow::bail!(
                    "the read model is not built yet in {dir}: run `leye projections rebuild --data-dir {dir}` \
                     (or start `leye serve`, which builds it)"
                )
            }
            anyhow::bail!(
                "no data in {dir}: start `leye serve --data-dir {dir}` or run `leye generate --data-dir {dir}` \
                 first (or point --data-dir, LEYE_DATA_DIR or the config file's data_dir at the service's data \
                 directory)"
            )
        }
        other => Ok(other?),
    }
}

/// `leye serve`'s configuration: flags and environment over the file.
fn serve_config(config: Option<PathBuf>, settings: ServeSettings) -> anyhow::Result<ServeConfig> {
    let file = match config {
        Some(path) => ServeSettings::from_file(&path)?,
        None => ServeSettings::default(),
    };
    settings.layered_over(file)
}
