//! Sales over JSON (issue 23): the product list, quotations, orders with their discount
//! approval (优惠销售申请), confirm and cancel. Payments, returns, notices and the receivables
//! reports are in [`super::receivables`].

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leadline_store::now;
use leadline_store::sales::products::ProductInput;
use leadline_store::sales::quotations::{NewQuotation, OrderFromQuotation};
use leadline_store::sales::{approvals, orders, products, quotations};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, OptionalJson, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// The products on sale (with `?all=true`, retired ones too), by name. CONTRACT: each with
/// `id`, `name`, `price_fen` (integer 分).
#[utoipa::path(get, path = "/api/v1/products",
    params(("all" = Option<bool>, Query, description = "Include retired products")),
    responses((status = 200, description = "`{products: [{id, code, name, unit, price_fen, is_bundle, active, items: [{product_id, name, quantity}]}]}`")))]
pub async fn list_products(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let all = pair(&pairs, "all") == Some("true");
    Ok(Json(
        json!({ "products": products::list(&state.db, all).await? }),
    ))
}

/// Adds a product, or a bundle when `items` are given (admin).
#[utoipa::path(post, path = "/api/v1/products",
    request_body(content = serde_json::Value, description = "`{code?, name, unit?, price_fen, active?, items?: [{product_id, quantity}]}`"),
    responses((status = 201, description = "The product"), (status = 403, description = "Not an admin"),
        (status = 409, description = "already_exists: the code is taken"), (status = 422, description = "invalid_input")))]
pub async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ProductInput>,
) -> ApiResult<impl IntoResponse> {
    let p = products::create(&state.db, &caller.viewer, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Replaces a product's fields (admin); orders keep the prices they were written at.
#[utoipa::path(put, path = "/api/v1/products/{id}", params(("id" = i64, Path, description = "Product id")),
    request_body(content = serde_json::Value, description = "As for create"),
    responses((status = 200, description = "The product"), (status = 403, description = "Not an admin"),
        (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ProductInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        products::update(&state.db, &caller.viewer, id, &body, now()).await?,
    ))
}

/// Writes an order for a customer. CONTRACT: 201 with the order (`id`, `total_fen`, `status`:
/// `confirmed`, or `awaiting_approval` when a price is below the caller's discount limit —
/// then `discount_reason` is required, else 422 naming it); 404 for a customer the caller may
/// not see; 403 for one they may only read.
#[utoipa::path(post, path = "/api/v1/customers/{id}/orders", params(("id" = i64, Path, description = "Customer id")),
    request_body(content = serde_json::Value, description = "`{lines: [{product_id, quantity, unit_price_fen?}], delivery_date?: 'YYYY-MM-DD', notes?, discount_reason?, instalments?: [{due_date, amount_fen}]}`; no plan: one instalment 30 days after delivery (or today)"),
    responses((status = 201, description = "The order: `{id, customer_id, status, total_fen, owed_fen, lines, instalments, discount_requests, returns, payments, …}`"),
        (status = 403, description = "forbidden: read-only access"), (status = 404, description = "not_found: a hidden customer"),
        (status = 422, description = "invalid_input: lines, product_unknown, quantity_invalid, price_invalid, discount_reason required, instalments that do not add up")))]
pub async fn create_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer): Path<i64>,
    JsonBody(body): JsonBody<orders::NewOrder>,
) -> ApiResult<impl IntoResponse> {
    let o = orders::create(&state.db, &caller.viewer, customer, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// A customer's orders the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "`{orders: [{id, status, total_fen, returned_fen, paid_fen, …}]}`")))]
pub async fn customer_orders(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let list = orders::list(&state.db, &caller.viewer, Some(customer), None).await?;
    Ok(Json(json!({ "orders": list })))
}

/// The orders the caller may see, newest first, optionally of one `status`.
#[utoipa::path(get, path = "/api/v1/orders",
    params(("status" = Option<String>, Query, description = "draft | awaiting_approval | confirmed | cancelled")),
    responses((status = 200, description = "`{orders: [...]}`")))]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(q.as_deref());
    let list = orders::list(&state.db, &caller.viewer, None, pair(&pairs, "status")).await?;
    Ok(Json(json!({ "orders": list })))
}

/// One order in full. 404 when its customer is hidden from the caller.
#[utoipa::path(get, path = "/api/v1/orders/{id}", params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order"), (status = 404, description = "not_found")))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(orders::get(&state.db, &caller.viewer, id).await?))
}

/// Confirms an order. 409 `approval_pending` while its discount waits for a decision,
/// `discount_rejected` after a refusal, `order_cancelled`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order, confirmed"), (status = 404, description = "not_found"),
        (status = 409, description = "approval_pending | discount_rejected | order_cancelled")))]
