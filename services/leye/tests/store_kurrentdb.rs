//! `kurrentdb://` chosen by flag, environment or config file reaches the
//! KurrentDB adapter, and its password is never printed. No KurrentDB server
//! can be installed here: the URL names a loopback port where nothing
//! listens, so each command must fail, clearly and quickly, naming the
//! cluster without the password. (The adapter against a real cluster:
//! `leye-store`'s `kurrentdb_contract`, with `LEYE_TEST_KURRENTDB_URL`.)

use std::{
    process::{Command, Output},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_leye");
const PASSWORD: &str = "s3cret-kurrent";

/// A URL to a loopback port nobody listens on, giving up after one attempt.
fn unreachable_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!(
        "kurrentdb://admin:{PASSWORD}@127.0.0.1:{port}?tls=false&maxDiscoverAttempts=1&discoveryInterval=10\
         &gossipTimeout=500&defaultDeadline=2000"
    )
}

/// `leye` without the environment that would redirect it.
fn leye(data: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    for var in ["LEYE_LOG", "LEYE_CONFIG", "LEYE_DATA_DIR", "LEYE_STORE", "LEYE_PSEUDONYM_KEY_FILE"] {
        c.env_remove(var);
    }
    c.env("LEYE_DATA_DIR", data);
    c
}

fn refused(how: &str, out: &Output, started: Instant) {
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{how}: nothing listens there, yet it succeeded:\n{all}");
    assert!(all.contains("KurrentDB") && all.contains("admin:***@127.0.0.1"), "{how}: names the cluster:\n{all}");
    assert!(!all.contains(PASSWORD), "{how}: the password was printed:\n{all}");
    assert!(started.elapsed() < Duration::from_secs(60), "{how}: took {:?}", started.elapsed());
}

#[test]
fn a_kurrentdb_store_is_chosen_by_flag_env_or_file_and_its_password_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let started = Instant::now();
    let out = leye(&data).args(["verify", "--store", &unreachable_url()]).output().unwrap();
    refused("verify --store", &out, started);

    let started = Instant::now();
    let out = leye(&data).args(["serve", "--store", &unreachable_url()]).output().unwrap();
    refused("serve --store", &out, started);

    let started = Instant::now();
    let out = leye(&data).arg("serve").env("LEYE_STORE", unreachable_url()).output().unwrap();
    refused("serve with LEYE_STORE", &out, started);

    let config = dir.path().join("leye.toml");
    std::fs::write(&config, format!("store = \"{}\"\n", unreachable_url())).unwrap();
    let started = Instant::now();
    let out = leye(&data).arg("serve").arg("--config").arg(&config).output().unwrap();
    refused("serve with store = in the config file", &out, started);
}
