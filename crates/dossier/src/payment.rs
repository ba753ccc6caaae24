//! What the citizen is asked to pay, and how to pay it by bank transfer: the amount
//! quoted when the dossier was received (`Manifest::fee`), and a VietQR code any
//! Vietnamese bank app scans, with the same facts as text to copy on a phone that
//! cannot scan its own screen, and as a picture to save and open from the bank app.

use catalog::BankAccount;
use catalog::fee::dong;
use serde::Serialize;

use crate::qr::{qr_png, qr_svg};
use crate::{Event, Manifest};

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
            PaymentState::Overpaid => "Đã nộp phí (nộp thừa)",
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

/// What its events record as paid, in đồng.
pub fn paid(events: &[Event]) -> u64 {
    events
        .iter()
        .filter_map(|e| e.payment.as_ref())
        .map(|p| p.amount)
        .sum()
}

/// Where the fee of dossier `m` stands after `events`; `None` when it asks nothing.
pub fn state(m: &Manifest, events: &[Event]) -> Option<PaymentState> {
    let due = due(m);
    if due == 0 {
        return None;
    }
    let paid = paid(events);
    Some(match paid {
        0 => PaymentState::Due,
        p if p < due => PaymentState::Partial,
        p if p == due => PaymentState::Paid,
        _ => PaymentState::Overpaid,
    })
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
}

impl MatchVerdict {
    pub fn label(self) -> &'static str {
        match self {
            MatchVerdict::Exact => "Khớp: đúng số tiền còn phải nộp",
            MatchVerdict::Partial => "Nộp thiếu: ít hơn số còn phải nộp",
            MatchVerdict::Over => "Nộp thừa: nhiều hơn số còn phải nộp",
            MatchVerdict::AlreadyPaid => "Nộp trùng: hồ sơ đã nộp đủ phí",
            MatchVerdict::NoDossier => "Không thấy mã hồ sơ trong nội dung chuyển khoản",
        }
    }

    /// A credit the desk can record as the dossier's payment as it stands.
    pub fn recordable(self) -> bool {
        matches!(self, MatchVerdict::Exact | MatchVerdict::Partial)
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
                verdict,
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
            },
            Owing {
                code: "H21.IAPET-261202-0002".into(),
                remaining: 8_000,
                seq: 2,
            },
            Owing {
                code: "H21.IAPET-261202-0003".into(),
                remaining: 0,
                seq: 4,
            },
        ];
        let lines = [
            line(2, 33_000, "MBVCB.1234.H21IAPET2612020001.CT tu 0123"),
            line(3, 5_000, "h21-iapet 261202-0002 nop phi"),
            line(4, 5_000, "H21IAPET2612020002"),
            line(5, 8_000, "H21IAPET2612020003"),
            line(6, 8_000, "chuyen tien"),
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
                MatchVerdict::NoDossier
            ]
        );
        assert_eq!(m[0].code.as_deref(), Some("H21.IAPET-261202-0001"));
        assert_eq!(
            m[2].remaining,
            Some(3_000),
            "the second credit meets what the first left"
        );
        assert!(m[1].verdict.recordable() && !m[2].verdict.recordable());
    }
}
