//! The import engine itself (the code path behind the command line, the page and the API): each
//! kind of file offices produce, duplicates within the file and against stored leads under each
//! policy, each way of assigning owners, repeat runs, refused rows and limits. The fixture (a fresh
//! database with the small organisation, and a folder for the files) and the readers of what was
//! stored live here.

mod batches;
mod beside_writers;
mod duplicates;
mod files;
mod owners;
mod takeover;

use std::path::{Path, PathBuf};

use leadline_domain::UserId;
use leadline_engine::import_run::{self, Assign, ImportOptions, RunError};
use leadline_store::db::test_db::TestDb;
use leadline_store::imports::{ImportJob, OnDuplicate};
use leadline_store::{Db, db_run};

use crate::helpers::{Org, seed_org};

struct Fixture {
    tdb: TestDb,
    org: Org,
    dir: PathBuf,
}

impl Fixture {
    async fn new() -> Fixture {
        let tdb = TestDb::fresh().await.unwrap();
        let org = seed_org(&tdb.db).await;
        let dir = std::env::temp_dir().join(format!(
            "leadline-import-run-{}-{}",
            std::process::id(),
            &leadline_store::auth::random_secret()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Fixture { tdb, org, dir }
    }

    fn db(&self) -> &Db {
        &self.tdb.db
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Imports with the guessed mapping.
    async fn import(&self, path: &Path, policy: OnDuplicate, assign: Assign) -> ImportJob {
        let job = self.start(path, policy, assign).await.unwrap();
        import_run::run(self.db(), job.id, |_| {}).await.unwrap()
    }

    async fn start(
        &self,
        path: &Path,
        policy: OnDuplicate,
        assign: Assign,
    ) -> Result<ImportJob, RunError> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let preview = import_run::preview(path, &name, None, None, &[], None)?;
        let options = ImportOptions {
            mapping: preview.mapping,
            on_duplicate: policy,
            assign,
            encoding: None,
            sheet: None,
            delimiter: None,
        };
        import_run::start(self.db(), self.org.admin, &name, path, &options).await
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

/// (name, company, city, owner) of the lead holding this E.164 phone.
async fn lead_by_phone(
    db: &Db,
    e164: &str,
) -> Option<(String, Option<String>, Option<String>, Option<UserId>)> {
    db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT l.name, l.company, l.city, l.owner_id FROM leads l JOIN lead_phones p ON p.lead_id = l.id \
         WHERE p.e164 = $1 AND p.collision_with IS NULL"
    )
    .bind(e164)
    .fetch_optional(pool)
    .await
    .unwrap()
    })
}

fn counts(job: &ImportJob) -> [i64; 5] {
    [
        job.imported,
        job.updated,
        job.skipped,
        job.collisions,
        job.failed,
    ]
}

fn people_csv(rows: &[&str]) -> Vec<u8> {
    let mut s = String::from("姓名,手机,公司,城市,职位,负责人\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}
