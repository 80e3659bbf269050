//! The lead archive: create, read, change, soft-delete and restore leads, with duplicate-phone
//! refusal, optimistic locking, search tokens and an audit entry for every change.

pub mod custom_fields;
mod duplicate_phones;
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
pub use visibility::{visible_in_scope, visible_leads};
pub use write::{CreateOptions, LeadPatch, bulk_insert, create, delete, restore, update};

use chrono::{DateTime, Utc};
use leadline_domain::{
    Access, Holder, IntentLevel, LeadDraft, LeadId, LeadStatus, PoolId, TeamId, UserId, Viewer,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

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
    #[serde(flatten)]
    pub ownership: LeadOwnership,
}

/// Who holds a lead besides its owner, and for how long: the facts of the ownership rules
/// (issue 22), read with every lead.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LeadOwnership {
    pub email: Option<String>,
    /// The pool a lead without an owner sits in (`None`: the default pool, 公海).
    pub pool_id: Option<PoolId>,
    /// 副负责人.
    pub backup_owner_id: Option<UserId>,
    pub backup_owner_name: Option<String>,
    pub backup_may_edit: bool,
    /// When the present owner took it.
    pub owned_since: Option<DateTime<Utc>>,
    /// When it returns to its pool unless followed up; `None` when it never will.
    pub reclaim_at: Option<DateTime<Utc>>,
    pub protected_until: Option<DateTime<Utc>>,
    pub deal_at: Option<DateTime<Utc>>,
    /// The existing customer who referred it.
    pub referred_by: Option<LeadId>,
    /// The owner's own friends and family (亲朋好友).
    pub personal: bool,
}

