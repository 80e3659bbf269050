//! The agent's workspace page (the screen an agent lives in all day), the daily plan page, the
//! supervisor's live view and the ticker admin page.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use chrono::{Days, NaiveDate};
use leadline_domain::{CaseId, IntentLevel, LeadId, Role, TickerId, UserId};
use leadline_store::leads::{self, Lead};
use leadline_store::workday::{collision, notifications, today};
use leadline_store::{audit, workday::calls, workday::plans, workday::ticker};

use super::Path;
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::workspace::{
    LiveView, TodayView, fill_plan, has_call_target, live_view, local_date, notice_href,
    notice_text, ticker_view, today_view, zone_of,
};
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;
use crate::pages::leads::{CallLine, TimelineEntry};

pub struct DispButton {
    pub code: String,
    pub label: String,
    pub hotkey: String,
}

/// A call in the lead card: the lead page's line plus the revisit it scheduled.
pub struct WsCall {
    pub when: String,
    pub agent: String,
    pub duration: i64,
    pub disposition: String,
    pub intent: String,
    pub notes: String,
    pub revisit: String,
}

impl From<(CallLine, String)> for WsCall {
    fn from((c, revisit): (CallLine, String)) -> WsCall {
        WsCall {
            when: c.when,
            agent: c.agent,
            duration: c.duration,
            disposition: c.disposition,
            intent: c.intent,
            notes: c.notes,
            revisit,
        }
    }
}

/// The current lead with its whole history and its script pane.
pub struct LeadCard {
    pub lead: Lead,
    pub status: String,
    pub intent: String,
    pub calls: Vec<WsCall>,
    pub timeline: Vec<TimelineEntry>,
    pub knowledge: super::scripts::LeadPane,
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    nav: Nav,
    today: TodayView,
    ticker: Vec<String>,
    card: Option<LeadCard>,
    reserved_until: Option<String>,
    dispositions: Vec<DispButton>,
    intents: Vec<(&'static str, &'static str)>,
    /// 撞单 before the call: the served lead's customer is another person's.
    collision: Option<CollisionView>,
    /// Reclaim notices not yet shown: (sentence, lead).
    notices: Vec<(String, Option<String>)>,
    /// issue 24: the month's target progress, when targets are set.
    progress: Option<super::targets::ProgressView>,
}

/// The warning above the phone numbers when the lead's phone, company or e-mail is on a record
/// another person owns: what a case shows its parties (owner, since when, protection, the last
/// calls without notes), never the other record itself.
pub struct CollisionView {
    pub lead_id: LeadId,
    pub matched: &'static str,
    pub owner: String,
    pub since: String,
    pub protection: String,
    /// (when, agent, disposition)
    pub calls: Vec<(String, String, String)>,
    pub case_id: Option<CaseId>,
}

async fn collision_view(
    state: &AppState,
    caller: &Caller,
    nav: &Nav,
    lead: LeadId,
    dispositions: &[DispButton],
) -> Result<Option<CollisionView>, AppError> {
    let l = caller.lang;
    let Some(found) = collision::before_call(&state.db, &caller.viewer, lead).await? else {
        return Ok(None);
    };
    let label = |code: &str| {
        dispositions
            .iter()
            .find(|d| d.code == code)
            .map_or_else(|| code.to_string(), |d| d.label.clone())
    };
    let mut protection = Vec::new();
    if found.deal {
        protection.push(l.t("collision.protected_deal").to_string());
    } else if let Some(until) = found.protected_until {
        protection.push(l.tf(
            "ws.collision.protected_until",
            &[("date", &nav.time(&until))],
        ));
    }
    if found.personal {
        protection.push(l.t("collision.personal").to_string());
    }
    Ok(Some(CollisionView {
        lead_id: lead,
        matched: l.t(&format!("ws.collision.match_{}", found.match_kind)),
        owner: found.owner_name,
        since: nav.time(&found.owned_since),
        protection: if protection.is_empty() {
            l.t("ws.collision.unprotected").to_string()
        } else {
            protection.join(" · ")
        },
        calls: found
            .last_calls
            .iter()
            .map(|c| {
                (
                    nav.time(&c.started_at),
                    c.agent_name.clone(),
                    label(&c.disposition),
                )
            })
            .collect(),
        case_id: found.case_id,
    }))
}

