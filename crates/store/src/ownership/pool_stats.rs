//! Pool statistics (公海统计) from the ownership history: put in, claimed and reclaimed per
//! day, per person and per pool.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::call_stats as periods;
use leadline_domain::{PoolId, UserId};
use serde::Serialize;

use crate::{Db, Result, StoreError, db_run};

/// Pool statistics for one group (a day, a person or a pool).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Flow {
    /// Released, reclaimed, or entered/imported into a pool.
    pub put_in: i64,
    pub claimed: i64,
    pub reclaimed: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonFlow {
    pub user_id: UserId,
    pub name: String,
    #[serde(flatten)]
    pub flow: Flow,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolFlow {
    /// `None`: the default pool.
    pub pool_id: Option<PoolId>,
    pub name: Option<String>,
    #[serde(flatten)]
    pub flow: Flow,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayFlow {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub flow: Flow,
}

/// What moved in and out of the pools between two days (inclusive, the organisation's days).
#[derive(Debug, Clone, Serialize)]
pub struct PoolStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: Flow,
    pub by_day: Vec<DayFlow>,
    pub by_person: Vec<PersonFlow>,
    pub by_pool: Vec<PoolFlow>,
}

/// The longest period the statistics cover at once.
pub const MAX_STATS_DAYS: i64 = 366;

#[derive(sqlx::FromRow)]
struct FlowRow {
    at: DateTime<Utc>,
    action: String,
    from_user: Option<UserId>,
    to_user: Option<UserId>,
    actor_id: Option<UserId>,
    pool_id: Option<PoolId>,
}

/// Pool statistics from the ownership history: put in (release, reclaim, and entry or import
/// into a pool), claimed and reclaimed, per day, per person (who released, lost by reclaim,
/// claimed, or put in) and per pool. The caller has checked the viewer may read them.
pub async fn stats(db: &Db, from: NaiveDate, to: NaiveDate) -> Result<PoolStats> {
    if to < from || (to - from).num_days() >= MAX_STATS_DAYS {
        return Err(StoreError::invalid("to", "out_of_range"));
    }
    let zone = crate::call_stats::org_zone(db).await?;
    let start = periods::day_start(from, zone);
    let end = periods::day_start(to.succ_opt().unwrap_or(to), zone);
    let rows: Vec<FlowRow> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT at, action, from_user, to_user, actor_id, pool_id FROM ownership_events \
             WHERE at >= $1 AND at < $2 AND action IN ('release', 'reclaim', 'claim', 'create', 'import')",
        )
        .bind(start)
        .bind(end)
        .fetch_all(p)
        .await?
    });
    let mut total = Flow::default();
    let mut by_day: BTreeMap<NaiveDate, Flow> = BTreeMap::new();
    let mut by_person: BTreeMap<UserId, Flow> = BTreeMap::new();
    let mut by_pool: BTreeMap<Option<PoolId>, Flow> = BTreeMap::new();
    for r in rows {
        let (person, add): (Option<UserId>, fn(&mut Flow)) = match r.action.as_str() {
            "release" => (r.from_user, |f| f.put_in += 1),
            "reclaim" => (r.from_user, |f| {
                f.put_in += 1;
                f.reclaimed += 1;
            }),
            "claim" => (r.to_user, |f| f.claimed += 1),
            // Entered or imported without an owner: into a pool.
            _ if r.to_user.is_none() => (r.actor_id, |f| f.put_in += 1),
            _ => continue,
        };
        let day = periods::stats_date(r.at, zone);
        add(&mut total);
        add(by_day.entry(day).or_default());
        add(by_pool.entry(r.pool_id).or_default());
        if let Some(u) = person {
            add(by_person.entry(u).or_default());
        }
    }
    let names: Vec<(UserId, String)> = db_run!(db, |p| {
        sqlx::query_as("SELECT id, display_name FROM users")
            .fetch_all(p)
            .await?
    });
    let pools: Vec<(PoolId, String)> = db_run!(db, |p| {
        sqlx::query_as("SELECT id, name FROM pools")
            .fetch_all(p)
            .await?
    });
    Ok(PoolStats {
        from,
        to,
        total,
        by_day: by_day
            .into_iter()
            .map(|(day, flow)| DayFlow { day, flow })
            .collect(),
        by_person: by_person
            .into_iter()
            .map(|(user_id, flow)| PersonFlow {
                user_id,
                name: names
                    .iter()
                    .find(|(id, _)| *id == user_id)
                    .map_or_else(String::new, |(_, n)| n.clone()),
                flow,
            })
            .collect(),
        by_pool: by_pool
            .into_iter()
            .map(|(pool_id, flow)| PoolFlow {
                pool_id,
                name: pool_id
                    .and_then(|id| pools.iter().find(|(p, _)| *p == id).map(|(_, n)| n.clone())),
                flow,
            })
            .collect(),
    })
}
