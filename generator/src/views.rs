//! What the templates see: the model flattened into the values a page shows, worked
//! out once (labels, file sizes, dates in Vietnamese order, rendered Markdown).

use std::collections::BTreeMap;
use std::path::Path;

use catalog::validate::human_size;
use catalog::{Content, Procedure};
use serde::Serialize;

use crate::markdown::{self, InternalLink};

#[derive(Debug, Clone, Serialize)]
pub struct DownloadFile {
    pub url: String,
    pub format: String,
    pub size: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    pub name: String,
    pub copies: String,
    pub kind: &'static str,
    pub upload: bool,
    pub note: Option<String>,
    pub file: Option<DownloadFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcedureView<'a> {
    pub code: &'a str,
    pub title: &'a str,
    pub slug: &'a str,
    pub field: &'a str,
    pub field_slug: String,
    pub level: u8,
    pub level_name: &'static str,
    pub summary: &'a str,
    pub authority: &'a str,
    pub applicants: &'a [String],
    pub processing: &'a catalog::Processing,
    pub fee: &'a catalog::Fee,
    pub legal_basis: &'a [String],
    pub sources: &'a [catalog::Reference],
    pub docs: Vec<DocumentView>,
    pub steps: &'a [String],
    pub result: &'a str,
    pub delivery_labels: Vec<&'static str>,
    pub reviewed_vn: String,
    pub review_note: Option<&'a str>,
    pub body_html: String,
    pub has_form: bool,
    /// The amounts the form page shows as the citizen picks copies and delivery
    /// (JSON; `fee_table`), none when the procedure asks nothing.
    pub fee_table: Option<String>,
}

/// Every amount a dossier of `p` can ask, computed by `catalog::fee::quote` (the one
/// rule, the receipt's too) for each delivery option and number of copies, so the form
/// page's script only looks them up: `{"delivery": field id, "copies": field id, "min":
/// the first number of copies, "totals": {option value (or ""): [total per copies]}}`.
pub fn fee_table(p: &catalog::Procedure) -> Option<String> {
    use serde_json::{Map, Value, json};
    let form = p.form.as_ref()?;
    let copies_field = p.fee.copies_field.as_deref().and_then(|id| form.field(id));
    let (min, max) = copies_field.map_or((1, 1), |f| {
        let min = f.min.unwrap_or(1).max(1);
        (min, f.max.unwrap_or(min).clamp(min, min + 49))
    });
    let options: Vec<String> = match &p.delivery_field {
        Some(choice) => p
            .delivery
            .iter()
            .filter_map(|d| choice.option(*d).map(str::to_owned))
            .collect(),
        None => vec![String::new()],
    };
    let mut totals = Map::new();
    let mut any = false;
    for option in &options {
        let row: Vec<u64> = (min..=max)
            .map(|n| {
                let mut values = Map::new();
                if let Some(f) = copies_field {
                    values.insert(f.id.clone(), json!(n));
                }
                if let Some(choice) = &p.delivery_field {
                    values.insert(choice.field.clone(), Value::String(option.clone()));
                }
                catalog::fee::quote(p, &values).map_or(0, |q| q.total)
            })
            .collect();
        any |= row.iter().any(|t| *t > 0);
        totals.insert(option.clone(), json!(row));
    }
    any.then(|| {
        json!({
            "delivery": p.delivery_field.as_ref().map(|c| c.field.clone()),
            "copies": copies_field.map(|f| f.id.clone()),
            "min": min,
            "totals": totals,
        })
        .to_string()
    })
}

/// Size and format of each official form file, read once per build.
pub type Downloads = BTreeMap<String, DownloadFile>;

pub fn downloads(content_dir: &Path) -> Downloads {
    let mut map = Downloads::new();
    let Ok(entries) = std::fs::read_dir(content_dir.join("forms")) else {
        return map;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((_, ext)) = name.rsplit_once('.') else {
            continue;
        };
        let format = match ext.to_ascii_lowercase().as_str() {
            "pdf" => "PDF",
            "docx" => "DOCX",
            "doc" => "DOC",
            "odt" => "ODT",
            _ => continue,
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        map.insert(
            name.clone(),
            DownloadFile {
                url: format!("/bieu-mau/{name}"),
                format: format.into(),
                size: human_size(size),
            },
        );
    }
    map
}

pub fn procedure<'a>(
    p: &'a Procedure,
    downloads: &Downloads,
) -> (ProcedureView<'a>, Vec<InternalLink>) {
    let body = markdown::render(&p.body, p.source.body_line);
    let docs = p
        .documents
        .iter()
        .map(|d| DocumentView {
            name: d.name.clone(),
            copies: format!("{:02}", d.copies),
            kind: d.kind.label(),
            upload: d.upload.is_some() && p.is_online(),
            note: d.note.clone(),
            file: d.form_file.as_ref().and_then(|f| downloads.get(f).cloned()),
        })
        .collect();
    let view = ProcedureView {
        code: &p.code,
        title: &p.title,
        slug: &p.slug,
        field: &p.field,
        field_slug: catalog::text::slugify(&p.field),
        level: p.level,
        level_name: p.level_name(),
        summary: &p.summary,
        authority: &p.authority,
        applicants: &p.applicants,
        processing: &p.processing,
        fee: &p.fee,
        legal_basis: &p.legal_basis,
        sources: &p.sources,
        docs,
        steps: &p.steps,
        result: &p.result,
        delivery_labels: p.delivery.iter().map(|d| d.label()).collect(),
        reviewed_vn: p.reviewed.vietnamese(),
        review_note: p.review_note.as_deref(),
        body_html: body.html,
        has_form: p.form.is_some(),
        fee_table: fee_table(p),
    };
    (view, body.links)
}

/// One row of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureRow<'a> {
    pub code: &'a str,
    pub title: &'a str,
    pub slug: &'a str,
    pub level: u8,
    pub summary: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldGroup<'a> {
    pub name: &'a str,
    pub slug: String,
    pub count: usize,
    pub procedures: Vec<ProcedureRow<'a>>,
}

/// Procedures grouped by field, in the content's order (field, then title).
pub fn groups(content: &Content) -> Vec<FieldGroup<'_>> {
    let mut groups: Vec<FieldGroup> = Vec::new();
    for p in &content.procedures {
        if groups.last().is_none_or(|g| g.name != p.field) {
            groups.push(FieldGroup {
                name: &p.field,
                slug: catalog::text::slugify(&p.field),
                count: 0,
                procedures: Vec::new(),
            });
        }
        let group = groups.last_mut().expect("just pushed");
        group.count += 1;
        group.procedures.push(ProcedureRow {
            code: &p.code,
            title: &p.title,
            slug: &p.slug,
            level: p.level,
            summary: &p.summary,
        });
    }
    groups
}
