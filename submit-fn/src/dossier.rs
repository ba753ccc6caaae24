//! Taking a dossier in: validation against the procedure's schema, spam checks, the
//! dossier code, the tracking token, the appointment, and the writes in an order that
//! makes a submission exactly-once: idempotency record and code claim first, then the
//! files, the first event and the notice, and the manifest last with `If-None-Match: *`.
//! Nothing is a dossier until its manifest exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use bytes::Bytes;
use catalog::validate::{
    FieldError, RawValues, safe_file_name, validate_attachment, validate_values,
};
use catalog::{Appointment, Day, FieldType, FileKind, Procedure};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::captcha::{self, CaptchaError};
use crate::receipt::{self, Receipt};
use crate::state::AppState;
use crate::storage::StorageError;

/// Vietnam time, UTC+7, no daylight saving.
pub const VN: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("valid offset"),
};

/// Most files one attachment field takes.
pub const MAX_FILES_PER_FIELD: usize = 5;
/// Bytes read to judge a file's real type.
pub const SNIFF_BYTES: u64 = 32;

/// How the spam check is passed.
#[derive(Debug, Clone)]
pub enum HumanProof {
    /// ALTCHA solution (JSON path).
    Altcha(String),
    /// Answer to the simple question (plain form, no JavaScript).
    Answer(String),
}

#[derive(Debug, Clone)]
pub enum FileSource {
    /// Uploaded directly to the staging prefix with a presigned PUT.
    Staged { key: String },
    /// Carried in the plain form post.
    Inline { bytes: Bytes },
}

#[derive(Debug, Clone)]
pub struct IncomingFile {
    pub field: String,
    pub name: String,
    pub source: FileSource,
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub procedure: String,
    pub idempotency_key: String,
    pub proof: HumanProof,
    /// The honeypot: people leave it empty.
    pub website: String,
    pub values: RawValues,
    pub files: Vec<IncomingFile>,
    /// "json" or "form".
    pub channel: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("không có thủ tục {0}")]
    UnknownProcedure(String),
    #[error("thủ tục {0} không nhận hồ sơ trực tuyến")]
    NotOnline(String),
    #[error("dữ liệu không hợp lệ")]
    Invalid(Vec<FieldError>),
    #[error("captcha: {0}")]
    Captcha(CaptchaError),
    #[error("kho lưu trữ: {0}")]
    Storage(#[from] StorageError),
    #[error("hết số hồ sơ trong ngày")]
    SequenceExhausted,
}

impl SubmitError {
    pub fn form(message: impl Into<String>) -> SubmitError {
        SubmitError::Invalid(vec![FieldError::new("_form", message)])
    }

    /// The errors to show, each with a field id and a Vietnamese message.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            SubmitError::UnknownProcedure(code) => vec![FieldError::new(
                "procedure",
                format!(
                    "Không có thủ tục mã \"{}\" trên trang này. Vui lòng chọn lại thủ tục từ danh mục.",
                    code.chars()
                        .filter(|c| !c.is_control())
                        .take(40)
                        .collect::<String>()
                ),
            )],
            SubmitError::NotOnline(title) => vec![FieldError::new(
                "procedure",
                format!(
                    "Thủ tục \"{title}\" chưa nhận hồ sơ trực tuyến. Vui lòng xem hướng dẫn và nộp hồ sơ tại Bộ phận Một cửa."
                ),
            )],
            SubmitError::Invalid(errors) => errors.clone(),
            SubmitError::Captcha(e) => vec![FieldError::new("altcha", e.message())],
            SubmitError::Storage(_) | SubmitError::SequenceExhausted => {
                vec![FieldError::new("_form", RETRY_MESSAGE)]
            }
        }
    }
}

pub const RETRY_MESSAGE: &str = "Hệ thống lưu trữ hồ sơ đang tạm thời gián đoạn nên hồ sơ của bạn CHƯA được nhận. Vui lòng thử lại sau ít phút; nếu gửi lại, hồ sơ chỉ được ghi nhận một lần.";

