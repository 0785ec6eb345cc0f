//! The same three variants as [`super::sealing`] through real gRPC over TLS
//! (`leye-bench-sealing --grpc`): a `leye serve` (`server::run`, in this
//! process, on a free loopback port, with a development CA and server
//! certificate, tokens of the development issuer, the guard and the audit
//! trail as always) per variant, and `clients` concurrent TLS clients sending
//! the four commands per person (`RegisterUnemployment`, `RecordContact`,
//! `RecommendJob`, `RecordPlacement`). The variants differ only in the
//! benchmark-only settings `bench_unsealed` (no chain) and
//! `bench_clear_personal_data` (no sealing).

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use hdrhistogram::Histogram;
use leye_proto::{
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use tokio::task::JoinSet;

use super::{histogram, sealing::Variant};
use crate::{
    client::{Authed, Bearer},
    config::ServeConfig,
    trust::TlsFiles,
};

/// One variant's commands over gRPC.
#[derive(Debug)]
pub struct GrpcRun {
    pub variant: Variant,
    pub commands: u64,
    pub secs: f64,
    /// CPU time of this process (server and clients) during the run.
    pub cpu_secs: f64,
    pub latency: Histogram<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl GrpcRun {
    pub fn rate(&self) -> f64 {
        self.commands as f64 / self.secs.max(1e-9)
    }

    /// CPU µs per command (server, TLS and clients together).
    pub fn cpu_per_command(&self) -> f64 {
        self.cpu_secs * 1e6 / self.commands.max(1) as f64
    }
}

/// Serves `variant` over TLS and sends `persons` × 4 commands with `clients` clients.
pub async fn grpc_run(tmp: &Path, variant: Variant, persons: u64, clients: usize) -> anyhow::Result<GrpcRun> {
    let dir = tempfile::Builder::new().prefix("leye-bench-sealing-grpc-").tempdir_in(tmp)?;
    let data = dir.path().join("data");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls)?;
    let ca = leye_auth::dev::create_ca(&tls, "bench")?;
    leye_auth::dev::issue_server_cert(&ca, &tls, &["localhost".into()])?;
    crate::trust::dev_issuer(&data)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut config = ServeConfig { listen: addr, ..ServeConfig::in_data_dir(&data) };
    config.finder.enabled = false;
    config.bench_unsealed = variant == Variant::Plain;
    config.bench_clear_personal_data = variant != Variant::Sealed;
    config.trust.tls =
        Some(TlsFiles { cert: tls.join("server.pem"), key: tls.join("server.key.pem"), client_ca: None });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::run(
        config,
        listener,
        async {
            let _ = stopped.await;
        },
        Arc::new(chrono::Utc::now),
    ));
    let cpu_before = super::process_cpu_secs();
    let result = drive(&tls.join("bench-ca.pem"), &data, addr, persons, clients).await;
    let cpu_secs = super::process_cpu_secs() - cpu_before;
    let _ = stop.send(());
    server.await.context("the server task failed")?.context("the server failed")?;
    let (commands, secs, latency, errors, first_error) = result?;
    Ok(GrpcRun { variant, commands, secs, cpu_secs, latency, errors, first_error })
}

type Driven = (u64, f64, Histogram<u64>, u64, Option<String>);

async fn drive(ca: &Path, data: &Path, addr: SocketAddr, persons: u64, clients: usize) -> anyhow::Result<Driven> {
    let ca = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
    let (key, _) = crate::trust::dev_issuer(data)?;
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(crate::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("bench", &[leye_auth::Role::Caseworker], &["120000"])
    };
    let token = leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp())?;
    let host = format!("localhost:{}", addr.port());
    let mut channel = None;
    for _ in 0..200 {
        match crate::client::channel(&host, Some((&ca, "localhost"))).await {
            Ok(c) => {
                channel = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
        }
    }
    let channel = channel.context("the bench server did not come up")?;
    let authed: Authed = tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(&token)?);
    let base: u64 = rand::random::<u32>().into();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..clients {
        set.spawn(client(PersonCaseServiceClient::new(authed.clone()), base, persons, next.clone()));
    }
    let (mut latency, mut commands, mut errors, mut first_error) = (histogram(), 0, 0, None);
    while let Some(joined) = set.join_next().await {
        let (h, n, e, first) = joined.context("a client task failed")?;
        latency.add(&h).map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
        commands += n;
        errors += e;
        first_error = first_error.or(first);
    }
    Ok((commands, started.elapsed().as_secs_f64(), latency, errors, first_error))
}

