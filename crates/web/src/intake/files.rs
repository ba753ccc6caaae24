//! The attachments of a submission: which field, how many, the staged key, the size,
//! the real type judged by the first bytes, and the whole file checked
//! (`catalog::inspect`: an image decodes, a PDF carries no active content).
//!
//! A file carried in the plain form post is checked here, in memory. A file the browser
//! put straight into the bucket is checked once its upload finished
//! (`POST /api/uploads/check`, [`AppState::check_upload`]): the function reads it whole
//! then, and keeps a verdict beside it with the ETag of the bytes it read. The submission
//! reads only the verdicts and copies each file with `CopySourceIfMatch` on that ETag,
//! so bytes written again after the check are never what a dossier holds, and nothing is
//! downloaded on the submission's path.
//!
//! A staged file belongs to one submission: its key carries a tag derived from the
//! proof-of-work challenge it was issued under ([`staging_tag`]), and a submission takes
//! only files tagged with its own challenge, which `captcha/used/` lets serve one
//! submission (one idempotency key) only.

use base64::Engine as _;
use bytes::Bytes;
use catalog::inspect::inspect;
use catalog::validate::{FieldError, display_name, safe_file_name, validate_attachment};
use catalog::{Field, FieldType, FileKind, Procedure};
use dossier::Attachment;
use futures_util::{StreamExt, TryStreamExt, stream};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use store::{CopyOutcome, StorageError};

use super::{FileSource, IncomingFile, MAX_FILES_PER_FIELD, SNIFF_BYTES, SubmitError, sha256_hex};
use crate::state::AppState;

/// Files read, checked or copied at once: the bucket takes far more, but each check
/// holds a whole file in memory (up to the per-file limit), and Lambda's memory is small.
const AT_ONCE: usize = 4;

impl AppState {
    /// Checks every file: field, count, staged key and its verdict, size and real type.
    /// `challenge` is the submission's proof-of-work challenge, which staged files must
    /// have been issued under.
    pub(super) async fn check_files(
        &self,
        procedure: &Procedure,
        files: &[IncomingFile],
        challenge: Option<&str>,
    ) -> Result<Vec<CheckedFile>, SubmitError> {
        let Some(form) = procedure.form.as_ref() else {
            return Err(SubmitError::NotOnline(procedure.title.clone()));
        };
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
        let tag = challenge.map(|c| staging_tag(&self.inner.config.captcha_key, c));
        let mut wanted = Vec::new();
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
            if let FileSource::Staged { key, .. } = &file.source {
                if !valid_staging_key(key) {
                    errors.push(FieldError::new(
                        &field.id,
                        "Tệp đính kèm không hợp lệ. Vui lòng chọn lại tệp rồi gửi lại.",
                    ));
                    continue;
                }
                if tag.as_deref() != Some(tag_of(key)) {
                    errors.push(FieldError::new(
                        &field.id,
                        format!(
                            "Tệp \"{}\" được tải lên cho một lần gửi khác nên không dùng được cho hồ sơ này. Vui lòng chọn lại tệp rồi gửi lại.",
                            display_name(&file.name)
                        ),
                    ));
                    continue;
                }
            }
            wanted.push((field, file));
        }
        // The verdicts are small and independent: read side by side.
        // (The futures are made first: a closure over borrowed items inside the stream
        // trips the compiler's proof that the handler's future is `Send`.)
        let reads: Vec<_> = wanted
            .into_iter()
            .map(|(field, file)| self.checked_file(field, file))
            .collect();
        let checked: Vec<CheckedFile> = stream::iter(reads).buffered(AT_ONCE).try_collect().await?;
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

