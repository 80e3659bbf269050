//! Sessions, API tokens and login throttling, all in the database so several app servers share them.
//! Only SHA-256 hashes of session ids and tokens are stored.

pub mod phone_pin;
pub mod throttle;
pub mod users;

use chrono::{DateTime, Duration, Utc};
use leadline_domain::UserId;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::users::{U_COLUMNS, User, UserRow};
use crate::db::sql::Arg;
use crate::{Db, Result, StoreError, db::sqlite_writer, db_run, now};

/// A fresh random secret, hex-encoded (256 bits).
pub fn random_secret() -> String {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How long a login lasts without being renewed.
pub const SESSION_TTL: Duration = Duration::hours(12);

#[derive(Debug, Clone)]
pub struct NewSession {
    /// Goes to the browser in a cookie; never stored.
    pub id: String,
    pub csrf_token: String,
}

pub async fn create_session(db: &Db, user: UserId) -> Result<NewSession> {
    let id = random_secret();
    let csrf_token = random_secret();
    let at = now();
    db_run!(db, |pool| {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&id))
        .bind(user)
        .bind(&csrf_token)
        .bind(at)
        .bind(at + SESSION_TTL)
        .execute(pool)
        .await?;
    });
    Ok(NewSession { id, csrf_token })
}

/// The active user behind a session cookie, with the session's CSRF token.
pub async fn session_user(db: &Db, session_id: &str) -> Result<Option<(User, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        csrf_token: String,
    }
    // One round trip: the session and its user together.
    let sql = format!(
        "SELECT {U_COLUMNS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2"
    );
    let row: Option<Row> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(digest(session_id))
            .bind(now())
            .fetch_optional(pool)
            .await?
    });
    let Some(row) = row else {
        return Ok(None);
    };
    let user = User::try_from(row.user)?;
    Ok(user.active.then_some((user, row.csrf_token)))
}

pub async fn delete_session(db: &Db, session_id: &str) -> Result<()> {
    db_run!(db, |pool| {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1 OR expires_at < $2")
            .bind(digest(session_id))
            .bind(now())
            .execute(pool)
            .await?;
    });
    // The streams opened with this session end now (each checks its own sign-in).
    crate::notify::announce(db, crate::notify::Change::access(None));
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Prefix that makes a leaked token recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "ll_";

/// Issues a token; the secret is returned once and only its hash is kept.
pub async fn create_token(db: &Db, user: UserId, name: &str) -> Result<(ApiToken, String)> {
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let name = if name.trim().is_empty() {
        "api"
    } else {
        name.trim()
    };
    let at = now();
    let token: ApiToken = db_run!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, created_at, last_used_at, revoked_at",
        )
        .bind(user)
        .bind(name)
        .bind(digest(&secret))
        .bind(at)
        .fetch_one(pool)
        .await?
    });
    Ok((token, secret))
}

pub async fn list_tokens(db: &Db, user: UserId) -> Result<Vec<ApiToken>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
        )
        .bind(user)
        .fetch_all(pool)
        .await?
    }))
}

/// Revokes one of the user's own tokens; someone else's token is `NotFound`.
pub async fn revoke_token(db: &Db, user: UserId, token_id: i64) -> Result<()> {
    let done = db_run!(db, |pool| {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(token_id)
            .bind(user)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if done == 1 {
        crate::notify::announce(db, crate::notify::Change::access(Some(user)));
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// The active user a bearer token belongs to.
pub async fn token_user(db: &Db, secret: &str) -> Result<Option<User>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        token_id: i64,
        last_used_at: Option<DateTime<Utc>>,
    }
    let at = now();
    // One round trip: the token and its user together.
    let sql = format!(
        "SELECT {U_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
    );
    let row: Option<Row> = match db {
        // Every API request asks this: a point read on the calling thread.
        Db::Sqlite(pool) => sqlite_writer::read(pool, |conn| {
            let hash = rusqlite::types::Value::Text(digest(secret));
            let mut stmt = sqlite_writer::prepare(conn, &sql, &[hash])?;
            let mut rows = stmt.raw_query();
            let Some(r) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(Row {
                user: UserRow::from_sqlite(r)?,
                token_id: r.get(9)?,
                last_used_at: r
                    .get::<_, Option<String>>(10)?
                    .as_deref()
                    .map(sqlite_writer::parse_time)
                    .transpose()?,
            }))
        })?,
        Db::Postgres(pool) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(digest(secret))
                .fetch_optional(pool)
                .await?
        }
    };
    let Some(row) = row else {
        return Ok(None);
    };
    // Record use at most once a minute, so that reads do not become writes.
    if row
        .last_used_at
        .is_none_or(|t| at - t > Duration::minutes(1))
    {
        crate::db::sql::execute(
            db,
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
            vec![Arg::Time(at), Arg::I64(row.token_id)],
        )
        .await?;
    }
    let user = User::try_from(row.user)?;
    Ok(user.active.then_some(user))
}
