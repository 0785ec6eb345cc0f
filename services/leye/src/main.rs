//! The `leye` command: `leye serve` runs the service; `leye replay` prints a
//! case's history for an auditor; `leye consume` prints the events published
//! on NATS, as a subscriber sees them.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context;
use chrono::Datelike;
use clap::{Parser, Subcommand};
use leye::{
    analyst,
    cases::PersonCases,
    config::{STORE_FILE, ServeSettings},
    consume, devtools,
    identity::CaseIds,
    replay,
};
use tracing_subscriber::EnvFilter;

/// leye (乐业): case management for public employment services.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Log format.
    #[arg(long, env = "LEYE_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gRPC API on the embedded event store.
    Serve {
        /// TOML config file (keys as in the README's configuration table,
        /// e.g. listen, data_dir, nats_url, metrics_listen).
        #[arg(long, env = "LEYE_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: Box<ServeSettings>,
    },
    /// Print a case's full history, as recorded, for an auditor.
    Replay {
        /// The case id (a UUID).
        case: uuid::Uuid,
        /// Data directory of the service.
        #[arg(long, env = "LEYE_DATA_DIR", default_value = leye::config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Only events recorded at or before this instant (RFC 3339), i.e. what
        /// the service knew then.
        #[arg(long)]
        recorded_until: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long, value_enum, default_value = "text")]
        format: replay::Format,
    },
    /// Development credentials: tokens from the development issuer, a CA and certificates.
    Dev {
        #[command(subcommand)]
        command: devtools::DevCommand,
    },
    /// The audit trail: verify its hash chain offline.
    Audit {
        #[command(subcommand)]
        command: devtools::AuditCommand,
    },
    /// Ask a running server's gRPC health service; exit 0 when SERVING (for
    /// Docker HEALTHCHECK and orchestrators).
    Health(devtools::HealthArgs),
    /// Follow the events published on NATS JetStream with a durable consumer,
    /// printing one line per event (personal data masked).
    Consume(consume::ConsumeArgs),
    /// The analysts' read model: rebuild it, or export a target table or action list as CSV.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// The subsidy policy catalogue: check a directory of rule files before
    /// deploying it (`leye serve --policies DIR` refuses an invalid one).
    Policies {
        #[command(subcommand)]
        command: PoliciesCommand,
    },
    /// Create a synthetic Tianjin-like population through the normal command
    /// path (reproducible from the seed), for demos, benchmarks and tests.
    Generate {
        /// Persons to create (about 17 events each).
        #[arg(long, default_value_t = 1000)]
        people: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, env = "LEYE_DATA_DIR", default_value = leye::config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
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
enum ProjectionsCommand {
    /// Replay the whole log into a new read model and switch to it. Safe while
    /// `leye serve` runs: queries keep answering and its projector follows.
    Rebuild {
        #[arg(long, env = "LEYE_DATA_DIR", default_value = leye::config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Write a target table or an action list as CSV.
    Export {
        #[arg(value_enum)]
        what: analyst::Export,
        /// Empty: the city; or a 6-, 9- or 12-digit district, street or community code.
        #[arg(long, default_value = "")]
        jurisdiction: String,
        /// Period start (YYYY-MM-DD); default: 1 January of the as-of year.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Period end (YYYY-MM-DD); default: the as-of date.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Facts effective after this date are ignored; default: today.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Output file; default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, env = "LEYE_DATA_DIR", default_value = leye::config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Config file whose `[targets]` table sets the parameters.
        #[arg(long, env = "LEYE_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Policies { command: PoliciesCommand::Check { dir } } => {
            let catalogue = leye_policy::Catalogue::load(dir.as_deref()).map_err(|e| {
                let from = dir.as_ref().map_or("the built-in catalogue".to_string(), |d| d.display().to_string());
                anyhow::anyhow!("policy catalogue {from} refused:\n{e}")
            })?;
            for j in catalogue.jurisdictions() {
                let prefix = format!("{}.", j.key);
                let rules: Vec<_> = catalogue.rules().iter().filter(|r| r.id.starts_with(&prefix)).collect();
                let verify = rules.iter().filter(|r| r.verify).count();
                println!("{:<10} {:>3} rule versions ({verify} marked verify)  {}", j.key, rules.len(), j.name);
            }
            println!(
                "{} documents, {} dated parameters, {} retirement-age laws: the catalogue is valid",
                catalogue.documents().count(),
                catalogue.parameters().count(),
                catalogue.retirement_laws().len()
            );
            Ok(())
        }
        Command::Serve { config, settings } => {
            let file = match config {
                Some(path) => ServeSettings::from_file(&path)?,
                None => ServeSettings::default(),
            };
            let config = settings.layered_over(file)?;
            leye::server::run_until_signal(config).await
        }
        Command::Replay { case, data_dir, recorded_until, format } => {
            let store = open_existing_store(&data_dir).await?;
            // Replay reads streams by case id only: the key is not needed, so a
            // throwaway one is used and the real key file is never touched.
            let cases = PersonCases::new(store.clone(), CaseIds::from_key([0; 32]), Arc::new(chrono::Utc::now));
            let mut out = std::io::stdout().lock();
            let result = replay::print(&cases, case, recorded_until, format, &mut out).await;
            store.close().await;
            result.map(|_| ())
        }
        Command::Projections { command: ProjectionsCommand::Rebuild { data_dir } } => {
            let store = open_existing_store(&data_dir).await?;
            let dir = leye_projections::runner::ReadModelDir::new(data_dir.join(leye::config::READMODEL_DIR));
            let result = analyst::rebuild(&store, &dir, &mut std::io::stderr()).await;
            store.close().await;
            result
        }
        Command::Projections {
            command: ProjectionsCommand::Export { what, jurisdiction, from, to, as_of, out, data_dir, config },
        } => {
            let params = match config {
                Some(path) => ServeSettings::from_file(&path)?.targets.unwrap_or_default(),
                None => Default::default(),
            };
            params.validate().map_err(|e| anyhow::anyhow!("targets.{e}"))?;
            let j = leye_projections::Jurisdiction::parse(&jurisdiction)
                .map_err(|e| anyhow::anyhow!("--jurisdiction: {e}"))?;
            let as_of = as_of.unwrap_or_else(|| leye_domain::beijing_date(chrono::Utc::now()));
            let from = from.unwrap_or_else(|| chrono::NaiveDate::from_ymd_opt(as_of.year(), 1, 1).unwrap_or(as_of));
            let period = leye_projections::Period::new(from, to.unwrap_or(as_of)).map_err(|e| anyhow::anyhow!(e))?;
            let dir = leye_projections::runner::ReadModelDir::new(data_dir.join(leye::config::READMODEL_DIR));
            let rm = leye_projections::ReadModel::open(&dir.current()?)?;
            let rows = match out {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(
                        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
                    );
                    let n = analyst::export(&rm, what, &j, period, as_of, &params, &mut file)?;
                    std::io::Write::flush(&mut file)?;
                    n
                }
                None => analyst::export(&rm, what, &j, period, as_of, &params, &mut std::io::stdout().lock())?,
            };
            tracing::info!(rows, "exported");
            Ok(())
        }
        Command::Generate { people, seed, data_dir } => {
            std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            let store = leye_store::SqliteStore::open(data_dir.join(STORE_FILE), Default::default()).await?;
            let ids = CaseIds::load_or_create(&data_dir.join("pseudonym.key"))?;
            let cases = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now));
            let cfg = leye::generate::GeneratorConfig::new(seed, people, cases.today());
            let result = leye::generate::generate(&cases, &cfg, |p| {
                eprintln!("generate: {} / {} persons, {} events", p.persons_done, p.persons_total, p.events);
            })
            .await;
            store.close().await;
            let summary = result?;
            eprintln!(
                "generate: done: {} persons, {} households, {} events, {} unexpected rejections",
                summary.persons, summary.households, summary.events, summary.rejected_unexpected
            );
            Ok(())
        }
        Command::Dev { command: devtools::DevCommand::Token(args) } => {
            println!("{}", devtools::token(&args, chrono::Utc::now().timestamp())?);
            Ok(())
        }
        Command::Dev { command: devtools::DevCommand::Certs(args) } => devtools::certs(&args, &mut std::io::stdout()),
        Command::Audit { command: devtools::AuditCommand::Verify { data_dir } } => {
            let intact = devtools::verify_audit(&data_dir, &mut std::io::stdout())?;
            anyhow::ensure!(intact, "the audit trail has been tampered with or damaged");
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

/// Opens the event store of an existing data directory.
async fn open_existing_store(data_dir: &std::path::Path) -> anyhow::Result<leye_store::SqliteStore> {
    let path = data_dir.join(STORE_FILE);
    anyhow::ensure!(path.exists(), "no event store at {}", path.display());
    leye_store::SqliteStore::open(&path, Default::default())
        .await
        .with_context(|| format!("opening {}", path.display()))
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("LEYE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
