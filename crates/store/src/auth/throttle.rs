//! Sign-in throttling: an attempt is counted (reserved) before its password is checked, per
//! account and address, so that neither parallel guessing nor a stranger's wrong passwords lock
//! the owner out at an address they have signed in from.
//!
//! The budgets, within [`THROTTLE_WINDOW`]:
//! - [`MAX_FAILURES`] per account and address: failures from address X throttle X for that
//!   account only;
//! - [`ACCOUNT_MAX_FAILURES`] per account from every address but the account's known ones (where
//!   it signed in within [`KNOWN_ADDRESS_TTL`]): guessing spread over many addresses stops, the
//!   owner at a known address still signs in;
//! - [`CLIENT_MAX_FAILURES`] per address over all accounts (password spraying), again not for an
//!   address known to the account.
//!
//! Reserving is one serialised step: on SQLite the database's one writer, on PostgreSQL a
//! transaction holding advisory locks on the username and the address, taken in that order.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::UserId;
use serde_json::json;

use crate::db::sql::Arg;
use crate::db::sqlite_writer;
use crate::db::tx::{PgTx, SqliteTx, Tx, run_ready};
use crate::{Backend, Db, Result, audit};

/// Failed sign-ins tolerated per account and address within [`THROTTLE_WINDOW`].
pub const MAX_FAILURES: i64 = 5;
/// Failed sign-ins tolerated per account from addresses it has not signed in from.
pub const ACCOUNT_MAX_FAILURES: i64 = 50;
/// Failed sign-ins tolerated per address over all accounts (except accounts it is known to).
pub const CLIENT_MAX_FAILURES: i64 = MAX_FAILURES * 4;
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// An address stays known to an account this long after its last sign-in there.
pub const KNOWN_ADDRESS_TTL: Duration = Duration::days(90);

/// The audit action written when an account is throttled.
pub const THROTTLED_ACTION: &str = "sign_in_throttled";

/// Attempts counted within the window before a new one, the new one's budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recent {
    /// From this address for this account.
    pub pair: i64,
    /// For this account from every address.
    pub account: i64,
    /// From this address for every account.
    pub client: i64,
    /// The account has signed in from this address lately.
    pub known: bool,
}

impl Recent {
    /// Whether one more attempt may have its password checked.
    pub fn allows(&self) -> bool {
        self.pair < MAX_FAILURES
            && (self.known
                || (self.account < ACCOUNT_MAX_FAILURES && self.client < CLIENT_MAX_FAILURES))
    }
}

/// A counted attempt whose password may now be checked. Until [`succeeded`] it counts as a
/// failure.
#[derive(Debug, Clone)]
pub struct Reserved {
    pub username: String,
    pub client: String,
    /// The account the username names, if any.
    pub user: Option<UserId>,
    /// What was counted before this attempt.
    pub before: Recent,
}

const COUNTS: &str = "SELECT \
    (SELECT COUNT(*) FROM login_failures WHERE username = $1 AND client = $2 AND at > $3), \
    (SELECT COUNT(*) FROM login_failures WHERE username = $1 AND at > $3), \
    (SELECT COUNT(*) FROM login_failures WHERE client = $2 AND at > $3), \
    (SELECT COUNT(*) FROM login_addresses k JOIN users u ON u.id = k.user_id \
        WHERE u.username = $1 AND k.client = $2 AND k.last_at > $4), \
    (SELECT id FROM users WHERE username = $1)";
const LOCK_ACCOUNT: &str = "SELECT pg_advisory_xact_lock(1, hashtext($1))";
const LOCK_CLIENT: &str = "SELECT pg_advisory_xact_lock(2, hashtext($1))";
const RECORD: &str = "INSERT INTO login_failures (username, client, at) VALUES ($1, $2, $3)";

/// Counts an attempt to sign in as `username` from `client` at `now`, unless a budget is spent:
/// `None` then, and the password must not be checked.
pub async fn reserve(
    db: &Db,
    username: &str,
    client: &str,
    now: DateTime<Utc>,
) -> Result<Option<Reserved>> {
    let (username, client) = (username.to_string(), client.to_string());
    match db {
        Db::Sqlite(pool) => {
            sqlite_writer::run(pool, move |conn| {
                run_ready(reserve_body(&mut SqliteTx(conn), username, client, now))
            })
            .await
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let reserved = reserve_body(&mut PgTx(&mut tx), username, client, now).await?;
            tx.commit().await?;
            Ok(reserved)
        }
    }
}

