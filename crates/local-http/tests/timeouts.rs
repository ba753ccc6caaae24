//! The server over a real TCP connection: slow clients are cut off, normal ones served.
//! The timeouts are made small here; the tests wait up to a generous deadline for the
//! server to act and never assert how soon it did.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use local_http::{Body, Timeouts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Far longer than any timeout below: a test that waits this long has failed.
const DEADLINE: Duration = Duration::from_secs(30);

const SHORT: Timeouts = Timeouts {
    header: Duration::from_millis(300),
    body_idle: Duration::from_millis(300),
    request: Duration::from_secs(2),
};

/// Answers with the length of the body it read.
async fn echo_len(req: Request<Body>) -> Result<Response<Full<Bytes>>, Infallible> {
    let answer = match req.into_body().collect().await {
        Ok(body) => format!("read {}", body.to_bytes().len()),
        Err(_) => "body timed out".to_owned(),
    };
    Ok(Response::new(Full::new(Bytes::from(answer))))
}

/// A server with `timeouts` on a free port, and a way to stop it.
async fn server(
    timeouts: Timeouts,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = tower::service_fn(echo_len);
    let handle = tokio::spawn(local_http::serve(listener, service, timeouts, async {
        let _ = rx.await;
    }));
    (addr, tx, handle)
}

/// Reads until the server closes the connection (or resets it); what it sent.
async fn read_to_close(conn: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(DEADLINE, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open for {DEADLINE:?}"
    );
    got
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_closed() {
    let (addr, _stop, _server) = server(SHORT).await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    // Slowloris: the start of a head, then a header line now and then, never the end.
    conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if conn.write_all(b"X-a: b\r\n").await.is_err() {
                break;
            }
        }
    };
    // The trickle ends when the server has closed the connection (the write fails);
    // the deadline is the failure.
    let ended = tokio::time::timeout(DEADLINE, trickle).await;
    assert!(
        ended.is_ok(),
        "the server kept reading a head that never ends"
    );
    let got = read_to_close(&mut conn).await;
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let (addr, _stop, _server) = server(SHORT).await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let got = read_to_close(&mut conn).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
}

#[tokio::test]
async fn a_body_that_stops_is_cut_off() {
    let (addr, _stop, _server) = server(SHORT).await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
        .await
        .unwrap();
    let got = read_to_close(&mut conn).await;
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.contains("body timed out") || got.starts_with("HTTP/1.1 408"),
        "{got}"
    );
}

#[tokio::test]
async fn a_body_at_a_trickle_meets_the_request_deadline() {
    let (addr, _stop, _server) = server(SHORT).await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    conn.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    // A byte well within the silence limit each time, for longer than the request may
    // take: the whole request's limit ends it with 408.
    let (mut read, mut write) = conn.split();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if write.write_all(b"x").await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let mut got = Vec::new();
    let answered = tokio::time::timeout(DEADLINE, async {
        tokio::select! {
            () = trickle => {}
            _ = read.read_to_end(&mut got) => {}
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "a trickling body was read for {DEADLINE:?}"
    );
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
}

#[tokio::test]
async fn normal_requests_are_served_on_a_kept_alive_connection() {
    let (addr, stop, server) = server(SHORT).await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let mut buf = vec![0u8; 4096];
    for body in ["hello", "again, on the same connection"] {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(req.as_bytes()).await.unwrap();
        let n = tokio::time::timeout(DEADLINE, conn.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let got = String::from_utf8_lossy(&buf[..n]);
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(got.ends_with(&format!("read {}", body.len())), "{got}");
    }
    // Other clients are served meanwhile.
    let mut other = TcpStream::connect(&addr).await.unwrap();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut other).await;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    // A stop ends the server once its connections are done.
    stop.send(()).unwrap();
    drop(conn);
    tokio::time::timeout(DEADLINE, server)
        .await
        .expect("the server stops")
        .unwrap();
}