impl Lead {
    /// The facts the visibility rule reads.
    pub fn holder(&self) -> Holder {
        Holder {
            owner: self.owner_id,
            owner_team: self.owner_team_id,
            backup: self.ownership.backup_owner_id,
            backup_may_edit: self.ownership.backup_may_edit,
            pool: self.ownership.pool_id,
        }
    }

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
            email: self.ownership.email.clone(),
        }
    }

    /// What the audit trail keeps of a lead.
    fn audit_view(&self) -> Value {
        json!({
            "name": self.name, "phones": self.phones.iter().map(|p| &p.raw).collect::<Vec<_>>(),
            "company": self.company, "title": self.title, "city": self.city, "region": self.region,
            "source": self.source, "tags": self.tags, "status": self.status, "intent": self.intent,
            "owner_id": self.owner_id, "custom": self.custom, "version": self.version,
            "deleted": self.deleted_at.is_some(), "email": self.ownership.email,
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
    /// The stored JSON as text (parsed by [`stored_custom`], so that a bad value names its row).
    custom: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    email: Option<String>,
    pool_id: Option<PoolId>,
    backup_owner_id: Option<UserId>,
    backup_owner_name: Option<String>,
    backup_may_edit: bool,
    owned_since: Option<DateTime<Utc>>,
    reclaim_at: Option<DateTime<Utc>>,
    protected_until: Option<DateTime<Utc>>,
    deal_at: Option<DateTime<Utc>>,
    referred_by: Option<LeadId>,
    personal: bool,
}

const SELECT: &str = "SELECT l.id, l.name, l.company, l.title, l.city, l.region, l.source, l.status, l.intent, \
    l.owner_id, o.display_name AS owner_name, o.team_id AS owner_team_id, l.created_by, CAST(l.custom AS TEXT) AS custom, l.version, \
    l.created_at, l.updated_at, l.deleted_at, l.email, l.pool_id, l.backup_owner_id, b.display_name AS backup_owner_name, \
    l.backup_may_edit, l.owned_since, l.reclaim_at, l.protected_until, l.deal_at, l.referred_by, l.personal \
    FROM leads l LEFT JOIN users o ON o.id = l.owner_id LEFT JOIN users b ON b.id = l.backup_owner_id";

/// (lead, is a tag, raw phone or tag, e164, collides with) as read from `lead_phones` and `lead_tags`.
type PartRow = (LeadId, i64, String, String, Option<LeadId>);

/// Attaches phones and tags to rows fetched in one query: one more query whatever the count.
async fn hydrate(db: &Db, rows: Vec<LeadRow>) -> Result<Vec<Lead>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // One lead (every served call shows one) is a bound parameter, so that the statement is
    // prepared once per connection instead of parsed and planned at each call.
    let (id_list, one) = match rows.as_slice() {
        [r] => ("$1".to_string(), Some(r.id)),
        _ => {
            let ids: Vec<String> = rows.iter().map(|r| r.id.0.to_string()).collect();
            (ids.join(","), None)
        }
    };
    let sql = format!(
        "SELECT lead_id, CAST(0 AS BIGINT) AS is_tag, raw, e164, collision_with, position FROM lead_phones WHERE lead_id IN ({id_list}) \
         UNION ALL SELECT lead_id, 1, tag, '', CAST(NULL AS BIGINT), 0 FROM lead_tags WHERE lead_id IN ({id_list}) \
         ORDER BY 1, 2, 6, 3"
    );
    let parts: Vec<PartRow> = db_run!(db, |pool| {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        match one {
            Some(id) => q.bind(id),
            None => q,
        }
        .fetch_all(pool)
        .await?
    });
    assemble(rows, parts)
}

/// A lead's stored status. One that does not parse is `Corrupt`, never quietly `New`: a wrong
/// status would be shown, counted and saved back as if it were true.
pub(crate) fn stored_status(id: LeadId, status: &str) -> Result<LeadStatus> {
    LeadStatus::parse(status).ok_or_else(|| {
        StoreError::corrupt(
            "leads",
            id.0,
            format!("status {status:?} is not a lead status"),
        )
    })
}

/// A lead's stored intent level: none is none, an unknown one is `Corrupt`.
pub(crate) fn stored_intent(id: LeadId, intent: Option<&str>) -> Result<Option<IntentLevel>> {
    intent
        .map(|i| {
            IntentLevel::parse(i).ok_or_else(|| {
                StoreError::corrupt(
                    "leads",
                    id.0,
                    format!("intent {i:?} is not an intent level"),
                )
            })
        })
        .transpose()
}

/// A lead's stored custom values: a JSON object, or `Corrupt` (never an empty map, which an edit
/// would then save over the stored values).
pub(crate) fn stored_custom(id: LeadId, custom: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(custom).map_err(|e| {
        StoreError::corrupt("leads", id.0, format!("custom is not a JSON object: {e}"))
    })
}

/// Leads from their rows and their phone and tag rows (ordered as [`hydrate`] reads them).
fn assemble(rows: Vec<LeadRow>, parts: Vec<PartRow>) -> Result<Vec<Lead>> {
    let (tags, phones): (Vec<PartRow>, Vec<PartRow>) = parts.into_iter().partition(|p| p.1 == 1);
    let phones: Vec<(LeadId, String, String, Option<LeadId>)> =
        phones.into_iter().map(|p| (p.0, p.2, p.3, p.4)).collect();
    let tags: Vec<(LeadId, String)> = tags.into_iter().map(|t| (t.0, t.2)).collect();
    rows.into_iter()
        .map(|r| {
            Ok(Lead {
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
                status: stored_status(r.id, &r.status)?,
                intent: stored_intent(r.id, r.intent.as_deref())?,
                owner_id: r.owner_id,
                owner_name: r.owner_name,
                owner_team_id: r.owner_team_id,
                created_by: r.created_by,
                custom: stored_custom(r.id, &r.custom)?,
                version: r.version,
                created_at: r.created_at,
                updated_at: r.updated_at,
                deleted_at: r.deleted_at,
                ownership: LeadOwnership {
                    email: r.email,
                    pool_id: r.pool_id,
                    backup_owner_id: r.backup_owner_id,
                    backup_owner_name: r.backup_owner_name,
                    backup_may_edit: r.backup_may_edit,
                    owned_since: r.owned_since,
                    reclaim_at: r.reclaim_at,
                    protected_until: r.protected_until,
                    deal_at: r.deal_at,
                    referred_by: r.referred_by,
                    personal: r.personal,
                },
            })
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
            custom: r.get(13)?,
            version: r.get(14)?,
            created_at: parse_time(&r.get::<_, String>(15)?)?,
            updated_at: parse_time(&r.get::<_, String>(16)?)?,
            deleted_at: opt_time(r.get(17)?)?,
            email: r.get(18)?,
            pool_id: r.get::<_, Option<i64>>(19)?.map(PoolId),
            backup_owner_id: r.get::<_, Option<i64>>(20)?.map(UserId),
            backup_owner_name: r.get(21)?,
            backup_may_edit: r.get(22)?,
            owned_since: opt_time(r.get(23)?)?,
            reclaim_at: opt_time(r.get(24)?)?,
            protected_until: opt_time(r.get(25)?)?,
            deal_at: opt_time(r.get(26)?)?,
            referred_by: r.get::<_, Option<i64>>(27)?.map(LeadId),
            personal: r.get(28)?,
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
    Ok(assemble(vec![row], parts)?.remove(0))
}

/// Reads a lead regardless of who asks (internal use).
pub(crate) async fn load(db: &Db, id: LeadId) -> Result<Lead> {
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
    if viewer.access(&lead.holder()) == Access::Hidden
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

#[cfg(test)]
mod tests {
    use leadline_domain::Role;

    use super::*;
    use crate::db::sql::{Arg, execute};
    use crate::db::test_db::TestDb;

    fn admin() -> Viewer {
        Viewer {
            user_id: UserId(1),
            role: Role::Admin,
            supervised_teams: Vec::new(),
            pools: Vec::new(),
        }
    }

    /// A lead written directly in SQL with these stored values.
    async fn stored(db: &Db, id: i64, status: &str, intent: Option<&str>, custom: &str) {
        let args = vec![
            Arg::I64(id),
            Arg::Text(status.into()),
            Arg::OptText(intent.map(str::to_string)),
            Arg::Text(custom.into()),
            Arg::Time(crate::now()),
        ];
        let sql = match db.backend() {
            crate::Backend::Sqlite => {
                "INSERT INTO leads (id, name, status, intent, custom, created_at, updated_at) \
                 VALUES ($1, 'x', $2, $3, $4, $5, $5)"
            }
            crate::Backend::Postgres => {
                "INSERT INTO leads (id, name, status, intent, custom, created_at, updated_at) \
                 VALUES ($1, 'x', $2, $3, CAST($4 AS JSONB), $5, $5)"
            }
        };
        execute(db, sql, args).await.unwrap();
    }

    /// The table, row and complaint of a `Corrupt` error.
    fn corrupt<T: std::fmt::Debug>(r: Result<T>) -> (&'static str, i64, String) {
        match r {
            Err(StoreError::Corrupt { table, row, what }) => (table, row, what),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    /// A stored status, intent or custom value that does not parse is an error naming the table
    /// and row, whichever way the lead is read (one lead, a page, an export walk), never `New`,
    /// no intent or an empty map.
    ///
    /// Two worker threads: the export walk fails inside its PostgreSQL read transaction, whose
    /// rollback runs on a spawned task when the connection goes back to the pool; on one thread
    /// that task would wait behind the test database's drop, which waits on the transaction's
    /// locks to drop the schema.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stored_value_that_does_not_parse_is_an_error_naming_its_row() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        stored(db, 1, "new", Some("interested"), r#"{"k": "v"}"#).await;
        let fine = get(db, &admin(), LeadId(1)).await.unwrap();
        assert_eq!(fine.status, LeadStatus::New);
        assert_eq!(fine.custom.get("k"), Some(&json!("v")));

        stored(db, 2, "no_such_status", None, "{}").await;
        let (table, row, what) = corrupt(get(db, &admin(), LeadId(2)).await);
        assert_eq!((table, row), ("leads", 2));
        assert!(what.contains("no_such_status"), "{what}");

        stored(db, 3, "new", Some("Z9"), "{}").await;
        assert_eq!(corrupt(get(db, &admin(), LeadId(3)).await).1, 3);

        // PostgreSQL's JSONB holds only JSON, but not necessarily an object.
        stored(db, 4, "new", None, "[1, 2]").await;
        let (table, row, what) = corrupt(get(db, &admin(), LeadId(4)).await);
        assert_eq!((table, row), ("leads", 4));
        assert!(what.contains("custom"), "{what}");
        if db.backend() == crate::Backend::Sqlite {
            stored(db, 5, "new", None, "{broken").await;
            assert_eq!(corrupt(get(db, &admin(), LeadId(5)).await).1, 5);
        }

        // A page of the list names the first bad row it meets.
        let page = list(
            db,
            &admin(),
            &LeadFilter::default(),
            Sort::default(),
            50,
            None,
        )
        .await;
        assert_eq!(corrupt(page).0, "leads");

        let mut seen = Vec::new();
        let walked = walk_export(db, &admin(), &LeadFilter::default(), async |page| {
            seen.extend(page.into_iter().map(|r| r.id));
            true
        })
        .await;
        let (table, row, _) = corrupt(walked);
        assert_eq!((table, row), ("leads", 2));
        assert!(seen.is_empty(), "no page with a bad row is handed out");
    }
}
