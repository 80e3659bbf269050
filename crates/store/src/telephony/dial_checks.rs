//! Before a click-to-call is placed (issue 27): the lead or customer must be one the caller may
//! see (the one visibility rule), have a number, and that number may be dialled now — not on the
//! do-not-call list, inside the caller's calling hours in the lead's zone, and the lead not past
//! its attempt limit. The same rules the next call and the call record apply (`workday::config`),
//! read from the same snapshot; a refusal is never dialled.

use chrono::{DateTime, Utc};
use leadline_domain::calling_hours;
use leadline_domain::{CustomerId, LeadId, LeadStatus, TeamId, Viewer};
use serde::Serialize;

use crate::workday::config;
use crate::{Db, Result, StoreError, customers, db_run, leads};

/// Whom a click-to-call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialTarget {
    Lead(LeadId),
    Customer(CustomerId),
}

/// A target that may be dialled now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dialable {
    pub lead_id: Option<LeadId>,
    pub customer_id: Option<CustomerId>,
    pub name: String,
    /// The number, E.164.
    pub e164: String,
    /// The digits sent to the phone network (see [`dial_string`]).
    pub dial: String,
}

/// The refusals, as `StoreError::Conflict` codes.
pub const NO_PHONE: &str = "no_phone";
pub const DO_NOT_CALL: &str = "do_not_call";
pub const OUTSIDE_CALLING_HOURS: &str = "outside_calling_hours";
pub const ATTEMPT_LIMIT: &str = "attempt_limit";

/// What a phone on the mainland network dials for an E.164 number: a mobile as its 11 digits, a
/// landline with its trunk 0 (`010…`), anything abroad with the international prefix `00`.
pub fn dial_string(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    match digits.strip_prefix("86") {
        Some(national) if national.len() == 11 && national.starts_with('1') => national.to_owned(),
        Some(national) => format!("0{national}"),
        None => format!("00{digits}"),
    }
}

#[derive(sqlx::FromRow)]
struct LeadFacts {
    attempts: i64,
    timezone: Option<String>,
    status: String,
    customer_id: Option<i64>,
}

/// Checks `target` for `viewer` at `now`: `NotFound` for one they may not see, `Conflict` with
/// one of the codes above for one that may not be dialled.
pub async fn check_dial(
    db: &Db,
    viewer: &Viewer,
    target: DialTarget,
    now: DateTime<Utc>,
) -> Result<Dialable> {
    let (mut dialable, lead_for_limits) = match target {
        DialTarget::Lead(id) => {
            let lead = leads::get(db, viewer, id).await?;
            if lead.deleted_at.is_some() {
                return Err(StoreError::NotFound);
            }
            let e164 = lead
                .phones
                .first()
                .map(|p| p.e164.clone())
                .ok_or(StoreError::Conflict(NO_PHONE))?;
            let dialable = Dialable {
                lead_id: Some(id),
                customer_id: None,
                name: lead.name,
                dial: dial_string(&e164),
                e164,
            };
            (dialable, Some(id))
        }
        DialTarget::Customer(id) => {
            let customer = customers::get(db, viewer, id).await?;
            let mut contacts = customer.contacts.clone();
            // The primary contact first, then the others in their order.
            contacts.sort_by_key(|c| !c.is_primary);
            let (e164, lead) = contacts
                .iter()
                .find_map(|c| c.phones.first().map(|p| (p.e164.clone(), c.lead_id)))
                .ok_or(StoreError::Conflict(NO_PHONE))?;
            let dialable = Dialable {
                lead_id: None,
                customer_id: Some(id),
                name: customer.name,
                dial: dial_string(&e164),
                e164,
            };
            // The contact's lead (or the lead the customer came from) keeps the attempts.
            (dialable, lead.or(customer.lead_id))
        }
    };
    if config::is_dnc(db, &dialable.e164).await? {
        return Err(StoreError::Conflict(DO_NOT_CALL));
    }
    let facts: Option<LeadFacts> = match lead_for_limits {
        Some(lead) => db_run!(db, |pool| sqlx::query_as(
            "SELECT attempts, timezone, status, customer_id FROM leads WHERE id = $1"
        )
        .bind(lead)
        .fetch_optional(pool)
        .await?),
        None => None,
    };
    if let (Some(f), DialTarget::Lead(_)) = (&facts, target) {
        // A lead converted into (or linked to) a customer: its calls are the customer's too.
        dialable.customer_id = f.customer_id.map(CustomerId);
    }
    if facts
        .as_ref()
        .is_some_and(|f| f.status == LeadStatus::DoNotCall.code())
    {
        return Err(StoreError::Conflict(DO_NOT_CALL));
    }
    let snap = config::snapshot(db).await?;
    let team: Option<Option<i64>> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT team_id FROM users WHERE id = $1"
    )
    .bind(viewer.user_id)
    .fetch_optional(pool)
    .await?);
    let hours = snap.calling_hours(team.flatten().map(TeamId));
    let zone = calling_hours::zone(facts.as_ref().and_then(|f| f.timezone.as_deref()));
    if !hours.is_callable(now, zone) {
        return Err(StoreError::Conflict(OUTSIDE_CALLING_HOURS));
    }
    if facts.is_some_and(|f| f.attempts >= snap.max_attempts) {
        return Err(StoreError::Conflict(ATTEMPT_LIMIT));
    }
    Ok(dialable)
}

#[cfg(test)]
mod tests {
    use super::dial_string;

    #[test]
    fn mobiles_landlines_and_numbers_abroad_are_dialled_as_the_network_takes_them() {
        assert_eq!(dial_string("+8613900139000"), "13900139000");
        assert_eq!(dial_string("+861065529988"), "01065529988");
        assert_eq!(dial_string("+14155550100"), "0014155550100");
    }
}
