//! The day's visit plan (/visits/plan?day=…): the route in order (客户路序) with arrows to
//! reorder, a form to record each visit with its market information, and a print stylesheet
//! that turns it into the day's customer cards; and the "due for contact" list
//! (/customers/due) with the supervisor's grade override.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use leadline_domain::UserId;
use leadline_domain::dates::parse_date;
use leadline_domain::pipeline::VISIT_RESULTS;
use leadline_store::pipeline::grades;
use leadline_store::pipeline::visits::{self, Stop, VisitInput};
use leadline_store::{StoreError, now};

use super::pipeline::Choice;
use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::i18n::Lang;

/// The day named, else today in the organisation's zone (`org_time_zone`).
async fn day_of(db: &leadline_store::Db, v: Option<&str>) -> Result<NaiveDate, StoreError> {
    match v.and_then(parse_date) {
        Some(d) => Ok(d),
        None => Ok(leadline_store::call_stats::today(db, now()).await?.date),
    }
}

#[derive(Template)]
#[template(path = "visit_plan.html")]
struct PlanPage {
    nav: Nav,
    day: String,
    mine: bool,
    stops: Vec<Stop>,
    results: Vec<Choice>,
    customers: Vec<Choice>,
    notice: Option<String>,
}

/// GET /visits/plan?day=YYYY-MM-DD[&user_id=]: the day's route, printable.
pub async fn plan(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let day = day_of(&state.db, pair(&pairs, "day")).await.or_page(l)?;
    let user = pair(&pairs, "user_id")
        .and_then(|u| u.parse::<i64>().ok())
        .map_or(caller.viewer.user_id, UserId);
    let db = &state.db;
    let stops = visits::day_plan(db, &caller.viewer, user, day)
        .await
        .or_page(l)?;
    let customers = leadline_store::pipeline::customer_choices(db, &caller.viewer)
        .await
        .or_page(l)?;
    let notice = pair(&pairs, "refused")
        .map(|_| l.t("visits.refused").to_string())
        .or_else(|| pair(&pairs, "saved").map(|_| l.t("pipeline.saved").to_string()));
    Ok(render(&PlanPage {
        nav: Nav::new(&caller, "/visits/plan"),
        day: day.format("%Y-%m-%d").to_string(),
        mine: user == caller.viewer.user_id,
        stops,
        results: VISIT_RESULTS
            .iter()
            .map(|r| Choice {
                value: r.to_string(),
                label: l.t(&format!("visits.result.{r}")).to_string(),
                selected: false,
            })
            .collect(),
        customers: customers
            .into_iter()
            .map(|(id, name)| Choice {
                value: id.to_string(),
                label: name,
                selected: false,
            })
            .collect(),
        notice,
    }))
}

fn back(day: NaiveDate, query: &str) -> Response {
    Redirect::to(&format!(
        "/visits/plan?day={}&{query}",
        day.format("%Y-%m-%d")
    ))
    .into_response()
}

/// Refusals a plan form shows on the plan; anything else is an error page.
fn answer(l: Lang, day: NaiveDate, r: Result<(), StoreError>) -> PageResult {
    match r {
        Ok(()) => Ok(back(day, "saved=1")),
        Err(StoreError::Invalid(_) | StoreError::NotFound | StoreError::Forbidden) => {
            Ok(back(day, "refused=1"))
        }
        Err(e) => Err(super::PageError(l, e.into())),
    }
}

/// POST /visits/plan: adds a customer to the caller's route of `day`.
pub async fn add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let day = day_of(&state.db, form.get("day"))
        .await
        .or_page(caller.lang)?;
    let r = match form.text("customer_id").parse::<i64>() {
        Ok(c) => visits::plan(&state.db, &caller.viewer, c, day, now())
            .await
            .map(|_| ()),
        Err(_) => Err(StoreError::invalid("customer_id", "required")),
    };
    answer(caller.lang, day, r)
}

