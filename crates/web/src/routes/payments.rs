//! Paying a dossier's fee through a gateway (`crate::gateway`): the tracking page's
//! button (`POST /api/dossiers/{code}/pay`, the tracking token proving it is the
//! citizen's) opens the gateway's page for one new attempt; the gateway's IPN
//! (`GET /api/payments/vnpay/ipn`) records the payment as an event of the dossier,
//! once; its return (`GET /api/payments/vnpay/return`) shows the citizen the outcome.

use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::gateway::{Callback, Gateway, IpnOutcome, Order};
use crate::html::message_page;
use crate::respond::html;
use crate::routes::door::ClientAddress;
use crate::routes::track::{NOT_FOUND, lookup};
use crate::state::AppState;
use store::dossiers::read_dossier;

/// One click on "pay": which dossier, how much.
#[derive(Serialize, Deserialize)]
struct Attempt {
    code: String,
    amount: u64,
    created_at: String,
}

fn attempt_key(txn_ref: &str) -> String {
    format!("payments/attempts/{txn_ref}.json")
}

#[derive(Deserialize)]
pub struct PayForm {
    #[serde(default)]
    token: String,
}

fn page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    text: &str,
    back: Option<&str>,
) -> Response {
    html(
        status,
        message_page(
            &state.inner.shell,
            title,
            text,
            back.map(|b| (b, "Về trang tình trạng hồ sơ")),
        ),
    )
}

/// `POST /api/dossiers/{code}/pay`: a new attempt for what is still due, and a 303 to
/// the gateway's page.
pub async fn pay(
    State(state): State<AppState>,
    Path(code): Path<String>,
    client: Option<axum::Extension<ClientAddress>>,
    Form(form): Form<PayForm>,
) -> Response {
    let Some(gateway) = state.config().vnpay.clone() else {
        return page(
            &state,
            StatusCode::NOT_FOUND,
            "Chưa có cổng thanh toán",
            "Xã chưa dùng cổng thanh toán trực tuyến. Vui lòng chuyển khoản bằng mã VietQR trên trang tra cứu, hoặc trả khi nhận kết quả.",
            None,
        );
    };
    let back = format!(
        "../../track?code={}&token={}",
        dossier::tracking::encode(&code),
        dossier::tracking::encode(&form.token)
    );
    let due = match lookup(&state, &code, &form.token).await {
        Ok(Some(view)) => view.due_now,
        Ok(None) => {
            return page(
                &state,
                StatusCode::NOT_FOUND,
                "Không tìm thấy hồ sơ",
                NOT_FOUND,
                None,
            );
        }
        Err(_) => {
            return page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Chưa mở được cổng thanh toán",
                dossier::RETRY_MESSAGE,
                Some(&back),
            );
        }
    };
    if due == 0 {
        return page(
            &state,
            StatusCode::CONFLICT,
            "Không còn phí phải nộp",
            "Hồ sơ này không còn khoản phí nào phải nộp.",
            Some(&back),
        );
    }
    let now = OffsetDateTime::now_utc();
    let txn_ref = hex::encode(rand::random::<[u8; 8]>());
    let attempt = Attempt {
        code: code.trim().to_owned(),
        amount: due,
        created_at: catalog::vn_time::format_time(now),
    };
    let body = Bytes::from(serde_json::to_vec(&attempt).expect("json"));
    if state
        .storage()
        .put_if_absent(&attempt_key(&txn_ref), body, "application/json")
        .await
        .is_err()
    {
        return page(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Chưa mở được cổng thanh toán",
            dossier::RETRY_MESSAGE,
            Some(&back),
        );
    }
    let ip = client.map_or_else(|| "127.0.0.1".to_owned(), |c| c.0.0.to_string());
    let info = format!(
        "Nop phi ho so {}",
        catalog::vietqr::transfer_message(&attempt.code)
    );
    let return_url = format!("{}/api/payments/vnpay/return", state.config().public_url);
    let url = gateway.payment_url(&Order {
        txn_ref: &txn_ref,
        amount: due,
        info: &info,
        client_ip: &ip,
        now,
        return_url: &return_url,
    });
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.as_str()),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}

