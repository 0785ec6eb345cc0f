//! Two `leye serve` processes on one PostgreSQL of the test's own and one
//! nats-server of its own: commands to both, the publisher's leader killed
//! (SIGKILL) under command load, and afterwards every acknowledged command's
//! events are in the store once and on NATS once, per case in order, and the
//! survivor's read model equals a rebuild; the same with three servers and
//! three nats-servers, the publisher's leader and then a NATS node killed.
//!
//! The servers share the chain, pseudonym and master keys (copies of the
//! files, as a deployment distributes them); the personal-data key store is
//! in PostgreSQL beside the events, shared by all.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use leye_proto::person::v1 as pb;
use leye_store::test_postgres::TestPostgres;
use support::{
    Leye, NAME, NatsServer, assert_each_once_in_case_order, jetstream, read_all, resident_id, run_case, run_clients,
    wait_stream_count,
};

/// Copies the chain and master key files of `from` into `to/keys/`, as an
/// operator distributes them (not the key store: that is in PostgreSQL).
fn copy_keys(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to.join("keys")).unwrap();
    for f in ["chain.key", "master.key"] {
        let src = from.join("keys").join(f);
        std::fs::copy(&src, to.join("keys").join(f)).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
}

/// A token of `data`'s development issuer for a city-wide supervisor (who may erase).
fn supervisor_token(data: &std::path::Path) -> String {
    let (key, _) = leye::trust::dev_issuer(data).expect("development issuer");
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("chief-0007", &[leye_auth::Role::Supervisor], &["120000"])
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

fn leads_publisher(l: &Leye) -> bool {
    l.log_text().contains("leading the publisher role: publishing")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_one_store_every_event_once_across_a_publisher_leader_kill() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats")).await;
    // With a password (the test server trusts loopback): it must never be printed.
    let url = format!("postgres://leye:pa55-w0rd@127.0.0.1:{}/postgres", pg.port());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let mut a = Leye::start(&a_dir, Some(&nats.url()), &["--store", &url]).await;
    // A case on A first: A has created the keys (and the key store) before B opens them.
    let mut sent = run_clients(a.addr, a.token(), 1, 1, 1000).await;
    // B has copies of A's key files (chain, master) and the pseudonym key.
    copy_keys(&a_dir, &b_dir);
    let pseudonym = a_dir.join("pseudonym.key");
    let pseudonym = pseudonym.to_str().unwrap();
    let mut b = Leye::start(&b_dir, Some(&nats.url()), &["--store", &url, "--pseudonym-key-file", pseudonym]).await;

    let (from_a, from_b) =
        tokio::join!(run_clients(a.addr, a.token(), 2, 3, 0), run_clients(b.addr, b.token(), 2, 3, 100));
    sent.extend(from_a);
    sent.extend(from_b);
    support::eventually("one publisher leader", Duration::from_secs(30), || {
        let (a, b) = (leads_publisher(&a), leads_publisher(&b));
        async move { (a != b).then_some(()) }
    })
    .await;
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, sent.len() as u64, Duration::from_secs(60)).await;

    // Kill the leader while the other server takes more commands.
    let (leader, survivor) = if leads_publisher(&a) { (&mut a, &mut b) } else { (&mut b, &mut a) };
    let more = tokio::spawn(run_clients(survivor.addr, survivor.token(), 2, 4, 200));
    tokio::time::sleep(Duration::from_millis(300)).await;
    leader.kill9().await;
    sent.extend(more.await.unwrap());
    support::eventually("the survivor leads the publisher", Duration::from_secs(30), || {
        let leads = leads_publisher(survivor);
        async move { leads.then_some(()) }
    })
    .await;
    wait_stream_count(&js, sent.len() as u64, Duration::from_secs(60)).await;
    let received = read_all(&js, sent.len()).await;
    assert_each_once_in_case_order(&received, &sent);

    // The store holds every acknowledged event once.
    let client = pg_client(&url).await;
    let row = client.query_one("SELECT count(*), count(DISTINCT event_id) FROM leye.events", &[]).await.unwrap();
    let (events, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((events, distinct), (sent.len() as i64, sent.len() as i64), "each event once in the store");
    // Nothing more arrives on NATS afterwards (no late double from the killed leader).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(support::stream_messages(&js).await, Some(sent.len() as u64));

    // The survivor's read model equals a rebuild of the shared log.
    read_models_equal_a_rebuild(&url, &a_dir, &dir.path().join("rebuilt"), std::slice::from_ref(&survivor.data_dir))
        .await;
    for l in [&a, &b] {
        let log = l.log_text();
        assert!(log.contains("event store opened") && log.contains("postgres://leye:***@127.0.0.1"), "{log}");
        assert!(!log.contains("pa55-w0rd"), "the password is never logged");
        // B opened a schema A had made, and each opened its key store twice.
        assert!(!log.contains("NOTICE"), "no PostgreSQL notice (a table that exists) is logged: {log}");
    }
}

/// The figures of the whole city this year, as `server` answers them, with
/// the position it answered at.
async fn city_targets(server: &Leye, min_position: u64) -> (Vec<leye_proto::analytics::v1::Target>, u64) {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let request = leye_proto::analytics::v1::GetTargetsRequest {
        jurisdiction: String::new(),
        period_from: format!("{}-01-01", today.format("%Y")),
        period_to: today.to_string(),
        as_of: String::new(),
        min_position,
    };
    let answer = server.targets_client().await.get_targets(request).await.unwrap().into_inner();
    (answer.targets, answer.checkpoint_position)
}

/// A session on the shared store's database.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The log's head (its last global position) in the shared store.
async fn head(url: &str) -> u64 {
    let row = pg_client(url).await.query_one("SELECT coalesce(max(position), 0) FROM leye.events", &[]).await.unwrap();
    row.get::<_, i64>(0) as u64
}

/// A server's read model (issue 12, `leye::folding`): only the publisher's
/// leader folds every event; another server's read model sleeps until a
/// query reads it, and that query is answered as of the log's head when it
/// asked, with the leader's figures; unread for `--readmodel-idle-secs` it
/// sleeps again; and the server that takes the publisher over folds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_folds_only_while_read_and_its_answers_cover_the_whole_log() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats")).await;
    let url = pg.url();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let args = ["--store", url.as_str(), "--readmodel-idle-secs", "3"];
    let mut a = Leye::start(&a_dir, Some(&nats.url()), &args).await;
    run_clients(a.addr, a.token(), 1, 1, 1000).await;
    support::eventually("A leads the publisher", Duration::from_secs(30), || {
        let leads = leads_publisher(&a);
        async move { leads.then_some(()) }
    })
    .await;
    copy_keys(&a_dir, &b_dir);
    let pseudonym = a_dir.join("pseudonym.key");
    let mut b_args = args.to_vec();
    b_args.extend(["--pseudonym-key-file", pseudonym.to_str().unwrap()]);
    let b = Leye::start(&b_dir, Some(&nats.url()), &b_args).await;
    tokio::join!(run_clients(a.addr, a.token(), 2, 3, 0), run_clients(b.addr, b.token(), 2, 3, 100));

    let head = head(&url).await;
    let projector = "leye_follower_position{follower=\"projector\"}";
    support::eventually("A folded the whole log", Duration::from_secs(30), || {
        let a = &a;
        async move { (a.metric(projector).await? >= head as f64).then_some(()) }
    })
    .await;
    assert_eq!(a.metric("leye_readmodel_folding").await, Some(1.0), "the publisher's leader folds");
    assert_eq!(b.metric("leye_readmodel_folding").await, Some(0.0), "an unread standby does not");
    assert_eq!(b.metric(projector).await, Some(0.0), "B folded nothing of the {head} events");
    assert!(b.log_text().contains("the read model sleeps"), "{}", b.log_text());

    // The first query on B wakes it, and is answered as of the head.
    let (on_a, _) = city_targets(&a, head).await;
    let (on_b, at) = city_targets(&b, 0).await;
    assert!(at >= head, "B answered at {at}, before the head {head} when it was asked");
    assert_eq!(on_b, on_a, "B's figures are the leader's");
    assert!(on_b.iter().any(|t| t.numerator > 0), "figures that count something: {on_b:?}");
    assert_eq!(b.metric("leye_readmodel_folding").await, Some(1.0), "read: it folds");
    // New commands reach B's answers while it folds (the pace bounds their lag).
    run_clients(a.addr, a.token(), 1, 1, 2000).await;
    let head = self::head(&url).await;
    support::eventually("B folds what A appends while it is read", Duration::from_secs(30), || {
        let b = &b;
        async move { (b.metric(projector).await? >= head as f64).then_some(()) }
    })
    .await;
    // Unread for its idle time: asleep again.
    support::eventually("B sleeps again", Duration::from_secs(30), || {
        let b = &b;
        async move { (b.metric("leye_readmodel_folding").await? == 0.0).then_some(()) }
    })
    .await;

    // The publisher's new leader folds, read or not.
    a.kill9().await;
    run_clients(b.addr, b.token(), 1, 2, 3000).await;
    support::eventually("B leads the publisher", Duration::from_secs(30), || {
        let leads = leads_publisher(&b);
        async move { leads.then_some(()) }
    })
    .await;
    let head = self::head(&url).await;
    support::eventually("B, the leader now, folds the whole log unread", Duration::from_secs(30), || {
        let b = &b;
        async move { (b.metric(projector).await? >= head as f64).then_some(()) }
    })
    .await;
    assert_eq!(b.metric("leye_readmodel_folding").await, Some(1.0));
}

