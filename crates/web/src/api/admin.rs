//! Administration over JSON: users, teams and custom fields (admins only; supervisors may read
//! users and teams).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leadline_domain::{CustomFieldDef, FieldKind, Role, TeamId, UserId};
use leadline_store::auth::users::{self, NewUser, UserPatch};
use leadline_store::{StoreError, leads::custom_fields};
use serde::Deserialize;
use serde_json::json;

use super::JsonBody;
use super::Path;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

fn parse_role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::invalid("role", "not_an_option"))
}

async fn hash(password: String) -> ApiResult<String> {
    if password.chars().count() < users::MIN_PASSWORD_LEN {
        return Err(StoreError::invalid("password", "password_too_short").into());
    }
    tokio::task::spawn_blocking(move || users::hash_password(&password))
        .await
        .map_err(|e| crate::error::AppError::Internal(e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200), (status = 403)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(Role::manages_leads)?;
    Ok(Json(
        json!({ "items": users::list_users(&state.db).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub team_id: Option<i64>,
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/users", request_body = UserCreate, responses((status = 201), (status = 403), (status = 409), (status = 422)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<UserCreate>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let new = NewUser {
        username: body.username.trim().to_string(),
        display_name: body.display_name,
        role: parse_role(&body.role)?,
        team_id: body.team_id.map(TeamId),
        password_hash: hash(body.password).await?,
    };
    let user = users::create_user(&state.db, &new, Some(caller.user.id)).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// A team id, or `null` to take the user out of its team.
    #[serde(default, deserialize_with = "some_or_null")]
    pub team_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub password: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", request_body = UserUpdate, responses((status = 200), (status = 403), (status = 404)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<UserId>,
    JsonBody(body): JsonBody<UserUpdate>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    if let Some(z) = &body.time_zone
        && z.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(StoreError::invalid("time_zone", "not_an_option").into());
    }
    let patch = UserPatch {
        display_name: body.display_name,
        role: body.role.as_deref().map(parse_role).transpose()?,
        team_id: body.team_id.map(|t| t.map(TeamId)),
        active: body.active,
        locale: body.locale,
        time_zone: body.time_zone,
        password_hash: match body.password {
            Some(p) => Some(hash(p).await?),
            None => None,
        },
    };
    Ok(Json(
        users::update_user(&state.db, id, &patch, Some(caller.user.id)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams", responses((status = 200), (status = 403)))]
pub async fn list_teams(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(Role::manages_leads)?;
    let teams = users::list_teams(&state.db).await?;
    let supervisors = users::team_supervisors(&state.db).await?;
    let items: Vec<_> = teams
        .into_iter()
        .map(|t| {
            let sup: Vec<UserId> = supervisors.iter().filter(|(tid, _)| *tid == t.id).map(|(_, u)| *u).collect();
            json!({ "id": t.id, "name": t.name, "member_count": t.member_count, "supervisor_ids": sup })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TeamCreate {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/teams", request_body = TeamCreate, responses((status = 201), (status = 403), (status = 409)))]
pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<TeamCreate>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let id = users::create_team(&state.db, &body.name, Some(caller.user.id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": body.name.trim() })),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SupervisorChange {
    pub user_id: i64,
    #[serde(default = "yes")]
    pub supervises: bool,
}

/// Distinguishes an absent key (`None`) from an explicit `null` (`Some(None)`).
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/supervisors", request_body = SupervisorChange, responses((status = 204), (status = 403)))]
pub async fn set_supervisor(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<TeamId>,
    JsonBody(body): JsonBody<SupervisorChange>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let user = users::get_user(&state.db, UserId(body.user_id)).await?;
    if user.role != Role::Supervisor && body.supervises {
        return Err(StoreError::invalid("user_id", "not_an_option").into());
    }
    users::set_supervisor(
        &state.db,
        id,
        user.id,
        body.supervises,
        Some(caller.user.id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/custom-fields", responses((status = 200)))]
pub async fn list_fields(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        json!({ "items": custom_fields::list(&state.db).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldCreate {
    /// Derived from the label when left out or empty (`f_<n>` for a Chinese-only label).
    #[serde(default)]
    pub key: String,
    pub label_zh: String,
    #[serde(default)]
    pub label_en: String,
    /// text, number, date, select, multi_select, phone or email
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/custom-fields", request_body = FieldCreate, responses((status = 201), (status = 403), (status = 409), (status = 422)))]
pub async fn create_field(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<FieldCreate>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let def = CustomFieldDef {
        key: body.key.trim().to_string(),
        label_zh: body.label_zh,
        label_en: body.label_en,
        kind: FieldKind::parse(&body.kind)
            .ok_or_else(|| StoreError::invalid("kind", "not_an_option"))?,
        required: body.required,
        options: body.options,
    };
    let key = custom_fields::create(&state.db, &def, Some(caller.user.id)).await?;
    Ok((StatusCode::CREATED, Json(CustomFieldDef { key, ..def })))
}

#[utoipa::path(delete, path = "/api/v1/custom-fields/{key}", responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_field(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    custom_fields::delete(&state.db, &key, Some(caller.user.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