/// The reclaim notices `caller` has not seen, worded in their language; shown on this page,
/// they count as delivered (the event stream does not repeat them).
async fn reclaim_notices(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<(String, Option<String>)>, AppError> {
    let user = caller.user.id;
    let waiting = notifications::undelivered(&state.db, user).await?;
    let mut shown = Vec::new();
    let mut ids = Vec::new();
    for n in &waiting {
        if let Some(text) = notice_text(caller.lang, n) {
            ids.push(n.id);
            shown.push((text, notice_href(n)));
        }
    }
    notifications::mark_delivered(&state.db, user, &ids, leadline_store::now()).await?;
    Ok(shown)
}

async fn lead_card(
    state: &AppState,
    caller: &Caller,
    nav: &Nav,
    id: LeadId,
    chosen_script: Option<i64>,
) -> Result<LeadCard, AppError> {
    let l = caller.lang;
    let lang = l.code();
    let lead = leads::get(&state.db, &caller.viewer, id).await?;
    let history = audit::history(&state.db, "lead", lead.id.0).await?;
    let timeline = super::leads::timeline(nav, &state.db, &history).await?;
    let calls = calls::for_lead(&state.db, lead.id)
        .await?
        .into_iter()
        .map(|c| {
            let revisit = c.next_revisit_at.map(|t| nav.time(&t)).unwrap_or_default();
            WsCall::from((super::leads::call_line(nav, c), revisit))
        })
        .collect();
    let knowledge = super::scripts::lead_pane(state, caller, &lead, chosen_script).await?;
    Ok(LeadCard {
        status: lead.status.label(lang).to_string(),
        intent: lead
            .intent
            .map(|i| i.label(lang).to_string())
            .unwrap_or_default(),
        lead,
        calls,
        timeline,
        knowledge,
    })
}

/// GET /workspace?lead=…&script=…
pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let nav = Nav::new(&caller, "/workspace");
    let lead_id = pair(&pairs, "lead").and_then(|s| s.parse::<i64>().ok());
    let chosen_script = pair(&pairs, "script").and_then(|s| s.parse().ok());
    let card = match lead_id {
        Some(id) => Some(
            lead_card(&state, &caller, &nav, LeadId(id), chosen_script)
                .await
                .or_page(l)?,
        ),
        None => None,
    };
    let reserved_until = pair(&pairs, "until")
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| nav.time(&t.with_timezone(&chrono::Utc)));
    let dispositions = leadline_store::workday::config::dispositions(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .filter(|d| d.d.active)
        .map(|d| DispButton {
            label: d.d.label(l.code()).to_string(),
            hotkey: d.d.hotkey.map(String::from).unwrap_or_default(),
            code: d.d.code,
        })
        .collect::<Vec<_>>();
    let collision = match &card {
        Some(c) => collision_view(&state, &caller, &nav, c.lead.id, &dispositions)
            .await
            .or_page(l)?,
        None => None,
    };
    let notices = reclaim_notices(&state, &caller).await.or_page(l)?;
    let progress = super::targets::own_progress(&state.db, &nav, &caller)
        .await
        .or_page(l)?;
    let page = WorkspacePage {
        progress,
        collision,
        notices,
        today: today_view(&state.db, &caller).await.or_page(l)?,
        ticker: ticker_view(&state.db, &caller).await.or_page(l)?.lines,
        card,
        reserved_until,
        dispositions,
        intents: IntentLevel::ALL
            .iter()
            .map(|i| (i.code(), i.label(l.code())))
            .collect(),
        nav,
    };
    Ok(render(&page))
}

/// POST /workspace/collision — 提交撞单 from the warning: opens the case about the lead (once
/// per pair of records) and shows it.
pub async fn open_collision(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let lead = LeadId(form.text("lead_id").parse().unwrap_or(0));
    leads::get(&state.db, &caller.viewer, lead)
        .await
        .or_page(l)?;
    let case = collision::open_case(&state.db, &caller.viewer, lead, leadline_store::now())
        .await
        .or_page(l)?;
    let to = match case {
        Some(id) => format!("/collisions/{id}"),
        None => format!("/workspace?lead={lead}"),
    };
    Ok(Redirect::to(&to).into_response())
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    nav: Nav,
    date: String,
    /// None for those not set calls (issue 25).
    target: Option<i64>,
    items: Vec<plans::PlanItem>,
    /// Leads the agent may add: (id, name, company).
    candidates: Vec<(i64, String, String)>,
    message: Option<String>,
}

fn date_param(caller: &Caller, asked: Option<&str>) -> NaiveDate {
    asked
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .unwrap_or_else(|| {
            let today = local_date(zone_of(caller), leadline_store::now());
            today.checked_add_days(Days::new(1)).unwrap_or(today)
        })
}

async fn plan_page(
    state: &AppState,
    caller: &Caller,
    date: NaiveDate,
    message: Option<String>,
) -> PageResult {
    let l = caller.lang;
    let d = date.format("%Y-%m-%d").to_string();
    let items = plans::list(&state.db, caller.user.id, &d)
        .await
        .or_page(l)?;
    let filter = leads::LeadFilter {
        statuses: vec![leadline_domain::LeadStatus::New],
        ..Default::default()
    };
    let listed = leads::list(
        &state.db,
        &caller.viewer,
        &filter,
        leads::Sort::Oldest,
        50,
        None,
    )
    .await
    .or_page(l)?;
    let candidates = listed
        .items
        .into_iter()
        .filter(|x| !items.iter().any(|i| i.lead_id == x.id))
        .map(|x| (x.id.0, x.name, x.company.unwrap_or_default()))
        .collect();
    let page = PlanPage {
        nav: Nav::new(caller, "/workspace/plan"),
        target: if has_call_target(caller.user.role) {
            Some(today::target(&state.db, caller.user.id).await.or_page(l)?)
        } else {
            None
        },
        date: d,
        items,
        candidates,
        message,
    };
    Ok(render(&page))
}