/// POST /visits/plan/step: moves a stop one place up or down the route.
pub async fn step(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let day = day_of(&state.db, form.get("day"))
        .await
        .or_page(caller.lang)?;
    let by = if form.text("dir") == "up" { -1 } else { 1 };
    let r = match form.text("visit_id").parse::<i64>() {
        Ok(v) => visits::step(&state.db, &caller.viewer, day, v, by, now()).await,
        Err(_) => Err(StoreError::NotFound),
    };
    answer(caller.lang, day, r)
}

/// POST /visits/record: a planned visit done, with its result and market information.
pub async fn record(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let day = day_of(&state.db, form.get("day"))
        .await
        .or_page(caller.lang)?;
    let opt = |k: &str| Some(form.text(k)).filter(|s| !s.is_empty());
    let input = VisitInput {
        visit_id: form.text("visit_id").parse().ok(),
        customer_id: form.text("customer_id").parse().ok(),
        result: form.text("result"),
        notes: form.text("notes"),
        duration_min: form.text("duration_min").parse().ok(),
        quality_view: opt("quality_view"),
        price_view: opt("price_view"),
        other_brands: opt("other_brands"),
        competitor_moves: opt("competitor_moves"),
        ..VisitInput::default()
    };
    let r = visits::record(&state.db, &caller.viewer, &input, now())
        .await
        .map(|_| ());
    answer(caller.lang, day, r)
}

/// A line of the due list.
pub struct DueLine {
    pub customer_id: i64,
    pub name: String,
    pub grade: String,
    pub owner: String,
    pub last_contact: String,
    pub due: String,
    pub days_late: i64,
}

#[derive(Template)]
#[template(path = "customers_due.html")]
struct DuePage {
    nav: Nav,
    lines: Vec<DueLine>,
    grades: Vec<Choice>,
    notice: Option<String>,
}

/// GET /customers/due[?owner_id=]: who is late for contact, by owner.
pub async fn due(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let owner = pair(&pairs, "owner_id")
        .and_then(|o| o.parse::<i64>().ok())
        .map(UserId);
    let db = &state.db;
    let list = grades::due_for_contact(db, &caller.viewer, owner, now())
        .await
        .or_page(l)?;
    let levels = grades::levels(db).await.or_page(l)?;
    let nav = Nav::new(&caller, "/customers/due");
    let label = |code: &str| {
        levels
            .iter()
            .find(|g| g.code == code)
            .map(|g| match l {
                Lang::Zh => format!("{} {}", g.code, g.label_zh),
                Lang::En => format!("{} {}", g.code, g.label_en),
            })
            .unwrap_or_else(|| code.to_string())
    };
    let lines = list
        .iter()
        .map(|d| DueLine {
            customer_id: d.customer_id,
            name: d.customer_name.clone(),
            grade: d.grade.as_deref().map(label).unwrap_or_default(),
            owner: d.owner_name.clone().unwrap_or_default(),
            last_contact: d.last_contact_at.map(|t| nav.time(&t)).unwrap_or_default(),
            due: nav.time(&d.contact_due_at),
            days_late: d.days_late,
        })
        .collect();
    let notice = pair(&pairs, "refused")
        .map(|_| l.t("due.refused").to_string())
        .or_else(|| pair(&pairs, "saved").map(|_| l.t("pipeline.saved").to_string()));
    Ok(render(&DuePage {
        grades: levels
            .iter()
            .map(|g| Choice {
                value: g.code.clone(),
                label: label(&g.code),
                selected: false,
            })
            .collect(),
        nav,
        lines,
        notice,
    }))
}

/// POST /customers/{id}/grade: a supervisor's grade override with its reason.
pub async fn override_grade(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    match grades::override_grade(
        &state.db,
        &caller.viewer,
        id,
        &form.text("grade"),
        &form.text("reason"),
        now(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/customers/due?saved=1").into_response()),
        Err(StoreError::Invalid(_)) => Ok(Redirect::to("/customers/due?refused=1").into_response()),
        Err(e) => Err(super::PageError(caller.lang, e.into())),
    }
}

/// The board's drag-and-drop.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/pipeline.js"),
    )
        .into_response()
}

/// The board's columns and the plan's printed cards.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/pipeline.css"),
    )
        .into_response()
}
