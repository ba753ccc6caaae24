//! The service figures, from the console index's summaries: the commune's public
//! statistics page (per month and per procedure) and the table the desk reports upward
//! for a date range. One computation for both; no personal data goes in or out (a
//! figure is a count of dossiers, a procedure is named by its code and title).
//!
//! "On time" as the rules define it (Decree 61/2018/NĐ-CP, Art. 24; Decision
//! 766/QĐ-TTg scores it): the result is ready, or the refusal given, on or before the
//! appointment in force. The appointment in force is the receipt's, or the one the desk
//! set when it took the dossier in; when the desk asks for more papers, the time is
//! counted again from the day they arrive (the same number of working days as the
//! receipt promised, unless the desk sets a new appointment). While the papers are
//! awaited the dossier cannot fall overdue: the citizen holds it.

use catalog::vn_time::{VN, parse_local_minute, parse_time};
use catalog::{Calendar, Day};
use serde::Serialize;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::Summary;

/// The rule, as the public page's footnote and the printed report state it.
pub const RULE: &str = "Hồ sơ được tính là giải quyết đúng hạn khi có kết quả (hoặc có văn bản từ chối) vào hoặc trước thời điểm hẹn trả. Thời điểm hẹn trả là ngày giờ ghi trên giấy tiếp nhận, hoặc ngày hẹn cán bộ ghi khi tiếp nhận hồ sơ; nếu hồ sơ phải bổ sung giấy tờ, thời hạn được tính lại từ ngày nhận đủ giấy tờ bổ sung. Số ngày giải quyết là số ngày làm việc, không kể thứ Bảy, Chủ nhật và ngày nghỉ lễ, Tết. Hồ sơ đang chờ người dân bổ sung không bị tính là quá hạn.";

/// What the public page says of the dossiers it cannot count.
pub const PAPER_NOTE: &str = "Số liệu chỉ gồm hồ sơ nộp trực tuyến và hồ sơ được nhập vào hệ thống Một Cửa. Hồ sơ giấy nộp trực tiếp tại quầy mà chưa nhập vào hệ thống không có trong số liệu này.";

/// Below this many dossiers a share is given as a count, not a percentage: with three
/// dossiers, one late one reads "67%", which says more than it knows.
pub const MIN_FOR_PERCENT: u32 = 5;

/// How many months the public page shows (the current one included).
pub const PUBLIC_MONTHS: u32 = 12;

/// The figures of a group of dossiers over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Still open when the period began ("kỳ trước chuyển qua").
    pub carried_over: u32,
    /// Received in the period.
    pub received: u32,
    pub received_online: u32,
    /// Entered at the desk (only those typed into the system).
    pub received_desk: u32,
    /// Settled in the period (result ready), on or before the appointment in force.
    pub on_time: u32,
    pub late: u32,
    /// Refused in the period.
    pub refused: u32,
    /// Still open at the end of the period.
    pub pending: u32,
    /// Of those, past their appointment at the end of the period.
    pub overdue: u32,
    /// Average working days the settled ones took, and were promised (tenths).
    pub avg_days_taken: Option<f64>,
    pub avg_days_promised: Option<f64>,
    /// Ratings given on the dossiers settled in the period.
    pub ratings: u32,
    /// Of those, 4 or 5 out of 5.
    pub satisfied: u32,
    pub avg_rating: Option<f64>,
    /// `on_time` of the settled, as people read it (a count below 5).
    pub on_time_share: Share,
    pub satisfied_share: Share,
    /// "2,5 / 3 ngày" (taken / promised), "–" when none was settled.
    pub days_text: String,
    /// "80% (12 lượt đánh giá)", "Chưa có đánh giá".
    pub satisfaction_text: String,
    #[serde(skip)]
    sums: Sums,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Sums {
    taken: u64,
    promised: u64,
    rating: u64,
}

/// A part of a whole: a percentage from [`MIN_FOR_PERCENT`] up, else a count.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Share {
    pub count: u32,
    pub of: u32,
    /// Only when `of` is at least [`MIN_FOR_PERCENT`].
    pub percent: Option<u32>,
    /// "92%", "3/4", "–" (nothing to count).
    pub text: String,
}

