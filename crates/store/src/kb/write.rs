//! Writing the knowledge base: categories are created on first use of their path; articles are
//! written with their tags, search document and audit entry in one transaction, checked against
//! the version the editor saw.

use leadline_domain::article::{category_path, may_write};
use leadline_domain::{ArticleFields, ArticleId, UserId, Viewer};
use serde_json::json;

use super::{Article, get};
use crate::search::{DocKind, IndexDoc};
use crate::versioned::{Versioned, check_expected, edit_conflict, finish_write, soft_delete};
use crate::{Db, Result, StoreError, db_run, index_doc, now};

/// Articles as versioned documents.
const ARTICLES: Versioned = Versioned {
    entity: "kb_article",
    kind: DocKind::Article,
    current_version: "SELECT version FROM kb_articles WHERE id = $1",
    soft_delete: "UPDATE kb_articles SET deleted_at = $1, updated_at = $1, updated_by = $2 WHERE id = $3",
};

/// A new article's row, at version 1; returns its id.
const INSERT: &str = "INSERT INTO kb_articles (category_id, title, body, author_id, updated_by, version, \
    created_at, updated_at) VALUES ($1, $2, $3, $4, $4, 1, $5, $5) RETURNING id";

/// Writes an article's tags on a transaction (after its old ones, if any, were removed).
macro_rules! insert_tags {
    ($conn:expr, $id:expr, $tags:expr) => {
        for tag in $tags {
            sqlx::query("INSERT INTO kb_article_tags (article_id, tag) VALUES ($1, $2)")
                .bind($id)
                .bind(tag)
                .execute($conn)
                .await?;
        }
    };
}

/// Finds or creates every level of a category path; `None` for an empty path. Creating a
/// category is idempotent, so two editors naming the same new path at once end up with one.
pub async fn ensure_category(db: &Db, path: &str, actor: UserId) -> Result<Option<(i64, String)>> {
    let Some(names) = category_path(path).map_err(|p| StoreError::Invalid(vec![p]))? else {
        return Ok(None);
    };
    let mut parent: Option<i64> = None;
    let mut full = String::new();
    let at = now();
    for name in &names {
        if !full.is_empty() {
            full.push('/');
        }
        full.push_str(name);
        let id: i64 = db_run!(db, |pool| {
            sqlx::query(
                "INSERT INTO kb_categories (parent_id, name, path, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (path) DO NOTHING",
            )
            .bind(parent)
            .bind(name)
            .bind(&full)
            .bind(actor)
            .bind(at)
            .execute(pool)
            .await?;
            sqlx::query_scalar("SELECT id FROM kb_categories WHERE path = $1")
                .bind(&full)
                .fetch_one(pool)
                .await?
        });
        parent = Some(id);
    }
    Ok(parent.map(|id| (id, full)))
}

fn audit_json(f: &ArticleFields, category: &str, version: i64) -> serde_json::Value {
    json!({"title": f.title, "category": category, "body": f.body, "tags": f.tags, "version": version})
}

fn require_writer(viewer: &Viewer) -> Result<()> {
    if may_write(viewer.role) {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// Creates an article (supervisors and admins) in the category named by `category` (a path,
/// created if new; empty for none).
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    fields: &ArticleFields,
    category: &str,
) -> Result<Article> {
    require_writer(viewer)?;
    let cat = ensure_category(db, category, viewer.user_id).await?;
    let (category_id, path) = match &cat {
        Some((id, p)) => (Some(*id), p.as_str()),
        None => (None, ""),
    };
    let at = now();
    let actor = viewer.user_id;
    let backend = db.backend();
    let id: ArticleId = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id: ArticleId = sqlx::query_scalar(INSERT)
            .bind(category_id)
            .bind(&fields.title)
            .bind(&fields.body)
            .bind(actor)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
        insert_tags!(&mut *tx, id, &fields.tags);
        finish_write!(
            tx,
            backend,
            IndexDoc::article(id.0, path, &fields.title, &fields.body, &fields.tags),
            ARTICLES.audit(
                id.0,
                actor,
                "create",
                None,
                Some(audit_json(fields, path, 1)),
                at
            )
        );
        id
    });
    get(db, id).await
}

/// A change to an article; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    /// A category path; `Some("")` takes the article out of the tree.
    pub category: Option<String>,
    pub expected_version: Option<i64>,
}

/// Changes an article (supervisors and admins); a stale `expected_version` is `EditConflict`.
pub async fn update(
    db: &Db,
    viewer: &Viewer,
    id: ArticleId,
    patch: &ArticlePatch,
) -> Result<Article> {
    require_writer(viewer)?;
    let before = get(db, id).await?;
    check_expected(patch.expected_version, before.version)?;
    let fields = ArticleFields::parse(
        patch.title.as_deref().unwrap_or(&before.title),
        patch.body.as_deref().unwrap_or(&before.body),
        patch.tags.as_deref().unwrap_or(&before.tags),
    )
    .map_err(StoreError::Invalid)?;
    let cat = match &patch.category {
        Some(path) => ensure_category(db, path, viewer.user_id).await?,
        None => before.category_id.map(|id| (id, before.category.clone())),
    };
    let (category_id, path) = match &cat {
        Some((id, p)) => (Some(*id), p.as_str()),
        None => (None, ""),
    };
    let at = now();
    let next = before.version + 1;
    let backend = db.backend();
    let result: Result<()> = db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE kb_articles SET category_id = $1, title = $2, body = $3, updated_by = $4, version = $5, \
             updated_at = $6 WHERE id = $7 AND version = $8 AND deleted_at IS NULL",
        )
        .bind(category_id)
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(viewer.user_id)
        .bind(next)
        .bind(at)
        .bind(id)
        .bind(before.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(edit_conflict!(&mut *tx, ARTICLES, id));
        }
        sqlx::query("DELETE FROM kb_article_tags WHERE article_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_tags!(&mut *tx, id, &fields.tags);
        finish_write!(
            tx,
            backend,
            IndexDoc::article(id.0, path, &fields.title, &fields.body, &fields.tags),
            ARTICLES.audit(
                id.0,
                viewer.user_id,
                "update",
                Some(before.audit_view()),
                Some(audit_json(&fields, path, next)),
                at
            )
        );
        Ok(())
    });
    result?;
    get(db, id).await
}

/// Soft-deletes an article (supervisors and admins): it leaves lists and search.
pub async fn delete(db: &Db, viewer: &Viewer, id: ArticleId) -> Result<()> {
    require_writer(viewer)?;
    let before = get(db, id).await?;
    soft_delete(
        db,
        &ARTICLES,
        id.0,
        viewer.user_id,
        before.audit_view(),
        &[],
    )
    .await
}

/// Inserts many checked articles into existing categories in one transaction, indexed but
/// without audit entries (benchmarks and bulk loads). Returns how many were written.
pub async fn bulk_insert(
    db: &Db,
    author: UserId,
    articles: &[(ArticleFields, Option<(i64, String)>)],
) -> Result<usize> {
    let at = now();
    let backend = db.backend();
    db_run!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (f, cat) in articles {
            let id: ArticleId = sqlx::query_scalar(INSERT)
                .bind(cat.as_ref().map(|c| c.0))
                .bind(&f.title)
                .bind(&f.body)
                .bind(author)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_tags!(&mut *tx, id, &f.tags);
            let path = cat.as_ref().map(|c| c.1.as_str()).unwrap_or("");
            index_doc!(
                &mut *tx,
                backend,
                IndexDoc::article(id.0, path, &f.title, &f.body, &f.tags)
            )?;
        }
        tx.commit().await?;
    });
    Ok(articles.len())
}
