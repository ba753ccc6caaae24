//! What the bucket's lifecycle rules delete must not be missed: the console index's
//! change markers (`index/changes/`, deleted after 30 days) are only trusted within
//! 25 days; an older snapshot or a long-idle index is rebuilt from `dossiers/`, unless
//! the schedule's upkeep kept the snapshot fresh.

mod common;

use std::time::Duration;

use common::*;
use dossier::summary::ListQuery;
use store::StorageResult;
use store::index::{HINTS, ListAnswer, RefreshStats};
use time::OffsetDateTime;
use web::AppState;

/// A new instance of the function over the same bucket (a cold Lambda).
fn cold(h: &Harness) -> AppState {
    let content = catalog::load(&content_dir()).unwrap();
    AppState::new(&content, h.storage().clone(), h.state.config().clone())
}

async fn list(state: &AppState, q: &ListQuery, now: OffsetDateTime) -> StorageResult<ListAnswer> {
    store::index::list(state.index(), state.storage(), q, now).await
}

async fn upkeep(state: &AppState, now: OffsetDateTime) -> StorageResult<Option<RefreshStats>> {
    store::index::upkeep(state.index(), state.storage(), now).await
}

/// Deletes the change markers as the lifecycle rule would once they are 30 days old.
async fn expire_hints(h: &Harness) {
    let s = h.storage();
    for key in s.list(HINTS).await.unwrap() {
        s.delete(&key).await.unwrap();
    }
    assert!(s.list(HINTS).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_index_older_than_the_kept_change_markers_is_rebuilt() {
    let h = harness().await;
    let day = Duration::from_secs(24 * 3600);
    let t0 = OffsetDateTime::now_utc();
    let q = ListQuery::default();

    // The first list writes a snapshot (no dossier yet); then a dossier comes in.
    let first = list(&h.state, &q, t0).await.unwrap();
    assert_eq!(first.counts.total, 0);
    assert!(first.refresh.rebuilt);
    h.submit_trich_luc("retention-0001").await;

    // A day later a cold instance starts from the snapshot and the markers after it.
    let a = list(&cold(&h), &q, t0 + day).await.unwrap();
    assert!(a.refresh.from_snapshot, "{:?}", a.refresh);
    assert_eq!(a.counts.total, 1);

    // Forty days later the marker is gone: the snapshot is too old to trust, the index
    // is rebuilt from dossiers/ and still shows the dossier.
    expire_hints(&h).await;
    let b = list(&cold(&h), &q, t0 + day * 40).await.unwrap();
    assert_eq!(b.counts.total, 1, "a dossier vanished from the console");
    assert!(b.refresh.rebuilt, "{:?}", b.refresh);
    // ... and that rebuild left a fresh snapshot for the next cold start.
    let c = list(&cold(&h), &q, t0 + day * 41).await.unwrap();
    assert!(c.refresh.from_snapshot, "{:?}", c.refresh);
    assert_eq!(c.counts.total, 1);

    // A warm instance left idle as long rebuilds too.
    let warm = cold(&h);
    assert_eq!(
        list(&warm, &q, t0 + day * 41).await.unwrap().counts.total,
        1
    );
    h.submit_trich_luc("retention-0002").await;
    expire_hints(&h).await;
    let d = list(&warm, &q, t0 + day * 80).await.unwrap();
    assert_eq!(d.counts.total, 2, "a dossier vanished from the console");
    assert!(d.refresh.rebuilt, "{:?}", d.refresh);
}

#[tokio::test]
async fn the_schedule_keeps_the_snapshot_fresh_through_a_quiet_month() {
    let h = harness().await;
    let day = Duration::from_secs(24 * 3600);
    let t0 = OffsetDateTime::now_utc();
    h.submit_trich_luc("upkeep-0001").await;

    // Nobody opens the console for forty days; the schedule runs on instances that come
    // and go (here once a day, each on a cold instance).
    let first = upkeep(&cold(&h), t0)
        .await
        .unwrap()
        .expect("a cold index is refreshed");
    assert!(first.rebuilt, "no snapshot yet: {first:?}");
    for d in 1..=40 {
        let stats = upkeep(&cold(&h), t0 + day * d)
            .await
            .unwrap()
            .expect("cold");
        assert!(stats.from_snapshot, "day {d}: {stats:?}");
    }
    // A warm instance refreshed minutes ago does nothing.
    let warm = cold(&h);
    upkeep(&warm, t0 + day * 40).await.unwrap();
    let again = upkeep(&warm, t0 + day * 40 + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(again.is_none(), "{again:?}");

    // The markers are long gone, yet the first officer back starts from the snapshot.
    expire_hints(&h).await;
    let q = ListQuery::default();
    let a = list(&cold(&h), &q, t0 + day * 40 + Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        a.refresh.from_snapshot && !a.refresh.rebuilt,
        "{:?}",
        a.refresh
    );
    assert_eq!(a.counts.total, 1, "the dossier is listed");
}

/// A refresh that fails halfway (the store down at any one of its requests) loses no
/// dossier: once the store is back, the warm index lists every one, and so does a cold
/// instance starting from whatever snapshot was written.
#[tokio::test]
async fn a_refresh_the_store_fails_halfway_loses_no_dossier() {
    let q = ListQuery::default();
    for k in 0..14u32 {
        let h = harness().await;
        let now = OffsetDateTime::now_utc();
        let (first, _) = h.submit_trich_luc(&format!("index-fault-{k}-a")).await;
        // The index is warm and holds the first dossier.
        assert_eq!(list(&h.state, &q, now).await.unwrap().counts.total, 1);
        let (second, _) = h.submit_trich_luc(&format!("index-fault-{k}-b")).await;
        let (third, _) = h.submit_trich_luc(&format!("index-fault-{k}-c")).await;

        // The store goes down after k more requests, in the middle of the refresh.
        h.storage().fail_after(Some(k));
        let broken = list(&h.state, &q, now + Duration::from_secs(1)).await;
        h.storage().fail_after(None);

        let after = list(&h.state, &q, now + Duration::from_secs(2))
            .await
            .unwrap();
        let codes: Vec<&str> = after
            .items
            .iter()
            .map(|v| v.summary.code.as_str())
            .collect();
        for code in [&first, &second, &third] {
            assert!(
                codes.contains(&code.as_str()),
                "store down after {k} requests (that refresh: {}): {code} is missing from {codes:?}",
                if broken.is_ok() { "ok" } else { "failed" }
            );
        }
        let cold_list = list(&cold(&h), &q, now + Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(
            cold_list.counts.total, 3,
            "a cold instance, store down after {k}"
        );
    }
}
