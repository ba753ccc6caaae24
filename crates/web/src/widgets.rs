//! The home page's live widgets: visitor statistics and the opinion poll. No cookies and
//! no personal data: the browser sends a random id it made itself (kept in
//! sessionStorage for visits, localStorage for the poll), and only that id is stored.
//!
//! Counting stays exact under concurrency by writing only with conditions:
//!
//! - a visit is counted once per browser session and day: `stats/visits/{day}/{sid}`
//!   written with `If-None-Match: *`; only the request that created it counts;
//! - counters are small objects `stats/count/{period}/{shard}` holding a number, updated
//!   by compare-and-swap: GET (number + ETag), PUT with `If-Match: <etag>` (or
//!   `If-None-Match: *` when absent), again on 412/409. A visit increments one random
//!   shard of each period (day, ISO week, month, year, total), so concurrent visits
//!   rarely meet on one object, and a read sums the shards;
//! - "online now" = distinct session ids seen in the last 5 minutes:
//!   `stats/online/{yyyymmddHHMM}/{sid}` (If-None-Match), counted by listing 5 prefixes;
//! - a vote is `polls/{id}/votes/{voter}` with `If-None-Match: *` (one per browser), then
//!   a compare-and-swap increment of `polls/{id}/count/{option}/{shard}`.
//!
//! And exact when the store fails halfway: a visit's or a vote's marker says which shard
//! it counts in and stays *pending* until every counter has it; a counter keeps short
//! hashes of the last ids it counted. A retry (the page's, or the voter's second click)
//! that finds its marker pending finishes the count, and a counter that already holds
//! the id is not incremented again.
//!
//! Days, weeks, months and years are Vietnam's (UTC+7).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};

use crate::respond::message;
use crate::state::AppState;
use store::Storage;

/// Shards per counter: concurrent increments spread over this many objects.
pub const SHARDS: u32 = 4;
/// Minutes a visitor counts as online after their last page view.
pub const ONLINE_MINUTES: i64 = 5;
const MAX_ATTEMPTS: u32 = 40;
/// Ids a counter remembers: a retry comes within seconds, when far fewer have reached
/// one shard since.
const RECENT: usize = 64;

const BUSY: &str = "Hệ thống đang bận, số liệu chưa cập nhật được. Vui lòng thử lại sau.";

fn vietnam_now() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(UtcOffset::from_hms(7, 0, 0).expect("valid offset"))
}

/// A random id made by the browser: 8–64 characters of `[A-Za-z0-9_-]`.
fn valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The periods a visit at `now` counts in, as key parts.
pub fn periods(now: OffsetDateTime) -> [String; 5] {
    let (iso_year, week, _) = now.to_iso_week_date();
    [
        format!(
            "d-{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        ),
        format!("w-{iso_year:04}-W{week:02}"),
        format!("m-{:04}-{:02}", now.year(), u8::from(now.month())),
        format!("y-{:04}", now.year()),
        "total".to_owned(),
    ]
}

/// A counter shard: the number and short hashes of the last [`RECENT`] ids counted.
/// Counters from before hold a bare number.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    n: u64,
    #[serde(default)]
    recent: Vec<String>,
}

impl Counter {
    fn parse(bytes: &[u8]) -> Counter {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Counter {
            n: std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
            recent: Vec::new(),
        })
    }
}

/// 40 bits of the id's SHA-256: enough to tell [`RECENT`] ids apart.
fn id_tag(id: &str) -> String {
    hex::encode(&Sha256::digest(id.as_bytes())[..5])
}

/// The number under `key`, without its recent ids.
async fn read_count(storage: &Storage, key: &str) -> Result<u64, String> {
    match storage.get(key).await {
        Ok(bytes) => Ok(bytes.map_or(0, |b| Counter::parse(&b).n)),
        Err(e) => Err(e.to_string()),
    }
}

/// Counts `id` once in the counter at `key`, by compare-and-swap: never loses an
/// increment, and an id the counter already holds is not counted again. True if this
/// call added it.
pub async fn increment(storage: &Storage, key: &str, id: &str) -> Result<bool, String> {
    let tag = id_tag(id);
    for attempt in 0..MAX_ATTEMPTS {
        let (mut counter, etag) = match storage.get_tagged(key).await {
            Ok(Some((bytes, etag))) => (Counter::parse(&bytes), Some(etag)),
            Ok(None) => (Counter::default(), None),
            Err(e) => return Err(e.to_string()),
        };
        if counter.recent.contains(&tag) {
            return Ok(false);
        }
        counter.n += 1;
        counter.recent.push(tag.clone());
        if counter.recent.len() > RECENT {
            counter.recent.remove(0);
        }
        let body = bytes::Bytes::from(serde_json::to_vec(&counter).expect("json"));
        match storage
            .put_if_unchanged(key, body, "application/json", etag.as_deref())
            .await
        {
            Ok(Some(_)) => return Ok(true),
            // Someone else wrote first (or is writing): read again and retry.
            Ok(None) => {
                let wait = 2 + rand::random::<u64>() % (5 * u64::from(attempt + 1)).min(100);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "counter {key}: still contended after {MAX_ATTEMPTS} attempts"
    ))
}

/// The sum of a counter's shards.
async fn sum(storage: &Storage, prefix: &str) -> Result<u64, String> {
    let reads = (0..SHARDS).map(|s| {
        let key = format!("{prefix}/{s}");
        async move { read_count(storage, &key).await }
    });
    let values = futures_util::future::try_join_all(reads).await?;
    Ok(values.into_iter().sum())
}

/// What a visit's or a vote's marker holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Mark {
    /// The shard it counts in.
    shard: u32,
    /// A vote's option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    option: Option<String>,
    /// Every counter has it.
    counted: bool,
}

