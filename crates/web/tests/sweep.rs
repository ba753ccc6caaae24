//! A submission that failed after its code was claimed leaves objects no dossier names;
//! the schedule's sweep deletes them once the day has settled, and nothing else.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn a_failed_attempts_leftovers_are_swept_and_finished_dossiers_kept() {
    let h = harness().await;
    let (kept, _) = h.submit_trich_luc("hoan-tat-0001").await;

    // Fail the store at every step of a submission until one stops between its first
    // writes into the dossier's folder and its manifest.
    let mut left_behind = None;
    for ops in 0..40 {
        let key = format!("bo-do-{ops:04}");
        let altcha = h.altcha().await;
        h.storage().fail_after(Some(ops));
        let a = h
            .post_json(
                "/api/dossiers",
                &json!({"procedure": "2.000635", "idempotency_key": key, "altcha": altcha,
                    "values": trich_luc_values()}),
            )
            .await;
        h.storage().fail_after(None);
        if a.status == StatusCode::CREATED {
            break;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
        let keys = h.storage().list("dossiers/").await.unwrap();
        let orphan = keys
            .iter()
            .find(|k| !k.contains(&kept) && !keys.contains(&dossier_json(k)))
            .cloned();
        if let Some(orphan) = orphan {
            left_behind = Some((key, orphan));
            break;
        }
    }
    let (key, orphan) = left_behind.expect("some failure point leaves objects behind");
    let folder = orphan[..orphan
        .rfind("/events/")
        .or(orphan.rfind("/files/"))
        .unwrap()
        + 1]
        .to_owned();

    // Not yet: the day has not settled.
    let now = OffsetDateTime::now_utc().to_offset(catalog::vn_time::VN);
    let report = store::sweep::sweep_unfinished(h.storage(), h.state.unit_code(), now)
        .await
        .unwrap();
    assert_eq!(report.abandoned, 0);
    assert!(!h.storage().list(&folder).await.unwrap().is_empty());

    // Three days on: the leftovers and the record naming their code are gone, the
    // finished dossier is whole, and the code's claim stays (codes are never reused).
    let later = now + Duration::days(3);
    let report = store::sweep::sweep_unfinished(h.storage(), h.state.unit_code(), later)
        .await
        .unwrap();
    // Every failed attempt that got as far as a code counts, with or without objects.
    assert!(report.abandoned >= 1, "{report:?}");
    assert!(h.storage().list(&folder).await.unwrap().is_empty());
    assert_eq!(h.manifests().await.len(), 1);
    let kept_folder = dossier::dossier_prefix(&kept).unwrap();
    assert!(h.storage().list(&kept_folder).await.unwrap().len() > 1);
    let claims = h.storage().list("sequence/").await.unwrap();
    assert!(
        claims
            .iter()
            .filter(|c| !c.starts_with("sequence/swept/"))
            .count()
            >= 2
    );
    // A day is swept once.
    let again = store::sweep::sweep_unfinished(h.storage(), h.state.unit_code(), later)
        .await
        .unwrap();
    assert_eq!(again, store::sweep::SweepReport::default());

    // The citizen who sends again gets a new dossier, not the swept one.
    let altcha = h.altcha().await;
    let retry = h
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "idempotency_key": key, "altcha": altcha,
                "values": trich_luc_values()}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text());
    let code = retry.json()["receipt"]["code"].as_str().unwrap().to_owned();
    assert!(
        !folder.contains(&code),
        "{code} reuses the swept folder {folder}"
    );
}

/// The manifest of the dossier an object belongs to.
fn dossier_json(key: &str) -> String {
    let cut = key
        .find("/events/")
        .or_else(|| key.find("/files/"))
        .unwrap_or(key.len());
    format!("{}/dossier.json", &key[..cut])
}
