//! The publisher as other systems see it: `leye serve` processes publishing to
//! real `nats-server` processes (a single server, or a three-node cluster) on
//! free loopback ports, read back with JetStream consumers.
//!
//! - every event of concurrent clients arrives exactly once, in per-case
//!   revision order, with its headers and a payload that decodes to the fact
//!   sent (and `leye consume` prints it without personal data);
//! - without a NATS URL the backlog is kept; SIGKILL mid-stream and restart:
//!   nothing missing, nothing doubled;
//! - NATS down while commands continue: commands succeed, the lag shows in the
//!   health service and the metrics, and every event arrives once NATS is back;
//! - a three-node cluster with a replicated stream loses a node while
//!   publishing: nothing acknowledged is lost, publishing resumes;
//! - JetStream drops a re-published event within the duplicate window.

mod support;

use std::{collections::HashMap, time::Duration};

use leye::publisher::{message, stream::StreamSettings};
use leye_proto::person::v1 as pb;
use support::*;
use tonic_health::pb::health_check_response::ServingStatus;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_concurrent_clients_arrive_once_in_case_order_with_headers_and_payload() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;

    // 16 clients × 3 cases × 4 commands.
    let sent = run_clients(leye.addr, leye.token(), 16, 3, 0).await;
    assert_eq!(sent.len(), 16 * 3 * 4);
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, sent.len() as u64, MINUTE).await;
    let received = read_all(&js, sent.len()).await;
    assert_each_once_in_case_order(&received, &sent);

    let by_id: HashMap<&str, &Sent> = sent.iter().map(|s| (s.event_id.as_str(), s)).collect();
    for r in &received {
        let s = by_id[r.header("Leye-Event-Id")];
        let name = s.event_type.strip_prefix("person.").unwrap();
        assert_eq!(r.subject, format!("leye.v1.person.{}.{name}", s.district));
        assert_eq!(r.header("Nats-Msg-Id"), s.event_id);
        assert_eq!(r.header("Leye-Event-Type"), s.event_type);
        assert_eq!(r.header("Leye-Schema-Version"), "1");
        assert_eq!(r.header("Leye-Case-Id"), s.case_id);
        assert_eq!(r.header("Leye-Revision"), s.revision.to_string());
        assert_eq!(r.header("Leye-Correlation-Id"), s.correlation_id);
        assert_eq!(r.header("Leye-Causation-Id").len(), 36);
        assert_eq!(r.header("Leye-Command-Id").len(), 36);
        assert_eq!(r.header("Leye-Effective-Date"), s.effective_date);
        assert_eq!(r.header("Leye-District"), s.district);
        assert_eq!(r.header("Leye-Payload-Type"), "leye.person.v1.PersonEvent");
        assert!(r.header("Leye-Recorded-At").ends_with('Z'));
        assert!(r.header("Leye-Global-Position").parse::<u64>().unwrap() >= 1);
        assert_eq!(r.event, s.event, "the payload is the fact that was sent");
        // No personal data anywhere in the message: by default the
        // registration withholds the resident ID and the name.
        let outside: String = r.headers.values().cloned().chain([r.subject.clone()]).collect();
        assert!(!outside.contains(NAME), "a name in the headers or subject");
        if let Some(pb::person_event::Event::Registered(reg)) = &r.event.event {
            assert_eq!((reg.resident_id.as_str(), reg.name.as_str()), ("", ""), "withheld by default");
            assert_eq!(reg.personal_data, pb::PersonalDataState::Withheld as i32);
        }
    }
    // Not one of the 48 persons' resident IDs in a header or subject.
    let everything: String =
        received.iter().flat_map(|r| r.headers.values().cloned().chain([r.subject.clone()])).collect();
    for person in 0..16 * 3 {
        assert!(!everything.contains(&resident_id(person)), "person {person}'s resident ID in a header or subject");
    }
    // Global positions increase along the stream.
    let positions: Vec<u64> = received.iter().map(|r| r.header("Leye-Global-Position").parse().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "stream order is the log's order");

    // The demo subscriber prints every event, masked.
    let out = tokio::process::Command::new(LEYE)
        .args(["consume", "--nats-url", &nats.url(), "--durable", "demo", "--max-events", &sent.len().to_string()])
        .env("LEYE_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(MINUTE, out).await.expect("leye consume finishes").unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), sent.len(), "{text}");
    assert!(text.lines().all(|l| l.contains(" type=person.") && l.contains(" subject=leye.v1.person.")));
    assert!(text.contains("fact=Registered(Registration { resident_id: \"<redacted>\""), "{text}");
    assert!(!text.contains(NAME) && !text.contains(&resident_id(0)), "no personal data printed");

    leye.terminate().await;
    let log = leye.log_text();
    assert!(log.contains("publisher stopped"), "{log}");
    assert!(!log.contains(NAME) && !log.contains(&resident_id(1)[..14]), "no personal data in the log");
    let checkpoint = std::fs::read_to_string(data.join("publisher-LEYE_V1.checkpoint")).unwrap();
    assert!(checkpoint.contains(&format!("\"commit\":{}", sent.len())), "{checkpoint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_waits_without_nats_then_a_kill_mid_stream_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();

    // No NATS URL: commands are accepted, the backlog is kept and visible.
    let mut leye = Leye::start(&data, None, &[]).await;
    let sent = run_clients(leye.addr, leye.token(), 16, 40, 0).await;
    let n = sent.len() as u64;
    eventually("metrics to show the whole backlog", MINUTE, || async {
        (leye.metric("leye_publisher_lag_events").await == Some(n as f64)).then_some(())
    })
    .await;
    assert_eq!(leye.metric("leye_publisher_enabled").await, Some(0.0));
    assert_eq!(leye.publisher_health().await, Some(ServingStatus::NotServing));
    leye.terminate().await;

    // With NATS: killed with SIGKILL as soon as the first message is on the stream.
    let nats = NatsServer::start(dir.path()).await;
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut first = watcher.subscribe("leye.v1.>").await.unwrap();
    watcher.flush().await.unwrap();
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    use futures::StreamExt;
    tokio::time::timeout(MINUTE, first.next()).await.expect("publishing starts").expect("a message");
    leye.kill9().await;
    let js = jetstream(&[nats.url()]).await;
    let at_kill = stream_messages(&js).await.unwrap();
    assert!(at_kill > 0 && at_kill < n, "killed mid-stream: {at_kill} of {n} published");
    eprintln!("killed with {at_kill} of {n} events on the stream");

    // Restart: the rest arrives, nothing twice.
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    wait_stream_count(&js, n, MINUTE).await;
    let received = read_all(&js, sent.len()).await;
    assert_each_once_in_case_order(&received, &sent);
    eventually("lag 0 after catching up", MINUTE, || async {
        (leye.metric("leye_publisher_lag_events").await == Some(0.0)).then_some(())
    })
    .await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    // Still exactly n a moment later: nothing re-published late.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stream_messages(&js).await, Some(n));
    leye.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_while_commands_continue_then_back_every_event_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(dir.path()).await;
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let js = jetstream(&[nats.url()]).await;

    let mut sent = run_clients(leye.addr, leye.token(), 8, 3, 0).await;
    wait_stream_count(&js, sent.len() as u64, MINUTE).await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;

    // NATS goes away; commands still succeed (run_clients fails on any refusal).
    nats.kill().await;
    sent.extend(run_clients(leye.addr, leye.token(), 8, 3, 1000).await);
    leye.wait_health(ServingStatus::NotServing, MINUTE).await;
    eventually("metrics to show the lag", MINUTE, || async {
        let lag = leye.metric("leye_publisher_lag_events").await?;
        let connected = leye.metric("leye_publisher_connected").await?;
        (lag > 0.0 && connected == 0.0).then_some(())
    })
    .await;
    assert!(leye.metric("leye_publisher_lag_seconds").await.unwrap() > 0.0);
    eventually("the lag in the log", MINUTE, || async {
        let log = leye.log_text();
        (log.contains("publisher behind") && log.contains("lag_events")).then_some(())
    })
    .await;

    // NATS is back, same port and directory: everything arrives.
    nats.restart().await;
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, sent.len() as u64, MINUTE).await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    eventually("lag back to 0", MINUTE, || async {
        let events = leye.metric("leye_publisher_lag_events").await?;
        let seconds = leye.metric("leye_publisher_lag_seconds").await?;
        (events == 0.0 && seconds == 0.0).then_some(())
    })
    .await;
    let received = read_all(&js, sent.len()).await;
    assert_each_once_in_case_order(&received, &sent);
    leye.print_publisher_log();
    leye.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_loses_a_node_while_publishing_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = NatsServer::cluster(dir.path()).await;
    let urls: Vec<String> = nodes.iter().map(NatsServer::url).collect();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let leye = Leye::start(&data, Some(&urls.join(",")), &["--nats-stream-replicas", "3"]).await;
    leye.wait_health(ServingStatus::Serving, Duration::from_secs(90)).await;
    let js = jetstream(&urls).await;
    let info = js.get_stream(STREAM).await.unwrap().info().await.unwrap().clone();
    assert_eq!(info.config.num_replicas, 3);

    // Commands run in the background while a node goes down.
    let (addr, token) = (leye.addr, leye.token());
    let load = tokio::spawn(async move { run_clients(addr, token, 8, 10, 0).await });
    eventually("publishing under way", MINUTE, || async { (stream_messages(&js).await? >= 40).then_some(()) }).await;
    // Stop the stream's leader: the hardest node to lose.
    let leader = js.get_stream(STREAM).await.unwrap().info().await.unwrap().cluster.clone().and_then(|c| c.leader);
    let victim = nodes.iter().position(|n| Some(&n.name) == leader.as_ref()).unwrap_or(0);
    let acked_before = leye.metric("leye_publisher_checkpoint_position").await.unwrap();
    nodes[victim].kill().await;
    eprintln!("stopped node {} (stream leader {leader:?}) with {acked_before} events acknowledged", nodes[victim].name);

    let sent = tokio::time::timeout(Duration::from_secs(120), load).await.expect("commands finish").unwrap();
    let survivors: Vec<String> = nodes.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, n)| n.url()).collect();
    let js = jetstream(&survivors).await;
    wait_stream_count(&js, sent.len() as u64, Duration::from_secs(120)).await;
    let received = read_by_sequence(&js, sent.len()).await;
    assert_each_once_in_case_order(&received, &sent);
    // Every position of the log, once: what was acknowledged before the stop
    // included.
    let mut positions: Vec<u64> = received.iter().map(|r| r.header("Leye-Global-Position").parse().unwrap()).collect();
    positions.sort_unstable();
    assert!(acked_before >= 1.0);
    assert_eq!(positions, (1..=sent.len() as u64).collect::<Vec<_>>());
    eventually("lag 0", MINUTE, || async {
        (leye.metric("leye_publisher_lag_events").await == Some(0.0)).then_some(())
    })
    .await;
    leye.print_publisher_log();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_republished_event_is_dropped_by_the_duplicate_window() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let js = jetstream(&[nats.url()]).await;
    let stream = eventually("stream created", MINUTE, || async {
        leye::publisher::stream::ensure(&js, &StreamSettings::default()).await.ok()
    })
    .await;
    assert_eq!(stream.cached_info().config.duplicate_window, Duration::from_secs(3600));

    // The same event published twice (a crash between publish and checkpoint).
    let mut headers = async_nats::HeaderMap::new();
    let id = uuid::Uuid::new_v4().to_string();
    headers.insert(message::headers::NATS_MSG_ID, id.as_str());
    headers.insert(message::headers::EVENT_ID, id.as_str());
    let subject = "leye.v1.person.120111.placed";
    let first = js.publish_with_headers(subject, headers.clone(), "x".into()).await.unwrap().await.unwrap();
    let again = js.publish_with_headers(subject, headers, "x".into()).await.unwrap().await.unwrap();
    assert!(!first.duplicate);
    assert!(again.duplicate, "JetStream recognised the event id");
    assert_eq!(again.sequence, first.sequence);
    assert_eq!(stream_messages(&js).await, Some(1));
}
