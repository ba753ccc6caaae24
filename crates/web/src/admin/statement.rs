//! `POST /api/admin/payments/statement`: the day's bank statement (CSV, as the bank's
//! internet banking exports it) matched to the dossiers that ask a fee, by the code in
//! each transfer's message and the amount (`dossier::payment::match_statement`). Nothing
//! is written: the officer records each matched credit as the dossier's payment, a step
//! like any other, and sees the wrong, partial and double ones to settle. A credit that
//! names no dossier, once given back to its sender, is recorded as such
//! (`POST /api/admin/payments/unmatched`) and shown so when the statement is matched
//! again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dossier::RETRY_MESSAGE;
use dossier::payment::{
    MatchVerdict, Owing, Returned, StatementLine, StatementMatch, match_statement, unmatched_key,
};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::Session;
use crate::respond::message;
use crate::state::AppState;

/// The largest statement read: a commune's day of credits is a few hundred lines.
pub const MAX_STATEMENT_BYTES: usize = 2 * 1024 * 1024;

#[derive(Serialize)]
struct StatementAnswer {
    matches: Vec<StatementMatch>,
}

/// Reads the statement's credits: the columns found by their names (Vietnamese or
/// English, with or without marks), amounts written "49.000", "49,000" or "49000.00".
/// `Err`: what the officer should fix, naming the line.
pub fn parse_statement(text: &str) -> Result<Vec<StatementLine>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let delimiter = if text.lines().next().unwrap_or("").matches(';').count()
        > text.lines().next().unwrap_or("").matches(',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("Không đọc được dòng tiêu đề của tệp sao kê: {e}"))?
        .iter()
        .map(|h| catalog::text::fold(h.trim()).to_lowercase())
        .collect();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.contains(n)))
    };
    let amount = find(&["so tien ghi co", "ghi co", "credit", "so tien", "amount"]).ok_or(
        "Tệp sao kê cần một cột số tiền (\"Số tiền\", \"Ghi có\" hoặc \"Amount\") ở dòng tiêu đề.",
    )?;
    let description = find(&["noi dung", "dien giai", "mo ta", "description", "remark"]).ok_or(
        "Tệp sao kê cần một cột nội dung chuyển khoản (\"Nội dung\", \"Diễn giải\" hoặc \"Description\") ở dòng tiêu đề.",
    )?;
    let reference = find(&[
        "ma giao dich",
        "so tham chieu",
        "so but toan",
        "reference",
        "ref",
    ]);
    let date = find(&["ngay", "date"]);
    let mut lines = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let row = n + 2;
        let record =
            record.map_err(|e| format!("Dòng {row} của tệp sao kê không đọc được: {e}"))?;
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let raw = cell(Some(amount));
        if raw.is_empty() {
            // A debit, or a blank line.
            continue;
        }
        let whole = raw
            .strip_suffix(".00")
            .or_else(|| raw.strip_suffix(",00"))
            .unwrap_or(&raw);
        let digits: String = whole
            .chars()
            .filter(|c| !matches!(c, '.' | ',' | ' '))
            .collect();
        let Ok(value) = digits.parse::<u64>() else {
            return Err(format!(
                "Dòng {row}: số tiền \"{raw}\" không đọc được; ghi bằng chữ số, ví dụ 49000 hoặc 49.000."
            ));
        };
        if value == 0 {
            continue;
        }
        lines.push(StatementLine {
            row,
            date: cell(date),
            amount: value,
            description: cell(Some(description)),
            reference: cell(reference),
        });
    }
    Ok(lines)
}

pub async fn statement(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Tệp sao kê phải là CSV mã UTF-8 (khi lưu từ Excel, chọn \"CSV UTF-8\").",
        );
    };
    let lines = match parse_statement(text) {
        Ok(lines) => lines,
        Err(problem) => return message(StatusCode::UNPROCESSABLE_ENTITY, &problem),
    };
    // Every dossier that asks a fee, paid or not (a second transfer is then seen).
    let owing: Vec<Owing> = match store::index::matching(
        state.index(),
        state.storage(),
        OffsetDateTime::now_utc(),
        |s| s.payment.is_some(),
    )
    .await
    {
        Ok(summaries) => summaries
            .into_iter()
            .map(|s| Owing {
                remaining: s.fee_remaining.unwrap_or(0),
                seq: s.seq,
                code: s.code,
                recorded: s.paid_references,
            })
            .collect(),
        Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    let mut matches = match_statement(&lines, &owing);
    // The credits naming no dossier that the desk has given back already.
    let storage = state.storage();
    let keys: Vec<(usize, String)> = lines
        .iter()
        .zip(&matches)
        .filter(|(_, m)| m.verdict == MatchVerdict::NoDossier)
        .map(|(line, m)| (m.row, unmatched_key(line)))
        .collect();
    let returns = keys.into_iter().map(|(row, key)| async move {
        let bytes = storage.get(&key).await?;
        Ok::<_, store::StorageError>((
            row,
            bytes.and_then(|b| serde_json::from_slice::<Returned>(&b).ok()),
        ))
    });
    let returns: Vec<(usize, Option<Returned>)> =
        match stream::iter(returns).buffered(16).try_collect().await {
            Ok(r) => r,
            Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
        };
    for (row, returned) in returns {
        if let (Some(m), Some(r)) = (matches.iter_mut().find(|m| m.row == row), returned) {
            m.returned = Some(r.text());
        }
    }
    axum::Json(StatementAnswer { matches }).into_response()
}

