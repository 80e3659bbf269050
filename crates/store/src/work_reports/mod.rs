//! What people hand to their supervisor (issue 24): the daily work report (工作日报, [`daily`])
//! with its comments and reminder, and weekly / monthly work plans (周 / 月计划表, [`plans`]) for
//! approval. Who may see what is decided here, once: the person, the supervisors of the person's
//! team, and admins.

pub mod daily;
pub mod plans;
#[cfg(test)]
pub(crate) mod tests;

use leadline_domain::{Role, UserId, Viewer};

use crate::auth::users::{User, get_user};
use crate::{Db, Result, StoreError};

/// The longest free text kept (a summary, a plan's items, a comment).
pub const MAX_TEXT: usize = 4000;

/// How `viewer` stands to a person's reports and plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The person themself.
    Own,
    /// An admin, or a supervisor of the person's team: reads, comments, decides.
    Supervises,
}

/// The person and how `viewer` stands to them; `NotFound` for anyone else (so that a
/// colleague's reports cannot be probed for).
pub async fn standing(db: &Db, viewer: &Viewer, person: UserId) -> Result<(User, Standing)> {
    let user = get_user(db, person).await?;
    if viewer.user_id == person {
        return Ok((user, Standing::Own));
    }
    let supervises = viewer.role == Role::Admin
        || user
            .team_id
            .is_some_and(|t| viewer.supervised_teams.contains(&t));
    if supervises {
        Ok((user, Standing::Supervises))
    } else {
        Err(StoreError::NotFound)
    }
}

/// A free text field, trimmed; `required` refuses an empty one.
pub(crate) fn text(field: &str, value: &str, required: bool) -> Result<String> {
    let t = value.trim();
    if required && t.is_empty() {
        return Err(StoreError::invalid(field, "required"));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(StoreError::invalid(field, "too_long"));
    }
    Ok(t.to_string())
}
