//! Customers (客户, issue 23): converting a lead, the customer card and list, contacts, the
//! sales rep's queue. A customer is held like a lead (owner, backup, pool) and seen by the same
//! rule ([`Viewer::customer_scope`]), rendered once ([`visible_customers`]).

mod access;
mod card;
mod contacts;
mod convert;

pub use card::{HistoryEntry, TimelineItem, history, timeline};
pub use contacts::{add_contact, delete_contact, update_contact};
pub use convert::{Conversion, convert};

// For the sales and pipeline modules: the access checks of a customer inside a transaction,
// and the insert of one `customer_events` row (status, grade, ownership changes).
pub(crate) use access::{access, may_edit, may_read};
#[allow(
    unused_imports,
    reason = "extension point for the sales and pipeline modules"
)]
pub(crate) use convert::INSERT_EVENT;

use chrono::{DateTime, Utc};
use leadline_domain::customer::{CustomerKind, CustomerStatus};
use leadline_domain::{
    Access, ContactId, CustomerId, Holder, LeadId, PoolId, TeamId, UserId, Viewer,
};
use serde::Serialize;

use crate::db::sql::{Arg, Sql};
use crate::leads::visible_in_scope;
use crate::{Db, Result, StoreError, bind_args, db_run};

/// Most customers one list page returns.
pub const MAX_LIMIT: i64 = 200;

/// What the customer still owes, in 分: confirmed orders less returns less payments (the one
/// SQL of `domain::money::balance_fen`), for the customer aliased `c`.
pub const BALANCE_SQL: &str = "CAST((SELECT COALESCE(SUM(bo.total_fen), 0) FROM orders bo \
    WHERE bo.customer_id = c.id AND bo.status = 'confirmed') \
    - (SELECT COALESCE(SUM(br.amount_fen), 0) FROM returns br WHERE br.customer_id = c.id) \
    - (SELECT COALESCE(SUM(bp.amount_fen), 0) FROM payments bp WHERE bp.customer_id = c.id) AS BIGINT)";

/// The SQL condition "`viewer` may see the customer aliased `customer`" (deleted ones are left
/// to the caller), the rendering of [`Viewer::customer_scope`]. `me` as in
/// [`crate::leads::visible_leads`].
pub fn visible_customers(
    viewer: &Viewer,
    customer: &str,
    me: impl FnOnce(UserId) -> String,
) -> String {
    visible_in_scope(viewer.customer_scope(), customer, me)
}

/// A person, by id and name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContactPhone {
    pub e164: String,
    pub raw: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub is_primary: bool,
    pub phones: Vec<ContactPhone>,
    pub lead_id: Option<LeadId>,
}

/// The customer card (客户管理卡).
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub name: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    /// A | B | C, or none before the first grading.
    pub grade: Option<String>,
    pub grade_overridden: bool,
    pub grade_reason: Option<String>,
    pub status: CustomerStatus,
    pub owner: Option<Person>,
    pub owner_id: Option<UserId>,
    pub backup_owner: Option<Person>,
    pub backup_may_edit: bool,
    pub pool_id: Option<PoolId>,
    /// The lead it was converted from first.
    pub lead_id: Option<LeadId>,
    /// Every lead linked to it (their calls are the customer's).
    pub lead_ids: Vec<LeadId>,
    pub owned_since: Option<DateTime<Utc>>,
    /// What is still owed, in 分.
    pub balance_fen: i64,
    pub contacts: Vec<Contact>,
    /// `edit` or `read`: what the caller may do.
    pub access: &'static str,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct CustomerRow {
    id: i64,
    kind: String,
    name: String,
    address: Option<String>,
    city: Option<String>,
    industry: Option<String>,
    grade: Option<String>,
    grade_overridden: bool,
    grade_reason: Option<String>,
    status: String,
    owner_id: Option<i64>,
    owner_name: Option<String>,
    owner_team_id: Option<i64>,
    backup_owner_id: Option<i64>,
    backup_name: Option<String>,
    backup_may_edit: bool,
    pool_id: Option<i64>,
    lead_id: Option<i64>,
    owned_since: Option<DateTime<Utc>>,
    balance_fen: i64,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

