//! What the citizen is asked to pay, and how to pay it by bank transfer: the amount
//! quoted when the dossier was received (`Manifest::fee`), and a VietQR code any
//! Vietnamese bank app scans, with the same facts as text to copy on a phone that
//! cannot scan its own screen, and as a picture to save and open from the bank app.

use catalog::fee::dong;
use catalog::{BankAccount, EReceiptSystem};
use serde::{Deserialize, Serialize};

use crate::qr::{qr_png, qr_svg};
use crate::{Event, Manifest, Status, current_status};

/// The amount, line by line, as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct FeeView {
    pub lines: Vec<FeeLine>,
    pub total: u64,
    /// "16.000 đồng"
    pub total_text: String,
    pub exemption_claimed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeeLine {
    pub label: String,
    pub amount_text: String,
}

/// A bank transfer of the amount to the commune's account.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub bank: String,
    pub number: String,
    pub holder: String,
    pub amount: u64,
    pub amount_text: String,
    /// The transfer message: the dossier's code without dots and dashes.
    pub message: String,
    /// The VietQR payload (EMVCo), as the code holds it.
    pub payload: String,
    /// The code as an inline SVG element.
    pub qr_svg: String,
    /// The code as a PNG, `data:` URL, to save on the phone.
    pub qr_png: String,
}

/// The amount dossier `m` was received with, if any.
pub fn fee_view(m: &Manifest) -> Option<FeeView> {
    let quote = m.fee.as_ref()?;
    Some(FeeView {
        lines: quote
            .lines
            .iter()
            .map(|l| FeeLine {
                label: l.label.clone(),
                amount_text: dong(l.amount),
            })
            .collect(),
        total: quote.total,
        total_text: dong(quote.total),
        exemption_claimed: quote.exemption_claimed,
    })
}

/// How to pay dossier `m` by transfer to `bank`: none without an account, without an
/// amount, or when the code cannot be made (an account `catalog` would have refused).
pub fn transfer(bank: Option<&BankAccount>, m: &Manifest) -> Option<Transfer> {
    let bank = bank?;
    let amount = m.fee.as_ref().map(|q| q.total).filter(|t| *t > 0)?;
    let message = catalog::vietqr::transfer_message(&m.code);
    let payload = catalog::vietqr::payload(bank, amount, &message).ok()?;
    Some(Transfer {
        bank: bank.bank.clone(),
        number: bank.number.clone(),
        holder: bank.holder.clone(),
        amount,
        amount_text: dong(amount),
        qr_svg: qr_svg(
            &payload,
            &format!("Mã VietQR chuyển {} cho hồ sơ {}", dong(amount), m.code),
        ),
        qr_png: qr_png(&payload),
        message,
        payload,
    })
}

/// Where a dossier's fee stands: defined once, for the tracking page, the console's
/// list and its filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentState {
    Due,
    Partial,
    Paid,
    Overpaid,
}

impl PaymentState {
    pub fn label(self) -> &'static str {
        match self {
            PaymentState::Due => "Chờ nộp phí",
            PaymentState::Partial => "Đã nộp một phần phí",
            PaymentState::Paid => "Đã nộp phí",
            PaymentState::Overpaid => "Nộp thừa, chờ hoàn trả",
        }
    }

    /// The console's filter: `due` (nothing or part paid) or `paid`.
    pub fn filter(self) -> &'static str {
        match self {
            PaymentState::Due | PaymentState::Partial => "due",
            PaymentState::Paid | PaymentState::Overpaid => "paid",
        }
    }

    /// Nothing more to pay.
    pub fn settled(self) -> bool {
        matches!(self, PaymentState::Paid | PaymentState::Overpaid)
    }
}

/// The console's fee filter, in its order.
pub fn filters() -> [(&'static str, &'static str); 2] {
    [("due", "Chờ nộp phí"), ("paid", "Đã nộp phí")]
}

/// What the dossier asks, in đồng (0: nothing).
pub fn due(m: &Manifest) -> u64 {
    m.fee.as_ref().map_or(0, |q| q.total)
}

/// What its events record as paid and kept, in đồng: the payments less what was given
/// back.
pub fn paid(events: &[Event]) -> u64 {
    let sum = |pick: fn(&Event) -> Option<&crate::Payment>| -> u64 {
        events.iter().filter_map(pick).map(|p| p.amount).sum()
    };
    sum(|e| e.payment.as_ref()).saturating_sub(sum(|e| e.refund.as_ref()))
}

