//! Choosing the adapter at run time: [`StoreLocator`] (`sqlite:PATH`,
//! `postgres://…`, `kurrentdb://…`, never printed with a password) and
//! [`AnyStore`], one handle implementing [`EventStore`] by delegation, so that
//! the service stays non-generic.

use std::{
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
};

use crate::{
    AppendResult, ChainedEvent, EventData, EventStore, ExpectedRevision, IntegrityProblem, Position, RecordedEvent,
    SqliteStore, SqliteStoreOptions, StoreError, StreamName, Subscription,
    chain::ChainAlgorithm,
    headfile::Link,
    kurrent::{KurrentStore, KurrentStoreOptions},
    postgres::{PostgresStore, PostgresStoreOptions, redact_url},
};

/// Where the event store is. Display and Debug never show a password.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocator {
    /// The embedded store: one SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://` or `postgresql://` URL).
    Postgres(String),
    /// A KurrentDB cluster (`kurrentdb://`, `kurrentdb+discover://`, `esdb://` URL).
    KurrentDb(String),
}

impl StoreLocator {
    /// The accepted forms, for error messages.
    pub const FORMS: &'static str = "sqlite:PATH, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE or kurrentdb://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]";

    /// Several servers can share this store (not a file of one machine).
    pub fn is_shared(&self) -> bool {
        !matches!(self, Self::Sqlite(_))
    }
}

impl FromStr for StoreLocator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let lower = s.to_ascii_lowercase();
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(format!("store: `sqlite:` needs a file path; expected {}", Self::FORMS));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Self::Postgres(s.to_owned()))
        } else if ["kurrentdb://", "kurrentdb+discover://", "esdb://", "esdb+discover://"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            Ok(Self::KurrentDb(s.to_owned()))
        } else {
            Err(format!("store: {} is not a store; expected {}", shown_refused(s), Self::FORMS))
        }
    }
}

/// A value refused as a locator, as an error may show it: never a password.
/// With a user info (`@`) or a `key=value` the password is masked as in every
/// locator ([`redact_url`]); otherwise, if it holds a `:`, nothing past the
/// first `:` is shown (a mistyped `user:password` without a host could follow).
fn shown_refused(s: &str) -> String {
    if s.is_empty() {
        return "an empty value".into();
    }
    if s.contains(['@', '=']) {
        return format!("`{}`", redact_url(s));
    }
    match s.split_once(':') {
        Some((scheme, _)) => format!("a value starting `{scheme}:` (the rest not shown)"),
        None => format!("`{s}`"),
    }
}

impl TryFrom<String> for StoreLocator {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl fmt::Display for StoreLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) | Self::KurrentDb(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for StoreLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocator({self})")
    }
}

/// How [`AnyStore::open`] opens any adapter.
#[derive(Debug, Clone)]
pub struct AnyStoreOptions {
    /// The chain key's file (the same on every server of a shared store).
    pub key_file: PathBuf,
    pub algorithm: Option<ChainAlgorithm>,
    /// SQLite: `PRAGMA quick_check` at open.
    pub quick_check: bool,
    /// SQLite, benchmarks only: see [`SqliteStoreOptions::unsealed_for_benchmarks`].
    pub unsealed_for_benchmarks: bool,
}

impl AnyStoreOptions {
    pub fn new(key_file: impl Into<PathBuf>) -> Self {
        Self { key_file: key_file.into(), algorithm: None, quick_check: false, unsealed_for_benchmarks: false }
    }

    pub fn sqlite(&self) -> SqliteStoreOptions {
        SqliteStoreOptions {
            key_file: Some(self.key_file.clone()),
            algorithm: self.algorithm,
            quick_check: self.quick_check,
            unsealed_for_benchmarks: self.unsealed_for_benchmarks,
            ..Default::default()
        }
    }

    pub fn postgres(&self) -> PostgresStoreOptions {
        PostgresStoreOptions { algorithm: self.algorithm, ..PostgresStoreOptions::new(&self.key_file) }
    }

