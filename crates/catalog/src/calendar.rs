//! Working days and appointment dates (Labour Code 2019 Art. 112). Holidays move with
//! the lunar calendar and are fixed yearly by the Prime Minister, so they are data
//! (content/holidays.yaml), not a formula. A year the file does not have yet is still
//! counted: from the Labour Code's fixed days and the lunar dates (`estimate`), so an
//! appointment never lands on Tết just because the editor has not written next year in.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Duration, PrimitiveDateTime, Time, Weekday};

use crate::day::Day;
use crate::model::Reference;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayFile {
    /// Year → its days off and make-up working days.
    pub years: BTreeMap<i32, HolidayYear>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    /// `true` while the year is only worked out from the Labour Code and the lunar
    /// calendar, before the Government's plan for it is published.
    #[serde(default)]
    pub estimated: bool,
    /// The official documents the days were checked against (required unless estimated).
    #[serde(default)]
    pub sources: Vec<Reference>,
    pub holidays: Vec<HolidayEntry>,
    /// Weekend days declared working days to compensate a bridge day off.
    #[serde(default)]
    pub working_weekends: Vec<HolidayEntry>,
    /// Line of the year's key in holidays.yaml, for warnings.
    #[serde(skip)]
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayEntry {
    pub name: String,
    /// A single day, or the first day of a run with `to`.
    pub from: Day,
    #[serde(default)]
    pub to: Option<Day>,
}

impl HolidayEntry {
    pub fn days(&self) -> impl Iterator<Item = Day> {
        let first = self.from.0;
        let last = self.to.map_or(first, |d| d.0);
        let span = (last - first).whole_days().max(0);
        (0..=span).map(move |i| Day(first + Duration::days(i)))
    }
}

/// The days off and make-up working days, ready for arithmetic.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days_off: BTreeSet<Day>,
    working_weekends: BTreeSet<Day>,
    covered_years: BTreeSet<i32>,
    estimated_years: BTreeSet<i32>,
}

/// When a received dossier's result is promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub day: Day,
    /// "16:00"
    #[serde(with = "hhmm")]
    pub time: Time,
}

/// The hour the result is ready on its appointment day.
const RESULT_TIME: Time = time::macros::time!(16:00);

/// The hour after which a dossier counts as received the next working day, when its
/// procedure names none (`processing.cutoff`).
pub const DEFAULT_CUTOFF: Time = time::macros::time!(15:00);

/// The cut-off hour of `procedure`: its own `processing.cutoff`, or [`DEFAULT_CUTOFF`].
pub fn cutoff_of(procedure: Option<&crate::model::Procedure>) -> Time {
    procedure
        .and_then(|p| p.processing.cutoff.as_deref())
        .and_then(parse_hhmm)
        .unwrap_or(DEFAULT_CUTOFF)
}

impl Calendar {
    pub fn new(file: &HolidayFile) -> Calendar {
        let mut calendar = Calendar::default();
        for (year, entries) in &file.years {
            calendar.covered_years.insert(*year);
            if entries.estimated {
                calendar.estimated_years.insert(*year);
            }
            for h in &entries.holidays {
                calendar.days_off.extend(h.days());
            }
            for w in &entries.working_weekends {
                calendar.working_weekends.extend(w.days());
            }
        }
        calendar
    }

    /// Whether the holiday file has this year (official or estimated).
    pub fn covers(&self, year: i32) -> bool {
        self.covered_years.contains(&year)
    }

    /// Whether this year's days off are only an estimate: marked so in the file, or
    /// missing from it and worked out here.
    pub fn is_estimated(&self, year: i32) -> bool {
        self.estimated_years.contains(&year) || !self.covers(year)
    }

    pub fn is_working_day(&self, day: Day) -> bool {
        if self.working_weekends.contains(&day) {
            return true;
        }
        if is_weekend(day) {
            return false;
        }
        if self.covers(day.0.year()) {
            !self.days_off.contains(&day)
        } else {
            // Rare (a year the editor has not written in): worth a few microseconds.
            !estimate(day.0.year())
                .holidays
                .iter()
                .any(|h| h.days().any(|d| d == day))
        }
    }

    pub fn next_working_day(&self, after: Day) -> Day {
        let mut day = Day(after.0 + Duration::days(1));
        while !self.is_working_day(day) {
            day = Day(day.0 + Duration::days(1));
        }
        day
    }

