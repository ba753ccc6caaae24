//! The plain form post (multipart, HTML answers) and the Lambda adapter fed real
//! API Gateway v2 / Function URL event JSON.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use common::*;
use serde_json::{Value, json};

const FORM: &str = "/api/dossiers/form";

/// The question of the static page's frame: its words, and the cookie it sets.
async fn framed_question(h: &Harness) -> (String, String) {
    let a = h.get("/api/gate").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["x-frame-options"], "SAMEORIGIN");
    assert_eq!(
        a.headers["content-security-policy"],
        "frame-ancestors 'self'"
    );
    assert_eq!(a.headers["cache-control"], "no-store");
    let set = a.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(set.contains("Path=/api/dossiers"), "{set}");
    let page = a.text();
    let question = page
        .split("<strong>")
        .nth(1)
        .and_then(|rest| rest.split("</strong>").next())
        .expect("the question is in the page")
        .to_owned();
    (question, set.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn the_plain_forms_question_varies_and_is_used_once() {
    let h = harness().await;
    let (question, cookie) = framed_question(&h).await;
    assert!(question.ends_with("bằng mấy?"), "{question}");
    assert!(!question.chars().any(|c| c.is_ascii_digit()), "{question}");
    let answer = web::gate::solve(&question).unwrap().to_string();
    let post = |fields: Vec<(&'static str, &'static str)>, answer: String, cookie: String| {
        let h = &h;
        async move {
            let mut fields: Vec<(&str, &str)> = fields
                .into_iter()
                .filter(|(k, _)| *k != "gate" && *k != "human_answer")
                .collect();
            fields.push(("human_answer", &answer));
            let (ct, body) = multipart(&fields, &[("giay_chung_sinh", "a.pdf", PDF)]);
            h.send(
                axum::http::Request::post(FORM)
                    .header("content-type", ct)
                    .header("cookie", cookie)
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await
        }
    };
    // Answered through the frame's cookie: received.
    let first = post(khai_sinh_form(&[]), answer.clone(), cookie.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    // The same question for another dossier: refused, with a new question in the page.
    let again = post(
        khai_sinh_form(&[("ho_ten", "Trần Văn Bình")]),
        answer.clone(),
        cookie.clone(),
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.text()
    );
    let page = again.text();
    assert!(page.contains("đã được dùng cho một lần gửi khác"), "{page}");
    assert!(
        page.contains("name=\"gate\""),
        "the page brings its own question"
    );
    assert!(page.contains("Trần Văn Bình"), "what was typed is kept");
    // No cookie, no token: the question is asked for.
    let none = post(khai_sinh_form(&[]), answer, String::new()).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.text().contains("Vui lòng trả lời câu hỏi kiểm tra"));
    // Two frames, two different questions (nearly always: 1 in 100 the same words).
    let questions: std::collections::HashSet<String> =
        futures_util::future::join_all((0..5).map(|_| framed_question(&h)))
            .await
            .into_iter()
            .map(|(q, _)| q)
            .collect();
    assert!(questions.len() > 1, "{questions:?}");
}

#[tokio::test]
async fn a_plain_post_gets_an_html_receipt_and_a_double_submit_stays_one() {
    let h = harness().await;
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[
            ("giay_chung_sinh", "chung sinh.png", PNG),
            ("giay_khac", "", b""),
        ],
    );
    let a = h.post_raw(FORM, &ct, body.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.headers["content-type"], "text/html; charset=utf-8");
    let page = a.text();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<html lang=\"vi\">"));
    assert!(page.contains("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"));
    assert!(page.contains("Lê Văn Cường") && page.contains("<svg"));
    assert!(page.contains("Mẫu số 01 – Thông tư số 03/2025/TT-VPCP"));
    let again = h.post_raw(FORM, &ct, body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(h.manifests().await.len(), 1);
    let m: Value = serde_json::from_slice(
        &h.storage()
            .get(&h.manifests().await[0])
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(m["attachments"][0]["type"], "image/png");
    assert!(
        m["attachments"][0]["key"]
            .as_str()
            .unwrap()
            .ends_with("/files/1-chung-sinh.png")
    );
    assert_eq!(m["channel"], "form");
}

#[tokio::test]
async fn form_errors_come_back_on_the_form() {
    let h = harness().await;
    let (ct, body) = multipart(
        &khai_sinh_form(&[("dien_thoai", "123"), ("ho_ten", "")]),
        &[("giay_chung_sinh", "scan.pdf", EXE)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = a.text();
    assert!(page.contains("<form"), "{page}");
    assert!(page.contains("Số điện thoại di động chưa đúng"));
    assert!(page.contains("không phải PDF"));
    assert!(page.contains("Thôn 2"), "values are kept");
    // Wrong answer to the question for people without JavaScript.
    let (ct, body) = multipart(
        // The questions' answers are at most 19.
        &khai_sinh_form(&[("human_answer", "99")]),
        &[("giay_chung_sinh", "a.pdf", PDF)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.text().contains("câu hỏi kiểm tra"));
    // Unknown and level-2 procedures.
    let (ct, body) = multipart(&[("procedure", "1.004837"), ("human_answer", "5")], &[]);
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.text().contains("chưa nhận hồ sơ trực tuyến"));
    let (ct, body) = multipart(&[("procedure", "<script>"), ("human_answer", "5")], &[]);
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!a.text().contains("<script>"));
    // Honeypot.
    let (ct, body) = multipart(
        &khai_sinh_form(&[("website", "http://spam.example")]),
        &[("giay_chung_sinh", "a.pdf", PDF)],
    );
    assert_eq!(
        h.post_raw(FORM, &ct, body).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(h.manifests().await.is_empty());
}

#[tokio::test]
async fn file_names_with_paths_and_control_characters_are_made_safe() {
    let h = harness().await;
    // Raw control bytes are not even a valid part header: refused as malformed.
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[("giay_chung_sinh", "a\u{1}.pdf", PDF)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("bị hỏng"));
    // Paths and Unicode control characters that do pass the header syntax.
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[
            ("giay_chung_sinh", "../../../etc/pass\u{85}wd\t.pdf", PDF),
            ("giay_khac", "..\\..\\x.pdf", PDF),
        ],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let keys = h.storage().list("dossiers/").await.unwrap();
    let files: Vec<&String> = keys.iter().filter(|k| k.contains("/files/")).collect();
    assert_eq!(files.len(), 2);
    for k in &files {
        let name = k.rsplit('/').next().unwrap();
        assert!(
            !k.contains("..")
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
            "{k}"
        );
    }
    assert!(!a.text().contains('\u{85}'));
}

/// The largest plain post the form allows arrives whole and is received (its body,
/// base64-encoded inside an API Gateway event, fits Lambda's 6 MB: `catalog::plain_post`);
/// one byte more of files gets the Vietnamese 413 page, naming the limit the form states.
#[tokio::test]
async fn the_largest_allowed_plain_post_is_received_and_one_byte_more_is_refused() {
    let h = harness().await;
    // A whole PDF made large by a comment line (a PDF ends with its %%EOF).
    let scan_of = |size: usize| {
        let (header, rest) = PDF.split_at(PDF.iter().position(|b| *b == b'\n').unwrap() + 1);
        let mut scan = header.to_vec();
        scan.push(b'%');
        scan.resize(size - rest.len() - 1, b'x');
        scan.push(b'\n');
        scan.extend_from_slice(rest);
        scan
    };
    let scan = scan_of(catalog::plain_post::MAX_FILES_BYTES as usize);
    assert_eq!(scan.len() as u64, catalog::plain_post::MAX_FILES_BYTES);
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[("giay_chung_sinh", "scan.pdf", &scan)],
    );
    assert!(body.len() as u64 <= catalog::plain_post::MAX_BODY_BYTES);
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "{}",
        &a.text()[..a.text().len().min(600)]
    );

    let scan = scan_of(catalog::plain_post::MAX_FILES_BYTES as usize + 1);
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[("giay_chung_sinh", "scan.pdf", &scan)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.headers["content-type"], "text/html; charset=utf-8");
    assert!(a.text().contains("4,4 MB"), "{}", a.text());
}

#[tokio::test]
async fn limits_and_malformed_bodies() {
    let h = harness_with(|c| {
        c.max_total_bytes = 300 * 1024;
        c.max_file_bytes = 200 * 1024;
        c.max_files = 3;
    })
    .await;
    // One file over the per-file limit.
    let mut big = PDF.to_vec();
    big.resize(250 * 1024, b' ');
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[("giay_chung_sinh", "big.pdf", &big)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.text().contains("vượt quá"));
    // The whole body over the total.
    let mut mid = PDF.to_vec();
    mid.resize(180 * 1024, b' ');
    let (ct, body) = multipart(
        &khai_sinh_form(&[]),
        &[
            ("giay_chung_sinh", "a.pdf", &mid),
            ("giay_chung_sinh", "b.pdf", &mid),
        ],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
    // Too many files.
    let files: Vec<(&str, &str, &[u8])> =
        (0..4).map(|_| ("giay_chung_sinh", "a.pdf", PDF)).collect();
    let (ct, body) = multipart(&khai_sinh_form(&[]), &files);
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.text().contains("tối đa 3 tệp"));
    // Malformed: truncated body, wrong boundary, not multipart, bad UTF-8.
    let (ct, body) = multipart(&khai_sinh_form(&[]), &[("giay_chung_sinh", "a.pdf", PDF)]);
    let truncated = body[..body.len() - 30].to_vec();
    assert_eq!(
        h.post_raw(FORM, &ct, truncated).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.post_raw(FORM, "multipart/form-data; boundary=other", body.clone())
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.post_raw(FORM, "multipart/form-data", body).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.post_raw(FORM, "text/plain", b"hello".to_vec())
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let mut bad = b"------motcua-test-boundary-7d9\r\nContent-Disposition: form-data; name=\"ho_ten\"\r\n\r\n".to_vec();
    bad.extend_from_slice(b"\xff\xfe\r\n------motcua-test-boundary-7d9--\r\n");
    let a = h
        .post_raw(
            FORM,
            "multipart/form-data; boundary=----motcua-test-boundary-7d9",
            bad,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("UTF-8"));
    assert!(h.manifests().await.is_empty());
}

#[tokio::test]
async fn storage_down_during_a_form_post_says_try_again() {
    let h = harness().await;
    let (ct, body) = multipart(&khai_sinh_form(&[]), &[("giay_chung_sinh", "a.pdf", PDF)]);
    h.storage().fail_after(Some(3));
    let a = h.post_raw(FORM, &ct, body.clone()).await;
    h.storage().fail_after(None);
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.text().contains("thử lại"));
    assert!(h.manifests().await.is_empty());
    assert_eq!(
        h.post_raw(FORM, &ct, body.clone()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(h.post_raw(FORM, &ct, body).await.status, StatusCode::OK);
    assert_eq!(h.manifests().await.len(), 1);
}

/// A Function URL / API Gateway HTTP API (payload 2.0) event.
fn event(
    method: &str,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: Option<String>,
    base64: bool,
) -> Value {
    let mut headers = json!({"host": "abc.lambda-url.ap-southeast-1.on.aws", "user-agent": "test"});
    if let Some(ct) = content_type {
        headers["content-type"] = json!(ct);
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc",
            "domainName": "abc.lambda-url.ap-southeast-1.on.aws",
            "domainPrefix": "abc",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 1735689600000u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

async fn through_lambda(h: &Harness, ev: Value) -> (u16, String) {
    let ctx = lambda_http::Context::default();
    let out = web::lambda::handle_http(h.router.clone(), lambda_http::LambdaEvent::new(ev, ctx))
        .await
        .expect("handled");
    let v = serde_json::to_value(&out).unwrap();
    let status = v["statusCode"].as_u64().unwrap() as u16;
    let body = v["body"].as_str().unwrap_or_default().to_owned();
    let body = if v["isBase64Encoded"] == json!(true) {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        )
        .unwrap()
    } else {
        body
    };
    (status, body)
}

#[tokio::test]
async fn lambda_events_text_base64_and_multipart() {
    let h = harness().await;
    let (status, body) =
        through_lambda(&h, event("GET", "/api/health", "", None, None, false)).await;
    assert_eq!((status, body.as_str()), (200, "{\"ok\":true}"));

    // JSON as text.
    let json_body = |key: &str, altcha: String| {
        serde_json::to_string(&json!({"procedure": "2.000635", "idempotency_key": key, "altcha": altcha, "values": trich_luc_values()})).unwrap()
    };
    let ev = event(
        "POST",
        "/api/dossiers",
        "",
        Some("application/json"),
        Some(json_body("lambda-text-1234", h.altcha().await)),
        false,
    );
    let (status, body) = through_lambda(&h, ev).await;
    assert_eq!(status, 201, "{body}");
    let receipt: Value = serde_json::from_str(&body).unwrap();
    let code = receipt["receipt"]["code"].as_str().unwrap().to_owned();
    let token = receipt["receipt"]["tracking_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // JSON base64-encoded.
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(json_body("lambda-b64-12345", h.altcha().await));
    let (status, body) = through_lambda(
        &h,
        event(
            "POST",
            "/api/dossiers",
            "",
            Some("application/json"),
            Some(b64),
            true,
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Invalid base64: 400, not a panic.
    let (status, body) = through_lambda(
        &h,
        event(
            "POST",
            "/api/dossiers",
            "",
            Some("application/json"),
            Some("%%%not base64%%%".into()),
            true,
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("base64"));

    // Multipart, base64 as Function URLs send binary bodies.
    let (ct, mp) = multipart(&khai_sinh_form(&[]), &[("giay_chung_sinh", "a.pdf", PDF)]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&mp);
    let (status, body) = through_lambda(
        &h,
        event("POST", "/api/dossiers/form", "", Some(&ct), Some(b64), true),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("Giấy tiếp nhận"));

    // Tracking with a query string.
    let (status, body) = through_lambda(
        &h,
        event(
            "GET",
            &format!("/api/dossiers/{code}"),
            &format!("token={token}"),
            None,
            None,
            false,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = through_lambda(
        &h,
        event(
            "GET",
            &format!("/api/dossiers/{code}"),
            "token=wrong",
            None,
            None,
            false,
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(h.manifests().await.len(), 3);
}
