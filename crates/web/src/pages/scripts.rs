//! Script pages: the library with usage figures, the editor with version history (view and
//! restore older versions), sharing and team pins, and the script pane of the lead page.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::script::{PLACEHOLDERS, Piece, ScriptAccess, fill};
use leadline_domain::{ScriptFields, ScriptId, TeamId};
use leadline_store::leads::Lead;
use leadline_store::scripts::{self, Script, ScriptFilter, ScriptPatch, ScriptVersion};
use leadline_store::{StoreError, audit, auth::users};

use super::Path;
use super::{Nav, OrPage, PageError, PageForm, PageResult, render};
use crate::AppState;
use crate::api::scripts::placeholder_values;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;
use crate::i18n::Lang;

/// A piece of a script on a page: plain text, a filled placeholder, or a missing one.
pub struct PieceView {
    pub text: String,
    /// `""`, `"ph"` (filled) or `"missing"`.
    pub class: &'static str,
}

/// The words for a placeholder key (`{{lead.name}}` → 客户姓名), or the key for custom fields.
fn placeholder_label(l: Lang, key: &str) -> String {
    if PLACEHOLDERS.contains(&key) {
        l.t(&format!("ph.{key}")).to_string()
    } else {
        key.strip_prefix("lead.custom.").unwrap_or(key).to_string()
    }
}

/// Pieces for display: filled values, and `[label]` for what the lead lacks.
pub fn piece_views(l: Lang, pieces: Vec<Piece>) -> Vec<PieceView> {
    pieces
        .into_iter()
        .map(|p| match p {
            Piece::Text(text) => PieceView { text, class: "" },
            Piece::Filled { value, .. } => PieceView {
                text: value,
                class: "ph",
            },
            Piece::Missing { key } => PieceView {
                text: format!("[{}]", placeholder_label(l, &key)),
                class: "missing",
            },
        })
        .collect()
}

/// An error in the words of a form whose fields are labelled `<prefix>.field.<name>` (the lead
/// labels would call a script's title a job title).
pub fn form_message(l: Lang, prefix: &str, err: &AppError) -> String {
    match err {
        AppError::Store(StoreError::Invalid(problems)) => {
            let parts: Vec<String> = problems
                .iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        l.t(&format!("{prefix}.field.{}", p.field)),
                        l.t(&format!("problem.{}", p.code))
                    )
                })
                .collect();
            format!("{} {}", l.t("error.invalid_input"), parts.join("; "))
        }
        other => l.error_message(other),
    }
}

fn percent(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

pub struct ScriptLine {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub owner: String,
    pub shared: bool,
    pub pinned: bool,
    pub uses: i64,
    pub connected_rate: String,
    pub qualified_rate: String,
    pub updated: String,
}

fn line(nav: &Nav, caller: &Caller, s: &Script) -> ScriptLine {
    let my_teams: Vec<TeamId> = caller
        .viewer
        .supervised_teams
        .iter()
        .copied()
        .chain(caller.user.team_id)
        .collect();
    ScriptLine {
        id: s.id.0,
        title: s.title.clone(),
        category: s.category.clone(),
        owner: s.owner_name.clone(),
        shared: s.shared,
        pinned: s.pinned_teams.iter().any(|t| my_teams.contains(t)),
        uses: s.usage.uses,
        connected_rate: percent(s.usage.connected_rate),
        qualified_rate: percent(s.usage.qualified_rate),
        updated: nav.time(&s.updated_at),
    }
}

#[derive(Template)]
#[template(path = "scripts_list.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<ScriptLine>,
    categories: Vec<String>,
    category: String,
    mine: bool,
}

pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let nav = Nav::new(
        &caller,
        &format!("/scripts?{}", query.as_deref().unwrap_or("")),
    );
    let category = pair(&pairs, "category").unwrap_or("").to_string();
    let mine = matches!(pair(&pairs, "mine"), Some("1" | "true" | "on"));
    let filter = ScriptFilter {
        category: Some(category.clone()),
        mine,
        pinned_for: None,
    };
    let found = scripts::list(&state.db, &caller.viewer, &filter)
        .await
        .or_page(l)?;
    let rows = found.iter().map(|s| line(&nav, &caller, s)).collect();
    let categories = scripts::categories(&state.db, &caller.viewer)
        .await
        .or_page(l)?;
    Ok(render(&ListPage {
        nav,
        rows,
        categories,
        category,
        mine,
    }))
}

#[derive(Template)]
#[template(path = "script_form.html")]
struct FormPage {
    nav: Nav,
    title: String,
    category: String,
    body: String,
    shared: bool,
    categories: Vec<String>,
    placeholders: Vec<(String, String)>,
    error: Option<String>,
}

/// Every placeholder with its words, for the editor's help list.
fn placeholder_help(l: Lang) -> Vec<(String, String)> {
    PLACEHOLDERS
        .iter()
        .map(|k| (format!("{{{{{k}}}}}"), placeholder_label(l, k)))
        .chain(std::iter::once((
            "{{lead.custom.<key>}}".to_string(),
            l.t("ph.custom").to_string(),
        )))
        .collect()
}

