//! Schema parity: both backends have the same tables and columns.

use std::collections::{BTreeMap, BTreeSet};

type Schema = BTreeMap<String, BTreeSet<String>>;

async fn sqlite_schema(db: &leadline_store::Db) -> Schema {
    let leadline_store::Db::Sqlite(pool) = db else {
        panic!("a SQLite database");
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' ORDER BY m.name, p.cid",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let fts: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(
        fts.iter().any(|t| t == "lead_search"),
        "the lead search index exists"
    );
    let mut schema = Schema::new();
    for (table, column) in rows {
        // sqlx's bookkeeping, SQLite's own tables, and the FTS5 indexes with their shadow
        // tables (PostgreSQL keeps the same tokens in tsvector columns instead).
        if table == "_sqlx_migrations"
            || table.starts_with("sqlite_")
            || fts
                .iter()
                .any(|f| table == *f || table.starts_with(&format!("{f}_")))
        {
            continue;
        }
        schema.entry(table).or_default().insert(column);
    }
    schema
}

async fn postgres_schema(db: &leadline_store::Db) -> Schema {
    let leadline_store::Db::Postgres(pool) = db else {
        panic!("a PostgreSQL database");
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table, column) in rows {
        // sqlx's bookkeeping and PostgreSQL's own search indexes (SQLite's are its FTS5 tables,
        // left out above): the lead search tokens and the knowledge search postings.
        if table == "_sqlx_migrations"
            || table == "search_postings"
            || (table == "leads" && column == "search_tokens")
        {
            continue;
        }
        schema.entry(table).or_default().insert(column);
    }
    schema
}

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    use leadline_store::db::test_db::{TestDb, postgres_url};
    let sqlite = TestDb::sqlite().await.unwrap();
    let lite = sqlite_schema(&sqlite.db).await;
    let core = [
        "teams",
        "users",
        "team_supervisors",
        "sessions",
        "api_tokens",
        "login_failures",
        "custom_fields",
        "leads",
        "lead_phones",
        "lead_tags",
        "collisions",
        "saved_views",
        "audit_log",
        "settings",
        "calls",
    ];
    for table in core {
        assert!(lite.contains_key(table), "SQLite has {table}");
    }
    for column in [
        "owner_id",
        "custom",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
    ] {
        assert!(lite["leads"].contains(column), "leads.{column}");
    }
    // Without a PostgreSQL server only SQLite is checked here; the cross-check runs in the
    // PostgreSQL pass (LEADLINE_TEST_POSTGRES_URL set), and CI runs both.
    let Some(url) = postgres_url() else {
        return;
    };
    let pg = TestDb::postgres(&url).await.unwrap();
    let postgres = postgres_schema(&pg.db).await;
    let tables = |s: &Schema| s.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(tables(&lite), tables(&postgres), "the same tables");
    for (table, columns) in &lite {
        assert_eq!(
            Some(columns),
            postgres.get(table),
            "the same columns in {table}"
        );
    }
}
