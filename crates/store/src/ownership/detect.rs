//! Detecting a collision (撞单) by phone, company name and e-mail on entry, import, claim,
//! hand-over and before a call: [`find`] lists the owned records (by anyone) that share a
//! normalised phone, the company key (`domain::company_name::company_key`, kept in
//! `leads.company_key`) or the e-mail of a record; the setting `company_contacts` says what a
//! new contact of another person's company does ([`company_contacts`],
//! `domain::contact_match`). The import looks the same keys up set-based per batch (its own
//! statements in `imports`); entry by hand uses [`find`] through [`on_entry`].

use leadline_domain::company_name::company_key;
use leadline_domain::contact_match::{
    CompanyContacts, MatchKind, Outcome, company_outcome, email_outcome,
};
use leadline_domain::{LeadFields, LeadId, UserId};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::{Db, Result, StoreError, db_run, now, write_audit};

/// The settings key of [`CompanyContacts`].
pub const COMPANY_CONTACTS_KEY: &str = "company_contacts";

/// The reason of the ownership event of a record that joined its company's owner.
pub const JOINED_REASON: &str = "company";

/// Most records [`find`] returns per key (a company may have hundreds of contacts).
const PER_KEY: i64 = 50;

/// The owned records holding the phone `$1` (E.164), other than `$2`, at most `$3`. A number is
/// indexed once (migration 0013): `lead_phones_unique` holds it where it is no recorded collision,
/// `lead_phones_collided` where it is; both are asked, since no index holds every number (asked as
/// `e164 = $1` alone, both databases read the whole of `lead_phones`: 23 ms a look-up at 200,000
/// leads on PostgreSQL, on every valid follow-up of a pool lead).
///
/// "Owned" reads `COALESCE(owner_id, 0) <> 0` here and in [`BY_COMPANY`] and [`BY_EMAIL`] (user
/// ids start at 1) so that no index answers it: written `owner_id IS NOT NULL`, PostgreSQL, whose
/// statistics still said nearly no lead was owned after a large import into the pool, walked every
/// owned lead through `leads_owner_status` instead of the one or two holding the key (17–28 ms a
/// look-up once a few thousand pool leads were claimed, until the next ANALYZE).
pub(crate) const BY_PHONE: &str = "SELECT l.id, l.owner_id FROM leads l WHERE l.id IN \
    (SELECT lead_id FROM lead_phones WHERE e164 = $1 AND collision_with IS NULL \
     UNION ALL SELECT lead_id FROM lead_phones WHERE e164 = $1 AND collision_with IS NOT NULL) \
    AND COALESCE(l.owner_id, 0) <> 0 AND l.deleted_at IS NULL AND l.id <> $2 ORDER BY l.id LIMIT $3";
/// The owned records of the company key `$1`, as [`BY_PHONE`].
const BY_COMPANY: &str = "SELECT id, owner_id FROM leads WHERE company_key = $1 AND COALESCE(owner_id, 0) <> 0 \
    AND deleted_at IS NULL AND id <> $2 ORDER BY id LIMIT $3";
/// The owned records of the e-mail `$1`, as [`BY_PHONE`].
const BY_EMAIL: &str = "SELECT id, owner_id FROM leads WHERE email = $1 AND COALESCE(owner_id, 0) <> 0 \
    AND deleted_at IS NULL AND id <> $2 ORDER BY id LIMIT $3";

/// An owned record that shares a key with the record being checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub lead: LeadId,
    pub owner: UserId,
    pub kind: MatchKind,
    /// The phone (E.164), company key or e-mail they share.
    pub value: String,
}

