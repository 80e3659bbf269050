//! The pipeline settings page (/admin/pipeline, admins): the opportunity stages and lost
//! reasons (add, rename, reorder, retire or restore), the grade levels (labels, threshold in
//! 元, contact frequency) and the grading window in months.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::pipeline::{GradeLevel, Stage, grade_window_months, parse_yuan, yuan};
use leadline_store::pipeline::grades::{self, LevelInput};
use leadline_store::pipeline::stages::{self, EntryInput, List, LostReason};
use leadline_store::{StoreError, now};

use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

#[derive(Template)]
#[template(path = "pipeline_admin.html")]
struct AdminPage {
    nav: Nav,
    stages: Vec<Stage>,
    reasons: Vec<LostReason>,
    levels: Vec<(GradeLevel, String)>,
    window: u32,
    notice: Option<String>,
}

/// GET /admin/pipeline.
pub async fn index(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let pairs = query_pairs(q.as_deref());
    let db = &state.db;
    let stored = leadline_store::workday::config::int_setting(db, grades::WINDOW_KEY, 0)
        .await
        .or_page(l)?;
    let notice = match pair(&pairs, "refused") {
        Some("last_stage") => Some(l.t("pipeline.refused.last_stage").to_string()),
        Some("taken") => Some(l.t("pipeline.refused.taken").to_string()),
        Some(_) => Some(l.t("pipeline.refused.invalid").to_string()),
        None => pair(&pairs, "saved").map(|_| l.t("pipeline.saved").to_string()),
    };
    Ok(render(&AdminPage {
        nav: Nav::new(&caller, "/admin/pipeline"),
        stages: stages::stages(db).await.or_page(l)?,
        reasons: stages::lost_reasons(db).await.or_page(l)?,
        levels: grades::levels(db)
            .await
            .or_page(l)?
            .into_iter()
            .map(|g| {
                let y = yuan(g.min_sales_fen);
                (g, y)
            })
            .collect(),
        window: grade_window_months(Some(&stored.to_string())),
        notice,
    }))
}

fn list_of(form: &PageForm) -> List {
    if form.text("list") == "lost_reasons" {
        List::LostReasons
    } else {
        List::Stages
    }
}

fn done(r: Result<(), StoreError>, l: crate::i18n::Lang) -> PageResult {
    let to = match r {
        Ok(()) => "/admin/pipeline?saved=1".to_string(),
        Err(StoreError::Conflict(c)) => format!("/admin/pipeline?refused={c}"),
        Err(StoreError::AlreadyExists(_)) => "/admin/pipeline?refused=taken".to_string(),
        Err(StoreError::Invalid(_)) => "/admin/pipeline?refused=invalid".to_string(),
        Err(e) => return Err(super::PageError(l, e.into())),
    };
    Ok(Redirect::to(&to).into_response())
}

/// POST /admin/pipeline/add: a stage or a lost reason at the end of its list.
pub async fn add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let input = EntryInput {
        code: Some(form.text("code")),
        label_zh: Some(form.text("label_zh")),
        label_en: Some(form.text("label_en")),
        is_won: Some(form.text("closes") == "won"),
        is_lost: Some(form.text("closes") == "lost"),
        active: None,
    };
    let r = stages::add(&state.db, &caller.viewer, list_of(&form), &input, now())
        .await
        .map(|_| ());
    done(r, caller.lang)
}

/// POST /admin/pipeline/update: renames, retires or restores an entry.
pub async fn update(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let Ok(id) = form.text("id").parse::<i64>() else {
        return done(Err(StoreError::invalid("id", "invalid")), caller.lang);
    };
    let input = EntryInput {
        label_zh: Some(form.text("label_zh")),
        label_en: Some(form.text("label_en")),
        active: Some(form.checked("active")),
        ..EntryInput::default()
    };
    let r = stages::update(&state.db, &caller.viewer, list_of(&form), id, &input, now()).await;
    done(r, caller.lang)
}

/// POST /admin/pipeline/step: moves an entry one place up or down its list.
pub async fn step(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let list = list_of(&form);
    let mut ids: Vec<i64> = match list {
        List::Stages => stages::stages(&state.db)
            .await
            .or_page(l)?
            .iter()
            .map(|s| s.id)
            .collect(),
        List::LostReasons => stages::lost_reasons(&state.db)
            .await
            .or_page(l)?
            .iter()
            .map(|r| r.id)
            .collect(),
    };
    let id = form.text("id").parse::<i64>().unwrap_or(0);
    if let Some(i) = ids.iter().position(|x| *x == id) {
        let j = if form.text("dir") == "up" {
            i.checked_sub(1)
        } else {
            Some(i + 1).filter(|j| *j < ids.len())
        };
        if let Some(j) = j {
            ids.swap(i, j);
        }
    }
    let r = stages::reorder(&state.db, &caller.viewer, list, &ids, now()).await;
    done(r, l)
}

/// POST /admin/pipeline/grade: a grade level's labels, threshold (元) and frequency.
pub async fn grade(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let min = match parse_yuan(&form.text("min_sales")) {
        Some(m) => Some(m),
        None => {
            return done(
                Err(StoreError::invalid("min_sales_fen", "invalid")),
                caller.lang,
            );
        }
    };
    let every = match form.text("contact_every_days").parse::<i64>() {
        Ok(d) => Some(d),
        Err(_) => {
            return done(
                Err(StoreError::invalid("contact_every_days", "invalid")),
                caller.lang,
            );
        }
    };
    let input = LevelInput {
        label_zh: Some(form.text("label_zh")),
        label_en: Some(form.text("label_en")),
        min_sales_fen: min,
        contact_every_days: every,
    };
    let r =
        grades::update_level(&state.db, &caller.viewer, &form.text("code"), &input, now()).await;
    done(r, caller.lang)
}

/// POST /admin/pipeline/window: the grading window in months (1 to 36).
pub async fn window(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let months = form.text("months").parse::<i64>().unwrap_or(0);
    if !(1..=i64::from(leadline_domain::pipeline::MAX_GRADE_WINDOW_MONTHS)).contains(&months) {
        return done(Err(StoreError::invalid("months", "out_of_range")), l);
    }
    leadline_store::workday::config::set_int_setting(
        &state.db,
        caller.user.id,
        grades::WINDOW_KEY,
        months,
    )
    .await
    .or_page(l)?;
    done(Ok(()), l)
}
