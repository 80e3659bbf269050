//! Reclaim rules (回收规则) and the reclaim job: the rules an admin keeps, the warning days, a
//! supervisor's protection, and the pass that warns owners and returns due records to their pool,
//! once across servers.
//!
//! A change of rules recomputes the countdown (`leads.reclaim_at`) of the owned records it may
//! touch in batches ([`recount`]); the pass ([`pass::run_pass`]) reads only what the countdown
//! index says is due.

pub mod pass;
pub mod protection;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use leadline_domain::ownership::{MAX_RECLAIM_DAYS, ReclaimBasis, ReclaimRule, RuleScope};
use leadline_domain::{LeadId, UserId};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::ownership::countdown;
use crate::workday::config;
use crate::{Db, Result, StoreError, db_run, in_tx};

pub use pass::{PassReport, run_pass};

/// Records changed in one transaction by the pass and the recount: short enough that an agent's
/// call is never held up for long (SQLite has one writer).
pub const BATCH: usize = 500;
/// The setting with the warning days before a reclaim, e.g. "3,1".
pub const WARN_DAYS_KEY: &str = "reclaim_warn_days";
pub const DEFAULT_WARN_DAYS: &str = "3,1";
/// At most this many warnings before one reclaim.
const MAX_WARNINGS: usize = 5;

/// Runs a transaction body written against [`Tx`] like `in_tx!`, but as work nobody waits on:
/// on SQLite the writer serves agents' calls before it.
macro_rules! in_background_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite(pool) => {
                $crate::db::sqlite_writer::run_background(pool, move |conn| {
                    let $tx = &mut $crate::db::tx::SqliteTx(conn);
                    $crate::db::tx::run_ready($body)
                })
                .await
            }
            $crate::Db::Postgres(pool) => {
                async {
                    let mut pg = pool.begin().await?;
                    let out = {
                        let $tx = &mut $crate::db::tx::PgTx(&mut pg);
                        $body.await?
                    };
                    pg.commit().await?;
                    $crate::Result::Ok(out)
                }
                .await
            }
        }
    };
}
pub(crate) use in_background_tx;

/// A rule as an admin writes it (the id is the store's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    pub basis: ReclaimBasis,
    pub days: u16,
    pub scope: RuleScope,
}

impl RuleInput {
    /// Checks the days (1 to [`MAX_RECLAIM_DAYS`]) and trims the free-text scope fields (an
    /// empty one matches every record).
    pub fn checked(mut self) -> Result<RuleInput> {
        if !(1..=MAX_RECLAIM_DAYS).contains(&self.days) {
            return Err(StoreError::invalid("days", "out_of_range"));
        }
        let tidy = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        self.scope.grade = tidy(self.scope.grade);
        self.scope.source = tidy(self.scope.source);
        Ok(self)
    }

    fn args(&self) -> Vec<Arg> {
        vec![
            Arg::Text(self.basis.code().into()),
            Arg::I64(i64::from(self.days)),
            Arg::OptText(self.scope.kind.map(|k| k.code().into())),
            Arg::OptText(self.scope.intent.map(|i| i.code().into())),
            Arg::OptText(self.scope.grade.clone()),
            Arg::OptText(self.scope.source.clone()),
        ]
    }
}

/// The active rules, oldest first.
pub async fn list_rules(db: &Db) -> Result<Vec<ReclaimRule>> {
    countdown::rules(db).await
}

/// One active rule.
pub async fn rule(db: &Db, id: i64) -> Result<ReclaimRule> {
    list_rules(db)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(StoreError::NotFound)
}

fn audit_entry(
    id: i64,
    actor: UserId,
    action: &'static str,
    before: Option<&ReclaimRule>,
    after: Option<&ReclaimRule>,
    at: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        entity: "reclaim_rule",
        entity_id: id,
        actor: Some(actor),
        action,
        before: before.map(|r| json!(r)),
        after: after.map(|r| json!(r)),
        at,
    }
}

