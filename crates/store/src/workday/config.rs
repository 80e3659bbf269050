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
                hotkey: r.hotkey.and_then(|h| h.chars().next()),
                position: r.position,
                active: r.active,
            },
        })
    }
}

const D_COLUMNS: &str = "id, code, label_zh, label_en, sets_status, connected, valid_conversation, qualified, adds_dnc, hotkey, position, active";

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
        P::Code => StoreError::invalid("code", "invalid"),
        P::Label => StoreError::invalid("label", "required"),
        P::Hotkey => StoreError::invalid("hotkey", "invalid"),
        P::HotkeyTaken(..) => StoreError::invalid("hotkey", "taken"),
        P::NotConnected => StoreError::invalid("connected", "required"),
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
                "INSERT INTO dispositions (code, label_zh, label_en, sets_status, connected, valid_conversation, qualified, adds_dnc, hotkey, position, active) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::unique_as(e, "disposition"))?,
            Some(id) => {
                sqlx::query(
                    "UPDATE dispositions SET label_zh = $2, label_en = $3, sets_status = $4, connected = $5, valid_conversation = $6, \
                     qualified = $7, adds_dnc = $8, hotkey = $9, position = $10, active = $11 WHERE id = $1",
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
        P::Attempts => StoreError::invalid("attempt_from", "invalid"),
        P::Delay => StoreError::invalid("delay_amount", "invalid"),
        P::MaxAttempts => StoreError::invalid("max_attempts", "invalid"),
        P::Position => StoreError::invalid("position", "invalid"),
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
// Do-not-call list
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DncEntry {
    pub id: i64,
    pub e164: String,
    pub reason: String,
    pub added_by: Option<UserId>,
    pub added_at: DateTime<Utc>,
}

pub async fn dnc_list(db: &Db, limit: i64, offset: i64) -> Result<(Vec<DncEntry>, i64)> {
    Ok(db_run!(db, |pool| {
        let rows = sqlx::query_as(
            "SELECT id, e164, reason, added_by, added_at FROM dnc_numbers ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dnc_numbers")
            .fetch_one(pool)
            .await?;
        (rows, total)
    }))
}

pub async fn is_dnc(db: &Db, e164: &str) -> Result<bool> {
    let n: i64 = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM dnc_numbers WHERE e164 = $1"
    )
    .bind(e164)
    .fetch_one(pool)
    .await?);
    Ok(n > 0)
}

/// Result of adding numbers: how many were new, already listed, or not phone numbers (with the
/// line numbers of the bad ones, 1-based).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DncImport {
    pub added: usize,
    pub already: usize,
    pub invalid: Vec<usize>,
}

/// Adds numbers as typed by people (any common spelling), each normalised; bad lines are
/// reported, the good ones kept.
pub async fn dnc_add(
    db: &Db,
    actor: UserId,
    raw_numbers: &[String],
    reason: &str,
) -> Result<DncImport> {
    let mut report = DncImport::default();
    let mut numbers = Vec::new();
    for (i, raw) in raw_numbers.iter().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        match PhoneNumber::parse(raw) {
            Ok(p) => numbers.push(p.e164().to_string()),
            Err(_) => report.invalid.push(i + 1),
        }
    }
    numbers.sort();
    numbers.dedup();
    let at = now();
    let reason = reason.trim();
    let added: usize = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut added = 0usize;
        for chunk in numbers.chunks(500) {
            for n in chunk {
                added += sqlx::query(
                    "INSERT INTO dnc_numbers (e164, reason, added_by, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT (e164) DO NOTHING",
                )
                .bind(n)
                .bind(reason)
                .bind(actor)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
            }
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "dnc",
                entity_id: 0,
                actor: Some(actor),
                action: "add",
                before: None,
                after: Some(json!({ "numbers": numbers.len(), "added": added, "reason": reason })),
                at,
            }
        )?;
        tx.commit().await?;
        invalidate();
        added
    });
    report.added = added;
    report.already = numbers.len() - added;
    Ok(report)
}

