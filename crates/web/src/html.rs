//! The function's HTML pages: the receipt, the form with its errors, the tracking page
//! and plain messages. Each sits in a [`Shell`]: the site's stylesheet, header and
//! footer from the function bundle, the same in development and in production.

use std::fmt::Write;

use catalog::Procedure;
use catalog::form_html::{FormView, escape, render_form};
use catalog::validate::{FieldError, RawValues};

use crate::routes::PAGE_SCRIPT;
use crate::routes::track::TrackView;
use dossier::receipt::Receipt;

/// The layout around every page of the function: the site's stylesheet, header and
/// footer, which the generator puts in the function bundle (`catalog::Shell`).
pub use catalog::Shell;

/// A page of the function inside the site's layout. A trait because the layout's data
/// is the bundle's (in `catalog`), while its HTML belongs with the function's pages.
pub trait Layout {
    fn page(&self, title: &str, main: &str) -> String;
}

impl Layout for Shell {
    fn page(&self, title: &str, main: &str) -> String {
        format!(
            r##"<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} – {site}</title>
<link rel="stylesheet" href="{css}">
</head>
<body>
<a class="skip" href="#noi-dung">Bỏ qua, đến nội dung chính</a>
{header}
<main id="noi-dung" class="wrap">
{main}
</main>
{footer}
</body>
</html>
"##,
            title = escape(title),
            site = escape(&self.site_name),
            css = escape(&self.css_href),
            header = self.header_html,
            footer = self.footer_html,
        )
    }
}

/// A page with one message and a way back.
pub fn message_page(
    shell: &Shell,
    title: &str,
    message: &str,
    back: Option<(&str, &str)>,
) -> String {
    let mut main = format!(
        r#"<h1>{}</h1><div class="notice" role="alert"><p>{}</p></div>"#,
        escape(title),
        escape(message)
    );
    if let Some((href, label)) = back {
        let _ = write!(
            main,
            r#"<p><a href="{}">{}</a></p>"#,
            escape(href),
            escape(label)
        );
    }
    shell.page(title, &main)
}

/// The form again, filled as sent, with its errors. `catalog::form_html` renders it
/// (with the error summary), so the page and the site's form never differ.
pub fn form_errors_page(
    shell: &Shell,
    procedure: &Procedure,
    values: &RawValues,
    errors: &[FieldError],
    human_question: &str,
    idempotency_key: &str,
) -> String {
    let form = render_form(&FormView {
        procedure,
        action: "/api/dossiers/form",
        api_base: "/api",
        values,
        errors,
        human_question: Some(human_question),
        idempotency_key,
    });
    let main = format!(
        r#"<h1>{}</h1><p>Hồ sơ <strong>chưa được gửi</strong>. Vui lòng sửa các mục được đánh dấu rồi gửi lại. Các tệp đã chọn cần chọn lại.</p>{form}"#,
        escape(&procedure.title)
    );
    shell.page(&format!("Lỗi: {}", procedure.title), &main)
}

