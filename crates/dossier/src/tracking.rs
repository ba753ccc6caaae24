//! The tracking token and link a citizen gets on the receipt, in the SMS and the e-mail,
//! and what the tracking page shows.

use base64::Engine;
use catalog::vn_time::{appointment_minute, hhmm};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::{Event, Manifest, Status, current_appointment, current_status};

pub use crate::url::{QUERY_VALUE, encode};

/// The tracking token of a dossier: derived from the signing key, the code and the
/// idempotency key's hash, so a repeated submission gets the same receipt; only the
/// token's hash is stored.
pub fn token(signing_key: &[u8], code: &str, idempotency_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key).expect("any key length");
    mac.update(b"tracking\n");
    mac.update(code.as_bytes());
    mac.update(b"\n");
    mac.update(idempotency_hash.as_bytes());
    let bytes = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..18])
}

/// `{public_url}/api/track?code=…&token=…`
pub fn url(public_url: &str, code: &str, token: &str) -> String {
    format!(
        "{public_url}/api/track?code={}&token={}",
        encode(code),
        encode(token)
    )
}

/// `{public_url}/api/dossiers/{code}/rating?t=…`: the rating form, one tap from a
/// notice (`t` rather than `token`, to keep the SMS short).
pub fn rating_url(public_url: &str, code: &str, token: &str) -> String {
    format!(
        "{public_url}/api/dossiers/{}/rating?t={}",
        encode(code),
        encode(token)
    )
}

/// What the citizen sees of a dossier on the tracking page (and its JSON): the status,
/// the appointment that holds, and the history without who did each step.
#[derive(Debug, Serialize)]
pub struct TrackView {
    pub code: String,
    pub procedure: ProcedureBrief,
    pub status: Status,
    pub status_label: String,
    /// "2025-04-30T16:00"
    pub appointment: String,
    pub appointment_text: String,
    /// Where the result goes, when the citizen chose.
    pub delivery_text: Option<String>,
    /// The amount asked, if any.
    pub fee: Option<crate::payment::FeeView>,
    /// How to pay it by bank transfer, when the commune has an account and it is not
    /// paid yet.
    pub transfer: Option<crate::payment::Transfer>,
    /// Where the fee stands ("Chờ nộp phí", "Đã nộp phí").
    pub payment_label: Option<String>,
    /// What is still to pay, in đồng (0: nothing).
    pub due_now: u64,
    /// What the commune is to give back ("8.000 đồng"): paid twice or too much, or
    /// paid on a refused dossier.
    pub refund_due_text: Option<String>,
    /// The electronic receipts issued for the fee, each with its lookup link.
    pub e_receipts: Vec<crate::payment::EReceiptLink>,
    /// The result files sent online, by their number in the download link.
    pub result_files: Vec<ResultLink>,
    /// The rating can be given now (settled, not rated yet).
    pub can_rate: bool,
    /// The rating given, in words.
    pub rating: Option<crate::rating::RatingView>,
    /// When the commune's officers opened the dossier or its files, newest first
    /// (`crate::access`); filled in by the caller, who lists them.
    pub access: Vec<crate::access::AccessLine>,
    pub history: Vec<Event>,
}

#[derive(Debug, Serialize)]
pub struct ProcedureBrief {
    pub code: String,
    pub title: String,
}

/// A result file on the tracking page: its number in the download link.
#[derive(Debug, Serialize)]
pub struct ResultLink {
    pub n: usize,
    pub name: String,
    pub size_kb: u64,
}

/// The files of the result handed over online, in order.
pub fn result_files(events: &[Event]) -> impl Iterator<Item = &crate::Attachment> {
    events
        .iter()
        .filter(|e| e.status == Status::Returned && e.delivery.as_deref() == Some("online"))
        .flat_map(|e| &e.files)
}

/// The citizen's view of dossier `manifest` with its `events`; `site` gives the
/// commune's account fees are transferred to and its receipt system, if it has them.
pub fn track_view(manifest: &Manifest, events: Vec<Event>, site: &catalog::Site) -> TrackView {
    // Who did it stays inside the desk.
    let history: Vec<Event> = events
        .into_iter()
        .map(|event| Event {
            by: None,
            by_name: None,
            ..event
        })
        .collect();
    let status = current_status(&history);
    let payment = crate::payment::state(manifest, &history);
    // The desk may set another day when it takes the dossier in; the latest one holds.
    let appointment = current_appointment(manifest, &history);
    let time = hhmm(appointment.time);
    TrackView {
        code: manifest.code.clone(),
        procedure: ProcedureBrief {
            code: manifest.procedure.code.clone(),
            title: manifest.procedure.title.clone(),
        },
        status_label: status.label().to_owned(),
        status,
        appointment: appointment_minute(&appointment),
        appointment_text: format!("{time}, ngày {}", appointment.day.vietnamese()),
        delivery_text: crate::receipt::chosen_delivery_text(manifest),
        fee: crate::payment::fee_view(manifest),
        transfer: payment
            .filter(|p| !p.settled())
            .and_then(|_| crate::payment::transfer(site.bank.as_ref(), manifest)),
        payment_label: payment.map(|p| p.label().to_owned()),
        due_now: if status == Status::Refused {
            0
        } else {
            crate::payment::due(manifest).saturating_sub(crate::payment::paid(&history))
        },
        refund_due_text: Some(crate::payment::refundable(manifest, &history))
            .filter(|r| *r > 0)
            .map(catalog::fee::dong),
        e_receipts: crate::payment::e_receipts(site.e_receipt.as_ref(), &history),
        result_files: result_files(&history)
            .enumerate()
            .map(|(n, a)| ResultLink {
                n,
                name: a.name.clone(),
                size_kb: a.size.div_ceil(1024),
            })
            .collect(),
        can_rate: crate::rating::open(&history),
        rating: crate::rating::given(&history).map(crate::rating::view),
        access: Vec::new(),
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_escape_what_a_query_cannot_hold() {
        assert_eq!(
            url("https://x.vn", "H21.IAPET-261201-0001", "a_b-c"),
            "https://x.vn/api/track?code=H21.IAPET-261201-0001&token=a_b-c"
        );
        assert_eq!(encode("a b&c=đ"), "a%20b%26c%3D%C4%91");
    }

    #[test]
    fn the_rating_link_is_short_and_escaped() {
        assert_eq!(
            rating_url("https://x.vn", "H21.IAPET-261201-0001", "a_b-c"),
            "https://x.vn/api/dossiers/H21.IAPET-261201-0001/rating?t=a_b-c"
        );
    }

    #[test]
    fn tokens_depend_on_key_code_and_submission() {
        let t = token(b"k", "A-250101-0001", "h");
        assert_eq!(t.len(), 24);
        assert_eq!(t, token(b"k", "A-250101-0001", "h"));
        assert_ne!(t, token(b"k2", "A-250101-0001", "h"));
        assert_ne!(t, token(b"k", "A-250101-0002", "h"));
        assert_ne!(t, token(b"k", "A-250101-0001", "h2"));
    }
}
