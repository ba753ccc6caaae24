//! `GET /api/admin/outbox` (what is waiting or failing) and
//! `POST /api/admin/outbox/deliver` (send what is due now).

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use super::OutboxRecord;
use super::deliver::deliver_due;
use crate::dossier::RETRY_MESSAGE;
use crate::routes::message;
use crate::state::AppState;

pub async fn outbox(State(state): State<AppState>) -> Response {
    let storage = state.storage();
    let listed = async {
        let sent: HashSet<String> = storage.list("outbox-sent/").await?.into_iter().collect();
        let mut items = Vec::new();
        let mut delivered = 0usize;
        for key in storage.list("outbox/").await? {
            let Some(id) = key
                .strip_prefix("outbox/")
                .and_then(|k| k.strip_suffix(".json"))
            else {
                continue;
            };
            if sent.contains(&format!("outbox-sent/{id}")) {
                delivered += 1;
                continue;
            }
            if items.len() >= 500 {
                continue;
            }
            let Some(bytes) = storage.get(&key).await? else {
                continue;
            };
            let Ok(r) = serde_json::from_slice::<OutboxRecord>(&bytes) else {
                continue;
            };
            items.push(json!({
                "id": id,
                "code": r.code,
                "kind": r.kind,
                "created_at": r.created_at,
                "sms_to": r.sms.as_ref().map(|s| s.to.clone()),
                "sms_sent": sent.contains(&format!("outbox-sent/{id}.sms")),
                "email_to": r.email.as_ref().map(|e| e.to.clone()),
                "email_sent": sent.contains(&format!("outbox-sent/{id}.email")),
                "attempts": r.attempts,
                "next_attempt_at": r.next_attempt_at,
                "last_error": r.last_error,
                "state": if r.attempts > 0 { "failed" } else { "pending" },
            }));
        }
        Ok::<_, crate::storage::StorageError>((items, delivered))
    }
    .await;
    let c = &state.config().notify;
    match listed {
        Ok((items, delivered)) => axum::Json(json!({
            "delivered": delivered,
            "waiting": items,
            "smtp_configured": c.smtp_url.is_some(),
            "sms_configured": c.sms_url.is_some(),
        }))
        .into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

pub async fn deliver(State(state): State<AppState>) -> Response {
    match deliver_due(&state, OffsetDateTime::now_utc()).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}