enum Claimed {
    /// This call made the marker, or found one a failed attempt left pending: count
    /// it. With the marker's ETag, to mark it counted.
    Count(Mark, String),
    /// Counted before.
    Done,
}

/// Claims the marker `key` for one count (`If-None-Match: *`). Markers from before
/// (empty, or a vote's bare option) are counted ones.
async fn claim(storage: &Storage, key: &str, option: Option<&str>) -> Result<Claimed, String> {
    let mark = Mark {
        shard: rand::random::<u32>() % SHARDS,
        option: option.map(str::to_owned),
        counted: false,
    };
    let body = bytes::Bytes::from(serde_json::to_vec(&mark).expect("json"));
    let written = storage
        .put_if_unchanged(key, body, "application/json", None)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(etag) = written {
        return Ok(Claimed::Count(mark, etag));
    }
    let found = storage.get_tagged(key).await.map_err(|e| e.to_string())?;
    Ok(
        match found.and_then(|(b, etag)| Some((serde_json::from_slice::<Mark>(&b).ok()?, etag))) {
            Some((m, etag)) if !m.counted => Claimed::Count(m, etag),
            _ => Claimed::Done,
        },
    )
}

/// Marks a claim as counted everywhere. Conditional, as the bucket policy wants for
/// these keys (infra/template.yaml): if a concurrent retry marked it first, so much
/// the better; if this write fails, a retry finds every counter holding the id already.
async fn counted(storage: &Storage, key: &str, mut mark: Mark, etag: &str) -> Result<(), String> {
    mark.counted = true;
    let body = bytes::Bytes::from(serde_json::to_vec(&mark).expect("json"));
    storage
        .put_if_unchanged(key, body, "application/json", Some(etag))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(Deserialize)]
pub struct Hit {
    /// The browser session's random id.
    pub sid: String,
}

