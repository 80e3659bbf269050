//! An import on PostgreSQL: new leads and their phones by `COPY`, two batches at a time on two
//! connections (PostgreSQL works a connection's statements on one core).
//! Where its time goes (the leads' indexes, the GIN over their search lexemes above all): the
//! README's Benchmark section, from `leadline bench import --postgres`.

use leadline_domain::contact_match::CompanyContacts;
use leadline_domain::import_plan::{
    BatchCounts, BatchRow, FillRow, Found, Keys, Matched, OnDuplicate, Pending, Plan, Stored,
    assign_ids, collision_key, fill_targets, fill_view, keys, plan, split,
};
use leadline_domain::lead::normalise_company;
use leadline_domain::{LeadId, LeadScope};
use serde_json::json;
use sqlx::types::Json;

use super::batches::{Applied, FILL_LEAD, JobStep, MARK_DNC, MoreBatches, PROGRESS, first_event};
use super::phases::{self, Phase, time_async};
use crate::audit::AuditEntry;
use crate::db::sql::{Arg, Sql};
use crate::{Result, StoreError, bind_args, write_audit};

/// Rows per multi-row INSERT of the rarer PostgreSQL rows (collisions, tags, refused rows).
const ROWS_PER_STATEMENT: usize = 500;

/// The owned leads (one row per key and owner: its oldest) whose `column` is any of `$1`.
/// "Owned" as `ownership::detect::BY_PHONE` writes it, so that the key's index leads.
fn owned_by(column: &str) -> String {
    format!(
        "SELECT {column}, MIN(id), owner_id, NULL::BIGINT FROM leads WHERE {column} = ANY($1) \
         AND COALESCE(owner_id, 0) <> 0 AND deleted_at IS NULL GROUP BY {column}, owner_id"
    )
}

/// The stored leads (not deleted) holding any of these phones or normalised companies, and the
/// owned ones (one row per key and owner) with these company keys or e-mails.
async fn pg_stored(pool: &sqlx::PgPool, keys: Keys<'_>) -> Result<Found> {
    let Keys {
        phones,
        companies,
        contacts,
        emails,
    } = keys;
    let contacts: Stored = if contacts.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(sqlx::AssertSqlSafe(owned_by("company_key")))
            .bind(contacts)
            .fetch_all(pool)
            .await?
    };
    let emails: Stored = if emails.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(sqlx::AssertSqlSafe(owned_by("email")))
            .bind(emails)
            .fetch_all(pool)
            .await?
    };
    let phones: Stored = if phones.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT p.e164, l.id, l.owner_id, o.team_id FROM lead_phones p JOIN leads l ON l.id = p.lead_id \
             LEFT JOIN users o ON o.id = l.owner_id WHERE p.collision_with IS NULL AND p.e164 = ANY($1)",
        )
        .bind(phones)
        .fetch_all(pool)
        .await?
    };
    let companies: Stored = if companies.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT l.company_norm, l.id, l.owner_id, o.team_id FROM leads l LEFT JOIN users o ON o.id = l.owner_id \
             WHERE l.deleted_at IS NULL AND l.company_norm = ANY($1) ORDER BY l.id",
        )
        .bind(companies)
        .fetch_all(pool)
        .await?
    };
    Ok(Found {
        phones,
        companies,
        contacts,
        emails,
    })
}

/// `n` new lead ids. A sequence is not transactional, so they are taken outside the batch's
/// transaction; a batch that fails leaves a gap in the ids, nothing else.
async fn pg_new_ids(pool: &sqlx::PgPool, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(pool)
    .await?)
}

/// A batch being written on PostgreSQL by [`pg_pipeline`].
struct InFlight {
    task: tokio::task::JoinHandle<Result<BatchCounts>>,
    /// The phones and companies of its new leads.
    pending: Pending,
    /// Told whether it committed; taken by the batch after it.
    committed: Option<tokio::sync::oneshot::Receiver<bool>>,
}

impl InFlight {
    async fn outcome(self) -> Result<BatchCounts> {
        self.task
            .await
            .map_err(|e| StoreError::Internal(format!("import batch task: {e}")))?
    }
}

/// Most rows [`pg_pipeline`] writes before it returns, so that the import reports progress.
const PIPELINE_ROWS: usize = 60_000;

