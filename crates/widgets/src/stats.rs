//! Visitor statistics: `POST /api/stats` counts a visit (once per browser session and
//! day) and answers the figures; `GET /api/stats` answers them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use catalog::vn_time;
use serde::{Deserialize, Serialize};
use store::Storage;
use time::OffsetDateTime;

use crate::counter::{Claimed, claim, counted, increment, sum};
use crate::{BUSY, WidgetsState, message, no_store, valid_id};

/// Minutes a visitor counts as online after their last page view.
pub const ONLINE_MINUTES: i64 = 5;

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

#[derive(Deserialize)]
pub struct Hit {
    /// The browser session's random id.
    pub sid: String,
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

/// The six figures the home page shows.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub today: u64,
    pub week: u64,
    pub month: u64,
    pub year: u64,
    pub total: u64,
    /// Sessions seen in the last [`ONLINE_MINUTES`] (at least the one asking).
    pub online: u64,
}

async fn figures(storage: &Storage, now: OffsetDateTime) -> Result<Figures, String> {
    let keys = periods(now).map(|p| format!("stats/count/{p}"));
    let (day, week, month, year, total, online) = tokio::try_join!(
        sum(storage, &keys[0]),
        sum(storage, &keys[1]),
        sum(storage, &keys[2]),
        sum(storage, &keys[3]),
        sum(storage, &keys[4]),
        online(storage, now),
    )?;
    Ok(Figures {
        today: day,
        week,
        month,
        year,
        total,
        online: online.max(1),
    })
}

/// `POST /api/stats {"sid": "…"}`: counts the visit (once per session and day), marks
/// the session online, answers the figures.
pub async fn stats_hit(State(state): State<WidgetsState>, Json(hit): Json<Hit>) -> Response {
    if !valid_id(&hit.sid) {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Mã phiên không hợp lệ.");
    }
    let now = vn_time::now();
    // Counting runs in a task of its own: if the visitor's connection drops halfway
    // (a timeout, a closed tab), the handler is cancelled but the visit, once claimed,
    // is still added to every counter.
    let task_state = state.clone();
    let sid = hit.sid.clone();
    let counted = tokio::spawn(async move { count_visit(&task_state.storage, &sid, now).await })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let result = match counted {
        Ok(()) => figures(&state.storage, now).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => no_store(StatusCode::OK, body),
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
pub async fn stats_get(State(state): State<WidgetsState>) -> Response {
    match figures(&state.storage, vn_time::now()).await {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_vietnamese() {
        // 2025-12-31 18:30 UTC is already 1 January 2026 in Vietnam (ISO week 1).
        let t = time::macros::datetime!(2025-12-31 18:30 UTC).to_offset(vn_time::VN);
        assert_eq!(
            periods(t),
            ["d-2026-01-01", "w-2026-W01", "m-2026-01", "y-2026", "total"].map(String::from)
        );
    }
}
