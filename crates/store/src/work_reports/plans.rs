//! Work plans (工作计划表, 周 / 月计划表): a person's plan for a week or a month — free text
//! items and goal figures — submitted for approval by a supervisor of their team (or an admin),
//! who approves or rejects it with a comment; both sides are notified, and every plan stays in
//! the person's history. A rejected plan may be submitted again (it goes back to `submitted`);
//! an approved one is settled (409 `plan_approved`).

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::targets::{MAX_COUNT, MAX_FEN, PlanPeriod};
use leadline_domain::{Role, UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;

use super::{Standing, standing, text};
use crate::{Db, Result, StoreError, db_run};

pub const PLAN_SUBMITTED: &str = "work_plan_submitted";
pub const PLAN_DECIDED: &str = "work_plan_decided";

/// A plan's goal figures. Amounts in 分.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub struct Goals {
    #[serde(default)]
    pub calls: i64,
    #[serde(default)]
    pub valid_conversations: i64,
    #[serde(default)]
    pub qualified: i64,
    #[serde(default)]
    pub new_customers: i64,
    #[serde(default)]
    pub visits: i64,
    #[serde(default)]
    pub orders: i64,
    #[serde(default)]
    pub revenue_fen: i64,
}

impl Goals {
    fn check(&self) -> Result<()> {
        let counts = [
            ("goals.calls", self.calls),
            ("goals.valid_conversations", self.valid_conversations),
            ("goals.qualified", self.qualified),
            ("goals.new_customers", self.new_customers),
            ("goals.visits", self.visits),
            ("goals.orders", self.orders),
        ];
        for (field, v) in counts {
            if !(0..=MAX_COUNT).contains(&v) {
                return Err(StoreError::invalid(field, "out_of_range"));
            }
        }
        if !(0..=MAX_FEN).contains(&self.revenue_fen) {
            return Err(StoreError::invalid("goals.revenue_fen", "out_of_range"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// `week` or `month`.
    pub period: String,
    /// The first day: a Monday for a week, the 1st for a month ('YYYY-MM-DD').
    pub period_start: String,
    #[serde(default)]
    pub items: String,
    #[serde(default)]
    pub goals: Goals,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkPlan {
    pub id: i64,
    pub user_id: UserId,
    pub user_name: String,
    pub period: String,
    pub period_start: String,
    pub items: String,
    pub goals: Goals,
    /// submitted | approved | rejected
    pub status: String,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub version: i64,
    pub submitted_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: UserId,
    user_name: String,
    period: String,
    period_start: String,
    items: String,
    calls: i64,
    valid_conversations: i64,
    qualified: i64,
    new_customers: i64,
    visits: i64,
    orders: i64,
    revenue_fen: i64,
    status: String,
    decided_by_name: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    decision_note: Option<String>,
    version: i64,
    submitted_at: DateTime<Utc>,
}

impl From<Row> for WorkPlan {
    fn from(r: Row) -> WorkPlan {
        WorkPlan {
            id: r.id,
            user_id: r.user_id,
            user_name: r.user_name,
            period: r.period,
            period_start: r.period_start,
            items: r.items,
            goals: Goals {
                calls: r.calls,
                valid_conversations: r.valid_conversations,
                qualified: r.qualified,
                new_customers: r.new_customers,
                visits: r.visits,
                orders: r.orders,
                revenue_fen: r.revenue_fen,
            },
            status: r.status,
            decided_by_name: r.decided_by_name,
            decided_at: r.decided_at,
            decision_note: r.decision_note,
            version: r.version,
            submitted_at: r.submitted_at,
        }
    }
}

const SELECT: &str = "SELECT p.id, p.user_id, u.display_name AS user_name, p.period, p.period_start, p.items, \
    p.goal_calls AS calls, p.goal_valid_conversations AS valid_conversations, p.goal_qualified AS qualified, \
    p.goal_new_customers AS new_customers, p.goal_visits AS visits, p.goal_orders AS orders, \
    p.goal_revenue_fen AS revenue_fen, p.status, d.display_name AS decided_by_name, p.decided_at, \
    p.decision_note, p.version, p.submitted_at \
    FROM work_plans p JOIN users u ON u.id = p.user_id LEFT JOIN users d ON d.id = p.decided_by";

async fn by_id(db: &Db, id: i64) -> Result<WorkPlan> {
    let sql = format!("{SELECT} WHERE p.id = $1");
    let row: Option<Row> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(WorkPlan::from).ok_or(StoreError::NotFound)
}

/// One plan, for the person, their team's supervisors and admins (404 otherwise).
pub async fn get(db: &Db, viewer: &Viewer, id: i64) -> Result<WorkPlan> {
    let plan = by_id(db, id).await?;
    standing(db, viewer, plan.user_id).await?;
    Ok(plan)
}

/// Plans `viewer` may see, newest period first: a person's history (`user`), or, without one,
/// their own plus those of the teams they supervise (every plan for an admin); `status`
/// narrows.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    user: Option<UserId>,
    status: Option<&str>,
) -> Result<Vec<WorkPlan>> {
    if let Some(s) = status
        && !matches!(s, "submitted" | "approved" | "rejected")
    {
        return Err(StoreError::invalid("status", "unknown"));
    }
    // Ids are integers: formatting them into the text cannot inject anything.
    let whose = match user {
        Some(u) => {
            standing(db, viewer, u).await?;
            format!("p.user_id = {}", u.0)
        }
        None if viewer.role == Role::Admin => "TRUE".to_string(),
        None if viewer.supervised_teams.is_empty() => format!("p.user_id = {}", viewer.user_id.0),
        None => {
            let teams: Vec<String> = viewer
                .supervised_teams
                .iter()
                .map(|t| t.0.to_string())
                .collect();
            format!(
                "(p.user_id = {} OR u.team_id IN ({}))",
                viewer.user_id.0,
                teams.join(",")
            )
        }
    };
    let sql = format!(
        "{SELECT} WHERE {whose} AND ($1 = '' OR p.status = $1) \
         ORDER BY p.period_start DESC, p.period, p.id DESC LIMIT 500"
    );
    let rows: Vec<Row> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status.unwrap_or(""))
        .fetch_all(pool)
        .await?);
    Ok(rows.into_iter().map(WorkPlan::from).collect())
}

/// Submits the viewer's own plan for a period (or submits a rejected one again); the
/// supervisors of their team (admins when the team has none) are notified.
pub async fn submit(
    db: &Db,
    viewer: &Viewer,
    input: &PlanInput,
    now: DateTime<Utc>,
) -> Result<WorkPlan> {
    let period =
        PlanPeriod::parse(&input.period).ok_or_else(|| StoreError::invalid("period", "unknown"))?;
    let start = NaiveDate::parse_from_str(&input.period_start, "%Y-%m-%d")
        .ok()
        .filter(|d| period.is_start(*d))
        .ok_or_else(|| StoreError::invalid("period_start", "not_a_period_start"))?;
    let items = text("items", &input.items, true)?;
    input.goals.check()?;
    let g = input.goals;
    let start = start.format("%Y-%m-%d").to_string();
    const UPSERT: &str = "INSERT INTO work_plans (user_id, period, period_start, items, goal_calls, \
        goal_valid_conversations, goal_qualified, goal_new_customers, goal_visits, goal_orders, goal_revenue_fen, \
        status, version, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'submitted', 1, $12) \
        ON CONFLICT (user_id, period, period_start) DO UPDATE SET items = $4, goal_calls = $5, \
        goal_valid_conversations = $6, goal_qualified = $7, goal_new_customers = $8, goal_visits = $9, \
        goal_orders = $10, goal_revenue_fen = $11, status = 'submitted', decided_by = NULL, decided_at = NULL, \
        decision_note = NULL, version = work_plans.version + 1, submitted_at = $12 \
        WHERE work_plans.status <> 'approved' RETURNING id";
    const NOTIFY_SUPERVISORS: &str = "INSERT INTO notifications (user_id, kind, payload, created_at) \
        SELECT ts.user_id, $2, $3, $4 FROM team_supervisors ts JOIN users r ON r.team_id = ts.team_id \
        JOIN users s ON s.id = ts.user_id WHERE r.id = $1 AND s.active = TRUE AND s.id <> $1";
    const NOTIFY_ADMINS: &str = "INSERT INTO notifications (user_id, kind, payload, created_at) \
        SELECT id, $2, $3, $4 FROM users WHERE role = 'admin' AND active = TRUE AND id <> $1";
    let me = viewer.user_id;
    let id: Option<i64> = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(UPSERT)
            .bind(me)
            .bind(period.as_str())
            .bind(&start)
            .bind(&items)
            .bind(g.calls)
            .bind(g.valid_conversations)
            .bind(g.qualified)
            .bind(g.new_customers)
            .bind(g.visits)
            .bind(g.orders)
            .bind(g.revenue_fen)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = id {
            let payload =
                Json(json!({ "plan_id": id, "period": period.as_str(), "period_start": start }));
            let n = sqlx::query(NOTIFY_SUPERVISORS)
                .bind(me)
                .bind(PLAN_SUBMITTED)
                .bind(&payload)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                sqlx::query(NOTIFY_ADMINS)
                    .bind(me)
                    .bind(PLAN_SUBMITTED)
                    .bind(&payload)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        crate::notify::announce(db, crate::notify::Change::notice(None));
        id
    });
    by_id(db, id.ok_or(StoreError::Conflict("plan_approved"))?).await
}

/// Approves or rejects a submitted plan (a note is required to reject); the person is
/// notified. The person themself may not decide (403); 409 `plan_decided` when it is no longer
/// waiting.
pub async fn decide(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    approve: bool,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<WorkPlan> {
    let plan = by_id(db, id).await?;
    let (_, stand) = standing(db, viewer, plan.user_id).await?;
    if stand != Standing::Supervises {
        return Err(StoreError::Forbidden);
    }
    let note = text("note", note.unwrap_or(""), !approve)?;
    let status = if approve { "approved" } else { "rejected" };
    let n = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(
            "UPDATE work_plans SET status = $2, decided_by = $3, decided_at = $4, decision_note = $5 \
             WHERE id = $1 AND status = 'submitted' AND version = $6",
        )
        .bind(id)
        .bind(status)
        .bind(viewer.user_id)
        .bind(now)
        .bind(Some(note.as_str()).filter(|n| !n.is_empty()))
        .bind(plan.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            sqlx::query(
                "INSERT INTO notifications (user_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(plan.user_id)
            .bind(PLAN_DECIDED)
            .bind(Json(json!({ "plan_id": id, "status": status })))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        crate::notify::announce(db, crate::notify::Change::notice(None));
        n
    });
    if n == 0 {
        return Err(StoreError::Conflict("plan_decided"));
    }
    by_id(db, id).await
}
