//! The OGC API - Features `datetime` parameter (Core). Parsing only; the handlers apply it.
//! (`crs` and `bbox-crs`, Part 2, are in crs.rs.)

use super::error::ApiError;
use crate::model::date::{days_since_epoch, digits};

/// A closed-open span of time in whole seconds since 1970-01-01T00:00:00Z; an open end is
/// `i64::MIN` / `i64::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSpan {
    pub start_s: i64,
    pub end_s: i64,
}

const DAY_S: i64 = 86_400;

impl TimeSpan {
    /// Whether the two spans share an instant.
    pub fn intersects(&self, other: &TimeSpan) -> bool {
        self.start_s < other.end_s && other.start_s < self.end_s
    }

    /// The whole UTC day of a `YYYY-MM-DD` date.
    pub fn of_date(date: &str) -> Option<TimeSpan> {
        let start_s = parse_date(date)?;
        Some(TimeSpan {
            start_s,
            end_s: start_s + DAY_S,
        })
    }

    /// `datetime`: an RFC 3339 date-time or date, or an interval `start/end` whose ends may be
    /// open (`..` or empty). A date stands for its whole UTC day: an interval ending on a date
    /// includes that day.
    pub fn parse_datetime(text: &str) -> Result<TimeSpan, ApiError> {
        let bad = |why: &str| {
            // A '+' left unescaped in a query string arrives as a space: "...T08:00:00 08:00".
            let after_space = text.rsplit(' ').next().unwrap_or("");
            let offset_lost_its_plus = text.contains(' ')
                && after_space.get(2..3) == Some(":")
                && after_space.get(..2).and_then(digits).is_some();
            let plus = if offset_lost_its_plus {
                " (a + in a URL query reads as a space: write an offset such as +08:00 as %2B08:00)"
            } else {
                ""
            };
            ApiError::bad(
                "datetime",
                format!(
                    "'{text}' {why}; give an RFC 3339 date-time or date, or an interval such as \
                     2020-01-01T00:00:00Z/2021-01-01T00:00:00Z, 2020-01-01/.. or ../2021-06-30{plus}"
                ),
            )
        };
        let Some((from, to)) = text.split_once('/') else {
            return instant(text.trim()).ok_or_else(|| bad("is not a date or date-time"));
        };
        let open = |s: &str| s.trim().is_empty() || s.trim() == "..";
        if open(from) && open(to) {
            return Err(bad("is open at both ends"));
        }
        let start_s = if open(from) {
            i64::MIN
        } else {
            instant(from.trim())
                .ok_or_else(|| bad("does not start with a date or date-time"))?
                .start_s
        };
        let end_s = if open(to) {
            i64::MAX
        } else {
            instant(to.trim())
                .ok_or_else(|| bad("does not end with a date or date-time"))?
                .end_s
        };
        if start_s > end_s {
            return Err(bad("ends before it starts"));
        }
        Ok(TimeSpan { start_s, end_s })
    }
}

/// A date (its whole day) or a date-time (its second, so an interval ending there includes it).
fn instant(text: &str) -> Option<TimeSpan> {
    if text.len() == 10 {
        return TimeSpan::of_date(text);
    }
    let t = parse_date_time(text)?;
    Some(TimeSpan {
        start_s: t,
        end_s: t + 1,
    })
}

/// Seconds since the epoch of the start of a valid `YYYY-MM-DD` day.
fn parse_date(s: &str) -> Option<i64> {
    days_since_epoch(s).map(|days| days * DAY_S)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as RFC 3339 section 5.6 (`t` and `z` allowed).
fn parse_date_time(s: &str) -> Option<i64> {
    // Every valid RFC 3339 date-time is ASCII; checking that first makes each slice below land
    // on a character boundary.
    if s.len() < 20 || !s.is_ascii() {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let day_s = parse_date(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let b = rest.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (hour, minute, second): (i64, i64, i64) = (
        digits(&rest[..2])?,
        digits(&rest[3..5])?,
        digits(&rest[6..8])?,
    );
    // 60 is a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(fraction) = zone.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        zone = &fraction[n..];
    }
    let offset_s = match zone {
        "Z" | "z" => 0,
        _ => {
            let zb = zone.as_bytes();
            if zb.len() != 6 || zb[3] != b':' || !(zb[0] == b'+' || zb[0] == b'-') {
                return None;
            }
            let (h, m): (i64, i64) = (digits(&zone[1..3])?, digits(&zone[4..6])?);
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if zb[0] == b'-' { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
    };
    Some(day_s + hour * 3600 + minute * 60 + second - offset_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str) -> TimeSpan {
        TimeSpan::parse_datetime(text).unwrap()
    }

    #[test]
    fn dates_and_date_times_are_seconds_since_the_epoch() {
        // Hand-computed: 2000-03-01 is 11,017 days after 1970-01-01.
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017 * DAY_S));
        assert_eq!(parse_date("2024-02-29"), Some(19_782 * DAY_S));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(
            parse_date_time("1970-01-02T01:00:00+08:00"),
            Some(DAY_S - 7 * 3600)
        );
        assert_eq!(parse_date_time("1970-01-01T00:00:01.5Z"), Some(1));
        for bad in [
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:00:00",
            "1970-01-01T00:00Z",
            // Not ASCII: a multi-byte character where a digit belongs is refused, not sliced.
            "2021-01-01T00:00:0\u{e9}",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetime_intervals_may_be_open_and_dates_cover_their_day() {
        let day = TimeSpan::of_date("2021-06-15").unwrap();
        assert!(span("2021-06-15T12:00:00Z").intersects(&day));
        assert!(span("2021-06-15").intersects(&day));
        assert!(!span("2021-06-16T00:00:00Z").intersects(&day));
        assert!(span("../2021-06-15").intersects(&day));
        assert!(span("/2021-06-15").intersects(&day));
        assert!(!span("../2021-06-14").intersects(&day));
        assert!(span("2021-06-15T23:59:59Z/..").intersects(&day));
        assert!(!span("2021-06-16/").intersects(&day));
        assert!(span("2020-01-01T00:00:00Z/2022-01-01T00:00:00Z").intersects(&day));
    }

    #[test]
    fn malformed_datetime_names_the_parameter() {
        for bad in [
            "yesterday",
            "../..",
            "2021-13-01",
            "2022-01-01/2021-01-01",
            "/",
        ] {
            let e = TimeSpan::parse_datetime(bad).unwrap_err();
            assert!(
                matches!(e, ApiError::BadParameter { ref name, .. } if name == "datetime"),
                "{bad}"
            );
        }
        // An unescaped + arrives as a space; the message says how to send it.
        let e = TimeSpan::parse_datetime("2021-06-15T08:00:00 08:00").unwrap_err();
        assert!(
            matches!(e, ApiError::BadParameter { ref message, .. } if message.contains("%2B08:00")),
            "{e:?}"
        );
        assert!(TimeSpan::parse_datetime("2021-06-15T08:00:00+08:00").is_ok());
        for no_hint in ["yesterday morning", "2021-06-15 \u{e9}\u{e9}:00", "0 0"] {
            let e = TimeSpan::parse_datetime(no_hint).unwrap_err();
            assert!(
                matches!(e, ApiError::BadParameter { ref message, .. } if !message.contains("%2B")),
                "{no_hint}: {e:?}"
            );
        }
    }
}
