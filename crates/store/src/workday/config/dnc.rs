//! The do-not-call list: numbers no path may dial.

use super::*;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DncEntry {
    pub id: i64,
    pub e164: String,
    pub reason: String,
    pub added_by: Option<UserId>,
    pub added_at: DateTime<Utc>,
}

pub async fn dnc_list(db: &Db, limit: i64, offset: i64) -> Result<(Vec<DncEntry>, i64)> {
    Ok(db_run!(db, |pool| {
        let rows = sqlx::query_as(
            "SELECT id, e164, reason, added_by, added_at FROM dnc_numbers ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dnc_numbers")
            .fetch_one(pool)
            .await?;
        (rows, total)
    }))
}

pub async fn is_dnc(db: &Db, e164: &str) -> Result<bool> {
    let n: i64 = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM dnc_numbers WHERE e164 = $1"
    )
    .bind(e164)
    .fetch_one(pool)
    .await?);
    Ok(n > 0)
}

/// Result of adding numbers: how many were new, already listed, or not phone numbers (with the
/// line numbers of the bad ones, 1-based).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DncImport {
    pub added: usize,
    pub already: usize,
    pub invalid: Vec<usize>,
}

/// Adds numbers as typed by people (any common spelling), each normalised; bad lines are
/// reported, the good ones kept.
pub async fn dnc_add(
    db: &Db,
    actor: UserId,
    raw_numbers: &[String],
    reason: &str,
) -> Result<DncImport> {
    let mut report = DncImport::default();
    let mut numbers = Vec::new();
    for (i, raw) in raw_numbers.iter().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        match PhoneNumber::parse(raw) {
            Ok(p) => numbers.push(p.e164().to_string()),
            Err(_) => report.invalid.push(i + 1),
        }
    }
    numbers.sort();
    numbers.dedup();
    let at = now();
    let reason = reason.trim();
    let added: usize = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut added = 0usize;
        for chunk in numbers.chunks(500) {
            for n in chunk {
                added += sqlx::query(
                    "INSERT INTO dnc_numbers (e164, reason, added_by, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT (e164) DO NOTHING",
                )
                .bind(n)
                .bind(reason)
                .bind(actor)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected() as usize;
            }
        }
        write_audit!(
            &mut *tx,
            AuditEntry {
                entity: "dnc",
                entity_id: 0,
                actor: Some(actor),
                action: "add",
                before: None,
                after: Some(json!({ "numbers": numbers.len(), "added": added, "reason": reason })),
                at,
            }
        )?;
        tx.commit().await?;
        invalidate();
        added
    });
    report.added = added;
    report.already = numbers.len() - added;
    Ok(report)
}

pub async fn dnc_remove(db: &Db, actor: UserId, raw: &str) -> Result<()> {
    let e164 = PhoneNumber::parse(raw.trim())
        .map(|p| p.e164().to_string())
        .map_err(|_| StoreError::invalid("e164", "invalid"))?;
    let before = Some(json!({ "e164": e164 }));
    delete_audited(
        db,
        "DELETE FROM dnc_numbers WHERE e164 = $1",
        Arg::Text(e164),
        ("dnc", 0, "remove", before),
        actor,
    )
    .await
}