/// A credit naming no dossier, given back: the statement's line as the console shows
/// it, and how it was given back.
#[derive(Deserialize)]
pub struct ReturnRequest {
    #[serde(default)]
    date: String,
    amount: u64,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/admin/payments/unmatched`: records, once, that a credit naming no dossier
/// was given back to its sender.
pub async fn record_return(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    body: Bytes,
) -> Response {
    let Ok(req) = serde_json::from_slice::<ReturnRequest>(&body) else {
        return message(StatusCode::BAD_REQUEST, "Yêu cầu không đúng định dạng.");
    };
    let note: String = req
        .note
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect::<String>()
        .trim()
        .to_owned();
    if note.is_empty() {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Vui lòng ghi cách đã trả lại khoản tiền, ví dụ: chuyển trả qua ngân hàng, mã giao dịch FT…",
        );
    }
    let line = StatementLine {
        row: 0,
        date: req.date,
        amount: req.amount,
        description: req.description,
        reference: req.reference,
    };
    let returned = Returned {
        at: catalog::vn_time::format_time(OffsetDateTime::now_utc()),
        by: session.login.clone(),
        by_name: session.name.clone(),
        note,
        amount: line.amount,
        reference: line.reference.clone(),
        description: line.description.clone(),
    };
    let body = Bytes::from(serde_json::to_vec(&returned).expect("json"));
    match state
        .storage()
        .put_if_absent(&unmatched_key(&line), body, "application/json")
        .await
    {
        Ok(true) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({"returned": returned.text()})),
        )
            .into_response(),
        Ok(false) => message(
            StatusCode::CONFLICT,
            "Khoản tiền này đã được ghi nhận trả lại trước đây; đối chiếu lại sao kê để xem.",
        ),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    }
}

#[derive(serde::Deserialize)]
pub struct DayQuery {
    /// YYYY-MM-DD, Vietnam's day; today when absent.
    #[serde(default)]
    pub day: Option<String>,
}

/// `GET /api/admin/payments.csv?day=YYYY-MM-DD`: the day's payments recorded on the
/// dossiers (transfers, cash, the gateway), for the commune's accountant: a CSV Excel
/// opens as it is (UTF-8 with its mark, `;` between columns).
pub async fn payments_csv(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<DayQuery>,
) -> Response {
    let day = match super::day_asked(q.day.as_deref()) {
        Ok(day) => day,
        Err(problem) => return message(StatusCode::UNPROCESSABLE_ENTITY, problem),
    };
    // A refused dossier whose money was all given back asks nothing any more.
    let dossiers = match super::changed_since(&state, day, |s| {
        s.payment.is_some() || s.status == dossier::Status::Refused
    })
    .await
    {
        Ok(d) => d,
        Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE),
    };
    let header = [
        "Thời gian",
        "Mã hồ sơ",
        "Thủ tục",
        "Người nộp",
        "Số tiền (đồng)",
        "Cách nộp",
        "Mã giao dịch",
        "Cán bộ ghi nhận",
    ];
    // Each row with its event's time, to put them in order of time.
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    for (m, events) in &dossiers {
        for e in events {
            // Money given back shows as a negative amount.
            let (p, sign, how) = match (&e.payment, &e.refund) {
                (Some(p), _) => (p, "", p.method.label().to_owned()),
                (None, Some(r)) => (r, "-", format!("hoàn trả, {}", r.method.label())),
                (None, None) => continue,
            };
            let at = catalog::vn_time::parse_time(&e.at);
            if at.map(|t| t.to_offset(catalog::vn_time::VN).date()) != Some(day.0) {
                continue;
            }
            rows.push((
                e.at.as_str(),
                vec![
                    catalog::vn_time::received_text(&e.at),
                    m.code.clone(),
                    m.procedure.title.clone(),
                    m.contact.name.clone(),
                    format!("{sign}{}", p.amount),
                    how,
                    p.reference.clone().unwrap_or_default(),
                    e.by_name.clone().unwrap_or_default(),
                ],
            ));
        }
    }
    rows.sort();
    // The amount is ours, a number (negative for a refund): the rest may be text a
    // citizen typed or a bank wrote.
    const AMOUNT: usize = 4;
    crate::spreadsheet::download(
        &format!("nop-phi-{}.csv", day.iso()),
        crate::spreadsheet::table(&header, rows.into_iter().map(|(_, row)| row), &[AMOUNT]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::spreadsheet::inert;

    #[test]
    fn a_name_typed_as_a_formula_stays_text() {
        assert_eq!(
            inert("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Nguyễn Thị Lan"), "Nguyễn Thị Lan");
        assert_eq!(inert("8000"), "8000");
    }

    #[test]
    fn statements_are_read_as_banks_write_them() {
        let csv = "\u{feff}Ngày giao dịch;Số tiền ghi có;Nội dung;Mã giao dịch\n02/12/2026;49.000;H21IAPET2612020001 nop phi;FT1\n02/12/2026;;phi ngan hang;FT2\n02/12/2026;8,000.00;h21.iapet-261202-0002;FT3\n";
        let lines = parse_statement(csv).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].row, lines[0].amount), (2, 49_000));
        assert_eq!(lines[1].amount, 8_000);
        assert_eq!(lines[1].reference, "FT3");
        let bad = parse_statement("Date,Amount,Description\n1/12,abc,x\n").unwrap_err();
        assert!(bad.contains("Dòng 2") && bad.contains("abc"), "{bad}");
        let no_amount = parse_statement("Ngày,Nội dung\n1/12,x\n").unwrap_err();
        assert!(no_amount.contains("cột số tiền"), "{no_amount}");
    }
}
