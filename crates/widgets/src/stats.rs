//! Visitor statistics: `POST /api/stats` records a visit (once per browser session and
//! day) and the session's presence, and answers the figures; `GET /api/stats` answers
//! them. The figures are folded ([`fold`]) from the visits' own objects.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use catalog::vn_time;
use serde::{Deserialize, Serialize};
use store::Storage;
use time::OffsetDateTime;

use crate::tags;
use crate::{BUSY, WidgetsState, message, no_store, valid_id};

/// Minutes a visitor counts as online after their last page view.
pub const ONLINE_MINUTES: i64 = 5;
/// How long after its end a day may still receive a visit: a hit that began before
/// midnight can land its write after it (the widgets function stops a request after
/// 10 s: infra/template.yaml). Until then a fold recounts the day.
pub const SETTLE: time::Duration = time::Duration::minutes(5);
/// Closed days a fold recounts at most, should folds have stopped for a while (the
/// visits' objects are kept 35 days: infra/template.yaml, `visit-markers`).
pub const RECOUNT_DAYS: i64 = 31;
/// The folded figures: derived data, rewritten by every fold.
pub const FIGURES: &str = "stats/figures.json";
/// Closed days' counts, kept by compare-and-swap.
pub const LEDGER: &str = "stats/ledger.json";

/// The periods a visit at `now` counts in, as key parts.
pub fn periods(now: OffsetDateTime) -> [String; 5] {
    let now = now.to_offset(vn_time::VN);
    let (iso_year, week, _) = now.to_iso_week_date();
    [
        day_key(now.date()),
        format!("w-{iso_year:04}-W{week:02}"),
        format!("m-{:04}-{:02}", now.year(), u8::from(now.month())),
        format!("y-{:04}", now.year()),
        "total".to_owned(),
    ]
}

