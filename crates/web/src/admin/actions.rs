//! The desk's steps on a dossier. Each is a new event object written with
//! `If-None-Match: *` on the next sequence number, so of two officers acting at once
//! the second gets 409 and nothing is overwritten. The citizen's notice goes to the
//! outbox just before the event (see [`append_event`]), a hint to the index after it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dossier::status::{ActionOffer, offers};
use dossier::step::{self, CONFLICT, Officer, StepRefused, StepRequest};
use dossier::{Event, Manifest, RETRY_MESSAGE, Status, summarize};
use serde::Serialize;
use time::OffsetDateTime;

use super::auth::Session;
use crate::respond::message;
use crate::state::AppState;
use store::dossiers::read_dossier;

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
    let event = match step::take(
        req,
        &events,
        officer,
        calendar,
        proposed,
        step::Facts::of(&manifest),
        now,
    ) {
        Ok(event) => event,
        Err(StepRefused::Conflict) => return Ok(message(StatusCode::CONFLICT, CONFLICT)),
        Err(StepRefused::Invalid(text)) => {
            return Ok(message(StatusCode::UNPROCESSABLE_ENTITY, &text));
        }
    };
    let next = seq + 1;
    if !append_event(state, &manifest, &event, next, now).await? {
        return Ok(message(StatusCode::CONFLICT, CONFLICT));
    }
    let mut events = events;
    events.push(event);
    let summary = summarize(&manifest, &events);
    state.index().lock().await.record(summary.clone());
    Ok(axum::Json(StepAnswer {
        actions: offers(summary.status, summary.payment.is_some()),
        code: summary.code,
        status: summary.status,
        status_label: summary.status_label,
        appointment: summary.appointment,
        seq: summary.seq,
    })
    .into_response())
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
