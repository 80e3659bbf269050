//! The tables to carry across, read from the databases themselves rather than kept in a list:
//! SQLite's tables from `sqlite_master` (without SQLite's own, sqlx's bookkeeping and the FTS5
//! indexes, which are derived from the tables), PostgreSQL's with each column's type from
//! `information_schema`; the foreign keys, identity columns and triggers the copy works around.

use std::collections::BTreeSet;

use sqlx::PgConnection;

use super::TransferError;
use super::values::Kind;

/// One table as both databases hold it: the columns they share (in PostgreSQL's order), each
/// with how its values are read, and the identity column if PostgreSQL numbers rows itself.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Kind)>,
    pub identity: Option<String>,
}

impl Table {
    /// `"a", "b", …` for a statement.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| super::values::quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The ordinary tables of a SQLite database: not SQLite's own, not sqlx's bookkeeping, not a
/// virtual (FTS5) table or one of its shadow tables.
pub fn sqlite_tables(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    let mut stmt =
        conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
    let all: Vec<(String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let virtual_tables: Vec<&str> = all
        .iter()
        .filter(|(_, sql)| {
            sql.trim_start()
                .to_ascii_uppercase()
                .starts_with("CREATE VIRTUAL TABLE")
        })
        .map(|(n, _)| n.as_str())
        .collect();
    let mut out = Vec::new();
    for (name, _) in &all {
        let derived = virtual_tables
            .iter()
            .any(|v| name == v || name.starts_with(&format!("{v}_")));
        if name.starts_with("sqlite_") || name == "_sqlx_migrations" || derived {
            continue;
        }
        let mut cols = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
        let columns = cols
            .query_map([name], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        out.push((name.clone(), columns));
    }
    Ok(out)
}

/// A PostgreSQL table's columns with their types (`udt_name`) and whether it is an identity.
pub struct PgTable {
    pub name: String,
    pub columns: Vec<(String, String)>,
    pub identity: Option<String>,
}

/// The base tables of the current schema, without sqlx's bookkeeping.
pub async fn postgres_tables(conn: &mut PgConnection) -> sqlx::Result<Vec<PgTable>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.udt_name::text, c.is_identity::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '_sqlx_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<PgTable> = Vec::new();
    for (table, column, udt, identity) in rows {
        if out.last().is_none_or(|t| t.name != table) {
            out.push(PgTable {
                name: table,
                columns: Vec::new(),
                identity: None,
            });
        }
        let t = out.last_mut().expect("pushed above");
        if identity == "YES" {
            t.identity = Some(column.clone());
        }
        t.columns.push((column, udt));
    }
    Ok(out)
}

/// Tables only PostgreSQL has, derived from the copied ones and built after the copy (the
/// inverted index of the knowledge search, made from `search_docs`; FTS5 is its SQLite twin).
pub const DERIVED_ON_POSTGRES: [&str; 1] = ["search_postings"];

/// Pairs SQLite's tables with PostgreSQL's: the same tables, every SQLite column present on
/// PostgreSQL with a type the copy knows; a column only PostgreSQL has (the lead search tokens,
/// derived) is left to its default and made again after the copy.
pub fn pair(
    sqlite: &[(String, Vec<String>)],
    postgres: &[PgTable],
) -> Result<Vec<Table>, TransferError> {
    let postgres: Vec<&PgTable> = postgres
        .iter()
        .filter(|t| !DERIVED_ON_POSTGRES.contains(&t.name.as_str()))
        .collect();
    let lite: BTreeSet<&str> = sqlite.iter().map(|(n, _)| n.as_str()).collect();
    let pg: BTreeSet<&str> = postgres.iter().map(|t| t.name.as_str()).collect();
    if lite != pg {
        let only = |a: &BTreeSet<&str>, b: &BTreeSet<&str>| {
            a.difference(b).copied().collect::<Vec<_>>().join(", ")
        };
        return Err(TransferError::SchemaDiffers(format!(
            "tables only in SQLite: [{}]; only in PostgreSQL: [{}]",
            only(&lite, &pg),
            only(&pg, &lite)
        )));
    }
    let mut out = Vec::new();
    for t in postgres {
        let (_, lite_columns) = sqlite
            .iter()
            .find(|(n, _)| *n == t.name)
            .expect("the same table names");
        if let Some(missing) = lite_columns
            .iter()
            .find(|c| !t.columns.iter().any(|(p, _)| p == *c))
        {
            return Err(TransferError::SchemaDiffers(format!(
                "{}.{missing} is not in the PostgreSQL database",
                t.name
            )));
        }
        let mut columns = Vec::new();
        for (column, udt) in &t.columns {
            if !lite_columns.contains(column) {
                continue;
            }
            let kind = Kind::of_postgres(udt).ok_or_else(|| {
                TransferError::SchemaDiffers(format!(
                    "{}.{column} has a type the copy does not know ({udt})",
                    t.name
                ))
            })?;
            columns.push((column.clone(), kind));
        }
        out.push(Table {
            name: t.name.clone(),
            columns,
            identity: t.identity.clone(),
        });
    }
    Ok(out)
}

/// A foreign key of the current schema: its table, name and definition, to drop before a bulk
/// load and add (checked once, over the whole table) after it.
pub struct ForeignKey {
    pub table: String,
    pub name: String,
    pub definition: String,
}

pub async fn foreign_keys(conn: &mut PgConnection) -> sqlx::Result<Vec<ForeignKey>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace \
         ORDER BY c.relname, k.conname",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, name, definition)| ForeignKey {
            table,
            name,
            definition,
        })
        .collect())
}

/// Tables of the current schema with triggers of their own (not the ones behind constraints):
/// they would act on copied rows as if they were new (the do-not-call marks), so they are
/// switched off for the copy.
pub async fn tables_with_triggers(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT c.relname::text FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
         WHERE NOT g.tgisinternal AND c.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await
}

/// Tables that the start-up after the migrations fills (`Db::migrate`: the zone the statistics
/// days are counted in).
const FILLED_AT_START: [&str; 1] = ["call_stats_daily_zone"];

/// The tables the PostgreSQL migrations fill with starting rows (dispositions, revisit rules,
/// stages…), read from the migrations themselves, and those the start-up fills: a freshly
/// migrated database holds these and nothing else, so they are what an "empty" database may hold.
pub fn seeded_tables() -> BTreeSet<String> {
    let migrator = sqlx::migrate!("./migrations/postgres");
    let mut out: BTreeSet<String> = FILLED_AT_START.iter().map(|t| t.to_string()).collect();
    for m in migrator.migrations.iter() {
        let sql = m.sql.as_str().to_ascii_lowercase();
        for part in sql.split("insert into").skip(1) {
            let name: String = part
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}