fn no_store(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

async fn online(storage: &Storage, now: OffsetDateTime) -> Result<u64, String> {
    let lists = (0..ONLINE_MINUTES).map(|m| {
        let t = now - time::Duration::minutes(m);
        let prefix = format!(
            "stats/online/{:04}{:02}{:02}{:02}{:02}/",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        );
        async move { storage.list(&prefix).await.map_err(|e| e.to_string()) }
    });
    let mut ids: Vec<String> = futures_util::future::try_join_all(lists)
        .await?
        .into_iter()
        .flatten()
        .filter_map(|k| k.rsplit('/').next().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids.len() as u64)
}

async fn figures(storage: &Storage, now: OffsetDateTime) -> Result<serde_json::Value, String> {
    let keys = periods(now).map(|p| format!("stats/count/{p}"));
    let (day, week, month, year, total, online) = tokio::try_join!(
        sum(storage, &keys[0]),
        sum(storage, &keys[1]),
        sum(storage, &keys[2]),
        sum(storage, &keys[3]),
        sum(storage, &keys[4]),
        online(storage, now),
    )?;
    Ok(json!({
        "today": day, "week": week, "month": month, "year": year, "total": total,
        "online": online.max(1),
    }))
}

/// `POST /api/stats {"sid": "…"}`: counts the visit (once per session and day), marks
/// the session online, answers the figures.
pub async fn stats_hit(State(state): State<AppState>, Json(hit): Json<Hit>) -> Response {
    if !valid_id(&hit.sid) {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Mã phiên không hợp lệ.");
    }
    let now = vietnam_now();
    // Counting runs in a task of its own: if the visitor's connection drops halfway
    // (a timeout, a closed tab), the handler is cancelled but the visit, once claimed,
    // is still added to every counter.
    let task_state = state.clone();
    let sid = hit.sid.clone();
    let counted = tokio::spawn(async move { count_visit(task_state.storage(), &sid, now).await })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let result = match counted {
        Ok(()) => figures(state.storage(), now).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => no_store(body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

async fn count_visit(storage: &Storage, sid: &str, now: OffsetDateTime) -> Result<(), String> {
    let [day, ..] = periods(now);
    let minute = format!(
        "stats/online/{:04}{:02}{:02}{:02}{:02}/{sid}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
    );
    let visit = format!("stats/visits/{day}/{sid}");
    let online = async {
        storage
            .put_if_absent(&minute, bytes::Bytes::new(), "text/plain")
            .await
            .map_err(|e| e.to_string())
    };
    let (claimed, _) = tokio::try_join!(claim(storage, &visit, None), online)?;
    if let Claimed::Count(mark, etag) = claimed {
        // The visit's key is its id: one session, one day.
        let increments = periods(now).map(|p| {
            let key = format!("stats/count/{p}/{}", mark.shard);
            let visit = &visit;
            async move { increment(storage, &key, visit).await }
        });
        futures_util::future::try_join_all(increments).await?;
        counted(storage, &visit, mark, &etag).await?;
    }
    Ok(())
}

/// `GET /api/stats`: the figures, counting nothing.
pub async fn stats_get(State(state): State<AppState>) -> Response {
    match figures(state.storage(), vietnam_now()).await {
        Ok(body) => no_store(body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

#[derive(Deserialize)]
pub struct Vote {
    pub voter: String,
    pub option: String,
}

async fn results(state: &AppState, id: &str) -> Result<serde_json::Value, String> {
    let Some(poll) = state.site().poll.as_ref() else {
        return Err(format!("no poll {id}"));
    };
    let reads = poll.options.iter().map(|o| {
        let prefix = format!("polls/{id}/count/{}", o.value);
        async move { sum(state.storage(), &prefix).await }
    });
    let counts = futures_util::future::try_join_all(reads).await?;
    let total: u64 = counts.iter().sum();
    let options: Vec<_> = poll
        .options
        .iter()
        .zip(&counts)
        .map(|(o, n)| json!({"value": o.value, "label": o.label, "votes": n}))
        .collect();
    Ok(json!({"id": id, "question": poll.question, "total": total, "options": options}))
}

fn poll_exists(state: &AppState, id: &str) -> bool {
    state.site().poll.as_ref().is_some_and(|p| p.id == id)
}

/// `GET /api/polls/{id}`: the results.
pub async fn poll_results(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if !poll_exists(&state, &id) {
        return message(StatusCode::NOT_FOUND, "Không có cuộc thăm dò này.");
    }
    match results(&state, &id).await {
        Ok(body) => no_store(body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

/// `POST /api/polls/{id} {"voter": "…", "option": "…"}`: one vote per voter id; 201 with
/// the results, or 409 with them if this voter has voted already.
pub async fn poll_vote(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(vote): Json<Vote>,
) -> Response {
    let Some(poll) = state
        .site()
        .poll
        .as_ref()
        .filter(|_| poll_exists(&state, &id))
    else {
        return message(StatusCode::NOT_FOUND, "Không có cuộc thăm dò này.");
    };
    if !valid_id(&vote.voter) {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Mã người bình chọn không hợp lệ.",
        );
    }
    if !poll.options.iter().any(|o| o.value == vote.option) {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Hãy chọn một trong các phương án.",
        );
    }
    // As for visits: the vote and its count finish even if the connection drops.
    let task_state = state.clone();
    let (poll_id, voter, option) = (id.clone(), vote.voter.clone(), vote.option.clone());
    let counted = tokio::spawn(async move {
        let storage = task_state.storage();
        let key = format!("polls/{poll_id}/votes/{voter}");
        let Claimed::Count(mark, etag) = claim(storage, &key, Some(&option)).await? else {
            return Ok(false);
        };
        // A retry counts what the first attempt chose.
        let option = mark.option.clone().unwrap_or(option);
        let counter = format!("polls/{poll_id}/count/{option}/{}", mark.shard);
        // Two clicks at once both find the claim to count: one adds the vote, the
        // other is told it was counted.
        let first = increment(storage, &counter, &voter).await?;
        counted(storage, &key, mark, &etag).await?;
        Ok::<bool, String>(first)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let result = match counted {
        Ok(first) => results(&state, &id).await.map(|r| (first, r)),
        Err(e) => Err(e),
    };
    match result {
        Ok((true, body)) => (
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response(),
        Ok((false, mut body)) => {
            body["message"] = json!("Bạn đã bình chọn rồi; mỗi trình duyệt chỉ được một lần.");
            (
                StatusCode::CONFLICT,
                [(header::CACHE_CONTROL, "no-store")],
                Json(body),
            )
                .into_response()
        }
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_vietnamese() {
        // 2025-12-31 18:30 UTC is already 1 January 2026 in Vietnam (ISO week 1).
        let t = time::macros::datetime!(2025-12-31 18:30 UTC)
            .to_offset(UtcOffset::from_hms(7, 0, 0).unwrap());
        assert_eq!(
            periods(t),
            ["d-2026-01-01", "w-2026-W01", "m-2026-01", "y-2026", "total"].map(String::from)
        );
        assert!(valid_id("a1b2c3d4e5"));
        assert!(!valid_id("short"));
        assert!(!valid_id("../../etc/passwd"));
    }
}
