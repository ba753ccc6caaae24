//! The service figures through the real store: dossiers with known outcomes seeded in
//! the bucket, the schedule's pass writing the public page into the site bucket, and
//! the console's report for a range (JSON, CSV, the printable page).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use catalog::vn_time::{VN, format_time};
use common::*;
use dossier::{Event, Manifest, Rating, Status};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, Time};
use web::admin::auth::{self, Role};

const PASSWORD: &str = "mat-khau-du-dai-123";
const SITE_BUCKET: &str = "motcua-site";
const NAME: &str = "Trần Thị Bí Mật";
const PHONE: &str = "0987654321";

/// The first day of last month, 09:00 in Vietnam: the seeded dossiers' start.
fn base() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().to_offset(VN);
    let first = now.date().replace_day(1).unwrap();
    let last_month = (first - Duration::days(1)).replace_day(1).unwrap();
    last_month
        .with_time(Time::from_hms(9, 0, 0).unwrap())
        .assume_offset(VN)
}

fn minute(t: OffsetDateTime) -> Value {
    json!({"day": t.date().to_string(), "time": "16:00"})
}

async fn seed(
    h: &Harness,
    n: u32,
    procedure: (&str, &str),
    received: OffsetDateTime,
    appointment: OffsetDateTime,
    events: &[Event],
) -> String {
    let d = received.date();
    let code = format!(
        "T00.01.01-{:02}{:02}{:02}-{n:04}",
        d.year() % 100,
        u8::from(d.month()),
        d.day()
    );
    let manifest: Manifest = serde_json::from_value(json!({
        "version": 1, "code": code,
        "procedure": {"code": procedure.0, "title": procedure.1, "level": 4},
        "unit_code": "T00.01.01", "fields": {"ho_ten": NAME}, "attachments": [],
        "contact": {"name": NAME, "phone": PHONE, "email": "bimat@example.com"},
        "appointment": minute(appointment),
        "received_at": format_time(received), "channel": "form",
        "tracking_token_sha256": "", "idempotency_key_sha256": ""
    }))
    .unwrap();
    // As a submission does: the index's hint first, then the manifest.
    store::index::hint(h.storage(), &code, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let prefix = store::dossiers::stored_prefix(&code).unwrap();
    assert!(
        h.storage()
            .put_if_absent(
                &format!("{prefix}dossier.json"),
                Bytes::from(serde_json::to_vec(&manifest).unwrap()),
                "application/json",
            )
            .await
            .unwrap()
    );
    for (i, e) in events.iter().enumerate() {
        let id = format!("e{i}");
        store::dossiers::write_event(
            h.storage(),
            &manifest,
            e,
            i as u32 + 1,
            &id,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }
    code
}

fn step(at: OffsetDateTime, status: Status) -> Event {
    let mut e = Event::new(format_time(at), status);
    e.by_name = Some("Cán Bộ Một".into());
    e
}

/// Five dossiers: on time (rated 5), late, refused, overdue, and one received just now.
async fn seed_all(h: &Harness) -> Vec<String> {
    let b = base();
    let day = Duration::days(1);
    let khai_sinh = ("1.001193", "Đăng ký khai sinh");
    let other = ("2.000815", "=HYPERLINK(\"http://x\") chứng thực");
    let mut rated = step(b + day * 3, Status::Returned);
    rated.rating = Some(Rating {
        overall: 5,
        on_time: 5,
        attitude: 5,
        comment: Some(format!("Cảm ơn, {NAME}")),
    });
    let mut codes = vec![
        seed(
            h,
            1,
            khai_sinh,
            b + day,
            b + day * 3,
            &[
                step(b + day + Duration::hours(1), Status::Accepted),
                step(b + day * 2, Status::ResultReady),
                rated.clone(),
                {
                    let mut r = rated;
                    r.at = format_time(b + day * 3 + Duration::hours(1));
                    r
                },
            ],
        )
        .await,
        seed(
            h,
            2,
            khai_sinh,
            b + day,
            b + day * 2,
            &[step(b + day * 5, Status::ResultReady)],
        )
        .await,
        seed(
            h,
            3,
            other,
            b + day * 2,
            b + day * 4,
            &[step(b + day * 3, Status::Refused)],
        )
        .await,
        seed(
            h,
            4,
            other,
            b + day * 3,
            b + day * 4,
            &[step(b + day * 3, Status::Accepted)],
        )
        .await,
    ];
    let now = OffsetDateTime::now_utc().to_offset(VN) - Duration::minutes(5);
    codes.push(seed(h, 5, khai_sinh, now, now + day * 20, &[]).await);
    codes
}

/// What EventBridge sends for a `rate(1 minute)` rule.
fn scheduled_event() -> aws_lambda_events::event::eventbridge::EventBridgeEvent {
    serde_json::from_value(json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2025-06-02T03:04:00Z",
        "region": "ap-southeast-1",
        "resources": [],
        "detail": {}
    }))
    .unwrap()
}

