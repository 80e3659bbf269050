//! Walking a whole selection of leads for an export: the same filter and visibility as the lead
//! list, oldest first, in large keyset pages of flat rows. Phones and tags come joined by the
//! database in the same statement (no second query per page, no per-lead matching), and the
//! custom fields stay JSON text until a custom column asks for them.

use chrono::{DateTime, Utc};
use leadline_domain::{IntentLevel, LeadId, LeadStatus, Viewer};

use super::LeadFilter;
use crate::sql::{Arg, Sql};
use crate::{Backend, Db, Result, StoreError, bind_args, sqlite_writer};

/// Rows fetched per page of an export walk: large enough that a statement's fixed cost vanishes,
/// small enough that a page is a few MB and no read snapshot is held for long.
pub const EXPORT_PAGE: i64 = 5000;

/// What separates several phones or tags in one exported cell (a full-width comma, which the
/// importer splits on).
pub const EXPORT_JOIN: &str = "，";

/// One lead as an export writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub id: LeadId,
    pub name: String,
    /// Raw phones in their order, joined by [`EXPORT_JOIN`] (empty when none).
    pub phones: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    /// Tags in alphabetical order, joined by [`EXPORT_JOIN`].
    pub tags: String,
    pub status: LeadStatus,
    pub intent: Option<IntentLevel>,
    pub owner_name: Option<String>,
    /// The custom fields as JSON object text.
    pub custom: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: LeadId,
    name: String,
    phones: Option<String>,
    company: Option<String>,
    title: Option<String>,
    city: Option<String>,
    region: Option<String>,
    source: Option<String>,
    tags: Option<String>,
    status: String,
    intent: Option<String>,
    owner_name: Option<String>,
    custom: String,
    created_at: DateTime<Utc>,
}

fn select(backend: Backend) -> String {
    let agg = |expr: &str, order: &str| match backend {
        Backend::Sqlite => format!("group_concat({expr}, '{EXPORT_JOIN}' ORDER BY {order})"),
        Backend::Postgres => format!("string_agg({expr}, '{EXPORT_JOIN}' ORDER BY {order})"),
    };
    format!(
        "SELECT l.id, l.name, \
         (SELECT {phones} FROM lead_phones p WHERE p.lead_id = l.id) AS phones, \
         l.company, l.title, l.city, l.region, l.source, \
         (SELECT {tags} FROM lead_tags t WHERE t.lead_id = l.id) AS tags, \
         l.status, l.intent, o.display_name AS owner_name, CAST(l.custom AS TEXT) AS custom, l.created_at \
         FROM leads l LEFT JOIN users o ON o.id = l.owner_id",
        phones = agg("p.raw", "p.position, p.raw"),
        tags = agg("t.tag", "t.tag"),
    )
}

/// Walks every lead `viewer` may see matching `filter`, oldest first, [`EXPORT_PAGE`] rows at a
/// time, so that a million leads never sit in memory; `visit` may stop the walk by returning
/// `false`. On SQLite each page is read on a blocking thread's own read connection
/// ([`sqlite_writer::read`]): no per-row hand-off between threads, and the next page is read
/// while the caller writes the last one.
pub async fn walk_export(
    db: &Db,
    viewer: &Viewer,
    filter: &LeadFilter,
    mut visit: impl AsyncFnMut(Vec<ExportRow>) -> bool,
) -> Result<()> {
    let backend = db.backend();
    let head = select(backend);
    // See `list_page`: a PostgreSQL search is planned with its actual terms each time.
    let persistent = !(backend == Backend::Postgres && filter.searches());
    let mut after: i64 = 0;
    loop {
        let mut sql = Sql::new(&head);
        filter.push_where(&mut sql, viewer, backend, false);
        sql.push_bind(" AND l.id > ?", Arg::I64(after));
        sql.push(&format!(" ORDER BY l.id LIMIT {EXPORT_PAGE}"));
        let page: Vec<ExportRow> = match db {
            Db::Sqlite(pool) => {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || {
                    sqlite_writer::read(&pool, |conn| page_sqlite(conn, &sql))
                })
                .await
                .map_err(|e| StoreError::Internal(format!("export read: {e}")))??
            }
            Db::Postgres(pool) => {
                let rows: Vec<Row> =
                    bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
                        .persistent(persistent)
                        .fetch_all(pool)
                        .await?;
                rows.into_iter().map(Row::into_export).collect()
            }
        };
        let full = page.len() as i64 == EXPORT_PAGE;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id.0;
        if !visit(page).await || !full {
            return Ok(());
        }
    }
}

/// One page on SQLite's read connection.
fn page_sqlite(conn: &sqlite_writer::Connection, sql: &Sql) -> Result<Vec<ExportRow>> {
    let args: Vec<rusqlite::types::Value> = sql.args.iter().map(sqlite_writer::value).collect();
    let mut stmt = sqlite_writer::prepare(conn, &sql.text, &args)?;
    let mut rows = stmt.raw_query();
    let mut page = Vec::with_capacity(EXPORT_PAGE as usize);
    while let Some(r) = rows.next()? {
        page.push(
            Row {
                id: LeadId(r.get(0)?),
                name: r.get(1)?,
                phones: r.get(2)?,
                company: r.get(3)?,
                title: r.get(4)?,
                city: r.get(5)?,
                region: r.get(6)?,
                source: r.get(7)?,
                tags: r.get(8)?,
                status: r.get(9)?,
                intent: r.get(10)?,
                owner_name: r.get(11)?,
                custom: r.get(12)?,
                created_at: sqlite_writer::parse_time(&r.get::<_, String>(13)?)?,
            }
            .into_export(),
        );
    }
    Ok(page)
}

impl Row {
    fn into_export(self) -> ExportRow {
        ExportRow {
            id: self.id,
            name: self.name,
            phones: self.phones.unwrap_or_default(),
            company: self.company,
            title: self.title,
            city: self.city,
            region: self.region,
            source: self.source,
            tags: self.tags.unwrap_or_default(),
            status: LeadStatus::parse(&self.status).unwrap_or(LeadStatus::New),
            intent: self.intent.as_deref().and_then(IntentLevel::parse),
            owner_name: self.owner_name,
            custom: self.custom,
            created_at: self.created_at,
        }
    }
}
