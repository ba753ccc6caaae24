//! The one-stop desk's API, `/api/admin/*`: officers' sessions, the dossier list, a
//! dossier with its attachments and history, the processing steps, the printable
//! receipt, and the outbox.
//!
//! Every route but `POST /api/admin/login` needs a valid session cookie; every
//! state-changing one also needs `X-CSRF-Token` equal to the session's nonce.

pub mod actions;
pub mod auth;
pub mod desk;
pub mod desk_receipt;
pub mod outbox_panel;
pub mod register;
pub mod statement;

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use dossier::status::{ActionOffer, offers};
use dossier::step;
use dossier::{
    Attachment, ContactInfo, Event, ProcedureRef, RETRY_MESSAGE, Status, dossier_prefix,
    field_text, summarize, value_text,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::respond::message;
use crate::state::AppState;
use auth::Session;

/// Presigned GET URLs for attachments live this long.
pub const ATTACHMENT_URL_SECS: u64 = 300;

pub const NO_SESSION: &str =
    "Phiên làm việc đã hết hạn hoặc chưa đăng nhập. Vui lòng đăng nhập lại.";
pub const BAD_CSRF: &str =
    "Yêu cầu thiếu mã chống giả mạo (CSRF) hoặc mã không đúng. Vui lòng tải lại trang rồi thử lại.";

pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/session", get(session))
        .route("/logout", post(logout))
        .route("/dossiers", get(list))
        .route("/dossiers/{code}", get(detail))
        .route("/dossiers/{code}/attachment", get(attachment))
        .route("/dossiers/{code}/receipt", get(desk_receipt::receipt))
        .route(
            "/dossiers/{code}/actions",
            // A hand-over online carries the result file, base64 in the JSON.
            post(actions::act).layer(axum::extract::DefaultBodyLimit::max(
                actions::MAX_ACTION_BODY,
            )),
        )
        .route("/desk", post(desk::take_in))
        .route("/desk/form", get(desk::form))
        .route("/payments.csv", get(statement::payments_csv))
        .route("/reports", get(crate::figures::report_json))
        .route("/reports.csv", get(crate::figures::report_csv_route))
        .route("/reports/print", get(crate::figures::report_page))
        .route("/register.csv", get(register::export_csv))
        .route("/register.json", get(register::export_json))
        .route(
            "/payments/statement",
            post(statement::statement).layer(axum::extract::DefaultBodyLimit::max(
                statement::MAX_STATEMENT_BYTES,
            )),
        )
        .route("/payments/unmatched", post(statement::record_return))
        .route("/outbox", get(outbox_panel::outbox))
        .route("/outbox/deliver", post(outbox_panel::deliver))
        .fallback(|| async {
            message(
                StatusCode::NOT_FOUND,
                "Không có địa chỉ này trong trang cán bộ.",
            )
        })
        .layer(middleware::from_fn_with_state(state, require_session));
    Router::new().route("/login", post(login)).merge(protected)
}

/// The day a report asks for (`?day=YYYY-MM-DD`, Vietnam's day), today when absent;
/// the officer's message when it is not a date.
pub(crate) fn day_asked(text: Option<&str>) -> Result<catalog::Day, &'static str> {
    match text.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(catalog::Day(catalog::vn_time::now().date())),
        Some(text) => catalog::Day::parse_input(text)
            .ok_or("Ngày không đúng dạng: ghi YYYY-MM-DD, ví dụ 2026-12-02."),
    }
}

/// The dossiers `keep` takes among those changed on `day` or after, read whole: a step
/// or payment recorded that day changed its dossier that day or later, so a day's
/// report reads only those, however many dossiers the commune has.
pub(crate) async fn changed_since(
    state: &AppState,
    day: catalog::Day,
    keep: impl Fn(&dossier::Summary) -> bool,
) -> store::StorageResult<Vec<(dossier::Manifest, Vec<Event>)>> {
    use futures_util::{StreamExt, TryStreamExt, stream};
    let day_start = time::PrimitiveDateTime::new(day.0, time::Time::MIDNIGHT)
        .assume_offset(catalog::vn_time::VN);
    let codes: Vec<String> = store::index::matching(
        state.index(),
        state.storage(),
        OffsetDateTime::now_utc(),
        |s| keep(s) && catalog::vn_time::parse_time(&s.updated_at).is_some_and(|t| t >= day_start),
    )
    .await?
    .into_iter()
    .map(|s| s.code)
    .collect();
    let storage = state.storage();
    let reads: Vec<_> = codes
        .iter()
        .map(|code| store::dossiers::read_dossier(storage, code))
        .collect();
    let read: Vec<_> = stream::iter(reads).buffered(16).try_collect().await?;
    Ok(read.into_iter().flatten().collect())
}

