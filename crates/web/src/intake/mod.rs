//! Taking a dossier in: validation against the procedure's schema, spam checks, the
//! dossier code, the tracking token, the appointment, and the writes in an order that
//! makes a submission exactly-once.
//!
//! On S3 each request is a round trip of 20–40 ms, so the requests go in four rounds,
//! each waiting only for what it needs (`cargo run -p bench --bin s3-rounds` counts them):
//!
//! 1. the reads: the idempotency record, the address's allowance, the day's claims
//!    (only in a new process), a file's verdict only when the browser did not bring it
//!    signed; the proof of work used up, under this submission's key;
//! 2. the code claimed with `If-None-Match: *`, beside the allowance's compare-and-swap;
//! 3. the idempotency record with `If-None-Match: *`, beside the files, the first
//!    event, the notice and the index hint;
//! 4. the manifest with `If-None-Match: *`: nothing is a dossier until it exists.
//!
//! A retry reads the record in round 1 and its manifest in round 2.

mod files;

pub use files::{UploadCheck, staging_key, staging_tag, valid_staging_key, verdict_key};

use bytes::Bytes;
use catalog::Procedure;
use catalog::validate::{FieldError, RawValues, validate_values};
use catalog::vn_time::{VN, format_time, hhmm, parse_time};
use dossier::notice::{NoticeContext, received_notice};
use dossier::receipt::{self, Receipt};
use dossier::{ContactInfo, Event, Manifest, RETRY_MESSAGE, Status, dossier_prefix, value_text};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::captcha::{self, CaptchaError};
use crate::gate::{self, GateError};
use crate::state::AppState;
use store::StorageError;
use store::dossiers::{ClaimError, IdempotencyRecord, idempotency_key};

/// Most files one attachment field takes.
pub const MAX_FILES_PER_FIELD: usize = 5;
/// Bytes read to judge a file's real type.
pub const SNIFF_BYTES: u64 = 32;

/// How the spam check is passed.
#[derive(Debug, Clone)]
pub enum HumanProof {
    /// ALTCHA solution (JSON path).
    Altcha(String),
    /// The answer to the plain form's question (no JavaScript) and the question's
    /// token (`gate`), from the frame's cookie or the function's page.
    Answer { answer: String, token: String },
    /// A paper dossier the desk types in from the console: the officer's session is
    /// the proof, and the officer is named in its first steps.
    Desk { login: String, name: String },
}