impl Share {
    pub fn new(count: u32, of: u32) -> Share {
        let percent = (of >= MIN_FOR_PERCENT)
            .then(|| ((u64::from(count) * 100 + u64::from(of) / 2) / u64::from(of)) as u32);
        let text = match (of, percent) {
            (0, _) => "–".to_owned(),
            (_, Some(p)) => format!("{p}%"),
            (_, None) => format!("{count}/{of}"),
        };
        Share {
            count,
            of,
            percent,
            text,
        }
    }
}

/// One line of a table: a month or a procedure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `2025-04`, or the procedure's code.
    pub key: String,
    /// "Tháng 4/2025", or the procedure's title.
    pub label: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A date range, both ends included, in Vietnam.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: Day,
    pub to: Day,
}

impl Period {
    fn start(self) -> PrimitiveDateTime {
        PrimitiveDateTime::new(self.from.0, Time::MIDNIGHT)
    }

    /// The first moment after the period.
    fn end(self) -> PrimitiveDateTime {
        PrimitiveDateTime::new(self.to.0 + Duration::days(1), Time::MIDNIGHT)
    }

    fn contains(self, t: PrimitiveDateTime) -> bool {
        t >= self.start() && t < self.end()
    }

    /// "01/04/2025 – 30/04/2025"
    pub fn text(self) -> String {
        format!("{} – {}", self.from.vietnamese(), self.to.vietnamese())
    }
}

/// Why a range asked for cannot be reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("Ngày \"{0}\" không hợp lệ; hãy chọn ngày dạng NNNN-TT-NN.")]
    BadDay(String),
    #[error("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")]
    Reversed,
    #[error("Khoảng thời gian dài nhất là 3 năm; hãy chọn khoảng ngắn hơn.")]
    TooLong,
}

/// The range `from`–`to` (YYYY-MM-DD, either may be empty): by default from the first
/// of this month to today.
pub fn period(from: Option<&str>, to: Option<&str>, today: Day) -> Result<Period, PeriodError> {
    let day = |text: Option<&str>| -> Result<Option<Day>, PeriodError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => Day::parse_input(t)
                .map(Some)
                .ok_or_else(|| PeriodError::BadDay(t.chars().take(20).collect())),
        }
    };
    let to = day(to)?.unwrap_or(today);
    let from = day(from)?.unwrap_or_else(|| Day(to.0.replace_day(1).expect("day 1")));
    if from > to {
        return Err(PeriodError::Reversed);
    }
    if (to.0 - from.0).whole_days() > 3 * 366 {
        return Err(PeriodError::TooLong);
    }
    Ok(Period { from, to })
}

/// A dossier's course, read once.
struct Course {
    received: PrimitiveDateTime,
    online: bool,
    settled: Option<PrimitiveDateTime>,
    refused: bool,
    /// The appointment in force (none: unreadable).
    due: Option<PrimitiveDateTime>,
    /// Working days from the day the time started to the appointment.
    promised_days: u32,
    /// From the day the time started to the day it was settled.
    taken_days: Option<u32>,
    papers_asked: Option<PrimitiveDateTime>,
    rating: Option<u8>,
}

fn local(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(VN);
    PrimitiveDateTime::new(t.date(), t.time())
}

fn local_time(s: &str) -> Option<PrimitiveDateTime> {
    parse_time(s).map(local)
}

/// Working days after `from` up to and including `to` (0 when `to` is not after it).
pub fn working_days_between(calendar: &Calendar, from: Day, to: Day) -> u32 {
    let mut n = 0;
    let mut day = from;
    while day < to {
        day = calendar.next_working_day(day);
        if day <= to {
            n += 1;
        }
    }
    n
}

impl Course {
    /// `cutoff`: the hour after which the dossier's procedure counts a dossier (or its
    /// papers) as received the next working day.
    fn of(s: &Summary, calendar: &Calendar, cutoff: Time) -> Option<Course> {
        let t = &s.timing;
        let received = local_time(&s.received_at)?;
        let receipt = parse_local_minute(&t.receipt_appointment);
        let reception = calendar.reception_day(received, Some(cutoff));
        let promised_by_receipt = receipt.map_or(0, |r| {
            working_days_between(calendar, reception, Day(r.date()))
        });
        let papers_in = t.papers_in_at.as_deref().and_then(local_time);
        let started = papers_in.map_or(reception, |p| calendar.reception_day(p, Some(cutoff)));
        let due = match (t.due_set.as_deref().and_then(parse_local_minute), papers_in) {
            (Some(set), _) => Some(set),
            (None, Some(p)) => {
                let a = calendar.appointment(p, promised_by_receipt, Some(cutoff));
                Some(PrimitiveDateTime::new(a.day.0, a.time))
            }
            (None, None) => receipt,
        };
        let settled = t.settled_at.as_deref().and_then(local_time);
        Some(Course {
            received,
            online: t.channel != "desk",
            settled,
            refused: t.refused,
            due,
            promised_days: due.map_or(0, |d| {
                working_days_between(calendar, started, Day(d.date()))
            }),
            taken_days: settled.map(|d| working_days_between(calendar, started, Day(d.date()))),
            papers_asked: t.papers_asked_at.as_deref().and_then(local_time),
            rating: t.rating,
        })
    }

