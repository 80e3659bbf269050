//! Articles as a reader finds them among many that share a frequent word, on both databases.

use leadline_domain::{ArticleFields, Role, Viewer};

use crate::auth::users::{self, NewUser};
use crate::db::test_db::TestDb;
use crate::search::{self, DocKind, SearchRequest};
use crate::{Db, kb};

async fn user(db: &Db, name: &str, role: Role) -> Viewer {
    let u = users::create_user(
        db,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role,
            team_id: None,
            password_hash: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    users::viewer(db, &u).await.unwrap()
}

fn fields(title: &str, body: &str) -> ArticleFields {
    ArticleFields::parse(title, body, &[]).unwrap()
}

/// Hundreds of articles mention 客户 (as every article of a telesales floor does); the one
/// about 客户异议 comes first for that question, with its hits marked in the snippet, every
/// time it is asked: PostgreSQL plans a statement that has run five times once for all values,
/// and the ranking must not depend on which plan runs.
#[tokio::test]
async fn the_best_article_comes_first_among_many_sharing_a_frequent_word() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "admin", Role::Admin).await;
    let agent = user(db, "agent", Role::Agent).await;
    let cat = kb::ensure_category(db, "知识库/通用", admin.user_id)
        .await
        .unwrap();
    let mut articles: Vec<(ArticleFields, Option<(i64, String)>)> = (0..400)
        .map(|i| {
            let title = format!("电话沟通要点（第{i}篇）");
            let body = format!("联系客户之前先看资料。第{i}条：客户接通后先问候，再说明来意。");
            (fields(&title, &body), cat.clone())
        })
        .collect();
    articles.insert(
        123,
        (
            fields(
                "客户异议处理",
                "客户提出异议时先认同，再追问原因。常见异议有价格、时机和竞品。",
            ),
            cat.clone(),
        ),
    );
    kb::bulk_insert(db, admin.user_id, &articles).await.unwrap();

    let req = SearchRequest {
        q: "客户异议".into(),
        kind: Some(DocKind::Article),
        limit: 10,
        ..SearchRequest::default()
    };
    for _ in 0..8 {
        let hits = search::search(db, &agent, &req).await.unwrap();
        assert_eq!(hits.len(), 10, "{hits:?}");
        assert_eq!(hits[0].title, "客户异议处理", "{:?}", hits[0]);
        assert!(hits[0].snippet.contains("<mark>异议</mark>"), "{hits:?}");
        assert!(hits[0].title_html.starts_with("<mark>客户"), "{hits:?}");
        assert!(hits.iter().all(|h| h.snippet.contains("<mark>客户</mark>")));
    }

    // The frequent word alone finds a full page, each with its hit marked.
    let req = SearchRequest {
        q: "客户".into(),
        ..req
    };
    for _ in 0..8 {
        let hits = search::search(db, &agent, &req).await.unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| h.snippet.contains("<mark>客户</mark>")));
    }
}

/// Search follows an article through its life: an edit's new words find it and its old words
/// no longer do, a move is searched in its new category only, and a deleted article is found by
/// nothing (PostgreSQL keeps its postings by a trigger, SQLite its FTS5 index).
#[tokio::test]
async fn an_article_is_found_by_the_words_it_has_now() {
    let t = TestDb::fresh().await.unwrap();
    let db = &t.db;
    let admin = user(db, "admin", Role::Admin).await;
    let agent = user(db, "agent", Role::Agent).await;
    let found = |q: &str, category: Option<&str>| {
        let req = SearchRequest {
            q: q.into(),
            kind: Some(DocKind::Article),
            category: category.map(str::to_string),
            limit: 10,
        };
        let agent = agent.clone();
        async move {
            search::search(db, &agent, &req)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.title)
                .collect::<Vec<_>>()
        }
    };
    let article = kb::create(
        db,
        &admin,
        &fields("上门安装须知", "工程师上门安装前先确认机房电源。"),
        "知识库/安装",
    )
    .await
    .unwrap();
    kb::create(
        db,
        &admin,
        &fields("发票开具", "电子发票当天发到邮箱。"),
        "知识库/财务",
    )
    .await
    .unwrap();
    assert_eq!(found("机房", None).await, ["上门安装须知"]);

    kb::update(
        db,
        &admin,
        article.id,
        &kb::ArticlePatch {
            title: Some("远程部署须知".into()),
            body: Some("远程部署前先开通防火墙端口。".into()),
            category: Some("知识库/部署".into()),
            ..kb::ArticlePatch::default()
        },
    )
    .await
    .unwrap();
    assert!(found("机房", None).await.is_empty());
    assert_eq!(found("防火墙", None).await, ["远程部署须知"]);
    let hits = found("部署", None).await;
    assert_eq!(hits, ["远程部署须知"], "the new title's word");
    assert_eq!(found("防火墙", Some("知识库/部署")).await, ["远程部署须知"]);
    assert!(found("防火墙", Some("知识库/安装")).await.is_empty());
    assert_eq!(found("邮箱", Some("知识库")).await, ["发票开具"]);

    kb::delete(db, &admin, article.id).await.unwrap();
    assert!(found("防火墙", None).await.is_empty());
    assert_eq!(found("发票", None).await, ["发票开具"]);
}