    /// The day a dossier counts as received: the same day if it is a working day and
    /// the dossier came in before the cut-off hour, else the next working day.
    pub fn reception_day(&self, received: PrimitiveDateTime, cutoff: Option<Time>) -> Day {
        let day = Day(received.date());
        let late = cutoff.is_some_and(|c| received.time() >= c);
        if self.is_working_day(day) && !late {
            day
        } else {
            self.next_working_day(day)
        }
    }

    /// The appointment for a dossier received at `received` (local time) with a
    /// processing time of `working_days` (0 = the same working day).
    pub fn appointment(
        &self,
        received: PrimitiveDateTime,
        working_days: u32,
        cutoff: Option<Time>,
    ) -> Appointment {
        let mut day = self.reception_day(received, cutoff);
        for _ in 0..working_days {
            day = self.next_working_day(day);
        }
        Appointment {
            day,
            time: RESULT_TIME,
        }
    }
}

fn is_weekend(day: Day) -> bool {
    matches!(day.0.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// A year's days off as the Labour Code 2019 (Art. 112) fixes them, before the
/// Government publishes its plan: 1 January; five days of Tết from the last day of the
/// lunar year to the 4th of the first month; the 10th of the 3rd lunar month; 30 April;
/// 1 May; 2 September and one day next to it. A day that falls on a Saturday or Sunday is
/// made up on the next working day (Art. 112(3)). Swaps of working days are decided yearly
/// and cannot be foreseen, so there are none.
pub fn estimate(year: i32) -> HolidayYear {
    use time::{Date, Month};
    let date = |m: Month, d: u8| Day(Date::from_calendar_date(year, m, d).expect("valid date"));
    let tet = lunar::to_solar(year, 1, 1);
    let before_tet = Day(tet.0 - Duration::days(1));
    let national = date(Month::September, 2);
    // The day next to 2 September that joins it to a weekend, else the day before.
    let next_to_national = match national.0.weekday() {
        Weekday::Monday | Weekday::Thursday | Weekday::Saturday => {
            Day(national.0 + Duration::days(1))
        }
        _ => Day(national.0 - Duration::days(1)),
    };
    let mut named: Vec<(&str, Vec<Day>)> = vec![
        ("Tết Dương lịch", vec![date(Month::January, 1)]),
        (
            "Tết Nguyên đán",
            (0..5)
                .map(|i| Day(before_tet.0 + Duration::days(i)))
                .collect(),
        ),
        (
            "Giỗ Tổ Hùng Vương (10/3 âm lịch)",
            vec![lunar::to_solar(year, 3, 10)],
        ),
        ("Ngày Chiến thắng", vec![date(Month::April, 30)]),
        ("Quốc tế Lao động", vec![date(Month::May, 1)]),
        ("Quốc khánh", {
            let mut days = vec![national, next_to_national];
            days.sort();
            days
        }),
    ];
    let mut taken: BTreeSet<Day> = named.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    for (_, days) in &mut named {
        let on_weekend = days.iter().filter(|d| is_weekend(**d)).count();
        let mut next = *days.last().expect("at least one day");
        for _ in 0..on_weekend {
            loop {
                next = Day(next.0 + Duration::days(1));
                if !is_weekend(next) && !taken.contains(&next) {
                    break;
                }
            }
            taken.insert(next);
            days.push(next);
        }
    }
    let mut holidays = Vec::new();
    for (name, days) in named {
        // Consecutive days (weekends between them included) become one entry.
        let mut runs: Vec<(Day, Day)> = Vec::new();
        for d in days {
            let joins = runs.last().is_some_and(|(_, to)| {
                let gap = (d.0 - to.0).whole_days();
                (1..gap).all(|i| is_weekend(Day(to.0 + Duration::days(i))))
            });
            match runs.last_mut() {
                Some((_, to)) if joins => *to = d,
                _ => runs.push((d, d)),
            }
        }
        for (from, to) in runs {
            holidays.push(HolidayEntry {
                name: format!("{name} (tạm tính)"),
                from,
                to: (to != from).then_some(to),
            });
        }
    }
    holidays.sort_by_key(|h| h.from);
    HolidayYear {
        estimated: true,
        sources: Vec::new(),
        holidays,
        working_weekends: Vec::new(),
        line: None,
    }
}

/// The Vietnamese lunar calendar (the astronomical method of Hồ Ngọc Đức, at UTC+7),
/// enough to find Tết and the 10th of the 3rd month of a year.
mod lunar {
    use std::f64::consts::PI;

    use time::{Date, Month};

    use crate::day::Day;

    const TZ: f64 = 7.0;

    fn julian_day(year: i32, month: Month, day: u8) -> i64 {
        i64::from(
            Date::from_calendar_date(year, month, day)
                .expect("valid date")
                .to_julian_day(),
        )
    }

    /// The moment of the k-th new moon after 1900-01-01, as a Julian day.
    fn new_moon(k: f64) -> f64 {
        let t = k / 1236.85;
        let (t2, t3) = (t * t, t * t * t);
        let dr = PI / 180.0;
        let mut jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3;
        jd1 += 0.00033 * ((166.56 + 132.87 * t - 0.009173 * t2) * dr).sin();
        let m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3;
        let mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3;
        let f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3;
        let mut c1 = (0.1734 - 0.000393 * t) * (m * dr).sin() + 0.0021 * (2.0 * dr * m).sin();
        c1 = c1 - 0.4068 * (mpr * dr).sin() + 0.0161 * (dr * 2.0 * mpr).sin();
        c1 -= 0.0004 * (dr * 3.0 * mpr).sin();
        c1 = c1 + 0.0104 * (dr * 2.0 * f).sin() - 0.0051 * (dr * (m + mpr)).sin();
        c1 = c1 - 0.0074 * (dr * (m - mpr)).sin() + 0.0004 * (dr * (2.0 * f + m)).sin();
        c1 = c1 - 0.0004 * (dr * (2.0 * f - m)).sin() - 0.0006 * (dr * (2.0 * f + mpr)).sin();
        c1 = c1 + 0.0010 * (dr * (2.0 * f - mpr)).sin() + 0.0005 * (dr * (2.0 * mpr + m)).sin();
        let delta_t = if t < -11.0 {
            0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
        } else {
            -0.000278 + 0.000265 * t + 0.000262 * t2
        };
        jd1 + c1 - delta_t
    }

    fn new_moon_day(k: i64) -> i64 {
        (new_moon(k as f64) + 0.5 + TZ / 24.0).floor() as i64
    }

    /// The sun's longitude at the start of a day, in twelfths of the circle (0–11).
    fn sun_longitude(day: i64) -> i64 {
        let jdn = day as f64 - 0.5 - TZ / 24.0;
        let t = (jdn - 2451545.0) / 36525.0;
        let t2 = t * t;
        let dr = PI / 180.0;
        let m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
        let l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
        let mut dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * (dr * m).sin();
        dl += (0.019993 - 0.000101 * t) * (dr * 2.0 * m).sin() + 0.000290 * (dr * 3.0 * m).sin();
        let mut l = (l0 + dl) * dr;
        l -= PI * 2.0 * (l / (PI * 2.0)).floor();
        (l / PI * 6.0).floor() as i64
    }

    /// The first day of the 11th lunar month (the one holding the winter solstice).
    fn month_11(year: i32) -> i64 {
        let off = julian_day(year, Month::December, 31) - 2415021;
        let k = (off as f64 / 29.530588853).floor() as i64;
        let nm = new_moon_day(k);
        if sun_longitude(nm) >= 9 {
            new_moon_day(k - 1)
        } else {
            nm
        }
    }

    fn leap_month_offset(a11: i64) -> i64 {
        let k = ((a11 as f64 - 2415021.076998695) / 29.530588853 + 0.5).floor() as i64;
        let mut i = 1;
        let mut arc = sun_longitude(new_moon_day(k + i));
        loop {
            let last = arc;
            i += 1;
            arc = sun_longitude(new_moon_day(k + i));
            if arc == last || i >= 14 {
                break;
            }
        }
        i - 1
    }

    /// The solar date of a lunar day (not in a leap month) of the lunar year `year`.
    pub fn to_solar(year: i32, month: i64, day: i64) -> Day {
        let (a11, b11) = if month < 11 {
            (month_11(year - 1), month_11(year))
        } else {
            (month_11(year), month_11(year + 1))
        };
        let k = (0.5 + (a11 as f64 - 2415021.076998695) / 29.530588853).floor() as i64;
        let mut off = month - 11;
        if off < 0 {
            off += 12;
        }
        if b11 - a11 > 365 && off >= leap_month_offset(a11) {
            off += 1;
        }
        let jd = new_moon_day(k + off) + day - 1;
        Day(Date::from_julian_day(jd as i32).expect("a date in range"))
    }
}

/// Parses "15:00".
pub fn parse_hhmm(text: &str) -> Option<Time> {
    let (h, m) = text.trim().split_once(':')?;
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Time;

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_hhmm(&text).ok_or_else(|| serde::de::Error::custom("giờ phải có dạng HH:MM"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    fn calendar() -> Calendar {
        let yaml = r#"
years:
  2025:
    holidays:
      - { name: "Tết Nguyên đán", from: 2025-01-25, to: 2025-02-02 }
      - { name: "Giỗ Tổ Hùng Vương", from: 2025-04-07 }
      - { name: "30/4 và 1/5", from: 2025-04-30, to: 2025-05-04 }
    working_weekends:
      - { name: "Làm bù", from: 2025-04-26 }
"#;
        Calendar::new(&serde_yaml_ng::from_str(yaml).unwrap())
    }

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn weekends_holidays_and_make_up_days() {
        let c = calendar();
        assert!(c.is_working_day(day("2025-04-08")));
        assert!(!c.is_working_day(day("2025-04-07")), "Hùng Kings");
        assert!(!c.is_working_day(day("2025-04-27")), "Sunday");
        assert!(c.is_working_day(day("2025-04-26")), "make-up Saturday");
        assert!(!c.is_working_day(day("2025-01-29")), "Tết");
    }

    #[test]
    fn same_day_before_cutoff_next_day_after() {
        let c = calendar();
        let cutoff = Some(time!(15:00));
        let a = c.appointment(datetime!(2025-04-08 14:59), 0, cutoff);
        assert_eq!(a.day, day("2025-04-08"));
        let a = c.appointment(datetime!(2025-04-08 15:00), 0, cutoff);
        assert_eq!(a.day, day("2025-04-09"));
    }

    #[test]
    fn received_on_friday_evening_before_holidays() {
        let c = calendar();
        // Tue 29/4 after 15:00 → received Mon 5/5 (30/4–4/5 off); 3 working days → Thu 8/5.
        let a = c.appointment(datetime!(2025-04-29 16:30), 3, Some(time!(15:00)));
        assert_eq!(a.day, day("2025-05-08"));
        // Received on Sunday 27/4 with 3 days: counts from Mon 28/4 → Thu 1/5 is off … → Tue 6/5.
        let a = c.appointment(datetime!(2025-04-27 09:00), 3, None);
        assert_eq!(a.day, day("2025-05-06"));
    }

    #[test]
    fn tet_spans_are_skipped() {
        let c = calendar();
        let a = c.appointment(datetime!(2025-01-24 10:00), 1, None);
        assert_eq!(a.day, day("2025-02-03"));
    }

    #[test]
    fn lunar_new_year_and_hung_kings_day() {
        for (year, tet, hung) in [
            (2023, "2023-01-22", "2023-04-29"),
            (2024, "2024-02-10", "2024-04-18"),
            (2025, "2025-01-29", "2025-04-07"),
            (2026, "2026-02-17", "2026-04-26"),
            (2027, "2027-02-06", "2027-04-16"),
        ] {
            assert_eq!(lunar::to_solar(year, 1, 1), day(tet), "Tết {year}");
            assert_eq!(lunar::to_solar(year, 3, 10), day(hung), "Giỗ Tổ {year}");
        }
    }

    #[test]
    fn an_estimated_year_follows_the_labour_code() {
        let y = estimate(2027);
        assert!(y.estimated);
        let c = Calendar::new(&HolidayFile::default());
        let off = |s: &str| !c.is_working_day(day(s));
        assert!(c.is_estimated(2027));
        assert!(off("2027-01-01"), "Tết Dương lịch, Friday");
        // Mùng 1 is Saturday 6/2: 5/2–9/2 off, the weekend made up on 10/2 and 11/2.
        for d in [
            "2027-02-05",
            "2027-02-08",
            "2027-02-09",
            "2027-02-10",
            "2027-02-11",
        ] {
            assert!(off(d), "Tết: {d}");
        }
        assert!(!off("2027-02-12"));
        assert!(off("2027-04-16"), "Giỗ Tổ, Friday");
        assert!(off("2027-04-30"));
        assert!(off("2027-05-03"), "1/5 is a Saturday, made up on Monday");
        assert!(
            off("2027-09-02") && off("2027-09-03"),
            "Quốc khánh, Thursday and Friday"
        );
        assert!(!off("2027-09-01"));
        // What is computed for a missing year is what the file would say.
        let in_file = Calendar::new(&HolidayFile {
            years: [(2027, y)].into_iter().collect(),
        });
        let mut d = day("2027-01-01");
        while d.0.year() == 2027 {
            assert_eq!(in_file.is_working_day(d), c.is_working_day(d), "{d}");
            d = Day(d.0 + Duration::days(1));
        }
    }

    #[test]
    fn hhmm_parses() {
        assert_eq!(parse_hhmm("15:00"), Some(time!(15:00)));
        assert_eq!(parse_hhmm("25:00"), None);
    }
}
