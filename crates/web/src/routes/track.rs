//! Tracking: dossier code + tracking token → status and history. A wrong or missing
//! token and an unknown code get the same answer, so nothing tells whether a code exists.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog::vn_time::{appointment_minute, hhmm};
use dossier::{
    Event, Manifest, RETRY_MESSAGE, Status, current_appointment, current_status, dossier_prefix,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{html, message};
use crate::html::{message_page, track_form_page, track_page};
use crate::state::AppState;
use store::StorageError;

pub const NOT_FOUND: &str = "Không tìm thấy hồ sơ với mã và mã tra cứu này. Vui lòng kiểm tra lại mã hồ sơ và mã tra cứu in trên giấy tiếp nhận.";

#[derive(Deserialize)]
pub struct TrackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TrackView {
    pub code: String,
    pub procedure: ProcedureBrief,
    pub status: Status,
    pub status_label: String,
    /// "2025-04-30T16:00"
    pub appointment: String,
    pub appointment_text: String,
    pub history: Vec<Event>,
}

#[derive(Debug, Serialize)]
pub struct ProcedureBrief {
    pub code: String,
    pub title: String,
}

/// `Ok(None)` for every kind of "not found".
pub async fn lookup(
    state: &AppState,
    code: &str,
    token: &str,
) -> Result<Option<TrackView>, StorageError> {
    let code = code.trim();
    let token = token.trim();
    let Some(prefix) = dossier_prefix(code) else {
        return Ok(None);
    };
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let storage = state.storage();
    let Some(bytes) = storage.get(&format!("{prefix}dossier.json")).await? else {
        return Ok(None);
    };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Ok(None);
    };
    let given = hex::encode(Sha256::digest(token.as_bytes()));
    if !bool::from(
        given
            .as_bytes()
            .ct_eq(manifest.tracking_token_sha256.as_bytes()),
    ) {
        return Ok(None);
    }
    let mut history = Vec::new();
    for key in storage.list(&format!("{prefix}events/")).await? {
        if let Some(bytes) = storage.get(&key).await?
            && let Ok(event) = serde_json::from_slice::<Event>(&bytes)
        {
            // Who did it stays inside the desk.
            history.push(Event {
                by: None,
                by_name: None,
                ..event
            });
        }
    }
    let status = current_status(&history);
    // The desk may set another day when it takes the dossier in; the latest one holds.
    let appointment = current_appointment(&manifest, &history);
    let time = hhmm(appointment.time);
    Ok(Some(TrackView {
        code: manifest.code.clone(),
        procedure: ProcedureBrief {
            code: manifest.procedure.code.clone(),
            title: manifest.procedure.title.clone(),
        },
        status_label: status.label().to_owned(),
        status,
        appointment: appointment_minute(&appointment),
        appointment_text: format!("{time}, ngày {}", appointment.day.vietnamese()),
        history,
    }))
}

pub async fn track_json(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<TrackQuery>,
) -> Response {
    match lookup(&state, &code, q.token.as_deref().unwrap_or("")).await {
        Ok(Some(view)) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(view)).into_response(),
        Ok(None) => message(StatusCode::NOT_FOUND, NOT_FOUND),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

pub async fn track_html(State(state): State<AppState>, Query(q): Query<TrackQuery>) -> Response {
    let shell = &state.inner.shell;
    let (Some(code), Some(token)) = (q.code.as_deref(), q.token.as_deref()) else {
        return html(StatusCode::OK, track_form_page(shell, None));
    };
    match lookup(&state, code, token).await {
        Ok(Some(view)) => {
            let supplement = view.status.awaits_papers().then(|| token.trim());
            html(StatusCode::OK, track_page(shell, &view, supplement))
        }
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            track_form_page(shell, Some(NOT_FOUND)),
        ),
        Err(_) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            message_page(
                shell,
                "Chưa tra cứu được",
                "Hệ thống tạm thời gián đoạn. Vui lòng thử lại sau ít phút.",
                None,
            ),
        ),
    }
}
