//! Call scripts over JSON: create, read, edit with versions and conflicts, share, pin for a team,
//! version history and restore, and a script filled in for one lead.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use leadline_domain::script::{Piece, ScriptAccess, fill, fill_text};
use leadline_domain::{LeadId, ScriptFields, ScriptId, TeamId};
use leadline_store::leads::{self, Lead};
use leadline_store::scripts::{self, Script, ScriptFilter, ScriptPatch};
use leadline_store::{StoreError, audit};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Path;
use super::{JsonBody, OptionalJson, expected_version, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// A script as the caller sees it: whether they may change it travels with it.
#[derive(Serialize)]
pub struct ScriptView {
    #[serde(flatten)]
    pub script: Script,
    pub can_edit: bool,
}

pub fn view(caller: &Caller, script: Script) -> ScriptView {
    ScriptView {
        can_edit: script.access(&caller.viewer) == ScriptAccess::Edit,
        script,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptCreate {
    pub title: String,
    /// Plain text; placeholders `{{lead.name}}`, `{{lead.company}}`, `{{lead.title}}`,
    /// `{{lead.city}}`, `{{lead.region}}`, `{{lead.source}}`, `{{agent.name}}`,
    /// `{{lead.custom.<key>}}`.
    pub body: String,
    #[serde(default)]
    pub category: String,
    /// Share with everyone at once (default: private to its owner).
    #[serde(default)]
    pub shared: bool,
}

/// Creates a script owned by the caller (private unless `shared`).
#[utoipa::path(post, path = "/api/v1/scripts", request_body = ScriptCreate,
    responses((status = 201, description = "The script"), (status = 422, description = "invalid_input")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ScriptCreate>,
) -> ApiResult<impl IntoResponse> {
    let fields = ScriptFields::parse(&body.title, &body.category, &body.body)
        .map_err(StoreError::Invalid)?;
    let script = scripts::create(&state.db, &caller.viewer, &fields, body.shared).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/scripts/{}", script.id))],
        Json(view(&caller, script)),
    ))
}

/// The scripts the caller may see (shared ones, their own, and those they manage), with usage:
/// `category`, `mine=true`, `pinned=<team id>`.
#[utoipa::path(get, path = "/api/v1/scripts", responses((status = 200, description = "`{\"items\": [...]}`")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let filter = ScriptFilter {
        category: pair(&pairs, "category").map(str::to_string),
        mine: matches!(pair(&pairs, "mine"), Some("true" | "1")),
        pinned_for: match pair(&pairs, "pinned").filter(|v| !v.is_empty()) {
            Some(t) => {
                Some(TeamId(t.parse().map_err(|_| {
                    StoreError::invalid("pinned", "not_a_number")
                })?))
            }
            None => None,
        },
    };
    let items: Vec<ScriptView> = scripts::list(&state.db, &caller.viewer, &filter)
        .await?
        .into_iter()
        .map(|s| view(&caller, s))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// One script; someone else's private script is 404.
#[utoipa::path(get, path = "/api/v1/scripts/{id}", responses((status = 200), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
) -> ApiResult<impl IntoResponse> {
    let script = scripts::get(&state.db, &caller.viewer, id).await?;
    Ok(Json(view(&caller, script)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptChange {
    pub title: Option<String>,
    pub body: Option<String>,
    pub category: Option<String>,
    pub shared: Option<bool>,
    /// The version you read; a stale one is 409 `edit_conflict`.
    pub version: Option<i64>,
}

/// Edits a script: each content change is a new version. 403 for a script the caller may only
/// read, 404 for one they may not see, 409 `edit_conflict` when `version` is stale.
#[utoipa::path(patch, path = "/api/v1/scripts/{id}", request_body = ScriptChange,
    responses((status = 200), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ScriptChange>,
) -> ApiResult<impl IntoResponse> {
    let patch = ScriptPatch {
        title: body.title,
        category: body.category,
        body: body.body,
        shared: body.shared,
        expected_version: expected_version(body.version, &headers),
    };
    let script = scripts::update(&state.db, &caller.viewer, id, &patch).await?;
    Ok(Json(view(&caller, script)))
}

/// Deletes a script (it leaves lists, pins and search; calls keep their reference).
#[utoipa::path(delete, path = "/api/v1/scripts/{id}", responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
) -> ApiResult<StatusCode> {
    scripts::delete(&state.db, &caller.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// `false` makes a shared script private again (and unpins it).
    #[serde(default = "yes")]
    pub shared: bool,
}

impl Default for ShareBody {
    fn default() -> ShareBody {
        ShareBody { shared: true }
    }
}

fn yes() -> bool {
    true
}

/// Shares a script with everyone (its owner, a supervisor of the owner's team, or an admin).
#[utoipa::path(post, path = "/api/v1/scripts/{id}/share", request_body = ShareBody,
    responses((status = 200), (status = 403), (status = 404)))]
pub async fn share(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
    OptionalJson(body): OptionalJson<ShareBody>,
) -> ApiResult<impl IntoResponse> {
    let shared = body.shared;
    let script = scripts::set_shared(&state.db, &caller.viewer, id, shared).await?;
    Ok(Json(view(&caller, script)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PinBody {
    /// The team; defaults to the one team a supervisor supervises.
    pub team_id: Option<i64>,
}

/// The team a pin is for: named, or the only team the caller supervises.
fn pin_team(caller: &Caller, team: Option<i64>) -> Result<TeamId, AppError> {
    match (team, caller.viewer.supervised_teams.as_slice()) {
        (Some(t), _) => Ok(TeamId(t)),
        (None, [only]) => Ok(*only),
        (None, _) if caller.viewer.role.manages_leads() => {
            Err(StoreError::invalid("team_id", "required").into())
        }
        (None, _) => Err(AppError::Forbidden),
    }
}

/// Pins a shared script for a team (supervisors of that team, admins); agents get 403, a private
/// script 422 `invalid_input` (`script_private`).
#[utoipa::path(post, path = "/api/v1/scripts/{id}/pin", request_body = PinBody,
    responses((status = 200), (status = 403), (status = 404), (status = 422)))]
pub async fn pin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
    OptionalJson(body): OptionalJson<PinBody>,
) -> ApiResult<impl IntoResponse> {
    let team = pin_team(&caller, body.team_id)?;
    let script = scripts::pin(&state.db, &caller.viewer, id, team).await?;
    Ok(Json(view(&caller, script)))
}

/// Removes a team's pin: `?team_id=`.
#[utoipa::path(delete, path = "/api/v1/scripts/{id}/pin", responses((status = 200), (status = 403), (status = 404)))]
pub async fn unpin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let team = match pair(&pairs, "team_id").filter(|t| !t.is_empty()) {
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| StoreError::invalid("team_id", "not_a_number"))?,
        ),
        None => None,
    };
    let team = pin_team(&caller, team)?;
    let script = scripts::unpin(&state.db, &caller.viewer, id, team).await?;
    Ok(Json(view(&caller, script)))
}

