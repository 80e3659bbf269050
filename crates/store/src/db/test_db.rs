//! Fresh throw-away databases for tests and benchmarks: a temp SQLite file, or a new schema on
//! the PostgreSQL server named by `LEADLINE_TEST_POSTGRES_URL`; removed again on drop.

use std::str::FromStr;

use crate::{Db, Result};

pub const POSTGRES_ENV: &str = "LEADLINE_TEST_POSTGRES_URL";

/// The PostgreSQL server tests should use, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|s| !s.is_empty())
}

/// A migrated database that disappears when dropped.
pub struct TestDb {
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema(String, String),
    /// Kept on purpose ([`TestDb::keep`]).
    Kept,
}

impl TestDb {
    /// PostgreSQL when `LEADLINE_TEST_POSTGRES_URL` is set, SQLite otherwise.
    pub async fn fresh() -> Result<TestDb> {
        match postgres_url() {
            Some(url) => TestDb::postgres(&url).await,
            None => TestDb::sqlite().await,
        }
    }

    fn unique() -> String {
        format!(
            "{}_{}",
            std::process::id(),
            &crate::auth::random_secret()[..12]
        )
    }

    pub async fn sqlite() -> Result<TestDb> {
        let path = std::env::temp_dir().join(format!("leadline-test-{}.db", TestDb::unique()));
        let db = Db::connect(&path.to_string_lossy()).await?;
        db.migrate().await?;
        Ok(TestDb {
            db,
            cleanup: Cleanup::File(path),
        })
    }

    pub async fn postgres(url: &str) -> Result<TestDb> {
        let schema = format!("t_{}", TestDb::unique());
        let admin = sqlx::PgPool::connect(url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
            .options([("search_path", schema.as_str())]);
        let db = Db::connect_postgres(opts).await?;
        db.migrate().await?;
        Ok(TestDb {
            db,
            cleanup: Cleanup::Schema(url.to_string(), schema),
        })
    }
}

impl TestDb {
    /// Keeps the database after the handle is dropped (to look into a benchmark's data);
    /// returns where it is: the SQLite file or the PostgreSQL schema.
    pub fn keep(mut self) -> String {
        match std::mem::replace(&mut self.cleanup, Cleanup::Kept) {
            Cleanup::File(path) => path.display().to_string(),
            Cleanup::Schema(_, schema) => schema,
            Cleanup::Kept => String::new(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Kept => {}
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema(url, schema) => {
                let (url, schema) = (url.clone(), schema.clone());
                // Drop may run inside an async runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                            let sql = format!("DROP SCHEMA {schema} CASCADE");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                            pool.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
