//! Demo data for the workspace: daily targets, ticker sentences and a few revisits coming due, so
//! that `serve --demo` shows a living workspace.

use chrono::TimeDelta;
use leadline_domain::calling_hours::Window;
use leadline_domain::{LeadId, Role, UserId, Viewer};
use serde_json::json;

use crate::auth::users::User;
use crate::jobs::{self, REVISIT_REMINDER};
use crate::{Db, Result, db_run, now, workday::plans, workday::ticker};

const SENTENCES: &[&str] = &[
    "每一个电话都是一次机会，今天也要加油！",
    "被拒绝不可怕，可怕的是不再拨下一个。",
    "微笑着拨号，客户听得见你的笑容。",
    "今天的坚持，是明天的业绩。",
];

/// Targets for every agent, the ticker, and per agent three revisits: overdue, due, later today.
pub async fn seed(db: &Db, admin: &User, agents: &[UserId]) -> Result<()> {
    let boss = Viewer {
        user_id: admin.id,
        role: Role::Admin,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    };
    for (i, agent) in agents.iter().enumerate() {
        plans::set_target(db, &boss, *agent, 60 + 10 * (i as i64 % 4)).await?;
    }
    for s in SENTENCES {
        ticker::create(db, admin.id, s).await?;
    }
    let t = now();
    for agent in agents {
        // Only open leads get a revisit: a closed one is never served (issue 25).
        let sql = format!(
            "SELECT id FROM leads WHERE owner_id = $1 AND deleted_at IS NULL \
             AND status NOT IN ({}) ORDER BY id LIMIT 3",
            crate::workday::next::closed_list()
        );
        let leads: Vec<LeadId> = db_run!(db, |pool| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(agent)
                .fetch_all(pool)
                .await?
        });
        let offsets = [
            TimeDelta::hours(-2),
            TimeDelta::minutes(-5),
            TimeDelta::hours(2),
        ];
        for (lead, offset) in leads.iter().zip(offsets) {
            let at = t + offset;
            db_run!(db, |pool| sqlx::query(
                "UPDATE leads SET next_revisit_at = $1, revisit_agent_id = $2 WHERE id = $3"
            )
            .bind(at)
            .bind(agent)
            .bind(lead)
            .execute(pool)
            .await?
            .rows_affected());
            jobs::enqueue(
                db,
                REVISIT_REMINDER,
                at,
                &json!({ "lead_id": lead, "agent_id": agent, "call_id": null }),
                Some(&format!("revisit:{}:demo", lead.0)),
            )
            .await?;
        }
    }
    Ok(())
}

/// `serve --demo` (issue 25): the default calling hours opened all day, every day, so that next
/// call serves a lead whenever the demo is tried (public holidays stay closed). Teams with their
/// own hours keep them. Recorded in the audit as the admin's change.
pub async fn open_calling_hours(db: &Db) -> Result<()> {
    let admin: Option<UserId> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'admin' AND active = TRUE ORDER BY id LIMIT 1"
    )
    .fetch_optional(pool)
    .await?);
    let Some(admin) = admin else { return Ok(()) };
    let all_day: Vec<Window> = (1..=7)
        .map(|weekday| Window {
            weekday,
            start_minute: 0,
            end_minute: 24 * 60,
        })
        .collect();
    crate::workday::config::set_windows(db, admin, None, &all_day).await
}
