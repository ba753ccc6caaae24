//! Notifications end to end: a real SMTP server on loopback (aiosmtpd, through
//! tests/support/smtp_sink.py; `pip install aiosmtpd`) and an HTTP SMS gateway in the
//! test. The gateway goes down and comes back: every SMS arrives exactly once.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use dossier::dossier_prefix;
use outbox::NotifyConfig;
use outbox::deliver::DeliveryReport;
use serde_json::json;
use store::StorageResult;
use time::OffsetDateTime;
use web::AppState;

#[derive(Default)]
struct Gateway {
    up: AtomicBool,
    got: Mutex<Vec<(Option<String>, String)>>,
}

async fn deliver_due(state: &AppState, now: OffsetDateTime) -> StorageResult<DeliveryReport> {
    state.deliver_due(now).await
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
    let a = submit_khai_sinh(h, key, khai_sinh_values()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    a.json()["receipt"]["code"].as_str().unwrap().to_owned()
}

/// The level-3 fixture with `values` and its birth certificate staged.
async fn submit_khai_sinh(h: &Harness, key: &str, values: serde_json::Value) -> Answer {
    let (staged, altcha, _) = h.stage("giay_chung_sinh", "Giấy chứng sinh.pdf", PDF).await;
    h.dossier_as(
        &altcha,
        key,
        values,
        json!([{"field": "giay_chung_sinh", "key": staged, "name": "Giấy chứng sinh.pdf"}]),
    )
    .await
}

#[tokio::test]
async fn notices_go_only_the_ways_the_citizen_chose() {
    let smtp = start_smtp();
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = both_channels(&smtp, &sms_url)).await;
    let code_of = |a: &Answer| {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        a.json()["receipt"]["code"].as_str().unwrap().to_owned()
    };

    // E-mail only.
    let mut by_mail = khai_sinh_values();
    by_mail["nhan_thong_bao"] = json!(["email"]);
    let mailed = code_of(&submit_khai_sinh(&h, "chose-mail-01", by_mail).await);
    // Nothing ticked: an SMS only, although an address was given.
    let mut by_default = khai_sinh_values();
    by_default["nhan_thong_bao"] = json!([]);
    let texted = code_of(&submit_khai_sinh(&h, "chose-none-01", by_default).await);
    // E-mail ticked without an address: the form says what is missing.
    let mut no_address = khai_sinh_values();
    no_address["nhan_thong_bao"] = json!(["email"]);
    no_address.as_object_mut().unwrap().remove("email");
    let refused = submit_khai_sinh(&h, "chose-mail-02", no_address).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "email"),
        "{}",
        refused.text()
    );

    let report = deliver_due(&h.state, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    let texts = gw.got.lock().unwrap().clone();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].1.contains(&texted), "{}", texts[0].1);
    let letters = mails(&smtp);
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(letters[0].contains(&mailed), "{}", letters[0]);
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
    let officer = officer(&h).await;
    let r = officer
        .act(
            &h,
            &code,
            &json!({"action": "refuse", "reason": "Giấy chứng sinh không rõ"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = officer
        .post(&h, "/api/admin/outbox/deliver", &json!({}))
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
    let outbox = outbox_view(&h, &officer.cookie).await;
    assert_eq!(outbox["delivered"], 2, "{outbox}");
}

/// The console's outbox view, as the officer with `cookie` gets it.
async fn outbox_view(h: &Harness, cookie: &str) -> serde_json::Value {
    h.send(
        axum::http::Request::get("/api/admin/outbox")
            .header("cookie", cookie)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .json()
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

/// The outbox worker's pass on this event, as its function answers it.
async fn through_worker(h: &Harness, event: serde_json::Value) -> serde_json::Value {
    let event = serde_json::from_value(event).expect("an EventBridge event");
    let report = web::lambda::scheduled(&h.state, event)
        .await
        .expect("handled");
    serde_json::to_value(report).unwrap()
}

/// An HTTP event through the dossier function.
async fn through_lambda(h: &Harness, event: serde_json::Value) -> serde_json::Value {
    web::lambda::handle_http(
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
    let report = through_worker(&h, scheduled_event()).await;
    assert_eq!(report["sent"], 1, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    // ... and brings the console's index up to date (the dossier is its one change).
    assert_eq!(report["index"]["reread"], 1, "{report}");
    let got = gw.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.contains(&code), "{}", got[0].1);
    let m = mails(&smtp);
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("RCPT: lan@example.vn"), "{}", m[0]);

    // The next minute: nothing left to send, nothing sent twice.
    let report = through_worker(&h, scheduled_event()).await;
    assert_eq!(
        (report["sent"].as_u64(), report["failed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(gw.got.lock().unwrap().len(), 1);
    assert_eq!(mails(&smtp).len(), 1);

    // The worker takes the schedule only; an HTTP event is the dossier function's.
    let not_schedule = serde_json::from_value(json!({
        "detail-type": "Object Created", "source": "aws.s3", "detail": {}
    }))
    .unwrap();
    assert!(
        web::lambda::scheduled(&h.state, not_schedule)
            .await
            .is_err()
    );
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

fn sms_only(sms_url: &str) -> NotifyConfig {
    NotifyConfig {
        sms_url: Some(sms_url.to_owned()),
        // These tests send the fixture's one phone dozens of dossiers; the day's
        // allowance per recipient has its own test (tests/limits.rs).
        received_per_recipient_per_day: 1000,
        ..NotifyConfig::default()
    }
}

/// The SMS bodies the gateway got about `code`.
fn sms_about(gw: &Gateway, code: &str) -> Vec<String> {
    gw.got
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, body)| body.contains(code))
        .map(|(_, body)| body.clone())
        .collect()
}

/// A dossier with a phone number and no e-mail (the level-2 fixture procedure).
fn phone_only(key: &str, altcha: String) -> serde_json::Value {
    json!({"procedure": "2.000635", "idempotency_key": key, "altcha": altcha,
        "values": trich_luc_values()})
}

struct Officer {
    cookie: String,
    csrf: String,
}

async fn officer(h: &Harness) -> Officer {
    web::admin::auth::add_officer(
        h.storage(),
        "lan",
        "Cán bộ",
        web::admin::auth::Role::Officer,
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
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    Officer {
        cookie: a.headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
        csrf: a.json()["csrf"].as_str().unwrap().to_owned(),
    }
}

impl Officer {
    async fn act(&self, h: &Harness, code: &str, body: &serde_json::Value) -> Answer {
        self.post(h, &format!("/api/admin/dossiers/{code}/actions"), body)
            .await
    }

    async fn post(&self, h: &Harness, uri: &str, body: &serde_json::Value) -> Answer {
        h.send(
            axum::http::Request::post(uri)
                .header("cookie", &self.cookie)
                .header("x-csrf-token", &self.csrf)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}

/// The store fails at each step of an officer's step in turn: at the notice (nothing
/// written), between the notice and the event (a notice for a step that did not
/// happen), and so on until the step goes through. Each time the officer is told to try
/// again, nothing is ever sent for the failed attempt, and the retry's notice goes out
/// exactly once.
#[tokio::test]
async fn a_step_the_store_failed_sends_nothing_and_its_retry_sends_once() {
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = sms_only(&sms_url)).await;
    let officer = officer(&h).await;
    let receive = json!({"action": "receive", "expected_seq": 1});
    // Per failure point: was the failed attempt's notice written?
    let mut notice_written: Vec<bool> = Vec::new();
    for ops in 0..30 {
        let altcha = h.altcha().await;
        let a = h
            .post_json(
                "/api/dossiers",
                &phone_only(&format!("step-{ops:04}"), altcha),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let code = a.json()["receipt"]["code"].as_str().unwrap().to_owned();
        let now = OffsetDateTime::now_utc();
        let r = deliver_due(&h.state, now).await.unwrap();
        assert_eq!(r.sent, 1, "the submission's notice: {r:?}");
        let events = format!("{}events/", dossier_prefix(&code).unwrap());
        let outbox = format!("outbox/{code}-");
        let queued = h.storage().list(&outbox).await.unwrap().len();

        h.storage().fail_after(Some(ops));
        let r = officer.act(&h, &code, &receive).await;
        h.storage().fail_after(None);
        let later = now + Duration::from_secs(600);
        if r.status == StatusCode::OK {
            // Both failures were met on the way: at the notice, and just after it.
            let first = notice_written.iter().position(|w| *w);
            assert!(
                first.is_some_and(|i| i > 0 && !notice_written[i - 1]),
                "the store never failed between the notice and the event: {notice_written:?}"
            );
            deliver_due(&h.state, later).await.unwrap();
            let sms = sms_about(&gw, &code);
            assert_eq!(sms.len(), 2, "{sms:?}");
            assert!(sms[1].contains("da duoc tiep nhan"), "{}", sms[1]);
            // The console lists the void notices apart, not as waiting.
            let view = outbox_view(&h, &officer.cookie).await;
            assert_eq!(view["waiting"], json!([]), "{view}");
            assert_eq!(view["void"], 1, "{view}");
            return;
        }
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
        assert!(r.text().contains("thử lại"), "{}", r.text());
        assert_eq!(
            h.storage().list(&events).await.unwrap().len(),
            1,
            "the step is not recorded"
        );
        notice_written.push(h.storage().list(&outbox).await.unwrap().len() > queued);

        // Long past the grace period: nothing goes out for the step that did not happen.
        let r = deliver_due(&h.state, later).await.unwrap();
        assert_eq!(r.sent, 0, "{r:?}");
        assert_eq!(
            r.void,
            notice_written.iter().filter(|w| **w).count(),
            "{r:?}"
        );
        assert_eq!(sms_about(&gw, &code).len(), 1);

        // The officer tries again: the step is recorded and told once, the failed
        // attempt's notice (if written) never.
        let r = officer.act(&h, &code, &receive).await;
        assert_eq!(r.status, StatusCode::OK, "retry after {ops}: {}", r.text());
        for t in [later, later + Duration::from_secs(3600)] {
            deliver_due(&h.state, t).await.unwrap();
        }
        let sms = sms_about(&gw, &code);
        assert_eq!(sms.len(), 2, "after failing at {ops}: {sms:?}");
        assert!(sms[1].contains("da duoc tiep nhan"), "{}", sms[1]);
    }
    panic!("the step never went through");
}

/// The store fails at each step of a submission in turn. The first notice is written
/// before the manifest; while there is no manifest (the citizen may never retry) it is
/// never sent, and once the retry makes the dossier it is sent exactly once.
#[tokio::test]
async fn a_submission_the_store_failed_sends_nothing_until_it_exists() {
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = sms_only(&sms_url)).await;
    let mut notice_without_dossier = false;
    for ops in 0..40 {
        let body = phone_only(&format!("submission-{ops:04}"), h.altcha().await);
        let queued = h.storage().list("outbox/").await.unwrap();
        let dossiers = h.manifests().await.len();
        let sent = gw.got.lock().unwrap().len();
        h.storage().fail_after(Some(ops));
        let a = h.post_json("/api/dossiers", &body).await;
        h.storage().fail_after(None);
        let now = OffsetDateTime::now_utc();
        if a.status == StatusCode::CREATED {
            assert!(
                notice_without_dossier,
                "the store never failed between the notice and the manifest"
            );
            let code = a.json()["receipt"]["code"].as_str().unwrap().to_owned();
            deliver_due(&h.state, now).await.unwrap();
            assert_eq!(sms_about(&gw, &code).len(), 1);
            return;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
        assert!(a.text().contains("thử lại"), "{}", a.text());
        assert_eq!(h.manifests().await.len(), dossiers);
        let new: Vec<String> = h
            .storage()
            .list("outbox/")
            .await
            .unwrap()
            .into_iter()
            .filter(|k| !queued.contains(k))
            .collect();
        assert!(new.len() <= 1, "{new:?}");
        let orphan = new.first().map(|k| {
            k.strip_prefix("outbox/")
                .and_then(|k| k.strip_suffix("-received.json"))
                .unwrap()
                .to_owned()
        });
        notice_without_dossier |= orphan.is_some();

        // No dossier, no message: not now, not after the grace period.
        for t in [now, now + Duration::from_secs(600)] {
            let r = deliver_due(&h.state, t).await.unwrap();
            assert_eq!(r.sent, 0, "{r:?}");
        }
        assert_eq!(gw.got.lock().unwrap().len(), sent);

        // The citizen sends again: the dossier exists, its notice goes out once.
        let retry = h.post_json("/api/dossiers", &body).await;
        assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text());
        let code = retry.json()["receipt"]["code"].as_str().unwrap().to_owned();
        if let Some(orphan) = orphan {
            assert_eq!(orphan, code, "the retry keeps the code");
        }
        for t in [
            now + Duration::from_secs(660),
            now + Duration::from_secs(7200),
        ] {
            deliver_due(&h.state, t).await.unwrap();
        }
        assert_eq!(sms_about(&gw, &code).len(), 1, "after failing at {ops}");
        assert_eq!(gw.got.lock().unwrap().len(), sent + 1);
    }
    panic!("the submission never went through");
}

/// Deletes an object as a lifecycle rule would.
async fn expire(h: &Harness, key: &str) {
    let s = h.storage();
    s.delete(key).await.unwrap();
}

/// Records are sent only within the retention window (7 days); the lifecycle rules
/// delete records and sent markers after 14. A record that failed for days still goes
/// out within the window; past it nothing is sent: neither a record whose sent markers
/// expired first, nor one that could not be sent for a week.
#[tokio::test]
async fn an_old_record_is_never_sent_again() {
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = sms_only(&sms_url)).await;
    let day = Duration::from_secs(24 * 3600);
    let submit = |key: &'static str| {
        let h = &h;
        async move {
            let a = h
                .post_json("/api/dossiers", &phone_only(key, h.altcha().await))
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
            a.json()["receipt"]["code"].as_str().unwrap().to_owned()
        }
    };
    let now = OffsetDateTime::now_utc();
    let sent = submit("retention-sent").await;
    assert_eq!(deliver_due(&h.state, now).await.unwrap().sent, 1);

    // The gateway is down; six days later it is back and the notice goes out.
    gw.up.store(false, Ordering::SeqCst);
    let late = submit("retention-late").await;
    assert_eq!(deliver_due(&h.state, now).await.unwrap().failed, 1);
    gw.up.store(true, Ordering::SeqCst);
    let r = deliver_due(&h.state, now + day * 6).await.unwrap();
    assert_eq!((r.sent, r.expired), (1, 0), "{r:?}");
    assert_eq!(sms_about(&gw, &late).len(), 1);

    // Down for more than the window: this one is never sent.
    gw.up.store(false, Ordering::SeqCst);
    let lost = submit("retention-lost").await;
    for t in [now, now + day * 6] {
        assert_eq!(deliver_due(&h.state, t).await.unwrap().failed, 1);
    }
    gw.up.store(true, Ordering::SeqCst);

    // The sent markers expire (after 14 days) while the records are still listed.
    for marker in h.storage().list("outbox-sent/").await.unwrap() {
        expire(&h, &marker).await;
    }
    for t in [now + day * 8, now + day * 13] {
        let r = deliver_due(&h.state, t).await.unwrap();
        assert_eq!((r.sent, r.failed, r.expired), (0, 0, 3), "{r:?}");
    }
    assert_eq!(sms_about(&gw, &sent).len(), 1, "not sent again");
    assert_eq!(sms_about(&gw, &late).len(), 1, "not sent again");
    assert!(sms_about(&gw, &lost).is_empty(), "a week late: dropped");
}

/// Two officers act at once: both write their notice first, one event wins. The
/// loser's notice names the same event with another id: void at once (events are
/// written once), neither listed as waiting nor sent.
#[tokio::test]
async fn the_notice_of_a_step_that_lost_the_race_is_void_at_once() {
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = sms_only(&sms_url)).await;
    let officer = officer(&h).await;
    let a = h
        .post_json("/api/dossiers", &phone_only("race-0001", h.altcha().await))
        .await;
    let code = a.json()["receipt"]["code"].as_str().unwrap().to_owned();
    let r = officer
        .act(&h, &code, &json!({"action": "receive", "expected_seq": 1}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The other officer's refusal, queued for the same event 2 before losing the race.
    let (manifest, _) = store::dossiers::read_dossier(h.storage(), &code)
        .await
        .unwrap()
        .unwrap();
    let mut refusal = dossier::Event::new(
        catalog::vn_time::format_time(OffsetDateTime::now_utc()),
        dossier::Status::Refused,
    );
    refusal.reason = Some("Thiếu giấy tờ".into());
    let ctx = h.state.notice_context(&manifest);
    outbox::enqueue_event(
        h.storage(),
        &ctx,
        &manifest,
        &refusal,
        2,
        "00112233aabbccdd",
    )
    .await
    .unwrap();

    let view = outbox_view(&h, &officer.cookie).await;
    let kinds: Vec<&str> = view["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["accepted", "received"], "{view}");
    // The console shows each notice by the name the server gives it.
    assert_eq!(
        view["waiting"][0]["kind_label"], "Tiếp nhận, hẹn trả",
        "{view}"
    );
    assert_eq!(view["void"], 1, "{view}");

    let r = deliver_due(&h.state, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!((r.sent, r.void), (2, 1), "{r:?}");
    let sms = sms_about(&gw, &code);
    assert_eq!(sms.len(), 2, "{sms:?}");
    assert!(sms.iter().all(|s| !s.contains("tu choi")), "{sms:?}");
}

/// A notice past its sending window was never sent: the console lists it for the desk
/// to reach the citizen another way, and never sends it.
#[tokio::test]
async fn the_console_lists_the_notices_given_up() {
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = sms_only(&sms_url)).await;
    let officer = officer(&h).await;
    gw.up.store(false, Ordering::SeqCst);
    let a = h
        .post_json(
            "/api/dossiers",
            &phone_only("gave-up-0001", h.altcha().await),
        )
        .await;
    let code = a.json()["receipt"]["code"].as_str().unwrap().to_owned();
    assert_eq!(
        deliver_due(&h.state, OffsetDateTime::now_utc())
            .await
            .unwrap()
            .failed,
        1
    );
    let fresh = outbox_view(&h, &officer.cookie).await;
    assert_eq!(fresh["waiting"][0]["code"], code.as_str(), "{fresh}");
    assert_eq!(fresh["gave_up"], json!([]), "{fresh}");

    // Eight days on (its time moved back, as the clock cannot be moved forward).
    let key = format!("outbox/{code}-received.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&h.storage().get(&key).await.unwrap().unwrap()).unwrap();
    let long_ago = OffsetDateTime::now_utc() - Duration::from_secs(8 * 24 * 3600);
    record["created_at"] = json!(catalog::vn_time::format_time(long_ago));
    h.storage()
        .put(
            &key,
            serde_json::to_vec(&record).unwrap().into(),
            "application/json",
        )
        .await
        .unwrap();
    let old = outbox_view(&h, &officer.cookie).await;
    assert_eq!(old["waiting"], json!([]), "{old}");
    assert_eq!(old["expired"], 1, "{old}");
    assert_eq!(old["gave_up"][0]["code"], code.as_str(), "{old}");
    assert_eq!(old["gave_up"][0]["sms_to"], "0987654321", "{old}");
    assert!(
        old["gave_up"][0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{old}"
    );
    gw.up.store(true, Ordering::SeqCst);
    let r = deliver_due(&h.state, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!((r.sent, r.expired), (0, 1), "{r:?}");
    assert!(
        gw.got.lock().unwrap().is_empty(),
        "a given-up notice is never sent"
    );
}

/// More notices wait than a pass takes ([`outbox::deliver::BATCH`]): two workers run
/// passes side by side (the schedule and the console's button), the first passes take
/// a batch between them and say how many they left, the next ones send the rest, and
/// every SMS and every e-mail goes out exactly once.
#[tokio::test]
async fn a_backlog_over_the_batch_goes_out_once_over_passes_of_two_workers() {
    use outbox::deliver::BATCH;
    let smtp = start_smtp();
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| {
        c.notify = NotifyConfig {
            received_per_recipient_per_day: 1000,
            ..both_channels(&smtp, &sms_url)
        }
    })
    .await;
    let n = BATCH + BATCH / 2 + 3;
    let mut codes = Vec::new();
    for k in 0..n {
        codes.push(submit_with_email(&h, &format!("backlog-{k:04}")).await);
    }
    let now = OffsetDateTime::now_utc();
    let two_workers = |t: OffsetDateTime| {
        let h = &h;
        async move {
            let (a, b) = tokio::join!(deliver_due(&h.state, t), deliver_due(&h.state, t));
            (a.unwrap(), b.unwrap())
        }
    };
    let (a, b) = two_workers(now).await;
    assert_eq!(a.sent + b.sent, BATCH, "{a:?} {b:?}");
    assert_eq!((a.left, b.left), (n - BATCH, n - BATCH), "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0, "{a:?} {b:?}");
    assert_eq!(gw.got.lock().unwrap().len(), BATCH);
    assert_eq!(mails(&smtp).len(), BATCH);
    // The next minute's passes send the rest; then nothing is left.
    let (a, b) = two_workers(now + Duration::from_secs(60)).await;
    assert_eq!(a.sent + b.sent, n - BATCH, "{a:?} {b:?}");
    assert_eq!((a.left, b.left), (0, 0), "{a:?} {b:?}");
    let (a, b) = two_workers(now + Duration::from_secs(900)).await;
    assert_eq!(
        (a.sent, b.sent, a.left, b.left),
        (0, 0, 0, 0),
        "{a:?} {b:?}"
    );
    let letters = mails(&smtp);
    assert_eq!(letters.len(), n);
    assert_eq!(gw.got.lock().unwrap().len(), n);
    for code in &codes {
        assert_eq!(sms_about(&gw, code).len(), 1, "{code}");
        assert_eq!(
            letters.iter().filter(|m| m.contains(code.as_str())).count(),
            1,
            "{code}"
        );
    }
}

/// The store fails at each request of a delivery pass in turn (the store "down" from
/// that request on). No notice is lost: later passes send every one. A notice goes out
/// twice only when the failing pass sent it and could write none of its markers; every
/// other one exactly once.
#[tokio::test]
async fn a_pass_the_store_failed_loses_no_notice() {
    let (gw, sms_url) = start_gateway().await;
    let h = harness_with(|c| c.notify = sms_only(&sms_url)).await;
    let mut met_a_send_unmarked = false;
    for ops in 0..60 {
        let mut codes = Vec::new();
        for k in 0..3 {
            let a = h
                .post_json(
                    "/api/dossiers",
                    &phone_only(&format!("pass-{ops:03}-{k}"), h.altcha().await),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
            codes.push(a.json()["receipt"]["code"].as_str().unwrap().to_owned());
        }
        let now = OffsetDateTime::now_utc();
        h.storage().fail_after(Some(ops));
        let failed = deliver_due(&h.state, now).await;
        h.storage().fail_after(None);
        // Sent by the failing pass, with no marker saying so.
        let mut unmarked = Vec::new();
        for code in &codes {
            let id = format!("outbox-sent/{code}-received");
            let marked = h.storage().get(&id).await.unwrap().is_some()
                || h.storage()
                    .get(&format!("{id}.sms"))
                    .await
                    .unwrap()
                    .is_some();
            if !sms_about(&gw, code).is_empty() && !marked {
                unmarked.push(code.clone());
            }
        }
        met_a_send_unmarked |= !unmarked.is_empty();
        // Later passes, past the failed pass's leases.
        for t in [600, 1200] {
            deliver_due(&h.state, now + Duration::from_secs(t))
                .await
                .unwrap();
        }
        // Nothing is left waiting, not even a notice whose channels' markers were
        // written and its final marker not.
        let outbox = outbox::deliver::list_outbox(h.storage()).await.unwrap();
        assert_eq!(outbox.waiting, [], "failing at {ops}");
        for code in &codes {
            let times = sms_about(&gw, code).len();
            let expected = if unmarked.contains(code) { 2 } else { 1 };
            assert_eq!(times, expected, "failing at {ops}: {code}");
        }
        if let Ok(report) = failed {
            assert_eq!(report.sent, 3, "{report:?}");
            assert!(
                met_a_send_unmarked,
                "the store never failed between a send and its markers"
            );
            return;
        }
    }
    panic!("the pass never went through");
}

/// The console's outbox view lists what a plain reading of the store, one record after
/// another, lists (the view reads many at once): with more records than it reads at
/// once, pending, failed, partly sent, delivered, void and given-up ones.
#[tokio::test]
async fn the_console_outbox_lists_what_a_plain_reading_lists() {
    use outbox::deliver::{READS_AT_ONCE, Standing, expired, list_outbox, standing};
    let h = harness().await;
    let officer = officer(&h).await;
    let mut codes = Vec::new();
    for k in 0..READS_AT_ONCE + 8 {
        let a = h
            .post_json(
                "/api/dossiers",
                &phone_only(&format!("panel-{k:04}"), h.altcha().await),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        codes.push(a.json()["receipt"]["code"].as_str().unwrap().to_owned());
    }
    let s = h.storage();
    let record_key = |code: &str| format!("outbox/{code}-received.json");
    let edit = |code: String, change: Box<dyn Fn(&mut serde_json::Value) + Send>| async move {
        let key = record_key(&code);
        let mut r: serde_json::Value =
            serde_json::from_slice(&s.get(&key).await.unwrap().unwrap()).unwrap();
        change(&mut r);
        s.put(
            &key,
            serde_json::to_vec(&r).unwrap().into(),
            "application/json",
        )
        .await
        .unwrap();
    };
    let now = OffsetDateTime::now_utc();
    // Failed twice, the next try in ten minutes.
    for code in &codes[0..3] {
        let next = catalog::vn_time::format_time(now + Duration::from_secs(600));
        edit(
            code.clone(),
            Box::new(move |r| {
                r["attempts"] = json!(2);
                r["last_error"] = json!("SMS: 503");
                r["next_attempt_at"] = json!(next);
            }),
        )
        .await;
    }
    // Given up: eight days old.
    for code in &codes[5..7] {
        let old = catalog::vn_time::format_time(now - Duration::from_secs(8 * 24 * 3600));
        edit(
            code.clone(),
            Box::new(move |r| r["created_at"] = json!(old)),
        )
        .await;
    }
    // Delivered, and one with its SMS through.
    for code in &codes[10..13] {
        s.put(
            &format!("outbox-sent/{code}-received"),
            "x".into(),
            "text/plain",
        )
        .await
        .unwrap();
    }
    s.put(
        &format!("outbox-sent/{}-received.sms", codes[14]),
        "x".into(),
        "text/plain",
    )
    .await
    .unwrap();
    // Void: a dossier's manifest gone (its submission never finished), long ago.
    let gone = &codes[20];
    s.delete(&format!("{}dossier.json", dossier_prefix(gone).unwrap()))
        .await
        .unwrap();
    let long_ago = catalog::vn_time::format_time(now - Duration::from_secs(3600));
    edit(
        gone.clone(),
        Box::new(move |r| r["created_at"] = json!(long_ago)),
    )
    .await;

    // The plain reading: every waiting record in turn, as the view read them before.
    let outbox = list_outbox(s).await.unwrap();
    let (mut waiting, mut gave_up, mut void, mut old) = (Vec::new(), Vec::new(), 0, 0);
    for (id, key) in &outbox.waiting {
        let r: outbox::OutboxRecord =
            serde_json::from_slice(&s.get(key).await.unwrap().unwrap()).unwrap();
        if standing(s, &r, now).await.unwrap() == Standing::Void {
            void += 1;
            continue;
        }
        if expired(&r, now) {
            old += 1;
            gave_up.push((id.clone(), r.attempts));
            continue;
        }
        let sms_sent = outbox.sent.contains(&format!("outbox-sent/{id}.sms"));
        waiting.push((id.clone(), r.attempts, r.next_attempt_at.clone(), sms_sent));
    }
    assert_eq!(waiting.len(), codes.len() - 3 - 2 - 1);
    assert_eq!((void, old), (1, 2));

    let view = outbox_view(&h, &officer.cookie).await;
    let rows = |v: &serde_json::Value| v.as_array().unwrap().clone();
    let listed: Vec<_> = rows(&view["waiting"])
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["attempts"].as_u64().unwrap() as u32,
                r["next_attempt_at"].as_str().map(str::to_owned),
                r["sms_sent"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, waiting, "{view}");
    let listed_gave_up: Vec<_> = rows(&view["gave_up"])
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["attempts"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    assert_eq!(listed_gave_up, gave_up, "{view}");
    assert_eq!(
        (&view["void"], &view["expired"], &view["delivered"]),
        (&json!(void), &json!(old), &json!(outbox.delivered)),
        "{view}"
    );
    assert_eq!(outbox.delivered, 3);
    let states: Vec<_> = rows(&view["waiting"])
        .iter()
        .map(|r| r["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        states.iter().filter(|s| *s == "failed").count(),
        3,
        "{view}"
    );
}

/// The store fails at each request of the console's outbox view in turn (its records
/// are read many at once): each time the officer is told to try again, never shown a
/// list with rows missing; once it goes through, every row is there.
#[tokio::test]
async fn the_console_outbox_fails_whole_or_lists_every_row() {
    let h = harness().await;
    let officer = officer(&h).await;
    for k in 0..5 {
        let a = h
            .post_json(
                "/api/dossiers",
                &phone_only(&format!("panel-down-{k}"), h.altcha().await),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    }
    for ops in 0..40 {
        h.storage().fail_after(Some(ops));
        let a = h
            .send(
                axum::http::Request::get("/api/admin/outbox")
                    .header("cookie", &officer.cookie)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        h.storage().fail_after(None);
        if a.status == StatusCode::OK {
            assert_eq!(
                a.json()["waiting"].as_array().unwrap().len(),
                5,
                "{}",
                a.text()
            );
            assert!(ops > 3, "the view made only {ops} requests");
            return;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
        assert!(a.text().contains("thử lại"), "{}", a.text());
    }
    panic!("the view never went through");
}

/// A dossier's events are read many at once: with the store failing at each request in
/// turn, the citizen's tracking and the officer's view of a dossier with three steps
/// either ask to try again or show exactly what they show with the store up.
#[tokio::test]
async fn a_dossiers_views_fail_whole_or_show_every_step() {
    let h = harness().await;
    let officer = officer(&h).await;
    let a = h
        .post_json("/api/dossiers", &phone_only("views-0001", h.altcha().await))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let receipt = &a.json()["receipt"];
    let code = receipt["code"].as_str().unwrap().to_owned();
    let token = receipt["tracking_token"].as_str().unwrap().to_owned();
    for step in [
        json!({"action": "receive", "expected_seq": 1}),
        json!({"action": "request-papers", "expected_seq": 2, "missing": "Bản sao giấy khai sinh"}),
        json!({"action": "refuse", "expected_seq": 3, "reason": "Không bổ sung giấy tờ"}),
    ] {
        let r = officer.act(&h, &code, &step).await;
        assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text());
    }
    let view = |uri: String| {
        let h = &h;
        let cookie = officer.cookie.clone();
        async move {
            h.send(
                axum::http::Request::get(uri)
                    .header("cookie", cookie)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    for uri in [
        format!("/api/dossiers/{code}?token={token}"),
        format!("/api/admin/dossiers/{code}"),
    ] {
        let whole = view(uri.clone()).await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.text());
        assert_eq!(
            whole.json()["history"].as_array().unwrap().len(),
            4,
            "{uri}"
        );
        let mut went_through = false;
        for ops in 0..12 {
            h.storage().fail_after(Some(ops));
            let a = view(uri.clone()).await;
            h.storage().fail_after(None);
            if a.status == StatusCode::OK {
                let (mut got, mut want) = (a.json(), whole.json());
                // The attachments' links are signed anew each time.
                got["attachments"] = json!(null);
                want["attachments"] = json!(null);
                assert_eq!(got, want, "{uri} failing at {ops}");
                went_through = true;
                break;
            }
            assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
        }
        assert!(went_through, "{uri} never went through");
    }
}
