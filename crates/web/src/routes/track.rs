//! Tracking: dossier code + tracking token → status and history. A wrong or missing
//! token and an unknown code get the same answer, so nothing tells whether a code exists.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dossier::tracking::{TrackView, track_view};
use dossier::{Event, Manifest, RETRY_MESSAGE, dossier_prefix};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::html::{message_page, track_form_page, track_page};
use crate::respond::{html, message};
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

/// `Ok(None)` for every kind of "not found".
pub async fn lookup(
    state: &AppState,
    code: &str,
    token: &str,
) -> Result<Option<TrackView>, StorageError> {
    Ok(lookup_dossier(state, code, token)
        .await?
        .map(|(manifest, events)| track_view(&manifest, events, state.site())))
}

/// What the tracking page shows: [`lookup`] with the officers' openings of the dossier
/// (`dossier::access`), listed beside the other reads.
pub async fn lookup_tracking(
    state: &AppState,
    code: &str,
    token: &str,
) -> Result<Option<TrackView>, StorageError> {
    Ok(read_checked(state, code, token, true)
        .await?
        .map(|(manifest, events, access)| {
            let lines = dossier::access::lines(&access, dossier::all_files(&manifest, &events));
            let mut view = track_view(&manifest, events, state.site());
            view.access = lines;
            view
        }))
}

/// The dossier's manifest and events, if `token` is its tracking token; `Ok(None)` for
/// every kind of "not found".
pub async fn lookup_dossier(
    state: &AppState,
    code: &str,
    token: &str,
) -> Result<Option<(Manifest, Vec<Event>)>, StorageError> {
    Ok(read_checked(state, code, token, false)
        .await?
        .map(|(m, events, _)| (m, events)))
}

/// The manifest, the events and (with `access`) the keys of the access log, if `token`
/// is the dossier's tracking token.
async fn read_checked(
    state: &AppState,
    code: &str,
    token: &str,
    access: bool,
) -> Result<Option<(Manifest, Vec<Event>, Vec<String>)>, StorageError> {
    let code = code.trim();
    let token = token.trim();
    let Some(prefix) = dossier_prefix(code) else {
        return Ok(None);
    };
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let storage = state.storage();
    // The manifest and the events' listing side by side (and the access log's, which
    // holds all it shows in its keys), then the events (see
    // `store::dossiers::read_dossier`); the token is checked before any event is read.
    let manifest_key = format!("{prefix}dossier.json");
    let events_prefix = format!("{prefix}events/");
    let access_prefix = dossier::access::folder(&prefix);
    let access_keys = async {
        if !access {
            return Ok::<_, StorageError>(Vec::new());
        }
        // The list is a courtesy to the citizen: without it the page still shows the
        // dossier.
        Ok(storage.list(&access_prefix).await.unwrap_or_else(|e| {
            tracing::warn!(code, "access log not listed: {e}");
            Vec::new()
        }))
    };
    let (bytes, keys, access_keys) = tokio::try_join!(
        storage.get(&manifest_key),
        storage.list(&events_prefix),
        access_keys
    )?;
    let Some(bytes) = bytes else {
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
    let events = store::dossiers::read_events(storage, &keys).await?;
    Ok(Some((manifest, events, access_keys)))
}

pub async fn track_json(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<TrackQuery>,
) -> Response {
    match lookup_tracking(&state, &code, q.token.as_deref().unwrap_or("")).await {
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
    match lookup_tracking(&state, code, token).await {
        Ok(Some(view)) => {
            let supplement = view.status.awaits_papers().then(|| token.trim());
            html(
                StatusCode::OK,
                track_page(
                    shell,
                    &view,
                    token.trim(),
                    supplement,
                    state.config().vnpay.as_ref().map(|g| {
                        use crate::gateway::Gateway as _;
                        g.name()
                    }),
                ),
            )
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

#[derive(Deserialize)]
pub struct ResultQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    n: usize,
}

/// How long the link to a result file works: long enough to start a download on a slow
/// phone, short enough that a link copied from the address bar soon stops working.
pub const RESULT_URL_SECS: u64 = 300;

/// `GET /api/dossiers/{code}/result?token=&n=`: the `n`-th file of the result handed
/// over online, through a presigned link (303) valid [`RESULT_URL_SECS`]. The tracking
/// token proves it is the citizen's; without it, the same answer as an unknown code.
pub async fn result_file(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<ResultQuery>,
) -> Response {
    let view = match lookup(&state, &code, q.token.as_deref().unwrap_or("")).await {
        Ok(Some(view)) => view,
        Ok(None) => return message(StatusCode::NOT_FOUND, NOT_FOUND),
        Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    let Some(file) = dossier::tracking::result_files(&view.history).nth(q.n) else {
        return message(
            StatusCode::NOT_FOUND,
            "Hồ sơ này chưa có kết quả bản điện tử để tải về.",
        );
    };
    let ttl = std::time::Duration::from_secs(RESULT_URL_SECS);
    match state.storage().presign_get(&file.key, ttl).await {
        Ok(url) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, url.as_str()),
                (header::CACHE_CONTROL, "no-store"),
            ],
        )
            .into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}
