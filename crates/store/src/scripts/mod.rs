//! Call scripts (话术): reading them as the viewer may, their version history, the teams they are
//! pinned for, and how they did in calls (uses, connected, qualified).

mod write;

pub use write::{ScriptPatch, create, delete, pin, restore_version, set_shared, unpin, update};

use chrono::{DateTime, Utc};
use leadline_domain::script::{ScriptAccess, script_access};
use leadline_domain::{ScriptId, TeamId, UserId, Viewer};
use serde::Serialize;

use crate::{Db, Result, StoreError, db_run};

/// How a script did in the calls it was used in.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct ScriptUsage {
    pub uses: i64,
    /// Calls whose disposition the admin flagged as connected (someone answered).
    pub connected: i64,
    /// Calls whose disposition is flagged qualified.
    pub qualified: i64,
    pub connected_rate: f64,
    pub qualified_rate: f64,
}

impl ScriptUsage {
    fn new(uses: i64, connected: i64, qualified: i64) -> ScriptUsage {
        let rate = |n: i64| {
            if uses == 0 {
                0.0
            } else {
                (n as f64 / uses as f64 * 1000.0).round() / 1000.0
            }
        };
        ScriptUsage {
            uses,
            connected,
            qualified,
            connected_rate: rate(connected),
            qualified_rate: rate(qualified),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Script {
    pub id: ScriptId,
    pub title: String,
    pub category: String,
    pub body: String,
    pub owner_id: UserId,
    pub owner_name: String,
    #[serde(skip)]
    pub owner_team_id: Option<TeamId>,
    pub shared: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
    pub pinned_teams: Vec<TeamId>,
    pub usage: ScriptUsage,
}

impl Script {
    pub fn access(&self, viewer: &Viewer) -> ScriptAccess {
        script_access(viewer, self.owner_id, self.owner_team_id, self.shared)
    }

    fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({"title": self.title, "category": self.category, "body": self.body,
            "shared": self.shared, "version": self.version})
    }
}

#[derive(sqlx::FromRow)]
struct ScriptRow {
    id: ScriptId,
    title: String,
    category: String,
    body: String,
    owner_id: UserId,
    owner_name: String,
    owner_team_id: Option<TeamId>,
    shared: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_by: Option<UserId>,
}

const SELECT: &str = "SELECT s.id, s.title, s.category, s.body, s.owner_id, o.display_name AS owner_name, \
    o.team_id AS owner_team_id, s.shared, s.version, s.created_at, s.updated_at, s.updated_by \
    FROM scripts s JOIN users o ON o.id = s.owner_id";

/// (script, uses, connected, qualified) as counted from calls.
type UsageRow = (ScriptId, i64, i64, i64);

/// Adds pins and usage to rows read in one query: two more queries whatever the count.
async fn hydrate(db: &Db, rows: Vec<ScriptRow>) -> Result<Vec<Script>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::versioned::id_list(rows.iter().map(|r| r.id.0));
    let pin_sql = format!(
        "SELECT script_id, team_id FROM script_pins WHERE script_id IN ({list}) ORDER BY team_id"
    );
    let usage_sql = format!(
        "SELECT c.script_id, COUNT(*), \
         SUM(CASE WHEN d.connected THEN 1 ELSE 0 END), \
         SUM(CASE WHEN d.qualified THEN 1 ELSE 0 END) \
         FROM calls c LEFT JOIN dispositions d ON d.code = c.disposition \
         WHERE c.script_id IN ({list}) GROUP BY c.script_id"
    );
    let (pins, usage): (Vec<(ScriptId, TeamId)>, Vec<UsageRow>) = db_run!(db, |pool| {
        (
            sqlx::query_as(sqlx::AssertSqlSafe(pin_sql))
                .fetch_all(pool)
                .await?,
            sqlx::query_as(sqlx::AssertSqlSafe(usage_sql))
                .fetch_all(pool)
                .await?,
        )
    });
    Ok(rows
        .into_iter()
        .map(|r| Script {
            pinned_teams: pins.iter().filter(|p| p.0 == r.id).map(|p| p.1).collect(),
            usage: usage
                .iter()
                .find(|u| u.0 == r.id)
                .map(|u| ScriptUsage::new(u.1, u.2, u.3))
                .unwrap_or_default(),
            id: r.id,
            title: r.title,
            category: r.category,
            body: r.body,
            owner_id: r.owner_id,
            owner_name: r.owner_name,
            owner_team_id: r.owner_team_id,
            shared: r.shared,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        })
        .collect())
}

/// Reads a live script regardless of who asks (internal use).
async fn load(db: &Db, id: ScriptId) -> Result<Script> {
    let sql = format!("{SELECT} WHERE s.id = $1 AND s.deleted_at IS NULL");
    let row: Option<ScriptRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let row = row.ok_or(StoreError::NotFound)?;
    Ok(hydrate(db, vec![row]).await?.remove(0))
}

/// A script the viewer may see; someone else's private script is `NotFound`, so that its
/// existence is not revealed.
pub async fn get(db: &Db, viewer: &Viewer, id: ScriptId) -> Result<Script> {
    let s = load(db, id).await?;
    if s.access(viewer) == ScriptAccess::Hidden {
        return Err(StoreError::NotFound);
    }
    Ok(s)
}

/// Which scripts to list.
#[derive(Debug, Clone, Default)]
pub struct ScriptFilter {
    pub category: Option<String>,
    /// Only the viewer's own scripts.
    pub mine: bool,
    /// Only scripts pinned for this team.
    pub pinned_for: Option<TeamId>,
}

/// The SQL condition "`viewer` may see the script aliased `script`, whose owner is aliased
/// `owner`" — the SQL side of the domain's `ScriptAccess` rule: shared scripts, their own, and
/// for a supervisor those of the teams they supervise; everything for an admin. `me` is the
/// viewer's id as the caller bound it. Used by the script list and by search.
pub(crate) fn visible_scripts(viewer: &Viewer, script: &str, owner: &str, me: &str) -> String {
    let managed = match viewer.role {
        leadline_domain::Role::Admin => return "TRUE".to_string(),
        leadline_domain::Role::Supervisor => {
            let teams: Vec<String> = viewer
                .supervised_teams
                .iter()
                .map(|t| t.0.to_string())
                .collect();
            let teams = if teams.is_empty() {
                "0".to_string()
            } else {
                teams.join(",")
            };
            format!(" OR {owner}.team_id IN ({teams})")
        }
        _ => String::new(),
    };
    format!("({script}.shared = TRUE OR {script}.owner_id = {me}{managed})")
}

/// Most scripts one list returns.
pub const MAX_LIST: i64 = 500;

/// The scripts `viewer` may see, newest change first.
pub async fn list(db: &Db, viewer: &Viewer, filter: &ScriptFilter) -> Result<Vec<Script>> {
    use crate::db::sql::{Arg, Sql};
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE s.deleted_at IS NULL");
    let me = sql.arg(Arg::I64(viewer.user_id.0));
    sql.push(&format!(" AND {}", visible_scripts(viewer, "s", "o", &me)));
    if filter.mine {
        sql.push(&format!(" AND s.owner_id = {me}"));
    }
    if let Some(c) = filter
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        sql.push_bind(" AND s.category = ?", Arg::Text(c.to_string()));
    }
    if let Some(team) = filter.pinned_for {
        sql.push_bind(
            " AND EXISTS (SELECT 1 FROM script_pins p WHERE p.script_id = s.id AND p.team_id = ?)",
            Arg::I64(team.0),
        );
    }
    sql.push(&format!(
        " ORDER BY s.updated_at DESC, s.id DESC LIMIT {MAX_LIST}"
    ));
    let rows: Vec<ScriptRow> = db_run!(db, |pool| {
        crate::bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(pool)
            .await?
    });
    hydrate(db, rows).await
}

