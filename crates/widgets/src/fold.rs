//! The fold: what turns the visits' and votes' objects into the figures and results a
//! page reads. In production the widgets function runs one on its EventBridge schedule,
//! once a minute (infra/template.yaml, `WidgetsFunction`, `FoldSchedule`); locally the
//! server runs one every `MOTCUA_WIDGETS_FOLD_INTERVAL` seconds ([`spawn`]).

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::WidgetsState;
use crate::poll::{self, PollFold};
use crate::stats::{self, StatsFold};

/// Seconds between two local folds when `MOTCUA_WIDGETS_FOLD_INTERVAL` is not set.
pub const LOCAL_INTERVAL_SECS: u64 = 2;

/// What one fold did, or why a part failed (the next fold does it again: everything it
/// writes is derived, or merged).
#[derive(Debug, Serialize)]
pub struct FoldReport {
    pub stats: Result<StatsFold, String>,
    pub poll: Option<Result<PollFold, String>>,
}

/// One fold of the statistics and of the site's poll, side by side.
pub async fn fold(state: &WidgetsState, now: OffsetDateTime) -> FoldReport {
    let poll = async {
        match state.poll.as_deref() {
            Some(p) => Some(poll::fold(&state.storage, p, now).await),
            None => None,
        }
    };
    let (stats, poll) = tokio::join!(stats::fold(&state.storage, now), poll);
    FoldReport { stats, poll }
}

/// The local fold's interval: `MOTCUA_WIDGETS_FOLD_INTERVAL` seconds (default
/// [`LOCAL_INTERVAL_SECS`]; 0 = no fold).
pub fn interval_from_env() -> Result<Option<Duration>, String> {
    let secs = match std::env::var("MOTCUA_WIDGETS_FOLD_INTERVAL") {
        Ok(v) => v.trim().parse::<u64>().map_err(|_| {
            format!(
                "MOTCUA_WIDGETS_FOLD_INTERVAL=\"{v}\" phải là số giây, ví dụ 2 (0 = không tự tổng hợp số liệu)"
            )
        })?,
        Err(_) => LOCAL_INTERVAL_SECS,
    };
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Folds every `every`, for the local server, with the state `state()` gives then (a
/// rebuilt site may have changed its poll). The figures are then at most `every` plus
/// one fold's time old.
pub fn spawn(
    every: Duration,
    state: impl Fn() -> WidgetsState + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let report = fold(&state(), catalog::vn_time::now()).await;
            if let Err(e) = &report.stats {
                tracing::warn!("widgets fold (statistics): {e}");
            }
            if let Some(Err(e)) = &report.poll {
                tracing::warn!("widgets fold (poll): {e}");
            }
            tokio::time::sleep(every).await;
        }
    })
}
