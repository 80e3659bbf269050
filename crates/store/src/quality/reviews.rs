//! A supervisor's review of one call (质检): each active checklist item scored, a comment, the
//! agent notified. Who may see a call's review: the agent who made the call, the supervisors of
//! the agent's team and admins; who may score it: those supervisors (not their own calls) and
//! admins. Anyone else is told the call does not exist.

use chrono::{DateTime, Utc};
use leadline_domain::quality::{
    self, Band, GivenScore, ScoreProblem, check_scores, percent_tenths,
};
use leadline_domain::{LeadId, Role, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::{Arg, Sql};
use crate::db::tx::{Tx, for_update};
use crate::{Db, Result, StoreError, bind_args, db_run, in_tx};

/// The longest comment kept.
pub const MAX_COMMENT: usize = 2000;

/// The most calls a queue lists.
pub const MAX_QUEUE: i64 = 300;

/// The notification kind an agent receives when a call of theirs is reviewed.
pub const REVIEWED: &str = "qc_reviewed";

/// One item of a review, with its label.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReviewItem {
    pub item_id: i64,
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    pub score: i64,
    pub max_score: i64,
}

/// A call's review.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub id: i64,
    pub call_id: i64,
    pub agent_id: UserId,
    pub reviewer_id: UserId,
    pub reviewer_name: String,
    pub call_day: String,
    pub score: i64,
    pub max_score: i64,
    /// Tenths of a percent (853 = 85.3 %).
    pub percent_tenths: i64,
    pub band: Band,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub items: Vec<ReviewItem>,
}

/// The call a review is about, as the reviewer sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReviewedCall {
    pub id: i64,
    pub lead_id: LeadId,
    pub lead_name: String,
    pub agent_id: UserId,
    pub agent_name: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: i64,
    pub disposition: String,
    pub intent: Option<String>,
    pub notes: String,
}

/// A call with its review, if any, and whether the viewer may score it.
#[derive(Debug, Clone, Serialize)]
pub struct CallReview {
    pub call: ReviewedCall,
    pub review: Option<Review>,
    pub may_review: bool,
}

/// The viewer's rights over a call, from the call's agent and the agent's team.
struct Scope {
    agent: UserId,
    started_at: DateTime<Utc>,
    may_review: bool,
}

fn rights(viewer: &Viewer, agent: UserId, team: Option<TeamId>) -> (bool, bool) {
    let supervises = viewer.role == Role::Supervisor
        && team.is_some_and(|t| viewer.supervised_teams.contains(&t));
    let admin = viewer.role == Role::Admin;
    let own = viewer.user_id == agent;
    (admin || supervises || own, admin || supervises && !own)
}

async fn scope(db: &Db, viewer: &Viewer, call: i64) -> Result<Scope> {
    let row: Option<(UserId, Option<TeamId>, DateTime<Utc>)> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT c.agent_id, u.team_id, c.started_at FROM calls c JOIN users u ON u.id = c.agent_id \
             WHERE c.id = $1",
        )
        .bind(call)
        .fetch_optional(p)
        .await?
    });
    let (agent, team, started_at) = row.ok_or(StoreError::NotFound)?;
    let (may_read, may_review) = rights(viewer, agent, team);
    if !may_read {
        return Err(StoreError::NotFound);
    }
    Ok(Scope {
        agent,
        started_at,
        may_review,
    })
}

type ReviewRow = (
    i64,
    i64,
    UserId,
    UserId,
    String,
    String,
    i64,
    i64,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

async fn review_of(db: &Db, call: i64) -> Result<Option<Review>> {
    let row: Option<ReviewRow> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT r.id, r.call_id, r.agent_id, r.reviewer_id, u.display_name, r.call_day, r.score, \
             r.max_score, r.comment, r.created_at, r.updated_at, r.version \
             FROM qc_reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.call_id = $1",
        )
        .bind(call)
        .fetch_optional(p)
        .await?
    });
    let Some((
        id,
        call_id,
        agent_id,
        reviewer_id,
        reviewer_name,
        call_day,
        score,
        max,
        comment,
        created_at,
        updated_at,
        version,
    )) = row
    else {
        return Ok(None);
    };
    let items: Vec<ReviewItem> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT s.item_id, i.code, i.label_zh, i.label_en, s.score, s.max_score \
             FROM qc_scores s JOIN qc_items i ON i.id = s.item_id WHERE s.review_id = $1 \
             ORDER BY i.position, i.id",
        )
        .bind(id)
        .fetch_all(p)
        .await?
    });
    let tenths = percent_tenths(score, max).unwrap_or(0);
    Ok(Some(Review {
        id,
        call_id,
        agent_id,
        reviewer_id,
        reviewer_name,
        call_day,
        score,
        max_score: max,
        percent_tenths: tenths,
        band: Band::of(tenths),
        comment,
        created_at,
        updated_at,
        version,
        items,
    }))
}