fn day_key(d: time::Date) -> String {
    format!(
        "d-{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

/// The day of a day key.
fn parse_day(key: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("d-[year]-[month]-[day]");
    time::Date::parse(key, &format).ok()
}

/// The periods of a day key's day.
fn day_periods(key: &str) -> Option<[String; 5]> {
    let date = parse_day(key)?;
    Some(periods(
        date.with_hms(12, 0, 0).ok()?.assume_offset(vn_time::VN),
    ))
}

fn visits_prefix(day: &str) -> String {
    format!("stats/visits/{day}/")
}

/// `stats/online/{yyyymmddHHMM}`: the minute's presence markers are under it.
fn minute_prefix(t: OffsetDateTime) -> String {
    format!(
        "stats/online/{:04}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The last key part: the browser's id.
fn id_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// `now` to the millisecond, as browsers read it.
pub(crate) fn as_of(now: OffsetDateTime) -> String {
    vn_time::format_time(now.replace_millisecond(now.millisecond()).unwrap_or(now))
}

#[derive(Deserialize)]
pub struct Hit {
    /// The browser session's random id.
    pub sid: String,
}

/// The figures as the last fold wrote them (`stats/figures.json`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Folded {
    /// When the fold listed (Vietnam time, RFC 3339); none before the first fold.
    pub as_of: Option<String>,
    /// The day, week, month and year the figures are of ([`periods`] at `as_of`).
    pub keys: Vec<String>,
    pub today: u64,
    pub week: u64,
    pub month: u64,
    pub year: u64,
    pub total: u64,
    pub online: u64,
    /// Tags ([`tags::pack`]) of the sessions counted today…
    pub seen: String,
    /// …and of those online.
    pub online_seen: String,
}

/// The six figures the home page shows, and when they were folded.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Figures {
    pub today: u64,
    pub week: u64,
    pub month: u64,
    pub year: u64,
    pub total: u64,
    /// Sessions seen in the last [`ONLINE_MINUTES`] (at least the one asking).
    pub online: u64,
    /// When the figures were folded (every visit before then is in them).
    pub as_of: Option<String>,
}

impl Folded {
    /// The figures at `now`: a period that ended since the fold starts again from zero.
    /// With `own`, the asking session's visit and presence, which exist in the store
    /// when this is called, are added if the fold did not see them: the answer is then
    /// the fold's figures plus this visitor, never a guess.
    pub fn at(&self, now: OffsetDateTime, own: Option<&str>) -> Figures {
        let keys = periods(now);
        let same = |i: usize| self.keys.get(i) == Some(&keys[i]);
        let online_fresh = self
            .as_of
            .as_deref()
            .and_then(vn_time::parse_time)
            .is_some_and(|t| now - t < time::Duration::minutes(ONLINE_MINUTES));
        let mut f = Figures {
            today: if same(0) { self.today } else { 0 },
            week: if same(1) { self.week } else { 0 },
            month: if same(2) { self.month } else { 0 },
            year: if same(3) { self.year } else { 0 },
            total: self.total,
            online: if online_fresh { self.online } else { 0 },
            as_of: self.as_of.clone(),
        };
        if let Some(sid) = own {
            if !(same(0) && tags::contains(&self.seen, sid)) {
                f.today += 1;
                f.week += 1;
                f.month += 1;
                f.year += 1;
                f.total += 1;
            }
            if !(online_fresh && tags::contains(&self.online_seen, sid)) {
                f.online += 1;
            }
        }
        f.online = f.online.max(1);
        f
    }
}

async fn read_folded(storage: &Storage) -> Result<Option<(Folded, String)>, String> {
    let found = storage
        .get_tagged(FIGURES)
        .await
        .map_err(|e| e.to_string())?;
    Ok(found.map(|(b, etag)| (serde_json::from_slice(&b).unwrap_or_default(), etag)))
}

/// A page view of session `sid` at `now`: three requests at once, none waiting on
/// another: the day's visit (`If-None-Match: *`: the first view of the day creates it,
/// a later one finds it), the minute's presence marker (the same), and the folded
/// figures. A failure of any is an error; the page's retry repeats all three, and
/// neither write can count twice.
pub async fn hit(storage: &Storage, sid: &str, now: OffsetDateTime) -> Result<Figures, String> {
    let now = now.to_offset(vn_time::VN);
    let [day, ..] = periods(now);
    let visit = format!("{}{sid}", visits_prefix(&day));
    let marker = format!("{}/{sid}", minute_prefix(now));
    let (_, _, folded) = tokio::try_join!(
        async {
            storage
                .put_if_absent(&visit, Bytes::from_static(b"{}"), "application/json")
                .await
                .map_err(|e| e.to_string())
        },
        async {
            storage
                .put_if_absent(&marker, Bytes::new(), "text/plain")
                .await
                .map_err(|e| e.to_string())
        },
        read_folded(storage),
    )?;
    Ok(folded.unwrap_or_default().0.at(now, Some(sid)))
}

/// The figures at `now`, counting nothing: one request.
pub async fn figures(storage: &Storage, now: OffsetDateTime) -> Result<Figures, String> {
    let now = now.to_offset(vn_time::VN);
    Ok(read_folded(storage)
        .await?
        .unwrap_or_default()
        .0
        .at(now, None))
}

/// `POST /api/stats {"sid": "…"}`: records the visit (once per session and day) and
/// the session's presence, answers the figures.
pub async fn stats_hit(State(state): State<WidgetsState>, Json(hit_): Json<Hit>) -> Response {
    if !valid_id(&hit_.sid) {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Mã phiên không hợp lệ.");
    }
    match hit(&state.storage, &hit_.sid, vn_time::now()).await {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

/// `GET /api/stats`: the figures, counting nothing.
pub async fn stats_get(State(state): State<WidgetsState>) -> Response {
    match figures(&state.storage, vn_time::now()).await {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

/// Closed days' visit counts (`stats/ledger.json`), written by compare-and-swap.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Ledger {
    /// Every day up to this one (a day key) is counted for good: never listed again.
    settled: Option<String>,
    /// Visits per closed day, by day key.
    days: BTreeMap<String, u64>,
    /// What the counters of before the ledger (`stats/count/`, sharded compare-and-swap
    /// counters) held for the days before it, by period key (week, month, year, total).
    #[serde(default)]
    carried: BTreeMap<String, u64>,
}

impl Ledger {
    /// Takes in what another fold wrote meanwhile. A day's count only grows (visits are
    /// only added, and expire long after the day is settled), so the larger is the later.
    fn merge(&mut self, other: Ledger) {
        for (day, n) in other.days {
            let e = self.days.entry(day).or_default();
            *e = (*e).max(n);
        }
        if other.settled > self.settled {
            self.settled = other.settled;
        }
        if !other.carried.is_empty() {
            self.carried = other.carried;
        }
    }
}

/// A counter of before the ledger: a number, or `{"n": …}`.
fn old_count(bytes: &[u8]) -> u64 {
    #[derive(Deserialize)]
    struct Counter {
        n: u64,
    }
    serde_json::from_slice::<Counter>(bytes).map_or_else(
        |_| {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        },
        |c| c.n,
    )
}

/// The first ledger: what the counters of before held for the days before today (their
/// day counter's visits are today's, which the fold lists), once, when no ledger exists.
async fn first_ledger(storage: &Storage, now: OffsetDateTime) -> Result<Ledger, String> {
    const SHARDS: u32 = 4;
    let keys = periods(now);
    let reads = keys.iter().flat_map(|p| {
        (0..SHARDS).map(move |s| async move {
            let b = storage
                .get(&format!("stats/count/{p}/{s}"))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<u64, String>(b.map_or(0, |b| old_count(&b)))
        })
    });
    let counts = futures_util::future::try_join_all(reads).await?;
    let sums: Vec<u64> = counts
        .chunks(SHARDS as usize)
        .map(|c| c.iter().sum())
        .collect();
    let today = sums[0];
    let carried = keys[1..]
        .iter()
        .zip(&sums[1..])
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.clone(), n.saturating_sub(today)))
        .collect();
    Ok(Ledger {
        settled: Some(day_key(now.date().previous_day().expect("a day before"))),
        days: BTreeMap::new(),
        carried,
    })
}

/// What a fold of the statistics did.
#[derive(Debug, Serialize)]
pub struct StatsFold {
    /// Today's visits, as listed.
    pub today: u64,
    pub online: u64,
    /// Closed days listed again (late writes, or folds that had stopped).
    pub recounted: Vec<String>,
    /// Whether the ledger changed, and whether this fold's figures were written (not
    /// when a later fold's already were).
    pub ledger_written: bool,
    pub figures_written: bool,
}

/// One fold of the statistics at `now`. Exact by construction: a day's visits are its
/// objects, one per session, counted by listing; closed days keep their count in the
/// ledger (compare-and-swap, merged on conflict), recounted until [`SETTLE`] after their
/// end. Any number of folds may run at once: the ledger merges, and the figures are
/// derived data that a fold writes only over the version it read.
///
/// Requests: the ledger, the figures (for their ETag), today's visits and the last
/// minutes' presence markers, at once (a LIST page per 1,000 objects); the closed days
/// to recount (none but in the first minutes of a day); the ledger if it changed; the
/// figures.
pub async fn fold(storage: &Storage, now: OffsetDateTime) -> Result<StatsFold, String> {
    let now = now.to_offset(vn_time::VN);
    let keys = periods(now);
    let today_key = keys[0].clone();
    let online_from = format!(
        "{}/~",
        minute_prefix(now - time::Duration::minutes(ONLINE_MINUTES))
    );
    let err = |e: store::StorageError| e.to_string();
    let (stored_ledger, stored_figures, today, online) = tokio::try_join!(
        async { storage.get_tagged(LEDGER).await.map_err(err) },
        read_folded(storage),
        async { storage.list(&visits_prefix(&today_key)).await.map_err(err) },
        async {
            storage
                .list_after("stats/online/", Some(&online_from))
                .await
                .map_err(err)
        },
    )?;
    let (mut ledger, mut ledger_etag) = match stored_ledger {
        Some((b, etag)) => (serde_json::from_slice(&b).unwrap_or_default(), Some(etag)),
        None => (first_ledger(storage, now).await?, None),
    };
    let before = ledger.clone();

    // Closed days not yet settled, oldest first.
    let today_date = now.date();
    let first = ledger
        .settled
        .as_deref()
        .and_then(parse_day)
        .and_then(time::Date::next_day)
        .unwrap_or(today_date - time::Duration::days(1))
        .max(today_date - time::Duration::days(RECOUNT_DAYS));
    let mut open = Vec::new();
    let mut d = first;
    while d < today_date {
        open.push(d);
        d = d.next_day().expect("a next day");
    }
    let counts = futures_util::future::try_join_all(open.iter().map(|d| {
        let prefix = visits_prefix(&day_key(*d));
        async move { storage.list(&prefix).await.map_err(err) }
    }))
    .await?;
    let midnight = today_date.midnight().assume_offset(vn_time::VN);
    for (d, listed) in open.iter().zip(&counts) {
        let e = ledger.days.entry(day_key(*d)).or_default();
        *e = (*e).max(listed.len() as u64);
        // Yesterday is final once SETTLE has passed since midnight; earlier days are.
        if *d < today_date.previous_day().expect("a day before") || now >= midnight + SETTLE {
            ledger.settled = Some(day_key(*d));
        }
    }

    let mut ledger_written = false;
    if ledger != before || ledger_etag.is_none() {
        for _ in 0..8 {
            let body = Bytes::from(serde_json::to_vec(&ledger).expect("json"));
            match storage
                .put_if_unchanged(LEDGER, body, "application/json", ledger_etag.as_deref())
                .await
                .map_err(err)?
            {
                Some(_) => {
                    ledger_written = true;
                    break;
                }
                None => {
                    // Another fold wrote it: take its counts in, and try again.
                    if let Some((b, etag)) = storage.get_tagged(LEDGER).await.map_err(err)? {
                        ledger.merge(serde_json::from_slice(&b).unwrap_or_default());
                        ledger_etag = Some(etag);
                    }
                }
            }
        }
        if !ledger_written {
            return Err("stats/ledger.json: still contended after 8 attempts".into());
        }
    }

    // Week, month, year and total: the closed days of each, what was carried, today.
    let mut sums: BTreeMap<String, u64> = ledger.carried.clone();
    for (day, n) in ledger.days.range(..today_key.clone()) {
        for p in day_periods(day)
            .into_iter()
            .flat_map(|p| p.into_iter().skip(1))
        {
            *sums.entry(p).or_default() += n;
        }
    }
    let today_n = today.len() as u64;
    let sum = |k: &str| sums.get(k).copied().unwrap_or(0) + today_n;
    let mut online_ids: Vec<&str> = online.iter().map(|k| id_of(k)).collect();
    online_ids.sort_unstable();
    online_ids.dedup();
    let folded = Folded {
        as_of: Some(as_of(now)),
        keys: keys[..4].to_vec(),
        today: today_n,
        week: sum(&keys[1]),
        month: sum(&keys[2]),
        year: sum(&keys[3]),
        total: sum("total"),
        online: online_ids.len() as u64,
        seen: tags::pack(today.iter().map(|k| id_of(k))),
        online_seen: tags::pack(online_ids.iter().copied()),
    };
    // Written over the version read; if another fold wrote meanwhile, read again and
    // write only if that one is older (twice at most: the next fold writes anyway).
    let body = Bytes::from(serde_json::to_vec(&folded).expect("json"));
    let mut stored = stored_figures;
    let mut figures_written = false;
    for _ in 0..3 {
        let newer = stored.as_ref().is_some_and(|(f, _)| {
            f.as_of
                .as_deref()
                .and_then(vn_time::parse_time)
                .is_some_and(|t| t > now)
        });
        if newer {
            break;
        }
        let etag = stored.as_ref().map(|(_, etag)| etag.as_str());
        if storage
            .put_if_unchanged(FIGURES, body.clone(), "application/json", etag)
            .await
            .map_err(err)?
            .is_some()
        {
            figures_written = true;
            break;
        }
        stored = read_folded(storage).await?;
    }
    Ok(StatsFold {
        today: today_n,
        online: folded.online,
        recounted: open.iter().map(|d| day_key(*d)).collect(),
        ledger_written,
        figures_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_vietnamese() {
        // 2025-12-31 18:30 UTC is already 1 January 2026 in Vietnam (ISO week 1).
        let t = time::macros::datetime!(2025-12-31 18:30 UTC);
        assert_eq!(
            periods(t),
            ["d-2026-01-01", "w-2026-W01", "m-2026-01", "y-2026", "total"].map(String::from)
        );
        assert_eq!(day_periods("d-2026-01-01"), Some(periods(t)));
    }

    #[test]
    fn figures_of_yesterday_start_today_from_zero() {
        let folded = Folded {
            as_of: Some("2026-03-31T23:59:00+07:00".into()),
            keys: periods(time::macros::datetime!(2026-03-31 23:59 +7))[..4].to_vec(),
            today: 5,
            week: 9,
            month: 40,
            year: 100,
            total: 300,
            online: 2,
            seen: tags::pack(["visitor-000001"]),
            online_seen: tags::pack(["visitor-000001"]),
        };
        // Wednesday 1 April: a new day and month, the same week and year.
        let now = time::macros::datetime!(2026-04-01 00:01 +7);
        let f = folded.at(now, Some("visitor-000001"));
        assert_eq!(
            (f.today, f.week, f.month, f.year, f.total, f.online),
            (1, 10, 1, 101, 301, 2)
        );
        let f = folded.at(
            time::macros::datetime!(2026-03-31 23:59:30 +7),
            Some("visitor-000001"),
        );
        assert_eq!((f.today, f.total, f.online), (5, 300, 2));
    }
}
