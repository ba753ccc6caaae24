//! The typed model of the commune's content: the site, procedures and their online
//! forms, news and pages. Deserialised from YAML front matter; every struct refuses
//! unknown keys so that a misspelt key is reported instead of silently ignored.

use serde::{Deserialize, Serialize};

use crate::day::Day;

/// Where an item was read from: its path relative to the content folder and the line
/// its Markdown body starts on, so that problems found later (a broken link in the
/// body) can still name the file and line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub path: String,
    pub body_line: usize,
    /// Line of the item's identifying key (`code:` for a procedure), for duplicates.
    pub key_line: Option<usize>,
    /// Line of `review_note:`, for the warning that lists it.
    pub review_line: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// "Xã Ia Pết"
    pub name: String,
    /// Refused when loading: there is no district level since 1 July 2025. Kept in the
    /// model only so that an old site.yaml gets a precise message instead of "unknown key".
    #[serde(default, skip_serializing)]
    pub district: Option<String>,
    pub province: String,
    /// Short line under the name, e.g. "Cổng dịch vụ công trực tuyến".
    pub tagline: String,
    pub description: String,
    /// Absolute base URL of the published site, used in the sitemap and the feed.
    pub base_url: String,
    /// Where the function is mounted, relative to the site ("/api").
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// The receiving unit's code, the first part of every dossier code.
    pub unit_code: String,
    pub address: String,
    pub phones: Vec<Contact>,
    pub email: String,
    pub office_hours: Vec<String>,
    pub licence: String,
    pub help: Vec<Contact>,
    pub links: Vec<Link>,
    #[serde(default)]
    pub poll: Option<Poll>,
    /// What about the commune's own facts is still unverified; `generator check` lists it.
    #[serde(default)]
    pub review_note: Option<String>,
    /// Where the commune's facts (its name, province, the merger) come from.
    #[serde(default)]
    pub sources: Vec<Reference>,
    /// The commune's account for fees paid by bank transfer (VietQR); none: fees are
    /// paid at the desk or to the postal worker.
    #[serde(default)]
    pub bank: Option<BankAccount>,
    /// The commune's electronic receipt system (biên lai điện tử, Decree 123/2020), when
    /// it has one: the desk records each receipt's lookup code and the citizen gets a
    /// link to look it up.
    #[serde(default)]
    pub e_receipt: Option<EReceiptSystem>,
}

/// Where a citizen looks up the electronic receipt for a fee (the receipt system the
/// commune's treasury uses issues it; Một Cửa only links to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EReceiptSystem {
    /// Who issues it, as the citizen reads it ("Hệ thống biên lai điện tử của …").
    pub issuer: String,
    /// The lookup page; `{ma}` in it is replaced by the receipt's lookup code. Without
    /// `{ma}` the page is linked as it is and the code is shown to type in.
    pub lookup_url: String,
}

impl EReceiptSystem {
    /// The marker in `lookup_url` the receipt's lookup code replaces.
    pub const CODE_MARKER: &'static str = "{ma}";
}

/// A bank account citizens transfer fees to, shown as a VietQR code and as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// The bank's six-digit NAPAS BIN (e.g. 970405 for Agribank).
    pub bin: String,
    /// The bank's name as citizens know it.
    pub bank: String,
    /// The account number.
    pub number: String,
    /// The account holder as the bank shows it.
    pub holder: String,
}

/// A document a fact was checked against, so the commune can check it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Its number and kind, e.g. "Nghị định số 118/2025/NĐ-CP".
    pub document: String,
    /// Where it can be read (the government's legal documents portal first).
    #[serde(default)]
    pub url: Option<String>,
    /// What it was checked for, and how (read in full, or only in a summary).
    #[serde(default)]
    pub note: Option<String>,
}

fn default_api_base() -> String {
    "/api".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub label: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    pub id: String,
    pub question: String,
    pub options: Vec<Choice>,
}

