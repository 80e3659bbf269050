//! Search over JSON: knowledge articles, scripts and call notes, ranked, with highlighted
//! snippets, limited to what the caller may see.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use leadline_store::StoreError;
use leadline_store::search::{self, DocKind, SearchRequest};
use serde_json::json;

use super::{pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;

/// Results asked of one search unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 20;

/// Reads `q`, `kind`, `category` and `limit` from query pairs.
pub fn request_from(pairs: &[(String, String)]) -> Result<SearchRequest, StoreError> {
    let kind = match pair(pairs, "kind").map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => {
            Some(DocKind::parse(k).ok_or_else(|| StoreError::invalid("kind", "not_an_option"))?)
        }
    };
    let limit = match pair(pairs, "limit").filter(|l| !l.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| StoreError::invalid("limit", "not_a_number"))?,
    };
    Ok(SearchRequest {
        q: pair(pairs, "q").unwrap_or("").to_string(),
        kind,
        category: pair(pairs, "category").map(str::to_string),
        limit,
    })
}

/// `?q=…[&kind=article|script|call_note][&category=…][&limit=…]` → `{"items": [{"kind", "id",
/// "title", "title_html", "snippet", "url", "category", "lead_id", "score"}]}`, best first.
/// `snippet` and `title_html` are escaped HTML whose only markup is `<mark>` around hits.
#[utoipa::path(get, path = "/api/v1/search", responses((status = 200, description = "`{\"items\": [...]}`"), (status = 422)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let req = request_from(&query_pairs(query.as_deref()))?;
    let items = search::search(&state.db, &caller.viewer, &req).await?;
    Ok(Json(json!({ "q": req.q, "items": items })))
}
