//! Validation of what a citizen submits, one validator per field type. The server runs
//! these; the form script mirrors them (templates/assets/form.js) so that a citizen sees
//! the same message before sending.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::day::Day;
use crate::model::{ADDRESS_PARTS, Field, FieldType, FileKind, Form};
use crate::text;

/// Submitted values as they arrive from a form post or JSON: name → values. Address
/// parts arrive as `{id}.{part}`; checkbox lists as several values.
pub type RawValues = BTreeMap<String, Vec<String>>;

/// Validated and normalised values, ready to store: id → JSON value.
pub type CleanValues = Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field id, or "_form" for the form as a whole.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Longest value any single input may carry, whatever the schema says.
pub const HARD_MAX_CHARS: usize = 5000;

/// Validates every field of `form` at once. Attachments are checked separately (their
/// bytes are not here), except for their presence, which the caller passes in
/// `attached` (ids of file fields that carry at least one file).
pub fn validate_values(
    form: &Form,
    raw: &RawValues,
    attached: &[&str],
    today: time::Date,
) -> Result<CleanValues, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut clean = Map::new();

    for key in raw.keys() {
        let base = key.split('.').next().unwrap_or(key);
        let known = form.field(base).is_some_and(|f| {
            f.kind != FieldType::File
                && (key == base
                    || (f.kind == FieldType::Address
                        && ADDRESS_PARTS
                            .iter()
                            .any(|(p, _, _)| *key == format!("{base}.{p}"))))
        });
        if !known {
            errors.push(FieldError::new(
                "_form",
                format!(
                    "Biểu mẫu có ô lạ \"{}\" không thuộc thủ tục này. Vui lòng tải lại trang rồi gửi lại.",
                    truncate(key, 40)
                ),
            ));
        }
    }

    for field in form.fields() {
        let required = is_required(field, raw);
        match validate_field(field, raw, required, attached, today) {
            Ok(Some(value)) => {
                clean.insert(field.id.clone(), value);
            }
            Ok(None) => {}
            Err(message) => errors.push(FieldError::new(&field.id, message)),
        }
    }

    cross_check_citizen_ids(form, &clean, &mut errors);

    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(errors)
    }
}

fn is_required(field: &Field, raw: &RawValues) -> bool {
    field.required
        || field.required_if.as_ref().is_some_and(|c| {
            raw.get(&c.field)
                .is_some_and(|v| v.iter().any(|x| x.trim() == c.equals))
        })
}

fn single<'a>(raw: &'a RawValues, key: &str) -> Result<Option<&'a str>, String> {
    match raw.get(key).map(Vec::as_slice) {
        None | Some([]) => Ok(None),
        Some([one]) => Ok(Some(one.as_str())),
        Some(_) => Err("Ô này chỉ nhận một giá trị. Vui lòng tải lại trang rồi gửi lại.".into()),
    }
}

/// Trims, normalises to NFC (keyboards differ in how they compose Vietnamese) and
/// refuses control characters.
fn clean_text(label: &str, value: &str, multiline: bool) -> Result<String, String> {
    let value: String = value.trim().nfc().collect();
    let bad = value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if bad {
        return Err(format!(
            "{label} có ký tự không in được. Vui lòng gõ lại nội dung, đừng dán từ nơi khác."
        ));
    }
    Ok(value.replace("\r\n", "\n"))
}

fn validate_field(
    field: &Field,
    raw: &RawValues,
    required: bool,
    attached: &[&str],
    today: time::Date,
) -> Result<Option<Value>, String> {
    let label = field.label.as_str();
    match field.kind {
        FieldType::File => {
            if required && !attached.contains(&field.id.as_str()) {
                return Err(format!(
                    "Vui lòng đính kèm {}",
                    sentence(&lower_first(label))
                ));
            }
            Ok(None)
        }
        FieldType::Address => validate_address(field, raw, required),
        FieldType::Checkbox if !field.options.is_empty() => {
            let values = raw.get(&field.id).cloned().unwrap_or_default();
            let values: Vec<String> = values
                .into_iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return if required {
                    Err(format!("Vui lòng chọn ít nhất một mục ở \"{label}\"."))
                } else {
                    Ok(None)
                };
            }
            for v in &values {
                if !field.options.iter().any(|o| &o.value == v) {
                    return Err(bad_option(label));
                }
            }
            let mut values = values;
            values.dedup();
            Ok(Some(json!(values)))
        }
        FieldType::Checkbox => {
            let value = single(raw, &field.id)?.map(str::trim).unwrap_or("");
            let checked = matches!(value, "on" | "true" | "1" | "yes");
            if !value.is_empty() && !checked && value != "false" {
                return Err(bad_option(label));
            }
            if required && !checked {
                return Err(format!("Vui lòng đánh dấu vào ô \"{label}\"."));
            }
            Ok(Some(json!(checked)))
        }
        _ => {
            let Some(value) = single(raw, &field.id)? else {
                return missing(field, required);
            };
            let multiline = field.kind == FieldType::Textarea;
            let value = clean_text(label, value, multiline)?;
            if value.is_empty() {
                return missing(field, required);
            }
            check_length(field, &value)?;
            validate_typed(field, &value, today).map(Some)
        }
    }
}

