//! The two shapes every answer of the function takes: a JSON message for scripts, an
//! HTML page for browsers without them.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `{"message": …}`: what a script shows the person when a request is refused.
#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

/// `{"ok": true}`: done, nothing more to say.
#[derive(Serialize)]
pub struct Done {
    ok: bool,
}

pub const DONE: Done = Done { ok: true };

/// `{"message": …}` with a status.
pub fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(Message { message: text })).into_response()
}

/// HTML with a status and no caching.
pub fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
