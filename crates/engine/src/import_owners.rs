//! Who an imported row goes to: the import's assignment (the pool, one person, a team in turn,
//! or a column naming the owner), and how its referrer is found when a column names one.

use std::collections::HashMap;

use leadline_domain::import_plan::Reason;
use leadline_domain::{Role, TeamId, UserId};
use leadline_import::{Mapping, Target};
use leadline_store::{Db, auth::users};

use crate::import_referrals::Lookup;
use crate::import_run::{Assign, RunError};

const UNKNOWN_OWNER: Reason = ("负责人不存在或已停用", "no active user by that name");
const NOT_YOURS_TO_ASSIGN: Reason = (
    "无权分配给该负责人",
    "you may not assign leads to this user",
);

/// The active agents of a team, in id order: the round-robin rotation.
pub(crate) async fn team_agents(db: &Db, team: TeamId) -> Result<Vec<UserId>, RunError> {
    let teams = users::list_teams(db).await?;
    if !teams.iter().any(|t| t.id == team) {
        return Err(RunError::BadOptions("unknown_team"));
    }
    let mut agents: Vec<UserId> = users::list_users(db)
        .await?
        .into_iter()
        .filter(|u| u.active && u.team_id == Some(team) && u.role == Role::Agent)
        .map(|u| u.id)
        .collect();
    agents.sort();
    if agents.is_empty() {
        return Err(RunError::BadOptions("empty_team"));
    }
    Ok(agents)
}

/// How rows get their owner.
pub(crate) enum Owners {
    Pool,
    One(UserId),
    /// Lower-cased username or display name → user, and whether the importing user may assign
    /// leads to them (usernames win over display names).
    Column(HashMap<String, (UserId, bool)>),
    Rotate(Vec<UserId>),
}

impl Owners {
    /// Who gets the rows under `assign` (`agents`: the round-robin rotation kept with the job).
    pub(crate) async fn new(
        db: &Db,
        actor: UserId,
        assign: &Assign,
        agents: &[UserId],
    ) -> Result<Owners, RunError> {
        Ok(match assign {
            Assign::Pool => Owners::Pool,
            Assign::Owner { user_id } => Owners::One(*user_id),
            Assign::RoundRobin { .. } => {
                if agents.is_empty() {
                    return Err(RunError::BadOptions("empty_team"));
                }
                Owners::Rotate(agents.to_vec())
            }
            Assign::OwnerColumn => {
                let all = users::list_users(db).await?;
                let viewer = users::viewer(db, &users::get_user(db, actor).await?).await?;
                let entry = |u: &users::User| (u.id, viewer.may_assign_to(Some(u.id), u.team_id));
                let mut map = HashMap::new();
                for u in all.iter().filter(|u| u.active) {
                    map.entry(u.display_name.trim().to_lowercase())
                        .or_insert_with(|| entry(u));
                }
                for u in all.iter().filter(|u| u.active) {
                    map.insert(u.username.to_lowercase(), entry(u));
                }
                Owners::Column(map)
            }
        })
    }

    /// The owner of the row at `ordinal` (1-based) whose owner column (if mapped) reads
    /// `cell`; `Err` with the reason that refuses the row.
    pub(crate) fn of_row(
        &self,
        ordinal: i64,
        cell: Option<&str>,
    ) -> Result<Option<UserId>, Reason> {
        match self {
            Owners::Pool => Ok(None),
            Owners::One(u) => Ok(Some(*u)),
            Owners::Rotate(agents) => Ok(Some(agents[((ordinal - 1) as usize) % agents.len()])),
            Owners::Column(map) => match cell.map(str::trim) {
                None | Some("") => Ok(None),
                Some(name) => match map.get(&name.to_lowercase()) {
                    Some((id, true)) => Ok(Some(*id)),
                    Some((_, false)) => Err(NOT_YOURS_TO_ASSIGN),
                    None => Err(UNKNOWN_OWNER),
                },
            },
        }
    }
}

/// How the rows' referrers are found, when a column names them.
pub(crate) async fn referral_lookup(
    db: &Db,
    actor: UserId,
    mapping: &Mapping,
) -> Result<Option<Lookup>, RunError> {
    if !mapping
        .columns
        .iter()
        .any(|c| c.target == Target::ReferredBy)
    {
        return Ok(None);
    }
    let viewer = users::viewer(db, &users::get_user(db, actor).await?).await?;
    Ok(Some(Lookup {
        db: db.clone(),
        viewer,
        runtime: tokio::runtime::Handle::current(),
    }))
}
