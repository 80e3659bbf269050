//! The call statistics report: counts per agent, team, day, week or month over a range of days
//! in the organisation's zone, for whom the viewer may see. Read from the slots; the same query
//! over the raw calls exists for the benchmark and the checks that the two agree.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use leadline_domain::call_stats::days::{date_of_day, day_number};
use leadline_domain::call_stats::{DateRange, Grouping, StatsScope, stats_date};
use leadline_domain::{TeamId, UserId, Viewer};
use serde::Serialize;

use super::rebuild::raw_calls;
use super::{Counts, SUMS, SumsRow};
use crate::{Db, Result, StoreError, db_run};

/// What a report asks for.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub range: DateRange,
    pub grouping: Grouping,
    pub team: Option<TeamId>,
    pub agent: Option<UserId>,
}

/// Where the sums are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The coarsest rollup that answers exactly: the per-agent days when they are counted in
    /// the zone asked for, else the slots.
    Rollups,
    /// The per-agent 15-minute slots kept with each call.
    Slots,
    /// The per-agent days kept with each call (the slots when the days are counted in another
    /// zone than the one asked for).
    Days,
    /// A `GROUP BY` over the calls themselves (the benchmark's baseline).
    RawCalls,
}

/// The group a row stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum GroupKey {
    Agent {
        agent_id: UserId,
        agent_name: String,
    },
    /// Agents without a team form one row with no team.
    Team {
        team_id: Option<TeamId>,
        team_name: Option<String>,
    },
    Day {
        day: NaiveDate,
    },
    Week {
        week: NaiveDate,
    },
    Month {
        month: NaiveDate,
    },
}

/// Sums with the connect rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    #[serde(flatten)]
    pub counts: Counts,
    /// Connected calls per thousand calls (an integer: 437 is 43.7 %).
    pub connect_rate_permille: i64,
}

