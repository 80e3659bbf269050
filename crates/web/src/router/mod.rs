//! Every route: the API under `/api/v1` (`api_routes.rs`), the pages (`page_routes.rs`), and here the
//! static files, health and metrics and the layers every answer goes through.

mod api_routes;
mod page_routes;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api;
use crate::auth::Caller;
use crate::error::AppError;
use crate::{AppState, metrics};

pub fn router(state: AppState) -> Router {
    // An upload's body: the file and the few fields around it.
    let upload_limit = usize::try_from(state.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(api::uploads::FORM_OVERHEAD);
    Router::new()
        .nest("/api/v1", api_routes::routes(upload_limit))
        .merge(page_routes::routes(upload_limit))
        .route("/static/app.css", get(stylesheet))
        .route("/static/forms.js", get(forms_script))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(crate::pages::not_found)
        .layer(DefaultBodyLimit::max(api::MAX_JSON_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(crate::panic_guard::catch_panic))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

/// Behaviours of plain forms (a select that submits its form), for every page.
async fn forms_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/forms.js"),
    )
}

/// The few lines of search-as-you-type used by the search page and the lead page.
pub(super) async fn search_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/search.js"),
    )
}

/// The agent workspace's script: next call, the call form with its hotkeys, live events.
pub(super) async fn workspace_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/workspace.js"),
    )
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// The counters, for the configured scraper or a signed-in admin; anyone else is refused (401
/// without credentials, 403 for a non-admin).
async fn metrics_text(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Result<impl IntoResponse, AppError> {
    if !state.metrics.is_scraper(&parts.headers) {
        let mut parts = parts;
        Caller::from_request_parts(&mut parts, &state)
            .await?
            .require_admin()?;
    }
    let leads = leadline_store::leads::count_live(&state.db)
        .await
        .unwrap_or(-1);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(leads),
    ))
}

/// What every answer (page, API, error, file) tells the browser: run only this server's
/// scripts and styles, never inside another site's frame, do not guess content types, and send
/// no address of ours to other sites.
async fn security_headers(mut res: Response) -> Response {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
        img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
        form-action 'self'; frame-ancestors 'none'";
    let headers = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers
            .entry(name)
            .or_insert(axum::http::HeaderValue::from_static(value));
    }
    res
}
