//! Paper dossiers typed in at the desk: `GET /api/admin/desk/form?procedure=…` gives the
//! procedure's form as the console shows it (`catalog::form_html` in its desk form: a
//! box to tick for each paper in hand instead of a file upload), and
//! `POST /api/admin/desk` takes it in through the same intake as a citizen's dossier
//! (`web::intake`), exactly once per form opened, with channel `desk`. The dossier is
//! received and taken in by the officer in one go, the citizen gets the same tracking
//! link and notices, and the service figures count it as received at the desk.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use catalog::form_html::{FormView, render_form};
use catalog::validate::{FieldError, RawValues};
use dossier::RETRY_MESSAGE;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::Session;
use crate::intake::{HumanProof, Submission, SubmitError};
use crate::respond::message;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct FormQuery {
    #[serde(default)]
    procedure: String,
}

/// The form, ready to be put in the console's page.
#[derive(Serialize)]
struct FormAnswer<'a> {
    title: &'a str,
    form_html: String,
}

/// `GET /api/admin/desk/form?procedure=CODE`
pub async fn form(State(state): State<AppState>, Query(q): Query<FormQuery>) -> Response {
    let Some(procedure) = state
        .procedure(q.procedure.trim())
        .filter(|p| p.form.is_some())
    else {
        return message(
            StatusCode::NOT_FOUND,
            "Thủ tục này không có biểu mẫu để nhập hồ sơ. Vui lòng chọn thủ tục khác trong danh sách.",
        );
    };
    // One key per form opened: the same form sent twice (a double click, a retry after
    // a network cut) is one dossier.
    let key = format!("desk-{}", hex::encode(rand::random::<[u8; 12]>()));
    axum::Json(FormAnswer {
        title: &procedure.title,
        form_html: desk_form(procedure, &key, &RawValues::new(), &[]),
    })
    .into_response()
}

fn desk_form(
    procedure: &catalog::Procedure,
    key: &str,
    values: &RawValues,
    errors: &[FieldError],
) -> String {
    render_form(&FormView {
        procedure,
        action: "/api/admin/desk",
        api_base: "/api",
        values,
        errors,
        human_check: None,
        idempotency_key: key,
        desk: true,
    })
}

/// What the console posts: the form's fields as `FormData` gives them.
#[derive(Deserialize)]
struct DeskRequest {
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    idempotency_key: String,
    /// Field name → every value sent under it (`paper` holds the ticked papers).
    #[serde(default)]
    values: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct Taken<'a> {
    code: &'a str,
    message: String,
    /// The printable receipt (Mẫu 01) to hand the citizen.
    receipt_url: String,
}

#[derive(Serialize)]
struct Refused {
    message: String,
    errors: Vec<FieldError>,
    /// The form again, filled as sent, with its errors beside the fields.
    form_html: String,
}

/// `POST /api/admin/desk`
pub async fn take_in(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    body: Bytes,
) -> Response {
    let Ok(req) = serde_json::from_slice::<DeskRequest>(&body) else {
        return message(StatusCode::BAD_REQUEST, "Yêu cầu không đúng định dạng.");
    };
    let mut values: RawValues = req.values.into_iter().collect();
    // The form's own keys are not fields.
    for key in ["procedure", "form_version", "idempotency_key"] {
        values.remove(key);
    }
    let paper = values.remove("paper").unwrap_or_default();
    let sub = Submission {
        procedure: req.procedure.clone(),
        // The console opened the function's own form, never an older page.
        form_version: None,
        idempotency_key: req.idempotency_key.clone(),
        proof: HumanProof::Desk {
            login: session.login.clone(),
            name: session.name.clone(),
        },
        website: String::new(),
        values: values.clone(),
        files: Vec::new(),
        paper: paper.clone(),
        channel: "desk",
        source: None,
    };
    match state.submit(sub, OffsetDateTime::now_utc()).await {
        Ok((receipt, created)) => (
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(Taken {
                code: &receipt.code,
                message: format!(
                    "Đã tiếp nhận hồ sơ {} ({}). Hẹn trả kết quả: {}. In giấy tiếp nhận để giao cho người nộp.",
                    receipt.code, receipt.procedure.title, receipt.appointment.text
                ),
                receipt_url: format!(
                    "/api/admin/dossiers/{}/receipt",
                    dossier::url::encode(&receipt.code)
                ),
            }),
        )
            .into_response(),
        Err(SubmitError::Storage(e)) => {
            tracing::error!("storage failed while taking a paper dossier in: {e}");
            message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE)
        }
        Err(SubmitError::SequenceExhausted) => {
            message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE)
        }
        Err(e) => {
            let errors = e.field_errors();
            let form_html = state
                .procedure(req.procedure.trim())
                .filter(|p| p.form.is_some())
                .map(|p| {
                    let mut shown = values.clone();
                    shown.insert("paper".into(), paper.clone());
                    desk_form(p, &req.idempotency_key, &shown, &errors)
                })
                .unwrap_or_default();
            // Without a form to show the mistakes beside (an unknown procedure), the
            // first one is the message.
            let message = match errors.first() {
                Some(e) if form_html.is_empty() => e.message.clone(),
                _ => "Hồ sơ chưa được tiếp nhận. Vui lòng sửa các chỗ được đánh dấu rồi bấm \"Tiếp nhận hồ sơ\" lại.".to_owned(),
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(Refused {
                    message,
                    errors,
                    form_html,
                }),
            )
                .into_response()
        }
    }
}
