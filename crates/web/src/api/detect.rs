//! The setting that says what a new contact of another person's company does (issue 22,
//! 撞单 by company): join that company's owner, or open a case.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use leadline_domain::contact_match::CompanyContacts;
use leadline_store::StoreError;
use leadline_store::ownership::detect;
use serde::Deserialize;
use serde_json::json;

use super::JsonBody;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// `company_contacts`: `join` (the default: a new contact, entered or imported, of a company one
/// other person owns goes to that person) or `case` (it keeps its owner and a collision case is
/// opened). Records of a company with several owners always open a case.
#[utoipa::path(get, path = "/api/v1/settings/company-contacts",
    responses((status = 200, description = "`{\"company_contacts\": \"join\" | \"case\"}`")))]
pub async fn get_company_contacts(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    let mode = detect::company_contacts(&state.db).await?;
    Ok(Json(json!({ "company_contacts": mode.code() })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyContactsBody {
    /// `join` or `case`.
    pub company_contacts: String,
}

/// Sets `company_contacts` (admin); audited.
#[utoipa::path(put, path = "/api/v1/settings/company-contacts", request_body = CompanyContactsBody,
    responses((status = 200, description = "The setting"), (status = 403, description = "forbidden"), (status = 422, description = "invalid_input")))]
pub async fn put_company_contacts(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CompanyContactsBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require_admin()?;
    let mode = CompanyContacts::parse(body.company_contacts.trim())
        .ok_or_else(|| StoreError::invalid("company_contacts", "not_an_option"))?;
    detect::set_company_contacts(&state.db, caller.user.id, mode).await?;
    Ok(Json(json!({ "company_contacts": mode.code() })))
}
