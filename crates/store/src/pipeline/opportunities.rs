//! Opportunities (商机): created on a customer in the first open stage, edited (title, amount in
//! 分, expected date), moved between stages on the board with a line of stage history per move
//! (a lost stage needs a reason from the configured list; the won stage sets `won_at`), and
//! read back with the time spent in each stage.

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::dates::parse_date;
use leadline_domain::pipeline::{
    MAX_AMOUNT_FEN, MoveRefusal, Stage, StageStay, check_move, time_in_stages,
};
use leadline_domain::{UserId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{require_edit, stages, visible_customer};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The most cards the board shows.
pub const BOARD_LIMIT: i64 = 2000;

/// An opportunity as the board and the API show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Opportunity {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub lead_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub title: String,
    pub stage_id: i64,
    pub stage_entered_at: DateTime<Utc>,
    pub board_position: i64,
    pub amount_fen: i64,
    pub expected_date: Option<String>,
    pub lost_reason_id: Option<i64>,
    pub lost_note: Option<String>,
    pub won_at: Option<DateTime<Utc>>,
    pub lost_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const SELECT: &str = "SELECT o.id, o.customer_id, c.name AS customer_name, o.lead_id, o.contact_id, \
    o.owner_id, u.display_name AS owner_name, o.title, o.stage_id, o.stage_entered_at, o.board_position, \
    o.amount_fen, o.expected_date, o.lost_reason_id, o.lost_note, o.won_at, o.lost_at, o.created_at, \
    o.updated_at, o.version \
    FROM opportunities o JOIN customers c ON c.id = o.customer_id LEFT JOIN users u ON u.id = o.owner_id \
    WHERE o.deleted_at IS NULL AND c.deleted_at IS NULL";

/// Which cards a list holds.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub owner: Option<UserId>,
    pub customer: Option<i64>,
    pub stage: Option<i64>,
}

/// The opportunities `viewer` may see, by stage and card order (the board), at most
/// [`BOARD_LIMIT`].
pub async fn list(db: &Db, viewer: &Viewer, filter: &Filter) -> Result<Vec<Opportunity>> {
    let mut sql = format!("{SELECT} AND {}", visible_customer(viewer, "c"));
    if let Some(o) = filter.owner {
        sql.push_str(&format!(" AND o.owner_id = {}", o.0));
    }
    if let Some(c) = filter.customer {
        sql.push_str(&format!(" AND o.customer_id = {c}"));
    }
    if let Some(s) = filter.stage {
        sql.push_str(&format!(" AND o.stage_id = {s}"));
    }
    sql.push_str(&format!(
        " ORDER BY o.stage_id, o.board_position, o.id LIMIT {BOARD_LIMIT}"
    ));
    Ok(db_run!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(p)
            .await?
    }))
}

/// One opportunity `viewer` may see; `NotFound` otherwise.
pub async fn get(db: &Db, viewer: &Viewer, id: i64) -> Result<Opportunity> {
    let sql = format!(
        "{SELECT} AND o.id = $1 AND {}",
        visible_customer(viewer, "c")
    );
    let found: Option<Opportunity> = db_run!(db, |p| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(p)
            .await?
    });
    found.ok_or(StoreError::NotFound)
}

/// One stay in a stage, with the stage's names.
#[derive(Debug, Clone, Serialize)]
pub struct Stay {
    pub stage_id: i64,
    pub stage_code: String,
    pub label_zh: String,
    pub label_en: String,
    pub entered_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub moved_by: Option<i64>,
}

/// The time spent in one stage, all stays added.
#[derive(Debug, Clone, Serialize)]
pub struct TimeInStage {
    pub stage_id: i64,
    pub stage_code: String,
    pub label_zh: String,
    pub label_en: String,
    pub seconds: i64,
}

/// An opportunity with its stage history and the time it spent in each stage as of `now`.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub opportunity: Opportunity,
    pub history: Vec<Stay>,
    pub time_in_stage: Vec<TimeInStage>,
}

