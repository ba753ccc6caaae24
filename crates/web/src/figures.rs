//! The service figures (`dossier::report`) as people read them:
//!
//! - the public statistics page, written by the schedule's pass into the site under
//!   [`PREFIX`] (the site bucket in production, `MOTCUA_SITE_BUCKET`; the built site's
//!   folder locally): the page, its CSV and JSON, and the home page's summary image.
//!   `generator deploy` never deletes or overwrites that prefix, and `generator build`
//!   carries the folder over when it swaps in a new site;
//! - the console's report for a date range (`GET /api/admin/reports`, `.csv`, and the
//!   printable page), from the same computation.
//!
//! Cheap on S3: the figures come from the console index in memory, so a pass reads
//! nothing of its own; it writes the [`FILES`] (4 PUTs) only when the figures changed,
//! and at most once every [`MIN_WRITE_GAP_MS`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use catalog::calendar::cutoff_of;
use catalog::vn_time::VN;
use dossier::RETRY_MESSAGE;
use dossier::report::{self, PublicStats, Report, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::html::{PAGE_SCRIPT, Shell};
use crate::respond::{html, message};
use crate::state::AppState;

/// Where the public page lives in the site (`/thong-ke/`).
pub const PREFIX: &str = catalog::bundle::STATS_PREFIX;
/// The files a pass writes, under [`PREFIX`].
pub const FILES: [&str; 4] = ["index.html", "so-lieu.json", "so-lieu.csv", "tom-tat.svg"];
/// As `generator deploy` caches pages: a CDN and browsers check again after 5 minutes.
const CACHE_CONTROL: &str = "public, max-age=300, must-revalidate";
/// The shortest time between two writes (the schedule runs every minute).
pub const MIN_WRITE_GAP_MS: i64 = 5 * 60_000;

pub use crate::state::Published;

/// What one pass did.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum PublishReport {
    /// No site bucket or folder configured.
    Off,
    Unchanged,
    /// Changed, but written less than [`MIN_WRITE_GAP_MS`] ago.
    Held,
    Written {
        puts: usize,
    },
    Failed {
        error: String,
    },
}

/// Where the files go.
enum Target {
    Bucket(store::Storage),
    Dir(PathBuf),
}

fn target(state: &AppState) -> Option<Target> {
    let config = state.config();
    if let Some(dir) = &config.site_dir {
        return Some(Target::Dir(dir.clone()));
    }
    config
        .site_bucket
        .as_deref()
        .map(|b| Target::Bucket(state.storage().other_bucket(b)))
}

/// One file of the public page.
pub struct File {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

#[derive(Template)]
#[template(path = "public_stats.html")]
struct PublicPage<'a> {
    shell: &'a Shell,
    site_name: &'a str,
    s: &'a PublicStats,
    updated: &'a str,
    chart: String,
    paper_note: &'static str,
    rule: &'static str,
    min_for_percent: u32,
}

struct Bar {
    x: u32,
    mid: u32,
    y_on: u32,
    h_on: u32,
    y_late: u32,
    h_late: u32,
    y_total: u32,
    total: u32,
    label: String,
}

struct Chart {
    width: u32,
    height: u32,
    base: u32,
    label_y: u32,
    bar_width: u32,
    bars: Vec<Bar>,
    desc: String,
}

#[derive(Template)]
#[template(path = "figures_chart.svg")]
struct ChartSvg<'a> {
    c: &'a Chart,
}

#[derive(Template)]
#[template(path = "figures_summary.svg")]
struct SummarySvg<'a> {
    title: &'a str,
    share: &'a str,
    bar: u32,
    line: &'a str,
}

