//! The home page's live widgets: visitor statistics and the opinion poll, a concern
//! apart from dossiers (their own function in production, so a home-page spike never
//! throttles submissions). No cookies and
//! no personal data: the browser sends a random id it made itself (kept in
//! sessionStorage for visits, localStorage for the poll), and only that id is stored.
//!
//! In production every S3 request is a round trip of 20–40 ms, so the design counts
//! requests: a page view makes **3, at once** (one round), a poll view **1**, a vote
//! **5 in 3 rounds**. Counting is done by *folding*: a visit or a vote is an object
//! written once, and a fold, once a minute on the function's schedule (every few
//! seconds locally: [`fold`]), lists them and writes the figures pages read.
//!
//! - **A visit** is `stats/visits/{day}/{sid}`, written with `If-None-Match: *`: one
//!   object per browser session and Vietnamese day, however many views and retries, and
//!   no two visitors ever write the same object. With it, at once, the minute's presence
//!   marker `stats/online/{yyyymmddHHMM}/{sid}` (the same condition) and a read of
//!   `stats/figures.json`.
//! - **The fold** ([`stats::fold`]) counts today's visits by listing the day's prefix
//!   (exact by construction), keeps closed days' counts in `stats/ledger.json` (written
//!   by compare-and-swap, merged on conflict; a closed day is listed again until
//!   [`stats::SETTLE`] after midnight, for hits that began before it), sums week, month,
//!   year and total from the ledger and today, counts the distinct sessions with a
//!   marker in the last [`ONLINE_MINUTES`], and writes the figures with `as_of` over the
//!   version it read. Folds at once are harmless: the ledger merges (a day's count only
//!   grows), the figures are derived.
//! - **The answer to a view** is the folded figures with the periods that ended since
//!   started from zero, plus the visitor's own visit and presence when the fold has not
//!   seen them yet: the fold writes short tags of the sessions it counted
//!   ([`tags`]), so the function knows, without a request more. So each figure is exact
//!   as of `as_of` (at most about a minute old in production, plus a fold's time; a few
//!   seconds locally), and the visitor's own view is in it.
//! - **A vote** is `polls/{id}/votes/{voter}` (`If-None-Match: *`, one per browser,
//!   holding the option), then its tally `polls/{id}/tally/{option}/{voter}` (the
//!   same), with the tallies listed at the same time: the vote answers exact results
//!   and writes them to `polls/{id}/results.json`, which a poll view reads (1 request).
//!   The scheduled fold writes the tally of a vote whose request stopped halfway.
//!
//! And exact when the store fails halfway: every write is a create-once object whose
//! key is the thing counted, so a retry (the page's, or the voter's second click) makes
//! what is missing and finds what is there; a voter who retries keeps the first choice.
//!
//! The first fold on a bucket that has the sharded counters of before (`stats/count/`)
//! carries their week, month, year and total into the ledger, once.
//!
//! Days, weeks, months and years are Vietnam's (UTC+7).

pub mod fold;
pub mod poll;
pub mod stats;
pub mod tags;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use store::Storage;

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