fn params(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// `GET /api/payments/vnpay/ipn`: the gateway's word, answered in its protocol.
pub async fn vnpay_ipn(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some(gateway) = state.config().vnpay.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let outcome = match gateway.verify(&params(query)) {
        None => IpnOutcome::BadSignature,
        Some(callback) => settle(&state, &gateway, &callback)
            .await
            .unwrap_or(IpnOutcome::Unavailable),
    };
    if outcome != IpnOutcome::Confirmed && outcome != IpnOutcome::AlreadyConfirmed {
        tracing::warn!(?outcome, "payment gateway notice not recorded");
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(gateway.ipn_answer(outcome)),
    )
        .into_response()
}

/// Records a verified callback once: the attempt must exist with the same amount; a
/// payment already in the dossier's events under this attempt's reference is not
/// recorded again; of two notices at once, the conditional append lets one write and
/// the other find it on its next look.
async fn settle(
    state: &AppState,
    gateway: &impl Gateway,
    callback: &Callback,
) -> Result<IpnOutcome, store::StorageError> {
    let storage = state.storage();
    if !callback.txn_ref.bytes().all(|b| b.is_ascii_alphanumeric()) || callback.txn_ref.len() > 40 {
        return Ok(IpnOutcome::UnknownOrder);
    }
    let Some(bytes) = storage.get(&attempt_key(&callback.txn_ref)).await? else {
        return Ok(IpnOutcome::UnknownOrder);
    };
    let Ok(attempt) = serde_json::from_slice::<Attempt>(&bytes) else {
        return Ok(IpnOutcome::UnknownOrder);
    };
    if attempt.amount != callback.amount {
        return Ok(IpnOutcome::WrongAmount);
    }
    let reference = format!(
        "{} {} ({})",
        gateway.name(),
        callback.transaction_no,
        callback.txn_ref
    );
    for _ in 0..8 {
        let Some((manifest, events)) = read_dossier(storage, &attempt.code).await? else {
            return Ok(IpnOutcome::UnknownOrder);
        };
        let recorded = events.iter().filter_map(|e| e.payment.as_ref()).any(|p| {
            p.reference
                .as_deref()
                .is_some_and(|r| r.ends_with(&format!("({})", callback.txn_ref)))
        });
        if recorded {
            return Ok(IpnOutcome::AlreadyConfirmed);
        }
        if !callback.paid {
            // A payment that did not go through: nothing to record; the citizen may try
            // again with a new attempt.
            return Ok(IpnOutcome::Confirmed);
        }
        let now = OffsetDateTime::now_utc();
        let event = dossier::step::gateway_payment(
            &events,
            now,
            callback.amount,
            gateway.name(),
            reference.clone(),
        );
        let seq = events.len() as u32 + 1;
        if crate::admin::actions::append_event(state, &manifest, &event, seq, now).await? {
            let mut events = events;
            events.push(event);
            state
                .index()
                .lock()
                .await
                .record(dossier::summarize(&manifest, &events));
            return Ok(IpnOutcome::Confirmed);
        }
    }
    Ok(IpnOutcome::Unavailable)
}

/// `GET /api/payments/vnpay/return`: where the gateway sends the citizen back.
pub async fn vnpay_return(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some(gateway) = state.config().vnpay.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(callback) = gateway.verify(&params(query)) else {
        return page(
            &state,
            StatusCode::BAD_REQUEST,
            "Không xác nhận được kết quả thanh toán",
            "Thông tin cổng thanh toán gửi về không đúng chữ ký nên không dùng được. Nếu tài khoản của bạn đã bị trừ tiền, xã sẽ đối chiếu và ghi nhận; vui lòng xem lại trang tra cứu hồ sơ sau ít phút.",
            None,
        );
    };
    // The way back to the dossier: its tracking link, derived again from the manifest.
    let back = match state.storage().get(&attempt_key(&callback.txn_ref)).await {
        Ok(Some(bytes)) => match serde_json::from_slice::<Attempt>(&bytes) {
            Ok(attempt) => match read_dossier(state.storage(), &attempt.code).await {
                Ok(Some((m, _))) => Some(state.tracking_url(
                    &m.code,
                    &state.tracking_token(&m.code, &m.idempotency_key_sha256),
                )),
                _ => None,
            },
            Err(_) => None,
        },
        _ => None,
    };
    if callback.paid {
        page(
            &state,
            StatusCode::OK,
            "Thanh toán thành công",
            &format!(
                "Bạn đã trả {} qua {}. Trang tra cứu hồ sơ sẽ ghi \"Đã nộp phí\" khi cổng thanh toán báo về cho xã (thường ngay lập tức). Mã giao dịch: {}.",
                catalog::fee::dong(callback.amount),
                gateway.name(),
                callback.transaction_no
            ),
            back.as_deref(),
        )
    } else {
        page(
            &state,
            StatusCode::OK,
            "Thanh toán chưa thành công",
            "Giao dịch chưa hoàn tất nên chưa có khoản nào được ghi nhận. Bạn có thể thử lại từ trang tra cứu hồ sơ, chuyển khoản bằng mã VietQR, hoặc trả khi nhận kết quả.",
            back.as_deref(),
        )
    }
}
