//! Customer grades (A/B/C, labels in `grade_levels`): computed each month from the sales of
//! the grading window (confirmed orders less returns), overridden by a supervisor with a reason
//! (the monthly run then leaves the customer alone), and the "due for contact" list the
//! grade's frequency feeds.

use chrono::{DateTime, Utc};
use leadline_domain::pipeline::{
    GradeLevel, contact_due_at, days_late, grade_for_sales, grade_window_months, grade_window_start,
};
use leadline_domain::{Role, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::visible_customer;
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The setting that holds the grading window in months.
pub const WINDOW_KEY: &str = "customer_grade_window_months";
/// Customers graded in one transaction.
pub const BATCH: usize = 500;
/// The longest override reason.
pub const MAX_REASON: usize = 500;

/// The grade levels, highest first.
pub async fn levels(db: &Db) -> Result<Vec<GradeLevel>> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT code, label_zh, label_en, min_sales_fen, contact_every_days, position \
             FROM grade_levels ORDER BY position, code",
        )
        .fetch_all(p)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(code, label_zh, label_en, min_sales_fen, contact_every_days, position)| GradeLevel {
                code,
                label_zh,
                label_en,
                min_sales_fen,
                contact_every_days,
                position,
            },
        )
        .collect())
}

/// A change to a grade level (admin); `None` keeps the value.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LevelInput {
    pub label_zh: Option<String>,
    pub label_en: Option<String>,
    pub min_sales_fen: Option<i64>,
    pub contact_every_days: Option<i64>,
}

/// Changes a grade's labels, threshold or contact frequency (admin).
pub async fn update_level(
    db: &Db,
    viewer: &Viewer,
    code: &str,
    input: &LevelInput,
    now: DateTime<Utc>,
) -> Result<()> {
    if viewer.role != Role::Admin {
        return Err(StoreError::Forbidden);
    }
    let label = |f: &str, v: &Option<String>| -> Result<Option<String>> {
        match v.as_deref().map(str::trim) {
            None => Ok(None),
            Some(s) if s.is_empty() || s.chars().count() > 40 => {
                Err(StoreError::invalid(f, "invalid"))
            }
            Some(s) => Ok(Some(s.to_string())),
        }
    };
    let zh = label("label_zh", &input.label_zh)?;
    let en = label("label_en", &input.label_en)?;
    if input
        .min_sales_fen
        .is_some_and(|m| !(0..=leadline_domain::pipeline::MAX_AMOUNT_FEN).contains(&m))
    {
        return Err(StoreError::invalid("min_sales_fen", "out_of_range"));
    }
    if input
        .contact_every_days
        .is_some_and(|d| !(1..=365).contains(&d))
    {
        return Err(StoreError::invalid("contact_every_days", "out_of_range"));
    }
    let (code, input, actor) = (code.to_string(), input.clone(), viewer.user_id);
    in_tx!(db, |tx| async move {
        let n = tx
            .execute(
                "UPDATE grade_levels SET label_zh = COALESCE($2, label_zh), label_en = COALESCE($3, label_en), \
                 min_sales_fen = COALESCE($4, min_sales_fen), contact_every_days = COALESCE($5, contact_every_days) \
                 WHERE code = $1",
                &[
                    Arg::Text(code.clone()),
                    Arg::OptText(zh.clone()),
                    Arg::OptText(en.clone()),
                    Arg::OptI64(input.min_sales_fen),
                    Arg::OptI64(input.contact_every_days),
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        audit_grade(
            tx,
            0,
            actor,
            "grade_level",
            json!({"code": code, "label_zh": zh, "label_en": en,
            "min_sales_fen": input.min_sales_fen, "contact_every_days": input.contact_every_days}),
            now,
        )
        .await
    })
}

/// Whether there is any customer to grade (a database without customers queues no run).
pub async fn has_work(db: &Db) -> Result<bool> {
    let found: Option<i64> = db_run!(db, |p| {
        sqlx::query_scalar(
            "SELECT id FROM customers WHERE deleted_at IS NULL AND NOT grade_overridden LIMIT 1",
        )
        .fetch_optional(p)
        .await?
    });
    Ok(found.is_some())
}

/// What a grading run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GradingReport {
    /// Customers graded (overridden ones are skipped).
    pub graded: u64,
    /// Of those, whose grade changed (a `grade` event each).
    pub changed: u64,
}

/// Grades every live customer not overridden from its sales in the window ending at `now`
/// (confirmed orders by `confirmed_at`, less returns by `returned_at`), sets when its next
/// contact is due by the new grade's frequency and writes a `grade` event where the grade
/// changed. Idempotent: a second run at the same `now` changes nothing.
pub async fn run_grading(db: &Db, now: DateTime<Utc>) -> Result<GradingReport> {
    let levels = levels(db).await?;
    let stored = crate::workday::config::int_setting(db, WINDOW_KEY, 0).await?;
    let months = grade_window_months(Some(&stored.to_string()));
    let start = grade_window_start(now, months);
    type SalesRow = (i64, Option<String>, Option<DateTime<Utc>>, i64);
    let rows: Vec<SalesRow> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT c.id, c.grade, c.last_contact_at, \
               CAST(COALESCE((SELECT SUM(o.total_fen) FROM orders o WHERE o.customer_id = c.id \
                  AND o.status = 'confirmed' AND o.confirmed_at >= $1 AND o.confirmed_at < $2), 0) \
               - COALESCE((SELECT SUM(r.amount_fen) FROM returns r JOIN orders o ON o.id = r.order_id \
                  WHERE r.customer_id = c.id AND o.status = 'confirmed' AND r.returned_at >= $1 \
                  AND r.returned_at < $2), 0) AS BIGINT) \
             FROM customers c WHERE c.deleted_at IS NULL AND NOT c.grade_overridden ORDER BY c.id",
        )
        .bind(start)
        .bind(now)
        .fetch_all(p)
        .await?
    });
    let rules = crate::ownership::countdown::rules(db).await?;
    let mut report = GradingReport::default();
    for chunk in rows.chunks(BATCH) {
        let (chunk, levels, rules) = (chunk.to_vec(), levels.clone(), rules.clone());
        let (graded, changed) = in_tx!(db, |tx| async move {
            let mut changed = 0u64;
            for (id, old, last, sales) in &chunk {
                let level = grade_for_sales(*sales, &levels);
                let new = level.map(|l| l.code.clone());
                let due = level.map(|l| contact_due_at(*last, now, l.contact_every_days));
                tx.execute(
                    "UPDATE customers SET grade = $2, graded_at = $3, graded_by = NULL, grade_reason = NULL, \
                     contact_due_at = $4 WHERE id = $1 AND NOT grade_overridden",
                    &[Arg::I64(*id), Arg::OptText(new.clone()), Arg::Time(now), Arg::OptTime(due)],
                )
                .await?;
                if *old != new {
                    changed += 1;
                    grade_event(tx, *id, old.clone(), new, None, None, now).await?;
                    refresh_linked_leads(tx, &rules, *id).await?;
                }
            }
            Ok((chunk.len() as u64, changed))
        })?;
        report.graded += graded;
        report.changed += changed;
    }
    Ok(report)
}

