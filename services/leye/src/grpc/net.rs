//! Accepting connections within limits: a cap on open connections, an idle
//! timeout, and an accept loop that backs off instead of spinning when the
//! process runs out of file descriptors.
//!
//! # Why here and not in tonic
//! tonic bounds streams and requests per connection, but not how many
//! connections are open, nor how long an idle one stays. A client opening
//! thousands of idle connections would otherwise hold a file descriptor each
//! until the process hits its limit, and then the followers (publisher,
//! projector, linker, finder), which open files too, fail. With the cap below
//! the descriptor limit (see [`fd_budget`]), clients can use at most the cap.
//!
//! # Per peer
//! One peer address (one client machine) may hold at most
//! `max_connections_per_peer` connections. Every open HTTP/2 stream can hold
//! one unsent response, so what one client can make the server buffer is
//! bounded by `max_connections_per_peer × max_concurrent_streams × the
//! largest response`, whatever the global cap.
//!
//! # Idle
//! A connection is idle while no request is in flight on it; the guard counts
//! requests on the connection's [`Activity`]. HTTP/2 pings do not count, so a
//! client that keeps a connection open without using it is closed after the
//! idle timeout.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, mpsc},
    time::{Instant, Sleep},
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

/// What the guard sees of a connection: the peer and its activity.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub remote: Option<SocketAddr>,
    pub activity: Arc<Activity>,
}

/// Requests in flight on one connection and when the last one ended.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// Milliseconds since `epoch` when the last request ended (or the connection opened).
    last_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Self { in_flight: AtomicUsize::new(0), last_ms: AtomicU64::new(0), epoch: Instant::now() }
    }

    /// A request started; the returned guard ends it when dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    fn deadline(&self, idle: Duration) -> Instant {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            Instant::now() + idle
        } else {
            self.epoch + Duration::from_millis(self.last_ms.load(Ordering::SeqCst)) + idle
        }
    }
}

/// One request in flight on a connection.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_ms.store(ms, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An accepted connection: counts against the cap until dropped; fails its
/// reads once idle for longer than the timeout, which closes it.
#[derive(Debug)]
pub struct Conn {
    io: TcpStream,
    info: ConnInfo,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    /// Returned to the cap when the connection is dropped.
    _permit: OwnedSemaphorePermit,
    /// Returned to the peer's count when the connection is dropped.
    _peer: PeerSlot,
}

/// Open connections by peer address.
type PeerCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection of a peer, counted until dropped.
#[derive(Debug)]
struct PeerSlot {
    counts: PeerCounts,
    ip: IpAddr,
}

impl PeerSlot {
    /// A slot for `ip`, unless it holds `max` connections already.
    fn take(counts: &PeerCounts, ip: IpAddr, max: usize) -> Option<Self> {
        let mut map = counts.lock().ok()?;
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self { counts: counts.clone(), ip })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.counts.lock() {
            if let Some(n) = map.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.ip);
                }
            }
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(r) = Pin::new(&mut this.io).poll_read(cx, buf) {
            return Poll::Ready(r);
        }
        loop {
            let deadline = this.info.activity.deadline(this.idle);
            if deadline <= Instant::now() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection closed")));
            }
            this.timer.as_mut().reset(deadline);
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Connection limits of the gRPC listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    pub idle_timeout: Duration,
}

/// Accepts connections on `listener` within `limits`, as a stream for tonic.
/// Beyond the cap a connection is accepted and closed at once (the client
/// fails fast instead of waiting in the backlog). Stops when the stream is dropped.
pub fn incoming(listener: TcpListener, limits: ConnLimits) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(1);
    let cap = Arc::new(Semaphore::new(limits.max_connections));
    let peers: PeerCounts = Arc::default();
    let accepting = async move {
        let mut refused: u64 = 0;
        let mut refused_peer: u64 = 0;
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = tx.closed() => return,
            };
            let (io, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE/ENFILE and the like: wait rather than spin; the
                    // connection stays in the backlog until a descriptor frees.
                    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = cap.clone().try_acquire_owned() else {
                refused += 1;
                if refused.is_power_of_two() {
                    tracing::warn!(
                        refused,
                        max = limits.max_connections,
                        "connection cap reached; closing new connections"
                    );
                }
                drop(io);
                continue;
            };
            let Some(peer) = PeerSlot::take(&peers, remote.ip(), limits.max_connections_per_peer) else {
                refused_peer += 1;
                if refused_peer.is_power_of_two() {
                    tracing::warn!(
                        refused = refused_peer,
                        max = limits.max_connections_per_peer,
                        "a peer reached its connection cap; closing its new connections"
                    );
                }
                drop(io);
                continue;
            };
            // Small gRPC responses must not wait for the peer's delayed ACK (~40 ms).
            let _ = io.set_nodelay(true);
            let info = ConnInfo { remote: Some(remote), activity: Arc::new(Activity::new()) };
            let conn = Conn {
                io,
                info,
                idle: limits.idle_timeout,
                timer: Box::pin(tokio::time::sleep(limits.idle_timeout)),
                _permit: permit,
                _peer: peer,
            };
            if tx.send(Ok(conn)).await.is_err() {
                return;
            }
        }
    };
    tokio::spawn(tracing::Instrument::in_current_span(accepting));
    ReceiverStream::new(rx)
}

/// Descriptors kept for the service itself (store, read model, checkpoints,
/// NATS, the audit trail, logs) whatever clients do.
pub const FD_RESERVE: u64 = 256;

/// Raises the soft descriptor limit to the hard one and returns how many
/// connections fit below it with [`FD_RESERVE`] kept; `None` if unknown.
pub fn fd_budget() -> Option<u64> {
    let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
    let limit = if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_ok() { hard } else { soft };
    Some(limit.saturating_sub(FD_RESERVE))
}
