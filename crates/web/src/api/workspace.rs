//! The agent's workspace API: today's numbers and revisits, the live event stream (reminders,
//! recorded calls), daily plans, targets, the motivation ticker and the supervisor's live view.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use leadline_domain::{LeadId, TickerId, UserId};
use leadline_store::call_stats::StatsDay;
use leadline_store::notify::{Changes, Kind, Woken};
use leadline_store::ownership::reclaim::pass::{RECLAIM_WARNING, RECLAIMED};
use leadline_store::quality::reviews::REVIEWED as QC_REVIEWED;
use leadline_store::sales::approvals::{DISCOUNT_DECIDED, DISCOUNT_REQUESTED};
use leadline_store::sales::reminders::{PAYMENT_DUE_SOON, PAYMENT_OVERDUE};
use leadline_store::telephony::reminder_calls::REVISIT_CALL_BACK;
use leadline_store::telephony::voicemails::VOICEMAIL_PASSED;
// issue 24: report and plan notices
use leadline_store::work_reports::{daily, plans as work_plans};
use leadline_store::workday::{collision, notifications, today};
use leadline_store::{Db, now, workday::live, workday::plans, workday::ticker};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Path;
use super::{JsonBody, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;
use leadline_engine::jobs_runner::POLL_EVERY;

/// The zone times are shown in to a user whose stored zone does not parse (a user's zone is
/// always set, Asia/Shanghai by default). Only for showing times: statistics days, claims,
/// pool statistics and the sales reports follow the organisation's zone
/// (`call_stats::org_zone`).
pub const USER_ZONE_FALLBACK: Tz = leadline_domain::calling_hours::DEFAULT_TZ;

/// The most revisits the workspace lists.
pub const REVISIT_LIMIT: i64 = 200;
/// How many days of coming revisits the workspace lists after today's.
pub const REVISIT_DAYS_AHEAD: u64 = 7;

/// The statistics day of an instant in the organisation's zone: the day `record_call` counts in.
pub async fn stats_day(db: &Db, at: DateTime<Utc>) -> leadline_store::Result<StatsDay> {
    leadline_store::call_stats::today(db, at).await
}

/// The caller's time zone.
pub fn zone_of(caller: &Caller) -> Tz {
    caller.user.time_zone.parse().unwrap_or(USER_ZONE_FALLBACK)
}

/// The caller's calendar date of an instant.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant of `date` in `tz`, in UTC.
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// The first instant after `date` in `tz`, in UTC.
pub fn day_end(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    day_start(tz, date.checked_add_days(Days::new(1)).unwrap_or(date))
}

#[derive(Debug, Serialize)]
pub struct RevisitView {
    pub lead_id: LeadId,
    pub name: String,
    pub company: Option<String>,
    pub due_at: DateTime<Utc>,
    /// Due now (its time has come).
    pub due: bool,
    /// Past its time by more than the grace period; the supervisor sees it too.
    pub overdue: bool,
}

/// What the workspace header shows.
#[derive(Debug, Serialize)]
pub struct TodayView {
    pub day: String,
    /// The daily call target and what is left of it; `null` for those who are not set calls
    /// (sales reps, finance).
    pub target: Option<i64>,
    pub done: i64,
    pub remaining: Option<i64>,
    pub stats: today::DayStats,
    pub revisits: Vec<RevisitView>,
}

/// Whether `role` is set a daily calling target. Issue 25: a sales rep (and finance) is not,
/// until their own work has targets.
pub fn has_call_target(role: leadline_domain::Role) -> bool {
    !matches!(
        role,
        leadline_domain::Role::Sales | leadline_domain::Role::Finance
    )
}

pub async fn today_view(db: &Db, caller: &Caller) -> leadline_store::Result<TodayView> {
    let at = now();
    let agent = caller.user.id;
    let stats_day = stats_day(db, at).await?;
    let stats = today::stats(db, agent, &stats_day).await?;
    let day = stats_day.label();
    let target = if has_call_target(caller.user.role) {
        Some(today::target(db, agent).await?)
    } else {
        None
    };
    let tz = zone_of(caller);
    // Due and overdue revisits, and the week's coming ones so the agent sees what is scheduled.
    let today_date = local_date(tz, at);
    let until = day_end(
        tz,
        today_date
            .checked_add_days(Days::new(REVISIT_DAYS_AHEAD))
            .unwrap_or(today_date),
    );
    let revisits = leadline_store::workday::due_revisits(db, agent, until, REVISIT_LIMIT)
        .await?
        .into_iter()
        .map(|r| RevisitView {
            due: r.next_revisit_at <= at,
            overdue: r.next_revisit_at < at - today::OVERDUE_AFTER,
            lead_id: r.lead_id,
            name: r.name,
            company: r.company,
            due_at: r.next_revisit_at,
        })
        .collect();
    Ok(TodayView {
        day,
        target,
        done: stats.calls,
        remaining: target.map(|t| (t - stats.calls).max(0)),
        stats,
        revisits,
    })
}

/// GET /api/v1/agent/today
#[utoipa::path(get, path = "/api/v1/agent/today", responses((status = 200, description = "Target, done, remaining, counters and the due, overdue and coming revisits")))]
pub async fn today(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TodayView>> {
    Ok(Json(today_view(&state.db, &caller).await?))
}

// ---------------------------------------------------------------------------------------------
// Live events
// ---------------------------------------------------------------------------------------------

/// One open event stream: what it has sent so far and where news comes from (the database's
/// announcements of this user's calls and notifications, on any app server; without any, a
/// look every catch-up period).
struct Feed {
    db: Db,
    caller: Caller,
    changes: Changes,
    catch_up: std::time::Duration,
    stop: tokio::sync::watch::Receiver<bool>,
    /// The newest notification already sent.
    cursor: i64,
    /// The newest call of this user already announced.
    last_call: i64,
    last_poll: Instant,
    queue: VecDeque<Event>,
    /// issue 27 (dial): the seat's phone as last sent (`phone` events).
    phone: String,
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

impl Feed {
    /// Queues what is new since the last look: reminders, then a recorded call.
    async fn poll(&mut self) -> leadline_store::Result<()> {
        self.last_poll = Instant::now();
        // Logged out, token revoked, session expired or deactivated: the stream ends.
        if self.caller.signed_in_now(&self.db).await?.is_none() {
            return Err(leadline_store::StoreError::Forbidden);
        }
        let user = self.caller.user.id;
        let fresh = notifications::after(&self.db, user, self.cursor).await?;
        if !fresh.is_empty() {
            let ids: Vec<i64> = fresh.iter().map(|n| n.id).collect();
            for n in &fresh {
                self.cursor = self.cursor.max(n.id);
                self.queue
                    .push_back(event("reminder", &notice_json(self.caller.lang, n)));
            }
            notifications::mark_delivered(&self.db, user, &ids, now()).await?;
        }
        let phone = super::phone_calls::phone_view(&self.db, &self.caller).await?;
        let shown = phone.to_string();
        if shown != self.phone {
            self.phone = shown;
            self.queue.push_back(event("phone", &phone));
        }
        let last = today::latest_call_id(&self.db, user).await?;
        if last > self.last_call {
            self.last_call = last;
            let t = today_view(&self.db, &self.caller).await?;
            self.queue.push_back(event(
                "call_recorded",
                &json!({ "call_id": last, "done": t.done, "remaining": t.remaining, "target": t.target }),
            ));
        }
        Ok(())
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some((Ok(e), self));
            }
            if *self.stop.borrow() {
                return None;
            }
            let me = self.caller.user.id;
            tokio::select! {
                _ = self.stop.changed() => return None,
                woken = self.changes.wait_for(self.catch_up, |c| c.kind != Kind::Job && c.concerns(me)) => {
                    if woken == Woken::Closed {
                        return None;
                    }
                }
            }
            // Announcements for everyone (a sign-out somewhere, a batch of notices) come in
            // bursts: one look per POLL_EVERY answers them.
            let gap = POLL_EVERY.saturating_sub(self.last_poll.elapsed());
            if !gap.is_zero() {
                tokio::select! {
                    _ = self.stop.changed() => return None,
                    _ = tokio::time::sleep(gap) => {}
                }
            }
            self.changes.drain();
            match self.poll().await {
                Ok(()) => {}
                Err(leadline_store::StoreError::Forbidden) => return None,
                Err(e) => tracing::warn!(error = %e, "event stream poll failed"),
            }
        }
    }
}

/// GET /api/v1/agent/events — server-sent events: `ready` once, then `reminder` for each due
/// revisit, `call_recorded` with the new counters after each recorded call, and `phone` (issue
/// 27) whenever the seat's phone changes (the body of GET /api/v1/agent/phone).
#[utoipa::path(get, path = "/api/v1/agent/events", responses((status = 200, description = "text/event-stream: `ready`, `reminder`, `call_recorded`, `phone`")))]
pub async fn events(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    let user = caller.user.id;
    // Subscribed before the first read: nothing written after it is missed.
    let changes = state.hub.changes.subscribe();
    let db = state.db.clone();
    // Reminders written while no screen was open are shown now; later ones as they come.
    let waiting = notifications::undelivered(&db, user).await?;
    let latest = notifications::latest_id(&db, user).await?;
    let last_call = today::latest_call_id(&db, user).await?;
    let t = today_view(&db, &caller).await?;
    let mut queue = VecDeque::new();
    queue.push_back(event(
        "ready",
        &json!({ "done": t.done, "remaining": t.remaining, "target": t.target }),
    ));
    for n in &waiting {
        queue.push_back(event("reminder", &notice_json(caller.lang, n)));
    }
    let ids: Vec<i64> = waiting.iter().map(|n| n.id).collect();
    notifications::mark_delivered(&db, user, &ids, now()).await?;
    // A call on the seat now pops up at once; one over is not shown again.
    let phone = super::phone_calls::phone_view(&db, &caller).await?;
    if !phone["phone"].is_null() && phone["phone"]["state"] != "ended" {
        queue.push_back(event("phone", &phone));
    }
    let feed = Feed {
        phone: phone.to_string(),
        db,
        caller,
        stop: state.hub.stopping(),
        changes,
        catch_up: state.events_catch_up,
        cursor: latest,
        last_call,
        last_poll: Instant::now(),
        queue,
    };
    let stream = futures_util::stream::unfold(feed, Feed::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

// ---------------------------------------------------------------------------------------------
// Daily plan and targets
// ---------------------------------------------------------------------------------------------

/// The plan date asked for, or the caller's today.
fn plan_date(caller: &Caller, asked: Option<&str>) -> ApiResult<NaiveDate> {
    match asked.filter(|s| !s.is_empty()) {
        None => Ok(local_date(zone_of(caller), now())),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            AppError::Store(leadline_store::StoreError::invalid("date", "invalid_date"))
        }),
    }
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    pub date: String,
    pub target: i64,
    pub items: Vec<plans::PlanItem>,
}

async fn plan_view(db: &Db, caller: &Caller, date: NaiveDate) -> ApiResult<PlanView> {
    let d = date.format("%Y-%m-%d").to_string();
    Ok(PlanView {
        items: plans::list(db, caller.user.id, &d).await?,
        target: today::target(db, caller.user.id).await?,
        date: d,
    })
}

/// GET /api/v1/agent/plan?date=YYYY-MM-DD
#[utoipa::path(get, path = "/api/v1/agent/plan", params(("date" = Option<String>, Query, description = "YYYY-MM-DD, default today")), responses((status = 200, description = "The plan for the day")))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<PlanView>> {
    let pairs = query_pairs(q.as_deref());
    let date = plan_date(&caller, pair(&pairs, "date"))?;
    Ok(Json(plan_view(&state.db, &caller, date).await?))
}