/// Adds a rule; the caller then recounts the records it may touch ([`recount`]).
pub async fn create_rule(
    db: &Db,
    actor: UserId,
    input: RuleInput,
    now: DateTime<Utc>,
) -> Result<ReclaimRule> {
    let input = input.checked()?;
    let rule = in_tx!(db, |tx| create_body(tx, input, actor, now))?;
    config::invalidate();
    Ok(rule)
}

async fn create_body(
    tx: &mut impl Tx,
    input: RuleInput,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<ReclaimRule> {
    let row = tx
        .fetch_one(
            "INSERT INTO reclaim_rules (basis, days, kind, intent, grade, source, active) \
             VALUES ($1, $2, $3, $4, $5, $6, TRUE) RETURNING id",
            &input.args(),
        )
        .await?;
    let rule = ReclaimRule {
        id: row.i64(0)?,
        basis: input.basis,
        days: input.days,
        scope: input.scope,
    };
    let entry = audit_entry(rule.id, actor, "create", None, Some(&rule), now);
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(rule)
}

/// Changes a rule; returns it before and after (recount both scopes).
pub async fn update_rule(
    db: &Db,
    actor: UserId,
    id: i64,
    input: RuleInput,
    now: DateTime<Utc>,
) -> Result<(ReclaimRule, ReclaimRule)> {
    let input = input.checked()?;
    let before = rule(db, id).await?;
    let after = ReclaimRule {
        id,
        basis: input.basis,
        days: input.days,
        scope: input.scope.clone(),
    };
    let (b, a) = (before.clone(), after.clone());
    in_tx!(db, |tx| update_body(tx, input, b, a, actor, now))?;
    config::invalidate();
    Ok((before, after))
}

async fn update_body(
    tx: &mut impl Tx,
    input: RuleInput,
    before: ReclaimRule,
    after: ReclaimRule,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut args = input.args();
    args.push(Arg::I64(after.id));
    let n = tx
        .execute(
            "UPDATE reclaim_rules SET basis = $1, days = $2, kind = $3, intent = $4, grade = $5, \
             source = $6 WHERE id = $7 AND active",
            &args,
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let entry = audit_entry(after.id, actor, "update", Some(&before), Some(&after), now);
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(())
}

/// Retires a rule (kept, inactive, so that the ownership history still names the rule that
/// fired); returns it (recount its scope).
pub async fn delete_rule(
    db: &Db,
    actor: UserId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<ReclaimRule> {
    let before = rule(db, id).await?;
    let b = before.clone();
    in_tx!(db, |tx| delete_body(tx, b, actor, now))?;
    config::invalidate();
    Ok(before)
}

async fn delete_body(
    tx: &mut impl Tx,
    before: ReclaimRule,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = tx
        .execute(
            "UPDATE reclaim_rules SET active = FALSE WHERE id = $1 AND active",
            &[Arg::I64(before.id)],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let entry = audit_entry(before.id, actor, "delete", Some(&before), None, now);
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(())
}

/// The SQL condition (on `leads`) for the owned records any of `scopes` may match, with its
/// arguments from `$2` on; `None` when one scope matches every record. Grade is not a lead
/// column yet, so it does not narrow.
fn scope_filter(scopes: &[RuleScope]) -> Option<(String, Vec<Arg>)> {
    let mut ors = Vec::new();
    let mut args = Vec::new();
    for s in scopes {
        let mut ands = Vec::new();
        match s.kind {
            Some(leadline_domain::ownership::RecordKind::Company) => {
                ands.push("(company IS NOT NULL AND TRIM(company) <> '')".to_string())
            }
            Some(leadline_domain::ownership::RecordKind::Phone) => {
                ands.push("(company IS NULL OR TRIM(company) = '')".to_string())
            }
            None => {}
        }
        if let Some(i) = s.intent {
            args.push(Arg::Text(i.code().into()));
            ands.push(format!("intent = ${}", args.len() + 1));
        }
        if let Some(src) = &s.source {
            args.push(Arg::Text(src.clone()));
            ands.push(format!("source = ${}", args.len() + 1));
        }
        if ands.is_empty() {
            return None;
        }
        ors.push(format!("({})", ands.join(" AND ")));
    }
    Some((format!(" AND ({})", ors.join(" OR ")), args))
}

/// Recomputes, in batches of [`BATCH`], the countdown of every owned record that one of
/// `scopes` may match (after a rule changed: its old and new scope), with the rules as stored
/// now. Returns how many records it looked at.
pub async fn recount(db: &Db, scopes: &[RuleScope]) -> Result<u64> {
    let rules = countdown::rules(db).await?;
    let (filter, filter_args) = scope_filter(scopes).unwrap_or_default();
    let sql = format!(
        "SELECT id FROM leads WHERE owner_id IS NOT NULL AND id > $1{filter} ORDER BY id LIMIT {BATCH}"
    );
    let mut after = 0_i64;
    let mut total = 0;
    loop {
        let mut args = vec![Arg::I64(after)];
        args.extend(filter_args.iter().cloned());
        let ids: Vec<i64> = db_run!(db, |pool| {
            let q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
            crate::bind_args!(q, args).fetch_all(pool).await?
        });
        let Some(&last) = ids.last() else {
            return Ok(total);
        };
        after = last;
        total += ids.len() as u64;
        let rules = rules.clone();
        in_background_tx!(db, |tx| recount_batch(tx, rules, ids))?;
    }
}

async fn recount_batch(tx: &mut impl Tx, rules: Vec<ReclaimRule>, ids: Vec<i64>) -> Result<()> {
    for id in ids {
        countdown::refresh(tx, &rules, LeadId(id)).await?;
    }
    Ok(())
}

/// Parses the warning days setting ("3,1"): whole days from 1 to [`MAX_RECLAIM_DAYS`], at most
/// five, largest first, no repeats; "" means no warnings.
pub fn parse_warn_days(s: &str) -> Option<Vec<u16>> {
    let mut days = Vec::new();
    for part in s.split([',', '，', ' ']).filter(|p| !p.trim().is_empty()) {
        let d: u16 = part.trim().parse().ok()?;
        if !(1..=MAX_RECLAIM_DAYS).contains(&d) {
            return None;
        }
        days.push(d);
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    (days.len() <= MAX_WARNINGS).then_some(days)
}

/// The warning days, largest first. A stored value that does not parse is an error, never
/// silently the default.
pub async fn warn_days(db: &Db) -> Result<Vec<u16>> {
    let stored: Option<sqlx::types::Json<serde_json::Value>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(WARN_DAYS_KEY)
            .fetch_optional(pool)
            .await?
    });
    let text = match stored {
        None => DEFAULT_WARN_DAYS.to_string(),
        Some(j) => match j.0 {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
    };
    parse_warn_days(&text).ok_or_else(|| StoreError::corrupt("settings", 0, WARN_DAYS_KEY))
}

/// Sets the warning days (audited).
pub async fn set_warn_days(db: &Db, actor: UserId, days: &[u16], now: DateTime<Utc>) -> Result<()> {
    let text = days
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if parse_warn_days(&text).is_none() {
        return Err(StoreError::invalid(WARN_DAYS_KEY, "invalid"));
    }
    in_tx!(db, |tx| set_setting_body(
        tx,
        WARN_DAYS_KEY,
        json!(text),
        actor,
        now
    ))?;
    config::invalidate();
    Ok(())
}

pub(crate) async fn set_setting_body(
    tx: &mut impl Tx,
    key: &'static str,
    value: serde_json::Value,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        &[
            Arg::Text(key.into()),
            Arg::Json(value.clone()),
            Arg::Time(now),
        ],
    )
    .await?;
    let entry = AuditEntry {
        entity: "setting",
        entity_id: 0,
        actor: Some(actor),
        action: "update",
        before: None,
        after: Some(json!({ key: value })),
        at: now,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(())
}
