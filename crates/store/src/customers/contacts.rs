//! A customer's contacts (several, each with phones and an e-mail): read with the card, added,
//! changed and removed by whoever may edit the customer, each change audited.

use chrono::{DateTime, Utc};
use leadline_domain::customer::{ContactDraft, ContactFields};
use leadline_domain::{ContactId, CustomerId, LeadId, Viewer};
use serde_json::json;

use super::access::may_edit;
use super::{Contact, ContactPhone};
use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

/// The live contacts of `customer`, primary first, with their phones.
pub(crate) async fn list(db: &Db, customer: CustomerId) -> Result<Vec<Contact>> {
    type ContactRow = (
        i64,
        String,
        Option<String>,
        Option<String>,
        bool,
        Option<i64>,
    );
    let rows: Vec<ContactRow> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, title, email, is_primary, lead_id FROM customer_contacts \
             WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY is_primary DESC, position, id",
        )
        .bind(customer.0)
        .fetch_all(pool)
        .await?
    });
    let phones: Vec<(i64, String, String)> = db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT contact_id, e164, raw FROM customer_contact_phones WHERE customer_id = $1 \
             ORDER BY contact_id, position, id",
        )
        .bind(customer.0)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, name, title, email, is_primary, lead_id)| Contact {
            id: ContactId(id),
            name,
            title,
            email,
            is_primary,
            phones: phones
                .iter()
                .filter(|p| p.0 == id)
                .map(|p| ContactPhone {
                    e164: p.1.clone(),
                    raw: p.2.clone(),
                })
                .collect(),
            lead_id: lead_id.map(LeadId),
        })
        .collect())
}

fn check(draft: &ContactDraft) -> Result<ContactFields> {
    ContactFields::parse(draft).map_err(StoreError::Invalid)
}

async fn write_phones(
    tx: &mut impl Tx,
    customer: CustomerId,
    contact: ContactId,
    fields: &ContactFields,
) -> Result<()> {
    tx.execute(
        "DELETE FROM customer_contact_phones WHERE contact_id = $1",
        &[Arg::I64(contact.0)],
    )
    .await?;
    for (i, p) in fields.phones.iter().enumerate() {
        tx.execute(
            "INSERT INTO customer_contact_phones (contact_id, customer_id, e164, raw, position) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                Arg::I64(contact.0),
                Arg::I64(customer.0),
                Arg::Text(p.e164().to_string()),
                Arg::Text(p.raw().to_string()),
                Arg::I64(i as i64),
            ],
        )
        .await?;
    }
    if fields.is_primary {
        tx.execute(
            "UPDATE customer_contacts SET is_primary = FALSE WHERE customer_id = $1 AND id <> $2",
            &[Arg::I64(customer.0), Arg::I64(contact.0)],
        )
        .await?;
    }
    Ok(())
}

fn contact_json(f: &ContactFields) -> serde_json::Value {
    json!({
        "name": f.name, "title": f.title, "email": f.email, "is_primary": f.is_primary,
        "phones": f.phones.iter().map(|p| p.e164()).collect::<Vec<_>>(),
    })
}

async fn touch_and_audit(
    tx: &mut impl Tx,
    viewer: &Viewer,
    customer: CustomerId,
    action: &'static str,
    after: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE customers SET updated_at = $2, version = version + 1 WHERE id = $1",
        &[Arg::I64(customer.0), Arg::Time(now)],
    )
    .await?;
    let entry = AuditEntry {
        entity: "customer",
        entity_id: customer.0,
        actor: Some(viewer.user_id),
        action,
        before: None,
        after: Some(after),
        at: now,
    };
    tx.execute(audit::INSERT, &entry.args()).await?;
    Ok(())
}

/// Adds a contact to `customer`. 404 hidden, 403 read-only, 422 a bad field.
pub async fn add_contact(
    db: &Db,
    viewer: &Viewer,
    customer: CustomerId,
    draft: &ContactDraft,
    now: DateTime<Utc>,
) -> Result<ContactId> {
    let fields = check(draft)?;
    let viewer = viewer.clone();
    in_tx!(db, |tx| async move {
        may_edit(tx, &viewer, customer).await?;
        let id = ContactId(
            tx.fetch_one(
                "INSERT INTO customer_contacts (customer_id, name, title, email, is_primary, position, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, \
                 (SELECT COUNT(*) FROM customer_contacts WHERE customer_id = $1), $6, $6) RETURNING id",
                &[
                    Arg::I64(customer.0),
                    Arg::Text(fields.name.clone()),
                    Arg::OptText(fields.title.clone()),
                    Arg::OptText(fields.email.clone()),
                    Arg::Bool(fields.is_primary),
                    Arg::Time(now),
                ],
            )
            .await?
            .i64(0)?,
        );
        write_phones(tx, customer, id, &fields).await?;
        let mut after = contact_json(&fields);
        after["contact_id"] = json!(id.0);
        touch_and_audit(tx, &viewer, customer, "contact_add", after, now).await?;
        Ok(id)
    })
}

/// Replaces a contact's fields and phones. 404 for a contact not of this customer.
pub async fn update_contact(
    db: &Db,
    viewer: &Viewer,
    customer: CustomerId,
    contact: ContactId,
    draft: &ContactDraft,
    now: DateTime<Utc>,
) -> Result<()> {
    let fields = check(draft)?;
    let viewer = viewer.clone();
    in_tx!(db, |tx| async move {
        may_edit(tx, &viewer, customer).await?;
        let changed = tx
            .execute(
                "UPDATE customer_contacts SET name = $3, title = $4, email = $5, is_primary = $6, \
                 updated_at = $7 WHERE id = $1 AND customer_id = $2 AND deleted_at IS NULL",
                &[
                    Arg::I64(contact.0),
                    Arg::I64(customer.0),
                    Arg::Text(fields.name.clone()),
                    Arg::OptText(fields.title.clone()),
                    Arg::OptText(fields.email.clone()),
                    Arg::Bool(fields.is_primary),
                    Arg::Time(now),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        write_phones(tx, customer, contact, &fields).await?;
        let mut after = contact_json(&fields);
        after["contact_id"] = json!(contact.0);
        touch_and_audit(tx, &viewer, customer, "contact_update", after, now).await
    })
}

/// Removes a contact (kept, marked deleted; its phones no longer match). 404 for a contact not
/// of this customer.
pub async fn delete_contact(
    db: &Db,
    viewer: &Viewer,
    customer: CustomerId,
    contact: ContactId,
    now: DateTime<Utc>,
) -> Result<()> {
    let viewer = viewer.clone();
    in_tx!(db, |tx| async move {
        may_edit(tx, &viewer, customer).await?;
        let changed = tx
            .execute(
                "UPDATE customer_contacts SET deleted_at = $3, updated_at = $3 \
                 WHERE id = $1 AND customer_id = $2 AND deleted_at IS NULL",
                &[Arg::I64(contact.0), Arg::I64(customer.0), Arg::Time(now)],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "DELETE FROM customer_contact_phones WHERE contact_id = $1",
            &[Arg::I64(contact.0)],
        )
        .await?;
        touch_and_audit(
            tx,
            &viewer,
            customer,
            "contact_delete",
            json!({"contact_id": contact.0}),
            now,
        )
        .await
    })
}
