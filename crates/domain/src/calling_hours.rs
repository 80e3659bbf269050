//! Calling hours (F11): when a lead may be called, in the lead's own time zone.
//!
//! Windows are given per weekday (1 = Monday … 7 = Sunday) as minutes after local midnight; the
//! gaps between a day's windows are breaks. Holidays close a whole day; a make-up working day
//! (调休, a weekend day worked in exchange for a holiday) opens it with Monday's windows.

use std::collections::HashMap;

use chrono::{
    DateTime, Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The zone of a lead that names none.
pub const DEFAULT_TZ: Tz = chrono_tz::Asia::Shanghai;

/// One calling window on one weekday, `[start_minute, end_minute)` in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

/// What a dated exception does to its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// No calls all day.
    Holiday,
    /// A make-up working day: Monday's windows apply whatever the weekday.
    Workday,
}

impl DayKind {
    pub fn code(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
    pub fn parse(s: &str) -> Option<DayKind> {
        match s.trim() {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub day: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowProblem {
    #[error("weekday must be 1 (Monday) to 7 (Sunday)")]
    Weekday,
    #[error("a window must start before it ends, within one day")]
    Range,
    #[error("two windows on the same day overlap")]
    Overlap,
}

/// 09:00–12:00 and 14:00–18:00, Monday to Friday.
pub fn default_windows() -> Vec<Window> {
    (1..=5)
        .flat_map(|weekday| {
            [
                Window {
                    weekday,
                    start_minute: 9 * 60,
                    end_minute: 12 * 60,
                },
                Window {
                    weekday,
                    start_minute: 14 * 60,
                    end_minute: 18 * 60,
                },
            ]
        })
        .collect()
}

/// Checks each window and that windows of one day do not overlap.
pub fn validate_windows(windows: &[Window]) -> Result<(), WindowProblem> {
    for w in windows {
        if !(1..=7).contains(&w.weekday) {
            return Err(WindowProblem::Weekday);
        }
        if w.start_minute >= w.end_minute || w.end_minute > 24 * 60 {
            return Err(WindowProblem::Range);
        }
    }
    for (i, a) in windows.iter().enumerate() {
        for b in &windows[i + 1..] {
            if a.weekday == b.weekday
                && a.start_minute < b.end_minute
                && b.start_minute < a.end_minute
            {
                return Err(WindowProblem::Overlap);
            }
        }
    }
    Ok(())
}

/// A lead's zone: its IANA name if valid, else Asia/Shanghai.
pub fn zone(name: Option<&str>) -> Tz {
    name.and_then(|n| n.trim().parse::<Tz>().ok())
        .unwrap_or(DEFAULT_TZ)
}

/// Parses "HH:MM" (00:00–24:00) into minutes after midnight; full-width digits and colon
/// (`０９：００`, typed with a Chinese input method) are read as plain ones.
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let s = crate::typed::normalise_times(s);
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Why a day's spans were refused; each names the span as it was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanProblem {
    /// Not `HH:MM-HH:MM`.
    Unreadable(String),
    /// Ends at or before it starts.
    Backwards(String),
}

/// One day's spans as typed, `09:00-12:00, 14:00-18:00`, into (start, end) minutes. Spans are
/// separated by `,` `;` `，` `；` or `、`, start and end by `-` `–` `—` `~` `～` (or 至/到); what
/// a Chinese input method types (`09：00－12：00，14：00－18：00`, full-width digits) is read
/// the same. Overlaps are left to [`validate_windows`].
pub fn parse_spans(text: &str) -> Result<Vec<(u16, u16)>, SpanProblem> {
    use crate::typed::{normalise_times, plain_char};
    let mut spans = Vec::new();
    for typed in text
        .split(|c| matches!(plain_char(c), ',' | ';'))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let plain = normalise_times(typed);
        let unreadable = || SpanProblem::Unreadable(typed.to_string());
        let (start, end) = plain.split_once('-').ok_or_else(unreadable)?;
        let (Some(start), Some(end)) = (parse_hhmm(start), parse_hhmm(end)) else {
            return Err(unreadable());
        };
        if start >= end {
            return Err(SpanProblem::Backwards(typed.to_string()));
        }
        spans.push((start, end));
    }
    Ok(spans)
}

pub fn format_hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The calendar: windows and dated exceptions, indexed for lookups.
#[derive(Debug, Clone)]
pub struct CallingHours {
    by_weekday: [Vec<(u16, u16)>; 7],
    exceptions: HashMap<NaiveDate, DayKind>,
}

impl CallingHours {
    pub fn new(windows: &[Window], holidays: &[Holiday]) -> CallingHours {
        let mut by_weekday: [Vec<(u16, u16)>; 7] = Default::default();
        for w in windows {
            if (1..=7).contains(&w.weekday) && w.start_minute < w.end_minute {
                by_weekday[usize::from(w.weekday - 1)]
                    .push((w.start_minute, w.end_minute.min(1440)));
            }
        }
        for day in &mut by_weekday {
            day.sort_unstable();
        }
        let exceptions = holidays.iter().map(|h| (h.day, h.kind)).collect();
        CallingHours {
            by_weekday,
            exceptions,
        }
    }

    /// The windows that apply on a local date.
    pub fn windows_on(&self, date: NaiveDate) -> &[(u16, u16)] {
        match self.exceptions.get(&date) {
            Some(DayKind::Holiday) => &[],
            Some(DayKind::Workday) => {
                let own = &self.by_weekday[date.weekday().number_from_monday() as usize - 1];
                if own.is_empty() {
                    &self.by_weekday[0]
                } else {
                    own
                }
            }
            None => &self.by_weekday[date.weekday().number_from_monday() as usize - 1],
        }
    }

    /// Whether a lead in `tz` may be called at `now`.
    pub fn is_callable(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        let local = now.with_timezone(&tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.windows_on(local.date_naive())
            .iter()
            .any(|&(start, end)| start <= minute && minute < end)
    }

    /// The first instant at or after `now` when a lead in `tz` may be called (`now` itself when
    /// open), looking up to 400 days ahead; `None` when no window opens in that time.
    pub fn next_open(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if self.is_callable(now, tz) {
            return Some(now);
        }
        let today = now.with_timezone(&tz).date_naive();
        for offset in 0..400 {
            let date = today.checked_add_days(Days::new(offset))?;
            for &(start, end) in self.windows_on(date) {
                let Some(open) = local_instant(tz, date, start) else {
                    continue;
                };
                let close = local_instant(tz, date, end).unwrap_or(open);
                if open > now {
                    return Some(open);
                }
                if now < close {
                    // Opened earlier today and still open (a DST shift can make this so).
                    return Some(now);
                }
            }
        }
        None
    }
}

/// The UTC instant of a local wall-clock minute; a minute skipped by a DST jump maps to the
/// first instant after the gap, an ambiguous one to its earlier reading.
fn local_instant(tz: Tz, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
    let naive: NaiveDateTime = if minute >= 1440 {
        date.succ_opt()?.and_hms_opt(0, 0, 0)?
    } else {
        date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?
    };
    let mut probe = naive;
    for _ in 0..=180 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, _) => return Some(a.with_timezone(&Utc)),
            LocalResult::None => probe = probe.checked_add_signed(Duration::minutes(1))?,
        }
    }
    None
}

