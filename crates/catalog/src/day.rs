//! A calendar day written as YYYY-MM-DD in content and JSON.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, macros::format_description};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub Date);

const ISO: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");
const VIETNAMESE: &[time::format_description::FormatItem<'static>] =
    format_description!("[day]/[month]/[year]");

impl Day {
    pub fn parse(text: &str) -> Result<Day, String> {
        Date::parse(text.trim(), ISO).map(Day).map_err(|_| {
            format!("ngày \"{text}\" không hợp lệ; hãy viết theo dạng NNNN-TT-NN, ví dụ 2025-04-30")
        })
    }

    /// Accepts what a citizen's browser or keyboard may send: 2025-04-30 or 30/04/2025.
    pub fn parse_input(text: &str) -> Option<Day> {
        let text = text.trim();
        Date::parse(text, ISO)
            .or_else(|_| Date::parse(text, VIETNAMESE))
            .ok()
            .or_else(|| {
                // 1/5/2025: pad single digits.
                let parts: Vec<&str> = text.split('/').collect();
                if parts.len() != 3 {
                    return None;
                }
                let padded = format!("{:0>2}/{:0>2}/{}", parts[0], parts[1], parts[2]);
                Date::parse(&padded, VIETNAMESE).ok()
            })
            .map(Day)
    }

    pub fn iso(self) -> String {
        self.0.format(ISO).expect("ISO date formats")
    }

    /// 30/04/2025
    pub fn vietnamese(self) -> String {
        self.0.format(VIETNAMESE).expect("date formats")
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.iso())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let text = String::deserialize(d)?;
        Day::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_and_rejects_impossible_dates() {
        assert_eq!(Day::parse("2025-04-30").unwrap().vietnamese(), "30/04/2025");
        assert!(Day::parse("2025-02-30").unwrap_err().contains("2025-02-30"));
        assert!(Day::parse("30/04/2025").is_err());
    }

    #[test]
    fn citizen_input_accepts_both_orders() {
        let expected = Day::parse("2025-05-01").unwrap();
        assert_eq!(Day::parse_input("2025-05-01"), Some(expected));
        assert_eq!(Day::parse_input("01/05/2025"), Some(expected));
        assert_eq!(Day::parse_input("1/5/2025"), Some(expected));
        assert_eq!(Day::parse_input("31/02/2025"), None);
        assert_eq!(Day::parse_input("hôm qua"), None);
    }
}
