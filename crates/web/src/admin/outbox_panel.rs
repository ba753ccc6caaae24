//! `GET /api/admin/outbox` (what is waiting or failing) and
//! `POST /api/admin/outbox/deliver` (send what is due now).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::routes::message;
use crate::state::AppState;
use dossier::RETRY_MESSAGE;
use outbox::OutboxRecord;
use outbox::deliver::{Standing, expired, list_outbox, standing};

pub async fn outbox(State(state): State<AppState>) -> Response {
    let storage = state.storage();
    let now = OffsetDateTime::now_utc();
    let listed = async {
        let outbox = list_outbox(storage).await?;
        let (sent, delivered) = (&outbox.sent, outbox.delivered);
        let mut items = Vec::new();
        // Past the sending window, never sent: the desk has to reach these citizens.
        let mut gave_up = Vec::new();
        let (mut void, mut old) = (0, 0);
        for (id, key) in &outbox.waiting {
            if items.len() >= 500 {
                continue;
            }
            let Some(bytes) = storage.get(key).await? else {
                continue;
            };
            let Ok(r) = serde_json::from_slice::<OutboxRecord>(&bytes) else {
                continue;
            };
            // The step never happened: nothing to tell.
            if standing(storage, &r, now).await? == Standing::Void {
                void += 1;
                continue;
            }
            let mut row = json!({
                "id": id,
                "code": r.code,
                "kind": r.kind,
                "kind_label": r.kind.notice_label(),
                "created_at": r.created_at,
                "sms_to": r.sms.as_ref().map(|s| s.to.clone()),
                "email_to": r.email.as_ref().map(|e| e.to.clone()),
                "attempts": r.attempts,
                "last_error": r.last_error,
            });
            if expired(&r, now) {
                old += 1;
                if gave_up.len() < 200 {
                    gave_up.push(row);
                }
                continue;
            }
            row["sms_sent"] = sent.contains(&format!("outbox-sent/{id}.sms")).into();
            row["email_sent"] = sent.contains(&format!("outbox-sent/{id}.email")).into();
            row["next_attempt_at"] = r.next_attempt_at.into();
            row["state"] = if r.attempts > 0 { "failed" } else { "pending" }.into();
            items.push(row);
        }
        Ok::<_, store::StorageError>((items, gave_up, delivered, void, old))
    }
    .await;
    let c = &state.config().notify;
    match listed {
        Ok((items, gave_up, delivered, void, old)) => axum::Json(json!({
            "delivered": delivered,
            "waiting": items,
            "gave_up": gave_up,
            "void": void,
            "expired": old,
            "smtp_configured": c.smtp_url.is_some(),
            "sms_configured": c.sms_url.is_some(),
        }))
        .into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

pub async fn deliver(State(state): State<AppState>) -> Response {
    match state.deliver_due(OffsetDateTime::now_utc()).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}
