//! Snapshots of every page the function renders (`web::html`), from plain values:
//! the fixture content, a receipt built from a fixture manifest, a tracking view. The
//! names, notes and file names carry markup, quotes and ampersands, to show what is
//! escaped and what is not.

mod common;

use std::path::PathBuf;

use axum::http::StatusCode;

use catalog::validate::{FieldError, RawValues};
use catalog::{Appointment, Content, Day, Procedure};
use dossier::receipt::{self, Receipt};
use dossier::tracking::{ProcedureBrief, TrackView};
use dossier::{Attachment, ContactInfo, Event, Manifest, ProcedureRef, Status};
use time::macros::{date, time};
use web::html::{
    DeskReceipt, Layout, Shell, desk_receipt_page, errors_page, form_errors_page, message_page,
    receipt_html, receipt_page, track_form_page, track_page,
};

const HOSTILE: &str = r#"<script>alert("x")</script> & 'Nguyễn'"#;

fn content() -> Content {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content");
    catalog::load(&dir).expect("fixture content loads")
}

/// The fixture site's own shell (what a state built from content uses).
fn shell(content: &Content) -> Shell {
    Shell::plain(&content.site.name)
}

/// A shell as the bundle carries it, with a hostile site name.
fn hostile_shell() -> Shell {
    Shell {
        site_name: "Xã <Thử> & \"Nghiệm\"".into(),
        css_href: "/assets/site.0123456789.css?a=1&b=2".into(),
        header_html: r#"<header class="top"><nav><a href="/">Trang chủ</a></nav></header>"#.into(),
        footer_html: r#"<footer class="foot"><p>© Xã Thử Nghiệm</p></footer>"#.into(),
    }
}

fn khai_sinh(content: &Content) -> &Procedure {
    content
        .procedures
        .iter()
        .find(|p| p.code == "1.001193")
        .expect("the fixture's birth registration")
}

fn attachment(field: &str, name: &str) -> Attachment {
    Attachment {
        field: field.into(),
        name: name.into(),
        key: format!("dossiers/2025/04/T00-250430-0007/files/{field}"),
        size: 1234,
        sha256: "0".repeat(64),
        kind: "application/pdf".into(),
    }
}

fn manifest(procedure: &Procedure, contact: ContactInfo, attachments: Vec<Attachment>) -> Manifest {
    Manifest {
        version: 1,
        code: "T00.01.01-250430-0007".into(),
        procedure: ProcedureRef::from(procedure),
        unit_code: "T00.01.01".into(),
        fields: serde_json::Map::new(),
        attachments,
        paper: Vec::new(),
        contact,
        appointment: Appointment {
            day: Day(date!(2025 - 05 - 02)),
            time: time!(16:00),
        },
        received_at: "2025-04-30T07:05:00Z".into(),
        channel: "json".into(),
        tracking_token_sha256: "1".repeat(64),
        idempotency_key_sha256: "2".repeat(64),
        delivery: None,
        delivery_address: None,
        fee: None,
    }
}

/// A receipt with every optional part: address, e-mail, a document and an attachment
/// no document names, with hostile names throughout.
fn full_receipt(content: &Content) -> Receipt {
    let procedure = khai_sinh(content);
    let m = manifest(
        procedure,
        ContactInfo {
            name: HOSTILE.into(),
            phone: "0905123456".into(),
            email: Some("a&b@example.vn".into()),
            address: Some("Thôn <1> & \"Làng\" 'Mới'".into()),
            notify_by: None,
        },
        vec![
            attachment("giay_chung_sinh", "chứng <sinh> & \"mẹ\".pdf"),
            attachment("giay_chung_sinh", "trang-2.pdf"),
            attachment("giay_khac", "khác'1'.pdf"),
        ],
    );
    let token = "tok_<&>\"'".to_owned();
    let url = dossier::tracking::url(&content.site.base_url, &m.code, &token);
    receipt::build(&content.site, "T00.01.01", procedure, &m, token, url)
}

/// A receipt with nothing optional: no address, no e-mail, no files.
fn bare_receipt(content: &Content) -> Receipt {
    let procedure = khai_sinh(content);
    let m = manifest(
        procedure,
        ContactInfo {
            name: "Trần Thị B".into(),
            phone: "0905123456".into(),
            ..ContactInfo::default()
        },
        Vec::new(),
    );
    let token = "abcDEF123_-".to_owned();
    let url = dossier::tracking::url(&content.site.base_url, &m.code, &token);
    receipt::build(&content.site, "T00.01.01", procedure, &m, token, url)
}

fn event(at: &str, status: Status) -> Event {
    Event::new(at.into(), status)
}

