//! 计划 pages (issue 24): the caller's weekly and monthly plans (the form and the history) and,
//! for a supervisor, the team's plans waiting for approval with approve / reject.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::targets::PlanPeriod;
use leadline_store::StoreError;
use leadline_store::now;
use leadline_store::targets::progress::day_text;
use leadline_store::work_reports::daily::today_of;
use leadline_store::work_reports::plans::{self, Goals, PlanInput, WorkPlan};

use super::sales::{parse_yuan, yuan};
use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

#[derive(Template)]
#[template(path = "work_plans.html")]
struct PlansPage {
    nav: Nav,
    mine: Vec<WorkPlan>,
    waiting: Vec<WorkPlan>,
    week_start: String,
    month_start: String,
    saved: bool,
}

impl PlansPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }

    fn status_label(&self, status: &str) -> &'static str {
        self.nav.t(&format!("plan.status.{status}"))
    }

    fn period_label(&self, period: &str) -> &'static str {
        self.nav.t(&format!("plan.period.{period}"))
    }
}

/// GET /plans — the caller's plans and, for supervisors, their teams' plans awaiting approval.
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let v = &caller.viewer;
    let mine = plans::list(&state.db, v, Some(caller.user.id), None)
        .await
        .or_page(l)?;
    let waiting = if caller.user.role.manages_leads() {
        plans::list(&state.db, v, None, Some("submitted"))
            .await
            .or_page(l)?
            .into_iter()
            .filter(|p| p.user_id != caller.user.id)
            .collect()
    } else {
        Vec::new()
    };
    let today = today_of(now()).or_page(l)?;
    let pairs = query_pairs(q.as_deref());
    Ok(render(&PlansPage {
        nav: Nav::new(&caller, "/plans"),
        mine,
        waiting,
        week_start: day_text(PlanPeriod::Week.containing(today).0),
        month_start: day_text(PlanPeriod::Month.containing(today).0),
        saved: pair(&pairs, "saved").is_some(),
    }))
}

fn count(form: &PageForm, field: &str) -> Result<i64, StoreError> {
    let t = form.text(field);
    let t = t.trim();
    if t.is_empty() {
        return Ok(0);
    }
    t.parse()
        .map_err(|_| StoreError::invalid(&format!("goals.{field}"), "not_a_number"))
}

/// POST /plans — submits the caller's plan (the week or month form).
pub async fn submit(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let revenue = form.text("revenue");
    let goals = Goals {
        calls: count(&form, "calls").or_page(l)?,
        valid_conversations: count(&form, "valid_conversations").or_page(l)?,
        qualified: count(&form, "qualified").or_page(l)?,
        new_customers: count(&form, "new_customers").or_page(l)?,
        visits: count(&form, "visits").or_page(l)?,
        orders: count(&form, "orders").or_page(l)?,
        revenue_fen: if revenue.trim().is_empty() {
            0
        } else {
            parse_yuan("goals.revenue_fen", &revenue).or_page(l)?
        },
    };
    let input = PlanInput {
        period: form.text("period"),
        period_start: form.text("period_start"),
        items: form.text("items"),
        goals,
    };
    plans::submit(&state.db, &form.caller.viewer, &input, now())
        .await
        .or_page(l)?;
    Ok(Redirect::to("/plans?saved=1").into_response())
}

/// POST /plans/{id}/decision — approve or reject (`decision` = approve | reject, `note`).
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    let approve = form.text("decision") == "approve";
    let note = form.text("note");
    plans::decide(
        &state.db,
        &form.caller.viewer,
        id,
        approve,
        Some(note.as_str()),
        now(),
    )
    .await
    .or_page(l)?;
    Ok(Redirect::to("/plans").into_response())
}
