//! The opportunities board (/pipeline, 商机): a column per stage, each card moved by a form post
//! (drag-and-drop submits the same form), a new opportunity from the board, and the
//! opportunity's page with its history and the time spent in each stage.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::pipeline::{parse_yuan, stay_text, yuan};
use leadline_store::pipeline::opportunities::{self as opps, Filter, MoveInput, OpportunityInput};
use leadline_store::pipeline::stages::{self, LostReason};
use leadline_store::{StoreError, now};

use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::i18n::Lang;

/// A card on the board.
pub struct Card {
    pub id: i64,
    pub title: String,
    pub customer: String,
    pub amount: String,
    pub owner: String,
    pub in_stage: String,
    pub expected: String,
}

/// A column of the board.
pub struct Column {
    pub id: i64,
    pub label: String,
    pub is_lost: bool,
    pub is_won: bool,
    pub total: String,
    pub cards: Vec<Card>,
}

/// One `<option>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "pipeline_board.html")]
struct BoardPage {
    nav: Nav,
    columns: Vec<Column>,
    stages: Vec<Choice>,
    reasons: Vec<Choice>,
    customers: Vec<Choice>,
    mine: bool,
    notice: Option<String>,
}

fn label(l: Lang, zh: &str, en: &str) -> String {
    match l {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

fn reason_choices(l: Lang, reasons: &[LostReason]) -> Vec<Choice> {
    std::iter::once(Choice {
        value: String::new(),
        label: l.t("pipeline.no_reason").to_string(),
        selected: true,
    })
    .chain(reasons.iter().filter(|r| r.active).map(|r| Choice {
        value: r.id.to_string(),
        label: label(l, &r.label_zh, &r.label_en),
        selected: false,
    }))
    .collect()
}

/// What a refused move or edit says on the page it returns to.
fn refusal(e: &StoreError) -> Option<&'static str> {
    match e {
        StoreError::Invalid(p) => Some(match (p[0].field.as_str(), p[0].code) {
            ("lost_reason_id", "required") => "lost_reason_required",
            ("stage_id", "retired") => "stage_retired",
            _ => "invalid",
        }),
        StoreError::NotFound => Some("not_found"),
        StoreError::Forbidden => Some("forbidden"),
        StoreError::EditConflict { .. } => Some("edit_conflict"),
        _ => None,
    }
}

fn notice(l: Lang, pairs: &[(String, String)]) -> Option<String> {
    if let Some(r) = pair(pairs, "refused") {
        let key = match r {
            "lost_reason_required"
            | "stage_retired"
            | "not_found"
            | "forbidden"
            | "edit_conflict" => r,
            _ => "invalid",
        };
        return Some(l.t(&format!("pipeline.refused.{key}")).to_string());
    }
    pair(pairs, "saved").map(|_| l.t("pipeline.saved").to_string())
}

/// GET /pipeline: the board of the opportunities the caller may see (`?mine=1`: their own).
pub async fn board(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let mine = pair(&pairs, "mine").is_some_and(|m| m == "1");
    let db = &state.db;
    let filter = Filter {
        owner: mine.then_some(caller.viewer.user_id),
        ..Filter::default()
    };
    let list = opps::list(db, &caller.viewer, &filter).await.or_page(l)?;
    let all = stages::stages(db).await.or_page(l)?;
    let reasons = stages::lost_reasons(db).await.or_page(l)?;
    let customers = leadline_store::pipeline::customer_choices(db, &caller.viewer)
        .await
        .or_page(l)?;
    let at = now();
    let columns = all
        .iter()
        .filter(|s| s.active || list.iter().any(|o| o.stage_id == s.id))
        .map(|s| {
            let cards: Vec<_> = list.iter().filter(|o| o.stage_id == s.id).collect();
            Column {
                id: s.id,
                label: label(l, &s.label_zh, &s.label_en),
                is_lost: s.is_lost,
                is_won: s.is_won,
                total: yuan(cards.iter().map(|o| o.amount_fen).sum()),
                cards: cards
                    .into_iter()
                    .map(|o| Card {
                        id: o.id,
                        title: o.title.clone(),
                        customer: o.customer_name.clone(),
                        amount: yuan(o.amount_fen),
                        owner: o.owner_name.clone().unwrap_or_default(),
                        in_stage: stay_text(at - o.stage_entered_at, l == Lang::Zh),
                        expected: o.expected_date.clone().unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect();
    let stage_choices = all
        .iter()
        .filter(|s| s.active)
        .map(|s| Choice {
            value: s.id.to_string(),
            label: label(l, &s.label_zh, &s.label_en),
            selected: false,
        })
        .collect();
    Ok(render(&BoardPage {
        nav: Nav::new(&caller, "/pipeline"),
        columns,
        stages: stage_choices,
        reasons: reason_choices(l, &reasons),
        customers: customers
            .into_iter()
            .map(|(id, name)| Choice {
                value: id.to_string(),
                label: name,
                selected: false,
            })
            .collect(),
        mine,
        notice: notice(l, &pairs),
    }))
}

fn opt_id(form: &PageForm, key: &str) -> Option<i64> {
    form.text(key).parse().ok().filter(|n: &i64| *n > 0)
}

/// Where a form goes back to: the board or an opportunity's page, nothing else.
fn back_to(form: &PageForm, id: i64) -> String {
    match form.text("back").as_str() {
        "detail" => format!("/opportunities/{id}"),
        _ => "/pipeline".to_string(),
    }
}

fn with(path: &str, query: &str) -> String {
    format!(
        "{path}{}{query}",
        if path.contains('?') { '&' } else { '?' }
    )
}

/// POST /pipeline/{id}/move: the card's move (a lost stage needs its reason).
pub async fn move_card(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let back = back_to(&form, id);
    let Some(stage_id) = opt_id(&form, "stage_id") else {
        return Ok(Redirect::to(&with(&back, "refused=invalid")).into_response());
    };
    // The card's form always carries the reason list: it counts for a lost stage only.
    let lost = stages::stages(&state.db)
        .await
        .or_page(caller.lang)?
        .iter()
        .any(|s| s.id == stage_id && s.is_lost);
    let input = MoveInput {
        stage_id,
        lost_reason_id: opt_id(&form, "lost_reason_id").filter(|_| lost),
        lost_note: Some(form.text("lost_note")),
    };
    match opps::move_to(&state.db, &caller.viewer, id, &input, now()).await {
        Ok(()) => Ok(Redirect::to(&with(&back, "saved=1")).into_response()),
        Err(e) => match refusal(&e) {
            Some(r) => Ok(Redirect::to(&with(&back, &format!("refused={r}"))).into_response()),
            None => Err(super::PageError(caller.lang, e.into())),
        },
    }
}

fn amount_of(form: &PageForm) -> Result<Option<i64>, StoreError> {
    let a = form.text("amount");
    if a.is_empty() {
        return Ok(None);
    }
    parse_yuan(&a)
        .map(Some)
        .ok_or_else(|| StoreError::invalid("amount_fen", "invalid"))
}

/// POST /pipeline/new: an opportunity on a customer, from the board.
pub async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let input = OpportunityInput {
        customer_id: opt_id(&form, "customer_id"),
        title: Some(form.text("title")),
        amount_fen: amount_of(&form).or_page(l)?,
        expected_date: Some(form.text("expected_date")),
        ..OpportunityInput::default()
    };
    match opps::create(&state.db, &caller.viewer, &input, now()).await {
        Ok(id) => Ok(Redirect::to(&format!("/opportunities/{id}")).into_response()),
        Err(e) => match refusal(&e) {
            Some(r) => Ok(Redirect::to(&format!("/pipeline?refused={r}")).into_response()),
            None => Err(super::PageError(l, e.into())),
        },
    }
}

/// A line of the time spent per stage, or of the history.
pub struct StageLine {
    pub stage: String,
    pub spent: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "opportunity.html")]
struct DetailPage {
    nav: Nav,
    o: opps::Opportunity,
    stage: String,
    amount: String,
    amount_input: String,
    lost_reason: String,
    spent: Vec<StageLine>,
    history: Vec<StageLine>,
    stages: Vec<Choice>,
    reasons: Vec<Choice>,
    notice: Option<String>,
}

/// GET /opportunities/{id}: the opportunity, its time in each stage and its history.
pub async fn detail(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let db = &state.db;
    let d = opps::detail(db, &caller.viewer, id, now())
        .await
        .or_page(l)?;
    let all = stages::stages(db).await.or_page(l)?;
    let reasons = stages::lost_reasons(db).await.or_page(l)?;
    let nav = Nav::new(&caller, &format!("/opportunities/{id}"));
    let stage_label = |sid: i64| {
        all.iter()
            .find(|s| s.id == sid)
            .map(|s| label(l, &s.label_zh, &s.label_en))
            .unwrap_or_default()
    };
    let spent = d
        .time_in_stage
        .iter()
        .map(|t| StageLine {
            stage: label(l, &t.label_zh, &t.label_en),
            spent: stay_text(chrono::TimeDelta::seconds(t.seconds), l == Lang::Zh),
            from: String::new(),
            to: String::new(),
        })
        .collect();
    let history = d
        .history
        .iter()
        .map(|h| StageLine {
            stage: label(l, &h.label_zh, &h.label_en),
            spent: stay_text(h.left_at.unwrap_or_else(now) - h.entered_at, l == Lang::Zh),
            from: nav.time(&h.entered_at),
            to: h.left_at.map(|t| nav.time(&t)).unwrap_or_default(),
        })
        .collect();
    let o = d.opportunity;
    let lost_reason = o
        .lost_reason_id
        .and_then(|r| reasons.iter().find(|x| x.id == r))
        .map(|r| label(l, &r.label_zh, &r.label_en))
        .unwrap_or_default();
    Ok(render(&DetailPage {
        stage: stage_label(o.stage_id),
        amount: yuan(o.amount_fen),
        amount_input: yuan(o.amount_fen),
        lost_reason,
        spent,
        history,
        stages: all
            .iter()
            .filter(|s| s.active)
            .map(|s| Choice {
                value: s.id.to_string(),
                label: label(l, &s.label_zh, &s.label_en),
                selected: s.id == o.stage_id,
            })
            .collect(),
        reasons: reason_choices(l, &reasons),
        notice: notice(l, &pairs),
        nav,
        o,
    }))
}

/// POST /opportunities/{id}: title, amount (元) and expected date.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let input = OpportunityInput {
        title: Some(form.text("title")),
        amount_fen: amount_of(&form).or_page(l)?,
        expected_date: Some(form.text("expected_date")),
        version: form.text("version").parse().ok(),
        ..OpportunityInput::default()
    };
    let back = format!("/opportunities/{id}");
    match opps::update(&state.db, &caller.viewer, id, &input, now()).await {
        Ok(()) => Ok(Redirect::to(&with(&back, "saved=1")).into_response()),
        Err(e) => match refusal(&e) {
            Some(r) => Ok(Redirect::to(&with(&back, &format!("refused={r}"))).into_response()),
            None => Err(super::PageError(l, e.into())),
        },
    }
}
