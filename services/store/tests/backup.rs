//! An online backup taken while appends go on is a consistent, verified copy.

use leye_store::{
    EventData, EventStore, ExpectedRevision, SqliteStore, SqliteStoreOptions, StreamName,
    sqlite::{VerifyOptions, backup, verify_file},
};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_appends_verifies_and_holds_a_prefix_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    let store = SqliteStore::open(&path, SqliteStoreOptions::default()).await.unwrap();
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            for i in 0..400u32 {
                let s = StreamName::parse(format!("person-{}", i % 7)).unwrap();
                let e = EventData {
                    event_id: Uuid::new_v4(),
                    event_type: "t".into(),
                    data: vec![b'x'; 300],
                    metadata: b"{}".to_vec(),
                };
                store.append(&s, ExpectedRevision::Any, vec![e]).await.unwrap();
            }
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let dest = dir.path().join("backup");
    let (p, k, d) = (path.clone(), store.key_file().to_path_buf(), dest.clone());
    let report = tokio::task::spawn_blocking(move || backup(&p, &k, &d)).await.unwrap().unwrap();
    writer.await.unwrap();
    assert!(report.events > 0 && report.events <= 400, "{report:?}");
    assert_eq!(report.files.len(), 3);
    let copy = dest.join("events.sqlite");
    let verified = verify_file(&copy, &dest.join("keys/chain.key"), VerifyOptions::default()).unwrap().report;
    assert!(verified.is_intact(), "{verified:?}");
    assert_eq!((verified.events, verified.end.seq), (report.events, report.last_position));
    let live = store.read_all(None, usize::MAX).await.unwrap();
    let copied = SqliteStore::open(&copy, SqliteStoreOptions::default()).await.unwrap();
    assert_eq!(copied.integrity(), None);
    assert_eq!(copied.read_all(None, usize::MAX).await.unwrap(), live[..report.events as usize]);
    copied.close().await;
    store.close().await;
    let again =
        tokio::task::spawn_blocking(move || backup(&path, &dir.path().join("keys/chain.key"), &dest)).await.unwrap();
    assert!(again.unwrap_err().to_string().contains("already exists"));
}
