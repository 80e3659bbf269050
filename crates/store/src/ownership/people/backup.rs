//! The backup owner (副负责人): sees the record, and edits it when granted. Set or removed by
//! the owner themself (they know who covers for them), by a supervisor of the owner's team, or
//! by an admin. Not a change of owner: no ownership event, an audit entry.

use chrono::{DateTime, Utc};
use leadline_domain::{Access, LeadId, Role, UserId, Viewer};
use serde_json::json;

use super::{Held, audit_lead, held, person};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, in_tx};

/// Whether `viewer` may name or remove the backup of a lead held as `h`: the owner, a
/// supervisor of the owner's team, an admin. Hidden leads are `NotFound`.
fn may_arrange(viewer: &Viewer, h: &Held) -> Result<()> {
    if h.deleted || viewer.access(&h.holder) == Access::Hidden {
        return Err(StoreError::NotFound);
    }
    let owner = h
        .holder
        .owner
        .ok_or(StoreError::invalid("lead", "not_owned"))?;
    let allowed = match viewer.role {
        Role::Admin => true,
        Role::Supervisor => {
            owner == viewer.user_id
                || h.holder
                    .owner_team
                    .is_some_and(|t| viewer.supervised_teams.contains(&t))
        }
        Role::Agent | Role::Sales | Role::Finance => owner == viewer.user_id,
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// Names `backup` the backup owner of `lead` (edits allowed when `may_edit`). The backup must be
/// an active user other than the owner; the owner may only name a colleague of their own team,
/// a supervisor someone they may assign to.
pub async fn set_backup(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    backup: UserId,
    may_edit: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let viewer = viewer.clone();
    in_tx!(db, |tx| set_body(
        tx,
        viewer,
        lead,
        Some((backup, may_edit)),
        now
    ))
}

/// Removes the backup owner of `lead`.
pub async fn clear_backup(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<()> {
    let viewer = viewer.clone();
    in_tx!(db, |tx| set_body(tx, viewer, lead, None, now))
}

async fn set_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    lead: LeadId,
    backup: Option<(UserId, bool)>,
    now: DateTime<Utc>,
) -> Result<()> {
    let h = held(tx, lead).await?;
    may_arrange(&viewer, &h)?;
    let owner = h
        .holder
        .owner
        .ok_or(StoreError::invalid("lead", "not_owned"))?;
    if let Some((user, _)) = backup {
        let Some((_, team)) = person(tx, user).await? else {
            return Err(StoreError::invalid("user_id", "unknown_user"));
        };
        if user == owner {
            return Err(StoreError::invalid("user_id", "is_owner"));
        }
        let allowed = if viewer.role.manages_leads() {
            viewer.may_assign_to(Some(user), team)
        } else {
            team.is_some() && team == h.holder.owner_team
        };
        if !allowed {
            return Err(StoreError::Forbidden);
        }
    }
    tx.execute(
        "UPDATE leads SET backup_owner_id = $2, backup_may_edit = $3, version = version + 1, updated_at = $4 WHERE id = $1",
        &[
            Arg::I64(lead.0),
            Arg::OptI64(backup.map(|(u, _)| u.0)),
            Arg::Bool(backup.is_some_and(|(_, e)| e)),
            Arg::Time(now),
        ],
    )
    .await?;
    audit_lead(
        tx,
        lead,
        viewer.user_id,
        if backup.is_some() { "set_backup" } else { "clear_backup" },
        json!({ "backup_owner_id": h.holder.backup, "backup_may_edit": h.holder.backup_may_edit }),
        json!({ "backup_owner_id": backup.map(|(u, _)| u), "backup_may_edit": backup.is_some_and(|(_, e)| e) }),
        now,
    )
    .await
}
