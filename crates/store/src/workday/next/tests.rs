//! The covered revisits' statement (issue 22) runs on every next call of every agent who has no
//! due revisit of their own: it must seek the agent's backup leads and each one's absences by
//! index on both backends, never walk the due revisits of the floor.

use super::*;
use crate::db::test_db::{TestDb, postgres_url};

/// The default zone open, no other zone, nothing skipped.
const OPEN_DEFAULT: Open = Open {
    default_open: true,
    zones: 0,
    skip: None,
};

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
    let plan = sqlite_writer::query_plan(&pool, &reserve(&covered_sql(&OPEN_DEFAULT)), args)
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
    let sql = format!("EXPLAIN {}", reserve_all(&[covered_sql(&OPEN_DEFAULT)]));
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

/// The fresh tier on a floor whose new leads are mostly the pool's and whose owned leads are
/// many: SQLite walks `leads_fresh_pick` in serving order and stops at the first callable lead,
/// without visiting the table or sorting. The index must cover every column the visibility
/// rule reads (it once lacked `pool_id` and `backup_owner_id`, and SQLite then read every new
/// lead through `leads_status` and sorted them: 36 ms a call at 100,000 pool leads).
#[tokio::test]
async fn fresh_leads_are_served_by_walking_the_covering_index_on_sqlite() {
    let t = TestDb::sqlite().await.unwrap();
    let now = crate::now();
    let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) \
        INSERT INTO leads (name, status, owner_id, created_by, custom, version, created_at, updated_at, attempts, priority, dnc) \
        SELECT 'L' || i, CASE WHEN i <= 2000 THEN 'contacted' ELSE 'new' END, \
        CASE WHEN i <= 2000 OR i % 10 = 0 THEN $1 ELSE NULL END, $1, '{}', 1, $2, $2, 0, 0, FALSE FROM n";
    let owner = crate::db::sql::execute(
        &t.db,
        "INSERT INTO users (username, display_name, role, password_hash, created_at, updated_at) \
         VALUES ('o', 'o', 'agent', 'x', $1, $1)",
        vec![Arg::Time(now)],
    )
    .await
    .unwrap();
    assert_eq!(owner, 1);
    crate::db::sql::execute(&t.db, fill, vec![Arg::I64(1), Arg::Time(now)])
        .await
        .unwrap();
    crate::db::sql::execute(&t.db, "ANALYZE", vec![])
        .await
        .unwrap();
    let Db::Sqlite(pool) = t.db.clone() else {
        unreachable!("TestDb::sqlite is SQLite")
    };
    use rusqlite::types::Value as V;
    let viewer = Viewer {
        user_id: UserId(2),
        role: Role::Agent,
        supervised_teams: Vec::new(),
        pools: Vec::new(),
    };
    let at = "2026-03-03T07:00:00Z";
    let args = vec![
        V::Integer(2),
        V::Text(at.into()),
        V::Text(at.into()),
        V::Integer(6),
        V::Text("2026-03-03".into()),
    ];
    let sql = reserve(&tier_sql(&viewer, Tier::Fresh, &OPEN_DEFAULT));
    let plan = sqlite_writer::query_plan(&pool, &sql, args)
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("SCAN l USING COVERING INDEX leads_fresh_pick"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}
