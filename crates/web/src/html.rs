//! The function's HTML pages: the receipt, the form with its errors, the tracking page
//! and plain messages. Each sits in a [`Shell`]: the site's stylesheet, header and
//! footer from the function bundle, the same in development and in production.
//!
//! The pages are askama templates (`templates/`, compiled into the function): every
//! value is escaped unless a template marks it `|safe`, which only the shell's header
//! and footer, the form `catalog::form_html` renders and the receipt's QR code are.

use std::fmt;

use askama::Template;
use catalog::Procedure;
use catalog::form_html::{FormView, HumanCheck, render_form};
use catalog::validate::{FieldError, RawValues};

use dossier::tracking::TrackView;

/// The one script of the function's own pages (the print button), served by the
/// function itself so that those pages need nothing from the site's build and no inline
/// script.
pub const PAGE_SCRIPT: &str = "/api/assets/page.js";
use dossier::receipt::Receipt;

/// The layout around every page of the function: the site's stylesheet, header and
/// footer, which the generator puts in the function bundle (`catalog::Shell`).
pub use catalog::Shell;

/// The templates' escaping (set for `.html` in `askama.toml`): the entities of
/// `catalog::form_html::escape`, so that a page and the form inside it escape alike
/// (askama's own escaper writes numeric ones, `&#60;`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Entities;

impl askama::filters::Escaper for Entities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        let mut done = 0;
        for (i, b) in text.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&text[done..i])?;
            dest.write_str(entity)?;
            done = i + 1;
        }
        dest.write_str(&text[done..])
    }
}

/// A page's text. Rendering writes strings and numbers into a `String`, which cannot
/// fail.
fn render(page: &impl Template) -> String {
    page.render()
        .expect("a page of strings and numbers renders")
}

/// A page of the function inside the site's layout. A trait because the layout's data
/// is the bundle's (in `catalog`), while its HTML belongs with the function's pages.
pub trait Layout {
    /// `main` is HTML, put in as it is.
    fn page(&self, title: &str, main: &str) -> String;
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    shell: &'a Shell,
    title: &'a str,
    main: &'a str,
}

impl Layout for Shell {
    fn page(&self, title: &str, main: &str) -> String {
        render(&Page {
            shell: self,
            title,
            main,
        })
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    shell: &'a Shell,
    title: &'a str,
    message: &'a str,
    back: Option<(&'a str, &'a str)>,
}

/// A page with one message and a way back.
pub fn message_page(
    shell: &Shell,
    title: &str,
    message: &str,
    back: Option<(&str, &str)>,
) -> String {
    render(&MessagePage {
        shell,
        title,
        message,
        back,
    })
}

#[derive(Template)]
#[template(path = "form_errors.html")]
struct FormErrorsPage<'a> {
    shell: &'a Shell,
    procedure: &'a Procedure,
    form: String,
}

/// The form again, filled as sent, with its errors. `catalog::form_html` renders it
/// (with the error summary), so the page and the site's form never differ.
pub fn form_errors_page(
    shell: &Shell,
    procedure: &Procedure,
    values: &RawValues,
    errors: &[FieldError],
    gate: &crate::gate::Gate,
    idempotency_key: &str,
) -> String {
    let form = render_form(&FormView {
        procedure,
        action: "/api/dossiers/form",
        api_base: "/api",
        values,
        errors,
        // A new question each time the form comes back: the last one may be spent.
        human_check: Some(HumanCheck::Inline {
            question: &gate.question,
            token: &gate.token,
        }),
        idempotency_key,
        desk: false,
    });
    render(&FormErrorsPage {
        shell,
        procedure,
        form,
    })
}

#[derive(Template)]
#[template(path = "gate.html")]
struct GatePage<'a> {
    shell: &'a Shell,
    question: &'a str,
}

/// The question alone, for the frame in the static form page.
pub fn gate_page(shell: &Shell, question: &str) -> String {
    render(&GatePage { shell, question })
}

#[derive(Template)]
#[template(path = "errors.html")]
struct ErrorsPage<'a> {
    shell: &'a Shell,
    title: &'a str,
    errors: &'a [FieldError],
}

/// A list of errors without the form (when the procedure is unknown).
pub fn errors_page(shell: &Shell, title: &str, errors: &[FieldError]) -> String {
    render(&ErrorsPage {
        shell,
        title,
        errors,
    })
}

/// The receipt alone (`templates/receipt.html`), for the site's form page to show.
#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPart<'a> {
    r: &'a Receipt,
}

#[derive(Template)]
#[template(path = "receipt_page.html")]
struct ReceiptPage<'a> {
    shell: &'a Shell,
    r: &'a Receipt,
    page_script: &'static str,
}

