//! Loading the content folder into the model, with every problem reported at once:
//! the file, the line, the key, what is wrong and what would be right.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use crate::calendar::{HolidayFile, parse_hhmm};
use crate::day::Day;
use crate::model::{
    Delivery, FeeUnit, FieldType, Form, NewsItem, Page, Procedure, Reference, Site, Source,
};
use crate::text::slugify;

/// One problem in the content, written for the commune's editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContentError {
    /// Path relative to the content folder.
    pub file: String,
    pub line: Option<usize>,
    /// The key in question, e.g. `form.sections[0].fields[2].type`.
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file)?,
            None => write!(f, "{}", self.file)?,
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}\n    → Cách sửa: {}", self.problem, self.fix)
    }
}

impl ContentError {
    pub fn new(
        file: impl Into<String>,
        line: Option<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> ContentError {
        ContentError {
            file: file.into(),
            line,
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// Everything the commune wrote, loaded and checked.
#[derive(Debug, Clone)]
pub struct Content {
    pub root: PathBuf,
    pub site: Site,
    /// Sorted by field, then title.
    pub procedures: Vec<Procedure>,
    /// Newest first.
    pub news: Vec<NewsItem>,
    pub pages: Vec<Page>,
    pub holidays: HolidayFile,
}

impl Content {
    pub fn procedure(&self, code_or_slug: &str) -> Option<&Procedure> {
        self.procedures
            .iter()
            .find(|p| p.code == code_or_slug || p.slug == code_or_slug)
    }

    pub fn calendar(&self) -> crate::calendar::Calendar {
        crate::calendar::Calendar::new(&self.holidays)
    }

    pub fn sort(&mut self) {
        self.procedures
            .sort_by(|a, b| (&a.field, &a.title, &a.code).cmp(&(&b.field, &b.title, &b.code)));
        self.news
            .sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
        self.pages.sort_by(|a, b| {
            (a.menu.unwrap_or(u32::MAX), &a.slug).cmp(&(b.menu.unwrap_or(u32::MAX), &b.slug))
        });
    }
}

/// Loads and checks the whole content folder.
pub fn load(root: &Path) -> Result<Content, Vec<ContentError>> {
    let mut errors = Vec::new();

    let mut site = read_yaml::<Site>(root, "site.yaml", &mut errors);
    if let Some(site) = &mut site {
        let text = read_to_string(root, "site.yaml");
        errors.extend(check_site(site, &text));
    }
    let mut holidays = read_yaml::<HolidayFile>(root, "holidays.yaml", &mut errors);
    if let Some(h) = &mut holidays {
        let text = read_to_string(root, "holidays.yaml");
        for (year, entries) in h.years.iter_mut() {
            entries.line = key_line(&text, &year.to_string());
        }
        errors.extend(check_holidays(h, &text));
    }

    // Procedures are most of the content (thousands of files in a province): parse
    // them in parallel, keeping the files' order for stable reports.
    let parsed: Vec<Result<Procedure, Vec<ContentError>>> =
        markdown_files(root, "procedures", &mut errors)
            .par_iter()
            .map(|rel| {
                let text = read_to_string_checked(root, rel).map_err(|e| vec![e])?;
                parse_procedure(root, rel, &text)
            })
            .collect();
    let mut procedures = Vec::with_capacity(parsed.len());
    for result in parsed {
        match result {
            Ok(p) => procedures.push(p),
            Err(e) => errors.extend(e),
        }
    }
    errors.extend(check_unique(&procedures));

    let mut news = Vec::new();
    for rel in markdown_files(root, "news", &mut errors) {
        match read_to_string_checked(root, &rel).and_then(|t| parse_news(root, &rel, &t)) {
            Ok(n) => news.push(n),
            Err(e) => errors.push(e),
        }
    }
    let mut pages = Vec::new();
    for rel in markdown_files(root, "pages", &mut errors) {
        match parse_front_matter::<Page>(&rel, &read_to_string(root, &rel)) {
            Ok((mut p, body, source)) => {
                if p.slug.is_empty() {
                    p.slug = slugify(&p.title);
                }
                p.body = body;
                p.source = source;
                pages.push(p);
            }
            Err(e) => errors.push(e),
        }
    }
    errors.extend(check_unique_slugs(
        news.iter().map(|n| (&n.slug, &n.source)),
        "tin",
    ));
    errors.extend(check_unique_slugs(
        pages.iter().map(|p| (&p.slug, &p.source)),
        "trang",
    ));

    match (site, holidays, errors.is_empty()) {
        (Some(site), Some(holidays), true) => {
            let mut content = Content {
                root: root.to_path_buf(),
                site,
                procedures,
                news,
                pages,
                holidays,
            };
            content.sort();
            Ok(content)
        }
        _ => Err(errors),
    }
}

fn read_to_string(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_default()
}

fn read_to_string_checked(root: &Path, rel: &str) -> Result<String, ContentError> {
    std::fs::read_to_string(root.join(rel)).map_err(|e| {
        ContentError::new(
            rel,
            None,
            "",
            format!("không đọc được tệp ({e})"),
            "lưu tệp dưới dạng văn bản UTF-8",
        )
    })
}

fn read_yaml<T: DeserializeOwned>(
    root: &Path,
    rel: &str,
    errors: &mut Vec<ContentError>,
) -> Option<T> {
    let text = match read_to_string_checked(root, rel) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ContentError::new(
                rel,
                None,
                "",
                "thiếu tệp này",
                format!("tạo tệp content/{rel} (xem ví dụ trong README)"),
            ));
            let _ = e;
            return None;
        }
    };
    match serde_yaml_ng::from_str::<T>(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(yaml_error(rel, &e, 0));
            None
        }
    }
}

