//! What the desk's API refuses.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use common::*;
use serde_json::json;
use web::admin::auth::{self, Role, Session};

const PASSWORD: &str = "mat-khau-du-dai-123";

fn req(method: &str, uri: &str, cookie: Option<&str>, csrf: Option<&str>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        r = r.header("cookie", format!("{}={c}", auth::COOKIE));
    }
    if let Some(t) = csrf {
        r = r.header("x-csrf-token", t);
    }
    r.header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap()
}

#[tokio::test]
async fn admin_routes_refuse_without_a_valid_session() {
    let h = harness().await;
    auth::add_officer(h.storage(), "lan", "Lan", Role::Officer, PASSWORD, false)
        .await
        .unwrap();
    let (code, tracking) = h.submit_trich_luc("sec-00000001").await;
    let key = &h.state.config().signing_key;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let session = Session {
        login: "lan".into(),
        name: "Lan".into(),
        role: Role::Officer,
        csrf: "0123456789abcdef0123456789abcdef".into(),
        expires: now + 600,
        epoch: 0,
    };
    let valid = auth::sign(key, &session);
    let expired = auth::sign(
        key,
        &Session {
            expires: now - 1,
            ..session.clone()
        },
    );
    let forged = auth::sign(b"another-key-0123456789abcdefghijklmnop", &session);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let tampered = format!(
        "{}.{}",
        b64.encode(
            serde_json::to_vec(&Session {
                role: Role::Admin,
                ..session.clone()
            })
            .unwrap()
        ),
        valid.split_once('.').unwrap().1
    );
    let routes = [
        ("GET", "/api/admin/session".to_owned()),
        ("GET", "/api/admin/dossiers".to_owned()),
        ("GET", format!("/api/admin/dossiers/{code}")),
        (
            "GET",
            format!("/api/admin/dossiers/{code}/attachment?key=x"),
        ),
        ("POST", format!("/api/admin/dossiers/{code}/actions")),
        ("GET", format!("/api/admin/dossiers/{code}/receipt")),
        ("GET", "/api/admin/outbox".to_owned()),
        ("POST", "/api/admin/outbox/deliver".to_owned()),
        ("POST", "/api/admin/logout".to_owned()),
        ("GET", "/api/admin/nothing-here".to_owned()),
    ];
    for (method, uri) in &routes {
        for (what, cookie) in [
            ("none", None),
            ("expired", Some(expired.as_str())),
            ("forged", Some(forged.as_str())),
            ("tampered", Some(tampered.as_str())),
            ("tracking token", Some(tracking.as_str())),
            ("garbage", Some("a.b")),
        ] {
            let a = h.send(req(method, uri, cookie, Some(&session.csrf))).await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {what}"
            );
        }
        // The tracking token as a bearer or query is no session either.
        let a = h
            .send(
                Request::builder()
                    .method(*method)
                    .uri(format!(
                        "{uri}{}token={tracking}",
                        if uri.contains('?') { "&" } else { "?" }
                    ))
                    .header("authorization", format!("Bearer {tracking}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} with bearer"
        );
        if *method == "POST" {
            for csrf in [None, Some("wrong"), Some("")] {
                let a = h.send(req(method, uri, Some(&valid), csrf)).await;
                assert_eq!(
                    a.status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} csrf {csrf:?}"
                );
            }
        }
    }
    // With everything right, it answers.
    let a = h
        .send(req("GET", "/api/admin/dossiers", Some(&valid), None))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn attachments_only_of_their_dossier_and_urls_expire() {
    let h = harness().await;
    // The session below is this officer's.
    auth::add_officer(h.storage(), "lan", "Lan", Role::Officer, PASSWORD, false)
        .await
        .unwrap();
    let key = &h.state.config().signing_key;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let valid = auth::sign(
        key,
        &Session {
            login: "lan".into(),
            name: "Lan".into(),
            role: Role::Officer,
            csrf: "0123456789abcdef0123456789abcdef".into(),
            expires: now + 600,
            epoch: 0,
        },
    );
    let mut codes = Vec::new();
    for i in 0..2 {
        let (staged, altcha, _) = h.stage("giay_chung_sinh", "cs.pdf", PDF).await;
        let a = h
            .dossier_as(
                &altcha,
                &format!("sec-files-{i:04}"),
                khai_sinh_values(),
                json!([{"field": "giay_chung_sinh", "key": staged, "name": "cs.pdf"}]),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        codes.push(a.json()["receipt"]["code"].as_str().unwrap().to_owned());
    }
    let d = h
        .send(req(
            "GET",
            &format!("/api/admin/dossiers/{}", codes[1]),
            Some(&valid),
            None,
        ))
        .await
        .json();
    let other_key = d["attachments"][0]["key"].as_str().unwrap().to_owned();
    // Dossier 0's route with dossier 1's file: refused.
    let a = h
        .send(req(
            "GET",
            &format!(
                "/api/admin/dossiers/{}/attachment?key={}",
                codes[0],
                dossier::tracking::encode(&other_key)
            ),
            Some(&valid),
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // Its own file: a redirect to a presigned URL.
    let a = h
        .send(req(
            "GET",
            &format!(
                "/api/admin/dossiers/{}/attachment?key={}",
                codes[1],
                dossier::tracking::encode(&other_key)
            ),
            Some(&valid),
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    if h.moto {
        return;
    }
    // A presigned URL works while valid and is refused after.
    let url = web::admin::presign_get(&h.state, &other_key, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(get_status(&url).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(get_status(&url).await, 403);
}

async fn get_status(url: &str) -> u16 {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, http_body_util::Empty<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    client
        .request(
            Request::get(url)
                .body(http_body_util::Empty::new())
                .unwrap(),
        )
        .await
        .unwrap()
        .status()
        .as_u16()
}