/// A call with its review. NotFound for a call the viewer may not see.
pub async fn for_call(db: &Db, viewer: &Viewer, call: i64) -> Result<CallReview> {
    let scope = scope(db, viewer, call).await?;
    let row: ReviewedCall = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT c.id, c.lead_id, l.name AS lead_name, c.agent_id, u.display_name AS agent_name, \
             c.started_at, c.duration_s, c.disposition, c.intent, c.notes \
             FROM calls c JOIN users u ON u.id = c.agent_id JOIN leads l ON l.id = c.lead_id WHERE c.id = $1",
        )
        .bind(call)
        .fetch_one(p)
        .await?
    });
    Ok(CallReview {
        call: row,
        review: review_of(db, call).await?,
        may_review: scope.may_review,
    })
}

/// What a reviewer sends: a score for every active item, a comment, and the version of the
/// review being changed (none for a first review, or to overwrite whatever is there).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReviewInput {
    pub scores: Vec<GivenScore>,
    #[serde(default)]
    pub comment: String,
    pub version: Option<i64>,
}

fn score_problem(p: ScoreProblem) -> StoreError {
    match p {
        ScoreProblem::Missing { item_id } => {
            StoreError::invalid(&format!("scores.{item_id}"), "required")
        }
        ScoreProblem::Repeated { item_id } => {
            StoreError::invalid(&format!("scores.{item_id}"), "repeated")
        }
        ScoreProblem::OutOfRange { item_id, .. } => {
            StoreError::invalid(&format!("scores.{item_id}"), "out_of_range")
        }
        ScoreProblem::Unknown { item_id } => {
            StoreError::invalid(&format!("scores.{item_id}"), "unknown")
        }
        ScoreProblem::EmptyChecklist => StoreError::Conflict("empty_checklist"),
    }
}

