//! Visitor statistics and the poll, through the router against the embedded store (or
//! moto, when `MOTCUA_TEST_S3_ENDPOINT` is set): counts stay exact when many requests
//! arrive at once, when folds run at once, across a day's end, and when the store fails
//! at any point of a request that is then retried. And what each view costs: the store
//! is made to fail after 3 requests (a page view) or 1 (a poll view), and the view
//! still succeeds.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::Storage;
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;
use widgets::{WidgetsState, router};

struct Setup {
    router: Router,
    state: WidgetsState,
    storage: Storage,
    _store: Option<dev_store::EmbeddedS3>,
    _dir: tempfile::TempDir,
}

impl Setup {
    /// One fold, now, as the schedule runs it; both parts must succeed.
    async fn fold(&self) {
        self.fold_at(catalog::vn_time::now()).await;
    }

    async fn fold_at(&self, now: OffsetDateTime) {
        let report = widgets::fold::fold(&self.state, now).await;
        report.stats.expect("statistics fold");
        report.poll.expect("a poll").expect("poll fold");
    }
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
    let (storage, store) = match std::env::var("MOTCUA_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let keys = ("testing".to_owned(), "testing".to_owned());
            let client = store::s3::client("us-east-1", Some(&endpoint), Some(keys)).await;
            let bucket = format!("w-{}", rand_hex());
            (Storage::s3(client, bucket), None)
        }
        _ => {
            let store = dev_store::start(dir.path(), store::policy::CONDITIONAL_ONLY)
                .await
                .unwrap();
            let client =
                store::s3::client(&store.region, Some(&store.endpoint), Some(store.keys())).await;
            (Storage::s3(client, "motcua"), Some(store))
        }
    };
    storage.ensure_bucket().await.unwrap();
    let state = WidgetsState {
        storage: storage.clone(),
        poll: Some(Arc::new(poll)),
    };
    Setup {
        storage,
        router: router(state.clone()),
        state,
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

fn rand_hex() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

fn sid(n: usize) -> String {
    format!("visitor-{n:06}")
}

fn figures_of(v: &Value) -> [u64; 6] {
    ["today", "week", "month", "year", "total", "online"].map(|k| v[k].as_u64().unwrap())
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
        // No fold yet: each visitor sees the figures of none, plus their own visit.
        assert_eq!(figures_of(&body), [1, 1, 1, 1, 1, 1], "{body}");
    }
    s.fold().await;
    let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
    assert_eq!(figures_of(&figures), [60, 60, 60, 60, 60, 60], "{figures}");
    assert!(figures["as_of"].is_string(), "{figures}");

    // A returning visitor is in the folded figures already; a new one adds itself.
    let (_, back) = send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": sid(7)})),
    )
    .await;
    assert_eq!(figures_of(&back), [60, 60, 60, 60, 60, 60], "{back}");
    let (_, new) = send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": sid(60)})),
    )
    .await;
    assert_eq!(figures_of(&new), [61, 61, 61, 61, 61, 61], "{new}");
    let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
    assert_eq!(figures["total"], 60, "not folded yet: {figures}");
    s.fold().await;
    let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
    assert_eq!(figures_of(&figures), [61, 61, 61, 61, 61, 61], "{figures}");

    let (status, _) = send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": "x/../y"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Folds running at once with each other and with visits: whatever order they finish
