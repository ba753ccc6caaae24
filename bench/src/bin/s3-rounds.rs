//! What an operation costs on S3: how many requests it makes, and how many of them wait
//! for each other (the longest chain of requests that do not overlap, each a round trip
//! to S3 from Lambda, about 20–40 ms). A proxy in front of the development store delays
//! every request by `BENCH_S3_DELAY_MS` (default 30) and logs when it started and ended;
//! the function runs in process over it, through its router.
//!
//! Run: `cargo run -p bench --bin s3-rounds` (the counts do not depend on the build;
//! the times nearly do not, being mostly the delay).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tower::ServiceExt;
use web::{AppState, Config, router};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

/// One request as the proxy saw it.
#[derive(Clone)]
struct Logged {
    start: Instant,
    end: Instant,
}

struct Proxy {
    upstream: SocketAddr,
    delay: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
    log: Mutex<Vec<Logged>>,
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let start = Instant::now();
    // The round trip's latency, before the store answers.
    tokio::time::sleep(proxy.delay).await;
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(format!("http://{}{path}", proxy.upstream));
    // Every header as sent, the Host included: presigned URLs are signed for it.
    for (name, value) in &parts.headers {
        out = out.header(name, value);
    }
    let Ok(out) = out.body(Full::new(body)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let answer = match proxy.client.request(out).await {
        Ok(answer) => answer,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    proxy.log.lock().expect("log").push(Logged {
        start,
        end: Instant::now(),
    });
    Response::from_parts(parts, Body::from(body))
}

/// Requests, and the longest chain of requests that do not overlap (the most that
/// could have been made one after another: the rounds the operation waited for).
fn rounds(log: &[Logged]) -> (usize, usize) {
    let mut by_end = log.to_vec();
    by_end.sort_by_key(|l| l.end);
    let mut chain = 0;
    let mut free_from: Option<Instant> = None;
    for l in by_end {
        if free_from.is_none_or(|t| l.start >= t) {
            chain += 1;
            free_from = Some(l.end);
        }
    }
    (log.len(), chain)
}

struct Bench {
    app: axum::Router,
    state: AppState,
    proxy: Arc<Proxy>,
}

impl Bench {
    async fn send(&self, mut request: axum::http::Request<Body>) -> (StatusCode, Value) {
        // From one client address, as the local server hands it over: the per-client
        // limits and the day's allowance of dossiers count it, as in production.
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::from((
                [203, 0, 113, 9],
                40000,
            ))));
        let answer = self.app.clone().oneshot(request).await.expect("router");
        let status = answer.status();
        let bytes = answer.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.send(
            axum::http::Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(body).expect("json")))
                .expect("request"),
        )
        .await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.send(
            axum::http::Request::get(uri)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    async fn altcha(&self) -> String {
        let (_, challenge) = self.get("/api/challenge").await;
        let challenge: web::captcha::Challenge =
            serde_json::from_value(challenge).expect("a challenge");
        web::captcha::solve(&challenge).expect("solvable")
    }

    /// Two files staged and checked under one proof of work: the uploads field list.
    async fn stage_two(&self, altcha: &str) -> Value {
        let files = json!([
            {"field": "giay_chung_sinh", "name": "mot.pdf", "size": PDF.len(), "type": "application/pdf"},
            {"field": "giay_chung_sinh", "name": "hai.pdf", "size": PDF.len(), "type": "application/pdf"},
        ]);
        let (status, tickets) = self
            .post(
                "/api/uploads",
                &json!({"procedure": "1.001193", "altcha": altcha, "files": files}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{tickets}");
        let mut refs = Vec::new();
        for t in tickets["uploads"].as_array().expect("tickets") {
            let mut put = axum::http::Request::put(t["url"].as_str().expect("url"))
                .header("content-length", PDF.len());
            for (k, v) in t["headers"].as_object().expect("headers") {
                put = put.header(k.as_str(), v.as_str().expect("header"));
            }
            let answer = self
                .proxy
                .client
                .request(put.body(Full::new(Bytes::from_static(PDF))).expect("put"))
                .await
                .expect("presigned PUT");
            assert!(answer.status().is_success(), "{}", answer.status());
            refs.push(json!({"field": t["field"], "key": t["key"], "name": t["name"]}));
        }
        let (status, checked) = self
            .post(
                "/api/uploads/check",
                &json!({"procedure": "1.001193", "altcha": altcha, "files": refs}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{checked}");
        // Each file goes with its check's signed verdict, as form.js sends it.
        for r in &mut refs {
            let verdict = checked["files"]
                .as_array()
                .expect("checked files")
                .iter()
                .find(|c| c["key"] == r["key"])
                .map(|c| c["verdict"].clone())
                .expect("a verdict");
            r["verdict"] = verdict;
        }
        Value::Array(refs)
    }

    /// Runs `op`, counting the S3 requests it made.
    async fn measure<F: std::future::Future<Output = StatusCode>>(
        &self,
        name: &str,
        op: F,
    ) -> (usize, usize) {
        self.proxy.log.lock().expect("log").clear();
        let started = Instant::now();
        let status = op.await;
        let took = started.elapsed();
        let log = self.proxy.log.lock().expect("log").clone();
        let (requests, chain) = rounds(&log);
        println!(
            "| {name} | {requests} | {chain} | {:.2} s | {status} |",
            took.as_secs_f64()
        );
        (requests, chain)
    }
}

/// A `multipart/form-data` body as a browser sends the plain form: text fields, then
/// one file.
fn multipart(texts: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----motcua-rounds-boundary";
    let mut body = Vec::new();
    for (name, value) in texts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let (name, file_name, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn submission(key: &str, altcha: &str, uploads: &Value) -> Value {
    json!({
        "procedure": "1.001193", "idempotency_key": key, "altcha": altcha, "website": "",
        "values": {
            "ho_ten": "Nguyễn Thị Lan", "so_dinh_danh": "064190000123",
            "dien_thoai": "0912 345 678", "email": "lan@example.vn",
            "nhan_thong_bao": ["sms", "email"],
            "noi_cu_tru": {"detail": "Thôn 1", "commune": "Xã Thử Nghiệm", "province": "Tỉnh Mẫu"},
            "ngay_sinh_tre": "2025-05-01", "so_ban": "2"
        },
        "uploads": uploads,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let delay_ms: u64 = std::env::var("BENCH_S3_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir()?;
    let store = web::serve::dev_store(dir.path()).await?;
    let upstream: SocketAddr = store
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| anyhow::anyhow!("store endpoint {}: {e}", store.endpoint))?;
    let proxy = Arc::new(Proxy {
        upstream,
        delay: Duration::from_millis(delay_ms),
        client: Client::builder(TokioExecutor::new()).build_http(),
        log: Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let proxy_addr = listener.local_addr()?;
    let proxy_app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, proxy_app).await });

    let content_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/web/tests/fixtures/content");
    let content = catalog::load(&content_dir).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let config = Config::for_tests(&content_dir, Some(format!("http://{proxy_addr}")));
    let storage = config.storage(Some(store.keys())).await;
    storage.ensure_bucket().await?;
    let captcha_key = config.captcha_key.clone();
    let state = AppState::new(&content, storage, config);
    let bench = Bench {
        app: router(state.clone()),
        state,
        proxy,
    };

    println!(
        "S3 requests per operation, {delay_ms} ms added to each (a proxy in front of the development store)\n"
    );
    println!("| operation | S3 requests | in sequence | time | answer |");
    println!("|---|---|---|---|---|");

    // A JSON submission with two checked files: the first of a new process, then warm.
    let altcha = bench.altcha().await;
    let uploads = bench.stage_two(&altcha).await;
    let body = submission("rounds-first-0001", &altcha, &uploads);
    bench
        .measure(
            "JSON submission, 2 files, first after a process start",
            async { bench.post("/api/dossiers", &body).await.0 },
        )
        .await;
    let altcha = bench.altcha().await;
    let uploads = bench.stage_two(&altcha).await;
    let warm = submission("rounds-warm-00002", &altcha, &uploads);
    bench
        .measure("JSON submission, 2 files, warm", async {
            bench.post("/api/dossiers", &warm).await.0
        })
        .await;
    bench
        .measure("retry with the same key", async {
            bench.post("/api/dossiers", &warm).await.0
        })
        .await;

    // The same through the plain form post (no JavaScript), its file carried in the
    // post, the question answered.
    let gate = web::gate::create(
        &captcha_key,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    let answer = web::gate::solve(&gate.question)
        .expect("a question a person can answer")
        .to_string();
    let (content_type, body) = multipart(
        &[
            ("procedure", "1.001193"),
            ("idempotency_key", "rounds-form-00001"),
            ("website", ""),
            ("human_answer", &answer),
            ("gate", &gate.token),
            ("ho_ten", "Lê Văn Cường"),
            ("so_dinh_danh", "064190000123"),
            ("dien_thoai", "0912345678"),
            ("noi_cu_tru.detail", "Thôn 2"),
            ("noi_cu_tru.commune", "Xã Thử Nghiệm"),
            ("noi_cu_tru.province", "Tỉnh Mẫu"),
            ("ngay_sinh_tre", "01/05/2025"),
        ],
        ("giay_chung_sinh", "giay-chung-sinh.pdf", PDF),
    );
    bench
        .measure("plain form post, its file in the post", async {
            bench
                .send(
                    axum::http::Request::post("/api/dossiers/form")
                        .header("content-type", content_type)
                        .body(Body::from(body))
                        .expect("request"),
                )
                .await
                .0
        })
        .await;

    // The home page's widgets (crates/widgets): hits, figures, the poll, one fold.
    widgets_rows(&bench).await;

    // A delivery pass with notices waiting and no channel configured.
    for n in 0..20 {
        let altcha = bench.altcha().await;
        let uploads = bench.stage_two(&altcha).await;
        let (status, _) = bench
            .post(
                "/api/dossiers",
                &submission(&format!("rounds-more-{n:05}"), &altcha, &uploads),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    bench
        .measure(
            "delivery pass, 22 notices waiting, no channel configured",
            async {
                match bench
                    .state
                    .deliver_due(time::OffsetDateTime::now_utc())
                    .await
                {
                    Ok(_) => StatusCode::OK,
                    Err(_) => StatusCode::SERVICE_UNAVAILABLE,
                }
            },
        )
        .await;

    // The console: an officer signed in, the outbox panel with the notices waiting.
    let officer = sign_in(&bench).await;
    bench
        .measure("console outbox panel, 22 notices waiting", async {
            officer.get(&bench, "/api/admin/outbox").await.0
        })
        .await;

    // Delivery passes with e-mail (a real SMTP server on loopback) and SMS (a gateway
    // in process) configured, over the same bucket: the first takes a batch, the next
    // the rest.
    let smtp = SmtpSink::start()?;
    let sms_url = sms_gateway().await?;
    let mut sending = Config::for_tests(&content_dir, Some(format!("http://{proxy_addr}")));
    sending.notify.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    sending.notify.mail_from = "UBND xã Thử Nghiệm <motcua@xa.gov.vn>".into();
    sending.notify.sms_url = Some(sms_url);
    sending.notify.interval_secs = 0;
    // One phone and one address for every dossier here: the day's allowance per
    // recipient would hold back all but five.
    sending.notify.received_per_recipient_per_day = 1000;
    let sender = AppState::new(&content, sending.storage(Some(store.keys())).await, sending);
    for pass in ["first", "next"] {
        let mut report = None;
        bench
            .measure(
                &format!("delivery pass with e-mail and SMS configured, {pass}"),
                async {
                    match sender.deliver_due(time::OffsetDateTime::now_utc()).await {
                        Ok(r) => {
                            report = Some(r);
                            StatusCode::OK
                        }
                        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
                    }
                },
            )
            .await;
        if let Some(r) = report {
            println!(
                "|  ↳ sent {}, failed {}, left for the next pass {} | | | | |",
                r.sent, r.failed, r.left
            );
        }
    }
    drop(smtp);

    // A dossier with a few steps: the citizen's tracking, the officer's view of it.
    let altcha = bench.altcha().await;
    let uploads = bench.stage_two(&altcha).await;
    let (status, answer) = bench
        .post(
            "/api/dossiers",
            &submission("rounds-steps-0001", &altcha, &uploads),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let receipt = &answer["receipt"];
    let code = receipt["code"].as_str().expect("code").to_owned();
    let token = receipt["tracking_token"]
        .as_str()
        .expect("tracking token")
        .to_owned();
    for step in [
        json!({"action": "receive", "expected_seq": 1}),
        json!({"action": "request-papers", "expected_seq": 2, "missing": "Bản sao giấy khai sinh"}),
        json!({"action": "refuse", "expected_seq": 3, "reason": "Không bổ sung giấy tờ"}),
    ] {
        let (status, answer) = officer
            .post(
                &bench,
                &format!("/api/admin/dossiers/{code}/actions"),
                &step,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{step}: {answer}");
    }
    bench
        .measure("tracking page (JSON), a dossier with 3 steps", async {
            bench
                .get(&format!("/api/dossiers/{code}?token={token}"))
                .await
                .0
        })
        .await;
    bench
        .measure("console: a dossier with 3 steps", async {
            officer
                .get(&bench, &format!("/api/admin/dossiers/{code}"))
                .await
                .0
        })
        .await;
    // A paper dossier the desk types in (the console's "Nhập hồ sơ nộp tại quầy"): the
    // same intake as a citizen's, without the proof of work or files to copy.
    let desk = json!({
        "procedure": "1.001193", "idempotency_key": "desk-rounds-0001",
        "values": {
            "ho_ten": ["Nguyễn Thị Lan"], "so_dinh_danh": ["064190000123"],
            "dien_thoai": ["0912 345 678"], "nhan_thong_bao": ["sms"],
            "noi_cu_tru.detail": ["Thôn 1"], "noi_cu_tru.commune": ["Xã Thử Nghiệm"],
            "noi_cu_tru.province": ["Tỉnh Mẫu"], "ngay_sinh_tre": ["2025-05-01"],
            "so_ban": ["2"], "paper": ["giay_chung_sinh"]
        }
    });
    bench
        .measure("desk: a paper dossier typed in", async {
            officer.post(&bench, "/api/admin/desk", &desk).await.0
        })
        .await;
    drop(store);
    Ok(())
}

/// The home page's widgets: a visitor's hit (new, returning), the figures, a poll view
/// and vote, and one pass of the fold the schedule runs, with visits and votes waiting.
/// The fixture site has no poll: the same bucket is given one here.
async fn widgets_rows(bench: &Bench) {
    let mut widgets = bench.state.widgets();
    widgets.poll = Some(Arc::new(catalog::Poll {
        id: "tim-thay-trang".into(),
        question: "Làm thế nào bạn tìm thấy trang web này?".into(),
        options: ["bang-tin", "can-bo", "nguoi-quen"]
            .map(|v| catalog::Choice {
                value: v.into(),
                label: v.into(),
            })
            .into(),
    }));
    let app = widgets::router(widgets.clone());
    let call = |method: &'static str, uri: &'static str, body: Option<Value>| {
        let app = app.clone();
        async move {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                .expect("request");
            app.oneshot(request).await.expect("router").status()
        }
    };
    let fold = || async {
        let report = widgets::fold::fold(&widgets, catalog::vn_time::now()).await;
        match (&report.stats, &report.poll) {
            (Ok(_), Some(Ok(_))) => StatusCode::OK,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        }
    };
    // A first fold (it makes the ledger), and 200 visitors and 30 voters waiting.
    assert_eq!(fold().await, StatusCode::OK);
    for n in 0..200 {
        let sid = json!({ "sid": format!("bench-visitor-{n:06}") });
        assert_eq!(call("POST", "/api/stats", Some(sid)).await, StatusCode::OK);
    }
    for n in 0..30 {
        let vote = json!({ "voter": format!("bench-voter-{n:06}"), "option": "can-bo" });
        assert_eq!(
            call("POST", "/api/polls/tim-thay-trang", Some(vote)).await,
            StatusCode::CREATED
        );
    }
    bench
        .measure(
            "widgets: one fold, 200 visits and 30 votes since the last",
            fold(),
        )
        .await;
    let new = json!({"sid": "0123456789abcdef0123456789abcdef"});
    bench
        .measure(
            "home page: a new visitor's hit (statistics)",
            call("POST", "/api/stats", Some(new.clone())),
        )
        .await;
    bench
        .measure(
            "home page: a returning visitor's hit",
            call("POST", "/api/stats", Some(new)),
        )
        .await;
    bench
        .measure("home page: the figures", call("GET", "/api/stats", None))
        .await;
    bench
        .measure(
            "poll: a view (the results)",
            call("GET", "/api/polls/tim-thay-trang", None),
        )
        .await;
    let vote = json!({"voter": "0123456789abcdef-voter", "option": "bang-tin"});
    bench
        .measure(
            "poll: a vote",
            call("POST", "/api/polls/tim-thay-trang", Some(vote.clone())),
        )
        .await;
    bench
        .measure(
            "poll: the same browser votes again (409)",
            call("POST", "/api/polls/tim-thay-trang", Some(vote)),
        )
        .await;
}

/// An officer signed in on the console: the session cookie and the CSRF token.
struct Officer {
    cookie: String,
    csrf: String,
}

async fn sign_in(bench: &Bench) -> Officer {
    let (login, password) = ("do-luong", "mat-khau-du-dai-123");
    web::admin::auth::add_officer(
        bench.state.storage(),
        login,
        "Cán bộ đo",
        web::admin::auth::Role::Officer,
        password,
        false,
    )
    .await
    .expect("officer added");
    let mut request = axum::http::Request::post("/api/admin/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"login": login, "password": password}).to_string(),
        ))
        .expect("request");
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(SocketAddr::from((
            [203, 0, 113, 9],
            40000,
        ))));
    let answer = bench.app.clone().oneshot(request).await.expect("router");
    assert_eq!(answer.status(), StatusCode::OK, "login");
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let bytes = answer.into_body().collect().await.expect("body").to_bytes();
    let session: Value = serde_json::from_slice(&bytes).expect("session");
    Officer {
        cookie,
        csrf: session["csrf"].as_str().expect("csrf").to_owned(),
    }
}

impl Officer {
    async fn get(&self, bench: &Bench, uri: &str) -> (StatusCode, Value) {
        bench
            .send(
                axum::http::Request::get(uri)
                    .header("cookie", &self.cookie)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
    }

    async fn post(&self, bench: &Bench, uri: &str, body: &Value) -> (StatusCode, Value) {
        bench
            .send(
                axum::http::Request::post(uri)
                    .header("cookie", &self.cookie)
                    .header("x-csrf-token", &self.csrf)
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .expect("request"),
            )
            .await
    }
}

/// A real SMTP server on loopback that takes every message (aiosmtpd:
/// `pip install aiosmtpd`), stopped when dropped.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
}

impl SmtpSink {
    fn start() -> anyhow::Result<SmtpSink> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("python3 -m aiosmtpd (pip install aiosmtpd): {e}"))?;
        let sink = SmtpSink { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(sink);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!("the SMTP sink (python3 -m aiosmtpd) did not start on port {port}")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SMS gateway in process that takes every message: its URL.
async fn sms_gateway() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/sms", axum::routing::post(|| async { StatusCode::OK }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/sms"))
}
