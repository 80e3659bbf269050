//! The knowledge base (知识库): a category tree addressed by paths (`产品知识/版本对比`), Markdown
//! articles with tags, and who wrote and changed what (in the audit trail).

#[cfg(test)]
mod search_tests;
mod write;

pub use write::{ArticlePatch, bulk_insert, create, delete, ensure_category, update};

use chrono::{DateTime, Utc};
use leadline_domain::{ArticleId, UserId};
use serde::Serialize;

use crate::db::sql::{Arg, Sql};
use crate::{Db, Result, StoreError, bind_args, db_run};

/// One node of the category tree; `path` names it and its ancestors.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Category {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub path: String,
    /// Live articles directly in this category.
    pub articles: i64,
}

impl Category {
    /// How deep the node sits (0 for a top-level category).
    pub fn depth(&self) -> usize {
        self.path.matches('/').count()
    }
}

/// The whole tree in path order, so that children follow their parent.
pub async fn categories(db: &Db) -> Result<Vec<Category>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT c.id, c.parent_id, c.name, c.path, \
             (SELECT COUNT(*) FROM kb_articles a WHERE a.category_id = c.id AND a.deleted_at IS NULL) AS articles \
             FROM kb_categories c ORDER BY c.path",
        )
        .fetch_all(pool)
        .await?
    }))
}

#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub id: ArticleId,
    pub category_id: Option<i64>,
    /// `""` for an article outside the tree.
    pub category: String,
    pub title: String,
    /// Markdown as written; render with the web layer's safe renderer.
    pub body: String,
    pub tags: Vec<String>,
    pub author_id: UserId,
    pub author_name: String,
    pub updated_by: Option<UserId>,
    pub updated_by_name: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Article {
    fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({"title": self.title, "category": self.category, "body": self.body,
            "tags": self.tags, "version": self.version})
    }
}

#[derive(sqlx::FromRow)]
struct ArticleRow {
    id: ArticleId,
    category_id: Option<i64>,
    category: Option<String>,
    title: String,
    body: String,
    author_id: UserId,
    author_name: String,
    updated_by: Option<UserId>,
    updated_by_name: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT a.id, a.category_id, c.path AS category, a.title, a.body, a.author_id, \
    w.display_name AS author_name, a.updated_by, e.display_name AS updated_by_name, a.version, a.created_at, \
    a.updated_at FROM kb_articles a JOIN users w ON w.id = a.author_id LEFT JOIN users e ON e.id = a.updated_by \
    LEFT JOIN kb_categories c ON c.id = a.category_id";

async fn hydrate(db: &Db, rows: Vec<ArticleRow>) -> Result<Vec<Article>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::versioned::id_list(rows.iter().map(|r| r.id.0));
    let sql = format!(
        "SELECT article_id, tag FROM kb_article_tags WHERE article_id IN ({list}) ORDER BY tag"
    );
    let tags: Vec<(ArticleId, String)> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|r| Article {
            tags: tags
                .iter()
                .filter(|t| t.0 == r.id)
                .map(|t| t.1.clone())
                .collect(),
            id: r.id,
            category_id: r.category_id,
            category: r.category.unwrap_or_default(),
            title: r.title,
            body: r.body,
            author_id: r.author_id,
            author_name: r.author_name,
            updated_by: r.updated_by,
            updated_by_name: r.updated_by_name,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// A live article; every signed-in person may read the knowledge base.
pub async fn get(db: &Db, id: ArticleId) -> Result<Article> {
    let sql = format!("{SELECT} WHERE a.id = $1 AND a.deleted_at IS NULL");
    let row: Option<ArticleRow> = db_run!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let row = row.ok_or(StoreError::NotFound)?;
    Ok(hydrate(db, vec![row]).await?.remove(0))
}

/// Which articles to list.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// A category path; its sub-categories are included.
    pub category: Option<String>,
    pub tag: Option<String>,
}

/// Most articles one list returns.
pub const MAX_LIST: i64 = 500;

/// Live articles, by title within category order.
pub async fn list(db: &Db, filter: &ArticleFilter) -> Result<Vec<Article>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE a.deleted_at IS NULL");
    if let Some(path) = filter
        .category
        .as_deref()
        .map(|c| c.trim().trim_matches('/'))
        .filter(|c| !c.is_empty())
    {
        let p = sql.arg(Arg::Text(path.to_string()));
        let prefix = sql.arg(Arg::Text(format!("{path}/")));
        sql.push(&format!(
            " AND (c.path = {p} OR substr(c.path, 1, length({prefix})) = {prefix})"
        ));
    }
    if let Some(tag) = filter
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        sql.push_bind(
            " AND EXISTS (SELECT 1 FROM kb_article_tags t WHERE t.article_id = a.id AND t.tag = ?)",
            Arg::Text(tag.to_string()),
        );
    }
    sql.push(&format!(
        " ORDER BY COALESCE(c.path, ''), a.title, a.id LIMIT {MAX_LIST}"
    ));
    let rows: Vec<ArticleRow> = db_run!(db, |pool| {
        bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(pool)
            .await?
    });
    hydrate(db, rows).await
}

/// Every tag in use, with how many live articles carry it.
pub async fn tags(db: &Db) -> Result<Vec<(String, i64)>> {
    Ok(db_run!(db, |pool| {
        sqlx::query_as(
            "SELECT t.tag, COUNT(*) FROM kb_article_tags t JOIN kb_articles a ON a.id = t.article_id \
             WHERE a.deleted_at IS NULL GROUP BY t.tag ORDER BY 2 DESC, 1 LIMIT 200",
        )
        .fetch_all(pool)
        .await?
    }))
}
