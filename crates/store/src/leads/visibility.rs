//! Which leads a viewer may see, as SQL: the one rendering of [`Viewer::lead_scope`], shared by
//! the lists, counts and exports, the next call and the search of call notes.

use leadline_domain::{LeadScope, UserId, Viewer};

/// The SQL condition "`viewer` may see the lead aliased `lead`" — the rule of
/// [`Viewer::access`], which decides the lead card (a lead it shows read-only, to a backup
/// owner not granted edits, is seen here too). Deleted leads are left to the caller: who may see
/// them differs by screen (the list's `deleted` view, none in the next call or search).
///
/// `me` renders the viewer's user id: a placeholder the caller binds (`sql.arg(..)`, or the
/// `$1` of a statement whose text is shared by every agent); it is asked only when the
/// condition needs it. A supervisor's teams and the viewer's pools are written into the text as
/// numbers: ids only, and the statement is the same for every call of that viewer.
pub fn visible_leads(viewer: &Viewer, lead: &str, me: impl FnOnce(UserId) -> String) -> String {
    visible_in_scope(viewer.lead_scope(), lead, me)
}

/// The SQL condition "a record aliased `record` is within `scope`", for any table that holds a
/// record the way `leads` does (`owner_id`, `backup_owner_id`, `pool_id`): leads through
/// [`visible_leads`], customers through `customers::visible_customers`. `me` as there.
pub fn visible_in_scope(
    scope: LeadScope<'_>,
    lead: &str,
    me: impl FnOnce(UserId) -> String,
) -> String {
    match scope {
        LeadScope::All => "TRUE".to_string(),
        LeadScope::Nothing => "FALSE".to_string(),
        LeadScope::PoolOwnAndTeams {
            me: id,
            teams,
            pools,
        } => {
            let me = me(id);
            let pool = if pools.is_empty() {
                format!("{lead}.pool_id IS NULL")
            } else {
                format!(
                    "({lead}.pool_id IS NULL OR {lead}.pool_id IN ({}))",
                    ids(pools)
                )
            };
            let mut cond = format!(
                "(({lead}.owner_id IS NULL AND {pool}) OR {lead}.owner_id = {me} OR {lead}.backup_owner_id = {me}"
            );
            if !teams.is_empty() {
                cond.push_str(&format!(
                    " OR {lead}.owner_id IN (SELECT tm.id FROM users tm WHERE tm.team_id IN ({}))",
                    ids(teams)
                ));
            }
            cond.push(')');
            cond
        }
    }
}

fn ids<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
