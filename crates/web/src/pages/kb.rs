//! Knowledge-base pages: the browser (category tree, tags, articles, search as you type), an
//! article rendered from Markdown with who wrote and changed it, and the editor.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::article::may_write;
use leadline_domain::{ArticleFields, ArticleId};
use leadline_store::kb::{self, Article, ArticleFilter, ArticlePatch, Category};
use leadline_store::{StoreError, audit};

use super::Path;
use super::{Nav, OrPage, PageError, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

pub struct ArticleLine {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    pub updated: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "kb_index.html")]
struct IndexPage {
    nav: Nav,
    categories: Vec<Category>,
    tags: Vec<(String, i64)>,
    category: String,
    tag: String,
    articles: Vec<ArticleLine>,
    can_write: bool,
}

impl IndexPage {
    /// Indentation of a tree node, in em.
    fn indent(&self, c: &Category) -> usize {
        c.depth()
    }

    fn category_href(&self, path: &str) -> String {
        let q: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        format!("/kb?category={q}")
    }

    fn tag_href(&self, tag: &str) -> String {
        let q: String = form_urlencoded::byte_serialize(tag.as_bytes()).collect();
        format!("/kb?tag={q}")
    }
}

pub async fn index(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let nav = Nav::new(&caller, &format!("/kb?{}", query.as_deref().unwrap_or("")));
    let category = pair(&pairs, "category").unwrap_or("").to_string();
    let tag = pair(&pairs, "tag").unwrap_or("").to_string();
    let filter = ArticleFilter {
        category: Some(category.clone()),
        tag: Some(tag.clone()),
    };
    let articles = kb::list(&state.db, &filter)
        .await
        .or_page(l)?
        .into_iter()
        .map(|a| ArticleLine {
            id: a.id.0,
            updated: nav.time(&a.updated_at),
            by: a.updated_by_name.unwrap_or(a.author_name),
            title: a.title,
            category: a.category,
            tags: a.tags,
        })
        .collect();
    let page = IndexPage {
        categories: kb::categories(&state.db).await.or_page(l)?,
        tags: kb::tags(&state.db).await.or_page(l)?,
        can_write: may_write(caller.user.role),
        nav,
        category,
        tag,
        articles,
    };
    Ok(render(&page))
}

pub struct ChangeLine {
    pub when: String,
    pub who: String,
    pub action: &'static str,
    pub fields: String,
}

#[derive(Template)]
#[template(path = "kb_article.html")]
struct ArticlePage {
    nav: Nav,
    article: Article,
    html: String,
    changes: Vec<ChangeLine>,
    can_write: bool,
}

pub async fn article(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<ArticleId>,
) -> PageResult {
    let l = caller.lang;
    let article = kb::get(&state.db, id).await.or_page(l)?;
    let nav = Nav::new(&caller, &format!("/kb/articles/{id}"));
    let changes = audit::history(&state.db, "kb_article", id.0)
        .await
        .or_page(l)?
        .into_iter()
        .rev()
        .map(|h| ChangeLine {
            when: nav.time(&h.at),
            who: h.actor_name.clone().unwrap_or_default(),
            action: l.t(&format!("kb.action.{}", h.action)),
            fields: h
                .changes()
                .into_iter()
                .filter(|_| h.action == "update")
                .map(|(f, _, _)| l.t(&format!("kb.field.{f}")).to_string())
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect();
    let page = ArticlePage {
        html: crate::markdown::render(&article.body),
        can_write: may_write(caller.user.role),
        nav,
        article,
        changes,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "kb_form.html")]
struct FormPage {
    nav: Nav,
    /// `None` for a new article.
    id: Option<i64>,
    version: i64,
    title: String,
    category: String,
    tags: String,
    body: String,
    paths: Vec<String>,
    error: Option<String>,
}

fn writer_only(caller: &Caller) -> Result<(), PageError> {
    if may_write(caller.user.role) {
        Ok(())
    } else {
        Err(PageError(caller.lang, AppError::Forbidden))
    }
}

/// Fields shown in the editor: (title, category, tags, body, version).
type Draft = (String, String, String, String, i64);

async fn form_page(
    state: &AppState,
    caller: &Caller,
    id: Option<i64>,
    draft: Draft,
    error: Option<&AppError>,
) -> PageResult {
    let l = caller.lang;
    let path = match id {
        Some(id) => format!("/kb/articles/{id}/edit"),
        None => "/kb/articles/new".to_string(),
    };
    let (title, category, tags, body, version) = draft;
    let page = FormPage {
        nav: Nav::new(caller, &path),
        paths: kb::categories(&state.db)
            .await
            .or_page(l)?
            .into_iter()
            .map(|c| c.path)
            .collect(),
        error: error.map(|e| super::scripts::form_message(l, "kb", e)),
        id,
        version,
        title,
        category,
        tags,
        body,
    };
    let status = error.map(AppError::status).unwrap_or(StatusCode::OK);
    Ok((status, render(&page)).into_response())
}

fn draft_from(form: &PageForm) -> Draft {
    (
        form.text("title"),
        form.text("category"),
        form.text("tags"),
        form.get("body").unwrap_or("").to_string(),
        form.text("version").parse().unwrap_or(0),
    )
}

pub async fn new_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    writer_only(&caller)?;
    let pairs = query_pairs(query.as_deref());
    let category = pair(&pairs, "category").unwrap_or("").to_string();
    let draft = (String::new(), category, String::new(), String::new(), 0);
    form_page(&state, &caller, None, draft, None).await
}

pub async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    writer_only(caller)?;
    let draft = draft_from(&form);
    let result = match ArticleFields::parse(&draft.0, &draft.3, std::slice::from_ref(&draft.2)) {
        Ok(fields) => kb::create(&state.db, &caller.viewer, &fields, &draft.1)
            .await
            .map_err(AppError::from),
        Err(p) => Err(StoreError::Invalid(p).into()),
    };
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/kb/articles/{}", a.id)).into_response()),
        Err(e) => form_page(&state, caller, None, draft, Some(&e)).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<ArticleId>,
) -> PageResult {
    writer_only(&caller)?;
    let a = kb::get(&state.db, id).await.or_page(caller.lang)?;
    let draft = (a.title, a.category, a.tags.join(", "), a.body, a.version);
    form_page(&state, &caller, Some(id.0), draft, None).await
}

/// Saves the editor; a conflict or a bad field shows it again with what was typed kept.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    writer_only(caller)?;
    let draft = draft_from(&form);
    let patch = ArticlePatch {
        title: Some(draft.0.clone()),
        body: Some(draft.3.clone()),
        tags: Some(vec![draft.2.clone()]),
        category: Some(draft.1.clone()),
        expected_version: Some(draft.4),
    };
    match kb::update(&state.db, &caller.viewer, id, &patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/kb/articles/{id}")).into_response()),
        Err(e @ (StoreError::EditConflict { .. } | StoreError::Invalid(_))) => {
            form_page(&state, caller, Some(id.0), draft, Some(&e.into())).await
        }
        Err(e) => Err(PageError(caller.lang, e.into())),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    form: PageForm,
) -> PageResult {
    kb::delete(&state.db, &form.caller.viewer, id)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to("/kb").into_response())
}
