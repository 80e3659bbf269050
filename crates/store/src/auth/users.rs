//! People and teams: accounts, roles, team membership and supervision, password hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use leadline_domain::{PoolId, Role, TeamId, UserId, Viewer};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: Option<TeamId>,
    pub active: bool,
    pub locale: String,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: UserId,
    username: String,
    display_name: String,
    role: String,
    team_id: Option<TeamId>,
    active: bool,
    locale: String,
    time_zone: String,
    created_at: DateTime<Utc>,
}

/// A stored role that does not parse is `Corrupt`, never quietly `Agent`: a damaged role must
/// neither grant nor withdraw rights without anyone noticing.
impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<User> {
        let role = Role::parse(&r.role).ok_or_else(|| {
            StoreError::corrupt("users", r.id.0, format!("role {:?} is not a role", r.role))
        })?;
        Ok(User {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            role,
            team_id: r.team_id,
            active: r.active,
            locale: r.locale,
            time_zone: r.time_zone,
            created_at: r.created_at,
        })
    }
}

impl User {
    fn audit_view(&self) -> serde_json::Value {
        json!({"username": self.username, "display_name": self.display_name, "role": self.role,
            "team_id": self.team_id, "active": self.active, "locale": self.locale})
    }
}

const COLUMNS: &str =
    "id, username, display_name, role, team_id, active, locale, time_zone, created_at";

/// The same columns read through the alias `u`, for queries that join a user to its session or token.
impl UserRow {
    /// A row of [`U_COLUMNS`] read by the direct SQLite reader, starting at column 0.
    pub(crate) fn from_sqlite(r: &rusqlite::Row) -> Result<UserRow> {
        Ok(UserRow {
            id: UserId(r.get(0)?),
            username: r.get(1)?,
            display_name: r.get(2)?,
            role: r.get(3)?,
            team_id: r.get::<_, Option<i64>>(4)?.map(TeamId),
            active: r.get(5)?,
            locale: r.get(6)?,
            time_zone: r.get(7)?,
            created_at: crate::db::sqlite_writer::parse_time(&r.get::<_, String>(8)?)?,
        })
    }
}

pub(crate) const U_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.team_id, u.active, u.locale, u.time_zone, u.created_at";

/// Hashes a password with argon2id and a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).expect("the operating system's random source failed");
    let Ok(salt) = SaltString::encode_b64(&salt_bytes) else {
        return String::new();
    };
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Shortest password accepted for a new or changed account.
pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: Option<TeamId>,
    pub password_hash: String,
}

pub fn valid_username(name: &str) -> bool {
    (2..=40).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub async fn create_user(db: &Db, new: &NewUser, actor: Option<UserId>) -> Result<User> {
    if !valid_username(&new.username) {
        return Err(StoreError::invalid("username", "bad_username"));
    }
    if new.display_name.trim().is_empty() {
        return Err(StoreError::invalid("display_name", "required"));
    }
    let at = now();
    let sql = format!(
        "INSERT INTO users (username, display_name, role, team_id, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    );
    let user: User = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&new.username)
            .bind(new.display_name.trim())
            .bind(new.role.as_str())
            .bind(new.team_id)
            .bind(&new.password_hash)
            .bind(at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::unique_as(e, "username"))?;
        let user = User::try_from(row)?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "user",
                entity_id: user.id.0,
                actor,
                action: "create",
                before: None,
                after: Some(user.audit_view()),
                at,
            }
        )?;
        tx.commit().await?;
        user
    });
    Ok(user)
}

pub async fn get_user(db: &Db, id: UserId) -> Result<User> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row: Option<UserRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.map(User::try_from).ok_or(StoreError::NotFound)?
}

/// The account and its password hash, for login.
pub async fn find_for_login(db: &Db, username: &str) -> Result<Option<(User, String)>> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE username = $1");
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
    }
    let row: Option<Row> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(pool)
            .await?
    });
    row.map(|r| Ok((User::try_from(r.user)?, r.password_hash)))
        .transpose()
}

pub async fn list_users(db: &Db) -> Result<Vec<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY role, username");
    let rows: Vec<UserRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(User::try_from).collect()
}

pub async fn user_count(db: &Db) -> Result<i64> {
    Ok(db_run!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await?
    }))
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub team_id: Option<Option<TeamId>>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub password_hash: Option<String>,
}

/// Changes an account; deactivating it or changing its password ends its sessions and tokens.
pub async fn update_user(
    db: &Db,
    id: UserId,
    patch: &UserPatch,
    actor: Option<UserId>,
) -> Result<User> {
    let before = get_user(db, id).await?;
    let mut after = before.clone();
    if let Some(n) = &patch.display_name {
        if n.trim().is_empty() {
            return Err(StoreError::invalid("display_name", "required"));
        }
        after.display_name = n.trim().to_string();
    }
    if let Some(r) = patch.role {
        after.role = r;
    }
    if let Some(t) = patch.team_id {
        after.team_id = t;
    }
    if let Some(a) = patch.active {
        after.active = a;
    }
    if let Some(l) = &patch.locale {
        after.locale = if l.starts_with("en") {
            "en".into()
        } else {
            "zh-CN".into()
        };
    }
    if let Some(z) = &patch.time_zone {
        after.time_zone = z.clone();
    }
    let at = now();
    let ends_sessions = !after.active || patch.password_hash.is_some();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "UPDATE users SET display_name = $1, role = $2, team_id = $3, active = $4, locale = $5, \
             time_zone = $6, password_hash = COALESCE($7, password_hash), updated_at = $8 WHERE id = $9",
        )
        .bind(&after.display_name)
        .bind(after.role.as_str())
        .bind(after.team_id)
        .bind(after.active)
        .bind(&after.locale)
        .bind(&after.time_zone)
        .bind(patch.password_hash.as_deref())
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if ends_sessions {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let mut after_view = after.audit_view();
        if patch.password_hash.is_some() {
            after_view["password"] = json!("changed");
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "user",
                entity_id: id.0,
                actor,
                action: "update",
                before: Some(before.audit_view()),
                after: Some(after_view),
                at,
            }
        )?;
        tx.commit().await?;
    });
    // Open streams follow a change of role, team or access (or end).
    crate::notify::announce(db, crate::notify::Change::access(Some(id)));
    Ok(after)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub member_count: i64,
}