fn missing(field: &Field, required: bool) -> Result<Option<Value>, String> {
    if !required {
        return Ok(None);
    }
    let verb = match field.kind {
        FieldType::Select | FieldType::Radio => "chọn",
        _ => "nhập",
    };
    Err(format!(
        "Vui lòng {verb} {}",
        sentence(&lower_first(&field.label))
    ))
}

fn check_length(field: &Field, value: &str) -> Result<(), String> {
    let count = value.chars().count();
    let max = field
        .max_length
        .map_or(HARD_MAX_CHARS, |m| (m as usize).min(HARD_MAX_CHARS));
    if count > max {
        return Err(format!(
            "{} dài quá: tối đa {max} ký tự, bạn đã nhập {count} ký tự.",
            field.label
        ));
    }
    if let Some(min) = field.min_length
        && count < min as usize
    {
        return Err(format!("{} cần ít nhất {min} ký tự.", field.label));
    }
    Ok(())
}

fn validate_typed(field: &Field, value: &str, today: time::Date) -> Result<Value, String> {
    let label = field.label.as_str();
    match field.kind {
        FieldType::Text | FieldType::Textarea => Ok(json!(value)),
        FieldType::Select | FieldType::Radio => {
            if field.options.iter().any(|o| o.value == value) {
                Ok(json!(value))
            } else {
                Err(bad_option(label))
            }
        }
        FieldType::Date => {
            let day = Day::parse_input(value).ok_or_else(|| {
                format!("{label} chưa đúng. Hãy nhập ngày/tháng/năm, ví dụ 30/04/2025.")
            })?;
            if let Some(min) = &field.min_date {
                let min = min.resolve(today);
                if day.0 < min {
                    return Err(if min == today {
                        format!("{label} không được trước hôm nay.")
                    } else {
                        format!("{label} không được trước ngày {}.", Day(min).vietnamese())
                    });
                }
            }
            if let Some(max) = &field.max_date {
                let max = max.resolve(today);
                if day.0 > max {
                    return Err(if max == today {
                        format!("{label} không được sau hôm nay.")
                    } else {
                        format!("{label} không được sau ngày {}.", Day(max).vietnamese())
                    });
                }
            }
            Ok(json!(day.iso()))
        }
        FieldType::Email => validate_email(value)
            .map(|e| json!(e))
            .ok_or_else(|| "Địa chỉ thư điện tử chưa đúng. Ví dụ đúng: nguyenvana@gmail.com.".into()),
        FieldType::Phone => normalize_mobile(value).map(|p| json!(p)).ok_or_else(|| {
            "Số điện thoại di động chưa đúng. Hãy nhập 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09, ví dụ 0912 345 678.".into()
        }),
        FieldType::CitizenId => validate_citizen_id(value).map(|id| json!(id)),
        FieldType::Number => {
            let n: i64 = value
                .replace(['.', ' '], "")
                .parse()
                .map_err(|_| format!("{label} phải là một số nguyên, ví dụ 2."))?;
            if let Some(min) = field.min
                && n < min
            {
                return Err(format!("{label} nhỏ nhất là {min}."));
            }
            if let Some(max) = field.max
                && n > max
            {
                return Err(format!("{label} lớn nhất là {max}."));
            }
            Ok(json!(n))
        }
        FieldType::Checkbox | FieldType::Address | FieldType::File => {
            unreachable!("handled by validate_field")
        }
    }
}

