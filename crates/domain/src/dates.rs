//! Dates and instants taken from input, within years that every computation on them can bear.
//!
//! chrono panics when arithmetic leaves its range (±262,143 years) and PostgreSQL refuses
//! timestamps before 4713 BC: a date a user types is accepted only within [`YEARS`], so that
//! adding a day or a time zone's offset to it can never overflow.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The years a date from input may fall in.
pub const YEARS: RangeInclusive<i32> = 1900..=9999;

/// Whether `day` lies within [`YEARS`].
pub fn in_range(day: NaiveDate) -> bool {
    YEARS.contains(&day.year())
}

/// Whether the instant's UTC date lies within [`YEARS`].
pub fn instant_in_range(at: DateTime<Utc>) -> bool {
    in_range(at.date_naive())
}

/// `YYYY-MM-DD` within [`YEARS`].
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| in_range(*d))
}

/// An RFC 3339 instant (`2026-01-31T08:00:00+08:00`) within [`YEARS`].
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| instant_in_range(*t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_the_years_are_refused_not_overflowed() {
        assert_eq!(
            parse_date("2026-01-31"),
            NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        assert_eq!(
            parse_date(" 1900-01-01 "),
            NaiveDate::from_ymd_opt(1900, 1, 1)
        );
        for bad in [
            "-262143-01-01",
            "+262142-12-31",
            "0001-01-01",
            "1899-12-31",
            "10000-01-01",
            "2026-02-30",
            "someday",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_instant("2026-01-31T08:00:00+08:00").is_some());
        assert_eq!(parse_instant("0000-01-01T00:00:00+23:59"), None);
        assert_eq!(parse_instant("9999-12-31T23:59:59-23:59"), None);
    }
}