    /// One file as the submission sees it: an inline one checked whole here, a staged
    /// one by its verdict.
    async fn checked_file(
        &self,
        field: &Field,
        file: &IncomingFile,
    ) -> Result<CheckedFile, StorageError> {
        let refused = |error: String| CheckedFile {
            field: field.id.clone(),
            name: file.name.clone(),
            size: 0,
            kind: None,
            error: Some(error),
            sha256: String::new(),
            body: Body::Inline(Bytes::new()),
        };
        match &file.source {
            FileSource::Inline { bytes } => {
                let (kind, error) = judge(field, &file.name, bytes);
                Ok(CheckedFile {
                    field: field.id.clone(),
                    name: file.name.clone(),
                    size: bytes.len() as u64,
                    kind,
                    error,
                    sha256: sha256_hex(bytes),
                    body: Body::Inline(bytes.clone()),
                })
            }
            FileSource::Staged { key, verdict } => {
                // The verdict the browser carries, if its signature holds for this key;
                // else the one kept beside the upload.
                let carried = verdict
                    .as_deref()
                    .and_then(|t| read_verdict_token(&self.inner.config.signing_key, key, t));
                let verdict = match carried {
                    Some(verdict) => verdict,
                    None => {
                        let Some(bytes) = self.storage().get(&verdict_key(key)).await? else {
                            return Ok(refused(format!(
                                "Tệp \"{}\" chưa kiểm tra xong (có thể chưa tải lên hết hoặc đã quá hạn). Vui lòng chọn lại tệp rồi gửi lại.",
                                display_name(&file.name)
                            )));
                        };
                        serde_json::from_slice(&bytes).map_err(|e| {
                            StorageError::Unavailable(format!("upload verdict: {e}"))
                        })?
                    }
                };
                if let Some(message) = verdict.refused {
                    return Ok(refused(message));
                }
                // The name and the field are the submission's; the first bytes, kept in
                // the verdict, say again what the file is for them (the check's answer on
                // the whole file holds for that kind).
                let head = base64::engine::general_purpose::STANDARD
                    .decode(&verdict.head)
                    .unwrap_or_default();
                let kind = match validate_attachment(field, &file.name, verdict.size, &head) {
                    Ok(kind) if kind.mime() == verdict.kind => kind,
                    Ok(_) => {
                        return Ok(refused(format!(
                            "Tệp \"{}\" chưa kiểm tra xong. Vui lòng chọn lại tệp rồi gửi lại.",
                            display_name(&file.name)
                        )));
                    }
                    Err(e) => return Ok(refused(e)),
                };
                Ok(CheckedFile {
                    field: field.id.clone(),
                    name: file.name.clone(),
                    size: verdict.size,
                    kind: Some(kind),
                    error: None,
                    sha256: verdict.sha256,
                    body: Body::Staged {
                        key: key.clone(),
                        etag: verdict.etag,
                    },
                })
            }
        }
    }

    /// Stores the checked files at the keys `attachments` names (one each, in order,
    /// from [`attachments`]), side by side: an inline file written from the bytes
    /// checked, a staged one copied on the condition that it is still the version its
    /// verdict judged. A file changed since its check is refused beside its field
    /// (`SubmitError::Invalid`); nothing becomes a dossier.
    pub(super) async fn store_files(
        &self,
        files: &[CheckedFile],
        attachments: &[Attachment],
    ) -> Result<(), SubmitError> {
        let writes: Vec<_> = files
            .iter()
            .zip(attachments)
            .map(|(file, attachment)| self.store_file(file, attachment))
            .collect();
        let stored: Vec<Result<(), FieldError>> =
            stream::iter(writes).buffered(AT_ONCE).try_collect().await?;
        let errors: Vec<FieldError> = stored.into_iter().filter_map(Result::err).collect();
        if !errors.is_empty() {
            // The copies that went through stay, unreferenced, like any file of an
            // attempt that did not finish: no manifest names them.
            return Err(SubmitError::Invalid(errors));
        }
        Ok(())
    }