fn validate_address(
    field: &Field,
    raw: &RawValues,
    required: bool,
) -> Result<Option<Value>, String> {
    let mut parts = Map::new();
    let mut missing_parts = Vec::new();
    for (part, part_label, part_required) in ADDRESS_PARTS {
        let key = format!("{}.{}", field.id, part);
        let value = single(raw, &key)?.unwrap_or("");
        let value = clean_text(&field.label, value, false)?;
        if value.chars().count() > 200 {
            return Err(format!(
                "{} ({}) dài quá: tối đa 200 ký tự.",
                field.label,
                lower_first(part_label)
            ));
        }
        if value.is_empty() {
            if *part_required {
                missing_parts.push(lower_first(part_label));
            }
        } else {
            parts.insert((*part).to_owned(), json!(value));
        }
    }
    if parts.is_empty() && !required {
        return Ok(None);
    }
    if !missing_parts.is_empty() {
        return Err(format!(
            "{} còn thiếu: {}.",
            field.label,
            missing_parts.join(", ")
        ));
    }
    Ok(Some(Value::Object(parts)))
}

/// Ends a message with a full stop unless the label already ends a sentence.
fn sentence(text: &str) -> String {
    let text = text.trim_end_matches(['?', ':', '.']);
    format!("{text}.")
}

fn bad_option(label: &str) -> String {
    format!("Lựa chọn ở \"{label}\" không có trong danh sách. Vui lòng chọn lại.")
}

fn lower_first(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        // Keep acronyms such as "CCCD" as they are.
        Some(c) if chars.clone().next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => label.to_owned(),
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// Normalises a Vietnamese mobile number to ten digits starting with 0: accepts spaces,
/// dots, dashes and the +84 / 84 country prefix.
pub fn normalize_mobile(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let national = if let Some(rest) = compact.strip_prefix("+84") {
        format!("0{rest}")
    } else if compact.len() == 11 && compact.starts_with("84") {
        format!("0{}", &compact[2..])
    } else {
        compact
    };
    let valid = national.len() == 10
        && national.bytes().all(|b| b.is_ascii_digit())
        && MOBILE_PREFIXES.contains(&&national[..3]);
    valid.then_some(national)
}

/// Mobile prefixes in use (Viettel, Vinaphone, MobiFone, Vietnamobile, Gmobile, Itel, Reddi).
pub const MOBILE_PREFIXES: &[&str] = &[
    "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097",
    "098", // Viettel
    "081", "082", "083", "084", "085", "088", "091", "094", // Vinaphone
    "070", "076", "077", "078", "079", "089", "090", "093", // MobiFone
    "052", "056", "058", "092", // Vietnamobile
    "059", "099", // Gmobile
    "087", // Itel
    "055", // Reddi
];

pub fn validate_email(input: &str) -> Option<String> {
    let email = input.trim();
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains('@');
    (domain_ok && local_ok).then(|| format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Personal ID (số định danh cá nhân / CCCD): 12 digits; the first three are a province
/// code 001–096. There is no checksum.
pub fn validate_citizen_id(input: &str) -> Result<String, String> {
    let id: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Số định danh cá nhân gồm đúng 12 chữ số (in trên thẻ Căn cước), bạn đã nhập {} ký tự.",
            id.chars().count()
        ));
    }
    let province: u32 = id[..3].parse().expect("digits");
    if !(1..=96).contains(&province) {
        return Err(format!(
            "Ba chữ số đầu \"{}\" không phải mã tỉnh, thành phố nào (001–096). Vui lòng xem lại thẻ.",
            &id[..3]
        ));
    }
    Ok(id)
}

/// Birth years a citizen-ID gender/century digit allows: 0/1 → 1900s, 2/3 → 2000s, …
pub fn citizen_id_century(id: &str) -> Option<i32> {
    let digit = id.as_bytes().get(3)?.checked_sub(b'0')?;
    Some(1900 + 100 * i32::from(digit / 2))
}

fn cross_check_citizen_ids(form: &Form, clean: &CleanValues, errors: &mut Vec<FieldError>) {
    for field in form.fields().filter(|f| f.kind == FieldType::CitizenId) {
        let (Some(birth_field), Some(Value::String(id))) =
            (&field.birth_date_field, clean.get(&field.id))
        else {
            continue;
        };
        let Some(Value::String(birth)) = clean.get(birth_field) else {
            continue;
        };
        let (Some(day), Some(century)) = (Day::parse_input(birth), citizen_id_century(id)) else {
            continue;
        };
        let year = day.0.year();
        let id_year = century + id[4..6].parse::<i32>().unwrap_or(-1);
        if id_year != year {
            errors.push(FieldError::new(
                &field.id,
                format!(
                    "Số định danh cá nhân không khớp với năm sinh {year}: chữ số thứ 4–6 của số định danh cho năm sinh {id_year}. Vui lòng xem lại số trên thẻ hoặc ngày sinh."
                ),
            ));
        }
    }
}

