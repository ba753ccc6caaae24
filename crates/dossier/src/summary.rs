//! One line of the desk's list, built from a dossier's manifest and events, and the
//! list itself: the counts, the filters, the order and the page an officer asked for.

use catalog::Day;
use catalog::vn_time::{VN, appointment_minute, parse_local_minute, parse_time};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::payment::{PaymentState, state as payment_state};
use crate::{Event, Manifest, Status, current_appointment, current_status};

/// One line of the desk's list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub code: String,
    pub procedure: String,
    pub procedure_title: String,
    pub applicant: String,
    pub received_at: String,
    pub status: Status,
    pub status_label: String,
    /// "2025-04-30T16:00" (the latest set by the desk, else the one on the receipt).
    pub appointment: String,
    /// Number of events (the sequence number of the last).
    pub seq: u32,
    pub updated_at: String,
    /// Where its fee stands (none: it asks nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_label: Option<String>,
    /// What is still to pay, in đồng, when it asks a fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_remaining: Option<u64>,
    /// The bank's references of the payments recorded, so that a statement imported
    /// again shows its recorded credits as recorded, not as paid twice. (A summary
    /// written before they were kept has none until its dossier changes.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paid_references: Vec<String>,
    /// What the service figures need (the `report` module): no personal data.
    #[serde(default)]
    pub timing: Timing,
}

/// A dossier's course as the service figures read it (the `report` module), kept in the
/// summary so that the figures come from the console's index, without reading a
/// dossier again. Times as stored (RFC 3339 at +07:00), appointments as "2025-04-30T16:00".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// How it came in (`Manifest.channel`: `form`, `json`, `desk`); empty in a summary
    /// from before the figures, which the index then rebuilds.
    pub channel: String,
    /// The appointment on the receipt.
    pub receipt_appointment: String,
    /// When the papers last asked for arrived, before it was settled: the time is
    /// counted again from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub papers_in_at: Option<String>,
    /// The appointment the desk set after the time last started (it holds over the
    /// receipt's, or over the one counted from the papers' arrival).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_set: Option<String>,
    /// Waiting for the papers asked for since then (the time is stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub papers_asked_at: Option<String>,
    /// The first step that settled it: result ready, handed over, posted or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<String>,
    /// Refused rather than settled with a result.
    #[serde(default)]
    pub refused: bool,
    /// The citizen's latest overall score (1–5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
}

impl Timing {
    /// Built by this version of [`summarize`] (a snapshot from before lacks it).
    pub fn complete(&self) -> bool {
        !self.channel.is_empty() && !self.receipt_appointment.is_empty()
    }
}

/// Walks the events once: status changes only (a payment or a rating keeps the status).
fn timing(m: &Manifest, events: &[Event]) -> Timing {
    let mut t = Timing {
        channel: m.channel.clone(),
        receipt_appointment: appointment_minute(&m.appointment),
        ..Timing::default()
    };
    let mut previous = Status::Received;
    for e in events {
        if let Some(r) = &e.rating {
            t.rating = Some(r.overall);
        }
        if t.settled_at.is_some() {
            continue;
        }
        if let Some(a) = &e.appointment {
            t.due_set = Some(appointment_minute(a));
        }
        if e.status != previous {
            match e.status {
                Status::SupplementRequested => t.papers_asked_at = Some(e.at.clone()),
                Status::Supplemented => {
                    // The time starts again; an appointment set before no longer holds.
                    t.papers_in_at = Some(e.at.clone());
                    t.papers_asked_at = None;
                    t.due_set = None;
                }
                s if !s.is_open() => {
                    t.settled_at = Some(e.at.clone());
                    t.refused = s == Status::Refused;
                    t.papers_asked_at = None;
                }
                _ => {}
            }
            previous = e.status;
        }
    }
    t
}

impl Summary {
    pub fn open(&self) -> bool {
        self.status.is_open()
    }

    /// Open and past its appointment (`now_local`: Vietnam's time now).
    pub fn overdue(&self, now_local: PrimitiveDateTime) -> bool {
        self.open() && parse_local_minute(&self.appointment).is_some_and(|a| a < now_local)
    }

    /// The day it was received, in Vietnam.
    fn received_day(&self) -> Option<Day> {
        parse_time(&self.received_at).map(|t| Day(t.date()))
    }

    pub fn is_new(&self) -> bool {
        self.status.is_new()
    }
}

