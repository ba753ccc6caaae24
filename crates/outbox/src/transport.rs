//! How a notice leaves: a [`Mailer`] for e-mail and an [`SmsGateway`] for SMS, each
//! built once from the configuration and shared by every delivery pass.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::NotifyConfig;

/// Sends one e-mail; the error is the reason, in words an officer can act on.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String>;
}

/// Sends one SMS.
#[async_trait::async_trait]
pub trait SmsGateway: Send + Sync {
    async fn send(&self, phone: &str, text: &str) -> Result<(), String>;
}

fn short(e: impl std::fmt::Display) -> String {
    e.to_string().chars().take(300).collect()
}

/// E-mail over SMTP (lettre), one pooled transport.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// From `smtp://…`/`smtps://…` and the sender address (both checked at start by
    /// [`NotifyConfig::from_lookup`]).
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, String> {
        let from: Mailbox = from.parse().map_err(short)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(short)?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("địa chỉ người nhận sai: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(short)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(short)
    }
}

/// SMS through an HTTP gateway: a POST of the configured body, one HTTPS client.
pub struct HttpSmsGateway {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: String,
    content_type: String,
    auth: Option<(String, String)>,
    body_template: String,
}

impl HttpSmsGateway {
    pub fn new(c: &NotifyConfig, url: &str) -> Result<HttpSmsGateway, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(short)?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpSmsGateway {
            client: Client::builder(TokioExecutor::new()).build(https),
            url: url.to_owned(),
            content_type: c.sms_content_type.clone(),
            auth: c
                .sms_auth_header
                .as_deref()
                .and_then(|h| h.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())),
            body_template: c.sms_body_template.clone(),
        })
    }
}

#[async_trait::async_trait]
impl SmsGateway for HttpSmsGateway {
    async fn send(&self, phone: &str, text: &str) -> Result<(), String> {
        let mut req =
            http::Request::post(&self.url).header(http::header::CONTENT_TYPE, &self.content_type);
        if let Some((name, value)) = &self.auth {
            req = req.header(name, value);
        }
        let body = crate::sms_body(&self.body_template, &self.content_type, phone, text);
        let req = req.body(Full::new(Bytes::from(body))).map_err(short)?;
        let resp = tokio::time::timeout(Duration::from_secs(15), self.client.request(req))
            .await
            .map_err(|_| "cổng SMS không trả lời sau 15 giây".to_owned())?
            .map_err(|e| format!("không kết nối được cổng SMS: {}", short(e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Err(format!(
            "cổng SMS trả lời {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        ))
    }
}

/// A transport that could not be built: every send says why.
pub struct Broken(pub String);

#[async_trait::async_trait]
impl Mailer for Broken {
    async fn send(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Err(self.0.clone())
    }
}

#[async_trait::async_trait]
impl SmsGateway for Broken {
    async fn send(&self, _: &str, _: &str) -> Result<(), String> {
        Err(self.0.clone())
    }
}
