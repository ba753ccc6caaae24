//! `POST /api/dossiers/{code}/supplement`: the citizen sends the papers the desk asked
//! for (multipart: `token`, optional `note`, one or more `files`), from the tracking
//! page. Allowed only while the dossier waits for papers; the files go under the
//! dossier's `files/` and the step is an event like the desk's (conditional write), which
//! hands the dossier back to the desk ("supplemented").

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::FileKind;
use catalog::validate::safe_file_name;
use dossier::step::{CONFLICT, supplemented};
use dossier::tracking::encode;
use dossier::{Attachment, RETRY_MESSAGE, Status, current_status};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use catalog::validate::display_name;

use super::track::{NOT_FOUND, lookup_dossier};
use crate::admin::actions::append_event;
use crate::respond::message;
use crate::state::AppState;
use futures_util::{StreamExt, TryStreamExt, stream};
use store::dossiers::stored_prefix;

/// Files stored at once (a supplement has a few, within the post's size limit).
const FILES_AT_ONCE: usize = 4;

/// A browser posting the server's tracking page's form (no JavaScript) asks for HTML: it
/// gets the tracking page back (303) or a page with the message and a way back; scripts
/// get JSON.
pub async fn supplement(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    mp: Multipart,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let (token, answer) = receive(&state, &code, mp).await;
    // Relative to /api/dossiers/{code}/supplement: the tracking page at /api/track.
    let back = format!(
        "../../track?code={}&token={}",
        encode(&code),
        encode(&token)
    );
    match (answer, wants_html) {
        (Ok(json), false) => (StatusCode::OK, axum::Json(json)).into_response(),
        (Err((status, text)), false) => message(status, &text),
        (Ok(_), true) => Redirect::to(&back).into_response(),
        (Err((status, text)), true) => crate::respond::html(
            status,
            crate::html::message_page(
                &state.inner.shell,
                "Chưa gửi được giấy tờ bổ sung",
                &text,
                Some((&back, "Quay lại trang tình trạng hồ sơ")),
            ),
        ),
    }
}

type Refusal = (StatusCode, String);

/// What a script that sent the papers gets back.
#[derive(Serialize)]
struct Supplemented {
    status: Status,
    status_label: &'static str,
}

/// Checks and stores the papers; returns the token sent (for the way back) and the
/// answer.
async fn receive(
    state: &AppState,
    code: &str,
    mp: Multipart,
) -> (String, Result<Supplemented, Refusal>) {
    let post = match crate::multipart::read(mp, state.config()).await {
        Ok(p) => p,
        Err(e) => return (String::new(), Err((e.status(), e.to_string()))),
    };
    let first = |k: &str| {
        post.values
            .get(k)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let token = first("token");
    let note: String = first("note")
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let refuse = |status: StatusCode, text: &str| (token.clone(), Err((status, text.to_owned())));
    // Same answer for a wrong token and an unknown code.
    // The dossier as read here is the one the step is written on: the event's number
    // is claimed with a conditional write, so a step that came in between wins and
    // this one is refused (409), never written over it.
    let (manifest, events) = match lookup_dossier(state, code, &token).await {
        Ok(Some(d)) => d,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, NOT_FOUND),
        Err(_) => return refuse(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    if !current_status(&events).awaits_papers() {
        return refuse(
            StatusCode::CONFLICT,
            "Hồ sơ hiện không chờ bổ sung giấy tờ; không cần gửi thêm.",
        );
    }
    if post.files.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Vui lòng chọn ít nhất một tệp giấy tờ bổ sung (ảnh JPG/PNG hoặc PDF).",
        );
    }
    if post.files.len() > state.config().max_files {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Quá nhiều tệp; hãy gộp các trang vào một tệp PDF.",
        );
    }
    let mut kinds = Vec::new();
    for (_, name, bytes) in &post.files {
        match FileKind::sniff(&bytes[..bytes.len().min(32)]) {
            Some(kind) => {
                if let Err(refused) = catalog::inspect::inspect(kind, bytes) {
                    return refuse(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &refused.message(&display_name(name), kind),
                    );
                }
                kinds.push(kind);
            }
            None => {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!(
                        "Tệp \"{}\" không phải ảnh hoặc PDF. Vui lòng chọn ảnh chụp hoặc bản quét giấy tờ.",
                        display_name(name)
                    ),
                );
            }
        }
    }
    let result = async {
        let storage = state.storage();
        let seq = events.len() as u32 + 1;
        let prefix = stored_prefix(&manifest.code)?;
        let mut files = Vec::new();
        let mut writes = Vec::new();
        for (n, ((field, name, bytes), kind)) in post.files.iter().zip(&kinds).enumerate() {
            let key = format!(
                "{prefix}files/s{seq:03}-{}-{}",
                n + 1,
                safe_file_name(name, *kind)
            );
            writes.push((key.clone(), bytes.clone(), kind.mime()));
            files.push(Attachment {
                field: field.clone(),
                name: display_name(name),
                key,
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
                kind: kind.mime().to_owned(),
            });
        }
        // The files side by side, before the event that names them.
        let puts: Vec<_> = writes
            .iter()
            .map(|(key, bytes, mime)| storage.put(key, bytes.clone(), mime))
            .collect();
        let _: Vec<()> = stream::iter(puts)
            .buffered(FILES_AT_ONCE)
            .try_collect()
            .await?;
        let now = OffsetDateTime::now_utc();
        let mut event = supplemented(now, files.len(), &note);
        event.files = files;
        if !append_event(state, &manifest, &event, seq, now).await? {
            return Ok(Err((StatusCode::CONFLICT, CONFLICT.to_owned())));
        }
        Ok::<_, store::StorageError>(Ok(Supplemented {
            status: Status::Supplemented,
            status_label: Status::Supplemented.label(),
        }))
    }
    .await;
    let answer =
        result.unwrap_or_else(|_| Err((StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE.to_owned())));
    (token, answer)
}
