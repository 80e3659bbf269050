//! Counters for `/metrics`, in the Prometheus text format, and who may read them: a scraper
//! holding the configured metrics token, or a signed-in admin.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

#[derive(Default, Debug)]
pub struct Metrics {
    /// The bearer token a scraper presents (`LEADLINE_METRICS_TOKEN`); admins need none.
    scrape_token: Option<ScrapeToken>,
    requests_2xx: AtomicU64,
    requests_3xx: AtomicU64,
    requests_4xx: AtomicU64,
    requests_5xx: AtomicU64,
    request_micros: AtomicU64,
    pub login_failures: AtomicU64,
}

/// A secret whose `Debug` never shows it.
struct ScrapeToken(String);

impl std::fmt::Debug for ScrapeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScrapeToken(***)")
    }
}

impl Metrics {
    /// Counters that a scraper holding `token` may read (blank: admins only).
    pub fn with_scrape_token(token: &str) -> Metrics {
        let token = token.trim();
        Metrics {
            scrape_token: (!token.is_empty()).then(|| ScrapeToken(token.to_string())),
            ..Metrics::default()
        }
    }

    /// Whether the request's `Authorization: Bearer …` is the configured scrape token.
    pub fn is_scraper(&self, headers: &HeaderMap) -> bool {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match (&self.scrape_token, sent) {
            (Some(ScrapeToken(token)), Some(sent)) => crate::auth::secrets_equal(token, sent),
            _ => false,
        }
    }

    fn observe(&self, status: u16, micros: u64) {
        let counter = match status {
            200..=299 => &self.requests_2xx,
            300..=399 => &self.requests_3xx,
            400..=499 => &self.requests_4xx,
            _ => &self.requests_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.request_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn render(&self, live_leads: i64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP leadline_http_requests_total HTTP requests answered, by status class."
        );
        let _ = writeln!(out, "# TYPE leadline_http_requests_total counter");
        for (class, c) in [
            ("2xx", &self.requests_2xx),
            ("3xx", &self.requests_3xx),
            ("4xx", &self.requests_4xx),
            ("5xx", &self.requests_5xx),
        ] {
            let _ = writeln!(
                out,
                "leadline_http_requests_total{{class=\"{class}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP leadline_http_request_seconds_sum Time spent answering requests."
        );
        let _ = writeln!(out, "# TYPE leadline_http_request_seconds_sum counter");
        let secs = self.request_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "leadline_http_request_seconds_sum {secs}");
        let _ = writeln!(
            out,
            "# HELP leadline_login_failures_total Failed sign-in attempts."
        );
        let _ = writeln!(out, "# TYPE leadline_login_failures_total counter");
        let _ = writeln!(
            out,
            "leadline_login_failures_total {}",
            self.login_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP leadline_leads Leads in the archive (not deleted)."
        );
        let _ = writeln!(out, "# TYPE leadline_leads gauge");
        let _ = writeln!(out, "leadline_leads {live_leads}");
        out
    }
}

/// Middleware counting every response by status class.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    state
        .metrics
        .observe(res.status().as_u16(), started.elapsed().as_micros() as u64);
    res
}
