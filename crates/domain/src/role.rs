//! The roles of a telesales business and what each may do: the calling floor (agents,
//! supervisors), sales reps, finance (财务: customers, orders and payments, not the floor) and
//! admins.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Sales,
    Supervisor,
    Admin,
    /// 财务: records payments and issues collection notices; sees customers and orders, not
    /// the calling floor's leads.
    Finance,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Agent,
        Role::Sales,
        Role::Supervisor,
        Role::Admin,
        Role::Finance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Sales => "sales",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Finance => "finance",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Supervisors and admins may delete and restore leads and assign owners.
    pub fn manages_leads(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_codes() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_supervisors_and_admins_manage_leads() {
        assert!(!Role::Agent.manages_leads());
        assert!(!Role::Sales.manages_leads());
        assert!(Role::Supervisor.manages_leads());
        assert!(Role::Admin.manages_leads());
    }
}