/// Rejects requests without a valid session (401) or, when they change something,
/// without the session's CSRF nonce (403). Puts the [`Session`] in the extensions.
async fn require_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let Some(session) = auth::cookie_token(req.headers())
        .and_then(|t| auth::verify(&state.config().signing_key, t, now))
    else {
        return no_store(message(StatusCode::UNAUTHORIZED, NO_SESSION));
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let given = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(session.csrf.as_bytes())) {
            return no_store(message(StatusCode::FORBIDDEN, BAD_CSRF));
        }
    }
    // Ended by a logout, a password reset, or the officer being disabled.
    match auth::session_stands(state.storage(), &session).await {
        Ok(true) => {}
        Ok(false) => {
            return no_store(with_cleared_cookie(
                &state,
                message(StatusCode::UNAUTHORIZED, NO_SESSION),
            ));
        }
        Err(_) => return no_store(message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE)),
    }
    req.extensions_mut().insert(session);
    no_store(next.run(req).await)
}

fn with_cleared_cookie(state: &AppState, mut r: Response) -> Response {
    if let Ok(v) = header::HeaderValue::from_str(&auth::cookie(state, None)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

/// The session as the console reads it, with the status filter's choices (the status
/// machine's, so the console's page lists none of its own).
#[derive(Serialize)]
struct SessionView<'a> {
    login: &'a str,
    name: &'a str,
    role: auth::Role,
    csrf: &'a str,
    expires_at: i64,
    filters: Vec<dossier::summary::FilterOption>,
    /// The fee filter's choices (`dossier::payment`).
    payment_filters: Vec<dossier::summary::FilterOption>,
}

fn session_json(s: &Session) -> SessionView<'_> {
    SessionView {
        login: &s.login,
        name: &s.name,
        role: s.role,
        csrf: &s.csrf,
        expires_at: s.expires,
        filters: dossier::summary::filters(),
        payment_filters: dossier::payment::filters()
            .into_iter()
            .map(|(value, label)| dossier::summary::FilterOption { value, label })
            .collect(),
    }
}

/// `POST /api/admin/login`, JSON or a plain form.
async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let form: Option<LoginForm> = if is_form {
        serde_urlencoded_form(&body)
    } else {
        serde_json::from_slice(&body).ok()
    };
    let Some(form) = form else {
        return message(
            StatusCode::BAD_REQUEST,
            "Vui lòng nhập tên đăng nhập và mật khẩu.",
        );
    };
    let now = OffsetDateTime::now_utc();
    let device = auth::device_cookie(&headers);
    match auth::login(&state, &form.login, &form.password, device, now).await {
        Ok(officer) => {
            let session = auth::new_session(&officer, now.unix_timestamp());
            let token = auth::sign(&state.config().signing_key, &session);
            let cookie = auth::cookie(&state, Some(&token));
            let known = auth::device_cookie_header(&state, &officer.login, now.unix_timestamp());
            if is_form {
                (
                    AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, known)]),
                    Redirect::to("/can-bo/"),
                )
                    .into_response()
            } else {
                (
                    // Two cookies: appended, since a plain header array replaces.
                    AppendHeaders([
                        (header::SET_COOKIE, cookie),
                        (header::SET_COOKIE, known),
                        (header::CACHE_CONTROL, "no-store".to_owned()),
                    ]),
                    axum::Json(session_json(&session)),
                )
                    .into_response()
            }
        }
        Err(e) => {
            let status = match e {
                auth::LoginError::Wrong => StatusCode::UNAUTHORIZED,
                auth::LoginError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
                auth::LoginError::Busy | auth::LoginError::Storage(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            message(status, &e.message())
        }
    }
}

/// `login=…&password=…` into the login form.
fn serde_urlencoded_form(body: &[u8]) -> Option<LoginForm> {
    let mut form = LoginForm {
        login: String::new(),
        password: String::new(),
    };
    for (k, v) in form_urlencoded::parse(body) {
        match &*k {
            "login" => form.login = v.into_owned(),
            "password" => form.password = v.into_owned(),
            _ => {}
        }
    }
    Some(form)
}

async fn session(axum::Extension(s): axum::Extension<Session>) -> Response {
    axum::Json(session_json(&s)).into_response()
}

