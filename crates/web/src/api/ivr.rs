//! IVR flows for admins (issue 27): the flow file as text with its parsed nodes and saved
//! versions; a change is checked by `Flow::parse` (every problem listed, 422, nothing stored),
//! stored as the next version, audited, and taken by the next call.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadline_store::ivr_flows::{self, FlowVersion};
use leadline_telephony::ivr::{DEMO_FLOW, Flow, FlowError};
use leadline_telephony::prompts::prompt_names;
use serde_json::{Value, json};

use super::{Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;

/// The numbers with a flow: the one the call service answers, and any an admin saved.
pub async fn known_numbers(state: &AppState) -> ApiResult<Vec<String>> {
    let mut numbers = ivr_flows::numbers(&state.db).await?;
    let running = state.ivr.flow().number;
    if !numbers.contains(&running) {
        numbers.insert(0, running);
    }
    Ok(numbers)
}

/// One version of a flow file: its text and when it was saved (version 0 is the shipped file).
pub struct FlowText {
    pub number: String,
    pub version: i64,
    pub toml: String,
    pub saved_by_name: Option<String>,
    pub saved_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The current (or the asked) version of `number`'s flow; `None` for an unknown number.
pub async fn flow_text(
    state: &AppState,
    number: &str,
    version: Option<i64>,
) -> ApiResult<Option<FlowText>> {
    let stored = match version {
        Some(0) => None,
        Some(v) => Some(
            ivr_flows::version(&state.db, number, v)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => ivr_flows::current(&state.db, number).await?,
    };
    if let Some(s) = stored {
        return Ok(Some(FlowText {
            number: s.number,
            version: s.version,
            toml: s.toml,
            saved_by_name: s.saved_by_name,
            saved_at: Some(s.saved_at),
        }));
    }
    let shipped = Flow::parse(DEMO_FLOW).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((shipped.number == number).then(|| FlowText {
        number: number.to_owned(),
        version: 0,
        toml: DEMO_FLOW.to_owned(),
        saved_by_name: None,
        saved_at: None,
    }))
}

/// The flow's nodes as the file gives them (kind and fields), for a reader of the API.
fn nodes_json(toml_text: &str) -> Value {
    toml::from_str::<toml::Table>(toml_text)
        .ok()
        .and_then(|table| table.get("nodes").cloned())
        .and_then(|nodes| serde_json::to_value(nodes).ok())
        .unwrap_or(Value::Null)
}

fn flow_json(state: &AppState, text: &FlowText, versions: &[FlowVersion]) -> Value {
    let parsed = Flow::parse(&text.toml).ok();
    let running = state.ivr.flow().number == text.number;
    json!({
        "number": text.number,
        "name": parsed.as_ref().map(|f| f.name.clone()),
        "version": text.version,
        "saved_by_name": text.saved_by_name,
        "saved_at": text.saved_at,
        "answered_by_call_service": running,
        "toml": text.toml,
        "languages": parsed.as_ref().map(|f| f.languages.clone()),
        "start": parsed.as_ref().map(|f| f.start.clone()),
        "prompts": parsed.as_ref().map(prompt_names),
        "nodes": nodes_json(&text.toml),
        "versions": versions,
    })
}

/// Flows by number: `{flows: [{number, name, version, saved_at, saved_by_name,
/// answered_by_call_service}]}` (admins).
#[utoipa::path(get, path = "/api/v1/ivr/flows",
    responses((status = 200, description = "`{flows}`"), (status = 403, description = "forbidden: not an admin")))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let mut flows = Vec::new();
    for number in known_numbers(&state).await? {
        if let Some(text) = flow_text(&state, &number, None).await? {
            let mut one = flow_json(&state, &text, &[]);
            if let Some(object) = one.as_object_mut() {
                for heavy in ["toml", "nodes", "versions", "prompts"] {
                    object.remove(heavy);
                }
            }
            flows.push(one);
        }
    }
    Ok(Json(json!({ "flows": flows })))
}

/// One flow: `{number, name, version, toml, nodes, languages, prompts, versions: [{version,
/// saved_by_name, saved_at}]}`; `?version=N` for an older version (0: the shipped file) (admins).
#[utoipa::path(get, path = "/api/v1/ivr/flows/{number}",
    params(("number" = String, Path, description = "the number the flow answers"),
        ("version" = Option<i64>, Query, description = "an older saved version")),
    responses((status = 200, description = "the flow"), (status = 403, description = "forbidden: not an admin"),
        (status = 404, description = "not_found: no flow answers this number")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let pairs = query_pairs(query.as_deref());
    let version = match pair(&pairs, "version") {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest("version_invalid"))?,
        ),
        None => None,
    };
    let text = flow_text(&state, &number, version)
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = ivr_flows::history(&state.db, &number).await?;
    Ok(Json(flow_json(&state, &text, &versions)))
}

