//! An import batch on SQLite: look-ups and rows written through the database's one writer with
//! cached prepared statements, a row at a time (a function call per row instead of thousands of
//! bound parameters).

use std::collections::HashMap;

use leadline_domain::contact_match::CompanyContacts;
use leadline_domain::import_plan::{
    Candidate, FillRow, Found, Pending, Plan, Refused, Stored, assign_ids, collision_key,
    fill_targets, fill_view, keys, plan,
};
use leadline_domain::lead::normalise_company;
use leadline_domain::{LeadId, LeadScope, TeamId, UserId};
use serde_json::{Value, json};

use super::batches::{
    CONTACTS_SQLITE, EMAILS_SQLITE, FILL_LEAD, JobStep, MARK_DNC, PROGRESS, first_event,
};
use crate::Result;
use crate::db::sqlite_writer::{Connection, time_text};
use leadline_domain::import_plan::{BatchCounts, Matched, OnDuplicate};

/// The SQLite page cache a batch works with (negative: KiB). 1M-row CSV, same machine back to
/// back: writer's own 16 MB 48.0 s (peak RSS 208 MB), 32 MB 44.5 s (236 MB), 64 MB 42.4 s
/// (273 MB, too near the 300 MB goal).
pub(super) const BATCH_CACHE_KIB: i64 = -32_768;

/// The stored lead with a normalised company (SQLite). Named index: where most leads have no
/// company (phone-only lists), the statistics say an equal company matches nearly every lead,
/// and SQLite would rather walk the whole table in id order than sort one match (a 200,000-lead
/// table turned a batch of 5,000 look-ups into minutes).
const BY_COMPANY_SQLITE: &str = "SELECT l.id, l.owner_id, o.team_id FROM leads l INDEXED BY leads_company_norm \
    LEFT JOIN users o ON o.id = l.owner_id \
    WHERE l.deleted_at IS NULL AND l.company_norm = ?1 ORDER BY l.id LIMIT 1";

/// (key, lead, owner, owner's team) for each key that `stmt` (binding the key, selecting lead,
/// owner and team) finds.
fn find_each(
    stmt: &mut rusqlite::CachedStatement<'_>,
    keys: &[&str],
    found: &mut Stored,
) -> rusqlite::Result<()> {
    for key in keys {
        let mut rows = stmt.query([key])?;
        while let Some(r) = rows.next()? {
            found.push((
                key.to_string(),
                LeadId(r.get(0)?),
                r.get::<_, Option<i64>>(1)?.map(UserId),
                r.get::<_, Option<i64>>(2)?.map(TeamId),
            ));
        }
    }
    Ok(())
}

