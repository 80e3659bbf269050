//! Sales targets (销售定额), their progress, and the periods of reports and work plans (issue
//! 24): a month's first and next-first day across year ends, the week a plan covers, progress
//! as an exact integer percentage, and which day a person may hand in a daily report for.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The largest figure a target accepts for a count (calls, orders …) in one month.
pub const MAX_COUNT: i64 = 1_000_000;
/// The largest amount a target accepts in one month: 100 亿元 in 分.
pub const MAX_FEN: i64 = 1_000_000_000_000;

/// The seven figures a target is set for, in the order they are shown.
pub const METRICS: [&str; 7] = [
    "calls",
    "valid_conversations",
    "qualified",
    "new_customers",
    "orders",
    "revenue_fen",
    "collections_fen",
];

/// One month's figures: a target, or what was done. Amounts in 分.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    #[serde(default)]
    pub calls: i64,
    #[serde(default)]
    pub valid_conversations: i64,
    #[serde(default)]
    pub qualified: i64,
    #[serde(default)]
    pub new_customers: i64,
    #[serde(default)]
    pub orders: i64,
    #[serde(default)]
    pub revenue_fen: i64,
    #[serde(default)]
    pub collections_fen: i64,
}

impl Figures {
    /// The figure of a metric named in [`METRICS`] (0 for an unknown name).
    pub fn get(&self, metric: &str) -> i64 {
        match metric {
            "calls" => self.calls,
            "valid_conversations" => self.valid_conversations,
            "qualified" => self.qualified,
            "new_customers" => self.new_customers,
            "orders" => self.orders,
            "revenue_fen" => self.revenue_fen,
            "collections_fen" => self.collections_fen,
            _ => 0,
        }
    }