/// Rebuilds the read model of the log at `url` into `scratch` (with the key
/// files of `keys_from`), then waits until the targets each server in
/// `servers` exports (by data directory; the servers keep running) equal
/// the rebuild's: every server's projector folded the shared log exactly.
async fn read_models_equal_a_rebuild(
    url: &str,
    keys_from: &std::path::Path,
    scratch: &std::path::Path,
    servers: &[std::path::PathBuf],
) {
    std::fs::create_dir_all(scratch).unwrap();
    std::os::unix::fs::symlink(keys_from.join("keys"), scratch.join("keys")).unwrap();
    let leye = |args: &[&str], data: &std::path::Path| {
        let out = std::process::Command::new(support::LEYE)
            .args(args)
            .args(["--store", url, "--data-dir"])
            .arg(data)
            .env_remove("LEYE_STORE")
            .output()
            .unwrap();
        assert!(out.status.success(), "leye {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    leye(&["projections", "rebuild"], scratch);
    let want = leye(&["projections", "export", "targets"], scratch);
    assert!(want.lines().count() > 2, "{want}");
    for server in servers {
        support::eventually(
            &format!("the read model of {} equals the rebuild", server.display()),
            Duration::from_secs(30),
            || {
                let got = leye(&["projections", "export", "targets"], server);
                let same = got == want;
                async move { same.then_some(()) }
            },
        )
        .await;
    }
}

/// The deployment of `docker/compose.yaml` as processes: one PostgreSQL,
/// three nats-servers (stream replicas 3), three leye servers. Under command
/// load the publisher's leader is killed, then the stream's NATS leader:
/// every acknowledged event is in the store once, the stream is the log
/// (every position once, in order), and each surviving server's read model
/// equals a rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_three_nats_nodes_kill_the_leader_then_a_nats_node() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = NatsServer::cluster(dir.path()).await;
    let urls: Vec<String> = nodes.iter().map(NatsServer::url).collect();
    let nats = urls.join(",");
    let url = pg.url();
    let first = dir.path().join("leye-1");
    std::fs::create_dir_all(&first).unwrap();
    let common = ["--store", url.as_str(), "--nats-stream-replicas", "3"];
    let mut servers = vec![Leye::start(&first, Some(&nats), &common).await];
    let mut sent = run_clients(servers[0].addr, servers[0].token(), 1, 1, 5000).await;
    let pseudonym = first.join("pseudonym.key");
    for n in 2..=3 {
        let data = dir.path().join(format!("leye-{n}"));
        copy_keys(&first, &data);
        let mut args = common.to_vec();
        args.extend(["--pseudonym-key-file", pseudonym.to_str().unwrap()]);
        servers.push(Leye::start(&data, Some(&nats), &args).await);
    }

    // Load on every server, in the background.
    let mut load = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        load.push(tokio::spawn(run_clients(s.addr, s.token(), 2, 4, 100 * i as u32)));
    }
    let leader = support::eventually("one publisher leader", Duration::from_secs(60), || {
        let leading: Vec<usize> = (0..servers.len()).filter(|&i| leads_publisher(&servers[i])).collect();
        async move { (leading.len() == 1).then(|| leading[0]) }
    })
    .await;
    let js = jetstream(&urls).await;
    support::eventually("publishing under way", Duration::from_secs(60), || {
        let js = js.clone();
        async move { (support::stream_messages(&js).await? >= 20).then_some(()) }
    })
    .await;
    servers[leader].kill9().await;
    eprintln!("killed leye server {} (the publisher's leader)", leader + 1);
    // Its clients fail from here; what they had acknowledged counts, the rest is lost with them.
    let killed_load = load.remove(leader);
    killed_load.abort();
    let _ = killed_load.await;
    let (addr, token) = (servers[(leader + 1) % 3].addr, servers[(leader + 1) % 3].token());
    load.push(tokio::spawn(run_clients(addr, token, 2, 4, 1000)));
    support::eventually("another server leads the publisher", Duration::from_secs(60), || {
        let n = (0..servers.len()).filter(|&i| i != leader && leads_publisher(&servers[i])).count();
        async move { (n == 1).then_some(()) }
    })
    .await;
    // Then the stream's NATS leader.
    let stream_leader =
        js.get_stream(support::STREAM).await.unwrap().info().await.unwrap().cluster.clone().and_then(|c| c.leader);
    let victim = nodes.iter().position(|n| Some(&n.name) == stream_leader.as_ref()).unwrap_or(0);
    nodes[victim].kill().await;
    eprintln!("killed nats node {} (stream leader {stream_leader:?})", nodes[victim].name);
    for l in load {
        sent.extend(tokio::time::timeout(Duration::from_secs(180), l).await.expect("commands finish").unwrap());
    }

    // The store: every acknowledged event once (the killed server's clients
    // may have had commands committed but not acknowledged: counted from the store).
    let client = pg_client(&url).await;
    let row = client.query_one("SELECT count(*), count(DISTINCT event_id) FROM leye.events", &[]).await.unwrap();
    let (events, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(events, distinct, "each event once in the store");
    let ids: std::collections::HashSet<String> = client
        .query("SELECT event_id FROM leye.events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| uuid::Uuid::from_slice(r.get::<_, &[u8]>(0)).unwrap().to_string())
        .collect();
    assert!(sent.iter().all(|s| ids.contains(&s.event_id)), "every acknowledged event is in the store");

    let survivors: Vec<String> = nodes.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, n)| n.url()).collect();
    let js = jetstream(&survivors).await;
    wait_stream_count(&js, events as u64, Duration::from_secs(120)).await;
    let received = support::read_by_sequence(&js, events as usize).await;
    // In stream order, not only as a set: the stream is the log, unbroken
    // and in order (so each case's events are in case order) across both kills.
    let positions: Vec<u64> = received.iter().map(|r| r.header("Leye-Global-Position").parse().unwrap()).collect();
    assert_eq!(positions, (1..=events as u64).collect::<Vec<_>>(), "the log on NATS: every position once, in order");
    let on_nats: std::collections::HashSet<&str> = received.iter().map(|r| r.header("Leye-Event-Id")).collect();
    assert!(sent.iter().all(|s| on_nats.contains(s.event_id.as_str())), "every acknowledged event on NATS");

    // Each surviving server's read model equals a rebuild of the shared log,
    // once read: a query wakes the one that leads no role (`leye::folding`).
    let survivors: Vec<&Leye> = servers.iter().enumerate().filter(|(i, _)| *i != leader).map(|(_, s)| s).collect();
    for s in &survivors {
        city_targets(s, 0).await;
    }
    let alive: Vec<std::path::PathBuf> = survivors.iter().map(|s| s.data_dir.clone()).collect();
    read_models_equal_a_rebuild(&url, &first, &dir.path().join("rebuilt"), &alive).await;
}

