//! The HTTP surface, all under `/api`.

mod door;
pub mod form;
pub mod json;
pub mod payments;
pub mod rating;
pub mod supplement;
pub mod track;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::html::PAGE_SCRIPT;
use crate::respond::{DONE, html, message};
use crate::state::AppState;

pub use door::{ClientAddress, ORIGIN_SECRET_HEADER, VIEWER_ADDRESS_HEADER};

/// Set by the Lambda glue when API Gateway handed over a body marked base64 that does
/// not decode; the request is then answered with 400.
pub const BAD_BODY_HEADER: &str = "x-motcua-invalid-base64";

/// The whole application. It carries the `/api` prefix itself.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let panic_shell = state.inner.shell.clone();
    // The files plus room for the fields: at most `catalog::plain_post::MAX_BODY_BYTES`.
    let form_limit = (config.max_total_bytes + catalog::plain_post::FIELDS_ALLOWANCE) as usize;
    let api = Router::new()
        .route("/health", get(|| async { axum::Json(DONE) }))
        .route(PAGE_SCRIPT.trim_start_matches("/api"), get(page_script))
        .route("/challenge", get(json::challenge))
        .route("/uploads", post(json::uploads))
        .route("/uploads/check", post(json::check_uploads))
        .route("/dossiers", post(json::dossiers))
        .route("/gate", get(form::gate_frame))
        .route(
            "/dossiers/form",
            post(form::post_form).layer(DefaultBodyLimit::max(form_limit)),
        )
        .route("/dossiers/{code}", get(track::track_json))
        .route("/dossiers/{code}/result", get(track::result_file))
        .route("/dossiers/{code}/pay", post(payments::pay))
        .route(
            "/dossiers/{code}/rating",
            get(rating::form).post(rating::rate),
        )
        .route("/payments/vnpay/ipn", get(payments::vnpay_ipn))
        .route("/payments/vnpay/return", get(payments::vnpay_return))
        .route("/track", get(track::track_html))
        // Served by a function of their own in production (infra/template.yaml); here
        // too, so that one local server runs the whole site.
        .merge(widgets::routes().with_state(state.widgets()))
        .nest("/admin", crate::admin::routes(state.clone()))
        .route(
            "/dossiers/{code}/supplement",
            post(supplement::supplement).layer(DefaultBodyLimit::max(form_limit)),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(256 * 1024))
        .with_state(state.clone());
    let mut app = Router::new()
        .nest("/api", api)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            door::limit_clients,
        ))
        .layer(middleware::from_fn_with_state(
            state,
            door::through_cloudfront,
        ))
        .layer(middleware::from_fn(reject_bad_body))
        .layer(panic_page(panic_shell));
    if let Some(origin) = &config.cors_origin {
        let allow = if origin == "*" {
            AllowOrigin::any()
        } else {
            AllowOrigin::exact(HeaderValue::from_str(origin).expect("checked at start"))
        };
        app = app.layer(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::CONTENT_TYPE])
                .max_age(std::time::Duration::from_secs(3600)),
        );
    }
    app
}

/// A panic in a handler becomes a plain Vietnamese page, not a dropped connection or a
/// gateway's 502. A bug, never the citizen's doing; nothing is half-stored, since a
/// dossier becomes visible only when its manifest, written last, exists.
fn panic_page(
    shell: catalog::Shell,
) -> CatchPanicLayer<impl Fn(Box<dyn std::any::Any + Send>) -> Response + Clone> {
    CatchPanicLayer::custom(move |_: Box<dyn std::any::Any + Send>| {
        tracing::error!("a request handler panicked");
        html(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::html::message_page(
                &shell,
                "Đã có lỗi ngoài ý muốn",
                "Hệ thống gặp lỗi khi xử lý yêu cầu này và chưa lưu gì từ yêu cầu đó. Vui lòng thử lại sau ít phút; nếu vẫn không được, hãy gọi số hỗ trợ ở cuối trang.",
                Some(("/", "Về trang chủ")),
            ),
        )
    })
}

async fn reject_bad_body(req: Request, next: Next) -> Response {
    if req.headers().contains_key(BAD_BODY_HEADER) {
        return message(
            StatusCode::BAD_REQUEST,
            "Dữ liệu gửi lên bị hỏng trên đường truyền (mã hóa base64 không hợp lệ). Vui lòng gửi lại.",
        );
    }
    next.run(req).await
}

async fn page_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/page.js"),
    )
        .into_response()
}

async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Không có địa chỉ này trong dịch vụ nộp hồ sơ.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("a bug in a handler")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_vietnamese_page() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(panic_page(catalog::Shell::plain("Xã Thử")));
        let answer = app
            .oneshot(
                Request::get("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.contains("Đã có lỗi ngoài ý muốn"), "{page}");
        assert!(page.contains("chưa lưu gì"), "{page}");
    }
}
