//! Telling citizens: one outbox record per step (`outbox/{id}.json`) with the SMS and
//! the e-mail for the contact fields of the dossier, and a delivery worker that sends
//! them (e-mail over SMTP with lettre, SMS through a configurable HTTP gateway).
//!
//! A record is marked sent once with `If-None-Match: *` on `outbox-sent/{id}` (and per
//! channel, `outbox-sent/{id}.sms`, `…/email`, so a channel that went through is not sent
//! again when the other is retried). Failures are retried with backoff: the record
//! carries `attempts`, `next_attempt_at` and `last_error`. Delivery never blocks a
//! dossier: records are written with the step, sent later.
//!
//! A record is written *before* what it announces, so that no failure in between can
//! lose it, and it is sent only once that exists (see [`deliver::standing`]): a step's
//! notice, `outbox/{code}-{seq:06}-{status}-{id}.json`, names its event
//! (`event_key`) and the random `id` the event is then written with; the submission's
//! first notice, `outbox/{code}-received.json`, waits for the dossier's manifest. A
//! record whose step never happened is void and never sent.

pub mod deliver;
pub mod routes;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dossier::{Event, Manifest};
use crate::receipt;
use crate::state::AppState;
use crate::storage::StorageResult;

#[derive(Clone)]
pub struct NotifyConfig {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required`, `smtps://…:465`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// The SMS gateway's URL (POST).
    pub sms_url: Option<String>,
    /// `Name: value`, e.g. `Authorization: Bearer …`.
    pub sms_auth_header: Option<String>,
    /// The body, with `{phone}` and `{text}` (escaped for JSON or for a form, by the
    /// content type).
    pub sms_body_template: String,
    pub sms_content_type: String,
    /// SMS without diacritics (default: yes, the cheap and safe choice in Vietnam).
    pub sms_ascii: bool,
    /// How often the local server runs the worker, in seconds (0 = never).
    pub interval_secs: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp_url: None,
            mail_from: "Một Cửa <no-reply@localhost>".into(),
            sms_url: None,
            sms_auth_header: None,
            sms_body_template: r#"{"to":"{phone}","text":"{text}"}"#.into(),
            sms_content_type: "application/json".into(),
            sms_ascii: true,
            interval_secs: 60,
        }
    }
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("smtp", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("mail_from", &self.mail_from)
            .field("sms_url", &self.sms_url)
            .field(
                "sms_auth_header",
                &self.sms_auth_header.as_ref().map(|_| "<hidden>"),
            )
            .finish_non_exhaustive()
    }
}