fn markdown_files(root: &Path, dir: &str, errors: &mut Vec<ContentError>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        if dir == "procedures" {
            errors.push(ContentError::new(
                dir,
                None,
                "",
                "thiếu thư mục thủ tục",
                "tạo thư mục content/procedures/ với mỗi thủ tục một tệp .md",
            ));
        }
        return Vec::new();
    };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && !n.starts_with('.'))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    files
}

/// Splits `---` front matter from the Markdown body and deserialises it.
pub fn parse_front_matter<T: DeserializeOwned>(
    rel: &str,
    text: &str,
) -> Result<(T, String, Source), ContentError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| {
            ContentError::new(
                rel,
                Some(1),
                "",
                "tệp không bắt đầu bằng phần thông tin (front matter)",
                "dòng đầu tiên của tệp phải là --- , tiếp theo là các khóa YAML, rồi một dòng --- nữa trước phần nội dung",
            )
        })?;
    let (yaml, body) = split_closing(rest).ok_or_else(|| {
        ContentError::new(
            rel,
            Some(1),
            "",
            "phần thông tin mở bằng --- nhưng không có dòng --- đóng lại",
            "thêm một dòng chỉ có --- sau khóa YAML cuối cùng",
        )
    })?;
    let body_line = yaml.lines().count() + 3;
    let value = serde_yaml_ng::from_str::<T>(yaml).map_err(|e| yaml_error(rel, &e, 1))?;
    Ok((
        value,
        body.to_owned(),
        Source {
            path: rel.to_owned(),
            body_line,
            key_line: line_of(text, "code:").or_else(|| line_of(text, "title:")),
            review_line: line_of(text, "review_note:"),
        },
    ))
}

fn split_closing(rest: &str) -> Option<(&str, &str)> {
    if let Some(body) = rest.strip_prefix("---\n") {
        return Some(("", body));
    }
    let idx = rest.find("\n---\n").or_else(|| rest.find("\n---\r\n"))?;
    let yaml = &rest[..idx + 1];
    let after = &rest[idx + 1..];
    let body = after.split_once('\n').map_or("", |(_, b)| b);
    Some((yaml, body))
}

/// Turns a serde_yaml_ng error into a message for the editor. `line_offset` is the number
/// of lines before the YAML text in the file (1 for the opening `---`).
fn yaml_error(rel: &str, e: &serde_yaml_ng::Error, line_offset: usize) -> ContentError {
    let line = e.location().map(|l| l.line() + line_offset);
    let raw = e.to_string();
    let raw = match raw.rfind(" at line ") {
        Some(i) => &raw[..i],
        None => raw.as_str(),
    };
    let (key, message) = match raw.split_once(": ") {
        Some((path, msg)) if !path.contains(' ') => (path.to_owned(), msg.to_owned()),
        _ => (String::new(), raw.to_owned()),
    };
    let (problem, fix) = explain_serde(&key, &message);
    ContentError::new(rel, line, key, problem, fix)
}

fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

fn explain_serde(key: &str, message: &str) -> (String, String) {
    let names = backticked(message);
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = rest.trim_matches('`');
        return (
            format!("thiếu khóa bắt buộc \"{name}\""),
            format!("thêm dòng \"{name}: …\" vào mục này (xem ví dụ trong README)"),
        );
    }
    if message.starts_with("unknown field") {
        let expected = names.get(1..).map(|n| n.join(", ")).unwrap_or_default();
        return (
            format!(
                "khóa \"{}\" không có trong mẫu nội dung",
                names.first().unwrap_or(&"?")
            ),
            format!("kiểm tra chính tả; các khóa dùng được ở đây: {expected}"),
        );
    }
    if message.starts_with("unknown variant") {
        let expected = names.get(1..).map(|n| n.join(", ")).unwrap_or_default();
        let what = if key.ends_with(".type") {
            "kiểu trường"
        } else {
            "giá trị"
        };
        return (
            format!("{what} \"{}\" không có", names.first().unwrap_or(&"?")),
            format!("dùng một trong: {expected}"),
        );
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let expected = message.rsplit_once("expected ").map_or("", |(_, e)| e);
        return (
            format!("giá trị sai kiểu ({message})"),
            format!("ở đây cần {}", explain_expected(expected)),
        );
    }
    if message.starts_with("did not find expected")
        || message.starts_with("mapping values are not allowed")
        || message.starts_with("found ")
        || message.contains("while parsing")
        || message.contains("while scanning")
    {
        return (
            format!("YAML viết sai cú pháp ({message})"),
            "kiểm tra thụt lề (dùng dấu cách, không dùng tab), dấu hai chấm sau mỗi khóa, và đặt chuỗi có dấu hai chấm trong ngoặc kép".into(),
        );
    }
    if message.starts_with("ngày ") {
        return (
            message.to_owned(),
            "viết ngày theo dạng NNNN-TT-NN, ví dụ 2025-04-30".into(),
        );
    }
    if message.starts_with("data did not match any variant") {
        return (
            "giá trị không hợp lệ".into(),
            "với giới hạn ngày, dùng \"today\" hoặc một ngày dạng NNNN-TT-NN".into(),
        );
    }
    (
        message.to_owned(),
        "sửa giá trị theo mẫu trong README".into(),
    )
}

