//! Calendar dates as the model stores them (`YYYY-MM-DD`, proleptic Gregorian): one reading for
//! the validator (an alliance's `founded`) and for the API's `datetime` filter.

/// Days from 1970-01-01 to a valid `YYYY-MM-DD` date (RFC 3339 `full-date`, year 0000 to 9999);
/// `None` for anything else (`2023-02-29`, `2022/07/01`, `22-07-01`, a non-ASCII character).
pub fn days_since_epoch(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || !s.is_ascii() || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&s[..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// The number written by `s` when it is all ASCII digits (no sign, no spaces).
pub fn digits(s: &str) -> Option<i64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a count of days from 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if month <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        month,
        day,
    )
}

/// Unix seconds as RFC 3339 in UTC: `2026-12-01T08:30:00Z`.
pub fn utc_text(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Unix milliseconds as RFC 3339 in UTC with milliseconds: `2026-12-01T08:30:00.125Z`.
pub fn utc_text_ms(ms: i64) -> String {
    let text = utc_text(ms.div_euclid(1000));
    format!("{}.{:03}Z", &text[..text.len() - 1], ms.rem_euclid(1000))
}

/// Unix seconds of `YYYY-MM-DD` (its midnight, UTC) or of an RFC 3339 UTC time
/// `YYYY-MM-DDThh:mm:ssZ`; `None` for anything else.
pub fn parse_utc(s: &str) -> Option<i64> {
    let day = days_since_epoch(s.get(..10)?)? * 86_400;
    match s.get(10..) {
        Some("") => Some(day),
        Some(t) => {
            let b = t.as_bytes();
            if b.len() != 10 || b[0] != b'T' || b[3] != b':' || b[6] != b':' || b[9] != b'Z' {
                return None;
            }
            let (h, m, sec) = (digits(&t[1..3])?, digits(&t[4..6])?, digits(&t[7..9])?);
            (h < 24 && m < 60 && sec < 60).then_some(day + h * 3600 + m * 60 + sec)
        }
        None => None,
    }
}

/// Now, in Unix seconds.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_dates_count_days_from_1970_and_others_are_none() {
        assert_eq!(days_since_epoch("1970-01-01"), Some(0));
        assert_eq!(days_since_epoch("1969-12-31"), Some(-1));
        assert_eq!(days_since_epoch("2000-03-01"), Some(11_017));
        assert_eq!(days_since_epoch("2024-02-29"), Some(19_782));
        // Year 0 is a leap year (proleptic Gregorian), 719,528 days before 1970.
        assert_eq!(days_since_epoch("0000-01-01"), Some(-719_528));
        assert!(days_since_epoch("0000-02-29").is_some());
        for bad in [
            "2023-02-29",
            "2022-13-01",
            "2022/07/01",
            "22-07-01",
            "2022-07-0\u{e9}",
            "+022-07-01",
        ] {
            assert_eq!(days_since_epoch(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_go_to_text_and_back() {
        for day in ["1970-01-01", "2000-02-29", "2026-12-01", "2100-03-01"] {
            let secs = parse_utc(day).unwrap();
            let (y, m, d) = civil_from_days(secs / 86_400);
            assert_eq!(format!("{y:04}-{m:02}-{d:02}"), day);
        }
        assert_eq!(utc_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_text_ms(1_796_113_800_125), "2026-12-01T08:30:00.125Z");
        assert_eq!(utc_text_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(utc_text(1_796_113_800), "2026-12-01T08:30:00Z");
        assert_eq!(parse_utc("2026-12-01T08:30:00Z"), Some(1_796_113_800));
        assert_eq!(parse_utc("2026-12-01T24:00:00Z"), None);
        assert_eq!(parse_utc("2026-12-01 08:30"), None);
    }
}