/// Free-function forms of [`CallingHours`], for callers holding plain slices.
pub fn is_callable(now: DateTime<Utc>, tz: Tz, windows: &[Window], holidays: &[Holiday]) -> bool {
    CallingHours::new(windows, holidays).is_callable(now, tz)
}

pub fn next_open(
    now: DateTime<Utc>,
    tz: Tz,
    windows: &[Window],
    holidays: &[Holiday],
) -> Option<DateTime<Utc>> {
    CallingHours::new(windows, holidays).next_open(now, tz)
}

/// The calendar day of an instant in a zone, as 'YYYY-MM-DD' (daily statistics and plans).
pub fn local_day(now: DateTime<Utc>, tz: Tz) -> String {
    now.with_timezone(&tz)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UTC instant from a Shanghai wall-clock time (UTC+8, no DST).
    fn sh(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        DEFAULT_TZ
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn hours() -> CallingHours {
        CallingHours::new(&default_windows(), &[])
    }

    // 2026-11-23 is a Monday.
    #[test]
    fn default_windows_open_weekday_mornings_and_afternoons() {
        let h = hours();
        assert!(
            h.is_callable(sh(2026, 11, 23, 9, 0), DEFAULT_TZ),
            "opens at 09:00"
        );
        assert!(h.is_callable(sh(2026, 11, 23, 11, 59), DEFAULT_TZ));
        assert!(
            !h.is_callable(sh(2026, 11, 23, 12, 0), DEFAULT_TZ),
            "lunch break from 12:00"
        );
        assert!(!h.is_callable(sh(2026, 11, 23, 13, 59), DEFAULT_TZ));
        assert!(h.is_callable(sh(2026, 11, 23, 14, 0), DEFAULT_TZ));
        assert!(h.is_callable(sh(2026, 11, 23, 17, 59), DEFAULT_TZ));
        assert!(
            !h.is_callable(sh(2026, 11, 23, 18, 0), DEFAULT_TZ),
            "closes at 18:00"
        );
        assert!(!h.is_callable(sh(2026, 11, 23, 8, 59), DEFAULT_TZ));
        assert!(!h.is_callable(sh(2026, 11, 23, 0, 0), DEFAULT_TZ));
        assert!(h.is_callable(sh(2026, 11, 27, 10, 0), DEFAULT_TZ), "Friday");
    }

    #[test]
    fn weekends_are_closed() {
        let h = hours();
        assert!(
            !h.is_callable(sh(2026, 11, 28, 10, 0), DEFAULT_TZ),
            "Saturday"
        );
        assert!(
            !h.is_callable(sh(2026, 11, 29, 15, 0), DEFAULT_TZ),
            "Sunday"
        );
    }

    #[test]
    fn holidays_close_and_make_up_days_open() {
        let holidays = [
            Holiday {
                day: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                kind: DayKind::Holiday,
                name: "x".into(),
            },
            Holiday {
                day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                kind: DayKind::Workday,
                name: "调休".into(),
            },
        ];
        let h = CallingHours::new(&default_windows(), &holidays);
        assert!(
            !h.is_callable(sh(2026, 11, 23, 10, 0), DEFAULT_TZ),
            "holiday Monday"
        );
        assert!(
            h.is_callable(sh(2026, 11, 24, 10, 0), DEFAULT_TZ),
            "the day after"
        );
        assert!(
            h.is_callable(sh(2026, 11, 28, 10, 0), DEFAULT_TZ),
            "make-up Saturday"
        );
        assert!(
            !h.is_callable(sh(2026, 11, 28, 13, 0), DEFAULT_TZ),
            "with Monday's break"
        );
        assert!(
            !h.is_callable(sh(2026, 11, 29, 10, 0), DEFAULT_TZ),
            "plain Sunday"
        );
        assert!(is_callable(
            sh(2026, 11, 28, 10, 0),
            DEFAULT_TZ,
            &default_windows(),
            &holidays
        ));
    }

    #[test]
    fn a_make_up_day_with_its_own_windows_keeps_them() {
        let mut windows = default_windows();
        windows.push(Window {
            weekday: 6,
            start_minute: 600,
            end_minute: 660,
        });
        let holidays = [Holiday {
            day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            kind: DayKind::Workday,
            name: String::new(),
        }];
        let h = CallingHours::new(&windows, &holidays);
        assert!(!h.is_callable(sh(2026, 11, 28, 9, 30), DEFAULT_TZ));
        assert!(h.is_callable(sh(2026, 11, 28, 10, 30), DEFAULT_TZ));
    }

    #[test]
    fn the_lead_zone_decides() {
        let h = hours();
        // 10:00 in Shanghai is 11:00 in Tokyo and 02:00 UTC (London, winter): only the first two open.
        let t = sh(2026, 11, 23, 10, 0);
        assert!(h.is_callable(t, DEFAULT_TZ));
        assert!(h.is_callable(t, zone(Some("Asia/Tokyo"))));
        assert!(!h.is_callable(t, zone(Some("Europe/London"))));
        // 18:30 in Shanghai (closed there) is 11:30 in Berlin (UTC+1 in winter).
        assert!(h.is_callable(sh(2026, 11, 23, 18, 30), zone(Some("Europe/Berlin"))));
        // The lead's date, not the agent's: Monday 10:00 in Shanghai is Sunday 21:00 in New York.
        assert!(!h.is_callable(sh(2026, 11, 23, 10, 0), zone(Some("America/New_York"))));
        assert!(
            h.is_callable(sh(2026, 11, 24, 0, 0), zone(Some("America/New_York"))),
            "11:00 Monday in New York"
        );
    }

    #[test]
    fn zones_default_to_shanghai() {
        assert_eq!(zone(None), DEFAULT_TZ);
        assert_eq!(zone(Some("Not/AZone")), DEFAULT_TZ);
        assert_eq!(zone(Some(" Asia/Tokyo ")), chrono_tz::Asia::Tokyo);
    }

    #[test]
    fn next_open_finds_the_coming_window() {
        let h = hours();
        let open = sh(2026, 11, 23, 10, 0);
        assert_eq!(h.next_open(open, DEFAULT_TZ), Some(open), "open now");
        assert_eq!(
            h.next_open(sh(2026, 11, 23, 7, 15), DEFAULT_TZ),
            Some(sh(2026, 11, 23, 9, 0))
        );
        assert_eq!(
            h.next_open(sh(2026, 11, 23, 12, 0), DEFAULT_TZ),
            Some(sh(2026, 11, 23, 14, 0)),
            "after lunch"
        );
        assert_eq!(
            h.next_open(sh(2026, 11, 23, 18, 0), DEFAULT_TZ),
            Some(sh(2026, 11, 24, 9, 0)),
            "next morning"
        );
        assert_eq!(
            h.next_open(sh(2026, 11, 27, 18, 1), DEFAULT_TZ),
            Some(sh(2026, 11, 30, 9, 0)),
            "over the weekend"
        );
        assert_eq!(
            next_open(sh(2026, 11, 28, 12, 0), DEFAULT_TZ, &default_windows(), &[]),
            Some(sh(2026, 11, 30, 9, 0))
        );
    }

    #[test]
    fn next_open_skips_holidays() {
        let holidays: Vec<Holiday> = (1..=7)
            .map(|d| Holiday {
                day: NaiveDate::from_ymd_opt(2026, 10, d).unwrap(),
                kind: DayKind::Holiday,
                name: "国庆".into(),
            })
            .collect();
        let h = CallingHours::new(&default_windows(), &holidays);
        // 2026-09-30 is a Wednesday; 10-08 a Thursday.
        assert_eq!(
            h.next_open(sh(2026, 9, 30, 18, 0), DEFAULT_TZ),
            Some(sh(2026, 10, 8, 9, 0))
        );
    }

    #[test]
    fn no_windows_never_open() {
        let h = CallingHours::new(&[], &[]);
        assert!(!h.is_callable(sh(2026, 11, 23, 10, 0), DEFAULT_TZ));
        assert_eq!(h.next_open(sh(2026, 11, 23, 10, 0), DEFAULT_TZ), None);
    }

    #[test]
    fn next_open_across_a_dst_jump() {
        // A window at 02:30 on the day New York skips 02:00–03:00 opens at 03:00 local.
        let windows = [Window {
            weekday: 7,
            start_minute: 150,
            end_minute: 240,
        }];
        let h = CallingHours::new(&windows, &[]);
        let ny = zone(Some("America/New_York"));
        let before = ny
            .with_ymd_and_hms(2026, 3, 8, 1, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let expect = ny
            .with_ymd_and_hms(2026, 3, 8, 3, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(h.next_open(before, ny), Some(expect));
        // An ambiguous time (the autumn repeat) takes its earlier reading.
        let windows = [Window {
            weekday: 7,
            start_minute: 90,
            end_minute: 100,
        }];
        let h = CallingHours::new(&windows, &[]);
        let midnight = ny
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let first = h.next_open(midnight, ny).unwrap();
        assert_eq!(
            first,
            Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap(),
            "01:30 EDT"
        );
    }

    #[test]
    fn a_window_to_midnight_closes_at_midnight() {
        let windows = [Window {
            weekday: 1,
            start_minute: 1380,
            end_minute: 1440,
        }];
        let h = CallingHours::new(&windows, &[]);
        assert!(h.is_callable(sh(2026, 11, 23, 23, 59), DEFAULT_TZ));
        assert!(!h.is_callable(sh(2026, 11, 24, 0, 0), DEFAULT_TZ));
        assert_eq!(
            h.next_open(sh(2026, 11, 23, 22, 0), DEFAULT_TZ),
            Some(sh(2026, 11, 23, 23, 0))
        );
    }

    #[test]
    fn windows_are_validated() {
        assert_eq!(validate_windows(&default_windows()), Ok(()));
        let w = |weekday, s, e| Window {
            weekday,
            start_minute: s,
            end_minute: e,
        };
        assert_eq!(validate_windows(&[w(0, 1, 2)]), Err(WindowProblem::Weekday));
        assert_eq!(validate_windows(&[w(8, 1, 2)]), Err(WindowProblem::Weekday));
        assert_eq!(validate_windows(&[w(1, 2, 2)]), Err(WindowProblem::Range));
        assert_eq!(validate_windows(&[w(1, 3, 2)]), Err(WindowProblem::Range));
        assert_eq!(
            validate_windows(&[w(1, 0, 1441)]),
            Err(WindowProblem::Range)
        );
        assert_eq!(
            validate_windows(&[w(1, 0, 60), w(1, 30, 90)]),
            Err(WindowProblem::Overlap)
        );
        assert_eq!(
            validate_windows(&[w(1, 0, 60), w(1, 60, 90), w(2, 30, 90)]),
            Ok(())
        );
    }

    #[test]
    fn spans_typed_with_a_chinese_input_method_are_read() {
        let want = vec![(540, 720), (840, 1080)];
        for typed in [
            "09:00-12:00, 14:00-18:00",
            "09：00－12：00，14：00－18：00",
            "０９：００～１２：００、１４：００—１８：００",
            "9:00~12:00；14:00 至 18:00",
        ] {
            assert_eq!(parse_spans(typed), Ok(want.clone()), "{typed}");
        }
        assert_eq!(parse_spans(""), Ok(vec![]));
        assert_eq!(
            parse_spans("12：00－09：00"),
            Err(SpanProblem::Backwards("12：00－09：00".into()))
        );
        assert_eq!(
            parse_spans("上午"),
            Err(SpanProblem::Unreadable("上午".into()))
        );
    }

    #[test]
    fn hhmm_round_trips() {
        assert_eq!(parse_hhmm("09:00"), Some(540));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("12:60"), None);
        assert_eq!(parse_hhmm("x"), None);
        assert_eq!(parse_hhmm("０９：３０"), Some(570));
        assert_eq!(format_hhmm(540), "09:00");
        assert_eq!(DayKind::parse("workday"), Some(DayKind::Workday));
        assert_eq!(DayKind::parse("x"), None);
        assert_eq!(DayKind::Holiday.code(), "holiday");
    }

    #[test]
    fn local_days_follow_the_zone() {
        assert_eq!(local_day(sh(2026, 11, 24, 0, 30), DEFAULT_TZ), "2026-11-24");
        assert_eq!(
            local_day(sh(2026, 11, 24, 0, 30), zone(Some("Europe/London"))),
            "2026-11-23"
        );
    }
}
