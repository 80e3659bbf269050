//! Who may see and change a lead: the one rule behind every list, page and API call.

use crate::{PoolId, Role, TeamId, UserId};

/// The person asking, with the teams they supervise and the named pools open to them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: UserId,
    pub role: Role,
    pub supervised_teams: Vec<TeamId>,
    /// The named pools (公海) open to the viewer's team or the teams they supervise. The
    /// default pool (a pool lead with no `pool_id`) is open to everyone.
    pub pools: Vec<PoolId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// May read and change the lead.
    Edit,
    /// May read the lead but not change it (a backup owner not granted edits).
    Read,
    /// Must not learn that the lead exists.
    Hidden,
}

/// The facts about a lead that decide who may see it: its owner (and the owner's team), its
/// backup owner (副负责人) and, for a lead in a pool, which pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holder {
    pub owner: Option<UserId>,
    pub owner_team: Option<TeamId>,
    pub backup: Option<UserId>,
    pub backup_may_edit: bool,
    pub pool: Option<PoolId>,
}

impl Holder {
    /// A lead owned by `owner` (a member of `owner_team`), or in the default pool when `None`,
    /// with no backup owner.
    pub fn owned(owner: Option<UserId>, owner_team: Option<TeamId>) -> Holder {
        Holder {
            owner,
            owner_team,
            ..Holder::default()
        }
    }
}

/// Which leads a viewer may see, in the one form that both [`Viewer::access`] (in Rust) and the
/// store's SQL rendering (`leadline_store::leads::visible_leads`) read, so that a change to who
/// sees what is made here once and both follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadScope<'a> {
    /// Every lead (admins).
    All,
    /// No lead at all (finance: not the calling floor).
    Nothing,
    /// Pool leads in the default pool or one of `pools`, the viewer's own, the leads they are
    /// the backup owner of, and leads whose owner is a member of one of `teams` (the teams a
    /// supervisor supervises; none for agents and sales reps).
    PoolOwnAndTeams {
        me: UserId,
        teams: &'a [TeamId],
        pools: &'a [PoolId],
    },
}

impl LeadScope<'_> {
    /// What the scope allows on a lead with these facts.
    pub fn holds(self, h: &Holder) -> Access {
        match self {
            LeadScope::All => Access::Edit,
            LeadScope::Nothing => Access::Hidden,
            LeadScope::PoolOwnAndTeams { me, teams, pools } => {
                let sees = match h.owner {
                    None => h.pool.is_none_or(|p| pools.contains(&p)),
                    Some(o) => o == me || h.owner_team.is_some_and(|t| teams.contains(&t)),
                };
                if sees {
                    Access::Edit
                } else if h.backup == Some(me) {
                    if h.backup_may_edit {
                        Access::Edit
                    } else {
                        Access::Read
                    }
                } else {
                    Access::Hidden
                }
            }
        }
    }
}

