//! One as-of default; periods and dates at their edges, refused alike by
//! gRPC and the CLI.

use super::*;

// ============================================================================
// One as-of default; periods and dates at their edges
// ============================================================================

/// Flows over `[F, E]` with `E = min(T, A)`: TARGETS.md, "Facts inside the
/// period are counted up to E"; "open at some time in [x, y]"; "a placement
/// current on some day of [F, E]".
const STOCKS: [&str; 5] = [
    "long_term_unemployed",
    "long_term_at_risk",
    "zero_employment_households_outstanding",
    "full_employment_communities",
    "public_welfare_local_share",
];

/// The targets export for `j`, `from`..`to` (and `--as-of`): (id, numerator, denominator).
fn exported_targets(
    d: &Path,
    out: &Path,
    j: &str,
    from: NaiveDate,
    to: NaiveDate,
    as_of: Option<NaiveDate>,
) -> Result<Vec<(String, String, String)>, String> {
    let mut args: Vec<String> =
        ["projections", "export", "targets", "--from", &from.to_string(), "--to", &to.to_string()]
            .map(String::from)
            .to_vec();
    if let Some(a) = as_of {
        args.extend(["--as-of".to_string(), a.to_string()]);
    }
    if !j.is_empty() {
        args.extend(["--jurisdiction".to_string(), j.to_string()]);
    }
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cli(&args, d);
    if !o.status.success() {
        return Err(stderr(&o));
    }
    let text = std::fs::read_to_string(out).unwrap();
    Ok(text
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let r = csv_cells(l);
            (r[0].clone(), r[2].clone(), r[3].clone())
        })
        .collect())
}

fn figures(r: &apb::GetTargetsResponse) -> Vec<(String, String, String)> {
    r.targets
        .iter()
        .map(|t| (t.id.clone(), t.numerator.to_string(), t.denominator.map(|n| n.to_string()).unwrap_or_default()))
        .collect()
}

