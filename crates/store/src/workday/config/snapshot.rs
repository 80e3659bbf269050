//! A short-lived snapshot of the configuration, read in one go by every call and next call.

use super::*;

/// How long a snapshot is used before it is read again. Changes made through this module clear
/// it at once in this process; another app server sees them within this time.
pub const SNAPSHOT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The configuration the call paths need, read in one go.
#[derive(Debug)]
pub struct Snapshot {
    pub dispositions: Vec<StoredDisposition>,
    pub rules: Vec<RevisitRule>,
    /// The active reclaim rules (回收规则).
    pub reclaim_rules: Vec<leadline_domain::ownership::ReclaimRule>,
    default_windows: Vec<Window>,
    team_windows: Vec<(TeamId, Vec<Window>)>,
    pub holidays: Vec<Holiday>,
    pub reserve_minutes: i64,
    pub max_attempts: i64,
    /// Zones other than the default that leads name.
    pub zones: Vec<String>,
    /// The organisation's statistics zone (issue 24).
    pub org_zone: chrono_tz::Tz,
}

impl Snapshot {
    pub fn disposition(&self, code: &str) -> Option<&StoredDisposition> {
        self.dispositions.iter().find(|d| d.d.code == code)
    }

    pub fn windows(&self, team: Option<TeamId>) -> &[Window] {
        team.and_then(|t| self.team_windows.iter().find(|(id, _)| *id == t))
            .map(|(_, w)| w.as_slice())
            .unwrap_or(&self.default_windows)
    }

    pub fn calling_hours(&self, team: Option<TeamId>) -> CallingHours {
        CallingHours::new(self.windows(team), &self.holidays)
    }
}

type Cached = (String, std::time::Instant, std::sync::Arc<Snapshot>);
static SNAPSHOTS: std::sync::Mutex<Vec<Cached>> = std::sync::Mutex::new(Vec::new());
/// Bumped by [`invalidate`]: a snapshot read while it changed is not kept.
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Per database, one read of the configuration at a time (in the background or not); the
/// callers that find the snapshot run out wait for it.
type ReadLock = std::sync::Arc<tokio::sync::Mutex<()>>;
static READING: std::sync::Mutex<Vec<(String, ReadLock)>> = std::sync::Mutex::new(Vec::new());

/// A snapshot this old is read again in the background while callers go on using it, so that
/// under steady use it never runs out and no call waits for the configuration.
pub(super) const REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

fn db_key(db: &Db) -> String {
    match db {
        Db::Sqlite(p) => format!("sqlite:{}", p.connect_options().get_filename().display()),
        Db::Postgres(p) => format!("pg:{:?}", p.connect_options()),
    }
}

/// Forgets every snapshot (after a configuration change).
pub fn invalidate() {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Ok(mut s) = SNAPSHOTS.lock() {
        s.clear();
    }
}

/// The cached snapshot of `key` and its age.
fn cached(key: &str) -> Option<(std::time::Duration, std::sync::Arc<Snapshot>)> {
    let s = SNAPSHOTS.lock().ok()?;
    s.iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, at, snap)| (at.elapsed(), snap.clone()))
}

/// The configuration, at most [`SNAPSHOT_TTL`] old. When many calls find it run out at once,
/// one reads it and the rest wait for that read instead of each reading it again.
pub async fn snapshot(db: &Db) -> Result<std::sync::Arc<Snapshot>> {
    let key = db_key(db);
    if let Some((age, snap)) = cached(&key)
        && age < SNAPSHOT_TTL
    {
        // Old enough to read again, unless a read is under way already.
        if age >= REFRESH_AFTER
            && let Ok(reading) = read_lock(&key)?.try_lock_owned()
        {
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(e) = read_snapshot(&db, &key).await {
                    tracing::warn!(error = %e, "reading the call configuration failed");
                }
                drop(reading);
            });
        }
        return Ok(snap);
    }
    let _reading = read_lock(&key)?.lock_owned().await;
    if let Some((age, snap)) = cached(&key)
        && age < SNAPSHOT_TTL
    {
        return Ok(snap);
    }
    read_snapshot(db, &key).await
}

/// The read lock of the database `key`.
fn read_lock(key: &str) -> Result<ReadLock> {
    let mut locks = READING
        .lock()
        .map_err(|_| StoreError::Internal("configuration lock poisoned".into()))?;
    Ok(match locks.iter().find(|(k, _)| k == key) {
        Some((_, l)) => l.clone(),
        None => {
            let l = ReadLock::default();
            locks.push((key.to_string(), l.clone()));
            l
        }
    })
}

/// Reads the configuration and keeps it for `key`, unless it changed meanwhile.
async fn read_snapshot(db: &Db, key: &str) -> Result<std::sync::Arc<Snapshot>> {
    let generation = GENERATION.load(std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    let rows: Vec<(Option<TeamId>, i64, i64, i64)> = db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT team_id, weekday, start_minute, end_minute FROM calling_windows ORDER BY weekday, start_minute"
    )
    .fetch_all(pool)
    .await?
    });
    let mut default_windows = Vec::new();
    let mut team_windows: Vec<(TeamId, Vec<Window>)> = Vec::new();
    for (team, weekday, start, end) in rows {
        let w = Window {
            weekday: weekday as u8,
            start_minute: start as u16,
            end_minute: end as u16,
        };
        match team {
            None => default_windows.push(w),
            Some(t) => match team_windows.iter_mut().find(|(id, _)| *id == t) {
                Some((_, list)) => list.push(w),
                None => team_windows.push((t, vec![w])),
            },
        }
    }
    let zones: Vec<String> = db_run!(db, |pool| sqlx::query_scalar(
        "SELECT DISTINCT timezone FROM leads WHERE timezone IS NOT NULL"
    )
    .fetch_all(pool)
    .await?);
    let snap = std::sync::Arc::new(Snapshot {
        dispositions: dispositions(db).await?,
        rules: revisit_rules(db).await?,
        reclaim_rules: crate::ownership::countdown::rules(db).await?,
        default_windows,
        team_windows,
        holidays: holidays(db).await?,
        reserve_minutes: reserve_minutes(db).await?,
        max_attempts: max_attempts(db).await?,
        zones,
        org_zone: crate::call_stats::read_org_zone(db).await?,
    });
    if let Ok(mut s) = SNAPSHOTS.lock()
        && GENERATION.load(std::sync::atomic::Ordering::SeqCst) == generation
    {
        s.retain(|(k, at, _)| k != key && at.elapsed() < SNAPSHOT_TTL);
        s.push((key.to_string(), started, snap.clone()));
    }
    Ok(snap)
}
