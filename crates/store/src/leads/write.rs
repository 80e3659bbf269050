//! Writing leads: every path checks fields, ownership, duplicate phones and the expected version,
//! then writes the lead, its phones, tags, search tokens and audit entry in one transaction.

use leadline_domain::{
    Access, CustomFieldDef, LeadDraft, LeadFields, LeadId, PhoneNumber, TeamId, UserId, Viewer,
    lead::normalise_company, search_tokens,
};
use serde_json::{Map, Value};
use sqlx::types::Json;

use super::duplicate_phones::{PlannedPhone, explain_unique, plan_phones};
use super::{Lead, load};
use crate::audit::AuditEntry;
use crate::ownership::detect;
use crate::{Backend, Db, Result, StoreError, db_run, leads::custom_fields, now, write_audit};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Put the lead in the public pool instead of giving it to its creator.
    pub pool: bool,
    /// Give the lead to this person (supervisors and admins; agents only themselves).
    pub owner: Option<UserId>,
    /// Keep a phone that another lead already has, recording the collision.
    pub allow_collision: bool,
    /// The existing customer who referred it (resolved with
    /// `ownership::people::referral::resolve`): the lead goes to that customer's owner.
    pub referred_by: Option<LeadId>,
}

/// A change to some fields; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct LeadPatch {
    pub name: Option<String>,
    pub phones: Option<Vec<String>>,
    pub company: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub region: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub status: Option<String>,
    pub intent: Option<Option<String>>,
    pub email: Option<Option<String>>,
    /// Custom values to set (null clears one); fields not named keep their value.
    pub custom: Option<Map<String, Value>>,
    /// `Some(None)` puts the lead in the pool.
    pub owner: Option<Option<UserId>>,
    /// The version the editor saw; a different current version is an edit conflict.
    pub expected_version: Option<i64>,
    pub allow_collision: bool,
}