    pub fn kurrent(&self) -> KurrentStoreOptions {
        KurrentStoreOptions { algorithm: self.algorithm, ..KurrentStoreOptions::new(&self.key_file) }
    }
}

/// Any adapter behind one type.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
    KurrentDb(KurrentStore),
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> Self {
        Self::Sqlite(s)
    }
}

impl From<PostgresStore> for AnyStore {
    fn from(s: PostgresStore) -> Self {
        Self::Postgres(s)
    }
}

impl From<KurrentStore> for AnyStore {
    fn from(s: KurrentStore) -> Self {
        Self::KurrentDb(s)
    }
}

impl AnyStore {
    /// Opens the store at `locator` (a SQLite file is created if missing).
    pub async fn open(locator: &StoreLocator, options: &AnyStoreOptions) -> Result<Self, StoreError> {
        match locator {
            StoreLocator::Sqlite(path) => Ok(Self::Sqlite(SqliteStore::open(path, options.sqlite()).await?)),
            StoreLocator::Postgres(url) => Ok(Self::Postgres(PostgresStore::open(url, options.postgres()).await?)),
            StoreLocator::KurrentDb(url) => Ok(Self::KurrentDb(KurrentStore::open(url, options.kurrent()).await?)),
        }
    }

    /// Opens the existing store at `locator` and creates nothing: no SQLite
    /// file, no PostgreSQL schema, no chain record, no key. For read-only
    /// commands (`leye verify`, `leye replay`, the source of a copy); a store
    /// that is not there is refused, saying so.
    pub async fn open_existing(locator: &StoreLocator, options: &AnyStoreOptions) -> Result<Self, StoreError> {
        match locator {
            StoreLocator::Sqlite(path) => {
                if !path.is_file() {
                    return Err(StoreError::Backend(format!(
                        "no event store at {}; nothing was created",
                        path.display()
                    )));
                }
                Ok(Self::Sqlite(SqliteStore::open(path, options.sqlite()).await?))
            }
            StoreLocator::Postgres(url) => {
                let options = PostgresStoreOptions { create: false, ..options.postgres() };
                Ok(Self::Postgres(PostgresStore::open(url, options).await?))
            }
            StoreLocator::KurrentDb(url) => {
                let options = KurrentStoreOptions { create: false, ..options.kurrent() };
                Ok(Self::KurrentDb(KurrentStore::open(url, options).await?))
            }
        }
    }

    /// What the adapter's check at open found; appends are refused while `Some`.
    pub fn integrity(&self) -> Option<&IntegrityProblem> {
        match self {
            Self::Sqlite(s) => s.integrity(),
            Self::Postgres(s) => s.integrity(),
            Self::KurrentDb(s) => s.integrity(),
        }
    }

    /// The SQLite store, for what only a file has (backup, verify of a file).
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            Self::Sqlite(s) => Some(s),
            Self::Postgres(_) | Self::KurrentDb(_) => None,
        }
    }

    /// The SQLite file, if this is one.
    pub fn path(&self) -> Option<&Path> {
        self.as_sqlite().map(SqliteStore::path)
    }

    /// The chain key's file.
    pub fn key_file(&self) -> &Path {
        match self {
            Self::Sqlite(s) => s.key_file(),
            Self::Postgres(s) => s.key_file(),
            Self::KurrentDb(s) => s.key_file(),
        }
    }

    /// The chain's algorithm.
    pub fn algorithm(&self) -> ChainAlgorithm {
        match self {
            Self::Sqlite(s) => s.chain().algorithm,
            Self::Postgres(s) => s.chain().algorithm,
            Self::KurrentDb(s) => s.chain().algorithm,
        }
    }

    /// Where the store is, without a password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(s) => format!("sqlite:{}", s.path().display()),
            Self::Postgres(s) => format!("{} (schema {})", s.shown_url(), s.schema()),
            Self::KurrentDb(s) => format!("{} (streams {}-log, {}-chain)", s.shown_url(), s.namespace(), s.namespace()),
        }
    }

    /// Closes the store: queued appends are answered first.
    pub async fn close(self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
            Self::KurrentDb(s) => s.close().await,
        }
    }
}