/// Builds the summary from a manifest and its events.
pub fn summarize(m: &Manifest, events: &[Event]) -> Summary {
    let last = events.last();
    let status = current_status(events);
    let payment = payment_state(m, events);
    Summary {
        code: m.code.clone(),
        procedure: m.procedure.code.clone(),
        procedure_title: m.procedure.title.clone(),
        applicant: m.contact.name.clone(),
        received_at: m.received_at.clone(),
        status_label: status.label().to_owned(),
        status,
        appointment: appointment_minute(&current_appointment(m, events)),
        seq: events.len() as u32,
        updated_at: last.map_or_else(|| m.received_at.clone(), |e| e.at.clone()),
        payment,
        payment_label: payment.map(|p| p.label().to_owned()),
        fee_remaining: payment
            .map(|_| crate::payment::due(m).saturating_sub(crate::payment::paid(events))),
        paid_references: crate::payment::references(events),
        timing: timing(m, events),
    }
}

/// One choice of the console's status filter.
#[derive(Debug, Serialize)]
pub struct FilterOption {
    pub value: &'static str,
    pub label: &'static str,
}

/// The console's status filter, in its order: the desk's own views, then the statuses.
pub fn filters() -> Vec<FilterOption> {
    let views = [
        FilterOption {
            value: "new",
            label: "Mới nộp / đã bổ sung",
        },
        FilterOption {
            value: "overdue",
            label: "Quá hạn",
        },
    ];
    let order = [
        Status::SupplementRequested,
        Status::Accepted,
        Status::ResultReady,
        Status::Returned,
        Status::Posted,
        Status::Refused,
    ];
    views
        .into_iter()
        .chain(order.into_iter().filter_map(|s| {
            Some(FilterOption {
                value: s.as_str(),
                label: s.filter_label()?,
            })
        }))
        .collect()
}

/// The query of `GET /api/admin/dossiers`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// A status name, or `new`, `overdue`, `open`.
    pub status: Option<String>,
    pub procedure: Option<String>,
    /// Received on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Received on or before (YYYY-MM-DD).
    pub to: Option<String>,
    pub q: Option<String>,
    /// `due` or `paid` (`PaymentState::filter`).
    pub payment: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Counts {
    pub total: usize,
    /// Submitted or supplemented, waiting for the desk.
    pub new: usize,
    pub overdue: usize,
    pub waiting_papers: usize,
}

#[derive(Debug, Serialize)]
pub struct SummaryView {
    #[serde(flatten)]
    pub summary: Summary,
    pub overdue: bool,
}