fn track_view() -> TrackView {
    let mut accepted = event("2025-04-30T08:00:00Z", Status::Accepted);
    accepted.by = Some("officer".into());
    accepted.by_name = Some("Cán bộ".into());
    let mut asked = event("2025-04-30T09:30:00Z", Status::SupplementRequested);
    asked.note = Some("Thiếu <bản sao> giấy chứng sinh & CCCD \"mẹ\"".into());
    asked.missing = Some("Giấy chứng sinh".into());
    let mut sent = event("2025-05-01T01:15:00Z", Status::Supplemented);
    sent.note = Some(HOSTILE.into());
    sent.files = vec![attachment("supplement", "bổ <sung> & 'mới'.pdf")];
    let mut labelled = event("not a time <&>", Status::Supplemented);
    labelled.label = "Nhãn <cũ> & \"khác\"".into();
    TrackView {
        code: "T00.01.01-250430-0007".into(),
        procedure: ProcedureBrief {
            code: "1.001193".into(),
            title: "Đăng ký <khai> & \"sinh\"".into(),
        },
        status: Status::Supplemented,
        status_label: Status::Supplemented.label().to_owned(),
        appointment: "2025-05-02T16:00".into(),
        appointment_text: "16:00, ngày 02/05/2025".into(),
        delivery_text: None,
        fee: None,
        transfer: None,
        payment_label: None,
        due_now: 0,
        refund_due_text: None,
        e_receipts: Vec::new(),
        result_files: Vec::new(),
        can_rate: false,
        rating: None,
        access: Vec::new(),
        history: vec![
            event("2025-04-30T07:05:00Z", Status::Received),
            accepted,
            asked,
            sent,
            labelled,
        ],
    }
}

#[test]
fn layout() {
    let content = content();
    insta::assert_snapshot!(
        "layout_plain",
        shell(&content).page("Tiêu đề <b> & \"x\"", "<p>Nội dung</p>")
    );
    insta::assert_snapshot!(
        "layout_hostile_shell",
        hostile_shell().page("Trang 'thử'", "<p>Nội dung</p>")
    );
}

#[test]
fn message_pages() {
    let content = content();
    let shell = shell(&content);
    insta::assert_snapshot!(
        "message_without_back",
        message_page(&shell, "Lỗi <máy chủ>", HOSTILE, None)
    );
    insta::assert_snapshot!(
        "message_with_back",
        message_page(
            &hostile_shell(),
            "Không gửi được",
            "Tệp quá lớn & \"nặng\".",
            Some(("/thu-tuc/?a=1&b=<2>", "Quay lại <trang> 'trước'")),
        )
    );
}

#[test]
fn form_errors() {
    let content = content();
    let mut procedure = khai_sinh(&content).clone();
    procedure.title = format!("Đăng ký khai sinh {HOSTILE}");
    let mut values = RawValues::new();
    values.insert("ho_ten".into(), vec![HOSTILE.into()]);
    values.insert("dien_thoai".into(), vec!["12&3".into()]);
    values.insert("nhan_thong_bao".into(), vec!["sms".into(), "email".into()]);
    let errors = vec![
        FieldError::new("dien_thoai", "Số điện thoại <không> hợp lệ & \"sai\"."),
        FieldError::new("email", "Hãy nhập thư điện tử."),
        FieldError::new("_form", "Câu trả lời 'chưa đúng'."),
    ];
    insta::assert_snapshot!(
        "form_errors",
        form_errors_page(
            &shell(&content),
            &procedure,
            &values,
            &errors,
            &web::gate::Gate {
                question: "Ba cộng <bốn> & \"năm\" bằng mấy?".into(),
                token: "token-<1>&\"2\"".into(),
            },
            "key-<1>&\"2\"",
        )
    );
}

#[test]
fn the_plain_forms_question_in_its_frame() {
    let content = content();
    insta::assert_snapshot!(
        "gate",
        web::html::gate_page(&shell(&content), "Bảy <cộng> & \"hai\" bằng mấy?")
    );
}

#[test]
fn errors_without_form() {
    let content = content();
    let errors = vec![
        FieldError::new("procedure", format!("Không có thủ tục {HOSTILE}.")),
        FieldError::new("_form", "Lỗi thứ hai & cuối."),
    ];
    insta::assert_snapshot!(
        "errors",
        errors_page(&shell(&content), "Không tìm thấy <thủ tục>", &errors)
    );
    insta::assert_snapshot!(
        "errors_empty",
        errors_page(&shell(&content), "Không có lỗi", &[])
    );
}