/// Scores a call (a first review, or a change to one). Returns the review and whether it was
/// new. NotFound for a call the viewer may not see; Forbidden for one they may only read (their
/// own, or as an agent); Invalid naming `scores.<item id>` for a missing, repeated, unknown or
/// out-of-range score; EditConflict for a stale `version`. Two reviewers saving at once give one
/// review (the second changes the first's, or is refused with a stale version).
pub async fn save(
    db: &Db,
    viewer: &Viewer,
    call: i64,
    input: &ReviewInput,
    now: DateTime<Utc>,
) -> Result<(Review, bool)> {
    let scope = scope(db, viewer, call).await?;
    if !scope.may_review {
        return Err(StoreError::Forbidden);
    }
    let comment = input.comment.trim().to_string();
    if comment.chars().count() > MAX_COMMENT {
        return Err(StoreError::invalid("comment", "too_long"));
    }
    let checklist = super::items(db).await?;
    let scores = check_scores(&checklist, &input.scores).map_err(score_problem)?;
    let (total, max) = scores
        .iter()
        .fold((0, 0), |(t, m), s| (t + s.score, m + s.max_score));
    let zone = crate::call_stats::org_zone(db).await?;
    let day = crate::workday::record::stats_day(scope.started_at, zone)
        .date
        .to_string();
    let (reviewer, agent, version) = (viewer.user_id, scope.agent, input.version);
    let created = in_tx!(db, |tx| async move {
        let lock = for_update(tx);
        let existing = tx
            .fetch_optional(
                &format!("SELECT id, version, score, max_score, comment FROM qc_reviews WHERE call_id = $1{lock}"),
                &[Arg::I64(call)],
            )
            .await?;
        let existing = match existing {
            Some(row) => Some(row),
            None => {
                let inserted = tx
                    .fetch_optional(
                        "INSERT INTO qc_reviews (call_id, agent_id, call_day, reviewer_id, score, max_score, comment, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (call_id) DO NOTHING RETURNING id",
                        &[
                            Arg::I64(call),
                            Arg::I64(agent.0),
                            Arg::Text(day.clone()),
                            Arg::I64(reviewer.0),
                            Arg::I64(total),
                            Arg::I64(max),
                            Arg::Text(comment.clone()),
                            Arg::Time(now),
                        ],
                    )
                    .await?;
                match inserted {
                    Some(_) if version.is_some_and(|v| v != 1) => {
                        return Err(StoreError::EditConflict { current: 0 });
                    }
                    Some(_) => None,
                    // Someone else's first review committed between the look and the insert.
                    None => Some(
                        tx.fetch_one(
                            &format!("SELECT id, version, score, max_score, comment FROM qc_reviews WHERE call_id = $1{lock}"),
                            &[Arg::I64(call)],
                        )
                        .await?,
                    ),
                }
            }
        };
        let (id, before, created) = match existing {
            Some(row) => {
                let (id, current) = (row.i64(0)?, row.i64(1)?);
                if version.is_some_and(|v| v != current) {
                    return Err(StoreError::EditConflict { current });
                }
                let before = json!({"score": row.i64(2)?, "max_score": row.i64(3)?, "comment": row.text(4)?});
                tx.execute(
                    "UPDATE qc_reviews SET reviewer_id = $2, score = $3, max_score = $4, comment = $5, \
                     updated_at = $6, version = version + 1 WHERE id = $1",
                    &[
                        Arg::I64(id),
                        Arg::I64(reviewer.0),
                        Arg::I64(total),
                        Arg::I64(max),
                        Arg::Text(comment.clone()),
                        Arg::Time(now),
                    ],
                )
                .await?;
                tx.execute(
                    "DELETE FROM qc_scores WHERE review_id = $1",
                    &[Arg::I64(id)],
                )
                .await?;
                (id, Some(before), false)
            }
            None => {
                let id = tx
                    .fetch_one(
                        "SELECT id FROM qc_reviews WHERE call_id = $1",
                        &[Arg::I64(call)],
                    )
                    .await?
                    .i64(0)?;
                (id, None, true)
            }
        };
        let mut rows =
            Sql::new("INSERT INTO qc_scores (review_id, item_id, score, max_score) VALUES ");
        rows.push_rows(scores.iter().map(|s| {
            vec![
                Arg::I64(id),
                Arg::I64(s.item_id),
                Arg::I64(s.score),
                Arg::I64(s.max_score),
            ]
        }));
        tx.execute(&rows.text, &rows.args).await?;
        let items: Vec<_> = scores
            .iter()
            .map(|s| json!([s.item_id, s.score, s.max_score]))
            .collect();
        tx.execute(
            audit::INSERT,
            &AuditEntry {
                entity: "qc_review",
                entity_id: id,
                actor: Some(reviewer),
                action: if created { "create" } else { "update" },
                before,
                after: Some(json!({"call_id": call, "score": total, "max_score": max, "comment": comment, "items": items})),
                at: now,
            }
            .args(),
        )
        .await?;
        tx.execute(
            "INSERT INTO notifications (user_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Arg::I64(agent.0),
                Arg::Text(REVIEWED.into()),
                Arg::Json(json!({
                    "call_id": call,
                    "score": total,
                    "max_score": max,
                    "percent_tenths": percent_tenths(total, max),
                })),
                Arg::Time(now),
            ],
        )
        .await?;
        Ok(created)
    })?;
    crate::notify::announce(db, crate::notify::Change::notice(Some(agent)));
    let review = review_of(db, call).await?.ok_or(StoreError::NotFound)?;
    Ok((review, created))
}

/// Which calls a queue lists.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub agent: Option<UserId>,
    /// `Some(false)`: only calls not yet reviewed; `Some(true)`: only reviewed ones.
    pub reviewed: Option<bool>,
    /// Only calls that were answered (a duration above zero).
    pub connected_only: bool,
}