/// A page of the list with the counts over all dossiers.
#[derive(Debug)]
pub struct Listing {
    pub counts: Counts,
    /// How many match the filters.
    pub matched: usize,
    pub offset: usize,
    pub items: Vec<SummaryView>,
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Counts, filters, orders (newest first) and pages `all` as the query asks.
pub fn listing<'a>(
    all: impl IntoIterator<Item = &'a Summary>,
    q: &ListQuery,
    now: OffsetDateTime,
) -> Listing {
    let now_local = {
        let t = now.to_offset(VN);
        PrimitiveDateTime::new(t.date(), t.time())
    };
    let from = nonempty(&q.from).and_then(Day::parse_input);
    let to = nonempty(&q.to).and_then(Day::parse_input);
    let all: Vec<&Summary> = all.into_iter().collect();
    let counts = Counts {
        total: all.len(),
        new: all.iter().filter(|s| s.is_new()).count(),
        overdue: all.iter().filter(|s| s.overdue(now_local)).count(),
        waiting_papers: all.iter().filter(|s| s.status.awaits_papers()).count(),
    };
    let text =
        q.q.as_deref()
            .map(|t| catalog::text::fold(t.trim()).to_lowercase())
            .filter(|t| !t.is_empty());
    let mut matched: Vec<&Summary> = all
        .into_iter()
        .filter(|s| match nonempty(&q.status) {
            None => true,
            Some("new") => s.is_new(),
            Some("overdue") => s.overdue(now_local),
            Some("open") => s.open(),
            Some(st) => s.status.as_str() == st,
        })
        .filter(|s| nonempty(&q.procedure).is_none_or(|p| s.procedure == p))
        .filter(|s| {
            nonempty(&q.payment).is_none_or(|p| s.payment.is_some_and(|st| st.filter() == p))
        })
        .filter(|s| from.is_none_or(|f| s.received_day().is_some_and(|d| d >= f)))
        .filter(|s| to.is_none_or(|t| s.received_day().is_some_and(|d| d <= t)))
        .filter(|s| {
            text.as_ref().is_none_or(|t| {
                s.code.to_lowercase().contains(t.as_str())
                    || catalog::text::fold(&s.applicant)
                        .to_lowercase()
                        .contains(t.as_str())
            })
        })
        .collect();
    // Newest first (received_at is RFC 3339 at +07:00, so it sorts as text).
    matched.sort_by(|a, b| {
        b.received_at
            .cmp(&a.received_at)
            .then_with(|| b.code.cmp(&a.code))
    });
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let items = matched
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| SummaryView {
            overdue: s.overdue(now_local),
            summary: (*s).clone(),
        })
        .collect();
    Listing {
        counts,
        matched: matched.len(),
        offset,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn summary(code: &str, received: &str, status: Status, appointment: &str) -> Summary {
        Summary {
            code: code.into(),
            procedure: "1.001193".into(),
            procedure_title: "Đăng ký khai sinh".into(),
            applicant: "Nguyễn Văn An".into(),
            received_at: received.into(),
            status,
            status_label: status.label().into(),
            appointment: appointment.into(),
            seq: 1,
            updated_at: received.into(),
            payment: None,
            payment_label: None,
            fee_remaining: None,
            paid_references: Vec::new(),
            timing: Timing::default(),
        }
    }

    #[test]
    fn open_dossiers_past_their_appointment_are_overdue() {
        let all = [
            summary(
                "A-250428-0001",
                "2025-04-28T08:00:00+07:00",
                Status::Accepted,
                "2025-04-30T16:00",
            ),
            summary(
                "A-250428-0002",
                "2025-04-28T09:00:00+07:00",
                Status::ResultReady,
                "2025-04-30T16:00",
            ),
            summary(
                "A-250429-0001",
                "2025-04-29T09:00:00+07:00",
                Status::SupplementRequested,
                "2025-05-05T16:00",
            ),
            summary(
                "A-250429-0002",
                "2025-04-29T10:00:00+07:00",
                Status::Received,
                "2025-05-05T16:00",
            ),
        ];
        // 16:01 on the 30th in Vietnam.
        let now = datetime!(2025-04-30 09:01 UTC);
        let l = listing(&all, &ListQuery::default(), now);
        assert_eq!(
            (
                l.counts.total,
                l.counts.new,
                l.counts.overdue,
                l.counts.waiting_papers
            ),
            (4, 1, 1, 1)
        );
        let codes: Vec<&str> = l.items.iter().map(|v| v.summary.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "A-250429-0002",
                "A-250429-0001",
                "A-250428-0002",
                "A-250428-0001"
            ]
        );
        assert!(l.items[3].overdue && !l.items[2].overdue);
        // A minute earlier nothing is overdue yet.
        let before = listing(&all, &ListQuery::default(), datetime!(2025-04-30 08:59 UTC));
        assert_eq!(before.counts.overdue, 0);
    }

    #[test]
    fn every_status_has_a_filter_that_finds_it() {
        let f = filters();
        let values: Vec<&str> = f.iter().map(|o| o.value).collect();
        assert_eq!(values[..2], ["new", "overdue"]);
        for s in Status::ALL {
            assert!(
                values.contains(&s.as_str()) || s.is_new(),
                "{s} cannot be filtered"
            );
        }
        assert!(f.iter().all(|o| !o.label.is_empty()));
    }

    #[test]
    fn filters_by_status_text_and_days() {
        let all = [
            summary(
                "A-250428-0001",
                "2025-04-28T08:00:00+07:00",
                Status::Accepted,
                "2025-04-30T16:00",
            ),
            summary(
                "A-250429-0001",
                "2025-04-29T09:00:00+07:00",
                Status::SupplementRequested,
                "2025-05-05T16:00",
            ),
        ];
        let now = datetime!(2025-04-29 03:00 UTC);
        let q = |status: &str, text: &str, from: &str| ListQuery {
            status: Some(status.into()),
            q: Some(text.into()),
            from: Some(from.into()),
            ..ListQuery::default()
        };
        assert_eq!(
            listing(&all, &q("supplement-requested", "", ""), now).matched,
            1
        );
        assert_eq!(listing(&all, &q("open", "nguyen van", ""), now).matched, 2);
        assert_eq!(listing(&all, &q("", "250428", ""), now).matched, 1);
        assert_eq!(listing(&all, &q("", "", "2025-04-29"), now).matched, 1);
        assert_eq!(listing(&all, &q("returned", "", ""), now).matched, 0);
    }
}
