//! Walking a whole selection of leads for an export: the same filter and visibility as the lead
//! list, oldest first, in large keyset pages of flat rows. The custom fields stay JSON text
//! until a custom column asks for them.
//!
//! Phones and tags are read for the whole page in one statement each, in lead order, and merged
//! into the page's rows (one pass over both), in the page's snapshot: an ordered aggregate
//! subquery per lead (`group_concat`/`string_agg … ORDER BY`) sorts afresh for every lead, which
//! cost three quarters of a 1M-lead export's reading on SQLite and nine tenths on PostgreSQL.

use chrono::{DateTime, Utc};
use leadline_domain::{IntentLevel, LeadId, LeadStatus, Viewer};

use super::{LeadFilter, stored_intent, stored_status};
use crate::db::sql::{Arg, Sql};
use crate::{Backend, Db, Result, StoreError, bind_args, db::sqlite_writer};

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
    pub email: Option<String>,
}

impl ExportRow {
    /// The custom values, parsed only when a column needs them; JSON that is not an object is
    /// `Corrupt` naming the lead, never an empty map that would export blank cells as if true.
    pub fn custom_values(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        super::stored_custom(self.id, &self.custom)
    }
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
    email: Option<String>,
}

/// A page's leads, without their phones and tags (see [`Joined`]).
const SELECT: &str = "SELECT l.id, l.name, NULL AS phones, l.company, l.title, l.city, l.region, l.source, \
    NULL AS tags, l.status, l.intent, o.display_name AS owner_name, CAST(l.custom AS TEXT) AS custom, l.created_at, l.email \
    FROM leads l LEFT JOIN users o ON o.id = l.owner_id";

/// A column joined into a page's rows: the statements that read it for the whole page in lead
/// order (each lead's values in their own order) — by the page's id range (`$1` to `$2`), or by
/// the list of its ids (`$1`: a JSON array on SQLite, an array on PostgreSQL) — and the cell.
struct Joined {
    range: &'static str,
    sqlite_listed: &'static str,
    postgres_listed: &'static str,
    cell: fn(&mut ExportRow) -> &mut String,
}

const JOINED: [Joined; 2] = [
    Joined {
        range: "SELECT lead_id, raw FROM lead_phones WHERE lead_id >= $1 AND lead_id <= $2 ORDER BY lead_id, position, raw",
        sqlite_listed: "SELECT lead_id, raw FROM lead_phones WHERE lead_id IN (SELECT value FROM json_each($1)) ORDER BY lead_id, position, raw",
        postgres_listed: "SELECT lead_id, raw FROM lead_phones WHERE lead_id = ANY($1) ORDER BY lead_id, position, raw",
        cell: |r| &mut r.phones,
    },
    Joined {
        range: "SELECT lead_id, tag FROM lead_tags WHERE lead_id >= $1 AND lead_id <= $2 ORDER BY lead_id, tag",
        sqlite_listed: "SELECT lead_id, tag FROM lead_tags WHERE lead_id IN (SELECT value FROM json_each($1)) ORDER BY lead_id, tag",
        postgres_listed: "SELECT lead_id, tag FROM lead_tags WHERE lead_id = ANY($1) ORDER BY lead_id, tag",
        cell: |r| &mut r.tags,
    },
];

/// The page's first and last id, if its leads lie close together (a whole-table export): then
/// the joined values are read by id range, else by the list of its ids (a filter that picks a few
/// leads from many), so that a sparse page never reads the values of the leads between its own.
fn dense_range(page: &[ExportRow]) -> Option<(i64, i64)> {
    let (first, last) = (page.first()?.id.0, page.last()?.id.0);
    (last - first < 4 * page.len() as i64).then_some((first, last))
}

/// Merges joined values, arriving in lead order, into `page` (in id order): `at` is where the
/// last one went. Returns false once past the page's last lead.
fn merge(page: &mut [ExportRow], at: &mut usize, joined: &Joined, lead: i64, text: &str) -> bool {
    while *at < page.len() && page[*at].id.0 < lead {
        *at += 1;
    }
    let Some(row) = page.get_mut(*at) else {
        return false;
    };
    if row.id.0 == lead {
        let cell = (joined.cell)(row);
        if !cell.is_empty() {
            cell.push_str(EXPORT_JOIN);
        }
        cell.push_str(text);
    }
    true
}

