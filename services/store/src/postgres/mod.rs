//! The PostgreSQL adapter: one shared log for several leye servers.
//!
//! # Design
//! - **Tables** (in their own schema, `leye` by default): `events` (one row per
//!   event, its seal beside it, `position` the primary key, `event_id` and
//!   `(stream, revision)` unique), `log_head` (ONE row: the last position, its
//!   chain hash, its `recorded_at`, and the head tag of [`ChainKey::head_tag`])
//!   and `chain` (algorithm, key id, schema version).
//! - **A writer task per handle, group commit.** [`PostgresStore::append`]
//!   queues its request; the writer task (one connection,
//!   [`PostgresStoreOptions::writer_connections`], default 1) drains every
//!   request already queued (up to [`PostgresStoreOptions::max_batch`]) and
//!   commits them in ONE transaction: one WAL flush for the batch. Once it
//!   holds the head lock it adds what was queued meanwhile.
//! - **The global log in commit order, with several servers.** Every batch
//!   starts with `SELECT … FROM log_head WHERE id = 1 FOR UPDATE`. That row lock
//!   serialises every writer of every server: a batch reads the last position
//!   and hash only once the batch before it has committed (a row lock is
//!   released after the commit is visible), gives its events the next positions
//!   itself (no sequence), and commits before the next writer may read the head.
//!   So positions are assigned AND become visible in one order: a snapshot that
//!   holds position `p` holds every position below it, and a follower reading
//!   `position > after` neither skips nor reorders. (A `bigserial` would not do:
//!   sequence values are taken at insert and commit out of order.)
//! - **Checks in memory, one statement per kind.** Under the lock the writer
//!   reads, for the whole batch, the stored rows of every event id of the batch
//!   and the current revision of every stream it touches (two statements,
//!   planned at every batch for the table as it then is: a plan fixed on a
//!   new, near-empty store would scan the whole log), then
//!   decides each request in arrival order (idempotent retry, expected
//!   revision, duplicate ids) against those and what the batch already accepted,
//!   seals the accepted events, and writes them with one `INSERT … SELECT FROM
//!   UNNEST(…)` and the head row with one `UPDATE`. A refused request writes
//!   nothing and the others of the batch commit. If the transaction fails as a
//!   whole, every request of the batch gets [`StoreError::Backend`]; if the
//!   `COMMIT` itself is lost with the connection the outcome is unknown, and a
//!   retry with the same event ids is answered idempotently.
//! - **Known streams skip the look-ups.** Each writer remembers the last
//!   revision of the streams it committed to or looked up (`writer::Heads`,
//!   never ahead of the database). A batch whose requests all create their
//!   stream or name a remembered one is decided against that memory and
//!   written in the lock's next round trip; if the database disagrees (another
//!   server appended, the stream exists, an event id is a retry), the `INSERT`
//!   hits a unique key, and the batch is decided again from the look-ups in a
//!   new transaction. A refusal is always decided from the look-ups.
//! - **Durability.** Every connection sets `synchronous_commit = on`: an `Ok`
//!   append is flushed to the primary's WAL (and, when the server names
//!   `synchronous_standby_names`, acknowledged by a standby: see ARCHITECTURE.md).
//! - **Reads** go through a few connections with prepared statements, each
//!   query one snapshot. **Followers** re-read after every local commit, on
//!   every `NOTIFY leye_events` (sent by every server's commits, delivered only
//!   after they are visible), and every [`PostgresStoreOptions::poll_interval`]
//!   as a fallback. A server's subscriptions share one reader of the new
//!   events (`tail.rs`): each new page is read once a server, not once a
//!   follower. A server listens only while that reader runs (a standby whose
//!   read model sleeps does not): PostgreSQL wakes every listening session at
//!   every notifying commit.
//! - **The chain** is the port's ([`crate::chain`]): the same seals as the
//!   SQLite adapter for the same events at the same positions. The head row
//!   plays the SQLite head file's part, tagged with the key; it moves in the
//!   same transaction as the events, so it never lags. The key file must be the
//!   same on every server (`chain.key_id` names it; another key is refused).
//! - **The check at open** verifies the head row's tag and the last
//!   [`PostgresStoreOptions::tail_check`] events of the chain; a problem is kept
//!   in [`PostgresStore::integrity`] and appends are refused, reads go on.

