//! Call scripts, the knowledge base and search, through the API and the pages: placeholders,
//! versions and restore, sharing and pins, who sees what (in lists and in search), highlighted
//! snippets, safe Markdown, and a relevance set of Chinese and English questions that must find
//! the right article in the top three. The helpers the parts share live here.

mod articles;
mod pages;
mod scripts;
mod search;
mod sharing;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::Api;

/// Creates a script and returns its JSON, asserting success.
async fn create_script(api: &Api, body: Value) -> Value {
    let res = api.post("/api/v1/scripts", body.clone()).await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "creating {body}: {json}");
    json
}

/// Creates an article and returns its JSON, asserting success.
async fn create_article(api: &Api, body: Value) -> Value {
    let res = api.post("/api/v1/kb/articles", body.clone()).await;
    let status = res.status();
    let json: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "creating {body}: {json}");
    json
}

/// The search results for `query` (already URL-encoded pairs after `q=`).
async fn search(api: &Api, q: &str, extra: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, body) = api.get_json(&format!("/api/v1/search?q={q}{extra}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}