pub(super) fn sqlite_batch(
    conn: &Connection,
    job: &JobStep,
    policy: OnDuplicate,
    contacts: CompanyContacts,
    scope: LeadScope<'_>,
    candidates: Vec<Candidate>,
    invalid: Vec<Refused>,
) -> Result<BatchCounts> {
    let mut found = Found::default();
    {
        let keys = keys(&candidates);
        let mut by_phone = conn.prepare_cached(
            "SELECT l.id, l.owner_id, o.team_id FROM lead_phones p JOIN leads l ON l.id = p.lead_id \
             LEFT JOIN users o ON o.id = l.owner_id WHERE p.collision_with IS NULL AND p.e164 = ?1",
        )?;
        find_each(&mut by_phone, &keys.phones, &mut found.phones)?;
        let mut by_company = conn.prepare_cached(BY_COMPANY_SQLITE)?;
        find_each(&mut by_company, &keys.companies, &mut found.companies)?;
        let mut by_key = conn.prepare_cached(CONTACTS_SQLITE)?;
        find_each(&mut by_key, &keys.contacts, &mut found.contacts)?;
        if !keys.emails.is_empty() {
            let mut by_email = conn.prepare_cached(EMAILS_SQLITE)?;
            find_each(&mut by_email, &keys.emails, &mut found.emails)?;
        }
    }
    let Plan {
        mut counts,
        mut new_leads,
        fills,
        invalid,
    } = plan(
        candidates,
        invalid,
        found,
        &Pending::default(),
        policy,
        contacts,
        scope,
    );
    let at = time_text(job.at);
    let actor = job.actor.0;
    if !new_leads.is_empty() {
        let max: i64 =
            conn.query_row("SELECT COALESCE(MAX(id), 0) FROM leads", [], |r| r.get(0))?;
        assign_ids(&mut new_leads, max + 1..);
        let mut stmt = conn.prepare_cached(
            "INSERT INTO leads (id, name, company, company_norm, title, city, region, source, status, intent, \
             owner_id, created_by, custom, version, created_at, updated_at, import_id, company_key, email, referred_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?14, ?15, ?16, ?17, ?18)",
        )?;
        for l in &new_leads {
            let f = &l.fields;
            stmt.execute(rusqlite::params![
                l.id.0,
                f.name,
                f.company,
                l.prepared.company_norm,
                f.title,
                f.city,
                f.region,
                f.source,
                f.status.code(),
                f.intent.map(|i| i.code()),
                l.owner.map(|o| o.0),
                actor,
                l.prepared.custom,
                at,
                job.job_id,
                l.stored_key(),
                f.email,
                l.referral.map(|r| r.by.0),
            ])?;
        }
        let mut stmt = conn.prepare_cached(
            "INSERT INTO lead_phones (lead_id, e164, raw, position, collision_with) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for l in &new_leads {
            for (i, p) in l.fields.phones.iter().enumerate() {
                let collision = l
                    .collides
                    .iter()
                    .find(|c| c.0 == Matched::Phone(i))
                    .map(|c| c.1.0);
                stmt.execute(rusqlite::params![
                    l.id.0,
                    p.e164(),
                    p.raw(),
                    i as i64,
                    collision
                ])?;
            }
        }
        let ids = new_leads.iter().map(|l| l.id.0);
        if let (Some(first), Some(last)) = (ids.clone().min(), ids.max()) {
            conn.prepare_cached(MARK_DNC)?
                .execute(rusqlite::params![first, last])?;
        }
        let mut stmt = conn.prepare_cached(
            "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, match_kind, existing_owner_id, \
             new_owner_id, recorded_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for l in new_leads.iter().filter(|l| !l.collides.is_empty()) {
            for (matched, other, other_owner) in &l.collides {
                stmt.execute(rusqlite::params![
                    l.id.0,
                    other.0,
                    collision_key(l, *matched),
                    matched.kind().code(),
                    other_owner.map(|o| o.0),
                    l.owner.map(|o| o.0),
                    actor,
                    at,
                ])?;
            }
        }
        let mut firsts = new_leads
            .iter()
            .filter_map(|l| first_event(l, job))
            .peekable();
        if firsts.peek().is_some() {
            let mut stmt = conn.prepare_cached(crate::ownership::events::INSERT)?;
            for event in firsts {
                let values: Vec<_> = event.iter().map(crate::db::sqlite_writer::value).collect();
                stmt.execute(rusqlite::params_from_iter(values))?;
            }
        }
        let mut stmt =
            conn.prepare_cached("INSERT INTO lead_tags (lead_id, tag) VALUES (?1, ?2)")?;
        for l in &new_leads {
            for t in &l.fields.tags {
                stmt.execute(rusqlite::params![l.id.0, t])?;
            }
        }
        // Last: FTS5 keeps these in memory until the transaction (or a statement journal) asks.
        let mut stmt =
            conn.prepare_cached("INSERT INTO lead_search (rowid, tokens) VALUES (?1, ?2)")?;
        for l in &new_leads {
            stmt.execute(rusqlite::params![l.id.0, l.prepared.tokens])?;
        }
    }
    if !fills.is_empty() {
        let mut current = HashMap::new();
        let mut stmt = conn.prepare_cached(
            "SELECT company, title, city, region, source, custom FROM leads WHERE id = ?1",
        )?;
        for (id, _) in &fills {
            if current.contains_key(id) {
                continue;
            }
            let mut rows = stmt.query([id.0])?;
            if let Some(r) = rows.next()? {
                let custom: String = r.get(5)?;
                current.insert(
                    *id,
                    FillRow {
                        company: r.get(0)?,
                        title: r.get(1)?,
                        city: r.get(2)?,
                        region: r.get(3)?,
                        source: r.get(4)?,
                        // Not an empty map, which the fill would save over the stored values.
                        custom: crate::leads::stored_custom(*id, &custom)?,
                    },
                );
            }
        }
        let targets = fill_targets(&fills, &current);
        let mut update = conn.prepare_cached(FILL_LEAD)?;
        let mut audit = conn.prepare_cached(crate::audit::INSERT)?;
        for (id, before, after) in &targets {
            let changed = update.execute(rusqlite::params![
                after.company,
                after.company.as_deref().map(normalise_company),
                after.title,
                after.city,
                after.region,
                after.source,
                Value::Object(after.custom.clone()).to_string(),
                at,
                id.0,
            ])?;
            if changed == 1 {
                audit.execute(rusqlite::params![
                    "lead",
                    id.0,
                    actor,
                    "update",
                    before.to_string(),
                    json!({"import": job.job_id, "filled": fill_view(after)}).to_string(),
                    at,
                ])?;
            }
        }
        counts.updated += targets.len() as i64;
        counts.skipped += (fills.len() - targets.len()) as i64;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO import_errors (import_id, row_number, cells, reason) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (n, cells, reason) in &invalid {
        stmt.execute(rusqlite::params![
            job.job_id,
            n,
            json!(cells).to_string(),
            reason
        ])?;
    }
    let (fence_job, fence_worker) = job.fence_args();
    let changed = conn.prepare_cached(PROGRESS)?.execute(rusqlite::params![
        job.rows_done,
        counts.imported,
        counts.updated,
        counts.skipped,
        counts.collisions,
        counts.failed,
        counts.joined,
        counts.cases,
        counts.referred,
        at,
        job.job_id,
        fence_job,
        fence_worker,
    ])?;
    job.progressed(changed as u64)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::db::sqlite_writer;

    /// A table of phone-only leads, with fresh statistics, must still find a company by its
    /// index: the plan that walks every lead in id order makes each look-up read the table.
    #[tokio::test]
    async fn company_lookup_uses_its_index_when_most_leads_have_no_company() {
        let t = crate::db::test_db::TestDb::sqlite().await.unwrap();
        let Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        sqlite_writer::run(&pool, |conn| {
            conn.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
                 INSERT INTO leads (id, name, status, created_at, updated_at) \
                 SELECT i, 'lead ' || i, 'new', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n; \
                 ANALYZE;",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        let plan = sqlite_writer::query_plan(
            &pool,
            BY_COMPANY_SQLITE,
            vec![rusqlite::types::Value::Text("星河科技".into())],
        )
        .await
        .unwrap()
        .join("; ");
        assert!(plan.contains("USING INDEX leads_company_norm"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }

    /// The look-ups of another person's contacts (company key, e-mail) go through their
    /// partial indexes, which `INDEXED BY` insists on: a statement SQLite could not plan so
    /// would fail rather than scan.
    #[tokio::test]
    async fn contact_and_e_mail_lookups_use_their_indexes() {
        let t = crate::db::test_db::TestDb::sqlite().await.unwrap();
        let Db::Sqlite(pool) = t.db.clone() else {
            unreachable!("TestDb::sqlite is SQLite")
        };
        for (sql, index) in [
            (super::super::batches::CONTACTS_SQLITE, "leads_company_key"),
            (super::super::batches::EMAILS_SQLITE, "leads_email"),
        ] {
            let plan = sqlite_writer::query_plan(
                &pool,
                sql,
                vec![rusqlite::types::Value::Text("星河科技".into())],
            )
            .await
            .unwrap()
            .join("; ");
            assert!(plan.contains(&format!("USING INDEX {index}")), "{plan}");
        }
    }
}
