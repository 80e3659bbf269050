//! What the admin configures for the agent's day: dispositions, revisit rules, calling windows,
//! holidays, the do-not-call list, and the reservation time.

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::calling_hours::{self, CallingHours, DayKind, Holiday, Window};
use leadline_domain::disposition::Disposition;
use leadline_domain::revisit::{AfterLast, DelayUnit, RevisitRule};
use leadline_domain::{IntentLevel, LeadStatus, PhoneNumber, TeamId, UserId};
use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::AuditEntry;
use crate::db::sql::Arg;
use crate::{Db, Result, StoreError, bind_args, db_run, now, write_audit};

mod dnc;
mod snapshot;
#[cfg(test)]
mod tests;

pub use dnc::{DncEntry, DncImport, dnc_add, dnc_list, dnc_remove, is_dnc};
pub use snapshot::{SNAPSHOT_TTL, Snapshot, invalidate, snapshot};

/// Minutes a served lead stays reserved to its agent when the setting is absent.
pub const DEFAULT_RESERVE_MINUTES: i64 = 10;
/// Attempts after which no path serves a lead, when the setting is absent.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 10;
pub const RESERVE_KEY: &str = "workday.reserve_minutes";
pub const MAX_ATTEMPTS_KEY: &str = "workday.max_attempts";

// ---------------------------------------------------------------------------------------------
// Dispositions
// ---------------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct DispositionRow {
    id: i64,
    code: String,
    label_zh: String,
    label_en: String,
    sets_status: Option<String>,
    connected: bool,
    valid_conversation: bool,
    qualified: bool,
    adds_dnc: bool,
    valid_follow_up: bool,
    hotkey: Option<String>,
    position: i64,
    active: bool,
}

/// A stored disposition with its id.
#[derive(Debug, Clone, Serialize)]
pub struct StoredDisposition {
    pub id: i64,
    #[serde(flatten)]
    pub d: Disposition,
}

/// No status to set is none; one that does not parse is `Corrupt`, never none, which would leave
/// every call with this outcome keeping the lead's old status.
impl TryFrom<DispositionRow> for StoredDisposition {
    type Error = StoreError;

    fn try_from(r: DispositionRow) -> Result<Self> {
        let sets_status = r
            .sets_status
            .as_deref()
            .map(|s| {
                LeadStatus::parse(s).ok_or_else(|| {
                    StoreError::corrupt(
                        "dispositions",
                        r.id,
                        format!("sets_status {s:?} is not a lead status"),
                    )
                })
            })
            .transpose()?;
        Ok(StoredDisposition {
            id: r.id,
            d: Disposition {
                code: r.code,
                label_zh: r.label_zh,
                label_en: r.label_en,
                sets_status,
                connected: r.connected,
                valid_conversation: r.valid_conversation,
                qualified: r.qualified,
                adds_dnc: r.adds_dnc,
                valid_follow_up: r.valid_follow_up,
                hotkey: r.hotkey.and_then(|h| h.chars().next()),
                position: r.position,
                active: r.active,
            },
        })
    }
}

const D_COLUMNS: &str = "id, code, label_zh, label_en, sets_status, connected, valid_conversation, qualified, adds_dnc, hotkey, position, active, valid_follow_up";

/// All dispositions (inactive ones too), in form order.
pub async fn dispositions(db: &Db) -> Result<Vec<StoredDisposition>> {
    let sql = format!("SELECT {D_COLUMNS} FROM dispositions ORDER BY position, id");
    let rows: Vec<DispositionRow> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?);
    rows.into_iter().map(StoredDisposition::try_from).collect()
}

pub async fn disposition(db: &Db, code: &str) -> Result<Option<StoredDisposition>> {
    let sql = format!("SELECT {D_COLUMNS} FROM dispositions WHERE code = $1");
    let row: Option<DispositionRow> = db_run!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(pool)
        .await?);
    row.map(StoredDisposition::try_from).transpose()
}

fn disposition_problem(e: leadline_domain::disposition::DispositionProblem) -> StoreError {
    use leadline_domain::disposition::DispositionProblem as P;
    match e {
        P::Code => StoreError::invalid("code", "bad_code"),
        P::Label => StoreError::invalid("label", "label_length"),
        P::Hotkey => StoreError::invalid("hotkey", "bad_hotkey"),
        P::HotkeyTaken(..) => StoreError::invalid("hotkey", "taken"),
        P::NotConnected => StoreError::invalid("connected", "needs_connected"),
    }
}