/// The owned records (not deleted, other than `except`) that share one of `phones` (E.164), the
/// `company_key` or the `email` (as `domain::lead::parse_email` stores it); phone matches
/// first, then company, then e-mail, each oldest first, at most [`PER_KEY`] per key.
///
/// For the claim and hand-over paths: a record is about to change hands; the matches other than
/// the receiving person's own are what the 撞单 screen shows and a case is opened against.
/// Reads outside any transaction (a look-up, not a lock): a path that must be exact under
/// concurrency re-checks inside its transaction or relies on the unique phone index.
pub async fn find(
    db: &Db,
    phones: &[&str],
    company_key: Option<&str>,
    email: Option<&str>,
    except: Option<LeadId>,
) -> Result<Vec<Match>> {
    let except = except.map_or(0, |l| l.0);
    let mut keys: Vec<(&str, MatchKind, &str)> = phones
        .iter()
        .map(|p| (BY_PHONE, MatchKind::Phone, *p))
        .collect();
    if let Some(k) = company_key.filter(|k| !k.is_empty()) {
        keys.push((BY_COMPANY, MatchKind::Company, k));
    }
    if let Some(e) = email.filter(|e| !e.is_empty()) {
        keys.push((BY_EMAIL, MatchKind::Email, e));
    }
    let mut out: Vec<Match> = Vec::new();
    for (sql, kind, value) in keys {
        let rows: Vec<(LeadId, UserId)> = db_run!(db, |pool| {
            sqlx::query_as(sql)
                .bind(value)
                .bind(except)
                .bind(PER_KEY)
                .fetch_all(pool)
                .await?
        });
        out.extend(rows.into_iter().map(|(lead, owner)| Match {
            lead,
            owner,
            kind,
            value: value.to_string(),
        }));
    }
    Ok(out)
}

/// What a record entered by hand does about other people's records of its company or e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryOutcome {
    /// Its owner: the one it was given, or the company's owner it joins.
    pub owner: Option<UserId>,
    /// It joined the owner of its company.
    pub joined: bool,
    /// The case to open: (what matched, the value, the other record, its owner).
    pub case: Option<(MatchKind, String, LeadId, UserId)>,
}

/// Decides, for a new record with `fields` entered by hand, its owner and any case (see
/// `domain::contact_match`): `owner` is the owner it would have, `yields` whether that is only
/// the default (the creator) and so gives way to the company's owner under `join`.
pub async fn on_entry(
    db: &Db,
    fields: &LeadFields,
    owner: Option<UserId>,
    yields: bool,
) -> Result<EntryOutcome> {
    let key = fields
        .company
        .as_deref()
        .map(company_key)
        .filter(|k| !k.is_empty());
    let mut out = EntryOutcome {
        owner,
        joined: false,
        case: None,
    };
    if key.is_none() && fields.email.is_none() {
        return Ok(out);
    }
    let found = find(db, &[], key.as_deref(), fields.email.as_deref(), None).await?;
    let of = |kind: MatchKind| -> Vec<(LeadId, UserId)> {
        found
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| (m.lead, m.owner))
            .collect()
    };
    let mode = company_contacts(db).await?;
    match company_outcome(mode, owner, yields, &of(MatchKind::Company)) {
        Outcome::Nothing => {}
        Outcome::Join(to) => {
            out.owner = Some(to);
            out.joined = true;
        }
        Outcome::Case(lead, other) => {
            out.case = Some((
                MatchKind::Company,
                key.clone().unwrap_or_default(),
                lead,
                other,
            ));
        }
    }
    if out.case.is_none()
        && let Outcome::Case(lead, other) = email_outcome(out.owner, &of(MatchKind::Email))
    {
        out.case = Some((
            MatchKind::Email,
            fields.email.clone().unwrap_or_default(),
            lead,
            other,
        ));
    }
    Ok(out)
}

/// The setting `company_contacts`: `join` when unset.
pub async fn company_contacts(db: &Db) -> Result<CompanyContacts> {
    let v: Option<sqlx::types::Json<serde_json::Value>> = db_run!(db, |pool| {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(COMPANY_CONTACTS_KEY)
            .fetch_optional(pool)
            .await?
    });
    match v {
        None => Ok(CompanyContacts::default()),
        Some(j) => {
            j.0.as_str()
                .and_then(CompanyContacts::parse)
                .ok_or_else(|| {
                    StoreError::corrupt("settings", 0, format!("{COMPANY_CONTACTS_KEY} {}", j.0))
                })
        }
    }
}

/// Sets `company_contacts` (the caller checked that `actor` is an admin); audited.
pub async fn set_company_contacts(db: &Db, actor: UserId, mode: CompanyContacts) -> Result<()> {
    let at = now();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(COMPANY_CONTACTS_KEY)
        .bind(sqlx::types::Json(json!(mode.code())))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "setting",
                entity_id: 0,
                actor: Some(actor),
                action: "update",
                before: None,
                after: Some(json!({ COMPANY_CONTACTS_KEY: mode.code() })),
                at
            }
        )?;
        tx.commit().await?;
    });
    Ok(())
}