#[derive(Debug, Clone)]
pub enum FileSource {
    /// Uploaded directly to the staging prefix with a presigned PUT. `verdict`: the
    /// signed verdict its check gave the browser (`files::verdict_token`), which spares
    /// the submission reading it from the bucket.
    Staged {
        key: String,
        verdict: Option<String>,
    },
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
    /// The version of the form the page showed (`form_version`); `None` from clients
    /// that send none, which are checked against the current form as they are.
    pub form_version: Option<String>,
    pub idempotency_key: String,
    pub proof: HumanProof,
    /// The honeypot: people leave it empty.
    pub website: String,
    pub values: RawValues,
    pub files: Vec<IncomingFile>,
    /// A desk dossier's file fields whose papers the officer holds (ticked in the
    /// console); ignored for any other proof.
    pub paper: Vec<String>,
    /// "json", "form" or "desk".
    pub channel: &'static str,
    /// The client address, when known: its day's allowance of dossiers is counted.
    pub source: Option<std::net::IpAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("không có thủ tục {0}")]
    UnknownProcedure(String),
    #[error("thủ tục {0} không nhận hồ sơ trực tuyến")]
    NotOnline(String),
    /// The page was built from another version of the form than the function holds.
    #[error("biểu mẫu của thủ tục {0} đã thay đổi")]
    FormChanged(String),
    #[error("dữ liệu không hợp lệ")]
    Invalid(Vec<FieldError>),
    #[error("captcha: {0}")]
    Captcha(CaptchaError),
    /// The plain form's question: not answered, expired, wrong, or already used.
    #[error("câu hỏi kiểm tra: {0}")]
    Gate(GateError),
    #[error("kho lưu trữ: {0}")]
    Storage(#[from] StorageError),
    #[error("hết số hồ sơ trong ngày")]
    SequenceExhausted,
    /// This client address has filed its day's allowance of dossiers.
    #[error("địa chỉ mạng đã gửi đủ {0} hồ sơ trong ngày")]
    SourceQuota(u32),
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
                    "Thủ tục \"{title}\" chưa nhận hồ sơ trực tuyến. Vui lòng xem hướng dẫn và nộp hồ sơ tại Trung tâm Phục vụ hành chính công xã."
                ),
            )],
            SubmitError::FormChanged(title) => vec![FieldError::new(
                "_form",
                format!(
                    "Biểu mẫu \"{title}\" đã được cập nhật sau khi bạn mở trang nên hồ sơ CHƯA được gửi. Vui lòng tải lại trang (nhấn F5 hoặc kéo trang xuống để tải lại), kiểm tra lại các ô rồi gửi lại."
                ),
            )],
            SubmitError::Invalid(errors) => errors.clone(),
            SubmitError::Captcha(e) => vec![FieldError::new("altcha", e.message())],
            SubmitError::Gate(e) => vec![FieldError::new("human_answer", e.message())],
            SubmitError::Storage(_) | SubmitError::SequenceExhausted => {
                vec![FieldError::new("_form", RETRY_MESSAGE)]
            }
            SubmitError::SourceQuota(cap) => vec![FieldError::new(
                "_form",
                format!(
                    "Hôm nay đã có {cap} hồ sơ được gửi từ địa chỉ mạng của bạn, là mức tối đa một ngày, nên hồ sơ này CHƯA được gửi. Nếu bạn dùng chung mạng với nhiều người (quán Internet, mạng cơ quan), hãy thử gửi bằng mạng di động; hoặc gửi lại vào ngày mai, hoặc nộp trực tiếp tại Trung tâm Phục vụ hành chính công xã."
                ),
            )],
        }
    }
}

fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(data.as_ref()))
}

impl AppState {
    /// The tracking token of a dossier: derived from the signing key, the code and the
    /// idempotency key, so a repeated submission gets the same receipt; only its hash
    /// is stored.
    pub(crate) fn tracking_token(&self, code: &str, idempotency_hash: &str) -> String {
        dossier::tracking::token(&self.inner.config.signing_key, code, idempotency_hash)
    }

    pub fn tracking_url(&self, code: &str, token: &str) -> String {
        dossier::tracking::url(&self.inner.config.public_url, code, token)
    }