mod import;
mod leader;
mod open;
mod read;
mod writer;

use std::{
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
};
use tokio_postgres::{Client, Config, NoTls};

use crate::{
    AppendResult, ChainedEvent, EventData, EventStore, ExpectedRevision, IntegrityProblem, Position, RecordedEvent,
    StoreError, StreamName, Subscription,
    chain::{ChainAlgorithm, ChainKey},
    headfile::Link,
    tail::{KEPT, ReadHead, ReadPage, Tail},
};
pub use import::Import;
pub use leader::{Leadership, lock_key};
pub use open::PostgresChainInfo;
use read::Readers;
use writer::{Request, Writer};

/// The schema version this build writes (`chain.schema_version`).
pub const SCHEMA_VERSION: i32 = 1;

/// The channel every commit notifies, and every server's followers listen on.
pub const NOTIFY_CHANNEL: &str = "leye_events";

/// Tuning of a [`PostgresStore`].
#[derive(Debug, Clone)]
pub struct PostgresStoreOptions {
    /// The schema holding the tables; created if missing. Lowercase letters,
    /// digits and `_`, at most 63, not starting with a digit. Default `leye`.
    pub schema: String,
    /// The chain key (32 bytes, 0600). The same file on every server; created
    /// with a new store if missing.
    pub key_file: PathBuf,
    /// The chain's hash function for a new store (`None`: SHA-256); an existing
    /// store keeps its own, and a different one set here is refused.
    pub algorithm: Option<ChainAlgorithm>,
    /// Most append requests in one transaction. Default 1024.
    pub max_batch: usize,
    /// Most append requests waiting for the writer. Default 4096.
    pub queue_capacity: usize,
    /// Writer connections taking batches in turn (while one commits, the next
    /// waits on the head lock with its batch). Default 1: a second writer of
    /// the same handle made fewer appends/s, not more, in
    /// `leye-bench-pgstore` and `leye-bench-cluster` (docs/PERFORMANCE.md,
    /// "One writer connection a server").
    pub writer_connections: usize,
    /// Read connections (each pipelines concurrent queries). Default 4.
    pub read_connections: usize,
    /// How often an idle follower re-reads the log when no notification came
    /// (a lost `LISTEN` connection). Default 1 s.
    pub poll_interval: Duration,
    /// Events at the end of the log checked at open. Default 1000.
    pub tail_check: u64,
    /// Most time to open one connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Create the schema, its tables, the chain record and the key when
    /// missing (a new store). `false` (read-only commands: verify, replay)
    /// opens an existing store only: nothing is created or sealed, and a
    /// database without a leye store in `schema` is refused. Default `true`.
    pub create: bool,
}

impl PostgresStoreOptions {
    /// The defaults, with the chain key at `key_file`.
    pub fn new(key_file: impl Into<PathBuf>) -> Self {
        Self {
            schema: "leye".into(),
            key_file: key_file.into(),
            algorithm: None,
            max_batch: 1024,
            queue_capacity: 4096,
            writer_connections: 1,
            read_connections: 4,
            poll_interval: Duration::from_secs(1),
            tail_check: 1000,
            connect_timeout: Duration::from_secs(10),
            create: true,
        }
    }
}

/// Where to connect, parsed once; never printed with its password.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    schema: String,
    /// The URL without its password, for messages.
    shown: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (schema {})", self.shown, self.schema)
    }
}