pub async fn confirm_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        orders::confirm(&state.db, &caller.viewer, id, now()).await?,
    ))
}

/// Cancels an order not yet confirmed (409 `order_confirmed` otherwise: record a return).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order, cancelled"), (status = 404, description = "not_found"),
        (status = 409, description = "order_confirmed")))]
pub async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        orders::cancel(&state.db, &caller.viewer, id, now()).await?,
    ))
}

/// The discount requests waiting for the caller: all for an admin, their teams' at the
/// supervisor's level for a supervisor, their own for anyone else.
#[utoipa::path(get, path = "/api/v1/discount-requests",
    responses((status = 200, description = "`{requests: [{id, order_id, customer_name, requester_name, reason, discount_bp, level, status, created_at}]}`")))]
pub async fn pending_requests(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    let list = approvals::pending_for(&state.db, &caller.viewer).await?;
    Ok(Json(json!({ "requests": list })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// true: approve (the order is confirmed); false: reject (it goes back to draft).
    pub approve: bool,
    /// Required to reject.
    pub note: Option<String>,
}

/// Decides a discount request. 403 for someone who may not (another team's supervisor, a
/// supervisor above their level, the requester); 409 `request_decided`; 422 a refusal without
/// a note.
#[utoipa::path(post, path = "/api/v1/discount-requests/{id}/decision", request_body = DecisionBody,
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "The request, decided"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found"), (status = 409, description = "request_decided"),
        (status = 422, description = "invalid_input: note required to reject")))]
pub async fn decide_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> ApiResult<impl IntoResponse> {
    let r = approvals::decide(
        &state.db,
        &caller.viewer,
        id,
        body.approve,
        body.note.as_deref(),
        now(),
    )
    .await?;
    Ok(Json(r))
}

/// Writes a quotation for a customer the caller may change.
#[utoipa::path(post, path = "/api/v1/customers/{id}/quotations", params(("id" = i64, Path, description = "Customer id")),
    request_body(content = serde_json::Value, description = "`{lines: [{product_id, quantity, unit_price_fen?}], valid_until?, notes?}`"),
    responses((status = 201, description = "The quotation"), (status = 404, description = "not_found"), (status = 422, description = "invalid_input")))]
pub async fn create_quotation(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer): Path<i64>,
    JsonBody(body): JsonBody<NewQuotation>,
) -> ApiResult<impl IntoResponse> {
    let q = quotations::create(&state.db, &caller.viewer, customer, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(q)))
}

/// A customer's quotations, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/quotations", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "`{quotations: [...]}`")))]
pub async fn customer_quotations(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let list = quotations::list(&state.db, &caller.viewer, customer).await?;
    Ok(Json(json!({ "quotations": list })))
}

/// One quotation with its lines.
#[utoipa::path(get, path = "/api/v1/quotations/{id}", params(("id" = i64, Path, description = "Quotation id")),
    responses((status = 200, description = "The quotation"), (status = 404, description = "not_found")))]
pub async fn get_quotation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(quotations::get(&state.db, &caller.viewer, id).await?))
}

/// Makes the quotation's order (its lines and prices; the discount rule applies).
#[utoipa::path(post, path = "/api/v1/quotations/{id}/order", params(("id" = i64, Path, description = "Quotation id")),
    request_body(content = serde_json::Value, description = "`{delivery_date?, discount_reason?, instalments?}`"),
    responses((status = 201, description = "The order"), (status = 404, description = "not_found"),
        (status = 409, description = "quotation_ordered, or quotation_not_accepted before the customer accepted it"), (status = 422, description = "invalid_input")))]
pub async fn quotation_to_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    OptionalJson(extra): OptionalJson<OrderFromQuotation>,
) -> ApiResult<impl IntoResponse> {
    let o = quotations::to_order(&state.db, &caller.viewer, id, &extra, now()).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// Sends a quotation to the customer, or records that the customer accepted or rejected it.
#[utoipa::path(post, path = "/api/v1/quotations/{id}/{action}", params(("id" = i64, Path, description = "Quotation id"),
        ("action" = String, Path, description = "send (draft → sent) | accept (sent → accepted) | reject (sent → rejected)")),
    responses((status = 200, description = "The quotation with its new `status`"), (status = 403, description = "forbidden (finance, or read-only)"),
        (status = 404, description = "not_found"), (status = 409, description = "quotation_state: not allowed from its state")))]
pub async fn decide_quotation(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(i64, String)>,
) -> ApiResult<impl IntoResponse> {
    let q = quotations::decide(&state.db, &caller.viewer, id, &action, now()).await?;
    Ok(Json(q))
}

/// A day parameter (`YYYY-MM-DD`), `today` (the organisation's) when absent.
pub(crate) fn day_param(
    v: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, AppError> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(today),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::BadRequest("day_invalid")),
    }
}