/// [`get`] with the history and the time in each stage as of `now`.
pub async fn detail(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> Result<Detail> {
    let opportunity = get(db, viewer, id).await?;
    type StayRow = (i64, DateTime<Utc>, Option<DateTime<Utc>>, Option<i64>);
    let rows: Vec<StayRow> = db_run!(db, |p| {
        sqlx::query_as(
            "SELECT stage_id, entered_at, left_at, moved_by FROM opportunity_stage_history \
             WHERE opportunity_id = $1 ORDER BY entered_at, id",
        )
        .bind(id)
        .fetch_all(p)
        .await?
    });
    let all = stages::stages(db).await?;
    let named = |id: i64| all.iter().find(|s| s.id == id);
    let names = |id: i64| {
        named(id).map_or((String::new(), String::new(), String::new()), |s| {
            (s.code.clone(), s.label_zh.clone(), s.label_en.clone())
        })
    };
    let history: Vec<Stay> = rows
        .iter()
        .map(|(stage_id, entered_at, left_at, moved_by)| {
            let (stage_code, label_zh, label_en) = names(*stage_id);
            Stay {
                stage_id: *stage_id,
                stage_code,
                label_zh,
                label_en,
                entered_at: *entered_at,
                left_at: *left_at,
                moved_by: *moved_by,
            }
        })
        .collect();
    let stays: Vec<StageStay> = rows
        .iter()
        .map(|(stage_id, entered_at, left_at, _)| StageStay {
            stage_id: *stage_id,
            entered_at: *entered_at,
            left_at: *left_at,
        })
        .collect();
    let time_in_stage = time_in_stages(&stays, now)
        .into_iter()
        .map(|(stage_id, d)| {
            let (stage_code, label_zh, label_en) = names(stage_id);
            TimeInStage {
                stage_id,
                stage_code,
                label_zh,
                label_en,
                seconds: d.num_seconds(),
            }
        })
        .collect();
    Ok(Detail {
        opportunity,
        history,
        time_in_stage,
    })
}

/// What a new opportunity or an edit carries (`None` in an edit keeps the value).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OpportunityInput {
    pub customer_id: Option<i64>,
    pub title: Option<String>,
    pub amount_fen: Option<i64>,
    /// `YYYY-MM-DD`; an empty string clears it in an edit.
    pub expected_date: Option<String>,
    pub contact_id: Option<i64>,
    /// The sales rep it belongs to; by default the customer's owner, else the caller.
    pub owner_id: Option<i64>,
    /// The version an edit was made on.
    pub version: Option<i64>,
}

fn checked_title(t: &str) -> Result<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(StoreError::invalid("title", "required"));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(StoreError::invalid("title", "too_long"));
    }
    Ok(t.to_string())
}

fn checked_amount(a: i64) -> Result<i64> {
    if (0..=MAX_AMOUNT_FEN).contains(&a) {
        Ok(a)
    } else {
        Err(StoreError::invalid("amount_fen", "out_of_range"))
    }
}

/// `Some(None)`: cleared; `None`: not given.
fn checked_date(d: &Option<String>) -> Result<Option<Option<String>>> {
    match d.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(s) => parse_date(s)
            .map(|d: NaiveDate| Some(Some(d.format("%Y-%m-%d").to_string())))
            .ok_or_else(|| StoreError::invalid("expected_date", "invalid")),
    }
}