impl LeadPatch {
    fn apply(&self, draft: &mut LeadDraft) {
        if let Some(v) = &self.name {
            draft.name = v.clone();
        }
        if let Some(v) = &self.phones {
            draft.phones = v.clone();
        }
        for (target, value) in [
            (&mut draft.company, &self.company),
            (&mut draft.title, &self.title),
            (&mut draft.city, &self.city),
            (&mut draft.region, &self.region),
            (&mut draft.source, &self.source),
            (&mut draft.intent, &self.intent),
            (&mut draft.email, &self.email),
        ] {
            if let Some(v) = value {
                *target = v.clone();
            }
        }
        if let Some(v) = &self.tags {
            draft.tags = v.clone();
        }
        if let Some(v) = &self.status {
            draft.status = Some(v.clone());
        }
        if let Some(custom) = &self.custom {
            for (k, v) in custom {
                if v.is_null() {
                    draft.custom.remove(k);
                } else {
                    draft.custom.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

async fn team_of(db: &Db, user: UserId) -> Result<Option<TeamId>> {
    let team: Option<Option<TeamId>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1 AND active = $2")
            .bind(user)
            .bind(true)
            .fetch_optional(pool)
            .await?
    });
    team.ok_or_else(|| StoreError::invalid("owner_id", "unknown_user"))
}

async fn check_assignment(db: &Db, viewer: &Viewer, owner: Option<UserId>) -> Result<()> {
    let team = match owner {
        Some(o) => team_of(db, o).await?,
        None => None,
    };
    if viewer.may_assign_to(owner, team) {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

pub(crate) fn tokens(f: &LeadFields) -> String {
    tokens_of(&f.name, f.company.as_deref(), &f.phones)
}

/// A lead's quick-search tokens: from its name, company and numbers.
pub(crate) fn tokens_of(name: &str, company: Option<&str>, phones: &[PhoneNumber]) -> String {
    search_tokens::of_lead(name, company, phones)
}

/// What the audit trail keeps of a lead's fields (the same shape as [`Lead::audit_view`]).
pub(crate) fn audit_json(f: &LeadFields, owner: Option<UserId>, version: i64) -> Value {
    serde_json::json!({
        "name": f.name, "phones": f.phones.iter().map(|p| p.raw()).collect::<Vec<_>>(),
        "company": f.company, "title": f.title, "city": f.city, "region": f.region,
        "source": f.source, "tags": f.tags, "status": f.status, "intent": f.intent,
        "owner_id": owner, "custom": f.custom, "version": version, "deleted": false,
        "email": f.email,
    })
}

fn parse(draft: &LeadDraft, defs: &[CustomFieldDef]) -> Result<LeadFields> {
    LeadFields::parse(draft, defs).map_err(StoreError::Invalid)
}

/// The statements that replace a lead's search tokens; they take `$1` = id and `$2` = tokens.
fn search_statements(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &[
            "DELETE FROM lead_search WHERE rowid = $1 AND $2 IS NOT NULL",
            "INSERT INTO lead_search (rowid, tokens) VALUES ($1, $2)",
        ],
        Backend::Postgres => &[
            "UPDATE leads SET search_tokens = array_to_tsvector(string_to_array($2, ' ')) WHERE id = $1",
        ],
    }
}

/// Inserts a lead's own row on `$tx` (a transaction of either backend) and yields its id.
macro_rules! insert_lead_row {
    ($tx:ident, $fields:expr, $owner:expr, $actor:expr, $at:expr) => {{
        let f: &LeadFields = $fields;
        sqlx::query_scalar::<_, LeadId>(
            "INSERT INTO leads (name, company, company_norm, title, city, region, source, status, intent, owner_id, \
             created_by, custom, version, created_at, updated_at, company_key, email) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14, $15) RETURNING id",
        )
        .bind(&f.name)
        .bind(&f.company)
        .bind(f.company.as_deref().map(normalise_company))
        .bind(&f.title)
        .bind(&f.city)
        .bind(&f.region)
        .bind(&f.source)
        .bind(f.status.code())
        .bind(f.intent.map(|i| i.code()))
        .bind($owner)
        .bind($actor)
        .bind(Json(&f.custom))
        .bind($at)
        .bind(crate::ownership::detect::stored_key(f.company.as_deref()))
        .bind(&f.email)
        .fetch_one(&mut *$tx)
        .await
    }};
}

/// Opens a collision case of a new record (`$1`) against another person's record (`$2`) on
/// what they share (`$3`, of kind `$4`).
pub(crate) const OPEN_CASE: &str = "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, match_kind, \
    existing_owner_id, new_owner_id, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Sets the do-not-call mark of lead `$1` from its numbers (`leads.dnc`: whether one of them
/// is on the list; the list's own triggers keep it when the list changes).
const MARK_DNC: &str = "UPDATE leads SET dnc = EXISTS \
    (SELECT 1 FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = leads.id) WHERE id = $1";

/// Writes a lead's phones (and its do-not-call mark), the collisions of those `$record(e164)`
/// accepts, its tags and its search tokens on `$tx`; the caller has removed any previous phones
/// and tags.
macro_rules! insert_lead_parts {
    ($tx:ident, $id:expr, $phones:expr, $tags:expr, $tokens:expr, $search:expr, $record:expr, $owner:expr, $actor:expr, $at:expr) => {{
        let phones: &[PlannedPhone] = $phones;
        let record = $record;
        for (pos, (e164, raw, collision)) in phones.iter().enumerate() {
            sqlx::query("INSERT INTO lead_phones (lead_id, e164, raw, position, collision_with) VALUES ($1, $2, $3, $4, $5)")
                .bind($id)
                .bind(e164)
                .bind(raw)
                .bind(pos as i64)
                .bind(collision.map(|c| c.0))
                .execute(&mut *$tx)
                .await?;
            if let (true, Some((existing, existing_owner))) = (record(e164.as_str()), collision) {
                sqlx::query(
                    "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, existing_owner_id, new_owner_id, \
                     recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind($id)
                .bind(*existing)
                .bind(e164)
                .bind(*existing_owner)
                .bind($owner)
                .bind($actor)
                .bind($at)
                .execute(&mut *$tx)
                .await?;
            }
        }
        sqlx::query(MARK_DNC).bind($id).execute(&mut *$tx).await?;
        for tag in $tags {
            sqlx::query("INSERT INTO lead_tags (lead_id, tag) VALUES ($1, $2)")
                .bind($id)
                .bind(tag)
                .execute(&mut *$tx)
                .await?;
        }
        for stmt in $search {
            sqlx::query(*stmt).bind($id).bind($tokens).execute(&mut *$tx).await?;
        }
    }};
}

/// Creates a lead for `viewer`; owned by the creator unless put in the pool or assigned.
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    draft: &LeadDraft,
    opts: &CreateOptions,
) -> Result<Lead> {
    let defs = custom_fields::list(db).await?;
    let fields = parse(draft, &defs)?;
    // 老客户带来的新客户仍属于原销售人员: whoever enters it, a referred lead is its referrer's
    // owner's (no assignment check: the rule, not the person entering, decides).
    let referral_owner = match opts.referred_by {
        Some(r) => crate::ownership::people::referral::referrer_owner(db, r).await?,
        None => None,
    };
    let owner = if referral_owner.is_some() {
        referral_owner
    } else if opts.pool {
        None
    } else {
        Some(opts.owner.unwrap_or(viewer.user_id))
    };
    if referral_owner.is_none() {
        check_assignment(db, viewer, owner).await?;
    }
    let phones = plan_phones(db, viewer, &fields, None, opts.allow_collision).await?;
    // Another person's company or e-mail (撞单): join that company's owner, or open a case;
    // not beside a phone collision, which already names the other record. The creator's own
    // ownership gives way to a join; a chosen owner does not.
    let contact = if phones.iter().any(|p| p.2.is_some()) {
        detect::EntryOutcome {
            owner,
            joined: false,
            case: None,
        }
    } else {
        detect::on_entry(
            db,
            &fields,
            owner,
            !opts.pool && opts.owner.is_none() && referral_owner.is_none(),
        )
        .await?
    };
    let referral = opts.referred_by.map(|r| (r, referral_owner.is_some()));
    let written = match write_new(db, viewer.user_id, &contact, &fields, &phones, referral).await {
        // Two people entering the same number at once, both willing to record the collision:
        // the second one's number went in first elsewhere; plan again, now as a collision, so
        // that there is one owner and one case rather than a refusal.
        Err(e) if opts.allow_collision && is_unique_violation(&e) => {
            let phones = plan_phones(db, viewer, &fields, None, true).await?;
            write_new(db, viewer.user_id, &contact, &fields, &phones, referral).await
        }
        other => other,
    };
    match written {
        Ok(id) => {
            let mut lead = load(db, id).await?;
            hide_collided_leads(db, viewer, &mut lead).await?;
            Ok(lead)
        }
        Err(e) => Err(explain_unique(db, viewer, e, &fields, None).await),
    }
}

fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// Forgets, in a lead about to be shown to `viewer`, which lead each of its collided numbers
/// collides with when the viewer may not see that lead (its id would reveal it exists).
async fn hide_collided_leads(db: &Db, viewer: &Viewer, lead: &mut Lead) -> Result<()> {
    for phone in &mut lead.phones {
        if let Some(other) = phone.collision_with {
            let visible = match load(db, other).await {
                Ok(o) => viewer.access(&o.holder()) != Access::Hidden,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e),
            };
            if !visible {
                phone.collision_with = None;
            }
        }
    }
    Ok(())
}

async fn write_new(
    db: &Db,
    actor: UserId,
    contact: &detect::EntryOutcome,
    f: &LeadFields,
    phones: &[PlannedPhone],
    referral: Option<(LeadId, bool)>,
) -> Result<LeadId> {
    let owner = contact.owner;
    let at = now();
    let search = search_statements(db.backend());
    let tokens = tokens(f);
    // An owned record starts its reclaim countdown (还剩 N 天) the moment it is entered.
    let due = match owner {
        Some(_) => {
            let rules = crate::workday::config::snapshot(db).await?;
            leadline_domain::ownership::reclaim_due(
                &leadline_domain::ownership::OwnedRecord {
                    kind: leadline_domain::ownership::RecordKind::of(f.company.as_deref()),
                    intent: f.intent,
                    grade: None,
                    source: f.source.clone(),
                    owned_since: at,
                    last_valid_follow_up: None,
                    last_progress: None,
                    has_deal: false,
                    protected_until: None,
                },
                &rules.reclaim_rules,
            )
        }
        None => None,
    };
    let id = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id = insert_lead_row!(tx, f, owner, actor, at)?;
        if owner.is_some() {
            sqlx::query(
                "UPDATE leads SET owned_since = $2, reclaim_at = $3, reclaim_rule_id = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(due.map(|d| d.at))
            .bind(due.map(|d| d.rule_id))
            .execute(&mut *tx)
            .await?;
        }
        insert_lead_parts!(
            tx,
            id,
            phones,
            &f.tags,
            &tokens,
            search,
            |_: &str| true,
            owner,
            actor,
            at
        );
        if let Some((kind, value, existing, existing_owner)) = &contact.case {
            sqlx::query(OPEN_CASE)
                .bind(id)
                .bind(*existing)
                .bind(value)
                .bind(kind.code())
                .bind(*existing_owner)
                .bind(owner)
                .bind(actor)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        if let Some((referrer, _)) = referral {
            sqlx::query("UPDATE leads SET referred_by = $1 WHERE id = $2")
                .bind(referrer)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // The first line of its ownership history: to the referrer's owner, to the owner of the
        // company it joined, or to whoever it was entered for.
        use crate::ownership::events::Action;
        let first = match (referral, owner) {
            (Some((referrer, true)), _) => {
                Some((Action::Referral, Some(format!("referred_by {referrer}"))))
            }
            (_, Some(_)) if contact.joined => {
                Some((Action::Create, Some(detect::JOINED_REASON.to_string())))
            }
            (_, Some(_)) => Some((Action::Create, None)),
            (_, None) => None,
        };
        if let Some((action, reason)) = first {
            sqlx::query(crate::ownership::events::INSERT)
                .bind(id)
                .bind(at)
                .bind(action.code())
                .bind(None::<i64>)
                .bind(owner)
                .bind(actor)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "lead",
                entity_id: id.0,
                actor: Some(actor),
                action: "create",
                before: None,
                after: Some(audit_json(f, owner, 1)),
                at,
            }
        )?;
        tx.commit().await?;
        id
    });
    Ok(id)
}

/// Applies a patch: refused with `NotFound` if the viewer may not see the lead (as a read would
/// be, so that existence is not revealed), `EditConflict` if it changed since the editor read
/// it, `DuplicatePhone` for a number another lead holds.
pub async fn update(db: &Db, viewer: &Viewer, id: LeadId, patch: &LeadPatch) -> Result<Lead> {
    let before = load(db, id).await?;
    match viewer.access(&before.holder()) {
        Access::Hidden => return Err(StoreError::NotFound),
        Access::Read => return Err(StoreError::Forbidden),
        Access::Edit => {}
    }
    if before.deleted_at.is_some() {
        return Err(StoreError::NotFound);
    }
    if let Some(v) = patch.expected_version
        && v != before.version
    {
        return Err(StoreError::EditConflict {
            current: before.version,
        });
    }
    let owner = match patch.owner {
        Some(new_owner) if new_owner != before.owner_id => {
            check_assignment(db, viewer, new_owner).await?;
            new_owner
        }
        _ => before.owner_id,
    };
    let defs = custom_fields::list(db).await?;
    let mut draft = before.to_draft();
    patch.apply(&mut draft);
    let fields = parse(&draft, &defs)?;
    // Numbers the lead already had keep their state; only new ones are checked.
    let new_phones: Vec<_> = fields
        .phones
        .iter()
        .filter(|p| !before.phones.iter().any(|b| b.e164 == p.e164()))
        .cloned()
        .collect();
    let check = LeadFields {
        phones: new_phones,
        ..fields.clone()
    };
    let mut planned = plan_phones(db, viewer, &check, Some(id), patch.allow_collision).await?;
    let mut phones = Vec::new();
    for p in &fields.phones {
        match before.phones.iter().find(|b| b.e164 == p.e164()) {
            Some(old) => phones.push((
                old.e164.clone(),
                p.raw().to_string(),
                old.collision_with.map(|c| (c, None)),
            )),
            None => phones.push(planned.remove(0)),
        }
    }
    let at = now();
    let search = search_statements(db.backend());
    let tokens = tokens(&fields);
    let result: Result<()> = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE leads SET name = $1, company = $2, company_norm = $3, title = $4, city = $5, region = $6, \
             source = $7, status = $8, intent = $9, owner_id = $10, custom = $11, version = version + 1, \
             updated_at = $12, company_key = $15, email = $16 WHERE id = $13 AND version = $14 AND deleted_at IS NULL",
        )
        .bind(&fields.name)
        .bind(&fields.company)
        .bind(fields.company.as_deref().map(normalise_company))
        .bind(&fields.title)
        .bind(&fields.city)
        .bind(&fields.region)
        .bind(&fields.source)
        .bind(fields.status.code())
        .bind(fields.intent.map(|i| i.code()))
        .bind(owner)
        .bind(Json(&fields.custom))
        .bind(at)
        .bind(id)
        .bind(before.version)
        .bind(crate::ownership::detect::stored_key(fields.company.as_deref()))
        .bind(&fields.email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            // Someone else saved in between; nothing of ours is written.
            let current: i64 = sqlx::query_scalar("SELECT version FROM leads WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            return Err(StoreError::EditConflict { current });
        }
        if fields.status == leadline_domain::LeadStatus::Converted {
            // A deal keeps the record with its owner for good (issue 22): the first deal's
            // moment is kept and the countdown ends (`ownership::reclaim_due` of a deal: none).
            sqlx::query(
                "UPDATE leads SET deal_at = COALESCE(deal_at, $2), reclaim_at = NULL, \
                 reclaim_rule_id = NULL, warned_days = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        if leadline_domain::next_call::is_closed(fields.status) {
            // A closed lead is never served again: a revisit left on it would stay due in
            // 待回访 and the overdue list for good (issue 25).
            sqlx::query(
                "UPDATE leads SET next_revisit_at = NULL, revisit_agent_id = NULL WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM lead_phones WHERE lead_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM lead_tags WHERE lead_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Collisions are recorded once, when a number is added.
        let is_new = |e164: &str| !before.phones.iter().any(|b| b.e164 == e164);
        insert_lead_parts!(
            tx,
            id,
            &phones,
            &fields.tags,
            &tokens,
            search,
            is_new,
            owner,
            viewer.user_id,
            at
        );
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "lead",
                entity_id: id.0,
                actor: Some(viewer.user_id),
                action: "update",
                before: Some(before.audit_view()),
                after: Some(audit_json(&fields, owner, before.version + 1)),
                at,
            }
        )?;
        tx.commit().await?;
        Ok(())
    });
    if let Err(e) = result {
        return Err(explain_unique(db, viewer, e, &fields, Some(id)).await);
    }
    load(db, id).await
}

async fn set_deleted(db: &Db, viewer: &Viewer, id: LeadId, deleted: bool) -> Result<Lead> {
    let before = load(db, id).await?;
    match viewer.access(&before.holder()) {
        Access::Hidden => return Err(StoreError::NotFound),
        Access::Read => return Err(StoreError::Forbidden),
        Access::Edit => {}
    }
    if !viewer.role.manages_leads() {
        return Err(StoreError::Forbidden);
    }
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE leads SET deleted_at = $1, version = version + 1, updated_at = $2 WHERE id = $3")
            .bind(deleted.then_some(at))
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = {
            let mut a = before.audit_view();
            a["deleted"] = Value::Bool(deleted);
            a["version"] = Value::from(before.version + 1);
            a
        };
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "lead",
                entity_id: id.0,
                actor: Some(viewer.user_id),
                action: if deleted { "delete" } else { "restore" },
                before: Some(before.audit_view()),
                after: Some(after),
                at,
            }
        )?;
        tx.commit().await?;
    });
    load(db, id).await
}