/// Writes `first` and the batches `more` has ready on PostgreSQL, two at a time on two
/// connections: PostgreSQL works a connection's statements on one core, and an import on one
/// connection left half of a two-core machine idle. A batch is planned while the batch before it
/// is still being written, knowing that one's new leads (as leads that cannot be filled), and
/// every batch before those two stored. It writes its own rows beside the batch before, then
/// waits for that one to commit before it touches what the two could share (stored leads it
/// fills, the job's progress) and commits after it: the job's `rows_done` never passes a row
/// that is not stored, and when a batch fails, the one after it rolls back. A batch that fills a
/// lead the batch before is writing, or that records collisions (which point at the other
/// lead), waits for the batch before to commit and is planned then.
#[allow(
    clippy::too_many_arguments,
    reason = "one caller; the duplicate policy and the company-contacts setting travel together only here"
)]
pub(super) async fn pg_pipeline<M: MoreBatches>(
    pool: &sqlx::PgPool,
    step: impl Fn(i64) -> JobStep,
    policy: OnDuplicate,
    contacts: CompanyContacts,
    scope: LeadScope<'_>,
    first: (Vec<BatchRow>, i64),
    more: &mut M,
    applied: &mut Applied,
) -> Result<()> {
    let mut in_flight: std::collections::VecDeque<InFlight> = Default::default();
    let mut failure = None;
    let mut next = Some(first);
    while let Some((rows, rows_done)) = next.take() {
        let (candidates, invalid) = split(rows);
        let started = async {
            // Every batch but the one just before is stored before this one is planned.
            while in_flight.len() > 1 {
                let older = in_flight.pop_front().expect("two batches in flight");
                applied.counts.add(&older.outcome().await?);
            }
            // A contact of a company an owned new lead of that batch has joins or collides
            // with it: it must be stored first.
            let must_wait = in_flight.back().is_some_and(|before| {
                candidates.iter().any(|c| before.pending.shares_company(c))
                    || match policy {
                        OnDuplicate::Skip => false,
                        OnDuplicate::Update => candidates.iter().any(|c| before.pending.holds(c)),
                        OnDuplicate::Collision => true,
                    }
            });
            if must_wait && let Some(before) = in_flight.pop_back() {
                applied.counts.add(&before.outcome().await?);
            }
            let no_pending = Pending::default();
            let pending = in_flight.back().map_or(&no_pending, |b| &b.pending);
            let found = time_async(Phase::Lookup, pg_stored(pool, keys(&candidates))).await?;
            let started = std::time::Instant::now();
            let mut plan = plan(candidates, invalid, found, pending, policy, contacts, scope);
            let ids = pg_new_ids(pool, plan.new_leads.len()).await?;
            assign_ids(&mut plan.new_leads, ids);
            phases::add(Phase::Plan, started.elapsed());
            let before = in_flight.back_mut().and_then(|b| b.committed.take());
            let (done, committed) = tokio::sync::oneshot::channel();
            let pending = Pending::of(&plan.new_leads);
            let task = tokio::spawn(pg_write(pool.clone(), step(rows_done), plan, before, done));
            in_flight.push_back(InFlight {
                task,
                pending,
                committed: Some(committed),
            });
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = started {
            failure = Some(e);
            break;
        }
        applied.rows_done = rows_done;
        if applied.rows < PIPELINE_ROWS {
            next = more.ready();
            if let Some((rows, _)) = &next {
                applied.rows += rows.len();
            }
        }
    }
    // Nothing is left writing when this returns, whatever failed.
    for batch in in_flight {
        match batch.outcome().await {
            Ok(counts) => applied.counts.add(&counts),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes one planned batch in its transaction; with `before`, waits for the batch before it
/// to commit before it fills stored leads, advances the job and commits (see [`pg_pipeline`]).
/// Tells `done` whether it committed.
async fn pg_write(
    pool: sqlx::PgPool,
    job: JobStep,
    plan: Plan,
    before: Option<tokio::sync::oneshot::Receiver<bool>>,
    done: tokio::sync::oneshot::Sender<bool>,
) -> Result<BatchCounts> {
    let result = async {
        let mut tx = pool.begin().await?;
        pg_insert(&mut tx, &job, &plan).await?;
        if let Some(before) = before
            && !time_async(Phase::WaitBefore, before).await.unwrap_or(false)
        {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Internal(
                "the import batch before this one failed".into(),
            ));
        }
        let counts = time_async(Phase::Finish, pg_finish(&mut tx, &job, plan)).await?;
        time_async(Phase::Commit, tx.commit()).await?;
        Ok(counts)
    }
    .await;
    let _ = done.send(result.is_ok());
    result
}

/// The rows that only this batch holds: its new leads (by `COPY`), their phones, do-not-call
/// marks, collisions and tags, and its refused rows.
async fn pg_insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    job: &JobStep,
    plan: &Plan,
) -> Result<()> {
    let new_leads = &plan.new_leads;
    let at = job.at;
    let actor = job.actor;
    if !new_leads.is_empty() {
        let started = std::time::Instant::now();
        let stamp = at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
        let job_text = job.job_id.to_string();
        let actor_text = actor.0.to_string();
        let mut buf = String::with_capacity(new_leads.len() * 700);
        for l in new_leads {
            let f = &l.fields;
            copy_row(
                &mut buf,
                &[
                    Some(&l.id.0.to_string()),
                    Some(&f.name),
                    f.company.as_deref(),
                    l.prepared.company_norm.as_deref(),
                    f.title.as_deref(),
                    f.city.as_deref(),
                    f.region.as_deref(),
                    f.source.as_deref(),
                    Some(f.status.code()),
                    f.intent.map(|i| i.code()),
                    l.owner.map(|o| o.0.to_string()).as_deref(),
                    Some(&actor_text),
                    Some(&l.prepared.custom),
                    Some("1"),
                    Some(&stamp),
                    Some(&stamp),
                    Some(&tsvector_text(&l.prepared.tokens)),
                    Some(&job_text),
                    l.stored_key(),
                    f.email.as_deref(),
                    l.referral.map(|r| r.by.0.to_string()).as_deref(),
                ],
            );
        }
        phases::add(Phase::CopyText, started.elapsed());
        let started = std::time::Instant::now();
        copy_in(
            tx,
            "COPY leads (id, name, company, company_norm, title, city, region, source, status, intent, owner_id, \
             created_by, custom, version, created_at, updated_at, search_tokens, import_id, company_key, email, \
             referred_by) FROM STDIN",
            buf,
        )
        .await?;
        phases::add(Phase::CopyLeads, started.elapsed());
        let started = std::time::Instant::now();
        let mut buf = String::with_capacity(new_leads.len() * 60);
        for l in new_leads {
            for (i, p) in l.fields.phones.iter().enumerate() {
                let collision = l
                    .collides
                    .iter()
                    .find(|c| c.0 == Matched::Phone(i))
                    .map(|c| c.1.0);
                copy_row(
                    &mut buf,
                    &[
                        Some(&l.id.0.to_string()),
                        Some(p.e164()),
                        Some(p.raw()),
                        Some(&i.to_string()),
                        collision.map(|c| c.to_string()).as_deref(),
                    ],
                );
            }
        }
        if !buf.is_empty() {
            copy_in(
                tx,
                "COPY lead_phones (lead_id, e164, raw, position, collision_with) FROM STDIN",
                buf,
            )
            .await?;
        }
        let ids = new_leads.iter().map(|l| l.id.0);
        if let (Some(first), Some(last)) = (ids.clone().min(), ids.max()) {
            sqlx::query(MARK_DNC)
                .bind(first)
                .bind(last)
                .execute(&mut **tx)
                .await?;
        }
        phases::add(Phase::CopyPhones, started.elapsed());
        let started = std::time::Instant::now();
        let collision_rows: Vec<Vec<Arg>> = new_leads
            .iter()
            .flat_map(|l| {
                l.collides.iter().map(move |(matched, other, other_owner)| {
                    vec![
                        Arg::I64(l.id.0),
                        Arg::I64(other.0),
                        Arg::Text(collision_key(l, *matched)),
                        Arg::Text(matched.kind().code().to_string()),
                        Arg::OptI64(other_owner.map(|o| o.0)),
                        Arg::OptI64(l.owner.map(|o| o.0)),
                        Arg::I64(actor.0),
                        Arg::Time(at),
                    ]
                })
            })
            .collect();
        for chunk in collision_rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(
                "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, match_kind, existing_owner_id, new_owner_id, \
                 recorded_by, created_at) VALUES ",
            );
            sql.push_rows(chunk.iter().cloned());
            bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
                .execute(&mut **tx)
                .await?;
        }
        let first_events: Vec<Vec<Arg>> = new_leads
            .iter()
            .filter_map(|l| first_event(l, job))
            .collect();
        for chunk in first_events.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(
                "INSERT INTO ownership_events (lead_id, at, action, from_user, to_user, actor_id, pool_id, rule_id, \
                 case_id, reason) VALUES ",
            );
            sql.push_rows(chunk.iter().cloned());
            bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
                .execute(&mut **tx)
                .await?;
        }
        let tag_rows: Vec<Vec<Arg>> = new_leads
            .iter()
            .flat_map(|l| {
                l.fields
                    .tags
                    .iter()
                    .map(move |t| vec![Arg::I64(l.id.0), Arg::Text(t.clone())])
            })
            .collect();
        for chunk in tag_rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new("INSERT INTO lead_tags (lead_id, tag) VALUES ");
            sql.push_rows(chunk.iter().cloned());
            bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
                .execute(&mut **tx)
                .await?;
        }
        phases::add(Phase::Rows, started.elapsed());
    }
    let started = std::time::Instant::now();
    for chunk in plan.invalid.chunks(ROWS_PER_STATEMENT) {
        let mut sql =
            Sql::new("INSERT INTO import_errors (import_id, row_number, cells, reason) VALUES ");
        sql.push_rows(chunk.iter().map(|(n, cells, reason)| {
            vec![
                Arg::I64(job.job_id),
                Arg::I64(*n),
                Arg::Json(json!(cells)),
                Arg::Text(reason.clone()),
            ]
        }));
        bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .execute(&mut **tx)
            .await?;
    }
    phases::add(Phase::Rows, started.elapsed());
    Ok(())
}