/// Creates an opportunity on a customer `viewer` may change, in the first open stage, with
/// its first line of stage history. Returns its id.
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    input: &OpportunityInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let customer = input
        .customer_id
        .ok_or_else(|| StoreError::invalid("customer_id", "required"))?;
    let title = checked_title(input.title.as_deref().unwrap_or(""))?;
    let amount = checked_amount(input.amount_fen.unwrap_or(0))?;
    let expected = checked_date(&input.expected_date)?.flatten();
    let stage = stages::stages(db)
        .await?
        .into_iter()
        .find(|s| s.active && !s.is_won && !s.is_lost)
        .ok_or(StoreError::Conflict("no_open_stage"))?;
    let (viewer, contact, owner) = (viewer.clone(), input.contact_id, input.owner_id);
    in_tx!(db, |tx| async move {
        require_edit(tx, &viewer, customer).await?;
        let owner = match owner {
            Some(o) => {
                tx.fetch_optional(
                    "SELECT id FROM users WHERE id = $1 AND active",
                    &[Arg::I64(o)],
                )
                .await?
                .ok_or_else(|| StoreError::invalid("owner_id", "unknown"))?;
                o
            }
            None => tx
                .fetch_one(
                    "SELECT COALESCE(owner_id, $2) FROM customers WHERE id = $1",
                    &[Arg::I64(customer), Arg::I64(viewer.user_id.0)],
                )
                .await?
                .i64(0)?,
        };
        if let Some(c) = contact {
            tx.fetch_optional(
                "SELECT id FROM customer_contacts WHERE id = $1 AND customer_id = $2 AND deleted_at IS NULL",
                &[Arg::I64(c), Arg::I64(customer)],
            )
            .await?
            .ok_or_else(|| StoreError::invalid("contact_id", "unknown"))?;
        }
        let position = next_position(tx, stage.id).await?;
        let id = tx
            .fetch_one(
                "INSERT INTO opportunities (customer_id, contact_id, owner_id, title, stage_id, stage_entered_at, \
                 board_position, amount_fen, expected_date, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $6, $6) RETURNING id",
                &[
                    Arg::I64(customer),
                    Arg::OptI64(contact),
                    Arg::I64(owner),
                    Arg::Text(title.clone()),
                    Arg::I64(stage.id),
                    Arg::Time(now),
                    Arg::I64(position),
                    Arg::I64(amount),
                    Arg::OptText(expected.clone()),
                    Arg::I64(viewer.user_id.0),
                ],
            )
            .await?
            .i64(0)?;
        enter_stage(tx, id, stage.id, viewer.user_id, now).await?;
        audit_opportunity(
            tx,
            id,
            viewer.user_id,
            "create",
            json!({"customer_id": customer, "title": title, "amount_fen": amount,
                "expected_date": expected, "stage_id": stage.id, "owner_id": owner}),
            now,
        )
        .await?;
        Ok(id)
    })
}

/// Changes the title, amount or expected date of an opportunity `viewer` may change; a stale
/// `version` is `EditConflict`.
pub async fn update(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    input: &OpportunityInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let title = input.title.as_deref().map(checked_title).transpose()?;
    let amount = input.amount_fen.map(checked_amount).transpose()?;
    let date = checked_date(&input.expected_date)?;
    let (viewer, version) = (viewer.clone(), input.version);
    in_tx!(db, |tx| async move {
        let (customer, current) = locate(tx, id).await?;
        require_edit(tx, &viewer, customer).await?;
        if version.is_some_and(|v| v != current) {
            return Err(StoreError::EditConflict { current });
        }
        tx.execute(
            "UPDATE opportunities SET title = COALESCE($2, title), amount_fen = COALESCE($3, amount_fen), \
             updated_at = $4, version = version + 1 WHERE id = $1",
            &[
                Arg::I64(id),
                Arg::OptText(title.clone()),
                Arg::OptI64(amount),
                Arg::Time(now),
            ],
        )
        .await?;
        if let Some(d) = &date {
            tx.execute(
                "UPDATE opportunities SET expected_date = $2 WHERE id = $1",
                &[Arg::I64(id), Arg::OptText(d.clone())],
            )
            .await?;
        }
        audit_opportunity(
            tx,
            id,
            viewer.user_id,
            "update",
            json!({"title": title, "amount_fen": amount, "expected_date": date}),
            now,
        )
        .await
    })
}

/// A move on the board.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MoveInput {
    pub stage_id: i64,
    /// Required when the stage is a lost one: an active reason of the configured list.
    pub lost_reason_id: Option<i64>,
    pub lost_note: Option<String>,
}

