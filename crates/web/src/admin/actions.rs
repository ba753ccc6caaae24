//! The desk's steps on a dossier. Each is a new event object written with
//! `If-None-Match: *` on the next sequence number, so of two officers acting at once
//! the second gets 409 and nothing is overwritten. The citizen's notice goes to the
//! outbox just before the event (see [`append_event`]), a hint to the index after it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use catalog::FileKind;
use catalog::validate::{display_name, safe_file_name};
use dossier::status::{ActionOffer, offers};
use dossier::step::{self, CONFLICT, Officer, StepRefused, StepRequest};
use dossier::{Attachment, Event, Manifest, RETRY_MESSAGE, Status, summarize};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::auth::Session;
use crate::respond::message;
use crate::state::AppState;
use store::dossiers::{read_dossier, stored_prefix};

/// What the console gets back after a step.
#[derive(Serialize)]
struct StepAnswer {
    code: String,
    status: Status,
    status_label: String,
    appointment: String,
    seq: u32,
    actions: Vec<ActionOffer>,
}

/// `POST /api/admin/dossiers/{code}/actions`
pub async fn act(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    Path(code): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(req) = serde_json::from_slice::<StepRequest>(&body) else {
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
    req: &StepRequest,
    now: OffsetDateTime,
) -> Result<Response, store::StorageError> {
    let storage = state.storage();
    let Some((manifest, events)) = read_dossier(storage, code).await? else {
        return Ok(message(StatusCode::NOT_FOUND, super::NOT_FOUND));
    };
    let seq = events.len() as u32;
    let procedure = state.procedure(&manifest.procedure.code);
    let calendar = &state.inner.calendar;
    let proposed = step::proposed_appointment(calendar, procedure, now);
    let officer = Officer {
        login: &session.login,
        name: &session.name,
    };
    let mut event = match step::take(
        req,
        &events,
        officer,
        calendar,
        proposed,
        step::Facts::of(&manifest, &events, state.site().e_receipt.is_some()),
        now,
    ) {
        Ok(event) => event,
        Err(StepRefused::Conflict) => return Ok(message(StatusCode::CONFLICT, CONFLICT)),
        Err(StepRefused::Invalid(text)) => {
            return Ok(message(StatusCode::UNPROCESSABLE_ENTITY, &text));
        }
    };
    let next = seq + 1;
    if event.delivery.as_deref() == Some("online") {
        match store_result(state, &manifest, req, next).await? {
            Ok(file) => event.files.push(file),
            Err(text) => return Ok(message(StatusCode::UNPROCESSABLE_ENTITY, &text)),
        }
    }
    if !append_event(state, &manifest, &event, next, now).await? {
        return Ok(message(StatusCode::CONFLICT, CONFLICT));
    }
    let mut events = events;
    events.push(event);
    let summary = summarize(&manifest, &events);
    state.index().lock().await.record(summary.clone());
    Ok(axum::Json(StepAnswer {
        actions: offers(
            summary.status,
            step::money(&manifest, &events, state.site().e_receipt.is_some()),
        ),
        code: summary.code,
        status: summary.status,
        status_label: summary.status_label,
        appointment: summary.appointment,
        seq: summary.seq,
    })
    .into_response())
}

/// The most a step's JSON may weigh: a result file of [`MAX_RESULT_BYTES`] in base64,
/// and room for the rest. Within Lambda's 6 MB request.
pub const MAX_ACTION_BODY: usize = 5_600_000;
/// The largest result file sent online.
pub const MAX_RESULT_BYTES: usize = 4 * 1024 * 1024;

/// Checks the result file of a hand-over online (a PDF or a picture, whole-file checked
/// as the citizens' own files are) and stores it under the dossier's `result/`, named
/// by the step's number. `Ok(Err(text))`: the officer's file is refused.
async fn store_result(
    state: &AppState,
    manifest: &Manifest,
    req: &StepRequest,
    seq: u32,
) -> Result<Result<Attachment, String>, store::StorageError> {
    use base64::Engine as _;
    let Some(file) = &req.result_file else {
        return Ok(Err("Vui lòng chọn tệp kết quả.".into()));
    };
    let name = display_name(&file.name);
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(file.data.trim()) else {
        return Ok(Err(format!(
            "Không đọc được tệp \"{name}\". Vui lòng chọn lại."
        )));
    };
    if bytes.is_empty() || bytes.len() > MAX_RESULT_BYTES {
        return Ok(Err(format!(
            "Tệp \"{name}\" phải có nội dung và không quá 4 MB; hãy quét ở độ phân giải thấp hơn hoặc nén PDF."
        )));
    }
    let Some(kind) = FileKind::sniff(&bytes[..bytes.len().min(32)]) else {
        return Ok(Err(format!(
            "Tệp \"{name}\" không phải PDF hoặc ảnh JPG/PNG."
        )));
    };
    if let Err(refused) = catalog::inspect::inspect(kind, &bytes) {
        return Ok(Err(refused.message(&name, kind)));
    }
    let key = format!(
        "{}result/{seq:03}-{}",
        stored_prefix(&manifest.code)?,
        safe_file_name(&file.name, kind)
    );
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    state
        .storage()
        .put(&key, Bytes::from(bytes), kind.mime())
        .await?;
    Ok(Ok(Attachment {
        field: "ket_qua".into(),
        name,
        key,
        size,
        sha256,
        kind: kind.mime().to_owned(),
    }))
}

/// Writes the step's notice, then event `seq` (false if that number is taken), then
/// the index hint.
///
/// The notice comes first and names the event it announces (its key, and a random id
/// the event is written with): if the store fails before the event is written, the
/// step fails (the caller answers "thử lại") and that notice stays void; if the event
/// is written, its notice is already there. The worker sends a notice only once its
/// event exists with its id (`outbox::deliver::standing`), so no notice is lost and none
/// goes out for a step that did not happen, or that another officer's step beat.
pub async fn append_event(
    state: &AppState,
    manifest: &Manifest,
    event: &Event,
    seq: u32,
    now: OffsetDateTime,
) -> Result<bool, store::StorageError> {
    let id = hex::encode(rand::random::<[u8; 8]>());
    let ctx = state.notice_context(manifest);
    outbox::enqueue_event(state.storage(), &ctx, manifest, event, seq, &id).await?;
    store::dossiers::write_event(state.storage(), manifest, event, seq, &id, now).await
}
