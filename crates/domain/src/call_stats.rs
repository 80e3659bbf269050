//! Call statistics periods: the 15-minute UTC slots the counts are kept in, the organisation's
//! statistics day, week (Monday first) and month, and the checked date range of a report.
//!
//! Counts are kept per agent and slot; a day in the organisation's zone is the slots from its
//! local midnight to the next. Slots are 15 minutes, not hours, because some zones are offset
//! from UTC by half or three quarters of an hour (Asia/Kolkata +5:30, Asia/Kathmandu +5:45):
//! with hourly buckets their midnight would cut a bucket in two. Every offset in use today is a
//! whole number of quarter hours, so a day is always a whole number of slots.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::calling_hours::DEFAULT_TZ;
use crate::{Role, TeamId, UserId, Viewer};

pub mod days;

/// A slot's length in seconds.
pub const SLOT_S: i64 = 900;

/// The longest report range, in days (a year, leap day included).
pub const MAX_RANGE_DAYS: i64 = 366;

/// The settings key of the organisation's time zone.
pub const ORG_ZONE_KEY: &str = "org_time_zone";

/// The zone statistics days follow when none is configured.
pub const DEFAULT_ORG_ZONE: Tz = DEFAULT_TZ;

/// The slot `at` falls in: its start, in seconds since 1970 (UTC).
pub fn slot_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(SLOT_S) * SLOT_S
}

/// An IANA zone name (`Asia/Shanghai`), or None.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// The statistics day `at` falls in, in the organisation's zone.
pub fn stats_date(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The instant the local day `day` starts in `zone`: its midnight, or the first instant after
/// a gap when the clocks skip midnight.
pub fn day_start(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    let mut t = midnight;
    // A DST gap is at most a few hours: the first local time that exists.
    for _ in 0..(24 * 4) {
        if let Some(at) = zone.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += Duration::minutes(15);
    }
    Utc.from_utc_datetime(&midnight)
}

/// The slots of the local days `from..=to`: `[first, end)` in seconds since 1970.
pub fn slot_range(from: NaiveDate, to: NaiveDate, zone: Tz) -> (i64, i64) {
    let end_day = to.succ_opt().unwrap_or(to);
    (
        day_start(from, zone).timestamp(),
        day_start(end_day, zone).timestamp(),
    )
}

/// How a report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    Agent,
    Team,
    Day,
    Week,
    Month,
}

impl Grouping {
    pub const ALL: [Grouping; 5] = [
        Grouping::Agent,
        Grouping::Team,
        Grouping::Day,
        Grouping::Week,
        Grouping::Month,
    ];

    pub fn parse(s: &str) -> Option<Grouping> {
        Grouping::ALL.into_iter().find(|g| g.code() == s.trim())
    }

    pub fn code(self) -> &'static str {
        match self {
            Grouping::Agent => "agent",
            Grouping::Team => "team",
            Grouping::Day => "day",
            Grouping::Week => "week",
            Grouping::Month => "month",
        }
    }

    /// The first day of the period `day` belongs to, for the calendar groupings (weeks start
    /// on Monday); None for agent and team.
    pub fn period_start(self, day: NaiveDate) -> Option<NaiveDate> {
        match self {
            Grouping::Day => Some(day),
            Grouping::Week => {
                Some(day - Duration::days(i64::from(day.weekday().num_days_from_monday())))
            }
            Grouping::Month => day.with_day(1),
            Grouping::Agent | Grouping::Team => None,
        }
    }
}

/// What is wrong with a requested range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// `from` or `to` is not a `YYYY-MM-DD` date.
    BadDate(&'static str),
    /// `from` is after `to`.
    Reversed,
    /// Longer than [`MAX_RANGE_DAYS`].
    TooLong,
}

/// A checked range of local days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn parse(from: &str, to: &str) -> Result<DateRange, RangeError> {
        let from = crate::dates::parse_date(from).ok_or(RangeError::BadDate("from"))?;
        let to = crate::dates::parse_date(to).ok_or(RangeError::BadDate("to"))?;
        DateRange::new(from, to)
    }

    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange, RangeError> {
        if from > to {
            return Err(RangeError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(DateRange { from, to })
    }

    /// The range's slots in `zone`: `[first, end)`.
    pub fn slots(&self, zone: Tz) -> (i64, i64) {
        slot_range(self.from, self.to, zone)
    }
}

/// The period start (for a calendar grouping) of the slot starting at `slot` in `zone`.
pub fn period_of_slot(slot: i64, zone: Tz, grouping: Grouping) -> Option<NaiveDate> {
    let at = DateTime::<Utc>::from_timestamp(slot, 0)?;
    grouping.period_start(stats_date(at, zone))
}

/// A rate in per mille (‰), rounded down; 0 of 0 is 0.
pub fn per_mille(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        part.saturating_mul(1000) / whole
    }
}