/// One administrative procedure (thủ tục hành chính).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// National procedure code, e.g. "1.001193".
    pub code: String,
    pub title: String,
    /// Defaults to the slug of the title.
    #[serde(default)]
    pub slug: String,
    /// Lĩnh vực, e.g. "Hộ tịch".
    pub field: String,
    /// Online service level 1–4.
    pub level: u8,
    /// One sentence that says what the procedure is for.
    pub summary: String,
    pub authority: String,
    #[serde(default)]
    pub applicants: Vec<String>,
    pub processing: Processing,
    pub fee: Fee,
    pub legal_basis: Vec<String>,
    /// Where each fact on the page was checked: required, so none goes unsourced.
    pub sources: Vec<Reference>,
    pub documents: Vec<Document>,
    #[serde(default)]
    pub steps: Vec<String>,
    pub result: String,
    pub delivery: Vec<Delivery>,
    /// The form field where the citizen chooses among `delivery`, and which of its
    /// options means which way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_field: Option<DeliveryChoice>,
    /// The civil-status register a settled dossier is entered in, and which form field
    /// gives each of its fields (the console lists them in the register's order to
    /// copy, and exports a day's settled dossiers), so nothing is typed twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<RegisterMapping>,
    /// The date the facts were last checked against the legal texts.
    pub reviewed: Day,
    #[serde(default)]
    pub review_note: Option<String>,
    #[serde(default)]
    pub form: Option<Form>,
    /// The Markdown guide below the front matter. Never serialised (the function
    /// bundle keeps only what the function reads: `catalog::bundle`).
    #[serde(skip)]
    pub body: String,
    /// Where it was read from, relative to the content folder.
    #[serde(skip)]
    pub source: Source,
    /// Title, code, field and summary folded for search, worked out once at load.
    #[serde(skip)]
    pub search_text: String,
}

impl Procedure {
    pub fn is_online(&self) -> bool {
        self.level >= 3
    }

    /// The renamed level under Decree 42/2022/NĐ-CP.
    pub fn level_name(&self) -> &'static str {
        match self.level {
            4 => "Dịch vụ công trực tuyến toàn trình",
            3 => "Dịch vụ công trực tuyến một phần",
            2 => "Cung cấp biểu mẫu",
            _ => "Cung cấp thông tin",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processing {
    /// Working days after the day of receipt; 0 means the same working day.
    pub working_days: u32,
    /// Dossiers received after this hour (HH:MM) count as received the next working day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<String>,
    /// The wording shown to citizens.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// In đồng; 0 when free.
    #[serde(default)]
    pub amount: u64,
    pub text: String,
    #[serde(default)]
    pub exemptions: Vec<String>,
    /// How the fee is paid (level 4: online or to the postal worker).
    #[serde(default)]
    pub payment: Vec<String>,
    /// Whether `amount` is due once per dossier or for each copy.
    #[serde(default, skip_serializing_if = "FeeUnit::is_dossier")]
    pub per: FeeUnit,
    /// With `per: copy`, the form's number field that holds how many copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies_field: Option<String>,
    /// Added when the result is sent by post, in đồng.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub postage: u64,
    /// A checkbox the citizen ticks to claim an exemption; an officer confirms it, and
    /// until then nothing is asked for the fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_field: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeUnit {
    #[default]
    Dossier,
    Copy,
}

impl FeeUnit {
    fn is_dossier(&self) -> bool {
        *self == FeeUnit::Dossier
    }
}

/// Which option of a form's radio or select field means which way of receiving the
/// result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryChoice {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<String>,
    /// The address field the result is posted to, when the citizen chose post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A register's fields, in its order, each filled from a form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterMapping {
    /// The register, as the officer knows it ("Sổ đăng ký khai sinh").
    pub name: String,
    /// Where it is kept (the ministry's civil-status software).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    pub fields: Vec<RegisterField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterField {
    /// The register's name for it.
    pub name: String,
    /// The id of the form field that gives its value.
    pub from: String,
}

impl DeliveryChoice {
    /// The option value for `delivery`, if the field offers it.
    pub fn option(&self, delivery: Delivery) -> Option<&str> {
        match delivery {
            Delivery::Desk => self.desk.as_deref(),
            Delivery::Post => self.post.as_deref(),
            Delivery::Online => self.online.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub name: String,
    #[serde(default = "one")]
    pub copies: u32,
    pub kind: DocumentKind,
    /// Official form file under content/forms/.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_file: Option<String>,
    /// The id of the form's attachment field that carries this document online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Original,
    Copy,
    OriginalOrCopy,
    Present,
}

impl DocumentKind {
    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::Original => "bản chính",
            DocumentKind::Copy => "bản sao",
            DocumentKind::OriginalOrCopy => "bản chính hoặc bản sao",
            DocumentKind::Present => "xuất trình bản chính",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Desk,
    Post,
    Online,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Desk => "Nhận trực tiếp tại Trung tâm Phục vụ hành chính công xã",
            Delivery::Post => "Nhận qua dịch vụ bưu chính",
            Delivery::Online => "Nhận bản điện tử",
        }
    }
}

/// The online form of a level 3/4 procedure. As JSON (its schema file, its version, the
/// function bundle) a form and its parts leave out the keys at their defaults (absent,
/// empty, false): with 10,000 procedures that is most of the bundle's bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Which fields hold the applicant's contact details, for the receipt and notices.
    pub contact: ContactFields,
    pub sections: Vec<Section>,
}

