//! Referrals (老客户带来的新客户仍属于原销售人员) and friends and family (亲朋好友).
//!
//! A referrer is named by its lead id, which the person naming it must be able to see, or by
//! the referring customer's phone: whoever knows the number may name the customer (as the
//! duplicate-phone check already tells anyone whose customer a number is), and nothing of a
//! hidden referrer is shown back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::import_plan::Referral;
use leadline_domain::ownership::owner_on_entry;
use leadline_domain::{Access, LeadId, PhoneNumber, UserId, Viewer};
use serde_json::json;

use super::{Move, audit_lead, held, move_owner};
use crate::db::sql::{Arg, Sql};
use crate::db::tx::Tx;
use crate::ownership::events::Action;
use crate::workday::config;
use crate::{Db, Result, StoreError, db_run, in_tx, leads};

/// The customer who referred a lead, as the person entering it names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referrer {
    Lead(LeadId),
    Phone(String),
}

impl Referrer {
    /// A referrer as a file's cell names it: `#123` is the customer numbered 123, anything
    /// else their phone.
    pub fn from_cell(cell: &str) -> Referrer {
        let cell = cell.trim();
        match cell
            .strip_prefix(['#', '＃'])
            .and_then(|n| n.trim().parse::<i64>().ok())
        {
            Some(id) => Referrer::Lead(LeadId(id)),
            None => Referrer::Phone(cell.to_string()),
        }
    }
}

/// Most keys in one look-up statement.
const KEYS_PER_STATEMENT: usize = 500;

/// The referrers an import's batch names, found at once (a referral is rare: one statement per
/// 500 named): each cell as written (see [`Referrer::from_cell`]) → the referring lead and its
/// owner when that is an active person. As for a lead entered by hand ([`resolve`]), a phone
/// finds whoever holds it, a number only a lead `viewer` (the importer) may see; a cell found
/// by neither, or not a phone, is left out.
pub async fn find_for_import(
    db: &Db,
    viewer: &Viewer,
    cells: &[String],
) -> Result<HashMap<String, Referral>> {
    let mut phones: Vec<(String, &String)> = Vec::new();
    let mut ids: Vec<(i64, &String)> = Vec::new();
    for cell in cells {
        match Referrer::from_cell(cell) {
            Referrer::Lead(id) => ids.push((id.0, cell)),
            Referrer::Phone(raw) => {
                if let Ok(p) = PhoneNumber::parse(&raw) {
                    phones.push((p.e164().to_string(), cell));
                }
            }
        }
    }
    let mut found = HashMap::new();
    let visible = crate::leads::visible_leads(viewer, "l", |u| u.0.to_string());
    for chunk in phones.chunks(KEYS_PER_STATEMENT) {
        let mut sql = Sql::new(
            "SELECT p.e164, l.id, CASE WHEN u.active = $1 THEN l.owner_id END FROM lead_phones p \
             JOIN leads l ON l.id = p.lead_id LEFT JOIN users u ON u.id = l.owner_id \
             WHERE p.collision_with IS NULL AND l.deleted_at IS NULL AND p.e164 IN (",
        );
        sql.args.push(Arg::Bool(true));
        let ps: Vec<String> = chunk
            .iter()
            .map(|(e164, _)| sql.arg(Arg::Text(e164.clone())))
            .collect();
        sql.push(&ps.join(", ")).push(")");
        let by_phone: HashMap<String, Referral> = lookup(db, sql)
            .await?
            .into_iter()
            .map(|(key, by, owner)| (key, Referral { by, owner }))
            .collect();
        for (e164, cell) in chunk {
            if let Some(r) = by_phone.get(e164) {
                found.insert((*cell).clone(), *r);
            }
        }
    }
    for chunk in ids.chunks(KEYS_PER_STATEMENT) {
        let mut sql = Sql::new(
            "SELECT CAST(l.id AS TEXT), l.id, CASE WHEN u.active = $1 THEN l.owner_id END FROM leads l \
             LEFT JOIN users u ON u.id = l.owner_id WHERE l.deleted_at IS NULL AND ",
        );
        sql.args.push(Arg::Bool(true));
        sql.push(&format!("({visible}) AND l.id IN ("));
        let ps: Vec<String> = chunk.iter().map(|(id, _)| sql.arg(Arg::I64(*id))).collect();
        sql.push(&ps.join(", ")).push(")");
        let by_id: HashMap<LeadId, Referral> = lookup(db, sql)
            .await?
            .into_iter()
            .map(|(_, by, owner)| (by, Referral { by, owner }))
            .collect();
        for (id, cell) in chunk {
            if let Some(r) = by_id.get(&LeadId(*id)) {
                found.insert((*cell).clone(), *r);
            }
        }
    }
    Ok(found)
}

/// Runs a referrer look-up: (key, lead, active owner).
async fn lookup(db: &Db, sql: Sql) -> Result<Vec<(String, LeadId, Option<UserId>)>> {
    Ok(db_run!(db, |pool| {
        crate::bind_args!(
            sqlx::query_as::<_, (String, LeadId, Option<UserId>)>(sqlx::AssertSqlSafe(
                sql.text.clone()
            )),
            sql.args
        )
        .fetch_all(pool)
        .await?
    }))
}

fn not_found() -> StoreError {
    StoreError::invalid("referred_by", "referrer_not_found")
}

