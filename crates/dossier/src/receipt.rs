//! The receipt: the fields of "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" (Mẫu số 01,
//! Phụ lục I, Thông tư 03/2025/TT-VPCP guiding Decree 118/2025/NĐ-CP, in force since
//! 15 September 2025 in place of Mẫu 01 of Thông tư 01/2018/TT-VPCP), with a QR code that
//! opens the tracking page. The new form's layout was not available to check; the fields
//! are those the old one had.

use catalog::vn_time::{hhmm, received_text};
use catalog::{Appointment, Delivery, Procedure, Site};
use serde::Serialize;

use crate::Manifest;
use crate::qr::qr_svg;

#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// "Mẫu số 01 – Thông tư số 03/2025/TT-VPCP"
    pub form: &'static str,
    pub title: &'static str,
    pub code: String,
    pub receiving_unit: Unit,
    pub applicant: Applicant,
    pub procedure: ProcedureInfo,
    /// What is requested ("Đăng ký khai sinh").
    pub requested: String,
    pub documents: Vec<DocumentReceived>,
    /// Number of sets of papers.
    pub sets: u32,
    pub processing_time: String,
    pub received_at: String,
    /// "14 giờ 05 phút, ngày 30/04/2025"
    pub received_at_text: String,
    pub appointment: AppointmentInfo,
    pub result_collection: String,
    /// The amount asked, if any.
    pub fee: Option<crate::payment::FeeView>,
    /// How to pay it by bank transfer, when the commune has an account.
    pub transfer: Option<crate::payment::Transfer>,
    pub tracking_token: String,
    pub tracking_url: String,
    /// Inline SVG of the tracking URL.
    pub qr_svg: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Applicant {
    pub name: String,
    pub address: Option<String>,
    pub phone: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcedureInfo {
    pub code: String,
    pub title: String,
    pub level: u8,
    pub level_name: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentReceived {
    pub name: String,
    pub kind: String,
    pub copies: u32,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppointmentInfo {
    pub date: String,
    pub time: String,
    /// "16 giờ 00, ngày 30/04/2025"
    pub text: String,
}

/// "16 giờ 00, ngày 30/04/2025", with the date and time apart.
pub fn appointment_info(a: &Appointment) -> AppointmentInfo {
    let time = hhmm(a.time);
    AppointmentInfo {
        date: a.day.iso(),
        text: format!(
            "{} giờ {}, ngày {}",
            &time[..2],
            &time[3..],
            a.day.vietnamese()
        ),
        time,
    }
}

/// How the paper of form field `field` was received: the files uploaded for it, or the
/// paper the desk holds.
fn received_as(m: &Manifest, field: &str) -> Vec<String> {
    if m.paper.iter().any(|p| p == field) {
        return vec![PAPER_AT_DESK.to_owned()];
    }
    m.attachments
        .iter()
        .filter(|a| a.field == field)
        .map(|a| a.name.clone())
        .collect()
}

/// What a paper received at the desk reads as in a receipt's list of papers.
pub const PAPER_AT_DESK: &str = "bản giấy nộp tại quầy";

/// The receipt of dossier `m`, with the tracking link its QR code opens.
pub fn build(
    site: &Site,
    unit_code: &str,
    procedure: &Procedure,
    m: &Manifest,
    token: String,
    url: String,
) -> Receipt {
    let mut documents = Vec::new();
    let mut covered = Vec::new();
    for doc in &procedure.documents {
        let Some(field) = &doc.upload else { continue };
        let files = received_as(m, field);
        if files.is_empty() {
            continue;
        }
        covered.push(field.clone());
        documents.push(DocumentReceived {
            name: doc.name.clone(),
            kind: doc.kind.label().to_owned(),
            copies: doc.copies,
            files,
        });
    }
    // Attachments whose field no document names.
    if let Some(form) = &procedure.form {
        for field in form.attachments() {
            if covered.contains(&field.id) {
                continue;
            }
            let files = received_as(m, &field.id);
            if !files.is_empty() {
                documents.push(DocumentReceived {
                    name: field.label.clone(),
                    kind: if m.paper.contains(&field.id) {
                        "bản giấy"
                    } else {
                        "bản chụp/bản quét"
                    }
                    .into(),
                    copies: 1,
                    files,
                });
            }
        }
    }
    let result_collection = result_collection(site, procedure, m);
    Receipt {
        form: "Mẫu số 01 – Thông tư số 03/2025/TT-VPCP",
        title: "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        code: m.code.clone(),
        receiving_unit: Unit {
            code: unit_code.to_owned(),
            name: format!(
                "Trung tâm Phục vụ hành chính công {}",
                lower_first(&site.name)
            ),
            address: site.address.clone(),
        },
        applicant: Applicant {
            name: m.contact.name.clone(),
            address: m.contact.address.clone(),
            phone: m.contact.phone.clone(),
            email: m.contact.email.clone(),
        },
        procedure: ProcedureInfo {
            code: procedure.code.clone(),
            title: procedure.title.clone(),
            level: procedure.level,
            level_name: procedure.level_name(),
        },
        requested: procedure.title.clone(),
        documents,
        sets: 1,
        processing_time: procedure.processing.text.clone(),
        received_at_text: received_text(&m.received_at),
        received_at: m.received_at.clone(),
        appointment: appointment_info(&m.appointment),
        result_collection,
        fee: crate::payment::fee_view(m),
        transfer: crate::payment::transfer(site.bank.as_ref(), m),
        qr_svg: qr_svg(&url, "Mã QR để tra cứu hồ sơ"),
        tracking_token: token,
        tracking_url: url,
    }
}

/// Where the result goes: the way the citizen chose (Mẫu 01's "nơi nhận kết quả");
/// for a dossier without a recorded choice, the ways the procedure offers.
pub fn result_collection(site: &Site, procedure: &Procedure, m: &Manifest) -> String {
    match m.delivery {
        Some(Delivery::Desk) => format!("{} – {}", Delivery::Desk.label(), site.address),
        Some(_) => chosen_delivery_text(m).unwrap_or_default(),
        None => {
            let offered: Vec<&str> = procedure.delivery.iter().map(|d| d.label()).collect();
            format!("{} – {}", offered.join("; "), site.address)
        }
    }
}

/// The way the citizen chose, in words: the postal address with post, where to
/// download with the electronic copy (the tracking page and the receipt alike).
pub fn chosen_delivery_text(m: &Manifest) -> Option<String> {
    let way = m.delivery?;
    Some(match (way, &m.delivery_address) {
        (Delivery::Post, Some(address)) => format!("{}, gửi đến: {address}", way.label()),
        (Delivery::Online, _) => format!("{}, tải về từ trang tra cứu hồ sơ", way.label()),
        _ => way.label().to_owned(),
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_is_inline_svg() {
        let svg = qr_svg(
            "https://example.vn/api/track?code=A-250101-0001&token=abc",
            "Mã QR để tra cứu hồ sơ",
        );
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..60]);
        assert!(!svg.contains("<?xml"));
    }
}
