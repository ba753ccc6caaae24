//! Notifications end to end: a real SMTP server on loopback (aiosmtpd, through
//! tests/support/smtp_sink.py; `pip install aiosmtpd`) and an HTTP SMS gateway in the
//! test. The gateway goes down and comes back: every SMS arrives exactly once.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use common::*;
use serde_json::json;
use submit_fn::notify::NotifyConfig;
use submit_fn::notify::deliver::deliver_due;
use time::OffsetDateTime;

#[derive(Default)]
struct Gateway {
    up: AtomicBool,
    got: Mutex<Vec<(Option<String>, String)>>,
}

async fn start_gateway() -> (Arc<Gateway>, String) {
    let gw = Arc::new(Gateway::default());
    gw.up.store(true, Ordering::SeqCst);
    let state = gw.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let gw = state.clone();
            async move {
                if !gw.up.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                gw.got.lock().unwrap().push((auth, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (gw, format!("http://{addr}/sms"))
}

struct Smtp {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_smtp() -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd (pip install aiosmtpd)");
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "smtp sink did not start");
    Smtp { child, port, dir }
}

fn mails(smtp: &Smtp) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(smtp.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

/// Decodes RFC 2047 subjects and quoted-printable/base64 bodies well enough to search.
fn decoded(mail: &str) -> String {
    let parsed = mail.replace("=\r\n", "").replace("=\n", "");
    let mut out = parsed.clone();
    // base64 body
    if let Some((_, body)) = mail.split_once("\r\n\r\n").or(mail.split_once("\n\n"))
        && mail.contains("Content-Transfer-Encoding: base64")
    {
        use base64::Engine;
        let joined: String = body.split_whitespace().collect();
        if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(joined) {
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
    // quoted-printable body
    let bytes = parsed.as_bytes();
    let mut qp = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&parsed[i + 1..i + 3], 16)
        {
            qp.push(b);
            i += 3;
            continue;
        }
        qp.push(bytes[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&qp));
    // encoded-word subjects
    for word in parsed
        .split("=?utf-8?b?")
        .chain(parsed.split("=?UTF-8?B?"))
        .skip(1)
    {
        if let Some((b64, _)) = word.split_once("?=") {
            use base64::Engine;
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(b64) {
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
    out
}

async fn submit_with_email(h: &Harness, key: &str) -> String {
    let staged = format!(
        "uploads/{}/1-chung-sinh.pdf",
        hex::encode(rand::random::<[u8; 16]>())
    );
    h.storage()
        .put(&staged, Bytes::from_static(PDF), "application/pdf")
        .await
        .unwrap();
    let a = h
        .dossier(
            key,
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": staged, "name": "Giấy chứng sinh.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    a.json()["receipt"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn notices_go_out_by_smtp_and_sms_exactly_once() {
    let smtp = start_smtp();
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| {
        c.notify = NotifyConfig {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
            mail_from: "UBND xã Thử Nghiệm <motcua@xa.gov.vn>".into(),
            sms_url: Some(sms_url.clone()),
            sms_auth_header: Some("Authorization: Bearer bi-mat".into()),
            ..NotifyConfig::default()
        }
    })
    .await;
    let code = submit_with_email(&h, "notify-0001").await;

    // Gateway down: the e-mail goes, the SMS waits with a backoff.
    gw.up.store(false, Ordering::SeqCst);
    let now = OffsetDateTime::now_utc();
    let r = deliver_due(&h.state, now).await.unwrap();
    assert_eq!((r.sent, r.failed), (0, 1), "{r:?}");
    let m = mails(&smtp);
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("RCPT: lan@example.vn"), "{}", m[0]);
    let text = decoded(&m[0]);
    let subject = m[0]
        .split("Subject:")
        .nth(1)
        .unwrap()
        .split("Content-Type")
        .next()
        .unwrap();
    assert!(subject.contains(&code), "{subject}");
    assert!(text.contains("đã tiếp nhận hồ sơ trực tuyến"), "{text}");
    assert!(text.contains(&format!("Mã hồ sơ: {code}")), "{text}");
    assert!(text.contains("Kính gửi Nguyễn Thị Lan"), "{text}");
    assert!(text.contains("/api/track?code="), "{text}");
    let record: serde_json::Value = serde_json::from_slice(
        &h.storage()
            .get(&format!("outbox/{code}-received.json"))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(record["attempts"], 1);
    assert!(record["last_error"].as_str().unwrap().contains("503"));

    // Not due yet: nothing is tried.
    let r = deliver_due(&h.state, now + Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.waiting, 1);

    // Back up, after the backoff: the SMS goes, once; the e-mail is not sent again.
    gw.up.store(true, Ordering::SeqCst);
    let later = now + Duration::from_secs(60);
    let r = deliver_due(&h.state, later).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    let r = deliver_due(&h.state, later + Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!((r.sent, r.failed), (0, 0));
    let got = gw.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0.as_deref(), Some("Bearer bi-mat"));
    let body: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
    assert_eq!(body["to"], "0912345678");
    let sms = body["text"].as_str().unwrap();
    assert!(sms.contains(&code), "{sms}");
    assert!(sms.is_ascii(), "no diacritics: {sms}");
    assert_eq!(mails(&smtp).len(), 1);
    assert!(
        h.storage()
            .get(&format!("outbox-sent/{code}-received"))
            .await
            .unwrap()
            .is_some()
    );

    // A desk step notifies too (through the console's deliver route).
    submit_fn::admin::auth::add_officer(
        h.storage(),
        "lan",
        "Cán bộ",
        submit_fn::admin::auth::Role::Officer,
        "mat-khau-du-dai-123",
        false,
    )
    .await
    .unwrap();
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": "mat-khau-du-dai-123"}),
        )
        .await;
    let cookie = a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = a.json()["csrf"].as_str().unwrap().to_owned();
    let post = |uri: String, body: serde_json::Value| {
        axum::http::Request::post(uri)
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let r = h
        .send(post(
            format!("/api/admin/dossiers/{code}/actions"),
            json!({"action": "refuse", "reason": "Giấy chứng sinh không rõ"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = h
        .send(post("/api/admin/outbox/deliver".into(), json!({})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["sent"], 1, "{}", r.text());
    let m = mails(&smtp);
    assert_eq!(m.len(), 2);
    let text = decoded(&m[1]);
    assert!(text.contains("không được giải quyết"), "{text}");
    assert!(text.contains("Giấy chứng sinh không rõ"), "{text}");
    let got = gw.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert!(got[1].1.contains("bi tu choi"), "{}", got[1].1);
    let outbox = h
        .send(
            axum::http::Request::get("/api/admin/outbox")
                .header("cookie", &cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(outbox.json()["delivered"], 2, "{}", outbox.text());
}

fn both_channels(smtp: &Smtp, sms_url: &str) -> NotifyConfig {
    NotifyConfig {
        smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
        mail_from: "UBND xã Thử Nghiệm <motcua@xa.gov.vn>".into(),
        sms_url: Some(sms_url.to_owned()),
        ..NotifyConfig::default()
    }
}

/// What EventBridge sends for a `rate(1 minute)` rule.
fn scheduled_event() -> serde_json::Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2025-06-02T03:04:00Z",
        "region": "ap-southeast-1",
        "resources": ["arn:aws:events:ap-southeast-1:123456789012:rule/motcua-OutboxSchedule"],
        "detail": {}
    })
}

async fn through_lambda(h: &Harness, event: serde_json::Value) -> serde_json::Value {
    submit_fn::lambda::handle(
        &h.state,
        h.router.clone(),
        lambda_http::LambdaEvent::new(event, lambda_http::Context::default()),
    )
    .await
    .expect("handled")
}

#[tokio::test]
async fn the_lambda_schedule_delivers_the_outbox() {
    let smtp = start_smtp();
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = both_channels(&smtp, &sms_url)).await;
    let code = submit_with_email(&h, "schedule-0001").await;
    assert!(gw.got.lock().unwrap().is_empty());
    assert!(mails(&smtp).is_empty());

    // The schedule's event runs one delivery pass and answers its report.
    let report = through_lambda(&h, scheduled_event()).await;
    assert_eq!(report["sent"], 1, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let got = gw.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.contains(&code), "{}", got[0].1);
    let m = mails(&smtp);
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("RCPT: lan@example.vn"), "{}", m[0]);

    // The next minute: nothing left to send, nothing sent twice.
    let report = through_lambda(&h, scheduled_event()).await;
    assert_eq!(
        (report["sent"].as_u64(), report["failed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(gw.got.lock().unwrap().len(), 1);
    assert_eq!(mails(&smtp).len(), 1);

    // Any other event is still an HTTP request for the router.
    let health = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/health", "rawQueryString": "",
        "headers": {"host": "abc.execute-api.ap-southeast-1.amazonaws.com"},
        "requestContext": {"accountId": "anonymous", "apiId": "abc", "domainName": "abc.execute-api.ap-southeast-1.amazonaws.com",
            "domainPrefix": "abc", "http": {"method": "GET", "path": "/api/health", "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7", "userAgent": "test"}, "requestId": "id", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2025:00:00:00 +0000", "timeEpoch": 1735689600000u64},
        "isBase64Encoded": false
    });
    let answer = through_lambda(&h, health).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"], "{\"ok\":true}");
}