pub async fn dnc_remove(db: &Db, actor: UserId, raw: &str) -> Result<()> {
    let e164 = PhoneNumber::parse(raw.trim())
        .map(|p| p.e164().to_string())
        .map_err(|_| StoreError::invalid("e164", "invalid"))?;
    let before = Some(json!({ "e164": e164 }));
    delete_audited(
        db,
        "DELETE FROM dnc_numbers WHERE e164 = $1",
        Arg::Text(e164),
        ("dnc", 0, "remove", before),
        actor,
    )
    .await
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

// ---------------------------------------------------------------------------------------------
// A short-lived snapshot of the configuration (every call and next-call reads it)
// ---------------------------------------------------------------------------------------------

/// How long a snapshot is used before it is read again. Changes made through this module clear
/// it at once in this process; another app server sees them within this time.
pub const SNAPSHOT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The configuration the call paths need, read in one go.
#[derive(Debug)]
pub struct Snapshot {
    pub dispositions: Vec<StoredDisposition>,
    pub rules: Vec<RevisitRule>,
    default_windows: Vec<Window>,
    team_windows: Vec<(TeamId, Vec<Window>)>,
    pub holidays: Vec<Holiday>,
    pub reserve_minutes: i64,
    pub max_attempts: i64,
    /// Zones other than the default that leads name.
    pub zones: Vec<String>,
}

impl Snapshot {
    pub fn disposition(&self, code: &str) -> Option<&StoredDisposition> {
        self.dispositions.iter().find(|d| d.d.code == code)
    }

    pub fn windows(&self, team: Option<TeamId>) -> &[Window] {
        team.and_then(|t| self.team_windows.iter().find(|(id, _)| *id == t))
            .map(|(_, w)| w.as_slice())
            .unwrap_or(&self.default_windows)
    }

    pub fn calling_hours(&self, team: Option<TeamId>) -> CallingHours {
        CallingHours::new(self.windows(team), &self.holidays)
    }
}

type Cached = (String, std::time::Instant, std::sync::Arc<Snapshot>);
static SNAPSHOTS: std::sync::Mutex<Vec<Cached>> = std::sync::Mutex::new(Vec::new());
/// Bumped by [`invalidate`]: a snapshot read while it changed is not kept.
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Per database, one read of the configuration at a time (in the background or not); the
/// callers that find the snapshot run out wait for it.
type ReadLock = std::sync::Arc<tokio::sync::Mutex<()>>;
static READING: std::sync::Mutex<Vec<(String, ReadLock)>> = std::sync::Mutex::new(Vec::new());

/// A snapshot this old is read again in the background while callers go on using it, so that
/// under steady use it never runs out and no call waits for the configuration.
const REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

fn db_key(db: &Db) -> String {
    match db {
        Db::Sqlite(p) => format!("sqlite:{}", p.connect_options().get_filename().display()),
        Db::Postgres(p) => format!("pg:{:?}", p.connect_options()),
    }
}

/// Forgets every snapshot (after a configuration change).
pub fn invalidate() {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Ok(mut s) = SNAPSHOTS.lock() {
        s.clear();
    }
}

/// The cached snapshot of `key` and its age.
fn cached(key: &str) -> Option<(std::time::Duration, std::sync::Arc<Snapshot>)> {
    let s = SNAPSHOTS.lock().ok()?;
    s.iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, at, snap)| (at.elapsed(), snap.clone()))
}

/// The configuration, at most [`SNAPSHOT_TTL`] old. When many calls find it run out at once,
/// one reads it and the rest wait for that read instead of each reading it again.
pub async fn snapshot(db: &Db) -> Result<std::sync::Arc<Snapshot>> {
    let key = db_key(db);
    if let Some((age, snap)) = cached(&key)
        && age < SNAPSHOT_TTL
    {
        // Old enough to read again, unless a read is under way already.
        if age >= REFRESH_AFTER
            && let Ok(reading) = read_lock(&key)?.try_lock_owned()
        {
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(e) = read_snapshot(&db, &key).await {
                    tracing::warn!(error = %e, "reading the call configuration failed");
                }
                drop(reading);
            });
        }
        return Ok(snap);
    }
    let _reading = read_lock(&key)?.lock_owned().await;
    if let Some((age, snap)) = cached(&key)
        && age < SNAPSHOT_TTL
    {
        return Ok(snap);
    }
    read_snapshot(db, &key).await
}

