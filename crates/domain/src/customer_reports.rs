//! The customer reports' rules (issue 24): who may read them (sales reps their own rows,
//! supervisors their teams', admins and finance everyone's, agents none), where a new customer
//! came from, the revenue bands of the yearly analysis and the year's months in the
//! organisation's zone.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::call_stats::{StatsScope, day_start};
use crate::{Role, Viewer};

/// Whose customer figures a viewer may read, in the form the call statistics use (rows are
/// people: `holds_agent` is "this rep's row"). Sales reps read their own, supervisors their own
/// and their teams' members', admins and finance everyone's; agents none (customers are the
/// sales side's), which the handlers answer with 403.
pub fn scope(viewer: &Viewer) -> StatsScope {
    match viewer.role {
        Role::Admin | Role::Finance => StatsScope::All,
        Role::Agent => StatsScope::Nothing,
        Role::Supervisor | Role::Sales => StatsScope::of(viewer),
    }
}

/// How the new-customers report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NewGrouping {
    Rep,
    Team,
    Month,
}

impl NewGrouping {
    pub const ALL: [NewGrouping; 3] = [NewGrouping::Rep, NewGrouping::Team, NewGrouping::Month];

    pub fn parse(s: &str) -> Option<NewGrouping> {
        NewGrouping::ALL.into_iter().find(|g| g.code() == s.trim())
    }

    pub fn code(self) -> &'static str {
        match self {
            NewGrouping::Rep => "rep",
            NewGrouping::Team => "team",
            NewGrouping::Month => "month",
        }
    }
}

/// Where a new customer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Converted by a calling agent, who handed the lead to the sales rep (线索移交).
    FromAgent,
    /// Converted from a lead by the rep (or a supervisor or admin) themselves.
    OwnLead,
    /// Entered without a lead.
    Direct,
}

impl Origin {
    pub const ALL: [Origin; 3] = [Origin::FromAgent, Origin::OwnLead, Origin::Direct];

    /// From the customer row: whether it has a lead, and the role of whoever created it.
    pub fn of(has_lead: bool, creator_role: Option<Role>) -> Origin {
        match (has_lead, creator_role) {
            (false, _) => Origin::Direct,
            (true, Some(Role::Agent)) => Origin::FromAgent,
            (true, _) => Origin::OwnLead,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Origin::FromAgent => "from_agent",
            Origin::OwnLead => "own_lead",
            Origin::Direct => "direct",
        }
    }
}

/// The revenue bands of the yearly analysis, by a customer's confirmed orders in the year, in
/// 分: each band starts at its bound and ends before the next (0: nothing ordered).
pub const REVENUE_BANDS_FEN: [i64; 6] = [0, 1, 1_000_000, 5_000_000, 10_000_000, 50_000_000];

/// The band (index into [`REVENUE_BANDS_FEN`]) of a year's revenue; a negative figure (returns
/// exceeding orders cannot arise from orders alone) counts in the first band.
pub fn revenue_band(revenue_fen: i64) -> usize {
    REVENUE_BANDS_FEN
        .iter()
        .rposition(|b| revenue_fen >= *b)
        .unwrap_or(0)
}

/// A band's label in yuan, e.g. `1万–5万` / `10k–50k`; `0` for the first.
pub fn band_label(band: usize, lang: &str) -> String {
    let yuan = |fen: i64| {
        let y = fen / 100;
        match lang {
            "en" if y >= 1_000 => format!("{}k", y / 1_000),
            "en" => y.to_string(),
            _ if y >= 10_000 => format!("{}万", y / 10_000),
            _ => y.to_string(),
        }
    };
    match (band, REVENUE_BANDS_FEN.get(band + 1)) {
        (0, _) => "0".into(),
        (1, Some(hi)) => format!("0–{}", yuan(*hi)),
        (_, Some(hi)) => format!("{}–{}", yuan(REVENUE_BANDS_FEN[band]), yuan(*hi)),
        (_, None) => format!("≥{}", yuan(REVENUE_BANDS_FEN[band.min(5)])),
    }
}