/// The idempotency record: which code a submission got, and when it was received.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdempotencyRecord {
    code: String,
    received_at: String,
    body_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub field: String,
    pub name: String,
    pub key: String,
    pub size: u64,
    pub sha256: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContactInfo {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// `dossiers/{yyyy}/{mm}/{code}/dossier.json`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub code: String,
    pub procedure: ProcedureRef,
    pub unit_code: String,
    pub fields: serde_json::Map<String, Value>,
    pub attachments: Vec<Attachment>,
    pub contact: ContactInfo,
    pub appointment: Appointment,
    pub received_at: String,
    pub channel: String,
    pub tracking_token_sha256: String,
    pub idempotency_key_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcedureRef {
    pub code: String,
    pub title: String,
    pub level: u8,
}

impl From<&Procedure> for ProcedureRef {
    fn from(procedure: &Procedure) -> Self {
        ProcedureRef {
            code: procedure.code.clone(),
            title: procedure.title.clone(),
            level: procedure.level,
        }
    }
}

/// One status change, `events/{seq:06}.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    pub at: String,
    pub status: String,
    pub label: String,
    #[serde(default)]
    pub note: Option<String>,
    /// The officer's login (absent for the citizen's own steps); not shown on tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The officer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_name: Option<String>,
    /// The appointment set by this step (on receipt by the desk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Appointment>,
    /// Papers asked for, the refusal reason, the delivery (desk or post) and the
    /// postal tracking number, and files added by a supplement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_tracking: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Attachment>,
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "received" => "Đã tiếp nhận, đang chờ xử lý",
        "accepted" => "Đã nhận đủ hồ sơ, đang giải quyết",
        "supplement-requested" => "Cần bổ sung giấy tờ",
        "result-ready" => "Đã có kết quả, mời nhận",
        "returned" => "Đã trả kết quả",
        "refused" => "Từ chối giải quyết",
        "supplemented" => "Đã bổ sung giấy tờ, chờ cán bộ xem xét",
        "posted" => "Đã gửi kết quả qua bưu điện",
        _ => "Đang xử lý",
    }
}

fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(data.as_ref()))
}

/// Is `code` shaped like `<unit>-YYMMDD-NNNN`? Returns (YYMMDD) when it is.
pub fn parse_code(code: &str) -> Option<&str> {
    if code.len() > 60 {
        return None;
    }
    let mut parts = code.rsplitn(3, '-');
    let seq = parts.next()?;
    let date = parts.next()?;
    let unit = parts.next()?;
    let ok = seq.len() == 4
        && seq.bytes().all(|b| b.is_ascii_digit())
        && date.len() == 6
        && date.bytes().all(|b| b.is_ascii_digit())
        && !unit.is_empty()
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    ok.then_some(date)
}

/// `dossiers/{yyyy}/{mm}/{code}/`
pub fn dossier_prefix(code: &str) -> Option<String> {
    let date = parse_code(code)?;
    Some(format!(
        "dossiers/20{}/{}/{code}/",
        &date[0..2],
        &date[2..4]
    ))
}

pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(VN)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats")
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(VN))
}

