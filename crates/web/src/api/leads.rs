//! Leads over JSON: create, read, patch, soft-delete/restore, list with filters and cursor
//! pagination, grouped counts and history.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use leadline_domain::{LeadDraft, LeadId, UserId};
use leadline_store::leads::{self, CreateOptions, LeadFilter, LeadPatch, Sort};
use leadline_store::{StoreError, audit, leads::custom_fields, leads::views, workday::calls};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Path;
use super::{JsonBody, Tags, if_match, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, serde::Serialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LeadCreate {
    pub name: String,
    /// One phone; or use `phones`.
    pub phone: Option<String>,
    pub phones: Vec<String>,
    pub company: Option<String>,
    /// E-mail address (trimmed, the domain lower-cased; 422 `bad_email` when not one).
    pub email: Option<String>,
    pub title: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub tags: Tags,
    pub status: Option<String>,
    pub intent: Option<String>,
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    pub owner_id: Option<i64>,
    /// Put the lead in the public pool (no owner).
    pub pool: bool,
    /// Keep a phone another lead holds and record the collision.
    pub allow_collision: bool,
    /// The existing customer who referred it: a lead id the caller sees, or that customer's
    /// phone. The new lead goes to that customer's owner (老客户带来的新客户).
    #[schema(value_type = Option<Object>)]
    pub referred_by: Option<Value>,
}

/// Creates a lead; 409 `duplicate_phone` names the lead that holds the number. A contact of a
/// company another person owns (by company key) or with an e-mail another person's record holds
/// is created: under the setting `company_contacts` = `join` it goes to that company's owner
/// (with an ownership event, reason `company`), else a collision case is opened (match_kind
/// `company` or `email`).
#[utoipa::path(post, path = "/api/v1/leads", request_body = LeadCreate,
    responses((status = 201, description = "The lead"), (status = 409, description = "duplicate_phone"), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<LeadCreate>,
) -> ApiResult<impl IntoResponse> {
    let mut phones = body.phones;
    if let Some(p) = body.phone {
        phones.insert(0, p);
    }
    let draft = LeadDraft {
        name: body.name,
        phones,
        company: body.company,
        title: body.title,
        city: body.city,
        region: body.region,
        source: body.source,
        tags: body.tags.into_vec(),
        status: body.status,
        intent: body.intent,
        custom: body.custom,
        email: body.email,
    };
    let referred_by = match &body.referred_by {
        Some(v) if !v.is_null() => Some(
            leadline_store::ownership::people::referral::resolve(
                &state.db,
                &caller.viewer,
                &super::people::referrer_of(v)?,
            )
            .await?,
        ),
        _ => None,
    };
    let opts = CreateOptions {
        pool: body.pool,
        owner: body.owner_id.map(UserId),
        allow_collision: body.allow_collision,
        referred_by,
    };
    let lead = leads::create(&state.db, &caller.viewer, &draft, &opts).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/leads/{}", lead.id))],
        Json(lead),
    ))
}

/// One lead; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/api/v1/leads/{id}", responses((status = 200), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    let mut lead = leads::get(&state.db, &caller.viewer, id).await?;
    leadline_store::ownership::pools::mask_lead(&state.db, &caller.viewer, &mut lead).await?;
    Ok(Json(lead))
}

fn text(field: &str, v: &Value) -> Result<Option<String>, StoreError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(StoreError::invalid(field, "not_text")),
    }
}

/// A list of texts; `null` clears the list, but a `null` inside it is refused (it used to
/// become an empty entry, which the checks then dropped: `[null]` deleted every phone).
fn text_list(field: &str, v: &Value) -> Result<Vec<String>, StoreError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| text(field, i)?.ok_or_else(|| StoreError::invalid(field, "not_text")))
            .collect(),
        _ => Err(StoreError::invalid(field, "not_text")),
    }
}

/// A text that may not be cleared (`null` or empty is refused as `required`).
fn required_text(field: &str, v: &Value) -> Result<String, StoreError> {
    text(field, v)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| StoreError::invalid(field, "required"))
}

