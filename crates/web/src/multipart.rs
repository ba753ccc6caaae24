//! The plain form post (no JavaScript): multipart/form-data read as a stream, with a
//! limit per file, per text field, on the number of parts and on the whole body, so it
//! stays under Lambda's 6 MB request limit and a hostile body cannot exhaust memory.

use axum::extract::Multipart;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use catalog::validate::RawValues;
use sha2::{Digest, Sha256};

use crate::config::Config;
use catalog::validate::display_name;

/// Largest text value read (the validators allow 5,000 characters, UTF-8 up to 4 bytes).
const MAX_TEXT_BYTES: usize = 24 * 1024;
const MAX_PARTS: usize = 300;

#[derive(Debug, Default)]
pub struct FormPost {
    pub procedure: String,
    /// The form page's version (see `catalog::Form::version`), when it sent one.
    pub form_version: Option<String>,
    pub idempotency_key: String,
    pub website: String,
    pub human_answer: String,
    /// The question's token, when the function's own page showed the question.
    pub gate: Option<String>,
    /// Form fields by name (address parts as `{id}.{part}`).
    pub values: RawValues,
    /// (field id, file name, bytes)
    pub files: Vec<(String, String, Bytes)>,
    /// sha256 of everything read, for a key when the form sent none.
    pub body_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MultipartError {
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Malformed(String),
}

impl MultipartError {
    pub fn status(&self) -> StatusCode {
        match self {
            MultipartError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            MultipartError::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

fn total_message(config: &Config) -> String {
    format!(
        "Tổng dung lượng hồ sơ vượt quá {} cho phép khi gửi không dùng JavaScript. Hãy chụp giấy tờ với độ phân giải thấp hơn, hoặc bật JavaScript để tải tệp lớn.",
        catalog::validate::human_size(config.max_total_bytes)
    )
}

fn from_axum(e: axum::extract::multipart::MultipartError, config: &Config) -> MultipartError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        MultipartError::TooLarge(total_message(config))
    } else {
        MultipartError::Malformed(
            "Dữ liệu biểu mẫu gửi lên bị hỏng hoặc không đầy đủ. Vui lòng tải lại trang rồi gửi lại.".into(),
        )
    }
}

pub async fn read(mut mp: Multipart, config: &Config) -> Result<FormPost, MultipartError> {
    let result = read_parts(&mut mp, config).await;
    if let Err(MultipartError::TooLarge(_)) = &result {
        // Read the rest (within the body limit) before answering: a server that answers
        // and closes while the browser is still sending leaves it with a broken
        // connection instead of the page saying what to do.
        while let Ok(Some(_rest)) = mp.next_field().await {}
    }
    result
}

async fn read_parts(mp: &mut Multipart, config: &Config) -> Result<FormPost, MultipartError> {
    let mut post = FormPost::default();
    let mut hash = Sha256::new();
    let mut total: u64 = 0;
    let mut parts = 0usize;
    while let Some(mut field) = mp.next_field().await.map_err(|e| from_axum(e, config))? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(MultipartError::Malformed(
                "Biểu mẫu có quá nhiều ô. Vui lòng tải lại trang rồi gửi lại.".into(),
            ));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name.is_empty() || name.len() > 100 {
            return Err(MultipartError::Malformed(
                "Biểu mẫu có ô không tên. Vui lòng tải lại trang rồi gửi lại.".into(),
            ));
        }
        hash.update(name.as_bytes());
        hash.update([0]);
        let file_name = field.file_name().map(str::to_owned);
        let limit = match &file_name {
            Some(_) => config.max_file_bytes as usize,
            None => MAX_TEXT_BYTES,
        };
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| from_axum(e, config))? {
            // The limit is on the files together (what the form tells the citizen); the
            // typed fields are held by their own limit and the body's.
            if file_name.is_some() {
                total += chunk.len() as u64;
            }
            if total > config.max_total_bytes {
                return Err(MultipartError::TooLarge(total_message(config)));
            }
            if buf.len() + chunk.len() > limit {
                return Err(MultipartError::TooLarge(match &file_name {
                    Some(f) => format!(
                        "Tệp \"{}\" vượt quá {} cho mỗi tệp. Hãy chụp lại với độ phân giải thấp hơn hoặc nén tệp.",
                        display_name(f),
                        catalog::validate::human_size(config.max_file_bytes)
                    ),
                    None => "Một ô chữ của biểu mẫu dài quá mức cho phép.".into(),
                }));
            }
            hash.update(&chunk);
            buf.extend_from_slice(&chunk);
        }
        hash.update([0]);
        match file_name {
            Some(f) => {
                // A file input left empty arrives as a part with no name and no bytes.
                if f.is_empty() && buf.is_empty() {
                    continue;
                }
                if post.files.len() >= config.max_files {
                    return Err(MultipartError::TooLarge(format!(
                        "Mỗi hồ sơ nhận tối đa {} tệp. Hãy gộp các trang vào một tệp PDF.",
                        config.max_files
                    )));
                }
                post.files.push((name, f, buf.freeze()));
            }
            None => {
                let text = String::from_utf8(buf.to_vec()).map_err(|_| {
                    MultipartError::Malformed(
                        "Biểu mẫu gửi lên có chữ không đúng bảng mã UTF-8. Vui lòng tải lại trang rồi gửi lại.".into(),
                    )
                })?;
                match name.as_str() {
                    "procedure" => post.procedure = text,
                    "form_version" => post.form_version = Some(text),
                    "idempotency_key" => post.idempotency_key = text,
                    "website" => post.website = text,
                    "human_answer" => post.human_answer = text,
                    "gate" => post.gate = Some(text),
                    "altcha" => {}
                    _ => post.values.entry(name).or_default().push(text),
                }
            }
        }
    }
    post.body_sha256 = hex::encode(hash.finalize());
    Ok(post)
}