/// Where the fee of dossier `m` stands after `events`; `None` when it asks nothing (a
/// refused dossier asks nothing any more: what was paid on it is to be given back).
pub fn state(m: &Manifest, events: &[Event]) -> Option<PaymentState> {
    let due = due(m);
    let paid = paid(events);
    if current_status(events) == Status::Refused {
        return (paid > 0).then_some(PaymentState::Overpaid);
    }
    if due == 0 {
        return None;
    }
    Some(match paid {
        0 => PaymentState::Due,
        p if p < due => PaymentState::Partial,
        p if p == due => PaymentState::Paid,
        _ => PaymentState::Overpaid,
    })
}

/// What is to be given back to the citizen, in đồng: what was paid beyond the amount
/// asked (twice, or too much), or everything paid on a refused dossier.
pub fn refundable(m: &Manifest, events: &[Event]) -> u64 {
    let kept = if current_status(events) == Status::Refused {
        0
    } else {
        due(m)
    };
    paid(events).saturating_sub(kept)
}

/// An electronic receipt (biên lai điện tử) issued for a fee: its lookup code, and the
/// page of the commune's receipt system where it is looked up.
#[derive(Debug, Clone, Serialize)]
pub struct EReceiptLink {
    pub code: String,
    pub url: String,
    pub issuer: String,
}

/// The receipts recorded on a dossier, newest last; none when the commune has no
/// receipt system configured.
pub fn e_receipts(system: Option<&EReceiptSystem>, events: &[Event]) -> Vec<EReceiptLink> {
    let Some(system) = system else {
        return Vec::new();
    };
    events
        .iter()
        .filter_map(|e| e.e_receipt.as_deref())
        .map(|code| EReceiptLink {
            code: code.to_owned(),
            url: system
                .lookup_url
                .replace(EReceiptSystem::CODE_MARKER, &crate::url::encode(code)),
            issuer: system.issuer.clone(),
        })
        .collect()
}

/// One credit of the commune's bank statement.
#[derive(Debug, Clone)]
pub struct StatementLine {
    /// Its line in the file, for the officer.
    pub row: usize,
    pub date: String,
    /// In đồng.
    pub amount: u64,
    /// The transfer's message, as the bank wrote it.
    pub description: String,
    /// The bank's transaction reference.
    pub reference: String,
}

/// A dossier that asks a fee: its code, what is still to pay, its events' count (the
/// step that records the payment names it).
#[derive(Debug, Clone)]
pub struct Owing {
    pub code: String,
    pub remaining: u64,
    pub seq: u32,
    /// The bank references of the payments already recorded on it ([`references`]).
    pub recorded: Vec<String>,
}

/// The bank references of the payments recorded in `events` (transfers and the
/// gateway's; cash has none), as the statement's reference column gives them.
pub fn references(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.payment.as_ref()?.reference.as_deref())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How a credit stands against the dossiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchVerdict {
    /// Exactly what the dossier still owes.
    Exact,
    /// Less: part of it.
    Partial,
    /// More than it owes.
    Over,
    /// Its dossier owes nothing (any more): paid twice, or paid at the desk too.
    AlreadyPaid,
    /// No dossier code in its message.
    NoDossier,
    /// Already recorded on its dossier, with the same bank reference (the statement,
    /// or this line of it, imported again).
    Recorded,
}

impl MatchVerdict {
    pub fn label(self) -> &'static str {
        match self {
            MatchVerdict::Exact => "Khớp: đúng số tiền còn phải nộp",
            MatchVerdict::Partial => "Nộp thiếu: ít hơn số còn phải nộp",
            MatchVerdict::Over => {
                "Nộp thừa: nhiều hơn số còn phải nộp; ghi nhận rồi hoàn trả phần thừa"
            }
            MatchVerdict::AlreadyPaid => {
                "Nộp trùng: hồ sơ đã nộp đủ phí; ghi nhận rồi hoàn trả khoản này"
            }
            MatchVerdict::NoDossier => "Không thấy mã hồ sơ trong nội dung chuyển khoản",
            MatchVerdict::Recorded => {
                "Đã ghi nhận trước đây (cùng mã giao dịch); không cần ghi lại"
            }
        }
    }

    /// A credit the desk can record as the dossier's payment: any that names a dossier.
    /// Money over what is owed is recorded as it came in and then given back (the
    /// dossier's refund step), so the books show both.
    pub fn recordable(self) -> bool {
        !matches!(self, MatchVerdict::NoDossier | MatchVerdict::Recorded)
    }
}