#[derive(Debug, Deserialize)]
pub struct PickBody {
    #[serde(default)]
    pub date: Option<String>,
    pub lead_ids: Vec<i64>,
}

/// POST /api/v1/agent/plan — adds the picked leads (ones the caller may see) to the plan.
#[utoipa::path(post, path = "/api/v1/agent/plan", request_body(content = String, description = "`{\"date\": \"YYYY-MM-DD\", \"lead_ids\": [1, 2]}`"), responses((status = 201, description = "Added"), (status = 404, description = "A lead the caller may not see")))]
pub async fn pick(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PickBody>,
) -> ApiResult<impl IntoResponse> {
    let date = plan_date(&caller, body.date.as_deref())?;
    let ids: Vec<LeadId> = body.lead_ids.iter().map(|i| LeadId(*i)).collect();
    let d = date.format("%Y-%m-%d").to_string();
    let added = plans::pick(&state.db, &caller.viewer, &d, &ids).await?;
    let view = plan_view(&state.db, &caller, date).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "added": added, "plan": view })),
    ))
}

#[derive(Debug, Deserialize, Default)]
pub struct FillBody {
    #[serde(default)]
    pub date: Option<String>,
}

/// POST /api/v1/agent/plan/fill — fills the plan up to the target from due revisits, then
/// fresh leads.
#[utoipa::path(post, path = "/api/v1/agent/plan/fill", request_body(content = String, description = "`{\"date\": \"YYYY-MM-DD\"}`"), responses((status = 200, description = "Filled from due revisits, then fresh leads, up to the target")))]
pub async fn fill(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<FillBody>,
) -> ApiResult<Json<Value>> {
    let date = plan_date(&caller, body.date.as_deref())?;
    let filled = fill_plan(&state.db, &caller, date).await?;
    let view = plan_view(&state.db, &caller, date).await?;
    Ok(Json(json!({ "filled": filled, "plan": view })))
}

