//! The deployment files, parsed and checked against the code they configure:
//! `deploy/leye.toml` (loads, is safe to expose, documents every key and the
//! real defaults), `docker/compose.yaml` (`docker compose config`, else
//! PyYAML), `deploy/leye.service` (`systemd-analyze verify`), and the text of
//! `docker/Dockerfile` and `.dockerignore`. A check whose tool is missing
//! prints a `SKIP` line naming the tool and passes.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use leye::{
    config::{ServeConfig, ServeSettings},
    trust::Limits,
};
use leye_auth::CertificateMap;
use leye_projections::TargetParams;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_leye");
const EXAMPLE_CONFIG: &str = "deploy/leye.toml";
const UNIT: &str = "deploy/leye.service";
const COMPOSE: &str = "docker/compose.yaml";
const DOCKERFILE: &str = "docker/Dockerfile";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root")
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn load(path: &Path) -> ServeConfig {
    ServeSettings::from_file(path)
        .and_then(|s| s.layered_over(ServeSettings::default()))
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}

fn skip(check: &str, why: &str) {
    println!("SKIP {check}: {why}");
}

/// Runs a program; `None` when it cannot be started (not installed).
fn run(program: &str, args: &[&str]) -> Option<Output> {
    Command::new(program).args(args).current_dir(repo()).output().ok()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

// ---------------------------------------------------------------- leye.toml

/// The example with every `#key = value` line (a setting left at its
/// default, by the file's convention) switched on.
fn uncommented(example: &str) -> (String, usize) {
    let mut n = 0;
    let lines: Vec<&str> = example
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| !c.is_whitespace() && c != '#') => {
                n += 1;
                rest
            }
            _ => line,
        })
        .collect();
    (lines.join("\n") + "\n", n)
}