/// `POST /api/admin/logout`: ends the officer's sessions, here and on every other
/// device (a token copied before still fails from now on).
async fn logout(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    if auth::end_sessions(state.storage(), &s.login).await.is_err() {
        return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE);
    }
    (
        [(header::SET_COOKIE, auth::cookie(&state, None))],
        axum::Json(crate::respond::DONE),
    )
        .into_response()
}

async fn list(
    State(state): State<AppState>,
    Query(q): Query<dossier::summary::ListQuery>,
) -> Response {
    let index = state.index();
    match store::index::list(index, state.storage(), &q, OffsetDateTime::now_utc()).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

pub const NOT_FOUND: &str = "Không có hồ sơ với mã này.";

/// A presigned GET for `key`, valid `ttl`.
pub async fn presign_get(state: &AppState, key: &str, ttl: Duration) -> Option<String> {
    state.storage().presign_get(key, ttl).await.ok()
}

/// One form value with its label, as the desk reads it.
#[derive(Serialize)]
struct FieldView<'a> {
    id: &'a str,
    label: &'a str,
    value: String,
}

/// A file of the dossier with a short-lived link to open it.
#[derive(Serialize)]
struct AttachmentView<'a> {
    #[serde(flatten)]
    attachment: &'a Attachment,
    /// "nộp lần đầu" or "bổ sung".
    origin: &'static str,
}

/// `GET /api/admin/dossiers/{code}`, what the console shows of one dossier.
#[derive(Serialize)]
struct DetailAnswer<'a> {
    code: &'a str,
    procedure: &'a ProcedureRef,
    contact: &'a ContactInfo,
    received_at: &'a str,
    channel: &'a str,
    status: Status,
    status_label: &'a str,
    appointment: &'a str,
    seq: u32,
    fields: Vec<FieldView<'a>>,
    attachments: Vec<AttachmentView<'a>>,
    history: &'a [Event],
    /// The steps open now, each with its button label.
    actions: Vec<ActionOffer>,
    proposed_appointment: String,
    /// Once the desk has received it, its receipt can be printed.
    printable_receipt: bool,
    /// The amount asked ("49.000 đồng") and where it stands, when there is one.
    fee_total: Option<String>,
    payment_label: Option<&'a str>,
    /// What is to be given back, in đồng (the refund step's amount).
    refundable: u64,
    refundable_text: Option<String>,
    /// The commune has an electronic receipt system (the payment step asks its code).
    e_receipts: bool,
    /// The civil-status register's fields to copy, when the procedure maps them.
    register: Option<dossier::register::RegisterCopy>,
    /// The citizen's rating, in words, once given.
    rating: Option<dossier::rating::RatingView>,
}