/// The categories in use by scripts the viewer can see, for filters and the editor.
pub async fn categories(db: &Db, viewer: &Viewer) -> Result<Vec<String>> {
    let mut cats: Vec<String> = list(db, viewer, &ScriptFilter::default())
        .await?
        .into_iter()
        .map(|s| s.category)
        .filter(|c| !c.is_empty())
        .collect();
    cats.sort();
    cats.dedup();
    Ok(cats)
}

/// The scripts pinned for the teams a user belongs to or supervises, for the lead page.
pub async fn pinned_for(db: &Db, viewer: &Viewer, team: Option<TeamId>) -> Result<Vec<Script>> {
    let mut teams: Vec<TeamId> = viewer.supervised_teams.clone();
    teams.extend(team);
    let mut out: Vec<Script> = Vec::new();
    for t in teams {
        let filter = ScriptFilter {
            pinned_for: Some(t),
            ..Default::default()
        };
        for s in list(db, viewer, &filter).await? {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// One saved state of a script.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ScriptVersion {
    pub version: i64,
    pub title: String,
    pub category: String,
    pub body: String,
    pub edited_by: Option<UserId>,
    pub edited_by_name: Option<String>,
    pub edited_at: DateTime<Utc>,
    /// The older version this one brought back.
    pub restored_from: Option<i64>,
}

const VERSION_SELECT: &str = "SELECT v.version, v.title, v.category, v.body, v.edited_by, \
    u.display_name AS edited_by_name, v.edited_at, v.restored_from FROM script_versions v \
    LEFT JOIN users u ON u.id = v.edited_by";

/// Every version of a script the viewer may see, newest first.
pub async fn versions(db: &Db, viewer: &Viewer, id: ScriptId) -> Result<Vec<ScriptVersion>> {
    get(db, viewer, id).await?;
    let sql = format!("{VERSION_SELECT} WHERE v.script_id = $1 ORDER BY v.version DESC");
    Ok(db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(pool)
            .await?
    }))
}

/// One version of a script the viewer may see.
pub async fn version(
    db: &Db,
    viewer: &Viewer,
    id: ScriptId,
    version: i64,
) -> Result<ScriptVersion> {
    get(db, viewer, id).await?;
    let sql = format!("{VERSION_SELECT} WHERE v.script_id = $1 AND v.version = $2");
    let row: Option<ScriptVersion> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(version)
            .fetch_optional(pool)
            .await?
    });
    row.ok_or(StoreError::NotFound)
}
