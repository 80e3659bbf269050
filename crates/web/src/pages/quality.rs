//! Quality-check pages (质检, issue 24): the queue of calls with the period's scores per person
//! (/quality), one call scored against the checklist (/quality/calls/{id}) and the checklist
//! settings (/admin/quality, admins).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::Role;
use leadline_domain::quality::{CheckItem, GivenScore, show_percent};
use leadline_store::quality::reviews::{self, AgentQuality, CallReview, QueueRow, ReviewInput};
use leadline_store::quality::{self, ItemInput};
use leadline_store::{StoreError, now};

use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::quality::{month_period, queue_filter};
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::i18n::Lang;

fn label(l: Lang, zh: &str, en: &str) -> String {
    if l == Lang::Zh { zh } else { en }.to_string()
}

fn percent(score: Option<i64>, max: Option<i64>) -> String {
    match (score, max) {
        (Some(s), Some(m)) => leadline_domain::quality::percent_tenths(s, m)
            .map(show_percent)
            .unwrap_or_default(),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "quality_queue.html")]
struct QueuePage {
    nav: Nav,
    calls: Vec<QueueRow>,
    agents: Vec<AgentQuality>,
    from: String,
    to: String,
    reviewed: String,
    connected: bool,
    may_review: bool,
    month_from: String,
    month_to: String,
}

impl QueuePage {
    fn percent(&self, row: &QueueRow) -> String {
        percent(row.score, row.max_score)
    }

    fn agent_percent(&self, a: &AgentQuality) -> String {
        a.percent_tenths.map(show_percent).unwrap_or_default()
    }

    fn band(&self, a: &AgentQuality) -> &'static str {
        match a.band {
            Some(b) => self.nav.t(&format!("quality.band.{}", b.as_str())),
            None => "",
        }
    }

    fn minutes(&self, s: &i64) -> String {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// GET /quality: the calls of the last 7 days (or `from`/`to`) with their scores, filters
/// `reviewed` and `connected`, and this month's score per person.
pub async fn queue(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let db = &state.db;
    let zone = leadline_store::call_stats::org_zone(db).await.or_page(l)?;
    let filter = queue_filter(&pairs, zone).or_page(l)?;
    let (from, to) = crate::api::quality::period(&pairs, 7, zone).or_page(l)?;
    let (m_from, m_to) = month_period(&[], zone).or_page(l)?;
    let calls = reviews::queue(db, &caller.viewer, &filter)
        .await
        .or_page(l)?;
    let agents = reviews::summary(db, &caller.viewer, &m_from.to_string(), &m_to.to_string())
        .await
        .or_page(l)?;
    Ok(render(&QueuePage {
        nav: Nav::new(&caller, "/quality"),
        calls,
        agents,
        from: from.to_string(),
        to: to.to_string(),
        reviewed: pair(&pairs, "reviewed").unwrap_or("").to_string(),
        connected: filter.connected_only,
        may_review: matches!(caller.viewer.role, Role::Admin | Role::Supervisor),
        month_from: m_from.to_string(),
        month_to: m_to.to_string(),
    }))
}

/// One line of the scoring form: the item, the points it may get and what is given now.
struct FormItem {
    id: i64,
    label: String,
    max_score: i64,
    score: i64,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "quality_review.html")]
struct ReviewPage {
    nav: Nav,
    r: CallReview,
    items: Vec<FormItem>,
    comment: String,
    notice: Option<&'static str>,
    percent: String,
}

impl ReviewPage {
    fn minutes(&self, s: &i64) -> String {
        format!("{}:{:02}", s / 60, s % 60)
    }

    fn item_label(&self, zh: &str, en: &str) -> String {
        label(self.nav.lang, zh, en)
    }
}

