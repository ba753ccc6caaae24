//! The attachments of a submission: which field, how many, the staged key, the size,
//! the real type judged by the first bytes, and the whole file checked
//! (`catalog::inspect`: an image decodes, a PDF carries no active content).

use bytes::Bytes;
use catalog::inspect::inspect;
use catalog::validate::{FieldError, display_name, validate_attachment};
use catalog::{FieldType, FileKind, Procedure};

use super::{FileSource, IncomingFile, MAX_FILES_PER_FIELD, SNIFF_BYTES, SubmitError};
use crate::state::AppState;

impl AppState {
    /// Checks every file: field, count, staged key, size and real type.
    pub(super) async fn check_files(
        &self,
        procedure: &Procedure,
        files: &[IncomingFile],
    ) -> Result<Vec<CheckedFile>, SubmitError> {
        let Some(form) = procedure.form.as_ref() else {
            return Err(SubmitError::NotOnline(procedure.title.clone()));
        };
        let mut checked = Vec::new();
        let mut errors = Vec::new();
        if files.len() > self.inner.config.max_files {
            errors.push(FieldError::new(
                "_form",
                format!(
                    "Bạn đã đính kèm {} tệp; mỗi hồ sơ nhận tối đa {} tệp. Hãy gộp các trang vào một tệp PDF.",
                    files.len(),
                    self.inner.config.max_files
                ),
            ));
            return Err(SubmitError::Invalid(errors));
        }
        for file in files {
            let Some(field) = form
                .field(&file.field)
                .filter(|f| f.kind == FieldType::File)
            else {
                errors.push(FieldError::new(
                    "_form",
                    format!(
                        "Biểu mẫu có tệp đính kèm ở ô lạ \"{}\" không thuộc thủ tục này. Vui lòng tải lại trang rồi gửi lại.",
                        display_name(&file.field)
                    ),
                ));
                continue;
            };
            if files.iter().filter(|f| f.field == file.field).count() > MAX_FILES_PER_FIELD {
                if !errors.iter().any(|e| e.field == field.id) {
                    errors.push(FieldError::new(
                        &field.id,
                        format!(
                            "Ô \"{}\" nhận tối đa {MAX_FILES_PER_FIELD} tệp.",
                            field.label
                        ),
                    ));
                }
                continue;
            }
            let bytes = match &file.source {
                FileSource::Inline { bytes } => bytes.clone(),
                FileSource::Staged { key } => {
                    if !valid_staging_key(key) {
                        errors.push(FieldError::new(
                            &field.id,
                            "Tệp đính kèm không hợp lệ. Vui lòng chọn lại tệp rồi gửi lại.",
                        ));
                        continue;
                    }
                    // The whole file: it is checked whole, then hashed and copied.
                    match self.storage().get(key).await? {
                        None => {
                            errors.push(FieldError::new(
                                &field.id,
                                format!(
                                    "Tệp \"{}\" chưa tải lên xong hoặc đã quá hạn. Vui lòng chọn lại tệp rồi gửi lại.",
                                    display_name(&file.name)
                                ),
                            ));
                            continue;
                        }
                        Some(bytes) => bytes,
                    }
                }
            };
            let size = bytes.len() as u64;
            let first = &bytes[..bytes.len().min(SNIFF_BYTES as usize)];
            let (kind, error) = match validate_attachment(field, &file.name, size, first) {
                Ok(kind) => match inspect(kind, &bytes) {
                    Ok(()) => (Some(kind), None),
                    Err(refused) => (None, Some(refused.message(&display_name(&file.name), kind))),
                },
                Err(e) => (None, Some(e)),
            };
            checked.push(CheckedFile {
                field: field.id.clone(),
                name: file.name.clone(),
                size,
                kind,
                error,
                bytes,
            });
        }
        if errors.is_empty() {
            Ok(checked)
        } else {
            errors.extend(
                checked
                    .iter()
                    .filter_map(|f| f.error.as_ref().map(|e| FieldError::new(&f.field, e))),
            );
            Err(SubmitError::Invalid(errors))
        }
    }
}

pub(super) struct CheckedFile {
    pub(super) field: String,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) kind: Option<FileKind>,
    pub(super) error: Option<String>,
    /// The whole file, as checked.
    pub(super) bytes: Bytes,
}

/// `uploads/{upload-id}/{n}-{safe-name}` as handed out by the upload endpoint.
pub fn valid_staging_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    parts.len() == 3
        && parts[0] == "uploads"
        && parts[1].len() == 32
        && parts[1].bytes().all(|b| b.is_ascii_hexdigit())
        && !parts[2].is_empty()
        && parts[2].len() <= 80
        && !parts[2].starts_with('.')
        && parts[2]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_keys_are_strict() {
        assert!(valid_staging_key(
            "uploads/0123456789abcdef0123456789abcdef/1-scan.pdf"
        ));
        assert!(!valid_staging_key(
            "uploads/0123456789abcdef0123456789abcdef/../x.pdf"
        ));
        assert!(!valid_staging_key("dossiers/2025/04/x/dossier.json"));
        assert!(!valid_staging_key("uploads/short/1-scan.pdf"));
    }
}
