//! The dashboard end to end in a real browser: `leye serve` on a generated
//! population, headless Debian chromium driven by playwright-core
//! (`tests/dashboard/run.js`), and every figure the page showed compared with
//! gRPC's answer for the same jurisdiction and dates. Screenshots of each
//! view go to `target/dashboard-screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `npm ci` in `tests/dashboard/` (the test
//! command, `scripts/test.sh`, provides both and sets `LEYE_REQUIRE_BROWSER=1`);
//! without them the test prints SKIP, unless that variable is set.

mod dash;
mod support;

use std::path::{Path, PathBuf};

use dash::{HEPING, Served, token};
use leye_auth::Role;
use leye_proto::analytics::v1 as pb;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether the browser and the driver are there; panics when they must be.
fn browser_ready() -> bool {
    let script_dir = repo().join("tests/dashboard");
    let missing: Vec<&str> = [
        (Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium"),
        (script_dir.join("node_modules/playwright-core").exists(), "tests/dashboard/node_modules (npm ci)"),
        (std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success()), "node"),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, what)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var_os("LEYE_REQUIRE_BROWSER").is_none(), "missing for the browser test: {missing:?}");
    eprintln!("SKIP dashboard browser test: missing {missing:?} (scripts/test.sh installs them)");
    false
}