async fn form_page(
    state: &AppState,
    caller: &Caller,
    form: Option<&PageForm>,
    error: Option<&AppError>,
) -> PageResult {
    let l = caller.lang;
    let page = FormPage {
        nav: Nav::new(caller, "/scripts/new"),
        title: form.map(|f| f.text("title")).unwrap_or_default(),
        category: form.map(|f| f.text("category")).unwrap_or_default(),
        body: form.map(|f| f.text("body")).unwrap_or_default(),
        shared: form.is_some_and(|f| f.checked("shared")),
        categories: scripts::categories(&state.db, &caller.viewer)
            .await
            .or_page(l)?,
        placeholders: placeholder_help(l),
        error: error.map(|e| form_message(l, "script", e)),
    };
    let status = error.map(AppError::status).unwrap_or(StatusCode::OK);
    Ok((status, render(&page)).into_response())
}

pub async fn new_form(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    form_page(&state, &caller, None, None).await
}

pub async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let result = match ScriptFields::parse(
        &form.text("title"),
        &form.text("category"),
        &form.text("body"),
    ) {
        Ok(fields) => scripts::create(&state.db, &caller.viewer, &fields, form.checked("shared"))
            .await
            .map_err(AppError::from),
        Err(problems) => Err(StoreError::Invalid(problems).into()),
    };
    match result {
        Ok(s) => Ok(Redirect::to(&format!("/scripts/{}", s.id)).into_response()),
        Err(e) => form_page(&state, caller, Some(&form), Some(&e)).await,
    }
}

pub struct VersionLine {
    pub version: i64,
    pub when: String,
    pub who: String,
    pub restored_from: Option<i64>,
    pub current: bool,
}

pub struct TeamPin {
    pub id: i64,
    pub name: String,
    pub pinned: bool,
}

pub struct ChangeLine {
    pub when: String,
    pub who: String,
    pub action: &'static str,
}

#[derive(Template)]
#[template(path = "script_detail.html")]
struct DetailPage {
    nav: Nav,
    script: Script,
    can_edit: bool,
    preview: Vec<PieceView>,
    connected_rate: String,
    qualified_rate: String,
    /// An older version being looked at.
    viewing: Option<ScriptVersion>,
    versions: Vec<VersionLine>,
    teams: Vec<TeamPin>,
    changes: Vec<ChangeLine>,
    categories: Vec<String>,
    placeholders: Vec<(String, String)>,
    /// The editor's fields: the script's, or what was submitted when saving failed.
    edit_title: String,
    edit_category: String,
    edit_body: String,
    edit_version: i64,
    error: Option<String>,
}

async fn detail_page(
    state: &AppState,
    caller: &Caller,
    id: ScriptId,
    viewing: Option<i64>,
    failed: Option<(&PageForm, &AppError)>,
) -> PageResult {
    let l = caller.lang;
    let script = scripts::get(&state.db, &caller.viewer, id)
        .await
        .or_page(l)?;
    let nav = Nav::new(caller, &format!("/scripts/{id}"));
    let viewing = match viewing {
        Some(v) if v != script.version => Some(
            scripts::version(&state.db, &caller.viewer, id, v)
                .await
                .or_page(l)?,
        ),
        _ => None,
    };
    let versions = scripts::versions(&state.db, &caller.viewer, id)
        .await
        .or_page(l)?
        .into_iter()
        .map(|v| VersionLine {
            current: v.version == script.version,
            version: v.version,
            when: nav.time(&v.edited_at),
            who: v.edited_by_name.unwrap_or_default(),
            restored_from: v.restored_from,
        })
        .collect();
    let all_teams = users::list_teams(&state.db).await.or_page(l)?;
    let teams = all_teams
        .into_iter()
        .filter(|t| leadline_domain::script::may_pin(&caller.viewer, t.id))
        .map(|t| TeamPin {
            pinned: script.pinned_teams.contains(&t.id),
            id: t.id.0,
            name: t.name,
        })
        .collect();
    let changes = audit::history(&state.db, "script", id.0)
        .await
        .or_page(l)?
        .into_iter()
        .rev()
        .map(|h| ChangeLine {
            when: nav.time(&h.at),
            who: h.actor_name.unwrap_or_default(),
            action: l.t(&format!("script.action.{}", h.action)),
        })
        .collect();
    let shown_body = viewing
        .as_ref()
        .map(|v| v.body.as_str())
        .unwrap_or(&script.body);
    let preview = piece_views(l, fill(shown_body, &Default::default()));
    let (edit_title, edit_category, edit_body) = match failed {
        Some((form, _)) => (form.text("title"), form.text("category"), form.text("body")),
        None => (
            script.title.clone(),
            script.category.clone(),
            script.body.clone(),
        ),
    };
    let page = DetailPage {
        can_edit: script.access(&caller.viewer) == ScriptAccess::Edit,
        connected_rate: percent(script.usage.connected_rate),
        qualified_rate: percent(script.usage.qualified_rate),
        categories: scripts::categories(&state.db, &caller.viewer)
            .await
            .or_page(l)?,
        placeholders: placeholder_help(l),
        edit_version: match failed {
            Some((form, _)) => form.text("version").parse().unwrap_or(script.version),
            None => script.version,
        },
        edit_title,
        edit_category,
        edit_body,
        error: failed.map(|(_, e)| form_message(l, "script", e)),
        nav,
        script,
        preview,
        viewing,
        versions,
        teams,
        changes,
    };
    let status = failed.map(|(_, e)| e.status()).unwrap_or(StatusCode::OK);
    Ok((status, render(&page)).into_response())
}

