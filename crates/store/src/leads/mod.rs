//! The lead archive: create, read, change, soft-delete and restore leads, with duplicate-phone
//! refusal, optimistic locking, search tokens and an audit entry for every change.

pub mod custom_fields;
mod export_scan;
mod filter;
pub(crate) mod search_index;
pub mod views;
mod visibility;
pub(crate) mod write;

pub use export_scan::{EXPORT_JOIN, EXPORT_PAGE, ExportRow, walk_export};
pub use filter::{
    CountRow, GROUPS, LeadFilter, MAX_LIMIT, OwnerFilter, Page, Sort, counts, holds_digits, list,
    walk,
};
pub use visibility::visible_leads;
pub use write::{CreateOptions, LeadPatch, bulk_insert, create, delete, restore, update};

use chrono::{DateTime, Utc};
use leadline_domain::{Access, IntentLevel, LeadDraft, LeadId, LeadStatus, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::types::Json;

use crate::{Db, Result, StoreError, db::sqlite_writer, db_run};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeadPhone {
    pub raw: String,
    pub e164: String,
    /// Set when this number was knowingly recorded as a collision with another lead.
    pub collision_with: Option<LeadId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lead {
    pub id: LeadId,
    pub name: String,
    pub phones: Vec<LeadPhone>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub status: LeadStatus,
    pub intent: Option<IntentLevel>,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    #[serde(skip)]
    pub owner_team_id: Option<TeamId>,
    pub created_by: Option<UserId>,
    pub custom: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Lead {
    /// The lead as a draft, so that a patch can be applied and the whole re-checked.
    pub fn to_draft(&self) -> LeadDraft {
        LeadDraft {
            name: self.name.clone(),
            phones: self.phones.iter().map(|p| p.raw.clone()).collect(),
            company: self.company.clone(),
            title: self.title.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            source: self.source.clone(),
            tags: self.tags.clone(),
            status: Some(self.status.code().to_string()),
            intent: self.intent.map(|i| i.code().to_string()),
            custom: self.custom.clone(),
        }
    }

    /// What the audit trail keeps of a lead.
    fn audit_view(&self) -> Value {
        json!({
            "name": self.name, "phones": self.phones.iter().map(|p| &p.raw).collect::<Vec<_>>(),
            "company": self.company, "title": self.title, "city": self.city, "region": self.region,
            "source": self.source, "tags": self.tags, "status": self.status, "intent": self.intent,
            "owner_id": self.owner_id, "custom": self.custom, "version": self.version,
            "deleted": self.deleted_at.is_some(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: LeadId,
    name: String,
    company: Option<String>,
    title: Option<String>,
    city: Option<String>,
    region: Option<String>,
    source: Option<String>,
    status: String,
    intent: Option<String>,
    owner_id: Option<UserId>,
    owner_name: Option<String>,
    owner_team_id: Option<TeamId>,
    created_by: Option<UserId>,
    custom: Json<Map<String, Value>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT l.id, l.name, l.company, l.title, l.city, l.region, l.source, l.status, l.intent, \
    l.owner_id, o.display_name AS owner_name, o.team_id AS owner_team_id, l.created_by, l.custom, l.version, \
    l.created_at, l.updated_at, l.deleted_at FROM leads l LEFT JOIN users o ON o.id = l.owner_id";

/// (lead, is a tag, raw phone or tag, e164, collides with) as read from `lead_phones` and `lead_tags`.
type PartRow = (LeadId, i64, String, String, Option<LeadId>);

/// Attaches phones and tags to rows fetched in one query: one more query whatever the count.
async fn hydrate(db: &Db, rows: Vec<LeadRow>) -> Result<Vec<Lead>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.0.to_string()).collect();
    let id_list = ids.join(",");
    let sql = format!(
        "SELECT lead_id, CAST(0 AS BIGINT) AS is_tag, raw, e164, collision_with, position FROM lead_phones WHERE lead_id IN ({id_list}) \
         UNION ALL SELECT lead_id, 1, tag, '', CAST(NULL AS BIGINT), 0 FROM lead_tags WHERE lead_id IN ({id_list}) \
         ORDER BY 1, 2, 6, 3"
    );
    let parts: Vec<PartRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?
    });
    Ok(assemble(rows, parts))
}

/// Leads from their rows and their phone and tag rows (ordered as [`hydrate`] reads them).
fn assemble(rows: Vec<LeadRow>, parts: Vec<PartRow>) -> Vec<Lead> {
    let (tags, phones): (Vec<PartRow>, Vec<PartRow>) = parts.into_iter().partition(|p| p.1 == 1);
    let phones: Vec<(LeadId, String, String, Option<LeadId>)> =
        phones.into_iter().map(|p| (p.0, p.2, p.3, p.4)).collect();
    let tags: Vec<(LeadId, String)> = tags.into_iter().map(|t| (t.0, t.2)).collect();
    rows.into_iter()
        .map(|r| Lead {
            phones: phones
                .iter()
                .filter(|p| p.0 == r.id)
                .map(|p| LeadPhone {
                    raw: p.1.clone(),
                    e164: p.2.clone(),
                    collision_with: p.3,
                })
                .collect(),
            tags: tags
                .iter()
                .filter(|t| t.0 == r.id)
                .map(|t| t.1.clone())
                .collect(),
            id: r.id,
            name: r.name,
            company: r.company,
            title: r.title,
            city: r.city,
            region: r.region,
            source: r.source,
            status: LeadStatus::parse(&r.status).unwrap_or(LeadStatus::New),
            intent: r.intent.as_deref().and_then(IntentLevel::parse),
            owner_id: r.owner_id,
            owner_name: r.owner_name,
            owner_team_id: r.owner_team_id,
            created_by: r.created_by,
            custom: r.custom.0,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
        })
        .collect()
}

/// One lead's phones and tags, as [`hydrate`] reads them for many.
const PARTS_OF_ONE: &str = "SELECT lead_id, 0, raw, e164, collision_with, position FROM lead_phones WHERE lead_id = $1 \
    UNION ALL SELECT lead_id, 1, tag, '', NULL, 0 FROM lead_tags WHERE lead_id = $1 ORDER BY 1, 2, 6, 3";

/// [`load`] on SQLite's direct reader.
fn load_sqlite(conn: &sqlite_writer::Connection, id: LeadId) -> Result<Lead> {
    use sqlite_writer::{parse_time, prepare};
    let key = [rusqlite::types::Value::Integer(id.0)];
    let opt_time = |s: Option<String>| s.as_deref().map(parse_time).transpose();
    let row = {
        let mut stmt = prepare(conn, &format!("{SELECT} WHERE l.id = $1"), &key)?;
        let mut rows = stmt.raw_query();
        let Some(r) = rows.next()? else {
            return Err(StoreError::NotFound);
        };
        let custom: String = r.get(13)?;
        LeadRow {
            id: LeadId(r.get(0)?),
            name: r.get(1)?,
            company: r.get(2)?,
            title: r.get(3)?,
            city: r.get(4)?,
            region: r.get(5)?,
            source: r.get(6)?,
            status: r.get(7)?,
            intent: r.get(8)?,
            owner_id: r.get::<_, Option<i64>>(9)?.map(UserId),
            owner_name: r.get(10)?,
            owner_team_id: r.get::<_, Option<i64>>(11)?.map(TeamId),
            created_by: r.get::<_, Option<i64>>(12)?.map(UserId),
            custom: Json(serde_json::from_str(&custom).unwrap_or_default()),
            version: r.get(14)?,
            created_at: parse_time(&r.get::<_, String>(15)?)?,
            updated_at: parse_time(&r.get::<_, String>(16)?)?,
            deleted_at: opt_time(r.get(17)?)?,
        }
    };
    let mut parts: Vec<PartRow> = Vec::new();
    let mut stmt = prepare(conn, PARTS_OF_ONE, &key)?;
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        parts.push((
            LeadId(r.get(0)?),
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get::<_, Option<i64>>(4)?.map(LeadId),
        ));
    }
    Ok(assemble(vec![row], parts).remove(0))
}

/// Reads a lead regardless of who asks (internal use).
async fn load(db: &Db, id: LeadId) -> Result<Lead> {
    if let Db::Sqlite(pool) = db {
        // Every served call shows its lead: a point read on the calling thread.
        return sqlite_writer::read(pool, |conn| load_sqlite(conn, id));
    }
    let sql = format!("{SELECT} WHERE l.id = $1");
    let row: Option<LeadRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let row = row.ok_or(StoreError::NotFound)?;
    Ok(hydrate(db, vec![row]).await?.remove(0))
}

/// Reads a lead the viewer may see; anything else, deleted leads included for non-managers, is
/// `NotFound` so that existence is not revealed.
pub async fn get(db: &Db, viewer: &Viewer, id: LeadId) -> Result<Lead> {
    let lead = load(db, id).await?;
    if viewer.access(lead.owner_id, lead.owner_team_id) == Access::Hidden
        || (lead.deleted_at.is_some() && !viewer.role.manages_leads())
    {
        return Err(StoreError::NotFound);
    }
    Ok(lead)
}

/// The lead holding a normalised phone number (not counting recorded collisions).
pub async fn find_by_phone(db: &Db, e164: &str) -> Result<Option<LeadId>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_scalar(
            "SELECT lead_id FROM lead_phones WHERE e164 = $1 AND collision_with IS NULL",
        )
        .bind(e164)
        .fetch_optional(pool)
        .await?
    }))
}

/// Open collisions recorded against or by a lead: (other lead, phone, recorded at).
pub async fn collisions(db: &Db, id: LeadId) -> Result<Vec<(LeadId, String, DateTime<Utc>)>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT CASE WHEN lead_id = $1 THEN existing_lead_id ELSE lead_id END, phone_e164, created_at \
             FROM collisions WHERE lead_id = $1 OR existing_lead_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
    }))
}

/// Number of leads not deleted (for `/metrics`).
pub async fn count_live(db: &Db) -> Result<i64> {
    Ok(db_run!(db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE deleted_at IS NULL")
            .fetch_one(pool)
            .await?
    }))
}