fn explain_expected(expected: &str) -> String {
    match expected {
        "u8" | "u32" | "u64" | "i64" => "một số nguyên".into(),
        "a boolean" => "true hoặc false".into(),
        "a string" => "một chuỗi chữ".into(),
        "a sequence" => "một danh sách (mỗi mục một dòng bắt đầu bằng \"- \")".into(),
        other if other.starts_with("struct") => "một nhóm khóa (mỗi khóa một dòng, thụt lề)".into(),
        other => other.into(),
    }
}

/// The line (1-based, in the file) where `needle` first appears, for problems found
/// after deserialisation.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

pub fn parse_procedure(root: &Path, rel: &str, text: &str) -> Result<Procedure, Vec<ContentError>> {
    let (mut p, body, source) = parse_front_matter::<Procedure>(rel, text).map_err(|e| vec![e])?;
    if p.slug.is_empty() {
        p.slug = slugify(&p.title);
    }
    p.body = body;
    p.source = source;
    p.search_text = crate::text::fold(&format!("{} {} {} {}", p.title, p.code, p.field, p.summary));
    let errors = check_procedure(root, &p, text);
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(errors)
    }
}

fn parse_news(root: &Path, rel: &str, text: &str) -> Result<NewsItem, ContentError> {
    let (mut n, body, source) = parse_front_matter::<NewsItem>(rel, text)?;
    if n.slug.is_empty() {
        n.slug = slugify(&n.title);
    }
    n.body = body;
    n.source = source;
    for photo in &n.photos {
        if !root.join("media").join(&photo.file).is_file() {
            return Err(ContentError::new(
                rel,
                line_of(text, &photo.file),
                "photos.file",
                format!("không có ảnh \"media/{}\"", photo.file),
                "chép ảnh vào thư mục content/media/ hoặc sửa tên tệp cho đúng (phân biệt chữ hoa, chữ thường)",
            ));
        }
        if photo.alt.trim().is_empty() {
            return Err(ContentError::new(
                rel,
                line_of(text, &photo.file),
                "photos.alt",
                "ảnh thiếu lời mô tả (alt)",
                "viết một câu tả nội dung ảnh cho người khiếm thị, ví dụ \"Cán bộ hướng dẫn người dân nộp hồ sơ\"",
            ));
        }
    }
    Ok(n)
}

pub use crate::dossier_code::valid_unit_code;

/// The line of a YAML key written on its own line (`  2026:`), not of a comment or a
/// value that happens to contain the same text.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let wanted = format!("{key}:");
    text.lines()
        .position(|l| l.trim_start().starts_with(&wanted) && !l.trim_start().starts_with('#'))
        .map(|i| i + 1)
}

/// A source needs a document number; an address, when given, must be a full web address.
fn check_references(
    rel: &str,
    text: &str,
    key: &str,
    refs: &[Reference],
    errors: &mut Vec<ContentError>,
) {
    for (i, r) in refs.iter().enumerate() {
        if r.document.trim().is_empty() {
            errors.push(ContentError::new(
                rel,
                key_line(text, key),
                format!("{key}[{i}].document"),
                "nguồn không ghi số văn bản",
                "ghi số và loại văn bản, ví dụ \"Nghị định số 118/2025/NĐ-CP\"",
            ));
        }
        if let Some(url) = &r.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push(ContentError::new(
                rel,
                line_of(text, url).or_else(|| key_line(text, key)),
                format!("{key}[{i}].url"),
                format!("\"{url}\" không phải địa chỉ web đầy đủ"),
                "viết đầy đủ, ví dụ https://vbpl.vn/…, hoặc bỏ khóa url nếu văn bản không có trên mạng",
            ));
        }
    }
}

