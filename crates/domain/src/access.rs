//! Who may see and change a lead: the one rule behind every list, page and API call.

use crate::{Role, TeamId, UserId};

/// The person asking, with the teams they supervise.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: UserId,
    pub role: Role,
    pub supervised_teams: Vec<TeamId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// May read and change the lead.
    Edit,
    /// Must not learn that the lead exists.
    Hidden,
}

/// Which leads a viewer may see, in the one form that both [`Viewer::access`] (in Rust) and the
/// store's SQL rendering (`leadline_store::leads::visible_leads`) read, so that a change to who
/// sees what is made here once and both follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadScope<'a> {
    /// Every lead (admins).
    All,
    /// Pool leads (no owner), the viewer's own, and leads whose owner is a member of one of
    /// `teams` (the teams a supervisor supervises; none for agents and sales reps).
    PoolOwnAndTeams { me: UserId, teams: &'a [TeamId] },
}

impl LeadScope<'_> {
    /// Whether a lead owned by `owner`, a member of `owner_team`, is inside the scope.
    pub fn holds(self, owner: Option<UserId>, owner_team: Option<TeamId>) -> bool {
        match (self, owner) {
            (LeadScope::All, _) => true,
            (LeadScope::PoolOwnAndTeams { .. }, None) => true,
            (LeadScope::PoolOwnAndTeams { me, teams }, Some(o)) => {
                o == me || owner_team.is_some_and(|t| teams.contains(&t))
            }
        }
    }
}

impl Viewer {
    /// Agents and sales reps see their own leads and the pool; supervisors also see leads owned
    /// by members of the teams they supervise; admins see everything.
    pub fn lead_scope(&self) -> LeadScope<'_> {
        match self.role {
            Role::Admin => LeadScope::All,
            Role::Supervisor => LeadScope::PoolOwnAndTeams {
                me: self.user_id,
                teams: &self.supervised_teams,
            },
            Role::Agent | Role::Sales => LeadScope::PoolOwnAndTeams {
                me: self.user_id,
                teams: &[],
            },
        }
    }

    /// Whether this viewer may see a lead owned by `owner` (a member of `owner_team`): its
    /// [`lead_scope`](Viewer::lead_scope). Whoever sees a lead may edit it.
    pub fn access(&self, owner: Option<UserId>, owner_team: Option<TeamId>) -> Access {
        if self.lead_scope().holds(owner, owner_team) {
            Access::Edit
        } else {
            Access::Hidden
        }
    }

    /// Whether this viewer may hand a lead to `new_owner` (in `new_owner_team`).
    pub fn may_assign_to(&self, new_owner: Option<UserId>, new_owner_team: Option<TeamId>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => {
                new_owner.is_none()
                    || new_owner == Some(self.user_id)
                    || new_owner_team.is_some_and(|t| self.supervised_teams.contains(&t))
            }
            Role::Agent | Role::Sales => new_owner.is_none() || new_owner == Some(self.user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(id: i64, role: Role, teams: &[i64]) -> Viewer {
        Viewer {
            user_id: UserId(id),
            role,
            supervised_teams: teams.iter().map(|t| TeamId(*t)).collect(),
        }
    }

    #[test]
    fn agents_see_their_own_and_the_pool_only() {
        let a = viewer(1, Role::Agent, &[]);
        assert_eq!(a.access(Some(UserId(1)), Some(TeamId(1))), Access::Edit);
        assert_eq!(a.access(None, None), Access::Edit);
        assert_eq!(a.access(Some(UserId(2)), Some(TeamId(1))), Access::Hidden);
        let s = viewer(5, Role::Sales, &[]);
        assert_eq!(s.access(Some(UserId(2)), None), Access::Hidden);
    }

    #[test]
    fn supervisors_see_their_teams() {
        let s = viewer(9, Role::Supervisor, &[1]);
        assert_eq!(s.access(Some(UserId(2)), Some(TeamId(1))), Access::Edit);
        assert_eq!(s.access(Some(UserId(3)), Some(TeamId(2))), Access::Hidden);
        assert_eq!(s.access(Some(UserId(3)), None), Access::Hidden);
        assert_eq!(s.access(None, None), Access::Edit);
        assert_eq!(s.access(Some(UserId(9)), None), Access::Edit);
    }

    #[test]
    fn admins_see_everything() {
        let a = viewer(1, Role::Admin, &[]);
        assert_eq!(a.access(Some(UserId(2)), Some(TeamId(7))), Access::Edit);
        assert_eq!(a.access(Some(UserId(2)), None), Access::Edit);
    }

    #[test]
    fn a_supervisor_without_teams_sees_like_an_agent() {
        let s = viewer(9, Role::Supervisor, &[]);
        assert_eq!(s.access(Some(UserId(9)), Some(TeamId(1))), Access::Edit);
        assert_eq!(s.access(None, None), Access::Edit);
        assert_eq!(s.access(Some(UserId(2)), Some(TeamId(1))), Access::Hidden);
        assert_eq!(s.access(Some(UserId(2)), None), Access::Hidden);
    }

    #[test]
    fn only_supervisors_see_by_team() {
        let a = Viewer {
            supervised_teams: vec![TeamId(1)],
            ..viewer(1, Role::Agent, &[])
        };
        assert_eq!(a.access(Some(UserId(2)), Some(TeamId(1))), Access::Hidden);
    }

    #[test]
    fn assignment_is_limited_by_role() {
        let agent = viewer(1, Role::Agent, &[]);
        assert!(agent.may_assign_to(None, None));
        assert!(agent.may_assign_to(Some(UserId(1)), None));
        assert!(!agent.may_assign_to(Some(UserId(2)), Some(TeamId(1))));
        let sup = viewer(9, Role::Supervisor, &[1]);
        assert!(sup.may_assign_to(Some(UserId(2)), Some(TeamId(1))));
        assert!(!sup.may_assign_to(Some(UserId(3)), Some(TeamId(2))));
        assert!(viewer(1, Role::Admin, &[]).may_assign_to(Some(UserId(3)), Some(TeamId(2))));
    }
}
