//! Converting a qualified lead into a customer (线索转化): its contact and an opportunity owned
//! by a sales rep, the lead linked so that its history is the customer's. Never a duplicate: a
//! customer that already has the lead's phone, company or e-mail (as 撞单 matches them) gets
//! the lead linked instead.
//!
//! One transaction. Conversions are serialised: on PostgreSQL by one advisory lock (a
//! conversion is a rare, deliberate act, so one at a time costs nothing, and the match-then-
//! insert cannot interleave: two leads of one company converted at the same moment give one
//! customer); on SQLite by its one writer. The lead is locked too (`FOR UPDATE`), and the
//! unique company key of live customers stands behind both.

use chrono::{DateTime, Utc};
use leadline_domain::customer::kind_and_name;
use leadline_domain::{
    Access, CustomerId, Holder, LeadId, OpportunityId, PoolId, Role, TeamId, UserId, Viewer,
};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Backend, Db, Result, StoreError, in_tx};

const LOCK_CONVERSIONS_PG: &str = "SELECT pg_advisory_xact_lock(23, 0)";
const LEAD: &str = "SELECT l.owner_id, o.team_id, l.backup_owner_id, l.backup_may_edit, l.pool_id, \
    l.deleted_at, l.customer_id, l.name, l.company, l.title, l.email, l.city \
    FROM leads l LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = $1";
const PHONES: &str = "SELECT e164, raw FROM lead_phones WHERE lead_id = $1 ORDER BY position, id";
const REP: &str = "SELECT role, team_id, active FROM users WHERE id = $1";
const BY_PHONE: &str = "SELECT c.id FROM customer_contact_phones p JOIN customers c ON c.id = p.customer_id \
    WHERE p.e164 = $1 AND c.deleted_at IS NULL ORDER BY c.id LIMIT 1";
const BY_COMPANY: &str =
    "SELECT id FROM customers WHERE company_key = $1 AND deleted_at IS NULL ORDER BY id LIMIT 1";
const BY_EMAIL: &str = "SELECT c.id FROM customer_contacts k JOIN customers c ON c.id = k.customer_id \
    WHERE k.email = $1 AND k.deleted_at IS NULL AND c.deleted_at IS NULL ORDER BY c.id LIMIT 1";
const INSERT_CUSTOMER: &str = "INSERT INTO customers (kind, name, company_key, city, owner_id, owned_since, \
    status, lead_id, created_by, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, 'prospect', $7, $8, $6, $6) RETURNING id";
const INSERT_CONTACT: &str = "INSERT INTO customer_contacts (customer_id, name, title, email, is_primary, \
    position, lead_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, \
    (SELECT COUNT(*) FROM customer_contacts WHERE customer_id = $1), $6, $7, $7) RETURNING id";
const INSERT_PHONE: &str = "INSERT INTO customer_contact_phones (contact_id, customer_id, e164, raw, position) \
    VALUES ($1, $2, $3, $4, $5)";
const FIRST_STAGE: &str = "SELECT id FROM opportunity_stages WHERE active AND NOT is_won AND NOT is_lost \
    ORDER BY position, id LIMIT 1";
const INSERT_OPPORTUNITY: &str = "INSERT INTO opportunities (customer_id, lead_id, contact_id, owner_id, title, \
    stage_id, stage_entered_at, created_by, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $7) RETURNING id";
const INSERT_STAGE_HISTORY: &str = "INSERT INTO opportunity_stage_history (opportunity_id, stage_id, entered_at, moved_by) \
    VALUES ($1, $2, $3, $4)";
const LINK_LEAD: &str =
    "UPDATE leads SET customer_id = $2, version = version + 1, updated_at = $3 WHERE id = $1";
pub(crate) const INSERT_EVENT: &str = "INSERT INTO customer_events (customer_id, at, action, from_user, to_user, \
    actor_id, from_value, to_value, lead_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Conversion {
    pub customer_id: CustomerId,
    /// The new opportunity; `None` when the lead joined a customer that already existed.
    pub opportunity_id: Option<OpportunityId>,
    /// Whether a customer was made (else the lead was linked to an existing one).
    #[serde(skip)]
    pub created: bool,
}

