//! The online form as HTML, rendered from the procedure's schema. The generator uses it
//! for the form page and the printable form; the function uses it to send the form back
//! with its errors when a plain (no-JavaScript) post fails validation. One renderer, so
//! the two never differ. The form script (templates/assets/form.js) relies on the ids
//! and data attributes written here.

use std::fmt::Write;

use crate::model::{ADDRESS_PARTS, Field, FieldType, Procedure};
use crate::validate::{FieldError, RawValues, accepted_kinds, human_size, kinds_label};

pub struct FormView<'a> {
    pub procedure: &'a Procedure,
    pub action: &'a str,
    pub api_base: &'a str,
    pub values: &'a RawValues,
    pub errors: &'a [FieldError],
    /// The question for visitors without JavaScript (the script solves a proof of work
    /// instead and hides it).
    pub human_check: Option<HumanCheck<'a>>,
    pub idempotency_key: &'a str,
    /// Typed in by the desk from a paper dossier (the console): each file field becomes
    /// a box the officer ticks for the paper in hand, and there is no spam check.
    pub desk: bool,
}

/// Where the no-JavaScript question comes from.
#[derive(Debug, Clone, Copy)]
pub enum HumanCheck<'a> {
    /// The static page: the function shows a fresh question in a frame
    /// (`{api_base}/gate`) and keeps its token in a cookie.
    Framed,
    /// A page the function makes: the question itself and its signed token.
    Inline { question: &'a str, token: &'a str },
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The id of the element an error links to.
pub fn anchor(field: &Field) -> String {
    match field.kind {
        FieldType::Address => format!("f-{}-detail", field.id),
        _ => format!("f-{}", field.id),
    }
}