/// A list of errors without the form (when the procedure is unknown).
pub fn errors_page(shell: &Shell, title: &str, errors: &[FieldError]) -> String {
    let mut main = format!(
        r#"<h1>{}</h1><div class="error-summary" role="alert" tabindex="-1"><h2>Hồ sơ chưa được gửi</h2><ul>"#,
        escape(title)
    );
    for e in errors {
        let _ = write!(main, "<li>{}</li>", escape(&e.message));
    }
    main.push_str(r#"</ul></div><p><a href="/">Về trang chủ để chọn lại thủ tục</a></p>"#);
    shell.page(title, &main)
}

fn row(h: &mut String, label: &str, value: &str) {
    let _ = write!(
        h,
        "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
        escape(label),
        escape(value)
    );
}

pub fn receipt_page(shell: &Shell, r: &Receipt) -> String {
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        r#"<article class="receipt" aria-labelledby="receipt-title">
<p class="receipt-form">{form}</p>
<p class="receipt-unit">{unit}</p>
<h1 id="receipt-title">{title}</h1>
<p class="receipt-code">Mã hồ sơ: <strong>{code}</strong></p>
<p class="receipt-ok" role="status">Hồ sơ đã được gửi thành công. Vui lòng lưu hoặc in giấy này.</p>
<table class="receipt-table"><tbody>"#,
        form = escape(r.form),
        unit = escape(&r.receiving_unit.name),
        title = escape(r.title),
        code = escape(&r.code),
    );
    row(
        &mut h,
        "Đơn vị tiếp nhận",
        &format!("{} (mã {})", r.receiving_unit.name, r.receiving_unit.code),
    );
    row(&mut h, "Người nộp hồ sơ", &r.applicant.name);
    row(
        &mut h,
        "Địa chỉ",
        r.applicant.address.as_deref().unwrap_or("—"),
    );
    row(&mut h, "Số điện thoại", &r.applicant.phone);
    row(
        &mut h,
        "Thư điện tử",
        r.applicant.email.as_deref().unwrap_or("—"),
    );
    row(
        &mut h,
        "Nội dung yêu cầu giải quyết",
        &format!("{} (mã thủ tục {})", r.requested, r.procedure.code),
    );
    h.push_str("<tr><th scope=\"row\">Giấy tờ đã nhận</th><td>");
    if r.documents.is_empty() {
        h.push_str("Tờ khai trực tuyến");
    } else {
        h.push_str("<ol>");
        for d in &r.documents {
            let _ = write!(
                h,
                "<li>{} ({}): {}</li>",
                escape(&d.name),
                escape(&d.kind),
                escape(&d.files.join(", "))
            );
        }
        h.push_str("</ol>");
    }
    let _ = write!(h, "Số bộ hồ sơ: {}</td></tr>", r.sets);
    row(
        &mut h,
        "Thời gian giải quyết theo quy định",
        &r.processing_time,
    );
    row(&mut h, "Thời gian nhận hồ sơ", &r.received_at_text);
    row(
        &mut h,
        "Thời gian trả kết quả (hẹn trả)",
        &r.appointment.text,
    );
    row(&mut h, "Nơi nhận kết quả", &r.result_collection);
    let _ = write!(
        h,
        r#"</tbody></table>
<section class="receipt-tracking" aria-labelledby="tracking-title">
<h2 id="tracking-title">Tra cứu hồ sơ</h2>
<p>Mã tra cứu: <strong><code>{token}</code></strong></p>
<p>Quét mã QR hoặc mở đường dẫn: <a href="{url}">{url_text}</a></p>
<figure class="receipt-qr">{qr}<figcaption>Mã QR mở trang tra cứu hồ sơ {code}</figcaption></figure>
</section>
<p class="no-print"><button type="button" data-print hidden>In giấy tiếp nhận</button></p>
</article>
<script src="{PAGE_SCRIPT}" defer></script>"#,
        token = escape(&r.tracking_token),
        url = escape(&r.tracking_url),
        url_text = escape(&r.tracking_url),
        qr = r.qr_svg,
        code = escape(&r.code),
    );
    shell.page(&format!("Giấy tiếp nhận hồ sơ {}", r.code), &h)
}

/// What the desk's printed receipt adds to the citizen's.
pub struct DeskReceipt<'a> {
    pub receipt: &'a Receipt,
    /// "ỦY BAN NHÂN DÂN XÃ IA PẾT"
    pub authority: String,
    /// "Ia Pết, ngày 26 tháng 11 năm 2026"
    pub dated: String,
    /// When the desk received the dossier, as text.
    pub accepted_at: String,
    /// Who received it, to sign under.
    pub officer: String,
}