/// Soft-deletes a lead (supervisors and admins): it leaves lists but keeps its history.
pub async fn delete(db: &Db, viewer: &Viewer, id: LeadId) -> Result<Lead> {
    set_deleted(db, viewer, id, true).await
}

pub async fn restore(db: &Db, viewer: &Viewer, id: LeadId) -> Result<Lead> {
    set_deleted(db, viewer, id, false).await
}

/// Inserts many already-checked leads in one transaction without per-lead audit entries
/// (benchmarks and bulk loads); a phone held by another lead fails the whole batch.
pub async fn bulk_insert(
    db: &Db,
    actor: UserId,
    leads: &[(LeadFields, Option<UserId>)],
) -> Result<()> {
    let at = now();
    let search = search_statements(db.backend());
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (f, owner) in leads {
            let id = insert_lead_row!(tx, f, *owner, actor, at)?;
            let phones: Vec<PlannedPhone> = f
                .phones
                .iter()
                .map(|p| (p.e164().to_string(), p.raw().to_string(), None))
                .collect();
            let tokens = tokens(f);
            insert_lead_parts!(
                tx,
                id,
                &phones,
                &f.tags,
                &tokens,
                search,
                |_: &str| false,
                *owner,
                actor,
                at
            );
        }
        tx.commit().await?;
    });
    Ok(())
}
