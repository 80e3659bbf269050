//! Rebuilding the lead quick-search tokens from the leads, when a migration has changed how they
//! are made and left the `lead_search_rebuild` marker in `settings`: the SQLite index
//! (`lead_search`) is contentless (it keeps no copy of the text) and PostgreSQL keeps only the
//! tokens (`leads.search_tokens`), so only the program, which makes the tokens, can make them
//! again.

use leadline_domain::PhoneNumber;
use sqlx::{PgPool, SqlitePool};

use crate::{Result, db::sqlite_writer};

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
            let tokens = stored_tokens(&name, company.as_deref(), r.get(3)?);
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

/// A stored lead's tokens, from its name, company and numbers (E.164, space-separated).
fn stored_tokens(name: &str, company: Option<&str>, e164s: Option<String>) -> String {
    let phones: Vec<PhoneNumber> = e164s
        .unwrap_or_default()
        .split_whitespace()
        .map(|e164| PhoneNumber::from_stored(e164.to_string(), String::new()))
        .collect();
    super::write::tokens_of(name, company, &phones)
}

/// Leads whose PostgreSQL tokens are made and written per statement.
const PG_CHUNK: i64 = 5_000;

/// [`rebuild_if_pending`] for PostgreSQL: every lead's `search_tokens` made again, a chunk of
/// leads per statement, and the marker removed, in one transaction.
pub(crate) async fn rebuild_pg_if_pending(pool: &PgPool) -> Result<Option<u64>> {
    let mut tx = pool.begin().await?;
    let pending: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM settings WHERE key = $1 FOR UPDATE")
            .bind(MARKER)
            .fetch_optional(&mut *tx)
            .await?;
    if pending.is_none() {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    tracing::info!("rebuilding the lead search tokens");
    let mut after = 0i64;
    let mut count = 0u64;
    loop {
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT l.id, l.name, l.company, \
             (SELECT string_agg(p.e164, ' ') FROM lead_phones p WHERE p.lead_id = l.id) \
             FROM leads l WHERE l.id > $1 ORDER BY l.id LIMIT $2",
        )
        .bind(after)
        .bind(PG_CHUNK)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        let (ids, tokens): (Vec<i64>, Vec<String>) = rows
            .into_iter()
            .map(|(id, name, company, phones)| {
                (id, stored_tokens(&name, company.as_deref(), phones))
            })
            .unzip();
        count += ids.len() as u64;
        sqlx::query(
            "UPDATE leads l SET search_tokens = array_to_tsvector(string_to_array(t.tokens, ' ')) \
             FROM unnest($1::bigint[], $2::text[]) AS t(id, tokens) WHERE l.id = t.id",
        )
        .bind(ids)
        .bind(tokens)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(MARKER)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        leads = count,
        seconds = started.elapsed().as_secs_f64(),
        "lead search tokens rebuilt"
    );
    Ok(Some(count))
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
            // Pinyin (migration 0026): an upgraded database finds its leads by it too.
            ("wang", vec![1]),
            ("wangjianguo", vec![1]),
            ("wjg", vec![1]),
            ("lisi", vec![2]),
            ("yunfan", vec![1]),
        ] {
            assert_eq!(found(&pool, q).await, leads, "query {q}");
        }
        assert_eq!(super::rebuild_if_pending(&pool).await.unwrap(), None);
        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// A rebuild that a migration asked for makes every lead's tokens again on either backend:
    /// stale tokens are gone, digits are found by their trigrams anywhere in a number, and the
    /// marker goes with the rebuild, so the next start rebuilds nothing.
    #[tokio::test]
    async fn a_pending_rebuild_makes_every_leads_tokens_again_on_either_backend() {
        let tdb = crate::db::test_db::TestDb::fresh().await.unwrap();
        let db = &tdb.db;
        let stale = match db.backend() {
            crate::Backend::Sqlite => "INSERT INTO lead_search (rowid, tokens) VALUES (1, 'stale')",
            crate::Backend::Postgres => {
                "UPDATE leads SET search_tokens = array_to_tsvector(ARRAY['stale']) WHERE id = 1"
            }
        };
        for sql in [
            "INSERT INTO leads (id, name, company, status, created_at, updated_at) VALUES \
             (1, '王建国', '杭州云帆网络有限公司', 'new', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'), \
             (2, '李四', NULL, 'new', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            "INSERT INTO lead_phones (lead_id, e164, raw, position) VALUES \
             (1, '+8613912345678', '139 1234 5678', 0), (1, '+861065529988', '010-6552 9988', 1), \
             (2, '+8613787654321', '13787654321', 0)",
            stale,
            "INSERT INTO settings (key, value, updated_at) VALUES \
             ('lead_search_rebuild', '\"pending\"', '2026-01-01T00:00:00+00:00')",
        ] {
            crate::db_run!(db, |pool| {
                sqlx::query(sql).execute(pool).await.unwrap();
            });
        }
        let found = |q: &'static str| async move {
            let terms = parse_query(q).expect("a usable query");
            crate::db_run!(db, |pool| {
                match db.backend() {
                    crate::Backend::Sqlite => sqlx::query_scalar::<_, i64>(
                        "SELECT rowid FROM lead_search WHERE lead_search MATCH $1 ORDER BY rowid",
                    )
                    .bind(fts5_match(&terms)),
                    crate::Backend::Postgres => sqlx::query_scalar::<_, i64>(
                        "SELECT id FROM leads WHERE search_tokens @@ CAST($1 AS tsquery) ORDER BY id",
                    )
                    .bind(leadline_domain::search_tokens::tsquery(&terms)),
                }
                .fetch_all(pool)
                .await
                .unwrap()
            })
        };
        assert_eq!(found("stale").await, [1], "the old tokens answer");
        db.migrate().await.unwrap();
        for (q, leads) in [
            ("stale", vec![]),
            ("王", vec![1]),
            ("云帆", vec![1]),
            ("2345", vec![1]),
            ("01065529988", vec![1]),
            ("8765", vec![2]),
            ("wangjianguo", vec![1]),
            ("wjg", vec![1]),
            ("ls", vec![2]),
            ("hzyf", vec![1]),
        ] {
            assert_eq!(found(q).await, leads, "query {q}");
        }
        let markers: i64 = crate::db_run!(db, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM settings WHERE key = 'lead_search_rebuild'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(markers, 0, "the marker goes with the rebuild");
    }
}
