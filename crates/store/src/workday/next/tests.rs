//! The covered revisits' statement (issue 22) runs on every next call of every agent who has no
//! due revisit of their own: it must seek the agent's backup leads and each one's absences by
//! index on both backends, never walk the due revisits of the floor.

use super::*;
use crate::db::test_db::{TestDb, postgres_url};

/// SQLite's plan: the agent's backup leads by `leads_backup`, their absences by
/// `absences_user`.
#[tokio::test]
async fn covered_revisits_seek_the_backups_leads_and_absences_by_index_on_sqlite() {
    let t = TestDb::sqlite().await.unwrap();
    let Db::Sqlite(pool) = t.db.clone() else {
        unreachable!("TestDb::sqlite is SQLite")
    };
    use rusqlite::types::Value as V;
    let now = "2026-03-03T07:00:00Z";
    let args = vec![
        V::Integer(7),
        V::Text(now.into()),
        V::Text(now.into()),
        V::Integer(6),
        V::Text("2026-03-03".into()),
    ];
    let plan = sqlite_writer::query_plan(&pool, &covered_sql(Backend::Sqlite, true, 0), args)
        .await
        .unwrap();
    let text = plan.join("\n");
    assert!(
        text.contains("SEARCH l USING INDEX leads_backup (backup_owner_id=?)"),
        "{text}"
    );
    assert!(
        text.contains("USING INDEX absences_user (user_id=?"),
        "{text}"
    );
    assert!(!text.contains("SCAN l"), "{text}");
}

/// PostgreSQL's plan, with sequential scans priced out (an empty test table would make any
/// plan look cheapest): the statement can be answered from `leads_backup` and `absences_user`.
#[tokio::test]
async fn covered_revisits_can_seek_by_index_on_postgres() {
    let Some(url) = postgres_url() else { return };
    let t = TestDb::postgres(&url).await.unwrap();
    let Db::Postgres(pool) = t.db.clone() else {
        unreachable!("TestDb::postgres is PostgreSQL")
    };
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let sql = format!("EXPLAIN {}", covered_sql(Backend::Postgres, true, 0));
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(7_i64)
        .bind(now)
        .bind(now)
        .bind(6_i64)
        .bind("2026-03-03")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let text = plan.join("\n");
    assert!(text.contains("leads_backup"), "{text}");
    assert!(text.contains("absences_user"), "{text}");
}
