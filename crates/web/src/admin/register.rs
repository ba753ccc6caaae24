//! The day's settled dossiers of a procedure, in its civil-status register's fields and
//! order (`register` in the procedure's front matter), as CSV and JSON: what the officer
//! enters in the ministry's civil-status software without typing it again.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use dossier::Status;
use dossier::register::{copy_fields, result_at};

use crate::respond::message;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ExportQuery {
    /// YYYY-MM-DD, Vietnam's day the results were ready; today when absent.
    #[serde(default)]
    day: Option<String>,
    /// The procedure's code.
    #[serde(default)]
    procedure: Option<String>,
}

/// A day's register entries of one procedure.
#[derive(Debug, Serialize)]
pub struct Export {
    pub register: String,
    pub software: Option<String>,
    pub procedure: String,
    /// YYYY-MM-DD
    pub day: String,
    /// The register's field names, in its order.
    pub columns: Vec<String>,
    pub rows: Vec<ExportRow>,
}

#[derive(Debug, Serialize)]
pub struct ExportRow {
    pub code: String,
    /// When its result was ready (RFC 3339).
    pub result_at: String,
    /// One per column.
    pub values: Vec<String>,
}

/// Why there is no export: the officer's message (422), or the store is down (503).
enum Refused {
    Invalid(String),
    Unavailable,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Invalid(text) => message(StatusCode::UNPROCESSABLE_ENTITY, &text),
            Refused::Unavailable => {
                message(StatusCode::SERVICE_UNAVAILABLE, dossier::RETRY_MESSAGE)
            }
        }
    }
}

/// `GET /api/admin/register.json?day=&procedure=`
pub async fn export_json(State(state): State<AppState>, Query(q): Query<ExportQuery>) -> Response {
    match export(&state, &q).await {
        Ok(export) => axum::Json(export).into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// `GET /api/admin/register.csv?day=&procedure=`: the same, as a CSV Excel opens as it
/// is (UTF-8 with its mark, `;` between columns).
pub async fn export_csv(State(state): State<AppState>, Query(q): Query<ExportQuery>) -> Response {
    let export = match export(&state, &q).await {
        Ok(export) => export,
        Err(refused) => return refused.into_response(),
    };
    let header: Vec<&str> = ["Mã hồ sơ", "Có kết quả lúc"]
        .into_iter()
        .chain(export.columns.iter().map(String::as_str))
        .collect();
    let rows = export.rows.iter().map(|r| {
        [
            r.code.clone(),
            catalog::vn_time::received_text(&r.result_at),
        ]
        .into_iter()
        .chain(r.values.iter().cloned())
        .collect()
    });
    // Every value is what the citizen typed: all of it inert.
    crate::spreadsheet::download(
        &format!("so-ho-tich-{}-{}.csv", export.procedure, export.day),
        crate::spreadsheet::table(&header, rows, &[]),
    )
}

async fn export(state: &AppState, q: &ExportQuery) -> Result<Export, Refused> {
    let day = super::day_asked(q.day.as_deref()).map_err(|p| Refused::Invalid(p.into()))?;
    let wanted = q.procedure.as_deref().map(str::trim).unwrap_or_default();
    let mapped = || {
        let mut names: Vec<String> = state
            .procedures()
            .filter(|p| p.register.is_some() && p.form.is_some())
            .map(|p| format!("{} ({})", p.code, p.title))
            .collect();
        names.sort();
        names.join("; ")
    };
    let Some((procedure, mapping, form)) = state
        .procedure(wanted)
        .and_then(|p| Some((p, p.register.as_ref()?, p.form.as_ref()?)))
    else {
        return Err(Refused::Invalid(format!(
            "Thủ tục \"{}\" không có sổ hộ tịch để xuất. Chọn một trong: {}.",
            wanted.chars().take(40).collect::<String>(),
            mapped()
        )));
    };
    // The index knows when each was settled: only that day's are read.
    let settled_that_day = |s: &dossier::Summary| {
        s.procedure == procedure.code
            && matches!(
                s.status,
                Status::ResultReady | Status::Returned | Status::Posted
            )
            && !s.timing.refused
            && s.timing
                .settled_at
                .as_deref()
                .and_then(catalog::vn_time::parse_time)
                .is_some_and(|t| t.to_offset(catalog::vn_time::VN).date() == day.0)
    };
    let dossiers = super::changed_since(state, day, settled_that_day)
        .await
        .map_err(|_| Refused::Unavailable)?;
    let mut rows: Vec<ExportRow> = dossiers
        .iter()
        .filter_map(|(m, events)| {
            let at = result_at(events)?;
            let local = catalog::vn_time::parse_time(at)?.to_offset(catalog::vn_time::VN);
            (local.date() == day.0).then(|| ExportRow {
                code: m.code.clone(),
                result_at: at.to_owned(),
                values: copy_fields(mapping, form, m)
                    .entries
                    .into_iter()
                    .map(|e| e.value)
                    .collect(),
            })
        })
        .collect();
    rows.sort_by(|a, b| a.result_at.cmp(&b.result_at).then(a.code.cmp(&b.code)));
    Ok(Export {
        register: mapping.name.clone(),
        software: mapping.software.clone(),
        procedure: procedure.code.clone(),
        day: day.iso(),
        columns: mapping.fields.iter().map(|f| f.name.clone()).collect(),
        rows,
    })
}
