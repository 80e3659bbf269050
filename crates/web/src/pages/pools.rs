//! The pool page (/pools, 公海): the leads waiting in a pool with a 领取 button each, what is
//! left of the caller's limits, a pool selector, the masked-phone setting (admins) and pool
//! statistics (supervisors and admins); and the ownership pane of the lead card (归属记录, the
//! countdown, 释放到公海 for the owner).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use chrono::{DateTime, Utc};
use leadline_domain::ownership::{ClaimRefusal, days_left};
use leadline_domain::{LeadId, PoolId, Role};
use leadline_store::leads::Lead;
use leadline_store::ownership::{claim, events, pools};
use leadline_store::{StoreError, now};

use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;
use crate::i18n::Lang;

pub struct PoolChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct FlowLine {
    pub label: String,
    pub put_in: i64,
    pub claimed: i64,
    pub reclaimed: i64,
}

impl FlowLine {
    fn of(label: String, f: &leadline_store::ownership::pool_stats::Flow) -> FlowLine {
        FlowLine {
            label,
            put_in: f.put_in,
            claimed: f.claimed,
            reclaimed: f.reclaimed,
        }
    }
}

pub struct StatsView {
    pub from: String,
    pub to: String,
    pub total: FlowLine,
    /// By day, by person, by pool: a title and its lines.
    pub sections: Vec<(&'static str, Vec<FlowLine>)>,
}

#[derive(Template)]
#[template(path = "pools.html")]
struct PoolsPage {
    nav: Nav,
    pool_param: String,
    choices: Vec<PoolChoice>,
    count_text: String,
    leads: Vec<pools::PoolLead>,
    next_href: Option<String>,
    claims_left: String,
    held_left: Option<String>,
    message: Option<String>,
    error: Option<String>,
    mask_phone: bool,
    stats: Option<StatsView>,
}

/// The message of a claim's outcome carried in the query after the redirect: only known codes,
/// so that nothing typed into the address is shown.
fn outcome(l: Lang, pairs: &[(String, String)]) -> (Option<String>, Option<String>) {
    if let Some(name) = pair(pairs, "claimed") {
        return (Some(l.tf("pool.claimed", &[("name", name)])), None);
    }
    if let Some(owner) = pair(pairs, "referred") {
        return (
            None,
            Some(l.tf("error.claim_referred", &[("owner", owner)])),
        );
    }
    if pair(pairs, "saved").is_some() {
        return (Some(l.t("pool.settings_saved").to_string()), None);
    }
    let refusal = match pair(pairs, "refused") {
        Some("already_owned") => ClaimRefusal::AlreadyOwned,
        Some("claim_limit") => ClaimRefusal::DailyLimit,
        Some("cooldown") => {
            match pair(pairs, "until").and_then(|u| u.parse::<DateTime<Utc>>().ok()) {
                Some(until) => ClaimRefusal::Cooldown { until },
                None => return (None, None),
            }
        }
        Some("not_found") => {
            return (None, Some(l.error_message(&AppError::NotFound)));
        }
        _ => return (None, None),
    };
    (
        None,
        Some(l.error_message(&AppError::Store(StoreError::ClaimRefused(refusal)))),
    )
}

fn pool_param(pairs: &[(String, String)]) -> Option<PoolId> {
    pair(pairs, "pool")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p > 0)
        .map(PoolId)
}

/// GET /pools
pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let pool = pool_param(&pairs);
    let after = pair(&pairs, "after")
        .and_then(|a| a.parse::<i64>().ok())
        .map(LeadId);
    let db = &state.db;
    let list = pools::list_for(db, &caller.viewer).await.or_page(l)?;
    let leads = pools::leads_in(db, &caller.viewer, pool, after)
        .await
        .or_page(l)?;
    let limits = pools::limits_left(db, &caller.viewer, now())
        .await
        .or_page(l)?;
    let pool_value = pool.map(|p| p.0.to_string()).unwrap_or_default();
    let choices = list
        .iter()
        .map(|p| PoolChoice {
            value: p.id.map(|id| id.0.to_string()).unwrap_or_default(),
            label: format!(
                "{} ({})",
                p.name
                    .clone()
                    .unwrap_or_else(|| l.t("pool.default").to_string()),
                p.leads
            ),
            selected: p.id == pool,
        })
        .collect();
    let count = list.iter().find(|p| p.id == pool).map_or(0, |p| p.leads);
    let next_href = (leads.len() as i64 >= pools::PAGE).then(|| {
        let last = leads.last().map_or(0, |r| r.id.0);
        format!("/pools?pool={pool_value}&after={last}")
    });
    let (message, error) = outcome(l, &pairs);
    let stats = if caller.user.role.manages_leads() {
        let today = leadline_store::call_stats::today(db, leadline_store::now())
            .await
            .or_page(l)?
            .date;
        let (from, to) =
            crate::api::pools::stats_period(pair(&pairs, "from"), pair(&pairs, "to"), today)
                .or_page(l)?;
        let s = leadline_store::ownership::pool_stats::stats(db, from, to)
            .await
            .or_page(l)?;
        Some(StatsView {
            from: from.to_string(),
            to: to.to_string(),
            total: FlowLine::of(l.t("pool.total").to_string(), &s.total),
            sections: vec![
                (
                    l.t("pool.by_day"),
                    s.by_day
                        .iter()
                        .map(|d| FlowLine::of(d.day.to_string(), &d.flow))
                        .collect(),
                ),
                (
                    l.t("pool.by_person"),
                    s.by_person
                        .iter()
                        .map(|p| FlowLine::of(p.name.clone(), &p.flow))
                        .collect(),
                ),
                (
                    l.t("pool.by_pool"),
                    s.by_pool
                        .iter()
                        .map(|p| {
                            let name = p
                                .name
                                .clone()
                                .unwrap_or_else(|| l.t("pool.default").to_string());
                            FlowLine::of(name, &p.flow)
                        })
                        .collect(),
                ),
            ],
        })
    } else {
        None
    };
    let mask_phone = pools::mask_phone(db).await.or_page(l)?;
    let nav = Nav::new(&caller, "/pools");
    Ok(render(&PoolsPage {
        claims_left: match limits.claims_left {
            Some(n) => l.tf("pool.claims_left", &[("n", &n.to_string())]),
            None => l.t("pool.no_daily_limit").to_string(),
        },
        held_left: limits
            .held_left
            .map(|n| l.tf("pool.held_left", &[("n", &n.to_string())])),
        nav,
        pool_param: pool_value,
        choices,
        count_text: l.tn("pool.leads_count", count, &[("n", &count.to_string())]),
        leads,
        next_href,
        message,
        error,
        mask_phone,
        stats,
    }))
}