/// A credit and the dossier it pays, as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StatementMatch {
    pub row: usize,
    pub date: String,
    pub amount: u64,
    pub amount_text: String,
    pub description: String,
    pub reference: String,
    pub code: Option<String>,
    /// What the dossier still owed before this credit.
    pub remaining: Option<u64>,
    pub seq: Option<u32>,
    pub verdict: MatchVerdict,
    pub verdict_label: &'static str,
    /// The console offers to record it (`MatchVerdict::recordable`).
    pub recordable: bool,
    /// A credit naming no dossier that the desk has given back: what was recorded
    /// ([`Returned::text`]).
    pub returned: Option<String>,
}

/// A credit that names no dossier, given back to its sender by the desk (the bank's
/// return, or cash to the person who came): `payments/unmatched/{id}.json`, written
/// once ([`unmatched_key`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Returned {
    pub at: String,
    pub by: String,
    pub by_name: String,
    /// How it was given back ("chuyển trả qua ngân hàng, mã GD …").
    pub note: String,
    pub amount: u64,
    pub reference: String,
    pub description: String,
}

impl Returned {
    /// As the console shows it beside the credit.
    pub fn text(&self) -> String {
        format!(
            "Đã trả lại người chuyển: {} ({}, {})",
            self.note,
            self.by_name,
            catalog::vn_time::received_text(&self.at)
        )
    }
}

/// Where the return of credit `line` is recorded: one object per credit, named by what
/// the statement says of it (date, amount, bank reference, message), so importing the
/// statement again finds it.
pub fn unmatched_key(line: &StatementLine) -> String {
    use sha2::{Digest, Sha256};
    let id = Sha256::digest(
        format!(
            "{}\n{}\n{}\n{}",
            line.date.trim(),
            line.amount,
            line.reference.trim(),
            line.description.trim()
        )
        .as_bytes(),
    );
    format!("payments/unmatched/{}.json", hex::encode(&id[..12]))
}

