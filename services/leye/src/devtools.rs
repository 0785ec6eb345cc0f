//! `leye dev …`, `leye audit …` and `leye health`: development credentials,
//! so that a new user and the tests need nothing from outside; the audit
//! trail's offline check; and a health probe for orchestrators (Docker
//! HEALTHCHECK, compose) that speaks the standard gRPC health service.
//!
//! Development credentials are for development: a token signed by the
//! development issuer of a data directory is accepted only by a server that
//! runs without a configured issuer (loopback, or `--insecure`).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use leye_auth::{Role, dev};

use crate::trust::{AUDIT_FILE, AUDIT_KEY_FILE, DEV_KEY_ID, dev_issuer};

/// `leye dev`.
#[derive(Debug, clap::Subcommand)]
pub enum DevCommand {
    /// Print a bearer token from the development issuer of a data directory
    /// (created if missing), for grpcurl and clients: `-H "authorization: Bearer $TOKEN"`.
    Token(TokenArgs),
    /// Write a development CA, a server certificate and client certificates
    /// (PEM), and print the settings that use them.
    Certs(CertsArgs),
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The principal: a staff id (工号) or system account, e.g. staff-0042.
    #[arg(long)]
    pub subject: String,
    /// A role: caseworker, supervisor, analyst, auditor, system, admin (repeat for several).
    #[arg(long = "role", required = true)]
    pub roles: Vec<Role>,
    /// Division codes: 120000 (the city), a district, street or community code (repeatable).
    #[arg(long = "jurisdiction", required = true)]
    pub jurisdiction: Vec<String>,
    /// The service office the principal records facts for.
    #[arg(long)]
    pub office: Option<String>,
    /// For a `system` principal: gRPC methods granted, e.g.
    /// leye.person.v1.PersonCaseService/RecordPlacement (repeatable).
    #[arg(long = "operation")]
    pub operations: Vec<String>,
    /// Lifetime in seconds (at most 12 hours).
    #[arg(long, default_value_t = 8 * 3600)]
    pub ttl_secs: u64,
    #[arg(long, hide_env_values = true, env = "LEYE_DATA_DIR", default_value = crate::config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CertsArgs {
    /// Directory to write into (created; existing files are not overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// DNS names and IP addresses of the server certificate.
    #[arg(long = "server-name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
    pub server_names: Vec<String>,
    /// Common names of client certificates to issue (repeatable), e.g. a system account.
    #[arg(long = "client")]
    pub clients: Vec<String>,
}

/// `leye audit`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the audit trail's hash chain; exits non-zero naming the first break.
    Verify {
        #[arg(long, hide_env_values = true, env = "LEYE_DATA_DIR", default_value = crate::config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
}

/// Signs a development token.
pub fn token(args: &TokenArgs, now_unix_secs: i64) -> anyhow::Result<String> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let (key, _) = dev_issuer(&args.data_dir)?;
    let jurisdiction: Vec<&str> = args.jurisdiction.iter().map(String::as_str).collect();
    let mut claims = dev::DevClaims::new(&args.subject, &args.roles, &jurisdiction);
    claims.office = args.office.clone();
    claims.operations = args.operations.clone();
    claims.ttl = std::time::Duration::from_secs(args.ttl_secs);
    claims.key_id = Some(DEV_KEY_ID.to_string());
    dev::issue_token(&key, &claims, now_unix_secs).context("signing the token")
}

/// Writes the development CA and certificates; describes them on `out`.
pub fn certs(args: &CertsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let ca = dev::create_ca(&args.out, "leye-dev").context("creating the CA")?;
    let server =
        dev::issue_server_cert(&ca, &args.out, &args.server_names).context("issuing the server certificate")?;
    writeln!(out, "# [security] settings for leye serve (development certificates in {})", args.out.display())?;
    writeln!(out, "tls_cert = \"{}\"", server.cert.display())?;
    writeln!(out, "tls_key = \"{}\"", server.key.display())?;
    writeln!(out, "tls_client_ca = \"{}\"", ca.cert.display())?;
    for cn in &args.clients {
        let client = dev::issue_client_cert(&ca, &args.out, cn).with_context(|| format!("issuing client {cn}"))?;
        let fp = dev::fingerprint(&client.cert)?;
        writeln!(out, "# client {cn}: cert {} key {}", client.cert.display(), client.key.display())?;
        writeln!(out, "# [[security.clients]]\n# sha256 = \"{fp}\"\n# principal = \"{cn}\"")?;
        writeln!(out, "# roles = [\"system\"]\n# jurisdiction = [\"120000\"]\n# operations = [\"…\"]")?;
    }
    writeln!(out, "# clients trust {} as the server's CA", ca.cert.display())?;
    Ok(())
}

/// Verifies the audit trail of a data directory; `Ok(false)` when it is broken.
pub fn verify_audit(data_dir: &Path, out: &mut impl Write) -> anyhow::Result<bool> {
    let trail = data_dir.join(AUDIT_FILE);
    anyhow::ensure!(trail.exists(), "no audit trail at {}", trail.display());
    let report = leye_audit::verify_file(&trail, &data_dir.join(AUDIT_KEY_FILE))
        .map_err(|e| anyhow::anyhow!("verifying {}: {e}", trail.display()))?;
    let pb = crate::grpc::audit::verify_pb(&report);
    if pb.intact {
        writeln!(
            out,
            "audit trail intact: {} records (seq {}..={}), head {}",
            pb.records, pb.first_seq, pb.last_seq, pb.head_hash
        )?;
    } else {
        writeln!(out, "audit trail BROKEN at seq {}: {} ({})", pb.broken_at_seq, pb.break_kind, pb.detail)?;
    }
    Ok(pb.intact)
}

/// `leye health`: asks a running server's gRPC health service.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The server, host:port.
    #[arg(long, default_value = crate::config::DEFAULT_LISTEN)]
    pub addr: String,
    /// CA (PEM) to verify the server's TLS certificate; without it, plain text.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the host of --addr).
    #[arg(long)]
    pub server_name: Option<String>,
    /// The service to ask about; empty: the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,
}

/// The serving status of `args.service`; `Ok(true)` when SERVING. Health needs no credentials.
pub async fn health(args: &HealthArgs, out: &mut impl Write) -> anyhow::Result<bool> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let ask = async {
        let ca = args.tls_ca.as_ref().map(std::fs::read).transpose().context("reading --tls-ca")?;
        let host = args.addr.rsplit_once(':').map_or(args.addr.as_str(), |(h, _)| h).trim_matches(['[', ']']);
        let name = args.server_name.clone().unwrap_or_else(|| host.to_string());
        let channel = crate::client::channel(&args.addr, ca.as_deref().map(|ca| (ca, name.as_str()))).await?;
        let response = HealthClient::new(channel).check(HealthCheckRequest { service: args.service.clone() }).await?;
        anyhow::Ok(response.into_inner().status())
    };
    let status = tokio::time::timeout(std::time::Duration::from_secs(args.timeout_secs), ask)
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {} within {} s", args.addr, args.timeout_secs))??;
    writeln!(out, "{}", status.as_str_name())?;
    Ok(status == ServingStatus::Serving)
}