/// DEFECT. A period that has not begun on its as-of date (`A < F`: the
/// second half of this year asked as of 30 June, or next year with the
/// default as-of, today) has no day in `[F, E]`, so every flow over the
/// period is empty (TARGETS.md: "Facts inside the period are counted up to
/// E = min(T, A)"; `reemployment_rate`: "a spell open at some time in
/// [F, E]"; `difficulty_employment_rate`: "a placement current on some day
/// of [F, E]"). Expected: 0 / 0 for the rates over the period. Happens:
/// `reemployment_rate` counts every spell open on `A` in its denominator
/// (0 / 10 for the city: a re-employment rate of 0 % for a period not begun)
/// and `difficulty_employment_rate` counts recognised persons with a current
/// placement (5 / 8), on gRPC and in the export alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_not_begun_on_its_as_of_date_counts_no_flow() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    generate(&d, 60);
    let head = store_head(&d);
    let mut leye = Leye::start(&d, None, &[]).await;
    let mut client = leye.targets_client().await;
    let t = today();
    let y = t.year();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let mut problems = Vec::new();
    for (what, from, to, as_of) in [
        ("next year, as-of default (today)", date(y + 1, 1, 1), date(y + 1, 12, 31), None),
        ("July–December of last year, as of 30 June", date(y - 1, 7, 1), date(y - 1, 12, 31), Some(date(y - 1, 6, 30))),
    ] {
        for j in ["", DISTRICT] {
            let mut req = targets_request(j, from, to, as_of);
            req.min_position = head;
            let grpc = client.get_targets(req).await.expect("GetTargets").into_inner();
            for tg in grpc.targets.iter().filter(|tg| !STOCKS.contains(&tg.id.as_str())) {
                if tg.numerator != 0 || tg.denominator.unwrap_or(0) != 0 {
                    problems.push(format!(
                        "{what}, jurisdiction {j:?}: {} = {} / {:?} on as_of {}, expected 0 / 0",
                        tg.id, tg.numerator, tg.denominator, grpc.as_of
                    ));
                }
            }
        }
    }
    drop(client);
    leye.terminate().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One as-of default for the CLI and the API (README, "Exports"; the proto's
/// `as_of`): the same figures from `leye projections export targets` and
/// `GetTargets` for the same period left to its default as-of, for odd
/// windows too: next year, a year before any event, an as-of before any
/// event, a period around a leap day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_grpc_give_the_same_figures_for_odd_windows_with_the_default_as_of() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    generate(&d, 60);
    let head = store_head(&d);
    let mut leye = Leye::start(&d, None, &[]).await;
    let mut client = leye.targets_client().await;
    let t = today();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let mut problems = Vec::new();
    for (what, from, to, as_of) in [
        ("next year", date(t.year() + 1, 1, 1), date(t.year() + 1, 12, 31), None),
        ("the year 2000", date(2000, 1, 1), date(2000, 12, 31), None),
        ("this year as of 2000-06-30", date(t.year(), 1, 1), t, Some(date(2000, 6, 30))),
        ("February 2024 (leap day)", date(2024, 2, 1), date(2024, 2, 29), None),
        ("the last 12 months", t - chrono::Days::new(365), t, None),
    ] {
        for j in ["", DISTRICT, "120111001", "120111001002"] {
            let mut req = targets_request(j, from, to, as_of);
            req.min_position = head;
            let grpc = match client.get_targets(req).await {
                Ok(r) => r.into_inner(),
                Err(e) => {
                    problems.push(format!("{what} {j:?}: GetTargets refused: {e:?}"));
                    continue;
                }
            };
            if from.year() == 2000 || as_of.is_some_and(|a| a.year() == 2000) {
                // Before any event: nothing at all.
                for tg in &grpc.targets {
                    if tg.numerator != 0 || tg.denominator.unwrap_or(0) != 0 {
                        problems.push(format!("{what} {j:?}: {} = {}/{:?}", tg.id, tg.numerator, tg.denominator));
                    }
                }
            }
            let file = tmp.path().join(format!("t-{from}-{j}.csv"));
            match exported_targets(&d, &file, j, from, to, as_of) {
                Ok(csv) if csv == figures(&grpc) => {}
                Ok(csv) => problems.push(format!("{what} {j:?}: CLI {csv:?}\n  gRPC {:?}", figures(&grpc))),
                Err(e) => problems.push(format!("{what} {j:?}: export refused: {e}")),
            }
        }
    }
    drop(client);
    leye.terminate().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Dates at their edges on gRPC: a leap day that does not exist, a period
/// ending before it starts, a year before 1900 (docs/API.md: "Dates from
/// 1900 on (an earlier year is refused naming that rule)") are refused
/// naming the field; a real leap day is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_date_edge_cases_are_refused_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir_all(&d).unwrap();
    let mut leye = Leye::start(&d, None, &[]).await;
    let mut client = leye.targets_client().await;
    let raw = |from: &str, to: &str, as_of: &str| apb::GetTargetsRequest {
        jurisdiction: DISTRICT.into(),
        period_from: from.into(),
        period_to: to.into(),
        as_of: as_of.into(),
        min_position: 0,
    };
    let mut problems = Vec::new();
    for (from, to, as_of, field) in [
        ("2025-01-01", "2025-02-29", "", "period_to"),
        ("2026-07-01", "2026-06-30", "", "period_to"),
        ("1899-01-01", "1899-12-31", "", "period_from"),
        ("2024-01-01", "2024-12-31", "1899-12-31", "as_of"),
        ("2024-01-01", "2024-12-31", "2023-02-29", "as_of"),
        ("2024-01-01", "+10000-01-01", "", "period_to"),
    ] {
        match client.get_targets(raw(from, to, as_of)).await {
            Ok(_) => problems.push(format!("GetTargets {from}..{to} as_of {as_of:?} accepted")),
            Err(e) => {
                if e.code() != Code::InvalidArgument || !named_fields(&e).contains(field) {
                    problems.push(format!(
                        "GetTargets {from}..{to} as_of {as_of:?}: {:?} {}",
                        e.code(),
                        named_fields(&e)
                    ));
                }
            }
        }
    }
    if let Err(e) = client.get_targets(raw("2024-02-29", "2024-02-29", "2024-02-29")).await {
        problems.push(format!("a real leap day refused: {e:?}"));
    }
    // The lists, the eligible and a household: the same rule, naming their fields.
    let list = |as_of: &str, from: &str, to: &str| apb::ListActionsRequest {
        list: apb::ActionList::MatchmakerBreaches as i32,
        jurisdiction: DISTRICT.into(),
        as_of: as_of.into(),
        period_from: from.into(),
        period_to: to.into(),
        ..Default::default()
    };
    for (req, field) in [
        (list("2025-02-29", "", ""), "as_of"),
        (list("1899-12-31", "", ""), "as_of"),
        (list("", "2025-03-01", ""), "period_to"),
        (list("", "2025-03-01", "2025-02-28"), "period_to"),
    ] {
        match client.list_actions(req.clone()).await {
            Ok(_) => problems.push(format!("ListActions {req:?} accepted")),
            Err(e) if e.code() == Code::InvalidArgument && named_fields(&e).contains(field) => {}
            Err(e) => problems.push(format!(
                "ListActions as_of {:?} period {:?}..{:?}: {:?} {}",
                req.as_of,
                req.period_from,
                req.period_to,
                e.code(),
                named_fields(&e)
            )),
        }
    }
    let e = client
        .list_eligible(apb::ListEligibleRequest { as_of: "2026-02-29".into(), ..Default::default() })
        .await
        .unwrap_err();
    if e.code() != Code::InvalidArgument || !named_fields(&e).contains("as_of") {
        problems.push(format!("ListEligible as_of 2026-02-29: {:?} {}", e.code(), named_fields(&e)));
    }
    let e = client
        .get_household(apb::GetHouseholdRequest {
            household_id: uuid::Uuid::new_v4().to_string(),
            as_of: "2026-02-29".into(),
            min_position: 0,
        })
        .await
        .unwrap_err();
    if e.code() != Code::InvalidArgument || !named_fields(&e).contains("as_of") {
        problems.push(format!("GetHousehold as_of 2026-02-29: {:?} {}", e.code(), named_fields(&e)));
    }
    // An as-of before any event: a correct empty answer.
    match client.list_actions(list("2000-01-31", "", "")).await {
        Ok(r) if r.get_ref().total == 0 => {}
        other => problems.push(format!("ListActions as of 2000-01-31: {other:?}")),
    }
    drop(client);
    leye.terminate().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// DEFECT (minor). The CLI does not apply the API's date rule: docs/API.md,
/// "Conventions": "Dates from 1900 on (an earlier year is refused naming
/// that rule)", and GetTargets refuses `period_from` 1899-01-01 or `as_of`
/// 1899-12-31 (see the test above). Expected: `leye projections export`
/// refuses `--from 1899-01-01`, `--as-of 1899-12-31` and `--to
/// +10000-01-01` naming the flag, writing no file. Happens: exit 0 and a
/// file is written (for `+10000-01-01`, a "period" in the year 10000 whose
/// figures are those of a period not begun).
#[test]
fn cli_export_refuses_the_dates_grpc_refuses() {
    let d = population();
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (args, flag) in [
        (vec!["--from", "2025-01-01", "--to", "2025-02-29"], "--to"),
        (vec!["--from", "2026-07-01", "--to", "2026-06-30"], "--from"),
        (vec!["--from", "1899-01-01", "--to", "1899-12-31"], "--from"),
        (vec!["--from", "2024-01-01", "--to", "2024-12-31", "--as-of", "1899-12-31"], "--as-of"),
        (vec!["--to", "+10000-01-01"], "--to"),
    ] {
        let out = tmp.path().join("edge.csv");
        let _ = std::fs::remove_file(&out);
        let mut all = vec!["projections", "export", "targets"];
        all.extend(args.iter().copied());
        all.extend(["--out", out.to_str().unwrap()]);
        let o = cli(&all, d);
        if o.status.success() {
            problems.push(format!("export targets {args:?}: accepted (exit 0), file written: {}", out.exists()));
        } else if !stderr(&o).contains(flag) {
            problems.push(format!("export targets {args:?}: refused without naming {flag}: {}", stderr(&o)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