    /// Open at `at`: received before it, not yet settled.
    fn open_at(&self, at: PrimitiveDateTime) -> bool {
        self.received < at && self.settled.is_none_or(|s| s >= at)
    }

    fn overdue_at(&self, at: PrimitiveDateTime) -> bool {
        self.open_at(at)
            && self.papers_asked.is_none_or(|p| p >= at)
            && self.due.is_some_and(|d| d < at)
    }

    fn on_time(&self) -> bool {
        match (self.settled, self.due) {
            (Some(s), Some(d)) => s <= d,
            // A dossier without a readable appointment is not held against the desk.
            (Some(_), None) => true,
            _ => false,
        }
    }
}

impl Figures {
    fn add(&mut self, c: &Course, period: Period, now: PrimitiveDateTime) {
        if period.start() <= now && c.open_at(period.start()) {
            self.carried_over += 1;
        }
        if period.contains(c.received) {
            self.received += 1;
            if c.online {
                self.received_online += 1;
            } else {
                self.received_desk += 1;
            }
        }
        if c.settled.is_some_and(|s| period.contains(s)) {
            if c.refused {
                self.refused += 1;
            } else {
                if c.on_time() {
                    self.on_time += 1;
                } else {
                    self.late += 1;
                }
                self.sums.taken += u64::from(c.taken_days.unwrap_or(0));
                self.sums.promised += u64::from(c.promised_days);
            }
            if let Some(r) = c.rating {
                self.ratings += 1;
                self.sums.rating += u64::from(r);
                if r >= 4 {
                    self.satisfied += 1;
                }
            }
        }
        // Open at the end of the period, or now if the period is not over.
        let at = period.end().min(now);
        if period.start() < at && c.open_at(at) {
            self.pending += 1;
            if c.overdue_at(at) {
                self.overdue += 1;
            }
        }
    }

    fn finish(mut self) -> Figures {
        let settled = self.on_time + self.late;
        let avg =
            |sum: u64, n: u32| (n > 0).then(|| (sum as f64 / f64::from(n) * 10.0).round() / 10.0);
        self.avg_days_taken = avg(self.sums.taken, settled);
        self.avg_days_promised = avg(self.sums.promised, settled);
        self.avg_rating = avg(self.sums.rating, self.ratings);
        self.on_time_share = Share::new(self.on_time, settled);
        self.satisfied_share = Share::new(self.satisfied, self.ratings);
        self.days_text = match (self.avg_days_taken, self.avg_days_promised) {
            (Some(t), Some(p)) => format!("{} / {} ngày", decimal(t), decimal(p)),
            _ => "–".into(),
        };
        self.satisfaction_text = if self.ratings == 0 {
            "Chưa có đánh giá".into()
        } else {
            format!(
                "{} ({} lượt đánh giá)",
                self.satisfied_share.text, self.ratings
            )
        };
        self
    }

    /// Settled with a result in the period.
    pub fn settled(&self) -> u32 {
        self.on_time + self.late
    }
}

/// 2.5 as Vietnamese writes it, "2,5"; 3.0 as "3".
fn decimal(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}").replace('.', ",")
    }
}

/// Each procedure's cut-off hour, by its code (`catalog::calendar::cutoff_of`).
pub type Cutoffs<'a> = &'a dyn Fn(&str) -> Time;

fn courses<'a>(
    all: impl IntoIterator<Item = &'a Summary>,
    calendar: &Calendar,
    cutoffs: Cutoffs,
) -> Vec<(&'a Summary, Course)> {
    all.into_iter()
        .filter_map(|s| Some((s, Course::of(s, calendar, cutoffs(&s.procedure))?)))
        .collect()
}