    async fn store_file(
        &self,
        file: &CheckedFile,
        attachment: &Attachment,
    ) -> Result<Result<(), FieldError>, StorageError> {
        let dest = &attachment.key;
        let kind = attachment.kind.as_str();
        let changed = |what: &str| {
            Ok(Err(FieldError::new(
                &file.field,
                format!(
                    "Tệp \"{}\" {what}. Vui lòng chọn lại tệp rồi gửi lại.",
                    attachment.name
                ),
            )))
        };
        match &file.body {
            // The bytes that were checked are the bytes stored.
            Body::Inline(bytes) => self.storage().put(dest, bytes.clone(), kind).await?,
            Body::Staged { key, etag } => {
                match self.storage().copy_if_match(key, dest, kind, etag).await? {
                    // A store that computes the copy's SHA-256 also catches bytes
                    // swapped for others with the same ETag (an MD5 collision), and a
                    // store that ignores the condition (moto).
                    CopyOutcome::Copied { sha256: Some(sum) } if sum != file.sha256 => {
                        return changed("đã bị thay đổi sau khi được kiểm tra nên chưa được nhận");
                    }
                    CopyOutcome::Copied { .. } => {}
                    CopyOutcome::SourceChanged => {
                        return changed("đã bị thay đổi sau khi được kiểm tra nên chưa được nhận");
                    }
                    CopyOutcome::SourceMissing => {
                        return changed("không còn trên máy chủ (đã quá hạn)");
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    /// Checks a staged upload whole, once the browser put it (`POST /api/uploads/check`),
    /// and keeps the verdict beside it: the ETag of the bytes read, their SHA-256, size,
    /// kind and first bytes, or the refusal. Returns the refusal, if any.
    pub async fn check_upload(
        &self,
        field: &Field,
        key: &str,
        name: &str,
    ) -> Result<UploadCheck, StorageError> {
        let Some((bytes, etag)) = self.storage().get_tagged(key).await? else {
            return Ok(UploadCheck::Refused(format!(
                "Tệp \"{}\" chưa tải lên xong hoặc đã quá hạn. Vui lòng chọn lại tệp rồi gửi lại.",
                display_name(name)
            )));
        };
        // Decoding an image or a PDF is CPU work: off the async threads.
        let (field_owned, name_owned) = (field.clone(), name.to_owned());
        let (verdict, refused) = tokio::task::spawn_blocking(move || {
            let (kind, error) = judge(&field_owned, &name_owned, &bytes);
            let head = &bytes[..bytes.len().min(SNIFF_BYTES as usize)];
            let verdict = Verdict {
                etag,
                sha256: sha256_hex(&bytes),
                size: bytes.len() as u64,
                kind: kind.map(FileKind::mime).unwrap_or_default().to_owned(),
                head: base64::engine::general_purpose::STANDARD.encode(head),
                refused: error.clone(),
            };
            (verdict, error)
        })
        .await
        .map_err(|e| StorageError::Unavailable(format!("check of an upload: {e}")))?;
        // A plain write: a later check of the same key (the bytes written again) replaces
        // it, and whichever verdict stays names the ETag it judged, so the copy holds
        // to it.
        self.storage()
            .put(
                &verdict_key(key),
                Bytes::from(serde_json::to_vec(&verdict).expect("json")),
                "application/json",
            )
            .await?;
        Ok(match refused {
            Some(message) => UploadCheck::Refused(message),
            None => UploadCheck::Passed {
                verdict: verdict_token(&self.inner.config.signing_key, key, &verdict),
            },
        })
    }
}

/// What the check of an upload answers.
pub enum UploadCheck {
    /// The file may be sent: its verdict, signed, for the browser to send with it.
    Passed { verdict: String },
    /// The message beside its field.
    Refused(String),
}

/// A verdict as the browser carries it: the verdict's JSON (base64url) and an HMAC of
/// it and the staged key, so it serves that file only and cannot be altered.
pub fn verdict_token(signing_key: &[u8], staged_key: &str, verdict: &Verdict) -> String {
    let json = serde_json::to_vec(verdict).expect("json");
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&json);
    format!("{body}.{}", verdict_mac(signing_key, staged_key, &body))
}

fn verdict_mac(signing_key: &[u8], staged_key: &str, body: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(signing_key).expect("HMAC takes any key length");
    mac.update(b"upload-verdict\n");
    mac.update(staged_key.as_bytes());
    mac.update(b"\n");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The verdict a token carries, if it was signed for `staged_key` and passed.
fn read_verdict_token(signing_key: &[u8], staged_key: &str, token: &str) -> Option<Verdict> {
    use subtle::ConstantTimeEq;
    let (body, sent) = token.split_once('.')?;
    let expected = verdict_mac(signing_key, staged_key, body);
    if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    serde_json::from_slice::<Verdict>(&json)
        .ok()
        .filter(|v| v.refused.is_none())
}

/// What the manifest says of each checked file, and where it is stored: under the
/// dossier's `prefix`, numbered in order; `tag` names the files of an attempt that took
/// over an unfinished one apart. Known before anything is written, so the manifest, the
/// first event and the notice can be made while the files are copied.
pub(super) fn attachments(
    prefix: &str,
    files: &[CheckedFile],
    tag: &str,
) -> Result<Vec<Attachment>, StorageError> {
    files
        .iter()
        .enumerate()
        .map(|(n, file)| {
            // Every file's kind was found by its bytes before the code was claimed.
            let Some(kind) = file.kind else {
                return Err(StorageError::Unavailable(
                    "a file reached storing without a checked type".into(),
                ));
            };
            Ok(Attachment {
                field: file.field.clone(),
                name: display_name(&file.name),
                key: format!(
                    "{prefix}files/{tag}{}-{}",
                    n + 1,
                    safe_file_name(&file.name, kind)
                ),
                size: file.size,
                sha256: file.sha256.clone(),
                kind: kind.mime().to_owned(),
            })
        })
        .collect()
}

/// The kind a file's bytes show it to be for `field`, or why it is refused.
fn judge(field: &Field, name: &str, bytes: &[u8]) -> (Option<FileKind>, Option<String>) {
    let first = &bytes[..bytes.len().min(SNIFF_BYTES as usize)];
    match validate_attachment(field, name, bytes.len() as u64, first) {
        Ok(kind) => match inspect(kind, bytes) {
            Ok(()) => (Some(kind), None),
            Err(refused) => (None, Some(refused.message(&display_name(name), kind))),
        },
        Err(e) => (None, Some(e)),
    }
}

/// What the check of a staged upload found, kept at [`verdict_key`] and carried by
/// the browser as a [`verdict_token`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Verdict {
    /// The ETag of the bytes checked: the copy into a dossier requires it.
    etag: String,
    /// Hex SHA-256 of those bytes, for the manifest.
    sha256: String,
    size: u64,
    /// The MIME type the bytes showed (empty when refused).
    kind: String,
    /// The first bytes, base64: the submission judges the type again for its own
    /// field and name without reading the file.
    head: String,
    /// The message beside the field when the file is refused.
    refused: Option<String>,
}

pub(super) struct CheckedFile {
    pub(super) field: String,
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) kind: Option<FileKind>,
    pub(super) error: Option<String>,
    /// Hex SHA-256 of the bytes checked.
    pub(super) sha256: String,
    body: Body,
}

/// Where a checked file's bytes are.
enum Body {
    /// In memory (the plain form post), as checked.
    Inline(Bytes),
    /// In the staging area, the version with this ETag.
    Staged { key: String, etag: String },
}

type HmacSha256 = Hmac<Sha256>;

/// The staging folder of the uploads issued under proof-of-work `challenge`: derived
/// with the function's key, so only the function can name it, and so a submission can
/// tell, without reading anything, whether a staged key was issued under its challenge.
pub fn staging_tag(key: &[u8], challenge: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"uploads\n");
    mac.update(challenge.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A new staging key: `uploads/{tag}/{batch}-{n}-{safe-name}`, `batch` 8 hex digits
/// that keep the files of two upload requests under one challenge apart.
pub fn staging_key(tag: &str, batch: &str, n: usize, safe_name: &str) -> String {
    format!("uploads/{tag}/{batch}-{n}-{safe_name}")
}

/// The challenge tag of a valid staging key.
fn tag_of(key: &str) -> &str {
    key.split('/').nth(1).unwrap_or_default()
}

/// Where the verdict on staged upload `key` is kept: `uploads/verdicts/{tag}/{file}.json`,
/// beside the uploads (the same lifecycle rule expires both) but outside any key a
/// presigned PUT is given for.
pub fn verdict_key(key: &str) -> String {
    format!(
        "uploads/verdicts/{}.json",
        key.strip_prefix("uploads/").unwrap_or(key)
    )
}

/// `uploads/{tag}/{batch}-{n}-{safe-name}` as handed out by the upload endpoint: a tag
/// of 32 hex digits, a batch of 8, a file number of 1–2 digits, and a safe name.
pub fn valid_staging_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let [uploads, tag, file] = parts[..] else {
        return false;
    };
    let mut pieces = file.splitn(3, '-');
    let (Some(batch), Some(n), Some(name)) = (pieces.next(), pieces.next(), pieces.next()) else {
        return false;
    };
    uploads == "uploads"
        && hex(tag, 32)
        && hex(batch, 8)
        && (1..=2).contains(&n.len())
        && n.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name.len() <= 80
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn staging_keys_are_strict() {
        let key = staging_key(TAG, "89abcdef", 1, "scan.pdf");
        assert_eq!(key, format!("uploads/{TAG}/89abcdef-1-scan.pdf"));
        assert!(valid_staging_key(&key));
        assert!(valid_staging_key(&format!(
            "uploads/{TAG}/89abcdef-10-giay-chung-sinh.pdf"
        )));
        for bad in [
            format!("uploads/{TAG}/../x.pdf"),
            format!("uploads/{TAG}/89abcdef-1-../x.pdf"),
            format!("uploads/{TAG}/1-scan.pdf"),
            format!("uploads/{TAG}/89abcdeg-1-scan.pdf"),
            format!("uploads/{TAG}/89abcdef-100-scan.pdf"),
            format!("uploads/{TAG}/89abcdef-x-scan.pdf"),
            format!("uploads/{TAG}/89abcdef-1-"),
            format!("uploads/{TAG}/89abcdef-1-.htaccess"),
            format!("uploads/{TAG}/89abcdef-1-a b.pdf"),
            format!("uploads/verdicts/{TAG}/89abcdef-1-scan.pdf"),
            format!("uploads/{TAG}/x/89abcdef-1-scan.pdf"),
            "dossiers/2025/04/x/dossier.json".to_owned(),
            "uploads/short/89abcdef-1-scan.pdf".to_owned(),
        ] {
            assert!(!valid_staging_key(&bad), "{bad}");
        }
    }

    #[test]
    fn a_verdict_lies_outside_the_staging_keys_and_a_tag_names_one_challenge() {
        let key = staging_key(TAG, "89abcdef", 1, "scan.pdf");
        let verdict = verdict_key(&key);
        assert_eq!(
            verdict,
            format!("uploads/verdicts/{TAG}/89abcdef-1-scan.pdf.json")
        );
        assert!(!valid_staging_key(&verdict));
        let k = b"0123456789abcdef0123456789abcdef";
        let a = staging_tag(k, &"a".repeat(64));
        assert_eq!(a.len(), 32);
        assert_eq!(a, staging_tag(k, &"a".repeat(64)));
        assert_ne!(a, staging_tag(k, &"b".repeat(64)));
        assert_ne!(
            a,
            staging_tag(b"another key another key another!", &"a".repeat(64))
        );
        assert_eq!(tag_of(&staging_key(&a, "89abcdef", 1, "x.pdf")), a);
    }
}