/// Fills `joined` into `page` on SQLite's read connection.
fn join_sqlite(
    conn: &sqlite_writer::Connection,
    page: &mut [ExportRow],
    joined: &Joined,
) -> Result<()> {
    use rusqlite::types::Value;
    if page.is_empty() {
        return Ok(());
    }
    let mut stmt = match dense_range(page) {
        Some((first, last)) => sqlite_writer::prepare(
            conn,
            joined.range,
            &[Value::Integer(first), Value::Integer(last)],
        )?,
        None => {
            let ids: Vec<i64> = page.iter().map(|r| r.id.0).collect();
            let list = serde_json::to_string(&ids)
                .map_err(|e| StoreError::Internal(format!("export ids: {e}")))?;
            sqlite_writer::prepare(conn, joined.sqlite_listed, &[Value::Text(list)])?
        }
    };
    let mut rows = stmt.raw_query();
    let mut at = 0;
    while let Some(r) = rows.next()? {
        let text = r
            .get_ref(1)?
            .as_str()
            .map_err(|e| StoreError::Internal(format!("export: {e}")))?;
        if !merge(page, &mut at, joined, r.get(0)?, text) {
            break;
        }
    }
    Ok(())
}

/// Fills `joined` into `page` on PostgreSQL, in the page's transaction.
async fn join_postgres(
    tx: &mut sqlx::PgConnection,
    page: &mut [ExportRow],
    joined: &Joined,
) -> Result<()> {
    if page.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, String)> = match dense_range(page) {
        Some((first, last)) => {
            sqlx::query_as(joined.range)
                .bind(first)
                .bind(last)
                .fetch_all(&mut *tx)
                .await?
        }
        None => {
            let ids: Vec<i64> = page.iter().map(|r| r.id.0).collect();
            sqlx::query_as(joined.postgres_listed)
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?
        }
    };
    let mut at = 0;
    for (lead, text) in &rows {
        if !merge(page, &mut at, joined, *lead, text) {
            break;
        }
    }
    Ok(())
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
    visit: impl AsyncFnMut(Vec<ExportRow>) -> bool,
) -> Result<()> {
    walk_pages(db, viewer, filter, EXPORT_PAGE, visit).await
}

/// [`walk_export`] in pages of `page_size` rows.
async fn walk_pages(
    db: &Db,
    viewer: &Viewer,
    filter: &LeadFilter,
    page_size: i64,
    mut visit: impl AsyncFnMut(Vec<ExportRow>) -> bool,
) -> Result<()> {
    let backend = db.backend();
    // See `list_page`: a PostgreSQL search is planned with its actual terms each time.
    let persistent = !(backend == Backend::Postgres && filter.searches());
    let mut after: i64 = 0;
    loop {
        let mut sql = Sql::new(SELECT);
        filter.push_where(&mut sql, viewer, backend, false);
        sql.push_bind(" AND l.id > ?", Arg::I64(after));
        sql.push(&format!(" ORDER BY l.id LIMIT {page_size}"));
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
                // One snapshot for the page and its joined values.
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?;
                let rows: Vec<Row> =
                    bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
                        .persistent(persistent)
                        .fetch_all(&mut *tx)
                        .await?;
                let mut page = rows
                    .into_iter()
                    .map(Row::into_export)
                    .collect::<Result<Vec<ExportRow>>>()?;
                for joined in &JOINED {
                    join_postgres(&mut tx, &mut page, joined).await?;
                }
                tx.commit().await?;
                page
            }
        };
        let full = page.len() as i64 == page_size;
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
    let mut page = Vec::new();
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
                email: r.get(14)?,
            }
            .into_export()?,
        );
    }
    for joined in &JOINED {
        join_sqlite(conn, &mut page, joined)?;
    }
    Ok(page)
}

impl Row {
    /// The row as exported; a stored status or intent that does not parse is `Corrupt`.
    fn into_export(self) -> Result<ExportRow> {
        Ok(ExportRow {
            id: self.id,
            name: self.name,
            phones: self.phones.unwrap_or_default(),
            company: self.company,
            title: self.title,
            city: self.city,
            region: self.region,
            source: self.source,
            tags: self.tags.unwrap_or_default(),
            status: stored_status(self.id, &self.status)?,
            intent: stored_intent(self.id, self.intent.as_deref())?,
            owner_name: self.owner_name,
            custom: self.custom,
            created_at: self.created_at,
            email: self.email,
        })
    }
}

#[cfg(test)]
mod tests {
    use leadline_domain::{Role, UserId};

    use super::*;
    use crate::db::sql::execute;
    use crate::db::test_db::TestDb;

