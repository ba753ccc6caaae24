//! The CSV files the console and the public page give out, made one way: Excel opens
//! them as they are (UTF-8 with its mark, `;` between columns), and a cell that begins
//! like a formula is shown, never run.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A cell as a spreadsheet shows it and never runs it: text a citizen typed (a name) or
/// a bank wrote that begins like a formula gets a leading apostrophe.
pub fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The table as CSV bytes. The cells of the columns in `ours` (numbers this code wrote,
/// a refund's negative amount) are written as they are; every other cell is [`inert`].
pub fn table(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    ours: &[usize],
) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = out.write_record(header);
    for row in rows {
        let _ = out.write_record(row.iter().enumerate().map(|(i, c)| {
            if ours.contains(&i) {
                c.clone()
            } else {
                inert(c)
            }
        }));
    }
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(out.into_inner().unwrap_or_default());
    body
}

/// The download of `body` as `filename`, never cached.
pub fn download(filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_not_run_but_our_numbers_stay_numbers() {
        let body = table(
            &["Tên", "Số tiền"],
            [vec!["=HYPERLINK(\"x\")".to_owned(), "-8000".to_owned()]],
            &[1],
        );
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            "\u{feff}Tên;Số tiền\n\"'=HYPERLINK(\"\"x\"\")\";-8000\n"
        );
    }
}
