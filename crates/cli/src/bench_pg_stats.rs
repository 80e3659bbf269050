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

/// The schema `pg_stat_statements` is installed in, when the server loads it
/// (`shared_preload_libraries`) and the database has the extension; None otherwise (on SQLite
/// too). Benchmarks then say where PostgreSQL's time went, statement by statement.
async fn statements_schema(db: &Db) -> Option<String> {
    let Db::Postgres(pool) = db else { return None };
    let schema: String = sqlx::query_scalar(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
         WHERE e.extname = 'pg_stat_statements'",
    )
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()?;
    // The view refuses to answer when the library is not loaded.
    let probe = format!("SELECT COUNT(*) FROM \"{schema}\".pg_stat_statements LIMIT 1");
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(probe))
        .fetch_one(pool)
        .await
        .ok()?;
    Some(schema)
}

/// Forgets what `pg_stat_statements` counted so far, so that [`top_statements`] covers what comes
/// next. False when it is not there (see [`statements_schema`]).
pub(crate) async fn reset_statements(db: &Db) -> bool {
    let (Some(schema), Db::Postgres(pool)) = (statements_schema(db).await, db) else {
        return false;
    };
    let sql = format!("SELECT \"{schema}\".pg_stat_statements_reset()");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .is_ok()
}

/// The `n` statements of this database that took the most of PostgreSQL's time (planning and
/// execution) since [`reset_statements`], per `cycles` (a cycle: one next call and one recorded
/// call): how often a cycle runs each, its time and the buffers it touched per run, and its share
/// of the whole. Empty when `pg_stat_statements` is not there.
pub(crate) async fn top_statements(db: &Db, cycles: usize, n: i64) -> anyhow::Result<String> {
    let (Some(schema), Db::Postgres(pool)) = (statements_schema(db).await, db) else {
        return Ok(String::new());
    };
    let sql = format!(
        "SELECT calls, total_exec_time + total_plan_time, total_plan_time, shared_blks_hit + shared_blks_read, \
         SUM(total_exec_time + total_plan_time) OVER (), left(regexp_replace(query, '\\s+', ' ', 'g'), 100) \
         FROM \"{schema}\".pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         ORDER BY total_exec_time + total_plan_time DESC LIMIT $1"
    );
    let rows: Vec<(i64, f64, f64, i64, f64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(n)
        .fetch_all(pool)
        .await?;
    let Some(total) = rows.first().map(|r| r.4) else {
        return Ok(String::new());
    };
    let cycles = cycles.max(1) as f64;
    let mut out = format!(
        "where PostgreSQL's time went (pg_stat_statements, flat out): {:.0} µs of statements per cycle\n",
        total * 1000.0 / cycles
    );
    for (calls, ms, plan_ms, blocks, _, query) in rows {
        let runs = calls.max(1) as f64;
        out.push_str(&format!(
            "  {:>4.0} %  {:>4.2}/cycle  {:>7.1} µs a run ({:.1} planning)  {:>6.1} buffers  {query}\n",
            100.0 * ms / total.max(1e-9),
            calls as f64 / cycles,
            ms * 1000.0 / runs,
            plan_ms * 1000.0 / runs,
            blocks as f64 / runs,
        ));
    }
    Ok(out)
}
