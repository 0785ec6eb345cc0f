//! The stable path for BI tools (`readmodel/current.sqlite`), rebuilds and
//! the clean-up of old generations.

use super::*;

// ============================================================================
// The stable path for BI tools, rebuilds and clean-up of old generations
// ============================================================================

/// projections/README.md: `readmodel/current.sqlite` is a relative symbolic
/// link to the generation `CURRENT` names, swapped with every switch, so a BI
/// tool opening it (read-only) always reads the current generation; a
/// rebuild (also while `leye serve` runs) leaves one generation at rest, its
/// old files (`-wal`, `-shm`) gone. The rebuild reports events/s and time left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bi_stable_path_survives_rebuilds_offline_and_while_serving_and_old_generations_go() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    generate(&d, 40);
    let head = store_head(&d);
    let mut problems = Vec::new();

    let link = readmodel(&d).join("current.sqlite");
    match std::fs::read_link(&link) {
        Ok(target) => {
            if target.is_absolute() || target.to_string_lossy() != current_name(&d) {
                problems.push(format!("after generate: current.sqlite -> {target:?}, CURRENT {}", current_name(&d)));
            }
        }
        Err(e) => problems.push(format!("after generate: current.sqlite is not a symbolic link: {e}")),
    }
    match bi_checkpoint(&d) {
        Ok(p) if p == head => {}
        other => {
            problems.push(format!("after generate, server stopped: BI read-only open gives {other:?}, head {head}"))
        }
    }

    // Offline rebuild: progress with events/s and time left, then one generation.
    let o = cli(&["projections", "rebuild"], &d);
    assert!(o.status.success(), "rebuild: {}", stderr(&o));
    let err = stderr(&o);
    if !err.lines().any(|l| l.contains("events/s") && l.contains("left")) {
        problems.push(format!("rebuild progress without events/s and time left:\n{err}"));
    }
    let after = current_name(&d);
    if generations(&d) != vec![after.clone()] {
        problems.push(format!("after an offline rebuild, files {:?} (CURRENT {after})", generations(&d)));
    }
    if std::fs::read_link(&link).map(|t| t.to_string_lossy().into_owned()).ok() != Some(after.clone()) {
        problems.push(format!(
            "after an offline rebuild current.sqlite -> {:?}, CURRENT {after}",
            std::fs::read_link(&link)
        ));
    }
    match bi_checkpoint(&d) {
        Ok(p) if p == head => {}
        other => problems.push(format!("after an offline rebuild: BI read-only open gives {other:?}, head {head}")),
    }

    // While serving: a BI connection opened before the rebuild, a rebuild, then a new connection.
    let mut leye = Leye::start(&d, None, &[]).await;
    let mut client = leye.targets_client().await;
    let t = today();
    let mut req = targets_request("", NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap(), t, None);
    req.min_position = head;
    let r = client.get_targets(req).await.expect("caught up").into_inner();
    assert!(r.checkpoint_position >= head);
    let before = current_name(&d);
    let d2 = d.clone();
    let o = tokio::task::spawn_blocking(move || cli(&["projections", "rebuild"], &d2)).await.unwrap();
    assert!(o.status.success(), "rebuild while serving: {}", stderr(&o));
    let new = current_name(&d);
    assert_ne!(new, before, "CURRENT switched");
    // Give the projector time to move (it checks once a second).
    let deadline = Instant::now() + Duration::from_secs(15);
    while generations(&d) != vec![new.clone()] && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let at_rest = generations(&d);
    if at_rest != vec![new.clone()] {
        problems.push(format!("15 s after a rebuild while serving, generation files {at_rest:?} (CURRENT {new})"));
    }
    if std::fs::read_link(&link).map(|t| t.to_string_lossy().into_owned()).ok() != Some(new.clone()) {
        problems.push(format!(
            "after a rebuild while serving current.sqlite -> {:?}, CURRENT {new}",
            std::fs::read_link(&link)
        ));
    }
    match bi_checkpoint(&d) {
        Ok(p) if p == head => {}
        other => problems.push(format!("after a rebuild while serving: BI open gives {other:?}, head {head}")),
    }
    let leftovers: Vec<String> = std::fs::read_dir(readmodel(&d))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    if !leftovers.is_empty() {
        problems.push(format!("temporary files left in the read-model directory: {leftovers:?}"));
    }
    drop(client);
    leye.terminate().await;
    // The server stopped: the BI tool still opens the stable path read-only.
    match bi_checkpoint(&d) {
        Ok(p) if p == head => {}
        other => problems.push(format!("server stopped after the rebuild: BI read-only open gives {other:?}")),
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
