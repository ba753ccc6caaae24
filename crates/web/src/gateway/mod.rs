//! Payment gateways: the citizen pays a dossier's fee on the gateway's own page; the
//! gateway tells the function server to server (its IPN), and sends the citizen back to
//! a return page. Each gateway's protocol sits behind [`Gateway`]: VNPAY's today
//! ([`vnpay`]); the national payment platform (PayGov) works the same way and would be
//! another implementation.
//!
//! A payment attempt is `payments/attempts/{txn_ref}.json` (the dossier, the amount):
//! one per click on "pay", never the dossier's code, as the protocols ask. A confirmed
//! payment is an event of the dossier (`dossier::step::gateway_payment`), appended with
//! the same conditional write as every step; the attempt's reference in the event makes
//! a replayed IPN find it and change nothing.

pub mod vnpay;

use time::OffsetDateTime;

/// What the citizen is sent to the gateway to pay.
pub struct Order<'a> {
    /// One per attempt: letters and digits.
    pub txn_ref: &'a str,
    /// In đồng.
    pub amount: u64,
    /// ASCII, no punctuation: what the gateway shows ("Nop phi ho so …").
    pub info: &'a str,
    pub client_ip: &'a str,
    pub now: OffsetDateTime,
    /// Where the gateway sends the citizen back.
    pub return_url: &'a str,
}

/// What a signed callback (IPN or return) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub txn_ref: String,
    /// In đồng.
    pub amount: u64,
    /// The payment went through.
    pub paid: bool,
    /// The gateway's transaction number (the reference the commune's accountant sees).
    pub transaction_no: String,
    pub bank_code: Option<String>,
}

/// How an IPN was settled, answered in the gateway's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpnOutcome {
    /// Recorded now (or a failed payment noted): the gateway stops retrying.
    Confirmed,
    /// This attempt was recorded before: nothing changed.
    AlreadyConfirmed,
    UnknownOrder,
    WrongAmount,
    BadSignature,
    /// Storage failed: the gateway retries later.
    Unavailable,
}

pub trait Gateway: Send + Sync {
    /// Its name as citizens know it ("VNPAY").
    fn name(&self) -> &'static str;
    /// The signed URL that opens the gateway's payment page for `order`.
    fn payment_url(&self, order: &Order<'_>) -> String;
    /// The callback's facts if its signature holds; `None` if forged or malformed.
    fn verify(&self, params: &[(String, String)]) -> Option<Callback>;
    /// The body the gateway expects in answer to its IPN.
    fn ipn_answer(&self, outcome: IpnOutcome) -> serde_json::Value;
}