fn person(id: Option<i64>, name: Option<String>) -> Option<Person> {
    id.map(|id| Person {
        id: UserId(id),
        name: name.unwrap_or_default(),
    })
}

fn kind_of(table: &'static str, id: i64, s: &str) -> Result<CustomerKind> {
    CustomerKind::parse(s).ok_or_else(|| StoreError::corrupt(table, id, format!("kind {s:?}")))
}

fn status_of(table: &'static str, id: i64, s: &str) -> Result<CustomerStatus> {
    CustomerStatus::parse(s).ok_or_else(|| StoreError::corrupt(table, id, format!("status {s:?}")))
}

impl CustomerRow {
    fn holder(&self) -> Holder {
        Holder {
            owner: self.owner_id.map(UserId),
            owner_team: self.owner_team_id.map(TeamId),
            backup: self.backup_owner_id.map(UserId),
            backup_may_edit: self.backup_may_edit,
            pool: self.pool_id.map(PoolId),
        }
    }
}

/// The customer `id` as `viewer` may see it: `NotFound` when hidden or deleted.
pub async fn get(db: &Db, viewer: &Viewer, id: CustomerId) -> Result<Customer> {
    let sql = format!(
        "SELECT c.id, c.kind, c.name, c.address, c.city, c.industry, c.grade, c.grade_overridden, \
         c.grade_reason, c.status, c.owner_id, o.display_name AS owner_name, o.team_id AS owner_team_id, \
         c.backup_owner_id, b.display_name AS backup_name, c.backup_may_edit, c.pool_id, c.lead_id, \
         c.owned_since, {BALANCE_SQL} AS balance_fen, c.version, c.created_at, c.updated_at, c.deleted_at \
         FROM customers c LEFT JOIN users o ON o.id = c.owner_id LEFT JOIN users b ON b.id = c.backup_owner_id \
         WHERE c.id = $1"
    );
    let row: Option<CustomerRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.0)
            .fetch_optional(pool)
            .await?
    });
    let row = row.ok_or(StoreError::NotFound)?;
    let access = viewer.customer_access(&row.holder());
    if access == Access::Hidden || row.deleted_at.is_some() {
        return Err(StoreError::NotFound);
    }
    let lead_ids: Vec<i64> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT id FROM leads WHERE customer_id = $1 ORDER BY id")
            .bind(id.0)
            .fetch_all(pool)
            .await?
    });
    let contacts = contacts::list(db, id).await?;
    Ok(Customer {
        id,
        kind: kind_of("customers", row.id, &row.kind)?,
        status: status_of("customers", row.id, &row.status)?,
        name: row.name,
        address: row.address,
        city: row.city,
        industry: row.industry,
        grade: row.grade,
        grade_overridden: row.grade_overridden,
        grade_reason: row.grade_reason,
        owner_id: row.owner_id.map(UserId),
        owner: person(row.owner_id, row.owner_name),
        backup_owner: person(row.backup_owner_id, row.backup_name),
        backup_may_edit: row.backup_may_edit,
        pool_id: row.pool_id.map(PoolId),
        lead_id: row.lead_id.map(LeadId),
        lead_ids: lead_ids.into_iter().map(LeadId).collect(),
        owned_since: row.owned_since,
        balance_fen: row.balance_fen,
        contacts,
        access: if access == Access::Edit {
            "edit"
        } else {
            "read"
        },
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// One line of the customer list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CustomerLine {
    pub id: CustomerId,
    pub kind: String,
    pub name: String,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub grade: Option<String>,
    pub status: String,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    pub owned_since: Option<DateTime<Utc>>,
    pub balance_fen: i64,
    pub updated_at: DateTime<Utc>,
}

/// Whose customers a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerFilter {
    Me,
    User(UserId),
}

/// The customer list's filter. `mine` is the sales rep's queue (客户队列): the caller's own
/// customers, the most recently handed or converted to them first.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub owner: Option<OwnerFilter>,
    pub grade: Option<String>,
    pub status: Option<CustomerStatus>,
    /// Part of the name.
    pub text: Option<String>,
    pub mine: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The customers `viewer` may see that match `filter`: the queue (`mine`) newest owned first,