pub fn render_form(view: &FormView) -> String {
    let p = view.procedure;
    let Some(form) = &p.form else {
        return String::new();
    };
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        r#"<form class="dossier-form" id="{}" method="post" action="{}" enctype="multipart/form-data" accept-charset="utf-8" data-procedure="{}" data-api="{}">"#,
        if view.desk {
            "desk-form"
        } else {
            "dossier-form"
        },
        escape(view.action),
        escape(&p.code),
        escape(view.api_base)
    );
    if !view.errors.is_empty() {
        h.push_str(&error_summary(p, view.errors));
    }
    // The form's version goes with every post, so a page older than the function's
    // form is told to reload rather than checked against rules it did not show.
    let _ = write!(
        h,
        r#"<input type="hidden" name="procedure" value="{}"><input type="hidden" name="form_version" value="{}"><input type="hidden" name="idempotency_key" value="{}">{}"#,
        escape(&p.code),
        form.version(),
        escape(view.idempotency_key),
        if view.desk {
            ""
        } else {
            r#"<input type="hidden" name="altcha" value="">"#
        }
    );
    h.push_str(r#"<p class="form-note">Các ô có dấu <span class="req">*</span> là bắt buộc.</p>"#);
    for section in &form.sections {
        h.push_str(r#"<fieldset class="section"><legend>"#);
        h.push_str(&escape(&section.title));
        h.push_str("</legend>");
        if let Some(d) = &section.description {
            let _ = write!(h, r#"<p class="section-note">{}</p>"#, escape(d));
        }
        for field in &section.fields {
            let error = view
                .errors
                .iter()
                .find(|e| e.field == field.id)
                .map(|e| e.message.as_str());
            if view.desk && field.kind == FieldType::File {
                render_paper(&mut h, field, view.values, error);
            } else {
                render_field(&mut h, field, view.values, error);
            }
        }
        h.push_str("</fieldset>");
    }
    if let Some(check) = view.human_check {
        let error = view
            .errors
            .iter()
            .find(|e| e.field == "human_answer")
            .map(|e| e.message.as_str());
        let (label, shown, hint, token) = match check {
            // Lazy: with scripts on, the form script removes the block before it is
            // near the screen, so no question is fetched; without scripts a browser
            // loads every frame at once.
            HumanCheck::Framed => (
                String::new(),
                format!(
                    r#"<iframe class="gate-frame" src="{}/gate" title="Câu hỏi kiểm tra" loading="lazy" width="320" height="60"></iframe>"#,
                    escape(view.api_base)
                ),
                "Đọc câu hỏi trong khung ngay trên rồi viết câu trả lời bằng số vào ô dưới đây. Câu hỏi giúp chặn thư rác tự động.",
                String::new(),
            ),
            HumanCheck::Inline { question, token } => (
                format!(": {}", escape(question)),
                String::new(),
                "Viết câu trả lời bằng số. Câu hỏi giúp chặn thư rác tự động.",
                format!(
                    r#"<input type="hidden" name="gate" value="{}">"#,
                    escape(token)
                ),
            ),
        };
        let _ = write!(
            h,
            r#"<div class="field human-check{}" id="field-human_answer"><label for="f-human_answer">Câu hỏi kiểm tra{label} <span class="req" aria-hidden="true">*</span></label>{shown}<p class="hint" id="f-human_answer-hint">{hint}</p>{}<input class="input-short" type="text" inputmode="numeric" id="f-human_answer" name="human_answer" autocomplete="off" aria-describedby="f-human_answer-hint{}"{}>{token}</div>"#,
            if error.is_some() { " has-error" } else { "" },
            error_line("human_answer", error),
            if error.is_some() {
                " f-human_answer-error"
            } else {
                ""
            },
            if error.is_some() {
                r#" aria-invalid="true""#
            } else {
                ""
            },
        );
    }
    if view.desk {
        h.push_str(r#"<div class="form-actions"><button type="submit" class="button">Tiếp nhận hồ sơ</button></div></form>"#);
        return h;
    }
    // A field people never see; bots that fill every input give themselves away.
    h.push_str(r#"<div class="hp" aria-hidden="true"><label for="f-website">Để trống ô này</label><input type="text" id="f-website" name="website" tabindex="-1" autocomplete="off"></div>"#);
    h.push_str(r#"<div class="form-actions"><button type="submit" class="button">Gửi hồ sơ</button></div></form>"#);
    h
}

/// A file field at the desk: the citizen hands the paper over, the officer ticks it
/// (`paper` = the field's id); a required paper must be ticked.
fn render_paper(h: &mut String, field: &Field, values: &RawValues, error: Option<&str>) {
    let id = &field.id;
    let ticked = values
        .get("paper")
        .is_some_and(|ids| ids.iter().any(|v| v == id));
    let _ = write!(
        h,
        r#"<div class="field check{}" id="field-{id}" data-field="{id}" data-type="paper">{}<input type="checkbox" id="f-{id}" name="paper" value="{}"{}{}{}><label for="f-{id}">Đã nhận bản giấy: {}{}</label></div>"#,
        if error.is_some() { " has-error" } else { "" },
        error_line(id, error),
        escape(id),
        if ticked { " checked" } else { "" },
        if field.required { " required" } else { "" },
        if error.is_some() {
            format!(r#" aria-invalid="true" aria-describedby="f-{id}-error""#)
        } else {
            String::new()
        },
        escape(&field.label),
        required_mark(field),
    );
}

fn error_summary(p: &Procedure, errors: &[FieldError]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<div class="error-summary" id="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title"><h2 id="error-summary-title">Hồ sơ chưa gửi được. Vui lòng sửa {} chỗ dưới đây</h2><ul>"#,
        errors.len()
    );
    for e in errors {
        let target = p
            .form
            .as_ref()
            .and_then(|f| f.field(&e.field))
            .map(anchor)
            .or_else(|| (e.field == "human_answer").then(|| "f-human_answer".to_owned()));
        match target {
            Some(t) => {
                let _ = write!(h, r##"<li><a href="#{t}">{}</a></li>"##, escape(&e.message));
            }
            None => {
                let _ = write!(h, "<li>{}</li>", escape(&e.message));
            }
        }
    }
    h.push_str("</ul></div>");
    h
}

fn error_line(id: &str, error: Option<&str>) -> String {
    error.map_or_else(String::new, |m| {
        format!(
            r#"<p class="field-error" id="f-{id}-error"><span class="visually-hidden">Lỗi: </span>{}</p>"#,
            escape(m)
        )
    })
}

fn first<'a>(values: &'a RawValues, key: &str) -> &'a str {
    values
        .get(key)
        .and_then(|v| v.first())
        .map_or("", String::as_str)
}

fn required_mark(field: &Field) -> &'static str {
    if field.required {
        r#" <span class="req" aria-hidden="true">*</span><span class="visually-hidden"> (bắt buộc)</span>"#
    } else {
        ""
    }
}

/// The hint shown under a field: the editor's help text, plus what a file may be.
pub fn hint(field: &Field) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(help) = &field.help {
        parts.push(help.clone());
    }
    if field.kind == FieldType::File {
        let limit = u64::from(field.max_size_kb.unwrap_or(5120)) * 1024;
        parts.push(format!(
            "Ảnh chụp hoặc bản quét: {}, tối đa {}.",
            kinds_label(accepted_kinds(field)),
            human_size(limit)
        ));
    }
    if field.kind == FieldType::Date {
        parts.push("Ví dụ: 30/04/2025.".into());
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn render_field(h: &mut String, field: &Field, values: &RawValues, error: Option<&str>) {
    let id = &field.id;
    let hint = hint(field);
    let mut described = Vec::new();
    if hint.is_some() {
        described.push(format!("f-{id}-hint"));
    }
    if error.is_some() {
        described.push(format!("f-{id}-error"));
    }
    let aria = if described.is_empty() {
        String::new()
    } else {
        format!(r#" aria-describedby="{}""#, described.join(" "))
    };
    let invalid = if error.is_some() {
        r#" aria-invalid="true""#
    } else {
        ""
    };
    let required_attr = if field.required { " required" } else { "" };
    let has_error = if error.is_some() { " has-error" } else { "" };
    let type_name = field.kind.name();
    let condition = field
        .required_if
        .as_ref()
        .map(|c| {
            format!(
                r#" data-required-if="{}={}""#,
                escape(&c.field),
                escape(&c.equals)
            )
        })
        .unwrap_or_default();
    let hint_html = hint.map_or_else(String::new, |t| {
        format!(r#"<p class="hint" id="f-{id}-hint">{}</p>"#, escape(&t))
    });
    let error_html = error_line(id, error);
    let label = escape(&field.label);
    let mark = required_mark(field);
    let value = escape(first(values, id));

    let grouped = matches!(field.kind, FieldType::Radio | FieldType::Address)
        || (field.kind == FieldType::Checkbox && !field.options.is_empty());
    if grouped {
        let _ = write!(
            h,
            r#"<fieldset class="field group{has_error}" id="field-{id}" data-field="{id}" data-type="{type_name}"{condition}{aria}><legend>{label}{mark}</legend>{hint_html}{error_html}"#
        );
    } else if field.kind == FieldType::Checkbox {
        let _ = write!(
            h,
            r#"<div class="field check{has_error}" id="field-{id}" data-field="{id}" data-type="{type_name}"{condition}>{hint_html}{error_html}"#
        );
    } else {
        let _ = write!(
            h,
            r#"<div class="field{has_error}" id="field-{id}" data-field="{id}" data-type="{type_name}"{condition}><label for="f-{id}">{label}{mark}</label>{hint_html}{error_html}"#
        );
    }

    match field.kind {
        FieldType::Text
        | FieldType::Email
        | FieldType::Phone
        | FieldType::CitizenId
        | FieldType::Number
        | FieldType::Date => {
            let (input_type, extra) = match field.kind {
                FieldType::Email => ("email", r#" autocomplete="email" spellcheck="false""#.to_owned()),
                FieldType::Phone => ("tel", r#" inputmode="tel" autocomplete="tel""#.to_owned()),
                FieldType::CitizenId => (
                    "text",
                    r#" inputmode="numeric" pattern="[0-9 ]{12,15}" maxlength="15" autocomplete="off" class="input-medium""#.to_owned(),
                ),
                FieldType::Number => {
                    let mut e = r#" inputmode="numeric" class="input-short""#.to_owned();
                    if let Some(min) = field.min {
                        let _ = write!(e, r#" min="{min}""#);
                    }
                    if let Some(max) = field.max {
                        let _ = write!(e, r#" max="{max}""#);
                    }
                    ("number", e)
                }
                FieldType::Date => {
                    // "today" is only known in the browser: the script turns it into
                    // min/max; a fixed date is written as is.
                    let mut e = r#" class="input-medium""#.to_owned();
                    for (attr, bound) in [("max", &field.max_date), ("min", &field.min_date)] {
                        match bound {
                            Some(crate::model::DateBound::Day(d)) => {
                                let _ = write!(e, r#" {attr}="{}""#, d.iso());
                            }
                            Some(crate::model::DateBound::Keyword(_)) => {
                                let _ = write!(e, r#" data-{attr}-date="today""#);
                            }
                            None => {}
                        }
                    }
                    ("date", e)
                }
                _ => {
                    let mut e = String::new();
                    if let Some(max) = field.max_length {
                        let _ = write!(e, r#" maxlength="{max}""#);
                    }
                    if let Some(min) = field.min_length {
                        let _ = write!(e, r#" minlength="{min}""#);
                    }
                    ("text", e)
                }
            };
            let autocomplete = field
                .autocomplete
                .as_ref()
                .map(|a| format!(r#" autocomplete="{}""#, escape(a)))
                .unwrap_or_default();
            let extra = if autocomplete.is_empty() {
                extra
            } else {
                extra
                    .replace(r#" autocomplete="email""#, "")
                    .replace(r#" autocomplete="tel""#, "")
            };
            let _ = write!(
                h,
                r#"<input type="{input_type}" id="f-{id}" name="{id}" value="{value}"{extra}{autocomplete}{required_attr}{aria}{invalid}>"#
            );
        }
        FieldType::Textarea => {
            let max = field
                .max_length
                .map(|m| format!(r#" maxlength="{m}""#))
                .unwrap_or_default();
            let _ = write!(
                h,
                r#"<textarea id="f-{id}" name="{id}" rows="3"{max}{required_attr}{aria}{invalid}>{value}</textarea>"#
            );
        }
        FieldType::Select => {
            let _ = write!(
                h,
                r#"<select id="f-{id}" name="{id}"{required_attr}{aria}{invalid}><option value="">— Chọn —</option>"#
            );
            let chosen = first(values, id);
            for o in &field.options {
                let selected = if o.value == chosen { " selected" } else { "" };
                let _ = write!(
                    h,
                    r#"<option value="{}"{selected}>{}</option>"#,
                    escape(&o.value),
                    escape(&o.label)
                );
            }
            h.push_str("</select>");
        }
        FieldType::Radio | FieldType::Checkbox if !field.options.is_empty() => {
            let input_type = if field.kind == FieldType::Radio {
                "radio"
            } else {
                "checkbox"
            };
            let chosen: Vec<&str> = values
                .get(id)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            h.push_str(r#"<div class="choices">"#);
            for (n, o) in field.options.iter().enumerate() {
                let input_id = if n == 0 {
                    format!("f-{id}")
                } else {
                    format!("f-{id}-{n}")
                };
                let checked = if chosen.contains(&o.value.as_str()) {
                    " checked"
                } else {
                    ""
                };
                let req = if n == 0 && field.kind == FieldType::Radio {
                    required_attr
                } else {
                    ""
                };
                let _ = write!(
                    h,
                    r#"<div class="choice"><input type="{input_type}" id="{input_id}" name="{id}" value="{}"{checked}{req}{invalid}><label for="{input_id}">{}</label></div>"#,
                    escape(&o.value),
                    escape(&o.label)
                );
            }
            h.push_str("</div>");
        }
        FieldType::Checkbox | FieldType::Radio => {
            let checked = if matches!(first(values, id), "on" | "true" | "1") {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                h,
                r#"<input type="checkbox" id="f-{id}" name="{id}" value="on"{checked}{required_attr}{aria}{invalid}><label for="f-{id}">{label}{mark}</label>"#
            );
        }
        FieldType::Address => {
            for (part, part_label, part_required) in ADDRESS_PARTS {
                let key = format!("{id}.{part}");
                let req = if field.required && *part_required {
                    " required"
                } else {
                    ""
                };
                let _ = write!(
                    h,
                    r#"<div class="subfield"><label for="f-{id}-{part}">{}</label><input type="text" id="f-{id}-{part}" name="{key}" value="{}" maxlength="200"{}{req}{invalid}></div>"#,
                    escape(part_label),
                    escape(first(values, &key)),
                    match *part {
                        "province" => r#" autocomplete="address-level1""#,
                        "detail" => r#" autocomplete="address-line1""#,
                        _ => "",
                    }
                );
            }
        }
        FieldType::File => {
            let kinds = accepted_kinds(field);
            let accept: Vec<String> = kinds
                .iter()
                .flat_map(|k| {
                    let mut v = vec![format!(".{}", k.extension()), k.mime().to_owned()];
                    if *k == crate::model::FileKind::Jpeg {
                        v.push(".jpeg".into());
                    }
                    v
                })
                .collect();
            let kind_names: Vec<&str> = kinds.iter().map(|k| k.extension()).collect();
            let max = u64::from(field.max_size_kb.unwrap_or(5120)) * 1024;
            let _ = write!(
                h,
                r#"<input type="file" id="f-{id}" name="{id}" accept="{}" data-max-bytes="{max}" data-kinds="{}"{required_attr}{aria}{invalid}><div class="upload-status" id="f-{id}-status" aria-live="polite"></div><p class="hint no-js-note">{}</p>"#,
                accept.join(","),
                kind_names.join(","),
                escape(&crate::plain_post::files_limit_note())
            );
        }
    }
    h.push_str(if grouped { "</fieldset>" } else { "</div>" });
}

/// A paper version of the same form, to print and fill by hand.
pub fn render_printable(p: &Procedure) -> String {
    let Some(form) = &p.form else {
        return String::new();
    };
    let mut h = String::new();
    for section in &form.sections {
        let _ = write!(
            h,
            r#"<section class="print-section"><h2>{}</h2><dl class="print-fields">"#,
            escape(&section.title)
        );
        for f in &section.fields {
            if f.kind == FieldType::File {
                continue;
            }
            let _ = write!(
                h,
                "<dt>{}{}</dt><dd>",
                escape(&f.label),
                if f.required { " *" } else { "" }
            );
            match f.kind {
                FieldType::Select | FieldType::Radio => {
                    for o in &f.options {
                        let _ = write!(h, r#"<span class="box">☐</span> {} "#, escape(&o.label));
                    }
                }
                FieldType::Checkbox if f.options.is_empty() => h.push_str(r#"<span class="box">☐</span> Đồng ý"#),
                FieldType::Checkbox => {
                    for o in &f.options {
                        let _ = write!(h, r#"<span class="box">☐</span> {} "#, escape(&o.label));
                    }
                }
                FieldType::Date => h.push_str(r#"<span class="line short"></span>/<span class="line short"></span>/<span class="line"></span>"#),
                FieldType::Address => {
                    for (_, part_label, _) in ADDRESS_PARTS {
                        let _ = write!(h, r#"<span class="sub">{}:</span> <span class="line"></span><br>"#, escape(part_label));
                    }
                }
                FieldType::Textarea => h.push_str(r#"<span class="line"></span><br><span class="line"></span>"#),
                _ => h.push_str(r#"<span class="line"></span>"#),
            }
            h.push_str("</dd>");
        }
        h.push_str("</dl></section>");
    }
    h
}