/// The receipt as the function's page shows it, without the page around it: what the
/// site's form page puts in its `#receipt` box after a submission (`receipt_html` in
/// the JSON answer).
pub fn receipt_html(r: &Receipt) -> String {
    render(&ReceiptPart { r })
}

pub fn receipt_page(shell: &Shell, r: &Receipt) -> String {
    render(&ReceiptPage {
        shell,
        r,
        page_script: PAGE_SCRIPT,
    })
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

#[derive(Template)]
#[template(path = "desk_receipt.html")]
struct DeskReceiptPage<'a> {
    shell: &'a Shell,
    d: &'a DeskReceipt<'a>,
    r: &'a Receipt,
}

/// Mẫu số 01 twice, one copy a printed page: "Liên 1" kept by the desk, "Liên 2" for the
/// citizen, with the QR code that opens the tracking page.
pub fn desk_receipt_page(shell: &Shell, d: &DeskReceipt) -> String {
    render(&DeskReceiptPage {
        shell,
        d,
        r: d.receipt,
    })
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage<'a> {
    shell: &'a Shell,
    t: &'a TrackView,
    supplement_token: Option<&'a str>,
    /// The tracking token, for the result's download links and the gateway's button.
    token: &'a str,
    /// The payment gateway's name, when the commune has one.
    gateway: Option<&'a str>,
    page_script: &'static str,
}

/// `supplement_token`: the tracking token, given while the dossier waits for papers; the
/// page then has a plain form (no JavaScript needed) to send them.
pub fn track_page(
    shell: &Shell,
    t: &TrackView,
    token: &str,
    supplement_token: Option<&str>,
    gateway: Option<&str>,
) -> String {
    render(&TrackPage {
        shell,
        t,
        token,
        gateway,
        supplement_token,
        page_script: PAGE_SCRIPT,
    })
}

#[derive(Template)]
#[template(path = "rating.html")]
struct RatingPage<'a> {
    shell: &'a Shell,
    code: &'a str,
    procedure: &'a str,
    token: &'a str,
    back: &'a str,
    error: Option<&'a str>,
    questions: &'static [dossier::rating::Question],
    scores: &'static [(u8, &'static str)],
    /// The score chosen for each question (0: none), when the form comes back.
    selected: [u8; 3],
    comment: &'a str,
    max_comment: usize,
}

/// The rating form of a dossier, perhaps sent back with `error` and the answers given.
pub struct RatingFormPage<'a> {
    pub code: &'a str,
    pub procedure: &'a str,
    pub token: &'a str,
    /// The tracking page's link.
    pub back: &'a str,
    pub error: Option<&'a str>,
    pub selected: [u8; 3],
    pub comment: &'a str,
}

impl RatingPage<'_> {
    /// Was `score` chosen for question `i` (the form sent back)?
    fn checked(&self, i: &usize, score: &u8) -> bool {
        self.selected.get(*i) == Some(score)
    }
}

pub fn rating_page(shell: &Shell, p: &RatingFormPage) -> String {
    render(&RatingPage {
        shell,
        code: p.code,
        procedure: p.procedure,
        token: p.token,
        back: p.back,
        error: p.error,
        questions: &dossier::rating::QUESTIONS,
        scores: &dossier::rating::SCORES,
        selected: p.selected,
        comment: p.comment,
        max_comment: dossier::rating::MAX_COMMENT,
    })
}

#[derive(Template)]
#[template(path = "rating_thanks.html")]
struct RatingThanks<'a> {
    shell: &'a Shell,
    code: &'a str,
    message: &'a str,
    rating: Option<&'a dossier::rating::RatingView>,
    back: &'a str,
}

/// Thanks after a rating (`rating`: what was recorded, when there is one to show).
pub fn rating_thanks_page(
    shell: &Shell,
    code: &str,
    message: &str,
    rating: Option<&dossier::rating::RatingView>,
    back: &str,
) -> String {
    render(&RatingThanks {
        shell,
        code,
        message,
        rating,
        back,
    })
}

#[derive(Template)]
#[template(path = "track_form.html")]
struct TrackFormPage<'a> {
    shell: &'a Shell,
    message: Option<&'a str>,
}

/// The tracking form (when the page is opened without a code).
pub fn track_form_page(shell: &Shell, message: Option<&str>) -> String {
    render(&TrackFormPage { shell, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::filters::Escaper;

    #[test]
    fn pages_escape_as_the_form_does() {
        let text = r#"<script>alert("x")</script> & 'Nguyễn' — ok"#;
        let mut out = String::new();
        Entities.write_escaped_str(&mut out, text).unwrap();
        assert_eq!(out, catalog::form_html::escape(text));
    }
}