fn check_site(site: &Site, text: &str) -> Vec<ContentError> {
    let mut errors = Vec::new();
    if let Some(district) = &site.district {
        errors.push(ContentError::new(
            "site.yaml",
            key_line(text, "district"),
            "district",
            format!("từ 01/7/2025 không còn cấp huyện, nhưng trang vẫn ghi \"{district}\""),
            "bỏ dòng district; chân trang chỉ ghi tên xã và tỉnh (Nghị quyết số 202/2025/QH15 và nghị quyết sắp xếp cấp xã của tỉnh)",
        ));
    }
    check_references("site.yaml", text, "sources", &site.sources, &mut errors);
    if !site.base_url.starts_with("https://") && !site.base_url.starts_with("http://") {
        errors.push(ContentError::new(
            "site.yaml",
            None,
            "base_url",
            format!("\"{}\" không phải địa chỉ web đầy đủ", site.base_url),
            "viết đầy đủ, ví dụ https://iapet.gialai.gov.vn",
        ));
    }
    if let Some(bank) = &site.bank {
        if let Err(e) = crate::vietqr::check_account(bank) {
            errors.push(ContentError::new(
                "site.yaml",
                key_line(text, "bank"),
                "bank",
                e.to_string(),
                "ghi đúng tài khoản nhận phí: bin là mã 6 số của ngân hàng theo NAPAS (ví dụ 970405 là Agribank), number là số tài khoản viết liền",
            ));
        }
        let longest = crate::vietqr::transfer_message(&format!("{}-991231-9999", site.unit_code));
        if longest.len() > crate::vietqr::MESSAGE_MAX {
            errors.push(ContentError::new(
                "site.yaml",
                key_line(text, "unit_code"),
                "unit_code",
                format!(
                    "mã hồ sơ ({longest}) dài hơn {} ký tự nên không ghi vừa nội dung chuyển khoản của mã VietQR",
                    crate::vietqr::MESSAGE_MAX
                ),
                "dùng mã đơn vị ngắn hơn, hoặc bỏ khóa bank",
            ));
        }
    }
    if let Some(system) = &site.e_receipt
        && !system.lookup_url.starts_with("https://")
    {
        errors.push(ContentError::new(
                "site.yaml",
                key_line(text, "lookup_url"),
                "e_receipt.lookup_url",
                format!(
                    "\"{}\" không phải địa chỉ https của trang tra cứu biên lai",
                    system.lookup_url
                ),
                "ghi địa chỉ trang tra cứu biên lai điện tử bắt đầu bằng https://, có thể có {ma} ở chỗ mã tra cứu, ví dụ https://bienlai.example.vn/tra-cuu?ma={ma}",
            ));
    }
    if !valid_unit_code(&site.unit_code) {
        errors.push(ContentError::new(
            "site.yaml",
            key_line(text, "unit_code"),
            "unit_code",
            format!(
                "mã đơn vị \"{}\" không dùng được trong mã hồ sơ",
                site.unit_code
            ),
            format!(
                "ghi mã đơn vị tiếp nhận (tỉnh rồi xã, không còn phần huyện), {}, ví dụ H21.IAPET",
                crate::dossier_code::UNIT_CODE_RULE
            ),
        ));
    }
    errors
}

fn check_holidays(file: &HolidayFile, text: &str) -> Vec<ContentError> {
    let mut errors = Vec::new();
    for (year, entries) in &file.years {
        if !entries.estimated && entries.sources.is_empty() {
            errors.push(ContentError::new(
                "holidays.yaml",
                entries.line,
                format!("years.{year}.sources"),
                format!("năm {year} không ghi nguồn chính thức"),
                "thêm sources: số văn bản của Văn phòng Chính phủ hoặc thông báo của Bộ Nội vụ về nghỉ lễ năm đó; chưa có thì ghi estimated: true",
            ));
        }
        check_references(
            "holidays.yaml",
            text,
            "sources",
            &entries.sources,
            &mut errors,
        );
        for entry in entries.holidays.iter().chain(&entries.working_weekends) {
            let line = line_of(text, &entry.from.iso());
            if entry.from.0.year() != *year {
                errors.push(ContentError::new(
                    "holidays.yaml",
                    line,
                    format!("years.{year}"),
                    format!("ngày {} nằm trong mục năm {year}", entry.from),
                    format!("chuyển ngày này sang mục năm {}", entry.from.0.year()),
                ));
            }
            if let Some(to) = entry.to
                && to < entry.from
            {
                errors.push(ContentError::new(
                    "holidays.yaml",
                    line,
                    format!("years.{year}.to"),
                    format!("ngày kết thúc {to} trước ngày bắt đầu {}", entry.from),
                    "đổi lại: from là ngày nghỉ đầu tiên, to là ngày nghỉ cuối cùng",
                ));
            }
        }
    }
    errors
}

