//! Sweeping what a failed submission left behind. An attempt that stopped after its
//! code was claimed (`sequence/{day}/{n}`) but before its manifest leaves objects in the
//! dossier's folder (files, the first event, the index hint) that no dossier names, and
//! an idempotency record pointing at the code. A retry with the same key takes them over
//! (`web::intake`); one that never comes would leave them for ever.
//!
//! Once a day is [`SETTLE`] old, the schedule looks at each of its claims: a code without
//! a manifest has its folder deleted, and the record naming it too, so that a retry
//! after that starts a new dossier instead of resuming a swept one. A day is looked at
//! once (`sequence/swept/{day}`). The claim itself stays: codes are never reused.

use bytes::Bytes;
use time::{Duration, OffsetDateTime};

use crate::dossiers::{IdempotencyRecord, idempotency_key};
use crate::{Storage, StorageResult};

/// How old a day's claims are before an attempt without a manifest counts as abandoned:
/// far longer than any retry the page makes by itself.
pub const SETTLE: Duration = Duration::days(2);

/// How many days back the sweep looks, so a schedule that stopped for a while catches
/// up.
const LOOK_BACK_DAYS: i64 = 7;

#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Days looked at in this pass.
    pub days: usize,
    /// Codes claimed without a manifest whose objects were deleted.
    pub abandoned: usize,
    /// Objects deleted.
    pub deleted: usize,
}

fn swept_marker(day: &str) -> String {
    format!("sequence/swept/{day}")
}

/// Sweeps the days between [`SETTLE`] and a week old that were not swept yet. `unit`
/// is the unit code the codes were claimed under; `now` in Vietnam's offset.
pub async fn sweep_unfinished(
    storage: &Storage,
    unit: &str,
    now: OffsetDateTime,
) -> StorageResult<SweepReport> {
    let mut report = SweepReport::default();
    // Only the markers of the days looked at: the older ones stay, and would make the
    // listing longer every day.
    let oldest = catalog::dossier_code::day(now - Duration::days(LOOK_BACK_DAYS + 1));
    let swept: Vec<String> = storage
        .list_after("sequence/swept/", Some(&swept_marker(&oldest)))
        .await?;
    for back in SETTLE.whole_days()..=LOOK_BACK_DAYS {
        let day = catalog::dossier_code::day(now - Duration::days(back));
        if swept.contains(&swept_marker(&day)) {
            continue;
        }
        report.days += 1;
        for claim in storage.list(&format!("sequence/{day}/")).await? {
            let Some(n) = claim.rsplit('/').next().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let code = catalog::dossier_code::format(unit, &day, n);
            let Some(prefix) = dossier::dossier_prefix(&code) else {
                continue;
            };
            if storage
                .head(&format!("{prefix}dossier.json"))
                .await?
                .is_some()
            {
                continue;
            }
            report.abandoned += 1;
            // The record first: once it is gone, no retry resumes into the folder.
            if let Some(key_hash) = storage.get(&claim).await? {
                let record = idempotency_key(&String::from_utf8_lossy(&key_hash));
                if let Some(bytes) = storage.get(&record).await?
                    && serde_json::from_slice::<IdempotencyRecord>(&bytes)
                        .is_ok_and(|r| r.code == code)
                {
                    storage.delete(&record).await?;
                    report.deleted += 1;
                }
            }
            for key in storage.list(&prefix).await? {
                storage.delete(&key).await?;
                report.deleted += 1;
            }
            tracing::info!(%code, "swept an unfinished submission's objects");
        }
        storage
            .put_if_absent(
                &swept_marker(&day),
                Bytes::from(catalog::vn_time::format_time(now)),
                "text/plain",
            )
            .await?;
    }
    Ok(report)
}
