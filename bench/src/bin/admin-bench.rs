//! The officers' console list with 10,000 dossiers, through the router, over the
//! embedded S3 store in a temporary folder:
//!   1. the first list request of a cold process without a snapshot (the index rebuilt
//!      from a listing of `dossiers/`), then of a second cold process (from the
//!      snapshot the first one wrote);
//!   2. warm list requests with filters (status, procedure, date range, text), p50/p99;
//!   3. the dossier detail request, p50/p99.
//!
//! The dossiers are seeded directly in the store as a submission leaves them: the
//! manifest, `events/000001.json` (received), for some a later officer's step, and the
//! `index/changes/` hint stamped at the time of receipt; spread over six months.
//!
//! Run: `TMPDIR=/dev/shm cargo run --release -p bench --bin admin-bench`
//! Options (env): BENCH_DOSSIERS (default 10000), BENCH_REQUESTS (default 20: over the
//! embedded store every request walks the whole bucket, see the README).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use catalog::vn_time::{VN, format_time};
use dossier::{ContactInfo, Event, Manifest, Status, dossier_prefix};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::{Storage, index};
use time::{Duration as TimeDuration, OffsetDateTime, PrimitiveDateTime};
use tower::ServiceExt;
use web::admin::auth::{self, Role};
use web::{AppState, Config, router};

const PASSWORD: &str = "mat-khau-du-dai-123";
const STATUSES: [Status; 6] = [
    Status::Received,
    Status::Accepted,
    Status::SupplementRequested,
    Status::ResultReady,
    Status::Returned,
    Status::Refused,
];
const NAMES: [&str; 6] = [
    "Nguyễn Thị Lan",
    "Trần Văn Bình",
    "Lê Văn Cường",
    "Phạm Thị Dung",
    "Hoàng Văn Em",
    "Võ Thị Phương",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, Bytes) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

