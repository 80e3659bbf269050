//! Admin pages: custom fields, users and teams (admins change; supervisors may look).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{CustomFieldDef, FieldKind, Role, TeamId, UserId};
use leadline_store::audit::{self, AuditRecord};
use leadline_store::auth::users::{self, NewUser, Team, User, UserPatch};
use leadline_store::{StoreError, leads::custom_fields};

use super::Path;
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

fn admin_only(caller: &Caller) -> Result<(), super::PageError> {
    caller.require_admin().or_page(caller.lang)
}

/// What kind of record an audit row is about, in the reader's words (`滚动公告`, not
/// `ticker_message`); a kind without words shows its code.
pub fn entity_label(l: crate::i18n::Lang, entity: &str) -> String {
    let key = format!("audit.entity.{entity}");
    if l.has(&key) {
        l.t(&key).to_string()
    } else {
        entity.to_string()
    }
}

/// What was done, in the reader's words (`新建`, not `create`).
pub fn action_label(l: crate::i18n::Lang, action: &str) -> String {
    let key = format!("audit.action.{action}");
    if l.has(&key) {
        l.t(&key).to_string()
    } else {
        action.to_string()
    }
}

pub struct ChangeLine {
    pub when: String,
    pub who: String,
    pub what: String,
    pub action: String,
}