/// The page's targets (as the page kept them) against gRPC's for the same request.
async fn same_targets(
    client: &mut pb::targets_service_client::TargetsServiceClient<leye::client::Authed>,
    seen: &Value,
) {
    let j = seen["jurisdiction"].as_str().unwrap();
    let want = client
        .get_targets(pb::GetTargetsRequest {
            jurisdiction: j.into(),
            period_from: seen["period_from"].as_str().unwrap().into(),
            period_to: seen["period_to"].as_str().unwrap().into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("gRPC targets of {j:?}: {e}"))
        .into_inner();
    if let Some(as_of) = seen["as_of"].as_str() {
        assert_eq!(as_of, want.as_of, "{j}");
    }
    let targets = seen["targets"].as_array().unwrap();
    assert_eq!(targets.len(), want.targets.len(), "{j}");
    for (t, g) in targets.iter().zip(&want.targets) {
        assert_eq!(t["id"], g.id.as_str());
        assert_eq!(t["numerator"].as_i64(), Some(g.numerator), "{j} {}", g.id);
        assert_eq!(t["denominator"].as_i64(), g.denominator, "{j} {}", g.id);
        // serde_json parses floats to within one ulp (no `float_roundtrip`).
        let v = t["value"].as_f64().expect("a value");
        assert!((v - g.value).abs() <= 1e-12 * g.value.abs().max(1.0), "{}: {v} vs {}", g.id, g.value);
        assert_eq!(t["met"].as_bool(), g.met, "{j} {}", g.id);
        assert_eq!(t["goal"], g.goal.as_str(), "{j} {}", g.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_browser_shows_what_grpc_answers() {
    if !browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    dash::generate(dir.path(), 300).await;
    // A city budget, so that the subsidies view has a line to compare.
    let config = dir.path().join("leye.toml");
    std::fs::write(
        &config,
        "[[targets.budget]]\nid = \"city_community_service_posts\"\ntitle = \"全市 社区服务岗位补贴\"\n\
         jurisdiction = \"\"\nprogrammes = [\"community-service-post\"]\namount_fen = 50000000\n\
         kind = \"budget\"\nsource = \"test\"\n",
    )
    .unwrap();
    let served = Served::start_with(dir.path(), &["--config", config.to_str().unwrap()]).await;
    served.settle().await;
    let city = token(dir.path(), "analyst-city", &[Role::Analyst], &["120000"]);
    let heping = token(dir.path(), "analyst-hp", &[Role::Analyst], &[HEPING]);
    let observed_file = dir.path().join("observed.json");
    let screenshots = repo().join("target/dashboard-screenshots");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        tokio::process::Command::new("node")
            .arg(repo().join("tests/dashboard/run.js"))
            .current_dir(repo().join("tests/dashboard"))
            .env("LEYE_DASHBOARD_URL", format!("http://{}", served.dashboard))
            .env("TOKEN_CITY", &city)
            .env("TOKEN_HEPING", &heping)
            .env("OBSERVED_FILE", &observed_file)
            .env("SCREENSHOT_DIR", &screenshots)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser run ends within 5 minutes")
    .expect("run node");
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        served.log_text()
    );
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(&observed_file).unwrap()).unwrap();

    let mut client = pb::targets_service_client::TargetsServiceClient::new(
        support::authed(served.grpc, &city).await.expect("gRPC channel"),
    );
    // City → district → street → community: each level's figures are gRPC's.
    let levels = seen["levels"].as_array().unwrap();
    assert!(levels.len() >= 3, "drilled down at least to a street");
    for (level, len) in levels.iter().zip([0, 6, 9, 12]) {
        assert_eq!(level["jurisdiction"].as_str().unwrap().len(), len);
        same_targets(&mut client, level).await;
    }
    // The 12 monthly periods of the trend.
    let months = seen["trend"]["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    for m in months {
        let as_level = serde_json::json!({"jurisdiction": "", "period_from": m["period_from"],
            "period_to": m["period_to"], "targets": m["targets"]});
        same_targets(&mut client, &as_level).await;
    }
    // Both pages of the action list.
    for p in seen["actions"]["pages"].as_array().unwrap() {
        let want = client
            .list_actions(pb::ListActionsRequest {
                list: pb::ActionList::LongTermUnemployed as i32,
                page_size: p["page_size"].as_u64().unwrap() as u32,
                page_token: p["token"].as_str().unwrap().into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<&str> = p["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
        assert_eq!(ids, want.items.iter().map(|i| i.case_id.as_str()).collect::<Vec<_>>());
        assert_eq!(p["total"].as_u64(), Some(u64::from(want.total)));
    }
    // The eligible list's first page.
    let want = client
        .list_eligible(pb::ListEligibleRequest {
            page_size: seen["eligible"]["page_size"].as_u64().unwrap() as u32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen["eligible"]["total"].as_u64(), Some(u64::from(want.total)));
    let items: Vec<(String, String)> = want.items.iter().map(|i| (i.case_id.clone(), i.rule_id.clone())).collect();
    let shown: Vec<(String, String)> = serde_json::from_value(seen["eligible"]["items"].clone()).unwrap();
    assert_eq!(shown, items);
    // Subsidy totals against budgets, this year for the city.
    let level = &levels[0];
    let request = pb::GetTargetsRequest {
        period_from: level["period_from"].as_str().unwrap().into(),
        period_to: level["period_to"].as_str().unwrap().into(),
        ..Default::default()
    };
    let totals = pb::ListSubsidyTotalsRequest {
        period_from: request.period_from.clone(),
        period_to: request.period_to.clone(),
        ..Default::default()
    };
    let want = client.list_subsidy_totals(totals).await.unwrap().into_inner();
    let shown = seen["subsidies"]["totals"].as_array().unwrap();
    assert_eq!(shown.len(), want.totals.len());
    for (s, w) in shown.iter().zip(&want.totals) {
        assert_eq!(
            (s["programme"].as_str(), s["amount_fen"].as_i64()),
            (Some(w.programme.as_str()), Some(w.amount_fen))
        );
    }
    let report = client.get_targets(request).await.unwrap().into_inner();
    let budgets = seen["subsidies"]["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), report.budgets.len());
    assert!(!budgets.is_empty(), "the configured city budget is shown");
    for (b, w) in budgets.iter().zip(&report.budgets) {
        assert_eq!((b["granted_fen"].as_i64(), b["amount_fen"].as_i64()), (Some(w.granted_fen), Some(w.amount_fen)));
    }
    // Heping's analyst: Heping's figures, Xiqing refused.
    let mut heping_client = pb::targets_service_client::TargetsServiceClient::new(
        support::authed(served.grpc, &heping).await.expect("gRPC channel"),
    );
    same_targets(&mut heping_client, &seen["heping"]).await;
    assert!(seen["heping_xiqing_error"].as_str().unwrap().contains("OUT_OF_JURISDICTION"));
    assert_eq!(seen["blocked"].as_array().map(Vec::len), Some(0));
    for shot in ["1-targets-city", "5-trend", "6-actions-page-2", "7-eligible", "8-subsidies", "9-heping-denied-xiqing"]
    {
        let png = screenshots.join(format!("{shot}.png"));
        assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000), "{} saved", png.display());
    }
}