pub async fn fill_plan(
    db: &Db,
    caller: &Caller,
    date: NaiveDate,
) -> leadline_store::Result<plans::Filled> {
    let target = today::target(db, caller.user.id).await?;
    let end = day_end(zone_of(caller), date);
    let d = date.format("%Y-%m-%d").to_string();
    plans::fill(db, caller.user.id, &d, target, end, now()).await
}

/// DELETE /api/v1/agent/plan/{lead_id}?date=YYYY-MM-DD
#[utoipa::path(delete, path = "/api/v1/agent/plan/{lead_id}", params(("lead_id" = i64, Path, description = "Lead"), ("date" = Option<String>, Query, description = "YYYY-MM-DD")), responses((status = 204, description = "Removed")))]
pub async fn unplan(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<LeadId>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let pairs = query_pairs(q.as_deref());
    let date = plan_date(&caller, pair(&pairs, "date"))?;
    let d = date.format("%Y-%m-%d").to_string();
    plans::remove(&state.db, caller.user.id, &d, lead).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct TargetBody {
    pub daily_calls: i64,
}

/// PUT /api/v1/agents/{id}/target — the admin or a supervisor of the agent's team.
#[utoipa::path(put, path = "/api/v1/agents/{id}/target", params(("id" = i64, Path, description = "Agent")), request_body(content = String, description = "`{\"daily_calls\": 80}`"), responses((status = 200, description = "Set"), (status = 403, description = "Not the admin or a supervisor of the agent's team")))]
pub async fn set_target(
    State(state): State<AppState>,
    caller: Caller,
    Path(agent): Path<UserId>,
    JsonBody(body): JsonBody<TargetBody>,
) -> ApiResult<Json<Value>> {
    let daily = plans::set_target(&state.db, &caller.viewer, agent, body.daily_calls).await?;
    Ok(Json(json!({ "agent_id": agent, "daily_calls": daily })))
}

// ---------------------------------------------------------------------------------------------
// Ticker
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct TickerView {
    pub messages: Vec<ticker::TickerMessage>,
    pub achievements: Vec<Value>,
    pub team_today: today::DayStats,
    /// Every line to scroll, in the caller's language.
    pub lines: Vec<String>,
}

pub async fn ticker_view(db: &Db, caller: &Caller) -> leadline_store::Result<TickerView> {
    let at = now();
    let team = caller.user.team_id;
    let messages = ticker::list(db).await?;
    let day = stats_day(db, at).await?;
    let since = day_start(day.zone, day.date);
    let wins = ticker::achievements(db, team, since).await?;
    let team_today = ticker::team_totals(db, team, &day).await?;
    let l = caller.lang;
    let mut lines: Vec<String> = wins
        .iter()
        .map(|w| l.tf("ticker.achievement", &[("name", &w.agent_name)]))
        .collect();
    if team_today.calls > 0 {
        lines.push(l.tf(
            "ticker.team_today",
            &[
                ("calls", &team_today.calls.to_string()),
                ("connected", &team_today.connected.to_string()),
                ("qualified", &team_today.qualified.to_string()),
            ],
        ));
    }
    lines.extend(messages.iter().map(|m| m.body.clone()));
    Ok(TickerView {
        achievements: wins
            .iter()
            .map(|w| json!({ "agent_id": w.agent_id, "agent_name": w.agent_name, "at": w.at }))
            .collect(),
        messages,
        team_today,
        lines,
    })
}

/// GET /api/v1/ticker
#[utoipa::path(get, path = "/api/v1/ticker", responses((status = 200, description = "Sentences, team achievements and today's team totals")))]
pub async fn ticker(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TickerView>> {
    Ok(Json(ticker_view(&state.db, &caller).await?))
}

#[derive(Debug, Deserialize)]
pub struct TickerBody {
    pub body: String,
}

/// POST /api/v1/ticker — admin only.
#[utoipa::path(post, path = "/api/v1/ticker", request_body(content = String, description = "`{\"body\": \"…\"}`"), responses((status = 201, description = "Created"), (status = 403, description = "Admin only")))]
pub async fn create_ticker(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<TickerBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let m = ticker::create(&state.db, caller.user.id, &body.body).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// DELETE /api/v1/ticker/{id} — admin only.
#[utoipa::path(delete, path = "/api/v1/ticker/{id}", params(("id" = i64, Path, description = "Sentence")), responses((status = 204, description = "Deleted"), (status = 403, description = "Admin only")))]
pub async fn delete_ticker(
    State(state): State<AppState>,
    caller: Caller,
    Path(TickerId(id)): Path<TickerId>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    ticker::delete(&state.db, caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Supervisor live view
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct LiveAgent {
    #[serde(flatten)]
    pub agent: live::AgentToday,
    pub progress_pct: i64,
    pub overdue_revisits: usize,
}

#[derive(Debug, Serialize)]
pub struct OverdueView {
    pub lead_id: LeadId,
    pub name: String,
    pub agent_id: UserId,
    pub agent_name: String,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct LiveView {
    pub day: String,
    pub agents: Vec<LiveAgent>,
    pub teams: Vec<live::TeamTotals>,
    pub overdue: Vec<OverdueView>,
}

pub async fn live_view(db: &Db, caller: &Caller) -> leadline_store::Result<LiveView> {
    let at = now();
    let stats_day = stats_day(db, at).await?;
    let agents = live::agents_today(db, &caller.viewer, &stats_day).await?;
    let day = stats_day.label();
    let ids: Vec<UserId> = agents.iter().map(|a| a.agent_id).collect();
    let overdue = today::overdue(db, Some(&ids), at).await?;
    let teams = live::team_totals(&agents);
    let name_of = |id: UserId| {
        agents
            .iter()
            .find(|a| a.agent_id == id)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let overdue_views = overdue
        .iter()
        .map(|r| OverdueView {
            lead_id: r.lead_id,
            name: r.name.clone(),
            agent_id: r.agent_id,
            agent_name: name_of(r.agent_id),
            due_at: r.due_at,
        })
        .collect();
    Ok(LiveView {
        day,
        agents: agents
            .into_iter()
            .map(|a| LiveAgent {
                progress_pct: a.progress_pct(),
                overdue_revisits: overdue.iter().filter(|r| r.agent_id == a.agent_id).count(),
                agent: a,
            })
            .collect(),
        teams,
        overdue: overdue_views,
    })
}

/// GET /api/v1/supervisor/live — supervisors (their teams) and the admin (everyone).
#[utoipa::path(get, path = "/api/v1/supervisor/live", responses((status = 200, description = "Per agent today, per team totals, overdue revisits"), (status = 403, description = "Agents and sales")))]
pub async fn supervisor_live(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<LiveView>> {
    Ok(Json(live_view(&state.db, &caller).await?))
}

// ---------------------------------------------------------------------------------------------
// Revisit preview
// ---------------------------------------------------------------------------------------------

/// GET /api/v1/agent/revisit-preview?lead_id=…&disposition=…&intent=… — the revisit the rules
/// would schedule, to prefill the call form.
#[utoipa::path(get, path = "/api/v1/agent/revisit-preview", params(("lead_id" = i64, Query, description = "Lead"), ("disposition" = String, Query, description = "Disposition code"), ("intent" = Option<String>, Query, description = "Intent level")), responses((status = 200, description = "The revisit the rules would schedule")))]
pub async fn revisit_preview(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<leadline_store::workday::revisit_preview::Preview>> {
    let pairs = query_pairs(q.as_deref());
    let lead = pair(&pairs, "lead_id")
        .and_then(|s| s.parse().ok())
        .ok_or(AppError::BadRequest("lead_id_required"))?;
    let disposition = pair(&pairs, "disposition")
        .filter(|s| !s.is_empty())
        .ok_or(AppError::BadRequest("disposition_required"))?;
    let intent = match pair(&pairs, "intent").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            leadline_domain::IntentLevel::parse(s).ok_or(AppError::BadRequest("intent_invalid"))?,
        ),
    };
    Ok(Json(
        leadline_store::workday::revisit_preview::preview(
            &state.db,
            &caller.viewer,
            LeadId(lead),
            disposition,
            intent,
            now(),
        )
        .await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Ownership in the workspace (issue 22): reclaim notices, 撞单 before a call
// ---------------------------------------------------------------------------------------------

/// The sentence of a reclaim notification in `lang` (还剩 N 天将回收到公海：… / … 已回收到公海
/// （规则：…）); `None` for other kinds, which the workspace words itself.
pub fn notice_text(lang: Lang, n: &notifications::Notification) -> Option<String> {
    let name = n
        .lead_name
        .clone()
        .or_else(|| n.lead_id.map(|id| format!("#{id}")))
        .unwrap_or_default();
    let order = n.order_id.map(|id| format!("#{id}")).unwrap_or_default();
    match n.kind.as_str() {
        RECLAIM_WARNING => Some(lang.tn(
            "ws.notice.reclaim_warning",
            n.days.unwrap_or_default(),
            &[
                ("days", &n.days.unwrap_or_default().to_string()),
                ("name", &name),
            ],
        )),
        RECLAIMED => {
            let rule = match (&n.rule_basis, n.rule_days) {
                (Some(basis), Some(days)) => lang.tn(
                    "ws.notice.rule",
                    days,
                    &[
                        ("basis", lang.t(&format!("reclaim.basis.{basis}"))),
                        ("days", &days.to_string()),
                    ],
                ),
                _ => "—".to_string(),
            };
            Some(lang.tf("ws.notice.reclaimed", &[("name", &name), ("rule", &rule)]))
        }
        DISCOUNT_REQUESTED => Some(lang.tf("ws.notice.discount_requested", &[("order", &order)])),
        DISCOUNT_DECIDED => Some(lang.tf(
            match n.outcome.as_deref() {
                Some("approved") => "ws.notice.discount_approved",
                _ => "ws.notice.discount_rejected",
            },
            &[("order", &order)],
        )),
        PAYMENT_DUE_SOON => Some(lang.tf("ws.notice.payment_due_soon", &[("order", &order)])),
        PAYMENT_OVERDUE => Some(lang.tf("ws.notice.payment_overdue", &[("order", &order)])),
        REVISIT_CALL_BACK => Some(lang.tf("ws.notice.revisit_call_back", &[("order", &order)])),
        QC_REVIEWED => Some(lang.tf(
            "ws.notice.qc_reviewed",
            &[
                (
                    "call",
                    &n.call_id.map(|c| format!("#{c}")).unwrap_or_default(),
                ),
                ("score", &n.score.unwrap_or_default().to_string()),
                ("max", &n.max_score.unwrap_or_default().to_string()),
            ],
        )),
        // issue 24: daily reports and work plans
        daily::REPORT_DUE | daily::REPORT_COMMENTED => {
            // The day as written in the notice (the statistics day in the zone of then).
            let day = n.day.clone().unwrap_or_default();
            let key = if n.kind == daily::REPORT_DUE {
                "ws.notice.daily_report_due"
            } else {
                "ws.notice.daily_report_commented"
            };
            Some(lang.tf(key, &[("day", &day)]))
        }
        work_plans::PLAN_SUBMITTED => Some(lang.t("ws.notice.work_plan_submitted").to_string()),
        work_plans::PLAN_DECIDED => Some(
            lang.t(match n.outcome.as_deref() {
                Some("approved") => "ws.notice.work_plan_approved",
                _ => "ws.notice.work_plan_rejected",
            })
            .to_string(),
        ),
        // issue 27: a voicemail passed to the user
        VOICEMAIL_PASSED => Some(lang.tf(
            "ws.notice.voicemail_passed",
            &[(
                "id",
                &n.voicemail_id.map(|v| format!("#{v}")).unwrap_or_default(),
            )],
        )),
        _ => None,
    }
}

/// Where a worded notice leads: the order of a sales notice, else the lead.
pub fn notice_href(n: &notifications::Notification) -> Option<String> {
    if let (QC_REVIEWED, Some(call)) = (n.kind.as_str(), n.call_id) {
        return Some(format!("/quality/calls/{call}"));
    }
    // issue 24: a report notice leads to the day's report, a plan notice to the plans.
    match n.kind.as_str() {
        daily::REPORT_DUE | daily::REPORT_COMMENTED => {
            let day = n.day.as_deref()?;
            return Some(format!("/reports/daily?date={day}"));
        }
        work_plans::PLAN_SUBMITTED | work_plans::PLAN_DECIDED => return Some("/plans".to_string()),
        VOICEMAIL_PASSED => {
            return Some(match n.voicemail_id {
                Some(id) => format!("/voicemails#vm-{id}"),
                None => "/voicemails".to_string(),
            });
        }
        _ => {}
    }
    match (n.order_id, n.lead_id) {
        (Some(order), _) => Some(format!("/sales/orders/{order}")),
        (None, Some(lead)) => Some(format!("/leads/{lead}")),
        (None, None) => None,
    }
}

/// A notification as the event stream sends it: the stored facts, and for reclaim notices
/// their sentence in the caller's language (`text`).
pub fn notice_json(lang: Lang, n: &notifications::Notification) -> Value {
    let mut v = notifications::event_json(n);
    if let Some(text) = notice_text(lang, n) {
        v["text"] = Value::String(text);
        v["href"] = notice_href(n).map_or(Value::Null, Value::String);
    }
    v
}

/// GET /api/v1/agent/leads/{id}/collision — before a call: the record another person owns that
/// shares the lead's phone, company or e-mail (its owner, since when, protection, last calls),
/// or `null`.
#[utoipa::path(get, path = "/api/v1/agent/leads/{id}/collision", params(("id" = i64, Path, description = "Lead")),
    responses((status = 200, description = "`{\"collision\": null | {match_kind, owner_id, owner_name, owned_since, protected_until, deal, personal, last_calls, case_id}}`"),
        (status = 404, description = "not_found: a lead the caller may not see")))]
pub async fn collision_warning(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<LeadId>,
) -> ApiResult<Json<Value>> {
    leadline_store::leads::get(&state.db, &caller.viewer, lead).await?;
    let found = collision::before_call(&state.db, &caller.viewer, lead).await?;
    Ok(Json(json!({ "collision": found })))
}

/// POST /api/v1/agent/leads/{id}/collision — opens a case (撞单) about the lead against the
/// record another person owns, once per pair of records; `case_id` is null when nothing
/// collides.
#[utoipa::path(post, path = "/api/v1/agent/leads/{id}/collision", params(("id" = i64, Path, description = "Lead")),
    responses((status = 200, description = "`{\"case_id\": id | null}`"), (status = 404, description = "not_found: a lead the caller may not see")))]
pub async fn open_collision(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<LeadId>,
) -> ApiResult<Json<Value>> {
    leadline_store::leads::get(&state.db, &caller.viewer, lead).await?;
    let case = collision::open_case(&state.db, &caller.viewer, lead, now()).await?;
    Ok(Json(json!({ "case_id": case })))
}