/// else the most recently changed first.
pub async fn list(db: &Db, viewer: &Viewer, filter: &CustomerFilter) -> Result<Vec<CustomerLine>> {
    let mut sql = Sql::new(&format!(
        "SELECT c.id, c.kind, c.name, c.city, c.industry, c.grade, c.status, c.owner_id, \
         o.display_name AS owner_name, c.owned_since, {BALANCE_SQL} AS balance_fen, c.updated_at \
         FROM customers c LEFT JOIN users o ON o.id = c.owner_id WHERE c.deleted_at IS NULL AND "
    ));
    let me = viewer.user_id;
    let cond = visible_customers(viewer, "c", |u| sql.arg(Arg::I64(u.0)));
    sql.push(&cond);
    let owner = if filter.mine {
        Some(me)
    } else {
        filter.owner.map(|o| match o {
            OwnerFilter::Me => me,
            OwnerFilter::User(u) => u,
        })
    };
    if let Some(o) = owner {
        sql.push_bind(" AND c.owner_id = ?", Arg::I64(o.0));
    }
    if let Some(g) = &filter.grade {
        sql.push_bind(" AND c.grade = ?", Arg::Text(g.clone()));
    }
    if let Some(s) = filter.status {
        sql.push_bind(" AND c.status = ?", Arg::Text(s.code().to_string()));
    }
    if let Some(t) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        sql.push_bind(
            " AND c.name LIKE ? ESCAPE '\\'",
            Arg::Text(format!("%{escaped}%")),
        );
    }
    if filter.mine {
        sql.push(" ORDER BY c.owned_since DESC, c.id DESC");
    } else {
        sql.push(" ORDER BY c.updated_at DESC, c.id DESC");
    }
    let limit = filter.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let offset = filter.offset.unwrap_or(0).max(0);
    sql.push_bind(" LIMIT ?", Arg::I64(limit));
    sql.push_bind(" OFFSET ?", Arg::I64(offset));
    let rows: Vec<CustomerLine> = db_run!(db, |pool| {
        bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(pool)
            .await?
    });
    Ok(rows)
}

/// The customer a lead was converted into or linked to, if any (whether the caller may see it
/// is [`get`]'s to say).
pub async fn of_lead(db: &Db, lead: LeadId) -> Result<Option<CustomerId>> {
    let id: Option<Option<i64>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT customer_id FROM leads WHERE id = $1")
            .bind(lead.0)
            .fetch_optional(pool)
            .await?
    });
    Ok(id.flatten().map(CustomerId))
}

/// The display name of the customer's owner, whether or not the caller may see the customer:
/// the card of a lead converted for someone else says who took it over (issue 23).
pub async fn owner_name(db: &Db, customer: CustomerId) -> Result<Option<String>> {
    let name: Option<Option<String>> = db_run!(db, |pool| {
        sqlx::query_scalar(
            "SELECT u.display_name FROM customers c LEFT JOIN users u ON u.id = c.owner_id \
             WHERE c.id = $1",
        )
        .bind(customer.0)
        .fetch_optional(pool)
        .await?
    });
    Ok(name.flatten())
}

/// The people a lead may be converted for (active sales reps), by name.
pub async fn sales_reps(db: &Db) -> Result<Vec<Person>> {
    let rows: Vec<(i64, String)> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT id, display_name FROM users WHERE role = 'sales' AND active ORDER BY display_name, id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, name)| Person {
            id: UserId(id),
            name,
        })
        .collect())
}

/// A grade's configured labels (`grade_levels`: A 重点 / B 普通 / C 非优先 by default).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GradeLabel {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
}

/// The grades with their labels, in their configured order.
pub async fn grade_labels(db: &Db) -> Result<Vec<GradeLabel>> {
    let rows: Vec<GradeLabel> = db_run!(db, |pool| {
        sqlx::query_as("SELECT code, label_zh, label_en FROM grade_levels ORDER BY position, code")
            .fetch_all(pool)
            .await?
    });
    Ok(rows)
}

#[cfg(test)]
mod tests;
