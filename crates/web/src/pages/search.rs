//! The search page: results rendered by the server (so it works without JavaScript), refreshed
//! as you type by `static/search.js`.

use askama::Template;
use axum::extract::{RawQuery, State};
use leadline_store::search::{self, DocKind, SearchHit};
use leadline_store::{kb, scripts};

use super::{Nav, OrPage, PageResult, render};
use crate::AppState;
use crate::api::search::request_from;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::error::AppError;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Nav,
    q: String,
    kind: String,
    category: String,
    kinds: Vec<(&'static str, &'static str)>,
    categories: Vec<String>,
    hits: Vec<SearchHit>,
    error: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let nav = Nav::new(
        &caller,
        &format!("/search?{}", query.as_deref().unwrap_or("")),
    );
    let (hits, error) = match request_from(&pairs) {
        Ok(req) => (
            search::search(&state.db, &caller.viewer, &req)
                .await
                .or_page(l)?,
            None,
        ),
        Err(e) => (
            Vec::new(),
            Some(super::scripts::form_message(
                l,
                "search",
                &AppError::from(e),
            )),
        ),
    };
    let mut categories: Vec<String> = kb::categories(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .map(|c| c.path)
        .collect();
    categories.extend(
        scripts::categories(&state.db, &caller.viewer)
            .await
            .or_page(l)?,
    );
    categories.sort();
    categories.dedup();
    let kinds = DocKind::ALL
        .iter()
        .map(|k| (k.as_str(), l.t(&format!("search.kind.{}", k.as_str()))))
        .collect();
    Ok(render(&SearchPage {
        q: pair(&pairs, "q").unwrap_or("").to_string(),
        kind: pair(&pairs, "kind").unwrap_or("").to_string(),
        category: pair(&pairs, "category").unwrap_or("").to_string(),
        nav,
        kinds,
        categories,
        hits,
        error,
    }))
}