/// GET /workspace/plan?date=… (tomorrow by default: the plan is made before leaving)
pub async fn plan(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let pairs = query_pairs(query.as_deref());
    let date = date_param(&caller, pair(&pairs, "date"));
    plan_page(&state, &caller, date, None).await
}

/// POST /workspace/plan — picks the checked leads.
pub async fn plan_pick(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let date = date_param(caller, form.get("date"));
    let d = date.format("%Y-%m-%d").to_string();
    let ids: Vec<LeadId> = form
        .all("lead_id")
        .iter()
        .filter_map(|s| s.parse().ok())
        .map(LeadId)
        .collect();
    let message = match plans::pick(&state.db, &caller.viewer, &d, &ids).await {
        Ok(n) => l.tf("plan.added", &[("n", &n.to_string())]),
        Err(e) => l.error_message(&AppError::from(e)),
    };
    plan_page(&state, caller, date, Some(message)).await
}

/// POST /workspace/plan/fill
pub async fn plan_fill(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let date = date_param(caller, form.get("date"));
    let filled = fill_plan(&state.db, caller, date).await.or_page(l)?;
    let message = l.tf(
        "plan.filled",
        &[
            ("revisits", &filled.revisits.to_string()),
            ("fresh", &filled.fresh.to_string()),
        ],
    );
    plan_page(&state, caller, date, Some(message)).await
}

/// POST /workspace/plan/remove
pub async fn plan_remove(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let date = date_param(caller, form.get("date"));
    let d = date.format("%Y-%m-%d").to_string();
    let lead = form.text("lead_id").parse().unwrap_or(0);
    plans::remove(&state.db, caller.user.id, &d, LeadId(lead))
        .await
        .or_page(l)?;
    Ok(Redirect::to(&format!("/workspace/plan?date={d}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Supervisor live view and targets
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "supervisor_live.html")]
struct LivePage {
    nav: Nav,
    live: LiveView,
}

impl LivePage {
    fn minutes(&self, seconds: &i64) -> String {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    }
}

/// GET /supervisor/live
pub async fn live(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    let l = caller.lang;
    let live = live_view(&state.db, &caller).await.or_page(l)?;
    let page = LivePage {
        nav: Nav::new(&caller, "/supervisor/live"),
        live,
    };
    Ok(render(&page))
}

/// GET /static/live.js — the live view's script: the table follows the pushed numbers.
pub async fn live_script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/live.js"),
    )
}

/// POST /supervisor/targets/{id}
pub async fn set_target(
    State(state): State<AppState>,
    Path(agent): Path<UserId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let daily = form.text("daily_calls").parse().unwrap_or(0);
    plans::set_target(&state.db, &caller.viewer, agent, daily)
        .await
        .or_page(l)?;
    Ok(Redirect::to("/supervisor/live").into_response())
}

// ---------------------------------------------------------------------------------------------
// Ticker admin
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "ticker_admin.html")]
struct TickerPage {
    nav: Nav,
    messages: Vec<ticker::TickerMessage>,
    error: Option<String>,
}

async fn ticker_page(state: &AppState, caller: &Caller, error: Option<String>) -> PageResult {
    let l = caller.lang;
    if caller.user.role != Role::Admin {
        return Err(super::PageError(l, AppError::Forbidden));
    }
    let page = TickerPage {
        nav: Nav::new(caller, "/admin/ticker"),
        messages: ticker::list(&state.db).await.or_page(l)?,
        error,
    };
    Ok(render(&page))
}

/// GET /admin/ticker
pub async fn ticker_admin(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
) -> PageResult {
    ticker_page(&state, &caller, None).await
}

/// POST /admin/ticker
pub async fn ticker_create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    match ticker::create(&state.db, caller.user.id, &form.text("body")).await {
        Ok(_) => Ok(Redirect::to("/admin/ticker").into_response()),
        Err(e) => ticker_page(&state, caller, Some(l.error_message(&AppError::from(e)))).await,
    }
}

/// POST /admin/ticker/{id}/delete
pub async fn ticker_delete(
    State(state): State<AppState>,
    Path(TickerId(id)): Path<TickerId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    ticker::delete(&state.db, caller.user.id, id)
        .await
        .or_page(l)?;
    Ok(Redirect::to("/admin/ticker").into_response())
}
