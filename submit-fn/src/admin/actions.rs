//! The desk's steps on a dossier. Each is a new event object written with
//! `If-None-Match: *` on the next sequence number, so of two officers acting at once
//! the second gets 409 and nothing is overwritten. The citizen's notice goes to the
//! outbox just before the event (see [`append_event`]), a hint to the index after it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use catalog::{Appointment, Day};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::auth::Session;
use super::index::{self, read_dossier, summarize};
use crate::dossier::{Event, Manifest, RETRY_MESSAGE, VN, format_time, status_label};
use crate::routes::message;
use crate::state::AppState;

pub const CONFLICT: &str = "Hồ sơ vừa được cán bộ khác cập nhật, vui lòng tải lại";

#[derive(Debug, Deserialize)]
pub struct ActionRequest {
    pub action: String,
    /// The number of events the officer saw; the step is refused if there are more now.
    #[serde(default)]
    pub expected_seq: Option<u32>,
    /// receive: YYYY-MM-DD (default: the proposed day).
    #[serde(default)]
    pub appointment: Option<String>,
    /// receive: HH:MM (default 16:00).
    #[serde(default)]
    pub appointment_time: Option<String>,
    /// request-papers: what is missing.
    #[serde(default)]
    pub missing: Option<String>,
    /// hand-over: "desk" or "post".
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub postal_tracking: Option<String>,
    /// refuse: why.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The steps open from a status.
pub fn allowed(status: &str) -> Vec<&'static str> {
    match status {
        "received" => vec!["receive", "request-papers", "refuse"],
        // Papers came in: take it in (again), ask again, or go on to the result.
        "supplemented" => vec!["receive", "request-papers", "result-ready", "refuse"],
        "accepted" => vec!["request-papers", "result-ready", "refuse"],
        "supplement-requested" => vec!["refuse"],
        "result-ready" => vec!["hand-over"],
        _ => vec![],
    }
}

/// The appointment the desk proposes when it receives a dossier now: the procedure's
/// working days from today's reception day, holidays skipped.
pub fn proposed_appointment(state: &AppState, m: &Manifest, now: OffsetDateTime) -> Appointment {
    let now = now.to_offset(VN);
    let (days, cutoff) = state.procedure(&m.procedure.code).map_or((3, None), |p| {
        (
            p.processing.working_days,
            p.processing
                .cutoff
                .as_deref()
                .and_then(catalog::calendar::parse_hhmm),
        )
    });
    state.inner.calendar.appointment(
        PrimitiveDateTime::new(now.date(), now.time()),
        days,
        cutoff.or(Some(time::macros::time!(15:00))),
    )
}

fn clean(text: &Option<String>, max: usize) -> Option<String> {
    text.as_deref()
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .take(max)
                .collect::<String>()
                .trim()
                .to_owned()
        })
        .filter(|s| !s.is_empty())
}

fn unprocessable(text: impl AsRef<str>) -> Response {
    message(StatusCode::UNPROCESSABLE_ENTITY, text.as_ref())
}