impl Form {
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().find(|f| f.id == id)
    }

    pub fn attachments(&self) -> impl Iterator<Item = &Field> {
        self.fields().filter(|f| f.kind == FieldType::File)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    pub name: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A checkbox field with the options `sms` and `email`: how the citizen wants to be
    /// told of each step (nothing ticked: SMS). Without it, an SMS goes to the phone and
    /// an e-mail to the address if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub id: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// Required only when another field has a given value (e.g. a delivery address when
    /// the result goes by post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Numbers: inclusive bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Dates: inclusive bounds, "today" or YYYY-MM-DD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_date: Option<DateBound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_date: Option<DateBound>,
    /// select, radio, and checkbox lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Citizen ID: the date-of-birth field its century and year digits must agree with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date_field: Option<String>,
    /// Attachments: accepted file kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<FileKind>,
    /// Attachments: size limit in kilobytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_kb: Option<u32>,
    /// HTML autocomplete token, for phones that fill forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub equals: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DateBound {
    Day(Day),
    Keyword(TodayKeyword),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TodayKeyword {
    Today,
}

impl DateBound {
    pub fn resolve(&self, today: time::Date) -> time::Date {
        match self {
            DateBound::Day(d) => d.0,
            DateBound::Keyword(TodayKeyword::Today) => today,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Textarea,
    Date,
    Select,
    Radio,
    Checkbox,
    Email,
    Phone,
    CitizenId,
    Number,
    Address,
    File,
}

impl FieldType {
    /// The name used in content and in the form's `data-type`.
    pub fn name(self) -> &'static str {
        Self::ALL[self as usize]
    }

    pub const ALL: &'static [&'static str] = &[
        "text",
        "textarea",
        "date",
        "select",
        "radio",
        "checkbox",
        "email",
        "phone",
        "citizen_id",
        "number",
        "address",
        "file",
    ];
}

/// Parts of an address field, submitted as `{id}.{part}`.
pub const ADDRESS_PARTS: &[(&str, &str, bool)] = &[
    ("detail", "Số nhà, thôn/làng/tổ dân phố", true),
    ("commune", "Xã/phường", true),
    ("district", "Huyện (nếu có)", false),
    ("province", "Tỉnh/thành phố", true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Webp,
}

impl FileKind {
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Webp => "webp",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Jpeg => "JPG",
            FileKind::Png => "PNG",
            FileKind::Webp => "WEBP",
        }
    }

    pub fn from_mime(mime: &str) -> Option<FileKind> {
        match mime {
            "application/pdf" => Some(FileKind::Pdf),
            "image/jpeg" => Some(FileKind::Jpeg),
            "image/png" => Some(FileKind::Png),
            "image/webp" => Some(FileKind::Webp),
            _ => None,
        }
    }

    /// The kind a file really is, judged by its first bytes, never by its name.
    pub fn sniff(first_bytes: &[u8]) -> Option<FileKind> {
        let b = first_bytes;
        if b.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(FileKind::Png)
        } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
            Some(FileKind::Webp)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewsItem {
    pub title: String,
    #[serde(default)]
    pub slug: String,
    pub date: Day,
    pub summary: String,
    #[serde(default)]
    pub photos: Vec<Photo>,
    #[serde(skip_deserializing)]
    pub body: String,
    #[serde(skip)]
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    /// Path under content/media/.
    pub file: String,
    pub alt: String,
    #[serde(default)]
    pub caption: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub title: String,
    #[serde(default)]
    pub slug: String,
    pub summary: String,
    /// Position in the main menu; pages without it are not in the menu.
    #[serde(default)]
    pub menu: Option<u32>,
    #[serde(skip_deserializing)]
    pub body: String,
    #[serde(skip)]
    pub source: Source,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_type_names_match_serde() {
        for (i, name) in FieldType::ALL.iter().enumerate() {
            let kind: FieldType = serde_yaml_ng::from_str(name).unwrap();
            assert_eq!(kind as usize, i);
            assert_eq!(kind.name(), *name);
        }
    }

    #[test]
    fn sniffs_real_types_not_names() {
        assert_eq!(FileKind::sniff(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(
            FileKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(FileKind::Jpeg)
        );
        assert_eq!(
            FileKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(FileKind::Png)
        );
        assert_eq!(
            FileKind::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(FileKind::Webp)
        );
        assert_eq!(FileKind::sniff(b"MZ\x90\0 an exe"), None);
        assert_eq!(FileKind::sniff(b"<html>"), None);
        assert_eq!(FileKind::sniff(b""), None);
    }
}