/// `true` or `false`, nothing else.
fn flag(field: &str, v: &Value) -> Result<bool, StoreError> {
    v.as_bool()
        .ok_or_else(|| StoreError::invalid(field, "not_an_option"))
}

/// Reads a JSON patch object: absent keys keep their value, `null` clears what may be empty.
/// A value of the wrong JSON type is refused naming its field (422), never read as `null` or
/// as absent: a wrong type must not change the lead.
pub fn patch_from_json(
    body: &Map<String, Value>,
    if_match: Option<i64>,
) -> Result<LeadPatch, StoreError> {
    let mut patch = LeadPatch {
        expected_version: if_match,
        ..Default::default()
    };
    for (key, v) in body {
        match key.as_str() {
            "name" => patch.name = Some(required_text(key, v)?),
            "phone" => patch.phones = Some(text_list(key, v)?),
            "phones" => patch.phones = Some(text_list(key, v)?),
            "company" => patch.company = Some(text(key, v)?),
            "email" => patch.email = Some(text(key, v)?),
            "title" => patch.title = Some(text(key, v)?),
            "city" => patch.city = Some(text(key, v)?),
            "region" => patch.region = Some(text(key, v)?),
            "source" => patch.source = Some(text(key, v)?),
            "tags" => patch.tags = Some(text_list(key, v)?),
            "status" => patch.status = Some(required_text(key, v)?),
            "intent" => patch.intent = Some(text(key, v)?),
            "custom" => match v {
                Value::Object(m) => patch.custom = Some(m.clone()),
                _ => return Err(StoreError::invalid(key, "not_an_option")),
            },
            "owner_id" => match v {
                Value::Null => patch.owner = Some(None),
                // 1.5 or 2^64 is nobody's id; it is not the pool either.
                Value::Number(n) => match n.as_i64() {
                    Some(id) => patch.owner = Some(Some(UserId(id))),
                    None => return Err(StoreError::invalid(key, "unknown_user")),
                },
                _ => return Err(StoreError::invalid(key, "unknown_user")),
            },
            "pool" => {
                if flag(key, v)? {
                    patch.owner = Some(None);
                }
            }
            "version" => match v.as_i64() {
                Some(n) => patch.expected_version = Some(n),
                None => return Err(StoreError::invalid(key, "not_a_number")),
            },
            "allow_collision" => patch.allow_collision = flag(key, v)?,
            "id" | "created_at" | "updated_at" | "owner_name" | "created_by" | "deleted_at" => {}
            _ => return Err(StoreError::invalid(key, "unknown_field")),
        }
    }
    Ok(patch)
}

/// Changes some fields. Send the `version` you read (or `If-Match`); a stale one gets 409
/// `edit_conflict` and nothing is written. A lead the caller may not see is 404, as for a read;
/// an assignment the caller may not make is 403.
#[utoipa::path(patch, path = "/api/v1/leads/{id}", responses((status = 200), (status = 403), (status = 404), (status = 409)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    // `referred_by` (issue 22) moves the lead to the referrer's owner: applied after the fields.
    let referral = body
        .remove("referred_by")
        .map(|v| super::people::referrer_of(&v))
        .transpose()?;
    if referral.is_none() || !body.is_empty() {
        let patch = patch_from_json(&body, if_match(&headers))?;
        leads::update(&state.db, &caller.viewer, id, &patch).await?;
    }
    if let Some(referrer) = &referral {
        leadline_store::ownership::people::set_referral(
            &state.db,
            &caller.viewer,
            id,
            referrer,
            leadline_store::now(),
        )
        .await?;
    }
    // After a referral the lead may now be someone else's: the caller sees what they may.
    match leads::get(&state.db, &caller.viewer, id).await {
        Ok(lead) => Ok(Json(
            serde_json::to_value(lead).map_err(|e| AppError::Internal(e.to_string()))?,
        )),
        Err(StoreError::NotFound) if referral.is_some() => {
            Ok(Json(json!({ "id": id, "moved_to_referrers_owner": true })))
        }
        Err(e) => Err(e.into()),
    }
}

/// Soft-deletes a lead (supervisors and admins).
#[utoipa::path(delete, path = "/api/v1/leads/{id}", responses((status = 200), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(leads::delete(&state.db, &caller.viewer, id).await?))
}