fn assert_nothing_personal(text: &str, codes: &[String]) {
    for personal in [NAME, PHONE, "bimat@example.com", "Cán Bộ Một"] {
        assert!(!text.contains(personal), "{personal} published");
    }
    for code in codes {
        assert!(!text.contains(code.as_str()), "{code} published");
    }
}

#[tokio::test]
async fn the_schedule_writes_the_public_page_into_the_site_bucket() {
    let h = harness_with(|c| c.site_bucket = Some(SITE_BUCKET.into())).await;
    let site = h.storage().other_bucket(SITE_BUCKET);
    site.ensure_bucket().await.unwrap();
    let codes = seed_all(&h).await;

    let report = web::lambda::scheduled(&h.state, scheduled_event())
        .await
        .unwrap();
    let report = serde_json::to_value(report).unwrap();
    assert_eq!(
        report["figures"],
        json!({"outcome": "written", "puts": 4}),
        "{report}"
    );
    let read = |name: &str| {
        let site = site.clone();
        let key = format!("thong-ke/{name}");
        async move { String::from_utf8(site.get(&key).await.unwrap().unwrap().to_vec()).unwrap() }
    };
    let json: Value = serde_json::from_str(&read("so-lieu.json").await).unwrap();
    let t = &json["total"];
    assert_eq!(
        [
            &t["received"],
            &t["on_time"],
            &t["late"],
            &t["refused"],
            &t["pending"],
            &t["overdue"],
            &t["ratings"],
            &t["satisfied"]
        ],
        [5, 1, 1, 1, 2, 1, 1, 1].map(|n| json!(n)).each_ref(),
        "{json}"
    );
    // Below five dossiers a share is a count.
    assert_eq!(t["on_time_share"]["text"], "1/2");
    let page = read("index.html").await;
    assert!(page.contains("Thống kê giải quyết hồ sơ"), "{page}");
    assert!(page.contains("Hồ sơ giấy nộp trực tiếp tại quầy"));
    assert!(page.contains("<svg"));
    assert!(!page.contains("style="), "the CSP forbids style attributes");
    assert!(
        !page.contains("<script"),
        "the page reads without JavaScript"
    );
    let csv = read("so-lieu.csv").await;
    assert!(csv.contains("\"'=HYPERLINK"), "{csv}");
    let summary = read("tom-tat.svg").await;
    assert!(summary.contains("1/2"), "{summary}");
    for text in [&page, &csv, &summary, &json.to_string()] {
        assert_nothing_personal(text, &codes);
    }

    // Nothing changed: the next pass writes nothing.
    let again = web::lambda::scheduled(&h.state, scheduled_event())
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(again).unwrap()["figures"],
        json!({"outcome": "unchanged"})
    );
    // And it makes no S3 request of its own: with every request failing, it still
    // finds the figures unchanged (from the index in memory).
    h.storage().fail_after(Some(0));
    let quiet = web::figures::publish(
        &h.state,
        OffsetDateTime::now_utc(),
        web::figures::Pace::Schedule,
    )
    .await;
    h.storage().fail_after(None);
    assert_eq!(quiet, web::figures::PublishReport::Unchanged);
    // A new dossier reaches the page with the index's next upkeep (at most 10 minutes
    // later): then the figures changed, and the page is written again.
    let now = OffsetDateTime::now_utc().to_offset(VN);
    seed(
        &h,
        9,
        ("1.001193", "Đăng ký khai sinh"),
        now,
        now + Duration::days(3),
        &[],
    )
    .await;
    let soon = web::figures::publish(
        &h.state,
        OffsetDateTime::now_utc() + Duration::minutes(1),
        web::figures::Pace::Schedule,
    )
    .await;
    assert_eq!(soon, web::figures::PublishReport::Unchanged);
    let later = web::figures::publish(
        &h.state,
        OffsetDateTime::now_utc() + Duration::minutes(11),
        web::figures::Pace::Schedule,
    )
    .await;
    assert_eq!(later, web::figures::PublishReport::Written { puts: 4 });
}

