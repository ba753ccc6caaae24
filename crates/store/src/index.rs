//! The dossier list for the desk, fast with tens of thousands of dossiers.
//!
//! Reading every manifest and every event per request would cost two or more GETs per
//! dossier. Instead:
//!
//! - every change (a submission, before its manifest; an officer's step or a citizen's
//!   supplement, after its event) drops a *hint*, an empty object
//!   `index/changes/{unix_ms:013}-{rand}-{code}` (written before the manifest, so a crash
//!   cannot leave a dossier without a hint; a hint whose manifest never appears is kept
//!   as pending for a day and then dropped);
//! - the function keeps the summaries in memory (warm Lambda instances and the local
//!   server reuse them) and on each list request reads only the hints after its
//!   watermark (one ListObjectsV2 with `StartAfter`, re-reading a [`WINDOW_MS`] margin
//!   for hints that land late), then re-reads just those dossiers;
//! - a snapshot of all summaries, `index/snapshot.json`, lets a cold instance start
//!   with one GET; it is derived data (rewritten with a plain PUT, any version is
//!   correct because hints after its watermark are re-read);
//! - without a snapshot (first start, or dossiers from before the index) the summaries
//!   are rebuilt from a listing of `dossiers/`, newest months first;
//! - hints are deleted by a lifecycle rule 30 days after they are written
//!   (infra/template.yaml), so a snapshot or a warm index whose watermark is older than
//!   [`HINTS_TRUSTED_MS`] is not brought up to date from them but rebuilt; the
//!   schedule's [`upkeep`] keeps the snapshot from ever getting that old.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use dossier::summary::{ListQuery, Listing, SummaryView, listing};
use dossier::{Manifest, Summary, summarize};

use crate::changes::now_ms;
use crate::dossiers::{read_dossier, read_events};

use crate::{Storage, StorageResult};

pub use crate::changes::{HINTS, hint};
pub const SNAPSHOT: &str = "index/snapshot.json";
/// Hints are re-read this far behind the watermark.
pub const WINDOW_MS: i64 = 120_000;
const PENDING_MS: i64 = 24 * 3600 * 1000;
/// How far back the hints are surely all there (the lifecycle rule deletes them after
/// 30 days; 5 days of margin).
pub const HINTS_TRUSTED_MS: i64 = 25 * 24 * 3600 * 1000;
const CONCURRENCY: usize = 32;

#[derive(Default, Serialize, Deserialize)]
struct Snapshot {
    watermark_ms: i64,
    summaries: Vec<Summary>,
}

/// The summaries one process keeps between requests (behind a [`Mutex`]: one refresh
/// at a time).
#[derive(Default)]
pub struct Index {
    loaded: bool,
    map: HashMap<String, Summary>,
    watermark_ms: i64,
    seen: HashSet<String>,
    pending: HashMap<String, i64>,
    snapshot_watermark_ms: i64,
    changes_since_snapshot: usize,
}

/// How a refresh went (for the bench and the logs).
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct RefreshStats {
    pub rebuilt: bool,
    pub from_snapshot: bool,
    pub hints: usize,
    pub reread: usize,
}

impl Index {
    /// Takes in a summary this process just changed, ahead of its hint.
    pub fn record(&mut self, summary: Summary) {
        self.map.insert(summary.code.clone(), summary);
    }