impl Target {
    fn parse(url: &str, options: &PostgresStoreOptions) -> Result<Self, StoreError> {
        let shown = redact_url(url);
        let mut config = Config::from_str(url).map_err(|_| {
            StoreError::Backend(format!(
                "the PostgreSQL URL {shown} is malformed: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?…]"
            ))
        })?;
        config.connect_timeout(options.connect_timeout);
        let schema = &options.schema;
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && !schema.starts_with(|c: char| c.is_ascii_digit())
            && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::Backend(format!(
                "schema `{schema}`: must be 1 to 63 lowercase letters, digits or `_`, not starting with a digit"
            )));
        }
        Ok(Self { config, schema: schema.clone(), shown })
    }

    /// A new connection, its session set up: the schema, `synchronous_commit = on`.
    pub(crate) async fn connect(&self, role: &str) -> Result<Client, StoreError> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL at {}: {e}", self.shown)))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "PostgreSQL connection ended");
            }
        });
        client
            .batch_execute(&format!(
                "SET search_path TO \"{}\"; SET synchronous_commit TO on; SET application_name TO 'leye-{role}'",
                self.schema
            ))
            .await
            .map_err(pg)?;
        Ok(client)
    }
}

/// `url` with its password replaced by `***`: what logs, errors and
/// configuration listings show, for every locator (PostgreSQL, KurrentDB) and
/// for values refused as locators.
///
/// It masks at least what the PostgreSQL driver would take as a password:
/// - the user info: tokio-postgres takes everything up to the FIRST `@` as
///   `user[:password]` (a password may hold `/`, `?` or `#`), while a URL
///   parser ends the user info at the LAST `@` before the path; everything
///   from the first `:` of the user info to the later of the two is masked.
///   Without `scheme://` (a mistyped value) the same rule applies from the
///   start of the text.
/// - `password=` parameters (any key containing `password`, case and
///   percent-escapes ignored): in a URL up to the next `&`; in a `key=value`
///   connection string the value, quoted (`'…'`, backslash escapes) or up to
///   the next unescaped white space.
pub fn redact_url(url: &str) -> String {
    // A URL only when what precedes `://` is a scheme; else `key=value` text.
    let scheme = url
        .find("://")
        .filter(|&i| i > 0 && url[..i].chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')));
    match scheme {
        Some(i) => {
            let body = i + 3;
            let (head, rest) = mask_user_info(url, body);
            head + &mask_url_params(&url[rest..])
        }
        None => {
            let masked = mask_key_values(url);
            let (head, rest) = mask_user_info(&masked, 0);
            head + &masked[rest..]
        }
    }
}

const MASK: &str = "***";

/// The text up to the end of the user info (its password masked), and where
/// the rest begins.
fn mask_user_info(s: &str, body: usize) -> (String, usize) {
    let Some(first_at) = s[body..].find('@').map(|i| body + i) else { return (s[..body].to_owned(), body) };
    let Some(colon) = s[body..first_at].find(':').map(|i| body + i) else { return (s[..body].to_owned(), body) };
    let tail = &s[first_at + 1..];
    let authority_end = tail.find(['/', '?', '#']).unwrap_or(tail.len());
    let end = tail[..authority_end].rfind('@').map_or(first_at, |i| first_at + 1 + i);
    (format!("{}{MASK}", &s[..=colon]), end)
}

fn is_password_key(key: &str) -> bool {
    percent_decode(key.trim()).to_ascii_lowercase().contains("password")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// URL parameters: a password's value runs to the next `&`.
fn mask_url_params(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut copied, mut search) = (0, 0);
    while let Some(eq) = s[search..].find('=').map(|e| search + e) {
        let key_start = s[..eq].rfind(['?', '&']).map_or(0, |k| k + 1).max(copied);
        if is_password_key(&s[key_start..eq]) {
            let end = s[eq + 1..].find('&').map_or(s.len(), |e| eq + 1 + e);
            out.push_str(&s[copied..=eq]);
            out.push_str(MASK);
            copied = end;
            search = end;
        } else {
            search = eq + 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// A `key = value` connection string, as tokio-postgres reads it.
fn mask_key_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut copied, mut search) = (0, 0);
    while let Some(eq) = s[search..].find('=').map(|e| search + e) {
        let before = s[..eq].trim_end();
        let key_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(k, c)| k + c.len_utf8())
            .max(copied);
        if key_start < before.len() && is_password_key(&before[key_start..]) {
            let value = eq + 1 + (s[eq + 1..].len() - s[eq + 1..].trim_start().len());
            let end = value_end(s, value);
            out.push_str(&s[copied..value]);
            out.push_str(MASK);
            copied = end;
            search = end.max(eq + 1);
        } else {
            search = eq + 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// Where the value starting at `start` ends: after its closing quote, or at
/// the first unescaped white space.
fn value_end(s: &str, start: usize) -> usize {
    let quoted = s[start..].starts_with('\'');
    let mut chars = s[start..].char_indices().skip(usize::from(quoted));
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '\'' if quoted => return start + i + 1,
            c if c.is_whitespace() && !quoted => return start + i,
            _ => {}
        }
    }
    s.len()
}

/// The PostgreSQL event store: a cheap, cloneable handle. Several handles (in
/// one process or on several servers) may share one database and schema.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    key_file: PathBuf,
    chain: PostgresChainInfo,
    key: Option<Arc<ChainKey>>,
    problem: Option<IntegrityProblem>,
    synchronous_commit: String,
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    listener: JoinHandle<()>,
    readers: Arc<Readers>,
    /// The subscriptions' shared reader of new events, woken after every
    /// local commit and every notification.
    tail: Tail<u64>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore").field("target", &self.inner.target).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`), creates the schema
    /// and tables if missing (one server at a time; with
    /// [`PostgresStoreOptions::create`] `false` nothing is created and a
    /// database without the store is refused), checks the chain's tail, and
    /// starts the writer task. Must run inside a tokio runtime.
    pub async fn open(url: &str, options: PostgresStoreOptions) -> Result<Self, StoreError> {
        let target = Target::parse(url, &options)?;
        let mut client = target.connect("open").await?;
        let opened = open::prepare(&mut client, &target, &options).await?;
        drop(client);
        if let Some(p) = &opened.problem {
            tracing::warn!(code = p.code, detail = %p.detail, store = ?target, "event store check at open failed: appends refused");
        }
        let (queue, rx) = mpsc::channel(options.queue_capacity.max(1));
        let (wake_tx, wake_rx) = watch::channel(0u64);
        let wake_tx = Arc::new(wake_tx);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let mut writers = Vec::new();
        for _ in 0..options.writer_connections.max(1) {
            let writer = Writer {
                target: target.clone(),
                conn: Some(writer::WriterConn::connect(&target).await?),
                rx: Arc::clone(&rx),
                wake: Arc::clone(&wake_tx),
                max_batch: options.max_batch.max(1),
                key: opened.key.clone(),
                heads: writer::Heads::default(),
            };
            writers.push(tokio::spawn(writer.run()));
        }
        let writer = tokio::spawn(async move {
            for w in writers {
                let _ = w.await;
            }
        });
        let readers = Arc::new(Readers::new(target.clone(), options.read_connections.max(1)));
        let tail = {
            let (pages, head) = (Arc::clone(&readers), Arc::clone(&readers));
            let read_page: ReadPage = Arc::new(move |after| {
                let readers = Arc::clone(&pages);
                Box::pin(async move { readers.read_all(after, crate::follow::SUBSCRIPTION_PAGE).await })
            });
            let read_head: ReadHead = Arc::new(move || {
                let readers = Arc::clone(&head);
                Box::pin(async move { readers.head().await })
            });
            Tail::new(read_page, read_head, wake_rx, options.poll_interval, KEPT)
        };
        let listener = tokio::spawn(read::listen(target.clone(), wake_tx, tail.following(), options.poll_interval));
        tracing::debug!(store = ?target, "opened PostgreSQL store");
        Ok(Self {
            inner: Arc::new(Inner {
                target,
                key_file: options.key_file,
                chain: opened.chain,
                key: opened.key,
                problem: opened.problem,
                synchronous_commit: opened.synchronous_commit,
                queue: Mutex::new(Some(queue)),
                writer: Mutex::new(Some(writer)),
                listener,
                readers,
                tail,
            }),
        })
    }

    /// The URL, without its password.
    pub fn shown_url(&self) -> &str {
        &self.inner.target.shown
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.inner.target.schema
    }

    /// The chain key's file.
    pub fn key_file(&self) -> &Path {
        &self.inner.key_file
    }

    /// The chain's algorithm and key id, as recorded in the store.
    pub fn chain(&self) -> &PostgresChainInfo {
        &self.inner.chain
    }

    /// What the check at open found (`None`: sound).
    pub fn integrity(&self) -> Option<&IntegrityProblem> {
        self.inner.problem.as_ref()
    }

    /// `synchronous_commit` of the writer's session, as read back at open (`on`).
    pub fn synchronous_commit(&self) -> &str {
        &self.inner.synchronous_commit
    }

    /// Stops accepting appends, answers every append already queued, and waits
    /// for the writer task. Reads still work; subscriptions end once they have
    /// delivered everything committed.
    pub async fn close(self) {
        let writer = self.inner.stop();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        self.inner.listener.abort();
    }
}

impl Inner {
    fn stop(&self) -> Option<JoinHandle<()>> {
        lock(&self.queue).take();
        lock(&self.writer).take()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer ends by itself once the queue's sender is gone.
        self.stop();
        self.listener.abort();
    }
}

impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if let Some(problem) = &self.inner.problem {
            return Err(problem.error());
        }
        if let Some(e) = events.iter().find(|e| e.event_type.contains('\0')) {
            return Err(StoreError::Backend(format!(
                "event {}: event_type must not contain a NUL character",
                e.event_id
            )));
        }
        let queue = lock(&self.inner.queue).clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        queue
            .send(Request { stream: stream.clone(), expected, events, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        drop(queue);
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(&self, stream: &StreamName, from_revision: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.readers.read_stream(stream, from_revision).await
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.readers.read_all(after, max).await
    }

    async fn read_chain(&self, after: Option<Position>, max: usize) -> Result<Vec<ChainedEvent>, StoreError> {
        self.inner.readers.read_chain(after, max).await
    }

    async fn sealed_head(&self) -> Result<Option<Link>, StoreError> {
        let key = self.inner.key.clone().ok_or_else(|| {
            StoreError::Backend(format!("cannot read the chain key {}", self.inner.key_file.display()))
        })?;
        let (link, tag) = self.inner.readers.log_head().await?;
        if !key.check_head_tag(&link, &tag) {
            return Err(StoreError::Backend("the log head does not verify with the chain key".into()));
        }
        Ok((link.seq > 0).then_some(link))
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        self.inner.readers.head().await
    }

    fn subscribe_all(&self, after: Option<Position>) -> Subscription {
        let (tx, rx) = mpsc::channel(read::SUBSCRIPTION_BUFFER);
        if tokio::runtime::Handle::try_current().is_ok() {
            self.inner.tail.subscribe(after, tx);
        } else {
            let _ = tx
                .try_send(Err(StoreError::Backend("the PostgreSQL store must be used inside a tokio runtime".into())));
        }
        Subscription::from_channel(rx)
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// With the server's own message and SQLSTATE when it refused a statement
/// (the driver's text alone is "db error"); never the server's DETAIL, which
/// may quote a row's values.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {e}: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {e}"),
    })
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what} in the event log"))
}