#[tokio::test]
async fn without_a_site_bucket_nothing_is_written() {
    let h = harness().await;
    let report = web::lambda::scheduled(&h.state, scheduled_event())
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(report).unwrap()["figures"],
        json!({"outcome": "off"})
    );
}

async fn session(h: &Harness) -> String {
    auth::add_officer(
        h.storage(),
        "lan",
        "Nguyễn Thị Lan",
        Role::Officer,
        PASSWORD,
        false,
    )
    .await
    .unwrap();
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let set = a.headers["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn get(h: &Harness, cookie: &str, uri: &str) -> Answer {
    h.send(
        Request::get(uri)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn the_console_reports_a_range_by_procedure() {
    let h = harness().await;
    seed_all(&h).await;
    let cookie = session(&h).await;
    let b = base().date();
    // Last month only: the dossier received just now is not in it (unless today is
    // the first of the month, before 09:05, and it is: then it is in this month anyway).
    let last = b.replace_day(1).unwrap() + Duration::days(40);
    let to = last.replace_day(1).unwrap() - Duration::days(1);
    let range = format!("from={b}&to={to}");

    let r = get(&h, &cookie, &format!("/api/admin/reports?{range}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["total"]["received"], 4, "{j}");
    assert_eq!(
        (
            &j["total"]["on_time"],
            &j["total"]["late"],
            &j["total"]["refused"],
            &j["total"]["pending"],
            &j["total"]["overdue"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1), &json!(1))
    );
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // Most received first; at a tie, the one with more still open.
    assert_eq!(rows[0]["key"], "2.000815");
    assert_eq!(
        (&rows[0]["received"], &rows[0]["pending"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        (&rows[1]["on_time"], &rows[1]["late"]),
        (&json!(1), &json!(1))
    );

    let csv = get(&h, &cookie, &format!("/api/admin/reports.csv?{range}")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("bao-cao-")
    );
    let text = csv.text();
    assert!(text.starts_with('\u{feff}'));
    assert!(text.contains("Tổng cộng;0;4;4;0;1;1;"), "{text}");
    assert!(
        text.contains(";\"'=HYPERLINK"),
        "a formula stays text: {text}"
    );

    let page = get(&h, &cookie, &format!("/api/admin/reports/print?{range}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains("Báo cáo tình hình giải quyết thủ tục hành chính"));
    assert!(page.contains("Tổng cộng"));
    assert!(!page.contains("style="));

    // A range the wrong way round: a plain message, not an error page.
    let bad = get(&h, &cookie, &format!("/api/admin/reports?from={to}&to={b}")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap()
            .contains("Ngày bắt đầu")
    );
    let bad = get(&h, &cookie, "/api/admin/reports/print?from=hom-qua").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("Khoảng ngày không hợp lệ"));

    // Officers only.
    let anonymous = h.get(&format!("/api/admin/reports?{range}")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