pub async fn create_team(db: &Db, name: &str, actor: Option<UserId>) -> Result<TeamId> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(StoreError::invalid("name", "required"));
    }
    let at = now();
    Ok(db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: TeamId =
            sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| StoreError::unique_as(e, "team"))?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "team",
                entity_id: id.0,
                actor,
                action: "create",
                before: None,
                after: Some(json!({"name": name})),
                at,
            }
        )?;
        tx.commit().await?;
        id
    }))
}

pub async fn list_teams(db: &Db) -> Result<Vec<Team>> {
    const SQL: &str = "SELECT t.id, t.name, (SELECT COUNT(*) FROM users u WHERE u.team_id = t.id) AS member_count \
        FROM teams t ORDER BY t.name";
    Ok(db_run!(db, |pool| sqlx::query_as::<_, Team>(SQL)
        .fetch_all(pool)
        .await?))
}

/// (team, supervisor) pairs.
pub async fn team_supervisors(db: &Db) -> Result<Vec<(TeamId, UserId)>> {
    const SQL: &str = "SELECT team_id, user_id FROM team_supervisors ORDER BY team_id, user_id";
    Ok(db_run!(db, |pool| sqlx::query_as::<_, (TeamId, UserId)>(
        SQL
    )
    .fetch_all(pool)
    .await?))
}

/// Makes `user` a supervisor of `team` (or removes it).
pub async fn set_supervisor(
    db: &Db,
    team: TeamId,
    user: UserId,
    supervises: bool,
    actor: Option<UserId>,
) -> Result<()> {
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        if supervises {
            sqlx::query("INSERT INTO team_supervisors (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(team)
                .bind(user)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("DELETE FROM team_supervisors WHERE team_id = $1 AND user_id = $2")
                .bind(team)
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "team",
                entity_id: team.0,
                actor,
                action: if supervises {
                    "add_supervisor"
                } else {
                    "remove_supervisor"
                },
                before: None,
                after: Some(json!({"supervisor_id": user})),
                at,
            }
        )?;
        tx.commit().await?;
    });
    crate::notify::announce(db, crate::notify::Change::access(Some(user)));
    Ok(())
}

/// The viewer a user acts as: its role and the teams it supervises.
pub async fn viewer(db: &Db, user: &User) -> Result<Viewer> {
    let supervised_teams = if user.role == Role::Supervisor {
        db_run!(db, |pool| {
            sqlx::query_scalar::<_, TeamId>(
                "SELECT team_id FROM team_supervisors WHERE user_id = $1",
            )
            .bind(user.id)
            .fetch_all(pool)
            .await?
        })
    } else {
        Vec::new()
    };
    // The named pools open to the user's team or the teams they supervise.
    let mut teams = supervised_teams.clone();
    teams.extend(user.team_id);
    let pools = if teams.is_empty() || user.role == Role::Admin {
        Vec::new()
    } else {
        let list: Vec<String> = teams.iter().map(|t| t.0.to_string()).collect();
        let sql = format!(
            "SELECT DISTINCT pool_id FROM pool_teams WHERE team_id IN ({}) ORDER BY pool_id",
            list.join(",")
        );
        db_run!(db, |pool| {
            sqlx::query_scalar::<_, PoolId>(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(pool)
                .await?
        })
    };
    Ok(Viewer {
        user_id: user.id,
        role: user.role,
        supervised_teams,
        pools,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sql::{Arg, execute};
    use crate::db::test_db::TestDb;

    /// A stored role that does not parse is an error naming `users` and the row on every way an
    /// account is read (by id, the list, login, a session, a token), never `Agent`.
    #[tokio::test]
    async fn a_stored_role_that_does_not_parse_is_an_error_naming_its_row() {
        let t = TestDb::fresh().await.unwrap();
        let db = &t.db;
        let new = NewUser {
            username: "zhou".into(),
            display_name: "周敏".into(),
            role: Role::Supervisor,
            team_id: None,
            password_hash: hash_password("a long password"),
        };
        let user = create_user(db, &new, None).await.unwrap();
        let session = crate::auth::create_session(db, user.id).await.unwrap();
        let (_, secret) = crate::auth::create_token(db, user.id, "t").await.unwrap();
        execute(
            db,
            "UPDATE users SET role = 'superuser' WHERE id = $1",
            vec![Arg::I64(user.id.0)],
        )
        .await
        .unwrap();

        let corrupt = |r: Result<()>| match r {
            Err(StoreError::Corrupt { table, row, what }) => {
                assert_eq!((table, row), ("users", user.id.0));
                assert!(what.contains("superuser"), "{what}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        };
        corrupt(get_user(db, user.id).await.map(drop));
        corrupt(list_users(db).await.map(drop));
        corrupt(find_for_login(db, "zhou").await.map(drop));
        corrupt(crate::auth::session_user(db, &session.id).await.map(drop));
        corrupt(crate::auth::token_user(db, &secret).await.map(drop));
    }
}
