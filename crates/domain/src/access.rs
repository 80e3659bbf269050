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

impl Viewer {
    /// Agents and sales reps see their own leads and the pool; supervisors also see leads owned
    /// by members of the teams they supervise; admins see everything. Whoever sees a lead may edit it.
    pub fn access(&self, owner: Option<UserId>, owner_team: Option<TeamId>) -> Access {
        let allowed = match (self.role, owner) {
            (Role::Admin, _) => true,
            (_, None) => true,
            (_, Some(o)) if o == self.user_id => true,
            (Role::Supervisor, Some(_)) => {
                owner_team.is_some_and(|t| self.supervised_teams.contains(&t))
            }
            (Role::Agent | Role::Sales, Some(_)) => false,
        };
        if allowed {
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