    /// Lead `i` of [`seeded`]: its phones in their order and its tags in tag order.
    fn expected(i: i64) -> (String, String) {
        let phones = match i % 3 {
            0 => format!("p{i}-first{EXPORT_JOIN}p{i}-second"),
            1 => format!("p{i}-only"),
            _ => String::new(),
        };
        let tags = if i % 4 == 0 {
            format!("乙{EXPORT_JOIN}甲")
        } else {
            String::new()
        };
        (phones, tags)
    }

    /// 30 leads: every third with two phones (stored last first), every third after it with
    /// one, the rest with none; every fourth with two tags (stored out of order); every seventh
    /// in 深圳, the others in 杭州.
    async fn seeded() -> TestDb {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let at = crate::now();
        for i in 1..=30i64 {
            let city = if i % 7 == 0 { "深圳" } else { "杭州" };
            let lead = vec![
                Arg::I64(i),
                Arg::Text(format!("客户{i}")),
                Arg::Text(city.into()),
                Arg::Time(at),
            ];
            execute(
                db,
                "INSERT INTO leads (id, name, city, status, created_at, updated_at) VALUES ($1, $2, $3, 'new', $4, $4)",
                lead,
            )
            .await
            .unwrap();
            let phones: &[(&str, i64)] = match i % 3 {
                0 => &[("second", 1), ("first", 0)],
                1 => &[("only", 0)],
                _ => &[],
            };
            for (label, position) in phones {
                let phone = vec![
                    Arg::I64(i),
                    Arg::Text(format!("+8613800{i:04}{position}")),
                    Arg::Text(format!("p{i}-{label}")),
                    Arg::I64(*position),
                ];
                execute(
                    db,
                    "INSERT INTO lead_phones (lead_id, e164, raw, position) VALUES ($1, $2, $3, $4)",
                    phone,
                )
                .await
                .unwrap();
            }
            if i % 4 == 0 {
                for tag in ["甲", "乙"] {
                    let tag = vec![Arg::I64(i), Arg::Text(tag.into())];
                    execute(
                        db,
                        "INSERT INTO lead_tags (lead_id, tag) VALUES ($1, $2)",
                        tag,
                    )
                    .await
                    .unwrap();
                }
            }
        }
        t
    }

    async fn walked(db: &Db, filter: &LeadFilter, page_size: i64) -> Vec<(i64, String, String)> {
        let admin = Viewer {
            user_id: UserId(1),
            role: Role::Admin,
            supervised_teams: Vec::new(),
            pools: Vec::new(),
        };
        let mut out = Vec::new();
        let mut pages = 0;
        walk_pages(
            db,
            &admin,
            filter,
            page_size,
            async |page: Vec<ExportRow>| {
                pages += 1;
                out.extend(page.into_iter().map(|r| (r.id.0, r.phones, r.tags)));
                true
            },
        )
        .await
        .unwrap();
        assert_eq!(pages, out.len().div_ceil(page_size as usize).max(1));
        out
    }

    /// Every lead's phones (in their order) and tags reach its own row, whether a page's leads
    /// lie together (the whole table: read by id range) or far apart (a filter that picks every
    /// seventh: read by the page's ids), on the page boundaries too.
    #[tokio::test]
    async fn each_page_carries_its_own_leads_phones_and_tags() {
        let t = seeded().await;
        let want = |ids: &[i64]| -> Vec<(i64, String, String)> {
            ids.iter()
                .map(|&i| {
                    let (phones, tags) = expected(i);
                    (i, phones, tags)
                })
                .collect()
        };
        let all = walked(&t.db, &LeadFilter::default(), 4).await;
        assert_eq!(all, want(&(1..=30).collect::<Vec<_>>()));

        let far_apart = LeadFilter {
            city: Some("深圳".into()),
            ..LeadFilter::default()
        };
        let sparse = walked(&t.db, &far_apart, 3).await;
        assert_eq!(sparse, want(&[7, 14, 21, 28]));

        let mostly = LeadFilter {
            city: Some("杭州".into()),
            ..LeadFilter::default()
        };
        let rest: Vec<i64> = walked(&t.db, &mostly, 5)
            .await
            .into_iter()
            .map(|(i, phones, tags)| {
                assert_eq!((phones, tags), expected(i), "lead {i}");
                i
            })
            .collect();
        assert_eq!(rest, (1..=30).filter(|i| i % 7 != 0).collect::<Vec<_>>());
    }
}