fn check_procedure(root: &Path, p: &Procedure, text: &str) -> Vec<ContentError> {
    let rel = p.source.path.as_str();
    let mut errors = Vec::new();
    let mut err = |needle: &str, key: &str, problem: String, fix: String| {
        errors.push(ContentError::new(
            rel,
            line_of(text, needle),
            key,
            problem,
            fix,
        ));
    };

    let code_ok = p.code.len() == 8
        && p.code.as_bytes()[1] == b'.'
        && p.code
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 1 || b.is_ascii_digit());
    if !code_ok {
        err(
            "code:",
            "code",
            format!("mã thủ tục \"{}\" sai dạng", p.code),
            "mã quốc gia có dạng số.sáu số, ví dụ \"1.001193\" (đặt trong ngoặc kép)".into(),
        );
    }
    if !(1..=4).contains(&p.level) {
        err(
            "level:",
            "level",
            format!("mức độ {} không có", p.level),
            "dùng 1, 2, 3 hoặc 4".into(),
        );
    }
    if let Some(cutoff) = &p.processing.cutoff
        && parse_hhmm(cutoff).is_none()
    {
        err(
            "cutoff:",
            "processing.cutoff",
            format!("giờ \"{cutoff}\" sai dạng"),
            "viết giờ theo dạng HH:MM, ví dụ \"15:00\"".into(),
        );
    }
    if p.sources.is_empty() {
        err(
            "sources:",
            "sources",
            "thủ tục chưa ghi nguồn của các thông tin trên trang".into(),
            "thêm sources: mỗi mục một văn bản đã đối chiếu, { document: \"Luật Hộ tịch số 60/2014/QH13\", url: https://vbpl.vn/… }".into(),
        );
    }
    if p.delivery.is_empty() {
        err(
            "delivery:",
            "delivery",
            "chưa có cách nhận kết quả".into(),
            "ghi ít nhất một trong: desk, post, online".into(),
        );
    }
    if p.level == 4
        && !p
            .delivery
            .iter()
            .any(|d| matches!(d, Delivery::Post | Delivery::Online))
    {
        err(
            "delivery:",
            "delivery",
            "mức độ 4 phải trả kết quả qua bưu chính hoặc trực tuyến".into(),
            "thêm post hoặc online vào delivery, hoặc hạ xuống mức độ 3".into(),
        );
    }
    match (&p.form, p.level) {
        (None, 3 | 4) => err(
            "level:",
            "form",
            format!("thủ tục mức độ {} phải có biểu mẫu trực tuyến", p.level),
            "thêm khóa form (các phần và ô cần điền) hoặc hạ mức độ xuống 2".into(),
        ),
        (Some(_), 1 | 2) => err(
            "form:",
            "form",
            format!(
                "thủ tục mức độ {} không nhận hồ sơ trực tuyến nên không dùng biểu mẫu",
                p.level
            ),
            "bỏ khóa form, hoặc nâng mức độ lên 3".into(),
        ),
        _ => {}
    }
    for (i, doc) in p.documents.iter().enumerate() {
        if let Some(file) = &doc.form_file
            && !root.join("forms").join(file).is_file()
        {
            err(
                file,
                &format!("documents[{i}].form_file"),
                format!("không có tệp mẫu \"forms/{file}\""),
                "chép tệp mẫu (DOCX hoặc PDF) vào content/forms/ hoặc sửa tên tệp cho đúng".into(),
            );
        }
        if let Some(upload) = &doc.upload {
            let ok = p
                .form
                .as_ref()
                .and_then(|f| f.field(upload))
                .is_some_and(|f| f.kind == FieldType::File);
            if !ok {
                err(
                    &format!("upload: {upload}"),
                    &format!("documents[{i}].upload"),
                    format!("không có ô đính kèm \"{upload}\" trong biểu mẫu"),
                    "ghi id của một ô có type: file trong form, hoặc bỏ khóa upload".into(),
                );
            }
        }
    }
    if let Some(form) = &p.form {
        errors.extend(check_form(rel, text, form));
    }
    errors.extend(check_fee_and_delivery(rel, text, p));
    errors.extend(check_register(rel, text, p));
    check_references(rel, text, "sources", &p.sources, &mut errors);
    errors
}