/// Every version, newest first.
#[utoipa::path(get, path = "/api/v1/scripts/{id}/versions", responses((status = 200), (status = 404)))]
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
) -> ApiResult<impl IntoResponse> {
    let items = scripts::versions(&state.db, &caller.viewer, id).await?;
    Ok(Json(json!({ "items": items })))
}

/// One older version.
#[utoipa::path(get, path = "/api/v1/scripts/{id}/versions/{version}", responses((status = 200), (status = 404)))]
pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(ScriptId, i64)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        scripts::version(&state.db, &caller.viewer, id, version).await?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RestoreBody {
    /// The current version you read; a stale one is 409 `edit_conflict`.
    pub version: Option<i64>,
}

/// Restores an older version's content as a new version.
#[utoipa::path(post, path = "/api/v1/scripts/{id}/versions/{version}/restore", request_body = RestoreBody,
    responses((status = 200), (status = 403), (status = 404), (status = 409)))]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(ScriptId, i64)>,
    OptionalJson(body): OptionalJson<RestoreBody>,
) -> ApiResult<impl IntoResponse> {
    let expected = body.version;
    let script = scripts::restore_version(&state.db, &caller.viewer, id, version, expected).await?;
    Ok(Json(view(&caller, script)))
}

/// A custom field value as a script shows it.
fn show(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join("、"),
        other => other.to_string(),
    }
}

/// What a script's placeholders are filled with for this lead and agent.
pub fn placeholder_values(lead: &Lead, agent_name: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        values.insert(k.to_string(), v.unwrap_or_default().to_string());
    };
    put("lead.name", Some(&lead.name));
    put("lead.company", lead.company.as_deref());
    put("lead.title", lead.title.as_deref());
    put("lead.city", lead.city.as_deref());
    put("lead.region", lead.region.as_deref());
    put("lead.source", lead.source.as_deref());
    put("agent.name", Some(agent_name));
    for (k, v) in &lead.custom {
        values.insert(format!("lead.custom.{k}"), show(v));
    }
    values
}

/// A script filled in for a lead the caller may see: the text, its pieces, and the placeholders
/// the lead has no value for.
#[utoipa::path(get, path = "/api/v1/scripts/{id}/render", params(("lead_id" = i64, Query, description = "The lead")),
    responses((status = 200), (status = 404), (status = 422)))]
pub async fn render(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let lead_id = pair(&pairs, "lead_id")
        .ok_or_else(|| StoreError::invalid("lead_id", "required"))?
        .parse::<i64>()
        .map_err(|_| StoreError::invalid("lead_id", "not_a_number"))?;
    let script = scripts::get(&state.db, &caller.viewer, id).await?;
    let lead = leads::get(&state.db, &caller.viewer, LeadId(lead_id)).await?;
    let pieces = fill(
        &script.body,
        &placeholder_values(&lead, &caller.user.display_name),
    );
    let missing: Vec<&str> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Missing { key } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let json_pieces: Vec<Value> = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => json!({ "text": t }),
            Piece::Filled { key, value } => json!({ "key": key, "value": value }),
            Piece::Missing { key } => json!({ "key": key, "missing": true }),
        })
        .collect();
    Ok(Json(json!({
        "script_id": script.id, "version": script.version, "lead_id": lead.id,
        "title": script.title, "text": fill_text(&pieces), "pieces": json_pieces, "missing": missing,
    })))
}

/// Who changed a script and how (oldest first).
#[utoipa::path(get, path = "/api/v1/scripts/{id}/history", responses((status = 200), (status = 404)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ScriptId>,
) -> ApiResult<impl IntoResponse> {
    let script = scripts::get(&state.db, &caller.viewer, id).await?;
    let changes = audit::history(&state.db, "script", script.id.0).await?;
    Ok(Json(json!({ "changes": changes })))
}
