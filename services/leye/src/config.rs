//! Configuration, layered: built-in defaults < config file (TOML) < environment
//! (`LEYE_*`) < command-line flags.
//!
//! | setting | flag | environment | file key | default |
//! |---|---|---|---|---|
//! | gRPC address | `--listen` | `LEYE_LISTEN` | `listen` | `127.0.0.1:50051` |
//! | data directory | `--data-dir` | `LEYE_DATA_DIR` | `data_dir` | `./leye-data` |
//! | pseudonym key file | `--pseudonym-key-file` | `LEYE_PSEUDONYM_KEY_FILE` | `pseudonym_key_file` | `<data_dir>/pseudonym.key` |
//! | config file | `--config` | `LEYE_CONFIG` | — | none |

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde::Deserialize;

/// What `leye serve` runs with, after layering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub pseudonym_key_file: PathBuf,
}

/// The settings as given by one layer (flags and environment, or the file).
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// Address for gRPC, e.g. 0.0.0.0:50051.
    #[arg(long, env = "LEYE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory holding the embedded event store and the pseudonym key.
    #[arg(long, env = "LEYE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// File holding the secret key that derives case ids from resident IDs.
    #[arg(long, env = "LEYE_PSEUDONYM_KEY_FILE")]
    pub pseudonym_key_file: Option<PathBuf>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATA_DIR: &str = "leye-data";
/// The event store's file name inside the data directory.
pub const STORE_FILE: &str = "events.sqlite";

impl ServeSettings {
    /// Reads a config file. Unknown keys are refused, naming the file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
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
        Ok(ServeConfig { listen, data_dir, pseudonym_key_file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("leye.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:6000\"\ndata_dir = \"/srv/leye\"\n").unwrap();
        let from_file = ServeSettings::from_file(&file).unwrap();
        let flags = ServeSettings { listen: Some("127.0.0.1:7000".parse().unwrap()), ..Default::default() };
        let cfg = flags.layered_over(from_file).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/leye"));
        assert_eq!(cfg.pseudonym_key_file, PathBuf::from("/srv/leye/pseudonym.key"));
        let defaults = ServeSettings::default().layered_over(ServeSettings::default()).unwrap();
        assert_eq!(defaults.listen, DEFAULT_LISTEN.parse().unwrap());
    }

    #[test]
    fn unknown_keys_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listn = \"x\"\n").unwrap();
        let err = format!("{:#}", ServeSettings::from_file(&file).unwrap_err());
        assert!(err.contains("bad.toml") && err.contains("listn"), "{err}");
    }
}