/// The fee's form fields (copies, exemption) and the delivery choice refer to fields
/// of the right kind, and the delivery choice's options to the ways `delivery` offers.
fn check_fee_and_delivery(rel: &str, text: &str, p: &Procedure) -> Vec<ContentError> {
    let mut errors = Vec::new();
    let mut err = |needle: &str, key: &str, problem: String, fix: &str| {
        errors.push(ContentError::new(
            rel,
            line_of(text, needle),
            key,
            problem,
            fix,
        ));
    };
    let field = |id: &str| p.form.as_ref().and_then(|f| f.field(id));
    let fee = &p.fee;
    match (fee.per, &fee.copies_field) {
        (FeeUnit::Copy, None) => err(
            "per:",
            "fee.copies_field",
            "phí tính theo bản (per: copy) nhưng không ghi ô số bản".into(),
            "thêm copies_field: id của ô kiểu number nơi công dân ghi số bản",
        ),
        (FeeUnit::Dossier, Some(_)) => err(
            "copies_field:",
            "fee.per",
            "có copies_field nhưng phí không tính theo bản".into(),
            "thêm per: copy, hoặc bỏ copies_field",
        ),
        (FeeUnit::Copy, Some(id)) if field(id).is_none_or(|f| f.kind != FieldType::Number) => err(
            "copies_field:",
            "fee.copies_field",
            format!("không có ô \"{id}\" kiểu number trong biểu mẫu"),
            "ghi id của ô số bản (type: number) trong form",
        ),
        _ => {}
    }
    if let Some(id) = &fee.exemption_field
        && field(id).is_none_or(|f| f.kind != FieldType::Checkbox || !f.options.is_empty())
    {
        err(
            "exemption_field:",
            "fee.exemption_field",
            format!(
                "không có ô đánh dấu \"{id}\" (type: checkbox, không có options) trong biểu mẫu"
            ),
            "ghi id của ô công dân đánh dấu khi thuộc diện miễn phí",
        );
    }
    if fee.postage > 0 && !p.delivery.contains(&Delivery::Post) {
        err(
            "postage:",
            "fee.postage",
            "có cước chuyển phát nhưng thủ tục không trả kết quả qua bưu chính".into(),
            "thêm post vào delivery, hoặc bỏ postage",
        );
    }
    let Some(choice) = &p.delivery_field else {
        return errors;
    };
    let Some(f) =
        field(&choice.field).filter(|f| matches!(f.kind, FieldType::Radio | FieldType::Select))
    else {
        err(
            "delivery_field:",
            "delivery_field.field",
            format!(
                "không có ô lựa chọn \"{}\" (type: radio hoặc select) trong biểu mẫu",
                choice.field
            ),
            "ghi id của ô nơi công dân chọn cách nhận kết quả",
        );
        return errors;
    };
    if let Some(id) = &choice.address
        && field(id).is_none_or(|f| f.kind != FieldType::Address)
    {
        err(
            "delivery_field:",
            "delivery_field.address",
            format!("không có ô địa chỉ \"{id}\" (type: address) trong biểu mẫu"),
            "ghi id của ô địa chỉ nhận kết quả qua bưu điện",
        );
    }
    for (way, name) in [
        (Delivery::Desk, "desk"),
        (Delivery::Post, "post"),
        (Delivery::Online, "online"),
    ] {
        match (choice.option(way), p.delivery.contains(&way)) {
            (Some(value), true) if !f.options.iter().any(|o| o.value == value) => err(
                "delivery_field:",
                &format!("delivery_field.{name}"),
                format!("ô \"{}\" không có lựa chọn \"{value}\"", f.id),
                "ghi đúng value của một lựa chọn trong ô đó",
            ),
            (Some(_), false) => err(
                "delivery_field:",
                &format!("delivery_field.{name}"),
                format!("delivery không có {name} nhưng delivery_field ghi lựa chọn cho nó"),
                "thêm cách nhận này vào delivery, hoặc bỏ dòng này",
            ),
            (None, true) => err(
                "delivery_field:",
                &format!("delivery_field.{name}"),
                format!(
                    "delivery có {name} nhưng delivery_field không ghi lựa chọn nào ứng với nó"
                ),
                "ghi value của lựa chọn ứng với cách nhận này",
            ),
            _ => {}
        }
    }
    errors
}

/// Each register field is filled from a field of the form that holds a value (not a
/// file), and names a register column once.
fn check_register(rel: &str, text: &str, p: &Procedure) -> Vec<ContentError> {
    let Some(register) = &p.register else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    let Some(form) = &p.form else {
        errors.push(ContentError::new(
            rel,
            key_line(text, "register"),
            "register",
            "có register nhưng thủ tục không có biểu mẫu trực tuyến để lấy dữ liệu",
            "bỏ register, hoặc thêm form",
        ));
        return errors;
    };
    let mut seen = std::collections::HashSet::new();
    for (i, f) in register.fields.iter().enumerate() {
        let line = line_of(text, &format!("from: {}", f.from)).or(key_line(text, "register"));
        let key = format!("register.fields[{i}].from");
        match form.field(&f.from) {
            None => errors.push(ContentError::new(
                rel,
                line,
                &key,
                format!("không có ô \"{}\" trong biểu mẫu", f.from),
                "ghi id của một ô trong form (xem các dòng id: trong form)",
            )),
            Some(field) if field.kind == FieldType::File => errors.push(ContentError::new(
                rel,
                line,
                &key,
                format!("ô \"{}\" là ô tải tệp, không có chữ để chép vào sổ", f.from),
                "ghi id của một ô công dân gõ hoặc chọn",
            )),
            Some(_) => {}
        }
        if !seen.insert(f.name.as_str()) {
            errors.push(ContentError::new(
                rel,
                line,
                format!("register.fields[{i}].name"),
                format!("trường \"{}\" của sổ được ghi hai lần", f.name),
                "mỗi trường của sổ ghi một lần",
            ));
        }
    }
    if register.fields.is_empty() {
        errors.push(ContentError::new(
            rel,
            key_line(text, "register"),
            "register.fields",
            "register không có trường nào",
            "liệt kê các trường của sổ theo thứ tự, mỗi trường có name và from",
        ));
    }
    errors
}

