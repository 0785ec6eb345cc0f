//! Exports: an empty read model, typed xlsx cells, the CLI and gRPC agreeing,
//! no resident ID anywhere.

use super::*;

// ============================================================================
// Exports: empty read model, typed xlsx cells, CLI and gRPC agree
// ============================================================================

/// README, "Exports": "the header always (also with no rows)"; every export
/// kind, CSV and xlsx, from a read model with no event at all (a fresh
/// service, started once and stopped). GetTargets on it answers every
/// target with zero figures; the export's targets equal it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_kind_from_an_empty_read_model_has_its_header_and_targets_agree_with_grpc() {
    use calamine::{Reader, Xlsx};
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir_all(&d).unwrap();
    let mut leye = Leye::start(&d, None, &[]).await;
    let mut client = leye.targets_client().await;
    let t = today();
    let from = NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap();
    let grpc = client.get_targets(targets_request("", from, t, None)).await.expect("GetTargets, empty").into_inner();
    drop(client);
    leye.terminate().await;
    let mut problems = Vec::new();
    for kind in KINDS {
        for ext in ["csv", "xlsx"] {
            let file = tmp.path().join(format!("{kind}.{ext}"));
            let o = cli(
                &[
                    "projections",
                    "export",
                    kind,
                    "--from",
                    &from.to_string(),
                    "--to",
                    &t.to_string(),
                    "--out",
                    file.to_str().unwrap(),
                ],
                &d,
            );
            if !o.status.success() {
                problems.push(format!("{kind}.{ext}: exit {:?}: {}", o.status, stderr(&o)));
                continue;
            }
            let header = header_of(kind);
            if ext == "csv" {
                let text = std::fs::read_to_string(&file).unwrap();
                let Some(body) = text.strip_prefix('\u{feff}') else {
                    problems.push(format!("{kind}.csv: no BOM"));
                    continue;
                };
                let lines: Vec<&str> = body.split("\r\n").collect();
                if lines[0] != header {
                    problems.push(format!("{kind}.csv: header {:?}", lines[0]));
                }
                if kind == "targets" {
                    let rows: Vec<Vec<String>> =
                        lines[1..].iter().filter(|l| !l.is_empty()).map(|l| csv_cells(l)).collect();
                    let csv: Vec<(String, String, String)> =
                        rows.iter().map(|r| (r[0].clone(), r[2].clone(), r[3].clone())).collect();
                    let api: Vec<(String, String, String)> = grpc
                        .targets
                        .iter()
                        .map(|t| {
                            (
                                t.id.clone(),
                                t.numerator.to_string(),
                                t.denominator.map(|n| n.to_string()).unwrap_or_default(),
                            )
                        })
                        .collect();
                    if csv != api {
                        problems.push(format!("targets.csv on an empty read model {csv:?}\n  GetTargets {api:?}"));
                    }
                } else if body != format!("{header}\r\n") {
                    problems.push(format!("{kind}.csv: {body:?}"));
                }
            } else {
                let mut book: Xlsx<_> = match calamine::open_workbook(&file) {
                    Ok(b) => b,
                    Err(e) => {
                        problems.push(format!("{kind}.xlsx does not open: {e}"));
                        continue;
                    }
                };
                match book.worksheet_range(kind) {
                    Ok(range) => {
                        let first: Vec<String> =
                            range.rows().next().map(|r| r.iter().map(|c| c.to_string()).collect()).unwrap_or_default();
                        if first.join(",") != header {
                            problems.push(format!("{kind}.xlsx: header row {first:?}"));
                        }
                    }
                    Err(e) => problems.push(format!("{kind}.xlsx: no sheet {kind}: {e}")),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// README, "Exports", xlsx: "codes and dates as text cells, exactly as
/// stored; counts, amounts in fen and rates as number cells; flags as
/// boolean cells; absent values as empty cells". Checked cell by cell for
/// the targets, the long-term list, the households and the subsidy totals,
/// with the CSV's integers as integers and digit-only codes kept as text.
#[test]
fn xlsx_cells_are_typed_and_csv_keeps_codes_as_text_on_a_generated_population() {
    use calamine::{Data, Reader, Xlsx};
    let d = population();
    let tmp = tempfile::tempdir().unwrap();
    let t = today();
    let from = NaiveDate::from_ymd_opt(t.year() - 1, 1, 1).unwrap();
    let mut problems = Vec::new();
    // Which columns hold which kind of cell.
    let text = |c: &str| {
        matches!(
            c,
            "id" | "title"
                | "goal"
                | "source"
                | "case_id"
                | "community"
                | "registered_on"
                | "ended_on"
                | "long_term_from"
                | "status"
                | "household_id"
                | "identified_on"
                | "since"
                | "communities"
                | "programme"
                | "district"
                | "last_contact_on"
                | "missed_month_start"
        )
    };
    let number = |c: &str| {
        matches!(
            c,
            "numerator"
                | "denominator"
                | "value"
                | "days"
                | "days_outstanding"
                | "employed"
                | "unemployed"
                | "rate"
                | "grants"
                | "amount_fen"
                | "year"
        )
    };
    let flag = |c: &str| matches!(c, "met" | "overdue" | "full_employment" | "same_day_contact" | "two_way_in_time");
    let mut seen_rows = 0;
    for kind in
        ["targets", "long-term", "households", "communities", "subsidy-totals", "overdue-follow-up", "exit-review"]
    {
        let file = tmp.path().join(format!("{kind}.xlsx"));
        let o = cli(
            &[
                "projections",
                "export",
                kind,
                "--from",
                &from.to_string(),
                "--to",
                &t.to_string(),
                "--out",
                file.to_str().unwrap(),
            ],
            d,
        );
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let mut book: Xlsx<_> = calamine::open_workbook(&file).unwrap();
        let range = book.worksheet_range(kind).unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
        for row in &rows[1..] {
            seen_rows += 1;
            for (c, cell) in header.iter().zip(row) {
                let ok = match cell {
                    Data::Empty => true,
                    Data::String(s) => text(c) && !s.starts_with('\t'),
                    Data::Float(_) | Data::Int(_) => number(c),
                    Data::Bool(_) => flag(c),
                    _ => false,
                };
                if !ok {
                    problems.push(format!("{kind}.xlsx column {c}: cell {cell:?}"));
                }
            }
        }
        // The CSV: every digit-only code with its TAB, every count an integer.
        let csv = tmp.path().join(format!("{kind}.csv"));
        let o = cli(
            &[
                "projections",
                "export",
                kind,
                "--from",
                &from.to_string(),
                "--to",
                &t.to_string(),
                "--out",
                csv.to_str().unwrap(),
            ],
            d,
        );
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let text_csv = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text_csv.trim_start_matches('\u{feff}').split("\r\n").filter(|l| !l.is_empty());
        let header: Vec<String> = csv_cells(lines.next().unwrap());
        for line in lines {
            for (c, v) in header.iter().zip(csv_cells(line)) {
                if matches!(c.as_str(), "community" | "district" | "communities")
                    && !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
                {
                    problems.push(format!("{kind}.csv {c}: code {v:?} without its TAB: Excel turns it into a number"));
                }
                if number(c) && c != "value" && c != "rate" && v.contains('.') {
                    problems.push(format!("{kind}.csv {c}: {v:?} is not an integer"));
                }
            }
        }
    }
    assert!(seen_rows > 20, "the population gives rows to check ({seen_rows})");
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// An action item as the export's CSV row (codes without their TAB).
fn row_of(kind: &str, i: &apb::ActionItem) -> String {
    let community = i.communities.join(";");
    let b = |x: bool| x.to_string();
    match kind {
        "long-term" => {
            format!(
                "{},{community},{},{},{},{},{}",
                i.case_id, i.registered_on, i.ended_on, i.days, i.reference_date, i.status
            )
        }
        // household_id,identified_on,since,days_outstanding,overdue,communities: `since` is not on the item.
        "households" => {
            format!("{},{},SINCE,{},{},{community}", i.household_id, i.reference_date, i.days, b(i.status == "overdue"))
        }
        "overdue-follow-up" => {
            format!("{},{community},{},{},{}", i.case_id, i.registered_on, i.last_contact_on, i.reference_date)
        }
        "matchmaker" => {
            format!("{},{community},{},{},{}", i.case_id, i.registered_on, b(i.same_day_contact), b(i.two_way_in_time))
        }
        _ => format!("{},{community},{},{}", i.case_id, i.registered_on, i.last_contact_on),
    }
}

/// Every action-list export holds the rows the gRPC API lists for the same
/// jurisdiction, as-of date and period (README: `leye projections export`
/// "writes a target table or an action list"; docs/API.md: the same query
/// code answers both): the same ids in the same order, for the city and a
/// district.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_export_holds_the_rows_grpc_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    generate(&d, 150);
    let head = store_head(&d);
    let mut leye = Leye::start(&d, None, &[]).await;
    let mut client = leye.targets_client().await;
    let t = today();
    let from = NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap();
    let mut problems = Vec::new();
    let mut rows_seen = 0;
    for (kind, list) in [
        ("long-term", Some(apb::ActionList::LongTermUnemployed)),
        ("households", Some(apb::ActionList::ZeroEmploymentHouseholds)),
        ("overdue-follow-up", Some(apb::ActionList::OverdueFollowUp)),
        ("matchmaker", Some(apb::ActionList::MatchmakerBreaches)),
        ("exit-review", Some(apb::ActionList::ExitReview)),
        ("eligible", None),
    ] {
        for j in ["", DISTRICT] {
            // gRPC, every page.
            let mut ids = Vec::new();
            let mut token = String::new();
            loop {
                let (items, next): (Vec<String>, String) = match list {
                    Some(l) => {
                        let r = client
                            .list_actions(apb::ListActionsRequest {
                                list: l as i32,
                                jurisdiction: j.into(),
                                as_of: t.to_string(),
                                period_from: if l == apb::ActionList::MatchmakerBreaches {
                                    from.to_string()
                                } else {
                                    String::new()
                                },
                                period_to: if l == apb::ActionList::MatchmakerBreaches {
                                    t.to_string()
                                } else {
                                    String::new()
                                },
                                group: String::new(),
                                page_size: 1000,
                                page_token: token.clone(),
                                min_position: head,
                            })
                            .await
                            .expect("ListActions")
                            .into_inner();
                        let ids = r.items.iter().map(|i| row_of(kind, i)).collect();
                        (ids, r.next_page_token)
                    }
                    None => {
                        let r = client
                            .list_eligible(apb::ListEligibleRequest {
                                jurisdiction: j.into(),
                                programme: String::new(),
                                as_of: t.to_string(),
                                page_size: 1000,
                                page_token: token.clone(),
                                min_position: head,
                            })
                            .await
                            .expect("ListEligible")
                            .into_inner();
                        (r.items.iter().map(|i| i.case_id.clone()).collect(), r.next_page_token)
                    }
                };
                ids.extend(items);
                if next.is_empty() {
                    break;
                }
                token = next;
            }
            // The export, same jurisdiction, period and as-of date.
            let file = tmp.path().join(format!("{kind}-{j}.csv"));
            let mut args = vec!["projections", "export", kind, "--as-of"];
            let (ts, fs) = (t.to_string(), from.to_string());
            args.extend([ts.as_str(), "--from", fs.as_str(), "--to", ts.as_str()]);
            if !j.is_empty() {
                args.extend(["--jurisdiction", j]);
            }
            args.extend(["--out", file.to_str().unwrap()]);
            let o = cli(&args, &d);
            if !o.status.success() {
                problems.push(format!("export {kind} {j:?}: {}", stderr(&o)));
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let csv: Vec<String> = text
                .trim_start_matches('\u{feff}')
                .split("\r\n")
                .skip(1)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let cells: Vec<String> =
                        csv_cells(l).into_iter().map(|c| c.trim_start_matches('\t').to_string()).collect();
                    let mut cells = cells;
                    if kind == "households" {
                        cells[2] = "SINCE".into();
                    }
                    if kind == "eligible" { cells[0].clone() } else { cells.join(",") }
                })
                .collect();
            rows_seen += csv.len();
            if csv != ids {
                problems.push(format!(
                    "{kind} {j:?}: the export has {} rows, gRPC lists {}; first differing: {:?}",
                    csv.len(),
                    ids.len(),
                    csv.iter().zip(&ids).find(|(a, b)| a != b)
                ));
            }
        }
    }
    drop(client);
    leye.terminate().await;
    eprintln!("{rows_seen} exported list rows compared");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// No personal data in what an analyst sees: no 18-character resident ID
/// (valid check character, first digit a Chinese region) in any export of a
/// generated population.
#[test]
fn no_resident_id_in_any_export_or_the_read_model() {
    let d = population();
    let tmp = tempfile::tempdir().unwrap();
    let t = today();
    let from = NaiveDate::from_ymd_opt(t.year() - 1, 1, 1).unwrap();
    let valid_id = |w: &[u8]| {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        if !w[..17].iter().all(u8::is_ascii_digit) || !(w[17].is_ascii_digit() || w[17] == b'X') {
            return false;
        }
        let sum: u32 = w[..17].iter().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
        b"10X98765432"[(sum % 11) as usize] == w[17] && (b"12345".contains(&w[0]))
    };
    let mut found = Vec::new();
    for kind in KINDS {
        let file = tmp.path().join(format!("{kind}.csv"));
        let o = cli(
            &[
                "projections",
                "export",
                kind,
                "--from",
                &from.to_string(),
                "--to",
                &t.to_string(),
                "--out",
                file.to_str().unwrap(),
            ],
            d,
        );
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let bytes = std::fs::read(&file).unwrap();
        for w in bytes.windows(18) {
            if valid_id(w) {
                found.push(format!("{kind}.csv: {}", String::from_utf8_lossy(w)));
            }
        }
    }
    assert!(found.is_empty(), "resident-ID-shaped values in exports: {found:?}");
}