/// The case's registration as of its first event: before any erasure is
/// folded, so what it shows is what the registration's sealed fields open to.
async fn registration_on(client: &mut support::Client, case_id: &str) -> pb::Registration {
    let as_of = Some(pb::get_case_request::AsOf::Revision(0));
    let got = client.get_case(pb::GetCaseRequest { case_id: case_id.into(), as_of }).await.unwrap();
    got.into_inner().case.unwrap().registration.unwrap()
}

/// Personal data across servers (issue 12): a person registered through A
/// is read with their resident ID and name on B (the key store is shared in
/// PostgreSQL); erased through A, B stops returning them (its caches follow
/// the erasures within the staleness bound, 1 s); a server whose master key
/// or pseudonym key differs, or is missing, refuses to start, naming the
/// setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_registered_on_one_server_is_read_on_another_and_an_erasure_on_one_holds_on_both() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let a = Leye::start(&a_dir, None, &["--store", &url]).await;
    let mut on_a = a.client().await;
    // Answered: A has made its keys (chain, master) by now.
    let case_id = run_case(&mut on_a, 4242).await[0].case_id.clone();
    copy_keys(&a_dir, &b_dir);
    let pseudonym = a_dir.join("pseudonym.key");
    let b = Leye::start(&b_dir, None, &["--store", &url, "--pseudonym-key-file", pseudonym.to_str().unwrap()]).await;
    let mut on_b = b.client().await;
    let other = run_case(&mut on_b, 4343).await[0].case_id.clone();
    for client in [&mut on_a, &mut on_b] {
        let r = registration_on(client, &case_id).await;
        assert_eq!((r.resident_id.as_str(), r.name.as_str()), (resident_id(4242).as_str(), NAME), "read on both");
        let r = registration_on(client, &other).await;
        assert_eq!(r.resident_id, resident_id(4343), "B's registration is read on A too");
    }
    assert!(!a_dir.join("keys/keys.sqlite").exists() && !b_dir.join("keys/keys.sqlite").exists(), "no key file");

    // B has the person opened in its caches now. Erase through A.
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        support::authed(a.addr, &supervisor_token(&a_dir)).await.unwrap(),
    );
    let erase = pb::ErasePersonalDataRequest {
        context: Some(leye_proto::common::v1::CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        }),
        case_id: case_id.clone(),
        effective_date: (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive().to_string(),
        erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
    };
    let erased_at = std::time::Instant::now();
    supervisor.erase_personal_data(erase).await.unwrap();
    support::eventually("B no longer returns the erased person", Duration::from_secs(10), || {
        let mut on_b = on_b.clone();
        let case_id = case_id.clone();
        async move {
            let r = registration_on(&mut on_b, &case_id).await;
            (r.resident_id.is_empty() && r.name.is_empty()).then_some(())
        }
    })
    .await;
    eprintln!("B stopped returning the erased person {:?} after the erasure was acknowledged", erased_at.elapsed());
    for client in [&mut on_a, &mut on_b] {
        let r = registration_on(client, &case_id).await;
        assert_eq!((r.resident_id.as_str(), r.name.as_str()), ("", ""), "erased on both");
        assert_eq!(registration_on(client, &other).await.name, NAME, "the other person is untouched");
    }
    for l in [&a, &b] {
        let log = l.log_text();
        assert!(!log.contains(&resident_id(4242)) && !log.contains(NAME), "no personal data in the log");
    }

    // A third server with another master key, or none: refused at start, naming the setting.
    let c_dir = dir.path().join("c");
    copy_keys(&a_dir, &c_dir);
    std::fs::write(c_dir.join("keys/master.key"), "ab".repeat(32)).unwrap();
    let refused = |data: std::path::PathBuf| {
        let mut cmd = std::process::Command::new(support::LEYE);
        cmd.args(["serve", "--store", &url, "--listen", &format!("127.0.0.1:{}", support::free_port())])
            .arg("--data-dir")
            .arg(&data)
            .env_remove("LEYE_STORE")
            .env_remove("LEYE_MASTER_KEY")
            .env_remove("LEYE_PSEUDONYM_KEY_FILE");
        support::refused_start(cmd)
    };
    let err = refused(c_dir.clone());
    assert!(err.contains("does not open the key store") && err.contains("--master-key-file"), "{err}");
    std::fs::remove_file(c_dir.join("keys/master.key")).unwrap();
    let err = refused(c_dir.clone());
    assert!(err.contains("holds no key") && err.contains("LEYE_MASTER_KEY"), "{err}");
    assert!(!c_dir.join("keys/master.key").exists(), "no new master key made beside a shared key store");

    // The right master key, but no pseudonym key, or another one: refused too
    // (it would derive another case id for person 4242 and open a second
    // case), naming the setting; no key is made, none is printed.
    std::fs::copy(a_dir.join("keys/master.key"), c_dir.join("keys/master.key")).unwrap();
    let err = refused(c_dir.clone());
    assert!(err.contains("pseudonym key file") && err.contains("is missing"), "{err}");
    assert!(err.contains("--pseudonym-key-file") && err.contains("LEYE_PSEUDONYM_KEY_FILE"), "{err}");
    assert!(!c_dir.join("pseudonym.key").exists(), "no new pseudonym key made beside a deployment's");
    std::fs::write(c_dir.join("pseudonym.key"), "cd".repeat(32)).unwrap();
    let err = refused(c_dir.clone());
    assert!(err.contains("is not this deployment's") && err.contains("--pseudonym-key-file"), "{err}");
    assert!(!err.contains(&"cd".repeat(32)), "the key is never printed");
    let ours = std::fs::read_to_string(a_dir.join("pseudonym.key")).unwrap();
    for l in [&a, &b] {
        assert!(!l.log_text().contains(ours.trim()), "the key is never logged");
    }
}