fn chart(months: &[Row]) -> Chart {
    let (width, top, base) = (720u32, 40u32, 220u32);
    let slot = width / months.len().max(1) as u32;
    let bar_width = slot * 3 / 5;
    let max = months
        .iter()
        .map(|m| m.figures.settled())
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u32| n * (base - top) / max;
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let f = &m.figures;
            let (h_on, h_late) = (scale(f.on_time), scale(f.late));
            let x = i as u32 * slot + (slot - bar_width) / 2;
            let (month, year) = m.key[5..]
                .parse::<u32>()
                .ok()
                .zip(m.key[2..4].parse::<u32>().ok())
                .unwrap_or((0, 0));
            Bar {
                x,
                mid: x + bar_width / 2,
                y_on: base - h_on,
                h_on,
                y_late: base - h_on - h_late,
                h_late,
                y_total: base - h_on - h_late - 4,
                total: f.settled(),
                label: format!("{month}/{year:02}"),
            }
        })
        .collect();
    let desc = months
        .iter()
        .map(|m| {
            format!(
                "{}: {} đúng hạn, {} trễ hạn",
                m.label, m.figures.on_time, m.figures.late
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Chart {
        width,
        height: base + 24,
        base,
        label_y: base + 18,
        bar_width,
        bars,
        desc,
    }
}

fn render(t: &impl Template) -> String {
    t.render().expect("a page of strings and numbers renders")
}

/// The figures as a spreadsheet opens them (UTF-8 with its mark, `;` between columns).
fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    // The names (a procedure's title) come from content; the rest are our numbers, but
    // inert costs nothing on a number that is not negative.
    crate::spreadsheet::table(header, rows, &[])
}

const COLUMNS: [&str; 15] = [
    "Kỳ trước chuyển qua",
    "Tiếp nhận",
    "Trực tuyến",
    "Tại quầy",
    "Đúng hạn",
    "Trễ hạn",
    "Tỉ lệ đúng hạn (%)",
    "Từ chối",
    "Đang giải quyết",
    "Quá hạn",
    "Số ngày làm việc đã dùng (TB)",
    "Số ngày làm việc được hẹn (TB)",
    "Lượt đánh giá",
    "Hài lòng (4–5 sao)",
    "Điểm đánh giá (TB)",
];

fn figure_cells(f: &report::Figures) -> Vec<String> {
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    vec![
        f.carried_over.to_string(),
        f.received.to_string(),
        f.received_online.to_string(),
        f.received_desk.to_string(),
        f.on_time.to_string(),
        f.late.to_string(),
        f.on_time_share
            .percent
            .map(|p| p.to_string())
            .unwrap_or_default(),
        f.refused.to_string(),
        f.pending.to_string(),
        f.overdue.to_string(),
        opt(f.avg_days_taken),
        opt(f.avg_days_promised),
        f.ratings.to_string(),
        f.satisfied.to_string(),
        opt(f.avg_rating),
    ]
}

/// The public CSV: the months, then the procedures.
pub fn public_csv(s: &PublicStats) -> Vec<u8> {
    let mut header = vec!["Nhóm", "Mã", "Tên"];
    header.extend(COLUMNS);
    let rows = s
        .months
        .iter()
        .map(|r| ("Tháng", r))
        .chain(s.procedures.iter().map(|r| ("Thủ tục", r)))
        .map(|(group, r)| {
            let mut cells = vec![group.to_owned(), r.key.clone(), r.label.clone()];
            cells.extend(figure_cells(&r.figures));
            cells
        });
    csv_bytes(&header, rows)
}

/// The report's CSV: a line a procedure, and the total.
pub fn report_csv(r: &Report) -> Vec<u8> {
    let mut header = vec!["STT", "Mã thủ tục", "Thủ tục"];
    header.extend(COLUMNS);
    let rows = r
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut cells = vec![(i + 1).to_string(), row.key.clone(), row.label.clone()];
            cells.extend(figure_cells(&row.figures));
            cells
        })
        .chain(std::iter::once({
            let mut cells = vec![String::new(), String::new(), "Tổng cộng".to_owned()];
            cells.extend(figure_cells(&r.total));
            cells
        }));
    csv_bytes(&header, rows)
}