impl From<Counts> for Totals {
    fn from(counts: Counts) -> Totals {
        Totals {
            counts,
            connect_rate_permille: counts.connect_rate_permille(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    #[serde(flatten)]
    pub key: GroupKey,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Grouping,
    pub rows: Vec<ReportRow>,
    pub totals: Totals,
}

/// The scope as SQL over `u` (users): agents and sales reps themselves, supervisors also their
/// teams' members, admins all. Ids are integers: formatting them in cannot inject anything.
pub(crate) fn scope_condition(scope: &StatsScope) -> String {
    match scope {
        StatsScope::All => String::new(),
        StatsScope::Nothing => " AND 1 = 0".into(),
        StatsScope::Agents { me, teams } if teams.is_empty() => format!(" AND u.id = {}", me.0),
        StatsScope::Agents { me, teams } => {
            let list: Vec<String> = teams.iter().map(|t| t.0.to_string()).collect();
            format!(
                " AND (u.id = {} OR u.team_id IN ({}))",
                me.0,
                list.join(",")
            )
        }
    }
}

/// Refuses what the viewer may not count: finance (Forbidden), a team they do not supervise
/// (Forbidden), an agent outside their scope or unknown (NotFound).
async fn check(db: &Db, scope: &StatsScope, q: &ReportQuery) -> Result<()> {
    if *scope == StatsScope::Nothing {
        return Err(StoreError::Forbidden);
    }
    if let Some(team) = q.team
        && !scope.holds_team(team)
    {
        return Err(StoreError::Forbidden);
    }
    if let Some(agent) = q.agent {
        let team: Option<Option<TeamId>> = db_run!(db, |pool| sqlx::query_scalar(
            "SELECT team_id FROM users WHERE id = $1"
        )
        .bind(agent)
        .fetch_optional(pool)
        .await?);
        match team {
            Some(team) if scope.holds_agent(agent, team) => {}
            _ => return Err(StoreError::NotFound),
        }
    }
    Ok(())
}

/// The report for `viewer` in the organisation's `zone`, read from `source`.
pub async fn calls_report(
    db: &Db,
    viewer: &Viewer,
    q: &ReportQuery,
    zone: Tz,
    source: Source,
) -> Result<Report> {
    let scope = StatsScope::of(viewer);
    check(db, &scope, q).await?;
    let rows = match source {
        // The days answer when they are counted in `zone` (the query checks it, in the same
        // round trip); no rows may also mean they are counted in another zone: then the slots.
        Source::Rollups | Source::Days => {
            let rows = read_rows(db, &scope, q, zone, Source::Days).await?;
            if rows.is_empty() && super::days_zone(db).await? != Some(zone) {
                read_rows(db, &scope, q, zone, Source::Slots).await?
            } else {
                rows
            }
        }
        s => read_rows(db, &scope, q, zone, s).await?,
    };
    let mut total = Counts::default();
    for r in &rows {
        total.add(&r.totals.counts);
    }
    Ok(Report {
        zone: zone.name().to_string(),
        from: q.range.from,
        to: q.range.to,
        group_by: q.grouping,
        rows,
        totals: total.into(),
    })
}

/// The rows of the report from `source` (Days: none unless the days are counted in `zone`).
async fn read_rows(
    db: &Db,
    scope: &StatsScope,
    q: &ReportQuery,
    zone: Tz,
    source: Source,
) -> Result<Vec<ReportRow>> {
    let (first, end) = match source {
        Source::Days => (day_number(q.range.from), day_number(q.range.to) + 1),
        _ => q.range.slots(zone),
    };
    let mut only = scope_condition(scope);
    // The filters name `s.agent_id`, so that both backends read the (agent, slot or day) key of
    // the agents asked for instead of every agent's rows in the range. The team and the agent
    // are bound (`$3`, `$4`), not formatted in: one statement text for every agent, prepared
    // once per connection (on PostgreSQL a new text is a parse and a plan at each report).
    let mut ids: Vec<i64> = Vec::new();
    if let Some(t) = q.team {
        ids.push(t.0);
        only.push_str(&format!(
            " AND s.agent_id IN (SELECT id FROM users WHERE team_id = ${})",
            2 + ids.len()
        ));
    }
    if let Some(a) = q.agent {
        ids.push(a.0);
        only.push_str(&format!(" AND s.agent_id = ${}", 2 + ids.len()));
    }
    // Slots and days: `s` is the agents' rows in range, keyed by `period` (a slot start or a
    // day number). Raw: `s` is the calls in range, one row each, keyed by their slot.
    let period = match source {
        Source::Days => "s.day",
        _ => "s.slot_start",
    };
    let from_with = |join: &str| match source {
        // A zone's name is one of chrono-tz's (letters, digits, `/`, `_`, `+`, `-`): safe to
        // format in.
        Source::Days => format!(
            "FROM call_stats_daily s JOIN users u ON u.id = s.agent_id{join} \
             WHERE s.day >= $1 AND s.day < $2{only} AND EXISTS \
             (SELECT 1 FROM call_stats_daily_zone z WHERE z.zone = '{}')",
            zone.name()
        ),
        Source::RawCalls => format!(
            "FROM ({}) s JOIN users u ON u.id = s.agent_id{join} WHERE 1 = 1{only}",
            raw_calls(
                db.backend(),
                " WHERE c.started_at >= $1 AND c.started_at < $2"
            )
        ),
        _ => format!(
            "FROM call_stats s JOIN users u ON u.id = s.agent_id{join} \
             WHERE s.slot_start >= $1 AND s.slot_start < $2{only}"
        ),
    };
    let from = from_with("");
    let bounds = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default();
    macro_rules! fetch {
        ($sql:expr) => {{
            let sql = $sql;
            match source {
                Source::RawCalls => db_run!(db, |pool| {
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(bounds(first))
                        .bind(bounds(end));
                    for id in &ids {
                        query = query.bind(*id);
                    }
                    query.fetch_all(pool).await?
                }),
                _ => db_run!(db, |pool| {
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(first)
                        .bind(end);
                    for id in &ids {
                        query = query.bind(*id);
                    }
                    query.fetch_all(pool).await?
                }),
            }
        }};
    }
    // The local date a row's period key stands for.
    let date_of = |period: i64| match source {
        Source::Days => date_of_day(period),
        _ => DateTime::<Utc>::from_timestamp(period, 0).map(|at| stats_date(at, zone)),
    };
    Ok(match q.grouping {
        Grouping::Agent => {
            let raw: Vec<(i64, String, SumsRow)> = fetch!(format!(
                "SELECT u.id, u.display_name, {SUMS} {from} GROUP BY u.id, u.display_name \
                 ORDER BY u.display_name, u.id"
            ))
            .into_iter()
            .map(split)
            .collect();
            raw.into_iter()
                .map(|(id, name, sums)| ReportRow {
                    key: GroupKey::Agent {
                        agent_id: UserId(id),
                        agent_name: name,
                    },
                    totals: Counts::from(sums).into(),
                })
                .collect()
        }
        Grouping::Team => {
            let raw: Vec<(Option<i64>, Option<String>, SumsRow)> = fetch!(format!(
                "SELECT u.team_id, t.name, {SUMS} {from} GROUP BY u.team_id, t.name \
                 ORDER BY t.name, u.team_id",
                from = from_with(" LEFT JOIN teams t ON t.id = u.team_id")
            ))
            .into_iter()
            .map(split)
            .collect();
            raw.into_iter()
                .map(|(id, name, sums)| ReportRow {
                    key: GroupKey::Team {
                        team_id: id.map(TeamId),
                        team_name: name,
                    },
                    totals: Counts::from(sums).into(),
                })
                .collect()
        }
        g => {
            // At most 96 slots or one day row a day: the calendar grouping is done here.
            let raw: Vec<(i64, (), SumsRow)> = fetch!(format!(
                "SELECT {period}, {SUMS} {from} GROUP BY {period} ORDER BY {period}"
            ))
            .into_iter()
            .map(split_slot)
            .collect();
            let mut out: Vec<(NaiveDate, Counts)> = Vec::new();
            for (period, (), sums) in raw {
                let Some(start) = date_of(period).and_then(|d| g.period_start(d)) else {
                    continue;
                };
                match out.last_mut() {
                    Some((d, c)) if *d == start => c.add(&Counts::from(sums)),
                    _ => out.push((start, Counts::from(sums))),
                }
            }
            out.into_iter()
                .map(|(d, c)| ReportRow {
                    key: match g {
                        Grouping::Week => GroupKey::Week { week: d },
                        Grouping::Month => GroupKey::Month { month: d },
                        _ => GroupKey::Day { day: d },
                    },
                    totals: c.into(),
                })
                .collect()
        }
    })
}

/// A key, a name and the ten sums, as sqlx reads a grouped row.
pub(crate) type Wide<K, N> = (K, N, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

fn split<K, N>(r: Wide<K, N>) -> (K, N, SumsRow) {
    (
        r.0,
        r.1,
        (r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11),
    )
}

fn split_slot(r: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)) -> (i64, (), SumsRow) {
    (r.0, (), (r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10))
}