/// Creates (no id) or replaces (id) a disposition after checking it against the others.
pub async fn save_disposition(
    db: &Db,
    actor: UserId,
    id: Option<i64>,
    d: &Disposition,
) -> Result<StoredDisposition> {
    let all = dispositions(db).await?;
    let others: Vec<Disposition> = all
        .iter()
        .filter(|o| Some(o.id) != id)
        .map(|o| o.d.clone())
        .collect();
    d.validate(&others).map_err(disposition_problem)?;
    let before = match id {
        Some(id) => Some(
            all.iter()
                .find(|o| o.id == id)
                .ok_or(StoreError::NotFound)?
                .clone(),
        ),
        None => None,
    };
    if before.as_ref().is_some_and(|b| b.d.code != d.code) {
        // Calls keep the code they were recorded with; a code is renamed by a new disposition.
        return Err(StoreError::invalid("code", "immutable"));
    }
    let at = now();
    let hotkey = d.hotkey.map(|c| c.to_string());
    let status = d.sets_status.map(|s| s.code());
    let id: i64 = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = match id {
            None => sqlx::query_scalar(
                "INSERT INTO dispositions (code, label_zh, label_en, sets_status, connected, valid_conversation, qualified, adds_dnc, hotkey, position, active, valid_follow_up) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(&d.code)
            .bind(d.label_zh.trim())
            .bind(d.label_en.trim())
            .bind(status)
            .bind(d.connected)
            .bind(d.valid_conversation)
            .bind(d.qualified)
            .bind(d.adds_dnc)
            .bind(&hotkey)
            .bind(d.position)
            .bind(d.active)
            .bind(d.valid_follow_up)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::unique_as(e, "disposition"))?,
            Some(id) => {
                sqlx::query(
                    "UPDATE dispositions SET label_zh = $2, label_en = $3, sets_status = $4, connected = $5, valid_conversation = $6, \
                     qualified = $7, adds_dnc = $8, hotkey = $9, position = $10, active = $11, valid_follow_up = $12 WHERE id = $1",
                )
                .bind(id)
                .bind(d.label_zh.trim())
                .bind(d.label_en.trim())
                .bind(status)
                .bind(d.connected)
                .bind(d.valid_conversation)
                .bind(d.qualified)
                .bind(d.adds_dnc)
                .bind(&hotkey)
                .bind(d.position)
                .bind(d.active)
                .bind(d.valid_follow_up)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "disposition",
                entity_id: id,
                actor: Some(actor),
                action: if before.is_some() { "update" } else { "create" },
                before: before.as_ref().map(|b| json!(b.d)),
                after: Some(json!(d)),
                at,
            }
        )?;
        tx.commit().await?;
        invalidate();
        id
    });
    Ok(StoredDisposition { id, d: d.clone() })
}

// ---------------------------------------------------------------------------------------------
// Revisit rules
// ---------------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    disposition: Option<String>,
    intent: Option<String>,
    attempt_from: i64,
    attempt_to: Option<i64>,
    delay_amount: Option<i64>,
    delay_unit: String,
    max_attempts: Option<i64>,
    after_last: String,
    position: i64,
    active: bool,
}

/// A stored rule whose intent, delay unit or after-last action does not parse is `Corrupt`, never
/// a rule for every intent, an hours delay or a stop: each would schedule leads other than the
/// admin set.
impl TryFrom<RuleRow> for RevisitRule {
    type Error = StoreError;

    fn try_from(r: RuleRow) -> Result<Self> {
        let corrupt = |what: String| StoreError::corrupt("revisit_rules", r.id, what);
        let intent = r
            .intent
            .as_deref()
            .map(|i| {
                IntentLevel::parse(i)
                    .ok_or_else(|| corrupt(format!("intent {i:?} is not an intent level")))
            })
            .transpose()?;
        let unit = DelayUnit::parse(&r.delay_unit)
            .ok_or_else(|| corrupt(format!("delay_unit {:?} is not a delay unit", r.delay_unit)))?;
        let after_last = AfterLast::parse(&r.after_last).ok_or_else(|| {
            corrupt(format!(
                "after_last {:?} is not an after-last action",
                r.after_last
            ))
        })?;
        Ok(RevisitRule {
            id: r.id,
            disposition: r.disposition,
            intent,
            attempt_from: r.attempt_from,
            attempt_to: r.attempt_to,
            delay: r.delay_amount.map(|a| (a, unit)),
            max_attempts: r.max_attempts,
            after_last,
            position: r.position,
            active: r.active,
        })
    }
}

pub async fn revisit_rules(db: &Db) -> Result<Vec<RevisitRule>> {
    let rows: Vec<RuleRow> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT id, disposition, intent, attempt_from, attempt_to, delay_amount, delay_unit, max_attempts, after_last, position, active \
         FROM revisit_rules ORDER BY position, id"
    )
    .fetch_all(pool)
    .await?
    });
    rows.into_iter().map(RevisitRule::try_from).collect()
}