/// The thirteen instants bounding the twelve months of `year` in `zone`: month `m` (1–12) is
/// `[bounds[m-1], bounds[m])`. None for a year chrono cannot hold.
pub fn month_bounds(year: i32, zone: Tz) -> Option<[DateTime<Utc>; 13]> {
    let mut out = [DateTime::<Utc>::UNIX_EPOCH; 13];
    for (i, slot) in out.iter_mut().enumerate() {
        let (y, m) = if i == 12 {
            (year + 1, 1)
        } else {
            (year, i as u32 + 1)
        };
        *slot = day_start(NaiveDate::from_ymd_opt(y, m, 1)?, zone);
    }
    Some(out)
}

/// The month (1–12) of `at` among `bounds`, or None outside the year.
pub fn month_of(bounds: &[DateTime<Utc>; 13], at: DateTime<Utc>) -> Option<usize> {
    if at < bounds[0] || at >= bounds[12] {
        return None;
    }
    bounds[1..].iter().position(|b| at < *b).map(|i| i + 1)
}

/// The earliest and latest year the yearly analysis accepts.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TeamId, UserId};
    use chrono::TimeZone;

    fn viewer(role: Role) -> Viewer {
        Viewer {
            user_id: UserId(1),
            role,
            supervised_teams: vec![TeamId(5)],
            pools: vec![],
        }
    }

    #[test]
    fn agents_read_no_customer_figures_and_finance_reads_all() {
        assert_eq!(scope(&viewer(Role::Agent)), StatsScope::Nothing);
        assert_eq!(scope(&viewer(Role::Finance)), StatsScope::All);
        assert_eq!(scope(&viewer(Role::Admin)), StatsScope::All);
        let rep = scope(&viewer(Role::Sales));
        assert!(rep.holds_agent(UserId(1), None));
        assert!(!rep.holds_agent(UserId(2), Some(TeamId(5))));
        let sup = scope(&viewer(Role::Supervisor));
        assert!(sup.holds_agent(UserId(2), Some(TeamId(5))));
        assert!(!sup.holds_agent(UserId(3), Some(TeamId(6))));
    }

    #[test]
    fn the_origin_follows_the_lead_and_who_converted_it() {
        assert_eq!(Origin::of(false, Some(Role::Agent)), Origin::Direct);
        assert_eq!(Origin::of(true, Some(Role::Agent)), Origin::FromAgent);
        assert_eq!(Origin::of(true, Some(Role::Sales)), Origin::OwnLead);
        assert_eq!(Origin::of(true, None), Origin::OwnLead);
    }

    #[test]
    fn bands_start_at_their_bound() {
        assert_eq!(revenue_band(0), 0);
        assert_eq!(revenue_band(-5), 0);
        assert_eq!(revenue_band(1), 1);
        assert_eq!(revenue_band(999_999), 1);
        assert_eq!(revenue_band(1_000_000), 2);
        assert_eq!(revenue_band(49_999_999), 4);
        assert_eq!(revenue_band(50_000_000), 5);
        assert_eq!(band_label(2, "zh-CN"), "1万–5万");
        assert_eq!(band_label(5, "en"), "≥500k");
        assert_eq!(band_label(1, "en"), "0–10k");
    }

    #[test]
    fn months_follow_the_zone_across_the_year_end() {
        let ny = chrono_tz::America::New_York;
        let b = month_bounds(2026, ny).unwrap();
        // 23:30 on 31 December in New York is already 1 January in UTC: still December.
        let late = ny.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(month_of(&b, late.with_timezone(&Utc)), Some(12));
        let new_year = ny.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(month_of(&b, new_year.with_timezone(&Utc)), None);
        let first = ny.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(month_of(&b, first.with_timezone(&Utc)), Some(1));
        let march = ny.with_ymd_and_hms(2026, 3, 31, 23, 59, 0).unwrap();
        assert_eq!(month_of(&b, march.with_timezone(&Utc)), Some(3));
    }
}