#[test]
fn receipts() {
    let content = content();
    let shell = shell(&content);
    insta::assert_snapshot!(
        "receipt_full",
        receipt_page(&shell, &full_receipt(&content))
    );
    insta::assert_snapshot!(
        "receipt_bare",
        receipt_page(&shell, &bare_receipt(&content))
    );
}

/// The receipt the site's form page shows after a JSON submission is the receipt page's
/// own, without the page around it (and its script).
#[test]
fn the_receipt_is_one_partial() {
    let content = content();
    for r in [full_receipt(&content), bare_receipt(&content)] {
        let part = receipt_html(&r);
        assert!(part.starts_with("<article class=\"receipt\""), "{part}");
        assert!(part.ends_with("</article>"), "{part}");
        let page = receipt_page(&shell(&content), &r);
        assert!(
            page.contains(&format!(
                "<main id=\"noi-dung\" class=\"wrap\">\n{part}\n<script "
            )),
            "{page}"
        );
    }
}

#[tokio::test]
async fn the_json_answer_carries_the_receipt_html() {
    let h = common::harness().await;
    let submit = || async {
        let altcha = h.altcha().await;
        h.post_json(
            "/api/dossiers",
            &serde_json::json!({"procedure": "2.000635", "idempotency_key": "key-pages-0001",
                "altcha": altcha, "values": common::trich_luc_values()}),
        )
        .await
    };
    let a = submit().await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let v = a.json();
    let code = v["receipt"]["code"].as_str().unwrap();
    let token = v["receipt"]["tracking_token"].as_str().unwrap();
    let html = v["receipt_html"]
        .as_str()
        .expect("receipt_html is a string");
    assert!(html.starts_with("<article class=\"receipt\""), "{html}");
    assert!(html.contains(&format!(
        "<p class=\"receipt-code\">Mã hồ sơ: <strong>{code}</strong></p>"
    )));
    assert!(html.contains(&format!("<code>{token}</code>")));
    assert!(html.contains("<svg"), "the QR code");
    assert!(html.contains("<button type=\"button\" data-print hidden>"));
    // The site's CSP: no inline script, no style attribute.
    for banned in ["<script", " style=", " onclick="] {
        assert!(!html.contains(banned), "{banned} in {html}");
    }
    // The same submission again: the same receipt, the same HTML.
    let again = submit().await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["receipt_html"], v["receipt_html"]);
}

#[test]
fn desk_receipts() {
    let content = content();
    let shell = shell(&content);
    let full = full_receipt(&content);
    insta::assert_snapshot!(
        "desk_receipt_full",
        desk_receipt_page(
            &shell,
            &DeskReceipt {
                receipt: &full,
                authority: "ỦY BAN NHÂN DÂN XÃ <THỬ> & \"NGHIỆM\"".into(),
                dated: "Thử Nghiệm, ngày 30 tháng 4 năm 2025".into(),
                accepted_at: "15 giờ 00 phút, ngày 30/04/2025 & 'sau'".into(),
                officer: HOSTILE.into(),
            }
        )
    );
    let bare = bare_receipt(&content);
    insta::assert_snapshot!(
        "desk_receipt_bare",
        desk_receipt_page(
            &shell,
            &DeskReceipt {
                receipt: &bare,
                authority: "ỦY BAN NHÂN DÂN XÃ THỬ NGHIỆM".into(),
                dated: "Thử Nghiệm, ngày 30 tháng 4 năm 2025".into(),
                accepted_at: "15 giờ 00 phút, ngày 30/04/2025".into(),
                officer: "Nguyễn Văn Tiếp Nhận".into(),
            }
        )
    );
}

#[test]
fn tracking() {
    let content = content();
    let shell = shell(&content);
    let view = track_view();
    insta::assert_snapshot!("track", track_page(&shell, &view, "abc", None, None));
    insta::assert_snapshot!(
        "track_with_supplement",
        track_page(&shell, &view, "tok_<&>\"'", Some("tok_<&>\"'"), None)
    );
    let mut quiet = track_view();
    quiet.code = "T00.01.01-250430-0008 <&>\"".into();
    quiet.status_label = "Nhãn <riêng> & 'khác'".into();
    quiet.history.clear();
    insta::assert_snapshot!(
        "track_no_history",
        track_page(&shell, &quiet, "abc", Some("abc"), None)
    );
}

#[test]
fn tracking_form() {
    let content = content();
    let shell = shell(&content);
    insta::assert_snapshot!("track_form", track_form_page(&shell, None));
    insta::assert_snapshot!(
        "track_form_with_message",
        track_form_page(&shell, Some(HOSTILE))
    );
}