impl Viewer {
    /// Agents and sales reps see their own leads, those they back up and the pools open to
    /// them; supervisors also see leads owned by members of the teams they supervise; admins
    /// see everything; finance sees no lead (customers only, see
    /// [`customer_scope`](Viewer::customer_scope)).
    pub fn lead_scope(&self) -> LeadScope<'_> {
        match self.role {
            Role::Admin => LeadScope::All,
            Role::Finance => LeadScope::Nothing,
            Role::Supervisor => LeadScope::PoolOwnAndTeams {
                me: self.user_id,
                teams: &self.supervised_teams,
                pools: &self.pools,
            },
            Role::Agent | Role::Sales => LeadScope::PoolOwnAndTeams {
                me: self.user_id,
                teams: &[],
                pools: &self.pools,
            },
        }
    }

    /// What this viewer may do with a lead with the facts `h`: its
    /// [`lead_scope`](Viewer::lead_scope).
    pub fn access(&self, h: &Holder) -> Access {
        self.lead_scope().holds(h)
    }

    /// Which customers this viewer may see: the leads' rule (a customer has an owner, a backup
    /// and a pool like a lead), except that finance sees every customer, to record payments.
    pub fn customer_scope(&self) -> LeadScope<'_> {
        match self.role {
            Role::Finance => LeadScope::All,
            _ => self.lead_scope(),
        }
    }

    /// What this viewer may do with a customer with the facts `h`: its
    /// [`customer_scope`](Viewer::customer_scope), read-only for finance (payments are
    /// recorded on orders, not by changing the customer).
    pub fn customer_access(&self, h: &Holder) -> Access {
        match (self.role, self.customer_scope().holds(h)) {
            (Role::Finance, Access::Edit) => Access::Read,
            (_, access) => access,
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
            Role::Finance => false,
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
            pools: vec![],
        }
    }

    #[test]
    fn agents_see_their_own_and_the_pool_only() {
        let a = viewer(1, Role::Agent, &[]);
        assert_eq!(
            a.access(&Holder::owned(Some(UserId(1)), Some(TeamId(1)))),
            Access::Edit
        );
        assert_eq!(a.access(&Holder::owned(None, None)), Access::Edit);
        assert_eq!(
            a.access(&Holder::owned(Some(UserId(2)), Some(TeamId(1)))),
            Access::Hidden
        );
        let s = viewer(5, Role::Sales, &[]);
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(2)), None)),
            Access::Hidden
        );
    }

    #[test]
    fn supervisors_see_their_teams() {
        let s = viewer(9, Role::Supervisor, &[1]);
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(2)), Some(TeamId(1)))),
            Access::Edit
        );
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(3)), Some(TeamId(2)))),
            Access::Hidden
        );
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(3)), None)),
            Access::Hidden
        );
        assert_eq!(s.access(&Holder::owned(None, None)), Access::Edit);
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(9)), None)),
            Access::Edit
        );
    }

    #[test]
    fn admins_see_everything() {
        let a = viewer(1, Role::Admin, &[]);
        assert_eq!(
            a.access(&Holder::owned(Some(UserId(2)), Some(TeamId(7)))),
            Access::Edit
        );
        assert_eq!(
            a.access(&Holder::owned(Some(UserId(2)), None)),
            Access::Edit
        );
    }

    #[test]
    fn a_supervisor_without_teams_sees_like_an_agent() {
        let s = viewer(9, Role::Supervisor, &[]);
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(9)), Some(TeamId(1)))),
            Access::Edit
        );
        assert_eq!(s.access(&Holder::owned(None, None)), Access::Edit);
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(2)), Some(TeamId(1)))),
            Access::Hidden
        );
        assert_eq!(
            s.access(&Holder::owned(Some(UserId(2)), None)),
            Access::Hidden
        );
    }

    #[test]
    fn only_supervisors_see_by_team() {
        let a = Viewer {
            supervised_teams: vec![TeamId(1)],
            ..viewer(1, Role::Agent, &[])
        };
        assert_eq!(
            a.access(&Holder::owned(Some(UserId(2)), Some(TeamId(1)))),
            Access::Hidden
        );
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
    #[test]
    fn named_pools_are_open_to_their_teams_only() {
        let mut a = viewer(1, Role::Agent, &[]);
        let in_pool = |p: i64| Holder {
            pool: Some(PoolId(p)),
            ..Holder::default()
        };
        assert_eq!(a.access(&in_pool(7)), Access::Hidden);
        a.pools = vec![PoolId(7)];
        assert_eq!(a.access(&in_pool(7)), Access::Edit);
        assert_eq!(a.access(&in_pool(8)), Access::Hidden);
        assert_eq!(
            viewer(2, Role::Admin, &[]).access(&in_pool(8)),
            Access::Edit
        );
    }

    #[test]
    fn finance_reads_every_customer_and_sees_no_lead() {
        let f = viewer(7, Role::Finance, &[]);
        let someone_elses = Holder::owned(Some(UserId(2)), Some(TeamId(1)));
        assert_eq!(f.access(&someone_elses), Access::Hidden);
        assert_eq!(f.access(&Holder::owned(None, None)), Access::Hidden);
        assert_eq!(f.customer_access(&someone_elses), Access::Read);
        assert_eq!(f.customer_access(&Holder::owned(None, None)), Access::Read);
        assert!(!f.may_assign_to(None, None));
        assert!(!f.may_assign_to(Some(UserId(7)), None));
    }

    #[test]
    fn customers_are_seen_by_the_leads_rule() {
        let agent = viewer(1, Role::Agent, &[]);
        let sup = viewer(9, Role::Supervisor, &[1]);
        for h in [
            Holder::owned(Some(UserId(1)), Some(TeamId(1))),
            Holder::owned(Some(UserId(2)), Some(TeamId(1))),
            Holder::owned(Some(UserId(3)), Some(TeamId(2))),
            Holder::owned(None, None),
            Holder {
                owner: Some(UserId(2)),
                backup: Some(UserId(1)),
                ..Holder::default()
            },
        ] {
            assert_eq!(agent.customer_access(&h), agent.access(&h));
            assert_eq!(sup.customer_access(&h), sup.access(&h));
        }
        assert_eq!(
            agent.customer_access(&Holder::owned(Some(UserId(3)), Some(TeamId(2)))),
            Access::Hidden
        );
    }

    #[test]
    fn a_backup_owner_reads_and_edits_only_when_granted() {
        let b = viewer(3, Role::Agent, &[]);
        let mut h = Holder {
            owner: Some(UserId(2)),
            owner_team: Some(TeamId(1)),
            backup: Some(UserId(3)),
            ..Holder::default()
        };
        assert_eq!(b.access(&h), Access::Read);
        h.backup_may_edit = true;
        assert_eq!(b.access(&h), Access::Edit);
        assert_eq!(viewer(4, Role::Agent, &[]).access(&h), Access::Hidden);
    }
}