    /// What a notice of dossier `m` needs besides the dossier.
    pub fn notice_context(&self, m: &Manifest) -> NoticeContext<'_> {
        let token = self.tracking_token(&m.code, &m.idempotency_key_sha256);
        NoticeContext {
            site_name: &self.inner.site.name,
            tracking_url: self.tracking_url(&m.code, &token),
            rating_url: dossier::tracking::rating_url(
                &self.inner.config.public_url,
                &m.code,
                &token,
            ),
            sms_ascii: self.inner.config.notify.sms_ascii,
        }
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
        let desk = match &sub.proof {
            HumanProof::Desk { login, name } => Some(dossier::step::Officer { login, name }),
            _ => None,
        };
        // The desk takes paper dossiers of every procedure that has a form, online or
        // not.
        let form = match (&procedure.form, procedure.is_online() || desk.is_some()) {
            (Some(form), true) => form,
            _ => return Err(SubmitError::NotOnline(procedure.title.clone())),
        };
        // A page from an older build asked for other fields or other rules: checking it
        // against this form would fail it in confusing ways, or accept it half-filled.
        if let Some(sent) = sub.form_version.as_deref().map(str::trim)
            && !sent.is_empty()
            && Some(sent) != self.form_version(&procedure.code)
        {
            return Err(SubmitError::FormChanged(procedure.title.clone()));
        }
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
            // Used once, like a challenge: its nonce goes the same way below.
            HumanProof::Answer { answer, token } => Some(format!(
                "gate-{}",
                gate::verify(
                    &self.inner.config.captcha_key,
                    token,
                    answer,
                    now.unix_timestamp()
                )
                .map_err(SubmitError::Gate)?
            )),
            HumanProof::Desk { .. } => None,
        };

        let storage = self.storage();
        let record_key = idempotency_key(&key_hash);
        let checking_files = self.check_files(
            procedure,
            &sub.files,
            // Staged uploads are bound to the proof of work they were issued under.
            challenge
                .as_deref()
                .filter(|_| matches!(sub.proof, HumanProof::Altcha(_))),
        );

        // The values first, without storage: a form with mistakes uses nothing up (its
        // proof, its allowance) and writes nothing. Every problem at once: the files'
        // verdicts are read to list theirs too.
        // The papers the desk holds, among the form's file fields.
        let paper: Vec<String> = form
            .fields()
            .filter(|f| {
                desk.is_some() && f.kind == catalog::FieldType::File && sub.paper.contains(&f.id)
            })
            .map(|f| f.id.clone())
            .collect();
        let mut attached: Vec<&str> = sub.files.iter().map(|f| f.field.as_str()).collect();
        attached.extend(paper.iter().map(String::as_str));
        let clean = match validate_values(form, &sub.values, &attached, now.date()) {
            Ok(clean) => clean,
            Err(mut errors) if desk.is_some() => {
                for e in &mut errors {
                    if let Some(field) = form.field(&e.field)
                        && field.kind == catalog::FieldType::File
                    {
                        e.message = format!(
                            "Chưa đánh dấu đã nhận bản giấy: {}. Hồ sơ cần giấy tờ này; nhận bản giấy của người nộp rồi đánh dấu.",
                            field.label
                        );
                    }
                }
                return Err(SubmitError::Invalid(sort_errors(procedure, errors)));
            }
            Err(mut errors) => {
                match checking_files.await {
                    Ok(files) => errors.extend(file_errors(&files)),
                    Err(SubmitError::Invalid(more)) => errors.extend(more),
                    Err(other) => return Err(other),
                }
                return Err(SubmitError::Invalid(sort_errors(procedure, errors)));
            }
        };

        // Round 1, every read a new dossier needs, side by side: the files' verdicts,
        // the record that says whether this submission was seen before, the address's
        // allowance for the day, the day's next number (a listing, only in a new
        // process). The proof is used here too, under this submission's key: the same
        // submission sent again may use it again, no other one can.
        let allowance_key = sub.source.map(|source| {
            store::quota::allowance_key(
                "sources",
                &catalog::dossier_code::day(now),
                &self.inner.config.signing_key,
                &source.to_string(),
            )
        });
        let used = challenge.as_ref().map(|c| format!("captcha/used/{c}"));
        let (files, seen, allowance, proof_taken, prepared) = tokio::join!(
            checking_files,
            storage.get_tagged(&record_key),
            async {
                match &allowance_key {
                    Some(key) => store::quota::read(storage, key).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match &used {
                    Some(used) => {
                        storage
                            .put_if_absent(used, Bytes::from(key_hash.clone()), "text/plain")
                            .await
                    }
                    None => Ok(true),
                }
            },
            self.inner.sequence.prepare(storage, now),
        );
        let files = files?;
        let refused = file_errors(&files);
        if !refused.is_empty() {
            return Err(SubmitError::Invalid(sort_errors(procedure, refused)));
        }

        let mut body = json!({
            "procedure": procedure.code,
            "values": sub.values,
            "files": files.iter().map(|f| json!([f.field, f.name, f.size])).collect::<Vec<_>>(),
        });
        // Only a desk dossier's: the hash of every other stays what retries sent
        // before this existed.
        if !paper.is_empty() {
            body["paper"] = json!(paper);
        }
        let body_hash = sha256_hex(serde_json::to_vec(&body).expect("json"));

        // Exactly once: an existing record means this submission was seen before.
        let mut attempt = match seen? {
            Some((bytes, etag)) => {
                let (record, took_over) = self
                    .settle_record(&record_key, &bytes, &etag, &body_hash, now)
                    .await?;
                Attempt {
                    record,
                    new_record: false,
                    took_over,
                }
            }
            None => {
                // A new dossier: its proof must be its own, its address within the
                // day's allowance (decided from the read when it is already spent).
                let proof_ours = proof_taken?
                    || match &used {
                        Some(used) => {
                            storage.get(used).await?.unwrap_or_default() == key_hash.as_bytes()
                        }
                        None => true,
                    };
                if !proof_ours {
                    return Err(match sub.proof {
                        HumanProof::Answer { .. } => SubmitError::Gate(GateError::Used),
                        _ => SubmitError::Captcha(CaptchaError::Replayed),
                    });
                }
                let cap = self.inner.config.dossiers_per_source_per_day;
                let allowance = allowance?;
                if allowance
                    .as_ref()
                    .is_some_and(|a| a.refuses(&key_hash, cap))
                {
                    return Err(SubmitError::SourceQuota(cap));
                }
                prepared?;
                // Round 2: the code claimed, and the submission counted in its
                // address's allowance, side by side. Should the allowance fill up in
                // between (many at once from one address), the claimed number stays
                // unused, as after any attempt that stops there.
                let admitted = async {
                    match (&allowance_key, allowance) {
                        (Some(key), Some(read)) => {
                            store::quota::admit_from(storage, key, &key_hash, cap, read).await
                        }
                        _ => Ok(true),
                    }
                };
                let (claimed, admitted) =
                    tokio::join!(self.inner.sequence.claim(storage, now, &key_hash), admitted);
                let (day, n) = claimed.map_err(|e| match e {
                    ClaimError::Exhausted => SubmitError::SequenceExhausted,
                    ClaimError::Storage(e) => SubmitError::Storage(e),
                })?;
                if !admitted? {
                    return Err(SubmitError::SourceQuota(cap));
                }
                Attempt {
                    record: IdempotencyRecord {
                        code: catalog::dossier_code::format(&self.inner.unit_code, &day, n),
                        received_at: format_time(now),
                        body_sha256: body_hash.clone(),
                    },
                    new_record: true,
                    took_over: false,
                }
            }
        };

        // The way the citizen chose to receive the result, and where it is posted.
        let delivery = catalog::fee::chosen_delivery(procedure, &clean);
        let delivery_address = procedure
            .delivery_field
            .as_ref()
            .and_then(|choice| choice.address.as_ref())
            .filter(|_| delivery == Some(catalog::Delivery::Post))
            .and_then(|id| clean.get(id))
            .map(value_text)
            .filter(|a| !a.is_empty());
        loop {
            let record = &attempt.record;
            let code = record.code.clone();
            // The unit code was checked at start by the same rule, so this holds; a
            // record written by an older version with another rule is refused, not a
            // panic.
            let prefix = dossier_prefix(&code).ok_or_else(|| {
                StorageError::Unavailable(format!(
                    "idempotency record holds a malformed code {code}"
                ))
            })?;
            let manifest_key = format!("{prefix}dossier.json");
            // A record being created, or just taken over (its manifest was looked
            // for), has no manifest yet; otherwise this is a retry: its answer is the
            // manifest, if the first attempt got that far.
            if !attempt.new_record
                && !attempt.took_over
                && let Some(bytes) = storage.get(&manifest_key).await?
            {
                let manifest: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| StorageError::Unavailable(format!("manifest {code}: {e}")))?;
                return Ok((self.receipt(procedure, &manifest, &key_hash), false));
            }

            let received = parse_time(&record.received_at).unwrap_or(now);
            let appointment = dossier::step::proposed_appointment(
                &self.inner.calendar,
                Some(procedure),
                received,
            );
            // An attempt that took over an unfinished one names its files apart, so
            // that the two, if the first is still running, never write the same key.
            let attachments = files::attachments(
                &prefix,
                &files,
                if attempt.took_over {
                    &body_hash[..9]
                } else {
                    ""
                },
            )?;
            let token = self.tracking_token(&code, &key_hash);
            let manifest = Manifest {
                version: 1,
                code: code.clone(),
                procedure: procedure.into(),
                unit_code: self.inner.unit_code.clone(),
                fields: clean.clone(),
                attachments,
                paper: paper.clone(),
                contact: contact_of(procedure, &clean),
                appointment,
                received_at: record.received_at.clone(),
                channel: sub.channel.to_owned(),
                tracking_token_sha256: sha256_hex(&token),
                idempotency_key_sha256: key_hash.clone(),
                delivery,
                delivery_address: delivery_address.clone(),
                fee: catalog::fee::quote(procedure, &clean),
            };
            let mut event = Event::new(record.received_at.clone(), Status::Received);
            // A paper dossier is taken in as it is typed: its second step, the desk's,
            // is written with its first.
            let taken_in = desk.map(|officer| {
                event.by = Some(officer.login.to_owned());
                event.by_name = Some(officer.name.to_owned());
                event.note = Some(desk_note(form, &paper));
                dossier::step::taken_in(record.received_at.clone(), officer, appointment, None)
            });
            if taken_in.is_none() {
                event.note = Some(format!(
                    "Hồ sơ nộp trực tuyến. Hẹn trả kết quả: {} giờ, ngày {}.",
                    hhmm(appointment.time),
                    appointment.day.vietnamese()
                ));
            }
            let notice = received_notice(&self.notice_context(&manifest), &manifest);

            // Round 3: the idempotency record (when new), the files, the first event,
            // the notice and the desk's index hint do not depend on each other: all
            // at once. None of them makes a dossier: what a failed attempt leaves is
            // taken over by its retry, or swept (`store::sweep`), and its notice is
            // never sent without the manifest (`outbox::deliver::standing`).
            let event_key = format!("{prefix}events/000001.json");
            let notice_key = format!("outbox/{code}-received.json");
            let record_bytes = attempt
                .new_record
                .then(|| Bytes::from(serde_json::to_vec(record).expect("json")));
            let (recorded, stored, event_written, taken_in_written, notice_written, hinted) = tokio::join!(
                async {
                    match record_bytes {
                        Some(bytes) => {
                            storage
                                .put_if_absent(&record_key, bytes, "application/json")
                                .await
                        }
                        None => Ok(true),
                    }
                },
                self.store_files(&files, &manifest.attachments),
                storage.put_if_absent(
                    &event_key,
                    Bytes::from(serde_json::to_vec(&event).expect("json")),
                    "application/json",
                ),
                async {
                    match &taken_in {
                        Some(step) => {
                            storage
                                .put_if_absent(
                                    &format!("{prefix}events/000002.json"),
                                    Bytes::from(serde_json::to_vec(step).expect("json")),
                                    "application/json",
                                )
                                .await
                        }
                        None => Ok(true),
                    }
                },
                async {
                    let body = Bytes::from(serde_json::to_vec_pretty(&notice).expect("json"));
                    if attempt.took_over {
                        // The edited form may name another phone or address: the
                        // unfinished attempt's notice (never sent: no manifest) is
                        // replaced.
                        storage.put(&notice_key, body, "application/json").await?;
                        Ok(true)
                    } else {
                        storage
                            .put_if_absent(&notice_key, body, "application/json")
                            .await
                    }
                },
                store::index::hint(storage, &code, now),
            );
            if !recorded? {
                // A twin of this submission, sent at the same moment, recorded its own
                // code first: that code is the dossier's, and this attempt finishes it.
                let bytes = storage.get(&record_key).await?.unwrap_or_default();
                attempt = Attempt {
                    record: self.check_record(&bytes, &body_hash)?,
                    new_record: false,
                    took_over: false,
                };
                continue;
            }
            stored?;
            event_written?;
            taken_in_written?;
            notice_written?;
            hinted?;

            // Round 4: the manifest, last; only now is there a dossier.
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
            return Ok((self.receipt(procedure, &manifest, &key_hash), created));
        }
    }

    fn check_record(
        &self,
        bytes: &[u8],
        body_hash: &str,
    ) -> Result<IdempotencyRecord, SubmitError> {
        let record = parse_record(bytes)?;
        if record.body_sha256 != body_hash {
            return Err(sent_otherwise(&record));
        }
        Ok(record)
    }

    /// The record found under this submission's key: the same content, or other
    /// content whose dossier exists (refused, naming it), or other content whose attempt
    /// never finished (the citizen edited the form and sent again): then this attempt
    /// takes the record and its code over, with a compare-and-swap on the record's ETag.
    /// True when it took over.
    async fn settle_record(
        &self,
        record_key: &str,
        bytes: &[u8],
        etag: &str,
        body_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(IdempotencyRecord, bool), SubmitError> {
        let record = parse_record(bytes)?;
        if record.body_sha256 == body_hash {
            return Ok((record, false));
        }
        let storage = self.storage();
        let manifest = format!(
            "{}dossier.json",
            store::dossiers::stored_prefix(&record.code)?
        );
        if storage.head(&manifest).await?.is_some() {
            return Err(sent_otherwise(&record));
        }
        let taken = IdempotencyRecord {
            code: record.code,
            received_at: format_time(now),
            body_sha256: body_hash.to_owned(),
        };
        let body = Bytes::from(serde_json::to_vec(&taken).expect("json"));
        if storage
            .put_if_unchanged(record_key, body, "application/json", Some(etag))
            .await?
            .is_some()
        {
            return Ok((taken, true));
        }
        // Another attempt changed the record meanwhile: judge what it wrote.
        let bytes = storage.get(record_key).await?.unwrap_or_default();
        Ok((self.check_record(&bytes, body_hash)?, false))
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

/// The record a submission goes on with: its code and when it was received.
struct Attempt {
    record: IdempotencyRecord,
    /// Not stored yet: this attempt claimed the code and writes the record.
    new_record: bool,
    /// Taken over from an unfinished attempt with other content.
    took_over: bool,
}

/// The first step's note of a paper dossier: where it came from and the papers the desk
/// holds, by their labels.
fn desk_note(form: &catalog::Form, paper: &[String]) -> String {
    let held: Vec<&str> = form
        .fields()
        .filter(|f| f.kind == catalog::FieldType::File && paper.contains(&f.id))
        .map(|f| f.label.as_str())
        .collect();
    if held.is_empty() {
        "Hồ sơ giấy nộp tại Trung tâm Phục vụ hành chính công xã, cán bộ nhập vào hệ thống."
            .to_owned()
    } else {
        format!(
            "Hồ sơ giấy nộp tại Trung tâm Phục vụ hành chính công xã, cán bộ nhập vào hệ thống. Bản giấy đã nhận: {}.",
            held.join("; ")
        )
    }
}

/// The refusals beside the files' fields.
fn file_errors(files: &[files::CheckedFile]) -> Vec<FieldError> {
    files
        .iter()
        .filter_map(|f| f.error.as_ref().map(|e| FieldError::new(&f.field, e)))
        .collect()
}

fn parse_record(bytes: &[u8]) -> Result<IdempotencyRecord, SubmitError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StorageError::Unavailable(format!("idempotency record: {e}")).into())
}

/// The key was used for a dossier with other content.
fn sent_otherwise(record: &IdempotencyRecord) -> SubmitError {
    SubmitError::form(format!(
        "Biểu mẫu này đã được gửi thành hồ sơ {} với nội dung khác. Nếu bạn muốn nộp thêm một hồ sơ mới, vui lòng tải lại trang rồi điền lại.",
        record.code
    ))
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
        notify_by: form.contact.notify.as_deref().map(|id| {
            clean
                .get(id)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        }),
    }
}