/// The figures of `courses` over `period`, by procedure (most received first), and
/// their total.
fn by_procedure(
    courses: &[(&Summary, Course)],
    period: Period,
    now: PrimitiveDateTime,
) -> (Vec<Row>, Figures) {
    let mut rows: Vec<Row> = Vec::new();
    let mut total = Figures::default();
    for (s, c) in courses {
        let mut one = Figures::default();
        one.add(c, period, now);
        if one == Figures::default() {
            continue;
        }
        total.add(c, period, now);
        let row = match rows.iter_mut().find(|r| r.key == s.procedure) {
            Some(row) => row,
            None => {
                rows.push(Row {
                    key: s.procedure.clone(),
                    label: s.procedure_title.clone(),
                    figures: Figures::default(),
                });
                rows.last_mut().expect("just pushed")
            }
        };
        row.figures.add(c, period, now);
    }
    let mut rows: Vec<Row> = rows
        .into_iter()
        .map(|r| Row {
            figures: r.figures.finish(),
            ..r
        })
        .collect();
    rows.sort_by(|a, b| {
        b.figures
            .received
            .cmp(&a.figures.received)
            .then_with(|| (b.figures.pending).cmp(&a.figures.pending))
            .then_with(|| a.label.cmp(&b.label))
    });
    (rows, total.finish())
}

/// The table the desk reports upward for a range: by procedure, with the total.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    /// "01/04/2025 – 30/04/2025"
    pub period_text: String,
    pub rows: Vec<Row>,
    pub total: Figures,
    pub rule: &'static str,
}

pub fn report<'a>(
    all: impl IntoIterator<Item = &'a Summary>,
    calendar: &Calendar,
    cutoffs: Cutoffs,
    period: Period,
    now: OffsetDateTime,
) -> Report {
    let courses = courses(all, calendar, cutoffs);
    let (rows, total) = by_procedure(&courses, period, local(now));
    Report {
        period,
        period_text: period.text(),
        rows,
        total,
        rule: RULE,
    }
}

/// The public page's figures: the last [`PUBLIC_MONTHS`] months one by one (oldest
/// first), and per procedure over them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicStats {
    pub period: Period,
    pub period_text: String,
    pub months: Vec<Row>,
    pub procedures: Vec<Row>,
    pub total: Figures,
}

fn month_start(d: Date) -> Date {
    d.replace_day(1).expect("day 1")
}

fn next_month(d: Date) -> Date {
    let (y, m) = match d.month() {
        Month::December => (d.year() + 1, Month::January),
        m => (d.year(), m.next()),
    };
    Date::from_calendar_date(y, m, 1).expect("day 1")
}

