//! Call statistics (issue 24): the organisation's time zone, the per-agent 15-minute slots
//! (`call_stats`) every write of a call counts into in its own transaction, the statistics day
//! as a range of slots, the rebuild from the raw calls, and the reports over any period.

pub mod rebuild;
pub mod report;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use leadline_domain::call_stats::{self as periods, DEFAULT_ORG_ZONE, ORG_ZONE_KEY};
use leadline_domain::disposition::Disposition;
use leadline_domain::{IntentLevel, UserId};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, write_audit};

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

/// Sets the organisation's zone (an IANA name such as `Asia/Shanghai`). The counts are kept in
/// UTC slots, so every statistics day follows the new zone at once; nothing is recomputed.
pub async fn set_org_zone(db: &Db, actor: UserId, name: &str, at: DateTime<Utc>) -> Result<Tz> {
    let zone = periods::parse_zone(name).ok_or(StoreError::invalid("org_time_zone", "invalid"))?;
    let before = read_org_zone(db).await?;
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(ORG_ZONE_KEY)
        .bind(sqlx::types::Json(json!(zone.name())))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "setting",
                entity_id: 0,
                actor: Some(actor),
                action: "update",
                before: Some(json!({ ORG_ZONE_KEY: before.name() })),
                after: Some(json!({ ORG_ZONE_KEY: zone.name() })),
                at
            }
        )?;
        tx.commit().await?;
    });
    crate::workday::config::invalidate();
    Ok(zone)
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

pub(crate) const COUNT_SLOT: &str = "INSERT INTO call_stats (agent_id, slot_start, calls, connected, valid_conversations, qualified, talk_s, \
    intent_resistant, intent_no_stance, intent_interested, intent_positive, intent_strong_demand) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (agent_id, slot_start) DO UPDATE SET \
    calls = call_stats.calls + excluded.calls, connected = call_stats.connected + excluded.connected, \
    valid_conversations = call_stats.valid_conversations + excluded.valid_conversations, \
    qualified = call_stats.qualified + excluded.qualified, talk_s = call_stats.talk_s + excluded.talk_s, \
    intent_resistant = call_stats.intent_resistant + excluded.intent_resistant, \
    intent_no_stance = call_stats.intent_no_stance + excluded.intent_no_stance, \
    intent_interested = call_stats.intent_interested + excluded.intent_interested, \
    intent_positive = call_stats.intent_positive + excluded.intent_positive, \
    intent_strong_demand = call_stats.intent_strong_demand + excluded.intent_strong_demand";

/// Counts a call started at `at` into its agent's slot, in the caller's transaction (the one
/// that inserts the call). Every path that writes calls goes through here.
pub(crate) async fn count(
    tx: &mut impl Tx,
    agent: UserId,
    at: DateTime<Utc>,
    counts: &Counts,
) -> Result<()> {
    tx.execute(COUNT_SLOT, &count_args(agent, at, counts))
        .await?;
    Ok(())
}

/// The arguments of [`COUNT_SLOT`] for a call started at `at`.
pub(crate) fn count_args(agent: UserId, at: DateTime<Utc>, counts: &Counts) -> Vec<Arg> {
    let mut args = vec![Arg::I64(agent.0), Arg::I64(periods::slot_of(at))];
    args.extend(counts.args());
    args
}

const AGENT_DAY: &str =
    "FROM call_stats s WHERE s.agent_id = $1 AND s.slot_start >= $2 AND s.slot_start < $3";

/// An agent's counts over `day`, in the caller's transaction.
pub(crate) async fn agent_day_in(
    tx: &mut impl Tx,
    agent: UserId,
    day: &StatsDay,
) -> Result<Counts> {
    let sql = format!("SELECT {SUMS} {AGENT_DAY}");
    let row = tx
        .fetch_one(
            &sql,
            &[Arg::I64(agent.0), Arg::I64(day.first), Arg::I64(day.end)],
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
    let sql = format!("SELECT {SUMS} {AGENT_DAY}");
    let row: SumsRow = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(agent)
        .bind(day.first)
        .bind(day.end)
        .fetch_one(pool)
        .await?);
    Ok(row.into())
}
