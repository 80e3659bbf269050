//! Rebuilding the SQLite lead quick-search index (`lead_search`) from the leads, when a
//! migration has replaced the index and left the `lead_search_rebuild` marker in `settings`.
//! The index is contentless (it keeps no copy of the text), so only the program, which makes the
//! tokens, can fill it again.

use leadline_domain::PhoneNumber;
use sqlx::SqlitePool;

use crate::{Result, sqlite_writer};

const MARKER: &str = "lead_search_rebuild";

/// Rebuilds the index if a migration asked for it: every lead's tokens written again and the
/// marker removed, in one transaction, so that an interrupted rebuild is done again from the
/// start at the next start-up. Returns the number of leads indexed (`None`: nothing was asked).
pub(crate) async fn rebuild_if_pending(pool: &SqlitePool) -> Result<Option<u64>> {
    let pending: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(MARKER)
        .fetch_optional(pool)
        .await?;
    if pending.is_none() {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    tracing::info!("rebuilding the lead search index");
    let leads = sqlite_writer::run_bulk(pool, |conn| {
        conn.execute_batch("INSERT INTO lead_search (lead_search) VALUES ('delete-all')")?;
        // One row per lead (deleted ones too: the deleted-leads view searches them), with its
        // numbers in one text.
        let mut read = conn.prepare(
            "SELECT l.id, l.name, l.company, \
             (SELECT group_concat(p.e164, ' ') FROM lead_phones p WHERE p.lead_id = l.id) \
             FROM leads l",
        )?;
        let mut insert = conn.prepare("INSERT INTO lead_search (rowid, tokens) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        let mut count = 0u64;
        while let Some(r) = rows.next()? {
            let (id, name, company): (i64, String, Option<String>) =
                (r.get(0)?, r.get(1)?, r.get(2)?);
            let phones: Vec<PhoneNumber> = r
                .get::<_, Option<String>>(3)?
                .unwrap_or_default()
                .split_whitespace()
                .map(|e164| PhoneNumber::from_stored(e164.to_string(), String::new()))
                .collect();
            let tokens = super::write::tokens_of(&name, company.as_deref(), &phones);
            insert.execute(rusqlite::params![id, tokens])?;
            count += 1;
        }
        conn.execute("DELETE FROM settings WHERE key = ?1", [MARKER])?;
        Ok(count)
    })
    .await?;
    tracing::info!(
        leads,
        seconds = started.elapsed().as_secs_f64(),
        "lead search index rebuilt"
    );
    Ok(Some(leads))
}

#[cfg(test)]
mod tests {
    use leadline_domain::search_tokens::{fts5_match, parse_query};

    use super::{MARKER, SqlitePool};
    use crate::Db;

    async fn found(pool: &SqlitePool, q: &str) -> Vec<i64> {
        let terms = parse_query(q).expect("a usable query");
        sqlx::query_scalar(
            "SELECT rowid FROM lead_search WHERE lead_search MATCH $1 ORDER BY rowid",
        )
        .bind(fts5_match(&terms))
        .fetch_all(pool)
        .await
        .unwrap()
    }

    async fn marker(pool: &SqlitePool) -> Option<String> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(MARKER)
            .fetch_optional(pool)
            .await
            .unwrap()
    }

    /// A database whose leads were indexed the old way (migrations up to 0007) gets every lead's
    /// tokens again, from its name, company and every number, when it is migrated; the old
    /// index's entries are gone, and migrating again rebuilds nothing.
    #[tokio::test]
    async fn migrating_rebuilds_the_lead_search_index_from_the_leads() {
        let path = std::env::temp_dir().join(format!(
            "leadline-test-rebuild-{}-{}.db",
            std::process::id(),
            &crate::auth::random_secret()[..8]
        ));
        let db = Db::connect(&path.to_string_lossy()).await.unwrap();
        let Db::Sqlite(pool) = db.clone() else {
            unreachable!("a SQLite path")
        };
        let mut before = sqlx::migrate!("./migrations/sqlite");
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version <= 7)
            .cloned()
            .collect();
        before.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO leads (id, name, company, status, created_at, updated_at) VALUES \
             (1, '王建国', '杭州云帆网络有限公司', 'new', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'), \
             (2, '李四', NULL, 'new', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'), \
             (3, 'Kumar', NULL, 'new', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            "INSERT INTO lead_phones (lead_id, e164, raw, position) VALUES \
             (1, '+8613912345678', '139 1234 5678', 0), (1, '+861065529988', '010-6552 9988', 1), \
             (2, '+8613787654321', '13787654321', 0)",
            "INSERT INTO lead_search (rowid, tokens) VALUES (1, 'stale')",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        assert_eq!(found(&pool, "stale").await, [1], "the old index answers");

        db.migrate().await.unwrap();
        assert_eq!(
            marker(&pool).await,
            None,
            "the marker goes with the rebuild"
        );
        for (q, leads) in [
            ("王", vec![1]),
            ("云帆", vec![1]),
            ("5678", vec![1]),
            ("9988", vec![1]),
            ("01065529988", vec![1]),
            ("4321", vec![2]),
            ("李四", vec![2]),
            ("kum", vec![3]),
            ("stale", vec![]),
        ] {
            assert_eq!(found(&pool, q).await, leads, "query {q}");
        }
        assert_eq!(super::rebuild_if_pending(&pool).await.unwrap(), None);
        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