/// The referring lead: an id the viewer may see, or the lead holding the phone. Anything else
/// is 422 `referrer_not_found`, the same for a hidden lead as for none.
pub async fn resolve(db: &Db, viewer: &Viewer, referrer: &Referrer) -> Result<LeadId> {
    match referrer {
        Referrer::Lead(id) => match leads::get(db, viewer, *id).await {
            Ok(lead) if lead.deleted_at.is_none() => Ok(lead.id),
            Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(e),
        },
        Referrer::Phone(raw) => {
            let phone = PhoneNumber::parse(raw)
                .map_err(|_| StoreError::invalid("referred_by", "bad_phone"))?;
            leads::find_by_phone(db, phone.e164())
                .await?
                .ok_or_else(not_found)
        }
    }
}

/// The owner of the referring lead (`None`: in a pool, or deleted).
pub(crate) async fn referrer_owner(db: &Db, referrer: LeadId) -> Result<Option<UserId>> {
    let owner: Option<Option<UserId>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT owner_id FROM leads WHERE id = $1 AND deleted_at IS NULL")
            .bind(referrer)
            .fetch_optional(pool)
            .await?
    });
    Ok(owner.flatten())
}

/// Names the customer who referred `lead` (the viewer must be able to edit it); the lead then
/// goes to the referrer's owner (event `referral`) when that is someone else.
pub async fn set_referral(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    referrer: &Referrer,
    now: DateTime<Utc>,
) -> Result<()> {
    let referrer = resolve(db, viewer, referrer).await?;
    if referrer == lead {
        return Err(StoreError::invalid("referred_by", "self_referral"));
    }
    let rules = config::snapshot(db).await?.reclaim_rules.clone();
    let viewer = viewer.clone();
    in_tx!(db, |tx| referral_body(
        tx, viewer, rules, lead, referrer, now
    ))
}

async fn referral_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    rules: Vec<leadline_domain::ownership::ReclaimRule>,
    lead: LeadId,
    referrer: LeadId,
    now: DateTime<Utc>,
) -> Result<()> {
    let h = held(tx, lead).await?;
    match viewer.access(&h.holder) {
        _ if h.deleted => return Err(StoreError::NotFound),
        Access::Hidden => return Err(StoreError::NotFound),
        Access::Read => return Err(StoreError::Forbidden),
        Access::Edit => {}
    }
    tx.execute(
        "UPDATE leads SET referred_by = $2, version = version + 1, updated_at = $3 WHERE id = $1",
        &[Arg::I64(lead.0), Arg::I64(referrer.0), Arg::Time(now)],
    )
    .await?;
    audit_lead(
        tx,
        lead,
        viewer.user_id,
        "set_referral",
        json!({ "referred_by": h.referred_by }),
        json!({ "referred_by": referrer }),
        now,
    )
    .await?;
    let row = tx
        .fetch_optional(
            "SELECT owner_id FROM leads WHERE id = $1 AND deleted_at IS NULL",
            &[Arg::I64(referrer.0)],
        )
        .await?;
    let referrer_owner = match row {
        Some(r) => r.opt_i64(0)?.map(UserId),
        None => None,
    };
    let current = h.holder.owner;
    if let Some(to) = referrer_owner
        && Some(to) != current
    {
        let to = owner_on_entry(Some(to), viewer.user_id);
        move_owner(
            tx,
            &rules,
            &Move {
                lead,
                from: current,
                to,
                action: Action::Referral,
                actor: viewer.user_id,
                reason: Some(format!("referred_by {referrer}")),
                at: now,
            },
        )
        .await?;
    }
    Ok(())
}

/// Marks `lead` as the viewer's own friends and family (亲朋好友), or removes the mark. A pool
/// lead becomes the viewer's (event `claim`, reason `personal`); one another person owns is
/// 409 `already_owned`. A marked lead is never reclaimed: its countdown is null.
pub async fn set_personal(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    personal: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let rules = config::snapshot(db).await?.reclaim_rules.clone();
    let viewer = viewer.clone();
    in_tx!(db, |tx| personal_body(
        tx, viewer, rules, lead, personal, now
    ))
}

async fn personal_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    rules: Vec<leadline_domain::ownership::ReclaimRule>,
    lead: LeadId,
    personal: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let h = held(tx, lead).await?;
    if h.deleted || viewer.access(&h.holder) == Access::Hidden {
        return Err(StoreError::NotFound);
    }
    match h.holder.owner {
        Some(o) if o != viewer.user_id => return Err(StoreError::Conflict("already_owned")),
        Some(_) => {}
        None if !personal => return Err(StoreError::invalid("lead", "not_owned")),
        None => {
            move_owner(
                tx,
                &rules,
                &Move {
                    lead,
                    from: None,
                    to: viewer.user_id,
                    action: Action::Claim,
                    actor: viewer.user_id,
                    reason: Some("personal".into()),
                    at: now,
                },
            )
            .await?;
        }
    }
    tx.execute(
        "UPDATE leads SET personal = $2, version = version + 1, updated_at = $3 WHERE id = $1",
        &[Arg::I64(lead.0), Arg::Bool(personal), Arg::Time(now)],
    )
    .await?;
    audit_lead(
        tx,
        lead,
        viewer.user_id,
        "set_personal",
        json!({ "personal": !personal }),
        json!({ "personal": personal }),
        now,
    )
    .await?;
    crate::ownership::countdown::refresh(tx, &rules, lead).await?;
    Ok(())
}