pub fn public_stats<'a>(
    all: impl IntoIterator<Item = &'a Summary>,
    calendar: &Calendar,
    cutoffs: Cutoffs,
    now: OffsetDateTime,
) -> PublicStats {
    let now_local = local(now);
    let today = now_local.date();
    let mut first = month_start(today);
    for _ in 1..PUBLIC_MONTHS {
        first = month_start(first - Duration::days(1));
    }
    let courses = courses(all, calendar, cutoffs);
    let mut months = Vec::new();
    let mut start = first;
    while start <= today {
        let next = next_month(start);
        let period = Period {
            from: Day(start),
            to: Day(next - Duration::days(1)),
        };
        let mut f = Figures::default();
        for (_, c) in &courses {
            f.add(c, period, now_local);
        }
        months.push(Row {
            key: format!("{}-{:02}", start.year(), u8::from(start.month())),
            label: format!("Tháng {}/{}", u8::from(start.month()), start.year()),
            figures: f.finish(),
        });
        start = next;
    }
    let period = Period {
        from: Day(first),
        to: Day(today),
    };
    let (procedures, total) = by_procedure(&courses, period, now_local);
    PublicStats {
        period,
        period_text: period.text(),
        months,
        procedures,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Timing;
    use crate::{Event, Manifest, Rating, Status, summarize};
    use catalog::HolidayFile;
    use serde_json::json;
    use time::macros::datetime;

    /// 2025: 30 April to 2 May off (Wednesday to Friday, with the Government's swap).
    fn calendar() -> Calendar {
        let file: HolidayFile = serde_json::from_value(json!({"years": {"2025": {
            "holidays": [
                {"name": "Ngày Chiến thắng, Quốc tế Lao động", "from": "2025-04-30", "to": "2025-05-02"}
            ]
        }}}))
        .unwrap();
        Calendar::new(&file)
    }

    fn manifest(code: &str, procedure: &str, received: &str, appointment: &str) -> Manifest {
        let (day, time) = appointment.split_once('T').unwrap();
        serde_json::from_value(json!({
            "version": 1, "code": code,
            "procedure": {"code": procedure, "title": format!("Thủ tục {procedure}"), "level": 4},
            "unit_code": "H", "fields": {}, "attachments": [],
            "contact": {"name": "Nguyễn Văn An", "phone": "0912345678"},
            "appointment": {"day": day, "time": time},
            "received_at": received, "channel": "form",
            "tracking_token_sha256": "", "idempotency_key_sha256": ""
        }))
        .unwrap()
    }

    fn step(at: &str, status: Status) -> Event {
        Event::new(at.into(), status)
    }

    fn rated(at: &str, status: Status, overall: u8) -> Event {
        let mut e = step(at, status);
        e.rating = Some(Rating {
            overall,
            on_time: overall,
            attitude: overall,
            comment: None,
        });
        e
    }

    /// Dossiers with known outcomes, around the end of April 2025 and its holidays.
    fn seeded() -> Vec<Summary> {
        let khai_sinh = "1.001193";
        let chung_thuc = "2.000815";
        let mut all = Vec::new();
        // 1. On time: received Monday 28/04, promised Tuesday 29/04, ready that morning;
        //    rated 5 after it was handed over.
        all.push(summarize(
            &manifest(
                "H-250428-0001",
                khai_sinh,
                "2025-04-28T08:00:00+07:00",
                "2025-04-29T16:00",
            ),
            &[
                step("2025-04-28T09:00:00+07:00", Status::Accepted),
                step("2025-04-29T10:00:00+07:00", Status::ResultReady),
                step("2025-04-29T15:00:00+07:00", Status::Returned),
                rated("2025-04-29T15:05:00+07:00", Status::Returned, 5),
            ],
        ));
        // 2. Late, across the holiday: received Tuesday 29/04, the desk promised Tuesday
        //    06/05 08:00 (2 working days, the holiday skipped), ready at 10:00; rated 2.
        let mut accepted = step("2025-04-29T09:00:00+07:00", Status::Accepted);
        accepted.appointment = Some(catalog::Appointment {
            day: Day::parse("2025-05-06").unwrap(),
            time: time::macros::time!(08:00),
        });
        all.push(summarize(
            &manifest(
                "H-250429-0001",
                khai_sinh,
                "2025-04-29T08:30:00+07:00",
                "2025-05-05T16:00",
            ),
            &[
                accepted,
                step("2025-05-06T10:00:00+07:00", Status::ResultReady),
                rated("2025-05-06T11:00:00+07:00", Status::ResultReady, 2),
            ],
        ));
        // 3. Refused in May.
        all.push(summarize(
            &manifest(
                "H-250429-0002",
                chung_thuc,
                "2025-04-29T10:00:00+07:00",
                "2025-04-29T16:00",
            ),
            &[step("2025-05-05T09:00:00+07:00", Status::Refused)],
        ));
        // 4. Pending across the month's end, overdue since 29/04 16:00.
        all.push(summarize(
            &manifest(
                "H-250428-0002",
                chung_thuc,
                "2025-04-28T14:00:00+07:00",
                "2025-04-29T16:00",
            ),
            &[step("2025-04-28T15:00:00+07:00", Status::Accepted)],
        ));
        // 5. Promised 1 working day (29/04; 30/04 is a holiday), papers asked for on
        //    28/04 and sent Wednesday 07/05: the time starts again, 1 working day
        //    (Thursday 08/05 16:00). Ready 08/05 09:00: on time, though long after the
        //    receipt's date.
        all.push(summarize(
            &manifest(
                "H-250428-0003",
                chung_thuc,
                "2025-04-28T09:00:00+07:00",
                "2025-04-30T16:00",
            ),
            &[
                step("2025-04-28T10:00:00+07:00", Status::SupplementRequested),
                step("2025-05-07T09:00:00+07:00", Status::Supplemented),
                step("2025-05-08T09:00:00+07:00", Status::ResultReady),
            ],
        ));
        // 6. Waiting for papers since 05/05, past its appointment: pending, not overdue.
        all.push(summarize(
            &manifest(
                "H-250505-0001",
                khai_sinh,
                "2025-05-05T08:00:00+07:00",
                "2025-05-06T16:00",
            ),
            &[step(
                "2025-05-05T10:00:00+07:00",
                Status::SupplementRequested,
            )],
        ));
        all
    }

    fn april() -> Period {
        period(
            Some("2025-04-01"),
            Some("2025-04-30"),
            Day::parse("2025-05-20").unwrap(),
        )
        .unwrap()
    }

    fn may() -> Period {
        period(
            Some("2025-05-01"),
            Some("2025-05-31"),
            Day::parse("2025-05-20").unwrap(),
        )
        .unwrap()
    }

    // 20/05/2025 10:00 in Vietnam.
    const NOW: OffsetDateTime = datetime!(2025-05-20 03:00 UTC);

    fn default_cutoff(_: &str) -> Time {
        catalog::calendar::DEFAULT_CUTOFF
    }

    #[test]
    fn a_procedure_with_an_earlier_cut_off_counts_from_the_next_working_day() {
        // Received Monday 28/04 at 14:00, promised Monday 05/05 (after the holiday),
        // ready on 05/05: by the desk's 15:00 the time ran from 28/04 (29/04 and 05/05,
        // 2 working days); by the procedure's own 11:00, from 29/04 (05/05 only).
        let one = vec![summarize(
            &manifest(
                "H-250428-0009",
                "2.000635",
                "2025-04-28T14:00:00+07:00",
                "2025-05-05T16:00",
            ),
            &[step("2025-05-05T10:00:00+07:00", Status::ResultReady)],
        )];
        let both = period(
            Some("2025-04-01"),
            Some("2025-05-31"),
            Day::parse("2025-05-20").unwrap(),
        )
        .unwrap();
        let by_default = report(&one, &calendar(), &default_cutoff, both, NOW).total;
        assert_eq!(
            (by_default.avg_days_taken, by_default.avg_days_promised),
            (Some(2.0), Some(2.0))
        );
        let eleven = |code: &str| {
            assert_eq!(code, "2.000635");
            time::macros::time!(11:00)
        };
        let own = report(&one, &calendar(), &eleven, both, NOW).total;
        assert_eq!(
            (own.avg_days_taken, own.avg_days_promised),
            (Some(1.0), Some(1.0))
        );
        assert_eq!((own.on_time, own.late), (1, 0));
    }

    #[test]
    fn the_timing_is_read_from_the_events() {
        let all = seeded();
        assert_eq!(
            all[0].timing.settled_at.as_deref(),
            Some("2025-04-29T10:00:00+07:00")
        );
        assert_eq!(all[0].timing.rating, Some(5));
        assert_eq!(all[1].timing.due_set.as_deref(), Some("2025-05-06T08:00"));
        assert!(all[2].timing.refused);
        assert_eq!(
            all[4].timing.papers_in_at.as_deref(),
            Some("2025-05-07T09:00:00+07:00")
        );
        assert_eq!(
            all[5].timing.papers_asked_at.as_deref(),
            Some("2025-05-05T10:00:00+07:00")
        );
        assert!(all.iter().all(|s| s.timing.complete()));
        // What a summary keeps for the figures names nobody.
        let json = serde_json::to_string(&all[0].timing).unwrap();
        assert!(!json.contains("Nguyễn") && !json.contains("0912"));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let c = calendar();
        let d = |s| Day::parse(s).unwrap();
        // Tuesday 29/04 → Monday 05/05: 30/04, 1–2/05 off, then the weekend.
        assert_eq!(
            working_days_between(&c, d("2025-04-29"), d("2025-05-05")),
            1
        );
        assert_eq!(
            working_days_between(&c, d("2025-04-28"), d("2025-04-28")),
            0
        );
        assert_eq!(
            working_days_between(&c, d("2025-05-06"), d("2025-05-05")),
            0
        );
    }

    #[test]
    fn april_by_procedure() {
        let r = report(&seeded(), &calendar(), &default_cutoff, april(), NOW);
        let t = &r.total;
        assert_eq!((t.received, t.received_online, t.received_desk), (5, 5, 0));
        // Only no. 1 was settled in April, on time, in 1 working day of 1 promised.
        assert_eq!((t.on_time, t.late, t.refused), (1, 0, 0));
        assert_eq!(
            (t.avg_days_taken, t.avg_days_promised),
            (Some(1.0), Some(1.0))
        );
        // Open at the end of April: 2, 3, 4 and 5; overdue: 3 and 4 (promised 29/04);
        // 5's time starts again when its papers come.
        assert_eq!((t.pending, t.overdue), (4, 2));
        assert_eq!((t.ratings, t.satisfied), (1, 1));
        assert_eq!(t.on_time_share.text, "1/1");
        let codes: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(codes, ["2.000815", "1.001193"]);
        assert_eq!(t.carried_over, 0);
        let chung_thuc = &r.rows[0].figures;
        assert_eq!(
            (chung_thuc.received, chung_thuc.pending, chung_thuc.overdue),
            (3, 3, 2)
        );
    }

    #[test]
    fn may_settles_across_the_holiday_and_the_restarted_time() {
        let r = report(&seeded(), &calendar(), &default_cutoff, may(), NOW);
        let t = &r.total;
        // Open on 1 May: 2, 3, 4 and 5 (as at the end of April).
        assert_eq!(t.carried_over, 4);
        assert_eq!((t.received, t.on_time, t.late, t.refused), (1, 1, 1, 1));
        // No. 2 took 2 working days (05/05 and 06/05 after its reception day 29/04) of
        // 2 promised; no. 5, 1 of 1 counted from the papers' arrival.
        assert_eq!(t.avg_days_taken, Some(1.5));
        assert_eq!(t.avg_days_promised, Some(1.5));
        // Still open now (20/05): no. 4, overdue, and no. 6, waiting for papers.
        assert_eq!((t.pending, t.overdue), (2, 1));
        assert_eq!((t.ratings, t.satisfied, t.avg_rating), (1, 0, Some(2.0)));
        assert_eq!(t.on_time_share.text, "1/2");
        assert_eq!(t.days_text, "1,5 / 1,5 ngày");
        assert_eq!(t.satisfaction_text, "0/1 (1 lượt đánh giá)");
    }

    #[test]
    fn the_public_page_counts_month_by_month() {
        let s = public_stats(&seeded(), &calendar(), &default_cutoff, NOW);
        assert_eq!(s.months.len(), PUBLIC_MONTHS as usize);
        assert_eq!(s.months.last().unwrap().key, "2025-05");
        assert_eq!(s.months[0].key, "2024-06");
        let april = &s.months[10];
        assert_eq!(april.label, "Tháng 4/2025");
        assert_eq!(
            april.figures,
            report(&seeded(), &calendar(), &default_cutoff, self::april(), NOW).total
        );
        assert_eq!(s.total.received, 6);
        assert_eq!((s.total.on_time, s.total.late, s.total.refused), (2, 1, 1));
        assert_eq!(s.procedures.len(), 2);
        // Nothing personal in what is published.
        let json = serde_json::to_string(&s).unwrap();
        for personal in ["Nguyễn", "0912345678", "H-2504", "H-2505"] {
            assert!(!json.contains(personal), "{personal}");
        }
    }

    #[test]
    fn shares_below_five_are_counts() {
        assert_eq!(Share::new(3, 4).text, "3/4");
        assert_eq!(Share::new(3, 4).percent, None);
        assert_eq!(Share::new(4, 5).text, "80%");
        assert_eq!(Share::new(2, 3).count, 2);
        assert_eq!(Share::new(0, 0).text, "–");
        assert_eq!(Share::new(199, 200).text, "100%");
    }

    #[test]
    fn periods_are_checked() {
        let today = Day::parse("2025-05-20").unwrap();
        let p = period(None, None, today).unwrap();
        assert_eq!(
            (p.from.iso(), p.to.iso()),
            ("2025-05-01".into(), "2025-05-20".into())
        );
        assert_eq!(
            period(Some("2025-05-21"), Some("2025-05-20"), today),
            Err(PeriodError::Reversed)
        );
        assert!(matches!(
            period(Some("hôm qua"), None, today),
            Err(PeriodError::BadDay(_))
        ));
        assert_eq!(
            period(Some("2020-01-01"), Some("2025-01-01"), today),
            Err(PeriodError::TooLong)
        );
    }

    #[test]
    fn an_old_summary_without_timing_is_incomplete() {
        assert!(!Timing::default().complete());
    }
}