/// What `generator check` reports without failing: facts still marked unverified, and
/// holidays that are only estimated or missing when they will soon be needed. Pure:
/// `today` is the commune's date.
pub fn warnings(content: &Content, today: Day) -> Vec<ContentError> {
    let mut out = Vec::new();
    let short = |note: &str| {
        let note = note.split_whitespace().collect::<Vec<_>>().join(" ");
        match note.char_indices().nth(200) {
            Some((i, _)) => format!("{}…", &note[..i]),
            None => note,
        }
    };
    if let Some(note) = &content.site.review_note {
        out.push(ContentError::new(
            "site.yaml",
            key_line(&read_to_string(&content.root, "site.yaml"), "review_note"),
            "review_note",
            format!("còn điều chưa kiểm chứng: {}", short(note)),
            "đối chiếu với văn bản gốc, ghi vào sources rồi xóa review_note",
        ));
    }
    for p in &content.procedures {
        if let Some(note) = &p.review_note {
            out.push(ContentError::new(
                &p.source.path,
                p.source.review_line,
                "review_note",
                format!("còn điều chưa kiểm chứng: {}", short(note)),
                "đối chiếu với văn bản gốc, sửa trang nếu cần, ghi văn bản vào sources rồi xóa review_note",
            ));
        }
    }
    let this_year = today.0.year();
    for (year, entries) in &content.holidays.years {
        if entries.estimated && *year >= this_year {
            out.push(ContentError::new(
                "holidays.yaml",
                entries.line,
                format!("years.{year}.estimated"),
                format!(
                    "ngày nghỉ năm {year} mới là tạm tính theo Bộ luật Lao động và âm lịch, chưa theo phương án chính thức"
                ),
                "khi có văn bản của Văn phòng Chính phủ hoặc thông báo của Bộ Nội vụ, sửa các ngày theo đó, ghi văn bản vào sources và xóa estimated: true",
            ));
        }
    }
    // From 1 November the next year's appointments are being given: its days off must
    // be in the file, and official.
    let mut needed = vec![this_year];
    if today.0.month() >= time::Month::November {
        needed.push(this_year + 1);
    }
    for year in needed {
        if !content.holidays.years.contains_key(&year) {
            out.push(ContentError::new(
                "holidays.yaml",
                None,
                format!("years.{year}"),
                format!(
                    "chưa có ngày nghỉ năm {year}; ngày hẹn đang được tính theo lịch tạm tính (Bộ luật Lao động và âm lịch)"
                ),
                format!(
                    "thêm mục {year}: với các ngày nghỉ, ngày làm bù và nguồn theo thông báo chính thức (hoặc estimated: true nếu chưa có)"
                ),
            ));
        }
    }
    out
}