/// What a batch may share with others: the stored leads whose empty fields it fills (read in
/// its transaction, so after a batch before it committed), and the job's progress. Returns the
/// batch's counts.
async fn pg_finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    job: &JobStep,
    plan: Plan,
) -> Result<BatchCounts> {
    let Plan {
        mut counts, fills, ..
    } = plan;
    let at = job.at;
    let actor = job.actor;
    let targets = if fills.is_empty() {
        Vec::new()
    } else {
        let ids: Vec<i64> = fills.iter().map(|f| f.0.0).collect();
        let rows: Vec<(LeadId, FillRow)> = sqlx::query_as::<
            _,
            (
                LeadId,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                String,
            ),
        >(
            // As text, so that JSON that is not an object is `Corrupt` naming its lead (as on
            // SQLite) rather than an anonymous decode error.
            "SELECT id, company, title, city, region, source, CAST(custom AS TEXT) FROM leads WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.0,
                FillRow {
                    company: r.1,
                    title: r.2,
                    city: r.3,
                    region: r.4,
                    source: r.5,
                    custom: crate::leads::stored_custom(r.0, &r.6)?,
                },
            ))
        })
        .collect::<Result<_>>()?;
        fill_targets(&fills, &rows.into_iter().collect())
    };
    for (id, before, after) in &targets {
        let changed = sqlx::query(FILL_LEAD)
            .bind(&after.company)
            .bind(after.company.as_deref().map(normalise_company))
            .bind(&after.title)
            .bind(&after.city)
            .bind(&after.region)
            .bind(&after.source)
            .bind(Json(&after.custom))
            .bind(at)
            .bind(*id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if changed == 1 {
            write_audit!(
                &mut **tx,
                AuditEntry {
                    entity: "lead",
                    entity_id: id.0,
                    actor: Some(actor),
                    action: "update",
                    before: Some(before.clone()),
                    after: Some(json!({"import": job.job_id, "filled": fill_view(after)})),
                    at,
                }
            )?;
        }
    }
    counts.updated += targets.len() as i64;
    counts.skipped += (fills.len() - targets.len()) as i64;
    let changed = sqlx::query(PROGRESS)
        .bind(job.rows_done)
        .bind(counts.imported)
        .bind(counts.updated)
        .bind(counts.skipped)
        .bind(counts.collisions)
        .bind(counts.failed)
        .bind(counts.joined)
        .bind(counts.cases)
        .bind(counts.referred)
        .bind(at)
        .bind(job.job_id)
        .bind(job.fence_args().0)
        .bind(job.fence_args().1)
        .execute(&mut **tx)
        .await?;
    job.progressed(changed.rows_affected())?;
    Ok(counts)
}