/// `GET /api/admin/dossiers/{code}`: the form values with their labels, the
/// attachments (each opened through `/attachment`, which logs it), the history, and the
/// steps open now.
async fn detail(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    Path(code): Path<String>,
) -> Response {
    let (read, line) = tokio::join!(
        store::dossiers::read_dossier(state.storage(), &code),
        log_access(&state, &session, &code, dossier::access::Opened::Dossier)
    );
    let (manifest, events) = match read {
        Ok(Some(d)) => d,
        Ok(None) => {
            unlog_access(&state, line).await;
            return message(StatusCode::NOT_FOUND, NOT_FOUND);
        }
        Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    let summary = summarize(&manifest, &events);
    let procedure = state.procedure(&manifest.procedure.code);
    let mut fields = Vec::new();
    if let Some(form) = procedure.and_then(|p| p.form.as_ref()) {
        for f in form.fields() {
            if let Some(v) = manifest.fields.get(&f.id) {
                fields.push(FieldView {
                    id: &f.id,
                    label: &f.label,
                    value: field_text(f, v),
                });
            }
        }
    } else {
        for (k, v) in &manifest.fields {
            fields.push(FieldView {
                id: k,
                label: k,
                value: value_text(v),
            });
        }
    }
    // No link here: each file opens through `attachment`, which writes the opening to
    // the access log the citizen sees.
    let submitted = manifest.attachments.len();
    let attachments: Vec<AttachmentView> = dossier::all_files(&manifest, &events)
        .enumerate()
        .map(|(i, attachment)| AttachmentView {
            attachment,
            origin: if i < submitted {
                "nộp lần đầu"
            } else {
                "bổ sung"
            },
        })
        .collect();
    let now = OffsetDateTime::now_utc();
    let proposed = step::proposed_appointment(&state.inner.calendar, procedure, now);
    let money = step::money(&manifest, &events, state.site().e_receipt.is_some());
    axum::Json(DetailAnswer {
        code: &manifest.code,
        procedure: &manifest.procedure,
        contact: &manifest.contact,
        received_at: &manifest.received_at,
        channel: &manifest.channel,
        status: summary.status,
        status_label: &summary.status_label,
        appointment: &summary.appointment,
        seq: summary.seq,
        fields,
        attachments,
        history: &events,
        actions: offers(summary.status, money),
        proposed_appointment: proposed.day.iso(),
        printable_receipt: events.iter().any(|e| e.status.is_acceptance()),
        fee_total: manifest
            .fee
            .as_ref()
            .filter(|q| q.total > 0)
            .map(|q| catalog::fee::dong(q.total)),
        payment_label: summary.payment_label.as_deref(),
        refundable: money.refundable,
        refundable_text: (money.refundable > 0).then(|| catalog::fee::dong(money.refundable)),
        e_receipts: money.e_receipts,
        register: procedure.and_then(|p| {
            Some(dossier::register::copy_fields(
                p.register.as_ref()?,
                p.form.as_ref()?,
                &manifest,
            ))
        }),
        rating: dossier::rating::given(&events).map(dossier::rating::view),
    })
    .into_response()
}

/// Writes one line of the dossier's access log (`dossier::access`): the time, the
/// officer's role (not the login nor the name) and what was opened, for the citizen's
/// tracking page. Run beside the view's own reads, so it costs the officer no wait.
///
/// Best effort, by choice: a failed write is logged, never the officer's error, since
/// the log is the citizen's window on how their data is used, not the record that
/// decides anything (the events are), and a store hiccup must not stop the desk's
/// work. A line may so be missing, never invented.
pub(crate) async fn log_access(
    state: &AppState,
    session: &Session,
    code: &str,
    opened: dossier::access::Opened<'_>,
) -> Option<String> {
    use dossier::access::{Viewer, key, record};
    let prefix = dossier_prefix(code)?;
    let viewer = match session.role {
        auth::Role::Officer => Viewer::Officer,
        auth::Role::Admin => Viewer::Admin,
    };
    let now = OffsetDateTime::now_utc();
    let key = key(&prefix, now, viewer, opened, rand::random());
    let body = Bytes::from(record(now, viewer, opened));
    match state
        .storage()
        .put_if_absent(&key, body, "application/json")
        .await
    {
        Ok(_) => Some(key),
        Err(e) => {
            tracing::error!(code, "access log line not written: {e}");
            None
        }
    }
}

/// Takes back the line [`log_access`] wrote beside the read of a dossier that turned
/// out not to exist (a code typed by hand), so no folder is left with only a log.
pub(crate) async fn unlog_access(state: &AppState, line: Option<String>) {
    if let Some(key) = line
        && let Err(e) = state.storage().delete(&key).await
    {
        tracing::warn!(key, "access log line of a missing dossier not removed: {e}");
    }
}

#[derive(Deserialize)]
struct KeyQuery {
    key: String,
}

/// `GET /api/admin/dossiers/{code}/attachment?key=`: a fresh presigned URL (303), only
/// for a file of that dossier.
async fn attachment(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    Path(code): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Response {
    let Some(prefix) = dossier_prefix(&code) else {
        return message(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    if !q.key.starts_with(&prefix) || q.key.contains("..") {
        return message(StatusCode::NOT_FOUND, "Tệp này không thuộc hồ sơ.");
    }
    // Logged beside the read; a key of the folder that names no file of the dossier
    // (refused below) leaves a line the tracking page leaves out.
    let (read, line) = tokio::join!(
        store::dossiers::read_dossier(state.storage(), &code),
        log_access(
            &state,
            &session,
            &code,
            dossier::access::Opened::File(&q.key)
        )
    );
    let (manifest, events) = match read {
        Ok(Some(d)) => d,
        Ok(None) => {
            unlog_access(&state, line).await;
            return message(StatusCode::NOT_FOUND, NOT_FOUND);
        }
        Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    let known = manifest.attachments.iter().any(|a| a.key == q.key)
        || events.iter().flat_map(|e| &e.files).any(|a| a.key == q.key);
    if !known {
        return message(StatusCode::NOT_FOUND, "Tệp này không thuộc hồ sơ.");
    }
    match presign_get(&state, &q.key, Duration::from_secs(ATTACHMENT_URL_SECS)).await {
        Some(url) => Redirect::to(&url).into_response(),
        None => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}