/// Gives every record whose `company_key` is not yet computed (written before it was kept, or
/// by an older version) its key, in batches of 1,000. Runs at start-up after the migrations;
/// does nothing once done. Returns how many records it set.
pub async fn backfill_company_keys(db: &Db) -> Result<u64> {
    let mut total = 0;
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, String)> = db_run!(db, |pool| {
            sqlx::query_as(
                "SELECT id, company FROM leads WHERE company IS NOT NULL AND company_key IS NULL AND id > $1 \
                 ORDER BY id LIMIT 1000",
            )
            .bind(after)
            .fetch_all(pool)
            .await?
        });
        let Some(last) = rows.last() else {
            return Ok(total);
        };
        after = last.0;
        // A company with an empty key (nothing but a legal form) is stored as '' so that it
        // is not looked at again.
        let keyed: Vec<(i64, String)> = rows
            .into_iter()
            .map(|(id, c)| (id, company_key(&c)))
            .collect();
        total += keyed.len() as u64;
        db_run!(db, |pool| {
            let mut tx = pool.begin().await?;
            for (id, key) in &keyed {
                sqlx::query("UPDATE leads SET company_key = $1 WHERE id = $2")
                    .bind(key)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
    }
}

/// `company_key` of a company as stored: `None` without a company, else the key ('' for a
/// name that is nothing but a legal form, so that the backfill does not look at it again).
pub fn stored_key(company: Option<&str>) -> Option<String> {
    company.map(company_key)
}

#[cfg(test)]
mod tests;

/// 撞单 when `lead` is about to go to `claimant` (a claim, a hand-over): the first record of
/// someone other than `allowed` that shares its phone (a number of its own, not a recorded
/// collision), its company key or its e-mail. Opens a case between that record's owner and the
/// claimant, once per pair of records (not per attempt), recorded by `claimant`. The caller has
/// checked that the acting person may see `lead`, and refuses the move when a match comes back.
pub async fn collide(
    db: &Db,
    lead: LeadId,
    claimant: UserId,
    allowed: &[UserId],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Match>> {
    let Some(m) = first_match(db, lead, allowed).await? else {
        return Ok(None);
    };
    open_case(db, lead, &m, claimant, now).await?;
    Ok(Some(m))
}

/// The first record of someone other than `allowed` that shares `lead`'s phone (a number of
/// its own, not a recorded collision), company key or e-mail; nothing is written (a call looks
/// before it records, the workspace before it dials).
pub async fn first_match(db: &Db, lead: LeadId, allowed: &[UserId]) -> Result<Option<Match>> {
    let facts: Option<(Option<String>, Option<String>)> = db_run!(db, |pool| {
        sqlx::query_as("SELECT company_key, email FROM leads WHERE id = $1")
            .bind(lead)
            .fetch_optional(pool)
            .await?
    });
    let Some((company_key, email)) = facts else {
        return Ok(None);
    };
    let phones: Vec<String> = db_run!(db, |pool| {
        sqlx::query_scalar(
            "SELECT e164 FROM lead_phones WHERE lead_id = $1 AND collision_with IS NULL",
        )
        .bind(lead)
        .fetch_all(pool)
        .await?
    });
    let phones: Vec<&str> = phones.iter().map(String::as_str).collect();
    let found = find(
        db,
        &phones,
        company_key.as_deref(),
        email.as_deref(),
        Some(lead),
    )
    .await?;
    Ok(found.into_iter().find(|m| !allowed.contains(&m.owner)))
}

/// Opens the case of `m` against `lead` for `claimant` (recorded by them), unless the same pair
/// of records has one open already.
pub async fn open_case(
    db: &Db,
    lead: LeadId,
    m: &Match,
    claimant: UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use crate::db::sql::Arg;
    crate::db::sql::execute(
        db,
        "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, match_kind, existing_owner_id, \
         new_owner_id, recorded_by, created_at) SELECT $1, $2, $3, $4, $5, $6, $6, $7 \
         WHERE NOT EXISTS (SELECT 1 FROM collisions WHERE lead_id = $1 AND existing_lead_id = $2 AND status = 'open')",
        vec![
            Arg::I64(lead.0),
            Arg::I64(m.lead.0),
            Arg::Text(m.value.clone()),
            Arg::Text(m.kind.code().to_string()),
            Arg::I64(m.owner.0),
            Arg::I64(claimant.0),
            Arg::Time(now),
        ],
    )
    .await?;
    Ok(())
}
