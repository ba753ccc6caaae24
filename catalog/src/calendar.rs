//! Working days and appointment dates (Labour Code 2019 Art. 112). Holidays move with
//! the lunar calendar and are fixed yearly by the Prime Minister, so they are data
//! (content/holidays.yaml), not a formula.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Duration, PrimitiveDateTime, Time, Weekday};

use crate::day::Day;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayFile {
    /// Year → its days off and make-up working days.
    pub years: BTreeMap<i32, HolidayYear>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    pub holidays: Vec<HolidayEntry>,
    /// Weekend days declared working days to compensate a bridge day off.
    #[serde(default)]
    pub working_weekends: Vec<HolidayEntry>,
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

impl Calendar {
    pub fn new(file: &HolidayFile) -> Calendar {
        let mut calendar = Calendar::default();
        for (year, entries) in &file.years {
            calendar.covered_years.insert(*year);
            for h in &entries.holidays {
                calendar.days_off.extend(h.days());
            }
            for w in &entries.working_weekends {
                calendar.working_weekends.extend(w.days());
            }
        }
        calendar
    }

    pub fn covers(&self, year: i32) -> bool {
        self.covered_years.contains(&year)
    }

    pub fn is_working_day(&self, day: Day) -> bool {
        if self.working_weekends.contains(&day) {
            return true;
        }
        let weekend = matches!(day.0.weekday(), Weekday::Saturday | Weekday::Sunday);
        !weekend && !self.days_off.contains(&day)
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
        Calendar::new(&serde_yaml::from_str(yaml).unwrap())
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
    fn hhmm_parses() {
        assert_eq!(parse_hhmm("15:00"), Some(time!(15:00)));
        assert_eq!(parse_hhmm("25:00"), None);
    }
}