/// One call of the queue.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueRow {
    pub call_id: i64,
    pub lead_id: LeadId,
    pub lead_name: String,
    pub agent_id: UserId,
    pub agent_name: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: i64,
    pub disposition: String,
    pub review_id: Option<i64>,
    pub score: Option<i64>,
    pub max_score: Option<i64>,
}

/// The condition on the agent (`u`, a users row) for the calls `viewer` may see: all for an
/// admin, the supervised teams' for a supervisor, their own for anyone else.
fn agent_scope(viewer: &Viewer, sql: &mut Sql) {
    match viewer.role {
        Role::Admin => {}
        Role::Supervisor if !viewer.supervised_teams.is_empty() => {
            let teams: Vec<String> = viewer
                .supervised_teams
                .iter()
                .map(|t| sql.arg(Arg::I64(t.0)))
                .collect();
            sql.push(&format!(" AND u.team_id IN ({})", teams.join(", ")));
        }
        _ => {
            sql.push_bind(" AND u.id = ?", Arg::I64(viewer.user_id.0));
        }
    }
}

/// The calls in `filter`'s time range that `viewer` may see, newest first, with their reviews.
pub async fn queue(db: &Db, viewer: &Viewer, filter: &QueueFilter) -> Result<Vec<QueueRow>> {
    let mut sql = Sql::new(
        "SELECT c.id AS call_id, c.lead_id, l.name AS lead_name, c.agent_id, u.display_name AS agent_name, \
         c.started_at, c.duration_s, c.disposition, r.id AS review_id, r.score, r.max_score \
         FROM calls c JOIN users u ON u.id = c.agent_id JOIN leads l ON l.id = c.lead_id \
         LEFT JOIN qc_reviews r ON r.call_id = c.id WHERE ",
    );
    sql.push_bind("c.started_at >= ?", Arg::Time(filter.from));
    sql.push_bind(" AND c.started_at < ?", Arg::Time(filter.to));
    agent_scope(viewer, &mut sql);
    if let Some(a) = filter.agent {
        sql.push_bind(" AND c.agent_id = ?", Arg::I64(a.0));
    }
    match filter.reviewed {
        Some(true) => sql.push(" AND r.id IS NOT NULL"),
        Some(false) => sql.push(" AND r.id IS NULL"),
        None => &mut sql,
    };
    if filter.connected_only {
        sql.push(" AND c.duration_s > 0");
    }
    sql.push(&format!(
        " ORDER BY c.started_at DESC, c.id DESC LIMIT {MAX_QUEUE}"
    ));
    Ok(db_run!(db, |p| {
        bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(p)
            .await?
    }))
}

/// One person's quality over a period.
#[derive(Debug, Clone, Serialize)]
pub struct AgentQuality {
    pub agent_id: UserId,
    pub agent_name: String,
    pub reviews: i64,
    pub score: i64,
    pub max_score: i64,
    pub percent_tenths: Option<i64>,
    pub band: Option<Band>,
}

/// Each person's quality score over the statistics days `from..=to` ('YYYY-MM-DD'), for the
/// people `viewer` may see who had a call reviewed then: all points given over all possible.
pub async fn summary(db: &Db, viewer: &Viewer, from: &str, to: &str) -> Result<Vec<AgentQuality>> {
    let mut sql = Sql::new(
        "SELECT r.agent_id, u.display_name, COUNT(*), CAST(SUM(r.score) AS BIGINT), CAST(SUM(r.max_score) AS BIGINT) \
         FROM qc_reviews r JOIN users u ON u.id = r.agent_id WHERE ",
    );
    sql.push_bind("r.call_day >= ?", Arg::Text(from.into()));
    sql.push_bind(" AND r.call_day <= ?", Arg::Text(to.into()));
    agent_scope(viewer, &mut sql);
    sql.push(" GROUP BY r.agent_id, u.display_name ORDER BY u.display_name, r.agent_id");
    let rows: Vec<(UserId, String, i64, i64, i64)> = db_run!(db, |p| {
        bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(p)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(agent_id, agent_name, reviews, score, max)| {
            let tenths = quality::period_score(&[(score, max)]);
            AgentQuality {
                agent_id,
                agent_name,
                reviews,
                score,
                max_score: max,
                percent_tenths: tenths,
                band: tenths.map(Band::of),
            }
        })
        .collect())
}