/// Mẫu số 01 twice, one copy a printed page: "Liên 1" kept by the desk, "Liên 2" for the
/// citizen, with the QR code that opens the tracking page.
pub fn desk_receipt_page(shell: &Shell, d: &DeskReceipt) -> String {
    let r = d.receipt;
    let mut main = String::with_capacity(16_384);
    let _ = write!(
        main,
        r#"<p class="no-print notice">Dùng lệnh In của trình duyệt (Ctrl+P) để in hai liên, mỗi liên một trang: liên 1 lưu tại Trung tâm Phục vụ hành chính công xã, liên 2 giao người nộp hồ sơ.</p>"#
    );
    for (n, copy) in [
        (1, "Lưu tại Trung tâm Phục vụ hành chính công xã"),
        (2, "Giao người nộp hồ sơ"),
    ] {
        let heading = if n == 1 { "h1" } else { "h2" };
        let _ = write!(
            main,
            r#"<article class="mau01" aria-labelledby="mau01-{n}">
<div class="mau01-head"><div><p><strong>{authority}</strong></p><p><strong>BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ</strong></p><p>Số: ……/TNHS</p></div>
<div><p><strong>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</strong></p><p><strong>Độc lập – Tự do – Hạnh phúc</strong></p><p><em>{dated}</em></p></div></div>
<{heading} id="mau01-{n}">GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ</{heading}>
<p class="mau01-center">Mã hồ sơ: <strong>{code}</strong><br>(Liên {n}: {copy})</p>
<p>{unit} tiếp nhận hồ sơ của:</p>
<p>Ông/Bà: <strong>{name}</strong></p>
<p>Địa chỉ: {address}</p>
<p>Số điện thoại: {phone} · Thư điện tử: {email}</p>
<p>Nội dung yêu cầu giải quyết: {requested}</p>
<ol class="mau01-items"><li>Thành phần hồ sơ nộp gồm:"#,
            authority = escape(&d.authority),
            dated = escape(&d.dated),
            code = escape(&r.code),
            unit = escape(&r.receiving_unit.name),
            name = escape(&r.applicant.name),
            address = escape(r.applicant.address.as_deref().unwrap_or("—")),
            phone = escape(&r.applicant.phone),
            email = escape(r.applicant.email.as_deref().unwrap_or("—")),
            requested = escape(&format!(
                "{} (mã thủ tục {})",
                r.requested, r.procedure.code
            )),
        );
        main.push_str("<ol type=\"a\"><li>Tờ khai điện tử (điền trực tuyến)</li>");
        for doc in &r.documents {
            let _ = write!(
                main,
                "<li>{} – {}, {} bản (tệp: {})</li>",
                escape(&doc.name),
                escape(&doc.kind),
                doc.copies,
                escape(&doc.files.join(", "))
            );
        }
        let _ = write!(
            main,
            r#"</ol></li>
<li>Số lượng hồ sơ: {sets:02} (bộ)</li>
<li>Thời gian giải quyết hồ sơ theo quy định là: {processing}</li>
<li>Thời gian nhận hồ sơ: {received} (nộp trực tuyến); Trung tâm Phục vụ hành chính công xã tiếp nhận lúc {accepted}</li>
<li>Thời gian trả kết quả giải quyết hồ sơ: <strong>{appointment}</strong></li>
<li>Đăng ký nhận kết quả tại: {collection}</li></ol>
<p>Vào Sổ theo dõi hồ sơ, Quyển số: ……, Số thứ tự: ……</p>
<div class="mau01-sign"><div><p><strong>NGƯỜI NỘP HỒ SƠ</strong><br><em>(Ký và ghi rõ họ tên)</em></p><p class="mau01-name">{name}</p></div>
<div><p><strong>NGƯỜI TIẾP NHẬN HỒ SƠ</strong><br><em>(Ký và ghi rõ họ tên)</em></p><p class="mau01-name">{officer}</p></div></div>"#,
            sets = r.sets,
            processing = escape(&r.processing_time),
            received = escape(&r.received_at_text),
            accepted = escape(&d.accepted_at),
            appointment = escape(&r.appointment.text),
            collection = escape(&r.result_collection),
            name = escape(&r.applicant.name),
            officer = escape(&d.officer),
        );
        if n == 2 {
            let _ = write!(
                main,
                r#"<div class="mau01-qr">{qr}<p>Quét mã QR hoặc vào {url} để tra cứu tình trạng hồ sơ.</p></div>"#,
                qr = r.qr_svg,
                url = escape(&r.tracking_url),
            );
        }
        main.push_str("</article>");
    }
    shell.page(&format!("Giấy tiếp nhận hồ sơ {}", r.code), &main)
}

