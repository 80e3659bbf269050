//! Hand-over (交接): an agent passes a qualified lead to a sales rep. The lead id carries its
//! calls, notes and fields along; the ownership history keeps who handed what to whom (event
//! `handover`, the note as its reason), and the rep is notified.

use chrono::{DateTime, Utc};
use leadline_domain::ownership::ReclaimRule;
use leadline_domain::{Access, LeadId, LeadStatus, Role, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use super::{Move, held, move_owner, person};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::ownership::events::Action;
use crate::workday::config;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The notification kind a rep receives for a lead handed to them.
pub const HANDOVER_NOTIFICATION: &str = "handover";
/// The longest note kept.
pub const MAX_NOTE_CHARS: usize = 1000;

/// Hands `lead` to the sales rep `to`. The viewer must be able to edit the lead and be its
/// owner or manage leads (403 otherwise); the lead must be qualified (422 `not_qualified`); `to`
/// must be an active sales user (422 `not_sales`). Returns the rep, to wake their screens.
pub async fn handover(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    to: UserId,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<UserId> {
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(StoreError::invalid("note", "too_long"));
    }
    // 撞单 on hand-over: another rep already owns this customer (phone, company, e-mail). Only
    // for a lead the agent may see; anything else is answered by the hand-over itself.
    if crate::leads::get(db, viewer, lead).await.is_ok()
        && crate::ownership::detect::collide(db, lead, to, &[viewer.user_id, to], now)
            .await?
            .is_some()
    {
        return Err(StoreError::Conflict("already_owned"));
    }
    let rules = config::snapshot(db).await?.reclaim_rules.clone();
    let viewer = viewer.clone();
    in_tx!(db, |tx| handover_body(
        tx, viewer, rules, lead, to, note, now
    ))?;
    crate::notify::announce(db, crate::notify::Change::notice(Some(to)));
    Ok(to)
}

async fn handover_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    rules: Vec<ReclaimRule>,
    lead: LeadId,
    to: UserId,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let h = held(tx, lead).await?;
    match viewer.access(&h.holder) {
        _ if h.deleted => return Err(StoreError::NotFound),
        Access::Hidden => return Err(StoreError::NotFound),
        Access::Read => return Err(StoreError::Forbidden),
        Access::Edit => {}
    }
    if h.holder.owner != Some(viewer.user_id) && !viewer.role.manages_leads() {
        return Err(StoreError::Forbidden);
    }
    if h.status != LeadStatus::Qualified.code() {
        return Err(StoreError::invalid("status", "not_qualified"));
    }
    match person(tx, to).await? {
        Some((Role::Sales, _)) => {}
        _ => return Err(StoreError::invalid("to_user_id", "not_sales")),
    }
    if h.holder.owner == Some(to) {
        return Err(StoreError::Conflict("already_owned"));
    }
    move_owner(
        tx,
        &rules,
        &Move {
            lead,
            from: h.holder.owner,
            to,
            action: Action::Handover,
            actor: viewer.user_id,
            reason: note.clone(),
            at: now,
        },
    )
    .await?;
    tx.execute(
        "INSERT INTO notifications (user_id, kind, lead_id, payload, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)",
        &[
            Arg::I64(to.0),
            Arg::Text(HANDOVER_NOTIFICATION.into()),
            Arg::I64(lead.0),
            Arg::Json(json!({ "from": h.holder.owner, "by": viewer.user_id, "note": note })),
            Arg::Time(now),
        ],
    )
    .await?;
    Ok(())
}

/// Which hand-overs to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoverDirection {
    /// Handed to the viewer (a sales rep's queue).
    ToMe,
    /// Handed by the viewer, or from a lead they owned.
    FromMe,
    /// Handed by or to members of the teams a supervisor supervises; every one for an admin.
    Team,
}

impl HandoverDirection {
    pub fn parse(s: &str) -> Option<HandoverDirection> {
        match s {
            "to_me" => Some(HandoverDirection::ToMe),
            "from_me" => Some(HandoverDirection::FromMe),
            "team" => Some(HandoverDirection::Team),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            HandoverDirection::ToMe => "to_me",
            HandoverDirection::FromMe => "from_me",
            HandoverDirection::Team => "team",
        }
    }

    /// What a person sees first: a rep their queue, an agent what they handed, a supervisor
    /// their teams.
    pub fn default_for(role: Role) -> HandoverDirection {
        match role {
            Role::Sales | Role::Finance => HandoverDirection::ToMe,
            Role::Agent => HandoverDirection::FromMe,
            Role::Supervisor | Role::Admin => HandoverDirection::Team,
        }
    }
}

/// One hand-over: who handed which lead to whom, when, with what note.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Handover {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub lead_id: LeadId,
    pub lead_name: String,
    pub from_user: Option<UserId>,
    pub from_name: Option<String>,
    pub to_user: Option<UserId>,
    pub to_name: Option<String>,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub note: Option<String>,
}

/// The hand-overs in `direction` for `viewer`, newest first (at most 500). `Team` for someone
/// who supervises no team is `Forbidden`.
pub async fn handovers(
    db: &Db,
    viewer: &Viewer,
    direction: HandoverDirection,
) -> Result<Vec<Handover>> {
    let me = viewer.user_id.0;
    let cond = match direction {
        HandoverDirection::ToMe => format!("e.to_user = {me}"),
        HandoverDirection::FromMe => format!("(e.from_user = {me} OR e.actor_id = {me})"),
        HandoverDirection::Team => match viewer.role {
            Role::Admin => "TRUE".to_string(),
            Role::Supervisor if !viewer.supervised_teams.is_empty() => {
                let teams: Vec<String> = viewer
                    .supervised_teams
                    .iter()
                    .map(|t| t.0.to_string())
                    .collect();
                let teams = teams.join(",");
                format!(
                    "(f.team_id IN ({teams}) OR t.team_id IN ({teams}) OR a.team_id IN ({teams}))"
                )
            }
            _ => return Err(StoreError::Forbidden),
        },
    };
    let sql = format!(
        "SELECT e.id, e.at, e.lead_id, l.name AS lead_name, e.from_user, f.display_name AS from_name, \
         e.to_user, t.display_name AS to_name, e.actor_id, a.display_name AS actor_name, e.reason AS note \
         FROM ownership_events e JOIN leads l ON l.id = e.lead_id \
         LEFT JOIN users f ON f.id = e.from_user LEFT JOIN users t ON t.id = e.to_user \
         LEFT JOIN users a ON a.id = e.actor_id \
         WHERE e.action = $1 AND {cond} ORDER BY e.id DESC LIMIT 500"
    );
    Ok(db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Action::Handover.code())
            .fetch_all(pool)
            .await?
    }))
}
