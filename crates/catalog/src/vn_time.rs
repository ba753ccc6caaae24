//! Vietnam's time, in one place: the +07:00 offset, the RFC 3339 text stored in events
//! and manifests, the "16:00" of an appointment, the "2025-04-30T16:00" local minute the
//! console sorts and compares by, and the Vietnamese way of writing them.

use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::{Appointment, Day};

/// Vietnam time, UTC+7, no daylight saving.
pub const VN: UtcOffset = offset!(+7);

const LOCAL_MINUTE: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");

/// Now, in Vietnam.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(VN)
}

/// `2025-04-30T14:05:09+07:00`
pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(VN).format(&Rfc3339).expect("RFC 3339 formats")
}

/// Reads what [`format_time`] wrote (any offset), in Vietnam time.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(VN))
}

/// Today in Vietnam.
pub fn today(now: OffsetDateTime) -> Day {
    Day(now.to_offset(VN).date())
}

/// `16:00`
pub fn hhmm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// The minute an appointment falls on, `2025-04-30T16:00`.
pub fn appointment_minute(a: &Appointment) -> String {
    format!("{}T{}", a.day.iso(), hhmm(a.time))
}

/// `now` as a local minute, `2025-04-30T16:00`.
pub fn local_minute(now: OffsetDateTime) -> String {
    now.to_offset(VN)
        .format(LOCAL_MINUTE)
        .expect("local minute formats")
}

/// Reads a local minute back.
pub fn parse_local_minute(s: &str) -> Option<PrimitiveDateTime> {
    PrimitiveDateTime::parse(s, LOCAL_MINUTE).ok()
}

/// "14 giờ 05 phút, ngày 30/04/2025" (the text itself if it is not a time).
pub fn received_text(rfc3339: &str) -> String {
    match parse_time(rfc3339) {
        Some(t) => format!(
            "{:02} giờ {:02} phút, ngày {:02}/{:02}/{}",
            t.hour(),
            t.minute(),
            t.day(),
            u8::from(t.month()),
            t.year()
        ),
        None => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_written_and_read_in_vietnam() {
        let t = datetime!(2025-04-30 07:05:09 UTC);
        assert_eq!(format_time(t), "2025-04-30T14:05:09+07:00");
        assert_eq!(parse_time("2025-04-30T14:05:09+07:00"), Some(t));
        assert_eq!(local_minute(t), "2025-04-30T14:05");
        assert_eq!(
            parse_local_minute("2025-04-30T14:05"),
            Some(datetime!(2025-04-30 14:05))
        );
        assert_eq!(today(datetime!(2025-04-30 17:30 UTC)).iso(), "2025-05-01");
        assert_eq!(
            received_text("2025-04-30T14:05:09+07:00"),
            "14 giờ 05 phút, ngày 30/04/2025"
        );
        assert_eq!(received_text("hôm qua"), "hôm qua");
    }
}
