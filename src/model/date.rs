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
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::days_since_epoch;

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
}
