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
pub mod transport;

use std::sync::Arc;

use bytes::Bytes;
use dossier::notice::NoticeContext;
use dossier::{Event, Manifest};
use serde_json::Value;
use store::{Storage, StorageResult};

pub use dossier::notice::{Email, OutboxRecord, Sms, record_for_event, strip_marks};
use transport::{Broken, HttpSmsGateway, Mailer, SmsGateway, SmtpMailer};

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
    /// "Received" notices one phone number or e-mail address gets in a day
    /// (`MOTCUA_RECEIVED_NOTICES_PER_RECIPIENT_PER_DAY`): anyone can type a stranger's
    /// number into a form, and the commune's SMS and mail must not become a way to
    /// flood it. Notices of an officer's step are not counted.
    pub received_per_recipient_per_day: u32,
    /// The key recipients are hashed with in the day's counts (the signing key).
    pub recipient_key: Vec<u8>,
}

/// A family filing for its members gets a few; a stranger's number gets no flood.
pub const DEFAULT_RECEIVED_PER_RECIPIENT_PER_DAY: u32 = 5;

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
            received_per_recipient_per_day: DEFAULT_RECEIVED_PER_RECIPIENT_PER_DAY,
            recipient_key: Vec::new(),
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
        if let Some(v) = get("MOTCUA_RECEIVED_NOTICES_PER_RECIPIENT_PER_DAY") {
            match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => c.received_per_recipient_per_day = n,
                _ => problems.push(format!(
                    "MOTCUA_RECEIVED_NOTICES_PER_RECIPIENT_PER_DAY=\"{v}\" không hợp lệ: cần một số nguyên từ 1 đến 1000, ví dụ 5"
                )),
            }
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

/// Queues the notice of event `seq`, to be written next with `id`, as
/// `outbox/{code}-{seq:06}-{status}-{id}.json` (one record per attempt at the step).
pub async fn enqueue_event(
    storage: &Storage,
    ctx: &NoticeContext<'_>,
    m: &Manifest,
    e: &Event,
    seq: u32,
    id: &str,
) -> StorageResult<()> {
    let Some(mut record) = record_for_event(ctx, m, e) else {
        return Ok(());
    };
    if record.sms.is_none() && record.email.is_none() {
        return Ok(());
    }
    let prefix = store::dossiers::stored_prefix(&m.code)?;
    record.event_key = Some(format!("{prefix}events/{seq:06}.json"));
    record.event_id = Some(id.to_owned());
    let key = format!("outbox/{}-{seq:06}-{}-{id}.json", m.code, e.status);
    storage
        .put_if_absent(
            &key,
            Bytes::from(serde_json::to_vec_pretty(&record).expect("json")),
            "application/json",
        )
        .await
        .map(|_| ())
}

/// Fills `{phone}` and `{text}` in the gateway's body template, escaped for its type.
pub fn sms_body(template: &str, content_type: &str, phone: &str, text: &str) -> String {
    let esc = |s: &str| -> String {
        if content_type.contains("json") {
            let v = Value::String(s.to_owned()).to_string();
            v[1..v.len() - 1].to_owned()
        } else if content_type.contains("x-www-form-urlencoded") {
            dossier::tracking::encode(s)
        } else {
            s.to_owned()
        }
    };
    template
        .replace("{phone}", &esc(phone))
        .replace("{text}", &esc(text))
}

/// The delivery side, built once per process: the configuration and the transports.
#[derive(Clone)]
pub struct Notifier {
    pub config: NotifyConfig,
    mailer: Option<Arc<dyn Mailer>>,
    sms: Option<Arc<dyn SmsGateway>>,
}

impl Notifier {
    /// Builds the transports the configuration names (none when it names none). A
    /// transport that cannot be built is kept as an error every send reports, so the
    /// console shows it.
    pub fn new(config: NotifyConfig) -> Notifier {
        let mailer = config.smtp_url.as_deref().map(|url| -> Arc<dyn Mailer> {
            match SmtpMailer::new(url, &config.mail_from) {
                Ok(m) => Arc::new(m),
                Err(e) => Arc::new(Broken(format!("máy chủ thư: {e}"))),
            }
        });
        let sms = config.sms_url.as_deref().map(|url| -> Arc<dyn SmsGateway> {
            match HttpSmsGateway::new(&config, url) {
                Ok(g) => Arc::new(g),
                Err(e) => Arc::new(Broken(format!("cổng SMS: {e}"))),
            }
        });
        Notifier {
            config,
            mailer,
            sms,
        }
    }

    /// The same configuration with other transports (tests, or a gateway of another
    /// kind).
    pub fn with_transports(
        config: NotifyConfig,
        mailer: Option<Arc<dyn Mailer>>,
        sms: Option<Arc<dyn SmsGateway>>,
    ) -> Notifier {
        Notifier {
            config,
            mailer,
            sms,
        }
    }

    pub fn mailer(&self) -> Option<&dyn Mailer> {
        self.mailer.as_deref()
    }

    pub fn sms(&self) -> Option<&dyn SmsGateway> {
        self.sms.as_deref()
    }
}