/// The public page's files. `updated`: when the figures were computed, as text.
pub fn public_files(shell: &Shell, site_name: &str, s: &PublicStats, updated: &str) -> Vec<File> {
    let chart = render(&ChartSvg {
        c: &chart(&s.months),
    });
    let page = render(&PublicPage {
        shell,
        site_name,
        s,
        updated,
        chart,
        paper_note: report::PAPER_NOTE,
        rule: report::RULE,
        min_for_percent: report::MIN_FOR_PERCENT,
    });
    #[derive(Serialize)]
    struct Json<'a> {
        updated: &'a str,
        #[serde(flatten)]
        s: &'a PublicStats,
        rule: &'static str,
        note: &'static str,
    }
    let json = serde_json::to_vec_pretty(&Json {
        updated,
        s,
        rule: report::RULE,
        note: report::PAPER_NOTE,
    })
    .expect("json");
    let t = &s.total;
    let share = if t.settled() == 0 {
        "Chưa có".to_owned()
    } else {
        t.on_time_share.text.clone()
    };
    let bar = (300 * t.on_time / t.settled().max(1)).min(300);
    let line = format!(
        "Đã giải quyết {} · Đang giải quyết {} · Quá hạn {}",
        t.settled(),
        t.pending,
        t.overdue
    );
    let title = format!("Giải quyết đúng hạn: {share} trong 12 tháng. {line}.");
    let summary = render(&SummarySvg {
        title: &title,
        share: &share,
        bar,
        line: &line,
    });
    vec![
        File {
            name: "index.html",
            content_type: "text/html; charset=utf-8",
            body: page.into_bytes(),
        },
        File {
            name: "so-lieu.json",
            content_type: "application/json; charset=utf-8",
            body: json,
        },
        File {
            name: "so-lieu.csv",
            content_type: "text/csv; charset=utf-8",
            body: public_csv(s),
        },
        File {
            name: "tom-tat.svg",
            content_type: "image/svg+xml",
            body: summary.into_bytes(),
        },
    ]
}

fn updated_text(now: OffsetDateTime) -> String {
    let t = now.to_offset(VN);
    format!(
        "{:02}:{:02} ngày {}",
        t.hour(),
        t.minute(),
        catalog::Day(t.date()).vietnamese()
    )
}

/// How often a pass may write.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// The schedule's pass: the index as its upkeep keeps it, a write at most every
    /// [`MIN_WRITE_GAP_MS`].
    Schedule,
    /// The local server's: the index brought up to date, a write whenever it changed.
    Local,
}

/// One pass: computes the figures from the console index and writes the page when they
/// changed.
pub async fn publish(state: &AppState, now: OffsetDateTime, pace: Pace) -> PublishReport {
    let fresh = matches!(pace, Pace::Local);
    let min_gap_ms = if fresh { 0 } else { MIN_WRITE_GAP_MS };
    let Some(target) = target(state) else {
        return PublishReport::Off;
    };
    let calendar = &state.inner.calendar;
    let stats =
        match store::index::with_summaries(state.index(), state.storage(), now, fresh, |all| {
            report::public_stats(all, calendar, &|code| cutoff_of(state.procedure(code)), now)
        })
        .await
        {
            Ok(s) => s,
            Err(e) => {
                return PublishReport::Failed {
                    error: e.to_string(),
                };
            }
        };
    let shell = &state.inner.shell;
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&stats).expect("json"));
        for part in [&shell.css_href, &shell.header_html, &shell.footer_html] {
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    };
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    {
        let published = state
            .inner
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Locally a rebuild of the site may have moved the folder away mid-write.
        let gone = match &target {
            Target::Dir(dir) => !dir.join(PREFIX).join(FILES[0]).is_file(),
            Target::Bucket(_) => false,
        };
        if published.fingerprint.as_deref() == Some(fingerprint.as_str()) && !gone {
            return PublishReport::Unchanged;
        }
        if published.fingerprint.is_some() && now_ms - published.at_ms < min_gap_ms {
            return PublishReport::Held;
        }
    }
    let files = public_files(shell, &state.site().name, &stats, &updated_text(now));
    let written = match &target {
        Target::Bucket(bucket) => write_bucket(bucket, &files).await,
        Target::Dir(dir) => write_dir(dir, &files),
    };
    match written {
        Ok(puts) => {
            let mut published = state
                .inner
                .published
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *published = Published {
                fingerprint: Some(fingerprint),
                at_ms: now_ms,
            };
            PublishReport::Written { puts }
        }
        Err(error) => PublishReport::Failed { error },
    }
}