    /// The first figure out of range, as (metric, problem): negative, or above the cap.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        METRICS.iter().find_map(|m| {
            let v = self.get(m);
            let cap = if m.ends_with("_fen") {
                MAX_FEN
            } else {
                MAX_COUNT
            };
            if v < 0 {
                Some((*m, "negative"))
            } else if v > cap {
                Some((*m, "too_large"))
            } else {
                None
            }
        })
    }

    /// Whether every figure is zero (a month with no target).
    pub fn is_empty(&self) -> bool {
        METRICS.iter().all(|m| self.get(m) == 0)
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// A month of the years targets may be set for (2000–2100), else `None`.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (valid_year(year) && (1..=12).contains(&month)).then_some(Month { year, month })
    }

    /// "2026-12".
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Month::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// The month a day falls in.
    pub fn of(day: NaiveDate) -> Month {
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The month after (December is followed by January of the next year).
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The days of the month as the half-open range [first, first of next).
    pub fn days(self) -> (NaiveDate, NaiveDate) {
        (self.first_day(), self.next().first_day())
    }

    pub fn len_days(self) -> i64 {
        let (a, b) = self.days();
        (b - a).num_days()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The years targets and plans may be set for.
pub fn valid_year(year: i32) -> bool {
    (2000..=2100).contains(&year)
}

/// Progress as a whole percentage, rounded down, exactly (integers only): `None` without a
/// target. 150 of 200 is 75; 1 of 3 is 33; 5 of 4 is 125.
pub fn percent(done: i64, target: i64) -> Option<i64> {
    if target <= 0 {
        return None;
    }
    let p = i128::from(done.max(0)) * 100 / i128::from(target);
    Some(i64::try_from(p).unwrap_or(i64::MAX))
}

/// How wide a progress bar is drawn: the percentage capped at 100 (0 without a target).
pub fn bar_width(done: i64, target: i64) -> i64 {
    percent(done, target).unwrap_or(0).min(100)
}

/// The period a work plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanPeriod {
    Week,
    Month,
}

impl PlanPeriod {
    pub fn parse(s: &str) -> Option<PlanPeriod> {
        match s {
            "week" => Some(PlanPeriod::Week),
            "month" => Some(PlanPeriod::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlanPeriod::Week => "week",
            PlanPeriod::Month => "month",
        }
    }

    /// The period containing `day`: its first day (a Monday, or the 1st) and the day after
    /// its last.
    pub fn containing(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            PlanPeriod::Week => {
                let back = u64::from(day.weekday().num_days_from_monday());
                let start = day.checked_sub_days(Days::new(back)).unwrap_or(day);
                (start, start.checked_add_days(Days::new(7)).unwrap_or(start))
            }
            PlanPeriod::Month => Month::of(day).days(),
        }
    }

    /// Whether `start` is where a period begins (a Monday, or the 1st of a month).
    pub fn is_start(self, start: NaiveDate) -> bool {
        valid_year(start.year())
            && match self {
                PlanPeriod::Week => start.weekday() == Weekday::Mon,
                PlanPeriod::Month => start.day() == 1,
            }
    }
}

/// Whether a daily report for `day` may be handed in on `today` (both statistics days): today
/// or a past day, not the future.
pub fn may_report(day: NaiveDate, today: NaiveDate) -> bool {
    day <= today
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_month_runs_to_the_first_of_the_next_across_the_year_end_and_february() {
        assert_eq!(
            Month::new(2026, 12).unwrap().days(),
            (d(2026, 12, 1), d(2027, 1, 1))
        );
        assert_eq!(Month::new(2028, 2).unwrap().len_days(), 29);
        assert_eq!(Month::new(2026, 2).unwrap().len_days(), 28);
        assert_eq!(Month::of(d(2026, 12, 31)).to_string(), "2026-12");
        assert_eq!(Month::parse("2027-01"), Month::new(2027, 1));
        for bad in [
            "2026-13", "2026-00", "26-01", "2026-1", "1999-05", "abcd-ef",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn progress_is_an_exact_integer_percentage_rounded_down() {
        assert_eq!(percent(150, 200), Some(75));
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(2, 3), Some(66));
        assert_eq!(percent(5, 4), Some(125));
        assert_eq!(percent(0, 10), Some(0));
        assert_eq!(percent(7, 0), None);
        // Amounts in 分 at the cap do not overflow.
        assert_eq!(percent(MAX_FEN, MAX_FEN), Some(100));
        assert_eq!(percent(999_999_999_999, MAX_FEN), Some(99));
        assert_eq!(bar_width(5, 4), 100);
        assert_eq!(bar_width(3, 0), 0);
    }

    #[test]
    fn figures_out_of_range_are_named() {
        let ok = Figures {
            calls: 1200,
            revenue_fen: MAX_FEN,
            ..Figures::default()
        };
        assert_eq!(ok.problem(), None);
        let neg = Figures {
            orders: -1,
            ..Figures::default()
        };
        assert_eq!(neg.problem(), Some(("orders", "negative")));
        let big = Figures {
            calls: MAX_COUNT + 1,
            ..Figures::default()
        };
        assert_eq!(big.problem(), Some(("calls", "too_large")));
        assert!(Figures::default().is_empty());
    }

    #[test]
    fn a_week_starts_on_monday_even_across_a_month_and_year_end() {
        // 2026-12-31 is a Thursday: its week runs Monday 28 December to Sunday 3 January.
        assert_eq!(
            PlanPeriod::Week.containing(d(2026, 12, 31)),
            (d(2026, 12, 28), d(2027, 1, 4))
        );
        assert_eq!(
            PlanPeriod::Month.containing(d(2026, 12, 31)),
            (d(2026, 12, 1), d(2027, 1, 1))
        );
        assert!(PlanPeriod::Week.is_start(d(2026, 12, 28)));
        assert!(!PlanPeriod::Week.is_start(d(2026, 12, 29)));
        assert!(PlanPeriod::Month.is_start(d(2027, 1, 1)));
        assert!(!PlanPeriod::Month.is_start(d(2027, 1, 4)));
    }

    #[test]
    fn a_report_is_for_today_or_a_past_day() {
        assert!(may_report(d(2026, 12, 7), d(2026, 12, 7)));
        assert!(may_report(d(2026, 11, 30), d(2026, 12, 7)));
        assert!(!may_report(d(2026, 12, 8), d(2026, 12, 7)));
    }
}
