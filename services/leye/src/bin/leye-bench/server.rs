//! The server under test: `leye serve` started as a child process on free
//! loopback ports (or an in-process one), its readiness, its log's tail.

use super::*;

pub(super) enum Server {
    Started(Box<StartedServer>),
    External(SocketAddr),
}

pub(super) struct StartedServer {
    pub(super) child: tokio::process::Child,
    pub(super) exe: PathBuf,
    pub(super) addr: SocketAddr,
    /// Holds the data directory and the log; removed when dropped.
    pub(super) _dir: tempfile::TempDir,
    pub(super) data_dir: PathBuf,
    pub(super) log: PathBuf,
}

impl Server {
    pub(super) fn addr(&self) -> SocketAddr {
        match self {
            Self::Started(s) => s.addr,
            Self::External(addr) => *addr,
        }
    }

    pub(super) fn pid(&self) -> Option<u32> {
        match self {
            Self::Started(s) => s.child.id(),
            Self::External(_) => None,
        }
    }

    /// Stops a started server with SIGTERM and waits for it. Returns the tail of
    /// its log, or `None` for an external server.
    pub(super) async fn stop(&mut self) -> anyhow::Result<Option<String>> {
        let Self::Started(s) = self else { return Ok(None) };
        if let Some(pid) = s.child.id() {
            let sent = tokio::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .stdin(Stdio::null())
                .status()
                .await
                .context("running kill -TERM")?;
            if !sent.success() {
                eprintln!("warning: kill -TERM {pid} failed ({sent})");
            }
        }
        match tokio::time::timeout(Duration::from_secs(20), s.child.wait()).await {
            Ok(status) => {
                let status = status.context("waiting for leye serve")?;
                if !status.success() {
                    eprintln!("warning: leye serve exited with {status}; log:\n{}", log_tail(&s.log));
                }
            }
            Err(_) => {
                s.child.kill().await.context("killing leye serve")?;
                bail!("leye serve did not stop within 20 s of SIGTERM; killed. Log:\n{}", log_tail(&s.log));
            }
        }
        Ok(Some(log_tail(&s.log)))
    }
}

/// Starts `leye serve` from next to this executable, on a free loopback port and
/// a fresh data directory, and waits until it answers its health check.
pub(super) async fn start_server(tmp_parent: &Path, log_filter: &str, extra: &[&str]) -> anyhow::Result<StartedServer> {
    let exe = std::env::current_exe().context("locating the bench executable")?.with_file_name("leye");
    ensure!(
        exe.is_file(),
        "{} not found: build it first (cargo build --release -p leye --bins), or pass --server",
        exe.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("leye-bench-server-")
        .tempdir_in(tmp_parent)
        .context("creating the server's data directory")?;
    let data_dir = dir.path().join("data");
    let log = dir.path().join("leye-serve.log");
    let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let mut command = tokio::process::Command::new(&exe);
    command
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(&data_dir)
        .args(extra)
        .env("LEYE_LOG", log_filter)
        .env_remove("LEYE_CONFIG")
        .env_remove("LEYE_LISTEN")
        .env_remove("LEYE_DATA_DIR")
        .env_remove("LEYE_PSEUDONYM_KEY_FILE")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true);
    let mut child = command.spawn().with_context(|| format!("starting {}", exe.display()))?;
    eprintln!("started {} serve --listen {addr} (pid {})", exe.display(), child.id().unwrap_or(0));
    if let Err(e) = wait_ready(addr, Some(&mut child), Duration::from_secs(30)).await {
        let _ = child.kill().await;
        return Err(e.context(format!("leye serve did not become ready; log:\n{}", log_tail(&log))));
    }
    Ok(StartedServer { child, exe, addr, _dir: dir, data_dir, log })
}

/// Waits until `addr` answers SERVING, failing if `child` exits or time runs out.
pub(super) async fn wait_ready(
    addr: SocketAddr,
    mut child: Option<&mut tokio::process::Child>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(child) = child.as_deref_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("leye serve exited early ({status})");
            }
        }
        let last = match tokio::time::timeout(Duration::from_secs(2), serving(addr)).await {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => anyhow!("not SERVING yet"),
            Ok(Err(e)) => e,
            Err(_) => anyhow!("health check timed out"),
        };
        if Instant::now() >= deadline {
            return Err(last.context(format!("no SERVING health check from {addr} within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
