//! The last line of defence: a handler that panics answers a logged 500 instead of closing the
//! connection without an answer.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::error::AppError;

/// Runs the rest of the stack and turns a panic inside it into `500 internal_error` (the JSON
/// error every 5xx answers), logging the panic's message with the request's method and path.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            AppError::Internal(format!("handler panicked at {method} {path}: {message}"))
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;

    use super::*;

    /// Without the layer the client gets no answer at all: hyper drops the connection.
    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let years: Vec<i64> = Vec::new();
                    years[3].to_string()
                }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(catch_panic));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let res = http.get(format!("{base}/boom")).send().await.unwrap();
        assert_eq!(res.status(), 500);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "internal_error", "{body}");
        assert!(
            !body["message"].as_str().unwrap().contains("index"),
            "nothing internal is shown: {body}"
        );
        let res = http.get(format!("{base}/fine")).send().await.unwrap();
        assert_eq!(res.text().await.unwrap(), "fine", "the server still serves");
    }
}