/// Matches a statement's credits to the dossiers that ask a fee, by the code in the
/// transfer's message (compared as banks pass it on: `catalog::vietqr::message_names`)
/// and the amount. Credits are taken in order: a second credit for the same dossier
/// meets what the first left to pay.
pub fn match_statement(lines: &[StatementLine], owing: &[Owing]) -> Vec<StatementMatch> {
    let mut left: Vec<Owing> = owing.to_vec();
    lines
        .iter()
        .map(|line| {
            let found = left
                .iter_mut()
                .find(|o| catalog::vietqr::message_names(&line.description, &o.code));
            let (code, remaining, seq, verdict) = match found {
                None => (None, None, None, MatchVerdict::NoDossier),
                Some(o)
                    if !line.reference.trim().is_empty()
                        && o.recorded.iter().any(|r| r == line.reference.trim()) =>
                {
                    // Counted in what the dossier has paid already.
                    (
                        Some(o.code.clone()),
                        Some(o.remaining),
                        Some(o.seq),
                        MatchVerdict::Recorded,
                    )
                }
                Some(o) => {
                    let before = o.remaining;
                    let verdict = match before {
                        0 => MatchVerdict::AlreadyPaid,
                        r if line.amount == r => MatchVerdict::Exact,
                        r if line.amount < r => MatchVerdict::Partial,
                        _ => MatchVerdict::Over,
                    };
                    o.remaining = before.saturating_sub(line.amount);
                    (Some(o.code.clone()), Some(before), Some(o.seq), verdict)
                }
            };
            StatementMatch {
                row: line.row,
                date: line.date.clone(),
                amount: line.amount,
                amount_text: dong(line.amount),
                description: line.description.clone(),
                reference: line.reference.clone(),
                code,
                remaining,
                seq,
                verdict_label: verdict.label(),
                recordable: verdict.recordable(),
                verdict,
                returned: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(row: usize, amount: u64, description: &str) -> StatementLine {
        StatementLine {
            row,
            date: "02/12/2026".into(),
            amount,
            description: description.into(),
            reference: format!("FT{row:08}"),
        }
    }

    #[test]
    fn credits_are_matched_by_code_and_amount() {
        let owing = [
            Owing {
                code: "H21.IAPET-261202-0001".into(),
                remaining: 33_000,
                seq: 1,
                recorded: Vec::new(),
            },
            Owing {
                code: "H21.IAPET-261202-0002".into(),
                remaining: 8_000,
                seq: 2,
                recorded: Vec::new(),
            },
            Owing {
                code: "H21.IAPET-261202-0003".into(),
                remaining: 0,
                seq: 4,
                // Paid by the transfer of line 7, recorded before.
                recorded: vec!["FT00000007".into()],
            },
        ];
        let lines = [
            line(2, 33_000, "MBVCB.1234.H21IAPET2612020001.CT tu 0123"),
            line(3, 5_000, "h21-iapet 261202-0002 nop phi"),
            line(4, 5_000, "H21IAPET2612020002"),
            line(5, 8_000, "H21IAPET2612020003"),
            line(6, 8_000, "chuyen tien"),
            line(7, 8_000, "H21IAPET2612020003"),
        ];
        let m = match_statement(&lines, &owing);
        let verdicts: Vec<MatchVerdict> = m.iter().map(|m| m.verdict).collect();
        assert_eq!(
            verdicts,
            [
                MatchVerdict::Exact,
                MatchVerdict::Partial,
                MatchVerdict::Over,
                MatchVerdict::AlreadyPaid,
                MatchVerdict::NoDossier,
                MatchVerdict::Recorded,
            ]
        );
        assert!(
            !m[5].recordable,
            "a credit recorded before is not offered again"
        );
        assert_eq!(m[0].code.as_deref(), Some("H21.IAPET-261202-0001"));
        assert_eq!(
            m[2].remaining,
            Some(3_000),
            "the second credit meets what the first left"
        );
        assert!(m[1].recordable && m[2].recordable && m[3].recordable);
        assert!(
            !m[4].recordable,
            "a credit naming no dossier is not recorded on one"
        );
    }

    fn manifest(total: u64) -> Manifest {
        let mut m: Manifest = serde_json::from_value(serde_json::json!({
            "version": 1, "code": "H21.IAPET-261202-0001",
            "procedure": {"code": "2.000635", "title": "Cấp bản sao trích lục hộ tịch", "level": 4},
            "unit_code": "H21.IAPET", "fields": {}, "attachments": [],
            "contact": {"name": "Nguyễn Văn An", "phone": "0912345678"},
            "appointment": {"day": "2026-12-04", "time": "16:00"},
            "received_at": "2026-12-02T08:00:00+07:00", "channel": "online",
            "tracking_token_sha256": "", "idempotency_key_sha256": "",
        }))
        .unwrap();
        m.fee = Some(catalog::fee::Quote {
            lines: Vec::new(),
            total,
            exemption_claimed: false,
        });
        m
    }

    fn moved(status: Status, payment: Option<u64>, refund: Option<u64>) -> Event {
        let money = |amount| crate::Payment {
            amount,
            method: crate::PaymentMethod::Transfer,
            reference: Some("FT1".into()),
        };
        let mut e = Event::new("2026-12-02T09:00:00+07:00".into(), status);
        e.payment = payment.map(money);
        e.refund = refund.map(money);
        e
    }

    #[test]
    fn money_paid_twice_is_owed_back_until_it_is_given_back() {
        let m = manifest(8_000);
        let mut events = vec![
            moved(Status::Accepted, None, None),
            moved(Status::Accepted, Some(8_000), None),
            moved(Status::Accepted, Some(8_000), None),
        ];
        assert_eq!(state(&m, &events), Some(PaymentState::Overpaid));
        assert_eq!(refundable(&m, &events), 8_000);
        events.push(moved(Status::Accepted, None, Some(8_000)));
        assert_eq!(state(&m, &events), Some(PaymentState::Paid));
        assert_eq!((paid(&events), refundable(&m, &events)), (8_000, 0));
    }

    #[test]
    fn a_refused_dossier_asks_nothing_and_owes_back_what_was_paid() {
        let m = manifest(8_000);
        let unpaid = [moved(Status::Refused, None, None)];
        assert_eq!(
            state(&m, &unpaid),
            None,
            "no 'Chờ nộp phí' on a refused dossier"
        );
        let paid_then_refused = [
            moved(Status::Accepted, Some(8_000), None),
            moved(Status::Refused, None, None),
        ];
        assert_eq!(state(&m, &paid_then_refused), Some(PaymentState::Overpaid));
        assert_eq!(refundable(&m, &paid_then_refused), 8_000);
    }

    #[test]
    fn receipts_link_to_the_communes_lookup_page() {
        let system = EReceiptSystem {
            issuer: "Kho bạc".into(),
            lookup_url: "https://bienlai.example.vn/tra-cuu?ma={ma}".into(),
        };
        let mut e = moved(Status::Accepted, Some(8_000), None);
        e.e_receipt = Some("BL 26/01".into());
        let links = e_receipts(Some(&system), &[e.clone()]);
        assert_eq!(
            links[0].url,
            "https://bienlai.example.vn/tra-cuu?ma=BL%2026%2F01"
        );
        assert!(e_receipts(None, &[e]).is_empty());
    }
}