/// Checks one attachment: its real type by its first bytes, and its size.
pub fn validate_attachment(
    field: &Field,
    file_name: &str,
    size: u64,
    first_bytes: &[u8],
) -> Result<FileKind, String> {
    let name = name_in_message(file_name);
    if size == 0 {
        return Err(format!("Tệp \"{name}\" trống. Vui lòng chọn lại tệp."));
    }
    let limit = u64::from(field.max_size_kb.unwrap_or(5120)) * 1024;
    if size > limit {
        return Err(format!(
            "Tệp \"{name}\" nặng {}, vượt giới hạn {} của ô \"{}\". Hãy chụp lại với độ phân giải thấp hơn hoặc nén tệp.",
            human_size(size),
            human_size(limit),
            field.label
        ));
    }
    let accepted = accepted_kinds(field);
    match FileKind::sniff(first_bytes) {
        Some(kind) if accepted.contains(&kind) => Ok(kind),
        _ => Err(format!(
            "Tệp \"{name}\" không phải {}. Nội dung tệp cho thấy đây là loại khác, dù tên tệp có thể giống. Hãy chụp ảnh hoặc quét giấy tờ thành {}.",
            kinds_label(accepted),
            kinds_label(accepted)
        )),
    }
}

pub fn accepted_kinds(field: &Field) -> &[FileKind] {
    if field.accept.is_empty() {
        &[FileKind::Pdf, FileKind::Jpeg, FileKind::Png]
    } else {
        &field.accept
    }
}

pub fn kinds_label(kinds: &[FileKind]) -> String {
    let labels: Vec<&str> = kinds.iter().map(|k| k.label()).collect();
    match labels.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} hoặc {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_owned(),
        None => String::new(),
    }
}

/// "1,5 MB", "300 KB"
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        let tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{},{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// A file name safe to show and to use in a storage key: no path, no control
/// characters, folded to ASCII, at most 60 characters, with the extension of the
/// kind the bytes really are.
pub fn safe_file_name(file_name: &str, kind: FileKind) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let mut slug = text::slugify(stem);
    slug.truncate(60);
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "tep" } else { slug };
    format!("{slug}.{}", kind.extension())
}

fn name_in_message(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
    truncate(base, 60)
}

