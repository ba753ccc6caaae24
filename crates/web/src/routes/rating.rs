//! The citizen's rating of the service (`dossier::rating`): `GET
//! /api/dossiers/{code}/rating?t=TOKEN` is a plain form (no JavaScript needed), one tap
//! from the notice sent when the dossier is settled and from the tracking page; `POST`
//! records it as an event that keeps the status, once: the tracking token proves it is
//! the citizen's, and the conditional append lets only one of two posts at once write,
//! the other finding the rating on its next look and getting a kind "already" page.
//!
//! The answers are pages; a `POST` sent as JSON gets `{"ok": true}` or `{"message"}`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dossier::Rating;
use dossier::rating::{self, RatingForm, RatingRefused};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::html::{RatingFormPage, message_page, rating_page, rating_thanks_page};
use crate::respond::{DONE, html, message};
use crate::routes::track::{NOT_FOUND, lookup_dossier};
use crate::state::AppState;

/// The token, as `t` (the notice's short link) or `token` (as elsewhere).
#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    t: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

impl TokenQuery {
    fn token(&self) -> &str {
        self.t.as_deref().or(self.token.as_deref()).unwrap_or("")
    }
}

/// The tracking page's link, relative to `/api/dossiers/{code}/rating`.
fn back(code: &str, token: &str) -> String {
    format!(
        "../../track?code={}&token={}",
        dossier::tracking::encode(code.trim()),
        dossier::tracking::encode(token.trim())
    )
}

/// How the answer is shaped: a page, or JSON for a script.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Page,
    Json,
}

fn plain(
    state: &AppState,
    shape: Shape,
    status: StatusCode,
    title: &str,
    text: &str,
    back: Option<&str>,
) -> Response {
    match shape {
        Shape::Json => message(status, text),
        Shape::Page => html(
            status,
            message_page(
                &state.inner.shell,
                title,
                text,
                back.map(|b| (b, "Về trang tình trạng hồ sơ")),
            ),
        ),
    }
}

fn not_found(state: &AppState, shape: Shape) -> Response {
    plain(
        state,
        shape,
        StatusCode::NOT_FOUND,
        "Không tìm thấy hồ sơ",
        NOT_FOUND,
        None,
    )
}

fn unavailable(state: &AppState, shape: Shape, back: &str) -> Response {
    plain(
        state,
        shape,
        StatusCode::SERVICE_UNAVAILABLE,
        "Chưa gửi được đánh giá",
        "Hệ thống tạm thời gián đoạn nên đánh giá CHƯA được ghi nhận. Vui lòng thử lại sau ít phút.",
        Some(back),
    )
}

/// The "already rated" page: thanks, with what was recorded.
fn already(
    state: &AppState,
    shape: Shape,
    code: &str,
    given: Option<&Rating>,
    back: &str,
) -> Response {
    match shape {
        Shape::Json => message(StatusCode::OK, rating::ALREADY),
        Shape::Page => html(
            StatusCode::OK,
            rating_thanks_page(
                &state.inner.shell,
                code,
                rating::ALREADY,
                given.map(rating::view).as_ref(),
                back,
            ),
        ),
    }
}

fn not_yet(state: &AppState, shape: Shape, back: &str) -> Response {
    plain(
        state,
        shape,
        StatusCode::CONFLICT,
        "Chưa thể đánh giá",
        rating::NOT_YET,
        Some(back),
    )
}

/// `GET /api/dossiers/{code}/rating?t=`: the form, or why there is none.
pub async fn form(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let token = q.token();
    let back = back(&code, token);
    let (manifest, events) = match lookup_dossier(&state, &code, token).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&state, Shape::Page),
        Err(_) => return unavailable(&state, Shape::Page, &back),
    };
    match rating::check(&events) {
        Err(RatingRefused::Already) => already(
            &state,
            Shape::Page,
            &manifest.code,
            rating::given(&events),
            &back,
        ),
        Err(_) => not_yet(&state, Shape::Page, &back),
        Ok(()) => html(
            StatusCode::OK,
            rating_page(
                &state.inner.shell,
                &RatingFormPage {
                    code: &manifest.code,
                    procedure: &manifest.procedure.title,
                    token: token.trim(),
                    back: &back,
                    error: None,
                    selected: [0; 3],
                    comment: "",
                },
            ),
        ),
    }
}

/// The posted form with its token (`t` or `token`).
#[derive(Default)]
struct Posted {
    token: TokenQuery,
    form: RatingForm,
}

