//! The benchmarks' own `nats-server` with JetStream: one way to start it, so
//! that its storage limit is set in one place.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::Context;

use crate::publisher::stream::DEFAULT_MAX_BYTES;

/// JetStream's file storage limit: a set figure, as in the tests (not derived
/// from the disk's free space). It must leave room for the stream's default
/// size: with less, JetStream refuses the stream and nothing is published
/// (as `leye-bench-cluster` did with 8 GB until 2026-12-05).
pub const FILE_STORE_BYTES: u64 = 64 * 1024 * 1024 * 1024;
const _: () = assert!(FILE_STORE_BYTES >= DEFAULT_MAX_BYTES);

/// A started `nats-server`.
#[derive(Debug)]
pub struct Server {
    /// Killed when dropped.
    pub child: tokio::process::Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    /// The binary that runs.
    pub bin: PathBuf,
}

/// Starts `nats-server -js` on a free loopback port, its storage and its log
/// (`nats.log`) under `dir`.
pub fn start(dir: &Path) -> anyhow::Result<Server> {
    std::fs::create_dir_all(dir)?;
    let conf = dir.join("js.conf");
    std::fs::write(
        &conf,
        format!("jetstream {{\n  store_dir: {:?}\n  max_file_store: {FILE_STORE_BYTES}\n}}\n", dir.join("js")),
    )?;
    let port = super::free_port()?;
    let bin = server_bin()?;
    let log = std::fs::File::create(dir.join("nats.log"))?;
    let child = tokio::process::Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Server { child, url: format!("nats://127.0.0.1:{port}"), bin })
}

/// `nats-server` from `NATS_SERVER`, the `PATH` or `/usr/sbin`.
fn server_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nats-server")).filter(|p| p.is_file()))
        .context("nats-server not found: set NATS_SERVER or install it (apt-get install nats-server)")
}
