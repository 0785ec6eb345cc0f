//! The `leye` command: `leye serve` runs the service; `leye replay` prints a
//! case's history for an auditor.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use leye::{
    cases::PersonCases,
    config::{STORE_FILE, ServeSettings},
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
        /// TOML config file (keys: listen, data_dir, pseudonym_key_file).
        #[arg(long, env = "LEYE_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: ServeSettings,
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
        Command::Serve { config, settings } => {
            let file = match config {
                Some(path) => ServeSettings::from_file(&path)?,
                None => ServeSettings::default(),
            };
            let config = settings.layered_over(file)?;
            leye::server::run_until_signal(config).await
        }
        Command::Replay { case, data_dir, recorded_until, format } => {
            let path = data_dir.join(STORE_FILE);
            anyhow::ensure!(path.exists(), "no event store at {}", path.display());
            let store = leye_store::SqliteStore::open(&path, Default::default())
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            // Replay reads streams by case id only: the key is not needed, so a
            // throwaway one is used and the real key file is never touched.
            let cases = PersonCases::new(store.clone(), CaseIds::from_key([0; 32]), Arc::new(chrono::Utc::now));
            let mut out = std::io::stdout().lock();
            let result = replay::print(&cases, case, recorded_until, format, &mut out).await;
            store.close().await;
            result.map(|_| ())
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("LEYE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
