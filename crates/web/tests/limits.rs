//! The per-client limits: the templates say what `web::limits` says, and the function
//! holds them: a 429 with `Retry-After` and a Vietnamese answer, other clients
//! untouched, the day's codes not all taken by one address, and a stranger's phone not
//! flooded with notices.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use serde_yaml_ng::Value as Yaml;
use web::limits::{AUDIENCE_THROTTLES, CLIENT_LIMITS, WINDOW_SECS};

fn template(name: &str) -> Yaml {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../infra")
        .join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The ByteMatch statements of a rule's scope-down: (field, value).
fn matches(statement: &Yaml) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(and) = statement.get("AndStatement") {
        for s in and["Statements"].as_sequence().unwrap() {
            out.extend(matches(s));
        }
    }
    if let Some(b) = statement.get("ByteMatchStatement") {
        let field = b["FieldToMatch"]
            .as_mapping()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            b["PositionalConstraint"].as_str().unwrap(),
            if field == "UriPath" {
                "STARTS_WITH"
            } else {
                "EXACTLY"
            }
        );
        out.push((field, b["SearchString"].as_str().unwrap().to_owned()));
    }
    out
}

#[test]
fn the_wafs_rules_are_the_functions_limits() {
    let waf = template("waf.yaml");
    let acl = &waf["Resources"]["WebAcl"]["Properties"];
    assert_eq!(acl["Scope"].as_str(), Some("CLOUDFRONT"));
    let rules = acl["Rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), CLIENT_LIMITS.len());
    for limit in CLIENT_LIMITS {
        let rule = rules
            .iter()
            .find(|r| r["Name"].as_str() == Some(&format!("MotCua-{}", limit.name)))
            .unwrap_or_else(|| panic!("no WAF rule for {}", limit.name));
        let rate = &rule["Statement"]["RateBasedStatement"];
        assert_eq!(
            rate["Limit"].as_u64(),
            Some(limit.per_window.into()),
            "{}",
            limit.name
        );
        assert_eq!(rate["EvaluationWindowSec"].as_u64(), Some(WINDOW_SECS));
        assert_eq!(rate["AggregateKeyType"].as_str(), Some("IP"));
        let mut want = vec![("UriPath".to_owned(), limit.path_prefix.to_owned())];
        if let Some(m) = limit.method {
            want.push(("Method".to_owned(), m.to_owned()));
        }
        assert_eq!(matches(&rate["ScopeDownStatement"]), want, "{}", limit.name);
        let block = &rule["Action"]["Block"]["CustomResponse"];
        assert_eq!(block["ResponseCode"].as_u64(), Some(429));
    }
}

#[test]
fn the_apis_throttles_are_the_functions_audiences() {
    let t = template("template.yaml");
    let routes = t["Resources"]["HttpApi"]["Properties"]["RouteSettings"]
        .as_mapping()
        .unwrap();
    assert_eq!(routes.len(), AUDIENCE_THROTTLES.len());
    for a in AUDIENCE_THROTTLES {
        let r = &routes[a.route_key];
        assert_eq!(
            r["ThrottlingRateLimit"].as_f64(),
            Some(a.rate),
            "{}",
            a.route_key
        );
        assert_eq!(
            r["ThrottlingBurstLimit"].as_u64(),
            Some(a.burst.into()),
            "{}",
            a.route_key
        );
    }
    // Every throttled route is a route some function of the template serves.
    let served: Vec<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| r["Properties"].get("Events")?.as_mapping().cloned())
        .flat_map(|events| events.into_iter().map(|(_, e)| e))
        .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        .map(|e| {
            format!(
                "{} {}",
                e["Properties"]["Method"].as_str().unwrap(),
                e["Properties"]["Path"].as_str().unwrap()
            )
        })
        .collect();
    for a in AUDIENCE_THROTTLES {
        assert!(
            served.iter().any(|s| s == a.route_key),
            "{} is not served",
            a.route_key
        );
    }
}

fn from(address: &str, mut request: Request<Body>) -> Request<Body> {
    let peer: SocketAddr = format!("{address}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn json_post(uri: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

#[tokio::test]
async fn a_client_over_its_limit_waits_and_others_go_on() {
    let h = harness().await;
    let per_window = CLIENT_LIMITS
        .iter()
        .find(|l| l.name == "dossiers")
        .unwrap()
        .per_window;
    let mut before = 0;
    let refused = loop {
        let a = h
            .send(from("203.0.113.7", json_post("/api/dossiers", &json!({}))))
            .await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            break a;
        }
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
        before += 1;
        assert!(before <= per_window, "no 429 after {before} requests");
    };
    assert_eq!(before, per_window);
    let wait: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=WINDOW_SECS).contains(&wait), "{wait}");
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("chưa được nhận"), "{message}");
    assert!(message.contains("giữ nguyên"), "{message}");

    // The plain form gets a page.
    let (content_type, body) = multipart(&[("procedure", "1.001193")], &[]);
    let page = h
        .send(from(
            "203.0.113.7",
            Request::post("/api/dossiers/form")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        ))
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers.contains_key(header::RETRY_AFTER));
    assert!(
        page.text().contains("Quay lại của trình duyệt"),
        "{}",
        page.text()
    );

    // Another address, and the same address on another route, are served.
    let other = h
        .send(from("203.0.113.8", json_post("/api/dossiers", &json!({}))))
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    let track = h
        .send(from(
            "203.0.113.7",
            Request::get("/api/health").body(Body::empty()).unwrap(),
        ))
        .await;
    assert_eq!(track.status, StatusCode::OK);
}

