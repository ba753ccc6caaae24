//! The plain form post: multipart in, HTML out (the receipt, or the form with errors);
//! and the question that guards it, in a frame of the static form page.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use time::OffsetDateTime;

use crate::gate;
use crate::html::{errors_page, form_errors_page, message_page, receipt_page};
use crate::intake::{FileSource, HumanProof, IncomingFile, Submission, SubmitError};
use crate::multipart;
use crate::respond::html;
use crate::routes::ClientAddress;
use crate::state::AppState;
use dossier::RETRY_MESSAGE;

pub async fn post_form(State(state): State<AppState>, request: Request) -> Response {
    let shell = &state.inner.shell;
    let back = back_to_form(request.headers(), &state.config().public_url);
    let source = request
        .extensions()
        .get::<ClientAddress>()
        .map(|ClientAddress(ip)| *ip);
    let framed_token =
        crate::admin::auth::cookie_value(request.headers(), gate::COOKIE).map(str::to_owned);
    let config = state.config();
    let mp = match Multipart::from_request(request, &state).await {
        Ok(mp) => mp,
        Err(_) => {
            return html(
                StatusCode::BAD_REQUEST,
                message_page(
                    shell,
                    "Không đọc được biểu mẫu",
                    "Biểu mẫu phải được gửi từ trang nộp hồ sơ (dạng multipart/form-data). Vui lòng mở lại trang thủ tục rồi gửi lại.",
                    Some(("/", "Về trang chủ")),
                ),
            );
        }
    };
    let post = match multipart::read(mp, config).await {
        Ok(p) => p,
        Err(e) => {
            return html(
                e.status(),
                message_page(
                    shell,
                    "Hồ sơ chưa được gửi",
                    &e.to_string(),
                    Some((&back, "Quay lại biểu mẫu")),
                ),
            );
        }
    };
    let idempotency_key = if post.idempotency_key.trim().is_empty() {
        format!("form-{}", post.body_sha256)
    } else {
        post.idempotency_key.trim().to_owned()
    };
    let sub = Submission {
        procedure: post.procedure.clone(),
        form_version: post.form_version.clone(),
        idempotency_key: idempotency_key.clone(),
        // The function's own page carries its question's token; the static page's
        // frame left it in a cookie.
        proof: HumanProof::Answer {
            answer: post.human_answer.clone(),
            token: post.gate.clone().or(framed_token).unwrap_or_default(),
        },
        website: post.website.clone(),
        values: post.values.clone(),
        files: post
            .files
            .into_iter()
            .map(|(field, name, bytes)| IncomingFile {
                field,
                name,
                source: FileSource::Inline { bytes },
            })
            .collect(),
        paper: Vec::new(),
        channel: "form",
        source,
    };
    match state.submit(sub, OffsetDateTime::now_utc()).await {
        Ok((receipt, created)) => html(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            receipt_page(shell, &receipt),
        ),
        Err(SubmitError::Storage(e)) => {
            tracing::error!("storage failed during form submission: {e}");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                message_page(
                    shell,
                    "Chưa gửi được hồ sơ",
                    RETRY_MESSAGE,
                    Some((&back, "Quay lại biểu mẫu để thử lại")),
                ),
            )
        }
        Err(SubmitError::SequenceExhausted) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            message_page(shell, "Chưa gửi được hồ sơ", RETRY_MESSAGE, None),
        ),
        Err(e) => {
            let status = match e {
                SubmitError::Captcha(_) => StatusCode::FORBIDDEN,
                // The form is shown again as the function holds it now, with the message.
                SubmitError::FormChanged(_) => StatusCode::CONFLICT,
                SubmitError::SourceQuota(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let errors = e.field_errors();
            match state
                .procedure(post.procedure.trim())
                .filter(|p| p.is_online() && p.form.is_some())
            {
                Some(p) => html(
                    status,
                    form_errors_page(
                        shell,
                        p,
                        &post.values,
                        &errors,
                        &gate::create(
                            &config.captcha_key,
                            OffsetDateTime::now_utc().unix_timestamp(),
                        ),
                        &post.idempotency_key,
                    ),
                ),
                None => html(status, errors_page(shell, "Hồ sơ chưa được gửi", &errors)),
            }
        }
    }
}

/// `GET /api/gate`: a new question, for the frame of the static form page, its token
/// in a cookie the form's post carries back. The only function page that may be framed,
/// and only by the site's own pages.
pub async fn gate_frame(State(state): State<AppState>) -> Response {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let gate = gate::create(&state.config().captcha_key, now);
    let secure = if state.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={}; Max-Age={}; Path=/api/dossiers; HttpOnly; SameSite=Strict{secure}",
        gate::COOKIE,
        gate.token,
        gate::TTL_SECS
    );
    let mut answer = html(
        StatusCode::OK,
        crate::html::gate_page(&state.inner.shell, &gate.question),
    );
    let headers = answer.headers_mut();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("token is base64url"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'self'"),
    );
    answer
}

/// Where "back to the form" goes: the page the form was sent from (its path, when the
/// browser says it and it is on the public site), else the home page and its catalogue.
/// A link, not `history.back()`: the production CSP runs no inline script. The site's
/// address comes from the configuration: behind CloudFront the Host is API Gateway's.
fn back_to_form(headers: &axum::http::HeaderMap, public_url: &str) -> String {
    headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix(public_url.trim_end_matches('/')))
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/api/"))
        .map(str::to_owned)
        .unwrap_or_else(|| "/".to_owned())
}

#[cfg(test)]
mod tests {
    use super::back_to_form;
    use axum::http::{HeaderMap, HeaderValue, header};

    const SITE: &str = "https://iapet.example.vn";

    fn headers(referer: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(r) = referer {
            h.insert(header::REFERER, HeaderValue::from_str(r).unwrap());
        }
        h
    }

    #[test]
    fn back_goes_to_the_form_page_on_this_site_only() {
        let back = |referer| back_to_form(&headers(referer), SITE);
        assert_eq!(
            back(Some(
                "https://iapet.example.vn/thu-tuc/dang-ky-khai-sinh/nop-truc-tuyen/"
            )),
            "/thu-tuc/dang-ky-khai-sinh/nop-truc-tuyen/"
        );
        assert_eq!(back(Some("https://evil.example/x/")), "/");
        assert_eq!(back(Some("https://iapet.example.vn.evil.example/x/")), "/");
        assert_eq!(back(Some("https://iapet.example.vn//evil.example/")), "/");
        assert_eq!(back(Some("https://iapet.example.vn/api/track")), "/");
        assert_eq!(back(None), "/");
    }
}