/// Creates (`rule.id == 0`) or replaces a revisit rule.
pub async fn save_revisit_rule(db: &Db, actor: UserId, rule: &RevisitRule) -> Result<RevisitRule> {
    use leadline_domain::revisit::RuleProblem as P;
    rule.validate().map_err(|e| match e {
        // Codes that say what is allowed, so that a form can say it beside the field.
        P::Attempts => StoreError::invalid("attempt_from", "attempt_range"),
        P::Delay => StoreError::invalid("delay_amount", "delay_range"),
        P::MaxAttempts => StoreError::invalid("max_attempts", "max_attempts_range"),
        P::Position => StoreError::invalid("position", "position_range"),
    })?;
    if let Some(code) = &rule.disposition
        && disposition(db, code).await?.is_none()
    {
        return Err(StoreError::invalid("disposition", "unknown"));
    }
    let existing = revisit_rules(db).await?;
    let before = existing.iter().find(|r| r.id == rule.id).cloned();
    if rule.id != 0 && before.is_none() {
        return Err(StoreError::NotFound);
    }
    let at = now();
    let (amount, unit) = match rule.delay {
        Some((a, u)) => (Some(a), u.code()),
        None => (None, DelayUnit::Hours.code()),
    };
    let intent = rule.intent.map(|i| i.code());
    let id: i64 = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: i64 = if rule.id == 0 {
            sqlx::query_scalar(
                "INSERT INTO revisit_rules (disposition, intent, attempt_from, attempt_to, delay_amount, delay_unit, max_attempts, after_last, position, active) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(&rule.disposition)
            .bind(intent)
            .bind(rule.attempt_from)
            .bind(rule.attempt_to)
            .bind(amount)
            .bind(unit)
            .bind(rule.max_attempts)
            .bind(rule.after_last.code())
            .bind(rule.position)
            .bind(rule.active)
            .fetch_one(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE revisit_rules SET disposition = $2, intent = $3, attempt_from = $4, attempt_to = $5, delay_amount = $6, delay_unit = $7, \
                 max_attempts = $8, after_last = $9, position = $10, active = $11 WHERE id = $1",
            )
            .bind(rule.id)
            .bind(&rule.disposition)
            .bind(intent)
            .bind(rule.attempt_from)
            .bind(rule.attempt_to)
            .bind(amount)
            .bind(unit)
            .bind(rule.max_attempts)
            .bind(rule.after_last.code())
            .bind(rule.position)
            .bind(rule.active)
            .execute(&mut *tx)
            .await?;
            rule.id
        };
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "revisit_rule",
                entity_id: id,
                actor: Some(actor),
                action: if before.is_some() { "update" } else { "create" },
                before: before.as_ref().map(|b| json!(b)),
                after: Some(json!(rule)),
                at,
            }
        )?;
        tx.commit().await?;
        invalidate();
        id
    });
    Ok(RevisitRule { id, ..rule.clone() })
}

pub async fn delete_revisit_rule(db: &Db, actor: UserId, id: i64) -> Result<()> {
    delete_audited(
        db,
        "DELETE FROM revisit_rules WHERE id = $1",
        Arg::I64(id),
        ("revisit_rule", id, "delete", None),
        actor,
    )
    .await
}

/// Deletes what `delete` names by its one argument, audits it as (entity, id, action, before)
/// and drops the cached configuration, in one transaction; `NotFound` when nothing matched.
async fn delete_audited(
    db: &Db,
    delete: &'static str,
    key: Arg,
    (entity, entity_id, action, before): (&'static str, i64, &'static str, Option<Value>),
    actor: UserId,
) -> Result<()> {
    let at = now();
    let args = [key];
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let n = bind_args!(sqlx::query(delete), args)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity,
                entity_id,
                actor: Some(actor),
                action,
                before: before.clone(),
                after: None,
                at
            }
        )?;
        tx.commit().await?;
        invalidate();
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Calling windows and holidays
// ---------------------------------------------------------------------------------------------

/// The windows of a team: its own if it has any, else the default (team NULL).
pub async fn windows(db: &Db, team: Option<TeamId>) -> Result<Vec<Window>> {
    let rows: Vec<(Option<TeamId>, i64, i64, i64)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT team_id, weekday, start_minute, end_minute FROM calling_windows \
         WHERE team_id IS NULL OR team_id = $1 ORDER BY weekday, start_minute"
    )
    .bind(team)
    .fetch_all(pool)
    .await?);
    let own = team.is_some() && rows.iter().any(|r| r.0 == team);
    Ok(rows
        .into_iter()
        .filter(|r| if own { r.0 == team } else { r.0.is_none() })
        .map(|r| Window {
            weekday: r.1 as u8,
            start_minute: r.2 as u16,
            end_minute: r.3 as u16,
        })
        .collect())
}