/// Moves an opportunity to another stage: the present stay ends and a new one starts at
/// `now`, the card goes to the end of its new column; the won stage sets `won_at`, a lost stage
/// `lost_at` and the reason. A lost stage without a reason is `Invalid(lost_reason_id:
/// required)`, a retired stage `Invalid(stage_id: retired)`. Moving to the stage it is in
/// changes nothing.
pub async fn move_to(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    input: &MoveInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let all = stages::stages(db).await?;
    let to: Stage = all
        .into_iter()
        .find(|s| s.id == input.stage_id)
        .ok_or_else(|| StoreError::invalid("stage_id", "unknown"))?;
    check_move(&to, input.lost_reason_id).map_err(|r| match r {
        MoveRefusal::LostReasonRequired => StoreError::invalid("lost_reason_id", "required"),
        MoveRefusal::ReasonNotLost => StoreError::invalid("lost_reason_id", "not_lost"),
        MoveRefusal::StageRetired => StoreError::invalid("stage_id", "retired"),
    })?;
    if let Some(r) = input.lost_reason_id {
        let active = stages::lost_reasons(db)
            .await?
            .iter()
            .any(|l| l.id == r && l.active);
        if !active {
            return Err(StoreError::invalid("lost_reason_id", "unknown"));
        }
    }
    let note = input
        .lost_note
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(500).collect::<String>());
    let (viewer, reason) = (viewer.clone(), input.lost_reason_id);
    in_tx!(db, |tx| async move {
        let (customer, _) = locate(tx, id).await?;
        require_edit(tx, &viewer, customer).await?;
        let from = tx
            .fetch_one(
                "SELECT stage_id FROM opportunities WHERE id = $1",
                &[Arg::I64(id)],
            )
            .await?
            .i64(0)?;
        if from == to.id {
            return Ok(());
        }
        tx.execute(
            "UPDATE opportunity_stage_history SET left_at = $2 WHERE opportunity_id = $1 AND left_at IS NULL",
            &[Arg::I64(id), Arg::Time(now)],
        )
        .await?;
        enter_stage(tx, id, to.id, viewer.user_id, now).await?;
        let position = next_position(tx, to.id).await?;
        tx.execute(
            "UPDATE opportunities SET stage_id = $2, stage_entered_at = $3, board_position = $4, \
             won_at = $5, lost_at = $6, lost_reason_id = $7, lost_note = $8, updated_at = $3, \
             version = version + 1 WHERE id = $1",
            &[
                Arg::I64(id),
                Arg::I64(to.id),
                Arg::Time(now),
                Arg::I64(position),
                Arg::OptTime(to.is_won.then_some(now)),
                Arg::OptTime(to.is_lost.then_some(now)),
                Arg::OptI64(reason),
                Arg::OptText(note.clone()),
            ],
        )
        .await?;
        audit_opportunity(
            tx,
            id,
            viewer.user_id,
            "move",
            json!({"from_stage_id": from, "stage_id": to.id, "lost_reason_id": reason, "lost_note": note}),
            now,
        )
        .await
    })
}

/// The customer and version of a live opportunity; `NotFound` when there is none.
async fn locate(tx: &mut impl Tx, id: i64) -> Result<(i64, i64)> {
    let row = tx
        .fetch_optional(
            "SELECT customer_id, version FROM opportunities WHERE id = $1 AND deleted_at IS NULL",
            &[Arg::I64(id)],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((row.i64(0)?, row.i64(1)?))
}

async fn next_position(tx: &mut impl Tx, stage: i64) -> Result<i64> {
    tx.fetch_one(
        "SELECT COALESCE(MAX(board_position), 0) + 1 FROM opportunities WHERE stage_id = $1",
        &[Arg::I64(stage)],
    )
    .await?
    .i64(0)
}

async fn enter_stage(
    tx: &mut impl Tx,
    id: i64,
    stage: i64,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO opportunity_stage_history (opportunity_id, stage_id, entered_at, moved_by) \
         VALUES ($1, $2, $3, $4)",
        &[
            Arg::I64(id),
            Arg::I64(stage),
            Arg::Time(now),
            Arg::I64(by.0),
        ],
    )
    .await?;
    Ok(())
}

async fn audit_opportunity(
    tx: &mut impl Tx,
    id: i64,
    actor: UserId,
    action: &'static str,
    after: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "opportunity",
            entity_id: id,
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
