//! Who is on the phone (issue 27): the lead or customer holding a caller's number, as the seat's
//! person may see it. The visibility rule holds: a record they may not see is not shown, only
//! whose it is (so that the call can be passed to its owner); a number nobody holds is unknown.

use leadline_domain::{CustomerId, LeadId, PhoneNumber, Viewer};
use serde::Serialize;

use crate::{Db, Result, StoreError, customers, db_run, leads};

/// A lead or customer the number belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// `lead` or `customer`.
    pub kind: &'static str,
    /// `None` when the viewer may not see it.
    pub id: Option<i64>,
    pub name: Option<String>,
    pub owner_name: Option<String>,
    /// Whether the viewer may open it.
    pub visible: bool,
}

/// What the pop-up shows about a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerMatch {
    pub number: String,
    /// Nobody holds the number (or it is not a phone number).
    pub unknown: bool,
    pub lead: Option<Holder>,
    pub customer: Option<Holder>,
}

/// Matches `number` (as the phone network gave it) for `viewer`.
pub async fn match_caller(db: &Db, viewer: &Viewer, number: &str) -> Result<CallerMatch> {
    let mut found = CallerMatch {
        number: number.to_owned(),
        unknown: true,
        lead: None,
        customer: None,
    };
    let Ok(phone) = PhoneNumber::parse(number) else {
        return Ok(found);
    };
    let e164 = phone.e164();
    if let Some(lead) = leads::find_by_phone(db, e164).await? {
        found.lead = Some(match leads::get(db, viewer, lead).await {
            Ok(l) if l.deleted_at.is_none() => Holder {
                kind: "lead",
                id: Some(lead.0),
                name: Some(l.name),
                owner_name: l.owner_name,
                visible: true,
            },
            Ok(_) | Err(StoreError::NotFound) => hidden(db, "lead", lead.0).await?,
            Err(e) => return Err(e),
        });
    }
    let customer: Option<i64> = db_run!(db, |pool| {
        sqlx::query_scalar(
        "SELECT p.customer_id FROM customer_contact_phones p JOIN customers c ON c.id = p.customer_id \
         WHERE p.e164 = $1 AND c.deleted_at IS NULL ORDER BY p.id LIMIT 1"
    )
    .bind(e164)
    .fetch_optional(pool)
    .await?
    });
    if let Some(customer) = customer {
        found.customer = Some(
            match customers::get(db, viewer, CustomerId(customer)).await {
                Ok(c) => Holder {
                    kind: "customer",
                    id: Some(customer),
                    name: Some(c.name),
                    owner_name: c.owner.map(|o| o.name),
                    visible: true,
                },
                Err(StoreError::NotFound) => hidden(db, "customer", customer).await?,
                Err(e) => return Err(e),
            },
        );
    }
    found.unknown = found.lead.is_none() && found.customer.is_none();
    Ok(found)
}

/// A record the viewer may not see: only its owner's name.
async fn hidden(db: &Db, kind: &'static str, id: i64) -> Result<Holder> {
    let sql = match kind {
        "lead" => {
            "SELECT u.display_name FROM leads r JOIN users u ON u.id = r.owner_id WHERE r.id = $1"
        }
        _ => {
            "SELECT u.display_name FROM customers r JOIN users u ON u.id = r.owner_id WHERE r.id = $1"
        }
    };
    let owner: Option<String> = db_run!(db, |pool| sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    Ok(Holder {
        kind,
        id: None,
        name: None,
        owner_name: owner,
        visible: false,
    })
}

/// The lead a number belongs to, if any (for storing inbound calls with their lead).
pub async fn lead_of_number(db: &Db, number: &str) -> Result<Option<LeadId>> {
    match PhoneNumber::parse(number) {
        Ok(phone) => leads::find_by_phone(db, phone.e164()).await,
        Err(_) => Ok(None),
    }
}
