//! The reclaim countdown (还剩 N 天): when an owned record returns to its pool unless followed
//! up, kept in `leads.reclaim_at` (with the rule in `reclaim_rule_id`) so that the list, the
//! card and the API show it and the reclaim job finds what is due through an index. Whatever
//! changes a fact the rules read (owner, valid follow-up, progress, deal, protection, intent,
//! source) calls [`refresh`] in the same transaction.

use chrono::{DateTime, Utc};
use leadline_domain::ownership::{
    OwnedRecord, ReclaimBasis, ReclaimDue, ReclaimRule, RecordKind, RuleScope, reclaim_due,
};
use leadline_domain::{IntentLevel, LeadId, UserId};

use super::events::{self, Action, Event};
use crate::db::sql::Arg;
use crate::db::tx::{Row, Tx};
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The facts the rules read, and the countdown now stored. The grade is the grade of the
/// customer the lead was converted into (issue 23), if any.
pub(crate) const FACTS: &str = "SELECT owner_id, company, intent, source, owned_since, last_valid_at, \
    last_progress_at, deal_at, protected_until, personal, reclaim_at, created_at, \
    (SELECT c.grade FROM customers c WHERE c.id = leads.customer_id) FROM leads WHERE id = $1";

const SET: &str = "UPDATE leads SET reclaim_at = $2, reclaim_rule_id = $3, \
    warned_days = CASE WHEN $4 THEN NULL ELSE warned_days END WHERE id = $1";

/// The active reclaim rules, as the configuration snapshot keeps them.
pub async fn rules(db: &Db) -> Result<Vec<ReclaimRule>> {
    let rows: Vec<RuleRow> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT id, basis, days, kind, intent, grade, source FROM reclaim_rules WHERE active ORDER BY id",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(RuleRow::into_rule).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct RuleRow {
    pub id: i64,
    pub basis: String,
    pub days: i64,
    pub kind: Option<String>,
    pub intent: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
}

impl RuleRow {
    pub(crate) fn into_rule(self) -> Result<ReclaimRule> {
        let corrupt = |what: String| StoreError::corrupt("reclaim_rules", self.id, what);
        let basis = ReclaimBasis::parse(&self.basis)
            .ok_or_else(|| corrupt(format!("basis {:?}", self.basis)))?;
        let kind = self
            .kind
            .as_deref()
            .map(|k| RecordKind::parse(k).ok_or_else(|| corrupt(format!("kind {k:?}"))))
            .transpose()?;
        let intent = self
            .intent
            .as_deref()
            .map(|i| IntentLevel::parse(i).ok_or_else(|| corrupt(format!("intent {i:?}"))))
            .transpose()?;
        let days = u16::try_from(self.days).map_err(|_| corrupt(format!("days {}", self.days)))?;
        Ok(ReclaimRule {
            id: self.id,
            basis,
            days,
            scope: RuleScope {
                kind,
                intent,
                grade: self.grade,
                source: self.source,
            },
        })
    }
}

/// The countdown of the lead in `row` (read with [`FACTS`]); `None` without an owner, for the
/// owner's friends and family, or when no rule applies.
pub(crate) fn due_of(row: &Row, rules: &[ReclaimRule]) -> Result<Option<ReclaimDue>> {
    if row.opt_i64(0)?.is_none() || row.bool(9)? {
        return Ok(None);
    }
    let record = OwnedRecord {
        kind: RecordKind::of(row.opt_text(1)?.as_deref()),
        intent: row.opt_text(2)?.as_deref().and_then(IntentLevel::parse),
        grade: row.opt_text(12)?,
        source: row.opt_text(3)?,
        owned_since: row.opt_time(4)?.unwrap_or(row.time(11)?),
        last_valid_follow_up: row.opt_time(5)?,
        last_progress: row.opt_time(6)?,
        has_deal: row.opt_time(7)?.is_some(),
        protected_until: row.opt_time(8)?,
    };
    Ok(reclaim_due(&record, rules))
}

/// Recomputes the countdown of `lead` from its stored facts, in the caller's transaction, and
/// returns it. A countdown that moved forgets the warnings sent for the old one.
pub(crate) async fn refresh(
    tx: &mut impl Tx,
    rules: &[ReclaimRule],
    lead: LeadId,
) -> Result<Option<ReclaimDue>> {
    let Some(row) = tx.fetch_optional(FACTS, &[Arg::I64(lead.0)]).await? else {
        return Err(StoreError::NotFound);
    };
    let due = due_of(&row, rules)?;
    let stored: Option<DateTime<Utc>> = row.opt_time(10)?;
    let at = due.map(|d| d.at);
    if at != stored || due.is_none() {
        tx.execute(
            SET,
            &[
                Arg::I64(lead.0),
                Arg::OptTime(at),
                Arg::OptI64(due.map(|d| d.rule_id)),
                Arg::Bool(at != stored),
            ],
        )
        .await?;
    }
    Ok(due)
}

/// Gives the owned records that have no start yet (`owned_since` NULL: owned before ownership
/// was tracked, or written by a bulk path that leaves it to this) a start, a countdown and the
/// first line of their ownership history: owned since their last call, or their creation, by
/// whoever created or imported them. Runs at start-up after the migrations and at each reclaim
/// pass; does nothing when there is nothing to do. Returns how many records it set.
pub async fn backfill(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    let mut rules: Option<Vec<ReclaimRule>> = None;
    let mut total = 0;
    loop {
        let ids: Vec<i64> = db_run!(db, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM leads WHERE owner_id IS NOT NULL AND owned_since IS NULL ORDER BY id LIMIT 1000",
            )
            .fetch_all(pool)
            .await?
        });
        if ids.is_empty() {
            return Ok(total);
        }
        let rules = match &rules {
            Some(r) => r.clone(),
            None => rules.insert(self::rules(db).await?).clone(),
        };
        total += ids.len() as u64;
        in_tx!(db, |tx| backfill_batch(tx, rules, ids, now))?;
    }
}

const START: &str = "UPDATE leads SET owned_since = COALESCE(last_called_at, created_at, $2) \
    WHERE id = $1 AND owner_id IS NOT NULL AND owned_since IS NULL \
    RETURNING owner_id, owned_since, created_by, CAST(CASE WHEN import_id IS NULL THEN 0 ELSE 1 END AS BIGINT)";

const HAS_HISTORY: &str = "SELECT 1 FROM ownership_events WHERE lead_id = $1 LIMIT 1";

async fn backfill_batch(
    tx: &mut impl Tx,
    rules: Vec<ReclaimRule>,
    ids: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    for id in ids {
        // Another server may have started it meanwhile: then nothing comes back.
        let Some(row) = tx
            .fetch_optional(START, &[Arg::I64(id), Arg::Time(now)])
            .await?
        else {
            continue;
        };
        let action = if row.i64(3)? == 1 {
            Action::Import
        } else {
            Action::Create
        };
        let event = Event {
            to: row.opt_i64(0)?.map(UserId),
            actor: row.opt_i64(2)?.map(UserId),
            ..Event::new(LeadId(id), row.time(1)?, action)
        };
        // An import's batch already wrote the first line of some (a referral, a company join).
        if tx
            .fetch_optional(HAS_HISTORY, &[Arg::I64(id)])
            .await?
            .is_none()
        {
            events::record(tx, &event).await?;
        }
        refresh(tx, &rules, LeadId(id)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