impl EventStore for AnyStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> Result<AppendResult, StoreError> {
        match self {
            Self::Sqlite(s) => s.append(stream, expected, events).await,
            Self::Postgres(s) => s.append(stream, expected, events).await,
            Self::KurrentDb(s) => s.append(stream, expected, events).await,
        }
    }

    async fn read_stream(&self, stream: &StreamName, from_revision: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            Self::Sqlite(s) => s.read_stream(stream, from_revision).await,
            Self::Postgres(s) => s.read_stream(stream, from_revision).await,
            Self::KurrentDb(s) => s.read_stream(stream, from_revision).await,
        }
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            Self::Sqlite(s) => s.read_all(after, max).await,
            Self::Postgres(s) => s.read_all(after, max).await,
            Self::KurrentDb(s) => s.read_all(after, max).await,
        }
    }

    async fn read_chain(&self, after: Option<Position>, max: usize) -> Result<Vec<ChainedEvent>, StoreError> {
        match self {
            Self::Sqlite(s) => s.read_chain(after, max).await,
            Self::Postgres(s) => s.read_chain(after, max).await,
            Self::KurrentDb(s) => s.read_chain(after, max).await,
        }
    }

    async fn sealed_head(&self) -> Result<Option<Link>, StoreError> {
        match self {
            Self::Sqlite(s) => s.sealed_head().await,
            Self::Postgres(s) => s.sealed_head().await,
            Self::KurrentDb(s) => s.sealed_head().await,
        }
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        match self {
            Self::Sqlite(s) => s.head().await,
            Self::Postgres(s) => s.head().await,
            Self::KurrentDb(s) => s.head().await,
        }
    }

    fn subscribe_all(&self, after: Option<Position>) -> Subscription {
        match self {
            Self::Sqlite(s) => s.subscribe_all(after),
            Self::Postgres(s) => s.subscribe_all(after),
            Self::KurrentDb(s) => s.subscribe_all(after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_parse_and_never_show_a_password() {
        assert_eq!("sqlite:/d/events.sqlite".parse(), Ok(StoreLocator::Sqlite("/d/events.sqlite".into())));
        assert_eq!("sqlite://rel.db".parse(), Ok(StoreLocator::Sqlite("rel.db".into())));
        let pg: StoreLocator = "postgres://leye:s3cret@db:5432/leye".parse().expect("valid");
        assert!(pg.is_shared());
        assert_eq!(pg.to_string(), "postgres://leye:***@db:5432/leye");
        assert!(!format!("{pg:?}").contains("s3cret"));
        let k: StoreLocator = "kurrentdb://admin:changeit@k1:2113?tls=false".parse().expect("valid");
        assert!(k.is_shared());
        assert!(!k.to_string().contains("changeit") && !format!("{k:?}").contains("changeit"));
        assert_eq!(k.to_string(), "kurrentdb://admin:***@k1:2113?tls=false");
        for url in ["kurrentdb+discover://k:2113", "esdb://k:2113", "ESDB+DISCOVER://k:2113", "KurrentDB://k:2113"] {
            assert!(matches!(url.parse(), Ok(StoreLocator::KurrentDb(_))), "{url}");
        }
        let e = "mysql://u:s3cret@h/d".parse::<StoreLocator>().unwrap_err();
        assert!(e.contains("expected sqlite:PATH") && !e.contains("s3cret"), "{e}");
        assert!("sqlite:".parse::<StoreLocator>().is_err());
        for bad in [
            "postgres:leye:s3cret@db:5432/leye",
            "postgres:/leye:s3cret@db:5432/leye",
            "leye:s3cret@db:5432/leye",
            "postgres//leye:s3cret@db:5432/leye",
            "postgres:leye:s3cret",
            "host=db password=s3cret",
            "pg://leye:ab/s3cret@db/leye",
        ] {
            let e = bad.parse::<StoreLocator>().unwrap_err();
            assert!(e.contains("postgres://USER") && !e.contains("s3cret"), "{bad}: {e}");
        }
    }
}
