//! Call statistics (issue 24): the organisation's time zone, the per-agent 15-minute slots
//! (`call_stats`) and per-agent statistics days (`call_stats_daily`, in the organisation's
//! zone) every write of a call counts into in its own transaction (`counting`), the statistics
//! day as a range of rows, the rebuild from the raw calls, and the reports over any period.

pub(crate) mod counting;
pub mod rebuild;
pub mod report;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use leadline_domain::call_stats::days::day_number;
use leadline_domain::call_stats::{self as periods, DEFAULT_ORG_ZONE, ORG_ZONE_KEY};
use leadline_domain::disposition::Disposition;
use leadline_domain::{IntentLevel, UserId};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The organisation's statistics zone (cached with the call configuration, see
/// `workday::config::snapshot`).
pub async fn org_zone(db: &Db) -> Result<Tz> {
    Ok(crate::workday::config::snapshot(db).await?.org_zone)
}

/// The zone as stored: the setting, or the default when unset. A stored name that no longer
/// parses is an error rather than a quiet default.
pub(crate) async fn read_org_zone(db: &Db) -> Result<Tz> {
    let v: Option<sqlx::types::Json<serde_json::Value>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(ORG_ZONE_KEY)
    .fetch_optional(pool)
    .await?);
    match v {
        None => Ok(DEFAULT_ORG_ZONE),
        Some(j) => {
            j.0.as_str()
                .and_then(periods::parse_zone)
                .ok_or_else(|| StoreError::Internal(format!("stored {ORG_ZONE_KEY} unreadable")))
        }
    }
}

/// Sets the organisation's zone (an IANA name such as `Asia/Shanghai`). The slots are kept in
/// UTC and follow the new zone at once; the days are recounted from the slots in the same
/// transaction as the setting, writers of calls held off meanwhile (see `counting`).
pub async fn set_org_zone(db: &Db, actor: UserId, name: &str, at: DateTime<Utc>) -> Result<Tz> {
    let zone = periods::parse_zone(name).ok_or(StoreError::invalid("org_time_zone", "invalid"))?;
    let before = read_org_zone(db).await?;
    let audit = AuditEntry {
        entity: "setting",
        entity_id: 0,
        actor: Some(actor),
        action: "update",
        before: Some(json!({ ORG_ZONE_KEY: before.name() })),
        after: Some(json!({ ORG_ZONE_KEY: zone.name() })),
        at,
    };
    in_tx!(db, |tx| async move {
        counting::hold_writers(tx).await?;
        tx.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            &[
                Arg::Text(ORG_ZONE_KEY.into()),
                Arg::Json(json!(zone.name())),
                Arg::Time(at),
            ],
        )
        .await?;
        tx.execute(crate::audit::INSERT, &audit.args()).await?;
        if counting::days_zone_in(tx).await? != Some(zone) {
            counting::rebuild_days(tx, zone).await?;
        }
        Ok(())
    })?;
    crate::workday::config::invalidate();
    Ok(zone)
}

/// The zone the per-agent days are counted in (None while they are not built): reports read
/// the days only when it is the zone they ask for.
pub async fn days_zone(db: &Db) -> Result<Option<Tz>> {
    let name: Option<String> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT zone FROM call_stats_daily_zone WHERE id = 1"
    )
    .fetch_optional(pool)
    .await?);
    Ok(name.as_deref().and_then(periods::parse_zone))
}

/// One statistics day in the organisation's zone: its date and its slots `[first, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsDay {
    pub date: NaiveDate,
    pub zone: Tz,
    pub first: i64,
    pub end: i64,
}

impl StatsDay {
    pub fn of(at: DateTime<Utc>, zone: Tz) -> StatsDay {
        StatsDay::on(periods::stats_date(at, zone), zone)
    }

    pub fn on(date: NaiveDate, zone: Tz) -> StatsDay {
        let (first, end) = periods::slot_range(date, date, zone);
        StatsDay {
            date,
            zone,
            first,
            end,
        }
    }

    /// `YYYY-MM-DD`.
    pub fn label(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }
}