/// POST /pools/claim: claims `lead_id` and comes back to the pool page with what happened.
pub async fn claim(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let pool = form.text("pool");
    let back = |extra: String| format!("/pools?pool={pool}&{extra}");
    let Ok(lead) = form.text("lead_id").parse::<i64>().map(LeadId) else {
        return Ok(Redirect::to(&back("refused=not_found".into())).into_response());
    };
    let to = match claim::claim(&state.db, &caller.viewer, lead, now()).await {
        Ok(()) => {
            let name = leadline_store::leads::get(&state.db, &caller.viewer, lead)
                .await
                .map(|l| l.name)
                .unwrap_or_default();
            back(format!("claimed={}", urlencode(&name)))
        }
        Err(StoreError::ClaimRefused(r)) => match r {
            ClaimRefusal::Cooldown { until } => back(format!(
                "refused=cooldown&until={}",
                urlencode(&until.to_rfc3339())
            )),
            other => back(format!("refused={}", other.code())),
        },
        Err(StoreError::ClaimReferred { owner_name, .. }) => {
            back(format!("referred={}", urlencode(&owner_name)))
        }
        Err(StoreError::NotFound) => back("refused=not_found".into()),
        Err(e) => return Err(super::PageError(caller.lang, e.into())),
    };
    Ok(Redirect::to(&to).into_response())
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// POST /pools/settings (admin): the masked phone of pool leads on or off.
pub async fn settings(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    pools::set_mask_phone(&state.db, caller.user.id, form.checked("mask_phone"))
        .await
        .or_page(l)?;
    Ok(Redirect::to("/pools?saved=1").into_response())
}

/// POST /leads/{id}/release: the owner (or their supervisor, or an admin) gives the lead back
/// to its pool with a reason; back on the card, or on the pool page when it is out of sight.
pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<LeadId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    claim::release(
        &state.db,
        &caller.viewer,
        id,
        &form.text("reason"),
        None,
        now(),
    )
    .await
    .or_page(l)?;
    match leadline_store::leads::get(&state.db, &caller.viewer, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/leads/{id}")).into_response()),
        Err(_) => Ok(Redirect::to("/pools").into_response()),
    }
}

/// One change of owner as the lead card shows it.
pub struct EventLine {
    pub when: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub by: String,
    pub detail: String,
}

/// The ownership pane of the lead card (`pools_lead_pane.html`).
pub struct LeadPane {
    /// 还剩 N 天, when the lead will return to its pool.
    pub countdown: Option<String>,
    pub reclaim_at: Option<String>,
    pub can_release: bool,
    pub events: Vec<EventLine>,
}

/// 还剩 N 天 for a lead with a countdown.
pub fn countdown(l: Lang, lead: &Lead) -> Option<String> {
    lead.ownership.reclaim_at.map(|at| {
        let n = days_left(at, now());
        l.tn("pool.days_left", n, &[("n", &n.to_string())])
    })
}

pub async fn lead_pane(
    state: &AppState,
    caller: &Caller,
    nav: &Nav,
    lead: &Lead,
) -> leadline_store::Result<LeadPane> {
    let l = caller.lang;
    let v = &caller.viewer;
    let can_release = lead.deleted_at.is_none()
        && lead.owner_id.is_some_and(|o| {
            o == v.user_id
                || v.role == Role::Admin
                || (v.role == Role::Supervisor
                    && lead
                        .owner_team_id
                        .is_some_and(|t| v.supervised_teams.contains(&t)))
        });
    let events = events::history(&state.db, lead.id)
        .await?
        .into_iter()
        .rev()
        .map(|e| {
            let mut detail = Vec::new();
            if let Some(r) = &e.reason {
                // The reasons the system writes have words; a person's reason is shown as typed.
                detail.push(match r.as_str() {
                    "call" | "attempts" => l.t(&format!("pool.reason.{r}")).to_string(),
                    _ => r.clone(),
                });
            }
            if let Some(rule) = e.rule_id {
                detail.push(l.tf("pool.rule", &[("id", &rule.to_string())]));
            }
            EventLine {
                when: nav.time(&e.at),
                action: l.t(&format!("pool.event.{}", e.action)).to_string(),
                from: e.from_name.unwrap_or_else(|| {
                    if e.from_user.is_none() {
                        l.t("lead.pool").to_string()
                    } else {
                        String::new()
                    }
                }),
                to: e.to_name.unwrap_or_else(|| l.t("lead.pool").to_string()),
                by: e.actor_name.unwrap_or_default(),
                detail: detail.join(" · "),
            }
        })
        .collect();
    Ok(LeadPane {
        countdown: countdown(l, lead),
        reclaim_at: lead.ownership.reclaim_at.map(|at| nav.time(&at)),
        can_release,
        events,
    })
}
