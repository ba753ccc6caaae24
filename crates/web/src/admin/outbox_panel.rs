//! `GET /api/admin/outbox` (what is waiting or failing) and
//! `POST /api/admin/outbox/deliver` (send what is due now).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dossier::Status;
use serde::Serialize;
use time::OffsetDateTime;

use crate::respond::message;
use crate::state::AppState;
use dossier::RETRY_MESSAGE;
use futures_util::{StreamExt, stream};
use outbox::OutboxRecord;
use outbox::deliver::{READS_AT_ONCE, Standing, expired, list_outbox, read_with_standing};
use store::{Storage, StorageResult};

/// One notice as the console lists it.
#[derive(Serialize)]
struct NoticeRow {
    id: String,
    code: String,
    kind: Status,
    /// The notice's name, from the status machine.
    kind_label: &'static str,
    created_at: String,
    sms_to: Option<String>,
    email_to: Option<String>,
    attempts: u32,
    last_error: Option<String>,
    /// Only for notices still waiting: which channels went through, when the next try
    /// is, and whether an attempt failed ("failed") or none was made yet ("pending").
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
}

#[derive(Serialize)]
struct Progress {
    sms_sent: bool,
    email_sent: bool,
    next_attempt_at: Option<String>,
    state: &'static str,
}

/// `GET /api/admin/outbox`
#[derive(Serialize)]
struct OutboxAnswer {
    delivered: usize,
    waiting: Vec<NoticeRow>,
    /// Past the sending window, never sent: the desk has to reach these citizens.
    gave_up: Vec<NoticeRow>,
    void: usize,
    expired: usize,
    smtp_configured: bool,
    sms_configured: bool,
}

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
        // Each record with what it announces, a bounded number at once and taken in
        // order; once 500 rows are listed, nothing more is read.
        let reads: Vec<_> = outbox
            .waiting
            .iter()
            .map(|(id, key)| read_for_panel(storage, id, key, now))
            .collect();
        let mut reads = stream::iter(reads).buffered(READS_AT_ONCE);
        while items.len() < 500 {
            let Some(read) = reads.next().await else {
                break;
            };
            let Some((id, r, void_now)) = read? else {
                continue;
            };
            // The step never happened: nothing to tell.
            if void_now {
                void += 1;
                continue;
            }
            let mut row = NoticeRow {
                id: id.clone(),
                code: r.code.clone(),
                kind: r.kind,
                kind_label: r.kind.notice_label(),
                created_at: r.created_at.clone(),
                sms_to: r.sms.as_ref().map(|s| s.to.clone()),
                email_to: r.email.as_ref().map(|e| e.to.clone()),
                attempts: r.attempts,
                last_error: r.last_error.clone(),
                progress: None,
            };
            if expired(&r, now) {
                old += 1;
                if gave_up.len() < 200 {
                    gave_up.push(row);
                }
                continue;
            }
            row.progress = Some(Progress {
                sms_sent: sent.contains(&format!("outbox-sent/{id}.sms")),
                email_sent: sent.contains(&format!("outbox-sent/{id}.email")),
                next_attempt_at: r.next_attempt_at,
                state: if r.attempts > 0 { "failed" } else { "pending" },
            });
            items.push(row);
        }
        Ok::<_, store::StorageError>((items, gave_up, delivered, void, old))
    }
    .await;
    let c = &state.config().notify;
    match listed {
        Ok((waiting, gave_up, delivered, void, expired)) => axum::Json(OutboxAnswer {
            delivered,
            waiting,
            gave_up,
            void,
            expired,
            smtp_configured: c.smtp_url.is_some(),
            sms_configured: c.sms_url.is_some(),
        })
        .into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

/// A waiting record and whether it is void (its step never happened); `None` when it
/// is gone or unreadable. Whether it is void is asked of every record, expired or not
/// yet due included, as the panel always did.
async fn read_for_panel(
    storage: &Storage,
    id: &str,
    key: &str,
    now: OffsetDateTime,
) -> StorageResult<Option<(String, OutboxRecord, bool)>> {
    Ok(read_with_standing(storage, id, key, now)
        .await?
        .map(|(r, standing)| (id.to_owned(), r, standing == Standing::Void)))
}

pub async fn deliver(State(state): State<AppState>) -> Response {
    match state.deliver_due(OffsetDateTime::now_utc()).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}