#[tokio::test]
async fn one_address_cannot_take_the_days_codes() {
    let h = harness_with(|c| c.dossiers_per_source_per_day = 2).await;
    let send = |address: &'static str, key: &'static str| {
        let h = &h;
        async move {
            let altcha = h.altcha().await;
            h.send(from(
                address,
                json_post(
                    "/api/dossiers",
                    &json!({"procedure": "2.000635", "idempotency_key": key,
                        "altcha": altcha, "values": trich_luc_values()}),
                ),
            ))
            .await
        }
    };
    let first = send("198.51.100.4", "so-mot-0001").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(
        send("198.51.100.4", "so-hai-0002").await.status,
        StatusCode::CREATED
    );
    let third = send("198.51.100.4", "so-ba-00003").await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.text()
    );
    let said = third.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(said.contains("CHƯA được gửi"), "{said}");
    assert!(
        said.contains("nộp trực tiếp tại Trung tâm Phục vụ hành chính công xã"),
        "{said}"
    );
    assert_eq!(
        h.manifests().await.len(),
        2,
        "nothing stored for the refused one"
    );

    // A retry of a dossier already filed is answered, not counted again.
    let again = send("198.51.100.4", "so-mot-0001").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(
        again.json()["receipt"]["code"],
        first.json()["receipt"]["code"]
    );
    // Another address files on.
    assert_eq!(
        send("198.51.100.5", "so-bon-0004").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_strangers_phone_gets_only_the_days_allowance_of_notices() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let gateway = axum::Router::new().route(
        "/sms",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, gateway).await.unwrap() });
    let h = harness_with(|c| {
        c.notify.sms_url = Some(format!("http://{addr}/sms"));
        c.notify.received_per_recipient_per_day = 2;
    })
    .await;
    // Three dossiers naming the same phone, written two ways.
    for (n, phone) in ["0912 345 678", "+84912345678", "0912-345-678"]
        .iter()
        .enumerate()
    {
        let mut values = trich_luc_values();
        values["dien_thoai"] = json!(phone);
        let altcha = h.altcha().await;
        let a = h
            .post_json(
                "/api/dossiers",
                &json!({"procedure": "2.000635", "idempotency_key": format!("cung-so-{n:04}"),
                    "altcha": altcha, "values": values}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    }
    let now = time::OffsetDateTime::now_utc();
    let report = h.state.deliver_due(now).await.unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 2);
    assert_eq!(report.withheld, 1);
    assert_eq!(report.sent, 2);
    // Withheld is settled: a later pass sends nothing more.
    let later = h.state.deliver_due(now).await.unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 2);
    assert_eq!((later.sent, later.withheld, later.failed), (0, 0, 0));
}

#[tokio::test]
async fn behind_cloudfront_only_its_requests_are_taken() {
    let secret = "origin-secret-0123456789abcdef0123456789";
    let h = harness_with(|c| c.origin_secret = Some(secret.as_bytes().to_vec())).await;
    let straight = h.get("/api/health").await;
    assert_eq!(straight.status, StatusCode::FORBIDDEN);
    assert!(
        straight.json()["message"]
            .as_str()
            .unwrap()
            .contains("trang web của xã")
    );
    let through = |viewer: &str| {
        Request::post("/api/dossiers")
            .header(header::CONTENT_TYPE, "application/json")
            .header(web::routes::ORIGIN_SECRET_HEADER, secret)
            .header(web::routes::VIEWER_ADDRESS_HEADER, viewer)
            .body(Body::from("{}"))
            .unwrap()
    };
    // The viewer address CloudFront gives is the client: one viewer is limited, the
    // next one is not, though both came from the same edge.
    let per_window = CLIENT_LIMITS[0].per_window;
    for _ in 0..per_window {
        assert_eq!(
            h.send(through("2001:db8::7:51000")).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        h.send(through("2001:db8::7:51001")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        h.send(through("2001:db8::8:51000")).await.status,
        StatusCode::BAD_REQUEST
    );
}
