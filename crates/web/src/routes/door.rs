//! The door of the function: that a request came through CloudFront (in production,
//! where the WAF's limits apply: a secret header only the distribution sends), who the
//! client is, and the per-client limits ([`crate::limits`]) with the 429 a client over
//! them gets, as a page or as JSON, with `Retry-After`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::limits::retry_after_secs;
use crate::respond::{html, message};
use crate::state::AppState;

/// The viewer's address as CloudFront passes it to the origin (`ip:port`).
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// Who is asking: behind CloudFront (the origin secret proved the request came through
/// it), the viewer address it sets; on a local server, the connection's peer; on an API
/// Gateway reached directly, the source address it saw. `None` when nothing says (the
/// router driven in process by tests), which is then not limited.
pub fn client_address(request: &Request, behind_cloudfront: bool) -> Option<IpAddr> {
    if behind_cloudfront {
        return viewer_address(request.headers());
    }
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        return Some(peer.ip());
    }
    match request
        .extensions()
        .get::<lambda_http::request::RequestContext>()
    {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.as_deref()?.parse().ok()
        }
        _ => None,
    }
}

/// `203.0.113.7:46532` or, for IPv6, `2001:db8::1:46532` (no brackets): the port is
/// after the last colon.
fn viewer_address(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get(VIEWER_ADDRESS_HEADER)?.to_str().ok()?;
    let (ip, _port) = value.rsplit_once(':')?;
    ip.trim_matches(['[', ']']).parse().ok()
}

/// The header CloudFront adds to every request to the function (the template's
/// `ApiOriginSecret`).
pub const ORIGIN_SECRET_HEADER: &str = "x-motcua-origin";

/// With `MOTCUA_ORIGIN_SECRET` set, a request that did not come through the distribution
/// (straight to API Gateway's own address, around the WAF) is refused.
pub async fn through_cloudfront(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(secret) = &state.config().origin_secret else {
        return next.run(request).await;
    };
    let sent = request
        .headers()
        .get(ORIGIN_SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if bool::from(subtle::ConstantTimeEq::ct_eq(sent, secret.as_slice())) {
        return next.run(request).await;
    }
    message(
        StatusCode::FORBIDDEN,
        "Dịch vụ này chỉ nhận yêu cầu gửi qua trang web của xã. Vui lòng mở trang web của xã rồi thao tác lại từ đó.",
    )
}

/// The client address a request came from, for the handlers (the day's allowance of
/// dossiers is counted by it).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

pub async fn limit_clients(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let behind_cloudfront = state.config().origin_secret.is_some();
    let Some(client) = client_address(&request, behind_cloudfront) else {
        return next.run(request).await;
    };
    request.extensions_mut().insert(ClientAddress(client));
    match state
        .client_limiter()
        .check(client, request.method(), request.uri().path())
    {
        Ok(()) => next.run(request).await,
        Err(over) => {
            let seconds = retry_after_secs(over.retry_after);
            tracing::warn!(limit = over.limit, "client over its rate limit");
            too_many(&state, &request, seconds)
        }
    }
}

/// The refusal: what happened, how long to wait, and that nothing typed is lost.
fn too_many(state: &AppState, request: &Request, seconds: u64) -> Response {
    let wait = if seconds < 90 {
        format!("khoảng {seconds} giây")
    } else {
        format!("khoảng {} phút", seconds.div_ceil(60))
    };
    let mut answer = if wants_page(request) {
        html(
            StatusCode::TOO_MANY_REQUESTS,
            crate::html::message_page(
                &state.inner.shell,
                "Xin chờ một chút rồi gửi lại",
                &format!(
                    "Trong ít phút vừa qua có quá nhiều yêu cầu gửi từ địa chỉ mạng của bạn (có thể từ nhiều người dùng chung một mạng), nên yêu cầu này CHƯA được nhận. Vui lòng chờ {wait} rồi gửi lại. Bấm nút Quay lại của trình duyệt để trở về biểu mẫu: những gì bạn đã nhập vẫn còn đó."
                ),
                None,
            ),
        )
    } else {
        message(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Có quá nhiều yêu cầu từ địa chỉ mạng của bạn trong ít phút vừa qua, nên yêu cầu này chưa được nhận. Vui lòng chờ {wait} rồi thử lại; những gì bạn đã nhập vẫn được giữ nguyên trên trang."
            ),
        )
    };
    answer.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).expect("digits"),
    );
    answer
}

/// A browser without script: a form post, or a page asked for by address.
fn wants_page(request: &Request) -> bool {
    let headers = request.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if request.method() == Method::POST {
        return content_type.starts_with("multipart/form-data")
            || content_type.starts_with("application/x-www-form-urlencoded");
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(viewer: Option<&str>) -> Request {
        let mut r = Request::builder().uri("/api/dossiers");
        if let Some(v) = viewer {
            r = r.header(VIEWER_ADDRESS_HEADER, v);
        }
        r.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn the_viewer_address_is_read_only_behind_cloudfront() {
        let v4 = request(Some("203.0.113.7:46532"));
        assert_eq!(
            client_address(&v4, true),
            Some("203.0.113.7".parse().unwrap())
        );
        let v6 = request(Some("2001:db8::1:46532"));
        assert_eq!(
            client_address(&v6, true),
            Some("2001:db8::1".parse().unwrap())
        );
        // Without CloudFront's proof, the header is the client's word: not believed.
        assert_eq!(client_address(&v4, false), None);
        assert_eq!(client_address(&request(Some("junk")), true), None);
    }

    #[test]
    fn the_local_peer_is_the_client() {
        let mut r = request(Some("203.0.113.7:1"));
        r.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        assert_eq!(
            client_address(&r, false),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
