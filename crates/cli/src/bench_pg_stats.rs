//! What PostgreSQL's own statistics say about a benchmark run.

use std::time::Duration;

use leadline_store::{Backend, Db, db_run};

/// On PostgreSQL, a line with the row updates of leads and how many of them were HOT (wrote no
/// index entry): a reservation should be one (migration 0032); a recorded call changes indexed
/// columns. Empty on SQLite.
pub(crate) async fn hot_updates(db: &Db) -> anyhow::Result<String> {
    if db.backend() != Backend::Postgres {
        return Ok(String::new());
    }
    // Idle sessions hand their counts in within a second.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (upd, hot): (i64, i64) = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'leads'::regclass",
        )
        .fetch_one(pool)
        .await?
    });
    Ok(format!(
        "leads row updates {upd}, of which HOT (no index written) {hot}\n"
    ))
}