/// Sends `data` (rows in COPY's text format) through `statement` (a `COPY … FROM STDIN`).
async fn copy_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    statement: &str,
    data: String,
) -> Result<()> {
    let mut copy = tx.copy_in_raw(statement).await?;
    if let Err(e) = copy.send(data.into_bytes()).await {
        let _ = copy.abort("import batch failed").await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

/// Appends one row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_row(buf: &mut String, cells: &[Option<&str>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            buf.push('\t');
        }
        match cell {
            None => buf.push_str("\\N"),
            Some(text) => {
                if text.contains(['\\', '\t', '\n', '\r']) {
                    for c in text.chars() {
                        match c {
                            '\\' => buf.push_str("\\\\"),
                            '\t' => buf.push_str("\\t"),
                            '\n' => buf.push_str("\\n"),
                            '\r' => buf.push_str("\\r"),
                            c => buf.push(c),
                        }
                    }
                } else {
                    buf.push_str(text);
                }
            }
        }
    }
    buf.push('\n');
}

/// A space-separated token string as `tsvector` input text: each token quoted, so that it is
/// taken as one lexeme exactly as `array_to_tsvector(string_to_array(tokens, ' '))` takes it.
fn tsvector_text(tokens: &str) -> String {
    let mut out = String::with_capacity(tokens.len() * 2);
    for t in tokens.split(' ').filter(|t| !t.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('\'');
        // Nearly every token is pushed whole; only one with a quote or backslash is escaped.
        if t.contains(['\'', '\\']) {
            for c in t.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
        } else {
            out.push_str(t);
        }
        out.push('\'');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_copy_text_format_reads_specially() {
        let mut buf = String::new();
        copy_row(&mut buf, &[Some("a\\b"), None, Some("x\ty\n"), Some("")]);
        assert_eq!(buf, "a\\\\b\t\\N\tx\\ty\\n\t\n");
    }

    /// After a large import into the pool, analysed, and the pool then claimed, the statistics
    /// still say no lead is owned: the import's look-up of owned company keys must still start
    /// from the key's index, not walk every owned lead (PostgreSQL only: SQLite names its index).
    #[tokio::test]
    async fn owned_company_keys_are_looked_up_through_the_key_index() {
        let t = crate::db::test_db::TestDb::fresh().await.unwrap();
        let crate::Db::Postgres(pool) = &t.db else {
            return;
        };
        let now = crate::now();
        let owner: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, created_at, updated_at) \
             VALUES ('o', 'o', 'agent', 'x', $1, $1) RETURNING id",
        )
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO leads (name, status, owner_id, created_by, custom, version, created_at, updated_at, \
             attempts, priority, dnc, company_key) SELECT 'P' || i, 'new', NULL, $1, '{}', 1, $2, $2, 0, 0, FALSE, \
             'k' || i FROM generate_series(1, 2000) i",
        )
        .bind(owner)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("ANALYZE leads").execute(pool).await.unwrap();
        sqlx::query("UPDATE leads SET owner_id = $1")
            .bind(owner)
            .execute(pool)
            .await
            .unwrap();
        let keys = vec!["k7".to_string(), "k8".to_string()];
        let found: Stored = sqlx::query_as(sqlx::AssertSqlSafe(owned_by("company_key")))
            .bind(&keys)
            .fetch_all(pool)
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN {}",
            owned_by("company_key")
        )))
        .bind(&keys)
        .fetch_all(pool)
        .await
        .unwrap();
        let text = plan.join("\n");
        assert!(text.contains("leads_company_key"), "{text}");
        assert!(!text.contains("leads_owner_status"), "{text}");
    }

    #[test]
    fn tsvector_text_quotes_each_token() {
        assert_eq!(tsvector_text("王 王伟 138"), "'王' '王伟' '138'");
        assert_eq!(tsvector_text("it's a\\b"), "'it''s' 'a\\\\b'");
        assert_eq!(tsvector_text(""), "");
    }
}