fn unsigned(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt("negative number"))
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{pg, redact_url};

    /// A statement the server refuses: its message and SQLSTATE reach the
    /// error (the driver's own text is only "db error"), its DETAIL does not.
    #[tokio::test]
    async fn a_refused_statement_carries_the_servers_message_and_code_not_its_detail() {
        let Some(server) = crate::test_postgres::TestPostgres::start() else { return };
        let (client, conn) = tokio_postgres::connect(&server.url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let e = client.batch_execute("SELECT 1 / 0").await.unwrap_err();
        assert!(pg(e).to_string().ends_with("PostgreSQL: db error: division by zero (22012)"));
        client.batch_execute("CREATE TABLE t (k text PRIMARY KEY); INSERT INTO t VALUES ('a secret')").await.unwrap();
        let e = client.batch_execute("INSERT INTO t VALUES ('a secret')").await.unwrap_err();
        assert!(
            e.as_db_error().and_then(|d| d.detail()).is_some_and(|d| d.contains("a secret")),
            "the server's DETAIL"
        );
        let shown = pg(e).to_string();
        assert!(shown.contains("duplicate key value violates unique constraint") && shown.contains("23505"), "{shown}");
        assert!(!shown.contains("a secret"), "{shown}");
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(redact_url("postgres://leye:s3cret@db:5432/leye"), "postgres://leye:***@db:5432/leye");
        assert_eq!(redact_url("postgres://leye@db/leye"), "postgres://leye@db/leye");
        assert_eq!(
            redact_url("postgres://db/leye?user=a&password=s3cret&sslmode=disable"),
            "postgres://db/leye?user=a&password=***&sslmode=disable"
        );
        assert_eq!(redact_url("host=db PASSWORD=s3cret user=a"), "host=db PASSWORD=*** user=a");
        assert!(!redact_url("postgres://u:p@ss:w@rd@h/d").contains("rd@h"));
        // tokio-postgres takes the user info up to the first `@`: `/`, `?`, `#` are the password's.
        for (url, pw) in [
            ("postgres://leye:ab/SlashPw9@127.0.0.1:5/leye", "SlashPw9"),
            ("postgres://leye:ab?QmarkPw9@127.0.0.1:5/leye", "QmarkPw9"),
            ("postgresql://leye:ab#HashPw9@127.0.0.1:5/leye", "HashPw9"),
            ("POSTGRES://leye:a/b?c#d@h/x", "a/b"),
            ("kurrentdb://admin:ch/ng?it@k1:2113?tls=false", "ng?it"),
            ("postgres://h/d?user=a&PassWord=s3cret", "s3cret"),
            ("postgres://h/d?user=a&pass%77ord=s3cret&x=1", "s3cret"),
            ("postgres://h/d?password=s3c?ret/x=y", "ret"),
            ("host=db password='a b\\' c' user=u", "c'"),
            ("host=db password = s3c\\ ret user=u", "ret"),
            ("host=db user=a:b password=x@y", "x@y"),
            ("postgres:leye:NoSl-Pw1@db:5432/leye", "NoSl-Pw1"),
            ("host=db password=x://s3cret", "s3cret"),
            ("host=db password='a://b@c' user=u", "b@c"),
            ("postgres:/leye:NoSl-Pw1@db:5432/leye", "NoSl-Pw1"),
            ("leye:NoSl-Pw1@db:5432/leye", "NoSl-Pw1"),
            ("postgres//leye:NoSl-Pw1@db:5432/leye", "NoSl-Pw1"),
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains(pw) && shown.contains("***"), "{url} -> {shown}");
        }
        assert_eq!(redact_url("postgres://leye:ab/Sl@db:5/leye?x=1"), "postgres://leye:***@db:5/leye?x=1");
        assert_eq!(redact_url("postgres:leye:pw@db/leye"), "postgres:***@db/leye");
        assert_eq!(redact_url("host=db password='a b' user=u"), "host=db password=*** user=u");
    }
}