/// The read lock of the database `key`.
fn read_lock(key: &str) -> Result<ReadLock> {
    let mut locks = READING
        .lock()
        .map_err(|_| StoreError::Internal("configuration lock poisoned".into()))?;
    Ok(match locks.iter().find(|(k, _)| k == key) {
        Some((_, l)) => l.clone(),
        None => {
            let l = ReadLock::default();
            locks.push((key.to_string(), l.clone()));
            l
        }
    })
}

/// Reads the configuration and keeps it for `key`, unless it changed meanwhile.
async fn read_snapshot(db: &Db, key: &str) -> Result<std::sync::Arc<Snapshot>> {
    let generation = GENERATION.load(std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    let rows: Vec<(Option<TeamId>, i64, i64, i64)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT team_id, weekday, start_minute, end_minute FROM calling_windows ORDER BY weekday, start_minute"
    )
    .fetch_all(pool)
    .await?
    });
    let mut default_windows = Vec::new();
    let mut team_windows: Vec<(TeamId, Vec<Window>)> = Vec::new();
    for (team, weekday, start, end) in rows {
        let w = Window {
            weekday: weekday as u8,
            start_minute: start as u16,
            end_minute: end as u16,
        };
        match team {
            None => default_windows.push(w),
            Some(t) => match team_windows.iter_mut().find(|(id, _)| *id == t) {
                Some((_, list)) => list.push(w),
                None => team_windows.push((t, vec![w])),
            },
        }
    }
    let zones: Vec<String> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT DISTINCT timezone FROM leads WHERE timezone IS NOT NULL"
    )
    .fetch_all(pool)
    .await?);
    let snap = std::sync::Arc::new(Snapshot {
        dispositions: dispositions(db).await?,
        rules: revisit_rules(db).await?,
        default_windows,
        team_windows,
        holidays: holidays(db).await?,
        reserve_minutes: reserve_minutes(db).await?,
        max_attempts: max_attempts(db).await?,
        zones,
    });
    if let Ok(mut s) = SNAPSHOTS.lock()
        && GENERATION.load(std::sync::atomic::Ordering::SeqCst) == generation
    {
        s.retain(|(k, at, _)| k != key && at.elapsed() < SNAPSHOT_TTL);
        s.push((key.to_string(), started, snap.clone()));
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::TestDb;

    /// Changes the attempt limit as another app server would: in the database only.
    async fn change_behind_the_cache(db: &Db, value: i64) -> Result<()> {
        db_run!(db, |pool| sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        .bind(MAX_ATTEMPTS_KEY)
        .bind(sqlx::types::Json(json!(value)))
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// A snapshot in steady use is read again in the background once it is [`REFRESH_AFTER`]
    /// old, so another server's change arrives before the snapshot would run out; and once it
    /// has run out, the next call reads the change itself.
    #[tokio::test]
    async fn another_servers_change_arrives_before_the_snapshot_runs_out() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let first = snapshot(db).await.unwrap();
        let read_at = std::time::Instant::now();
        let changed = first.max_attempts + 3;
        change_behind_the_cache(db, changed).await.unwrap();
        tokio::time::sleep(REFRESH_AFTER + std::time::Duration::from_millis(100)).await;
        loop {
            if snapshot(db).await.unwrap().max_attempts == changed {
                break;
            }
            // Well before the snapshot runs out (when any call would read it again).
            assert!(
                read_at.elapsed() < (REFRESH_AFTER + SNAPSHOT_TTL) / 2,
                "the change was not read in the background"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }

        let again = changed + 2;
        change_behind_the_cache(db, again).await.unwrap();
        tokio::time::sleep(SNAPSHOT_TTL).await;
        assert_eq!(snapshot(db).await.unwrap().max_attempts, again);
    }

    /// The table, row and complaint of a `Corrupt` error.
    fn corrupt<T: std::fmt::Debug>(r: Result<T>) -> (&'static str, i64, String) {
        match r {
            Err(StoreError::Corrupt { table, row, what }) => (table, row, what),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    async fn sql(db: &Db, sql: &'static str, args: Vec<Arg>) {
        crate::db::sql::execute(db, sql, args).await.unwrap();
    }

    async fn dispositions_id(db: &Db, code: &str) -> i64 {
        db_run!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM dispositions WHERE code = $1"
        )
        .bind(code)
        .fetch_one(pool)
        .await
        .unwrap())
    }

    /// A stored revisit rule whose intent, delay unit or after-last action does not parse is an
    /// error naming `revisit_rules` and the row, never a rule for every intent, an hours delay or
    /// a stop; the same for a disposition's status to set (never none) and a holiday whose day or
    /// kind does not parse (never a day left out).
    #[tokio::test]
    async fn a_stored_rule_disposition_or_holiday_that_does_not_parse_is_an_error_naming_its_row() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let rule = revisit_rules(db).await.unwrap()[0].id;
        for (column, bad, damage) in [
            (
                "intent",
                "Z9",
                "UPDATE revisit_rules SET intent = $1 WHERE id = $2",
            ),
            (
                "delay_unit",
                "fortnights",
                "UPDATE revisit_rules SET delay_unit = $1 WHERE id = $2",
            ),
            (
                "after_last",
                "explode",
                "UPDATE revisit_rules SET after_last = $1 WHERE id = $2",
            ),
        ] {
            sql(db, damage, vec![Arg::Text(bad.into()), Arg::I64(rule)]).await;
            let (table, row, what) = corrupt(revisit_rules(db).await);
            assert_eq!((table, row), ("revisit_rules", rule), "{column}");
            assert!(what.contains(column) && what.contains(bad), "{what}");
            let mend = "UPDATE revisit_rules SET intent = NULL, delay_unit = 'hours', after_last = 'stop' WHERE id = $1";
            sql(db, mend, vec![Arg::I64(rule)]).await;
            revisit_rules(db).await.unwrap();
        }

        let code = dispositions(db).await.unwrap()[0].d.code.clone();
        sql(
            db,
            "UPDATE dispositions SET sets_status = 'bogus' WHERE code = $1",
            vec![Arg::Text(code.clone())],
        )
        .await;
        let (table, _, what) = corrupt(dispositions(db).await);
        assert_eq!(table, "dispositions");
        assert!(what.contains("bogus"), "{what}");
        let (_, row, _) = corrupt(disposition(db, &code).await);
        assert_eq!(row, dispositions_id(db, &code).await);
        sql(
            db,
            "UPDATE dispositions SET sets_status = NULL WHERE code = $1",
            vec![Arg::Text(code)],
        )
        .await;

        let insert = "INSERT INTO holidays (id, day, name, kind) VALUES ($1, $2, 'x', $3)";
        sql(
            db,
            insert,
            vec![
                Arg::I64(7),
                Arg::Text("2026-10-01".into()),
                Arg::Text("holiday".into()),
            ],
        )
        .await;
        assert_eq!(holidays(db).await.unwrap().len(), 1);
        sql(
            db,
            insert,
            vec![
                Arg::I64(8),
                Arg::Text("2026-10-02".into()),
                Arg::Text("day_off".into()),
            ],
        )
        .await;
        let (table, row, what) = corrupt(holidays(db).await);
        assert_eq!((table, row), ("holidays", 8));
        assert!(what.contains("day_off"), "{what}");
        sql(db, "DELETE FROM holidays WHERE id = 8", Vec::new()).await;
        sql(
            db,
            insert,
            vec![
                Arg::I64(9),
                Arg::Text("10/03/2026".into()),
                Arg::Text("holiday".into()),
            ],
        )
        .await;
        let (table, row, what) = corrupt(holidays(db).await);
        assert_eq!((table, row), ("holidays", 9));
        assert!(what.contains("10/03/2026"), "{what}");
    }
}
