//! A PostgreSQL server of a test's own: `initdb` into a temporary directory and
//! `pg_ctl start` on a free loopback port (and a Unix socket in that
//! directory). Never a server already running on the machine.
//!
//! Binaries: `$LEYE_POSTGRES_BIN`, else `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root: as root the
//! server runs as the `postgres` user (or `nobody`) through `setpriv`, its
//! directory handed to that user.
//!
//! When no PostgreSQL is installed, [`TestPostgres::start`] prints why and
//! returns `None` (the test skips), unless `LEYE_REQUIRE_POSTGRES=1` (set by
//! `scripts/test.sh`, which installs Debian's `postgresql`): then it panics.

use std::{
    fs,
    net::TcpListener,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tempfile::TempDir;

/// A running test server; stopped (`pg_ctl stop -m immediate`) when dropped.
#[derive(Debug)]
pub struct TestPostgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// `(uid, gid)` the server runs as, when this process is root.
    run_as: Option<(u32, u32)>,
    running: bool,
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, if any.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("LEYE_POSTGRES_BIN").map(PathBuf::from) {
        return has(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// `LEYE_REQUIRE_POSTGRES=1`: a missing PostgreSQL fails the test.
pub fn required() -> bool {
    std::env::var("LEYE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestPostgres {
    /// Starts a new server, or returns `None` after printing why the test is
    /// skipped. Panics when PostgreSQL is required but missing, or fails to start.
    pub fn start() -> Option<Self> {
        let Some(bin) = find_bin_dir() else {
            assert!(
                !required(),
                "LEYE_REQUIRE_POSTGRES=1 but no PostgreSQL found (LEYE_POSTGRES_BIN, pg_config, /usr/lib/postgresql)"
            );
            eprintln!(
                "SKIPPED: no PostgreSQL installed (initdb/pg_ctl not found through LEYE_POSTGRES_BIN, pg_config or \
                 /usr/lib/postgresql/*/bin); scripts/test.sh installs it and sets LEYE_REQUIRE_POSTGRES=1"
            );
            return None;
        };
        match Self::start_in(&bin) {
            Ok(pg) => Some(pg),
            Err(e) => panic!("cannot start a test PostgreSQL from {}: {e}", bin.display()),
        }
    }

    fn start_in(bin: &Path) -> Result<Self, String> {
        let dir = tempfile::Builder::new().prefix("leye-pg").tempdir().map_err(|e| e.to_string())?;
        let run_as = if rustix::process::geteuid().is_root() { Some(unprivileged_user()) } else { None };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| format!("chown: {e}"))?;
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
        let mut pg = Self { dir, bin: bin.to_path_buf(), port: 0, run_as, running: false };
        let data = pg.data_dir();
        pg.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-A",
                "trust",
                "-U",
                "leye",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        let mut last_error = String::new();
        for _ in 0..5 {
            pg.port = free_port()?;
            let log = pg.dir.path().join("server.log");
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on \
                 -c synchronous_commit=on -c shared_buffers=64MB",
                pg.port,
                path_str(pg.dir.path())?
            );
            match pg.run(
                "pg_ctl",
                &["-D", path_str(&data)?, "-l", path_str(&log)?, "-w", "-t", "60", "-o", &options, "start"],
            ) {
                Ok(()) => {
                    pg.running = true;
                    return Ok(pg);
                }
                Err(e) => {
                    let tail = fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{e}\n{}", tail.lines().rev().take(10).collect::<Vec<_>>().join("\n"));
                }
            }
        }
        Err(last_error)
    }

    /// `postgres://leye@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of another database of this server.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://leye@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id (the first line of `postmaster.pid`), while running.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let pid = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        pid.lines().next()?.trim().parse().ok()
    }

    /// The bin directory the server was started from (`psql`, `pgbench`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Stops the server (`pg_ctl stop -m fast`) and starts it again on the
    /// same port and data: every connection is cut.
    pub fn restart(&mut self) {
        self.stop();
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let (Some(data), Some(log), Some(sockets)) = (data.to_str(), log.to_str(), self.dir.path().to_str()) else {
            panic!("test PostgreSQL paths are not UTF-8");
        };
        let options = format!(
            "-p {} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on \
             -c synchronous_commit=on -c shared_buffers=64MB",
            self.port
        );
        if let Err(e) = self.run("pg_ctl", &["-D", data, "-l", log, "-w", "-t", "60", "-o", &options, "start"]) {
            panic!("restarting the test PostgreSQL: {e}");
        }
        self.running = true;
    }

    /// Stops the server (`pg_ctl stop -m fast`).
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data_dir();
            if let Some(data) = data.to_str() {
                let _ = self.run("pg_ctl", &["-D", data, "-m", "fast", "-w", "stop"]);
            }
            self.running = false;
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a PostgreSQL binary (as the unprivileged user when root).
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(program);
        let mut cmd = match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}")).arg(format!("--regid={gid}")).arg("--clear-groups").arg("--");
                c.arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(self.dir.path());
        let out: Output = cmd.output().map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            if let Some(data) = data.to_str() {
                let _ = self.run("pg_ctl", &["-D", data, "-m", "immediate", "-w", "stop"]);
            }
        }
    }
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str().ok_or_else(|| format!("{}: not a UTF-8 path", path.display()))
}

/// A loopback port free now, never one this process has handed out before.
/// The port is released before its server binds it, and the kernel may give a
/// released port to the next caller: tests running side by side (each with
/// its servers) would then start two servers on one port, and one test would
/// talk to the other's server. Used for every server the tests start.
pub fn free_port() -> Result<u16, String> {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..1000 {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())?;
        if GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(port) {
            return Ok(port);
        }
    }
    Err("no loopback port left that this process has not handed out".into())
}

/// The `postgres` user's ids from /etc/passwd, else `nobody`'s (65534).
fn unprivileged_user() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 3 && fields[0] == name).then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
        })
    };
    find("postgres").or_else(|| find("nobody")).unwrap_or((65534, 65534))
}

#[cfg(test)]
mod tests {
    /// Two thousand ports without a repeat: bare `bind(0)` repeats one in
    /// about 3 % of sets of thirty (measured here), so this fails without the set.
    #[test]
    fn free_port_never_hands_out_a_port_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let port = super::free_port().expect("a free port");
            assert!(seen.insert(port), "port {port} handed out twice");
        }
    }
}