/// Restores a soft-deleted lead (supervisors and admins).
#[utoipa::path(post, path = "/api/v1/leads/{id}/restore", responses((status = 200), (status = 403), (status = 404)))]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(leads::restore(&state.db, &caller.viewer, id).await?))
}

/// The filter for a request: a saved view's pairs (`view=<id>`) then the request's own.
pub async fn filter_for(
    state: &AppState,
    caller: &Caller,
    pairs: &[(String, String)],
) -> ApiResult<LeadFilter> {
    let mut all: Vec<(String, String)> = Vec::new();
    if let Some(view_id) = pair(pairs, "view").filter(|v| !v.is_empty()) {
        let id = view_id.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let view = views::get(&state.db, caller.user.id, id).await?;
        if let Some(obj) = view.filter.0.as_object() {
            for (k, v) in obj {
                match v {
                    Value::String(s) => all.push((k.clone(), s.clone())),
                    other => all.push((k.clone(), other.to_string())),
                }
            }
        }
    }
    all.extend(pairs.iter().cloned());
    // Custom-field definitions are read only when a `cf.` filter needs them.
    let defs = if all.iter().any(|(k, _)| k.starts_with("cf.")) {
        custom_fields::list(&state.db).await?
    } else {
        Vec::new()
    };
    Ok(LeadFilter::from_pairs(&all, &defs, caller.user.id)?)
}

/// Lists leads the caller may see: filters (`status`, `intent`, `owner`, `source`, `city`,
/// `region`, `company`, `tag`, `created_from`, `created_to`, `cf.<key>`, `q`, `view`), `sort`,
/// `limit` and `cursor`. Answers `{"items": [...], "next_cursor": …}`; pool leads show a masked
/// phone to agents and sales reps when the masked-phone setting is on, as on the card.
#[utoipa::path(get, path = "/api/v1/leads", responses((status = 200, description = "`{\"items\": [...], \"next_cursor\": …}`"), (status = 422)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let filter = filter_for(&state, &caller, &pairs).await?;
    let sort = match pair(&pairs, "sort") {
        None | Some("") => Sort::default(),
        Some(s) => Sort::parse(s).ok_or_else(|| StoreError::invalid("sort", "not_an_option"))?,
    };
    let limit = match pair(&pairs, "limit") {
        None | Some("") => 50,
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| StoreError::invalid("limit", "not_a_number"))?,
    };
    let mut page = leads::list(
        &state.db,
        &caller.viewer,
        &filter,
        sort,
        limit,
        pair(&pairs, "cursor"),
    )
    .await?;
    leadline_store::ownership::pools::mask_leads(&state.db, &caller.viewer, &mut page.items)
        .await?;
    Ok(Json(page))
}

/// Counts of the matching leads grouped by `group_by` (`status`, `intent`, `owner`, `source`,
/// `city`, `region`, `tag`, `created_month` (in the caller's time zone) or `cf.<key>`), with the
/// same filters as the list.
#[utoipa::path(get, path = "/api/v1/leads/counts", responses((status = 200), (status = 422)))]
pub async fn counts(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let filter = filter_for(&state, &caller, &pairs).await?;
    let group_by = pair(&pairs, "group_by").unwrap_or("status");
    let defs = custom_fields::list(&state.db).await?;
    let zone = crate::api::workspace::zone_of(&caller);
    let groups = leads::counts(&state.db, &caller.viewer, &filter, group_by, &defs, zone).await?;
    let total: i64 = groups.iter().map(|g| g.count).sum();
    Ok(Json(
        json!({ "group_by": group_by, "groups": groups, "total": total }),
    ))
}

/// The lead's audit trail (oldest first) and its calls.
#[utoipa::path(get, path = "/api/v1/leads/{id}/history", responses((status = 200), (status = 404)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
) -> ApiResult<impl IntoResponse> {
    let lead = leads::get(&state.db, &caller.viewer, id).await?;
    let changes = audit::history(&state.db, "lead", lead.id.0).await?;
    let calls = calls::for_lead(&state.db, lead.id).await?;
    Ok(Json(json!({ "changes": changes, "calls": calls })))
}
