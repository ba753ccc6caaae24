//! Visitor statistics and the poll, through the router against the embedded store:
//! counts stay exact when many requests arrive at once, and when the store fails at any
//! point of a request that is then retried.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::Storage;
use tower::ServiceExt;
use widgets::{WidgetsState, router};

struct Setup {
    router: Router,
    storage: Storage,
    _store: dev_store::EmbeddedS3,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let poll = catalog::Poll {
        id: "tim-thay-trang".into(),
        question: "Làm thế nào bạn tìm thấy trang web này?".into(),
        options: ["bang-tin", "can-bo", "nguoi-quen"]
            .map(|v| catalog::Choice {
                value: v.into(),
                label: v.to_uppercase(),
            })
            .into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dev_store::start(dir.path(), store::policy::CONDITIONAL_ONLY)
        .await
        .unwrap();
    let client = store::s3::client(&store.region, Some(&store.endpoint), Some(store.keys())).await;
    let storage = Storage::s3(client, "motcua");
    storage.ensure_bucket().await.unwrap();
    let state = WidgetsState {
        storage: storage.clone(),
        poll: Some(Arc::new(poll)),
    };
    Setup {
        storage,
        router: router(state),
        _store: store,
        _dir: dir,
    }
}

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let res = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = res.status();
    if status.is_success() || status == StatusCode::CONFLICT {
        let cache = res
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(cache.as_deref(), Some("no-store"), "{status}");
    }
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn sid(n: usize) -> String {
    format!("visitor-{n:06}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_visits_are_all_counted_once() {
    let s = setup().await;
    let (status, empty) = send(&s.router, "GET", "/api/stats", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["total"], 0);

    // 60 different visitors at once, each also reloading once: 60 visits.
    let mut tasks = Vec::new();
    for n in 0..120 {
        let router = s.router.clone();
        tasks.push(tokio::spawn(async move {
            send(
                &router,
                "POST",
                "/api/stats",
                Some(json!({"sid": sid(n % 60)})),
            )
            .await
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
    for period in ["today", "week", "month", "year", "total"] {
        assert_eq!(figures[period], 60, "{period}: {figures}");
    }
    assert_eq!(figures["online"], 60);

    let (status, _) = send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": "x/../y"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_vote_per_browser_and_exact_results() {
    let s = setup().await;
    let uri = "/api/polls/tim-thay-trang";
    let (status, before) = send(&s.router, "GET", uri, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before["total"], 0);
    assert_eq!(before["options"].as_array().unwrap().len(), 3);

    // 45 voters at once, each sending twice: 45 votes, 15 per option.
    let options = ["bang-tin", "can-bo", "nguoi-quen"];
    let mut tasks = Vec::new();
    for n in 0..90 {
        let router = s.router.clone();
        let vote = json!({"voter": sid(n % 45), "option": options[(n % 45) % 3]});
        tasks.push(tokio::spawn(async move {
            send(&router, "POST", uri, Some(vote)).await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::CREATED, _) => created += 1,
            (StatusCode::CONFLICT, body) => {
                assert!(body["message"].as_str().unwrap().contains("đã bình chọn"));
                refused += 1
            }
            (status, body) => panic!("{status} {body}"),
        }
    }
    assert_eq!((created, refused), (45, 45));
    let (_, results) = send(&s.router, "GET", uri, None).await;
    assert_eq!(results["total"], 45);
    for o in results["options"].as_array().unwrap() {
        assert_eq!(o["votes"], 15, "{results}");
    }

    let (status, _) = send(
        &s.router,
        "POST",
        uri,
        Some(json!({"voter": sid(999), "option": "khac"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(&s.router, "GET", "/api/polls/khong-co", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The store fails after `k` operations, for k = 0, 1, 2…: each visitor's page view
/// stops at a different point, then the page retries with the store back.
#[tokio::test]
async fn a_visit_cut_short_by_the_store_is_counted_once_on_retry() {
    let s = setup().await;
    let mut cut_short = 0;
    let mut visitors = 0;
    for k in 0..40 {
        visitors += 1;
        let sid = sid(1000 + k);
        s.storage.fail_after(Some(k as u32));
        let (status, body) =
            send(&s.router, "POST", "/api/stats", Some(json!({ "sid": sid }))).await;
        s.storage.fail_after(None);
        if status == StatusCode::OK {
            // Every step went through: later points of failure are past the end.
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("thử lại"),
            "{body}"
        );
        cut_short += 1;
        let (status, body) =
            send(&s.router, "POST", "/api/stats", Some(json!({ "sid": sid }))).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the retry after failing at {k}: {body}"
        );
        let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
        for period in ["today", "week", "month", "year", "total"] {
            assert_eq!(
                figures[period], visitors,
                "{period} after a failure at operation {k}: {figures}"
            );
        }
    }
    assert!(
        cut_short >= 12,
        "the store failed at only {cut_short} points"
    );
}

#[tokio::test]
async fn a_vote_cut_short_by_the_store_is_counted_once_on_retry() {
    let s = setup().await;
    let uri = "/api/polls/tim-thay-trang";
    let mut cut_short = 0;
    let mut voters = 0;
    let (mut expected_can_bo, mut expected_bang_tin) = (0, 0);
    for k in 0..40 {
        voters += 1;
        let voter = sid(2000 + k);
        s.storage.fail_after(Some(k as u32));
        let (status, body) = send(
            &s.router,
            "POST",
            uri,
            Some(json!({"voter": voter, "option": "can-bo"})),
        )
        .await;
        s.storage.fail_after(None);
        if status == StatusCode::CREATED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        cut_short += 1;
        // The voter clicks again, on another option. The vote's marker is its first
        // write: if it was stored (every failure point but the first), the first choice
        // counts, once; if not, nothing of the first click was kept.
        if k == 0 {
            expected_bang_tin += 1;
        } else {
            expected_can_bo += 1;
        }
        let (status, body) = send(
            &s.router,
            "POST",
            uri,
            Some(json!({"voter": voter, "option": "bang-tin"})),
        )
        .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "the retry after failing at {k}: {status} {body}"
        );
        assert_eq!(body["total"], voters, "after a failure at {k}: {body}");
        let votes = |o: &str| {
            body["options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["value"] == o)
                .unwrap()["votes"]
                .clone()
        };
        assert_eq!(votes("can-bo"), expected_can_bo, "{body}");
        assert_eq!(votes("bang-tin"), expected_bang_tin, "{body}");
    }
    assert!(
        cut_short >= 4,
        "the store failed at only {cut_short} points"
    );
}