#[test]
fn the_example_config_loads_and_may_listen_on_the_network() {
    let cfg = load(&repo().join(EXAMPLE_CONFIG));
    let listen: SocketAddr = "0.0.0.0:50051".parse().unwrap();
    assert_eq!(cfg.listen, listen);
    assert!(!cfg.listen.ip().is_loopback(), "the example is for a server reachable from the network");
    assert_eq!(cfg.data_dir, PathBuf::from("/var/lib/leye"));
    assert_eq!(cfg.pseudonym_key_file, PathBuf::from("/var/lib/leye/pseudonym.key"));
    assert_eq!(cfg.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
    assert!(cfg.finder.enabled);
    assert_eq!(cfg.publisher.nats_url, None, "the publisher is the operator's choice (commented out)");
    let tls = cfg.trust.tls.as_ref().expect("TLS configured");
    assert_eq!(tls.cert, PathBuf::from("/etc/leye/tls/server.pem"));
    assert_eq!(tls.client_ca, None);
    let jwt = cfg.trust.jwt.as_ref().expect("a token issuer configured");
    assert_eq!(jwt.audience, "leye");
    assert!(!cfg.trust.insecure);
    assert_eq!(cfg.trust.audit_retention_days, 183);
    assert_eq!(cfg.trust.limits, Limits::default());
    cfg.trust.check_exposure(cfg.listen).expect("the example may listen on its non-loopback address");
}

#[test]
fn the_example_documents_the_real_defaults() {
    let example = read(EXAMPLE_CONFIG);
    let (all_on, n) = uncommented(&example);
    assert!(n >= 50, "only {n} `#key = value` lines: has the file's convention changed?");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leye-all-on.toml");
    std::fs::write(&file, &all_on).unwrap();
    let on = load(&file);
    let as_is = load(&repo().join(EXAMPLE_CONFIG));
    let defaults = ServeConfig::default();

    // Settings documented with their default: switching them on changes nothing.
    assert_eq!(on.pseudonym_key_file, as_is.pseudonym_key_file);
    assert_eq!(on.publisher.stream, defaults.publisher.stream);
    assert_eq!(on.publisher.max_in_flight, defaults.publisher.max_in_flight);
    assert_eq!(on.publisher.ack_timeout, defaults.publisher.ack_timeout);
    assert_eq!(on.publisher.max_lag, defaults.publisher.max_lag);
    assert_eq!(on.finder.enabled, defaults.finder.enabled);
    assert_eq!(on.trust.jwt, as_is.trust.jwt, "jwt_max_clock_skew_secs");
    assert_eq!(on.trust.insecure, defaults.trust.insecure);
    assert_eq!(on.trust.reflection, defaults.trust.reflection);
    assert_eq!(on.trust.audit_retention_days, defaults.trust.audit_retention_days);
    assert_eq!(on.trust.limits, Limits::default());
    let shipped = TargetParams::default();
    let scalars = |t: &TargetParams| {
        [
            t.long_term_months,
            t.lookback_years,
            t.at_risk_after_months,
            t.zero_employment_clearance_days,
            t.followup_month_start_day,
            t.exit_review_months,
            t.recommendation_days,
            t.batch_layoff_service_days,
        ]
    };
    assert_eq!(scalars(&on.targets), scalars(&shipped));
    assert_eq!(on.targets.context, shipped.context[..1], "the context example is the shipped figure");

    // Examples (no default): valid as written.
    assert!(on.publisher.nats_url.is_some());
    assert_eq!(on.policies, Some(PathBuf::from("/etc/leye/policies")));
    assert_eq!(on.targets.budget.len(), 1);
    assert!(on.trust.tls.as_ref().is_some_and(|t| t.client_ca.is_some()));
    let clients = CertificateMap::new(&on.trust.clients).expect("the [[security.clients]] examples are valid");
    assert_eq!(clients.len(), 2);
    on.trust.check_exposure(on.listen).unwrap();
}

/// The keys a table accepts, read from the error that refuses an unknown one.
fn accepted_keys(table_header: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.toml");
    std::fs::write(&file, format!("{table_header}\nzz_not_a_key = 1\n")).unwrap();
    let err = format!("{:#}", ServeSettings::from_file(&file).expect_err("an unknown key is refused"));
    let expected = err.split_once("expected").unwrap_or_else(|| panic!("no key list in: {err}")).1;
    let expected = expected.lines().next().unwrap_or_default();
    let keys: BTreeSet<String> = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    assert!(!keys.is_empty(), "no key list in: {err}");
    keys
}

#[test]
fn the_example_mentions_every_key() {
    let example = read(EXAMPLE_CONFIG);
    let (all_on, _) = uncommented(&example);
    // key = value lines, by the table they are in.
    let mut present: BTreeSet<(String, String)> = BTreeSet::new();
    let mut table = String::new();
    for line in all_on.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            table = header.trim_matches(['[', ']']).to_owned();
        } else if let Some((key, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            present.insert((table.clone(), key.trim().to_owned()));
        }
    }
    for (header, table) in [
        ("", ""),
        ("[security]", "security"),
        ("[[security.clients]]", "security.clients"),
        ("[security.limits]", "security.limits"),
        ("[targets]", "targets"),
        ("[[targets.budget]]", "targets.budget"),
        ("[[targets.context]]", "targets.context"),
    ] {
        for key in accepted_keys(header) {
            if table.is_empty() && ["security", "targets"].contains(&key.as_str()) {
                continue; // tables, not keys
            }
            if table == "targets" && ["budget", "context"].contains(&key.as_str()) {
                continue;
            }
            if table == "security" && ["clients", "limits"].contains(&key.as_str()) {
                continue;
            }
            assert!(
                present.contains(&(table.to_owned(), key.clone())),
                "{EXAMPLE_CONFIG}: `{key}` of [{table}] is not documented (as `key = value` or `#key = value`)"
            );
        }
    }
}

// ------------------------------------------------------------ compose.yaml

