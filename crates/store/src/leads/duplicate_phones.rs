//! The duplicate-phone check of a lead being written: which stored lead already holds a number,
//! and the refusal as the writer may be told it (the lead itself only if they may see it;
//! otherwise its owner and since when, with the look-up written to that lead's audit trail).

use chrono::{DateTime, Utc};
use leadline_domain::{Access, LeadFields, LeadId, TeamId, UserId, Viewer};
use serde_json::Value;
use sqlx::types::Json;

use crate::audit::AuditEntry;
use crate::error::DuplicatePhone;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

/// The lead holding a phone, as the duplicate check finds it.
#[derive(sqlx::FromRow)]
struct Holder {
    id: LeadId,
    name: String,
    owner_id: Option<UserId>,
    owner_name: Option<String>,
    owner_team_id: Option<TeamId>,
    created_at: DateTime<Utc>,
}

/// The phone (of these) that another lead than `except` already holds, and that lead.
async fn duplicate_of(
    db: &Db,
    phones: &[&str],
    except: Option<LeadId>,
) -> Result<Option<(String, Holder)>> {
    for phone in phones {
        let row: Option<Holder> = db_run!(db, |pool| {
            sqlx::query_as(
                "SELECT l.id, l.name, l.owner_id, u.display_name AS owner_name, u.team_id AS owner_team_id, l.created_at \
                 FROM lead_phones p JOIN leads l ON l.id = p.lead_id \
                 LEFT JOIN users u ON u.id = l.owner_id WHERE p.e164 = $1 AND p.collision_with IS NULL AND p.lead_id <> $2",
            )
            .bind(*phone)
            .bind(except.map(|l| l.0).unwrap_or(0))
            .fetch_optional(pool)
            .await?
        });
        if let Some(holder) = row {
            return Ok(Some((phone.to_string(), holder)));
        }
    }
    Ok(None)
}

/// Since when a lead's owner (or the pool) holds it: the newest audit entry that set its
/// owner (created it, or changed `owner_id`), else when the lead was made (an import writes
/// no entry per lead).
async fn owner_since(db: &Db, holder: &Holder) -> Result<DateTime<Utc>> {
    type Entry = (Option<Json<Value>>, Option<Json<Value>>, DateTime<Utc>);
    let entries: Vec<Entry> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT before, after, at FROM audit_log WHERE entity = 'lead' AND entity_id = $1 ORDER BY id DESC",
        )
        .bind(holder.id)
        .fetch_all(pool)
        .await?
    });
    let owner = |v: &Option<Json<Value>>| v.as_ref().and_then(|j| j.0.get("owner_id").cloned());
    Ok(entries
        .iter()
        .find(|(before, after, _)| {
            let set = owner(after);
            set.is_some() && (before.is_none() || owner(before) != set)
        })
        .map_or(holder.created_at, |e| e.2))
}

/// The refusal of a number `holder` holds, as `viewer` may be told it: the lead itself only if
/// the viewer may see it; otherwise its owner and since when, and the look-up is written to the
/// lead's audit trail (who asked about the number), since anyone may type any number.
async fn duplicate_refusal(
    db: &Db,
    viewer: &Viewer,
    phone: String,
    holder: Holder,
) -> Result<StoreError> {
    let since = owner_since(db, &holder).await?;
    let visible = viewer.access(&leadline_domain::Holder::owned(
        holder.owner_id,
        holder.owner_team_id,
    )) != Access::Hidden;
    if !visible {
        let at = now();
        let entry = AuditEntry {
            entity: "lead",
            entity_id: holder.id.0,
            actor: Some(viewer.user_id),
            action: "phone_lookup",
            before: None,
            after: Some(serde_json::json!({ "phone": phone })),
            at,
        };
        db_run!(db, |pool| {
            write_audit!(pool, entry)?;
        });
    }
    Ok(StoreError::DuplicatePhone(Box::new(DuplicatePhone {
        phone,
        existing_lead: visible.then_some(holder.id),
        existing_name: visible.then_some(holder.name),
        existing_owner: holder.owner_id,
        existing_owner_name: holder.owner_name,
        owner_since: since,
    })))
}

/// A phone to write: (e164, raw, the lead and owner it knowingly collides with).
pub(super) type PlannedPhone = (String, String, Option<(LeadId, Option<UserId>)>);

/// The phones to write, each with the lead it knowingly collides with.
pub(super) async fn plan_phones(
    db: &Db,
    viewer: &Viewer,
    fields: &LeadFields,
    except: Option<LeadId>,
    allow_collision: bool,
) -> Result<Vec<PlannedPhone>> {
    let mut out = Vec::new();
    for p in &fields.phones {
        let collision = match duplicate_of(db, &[p.e164()], except).await? {
            None => None,
            Some((_, holder)) if allow_collision => Some((holder.id, holder.owner_id)),
            Some((phone, holder)) => {
                return Err(duplicate_refusal(db, viewer, phone, holder).await?);
            }
        };
        out.push((p.e164().to_string(), p.raw().to_string(), collision));
    }
    Ok(out)
}

/// Maps a unique violation on phones (two people saving the same number at once) to the
/// duplicate error the loser would have got had it come second.
pub(super) async fn explain_unique(
    db: &Db,
    viewer: &Viewer,
    err: StoreError,
    fields: &LeadFields,
    except: Option<LeadId>,
) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(e)) = &err
        && e.is_unique_violation()
    {
        let phones: Vec<&str> = fields.phones.iter().map(|p| p.e164()).collect();
        if let Ok(Some((phone, holder))) = duplicate_of(db, &phones, except).await {
            return match duplicate_refusal(db, viewer, phone, holder).await {
                Ok(dup) | Err(dup) => dup,
            };
        }
    }
    err
}
