//! The contract suite against the PostgreSQL adapter, each case on a server of
//! its own (`leye_store::test_postgres`), and what a shared SQL store must get
//! right beyond it: several store handles (several servers) on one database.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
};

use leye_store::{
    chain::ChainKey,
    contract::Harness,
    postgres::{PostgresStore, PostgresStoreOptions},
    test_postgres::TestPostgres,
};
use tempfile::TempDir;

/// Stores in schemas `s0`, `s1`, … of one test server, keys in a temporary directory.
struct PostgresHarness {
    server: TestPostgres,
    keys: TempDir,
    schemas: AtomicUsize,
}

impl PostgresHarness {
    fn start() -> Option<Self> {
        let server = TestPostgres::start()?;
        Some(Self { server, keys: tempfile::tempdir().expect("temporary directory"), schemas: AtomicUsize::new(0) })
    }

    fn options(&self, schema: &str) -> PostgresStoreOptions {
        let key: PathBuf = self.keys.path().join(format!("{schema}.key"));
        PostgresStoreOptions { schema: schema.into(), ..PostgresStoreOptions::new(key) }
    }
}

impl Harness for PostgresHarness {
    type Store = PostgresStore;

    async fn fresh(&self) -> PostgresStore {
        let schema = format!("s{}", self.schemas.fetch_add(1, Ordering::Relaxed));
        PostgresStore::open(&self.server.url(), self.options(&schema)).await.expect("open")
    }

    async fn reopen(&self, store: PostgresStore) -> PostgresStore {
        let schema = store.schema().to_owned();
        store.close().await;
        PostgresStore::open(&self.server.url(), self.options(&schema)).await.expect("reopen")
    }

    fn chain_key(&self, store: &PostgresStore) -> ChainKey {
        ChainKey::load(store.key_file(), store.chain().algorithm).expect("the store's chain key")
    }
}

// One test per contract case, each skipped (with a message) when no
// PostgreSQL is installed and `LEYE_REQUIRE_POSTGRES` is not `1`.
leye_store::store_contract_tests!(skippable PostgresHarness::start());
