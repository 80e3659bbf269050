//! Import jobs: checked rows are written in whole batches, each in one transaction together with
//! the job's progress, so a killed import leaves only whole batches and resumes where it stopped.
//! Duplicates are found by normalised phone, then by normalised company, within the file and
//! against stored leads, and handled by the job's policy.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::lead::normalise_company;
use leadline_domain::{LeadFields, LeadId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;

use crate::audit::AuditEntry;
use crate::leads::write::{audit_json, tokens};
use crate::sql::{Arg, Sql};
use crate::{Backend, Db, Result, StoreError, bind_args, db_run, now, write_audit};

/// What to do with a row whose phone (or company) is already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    #[default]
    Skip,
    /// Fill the empty fields of the existing lead.
    Update,
    /// Import the row anyway and record a collision (撞单) for the ownership rules.
    Collision,
}

impl OnDuplicate {
    pub fn parse(s: &str) -> Option<OnDuplicate> {
        match s {
            "skip" => Some(OnDuplicate::Skip),
            "update" => Some(OnDuplicate::Update),
            "collision" => Some(OnDuplicate::Collision),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ImportJob {
    pub id: i64,
    pub file_name: String,
    #[serde(skip)]
    pub file_path: String,
    pub options: Json<Value>,
    pub status: String,
    pub rows_done: i64,
    pub imported: i64,
    pub updated: i64,
    pub skipped: i64,
    pub collisions: i64,
    pub failed: i64,
    pub error: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const JOB_COLUMNS: &str = "id, file_name, file_path, options, status, rows_done, imported, updated, skipped, \
    collisions, failed, error, created_by, created_at, updated_at, finished_at";

/// Registers a job; `options` keeps everything needed to resume it (mapping, policy, assignment).
pub async fn create_job(
    db: &Db,
    actor: UserId,
    file_name: &str,
    file_path: &str,
    options: &Value,
) -> Result<ImportJob> {
    let at = now();
    let sql = format!(
        "INSERT INTO imports (file_name, file_path, options, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, 'running', $4, $5, $5) RETURNING {JOB_COLUMNS}"
    );
    Ok(db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(file_name)
            .bind(file_path)
            .bind(Json(options))
            .bind(actor)
            .bind(at)
            .fetch_one(pool)
            .await?
    }))
}

pub async fn get_job(db: &Db, id: i64) -> Result<ImportJob> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM imports WHERE id = $1");
    let job: Option<ImportJob> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    job.ok_or(StoreError::NotFound)
}

/// Recent jobs, newest first; `by` limits them to one person's.
pub async fn list_jobs(db: &Db, by: Option<UserId>, limit: i64) -> Result<Vec<ImportJob>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM imports WHERE ($1 = 0 OR created_by = $1) ORDER BY id DESC LIMIT $2"
    );
    Ok(db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(by.map(|u| u.0).unwrap_or(0))
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}