fn check_form(rel: &str, text: &str, form: &Form) -> Vec<ContentError> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (s, section) in form.sections.iter().enumerate() {
        for (i, f) in section.fields.iter().enumerate() {
            let key = format!("form.sections[{s}].fields[{i}]");
            // The line is looked up only when there is something to report.
            let mut err = |sub: &str, problem: String, fix: &str| {
                let line = line_of(text, &format!("id: {}", f.id));
                errors.push(ContentError::new(
                    rel,
                    line,
                    format!("{key}{sub}"),
                    problem,
                    fix,
                ));
            };
            let id_ok = f.id.starts_with(|c: char| c.is_ascii_lowercase())
                && f.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !id_ok {
                err(
                    ".id",
                    format!("id \"{}\" sai dạng", f.id),
                    "id chỉ gồm chữ thường không dấu, số và dấu gạch dưới, ví dụ ho_ten",
                );
            }
            if seen.insert(&f.id, s).is_some() {
                err(
                    ".id",
                    format!("id \"{}\" bị trùng trong biểu mẫu", f.id),
                    "đặt cho mỗi ô một id riêng",
                );
            }
            let choice = matches!(f.kind, FieldType::Select | FieldType::Radio);
            if choice && f.options.is_empty() {
                err(
                    ".options",
                    format!("ô \"{}\" kiểu lựa chọn nhưng không có options", f.id),
                    "thêm options: danh sách { value, label }",
                );
            }
            if !choice && f.kind != FieldType::Checkbox && !f.options.is_empty() {
                err(
                    ".options",
                    format!(
                        "ô \"{}\" không phải kiểu lựa chọn nên không dùng options",
                        f.id
                    ),
                    "đổi type thành select hoặc radio, hoặc bỏ options",
                );
            }
            if f.kind == FieldType::File && f.max_size_kb.is_some_and(|kb| kb > 5120) {
                err(
                    ".max_size_kb",
                    format!("giới hạn {} KB quá lớn", f.max_size_kb.unwrap_or(0)),
                    "tối đa 5120 (5 MB) cho mỗi tệp",
                );
            }
            if f.kind != FieldType::File && (!f.accept.is_empty() || f.max_size_kb.is_some()) {
                err(
                    ".accept",
                    format!(
                        "ô \"{}\" không phải tệp đính kèm nên không dùng accept/max_size_kb",
                        f.id
                    ),
                    "đổi type thành file hoặc bỏ hai khóa này",
                );
            }
        }
    }
    // The citizen's choice of channels: a checkbox of exactly `sms` and `email`.
    if let Some(f) = form
        .contact
        .notify
        .as_ref()
        .and_then(|id| form.fields().find(|f| &f.id == id))
    {
        let mut values: Vec<&str> = f.options.iter().map(|o| o.value.as_str()).collect();
        values.sort_unstable();
        if f.kind == FieldType::Checkbox && values != ["email", "sms"] {
            errors.push(ContentError::new(
                rel,
                line_of(text, &format!("id: {}", f.id)),
                "form.contact.notify",
                format!(
                    "ô \"{}\" là nơi công dân chọn cách nhận thông báo nhưng có các lựa chọn {values:?}",
                    f.id
                ),
                "cho ô này đúng hai lựa chọn, value là sms và email",
            ));
        }
    }
    let kinds: BTreeMap<&str, FieldType> = form.fields().map(|f| (f.id.as_str(), f.kind)).collect();
    let mut refer = |key: &str, id: &str, want: &[FieldType], what: &str| {
        let ok = kinds
            .get(id)
            .is_some_and(|k| want.is_empty() || want.contains(k));
        if !ok {
            errors.push(ContentError::new(
                rel,
                line_of(text, &format!(": {id}"))
                    .or_else(|| line_of(text, key.rsplit('.').next().unwrap_or(key))),
                key,
                format!("không có ô \"{id}\" {what} trong biểu mẫu"),
                "ghi đúng id của một ô trong form.sections",
            ));
        }
    };
    refer(
        "form.contact.name",
        &form.contact.name,
        &[FieldType::Text],
        "kiểu text",
    );
    refer(
        "form.contact.phone",
        &form.contact.phone,
        &[FieldType::Phone],
        "kiểu phone",
    );
    if let Some(email) = &form.contact.email {
        refer(
            "form.contact.email",
            email,
            &[FieldType::Email],
            "kiểu email",
        );
    }
    if let Some(address) = &form.contact.address {
        refer(
            "form.contact.address",
            address,
            &[FieldType::Address],
            "kiểu address",
        );
    }
    if let Some(notify) = &form.contact.notify {
        refer(
            "form.contact.notify",
            notify,
            &[FieldType::Checkbox],
            "kiểu checkbox",
        );
    }
    for f in form.fields() {
        if let Some(c) = &f.required_if {
            refer(&format!("{}.required_if.field", f.id), &c.field, &[], "");
        }
        if let Some(b) = &f.birth_date_field {
            refer(
                &format!("{}.birth_date_field", f.id),
                b,
                &[FieldType::Date],
                "kiểu date",
            );
        }
    }
    errors
}

pub fn check_unique<'a>(procedures: impl IntoIterator<Item = &'a Procedure>) -> Vec<ContentError> {
    let mut errors = Vec::new();
    let mut codes: HashMap<&str, &str> = HashMap::new();
    let mut slugs: HashMap<&str, &str> = HashMap::new();
    for p in procedures {
        if let Some(other) = codes.insert(&p.code, &p.source.path) {
            errors.push(ContentError::new(
                &p.source.path,
                p.source.key_line,
                "code",
                format!("mã thủ tục \"{}\" trùng với {other}", p.code),
                "mỗi thủ tục một mã quốc gia riêng; kiểm tra lại mã trên Cổng Dịch vụ công quốc gia",
            ));
        }
        if let Some(other) = slugs.insert(&p.slug, &p.source.path) {
            errors.push(ContentError::new(
                &p.source.path,
                p.source.key_line,
                "slug",
                format!("đường dẫn \"{}\" trùng với {other}", p.slug),
                "thêm khóa slug với một đường dẫn khác, hoặc đổi tiêu đề",
            ));
        }
    }
    errors
}

fn check_unique_slugs<'a>(
    items: impl Iterator<Item = (&'a String, &'a Source)>,
    what: &str,
) -> Vec<ContentError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut errors = Vec::new();
    for (slug, source) in items {
        if let Some(other) = seen.insert(slug, &source.path) {
            errors.push(ContentError::new(
                source.path.as_str(),
                source.key_line,
                "slug",
                format!("đường dẫn {what} \"{slug}\" trùng với {other}"),
                "thêm khóa slug với một đường dẫn khác, hoặc đổi tiêu đề",
            ));
        }
    }
    errors
}