/// `POST /api/admin/dossiers/{code}/actions`
pub async fn act(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    Path(code): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(req) = serde_json::from_slice::<ActionRequest>(&body) else {
        return message(StatusCode::BAD_REQUEST, "Yêu cầu không đúng định dạng.");
    };
    match apply(&state, &session, &code, &req, OffsetDateTime::now_utc()).await {
        Ok(r) => r,
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

/// Applies one step; the `Ok` response may itself be a refusal (409, 422, 404).
pub async fn apply(
    state: &AppState,
    session: &Session,
    code: &str,
    req: &ActionRequest,
    now: OffsetDateTime,
) -> Result<Response, crate::storage::StorageError> {
    let storage = state.storage();
    let Some((manifest, events)) = read_dossier(storage, code).await? else {
        return Ok(message(StatusCode::NOT_FOUND, super::NOT_FOUND));
    };
    let current = summarize(&manifest, &events);
    let seq = events.len() as u32;
    if req.expected_seq.is_some_and(|e| e != seq) {
        return Ok(message(StatusCode::CONFLICT, CONFLICT));
    }
    if !allowed(&current.status).contains(&req.action.as_str()) {
        return Ok(unprocessable(format!(
            "Hồ sơ đang ở trạng thái \"{}\", không thể thực hiện bước này.",
            current.status_label
        )));
    }
    let now_vn = now.to_offset(VN);
    let mut event = Event {
        at: format_time(now),
        by: Some(session.login.clone()),
        by_name: Some(session.name.clone()),
        ..Event::default()
    };
    let note = clean(&req.note, 1000);
    match req.action.as_str() {
        "receive" => {
            let proposed = proposed_appointment(state, &manifest, now);
            let day = match req
                .appointment
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                None => proposed.day,
                Some(text) => match Day::parse_input(text) {
                    Some(d) => d,
                    None => {
                        return Ok(unprocessable(format!(
                            "Ngày hẹn \"{}\" không hợp lệ; hãy chọn ngày dạng NNNN-TT-NN.",
                            text.chars().take(20).collect::<String>()
                        )));
                    }
                },
            };
            if day.0 < now_vn.date() {
                return Ok(unprocessable(
                    "Ngày hẹn trả kết quả không được trước hôm nay.",
                ));
            }
            if !state.inner.calendar.is_working_day(day) {
                return Ok(unprocessable(format!(
                    "Ngày {} là ngày nghỉ; vui lòng chọn một ngày làm việc.",
                    day.vietnamese()
                )));
            }
            let time = match req
                .appointment_time
                .as_deref()
                .filter(|s| !s.trim().is_empty())
            {
                None => proposed.time,
                Some(t) => match catalog::calendar::parse_hhmm(t) {
                    Some(t) => t,
                    None => {
                        return Ok(unprocessable(
                            "Giờ hẹn không hợp lệ; hãy viết dạng GG:PP, ví dụ 16:00.",
                        ));
                    }
                },
            };
            let a = Appointment { day, time };
            event.status = "accepted".into();
            event.note = Some(format!(
                "Đã tiếp nhận hồ sơ. Hẹn trả kết quả: {} giờ, ngày {}.{}",
                crate::receipt::hhmm(a.time),
                a.day.vietnamese(),
                note.map(|n| format!(" {n}")).unwrap_or_default()
            ));
            event.appointment = Some(a);
        }
        "request-papers" => {
            let Some(missing) = clean(&req.missing, 1000) else {
                return Ok(unprocessable("Vui lòng ghi rõ giấy tờ cần bổ sung."));
            };
            event.status = "supplement-requested".into();
            event.note = Some(format!("Cần bổ sung: {missing}"));
            event.missing = Some(missing);
        }
        "result-ready" => {
            event.status = "result-ready".into();
            event.note = Some(note.unwrap_or_else(|| {
                "Đã có kết quả. Mời Ông/Bà đến Trung tâm Phục vụ hành chính công xã nhận kết quả (mang theo giấy tiếp nhận và giấy tờ tùy thân).".into()
            }));
        }
        "hand-over" => match req.method.as_deref() {
            Some("post") => {
                let Some(number) = clean(&req.postal_tracking, 40) else {
                    return Ok(unprocessable("Vui lòng nhập số hiệu bưu gửi."));
                };
                event.status = "posted".into();
                event.delivery = Some("post".into());
                event.note = Some(format!(
                    "Đã gửi kết quả qua bưu điện, số hiệu bưu gửi: {number}."
                ));
                event.postal_tracking = Some(number);
            }
            Some("desk") | None => {
                event.status = "returned".into();
                event.delivery = Some("desk".into());
                event.note = Some(note.unwrap_or_else(|| {
                    "Đã trả kết quả tại Trung tâm Phục vụ hành chính công xã.".into()
                }));
            }
            Some(_) => {
                return Ok(unprocessable(
                    "Cách trả kết quả phải là tại quầy hoặc qua bưu điện.",
                ));
            }
        },
        "refuse" => {
            let Some(reason) = clean(&req.reason, 1000) else {
                return Ok(unprocessable("Vui lòng ghi rõ lý do từ chối."));
            };
            event.status = "refused".into();
            event.note = Some(format!("Lý do: {reason}"));
            event.reason = Some(reason);
        }
        _ => return Ok(unprocessable("Bước xử lý không hợp lệ.")),
    }
    event.label = status_label(&event.status).into();
    let next = seq + 1;
    if !append_event(state, &manifest, &event, next, now).await? {
        return Ok(message(StatusCode::CONFLICT, CONFLICT));
    }
    let mut events = events;
    events.push(event);
    let summary = summarize(&manifest, &events);
    state
        .inner
        .admin
        .index
        .lock()
        .await
        .map
        .insert(summary.code.clone(), summary.clone());
    Ok(axum::Json(json!({
        "code": summary.code,
        "status": summary.status,
        "status_label": summary.status_label,
        "appointment": summary.appointment,
        "seq": summary.seq,
        "actions": allowed(&summary.status),
    }))
    .into_response())
}

/// An event as stored: with the random `id` its notice names.
#[derive(Serialize)]
struct StoredEvent<'a> {
    #[serde(flatten)]
    event: &'a Event,
    id: &'a str,
}

/// Writes the step's notice, then event `seq` (false if that number is taken), then
/// the index hint.
///
/// The notice comes first and names the event it announces (its key, and a random id
/// the event is written with): if the store fails before the event is written, the
/// step fails (the caller answers "thử lại") and that notice stays void; if the event
/// is written, its notice is already there. The worker sends a notice only once its
/// event exists with its id (`notify::deliver::standing`), so no notice is lost and none
/// goes out for a step that did not happen, or that another officer's step beat.
pub async fn append_event(
    state: &AppState,
    manifest: &Manifest,
    event: &Event,
    seq: u32,
    now: OffsetDateTime,
) -> Result<bool, crate::storage::StorageError> {
    let storage = state.storage();
    let prefix = crate::dossier::stored_prefix(&manifest.code)?;
    let id = hex::encode(rand::random::<[u8; 8]>());
    crate::notify::enqueue_event(state, manifest, event, seq, &id).await?;
    let stored = StoredEvent { event, id: &id };
    if !storage
        .put_if_absent(
            &format!("{prefix}events/{seq:06}.json"),
            Bytes::from(serde_json::to_vec_pretty(&stored).expect("json")),
            "application/json",
        )
        .await?
    {
        return Ok(false);
    }
    // The step stands; a failed hint is logged, not undone.
    if let Err(e) = index::hint(storage, &manifest.code, now).await {
        tracing::error!(code = %manifest.code, "index hint for event {seq} not written: {e}");
    }
    Ok(true)
}