pub async fn finish_job(db: &Db, id: i64, status: JobStatus, error: Option<&str>) -> Result<()> {
    let at = now();
    let status = match status {
        JobStatus::Running => "running",
        JobStatus::Done => "done",
        JobStatus::Failed => "failed",
    };
    db_run!(db, |pool| {
        sqlx::query("UPDATE imports SET status = $1, error = $2, updated_at = $3, finished_at = $3 WHERE id = $4")
            .bind(status)
            .bind(error)
            .bind(at)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Marks a job as running again before a resume.
pub async fn reopen_job(db: &Db, id: i64) -> Result<()> {
    db_run!(db, |pool| {
        sqlx::query("UPDATE imports SET status = 'running', error = NULL, finished_at = NULL, updated_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// One row of a batch, already checked like a hand-entered lead.
#[derive(Debug, Clone)]
pub enum BatchRow {
    Lead {
        number: i64,
        fields: Box<LeadFields>,
        owner: Option<UserId>,
    },
    Invalid {
        number: i64,
        cells: Vec<String>,
        reason: String,
    },
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub imported: i64,
    pub updated: i64,
    pub skipped: i64,
    pub collisions: i64,
    pub failed: i64,
}

/// Where a duplicate points: a stored lead or a row earlier in this batch.
#[derive(Debug, Clone, Copy)]
enum Known {
    Stored(LeadId, Option<UserId>),
    New(usize),
}

struct NewLead {
    id: LeadId,
    fields: LeadFields,
    owner: Option<UserId>,
    /// Collisions recorded for this lead: (what matched, other lead, its owner); what matched is a
    /// phone index, or `None` for the company.
    collides: Vec<(Option<usize>, LeadId, Option<UserId>)>,
}

/// Stands for "the new lead at this index of the batch" until ids are allocated.
fn placeholder(index: usize) -> LeadId {
    LeadId(-(index as i64) - 1)
}

/// Rows per multi-row INSERT (14 parameters a lead stays far below both backends' limits).
const ROWS_PER_STATEMENT: usize = 500;

/// Writes one batch and advances the job to `rows_done` in the same transaction.
pub async fn apply_batch(
    db: &Db,
    job_id: i64,
    actor: UserId,
    policy: OnDuplicate,
    rows: Vec<BatchRow>,
    rows_done: i64,
) -> Result<BatchCounts> {
    let mut counts = BatchCounts::default();
    let mut invalid: Vec<(i64, Vec<String>, String)> = Vec::new();
    let mut candidates: Vec<(i64, LeadFields, Option<UserId>)> = Vec::new();
    for row in rows {
        match row {
            BatchRow::Lead {
                number,
                fields,
                owner,
            } => candidates.push((number, *fields, owner)),
            BatchRow::Invalid {
                number,
                cells,
                reason,
            } => invalid.push((number, cells, reason)),
        }
    }
    // Look up every phone and company of the batch at once.
    let phones: Vec<String> = candidates
        .iter()
        .flat_map(|c| c.1.phones.iter().map(|p| p.e164().to_string()))
        .collect();
    let companies: Vec<String> = candidates
        .iter()
        .filter_map(|c| c.1.company.as_deref().map(normalise_company))
        .filter(|c| !c.is_empty())
        .collect();
    let stored_phones = lookup(
        db,
        "SELECT p.e164, l.id, l.owner_id FROM lead_phones p JOIN leads l ON l.id = p.lead_id \
        WHERE p.collision_with IS NULL AND p.e164 IN",
        &phones,
    )
    .await?;
    let stored_companies = lookup(
        db,
        "SELECT l.company_norm, l.id, l.owner_id FROM leads l \
        WHERE l.deleted_at IS NULL AND l.company_norm IN",
        &companies,
    )
    .await?;

    let mut known_phone: HashMap<String, Known> = stored_phones
        .into_iter()
        .map(|(k, id, o)| (k, Known::Stored(id, o)))
        .collect();
    let mut known_company: HashMap<String, Known> = HashMap::new();
    for (k, id, o) in stored_companies {
        known_company.entry(k).or_insert(Known::Stored(id, o));
    }
    let mut new_leads: Vec<NewLead> = Vec::new();
    let mut fills: Vec<(LeadId, LeadFields)> = Vec::new();
    for (number, fields, owner) in candidates {
        if fields.phones.is_empty() && fields.company.is_none() {
            counts.failed += 1;
            invalid.push((number, Vec::new(), "needs_phone_or_company".into()));
            continue;
        }
        let company_key = fields
            .company
            .as_deref()
            .map(normalise_company)
            .filter(|c| !c.is_empty());
        // Any known phone, else (where no phone matches) the same normalised company.
        let hit_phone = fields
            .phones
            .iter()
            .find_map(|p| known_phone.get(p.e164()).copied());
        let hit_company = company_key
            .as_ref()
            .and_then(|c| known_company.get(c).copied());
        let hit = hit_phone.or(hit_company);
        match (hit, policy) {
            (None, _) => {}
            (Some(_), OnDuplicate::Skip) => {
                counts.skipped += 1;
                continue;
            }
            (Some(Known::Stored(id, _)), OnDuplicate::Update) => {
                fills.push((id, fields));
                continue;
            }
            (Some(Known::New(i)), OnDuplicate::Update) => {
                fill_empty(&mut new_leads[i].fields, &fields);
                counts.updated += 1;
                continue;
            }
            (Some(_), OnDuplicate::Collision) => {}
        }
        let index = new_leads.len();
        let mut collides = Vec::new();
        for (i, p) in fields.phones.iter().enumerate() {
            match known_phone.get(p.e164()) {
                Some(Known::Stored(id, o)) => collides.push((Some(i), *id, *o)),
                Some(Known::New(j)) => {
                    collides.push((Some(i), placeholder(*j), new_leads[*j].owner))
                }
                None => {
                    known_phone.insert(p.e164().to_string(), Known::New(index));
                }
            }
        }
        if hit_phone.is_none() {
            match hit_company {
                Some(Known::Stored(id, o)) => collides.push((None, id, o)),
                Some(Known::New(j)) => collides.push((None, placeholder(j), new_leads[j].owner)),
                None => {}
            }
        }
        if let Some(c) = company_key {
            known_company.entry(c).or_insert(Known::New(index));
        }
        if !collides.is_empty() {
            counts.collisions += 1;
        }
        new_leads.push(NewLead {
            id: LeadId(0),
            fields,
            owner,
            collides,
        });
    }
    counts.imported = new_leads.len() as i64;
    counts.failed += invalid
        .iter()
        .filter(|r| r.2 != "needs_phone_or_company")
        .count() as i64;

    let at = now();
    let backend = db.backend();
    let existing_for_fill = load_fill_targets(db, &fills).await?;
    db_run!(db, |pool| {
        let mut tx = match backend {
            Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => pool.begin().await?,
        };
        // Allocate ids up front so multi-row inserts can reference them.
        if !new_leads.is_empty() {
            let n = new_leads.len() as i64;
            let ids: Vec<i64> = match backend {
                Backend::Sqlite => {
                    let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM leads").fetch_one(&mut *tx).await?;
                    (max + 1..=max + n).collect()
                }
                Backend::Postgres => sqlx::query_scalar(
                    "SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, $1)",
                )
                .bind(n)
                .fetch_all(&mut *tx)
                .await?,
            };
            for (lead, id) in new_leads.iter_mut().zip(ids) {
                lead.id = LeadId(id);
            }
            let ids: Vec<LeadId> = new_leads.iter().map(|l| l.id).collect();
            for lead in new_leads.iter_mut() {
                for c in lead.collides.iter_mut() {
                    if c.1.0 < 0 {
                        c.1 = ids[(-c.1.0 - 1) as usize];
                    }
                }
            }
            for chunk in new_leads.chunks(ROWS_PER_STATEMENT) {
                for sql in insert_statements(chunk, actor, at, backend) {
                    bind_args!(
                        sqlx::query(sqlx::AssertSqlSafe(positional(backend, sql.text))),
                        sql.args
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        for (id, before, after) in &existing_for_fill {
            let changed = sqlx::query(
                "UPDATE leads SET company = $1, company_norm = $2, title = $3, city = $4, region = $5, source = $6, \
                 custom = $7, version = version + 1, updated_at = $8 WHERE id = $9 AND deleted_at IS NULL",
            )
            .bind(&after.company)
            .bind(after.company.as_deref().map(normalise_company))
            .bind(&after.title)
            .bind(&after.city)
            .bind(&after.region)
            .bind(&after.source)
            .bind(Json(&after.custom))
            .bind(at)
            .bind(*id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                write_audit!(
                    &mut *tx,
                    AuditEntry {
                        entity: "lead",
                        entity_id: id.0,
                        actor: Some(actor),
                        action: "update",
                        before: Some(before.clone()),
                        after: Some(json!({"import": job_id, "filled": fill_view(after)})),
                        at,
                    }
                )?;
            }
        }
        counts.updated += existing_for_fill.len() as i64;
        counts.skipped += (fills.len() - existing_for_fill.len()) as i64;
        for chunk in invalid.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Sql::new(
                "INSERT INTO import_errors (import_id, row_number, cells, reason) VALUES ",
            );
            sql.push_rows(chunk.iter().map(|(n, cells, reason)| {
                vec![
                    Arg::I64(job_id),
                    Arg::I64(*n),
                    Arg::Json(json!(cells)),
                    Arg::Text(reason.clone()),
                ]
            }));
            bind_args!(
                sqlx::query(sqlx::AssertSqlSafe(positional(backend, sql.text))),
                sql.args
            )
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE imports SET rows_done = $1, imported = imported + $2, updated = updated + $3, skipped = skipped + $4, \
             collisions = collisions + $5, failed = failed + $6, updated_at = $7 WHERE id = $8",
        )
        .bind(rows_done)
        .bind(counts.imported)
        .bind(counts.updated)
        .bind(counts.skipped)
        .bind(counts.collisions)
        .bind(counts.failed)
        .bind(at)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(counts)
}

/// For SQLite, `$1, $2, …` numbered in order become anonymous `?`. sqlx binds each argument
/// after asking SQLite for its parameter's name, which walks the statement's list of named
/// parameters: quadratic in their number, and 70% of an import's time with 8,000 parameters a
/// statement. Anonymous parameters have no names to walk. Text whose numbers are not exactly
/// 1, 2, 3… in order is left alone.
fn positional(backend: Backend, text: String) -> String {
    if backend != Backend::Sqlite {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut next = 1usize;
    let mut rest = text.as_str();
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let digits = rest[i + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - i - 1, |n| n);
        if digits == 0 || rest[i + 1..i + 1 + digits].parse::<usize>() != Ok(next) {
            return text;
        }
        out.push('?');
        next += 1;
        rest = &rest[i + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// (key, lead, owner) for every stored lead matching one of `keys` in the column `prefix` selects.
async fn lookup(
    db: &Db,
    prefix: &str,
    keys: &[String],
) -> Result<Vec<(String, LeadId, Option<UserId>)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(ROWS_PER_STATEMENT * 4) {
        let mut sql = Sql::new(prefix);
        let ps: Vec<String> = chunk
            .iter()
            .map(|k| sql.arg(Arg::Text(k.clone())))
            .collect();
        sql.push(&format!(" ({})", ps.join(", ")));
        let rows: Vec<(String, LeadId, Option<UserId>)> = db_run!(db, |pool| {
            bind_args!(
                sqlx::query_as(sqlx::AssertSqlSafe(positional(db.backend(), sql.text))),
                sql.args
            )
            .fetch_all(pool)
            .await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Copies into `target` the fields it lacks from `source`.
fn fill_empty(target: &mut LeadFields, source: &LeadFields) {
    for (t, s) in [
        (&mut target.company, &source.company),
        (&mut target.title, &source.title),
        (&mut target.city, &source.city),
        (&mut target.region, &source.region),
        (&mut target.source, &source.source),
    ] {
        if t.is_none() {
            t.clone_from(s);
        }
    }
    for (k, v) in &source.custom {
        target.custom.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn fill_view(f: &LeadFields) -> Value {
    json!({"company": f.company, "title": f.title, "city": f.city, "region": f.region, "source": f.source, "custom": f.custom})
}

/// For "update" duplicates: each stored lead's current fields, and those fields with the gaps filled;
/// leads where nothing would change are left out.
async fn load_fill_targets(
    db: &Db,
    fills: &[(LeadId, LeadFields)],
) -> Result<Vec<(LeadId, Value, LeadFields)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: LeadId,
        company: Option<String>,
        title: Option<String>,
        city: Option<String>,
        region: Option<String>,
        source: Option<String>,
        custom: Json<serde_json::Map<String, Value>>,
    }
    let mut out: Vec<(LeadId, Value, LeadFields)> = Vec::new();
    for (id, row_fields) in fills {
        if let Some(pos) = out.iter().position(|(i, _, _)| i == id) {
            let mut merged = out[pos].2.clone();
            fill_empty(&mut merged, row_fields);
            out[pos].2 = merged;
            continue;
        }
        let row: Option<Row> = db_run!(db, |pool| {
            sqlx::query_as(
                "SELECT id, company, title, city, region, source, custom FROM leads WHERE id = $1",
            )
            .bind(*id)
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else { continue };
        let mut current = row_fields.clone();
        current.company = row.company;
        current.title = row.title;
        current.city = row.city;
        current.region = row.region;
        current.source = row.source;
        current.custom = row.custom.0;
        let before = fill_view(&current);
        let mut after = current.clone();
        fill_empty(&mut after, row_fields);
        if fill_view(&after) != before {
            out.push((row.id, before, after));
        }
    }
    Ok(out)
}

/// The multi-row inserts for a chunk of new leads: leads, phones, collisions, tags, search, audit.
fn insert_statements(
    chunk: &[NewLead],
    actor: UserId,
    at: DateTime<Utc>,
    backend: Backend,
) -> Vec<Sql> {
    let mut out = Vec::new();
    let mut leads = Sql::new(
        "INSERT INTO leads (id, name, company, company_norm, title, city, region, source, status, intent, owner_id, \
         created_by, custom, version, created_at, updated_at) VALUES ",
    );
    leads.push_rows(chunk.iter().map(|l| {
        let f = &l.fields;
        vec![
            Arg::I64(l.id.0),
            Arg::Text(f.name.clone()),
            Arg::OptText(f.company.clone()),
            Arg::OptText(f.company.as_deref().map(normalise_company)),
            Arg::OptText(f.title.clone()),
            Arg::OptText(f.city.clone()),
            Arg::OptText(f.region.clone()),
            Arg::OptText(f.source.clone()),
            Arg::Text(f.status.code().to_string()),
            Arg::OptText(f.intent.map(|i| i.code().to_string())),
            Arg::OptI64(l.owner.map(|o| o.0)),
            Arg::I64(actor.0),
            Arg::Json(Value::Object(f.custom.clone())),
            Arg::I64(1),
            Arg::Time(at),
            Arg::Time(at),
        ]
    }));
    out.push(leads);
    let phone_rows: Vec<Vec<Arg>> = chunk
        .iter()
        .flat_map(|l| {
            l.fields.phones.iter().enumerate().map(move |(i, p)| {
                let collision = l.collides.iter().find(|c| c.0 == Some(i)).map(|c| c.1.0);
                vec![
                    Arg::I64(l.id.0),
                    Arg::Text(p.e164().to_string()),
                    Arg::Text(p.raw().to_string()),
                    Arg::I64(i as i64),
                    Arg::OptI64(collision),
                ]
            })
        })
        .collect();
    if !phone_rows.is_empty() {
        let mut sql = Sql::new(
            "INSERT INTO lead_phones (lead_id, e164, raw, position, collision_with) VALUES ",
        );
        sql.push_rows(phone_rows);
        out.push(sql);
    }
    let collision_rows: Vec<Vec<Arg>> = chunk
        .iter()
        .flat_map(|l| {
            l.collides.iter().map(move |(i, other, other_owner)| {
                vec![
                    Arg::I64(l.id.0),
                    Arg::I64(other.0),
                    Arg::Text(match i {
                        Some(i) => l.fields.phones[*i].e164().to_string(),
                        None => format!(
                            "company:{}",
                            l.fields
                                .company
                                .as_deref()
                                .map(normalise_company)
                                .unwrap_or_default()
                        ),
                    }),
                    Arg::OptI64(other_owner.map(|o| o.0)),
                    Arg::OptI64(l.owner.map(|o| o.0)),
                    Arg::I64(actor.0),
                    Arg::Time(at),
                ]
            })
        })
        .collect();
    if !collision_rows.is_empty() {
        let mut sql = Sql::new(
            "INSERT INTO collisions (lead_id, existing_lead_id, phone_e164, existing_owner_id, new_owner_id, recorded_by, created_at) VALUES ",
        );
        sql.push_rows(collision_rows);
        out.push(sql);
    }
    let tag_rows: Vec<Vec<Arg>> = chunk
        .iter()
        .flat_map(|l| {
            l.fields
                .tags
                .iter()
                .map(move |t| vec![Arg::I64(l.id.0), Arg::Text(t.clone())])
        })
        .collect();
    if !tag_rows.is_empty() {
        let mut sql = Sql::new("INSERT INTO lead_tags (lead_id, tag) VALUES ");
        sql.push_rows(tag_rows);
        out.push(sql);
    }
    match backend {
        Backend::Sqlite => {
            let mut sql = Sql::new("INSERT INTO lead_search (rowid, tokens) VALUES ");
            sql.push_rows(
                chunk
                    .iter()
                    .map(|l| vec![Arg::I64(l.id.0), Arg::Text(tokens(&l.fields))]),
            );
            out.push(sql);
        }
        Backend::Postgres => {
            let mut sql = Sql::new(
                "UPDATE leads SET search_tokens = array_to_tsvector(string_to_array(v.tokens, ' ')) FROM (VALUES ",
            );
            sql.push_rows(
                chunk
                    .iter()
                    .map(|l| vec![Arg::I64(l.id.0), Arg::Text(tokens(&l.fields))]),
            );
            sql.push(") AS v(id, tokens) WHERE leads.id = v.id");
            out.push(sql);
        }
    }
    let mut audit = Sql::new(
        "INSERT INTO audit_log (entity, entity_id, actor_id, action, before, after, at) VALUES ",
    );
    audit.push_rows(chunk.iter().map(|l| {
        vec![
            Arg::Text("lead".into()),
            Arg::I64(l.id.0),
            Arg::I64(actor.0),
            Arg::Text("import".into()),
            Arg::Json(Value::Null),
            Arg::Json(audit_json(&l.fields, l.owner, 1)),
            Arg::Time(at),
        ]
    }));
    out.push(audit);
    out
}

/// The rows a job refused, in file order: (row number, original cells, reason code).
pub async fn errors(db: &Db, job_id: i64) -> Result<Vec<(i64, Vec<String>, String)>> {
    let rows: Vec<(i64, Json<Vec<String>>, String)> = db_run!(db, |pool| {
        sqlx::query_as("SELECT row_number, cells, reason FROM import_errors WHERE import_id = $1 ORDER BY row_number")
            .bind(job_id)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|(n, c, r)| (n, c.0, r)).collect())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SavedMapping {
    pub id: i64,
    pub name: String,
    pub mapping: Json<Value>,
}

pub async fn save_mapping(
    db: &Db,
    actor: UserId,
    name: &str,
    mapping: &Value,
) -> Result<SavedMapping> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::invalid("name", "required"));
    }
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO import_mappings (name, mapping, created_by, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping RETURNING id, name, mapping",
        )
        .bind(name)
        .bind(Json(mapping))
        .bind(actor)
        .bind(now())
        .fetch_one(pool)
        .await?
    }))
}

pub async fn mappings(db: &Db) -> Result<Vec<SavedMapping>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as("SELECT id, name, mapping FROM import_mappings ORDER BY name")
            .fetch_all(pool)
            .await?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_placeholders_become_anonymous_only_when_in_order() {
        assert_eq!(
            positional(Backend::Sqlite, "VALUES ($1, $2), ($3, $4)".into()),
            "VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            positional(Backend::Sqlite, "SET a = $2 WHERE b = $1".into()),
            "SET a = $2 WHERE b = $1"
        );
        assert_eq!(
            positional(Backend::Sqlite, "a = $1 OR b = $1".into()),
            "a = $1 OR b = $1"
        );
        assert_eq!(positional(Backend::Postgres, "($1)".into()), "($1)");
    }
}