impl NotifyConfig {
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        problems: &mut Vec<String>,
    ) -> NotifyConfig {
        let mut c = NotifyConfig {
            smtp_url: get("MOTCUA_SMTP_URL"),
            ..NotifyConfig::default()
        };
        if let Some(u) = &c.smtp_url
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            problems.push(
                "MOTCUA_SMTP_URL phải có dạng smtp://máy:cổng hoặc smtps://tên:mật-khẩu@máy:465"
                    .into(),
            );
        }
        if let Some(from) = get("MOTCUA_MAIL_FROM") {
            if from.parse::<lettre::message::Mailbox>().is_err() {
                problems.push(format!(
                    "MOTCUA_MAIL_FROM=\"{from}\" không phải địa chỉ thư hợp lệ, ví dụ: UBND xã <motcua@xa.gov.vn>"
                ));
            }
            c.mail_from = from;
        } else if c.smtp_url.is_some() {
            problems.push(
                "MOTCUA_MAIL_FROM chưa đặt: địa chỉ gửi thư, ví dụ motcua@iapet.gialai.gov.vn"
                    .into(),
            );
        }
        c.sms_url = get("MOTCUA_SMS_URL");
        if let Some(u) = &c.sms_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            problems.push(format!("MOTCUA_SMS_URL=\"{u}\" phải bắt đầu bằng https://"));
        }
        c.sms_auth_header = get("MOTCUA_SMS_AUTH_HEADER");
        if let Some(h) = &c.sms_auth_header
            && !h.contains(':')
        {
            problems.push("MOTCUA_SMS_AUTH_HEADER phải có dạng \"Tên: giá trị\", ví dụ Authorization: Bearer abc".into());
        }
        if let Some(t) = get("MOTCUA_SMS_BODY") {
            if !t.contains("{phone}") || !t.contains("{text}") {
                problems.push("MOTCUA_SMS_BODY phải chứa {phone} và {text}".into());
            }
            c.sms_body_template = t;
        }
        if let Some(t) = get("MOTCUA_SMS_CONTENT_TYPE") {
            c.sms_content_type = t;
        }
        if let Some(v) = get("MOTCUA_SMS_UNICODE") {
            c.sms_ascii = !matches!(v.as_str(), "1" | "true" | "yes" | "co");
        }
        if let Some(v) = get("MOTCUA_OUTBOX_INTERVAL") {
            match v.parse() {
                Ok(n) => c.interval_secs = n,
                Err(_) => problems.push(format!(
                    "MOTCUA_OUTBOX_INTERVAL=\"{v}\" phải là số giây, ví dụ 60 (0 = không tự gửi)"
                )),
            }
        }
        c
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sms {
    pub to: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// `outbox/{id}.json`; the first submission notice (written by the submission itself)
/// has the same shape without the delivery fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub code: String,
    pub kind: String,
    pub created_at: String,
    #[serde(default)]
    pub sms: Option<Sms>,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The event this notice announces (`dossiers/…/events/{seq:06}.json`) and the `id`
    /// that event is written with; absent on the submission's first notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

fn sms_text(state: &AppState, text: String) -> String {
    if state.config().notify.sms_ascii {
        strip_marks(&text)
    } else {
        text
    }
}

/// Vietnamese without diacritics, case kept (codes and tracking tokens in links must
/// survive): "Hẹn trả" → "Hen tra", "Đ" → "D".
pub fn strip_marks(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.chars()
        .map(|c| match c {
            'đ' | 'ð' => 'd',
            'Đ' | 'Ð' => 'D',
            '–' | '—' => '-',
            '…' => '.',
            other => other,
        })
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The notice for an officer's (or the citizen's supplement) step, if the step has one.
pub fn record_for_event(state: &AppState, m: &Manifest, e: &Event) -> Option<OutboxRecord> {
    let token = state.tracking_token(&m.code, &m.idempotency_key_sha256);
    let url = state.tracking_url(&m.code, &token);
    let site = &state.site().name;
    let short_site = catalog::text::fold(site).to_uppercase();
    let cut = |s: &str, n: usize| -> String {
        let mut t: String = s.chars().take(n).collect();
        if s.chars().count() > n {
            t.push('…');
        }
        t
    };
    let (subject, sms, lines) = match e.status.as_str() {
        "accepted" => {
            let a = e.appointment.unwrap_or(m.appointment);
            let when = format!("{} giờ ngày {}", receipt::hhmm(a.time), a.day.vietnamese());
            (
                format!("Hồ sơ {} đã được tiếp nhận – hẹn trả {}", m.code, a.day.vietnamese()),
                format!("{short_site}: ho so {} da duoc tiep nhan. Hen tra ket qua {when}. Tra cuu: {url}", m.code),
                format!("Trung tâm Phục vụ hành chính công xã đã kiểm tra và tiếp nhận hồ sơ của Ông/Bà.\n\nHẹn trả kết quả: {when}."),
            )
        }
        "supplement-requested" => {
            let missing = e.missing.clone().unwrap_or_default();
            (
                format!("Hồ sơ {} cần bổ sung giấy tờ", m.code),
                format!("{short_site}: ho so {} can bo sung: {}. Nop bo sung tai: {url}", m.code, cut(&missing, 60)),
                format!("Hồ sơ của Ông/Bà cần bổ sung giấy tờ sau:\n\n{missing}\n\nÔng/Bà có thể nộp bổ sung trực tuyến tại trang tra cứu hồ sơ (đường dẫn bên dưới) hoặc mang đến Trung tâm Phục vụ hành chính công xã."),
            )
        }
        "supplemented" => (
            format!("Đã nhận giấy tờ bổ sung cho hồ sơ {}", m.code),
            format!("{short_site}: da nhan giay to bo sung cho ho so {}. Tra cuu: {url}", m.code),
            "Trung tâm Phục vụ hành chính công xã đã nhận giấy tờ bổ sung của Ông/Bà và sẽ tiếp tục xử lý hồ sơ.".into(),
        ),
        "result-ready" => (
            format!("Hồ sơ {} đã có kết quả", m.code),
            format!("{short_site}: ho so {} da co ket qua. Moi Ong/Ba den Bo phan Mot cua nhan. Tra cuu: {url}", m.code),
            "Hồ sơ của Ông/Bà đã có kết quả. Mời Ông/Bà đến Trung tâm Phục vụ hành chính công xã nhận kết quả, mang theo giấy tiếp nhận hồ sơ và giấy tờ tùy thân.".into(),
        ),
        "returned" => (
            format!("Hồ sơ {} đã trả kết quả", m.code),
            format!("{short_site}: ho so {} da tra ket qua. Cam on Ong/Ba.", m.code),
            "Kết quả giải quyết hồ sơ đã được trao cho Ông/Bà tại Trung tâm Phục vụ hành chính công xã. Cảm ơn Ông/Bà đã sử dụng dịch vụ công trực tuyến.".into(),
        ),
        "posted" => {
            let n = e.postal_tracking.clone().unwrap_or_default();
            (
                format!("Hồ sơ {} – kết quả đã gửi qua bưu điện", m.code),
                format!("{short_site}: ket qua ho so {} da gui qua buu dien, so buu gui {n}.", m.code),
                format!("Kết quả giải quyết hồ sơ đã được gửi đến Ông/Bà qua bưu điện.\n\nSố hiệu bưu gửi: {n}"),
            )
        }
        "refused" => {
            let reason = e.reason.clone().unwrap_or_default();
            (
                format!("Hồ sơ {} không được giải quyết", m.code),
                format!("{short_site}: ho so {} bi tu choi. Ly do: {}. Chi tiet: {url}", m.code, cut(&reason, 70)),
                format!("Rất tiếc, hồ sơ của Ông/Bà không được giải quyết.\n\nLý do: {reason}\n\nMọi thắc mắc xin liên hệ Trung tâm Phục vụ hành chính công xã."),
            )
        }
        _ => return None,
    };
    let body = format!(
        "Kính gửi {},\n\n{lines}\n\nMã hồ sơ: {}\nThủ tục: {}\n\nTra cứu tình trạng hồ sơ: {url}\n\n{site}\nĐây là thư tự động, vui lòng không trả lời thư này.\n",
        if m.contact.name.is_empty() {
            "Ông/Bà"
        } else {
            &m.contact.name
        },
        m.code,
        m.procedure.title,
    );
    Some(OutboxRecord {
        code: m.code.clone(),
        kind: e.status.clone(),
        created_at: e.at.clone(),
        sms: m.contact.sms_to().map(|to| Sms {
            to: to.to_owned(),
            text: sms_text(state, sms),
        }),
        email: m.contact.email_to().map(|to| Email {
            to: to.to_owned(),
            subject: format!("{subject} – {}", m.procedure.title),
            body,
        }),
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        event_key: None,
        event_id: None,
    })
}

/// Queues the notice of event `seq`, to be written next with `id`, as
/// `outbox/{code}-{seq:06}-{status}-{id}.json` (one record per attempt at the step).
pub async fn enqueue_event(
    state: &AppState,
    m: &Manifest,
    e: &Event,
    seq: u32,
    id: &str,
) -> StorageResult<()> {
    let Some(mut record) = record_for_event(state, m, e) else {
        return Ok(());
    };
    if record.sms.is_none() && record.email.is_none() {
        return Ok(());
    }
    let prefix = crate::dossier::stored_prefix(&m.code)?;
    record.event_key = Some(format!("{prefix}events/{seq:06}.json"));
    record.event_id = Some(id.to_owned());
    let key = format!("outbox/{}-{seq:06}-{}-{id}.json", m.code, e.status);
    state
        .storage()
        .put_if_absent(
            &key,
            Bytes::from(serde_json::to_vec_pretty(&record).expect("json")),
            "application/json",
        )
        .await
        .map(|_| ())
}

/// Fills `{phone}` and `{text}` in the gateway's body template, escaped for its type.
pub fn sms_body(c: &NotifyConfig, phone: &str, text: &str) -> String {
    let esc = |s: &str| -> String {
        if c.sms_content_type.contains("json") {
            let v = Value::String(s.to_owned()).to_string();
            v[1..v.len() - 1].to_owned()
        } else if c.sms_content_type.contains("x-www-form-urlencoded") {
            crate::dossier::urlencode(s)
        } else {
            s.to_owned()
        }
    };
    c.sms_body_template
        .replace("{phone}", &esc(phone))
        .replace("{text}", &esc(text))
}
