//! The stored dossier: its manifest and events, and the folder its code gives it.

use catalog::fee::Quote;
use catalog::{Appointment, Day, Delivery, Field, FieldType, Procedure};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Status;

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
    /// How the citizen chose to be told (`sms`, `email`; nothing ticked means SMS only).
    /// Absent when the form offers no choice: then by SMS, and by e-mail if an address
    /// was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_by: Option<Vec<String>>,
}

impl ContactInfo {
    /// The phone to text, if the citizen wants SMS.
    pub fn sms_to(&self) -> Option<&str> {
        (!self.phone.is_empty() && self.wants("sms")).then_some(self.phone.as_str())
    }

    /// The address to write to, if the citizen gave one and wants e-mail.
    pub fn email_to(&self) -> Option<&str> {
        self.email.as_deref().filter(|_| self.wants("email"))
    }

    fn wants(&self, channel: &str) -> bool {
        match &self.notify_by {
            None => true,
            Some(chosen) if chosen.is_empty() => channel == "sms",
            Some(chosen) => chosen.iter().any(|c| c == channel),
        }
    }
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
    /// A paper dossier's file fields whose papers the desk holds (typed in at the
    /// desk: nothing was uploaded for them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paper: Vec<String>,
    pub contact: ContactInfo,
    pub appointment: Appointment,
    pub received_at: String,
    pub channel: String,
    pub tracking_token_sha256: String,
    pub idempotency_key_sha256: String,
    /// How the citizen chose to receive the result (none: a dossier from before the
    /// choice was recorded, or a form that does not ask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// The postal address for a result sent by post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<String>,
    /// The amount asked, as quoted when the dossier was received (a later change of
    /// the procedure's fee does not change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Quote>,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub at: String,
    pub status: Status,
    /// The status's label when the step was taken (kept as it was shown then).
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
    /// A fee paid (the step that records it keeps the status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// Money given back: a fee paid twice or too much, or paid on a dossier that was
    /// then refused (the step that records it keeps the status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Payment>,
    /// The lookup code of the electronic receipt (biên lai điện tử) issued for a fee
    /// paid, from the commune's receipt system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_receipt: Option<String>,
    /// The citizen's rating of the service (the step that records it keeps the status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

/// How the citizen rated the service once the dossier was settled (handed over or
/// refused), in the spirit of the national satisfaction survey. Scores run from 1
/// (very dissatisfied) to 5 (very satisfied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub overall: u8,
    /// Was the promised time kept?
    pub on_time: u8,
    /// The officers' attitude.
    pub attitude: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A fee paid on a dossier: how much, how, and the bank's or the gateway's reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// In đồng.
    pub amount: u64,
    pub method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentMethod {
    /// A bank transfer seen on the commune's account.
    Transfer,
    /// Through a payment gateway.
    Gateway,
    /// Cash, at the desk or to the postal worker.
    Cash,
}

impl PaymentMethod {
    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::Transfer => "chuyển khoản",
            PaymentMethod::Gateway => "cổng thanh toán",
            PaymentMethod::Cash => "tiền mặt",
        }
    }
}

impl Event {
    /// A step into `status` at `at`, labelled as the status reads now; the rest unset.
    pub fn new(at: String, status: Status) -> Event {
        Event {
            at,
            status,
            label: status.label().to_owned(),
            note: None,
            by: None,
            by_name: None,
            appointment: None,
            missing: None,
            reason: None,
            delivery: None,
            postal_tracking: None,
            files: Vec::new(),
            payment: None,
            refund: None,
            e_receipt: None,
            rating: None,
        }
    }
}

/// Where a dossier stands: the status of its last event (received before any).
pub fn current_status(events: &[Event]) -> Status {
    events.last().map_or(Status::Received, |e| e.status)
}

/// The appointment that holds: the latest set by the desk, else the receipt's.
pub fn current_appointment(m: &Manifest, events: &[Event]) -> Appointment {
    events
        .iter()
        .rev()
        .find_map(|e| e.appointment)
        .unwrap_or(m.appointment)
}

/// Every file of the dossier, in the order the console lists them: the submission's,
/// then those its events added (supplements, the result sent online).
pub fn all_files<'a>(m: &'a Manifest, events: &'a [Event]) -> impl Iterator<Item = &'a Attachment> {
    m.attachments
        .iter()
        .chain(events.iter().flat_map(|e| &e.files))
}

/// Is `code` shaped like `<unit>-YYMMDD-NNNN`? Returns (YYMMDD) when it is.
pub fn parse_code(code: &str) -> Option<&str> {
    catalog::dossier_code::parse(code)
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

/// A stored value as the person who filled the form reads it: the options' labels, not
/// their codes, and dates as 30/04/2025.
pub fn field_text(field: &Field, v: &Value) -> String {
    let label = |value: &str| {
        field
            .options
            .iter()
            .find(|o| o.value == value)
            .map_or_else(|| value.to_owned(), |o| o.label.clone())
    };
    match v {
        Value::String(s) if field.kind == FieldType::Date => {
            Day::parse(s).map_or_else(|_| s.clone(), Day::vietnamese)
        }
        Value::String(s) if !field.options.is_empty() => label(s),
        Value::Array(items) if !field.options.is_empty() => items
            .iter()
            .map(|item| item.as_str().map_or_else(|| value_text(item), label))
            .collect::<Vec<_>>()
            .join(", "),
        _ => value_text(v),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_values_read_as_the_citizen_wrote_them() {
        let field = |f: Value| serde_json::from_value::<Field>(f).unwrap();
        let birth = field(json!({"id": "ngay_sinh", "label": "Ngày sinh", "type": "date"}));
        assert_eq!(field_text(&birth, &json!("1990-05-12")), "12/05/1990");
        let sex = field(
            json!({"id": "gioi_tinh", "label": "Giới tính", "type": "radio",
            "options": [{"value": "nam", "label": "Nam"}, {"value": "nu", "label": "Nữ"}]}),
        );
        assert_eq!(field_text(&sex, &json!("nu")), "Nữ");
        assert_eq!(field_text(&sex, &json!(["nam", "nu"])), "Nam, Nữ");
        let agree = field(json!({"id": "cam_doan", "label": "Cam đoan", "type": "checkbox"}));
        assert_eq!(field_text(&agree, &json!(true)), "Có");
    }

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
}
