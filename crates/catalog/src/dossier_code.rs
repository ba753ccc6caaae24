//! The dossier code, `<unit>-YYMMDD-NNNN` (e.g. `H21.55.01-261201-0007`): one rule for
//! the unit code, used where `site.yaml` and the function's configuration are checked
//! and where the function reads a code back, so a unit code accepted at start can
//! never make a submission fail after its number was claimed.

/// The longest code the function accepts from a tracking link.
pub const MAX_CODE_LEN: usize = 60;
/// `-YYMMDD-NNNN`
const DAY_AND_NUMBER_LEN: usize = 12;
/// The longest unit code, so that every code of the unit fits [`MAX_CODE_LEN`].
pub const MAX_UNIT_CODE_LEN: usize = MAX_CODE_LEN - DAY_AND_NUMBER_LEN;

/// What a unit code may hold, in the words `generator check` and the function's start
/// use to say how to fix one.
pub const UNIT_CODE_RULE: &str =
    "chỉ gồm chữ cái không dấu, chữ số, dấu chấm, gạch dưới hoặc gạch ngang, tối đa 48 ký tự";

/// Can `code` be the `<unit>` of a dossier code?
pub fn valid_unit_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_UNIT_CODE_LEN
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The code of a unit's `number`th dossier of a day (`yymmdd`).
pub fn format(unit: &str, yymmdd: &str, number: u32) -> String {
    format!("{unit}-{yymmdd}-{number:04}")
}

/// The `YYMMDD` of a moment as given (the caller passes it in Vietnam's offset): the
/// day a code is claimed for, and the day the daily allowances count.
pub fn day(moment: time::OffsetDateTime) -> String {
    format!(
        "{:02}{:02}{:02}",
        moment.year() % 100,
        u8::from(moment.month()),
        moment.day()
    )
}

/// The day (`YYMMDD`) of a well-formed code; `None` for anything else.
pub fn parse(code: &str) -> Option<&str> {
    if code.len() > MAX_CODE_LEN {
        return None;
    }
    let mut parts = code.rsplitn(3, '-');
    let number = parts.next()?;
    let day = parts.next()?;
    let unit = parts.next()?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    (digits(number, 4) && digits(day, 6) && valid_unit_code(unit)).then_some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_unit_code_makes_codes_that_parse_back() {
        let longest = "A".repeat(MAX_UNIT_CODE_LEN);
        for unit in ["H21.55.01", "H21.IAPET", "GL_IA-PET", "x", longest.as_str()] {
            assert!(valid_unit_code(unit), "{unit}");
            let code = format(unit, "261201", 9999);
            assert_eq!(parse(&code), Some("261201"), "{code}");
        }
    }

    #[test]
    fn refused_unit_codes_and_malformed_codes() {
        let too_long = "A".repeat(MAX_UNIT_CODE_LEN + 1);
        for unit in ["", "H21:55", "H21 55", "H21/55", "Xã", too_long.as_str()] {
            assert!(!valid_unit_code(unit), "{unit:?}");
        }
        for code in [
            "H21.55.01-261201-007",
            "H21.55.01-2612010-0007",
            "-261201-0007",
            "H21:55-261201-0007",
            "261201-0007",
            "../x-261201-0007",
        ] {
            assert_eq!(parse(code), None, "{code}");
        }
    }
}
