//! The JSON routes: the captcha challenge, presigned uploads and their check, and
//! dossier submission.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalog::validate::{
    FieldError, RawValues, accepted_kinds, human_size, kinds_label, safe_file_name,
};
use catalog::{FieldType, FileKind};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::captcha;
use crate::intake::{self, FileSource, HumanProof, IncomingFile, Submission, SubmitError};
use crate::respond::message;
use crate::routes::ClientAddress;
use crate::state::AppState;
use dossier::RETRY_MESSAGE;

pub async fn challenge(State(state): State<AppState>) -> Response {
    let c = &state.inner.config;
    let challenge = captcha::create(
        &c.captcha_key,
        c.captcha_max_number,
        OffsetDateTime::now_utc().unix_timestamp(),
        c.captcha_ttl_secs,
    );
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(challenge)).into_response()
}

/// A refused request: every problem, each with its field and a Vietnamese message.
#[derive(Serialize)]
struct ErrorsAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
    errors: Vec<FieldError>,
}

/// Where the browser puts one file: a presigned PUT with the headers it must send.
#[derive(Serialize)]
struct UploadTicket {
    field: String,
    name: String,
    key: String,
    url: String,
    headers: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct UploadsAnswer {
    uploads: Vec<UploadTicket>,
    /// Seconds the URLs stay valid.
    expires_in: u64,
}

/// A dossier taken in: its receipt as data and as the HTML the page shows.
#[derive(Serialize)]
struct ReceiptAnswer<'a> {
    receipt: &'a dossier::receipt::Receipt,
    receipt_html: String,
}

fn errors(status: StatusCode, errors: Vec<FieldError>) -> Response {
    (
        status,
        axum::Json(ErrorsAnswer {
            message: None,
            errors,
        }),
    )
        .into_response()
}

fn bad_json(e: &serde_json::Error) -> Response {
    let detail = match e.classify() {
        serde_json::error::Category::Data => " (thiếu mục bắt buộc hoặc sai kiểu dữ liệu)",
        _ => "",
    };
    message(
        StatusCode::BAD_REQUEST,
        &format!(
            "Dữ liệu gửi lên không phải JSON hợp lệ{detail}. Vui lòng tải lại trang rồi gửi lại."
        ),
    )
}

#[derive(Deserialize)]
struct UploadRequest {
    procedure: String,
    /// The solved proof of work the submission will carry too: the uploads are issued
    /// under its challenge and serve that submission only.
    #[serde(default)]
    altcha: String,
    files: Vec<DeclaredFile>,
}

#[derive(Deserialize)]
struct DeclaredFile {
    field: String,
    name: String,
    size: u64,
    #[serde(rename = "type")]
    kind: String,
}

/// The challenge of a solved, signed, unexpired proof of work, or the refusal (403,
/// as the submission answers it). Not marked used: that is the submission's step.
/// (The refusal boxed: a `Response` is large beside the `Ok`.)
fn proof_of_work(state: &AppState, altcha: &str) -> Result<String, Box<Response>> {
    captcha::verify(
        &state.config().captcha_key,
        altcha,
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .map_err(|e| Box::new(submit_error_json(&SubmitError::Captcha(e))))
}

/// The form of an online procedure, or the refusal.
fn online_form<'a>(state: &'a AppState, code: &str) -> Result<&'a catalog::Form, Box<Response>> {
    match state.procedure(code.trim()) {
        Some(p)
            if p.is_online()
                && let Some(form) = &p.form =>
        {
            Ok(form)
        }
        Some(p) => Err(Box::new(errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::NotOnline(p.title.clone()).field_errors(),
        ))),
        None => Err(Box::new(errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::UnknownProcedure(code.to_owned()).field_errors(),
        ))),
    }
}