/// The first line `leye policies check DIR` prints after "fingerprint ".
fn catalogue_fingerprint(dir: Option<&std::path::Path>) -> String {
    let mut cmd = std::process::Command::new(support::LEYE);
    cmd.args(["policies", "check"]);
    cmd.args(dir);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.strip_prefix("fingerprint ")).expect("a fingerprint line").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_of_one_store_share_catalogue_targets_publishing_and_access_or_refuse_to_start() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let interval = ["--leadership-interval-ms", "300"];
    let mut a = Leye::start(&a_dir, None, &[&["--store", url.as_str()][..], &interval].concat()).await;
    run_case(&mut a.client().await, 5151).await;
    copy_keys(&a_dir, &b_dir);
    let pseudonym = a_dir.join("pseudonym.key");
    let b_args = ["--store", url.as_str(), "--pseudonym-key-file", pseudonym.to_str().unwrap()];

    // B's catalogue: the shipped files with one comment more.
    let repo_policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let policies = dir.path().join("policies");
    support::copy_dir(&repo_policies, &policies);
    let parameters = policies.join("parameters.toml");
    let text = std::fs::read_to_string(&parameters).unwrap();
    std::fs::write(&parameters, format!("{text}\n# amended\n")).unwrap();
    let (built_in, amended) = (catalogue_fingerprint(None), catalogue_fingerprint(Some(&policies)));
    assert_ne!(built_in, amended);
    assert_eq!(catalogue_fingerprint(Some(&repo_policies)), built_in, "the same files where they lie");

    let serve = |data: &std::path::Path, extra: &[&str]| {
        let mut cmd = std::process::Command::new(support::LEYE);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", support::free_port())])
            .arg("--data-dir")
            .arg(data)
            .args(b_args)
            .args(extra)
            .env_remove("LEYE_STORE")
            .env_remove("LEYE_POLICIES")
            .env_remove("LEYE_CONFIG");
        cmd
    };
    // Another catalogue: refused, naming the setting and both fingerprints' heads.
    let err = support::refused_start(serve(&b_dir, &["--policies", policies.to_str().unwrap()]));
    assert!(err.contains("policy catalogue in") && err.contains("--policies"), "{err}");
    assert!(err.contains(&amended[..12]) && err.contains(&built_in[..12]), "{err}");
    assert!(err.contains("--adopt-settings"), "{err}");
    // Other target parameters: refused, naming `[targets]`.
    let config = dir.path().join("b.toml");
    std::fs::write(&config, "[targets]\nlong_term_months = 7\n").unwrap();
    let err = support::refused_start(serve(&b_dir, &["--config", config.to_str().unwrap()]));
    assert!(err.contains("target parameters") && err.contains("`[targets]`"), "{err}");
    // NATS where A publishes nowhere (once leading, one would publish and the
    // other not): refused, showing both sides, never the URL.
    let err = support::refused_start(serve(&b_dir, &["--nats-url", "nats://127.0.0.1:9"]));
    assert!(err.contains("publishing settings") && err.contains("`nats_url`"), "{err}");
    assert!(err.contains("no NATS") && err.contains("stream LEYE_V1") && !err.contains("127.0.0.1:9"), "{err}");
    // Other access rules (reflection open to anyone where A asks a token): refused.
    let err = support::refused_start(serve(&b_dir, &["--reflection", "public"]));
    assert!(err.contains("access rules") && err.contains("`[[security.clients]]`"), "{err}");
    // A stood through both, and still takes commands.
    run_case(&mut a.client().await, 5252).await;

    // B asked to put the amended catalogue in force, but its start fails
    // (A's metrics address is taken): nothing adopted, A goes on serving.
    let taken = a.metrics.to_string();
    let adopt = ["--policies", policies.to_str().unwrap(), "--adopt-settings"];
    let err = support::refused_start(serve(&b_dir, &[&adopt[..], &["--metrics-listen", &taken]].concat()));
    assert!(err.contains("metrics"), "{err}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    run_case(&mut a.client().await, 5256).await;
    assert!(!a.log_text().contains("no longer in force"), "a failed start adopted nothing");

    // B puts the amended catalogue in force: it serves, and A stops within
    // about an interval, saying why, with a failure status.
    let b = Leye::start(
        &b_dir,
        None,
        &[&b_args[..], &interval, &["--policies", policies.to_str().unwrap(), "--adopt-settings"]].concat(),
    )
    .await;
    let exit = a.exited(Duration::from_secs(10)).await;
    assert!(!exit.success(), "{exit:?}");
    let log = a.log_text();
    assert!(log.contains("no longer in force") && log.contains("--adopt-settings"), "{log}");
    run_case(&mut b.client().await, 5353).await;
    // A again with the built-in catalogue: refused; with B's: it serves.
    let err = support::refused_start(serve(&a_dir, &[]));
    assert!(err.contains("built-in policy catalogue") && err.contains(&amended[..12]), "{err}");
    let a = Leye::start(&a_dir, None, &[&b_args[..], &["--policies", policies.to_str().unwrap()]].concat()).await;
    run_case(&mut a.client().await, 5454).await;
    assert!(b.log_text().lines().all(|l| !l.contains("no longer in force")), "B kept serving");
}