async fn reserve_body(
    tx: &mut impl Tx,
    username: String,
    client: String,
    now: DateTime<Utc>,
) -> Result<Option<Reserved>> {
    if tx.backend() == Backend::Postgres {
        // Held to the end of the transaction: attempts on one account, and from one address,
        // are counted one at a time (always username first, so two never wait on each other).
        for (lock, key) in [(LOCK_ACCOUNT, &username), (LOCK_CLIENT, &client)] {
            tx.execute(lock, &[Arg::Text(key.clone())]).await?;
        }
    }
    let row = tx
        .fetch_one(
            COUNTS,
            &[
                Arg::Text(username.clone()),
                Arg::Text(client.clone()),
                Arg::Time(now - THROTTLE_WINDOW),
                Arg::Time(now - KNOWN_ADDRESS_TTL),
            ],
        )
        .await?;
    let before = Recent {
        pair: row.i64(0)?,
        account: row.i64(1)?,
        client: row.i64(2)?,
        known: row.i64(3)? > 0,
    };
    if !before.allows() {
        return Ok(None);
    }
    tx.execute(
        RECORD,
        &[
            Arg::Text(username.clone()),
            Arg::Text(client.clone()),
            Arg::Time(now),
        ],
    )
    .await?;
    Ok(Some(Reserved {
        username,
        client,
        user: row.opt_i64(4)?.map(UserId),
        before,
    }))
}

/// The attempt signed `user` in: the address's failures for the account are forgiven (other
/// addresses' are not) and the address becomes known to the account.
pub async fn succeeded(
    db: &Db,
    attempt: &Reserved,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    crate::db::sql::execute(
        db,
        "DELETE FROM login_failures WHERE (username = $1 AND client = $2) OR at < $3",
        vec![
            Arg::Text(attempt.username.clone()),
            Arg::Text(attempt.client.clone()),
            Arg::Time(now - THROTTLE_WINDOW),
        ],
    )
    .await?;
    crate::db::sql::execute(
        db,
        "INSERT INTO login_addresses (user_id, client, last_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, client) DO UPDATE SET last_at = excluded.last_at",
        vec![
            Arg::I64(user.0),
            Arg::Text(attempt.client.clone()),
            Arg::Time(now),
        ],
    )
    .await?;
    Ok(())
}

/// The attempt failed (its reservation stays counted). When it spent the address's budget for
/// an existing account, or the account's budget for unknown addresses, the audit log says so,
/// where the admin pages show it.
pub async fn failed(db: &Db, attempt: &Reserved, now: DateTime<Utc>) -> Result<()> {
    let Some(user) = attempt.user else {
        return Ok(());
    };
    let scope = if attempt.before.pair + 1 == MAX_FAILURES {
        "address"
    } else if !attempt.before.known && attempt.before.account + 1 == ACCOUNT_MAX_FAILURES {
        "account"
    } else {
        return Ok(());
    };
    let entry = audit::AuditEntry {
        entity: "user",
        entity_id: user.0,
        actor: None,
        action: THROTTLED_ACTION,
        before: None,
        after: Some(json!({
            "username": attempt.username,
            "client": attempt.client,
            "scope": scope,
            "minutes": THROTTLE_WINDOW.num_minutes(),
        })),
        at: now,
    };
    crate::db::sql::execute(db, audit::INSERT, entry.args()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(pair: i64, account: i64, client: i64, known: bool) -> Recent {
        Recent {
            pair,
            account,
            client,
            known,
        }
    }

    #[test]
    fn each_address_has_its_own_budget_and_known_addresses_outlast_the_account_cap() {
        assert!(recent(4, 4, 4, false).allows());
        assert!(!recent(5, 5, 5, false).allows(), "the address is spent");
        assert!(!recent(5, 5, 5, true).allows(), "even a known one");
        assert!(
            recent(0, 45, 0, false).allows(),
            "others' failures leave it"
        );
        assert!(
            !recent(0, 50, 0, false).allows(),
            "account cap, unknown address"
        );
        assert!(
            recent(0, 500, 0, true).allows(),
            "account cap, known address"
        );
        assert!(!recent(0, 0, 20, false).allows(), "address sprays accounts");
        assert!(
            recent(0, 0, 20, true).allows(),
            "the office address of the account"
        );
    }
}
