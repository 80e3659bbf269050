//! IVR flows saved by admins (issue 27): each save of a number's flow file is a new version, the
//! newest is the one calls run, the older ones stay; every save is audited. The text is checked
//! (`Flow::parse`) by the caller before it comes here.

use chrono::{DateTime, Utc};
use leadline_domain::UserId;
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, write_audit};

/// One saved version of a flow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StoredFlow {
    pub number: String,
    pub version: i64,
    pub toml: String,
    pub saved_by: Option<UserId>,
    pub saved_by_name: Option<String>,
    pub saved_at: DateTime<Utc>,
}

/// A version in a flow's history (without its text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FlowVersion {
    pub version: i64,
    pub saved_by: Option<UserId>,
    pub saved_by_name: Option<String>,
    pub saved_at: DateTime<Utc>,
}

/// Most versions one history lists.
pub const HISTORY_LIMIT: i64 = 100;

/// Stores `toml` as the next version of `number`'s flow and audits it; returns the version.
/// Two admins saving at once: one gets the next version, the other a conflict to retry.
pub async fn save(
    db: &Db,
    number: &str,
    toml: &str,
    actor: UserId,
    at: DateTime<Utc>,
) -> Result<i64> {
    const NEXT: &str = "SELECT COALESCE(MAX(version), 0) + 1 FROM ivr_flows WHERE number = $1";
    const INSERT: &str = "INSERT INTO ivr_flows (number, version, toml, saved_by, saved_at) \
        VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let saved: std::result::Result<i64, sqlx::Error> = db_run!(db, |pool| {
        async {
            let mut tx = pool.begin().await?;
            let version: i64 = sqlx::query_scalar(NEXT)
                .bind(number)
                .fetch_one(&mut *tx)
                .await?;
            let id: i64 = sqlx::query_scalar(INSERT)
                .bind(number)
                .bind(version)
                .bind(toml)
                .bind(actor)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            let audit = AuditEntry {
                entity: "ivr_flow",
                entity_id: id,
                actor: Some(actor),
                action: "save",
                before: (version > 1).then(|| json!({ "number": number, "version": version - 1 })),
                after: Some(json!({ "number": number, "version": version, "toml": toml })),
                at,
            };
            write_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(version)
        }
        .await
    });
    match saved {
        Ok(version) => Ok(version),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(StoreError::Conflict("ivr_flow_saved_meanwhile"))
        }
        Err(e) => Err(e.into()),
    }
}

/// The newest saved version of `number`'s flow, if an admin ever saved one.
pub async fn current(db: &Db, number: &str) -> Result<Option<StoredFlow>> {
    const SQL: &str = "SELECT f.number, f.version, f.toml, f.saved_by, \
        u.display_name AS saved_by_name, f.saved_at FROM ivr_flows f \
        LEFT JOIN users u ON u.id = f.saved_by WHERE f.number = $1 ORDER BY f.version DESC LIMIT 1";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(number)
        .fetch_optional(pool)
        .await?))
}

/// One saved version.
pub async fn version(db: &Db, number: &str, version: i64) -> Result<Option<StoredFlow>> {
    const SQL: &str = "SELECT f.number, f.version, f.toml, f.saved_by, \
        u.display_name AS saved_by_name, f.saved_at FROM ivr_flows f \
        LEFT JOIN users u ON u.id = f.saved_by WHERE f.number = $1 AND f.version = $2";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(number)
        .bind(version)
        .fetch_optional(pool)
        .await?))
}

/// The saved versions of `number`'s flow, newest first.
pub async fn history(db: &Db, number: &str) -> Result<Vec<FlowVersion>> {
    const SQL: &str = "SELECT f.version, f.saved_by, u.display_name AS saved_by_name, f.saved_at \
        FROM ivr_flows f LEFT JOIN users u ON u.id = f.saved_by WHERE f.number = $1 \
        ORDER BY f.version DESC LIMIT $2";
    Ok(db_run!(db, |pool| sqlx::query_as(SQL)
        .bind(number)
        .bind(HISTORY_LIMIT)
        .fetch_all(pool)
        .await?))
}

/// The numbers admins saved flows for.
pub async fn numbers(db: &Db) -> Result<Vec<String>> {
    const SQL: &str = "SELECT DISTINCT number FROM ivr_flows ORDER BY number";
    Ok(db_run!(db, |pool| sqlx::query_scalar(SQL)
        .fetch_all(pool)
        .await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::users;

    #[tokio::test]
    async fn each_save_is_a_new_version_the_newest_is_current_and_all_are_audited() {
        let t = crate::db::test_db::TestDb::fresh().await.unwrap();
        let db = &t.db;
        let admin = users::create_user(
            db,
            &users::NewUser {
                username: "admin".into(),
                display_name: "管理员".into(),
                role: leadline_domain::Role::Admin,
                team_id: None,
                password_hash: "x".into(),
            },
            None,
        )
        .await
        .unwrap()
        .id;
        assert_eq!(current(db, "9000").await.unwrap(), None);
        let t0 = crate::now();
        assert_eq!(save(db, "9000", "first", admin, t0).await.unwrap(), 1);
        assert_eq!(save(db, "9000", "second", admin, t0).await.unwrap(), 2);
        assert_eq!(save(db, "9100", "other", admin, t0).await.unwrap(), 1);
        let now = current(db, "9000").await.unwrap().unwrap();
        assert_eq!((now.version, now.toml.as_str()), (2, "second"));
        assert_eq!(now.saved_by_name.as_deref(), Some("管理员"));
        assert_eq!(version(db, "9000", 1).await.unwrap().unwrap().toml, "first");
        let versions: Vec<i64> = history(db, "9000")
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(versions, [2, 1]);
        assert_eq!(numbers(db).await.unwrap(), ["9000", "9100"]);
        const AUDITED: &str =
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'ivr_flow' AND action = 'save'";
        let audited: i64 = db_run!(db, |pool| sqlx::query_scalar(AUDITED)
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(audited, 3);
    }
}