fn form_items(
    l: Lang,
    checklist: &[CheckItem],
    r: &CallReview,
    given: Option<&[GivenScore]>,
    errors: &[(String, &'static str)],
) -> Vec<FormItem> {
    let previous = |id: i64| {
        r.review
            .as_ref()
            .and_then(|rv| rv.items.iter().find(|i| i.item_id == id))
            .map(|i| i.score)
    };
    checklist
        .iter()
        .filter(|i| i.active)
        .map(|i| FormItem {
            id: i.id,
            label: label(l, &i.label_zh, &i.label_en),
            max_score: i.max_score,
            score: given
                .and_then(|g| g.iter().find(|g| g.item_id == i.id).map(|g| g.score))
                .or_else(|| previous(i.id))
                .unwrap_or(i.max_score),
            error: errors
                .iter()
                .find(|(f, _)| *f == format!("scores.{}", i.id))
                .map(|(_, code)| match *code {
                    "out_of_range" => "quality.error.out_of_range",
                    _ => "quality.error.required",
                }),
        })
        .collect()
}

async fn review_page(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: i64,
    given: Option<(&[GivenScore], &str)>,
    errors: &[(String, &'static str)],
    notice: Option<&'static str>,
) -> PageResult {
    let l = caller.lang;
    let r = reviews::for_call(&state.db, &caller.viewer, id)
        .await
        .or_page(l)?;
    let checklist = quality::items(&state.db).await.or_page(l)?;
    let items = form_items(l, &checklist, &r, given.map(|g| g.0), errors);
    let comment = match given {
        Some((_, c)) => c.to_string(),
        None => r
            .review
            .as_ref()
            .map(|rv| rv.comment.clone())
            .unwrap_or_default(),
    };
    let percent = r
        .review
        .as_ref()
        .map(|rv| show_percent(rv.percent_tenths))
        .unwrap_or_default();
    Ok(render(&ReviewPage {
        nav: Nav::new(caller, &format!("/quality/calls/{id}")),
        r,
        items,
        comment,
        notice,
        percent,
    }))
}

/// GET /quality/calls/{id}.
pub async fn review(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> PageResult {
    let pairs = query_pairs(q.as_deref());
    let notice = pair(&pairs, "saved").map(|_| "quality.saved");
    review_page(&state, &caller, id, None, &[], notice).await
}

/// POST /quality/calls/{id}: `score_<item id>` per item, `comment`, `version`. A refused form
/// comes back with what was typed and the error at the item.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let checklist = quality::items(&state.db).await.or_page(l)?;
    let mut errors = Vec::new();
    let scores: Vec<GivenScore> = checklist
        .iter()
        .filter(|i| i.active)
        .filter_map(|i| {
            let raw = form.text(&format!("score_{}", i.id));
            match raw.parse::<i64>() {
                Ok(score) => Some(GivenScore {
                    item_id: i.id,
                    score,
                }),
                Err(_) => {
                    errors.push((format!("scores.{}", i.id), "required"));
                    None
                }
            }
        })
        .collect();
    let comment = form.text("comment");
    if errors.is_empty() {
        let input = ReviewInput {
            scores: scores.clone(),
            comment: comment.clone(),
            version: form.text("version").parse().ok(),
        };
        match reviews::save(&state.db, &caller.viewer, id, &input, now()).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/quality/calls/{id}?saved=1")).into_response());
            }
            Err(StoreError::Invalid(problems)) => {
                errors.extend(problems.into_iter().map(|p| (p.field, p.code)));
            }
            Err(StoreError::EditConflict { .. }) => {
                return review_page(&state, caller, id, None, &[], Some("quality.stale")).await;
            }
            Err(e) => return Err(super::PageError(l, e.into())),
        }
    }
    let notice = if errors.iter().any(|(f, _)| f == "comment") {
        Some("quality.error.comment")
    } else {
        Some("quality.error.form")
    };
    review_page(
        &state,
        caller,
        id,
        Some((&scores, &comment)),
        &errors,
        notice,
    )
    .await
}

#[derive(Template)]
#[template(path = "quality_admin.html")]
struct AdminPage {
    nav: Nav,
    items: Vec<CheckItem>,
    total: i64,
    notice: Option<&'static str>,
}

/// GET /admin/quality: the checklist (admins).
pub async fn admin(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let pairs = query_pairs(q.as_deref());
    let items = quality::items(&state.db).await.or_page(l)?;
    let total = items.iter().filter(|i| i.active).map(|i| i.max_score).sum();
    let notice = match pair(&pairs, "refused") {
        Some("last_item") => Some("quality.refused.last_item"),
        Some("taken") => Some("quality.refused.taken"),
        Some(_) => Some("quality.refused.invalid"),
        None => pair(&pairs, "saved").map(|_| "quality.saved"),
    };
    Ok(render(&AdminPage {
        nav: Nav::new(&caller, "/admin/quality"),
        items,
        total,
        notice,
    }))
}

fn done(r: Result<(), StoreError>, l: Lang) -> PageResult {
    let to = match r {
        Ok(()) => "/admin/quality?saved=1".to_string(),
        Err(StoreError::Conflict(c)) => format!("/admin/quality?refused={c}"),
        Err(StoreError::AlreadyExists(_)) => "/admin/quality?refused=taken".to_string(),
        Err(StoreError::Invalid(_)) => "/admin/quality?refused=invalid".to_string(),
        Err(e) => return Err(super::PageError(l, e.into())),
    };
    Ok(Redirect::to(&to).into_response())
}

/// POST /admin/quality/add.
pub async fn add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let input = ItemInput {
        code: Some(form.text("code")),
        label_zh: Some(form.text("label_zh")),
        label_en: Some(form.text("label_en")),
        max_score: Some(form.text("max_score").parse().unwrap_or(0)),
        active: None,
    };
    let r = quality::add_item(&state.db, &caller.viewer, &input, now())
        .await
        .map(|_| ());
    done(r, caller.lang)
}

/// POST /admin/quality/update: labels, points, active.
pub async fn update(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let Ok(id) = form.text("id").parse::<i64>() else {
        return done(Err(StoreError::invalid("id", "invalid")), caller.lang);
    };
    let input = ItemInput {
        label_zh: Some(form.text("label_zh")),
        label_en: Some(form.text("label_en")),
        max_score: Some(form.text("max_score").parse().unwrap_or(0)),
        active: Some(form.checked("active")),
        code: None,
    };
    let r = quality::update_item(&state.db, &caller.viewer, id, &input, now()).await;
    done(r, caller.lang)
}
