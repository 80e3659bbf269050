//! The knowledge base over JSON: the category tree, articles (Markdown, rendered safely as
//! `html`), tags, and who changed what.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use leadline_domain::article::may_write;
use leadline_domain::{ArticleFields, ArticleId};
use leadline_store::kb::{self, Article, ArticleFilter, ArticlePatch};
use leadline_store::{StoreError, audit};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Path;
use super::{JsonBody, Tags, expected_version, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// An article with its Markdown rendered to safe HTML.
#[derive(Serialize)]
pub struct ArticleView {
    #[serde(flatten)]
    pub article: Article,
    pub html: String,
}

fn view(article: Article) -> ArticleView {
    ArticleView {
        html: crate::markdown::render(&article.body),
        article,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleCreate {
    pub title: String,
    /// Markdown; raw HTML is shown as text and unsafe link schemes are dropped.
    #[serde(default)]
    pub body: String,
    /// A category path such as `产品知识/版本对比`, created if new.
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub tags: Tags,
}

/// Writes a new article (supervisors and admins).
#[utoipa::path(post, path = "/api/v1/kb/articles", request_body = ArticleCreate,
    responses((status = 201), (status = 403), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ArticleCreate>,
) -> ApiResult<impl IntoResponse> {
    if !may_write(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let fields = ArticleFields::parse(&body.title, &body.body, &body.tags.into_vec())
        .map_err(StoreError::Invalid)?;
    let article = kb::create(&state.db, &caller.viewer, &fields, &body.category).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/kb/articles/{}", article.id),
        )],
        Json(view(article)),
    ))
}

/// One article with its HTML.
#[utoipa::path(get, path = "/api/v1/kb/articles/{id}", responses((status = 200), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<ArticleId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(view(kb::get(&state.db, id).await?)))
}

/// Articles, filtered by `category` (a path, sub-categories included) and `tag`.
#[utoipa::path(get, path = "/api/v1/kb/articles", responses((status = 200, description = "`{\"items\": [...]}`")))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<impl IntoResponse> {
    let pairs = query_pairs(query.as_deref());
    let filter = ArticleFilter {
        category: pair(&pairs, "category").map(str::to_string),
        tag: pair(&pairs, "tag").map(str::to_string),
    };
    let items = kb::list(&state.db, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ArticleChange {
    pub title: Option<String>,
    pub body: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Tags>,
    /// The version you read; a stale one is 409 `edit_conflict`.
    pub version: Option<i64>,
}

/// Changes an article (supervisors and admins).
#[utoipa::path(patch, path = "/api/v1/kb/articles/{id}", request_body = ArticleChange,
    responses((status = 200), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ArticleId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ArticleChange>,
) -> ApiResult<impl IntoResponse> {
    let patch = ArticlePatch {
        title: body.title,
        body: body.body,
        tags: body.tags.map(Tags::into_vec),
        category: body.category,
        expected_version: expected_version(body.version, &headers),
    };
    let article = kb::update(&state.db, &caller.viewer, id, &patch).await?;
    Ok(Json(view(article)))
}

/// Deletes an article (supervisors and admins).
#[utoipa::path(delete, path = "/api/v1/kb/articles/{id}", responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ArticleId>,
) -> ApiResult<StatusCode> {
    kb::delete(&state.db, &caller.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who wrote and changed an article, oldest first.
#[utoipa::path(get, path = "/api/v1/kb/articles/{id}/history", responses((status = 200), (status = 404)))]
pub async fn history(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<ArticleId>,
) -> ApiResult<impl IntoResponse> {
    let article = kb::get(&state.db, id).await?;
    let changes = audit::history(&state.db, "kb_article", article.id.0).await?;
    Ok(Json(json!({ "changes": changes })))
}

/// The category tree in path order (`depth` = number of `/` in `path`).
#[utoipa::path(get, path = "/api/v1/kb/categories", responses((status = 200)))]
pub async fn categories(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<impl IntoResponse> {
    let items = kb::categories(&state.db).await?;
    let tags = kb::tags(&state.db).await?;
    let tags: Vec<_> = tags
        .into_iter()
        .map(|(tag, count)| json!({"tag": tag, "count": count}))
        .collect();
    Ok(Json(json!({ "items": items, "tags": tags })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryCreate {
    /// `产品知识/版本对比`: every missing level is created.
    pub path: String,
}

/// Creates a category path (supervisors and admins).
#[utoipa::path(post, path = "/api/v1/kb/categories", request_body = CategoryCreate,
    responses((status = 201), (status = 403), (status = 422)))]
pub async fn create_category(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CategoryCreate>,
) -> ApiResult<impl IntoResponse> {
    if !may_write(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let (id, path) = kb::ensure_category(&state.db, &body.path, caller.user.id)
        .await?
        .ok_or_else(|| StoreError::invalid("path", "required"))?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "path": path }))))
}