/// Replaces a team's windows (None: the default); an empty list for a team falls back to the
/// default.
pub async fn set_windows(
    db: &Db,
    actor: UserId,
    team: Option<TeamId>,
    list: &[Window],
) -> Result<()> {
    calling_hours::validate_windows(list).map_err(|e| {
        use leadline_domain::calling_hours::WindowProblem as P;
        match e {
            P::Weekday => StoreError::invalid("weekday", "invalid"),
            P::Range => StoreError::invalid("start", "invalid"),
            P::Overlap => StoreError::invalid("start", "overlap"),
        }
    })?;
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM calling_windows WHERE team_id IS NOT DISTINCT FROM $1")
            .bind(team)
            .execute(&mut *tx)
            .await?;
        for w in list {
            sqlx::query("INSERT INTO calling_windows (team_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4)")
                .bind(team)
                .bind(i64::from(w.weekday))
                .bind(i64::from(w.start_minute))
                .bind(i64::from(w.end_minute))
                .execute(&mut *tx)
                .await?;
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "calling_hours",
                entity_id: team.map(|t| t.0).unwrap_or(0),
                actor: Some(actor),
                action: "update",
                before: None,
                after: Some(json!(list)),
                at,
            }
        )?;
        tx.commit().await?;
        invalidate();
    });
    Ok(())
}

/// Every stored exception day; one whose day or kind does not parse is `Corrupt` rather than left
/// out, which would quietly open a closed day to calling (or close an open one).
pub async fn holidays(db: &Db) -> Result<Vec<Holiday>> {
    let rows: Vec<(i64, String, String, String)> = db_run!(db, |pool| sqlx::query_as(
        "SELECT id, day, name, kind FROM holidays ORDER BY day"
    )
    .fetch_all(pool)
    .await?);
    rows.into_iter()
        .map(|(id, day, name, kind)| {
            Ok(Holiday {
                day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| {
                    StoreError::corrupt("holidays", id, format!("day {day:?} is not a date: {e}"))
                })?,
                kind: DayKind::parse(&kind).ok_or_else(|| {
                    StoreError::corrupt("holidays", id, format!("kind {kind:?} is not a day kind"))
                })?,
                name,
            })
        })
        .collect()
}

/// Adds or replaces the exception for one day.
pub async fn put_holiday(db: &Db, actor: UserId, h: &Holiday) -> Result<()> {
    if !leadline_domain::dates::in_range(h.day) {
        return Err(StoreError::invalid("day", "invalid_date"));
    }
    let at = now();
    let day = h.day.format("%Y-%m-%d").to_string();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO holidays (day, name, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (day) DO UPDATE SET name = excluded.name, kind = excluded.kind",
        )
        .bind(&day)
        .bind(h.name.trim())
        .bind(h.kind.code())
        .execute(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "holiday",
                entity_id: 0,
                actor: Some(actor),
                action: "update",
                before: None,
                after: Some(json!(h)),
                at
            }
        )?;
        tx.commit().await?;
        invalidate();
    });
    Ok(())
}

pub async fn delete_holiday(db: &Db, actor: UserId, day: NaiveDate) -> Result<()> {
    let day = day.format("%Y-%m-%d").to_string();
    let before = Some(json!({ "day": day }));
    delete_audited(
        db,
        "DELETE FROM holidays WHERE day = $1",
        Arg::Text(day),
        ("holiday", 0, "delete", before),
        actor,
    )
    .await
}

/// The calendar that applies to calls made by members of `team`.
pub async fn calling_hours_for(db: &Db, team: Option<TeamId>) -> Result<CallingHours> {
    Ok(CallingHours::new(
        &windows(db, team).await?,
        &holidays(db).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/// An integer setting, or `default` when unset or not a number.
pub async fn int_setting(db: &Db, key: &str, default: i64) -> Result<i64> {
    let v: Option<sqlx::types::Json<serde_json::Value>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(pool)
    .await?);
    Ok(v.and_then(|j| j.0.as_i64()).unwrap_or(default))
}

pub async fn set_int_setting(db: &Db, actor: UserId, key: &str, value: i64) -> Result<()> {
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(sqlx::types::Json(json!(value)))
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
                before: None,
                after: Some(json!({ key: value })),
                at
            }
        )?;
        tx.commit().await?;
        invalidate();
    });
    Ok(())
}

pub async fn reserve_minutes(db: &Db) -> Result<i64> {
    Ok(int_setting(db, RESERVE_KEY, DEFAULT_RESERVE_MINUTES)
        .await?
        .clamp(1, 240))
}

pub async fn max_attempts(db: &Db) -> Result<i64> {
    Ok(int_setting(db, MAX_ATTEMPTS_KEY, DEFAULT_MAX_ATTEMPTS)
        .await?
        .max(1))
}