/// in, one more fold afterwards gives the exact figures, and the ledger is not broken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn folds_at_once_with_visits_stay_exact() {
    let s = setup().await;
    // The first folds at once also race to create the ledger.
    let mut tasks = Vec::new();
    for n in 0..150 {
        let router = s.router.clone();
        tasks.push(tokio::spawn(async move {
            send(
                &router,
                "POST",
                "/api/stats",
                Some(json!({"sid": sid(n % 50)})),
            )
            .await
            .0
        }));
        if n % 25 == 0 {
            let state = s.state.clone();
            tasks.push(tokio::spawn(async move {
                let report = widgets::fold::fold(&state, catalog::vn_time::now()).await;
                report.stats.map(|_| StatusCode::OK).unwrap()
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    s.fold().await;
    let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
    assert_eq!(figures_of(&figures), [50, 50, 50, 50, 50, 50], "{figures}");
}

/// Visits around midnight, with an injected clock: a visit whose request began before
/// midnight and landed after it still counts for its day, once the fold recounts the
/// closed day; week, month, year and total add the closed day to the new one.
#[tokio::test]
async fn a_day_boundary_counts_late_visits_once() {
    let s = setup().await;
    let st = &s.storage;
    let hit = |sid: String, now: OffsetDateTime| async move {
        widgets::stats::hit(st, &sid, now).await.unwrap()
    };
    let figures = |now: OffsetDateTime| async move {
        let f = widgets::stats::figures(st, now).await.unwrap();
        [f.today, f.week, f.month, f.year, f.total]
    };
    // Tuesday 31 March 2026, then Wednesday 1 April: the same ISO week, a new month.
    let evening = datetime!(2026-03-31 23:50 +7);
    for n in 0..10 {
        hit(sid(n), evening).await;
    }
    s.fold_at(datetime!(2026-03-31 23:55 +7)).await;
    assert_eq!(figures(datetime!(2026-03-31 23:56 +7)).await, [10; 5]);
    // Past midnight, the figures of yesterday start today, and this month, from zero.
    s.fold_at(datetime!(2026-04-01 00:00:30 +7)).await;
    assert_eq!(
        figures(datetime!(2026-04-01 00:00:40 +7)).await,
        [0, 10, 0, 10, 10]
    );
    // Three visits that began at 23:59:59 land now, after that fold; the new day's
    // visits: five of yesterday's sessions again, three new ones.
    let late = datetime!(2026-03-31 23:59:59 +7);
    for n in 10..13 {
        hit(sid(n), late).await;
    }
    let morning = datetime!(2026-04-01 00:01 +7);
    for n in (0..5).chain(100..103) {
        let f = hit(sid(n), morning).await;
        assert_eq!(f.today, 1, "not folded yet, but the visitor's own: {f:?}");
    }
    // Folds at once, the day still open to late visits.
    let at = datetime!(2026-04-01 00:02 +7);
    futures_util::future::join_all((0..4).map(|_| s.fold_at(at))).await;
    assert_eq!(figures(at).await, [8, 21, 8, 21, 21]);
    hit(sid(13), datetime!(2026-03-31 23:59:59 +7)).await;
    // After the settling time the closed day is counted for good.
    let settled = datetime!(2026-04-01 00:06 +7);
    s.fold_at(settled).await;
    assert_eq!(figures(settled).await, [8, 22, 8, 22, 22]);
    // A returning visitor of today is in the figures; a new one adds itself.
    let f = hit(sid(0), datetime!(2026-04-01 00:07 +7)).await;
    assert_eq!(
        [f.today, f.week, f.month, f.year, f.total],
        [8, 22, 8, 22, 22]
    );
    let f = hit(sid(200), datetime!(2026-04-01 00:07 +7)).await;
    assert_eq!(
        [f.today, f.week, f.month, f.year, f.total],
        [9, 23, 9, 23, 23]
    );
    // The next week, the next day, the next year: each period in turn from zero.
    s.fold_at(datetime!(2026-04-01 12:00 +7)).await;
    assert_eq!(
        figures(datetime!(2026-04-06 09:00 +7)).await,
        [0, 0, 9, 23, 23]
    );
    s.fold_at(datetime!(2026-04-06 09:00 +7)).await;
    assert_eq!(
        figures(datetime!(2026-04-06 09:01 +7)).await,
        [0, 0, 9, 23, 23],
        "days without visits add nothing"
    );
}

/// A bucket with the sharded counters of before: the first fold carries their figures,
/// once, and today's visit markers of before are counted by listing like the new ones.
#[tokio::test]
async fn the_first_fold_carries_the_counters_of_before() {
    let s = setup().await;
    let now = catalog::vn_time::now();
    let periods = widgets::stats::periods(now);
    let old = [2u64, 30, 50, 200, 1000];
    for (p, n) in periods.iter().zip(old) {
        // Split over two shards, one as a bare number, as counters of before were.
        let (a, b) = (n / 2, n - n / 2);
        s.storage
            .put_if_absent(
                &format!("stats/count/{p}/0"),
                bytes::Bytes::from(format!("{{\"n\":{a},\"recent\":[]}}")),
                "application/json",
            )
            .await
            .unwrap();
        s.storage
            .put_if_absent(
                &format!("stats/count/{p}/3"),
                bytes::Bytes::from(b.to_string()),
                "text/plain",
            )
            .await
            .unwrap();
    }
    for n in 0..2 {
        s.storage
            .put_if_absent(
                &format!("stats/visits/{}/{}", periods[0], sid(n)),
                bytes::Bytes::from_static(b"{\"shard\":1,\"counted\":true}"),
                "application/json",
            )
            .await
            .unwrap();
    }
    s.fold().await;
    s.fold().await;
    let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
    assert_eq!(&figures_of(&figures)[..5], &old, "{figures}");
    let (_, back) = send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": sid(1)})),
    )
    .await;
    assert_eq!(&figures_of(&back)[..5], &old, "{back}");
    let (_, new) = send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": sid(2)})),
    )
    .await;
    assert_eq!(&figures_of(&new)[..5], &[3, 31, 51, 201, 1001], "{new}");
}

/// What a view costs: the store fails after 3 requests, and a page view, new or
/// returning, still succeeds (with 2 it cannot: it makes exactly 3); the figures and a
/// poll view, after 1; a vote, after 5.
#[tokio::test]
async fn views_make_at_most_three_requests_and_a_poll_view_one() {
    let s = setup().await;
    send(
        &s.router,
        "POST",
        "/api/stats",
        Some(json!({"sid": sid(1)})),
    )
    .await;
    s.fold().await;
    for (who, limit, expected) in [
        (sid(2), 3, StatusCode::OK),
        (sid(2), 3, StatusCode::OK),
        (sid(1), 3, StatusCode::OK),
        (sid(3), 2, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        s.storage.fail_after(Some(limit));
        let (status, body) = send(&s.router, "POST", "/api/stats", Some(json!({"sid": who}))).await;
        s.storage.fail_after(None);
        assert_eq!(status, expected, "{who} with {limit} requests: {body}");
    }
    s.storage.fail_after(Some(1));
    let (stats, _) = send(&s.router, "GET", "/api/stats", None).await;
    s.storage.fail_after(Some(1));
    let (poll, _) = send(&s.router, "GET", "/api/polls/tim-thay-trang", None).await;
    s.storage.fail_after(None);
    assert_eq!((stats, poll), (StatusCode::OK, StatusCode::OK));
    s.storage.fail_after(Some(5));
    let (vote, body) = send(
        &s.router,
        "POST",
        "/api/polls/tim-thay-trang",
        Some(json!({"voter": sid(1), "option": "can-bo"})),
    )
    .await;
    s.storage.fail_after(None);
    assert_eq!(vote, StatusCode::CREATED, "{body}");
}

/// A fold that the store stops at any point counts nothing twice and loses nothing: the
/// next one gives the exact figures.
#[tokio::test]
async fn a_fold_cut_short_leaves_the_figures_exact() {
    let s = setup().await;
    for n in 0..5 {
        send(
            &s.router,
            "POST",
            "/api/stats",
            Some(json!({"sid": sid(n)})),
        )
        .await;
    }
    send(
        &s.router,
        "POST",
        "/api/polls/tim-thay-trang",
        Some(json!({"voter": sid(1), "option": "can-bo"})),
    )
    .await;
    for k in 0..12 {
        // A new visitor and a new vote between folds.
        send(
            &s.router,
            "POST",
            "/api/stats",
            Some(json!({"sid": sid(100 + k)})),
        )
        .await;
        s.storage.fail_after(Some(k as u32));
        let _ = widgets::fold::fold(&s.state, catalog::vn_time::now()).await;
        s.storage.fail_after(None);
        s.fold().await;
        let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
        let n = 6 + k as u64;
        assert_eq!(
            &figures_of(&figures)[..5],
            &[n; 5],
            "a fold failing at {k}: {figures}"
        );
    }
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
    s.fold().await;
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
        // The retry's answer: the visitors folded before, and this one.
        for period in ["today", "week", "month", "year", "total"] {
            assert_eq!(
                body[period], visitors,
                "{period} in the retry's answer after a failure at {k}: {body}"
            );
        }
        s.fold().await;
        let (_, figures) = send(&s.router, "GET", "/api/stats", None).await;
        for period in ["today", "week", "month", "year", "total"] {
            assert_eq!(
                figures[period], visitors,
                "{period} after a failure at operation {k}: {figures}"
            );
        }
    }
    // A view is three requests, and the store failed at each.
    assert_eq!(cut_short, 3, "the store failed at {cut_short} points");
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
    s.fold().await;
    let (_, results) = send(&s.router, "GET", uri, None).await;
    assert_eq!(results["total"], voters, "{results}");
}

/// A vote whose request stopped after its first write (the voter closed the page, the
/// function timed out) is counted by the next fold, without a retry.
#[tokio::test]
async fn a_vote_left_halfway_is_finished_by_the_fold() {
    let s = setup().await;
    let uri = "/api/polls/tim-thay-trang";
    s.storage.fail_after(Some(1));
    let (status, _) = send(
        &s.router,
        "POST",
        uri,
        Some(json!({"voter": sid(1), "option": "nguoi-quen"})),
    )
    .await;
    s.storage.fail_after(None);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (_, before) = send(&s.router, "GET", uri, None).await;
    assert_eq!(before["total"], 0);
    s.fold().await;
    s.fold().await;
    let (_, after) = send(&s.router, "GET", uri, None).await;
    assert_eq!(after["total"], 1, "{after}");
    let (status, again) = send(
        &s.router,
        "POST",
        uri,
        Some(json!({"voter": sid(1), "option": "can-bo"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["total"], 1, "{again}");
}