impl AppState {
    /// The tracking token of a dossier: derived from the signing key, the code and the
    /// idempotency key, so a repeated submission gets the same receipt; only its hash
    /// is stored.
    pub(crate) fn tracking_token(&self, code: &str, idempotency_hash: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.inner.config.signing_key).expect("any key length");
        mac.update(b"tracking\n");
        mac.update(code.as_bytes());
        mac.update(b"\n");
        mac.update(idempotency_hash.as_bytes());
        let bytes = mac.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..18])
    }

    pub fn tracking_url(&self, code: &str, token: &str) -> String {
        format!(
            "{}/api/track?code={}&token={}",
            self.inner.config.public_url,
            urlencode(code),
            urlencode(token)
        )
    }

    /// Takes one submission in. Returns the receipt and whether this call created the
    /// dossier (false: the same submission had already been stored).
    pub async fn submit(
        &self,
        sub: Submission,
        now: OffsetDateTime,
    ) -> Result<(Receipt, bool), SubmitError> {
        let now = now.to_offset(VN);
        let procedure = self
            .procedure(sub.procedure.trim())
            .ok_or_else(|| SubmitError::UnknownProcedure(sub.procedure.clone()))?;
        let form = match (&procedure.form, procedure.is_online()) {
            (Some(form), true) => form,
            _ => return Err(SubmitError::NotOnline(procedure.title.clone())),
        };
        if !sub.website.trim().is_empty() {
            return Err(SubmitError::form(
                "Không gửi được hồ sơ: ô \"Trang web\" (dành để chặn thư rác) phải để trống. Nếu bạn là người thật, hãy xóa nội dung ô đó rồi gửi lại.",
            ));
        }
        let key = sub.idempotency_key.trim();
        if !(8..=200).contains(&key.len()) || key.chars().any(|c| c.is_control()) {
            return Err(SubmitError::form(
                "Thiếu mã chống gửi trùng của biểu mẫu. Vui lòng tải lại trang rồi gửi lại.",
            ));
        }
        let key_hash = sha256_hex(format!("{}\n{key}", procedure.code));

        // The spam check that needs no storage comes first.
        let challenge = match &sub.proof {
            HumanProof::Altcha(payload) => Some(
                captcha::verify(
                    &self.inner.config.captcha_key,
                    payload,
                    now.unix_timestamp(),
                )
                .map_err(SubmitError::Captcha)?,
            ),
            HumanProof::Answer(answer) => {
                // The question and its answers are the site's (site.yaml), the same
                // the static form page shows.
                let answer = answer.trim();
                if !self.inner.site.human_check.accepts(answer) {
                    return Err(SubmitError::Invalid(vec![FieldError::new(
                        "human_answer",
                        if answer.is_empty() {
                            "Vui lòng trả lời câu hỏi kiểm tra ở cuối biểu mẫu.".to_string()
                        } else {
                            "Câu trả lời câu hỏi kiểm tra chưa đúng. Vui lòng đọc lại câu hỏi và trả lời bằng số.".to_string()
                        },
                    )]));
                }
                None
            }
        };

        // Every field and every file, all problems at once.
        let files = self.check_files(procedure, &sub.files).await?;
        let attached: Vec<&str> = files.iter().map(|f| f.field.as_str()).collect();
        let clean = match validate_values(form, &sub.values, &attached, now.date()) {
            Ok(clean) if files.iter().all(|f| f.error.is_none()) => clean,
            result => {
                let mut errors = result.err().unwrap_or_default();
                errors.extend(
                    files
                        .iter()
                        .filter_map(|f| f.error.as_ref().map(|e| FieldError::new(&f.field, e))),
                );
                return Err(SubmitError::Invalid(sort_errors(procedure, errors)));
            }
        };

        let body_hash = sha256_hex(
            serde_json::to_vec(&json!({
                "procedure": procedure.code,
                "values": sub.values,
                "files": files.iter().map(|f| json!([f.field, f.name, f.size])).collect::<Vec<_>>(),
            }))
            .expect("json"),
        );

        // Exactly once: an existing record means this submission was seen before.
        let storage = self.storage();
        let record_key = format!("idempotency/{key_hash}.json");
        let record = match storage.get(&record_key).await? {
            Some(bytes) => Some(self.check_record(&bytes, &body_hash)?),
            None => None,
        };
        let mut fresh = false;
        let record = match record {
            Some(r) => r,
            None => {
                if let Some(challenge) = &challenge {
                    let used = format!("captcha/used/{challenge}");
                    if !storage
                        .put_if_absent(&used, Bytes::from(key_hash.clone()), "text/plain")
                        .await?
                    {
                        let by = storage.get(&used).await?.unwrap_or_default();
                        if by != key_hash.as_bytes() {
                            return Err(SubmitError::Captcha(CaptchaError::Replayed));
                        }
                    }
                }
                let code = self.claim_code(now, &key_hash).await?;
                let record = IdempotencyRecord {
                    code,
                    received_at: format_time(now),
                    body_sha256: body_hash.clone(),
                };
                let bytes = Bytes::from(serde_json::to_vec(&record).expect("json"));
                if storage
                    .put_if_absent(&record_key, bytes, "application/json")
                    .await?
                {
                    fresh = true;
                    record
                } else {
                    // A concurrent twin won; our code claim stays unused.
                    let bytes = storage.get(&record_key).await?.unwrap_or_default();
                    self.check_record(&bytes, &body_hash)?
                }
            }
        };

        let code = record.code.clone();
        let prefix = dossier_prefix(&code).expect("own codes parse");
        let manifest_key = format!("{prefix}dossier.json");
        // A record we just created cannot have a manifest yet.
        if !fresh && let Some(bytes) = storage.get(&manifest_key).await? {
            let manifest: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| StorageError::Unavailable(format!("manifest {code}: {e}")))?;
            return Ok((self.receipt(procedure, &manifest, &key_hash), false));
        }

        let received = parse_time(&record.received_at).unwrap_or(now);
        let cutoff = procedure
            .processing
            .cutoff
            .as_deref()
            .and_then(catalog::calendar::parse_hhmm)
            .or(Some(time::macros::time!(15:00)));
        let appointment = self.inner.calendar.appointment(
            PrimitiveDateTime::new(received.date(), received.time()),
            procedure.processing.working_days,
            cutoff,
        );

        // The files, under the dossier.
        let mut attachments = Vec::new();
        for (n, file) in files.iter().enumerate() {
            let kind = file.kind.expect("checked");
            let dest = format!(
                "{prefix}files/{}-{}",
                n + 1,
                safe_file_name(&file.name, kind)
            );
            let sha256 = match &file.source {
                FileSource::Inline { bytes } => {
                    storage.put(&dest, bytes.clone(), kind.mime()).await?;
                    sha256_hex(bytes)
                }
                FileSource::Staged { key } => {
                    let bytes = storage.get(key).await?.ok_or_else(|| {
                        StorageError::Unavailable(format!("staged upload {key} vanished"))
                    })?;
                    storage.copy(key, &dest, kind.mime()).await?;
                    sha256_hex(&bytes)
                }
            };
            attachments.push(Attachment {
                field: file.field.clone(),
                name: display_name(&file.name),
                key: dest,
                size: file.size,
                sha256,
                kind: kind.mime().to_owned(),
            });
        }

        let contact = contact_of(procedure, &clean);
        let token = self.tracking_token(&code, &key_hash);
        let manifest = Manifest {
            version: 1,
            code: code.clone(),
            procedure: procedure.into(),
            unit_code: self.inner.unit_code.clone(),
            fields: clean,
            attachments,
            contact,
            appointment,
            received_at: record.received_at.clone(),
            channel: sub.channel.to_owned(),
            tracking_token_sha256: sha256_hex(&token),
            idempotency_key_sha256: key_hash.clone(),
        };

        let event = Event {
            at: record.received_at.clone(),
            status: "received".into(),
            label: status_label("received").into(),
            note: Some(format!(
                "Hồ sơ nộp trực tuyến. Hẹn trả kết quả: {} giờ, ngày {}.",
                receipt::hhmm(appointment.time),
                appointment.day.vietnamese()
            )),
            ..Event::default()
        };
        let notice = self.notice(&manifest, &token);
        // The first event, the notice and the desk's index marker do not depend on each
        // other: written together, one round trip instead of three. Only the manifest
        // must come after all of them.
        let event_key = format!("{prefix}events/000001.json");
        let outbox_key = format!("outbox/{code}-received.json");
        tokio::try_join!(
            storage.put_if_absent(
                &event_key,
                Bytes::from(serde_json::to_vec(&event).expect("json")),
                "application/json",
            ),
            storage.put_if_absent(
                &outbox_key,
                Bytes::from(serde_json::to_vec_pretty(&notice).expect("json")),
                "application/json",
            ),
            async {
                crate::admin::index::hint(storage, &code, now)
                    .await
                    .map(|()| true)
            },
        )?;
        let created = storage
            .put_if_absent(
                &manifest_key,
                Bytes::from(serde_json::to_vec_pretty(&manifest).expect("json")),
                "application/json",
            )
            .await?;
        let manifest = if created {
            manifest
        } else {
            let bytes = storage.get(&manifest_key).await?.unwrap_or_default();
            serde_json::from_slice(&bytes)
                .map_err(|e| StorageError::Unavailable(format!("manifest {code}: {e}")))?
        };
        Ok((self.receipt(procedure, &manifest, &key_hash), created))
    }

    fn check_record(
        &self,
        bytes: &[u8],
        body_hash: &str,
    ) -> Result<IdempotencyRecord, SubmitError> {
        let record: IdempotencyRecord = serde_json::from_slice(bytes)
            .map_err(|e| StorageError::Unavailable(format!("idempotency record: {e}")))?;
        if record.body_sha256 != body_hash {
            return Err(SubmitError::form(format!(
                "Biểu mẫu này đã được gửi thành hồ sơ {} với nội dung khác. Nếu bạn muốn nộp thêm một hồ sơ mới, vui lòng tải lại trang rồi điền lại.",
                record.code
            )));
        }
        Ok(record)
    }

    /// Claims the next free `sequence/{YYMMDD}/{NNNN}` with a conditional write.
    async fn claim_code(&self, now: OffsetDateTime, key_hash: &str) -> Result<String, SubmitError> {
        let day = format!(
            "{:02}{:02}{:02}",
            now.year() % 100,
            u8::from(now.month()),
            now.day()
        );
        let counter = self.sequence_counter(&day).await?;
        let storage = self.storage();
        for _ in 0..10_000 {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n > 9999 {
                return Err(SubmitError::SequenceExhausted);
            }
            let claim = format!("sequence/{day}/{n:04}");
            if storage
                .put_if_absent(&claim, Bytes::from(key_hash.to_owned()), "text/plain")
                .await?
            {
                return Ok(format!("{}-{day}-{n:04}", self.inner.unit_code));
            }
        }
        Err(SubmitError::SequenceExhausted)
    }

    /// The in-process counter for `day`, started after the highest claimed number
    /// (found by a binary search of HEADs: claims are dense from 0001).
    async fn sequence_counter(&self, day: &str) -> Result<Arc<AtomicU32>, SubmitError> {
        if let Some((d, counter)) = &*self.inner.sequence_hint.lock().expect("lock")
            && d == day
        {
            return Ok(counter.clone());
        }
        let (mut lo, mut hi) = (0u32, 10_000u32);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if self
                .storage()
                .head(&format!("sequence/{day}/{mid:04}"))
                .await?
                .is_some()
            {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mut hint = self.inner.sequence_hint.lock().expect("lock");
        match &*hint {
            Some((d, counter)) if d == day => Ok(counter.clone()),
            _ => {
                let counter = Arc::new(AtomicU32::new(lo + 1));
                *hint = Some((day.to_owned(), counter.clone()));
                Ok(counter)
            }
        }
    }

    /// Checks every file: field, count, staged key, size and real type.
    async fn check_files(
        &self,
        procedure: &Procedure,
        files: &[IncomingFile],
    ) -> Result<Vec<CheckedFile>, SubmitError> {
        let form = procedure
            .form
            .as_ref()
            .expect("online procedures have forms");
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
            let (size, first) = match &file.source {
                FileSource::Inline { bytes } => (
                    bytes.len() as u64,
                    bytes.slice(..bytes.len().min(SNIFF_BYTES as usize)),
                ),
                FileSource::Staged { key } => {
                    if !valid_staging_key(key) {
                        errors.push(FieldError::new(
                            &field.id,
                            "Tệp đính kèm không hợp lệ. Vui lòng chọn lại tệp rồi gửi lại.",
                        ));
                        continue;
                    }
                    match self.storage().head(key).await? {
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
                        Some(info) => {
                            let first = if info.size > 0 {
                                self.storage()
                                    .get_prefix(key, SNIFF_BYTES)
                                    .await?
                                    .unwrap_or_default()
                            } else {
                                Bytes::new()
                            };
                            (info.size, first)
                        }
                    }
                }
            };
            let (kind, error) = match validate_attachment(field, &file.name, size, &first) {
                Ok(kind) => (Some(kind), None),
                Err(e) => (None, Some(e)),
            };
            checked.push(CheckedFile {
                field: field.id.clone(),
                name: file.name.clone(),
                size,
                kind,
                error,
                source: file.source.clone(),
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

    /// The notification record for the outbox (delivery is a later step).
    fn notice(&self, m: &Manifest, token: &str) -> Value {
        let url = self.tracking_url(&m.code, token);
        let when = format!(
            "{} giờ ngày {}",
            receipt::hhmm(m.appointment.time),
            m.appointment.day.vietnamese()
        );
        let sms = format!(
            "{}: da tiep nhan ho so {} ({}). Hen tra ket qua {}. Tra cuu: {}",
            catalog::text::fold(&self.inner.site.name).to_uppercase(),
            m.code,
            catalog::text::fold(&m.procedure.title),
            when,
            url
        );
        let email = m.contact.email.as_ref().map(|to| {
            json!({
                "to": to,
                "subject": format!("Đã tiếp nhận hồ sơ {} – {}", m.code, m.procedure.title),
                "body": format!(
                    "Kính gửi {},\n\n{} đã tiếp nhận hồ sơ trực tuyến của Ông/Bà.\n\nMã hồ sơ: {}\nThủ tục: {}\nThời gian tiếp nhận: {}\nHẹn trả kết quả: {}\n\nTra cứu tình trạng hồ sơ: {}\n\nĐây là thư tự động, vui lòng không trả lời thư này.\n",
                    m.contact.name,
                    self.inner.site.name,
                    m.code,
                    m.procedure.title,
                    receipt::received_text(&m.received_at),
                    when,
                    url
                ),
            })
        });
        json!({
            "code": m.code,
            "kind": "received",
            "created_at": m.received_at,
            "sms": { "to": m.contact.phone, "text": sms },
            "email": email,
        })
    }

    pub(crate) fn receipt(&self, procedure: &Procedure, m: &Manifest, key_hash: &str) -> Receipt {
        let token = self.tracking_token(&m.code, key_hash);
        let url = self.tracking_url(&m.code, &token);
        receipt::build(
            &self.inner.site,
            &self.inner.unit_code,
            procedure,
            m,
            token,
            url,
        )
    }
}

struct CheckedFile {
    field: String,
    name: String,
    size: u64,
    kind: Option<FileKind>,
    error: Option<String>,
    source: FileSource,
}

/// Errors in the order of the form's fields.
fn sort_errors(procedure: &Procedure, mut errors: Vec<FieldError>) -> Vec<FieldError> {
    let order: Vec<&str> = procedure
        .form
        .iter()
        .flat_map(|f| f.fields())
        .map(|f| f.id.as_str())
        .collect();
    errors.sort_by_key(|e| {
        order
            .iter()
            .position(|id| *id == e.field)
            .map_or(0, |p| p + 1)
    });
    errors
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

fn contact_of(procedure: &Procedure, clean: &serde_json::Map<String, Value>) -> ContactInfo {
    let Some(form) = &procedure.form else {
        return ContactInfo::default();
    };
    let text = |id: &str| clean.get(id).map(value_text).filter(|s| !s.is_empty());
    ContactInfo {
        name: text(&form.contact.name).unwrap_or_default(),
        phone: text(&form.contact.phone).unwrap_or_default(),
        email: form.contact.email.as_deref().and_then(text),
        address: form.contact.address.as_deref().and_then(text),
    }
}

/// A stored value as one line of text (addresses joined by commas).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(parts) => ["detail", "commune", "district", "province"]
            .iter()
            .filter_map(|p| parts.get(*p).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Bool(b) => if *b { "Có" } else { "Không" }.into(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Today in Vietnam.
pub fn today_vn(now: OffsetDateTime) -> Day {
    Day(now.to_offset(VN).date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_to_their_folder() {
        assert_eq!(parse_code("H21.55.01-250430-0007"), Some("250430"));
        assert_eq!(
            dossier_prefix("H21.55.01-250430-0007").as_deref(),
            Some("dossiers/2025/04/H21.55.01-250430-0007/")
        );
        assert_eq!(parse_code("../../etc-250430-0007"), None);
        assert_eq!(parse_code("H21-25043-0007"), None);
        assert_eq!(parse_code("-250430-0007"), None);
    }

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

    #[test]
    fn display_names_lose_paths_and_controls() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\a\\giấy\u{0}.pdf"), "giấy.pdf");
        assert_eq!(display_name("\u{7}"), "tệp");
    }
}
