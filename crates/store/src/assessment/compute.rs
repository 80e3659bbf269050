//! A person's month computed from the records as they are now (live figures).

use std::collections::HashMap;

use leadline_domain::commission::{self, BonusParts, CommissionRules, Line};
use leadline_domain::targets::Month;
use leadline_domain::{Role, TeamId, UserId, Viewer};

use super::{Adjustment, Assessment, rules};
use crate::targets::{Subject, progress};
use crate::{Db, Result, StoreError, db_run};

/// Commission and collections over payments with `paid_at` in [from, to) on orders `user` owns.
pub async fn commission(
    db: &Db,
    rules: &CommissionRules,
    user: UserId,
    month: Month,
) -> Result<(i64, i64)> {
    let (d0, d1) = month.days();
    let zone = crate::call_stats::org_zone(db).await?;
    let (t0, t1) = (progress::day_start(d0, zone), progress::day_start(d1, zone));
    let payments: Vec<(i64, i64)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT p.order_id, p.amount_fen FROM payments p JOIN orders o ON o.id = p.order_id \
         WHERE o.owner_id = $1 AND p.paid_at >= $2 AND p.paid_at < $3 ORDER BY p.id"
    )
    .bind(user)
    .bind(t0)
    .bind(t1)
    .fetch_all(pool)
    .await?);
    if payments.is_empty() {
        return Ok((0, 0));
    }
    let lines: Vec<(i64, i64, i64)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT l.order_id, l.product_id, l.line_total_fen FROM order_lines l WHERE l.order_id IN \
         (SELECT p.order_id FROM payments p JOIN orders o ON o.id = p.order_id \
          WHERE o.owner_id = $1 AND p.paid_at >= $2 AND p.paid_at < $3) \
         ORDER BY l.order_id, l.position, l.id"
    )
    .bind(user)
    .bind(t0)
    .bind(t1)
    .fetch_all(pool)
    .await?
    });
    let mut by_order: HashMap<i64, Vec<Line>> = HashMap::new();
    for (order, product_id, total_fen) in lines {
        by_order.entry(order).or_default().push(Line {
            product_id,
            total_fen,
        });
    }
    let mut earned = 0i64;
    let mut collected = 0i64;
    for (order, amount) in payments {
        let l = by_order.get(&order).map(Vec::as_slice).unwrap_or(&[]);
        earned = earned.saturating_add(commission::payment_commission(rules, amount, l));
        collected = collected.saturating_add(amount);
    }
    Ok((earned, collected))
}

/// Lost collision cases in the month (decisions in force) and their penalties in 分.
pub async fn penalties(db: &Db, user: UserId, month: Month) -> Result<(i64, i64)> {
    let (d0, d1) = month.days();
    let zone = crate::call_stats::org_zone(db).await?;
    let (t0, t1) = (progress::day_start(d0, zone), progress::day_start(d1, zone));
    Ok(db_run!(db, |pool| sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(penalty_fen), 0) AS BIGINT) FROM collision_ledger \
         WHERE user_id = $1 AND outcome = 'lost' AND superseded_at IS NULL AND at >= $2 AND at < $3"
    )
    .bind(user)
    .bind(t0)
    .bind(t1)
    .fetch_one(pool)
    .await?))
}

/// The month's adjustments, oldest first.
pub async fn adjustments(db: &Db, user: UserId, month: Month) -> Result<Vec<Adjustment>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT a.id, a.amount_fen, a.reason, a.created_by, u.display_name AS created_by_name, a.created_at \
         FROM assessment_adjustments a JOIN users u ON u.id = a.created_by \
         WHERE a.user_id = $1 AND a.month = $2 ORDER BY a.id"
    )
    .bind(user)
    .bind(month.to_string())
    .fetch_all(pool)
    .await?
    }))
}

/// A person's month from the records as they are now, without an access check.
pub async fn live(db: &Db, user: UserId, month: Month) -> Result<Assessment> {
    let row: Option<(String, Option<TeamId>)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT display_name, team_id FROM users WHERE id = $1"
    )
    .bind(user)
    .fetch_optional(pool)
    .await?);
    let (user_name, team_id) = row.ok_or(StoreError::NotFound)?;
    let p = progress::month_unchecked(db, Subject::User(user), month).await?;
    let (d0, d1) = month.days();
    let everyone = Viewer {
        user_id: user,
        role: Role::Admin,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    };
    let last = d1.pred_opt().unwrap_or(d1);
    let quality = crate::quality::reviews::summary(
        db,
        &everyone,
        &d0.format("%Y-%m-%d").to_string(),
        &last.format("%Y-%m-%d").to_string(),
    )
    .await?
    .into_iter()
    .find(|q| q.agent_id == user);
    let (penalty_cases, penalties_fen) = penalties(db, user, month).await?;
    let r = rules(db).await?;
    let (commission_fen, collected_fen) = commission(db, &r, user, month).await?;
    let (qualified_bonus_fen, new_customer_bonus_fen) =
        BonusParts::fixed(&r, p.done.qualified, p.done.new_customers);
    let adjustments = adjustments(db, user, month).await?;
    let bonus = BonusParts {
        commission_fen,
        qualified_bonus_fen,
        new_customer_bonus_fen,
        penalties_fen,
        adjustments_fen: adjustments.iter().map(|a| a.amount_fen).sum(),
    };
    Ok(Assessment {
        user_id: user,
        user_name,
        team_id,
        month: month.to_string(),
        target: p.target,
        done: p.done,
        quality_reviews: quality.as_ref().map_or(0, |q| q.reviews),
        quality_tenths: quality.and_then(|q| q.percent_tenths),
        penalty_cases,
        collected_fen,
        total_fen: bonus.total(),
        bonus,
        adjustments,
        locked: None,
    })
}