async fn write_bucket(bucket: &store::Storage, files: &[File]) -> Result<usize, String> {
    // The data and the image before the page that links them.
    for f in files.iter().rev() {
        bucket
            .put_public(
                &format!("{PREFIX}{}", f.name),
                Bytes::from(f.body.clone()),
                f.content_type,
                CACHE_CONTROL,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(files.len())
}

fn write_dir(dir: &Path, files: &[File]) -> Result<usize, String> {
    let folder = dir.join(PREFIX.trim_end_matches('/'));
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    for f in files.iter().rev() {
        let path = folder.join(f.name);
        let tmp = path.with_extension("tmp~");
        std::fs::write(&tmp, &f.body)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(0)
}

/// Seconds between two local passes when `MOTCUA_STATS_INTERVAL` is not set.
pub const LOCAL_INTERVAL_SECS: u64 = 5;

/// The local pass's interval: `MOTCUA_STATS_INTERVAL` seconds (0 = none).
pub fn interval_from_env() -> Result<Option<Duration>, String> {
    let secs = match std::env::var("MOTCUA_STATS_INTERVAL") {
        Ok(v) => v.trim().parse::<u64>().map_err(|_| {
            format!("MOTCUA_STATS_INTERVAL=\"{v}\" phải là số giây, ví dụ 5 (0 = không ghi trang thống kê)")
        })?,
        Err(_) => LOCAL_INTERVAL_SECS,
    };
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Publishes every `every` for the local server, with the state `state()` gives then
/// (a rebuilt site has a new layout).
pub fn spawn(
    every: Duration,
    state: impl Fn() -> AppState + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let report = publish(&state(), OffsetDateTime::now_utc(), Pace::Local).await;
            if let PublishReport::Failed { error } = &report {
                tracing::warn!("service figures: {error}");
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// The query of the console's reports.
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The report for the range asked, or the answer to send instead.
async fn report_for(state: &AppState, q: &RangeQuery) -> Result<Report, Response> {
    let now = OffsetDateTime::now_utc();
    let period = report::period(
        q.from.as_deref(),
        q.to.as_deref(),
        catalog::vn_time::today(now),
    )
    .map_err(|e| message(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))?;
    let calendar = &state.inner.calendar;
    store::index::with_summaries(state.index(), state.storage(), now, true, |all| {
        report::report(
            all,
            calendar,
            &|code| cutoff_of(state.procedure(code)),
            period,
            now,
        )
    })
    .await
    .map_err(|_| message(StatusCode::SERVICE_UNAVAILABLE, RETRY_MESSAGE))
}

/// `GET /api/admin/reports?from=YYYY-MM-DD&to=YYYY-MM-DD`
pub async fn report_json(State(state): State<AppState>, Query(q): Query<RangeQuery>) -> Response {
    match report_for(&state, &q).await {
        Ok(r) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(r)).into_response(),
        Err(r) => r,
    }
}

/// `GET /api/admin/reports.csv?from=…&to=…`
pub async fn report_csv_route(
    State(state): State<AppState>,
    Query(q): Query<RangeQuery>,
) -> Response {
    match report_for(&state, &q).await {
        Ok(r) => crate::spreadsheet::download(
            &format!("bao-cao-{}-{}.csv", r.period.from.iso(), r.period.to.iso()),
            report_csv(&r),
        ),
        Err(r) => r,
    }
}

#[derive(Template)]
#[template(path = "report_page.html")]
struct ReportPage<'a> {
    shell: &'a Shell,
    authority: &'a str,
    r: &'a Report,
    page_script: &'static str,
}

/// `GET /api/admin/reports/print?from=…&to=…`: the table to print.
pub async fn report_page(State(state): State<AppState>, Query(q): Query<RangeQuery>) -> Response {
    let shell = &state.inner.shell;
    match report_for(&state, &q).await {
        Ok(r) => html(
            StatusCode::OK,
            render(&ReportPage {
                shell,
                authority: &state.site().name,
                r: &r,
                page_script: PAGE_SCRIPT,
            }),
        ),
        Err(answer) => {
            let text = if answer.status() == StatusCode::UNPROCESSABLE_ENTITY {
                "Khoảng ngày không hợp lệ: hãy chọn ngày bắt đầu và ngày kết thúc dạng NNNN-TT-NN, ngày bắt đầu không sau ngày kết thúc, tối đa 3 năm."
            } else {
                RETRY_MESSAGE
            };
            html(
                answer.status(),
                crate::html::message_page(
                    shell,
                    "Không lập được báo cáo",
                    text,
                    Some(("/can-bo/", "Về trang cán bộ")),
                ),
            )
        }
    }
}