fn context() -> Option<CommandContext> {
    Some(CommandContext {
        command_id: uuid::Uuid::new_v4().to_string(),
        office: "120111001".into(),
        ..Default::default()
    })
}

pub(crate) async fn client(
    mut c: PersonCaseServiceClient<Authed>,
    base: u64,
    persons: u64,
    next: Arc<AtomicU64>,
) -> (Histogram<u64>, u64, u64, Option<String>) {
    let (mut h, mut n, mut errors, mut first) = (histogram(), 0u64, 0u64, None);
    let today = leye_domain::beijing_date(chrono::Utc::now());
    let date = today.pred_opt().unwrap_or(today).to_string();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= persons {
            return (h, n, errors, first);
        }
        let id = match super::personal::person(base + i, today) {
            Ok((id, _)) => id,
            Err(e) => {
                first.get_or_insert_with(|| format!("bench data: {e}"));
                return (h, n, errors + 1, first);
            }
        };
        let started = Instant::now();
        let registered = c
            .register_unemployment(pb::RegisterUnemploymentRequest {
                context: context(),
                effective_date: date.clone(),
                registration: Some(pb::Registration {
                    resident_id: id.as_str().to_string(),
                    name: "王测试".into(),
                    hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
                    residence: Some(pb::Residence {
                        district_code: "120111".into(),
                        street_code: "120111001".into(),
                        community_code: "120111001002".into(),
                    }),
                    education: pb::Education::SeniorSecondary as i32,
                    ..Default::default()
                }),
            })
            .await;
        let case_id = match registered.map(|r| r.into_inner().result) {
            Ok(Some(r)) => r.case_id,
            Ok(None) => {
                errors += 1;
                first.get_or_insert_with(|| "RegisterUnemployment answered without a result".into());
                continue;
            }
            Err(status) => {
                errors += 1;
                first.get_or_insert_with(|| format!("RegisterUnemployment: {:?}: {}", status.code(), status.message()));
                continue;
            }
        };
        h.saturating_record(micros(started));
        n += 1;
        for kind in 1..4 {
            let started = Instant::now();
            let done = match kind {
                1 => c
                    .record_contact(pb::RecordContactRequest {
                        context: context(),
                        case_id: case_id.clone(),
                        effective_date: date.clone(),
                        contact: Some(pb::Contact {
                            channel: pb::ContactChannel::Phone as i32,
                            outcome: pb::ContactOutcome::StillSeeking as i32,
                            note: "月度跟踪服务".into(),
                        }),
                    })
                    .await
                    .map(drop),
                2 => c
                    .recommend_job(pb::RecommendJobRequest {
                        context: context(),
                        case_id: case_id.clone(),
                        effective_date: date.clone(),
                        recommendation: Some(pb::JobRecommendation {
                            vacancy_id: format!("V-{i}"),
                            ..Default::default()
                        }),
                    })
                    .await
                    .map(drop),
                _ => c
                    .record_placement(pb::RecordPlacementRequest {
                        context: context(),
                        case_id: case_id.clone(),
                        effective_date: date.clone(),
                        placement: Some(pb::Placement {
                            kind: pb::PlacementKind::Flexible as i32,
                            ..Default::default()
                        }),
                    })
                    .await
                    .map(drop),
            };
            match done {
                Ok(()) => {
                    h.saturating_record(micros(started));
                    n += 1;
                }
                Err(status) => {
                    errors += 1;
                    first.get_or_insert_with(|| format!("{:?}: {}", status.code(), status.message()));
                    break;
                }
            }
        }
    }
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1)
}
