//! Pages of the people around a record (issue 22): the hand-over list (交接记录: a sales
//! rep's queue, what an agent handed, a supervisor's teams) and the list page's batch
//! assignment (批量分配 / 转移).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{LeadId, Role, TeamId, UserId, Viewer};
use leadline_store::StoreError;
use leadline_store::auth::users::{self, User};
use leadline_store::ownership::people::{self, AssignTarget, Handover};

use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

#[derive(Template)]
#[template(path = "handovers.html")]
struct HandoversPage {
    nav: Nav,
    tabs: Vec<(&'static str, &'static str, bool)>,
    items: Vec<Handover>,
}

/// 交接记录: `?direction=to_me|from_me|team`, by default what the role needs first.
pub async fn handovers(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let direction = crate::api::people::direction_of(pair(&pairs, "direction"), &caller)
        .map_err(|e| super::PageError(l, e))?;
    let items = people::handovers(&state.db, &caller.viewer, direction)
        .await
        .or_page(l)?;
    let mut tabs = vec![
        ("to_me", "people.to_me", false),
        ("from_me", "people.from_me", false),
    ];
    if caller.user.role.manages_leads() {
        tabs.push(("team", "people.team", false));
    }
    for tab in &mut tabs {
        tab.2 = tab.0 == direction.code();
    }
    let nav = Nav::new(&caller, "/handovers");
    Ok(render(&HandoversPage { nav, tabs, items }))
}

/// The batch form of the list page, for supervisors and admins: the people and teams they may
/// assign to, and the outcome of the last batch (from the redirect's query).
pub struct BatchForm {
    pub people: Vec<(i64, String)>,
    pub teams: Vec<(i64, String)>,
    pub message: Option<String>,
}

/// The query keys the batch's redirect adds to the list's address (not filters).
pub const OUTCOME_KEYS: [&str; 3] = ["assigned", "same", "refused"];

fn may_take(viewer: &Viewer, u: &User) -> bool {
    u.active
        && matches!(u.role, Role::Agent | Role::Sales)
        && viewer.may_assign_to(Some(u.id), u.team_id)
}

/// The batch form for `caller` (`None` for agents and reps).
pub async fn batch_form(
    state: &AppState,
    nav: &Nav,
    viewer: &Viewer,
    pairs: &[(String, String)],
) -> Result<Option<BatchForm>, StoreError> {
    if !viewer.role.manages_leads() {
        return Ok(None);
    }
    let people = users::list_users(&state.db)
        .await?
        .into_iter()
        .filter(|u| may_take(viewer, u))
        .map(|u| (u.id.0, u.display_name))
        .collect();
    let teams = users::list_teams(&state.db)
        .await?
        .into_iter()
        .filter(|t| viewer.role == Role::Admin || viewer.supervised_teams.contains(&t.id))
        .map(|t| (t.id.0, t.name))
        .collect();
    let count = |k: &str| pair(pairs, k).and_then(|v| v.parse::<u32>().ok());
    let message = count("assigned").map(|n| {
        nav.t("people.assigned")
            .replace("{n}", &n.to_string())
            .replace("{same}", &count("same").unwrap_or(0).to_string())
            .replace("{refused}", &count("refused").unwrap_or(0).to_string())
    });
    Ok(Some(BatchForm {
        people,
        teams,
        message,
    }))
}

/// 批量分配 / 转移 from the list page: the ticked leads (`lead_id`, repeated) to a person
/// (`to_user_id`) or dealt over a team (`round_robin_team_id`); back to the list with the
/// outcome counted.
pub async fn assign(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let number = |k: &str| -> Result<Option<i64>, StoreError> {
        match form.get(k).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| StoreError::invalid(k, "not_a_number")),
        }
    };
    let target = match (
        number("to_user_id").or_page(l)?,
        number("round_robin_team_id").or_page(l)?,
    ) {
        (Some(u), None) => AssignTarget::Person(UserId(u)),
        (None, Some(t)) => AssignTarget::RoundRobin(TeamId(t)),
        _ => return Err(StoreError::invalid("to_user_id", "one_target")).or_page(l),
    };
    let ids = form
        .all("lead_id")
        .iter()
        .map(|v| v.parse().map(LeadId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| StoreError::invalid("lead_ids", "not_a_number"))
        .or_page(l)?;
    let reason = Some(form.text("reason")).filter(|r| !r.is_empty());
    let out = people::assign(
        &state.db,
        &form.caller.viewer,
        &ids,
        target,
        reason,
        leadline_store::now(),
    )
    .await
    .or_page(l)?;
    // Back to the list as it was filtered (its query comes along in `back`).
    let back = form.text("back");
    let back = if back.starts_with('?') || back.is_empty() {
        back.trim_start_matches('?').to_string()
    } else {
        String::new()
    };
    let mut query: Vec<(String, String)> = query_pairs(Some(&back))
        .into_iter()
        .filter(|(k, _)| !OUTCOME_KEYS.contains(&k.as_str()))
        .collect();
    query.push(("assigned".into(), out.assigned.len().to_string()));
    query.push(("same".into(), out.unchanged.len().to_string()));
    query.push(("refused".into(), out.refused.len().to_string()));
    let qs: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    Ok(Redirect::to(&format!("/leads?{qs}")).into_response())
}