/// Why a flow file was refused, every problem worded for the admin.
pub fn problems(error: &FlowError) -> Vec<String> {
    match error {
        FlowError::Syntax(message) => vec![message.trim().to_owned()],
        FlowError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

/// What a save comes to: the version stored, or the problems that kept it out.
pub enum Saved {
    Version(i64),
    Refused(Vec<String>),
}

/// Checks `text` as `number`'s flow and, when it holds, stores it and hands it to the next call.
pub async fn save(state: &AppState, caller: &Caller, number: &str, text: &str) -> ApiResult<Saved> {
    caller.require_admin()?;
    if !known_numbers(state).await?.iter().any(|n| n == number) {
        return Err(AppError::NotFound);
    }
    let flow = match Flow::parse(text) {
        Ok(flow) => flow,
        Err(error) => return Ok(Saved::Refused(problems(&error))),
    };
    if flow.number != number {
        return Ok(Saved::Refused(vec![format!(
            "number {:?} in the file is not the number of the flow being changed ({number:?})",
            flow.number
        )]));
    }
    let version = ivr_flows::save(
        &state.db,
        number,
        text,
        caller.user.id,
        leadline_store::now(),
    )
    .await?;
    if state.ivr.flow().number == number {
        state.ivr.replace(flow);
    }
    tracing::info!(number, version, "IVR flow saved; the next call runs it");
    Ok(Saved::Version(version))
}

/// The refusal of a flow file: 422 `ivr_flow_invalid` with `details.problems`, one sentence each.
pub fn refused(lang: Lang, problems: Vec<String>) -> Response {
    let body = json!({
        "code": "ivr_flow_invalid",
        "error": "ivr_flow_invalid",
        "message": format!("{} {}", lang.t("error.ivr_flow_invalid"), problems.join("; ")),
        "details": { "problems": problems },
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Replaces the flow with the TOML text of the body; the answer is the flow as `GET` gives it
/// (admins). Problems: 422 `ivr_flow_invalid` listing every one; nothing is stored then.
#[utoipa::path(put, path = "/api/v1/ivr/flows/{number}",
    params(("number" = String, Path, description = "the number the flow answers")),
    request_body(content = String, content_type = "application/toml", description = "the flow file"),
    responses((status = 200, description = "saved: the flow with its new version"),
        (status = 403, description = "forbidden: not an admin"),
        (status = 404, description = "not_found: no flow answers this number"),
        (status = 409, description = "ivr_flow_saved_meanwhile: another admin saved at the same moment"),
        (status = 422, description = "ivr_flow_invalid: `details.problems` lists every problem")))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: String,
) -> Result<Response, AppError> {
    match save(&state, &caller, &number, &body).await? {
        Saved::Refused(problems) => Ok(refused(Lang::En, problems)),
        Saved::Version(_) => {
            let text = flow_text(&state, &number, None)
                .await?
                .ok_or(AppError::NotFound)?;
            let versions = ivr_flows::history(&state.db, &number).await?;
            Ok(Json(flow_json(&state, &text, &versions)).into_response())
        }
    }
}