pub async fn uploads(State(state): State<AppState>, body: Bytes) -> Response {
    let req: UploadRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    // The proof of work first: nothing else is looked at for a request without one.
    let challenge = match proof_of_work(&state, &req.altcha) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let form = match online_form(&state, &req.procedure) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let config = state.config();
    let mut problems = Vec::new();
    if req.files.is_empty() || req.files.len() > config.max_files {
        problems.push(FieldError::new(
            "_form",
            format!("Mỗi lần gửi được từ 1 đến {} tệp.", config.max_files),
        ));
    }
    let mut accepted = Vec::new();
    for file in &req.files {
        let Some(field) = form
            .field(&file.field)
            .filter(|f| f.kind == FieldType::File)
        else {
            problems.push(FieldError::new(
                "_form",
                "Tệp đính kèm ở ô không thuộc thủ tục này. Vui lòng tải lại trang rồi gửi lại.",
            ));
            continue;
        };
        let kinds = accepted_kinds(field);
        let limit =
            (u64::from(field.max_size_kb.unwrap_or(5120)) * 1024).min(config.max_file_bytes);
        let name = catalog::validate::display_name(&file.name);
        match FileKind::from_mime(file.kind.trim()) {
            Some(kind) if kinds.contains(&kind) => {
                if file.size == 0 {
                    problems.push(FieldError::new(
                        &field.id,
                        format!("Tệp \"{name}\" trống. Vui lòng chọn lại tệp."),
                    ));
                } else if file.size > limit {
                    problems.push(FieldError::new(
                        &field.id,
                        format!(
                            "Tệp \"{name}\" nặng {}, vượt giới hạn {} của ô \"{}\". Hãy chụp lại với độ phân giải thấp hơn hoặc nén tệp.",
                            human_size(file.size),
                            human_size(limit),
                            field.label
                        ),
                    ));
                } else {
                    accepted.push((field.id.clone(), file, kind));
                }
            }
            _ => problems.push(FieldError::new(
                &field.id,
                format!(
                    "Tệp \"{name}\" không phải {}. Ô này chỉ nhận {}.",
                    kinds_label(kinds),
                    kinds_label(kinds)
                ),
            )),
        }
    }
    if !problems.is_empty() {
        return errors(StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    let tag = intake::staging_tag(&config.captcha_key, &challenge);
    let batch = hex::encode(rand::random::<[u8; 4]>());
    let ttl = Duration::from_secs(config.upload_ttl_secs);
    let mut out = Vec::new();
    for (n, (field, file, kind)) in accepted.into_iter().enumerate() {
        let key = intake::staging_key(&tag, &batch, n + 1, &safe_file_name(&file.name, kind));
        match state
            .storage()
            .presign_put(&key, file.size, kind.mime(), ttl)
            .await
        {
            Ok((url, headers)) => {
                let mut h: BTreeMap<String, String> = headers.into_iter().collect();
                h.insert("content-type".into(), kind.mime().into());
                out.push(UploadTicket {
                    field,
                    name: catalog::validate::display_name(&file.name),
                    key,
                    url,
                    headers: h,
                });
            }
            Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
        }
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(UploadsAnswer {
            uploads: out,
            expires_in: config.upload_ttl_secs,
        }),
    )
        .into_response()
}

#[derive(Deserialize)]
struct CheckRequest {
    procedure: String,
    #[serde(default)]
    altcha: String,
    files: Vec<UploadRef>,
}

/// One staged file as its check found it.
#[derive(Serialize)]
struct CheckedUpload {
    field: String,
    key: String,
    ok: bool,
    /// The signed verdict, to be sent back with the file in the submission
    /// (`uploads[].verdict`): the submission then reads nothing for it.
    verdict: String,
}

/// `POST /api/uploads/check`: the browser's uploads are finished; each is read whole,
/// checked (type by its bytes, an image decodes within the size cap, a PDF without
/// active content) and its verdict kept with its ETag for the submission. 200 when every
/// file passed, 422 with each refused file's message beside its field.
pub async fn check_uploads(State(state): State<AppState>, body: Bytes) -> Response {
    let req: CheckRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    let challenge = match proof_of_work(&state, &req.altcha) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let form = match online_form(&state, &req.procedure) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let config = state.config();
    if req.files.is_empty() || req.files.len() > config.max_files {
        return errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FieldError::new(
                "_form",
                format!("Mỗi lần gửi được từ 1 đến {} tệp.", config.max_files),
            )],
        );
    }
    // Only keys issued under this proof of work: the check reads whole files, and is
    // not to be run on anyone else's.
    let tag = intake::staging_tag(&config.captcha_key, &challenge);
    let mut problems = Vec::new();
    let mut wanted = Vec::new();
    for file in &req.files {
        let Some(field) = form
            .field(&file.field)
            .filter(|f| f.kind == FieldType::File)
        else {
            problems.push(FieldError::new(
                "_form",
                "Tệp đính kèm ở ô không thuộc thủ tục này. Vui lòng tải lại trang rồi gửi lại.",
            ));
            continue;
        };
        if !intake::valid_staging_key(&file.key) || file.key.split('/').nth(1) != Some(tag.as_str())
        {
            problems.push(FieldError::new(
                &field.id,
                "Tệp đính kèm không hợp lệ. Vui lòng chọn lại tệp rồi gửi lại.",
            ));
            continue;
        }
        wanted.push((field, file));
    }
    if !problems.is_empty() {
        return errors(StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    let checks: Vec<_> = wanted
        .iter()
        .map(|(field, file)| state.check_upload(field, &file.key, &file.name))
        .collect();
    // Each check holds one whole file in memory: a few at a time.
    let verdicts: Vec<_> = futures_util::stream::iter(checks)
        .buffered(4)
        .collect()
        .await;
    let mut files = Vec::new();
    for ((field, file), verdict) in wanted.iter().zip(verdicts) {
        match verdict {
            Ok(intake::UploadCheck::Passed { verdict }) => files.push(CheckedUpload {
                field: field.id.clone(),
                key: file.key.clone(),
                ok: true,
                verdict,
            }),
            Ok(intake::UploadCheck::Refused(message)) => {
                problems.push(FieldError::new(&field.id, message))
            }
            Err(err) => {
                tracing::error!("storage failed while checking an upload: {err}");
                return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE);
            }
        }
    }
    if !problems.is_empty() {
        return errors(StatusCode::UNPROCESSABLE_ENTITY, problems);
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "files": files })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct DossierRequest {
    procedure: String,
    /// The form page's `form_version`; optional, for clients that predate it.
    #[serde(default)]
    form_version: Option<String>,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    altcha: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    values: BTreeMap<String, Value>,
    #[serde(default)]
    uploads: Vec<UploadRef>,
}

#[derive(Deserialize)]
struct UploadRef {
    field: String,
    key: String,
    #[serde(default)]
    name: String,
    /// The check's signed verdict; without it the submission reads the one kept.
    #[serde(default)]
    verdict: Option<String>,
}

/// JSON values → the raw form shape the validators take.
fn raw_values(values: BTreeMap<String, Value>) -> Result<RawValues, FieldError> {
    let mut raw = RawValues::new();
    let scalar = |id: &str, v: &Value| -> Result<String, FieldError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(if *b { "true" } else { "false" }.into()),
            _ => Err(FieldError::new(
                id,
                "Giá trị của ô này sai kiểu dữ liệu. Vui lòng tải lại trang rồi gửi lại.",
            )),
        }
    };
    for (id, v) in values {
        match &v {
            Value::Null => {}
            Value::Array(items) => {
                let items = items
                    .iter()
                    .map(|i| scalar(&id, i))
                    .collect::<Result<Vec<_>, _>>()?;
                raw.insert(id, items);
            }
            Value::Object(parts) => {
                for (part, pv) in parts {
                    raw.insert(format!("{id}.{part}"), vec![scalar(&id, pv)?]);
                }
            }
            _ => {
                raw.insert(id.clone(), vec![scalar(&id, &v)?]);
            }
        }
    }
    Ok(raw)
}