/// The compose file as JSON: from `docker compose config` (which validates it
/// against the compose schema), else from PyYAML; `None` (with a SKIP line)
/// when neither is here.
fn compose_file() -> Option<Value> {
    let path = repo().join(COMPOSE);
    let path = path.to_str().unwrap();
    if run("docker", &["compose", "version"]).is_some_and(|o| o.status.success()) {
        let quiet = run("docker", &["compose", "-f", path, "config", "-q"]).unwrap();
        assert!(quiet.status.success(), "docker compose config -q: {}", text(&quiet));
        let out = run("docker", &["compose", "-f", path, "config", "--format", "json"]).unwrap();
        assert!(out.status.success(), "docker compose config: {}", text(&out));
        println!("compose file checked by docker compose config");
        return Some(serde_json::from_slice(&out.stdout).expect("docker compose config --format json"));
    }
    match run("python3", &["-c", "import yaml"]) {
        Some(o) if o.status.success() => {}
        Some(_) => {
            skip("compose", "`docker compose` is not installed and python3 has no PyYAML (`import yaml` fails)");
            return None;
        }
        None => {
            skip("compose", "neither `docker compose` nor python3 is installed");
            return None;
        }
    }
    let to_json = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)";
    let out = run("python3", &["-c", to_json, path]).unwrap();
    assert!(out.status.success(), "{COMPOSE} is not valid YAML: {}", text(&out));
    println!("compose file parsed by PyYAML (`docker compose` is not installed: no schema validation)");
    Some(serde_json::from_slice(&out.stdout).expect("PyYAML's JSON"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Every `--flag` of `args` is one `leye health` accepts.
fn assert_health_flags(args: &[&str], origin: &str) {
    let help = Command::new(BIN).args(["health", "--help"]).output().unwrap();
    assert!(help.status.success(), "leye health --help: {}", text(&help));
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(help.contains(&format!("{flag} ")), "{origin}: `leye health` has no {flag}:\n{help}");
    }
}

#[test]
fn compose_checks_health_and_restarts_every_service() {
    let Some(compose) = compose_file() else { return };
    let services = compose["services"].as_object().expect("services");
    assert!(services.contains_key("leye") && services.len() >= 4, "leye and its three NATS servers");
    for (name, service) in services {
        let check = &service["healthcheck"];
        let test = strings(&check["test"]);
        assert!(test.first().is_some_and(|t| *t == "CMD" || *t == "CMD-SHELL"), "{name}: no healthcheck");
        assert_ne!(check["disable"], Value::Bool(true), "{name}: healthcheck disabled");
        assert_eq!(service["restart"], "unless-stopped", "{name}: restart policy");
    }
    let leye = &services["leye"];
    let test = strings(&leye["healthcheck"]["test"]);
    assert_eq!(test[..3], ["CMD", "leye", "health"], "leye is checked through its gRPC health service");
    assert_health_flags(&test, "compose leye healthcheck");
    let ca = test.iter().position(|a| *a == "--tls-ca").map(|i| test[i + 1]).expect("TLS: the port is TLS only");
    assert!(ca.starts_with("/run/secrets/leye/"), "the CA comes from the mounted secrets: {ca}");
    for (name, service) in services.iter().filter(|(n, _)| n.starts_with("nats")) {
        assert!(service["image"].as_str().is_some_and(|i| i.contains("alpine")), "{name}: wget needs the alpine image");
        let command = strings(&service["command"]);
        assert!(command.windows(2).any(|w| w == ["-m", "8222"]), "{name}: monitoring port");
        let test = strings(&service["healthcheck"]["test"]);
        assert!(test.iter().any(|a| a.contains(":8222/healthz")), "{name}: healthcheck on /healthz");
    }
}

/// The `kurrentdb` profile: three KurrentDB nodes that seed each other, and
/// two leye servers whose `LEYE_STORE` names all three, with their leases in
/// NATS and their personal-data keys in the PostgreSQL (not run here: no
/// Docker).
#[test]
fn compose_kurrentdb_profile_is_a_three_node_cluster_under_two_leye_servers() {
    let Some(compose) = compose_file() else { return };
    let services = compose["services"].as_object().expect("services");
    let nodes = ["kurrentdb-1", "kurrentdb-2", "kurrentdb-3"];
    if !services.contains_key(nodes[0]) {
        skip("compose kurrentdb", "this `docker compose config` lists only the services of active profiles");
        return;
    }
    let in_profile = |s: &Value| strings(&s["profiles"]).contains(&"kurrentdb");
    for node in nodes {
        let service = &services[node];
        assert!(in_profile(service), "{node}: only in the kurrentdb profile");
        let env = &service["environment"];
        assert_eq!(env["KURRENTDB_CLUSTER_SIZE"], "3", "{node}: a three-node cluster (quorum writes)");
        assert_eq!(env["KURRENTDB_NODE_HOST_ADVERTISE_AS"], node, "{node}: advertises its own name");
        let mut seeds: Vec<&str> = env["KURRENTDB_GOSSIP_SEED"].as_str().expect("gossip seed").split(',').collect();
        seeds.sort_unstable();
        let others: Vec<String> = nodes.iter().filter(|n| **n != node).map(|n| format!("{n}:2113")).collect();
        assert_eq!(seeds, others, "{node}: seeded with the two others");
    }
    let mut data_volumes = Vec::new();
    for name in ["leye-kurrent", "leye-kurrent-2"] {
        let leye = &services[name];
        assert!(in_profile(leye), "{name}: only in the kurrentdb profile");
        let env = &leye["environment"];
        let url = env["LEYE_STORE"].as_str().expect("LEYE_STORE");
        let locator: leye_store::StoreLocator = url.parse().expect("LEYE_STORE parses");
        assert!(matches!(locator, leye_store::StoreLocator::KurrentDb(_)), "{url}");
        let settings = leye_store::kurrent::settings(url).expect("the client accepts the URL");
        let mut hosts: Vec<&str> = settings.hosts().iter().map(|h| h.host.as_str()).collect();
        hosts.sort_unstable();
        assert_eq!(hosts, nodes, "{name}: the store URL seeds every node");
        let keys = env["LEYE_KEY_STORE"].as_str().expect("LEYE_KEY_STORE: keys every server reads");
        let keys: leye_store::StoreLocator = keys.parse().expect("LEYE_KEY_STORE parses");
        assert!(matches!(&keys, leye_store::StoreLocator::Postgres(u) if u.contains("@postgres:")), "{name}");
        assert!(env["LEYE_NATS_URL"].as_str().is_some_and(|u| u.contains("nats-3")), "{name}: leases in NATS");
        for dependency in nodes.iter().copied().chain(["postgres"]) {
            assert_eq!(leye["depends_on"][dependency]["condition"], "service_healthy", "{name} waits for {dependency}");
        }
        let volumes = strings(&leye["volumes"]);
        assert!(volumes.contains(&"leye-kurrent-keys:/var/lib/leye/keys"), "{name}: the shared key files");
        data_volumes.extend(volumes.into_iter().filter(|v| v.ends_with(":/var/lib/leye")));
    }
    assert_eq!(data_volumes.len(), 2, "a data volume each");
    assert_ne!(data_volumes[0], data_volumes[1], "each server its own read model and audit trail");
    for (name, service) in services.iter().filter(|(_, s)| !in_profile(s)) {
        let depends = service["depends_on"].as_object().map(|d| d.keys().cloned().collect()).unwrap_or(Vec::new());
        assert!(!depends.iter().any(|d| d.starts_with("kurrentdb")), "{name}: outside the profile, needs no KurrentDB");
    }
}

// ------------------------------------------------------------ leye.service

/// The one value of `key=` in the unit.
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    let values: Vec<&str> =
        unit.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(str::trim).collect();
    assert_eq!(values.len(), 1, "{UNIT}: {key}= once, found {values:?}");
    values[0]
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = read(UNIT);
    let one = |key: &str| unit_value(&unit, key).to_owned();
    assert_eq!(one("Type"), "simple", "leye does not call sd_notify");
    assert_eq!(one("User"), "leye");
    assert_eq!(one("ExecStart"), "/usr/local/bin/leye serve --config /etc/leye/leye.toml");
    assert_eq!(one("Restart"), "on-failure");
    assert_eq!(one("KillSignal"), "SIGTERM");
    for (key, value) in
        [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"), ("ProtectHome", "yes")]
    {
        assert_eq!(one(key), value, "{key}");
    }
    // The one writable place is the example's data directory.
    let data_dir = load(&repo().join(EXAMPLE_CONFIG)).data_dir;
    assert_eq!(Path::new(&one("ReadWritePaths")), data_dir);
    // The default max_connections fits under the descriptor limit.
    let nofile: u64 = one("LimitNOFILE").parse().expect("LimitNOFILE is a number");
    assert!(nofile - leye::grpc::net::FD_RESERVE >= Limits::default().max_connections as u64);
    // The stop timeout covers the server's grace for requests in flight.
    let stop: u64 = one("TimeoutStopSec").trim_end_matches('s').parse().expect("TimeoutStopSec in seconds");
    assert!(stop > leye::grpc::SHUTDOWN_GRACE.as_secs() + 5, "TimeoutStopSec={stop}");

    if run("systemd-analyze", &["--version"]).is_none() {
        skip("systemd-analyze verify", "systemd-analyze is not installed");
        return;
    }
    // verify checks that ExecStart's program exists: point it at the leye
    // just built instead of /usr/local/bin/leye, which a build machine lacks.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("leye.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/leye", BIN)).unwrap();
    let out = run("systemd-analyze", &["verify", copy.to_str().unwrap()]).unwrap();
    let report = text(&out);
    // Unknown keys and bad values are only warnings (exit 0): any line about
    // this unit fails the test; lines about the host's own units do not.
    let ours: Vec<&str> = report.lines().filter(|l| l.contains("leye.service")).collect();
    assert!(out.status.success() && ours.is_empty(), "systemd-analyze verify {UNIT}:\n{report}");
    if !report.trim().is_empty() {
        println!("systemd-analyze verify, about other units:\n{report}");
    }
}

// ------------------------------------------------ Dockerfile, .dockerignore

/// Instructions (keyword, arguments) with continuations joined and comments dropped.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(t);
                let (keyword, args) = current.split_once(' ').unwrap_or((current.as_str(), ""));
                out.push((keyword.to_uppercase(), args.trim().to_owned()));
                current.clear();
            }
        }
    }
    out
}