/// Converts `lead` for `viewer`, the customer owned by `sales_rep` when named, else by the
/// lead's owner (the viewer when the lead is in a pool). Refusals: a lead the viewer may not
/// see (or deleted) is `NotFound`; one they may only read is `Forbidden`; a named rep who is not
/// an active sales rep, supervisor or admin is `Invalid(sales_rep_id)`. Converting a lead
/// already converted returns its customer.
pub async fn convert(
    db: &Db,
    viewer: &Viewer,
    lead: LeadId,
    sales_rep: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Conversion> {
    let viewer = viewer.clone();
    in_tx!(db, |tx| convert_body(tx, viewer, lead, sales_rep, now))
}

struct LockedLead {
    holder: Holder,
    deleted: bool,
    customer: Option<CustomerId>,
    name: String,
    company: Option<String>,
    title: Option<String>,
    email: Option<String>,
    city: Option<String>,
}

async fn lock_lead(tx: &mut impl Tx, lead: LeadId) -> Result<LockedLead> {
    let sql = match tx.backend() {
        Backend::Sqlite => LEAD.to_string(),
        Backend::Postgres => format!("{LEAD} FOR UPDATE OF l"),
    };
    let row = tx
        .fetch_optional(&sql, &[Arg::I64(lead.0)])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(LockedLead {
        holder: Holder {
            owner: row.opt_i64(0)?.map(UserId),
            owner_team: row.opt_i64(1)?.map(TeamId),
            backup: row.opt_i64(2)?.map(UserId),
            backup_may_edit: row.bool(3)?,
            pool: row.opt_i64(4)?.map(PoolId),
        },
        deleted: row.opt_time(5)?.is_some(),
        customer: row.opt_i64(6)?.map(CustomerId),
        name: row.text(7)?,
        company: row.opt_text(8)?,
        title: row.opt_text(9)?,
        email: row.opt_text(10)?,
        city: row.opt_text(11)?,
    })
}

/// The named rep, checked: an active sales rep, supervisor or admin.
async fn check_rep(tx: &mut impl Tx, rep: UserId) -> Result<()> {
    let bad = || StoreError::invalid("sales_rep_id", "not_a_sales_rep");
    let row = tx
        .fetch_optional(REP, &[Arg::I64(rep.0)])
        .await?
        .ok_or_else(bad)?;
    let role = Role::parse(&row.text(0)?);
    let active = row.bool(2)?;
    match role {
        Some(Role::Sales | Role::Supervisor | Role::Admin) if active => Ok(()),
        _ => Err(bad()),
    }
}

/// The live customer that already has one of `phones`, the `company_key` or the `email`.
async fn existing(
    tx: &mut impl Tx,
    phones: &[(String, String)],
    company_key: Option<&str>,
    email: Option<&str>,
) -> Result<Option<(CustomerId, &'static str)>> {
    for (e164, _) in phones {
        if let Some(r) = tx
            .fetch_optional(BY_PHONE, &[Arg::Text(e164.clone())])
            .await?
        {
            return Ok(Some((CustomerId(r.i64(0)?), "phone")));
        }
    }
    if let Some(key) = company_key
        && let Some(r) = tx
            .fetch_optional(BY_COMPANY, &[Arg::Text(key.to_string())])
            .await?
    {
        return Ok(Some((CustomerId(r.i64(0)?), "company")));
    }
    if let Some(email) = email
        && let Some(r) = tx
            .fetch_optional(BY_EMAIL, &[Arg::Text(email.to_string())])
            .await?
    {
        return Ok(Some((CustomerId(r.i64(0)?), "email")));
    }
    Ok(None)
}

/// Adds the lead's person as a contact of `customer`, with its phones.
async fn add_lead_contact(
    tx: &mut impl Tx,
    customer: CustomerId,
    lead: LeadId,
    l: &LockedLead,
    phones: &[(String, String)],
    primary: bool,
    now: DateTime<Utc>,
) -> Result<i64> {
    let contact = tx
        .fetch_one(
            INSERT_CONTACT,
            &[
                Arg::I64(customer.0),
                Arg::Text(l.name.clone()),
                Arg::OptText(l.title.clone()),
                Arg::OptText(l.email.clone()),
                Arg::Bool(primary),
                Arg::I64(lead.0),
                Arg::Time(now),
            ],
        )
        .await?
        .i64(0)?;
    for (i, (e164, raw)) in phones.iter().enumerate() {
        tx.execute(
            INSERT_PHONE,
            &[
                Arg::I64(contact),
                Arg::I64(customer.0),
                Arg::Text(e164.clone()),
                Arg::Text(raw.clone()),
                Arg::I64(i as i64),
            ],
        )
        .await?;
    }
    Ok(contact)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the columns of one customer_events row"
)]
async fn event(
    tx: &mut impl Tx,
    customer: CustomerId,
    at: DateTime<Utc>,
    action: &str,
    to_user: Option<UserId>,
    actor: UserId,
    lead: Option<LeadId>,
    reason: Option<&str>,
) -> Result<()> {
    tx.execute(
        INSERT_EVENT,
        &[
            Arg::I64(customer.0),
            Arg::Time(at),
            Arg::Text(action.to_string()),
            Arg::OptI64(None),
            Arg::OptI64(to_user.map(|u| u.0)),
            Arg::OptI64(Some(actor.0)),
            Arg::OptText(None),
            Arg::OptText(None),
            Arg::OptI64(lead.map(|l| l.0)),
            Arg::OptText(reason.map(str::to_string)),
        ],
    )
    .await?;
    Ok(())
}

