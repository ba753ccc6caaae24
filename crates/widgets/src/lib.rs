//! The home page's live widgets: visitor statistics and the opinion poll, a concern
//! apart from dossiers (their own function in production, so a home-page spike never
//! throttles submissions). No cookies and
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

mod counter;
pub mod poll;
pub mod stats;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use store::Storage;

pub use counter::{SHARDS, increment};
pub use stats::{ONLINE_MINUTES, periods};

/// What the widgets need: the bucket, and the poll the site asks (from the function
/// bundle's `site.yaml`).
#[derive(Clone)]
pub struct WidgetsState {
    pub storage: Storage,
    pub poll: Option<std::sync::Arc<catalog::Poll>>,
}

/// The widgets' routes, under the `/api` their function is mounted at.
pub fn routes() -> Router<WidgetsState> {
    Router::new()
        .route("/stats", get(stats::stats_get).post(stats::stats_hit))
        .route("/polls/{id}", get(poll::poll_results).post(poll::poll_vote))
}

/// The widgets as a whole application (their own function): the routes under `/api`.
pub fn router(state: WidgetsState) -> Router {
    Router::new().nest("/api", routes().with_state(state))
}

const BUSY: &str = "Hệ thống đang bận, số liệu chưa cập nhật được. Vui lòng thử lại sau.";

/// `{"message": …}` with a status, as every function answers a refusal.
#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(Message { message: text })).into_response()
}

/// Figures fresh from the store: never cached on the way.
fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// A random id made by the browser: 8–64 characters of `[A-Za-z0-9_-]`.
fn valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_plain_tokens() {
        assert!(valid_id("a1b2c3d4e5"));
        assert!(!valid_id("short"));
        assert!(!valid_id("../../etc/passwd"));
    }
}