/// A file name fit to show: no path, no control characters, at most 80 characters.
pub fn display_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let shown: String = base.chars().filter(|c| !c.is_control()).take(80).collect();
    if shown.trim().is_empty() {
        "tệp".into()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Choice, ContactFields, Section};

    fn field(id: &str, kind: FieldType) -> Field {
        serde_yaml_ng::from_str::<Field>(&format!("{{id: {id}, label: Ô thử, type: text}}"))
            .map(|mut f| {
                f.kind = kind;
                f
            })
            .unwrap()
    }

    fn form(fields: Vec<Field>) -> Form {
        Form {
            contact: ContactFields {
                name: "ho_ten".into(),
                phone: "dien_thoai".into(),
                email: None,
                address: None,
                notify: None,
            },
            sections: vec![Section {
                title: "A".into(),
                description: None,
                fields,
            }],
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> RawValues {
        let mut map = RawValues::new();
        for (k, v) in pairs {
            map.entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        map
    }

    fn today() -> time::Date {
        time::macros::date!(2025 - 06 - 15)
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(
            normalize_mobile("0912 345 678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            normalize_mobile("+84 912.345.678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            normalize_mobile("84912345678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            normalize_mobile("0862345678").as_deref(),
            Some("0862345678")
        );
        assert_eq!(normalize_mobile("0212345678"), None, "landline prefix");
        assert_eq!(normalize_mobile("091234567"), None, "nine digits");
        assert_eq!(normalize_mobile("09123456789"), None, "eleven digits");
        assert_eq!(normalize_mobile("0912a45678"), None);
    }

    #[test]
    fn citizen_ids() {
        assert_eq!(
            validate_citizen_id("064 195 012 345").unwrap(),
            "064195012345"
        );
        assert!(
            validate_citizen_id("06419501234")
                .unwrap_err()
                .contains("12 chữ số")
        );
        assert!(
            validate_citizen_id("097195012345")
                .unwrap_err()
                .contains("097")
        );
        assert!(validate_citizen_id("000195012345").is_err());
        assert_eq!(citizen_id_century("064195012345"), Some(1900));
        assert_eq!(citizen_id_century("064305012345"), Some(2000));
    }

    #[test]
    fn citizen_id_must_agree_with_birth_year() {
        let mut id = field("cccd", FieldType::CitizenId);
        id.birth_date_field = Some("ngay_sinh".into());
        let f = form(vec![field("ngay_sinh", FieldType::Date), id]);
        let ok = validate_values(
            &f,
            &raw(&[("ngay_sinh", "1995-03-02"), ("cccd", "064195012345")]),
            &[],
            today(),
        );
        assert!(ok.is_ok());
        let errors = validate_values(
            &f,
            &raw(&[("ngay_sinh", "1996-03-02"), ("cccd", "064195012345")]),
            &[],
            today(),
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "cccd");
        assert!(errors[0].message.contains("1996"));
    }

    #[test]
    fn emails() {
        assert_eq!(
            validate_email("An.Nguyen@Gmail.COM").as_deref(),
            Some("An.Nguyen@gmail.com")
        );
        assert_eq!(validate_email("a@b"), None);
        assert_eq!(validate_email("a b@c.vn"), None);
        assert_eq!(validate_email("@c.vn"), None);
        assert_eq!(validate_email("a@c..vn"), None);
    }

    #[test]
    fn required_and_lengths_report_every_field_at_once() {
        let mut name = field("ho_ten", FieldType::Text);
        name.required = true;
        name.label = "Họ và tên".into();
        name.max_length = Some(5);
        let mut phone = field("dien_thoai", FieldType::Phone);
        phone.required = true;
        phone.label = "Số điện thoại".into();
        let f = form(vec![name, phone]);
        let errors =
            validate_values(&f, &raw(&[("ho_ten", "Nguyễn Văn An")]), &[], today()).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "ho_ten");
        assert!(errors[0].message.contains("tối đa 5"));
        assert_eq!(errors[1].message, "Vui lòng nhập số điện thoại.");
    }

    #[test]
    fn unknown_and_repeated_keys_are_refused() {
        let f = form(vec![field("ho_ten", FieldType::Text)]);
        let errors = validate_values(&f, &raw(&[("ho_ten", "A"), ("admin", "1")]), &[], today())
            .unwrap_err();
        assert_eq!(errors[0].field, "_form");
        assert!(errors[0].message.contains("admin"));
        let errors = validate_values(&f, &raw(&[("ho_ten", "A"), ("ho_ten", "B")]), &[], today())
            .unwrap_err();
        assert_eq!(errors[0].field, "ho_ten");
    }

    #[test]
    fn control_characters_are_refused_but_newlines_in_textareas_kept() {
        let f = form(vec![
            field("a", FieldType::Text),
            field("b", FieldType::Textarea),
        ]);
        assert!(validate_values(&f, &raw(&[("a", "x\u{0}y")]), &[], today()).is_err());
        let ok = validate_values(&f, &raw(&[("b", "dòng 1\r\ndòng 2")]), &[], today()).unwrap();
        assert_eq!(ok["b"], "dòng 1\ndòng 2");
    }

    #[test]
    fn text_is_normalised_to_nfc() {
        let f = form(vec![field("a", FieldType::Text)]);
        let decomposed: String = "Nguyễn".nfd().collect();
        let ok = validate_values(&f, &raw(&[("a", &decomposed)]), &[], today()).unwrap();
        assert_eq!(ok["a"], "Nguyễn");
    }

    #[test]
    fn dates_and_bounds() {
        let mut d = field("ngay", FieldType::Date);
        d.max_date = Some(crate::model::DateBound::Keyword(
            crate::model::TodayKeyword::Today,
        ));
        let f = form(vec![d]);
        assert_eq!(
            validate_values(&f, &raw(&[("ngay", "14/06/2025")]), &[], today()).unwrap()["ngay"],
            "2025-06-14"
        );
        let e = validate_values(&f, &raw(&[("ngay", "2025-06-16")]), &[], today()).unwrap_err();
        assert!(e[0].message.contains("sau hôm nay"));
        let e = validate_values(&f, &raw(&[("ngay", "31/02/2025")]), &[], today()).unwrap_err();
        assert!(e[0].message.contains("30/04/2025"));
    }

    #[test]
    fn options_numbers_and_checkboxes() {
        let mut s = field("gioi_tinh", FieldType::Radio);
        s.options = vec![Choice {
            value: "nam".into(),
            label: "Nam".into(),
        }];
        let mut n = field("so_ban", FieldType::Number);
        n.min = Some(1);
        n.max = Some(10);
        let mut c = field("cam_doan", FieldType::Checkbox);
        c.required = true;
        let f = form(vec![s, n, c]);
        let ok = validate_values(
            &f,
            &raw(&[("gioi_tinh", "nam"), ("so_ban", "2"), ("cam_doan", "on")]),
            &[],
            today(),
        )
        .unwrap();
        assert_eq!(ok["so_ban"], 2);
        assert_eq!(ok["cam_doan"], true);
        let e = validate_values(
            &f,
            &raw(&[("gioi_tinh", "khac"), ("so_ban", "11")]),
            &[],
            today(),
        )
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["gioi_tinh", "so_ban", "cam_doan"]);
    }

    #[test]
    fn conditional_requirement_and_addresses() {
        let mut how = field("nhan_ket_qua", FieldType::Radio);
        how.options = vec![
            Choice {
                value: "tai_xa".into(),
                label: "Tại xã".into(),
            },
            Choice {
                value: "buu_dien".into(),
                label: "Bưu điện".into(),
            },
        ];
        let mut addr = field("dia_chi_nhan", FieldType::Address);
        addr.required_if = Some(crate::model::Condition {
            field: "nhan_ket_qua".into(),
            equals: "buu_dien".into(),
        });
        addr.label = "Địa chỉ nhận".into();
        let f = form(vec![how, addr]);
        assert!(validate_values(&f, &raw(&[("nhan_ket_qua", "tai_xa")]), &[], today()).is_ok());
        let e = validate_values(
            &f,
            &raw(&[
                ("nhan_ket_qua", "buu_dien"),
                ("dia_chi_nhan.detail", "Thôn 1"),
            ]),
            &[],
            today(),
        )
        .unwrap_err();
        assert!(e[0].message.contains("xã/phường"), "{}", e[0].message);
        let ok = validate_values(
            &f,
            &raw(&[
                ("nhan_ket_qua", "buu_dien"),
                ("dia_chi_nhan.detail", "Thôn 1"),
                ("dia_chi_nhan.commune", "Ia Pết"),
                ("dia_chi_nhan.province", "Gia Lai"),
            ]),
            &[],
            today(),
        )
        .unwrap();
        assert_eq!(ok["dia_chi_nhan"]["commune"], "Ia Pết");
    }

    #[test]
    fn attachments_by_bytes_and_size() {
        let mut f = field("giay", FieldType::File);
        f.accept = vec![FileKind::Pdf, FileKind::Jpeg];
        f.max_size_kb = Some(100);
        assert_eq!(
            validate_attachment(&f, "a.pdf", 10, b"%PDF-1.4").unwrap(),
            FileKind::Pdf
        );
        let e = validate_attachment(&f, "anh.jpg", 10, b"MZ\x90\0").unwrap_err();
        assert!(e.contains("PDF hoặc JPG"), "{e}");
        let e = validate_attachment(&f, "a.png", 10, b"\x89PNG\r\n\x1a\n").unwrap_err();
        assert!(e.contains("không phải"), "{e}");
        let e = validate_attachment(&f, "a.pdf", 200 * 1024, b"%PDF-").unwrap_err();
        assert!(e.contains("200 KB") && e.contains("100 KB"), "{e}");
        assert!(
            validate_attachment(&f, "a.pdf", 0, b"")
                .unwrap_err()
                .contains("trống")
        );
    }

    #[test]
    fn safe_names_drop_paths_and_controls() {
        assert_eq!(
            safe_file_name("../../etc/passwd", FileKind::Pdf),
            "passwd.pdf"
        );
        assert_eq!(
            safe_file_name("C:\\Users\\An\\Giấy chứng sinh.JPG", FileKind::Jpeg),
            "giay-chung-sinh.jpg"
        );
        assert_eq!(safe_file_name("a\u{0}b\r\n.pdf", FileKind::Pdf), "a-b.pdf");
        assert_eq!(safe_file_name("....", FileKind::Png), "tep.png");
        assert_eq!(safe_file_name("scan.exe", FileKind::Pdf), "scan.pdf");
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(5 * 1024 * 1024), "5 MB");
        assert_eq!(human_size(1536 * 1024), "1,5 MB");
        assert_eq!(human_size(300 * 1024), "300 KB");
    }

    #[test]
    fn display_names_lose_paths_and_controls() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\a\\giấy\u{0}.pdf"), "giấy.pdf");
        assert_eq!(display_name("\u{7}"), "tệp");
    }
}