async fn convert_body(
    tx: &mut impl Tx,
    viewer: Viewer,
    lead: LeadId,
    sales_rep: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Conversion> {
    if tx.backend() == Backend::Postgres {
        tx.execute(LOCK_CONVERSIONS_PG, &[]).await?;
    }
    let l = lock_lead(tx, lead).await?;
    match viewer.access(&l.holder) {
        Access::Hidden => return Err(StoreError::NotFound),
        _ if l.deleted => return Err(StoreError::NotFound),
        Access::Read => return Err(StoreError::Forbidden),
        Access::Edit => {}
    }
    if let Some(customer) = l.customer {
        return Ok(Conversion {
            customer_id: customer,
            opportunity_id: None,
            created: false,
        });
    }
    if let Some(rep) = sales_rep {
        check_rep(tx, rep).await?;
    }
    let mut phones = Vec::new();
    {
        // Read row by row: the store's Tx returns one row per statement, so page by position.
        let mut offset = 0i64;
        loop {
            let sql = format!("{PHONES} LIMIT 1 OFFSET {offset}");
            match tx.fetch_optional(&sql, &[Arg::I64(lead.0)]).await? {
                Some(r) => phones.push((r.text(0)?, r.text(1)?)),
                None => break,
            }
            offset += 1;
        }
    }
    let (kind, name, company_key) = kind_and_name(&l.name, l.company.as_deref());
    if let Some((customer, matched)) =
        existing(tx, &phones, company_key.as_deref(), l.email.as_deref()).await?
    {
        // A new person of a known company becomes one more contact; a known phone or e-mail
        // is a contact the customer has already.
        if matched == "company" {
            add_lead_contact(tx, customer, lead, &l, &phones, false, now).await?;
        }
        tx.execute(
            LINK_LEAD,
            &[Arg::I64(lead.0), Arg::I64(customer.0), Arg::Time(now)],
        )
        .await?;
        event(
            tx,
            customer,
            now,
            "link_lead",
            None,
            viewer.user_id,
            Some(lead),
            Some(matched),
        )
        .await?;
        let entry = AuditEntry {
            entity: "customer",
            entity_id: customer.0,
            actor: Some(viewer.user_id),
            action: "link_lead",
            before: None,
            after: Some(json!({"lead_id": lead.0, "matched_by": matched})),
            at: now,
        };
        tx.execute(audit::INSERT, &entry.args()).await?;
        return Ok(Conversion {
            customer_id: customer,
            opportunity_id: None,
            created: false,
        });
    }
    let owner = sales_rep.or(l.holder.owner).unwrap_or(viewer.user_id);
    let customer = CustomerId(
        tx.fetch_one_unique(
            INSERT_CUSTOMER,
            &[
                Arg::Text(kind.code().to_string()),
                Arg::Text(name.clone()),
                Arg::OptText(company_key),
                Arg::OptText(l.city.clone()),
                Arg::I64(owner.0),
                Arg::Time(now),
                Arg::I64(lead.0),
                Arg::I64(viewer.user_id.0),
            ],
            "customer",
        )
        .await?
        .i64(0)?,
    );
    let contact = add_lead_contact(tx, customer, lead, &l, &phones, true, now).await?;
    let stage = tx
        .fetch_optional(FIRST_STAGE, &[])
        .await?
        .ok_or_else(|| StoreError::invalid("stage", "no_open_stage"))?
        .i64(0)?;
    let title = name.clone();
    let opportunity = OpportunityId(
        tx.fetch_one(
            INSERT_OPPORTUNITY,
            &[
                Arg::I64(customer.0),
                Arg::I64(lead.0),
                Arg::I64(contact),
                Arg::I64(owner.0),
                Arg::Text(title),
                Arg::I64(stage),
                Arg::Time(now),
                Arg::I64(viewer.user_id.0),
            ],
        )
        .await?
        .i64(0)?,
    );
    tx.execute(
        INSERT_STAGE_HISTORY,
        &[
            Arg::I64(opportunity.0),
            Arg::I64(stage),
            Arg::Time(now),
            Arg::I64(viewer.user_id.0),
        ],
    )
    .await?;
    tx.execute(
        LINK_LEAD,
        &[Arg::I64(lead.0), Arg::I64(customer.0), Arg::Time(now)],
    )
    .await?;
    event(
        tx,
        customer,
        now,
        "convert",
        Some(owner),
        viewer.user_id,
        Some(lead),
        None,
    )
    .await?;
    let entry = AuditEntry {
        entity: "customer",
        entity_id: customer.0,
        actor: Some(viewer.user_id),
        action: "convert",
        before: None,
        after: Some(json!({
            "lead_id": lead.0, "owner_id": owner.0, "kind": kind.code(), "name": name,
            "opportunity_id": opportunity.0,
        })),
        at: now,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(Conversion {
        customer_id: customer,
        opportunity_id: Some(opportunity),
        created: true,
    })
}
