//! `GET /api/admin/dossiers/{code}/receipt`: the receipt a received dossier gets at the
//! desk, in the layout of "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" (Mẫu số 01, Phụ lục I
//! of Thông tư 03/2025/TT-VPCP, guiding Decree 118/2025/NĐ-CP; it replaced Mẫu 01 of Thông
//! tư 01/2018/TT-VPCP from 15 September 2025), two copies to print: one kept, one for the
//! citizen.
//!
//! It is the citizen's online receipt with what the desk decided: the appointment the
//! officer set on receiving the dossier, and the officer's name to sign under.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use catalog::vn_time::{parse_time, received_text};
use dossier::{RETRY_MESSAGE, receipt};

use crate::html::{DeskReceipt, desk_receipt_page, message_page};
use crate::respond::html;
use crate::state::AppState;

pub const NOT_RECEIVED: &str = "Hồ sơ này chưa được tiếp nhận tại Trung tâm Phục vụ hành chính công xã. Hãy tiếp nhận và hẹn ngày trả kết quả trước, rồi in giấy tiếp nhận.";

pub async fn receipt(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<super::auth::Session>,
    Path(code): Path<String>,
) -> Response {
    let shell = &state.inner.shell;
    let problem = |status, text: &str| {
        html(
            status,
            message_page(shell, "Không in được giấy tiếp nhận", text, None),
        )
    };
    // The printed receipt shows the citizen's details: its opening is logged too.
    let (read, line) = tokio::join!(
        store::dossiers::read_dossier(state.storage(), &code),
        super::log_access(&state, &session, &code, dossier::access::Opened::Receipt)
    );
    let (manifest, events) = match read {
        Ok(Some(d)) => d,
        Ok(None) => {
            super::unlog_access(&state, line).await;
            return problem(StatusCode::NOT_FOUND, super::NOT_FOUND);
        }
        Err(_) => return problem(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    let Some(accepted) = events.iter().rev().find(|e| e.status.is_acceptance()) else {
        return problem(StatusCode::CONFLICT, NOT_RECEIVED);
    };
    let Some(procedure) = state.procedure(&manifest.procedure.code) else {
        return problem(
            StatusCode::CONFLICT,
            "Thủ tục của hồ sơ này không còn trong danh mục của trang; không dựng lại được giấy tiếp nhận.",
        );
    };
    let mut r = state.receipt(procedure, &manifest, &manifest.idempotency_key_sha256);
    if let Some(a) = &accepted.appointment {
        r.appointment = receipt::appointment_info(a);
    }
    let site = state.site();
    let place = ["Xã ", "Phường ", "Thị trấn "]
        .iter()
        .find_map(|p| site.name.strip_prefix(p))
        .unwrap_or(&site.name);
    let dated = parse_time(&accepted.at).map_or_else(String::new, |t| {
        format!(
            "{place}, ngày {:02} tháng {:02} năm {}",
            t.day(),
            u8::from(t.month()),
            t.year()
        )
    });
    let page = desk_receipt_page(
        shell,
        &DeskReceipt {
            receipt: &r,
            authority: format!("Ủy ban nhân dân {}", site.name).to_uppercase(),
            dated,
            accepted_at: received_text(&accepted.at),
            officer: accepted
                .by_name
                .clone()
                .or_else(|| accepted.by.clone())
                .unwrap_or_default(),
        },
    );
    html(StatusCode::OK, page)
}
