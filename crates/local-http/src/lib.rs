//! The project's own HTTP servers — `generator serve`, the local `submit-fn` and the
//! embedded development store — served by hyper with read timeouts.
//!
//! `axum::serve` (and hyper's defaults without a timer) wait for a client's request for
//! as long as the client likes: one that sends half a header and then a byte now and
//! then (slowloris), or a body at a trickle, holds its connection and its task forever,
//! and a few hundred such clients use up the process's file descriptors. Here every
//! connection has a deadline for its first byte and for its request head
//! ([`Timeouts::header`]), a limit on a
//! silence inside a body ([`Timeouts::body_idle`]) and one on the whole request until its
//! answer starts ([`Timeouts::request`], answered 408). A response that streams for
//! long (the dev server's reload events) is not cut: only reading is timed.
//!
//! Connections are served concurrently, keep-alive and HTTP upgrades work as with
//! `axum::serve`, and a stop lets requests in flight finish.

use std::future::Future;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutBody, TimeoutLayer};

/// How long a client may take to send its request.
///
/// Not covered: a kept-alive connection idle between two requests. hyper starts its head
/// timer at the first byte of the next head, so such a connection stays open until its
/// client closes it (browsers close theirs after a few minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the connection's start (or the end of its previous answer) to the end of the
    /// request's head. The connection is closed without an answer when it passes.
    pub header: Duration,
    /// The longest silence between two pieces of a request's body.
    pub body_idle: Duration,
    /// From the request's head to the start of its answer: reading the whole body and
    /// handling it. Answered 408 when it passes.
    pub request: Duration,
}

impl Timeouts {
    /// The values every local server uses. Citizens send from cheap phones on slow
    /// mobile networks, so these are generous; they are there to end connections that
    /// never finish, not to hurry slow ones:
    ///
    /// - `header`, 20 s: a request head is a few hundred bytes to a few KB, one or two
    ///   packets; even on a 2G link with a 2 s round trip, a radio waking from idle and a
    ///   retransmission or two, it arrives in well under 10 s.
    /// - `body_idle`, 30 s: a body that stops for half a minute is a dead upload (a
    ///   phone that lost its signal retries the whole request anyway).
    /// - `request`, 300 s: the largest allowed plain form post is about 4.7 MB (what fits
    ///   Lambda's 6 MB after base64). On Chrome's "Slow 3G" profile (400 kbit/s) it takes
    ///   4.7 × 8 / 0.4 ≈ 94 s; 300 s still lets it through at about 125 kbit/s (EDGE).
    pub const LOCAL: Timeouts = Timeouts {
        header: Duration::from_secs(20),
        body_idle: Duration::from_secs(30),
        request: Duration::from_secs(300),
    };
}

/// The body a served service receives: the connection's body, cut off by
/// [`Timeouts::body_idle`].
pub type Body = TimeoutBody<Incoming>;

/// Serves `service` on `listener` until `stop` completes, then lets the requests in
/// flight finish (or their connections' timeouts end them) and returns.
///
/// `service` answers one request at a time on each connection, as an axum `Router`
/// does; it is cloned for every connection.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    timeouts: Timeouts,
    stop: impl Future<Output = ()>,
) where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: http_body::Body + Default + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = ServiceBuilder::new()
        .layer(RequestBodyTimeoutLayer::new(timeouts.body_idle))
        .service(service);
    serve_incoming(listener, service, timeouts, stop).await;
}

/// [`serve`] for a service that needs hyper's own body type (s3s reads a PUT's length
/// from it): the same timeouts but [`Timeouts::body_idle`], a body's silence being
/// bounded by [`Timeouts::request`] alone.
pub async fn serve_incoming<S, B>(
    listener: TcpListener,
    service: S,
    timeouts: Timeouts,
    stop: impl Future<Output = ()>,
) where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: http_body::Body + Default + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = ServiceBuilder::new()
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeouts.request,
        ))
        .service(service);
    let mut http = Builder::new(TokioExecutor::new());
    // HTTP/1 only: the local servers are plain HTTP, where browsers and the S3 SDK
    // speak HTTP/1.1; and the automatic HTTP/2 detection waits for the first bytes
    // with no deadline of its own, which would let a silent client stay forever.
    http = http.http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header);
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A connection that failed before it was accepted, or no descriptors
                // left for now: wait a moment rather than spin, and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = socket.set_nodelay(true);
        let (http, watcher) = (http.clone(), graceful.watcher());
        // Each request carries its peer's address, as axum's `ConnectInfo`.
        let service = TowerToHyperService::new(tower::util::MapRequest::new(
            service.clone(),
            move |mut request: Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        tokio::spawn(async move {
            // hyper starts its head timer at the head's first byte: a client that sends
            // nothing at all would wait forever, so the first byte has the same deadline.
            let first = tokio::time::timeout(timeouts.header, socket.peek(&mut [0u8; 1])).await;
            if !matches!(first, Ok(Ok(1..))) {
                return;
            }
            let conn = http
                .serve_connection_with_upgrades(TokioIo::new(socket), service)
                .into_owned();
            // A connection ends in an error when its client goes away or a timeout
            // closes it; either way there is nothing to answer any more.
            let _ = watcher.watch(conn).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
