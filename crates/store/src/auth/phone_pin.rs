//! Phone PINs (issue 27): the digits a sales rep keys on the IVR to hear their month's results.
//! Kept as an argon2 hash like passwords. A person sets or clears their own; an admin may clear
//! (reset) anyone's. Changes are audited without the PIN.

use chrono::{DateTime, Utc};
use leadline_domain::{UserId, Viewer};
use serde_json::json;

use super::users::{hash_password, verify_password};
use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, write_audit};

/// PINs are 4 to 8 digits.
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=8;

/// A PIN as keyed: digits only, 4 to 8 of them.
pub fn valid_pin(pin: &str) -> bool {
    PIN_DIGITS.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Sets (`Some`) or clears (`None`) `user`'s PIN. Only the person sets their own; an admin may
/// clear anyone's (a reset). A PIN that is not 4–8 digits is refused (`pin`, `invalid`).
pub async fn set_phone_pin(
    db: &Db,
    viewer: &Viewer,
    user: UserId,
    pin: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let own = viewer.user_id == user;
    let allowed = own || (pin.is_none() && viewer.role.is_admin());
    if !allowed {
        return Err(StoreError::Forbidden);
    }
    if let Some(pin) = pin
        && !valid_pin(pin)
    {
        return Err(StoreError::invalid("pin", "invalid"));
    }
    let hash = match pin {
        Some(pin) => {
            let pin = pin.to_owned();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&pin))
                    .await
                    .map_err(|e| StoreError::Internal(e.to_string()))?,
            )
        }
        None => None,
    };
    let action = if hash.is_some() { "set" } else { "cleared" };
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query("UPDATE users SET phone_pin_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "user",
                entity_id: user.0,
                actor: Some(viewer.user_id),
                action: "phone_pin",
                before: None,
                after: Some(json!({ "phone_pin": action })),
                at
            }
        )?;
        tx.commit().await?;
    });
    Ok(())
}

/// Whether `user` has a PIN set.
pub async fn has_phone_pin(db: &Db, user: UserId) -> Result<bool> {
    let hash: Option<Option<String>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT phone_pin_hash FROM users WHERE id = $1"
    )
    .bind(user)
    .fetch_optional(pool)
    .await?);
    Ok(hash.flatten().is_some())
}

/// The active person whose PIN this is: every set PIN is checked (hashes are salted), and a PIN
/// two people happen to share identifies no one.
pub async fn find_by_pin(db: &Db, pin: &str) -> Result<Option<UserId>> {
    if !valid_pin(pin) {
        return Ok(None);
    }
    let rows: Vec<(UserId, String)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT id, phone_pin_hash FROM users WHERE active AND phone_pin_hash IS NOT NULL ORDER BY id"
    )
    .fetch_all(pool)
    .await?
    });
    let pin = pin.to_owned();
    let matches: Vec<UserId> = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .filter(|(_, hash)| verify_password(hash, &pin))
            .map(|(id, _)| id)
            .collect()
    })
    .await
    .map_err(|e| StoreError::Internal(e.to_string()))?;
    match matches[..] {
        [one] => Ok(Some(one)),
        [] => Ok(None),
        _ => {
            tracing::warn!(
                people = matches.len(),
                "a phone PIN matches more than one person"
            );
            Ok(None)
        }
    }
}

/// The demo's PINs, written without an audit entry (the demo seeds an empty database).
pub(crate) async fn seed_pin(db: &Db, user: UserId, pin: &str) -> Result<()> {
    let hash = hash_password(pin);
    db_run!(db, |pool| sqlx::query(
        "UPDATE users SET phone_pin_hash = $1 WHERE id = $2"
    )
    .bind(&hash)
    .bind(user)
    .execute(pool)
    .await
    .map(|_| ())?);
    Ok(())
}