/// Sets a customer's grade by hand (supervisor or admin) with a reason: kept by the monthly
/// run until cleared; its next contact falls due by the grade's frequency. A customer the
/// viewer cannot see is `NotFound`; an agent or a sales rep is `Forbidden`.
pub async fn override_grade(
    db: &Db,
    viewer: &Viewer,
    customer: i64,
    grade: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let reason = reason.trim();
    let levels = levels(db).await?;
    let level = levels
        .iter()
        .find(|l| l.code == grade.trim())
        .cloned()
        .ok_or_else(|| StoreError::invalid("grade", "unknown"))?;
    let reason = reason.to_string();
    let viewer = viewer.clone();
    let rules = crate::ownership::countdown::rules(db).await?;
    in_tx!(db, |tx| async move {
        if crate::customers::access(tx, &viewer, leadline_domain::CustomerId(customer)).await?
            == leadline_domain::Access::Hidden
        {
            return Err(StoreError::NotFound);
        }
        if !viewer.role.manages_leads() {
            return Err(StoreError::Forbidden);
        }
        if reason.is_empty() {
            return Err(StoreError::invalid("reason", "required"));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(StoreError::invalid("reason", "too_long"));
        }
        let row = tx
            .fetch_one(
                "SELECT grade, last_contact_at FROM customers WHERE id = $1",
                &[Arg::I64(customer)],
            )
            .await?;
        let old = row.opt_text(0)?;
        let due = contact_due_at(row.opt_time(1)?, now, level.contact_every_days);
        tx.execute(
            "UPDATE customers SET grade = $2, grade_overridden = TRUE, grade_reason = $3, graded_at = $4, \
             graded_by = $5, contact_due_at = $6, updated_at = $4 WHERE id = $1",
            &[
                Arg::I64(customer),
                Arg::Text(level.code.clone()),
                Arg::Text(reason.clone()),
                Arg::Time(now),
                Arg::I64(viewer.user_id.0),
                Arg::Time(due),
            ],
        )
        .await?;
        grade_event(
            tx,
            customer,
            old,
            Some(level.code.clone()),
            Some(viewer.user_id),
            Some(reason.clone()),
            now,
        )
        .await?;
        refresh_linked_leads(tx, &rules, customer).await?;
        audit_grade(
            tx,
            customer,
            viewer.user_id,
            "grade_override",
            json!({"grade": level.code, "reason": reason}),
            now,
        )
        .await
    })
}

