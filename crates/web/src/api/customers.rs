//! Customers (issue 23): converting a lead, the customer list and card, contacts, the sales
//! rep's queue.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadline_domain::customer::{ContactDraft, CustomerStatus, is_grade};
use leadline_domain::{ContactId, CustomerId, LeadId, UserId};
use leadline_store::customers::{self, CustomerFilter, OwnerFilter};
use leadline_store::{StoreError, now};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, OptionalJson, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertBody {
    /// The sales rep who will own the customer; by default the lead's owner.
    pub sales_rep_id: Option<i64>,
}

/// Converts a lead into a customer (线索转化). CONTRACT: 201 `{customer_id, opportunity_id}`
/// when a customer was made; 200 `{customer_id}` when the customer already existed (the lead
/// converted before, or a customer with its phone, company or e-mail), the lead now linked to
/// it; 404 for a lead the caller may not see; 403 for one they may only read; 422
/// `sales_rep_id: not_a_sales_rep`.
#[utoipa::path(post, path = "/api/v1/leads/{id}/convert", request_body = ConvertBody,
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 201, description = "`{customer_id, opportunity_id}`: a new customer"),
        (status = 200, description = "`{customer_id}`: the existing customer, the lead linked to it"),
        (status = 403, description = "forbidden: the caller may only read the lead"),
        (status = 404, description = "not_found: a lead the caller may not see"),
        (status = 422, description = "invalid_input: sales_rep_id not an active sales rep, supervisor or admin")))]
pub async fn convert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<LeadId>,
    OptionalJson(body): OptionalJson<ConvertBody>,
) -> ApiResult<Response> {
    let rep = body.sales_rep_id.map(UserId);
    let c = customers::convert(&state.db, &caller.viewer, id, rep, now()).await?;
    Ok(if c.created {
        (
            StatusCode::CREATED,
            Json(json!({ "customer_id": c.customer_id, "opportunity_id": c.opportunity_id })),
        )
            .into_response()
    } else {
        Json(json!({ "customer_id": c.customer_id })).into_response()
    })
}

/// The filter of the list's query string; 422 for a value that does not parse.
pub fn filter_of(pairs: &[(String, String)]) -> Result<CustomerFilter, StoreError> {
    let mut f = CustomerFilter::default();
    let value = |k: &str| pair(pairs, k).map(str::trim).filter(|v| !v.is_empty());
    f.mine = matches!(value("mine"), Some("1" | "true"));
    f.owner = match value("owner") {
        None => None,
        Some("me") => Some(OwnerFilter::Me),
        Some(v) => Some(OwnerFilter::User(UserId(
            v.parse()
                .map_err(|_| StoreError::invalid("owner", "bad_id"))?,
        ))),
    };
    f.grade = match value("grade") {
        None => None,
        Some(g) if is_grade(g) => Some(g.to_string()),
        Some(_) => return Err(StoreError::invalid("grade", "not_an_option")),
    };
    f.status = match value("status") {
        None => None,
        Some(s) => Some(
            CustomerStatus::parse(s)
                .ok_or_else(|| StoreError::invalid("status", "not_an_option"))?,
        ),
    };
    f.text = value("q").map(str::to_string);
    let number = |k: &str| -> Result<Option<i64>, StoreError> {
        value(k)
            .map(|v| {
                v.parse()
                    .map_err(|_| StoreError::invalid(k, "not_a_number"))
            })
            .transpose()
    };
    f.limit = number("limit")?;
    f.offset = number("offset")?;
    Ok(f)
}