async fn changes(state: &AppState, nav: &Nav) -> Result<Vec<ChangeLine>, super::PageError> {
    let recent: Vec<AuditRecord> = audit::recent_admin_changes(&state.db, 20)
        .await
        .or_page(nav.lang)?;
    Ok(recent
        .into_iter()
        .map(|r| ChangeLine {
            when: nav.time(&r.at),
            who: r.actor_name.unwrap_or_default(),
            what: format!("{} #{}", entity_label(nav.lang, &r.entity), r.entity_id),
            action: action_label(nav.lang, &r.action),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "admin_fields.html")]
struct FieldsPage {
    nav: Nav,
    fields: Vec<CustomFieldDef>,
    kinds: Vec<(&'static str, &'static str)>,
    changes: Vec<ChangeLine>,
    error: Option<String>,
}

async fn fields_page(state: &AppState, caller: &Caller, error: Option<&AppError>) -> PageResult {
    let nav = Nav::new(caller, "/admin/fields");
    let fields = custom_fields::list(&state.db).await.or_page(caller.lang)?;
    let kinds = FieldKind::ALL
        .iter()
        .map(|k| (k.code(), caller.lang.t(&format!("kind.{}", k.code()))))
        .collect();
    let changes = changes(state, &nav).await?;
    let page = FieldsPage {
        error: error.map(|e| caller.lang.error_message(e)),
        nav,
        fields,
        kinds,
        changes,
    };
    let status = error
        .map(|e| e.status())
        .unwrap_or(axum::http::StatusCode::OK);
    Ok((status, render(&page)).into_response())
}

pub async fn fields(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    admin_only(&caller)?;
    fields_page(&state, &caller, None).await
}

pub async fn create_field(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    admin_only(caller)?;
    let def = CustomFieldDef {
        key: form.text("key"),
        label_zh: form.text("label_zh"),
        label_en: form.text("label_en"),
        kind: FieldKind::parse(&form.text("kind")).unwrap_or(FieldKind::Text),
        required: form.checked("required"),
        options: form.text("options").lines().map(str::to_string).collect(),
    };
    match custom_fields::create(&state.db, &def, Some(caller.user.id)).await {
        Ok(_) => Ok(Redirect::to("/admin/fields").into_response()),
        Err(e) => fields_page(&state, caller, Some(&e.into())).await,
    }
}

pub async fn delete_field(
    State(state): State<AppState>,
    Path(key): Path<String>,
    form: PageForm,
) -> PageResult {
    admin_only(&form.caller)?;
    custom_fields::delete(&state.db, &key, Some(form.caller.user.id))
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to("/admin/fields").into_response())
}

pub struct UserLine {
    pub user: User,
    pub role_label: &'static str,
    pub team: String,
    /// issue 27 (dial): the user's seat extension, empty for none.
    pub seat: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<UserLine>,
    teams: Vec<Team>,
    roles: Vec<(&'static str, &'static str)>,
    changes: Vec<ChangeLine>,
    error: Option<String>,
}

async fn users_page(state: &AppState, caller: &Caller, error: Option<&AppError>) -> PageResult {
    let l = caller.lang;
    let nav = Nav::new(caller, "/admin/users");
    let teams = users::list_teams(&state.db).await.or_page(l)?;
    let seats = leadline_store::telephony::seats::seats(&state.db)
        .await
        .or_page(l)?;
    let list = users::list_users(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .map(|u| UserLine {
            role_label: l.t(&format!("role.{}", u.role.as_str())),
            team: u
                .team_id
                .and_then(|t| teams.iter().find(|x| x.id == t))
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            seat: seats
                .iter()
                .find(|(id, _)| *id == u.id)
                .map(|(_, seat)| seat.clone())
                .unwrap_or_default(),
            user: u,
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .map(|r| (r.as_str(), l.t(&format!("role.{}", r.as_str()))))
        .collect();
    let changes = changes(state, &nav).await?;
    let page = UsersPage {
        error: error.map(|e| l.error_message(e)),
        nav,
        users: list,
        teams,
        roles,
        changes,
    };
    let status = error
        .map(|e| e.status())
        .unwrap_or(axum::http::StatusCode::OK);
    Ok((status, render(&page)).into_response())
}

pub async fn users(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    caller.require(Role::manages_leads).or_page(caller.lang)?;
    users_page(&state, &caller, None).await
}

async fn hash(password: String) -> Result<String, AppError> {
    if password.chars().count() < users::MIN_PASSWORD_LEN {
        return Err(StoreError::invalid("password", "password_too_short").into());
    }
    tokio::task::spawn_blocking(move || users::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}

pub async fn create_user(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    admin_only(caller)?;
    let result = async {
        let new = NewUser {
            username: form.text("username"),
            display_name: form.text("display_name"),
            role: Role::parse(&form.text("role"))
                .ok_or_else(|| StoreError::invalid("role", "not_an_option"))?,
            team_id: form.text("team_id").parse::<i64>().ok().map(TeamId),
            password_hash: hash(form.text("password")).await?,
        };
        users::create_user(&state.db, &new, Some(caller.user.id))
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(e) => users_page(&state, caller, Some(&e)).await,
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    admin_only(caller)?;
    let result = async {
        let password = form.text("password");
        let patch = UserPatch {
            display_name: form.get("display_name").map(|s| s.trim().to_string()),
            role: match form.get("role") {
                None => None,
                Some(r) => Some(
                    Role::parse(r).ok_or_else(|| StoreError::invalid("role", "not_an_option"))?,
                ),
            },
            team_id: form
                .get("team_id")
                .map(|t| t.parse::<i64>().ok().map(TeamId)),
            active: form.get("active").map(|a| a == "true"),
            password_hash: if password.is_empty() {
                None
            } else {
                Some(hash(password).await?)
            },
            ..Default::default()
        };
        users::update_user(&state.db, id, &patch, Some(caller.user.id)).await?;
        // issue 27 (dial): the seat, when the form has it and it changed.
        if let Some(seat) = form.get("seat") {
            let seats = leadline_store::telephony::seats::seats(&state.db).await?;
            let current = seats
                .iter()
                .find(|(u, _)| *u == id)
                .map(|(_, s)| s.as_str());
            if current.unwrap_or("") != seat.trim() {
                let now = leadline_store::now();
                leadline_store::telephony::seats::set_seat(
                    &state.db,
                    caller.user.id,
                    id,
                    Some(seat),
                    now,
                )
                .await?;
            }
        }
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(e) => users_page(&state, caller, Some(&e)).await,
    }
}

pub struct TeamLine {
    pub team: Team,
    pub supervisors: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "admin_teams.html")]
struct TeamsPage {
    nav: Nav,
    teams: Vec<TeamLine>,
    supervisors: Vec<User>,
    changes: Vec<ChangeLine>,
    error: Option<String>,
}

async fn teams_page(state: &AppState, caller: &Caller, error: Option<&AppError>) -> PageResult {
    let l = caller.lang;
    let nav = Nav::new(caller, "/admin/teams");
    let people = users::list_users(&state.db).await.or_page(l)?;
    let pairs = users::team_supervisors(&state.db).await.or_page(l)?;
    let teams = users::list_teams(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .map(|t| TeamLine {
            supervisors: pairs
                .iter()
                .filter(|(tid, _)| *tid == t.id)
                .filter_map(|(_, u)| people.iter().find(|p| p.id == *u))
                .map(|u| (u.id.0, u.display_name.clone()))
                .collect(),
            team: t,
        })
        .collect();
    let supervisors = people
        .into_iter()
        .filter(|u| u.role == Role::Supervisor && u.active)
        .collect();
    let changes = changes(state, &nav).await?;
    let page = TeamsPage {
        error: error.map(|e| l.error_message(e)),
        nav,
        teams,
        supervisors,
        changes,
    };
    let status = error
        .map(|e| e.status())
        .unwrap_or(axum::http::StatusCode::OK);
    Ok((status, render(&page)).into_response())
}

pub async fn teams(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    caller.require(Role::manages_leads).or_page(caller.lang)?;
    teams_page(&state, &caller, None).await
}

pub async fn create_team(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    admin_only(caller)?;
    match users::create_team(&state.db, &form.text("name"), Some(caller.user.id)).await {
        Ok(_) => Ok(Redirect::to("/admin/teams").into_response()),
        Err(e) => teams_page(&state, caller, Some(&e.into())).await,
    }
}

pub async fn set_supervisor(
    State(state): State<AppState>,
    Path(id): Path<TeamId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    admin_only(caller)?;
    let user = form
        .text("user_id")
        .parse::<i64>()
        .map(UserId)
        .map_err(|_| AppError::BadRequest("bad_form"))
        .or_page(caller.lang)?;
    let supervises = form.text("supervises") != "false";
    users::set_supervisor(&state.db, id, user, supervises, Some(caller.user.id))
        .await
        .or_page(caller.lang)?;
    Ok(Redirect::to("/admin/teams").into_response())
}