fn workspace_members() -> Vec<String> {
    let root: toml::Table = read("Cargo.toml").parse().unwrap();
    root["workspace"]["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_dockerfile_caches_dependencies_and_runs_unprivileged_with_a_healthcheck() {
    let all = instructions(&read(DOCKERFILE));
    let froms: Vec<usize> = (0..all.len()).filter(|&i| all[i].0 == "FROM").collect();
    assert!(froms.len() >= 2, "multi-stage");
    let runtime = &all[*froms.last().unwrap()..];
    let find = |keyword: &'static str| runtime.iter().filter(move |(k, _)| k == keyword).map(|(_, a)| a.as_str());

    // The runtime image.
    assert!(
        find("RUN").any(|a| a.contains("apt-get install") && a.contains("ca-certificates")),
        "ca-certificates in the runtime image"
    );
    let user = find("USER").next_back().expect("a USER in the runtime image");
    let name = user.split(':').next().unwrap();
    assert!(!["root", "0"].contains(&name), "non-root: USER {user}");
    assert!(find("EXPOSE").any(|a| a.split_whitespace().any(|p| p == "50051")), "EXPOSE 50051");
    let env: String = find("ENV").collect::<Vec<_>>().join(" ");
    for key in ["LEYE_LISTEN=0.0.0.0:50051", "LEYE_DATA_DIR=/var/lib/leye", "LEYE_LOG_FORMAT=json"] {
        assert!(env.contains(key), "ENV {key}");
    }
    let health = find("HEALTHCHECK").next().expect("a HEALTHCHECK");
    assert!(health.contains("leye health"), "HEALTHCHECK through the gRPC health service: {health}");
    let args: Vec<&str> = health.split_whitespace().map(|a| a.trim_matches(['"', ';'])).collect();
    let after_cmd = args.iter().position(|a| *a == "CMD").expect("HEALTHCHECK ... CMD");
    assert_health_flags(&args[after_cmd..], "Dockerfile HEALTHCHECK");

    // Dependencies first: every member's manifest, then a build, then the sources.
    let builds: Vec<usize> =
        (0..all.len()).filter(|&i| all[i].0 == "RUN" && all[i].1.contains("cargo build")).collect();
    assert!(builds.len() >= 2, "a dependency build, then the real one");
    let (deps_build, real_build) = (builds[0], builds[builds.len() - 1]);
    let copies = |range: std::ops::Range<usize>| -> Vec<String> {
        all[range]
            .iter()
            .filter(|(k, a)| k == "COPY" && !a.starts_with("--from"))
            .flat_map(|(_, a)| {
                let words: Vec<&str> = a.split_whitespace().collect();
                words[..words.len() - 1].iter().map(|s| s.trim_end_matches('/').to_owned()).collect::<Vec<_>>()
            })
            .collect()
    };
    let early = copies(0..deps_build);
    let late = copies(deps_build..real_build);
    for member in workspace_members() {
        let manifest = format!("{member}/Cargo.toml");
        assert!(early.contains(&manifest), "{manifest} copied before the dependency build");
        assert!(all[deps_build].1.contains(&member), "a stub source for {member} before the dependency build");
    }
    for source in &early {
        assert!(
            source.ends_with("Cargo.toml") || source == "Cargo.lock" || source.starts_with("proto/"),
            "{source}: only manifests (and the contract proto/build.rs compiles) before the dependency build"
        );
    }
    for needed in ["proto", "services", "projections", "policies"] {
        assert!(late.iter().any(|s| s == needed), "{needed} copied for the real build");
    }

    // .dockerignore keeps build output, history, data and secrets out, and
    // nothing the Dockerfile copies.
    let ignore = read(".dockerignore");
    let patterns: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for needed in ["target/", ".git/", "docker/secrets/", "leye-data/"] {
        assert!(patterns.contains(&needed), ".dockerignore: {needed}");
    }
    for source in early.iter().chain(&late) {
        let top = source.split('/').next().unwrap();
        assert!(
            !patterns.iter().any(|p| p.trim_end_matches('/') == top || p.trim_end_matches('/') == source),
            ".dockerignore excludes {source}, which the Dockerfile copies"
        );
    }
}