async fn login(router: &axum::Router) -> String {
    let (status, _) = send(
        router,
        Request::post("/api/admin/login")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::to_vec(&json!({"login": "bench", "password": PASSWORD})).unwrap(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The cookie is read again from a fresh answer (send drops the headers).
    let resp = router
        .clone()
        .oneshot(
            Request::post("/api/admin/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    serde_json::to_vec(&json!({"login": "bench", "password": PASSWORD})).unwrap(),
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn get(router: &axum::Router, cookie: &str, uri: &str) -> (StatusCode, Bytes, Duration) {
    let t0 = Instant::now();
    let (status, body) = send(
        router,
        Request::get(uri)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    (status, body, t0.elapsed())
}

/// Writes one dossier as a submission (and, for some, an officer's step) leaves it.
#[allow(clippy::too_many_arguments)]
async fn seed_one(
    storage: &Storage,
    calendar: &catalog::Calendar,
    unit: &str,
    procedure: &catalog::Procedure,
    received: OffsetDateTime,
    seq: u32,
    status: Status,
    name: &str,
) {
    let local = received.to_offset(VN);
    let code = format!(
        "{unit}-{:02}{:02}{:02}-{seq:04}",
        local.year() % 100,
        local.month() as u8,
        local.day()
    );
    let prefix = dossier_prefix(&code).expect("code parses");
    let appointment = calendar.appointment(
        PrimitiveDateTime::new(local.date(), local.time()),
        procedure.processing.working_days,
        Some(time::macros::time!(15:00)),
    );
    let at = format_time(received);
    let manifest = Manifest {
        version: 1,
        code: code.clone(),
        procedure: procedure.into(),
        unit_code: unit.to_owned(),
        fields: json!({"ho_ten": name, "dien_thoai": "0987654321", "loai": "khai_sinh"})
            .as_object()
            .unwrap()
            .clone(),
        attachments: Vec::new(),
        paper: Vec::new(),
        contact: ContactInfo {
            name: name.to_owned(),
            phone: "0987654321".into(),
            email: None,
            address: None,
            notify_by: None,
        },
        appointment,
        received_at: at.clone(),
        channel: "online".into(),
        tracking_token_sha256: hex::encode([seq as u8; 32]),
        idempotency_key_sha256: hex::encode(rand::random::<[u8; 32]>()),
        delivery: None,
        delivery_address: None,
        fee: None,
    };
    let mut first = Event::new(at.clone(), Status::Received);
    first.note = Some("Hồ sơ nộp trực tuyến.".into());
    let first_key = format!("{prefix}events/000001.json");
    tokio::try_join!(
        storage.put_if_absent(&first_key, json_bytes(&first), "application/json"),
        index::hint(storage, &code, received),
    )
    .unwrap();
    storage
        .put_if_absent(
            &format!("{prefix}dossier.json"),
            json_bytes(&manifest),
            "application/json",
        )
        .await
        .unwrap();
    if status != Status::Received {
        let later = received + TimeDuration::hours(2);
        let mut step = Event::new(format_time(later), status);
        step.by = Some("bench".into());
        step.by_name = Some("Cán Bộ Thử".into());
        step.appointment = (status == Status::Accepted).then_some(appointment);
        let step_key = format!("{prefix}events/000002.json");
        tokio::try_join!(
            storage.put_if_absent(&step_key, json_bytes(&step), "application/json"),
            index::hint(storage, &code, later),
        )
        .unwrap();
    }
}

fn json_bytes(v: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(v).expect("json"))
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_DOSSIERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);

    let content_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/web/tests/fixtures/content");
    let content = catalog::load(&content_dir).expect("fixture content loads");
    let dir = tempfile::tempdir().unwrap();
    let store = web::serve::dev_store(dir.path()).await.unwrap();
    let config = Config::for_tests(&content_dir, Some(store.endpoint.clone()));
    let storage = config.storage(Some(store.keys())).await;
    storage.ensure_bucket().await.unwrap();
    let new_state = || AppState::new(&content, storage.clone(), config.clone());

    // Seed: n dossiers over the last 180 days, 100 a day at most per code sequence.
    let calendar = content.calendar();
    let unit = content.site.unit_code.clone();
    let now = OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let seeds: Vec<(usize, OffsetDateTime, u32)> = (0..n)
        .map(|i| {
            let day = (i % 180) as i64;
            let seq = (i / 180) as u32 + 1;
            // Office hours, 07:30 to 15:30 Vietnam time, on one of the last 180 days.
            let date = now.to_offset(VN).date() - TimeDuration::days(day + 1);
            let at = OffsetDateTime::new_in_offset(date, time::macros::time!(07:30), VN)
                + TimeDuration::minutes((i % 480) as i64);
            (i, at, seq)
        })
        .collect();
    futures_util::stream::iter(seeds)
        .for_each_concurrent(64, |(i, at, seq)| {
            let (storage, calendar, unit, content) = (&storage, &calendar, &unit, &content);
            async move {
                let procedure = &content.procedures[i % content.procedures.len()];
                // Most dossiers are closed; a fifth still received, others in between.
                let status = STATUSES[(i / 3) % STATUSES.len()];
                seed_one(
                    storage,
                    calendar,
                    unit,
                    procedure,
                    at,
                    seq,
                    status,
                    NAMES[i % NAMES.len()],
                )
                .await;
            }
        })
        .await;
    let seeded = t0.elapsed();
    auth::add_officer(
        &storage,
        "bench",
        "Cán Bộ Thử",
        Role::Officer,
        PASSWORD,
        false,
    )
    .await
    .unwrap();
    println!(
        "seeded {n} dossiers ({} procedures, {} statuses, 180 days) in {:.1} s",
        content.procedures.len(),
        STATUSES.len(),
        seeded.as_secs_f64()
    );

    // 1. Cold: a new state (empty index), no snapshot in the bucket.
    let router1 = router(new_state());
    let cookie = login(&router1).await;
    let (status, body, cold) = get(&router1, &cookie, "/api/admin/dossiers").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["counts"]["total"].as_u64(), Some(n as u64), "{v}");
    println!(
        "cold list, no snapshot (rebuilt from dossiers/): {:.0} ms, total {}, new {}, overdue {}, waiting papers {}",
        ms(cold),
        v["counts"]["total"],
        v["counts"]["new"],
        v["counts"]["overdue"],
        v["counts"]["waiting_papers"]
    );
    // The snapshot is written by that first refresh; a second cold state loads it.
    let router2 = router(new_state());
    let (status, body, cold2) = get(&router2, &cookie, "/api/admin/dossiers").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["counts"]["total"].as_u64(), Some(n as u64));
    println!(
        "cold list, from snapshot: {:.0} ms (from_snapshot {}, hints re-read {})",
        ms(cold2),
        v["refresh"]["from_snapshot"],
        v["refresh"]["reread"]
    );

    // Where a warm request's time goes: the hint listing after the watermark.
    let since = (now.unix_timestamp_nanos() / 1_000_000) as i64 - index::WINDOW_MS;
    let t0 = Instant::now();
    let hints = storage
        .list_after(index::HINTS, Some(&format!("{}{since:013}", index::HINTS)))
        .await
        .unwrap();
    println!(
        "  one hint listing after the watermark (ListObjectsV2 StartAfter, {} keys back): {:.0} ms",
        hints.len(),
        ms(t0.elapsed())
    );

    // 2. Warm, with filters.
    let month_from = catalog::Day((now - TimeDuration::days(60)).date()).iso();
    let month_to = catalog::Day((now - TimeDuration::days(30)).date()).iso();
    let queries = [
        "/api/admin/dossiers".to_owned(),
        "/api/admin/dossiers?status=new".to_owned(),
        "/api/admin/dossiers?status=accepted&procedure=2.000635".to_owned(),
        format!("/api/admin/dossiers?from={month_from}&to={month_to}"),
        format!("/api/admin/dossiers?status=open&procedure=1.001193&from={month_from}"),
    ];
    for q in &queries {
        let mut lat = Vec::with_capacity(requests);
        let mut matched = 0;
        for _ in 0..requests {
            let (status, body, took) = get(&router1, &cookie, q).await;
            assert_eq!(status, StatusCode::OK);
            matched = serde_json::from_slice::<Value>(&body).unwrap()["matched"]
                .as_u64()
                .unwrap_or(0);
            lat.push(took);
        }
        lat.sort();
        println!(
            "warm list {q}: {matched} matched; p50 {:.2} ms, p99 {:.2} ms over {requests}",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }

    // 3. Detail.
    let (_, body, _) = get(&router1, &cookie, "/api/admin/dossiers?limit=500").await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    let codes: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    let mut lat = Vec::with_capacity(requests);
    for i in 0..requests {
        let (status, body, took) = get(
            &router1,
            &cookie,
            &format!("/api/admin/dossiers/{}", codes[i % codes.len()]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        lat.push(took);
    }
    lat.sort();
    println!(
        "dossier detail: p50 {:.2} ms, p99 {:.2} ms over {requests}",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    drop(store);
}