/// Gives a customer's grade back to the monthly computation (supervisor or admin); the grade
/// stays until the next run.
pub async fn clear_override(
    db: &Db,
    viewer: &Viewer,
    customer: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let viewer = viewer.clone();
    in_tx!(db, |tx| async move {
        if crate::customers::access(tx, &viewer, leadline_domain::CustomerId(customer)).await?
            == leadline_domain::Access::Hidden
        {
            return Err(StoreError::NotFound);
        }
        if !viewer.role.manages_leads() {
            return Err(StoreError::Forbidden);
        }
        tx.execute(
            "UPDATE customers SET grade_overridden = FALSE, updated_at = $2 WHERE id = $1",
            &[Arg::I64(customer), Arg::Time(now)],
        )
        .await?;
        audit_grade(
            tx,
            customer,
            viewer.user_id,
            "grade_override_cleared",
            json!({}),
            now,
        )
        .await
    })
}

/// The reclaim rules may name a grade: the countdowns of the leads converted into `customer`
/// follow its new grade, in the same transaction.
async fn refresh_linked_leads(
    tx: &mut impl Tx,
    rules: &[leadline_domain::ownership::ReclaimRule],
    customer: i64,
) -> Result<()> {
    let mut after = 0;
    while let Some(row) = tx
        .fetch_optional(
            "SELECT id FROM leads WHERE customer_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT 1",
            &[Arg::I64(customer), Arg::I64(after)],
        )
        .await?
    {
        after = row.i64(0)?;
        crate::ownership::countdown::refresh(tx, rules, leadline_domain::LeadId(after)).await?;
    }
    Ok(())
}

async fn grade_event(
    tx: &mut impl Tx,
    customer: i64,
    from: Option<String>,
    to: Option<String>,
    actor: Option<UserId>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO customer_events (customer_id, at, action, actor_id, from_value, to_value, reason) \
         VALUES ($1, $2, 'grade', $3, $4, $5, $6)",
        &[
            Arg::I64(customer),
            Arg::Time(now),
            Arg::OptI64(actor.map(|a| a.0)),
            Arg::OptText(from),
            Arg::OptText(to),
            Arg::OptText(reason),
        ],
    )
    .await?;
    Ok(())
}

async fn audit_grade(
    tx: &mut impl Tx,
    customer: i64,
    actor: UserId,
    action: &'static str,
    after: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "customer",
            entity_id: customer,
            actor: Some(actor),
            action,
            before: None,
            after: Some(after),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(())
}

/// A customer late for contact.
#[derive(Debug, Clone, Serialize)]
pub struct Due {
    pub customer_id: i64,
    pub customer_name: String,
    pub grade: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub contact_due_at: DateTime<Utc>,
    pub days_late: i64,
}

/// The customers `viewer` may see whose next contact was due by `now`, by owner and then the
/// longest late first; only `owner`'s with one.
pub async fn due_for_contact(
    db: &Db,
    viewer: &Viewer,
    owner: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Vec<Due>> {
    let mut sql = format!(
        "SELECT c.id, c.name, c.grade, c.owner_id, u.display_name, c.last_contact_at, c.contact_due_at \
         FROM customers c LEFT JOIN users u ON u.id = c.owner_id \
         WHERE c.deleted_at IS NULL AND c.contact_due_at <= $1 AND c.status <> 'lost' AND {}",
        visible_customer(viewer, "c")
    );
    if let Some(o) = owner {
        sql.push_str(&format!(" AND c.owner_id = {}", o.0));
    }
    sql.push_str(" ORDER BY u.display_name, c.owner_id, c.contact_due_at, c.id LIMIT 1000");
    type DueRow = (
        i64,
        String,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
    );
    let rows: Vec<DueRow> = db_run!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(now)
            .fetch_all(p)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(customer_id, customer_name, grade, owner_id, owner_name, last, due)| Due {
                customer_id,
                customer_name,
                grade,
                owner_id,
                owner_name,
                last_contact_at: last,
                contact_due_at: due,
                days_late: days_late(due, now),
            },
        )
        .collect())
}