pub async fn dossiers(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddress>>,
    body: Bytes,
) -> Response {
    let req: DossierRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    let values = match raw_values(req.values) {
        Ok(v) => v,
        Err(e) => return errors(StatusCode::UNPROCESSABLE_ENTITY, vec![e]),
    };
    let files = req
        .uploads
        .into_iter()
        .map(|u| IncomingFile {
            name: if u.name.is_empty() {
                u.key.rsplit('/').next().unwrap_or_default().to_owned()
            } else {
                u.name
            },
            field: u.field,
            source: FileSource::Staged {
                key: u.key,
                verdict: u.verdict,
            },
        })
        .collect();
    let sub = Submission {
        procedure: req.procedure,
        form_version: req.form_version,
        idempotency_key: req.idempotency_key,
        proof: HumanProof::Altcha(req.altcha),
        website: req.website,
        values,
        files,
        paper: Vec::new(),
        channel: "json",
        source: client.map(|Extension(ClientAddress(ip))| ip),
    };
    match state.submit(sub, OffsetDateTime::now_utc()).await {
        Ok((receipt, created)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (
                status,
                [(header::CACHE_CONTROL, "no-store")],
                // The receipt as data, and as the HTML the function's receipt page shows,
                // which the site's form page puts in place of the form.
                axum::Json(ReceiptAnswer {
                    receipt_html: crate::html::receipt_html(&receipt),
                    receipt: &receipt,
                }),
            )
                .into_response()
        }
        Err(e) => submit_error_json(&e),
    }
}

pub fn submit_error_json(e: &SubmitError) -> Response {
    match e {
        SubmitError::Captcha(c) => (
            StatusCode::FORBIDDEN,
            axum::Json(ErrorsAnswer {
                message: Some(c.message()),
                errors: e.field_errors(),
            }),
        )
            .into_response(),
        SubmitError::Storage(err) => {
            tracing::error!("storage failed during submission: {err}");
            message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE)
        }
        SubmitError::SequenceExhausted => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
        SubmitError::SourceQuota(_) => errors(StatusCode::TOO_MANY_REQUESTS, e.field_errors()),
        SubmitError::FormChanged(_) => errors(StatusCode::CONFLICT, e.field_errors()),
        _ => errors(StatusCode::UNPROCESSABLE_ENTITY, e.field_errors()),
    }
}