    /// Brings the summaries up to date with the bucket.
    pub async fn refresh(
        &mut self,
        storage: &Storage,
        now: OffsetDateTime,
    ) -> StorageResult<RefreshStats> {
        let mut stats = RefreshStats::default();
        let now = now_ms(now);
        // Idle for longer than the hints are kept: some it would need may be gone.
        if self.loaded && now - self.watermark_ms > HINTS_TRUSTED_MS {
            self.loaded = false;
        }
        if !self.loaded {
            let snapshot = match storage.get(SNAPSHOT).await? {
                Some(bytes) => serde_json::from_slice::<Snapshot>(&bytes).ok(),
                None => None,
            };
            match snapshot {
                // A snapshot from before the service figures' timing is rebuilt once.
                Some(s)
                    if now - s.watermark_ms <= HINTS_TRUSTED_MS
                        && s.summaries.iter().all(|x| x.timing.complete()) =>
                {
                    self.map = s
                        .summaries
                        .into_iter()
                        .map(|s| (s.code.clone(), s))
                        .collect();
                    self.watermark_ms = s.watermark_ms;
                    self.snapshot_watermark_ms = s.watermark_ms;
                    stats.from_snapshot = true;
                }
                // None, unreadable, or older than the hints it needs.
                _ => {
                    self.rebuild(storage, now).await?;
                    stats.rebuilt = true;
                }
            }
            self.loaded = true;
        }
        let from = (self.watermark_ms - WINDOW_MS).max(0);
        let keys = storage
            .list_after(HINTS, Some(&format!("{HINTS}{from:013}")))
            .await?;
        let mut changed: HashSet<String> = HashSet::new();
        let mut new_hints = Vec::new();
        for key in keys {
            if self.seen.contains(&key) {
                continue;
            }
            let Some(rest) = key.strip_prefix(HINTS) else {
                continue;
            };
            // {ms:013}-{rand:8}-{code}
            if let Some(code) = rest.get(23..) {
                changed.insert(code.to_owned());
            }
            new_hints.push(key);
        }
        stats.hints = changed.len();
        changed.extend(self.pending.keys().cloned());
        stats.reread = changed.len();
        let results: Vec<_> = futures_util::stream::iter(changed)
            .map(|code| async move {
                let r = read_dossier(storage, &code).await;
                (code, r)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // What was read is kept; but if any read failed, the hints stay unseen and the
        // watermark stays where it was, so the next refresh reads those dossiers again
        // (and no snapshot is written past them).
        let mut failed = None;
        for (code, r) in results {
            match r {
                Ok(Some((m, events))) => {
                    self.pending.remove(&code);
                    self.map.insert(code, summarize(&m, &events));
                    self.changes_since_snapshot += 1;
                }
                Ok(None) => {
                    let first = *self.pending.entry(code.clone()).or_insert(now);
                    if now - first > PENDING_MS {
                        self.pending.remove(&code);
                    }
                }
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.seen.extend(new_hints);
        self.watermark_ms = self.watermark_ms.max(now);
        let keep_from = format!("{HINTS}{:013}", self.watermark_ms - WINDOW_MS);
        self.seen.retain(|k| *k >= keep_from);
        if self.changes_since_snapshot >= 200
            || (self.changes_since_snapshot > 0
                && self.watermark_ms - self.snapshot_watermark_ms > 10 * 60_000)
            || self.watermark_ms - self.snapshot_watermark_ms > 24 * 3_600_000
        {
            self.write_snapshot(storage).await?;
        }
        Ok(stats)
    }

    async fn write_snapshot(&mut self, storage: &Storage) -> StorageResult<()> {
        let snapshot = Snapshot {
            // Hints after this are re-read on load (with the window).
            watermark_ms: self.watermark_ms,
            summaries: self.map.values().cloned().collect(),
        };
        storage
            .put(
                SNAPSHOT,
                Bytes::from(serde_json::to_vec(&snapshot).expect("json")),
                "application/json",
            )
            .await?;
        self.snapshot_watermark_ms = self.watermark_ms;
        self.changes_since_snapshot = 0;
        Ok(())
    }

    /// Reads every dossier: one listing of `dossiers/`, then the manifests and events.
    async fn rebuild(&mut self, storage: &Storage, now: i64) -> StorageResult<()> {
        let keys = storage.list("dossiers/").await?;
        let mut codes: Vec<(String, String)> = Vec::new();
        let mut events: HashMap<String, Vec<String>> = HashMap::new();
        for key in keys {
            let parts: Vec<&str> = key.splitn(5, '/').collect();
            if parts.len() < 5 {
                continue;
            }
            let code = parts[3].to_owned();
            if parts[4] == "dossier.json" {
                codes.push((code, key));
            } else if parts[4].starts_with("events/") {
                events.entry(code).or_default().push(key);
            }
        }
        // Newest months first, so a partial failure keeps the recent ones.
        codes.sort_by(|a, b| b.1.cmp(&a.1));
        let events = &events;
        let results: Vec<StorageResult<Option<Summary>>> = futures_util::stream::iter(codes)
            .map(|(code, key)| async move {
                let Some(bytes) = storage.get(&key).await? else {
                    return Ok(None);
                };
                let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else {
                    return Ok(None);
                };
                let keys = events.get(&code).map_or(&[][..], Vec::as_slice);
                let list = read_events(storage, keys).await?;
                Ok(Some(summarize(&m, &list)))
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // All or nothing: a failed read leaves the index unloaded, to be rebuilt.
        let summaries: Vec<Option<Summary>> = results.into_iter().collect::<Result<_, _>>()?;
        self.map = summaries
            .into_iter()
            .flatten()
            .map(|s| (s.code.clone(), s))
            .collect();
        // Hints before the rebuild are covered by it (less the window).
        self.watermark_ms = now;
        self.changes_since_snapshot = self.map.len().max(1);
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct ListAnswer {
    pub counts: dossier::summary::Counts,
    /// How many match the filters.
    pub matched: usize,
    pub offset: usize,
    pub items: Vec<SummaryView>,
    pub refresh: RefreshStats,
}

/// How stale the index may be before the schedule's upkeep brings it up to date.
pub const UPKEEP_EVERY_MS: i64 = 10 * 60_000;

/// The schedule's share of the console (a pass at most every [`UPKEEP_EVERY_MS`]): brings
/// the index up to date, which rewrites the snapshot at least daily. Without it, a month
/// in which nobody opens the console leaves a snapshot older than the change markers the
/// lifecycle rule keeps, and the first officer back waits for a rebuild from `dossiers/`
/// (seconds with thousands of dossiers). `None` when the index was fresh enough.
pub async fn upkeep(
    index: &Mutex<Index>,
    storage: &Storage,
    now: OffsetDateTime,
) -> StorageResult<Option<RefreshStats>> {
    let mut index = index.lock().await;
    if index.loaded && now_ms(now) - index.watermark_ms < UPKEEP_EVERY_MS {
        return Ok(None);
    }
    index.refresh(storage, now).await.map(Some)
}

/// Brings the index up to date (at most every [`UPKEEP_EVERY_MS`], as [`upkeep`]) and
/// hands its summaries to `f`: the service figures (`dossier::report`).
pub async fn with_summaries<T>(
    index: &Mutex<Index>,
    storage: &Storage,
    now: OffsetDateTime,
    fresh: bool,
    f: impl FnOnce(&mut dyn Iterator<Item = &Summary>) -> T,
) -> StorageResult<T> {
    let mut index = index.lock().await;
    if fresh || !index.loaded || now_ms(now) - index.watermark_ms >= UPKEEP_EVERY_MS {
        index.refresh(storage, now).await?;
    }
    Ok(f(&mut index.map.values()))
}

/// Refreshes the index and returns every summary `keep` takes, in no order: for the
/// views that need them all (the statement's match, the day's payments), where the
/// list's pages would cut some off.
pub async fn matching(
    index: &Mutex<Index>,
    storage: &Storage,
    now: OffsetDateTime,
    keep: impl Fn(&Summary) -> bool,
) -> StorageResult<Vec<Summary>> {
    let mut index = index.lock().await;
    index.refresh(storage, now).await?;
    Ok(index.map.values().filter(|s| keep(s)).cloned().collect())
}

/// Refreshes the index and answers a list query.
pub async fn list(
    index: &Mutex<Index>,
    storage: &Storage,
    q: &ListQuery,
    now: OffsetDateTime,
) -> StorageResult<ListAnswer> {
    let mut index = index.lock().await;
    let refresh = index.refresh(storage, now).await?;
    let Listing {
        counts,
        matched,
        offset,
        items,
    } = listing(index.map.values(), q, now);
    Ok(ListAnswer {
        counts,
        matched,
        offset,
        items,
        refresh,
    })
}