/// `supplement_token`: the tracking token, given while the dossier waits for papers; the
/// page then has a plain form (no JavaScript needed) to send them.
pub fn track_page(shell: &Shell, t: &TrackView, supplement_token: Option<&str>) -> String {
    let mut h = format!(
        r#"<h1>Tình trạng hồ sơ {code}</h1>
<p class="track-status" role="status">Tình trạng: <strong>{label}</strong></p>
<table class="receipt-table"><tbody>"#,
        code = escape(&t.code),
        label = escape(&t.status_label),
    );
    row(
        &mut h,
        "Thủ tục",
        &format!("{} (mã {})", t.procedure.title, t.procedure.code),
    );
    row(&mut h, "Hẹn trả kết quả", &t.appointment_text);
    h.push_str("</tbody></table>");
    if let Some(token) = supplement_token {
        // Relative to /api/track, so the same page works under CloudFront's /api.
        let _ = write!(
            h,
            r#"<section class="supplement" aria-labelledby="sup-h">
<h2 id="sup-h">Nộp giấy tờ bổ sung trực tuyến</h2>
<p>Trung tâm Phục vụ hành chính công xã đã ghi giấy tờ còn thiếu trong quá trình xử lý bên dưới. Chọn ảnh chụp hoặc bản quét (JPG, PNG hoặc PDF) rồi bấm gửi; hoặc mang bản giấy đến Trung tâm Phục vụ hành chính công xã.</p>
<form method="post" enctype="multipart/form-data" action="dossiers/{code}/supplement">
<input type="hidden" name="token" value="{token}">
<div class="field"><label for="sup-files">Giấy tờ bổ sung <span class="hint">(có thể chọn nhiều tệp)</span></label>
<input id="sup-files" name="files" type="file" multiple required accept=".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"></div>
<div class="field"><label for="sup-note">Ghi chú cho cán bộ <span class="hint">(không bắt buộc)</span></label>
<textarea id="sup-note" name="note" rows="3" maxlength="500"></textarea></div>
<p><button type="submit">Gửi giấy tờ bổ sung</button></p>
</form>
</section>"#,
            code = dossier::tracking::encode(&t.code),
            token = escape(token),
        );
    }
    h.push_str("<h2>Quá trình xử lý</h2><ol class=\"track-history\">");
    for e in &t.history {
        let _ = write!(
            h,
            "<li><time datetime=\"{}\">{}</time>: {}{}</li>",
            escape(&e.at),
            escape(&catalog::vn_time::received_text(&e.at)),
            escape(&e.label),
            e.note
                .as_deref()
                .map(|n| format!(" – {}", escape(n)))
                .unwrap_or_default()
        );
    }
    h.push_str("</ol>");
    shell.page(&format!("Tình trạng hồ sơ {}", t.code), &h)
}

/// The tracking form (when the page is opened without a code).
pub fn track_form_page(shell: &Shell, message: Option<&str>) -> String {
    let mut h = String::from("<h1>Tra cứu hồ sơ</h1>");
    if let Some(m) = message {
        let _ = write!(
            h,
            r#"<div class="notice" role="alert"><p>{}</p></div>"#,
            escape(m)
        );
    }
    h.push_str(
        r#"<form method="get" action="/api/track">
<p><label for="t-code">Mã hồ sơ</label><br><input id="t-code" name="code" required autocomplete="off"></p>
<p><label for="t-token">Mã tra cứu (in trên giấy tiếp nhận)</label><br><input id="t-token" name="token" required autocomplete="off"></p>
<p><button type="submit">Tra cứu</button></p>
</form>"#,
    );
    shell.page("Tra cứu hồ sơ", &h)
}