pub async fn detail(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<ScriptId>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let pairs = query_pairs(query.as_deref());
    let viewing = pair(&pairs, "v").and_then(|v| v.parse().ok());
    detail_page(&state, &caller, id, viewing, None).await
}

/// Saves the editor; a conflict or a bad field shows the page again with what was typed kept.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<ScriptId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let patch = ScriptPatch {
        title: Some(form.text("title")),
        category: Some(form.text("category")),
        body: Some(form.text("body")),
        shared: None,
        expected_version: form.text("version").parse().ok(),
    };
    match scripts::update(&state.db, &caller.viewer, id, &patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/scripts/{id}")).into_response()),
        Err(e @ (StoreError::EditConflict { .. } | StoreError::Invalid(_))) => {
            detail_page(&state, caller, id, None, Some((&form, &e.into()))).await
        }
        Err(e) => Err(PageError(caller.lang, e.into())),
    }
}

pub async fn share(
    State(state): State<AppState>,
    Path(id): Path<ScriptId>,
    form: PageForm,
) -> PageResult {
    scripts::set_shared(
        &state.db,
        &form.caller.viewer,
        id,
        form.text("shared") == "1",
    )
    .await
    .or_page(form.caller.lang)?;
    Ok(Redirect::to(&format!("/scripts/{id}")).into_response())
}

fn form_team(form: &PageForm) -> Result<TeamId, PageError> {
    form.text("team_id").parse().map(TeamId).map_err(|_| {
        PageError(
            form.caller.lang,
            StoreError::invalid("team_id", "required").into(),
        )
    })
}

pub async fn pin(
    State(state): State<AppState>,
    Path(id): Path<ScriptId>,
    form: PageForm,
) -> PageResult {
    let team = form_team(&form)?;
    scripts::pin(&state.db, &form.caller.viewer, id, team)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to(&format!("/scripts/{id}")).into_response())
}

pub async fn unpin(
    State(state): State<AppState>,
    Path(id): Path<ScriptId>,
    form: PageForm,
) -> PageResult {
    let team = form_team(&form)?;
    scripts::unpin(&state.db, &form.caller.viewer, id, team)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to(&format!("/scripts/{id}")).into_response())
}

pub async fn restore(
    State(state): State<AppState>,
    Path(id): Path<ScriptId>,
    form: PageForm,
) -> PageResult {
    let version = form.text("version").parse::<i64>().map_err(|_| {
        PageError(
            form.caller.lang,
            StoreError::invalid("version", "not_a_number").into(),
        )
    })?;
    scripts::restore_version(
        &state.db,
        &form.caller.viewer,
        id,
        version,
        form.text("current").parse().ok(),
    )
    .await
    .or_page(form.caller.lang)?;
    Ok(Redirect::to(&format!("/scripts/{id}")).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<ScriptId>,
    form: PageForm,
) -> PageResult {
    scripts::delete(&state.db, &form.caller.viewer, id)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to("/scripts").into_response())
}

/// The script pane of the lead page: the chosen script (or the first one pinned for the
/// caller's team, else the first they can see) filled in for the lead.
pub struct LeadPane {
    pub choices: Vec<(i64, String, bool)>,
    pub script: Option<Script>,
    pub pieces: Vec<PieceView>,
}

impl LeadPane {
    pub fn chosen(&self) -> i64 {
        self.script.as_ref().map(|s| s.id.0).unwrap_or(0)
    }
}

/// Builds the pane; `chosen` is the `script` query parameter, if any.
pub async fn lead_pane(
    state: &AppState,
    caller: &Caller,
    lead: &Lead,
    chosen: Option<i64>,
) -> leadline_store::Result<LeadPane> {
    let pinned = scripts::pinned_for(&state.db, &caller.viewer, caller.user.team_id).await?;
    let all = scripts::list(&state.db, &caller.viewer, &ScriptFilter::default()).await?;
    let mut choices: Vec<(i64, String, bool)> = pinned
        .iter()
        .map(|s| (s.id.0, s.title.clone(), true))
        .collect();
    for s in &all {
        if !choices.iter().any(|c| c.0 == s.id.0) {
            choices.push((s.id.0, s.title.clone(), false));
        }
    }
    let script = match chosen {
        Some(id) => all.iter().find(|s| s.id.0 == id).cloned(),
        None => pinned.first().or(all.first()).cloned(),
    };
    let pieces = match &script {
        Some(s) => piece_views(
            caller.lang,
            fill(
                &s.body,
                &placeholder_values(lead, &caller.user.display_name),
            ),
        ),
        None => Vec::new(),
    };
    Ok(LeadPane {
        choices,
        script,
        pieces,
    })
}