/// Every value as text, whatever a script sent (a number for a score is fine).
fn from_json(body: &[u8]) -> Option<Posted> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let text = |k: &str| -> Option<String> {
        map.get(k).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    Some(Posted {
        token: TokenQuery {
            t: text("t"),
            token: text("token"),
        },
        form: RatingForm {
            overall: text("overall"),
            on_time: text("on_time"),
            attitude: text("attitude"),
            comment: text("comment"),
        },
    })
}

fn from_form(body: &[u8]) -> Posted {
    let mut p = Posted::default();
    for (k, v) in form_urlencoded::parse(body) {
        let v = Some(v.into_owned());
        match &*k {
            "t" => p.token.t = v,
            "token" => p.token.token = v,
            "overall" => p.form.overall = v,
            "on_time" => p.form.on_time = v,
            "attitude" => p.form.attitude = v,
            "comment" => p.form.comment = v,
            _ => {}
        }
    }
    p
}

/// How many times a post reads again after losing the append to another write.
const ROUNDS: usize = 8;

/// `POST /api/dossiers/{code}/rating`: records the rating, once.
pub async fn rate(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let shape = if json { Shape::Json } else { Shape::Page };
    let Ok(body) = body else {
        return plain(
            &state,
            shape,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Góp ý quá dài",
            "Nội dung gửi lên quá dài. Vui lòng viết góp ý ngắn gọn (tối đa 500 ký tự) rồi gửi lại.",
            None,
        );
    };
    let posted = if json {
        match from_json(&body) {
            Some(p) => p,
            None => {
                return message(StatusCode::BAD_REQUEST, "Yêu cầu không đúng định dạng.");
            }
        }
    } else {
        from_form(&body)
    };
    let token = posted.token.token().trim().to_owned();
    let back = back(&code, &token);
    for _ in 0..ROUNDS {
        let (manifest, events) = match lookup_dossier(&state, &code, &token).await {
            Ok(Some(d)) => d,
            Ok(None) => return not_found(&state, shape),
            Err(_) => return unavailable(&state, shape, &back),
        };
        let now = OffsetDateTime::now_utc();
        let event = match rating::take(&posted.form, &events, now) {
            Ok(event) => event,
            Err(RatingRefused::Already) => {
                return already(&state, shape, &manifest.code, rating::given(&events), &back);
            }
            Err(RatingRefused::NotYet) => return not_yet(&state, shape, &back),
            Err(RatingRefused::Invalid(text)) => {
                return invalid(&state, shape, &manifest, &token, &back, &posted.form, &text);
            }
        };
        let seq = events.len() as u32 + 1;
        match crate::admin::actions::append_event(&state, &manifest, &event, seq, now).await {
            Ok(true) => {
                let view = event.rating.as_ref().map(rating::view);
                let mut events = events;
                events.push(event);
                state
                    .index()
                    .lock()
                    .await
                    .record(dossier::summarize(&manifest, &events));
                return match shape {
                    Shape::Json => (StatusCode::OK, axum::Json(DONE)).into_response(),
                    Shape::Page => html(
                        StatusCode::OK,
                        rating_thanks_page(
                            &state.inner.shell,
                            &manifest.code,
                            "Đánh giá của Ông/Bà đã được ghi nhận. Xã sẽ dùng ý kiến này để phục vụ người dân tốt hơn.",
                            view.as_ref(),
                            &back,
                        ),
                    ),
                };
            }
            // Another write took that number first: look again.
            Ok(false) => continue,
            Err(_) => return unavailable(&state, shape, &back),
        }
    }
    unavailable(&state, shape, &back)
}

/// The form again, as it was filled, with what to correct.
fn invalid(
    state: &AppState,
    shape: Shape,
    manifest: &dossier::Manifest,
    token: &str,
    back: &str,
    form: &RatingForm,
    text: &str,
) -> Response {
    if shape == Shape::Json {
        return message(StatusCode::UNPROCESSABLE_ENTITY, text);
    }
    let chosen = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| s.trim().parse::<u8>().ok())
            .filter(|s| (1..=5).contains(s))
            .unwrap_or(0)
    };
    let comment = rating::clean_comment(form.comment.as_deref()).unwrap_or_default();
    html(
        StatusCode::UNPROCESSABLE_ENTITY,
        rating_page(
            &state.inner.shell,
            &RatingFormPage {
                code: &manifest.code,
                procedure: &manifest.procedure.title,
                token,
                back,
                error: Some(text),
                selected: [
                    chosen(&form.overall),
                    chosen(&form.on_time),
                    chosen(&form.attitude),
                ],
                comment: &comment,
            },
        ),
    )
}