/// Whose calls a viewer may count: agents and sales reps their own, supervisors their own and
/// their teams' members', admins everyone's; finance none (the calling floor is not theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsScope {
    All,
    Agents { me: UserId, teams: Vec<TeamId> },
    Nothing,
}

impl StatsScope {
    pub fn of(viewer: &Viewer) -> StatsScope {
        match viewer.role {
            Role::Admin => StatsScope::All,
            Role::Finance => StatsScope::Nothing,
            Role::Supervisor => StatsScope::Agents {
                me: viewer.user_id,
                teams: viewer.supervised_teams.clone(),
            },
            Role::Agent | Role::Sales => StatsScope::Agents {
                me: viewer.user_id,
                teams: Vec::new(),
            },
        }
    }

    /// Whether the scope holds the agent `agent` of team `team`.
    pub fn holds_agent(&self, agent: UserId, team: Option<TeamId>) -> bool {
        match self {
            StatsScope::All => true,
            StatsScope::Nothing => false,
            StatsScope::Agents { me, teams } => {
                *me == agent || team.is_some_and(|t| teams.contains(&t))
            }
        }
    }

    /// Whether the scope holds every member of `team`.
    pub fn holds_team(&self, team: TeamId) -> bool {
        match self {
            StatsScope::All => true,
            StatsScope::Nothing => false,
            StatsScope::Agents { teams, .. } => teams.contains(&team),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn local(zone: Tz, s: &str) -> DateTime<Utc> {
        let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        zone.from_local_datetime(&t).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_call_late_on_new_years_eve_counts_in_december_of_the_zone() {
        let sh = chrono_tz::Asia::Shanghai;
        let at = local(sh, "2026-12-31 23:30");
        assert_eq!(stats_date(at, sh), d("2026-12-31"));
        assert_eq!(
            period_of_slot(slot_of(at), sh, Grouping::Month),
            Some(d("2026-12-01"))
        );
        // The same instant is already January in Tokyo, and still 31 December in Berlin.
        let tokyo = chrono_tz::Asia::Tokyo;
        assert_eq!(
            period_of_slot(slot_of(at), tokyo, Grouping::Month),
            Some(d("2027-01-01"))
        );
        assert_eq!(stats_date(at, chrono_tz::Europe::Berlin), d("2026-12-31"));
        // The slots of December hold it; those of January do not.
        let (a, b) = DateRange::new(d("2026-12-01"), d("2026-12-31"))
            .unwrap()
            .slots(sh);
        assert!((a..b).contains(&slot_of(at)));
        let (a, b) = DateRange::new(d("2027-01-01"), d("2027-01-31"))
            .unwrap()
            .slots(sh);
        assert!(!(a..b).contains(&slot_of(at)));
    }

    #[test]
    fn a_call_just_after_local_midnight_counts_in_the_new_month() {
        let ny = chrono_tz::America::New_York;
        let at = local(ny, "2027-03-01 00:10");
        assert_eq!(
            period_of_slot(slot_of(at), ny, Grouping::Month),
            Some(d("2027-03-01"))
        );
        let before = local(ny, "2027-02-28 23:59");
        assert_eq!(
            period_of_slot(slot_of(before), ny, Grouping::Month),
            Some(d("2027-02-01"))
        );
    }

    #[test]
    fn weeks_start_on_monday_across_month_and_year_ends() {
        // 2026-12-31 is a Thursday; its week starts Monday 28 December and holds 3 January.
        assert_eq!(
            Grouping::Week.period_start(d("2026-12-31")),
            Some(d("2026-12-28"))
        );
        assert_eq!(
            Grouping::Week.period_start(d("2027-01-03")),
            Some(d("2026-12-28"))
        );
        assert_eq!(
            Grouping::Week.period_start(d("2027-01-04")),
            Some(d("2027-01-04"))
        );
        assert_eq!(
            Grouping::Week.period_start(d("2026-12-28")),
            Some(d("2026-12-28"))
        );
        assert_eq!(
            Grouping::Month.period_start(d("2028-02-29")),
            Some(d("2028-02-01"))
        );
        assert_eq!(Grouping::Agent.period_start(d("2028-02-29")), None);
    }

    #[test]
    fn days_are_whole_slots_in_half_and_quarter_hour_zones() {
        for zone in [
            chrono_tz::Asia::Kolkata,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Pacific::Chatham,
            chrono_tz::Australia::Adelaide,
            chrono_tz::America::St_Johns,
            chrono_tz::Asia::Shanghai,
        ] {
            for day in [
                "2026-01-01",
                "2026-03-29",
                "2026-04-05",
                "2026-10-04",
                "2026-11-01",
            ] {
                let start = day_start(d(day), zone).timestamp();
                assert_eq!(start % SLOT_S, 0, "{zone} {day}");
            }
        }
        // A call at 23:50 local in Kathmandu belongs to that day, not the next.
        let ktm = chrono_tz::Asia::Kathmandu;
        let at = local(ktm, "2026-06-30 23:50");
        let (a, b) = slot_range(d("2026-06-30"), d("2026-06-30"), ktm);
        assert!((a..b).contains(&slot_of(at)));
        assert_eq!(b - a, 24 * 3600);
    }

    #[test]
    fn a_day_with_a_clock_change_has_23_or_25_hours_of_slots() {
        let berlin = chrono_tz::Europe::Berlin;
        let (a, b) = slot_range(d("2026-03-29"), d("2026-03-29"), berlin);
        assert_eq!(b - a, 23 * 3600);
        let (a, b) = slot_range(d("2026-10-25"), d("2026-10-25"), berlin);
        assert_eq!(b - a, 25 * 3600);
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(
            DateRange::parse("2026-13-01", "2026-12-01"),
            Err(RangeError::BadDate("from"))
        );
        assert_eq!(
            DateRange::parse("2026-12-01", "soon"),
            Err(RangeError::BadDate("to"))
        );
        assert_eq!(
            DateRange::parse("2026-12-02", "2026-12-01"),
            Err(RangeError::Reversed)
        );
        assert!(
            DateRange::parse("2028-01-01", "2028-12-31").is_ok(),
            "366 days"
        );
        assert_eq!(
            DateRange::parse("2026-01-01", "2027-01-02"),
            Err(RangeError::TooLong)
        );
        assert_eq!(Grouping::parse("week"), Some(Grouping::Week));
        assert_eq!(Grouping::parse("year"), None);
    }

    #[test]
    fn who_sees_whose_calls() {
        let viewer = |role, teams: Vec<i64>| Viewer {
            user_id: UserId(1),
            role,
            supervised_teams: teams.into_iter().map(TeamId).collect(),
            pools: Vec::new(),
        };
        let agent = StatsScope::of(&viewer(Role::Agent, vec![]));
        assert!(agent.holds_agent(UserId(1), Some(TeamId(5))));
        assert!(!agent.holds_agent(UserId(2), Some(TeamId(5))));
        assert!(!agent.holds_team(TeamId(5)));
        let sup = StatsScope::of(&viewer(Role::Supervisor, vec![5]));
        assert!(sup.holds_agent(UserId(2), Some(TeamId(5))));
        assert!(!sup.holds_agent(UserId(3), Some(TeamId(6))));
        assert!(!sup.holds_agent(UserId(3), None));
        assert!(sup.holds_team(TeamId(5)) && !sup.holds_team(TeamId(6)));
        let admin = StatsScope::of(&viewer(Role::Admin, vec![]));
        assert!(admin.holds_agent(UserId(9), None) && admin.holds_team(TeamId(6)));
        let finance = StatsScope::of(&viewer(Role::Finance, vec![]));
        assert!(!finance.holds_agent(UserId(1), None));
    }

    #[test]
    fn slots_floor_to_the_quarter_hour() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 8, 14, 59).unwrap();
        assert_eq!(
            slot_of(at),
            Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0)
                .unwrap()
                .timestamp()
        );
        assert_eq!(per_mille(1, 3), 333);
        assert_eq!(per_mille(0, 0), 0);
    }
}