/// Today in the organisation's zone.
pub async fn today(db: &Db, now: DateTime<Utc>) -> Result<StatsDay> {
    Ok(StatsDay::of(now, org_zone(db).await?))
}

/// What one call adds to its agent's slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
    pub intent: IntentMix,
}

/// How many calls ended at each intent level (calls without one count in none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IntentMix {
    pub resistant: i64,
    pub no_stance: i64,
    pub interested: i64,
    pub positive: i64,
    pub strong_demand: i64,
}

impl IntentMix {
    pub fn of(intent: Option<IntentLevel>) -> IntentMix {
        let mut m = IntentMix::default();
        match intent {
            Some(IntentLevel::Resistant) => m.resistant = 1,
            Some(IntentLevel::NoStance) => m.no_stance = 1,
            Some(IntentLevel::Interested) => m.interested = 1,
            Some(IntentLevel::Positive) => m.positive = 1,
            Some(IntentLevel::StrongDemand) => m.strong_demand = 1,
            None => {}
        }
        m
    }

    pub fn get(&self, level: IntentLevel) -> i64 {
        match level {
            IntentLevel::Resistant => self.resistant,
            IntentLevel::NoStance => self.no_stance,
            IntentLevel::Interested => self.interested,
            IntentLevel::Positive => self.positive,
            IntentLevel::StrongDemand => self.strong_demand,
        }
    }
}

impl Counts {
    /// One call with this disposition (None: a code no longer configured counts as a call
    /// only, as the rebuild's outer join does), duration and intent.
    pub fn of_call(
        disp: Option<&Disposition>,
        duration_s: i64,
        intent: Option<IntentLevel>,
    ) -> Counts {
        let d = disp.map(|d| d.stats_delta(duration_s)).unwrap_or_default();
        Counts {
            calls: 1,
            connected: d.connected,
            valid_conversations: d.valid_conversations,
            qualified: d.qualified,
            talk_s: d.talk_s,
            intent: IntentMix::of(intent),
        }
    }

    pub fn add(&mut self, o: &Counts) {
        self.calls += o.calls;
        self.connected += o.connected;
        self.valid_conversations += o.valid_conversations;
        self.qualified += o.qualified;
        self.talk_s += o.talk_s;
        let (m, n) = (&mut self.intent, &o.intent);
        m.resistant += n.resistant;
        m.no_stance += n.no_stance;
        m.interested += n.interested;
        m.positive += n.positive;
        m.strong_demand += n.strong_demand;
    }

    /// Connected calls per thousand calls, rounded down.
    pub fn connect_rate_permille(&self) -> i64 {
        periods::per_mille(self.connected, self.calls)
    }

    fn args(&self) -> [Arg; 10] {
        let m = &self.intent;
        [
            Arg::I64(self.calls),
            Arg::I64(self.connected),
            Arg::I64(self.valid_conversations),
            Arg::I64(self.qualified),
            Arg::I64(self.talk_s),
            Arg::I64(m.resistant),
            Arg::I64(m.no_stance),
            Arg::I64(m.interested),
            Arg::I64(m.positive),
            Arg::I64(m.strong_demand),
        ]
    }

    /// Reads the ten counter columns starting at `at`.
    pub(crate) fn from_row(row: &crate::db::tx::Row, at: usize) -> Result<Counts> {
        Ok(Counts {
            calls: row.i64(at)?,
            connected: row.i64(at + 1)?,
            valid_conversations: row.i64(at + 2)?,
            qualified: row.i64(at + 3)?,
            talk_s: row.i64(at + 4)?,
            intent: IntentMix {
                resistant: row.i64(at + 5)?,
                no_stance: row.i64(at + 6)?,
                interested: row.i64(at + 7)?,
                positive: row.i64(at + 8)?,
                strong_demand: row.i64(at + 9)?,
            },
        })
    }
}

/// The counter columns, in the order of [`Counts`].
pub(crate) const COLUMNS: &str = "calls, connected, valid_conversations, qualified, talk_s, \
    intent_resistant, intent_no_stance, intent_interested, intent_positive, intent_strong_demand";