/// The customers the caller may see, most recently changed first; `mine=1` is the sales rep's
/// queue (their own, the most recently handed or converted first).
#[utoipa::path(get, path = "/api/v1/customers",
    params(("owner" = Option<String>, Query, description = "`me` or a user id"),
        ("grade" = Option<String>, Query, description = "A, B or C"),
        ("status" = Option<String>, Query, description = "prospect | active | lost | dormant"),
        ("q" = Option<String>, Query, description = "Part of the name"),
        ("mine" = Option<bool>, Query, description = "The caller's queue, newest owned first"),
        ("limit" = Option<i64>, Query, description = "At most 200 (default 50)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip")),
    responses((status = 200, description = "`{items: [{id, kind, name, city, industry, grade, status, owner_id, owner_name, owned_since, balance_fen, updated_at}]}`"),
        (status = 422, description = "invalid_input: a filter value that does not parse")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let filter = filter_of(&query_pairs(q.as_deref()))?;
    let items = customers::list(&state.db, &caller.viewer, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// The customer card (客户管理卡): kind, name, address, industry, `grade`, status, `owner`
/// (`{id, name}`) and backup, `balance_fen` (confirmed orders less returns less payments, in
/// 分), contacts with phones, the linked leads, the status history and the timeline.
/// CONTRACT: 404 for a customer the caller may not see.
#[utoipa::path(get, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "The card: `{id, kind, name, grade, owner: {id, name}, balance_fen, contacts, lead_ids, history, timeline, access, …}`"),
        (status = 404, description = "not_found")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CustomerId>,
) -> ApiResult<impl IntoResponse> {
    let card = customers::get(&state.db, &caller.viewer, id).await?;
    let history = customers::history(&state.db, &card).await?;
    let timeline = customers::timeline(&state.db, &card).await?;
    let mut out = serde_json::to_value(&card).map_err(|e| StoreError::Internal(e.to_string()))?;
    out["history"] = json!(history);
    out["timeline"] = json!(timeline);
    Ok(Json(out))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    pub name: String,
    pub title: Option<String>,
    /// Up to five numbers, any common form (stored in E.164).
    #[serde(default)]
    pub phones: Vec<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

impl ContactBody {
    fn draft(self) -> ContactDraft {
        ContactDraft {
            name: self.name,
            title: self.title,
            phones: self.phones,
            email: self.email,
            is_primary: self.is_primary,
        }
    }
}

/// The customer's contacts, primary first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "`{items: [{id, name, title, email, is_primary, phones: [{e164, raw}]}]}`"), (status = 404, description = "not_found")))]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CustomerId>,
) -> ApiResult<impl IntoResponse> {
    let card = customers::get(&state.db, &caller.viewer, id).await?;
    Ok(Json(json!({ "items": card.contacts })))
}

/// Adds a contact. 201 `{id}`; 403 read-only; 404 hidden; 422 a bad name, phone or e-mail.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", request_body = ContactBody,
    params(("id" = i64, Path, description = "Customer id")),
    responses((status = 201, description = "`{id}`"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"),
        (status = 422, description = "invalid_input")))]
pub async fn add_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<CustomerId>,
    JsonBody(body): JsonBody<ContactBody>,
) -> ApiResult<impl IntoResponse> {
    let contact =
        customers::add_contact(&state.db, &caller.viewer, id, &body.draft(), now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": contact }))))
}

/// Replaces a contact's fields and phones. 204; 404 for a contact not of this customer.
#[utoipa::path(put, path = "/api/v1/customers/{id}/contacts/{contact_id}", request_body = ContactBody,
    params(("id" = i64, Path, description = "Customer id"), ("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 204, description = "Changed"), (status = 403, description = "forbidden"), (status = 404, description = "not_found"),
        (status = 422, description = "invalid_input")))]
pub async fn update_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, contact)): Path<(CustomerId, ContactId)>,
    JsonBody(body): JsonBody<ContactBody>,
) -> ApiResult<StatusCode> {
    customers::update_contact(&state.db, &caller.viewer, id, contact, &body.draft(), now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a contact. 204; 404 for a contact not of this customer.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/contacts/{contact_id}",
    params(("id" = i64, Path, description = "Customer id"), ("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 204, description = "Removed"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")))]
pub async fn delete_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, contact)): Path<(CustomerId, ContactId)>,
) -> ApiResult<StatusCode> {
    customers::delete_contact(&state.db, &caller.viewer, id, contact, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