/// `SUM` of each counter column of `s`, as BIGINT on both backends.
pub(crate) const SUMS: &str = "CAST(COALESCE(SUM(s.calls), 0) AS BIGINT), CAST(COALESCE(SUM(s.connected), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s.valid_conversations), 0) AS BIGINT), CAST(COALESCE(SUM(s.qualified), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s.talk_s), 0) AS BIGINT), CAST(COALESCE(SUM(s.intent_resistant), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s.intent_no_stance), 0) AS BIGINT), CAST(COALESCE(SUM(s.intent_interested), 0) AS BIGINT), \
    CAST(COALESCE(SUM(s.intent_positive), 0) AS BIGINT), CAST(COALESCE(SUM(s.intent_strong_demand), 0) AS BIGINT)";

/// Whole statistics days as rows of one rollup: the per-agent days when they are counted in
/// the zone asked for, else the 15-minute slots. `s.{key} >= first AND s.{key} < end` over
/// `{table} s` selects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub table: &'static str,
    pub key: &'static str,
    pub first: i64,
    pub end: i64,
}

impl Span {
    /// The days `from..=to` in `zone`, with the days counted in `days_zone`.
    pub fn of(from: NaiveDate, to: NaiveDate, zone: Tz, days_zone: Option<Tz>) -> Span {
        if days_zone == Some(zone) {
            Span {
                table: "call_stats_daily",
                key: "day",
                first: day_number(from),
                end: day_number(to) + 1,
            }
        } else {
            let (first, end) = periods::slot_range(from, to, zone);
            Span {
                table: "call_stats",
                key: "slot_start",
                first,
                end,
            }
        }
    }

    /// The condition on `s` with the bounds as `$a` and `$b`.
    pub fn within(&self, a: usize, b: usize) -> String {
        format!("s.{k} >= ${a} AND s.{k} < ${b}", k = self.key)
    }
}

/// The rollup rows of the days `from..=to` in `zone`.
pub async fn span(db: &Db, from: NaiveDate, to: NaiveDate, zone: Tz) -> Result<Span> {
    Ok(Span::of(from, to, zone, days_zone(db).await?))
}

fn agent_day_sql(span: &Span) -> String {
    format!(
        "SELECT {SUMS} FROM {} s WHERE s.agent_id = $1 AND {}",
        span.table,
        span.within(2, 3)
    )
}

/// An agent's counts over `day`, in the caller's transaction, with the days' zone the
/// transaction has already read (as [`counting::count`] answers it).
pub(crate) async fn agent_day_with(
    tx: &mut impl Tx,
    agent: UserId,
    day: &StatsDay,
    days_zone: Option<Tz>,
) -> Result<Counts> {
    let span = Span::of(day.date, day.date, day.zone, days_zone);
    let row = tx
        .fetch_one(
            &agent_day_sql(&span),
            &[Arg::I64(agent.0), Arg::I64(span.first), Arg::I64(span.end)],
        )
        .await?;
    Counts::from_row(&row, 0)
}

/// The ten sums of [`SUMS`], as sqlx reads them.
pub(crate) type SumsRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

impl From<SumsRow> for Counts {
    fn from(r: SumsRow) -> Counts {
        Counts {
            calls: r.0,
            connected: r.1,
            valid_conversations: r.2,
            qualified: r.3,
            talk_s: r.4,
            intent: IntentMix {
                resistant: r.5,
                no_stance: r.6,
                interested: r.7,
                positive: r.8,
                strong_demand: r.9,
            },
        }
    }
}

/// An agent's counts over `day`.
pub async fn agent_day(db: &Db, agent: UserId, day: &StatsDay) -> Result<Counts> {
    let span = span(db, day.date, day.date, day.zone).await?;
    let row: SumsRow = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        agent_day_sql(&span)
    ))
    .bind(agent)
    .bind(span.first)
    .bind(span.end)
    .fetch_one(pool)
    .await?);
    Ok(row.into())
}
