//! Server-rendered pages: plain HTML from askama templates, Chinese by default, no build step.

pub mod admin;
// issue 24: call statistics
pub mod call_reports;
// issue 24: the dashboard
// issue 24: assessment (月度 / 年度考核)
pub mod assessments;
pub mod collisions;
pub mod customer_reports;
pub mod customers;
// issue 25: dispositions on the settings page
pub mod dashboard;
pub mod dispositions_admin;
// issue 24: targets, daily reports and work plans
pub mod daily_reports;
pub mod imports;
// issue 27: IVR flow and prompts
pub mod ivr;
pub mod kb;
pub mod lead_form;
pub mod leads;
pub mod people;
// issue 27: dial
pub mod phone_pane;
pub mod pipeline;
pub mod pipeline_admin;
pub mod pipeline_visits;
pub mod pools;
// issue 24: call quality checks
pub mod quality;
pub mod reclaim;
// issue 23: sales
pub mod sales;
pub mod sales_products;
pub mod sales_receivables;
pub mod scripts;
pub mod search;
pub mod session;
pub mod targets;
// issue 27: voicemails and the inbound call log
pub mod telephony;
// issue 27: reminder calls (催缴)
pub mod reminder_calls;
pub mod work_plans;
pub mod workday_admin;
pub mod workspace;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use leadline_domain::Role;

use crate::AppState;
use crate::auth::{Caller, PageCaller, check_same_origin, request_lang, secrets_equal};
use crate::error::AppError;
use crate::i18n::Lang;

/// What the page frame needs: the user, the CSRF token for forms, the language and time zone.
pub struct Nav {
    pub lang: Lang,
    pub user_name: String,
    pub role: Role,
    pub csrf: String,
    pub tz: chrono_tz::Tz,
    pub path: String,
    pub flash: Option<String>,
    /// The voicemail list is linked (admins, and people passed a voicemail).
    pub voicemails: bool,
}

impl Nav {
    pub fn new(caller: &Caller, path: &str) -> Nav {
        Nav {
            lang: caller.lang,
            user_name: caller.user.display_name.clone(),
            role: caller.user.role,
            csrf: caller.csrf.clone().unwrap_or_default(),
            tz: caller
                .user
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::Asia::Shanghai),
            path: path.to_string(),
            flash: None,
            voicemails: caller.user.role == Role::Admin || caller.has_voicemails,
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// `key` with its `{n}` filled, in the plural English needs ([`crate::i18n::Lang::tn`]).
    pub fn count(&self, key: &str, n: &u32) -> String {
        self.lang.tn(key, i64::from(*n), &[("n", &n.to_string())])
    }

    /// A UTC time shown in the user's zone.
    pub fn time(&self, t: &DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// A sales rep: their nav starts with their customer queue (issue 23).
    pub fn is_sales(&self) -> bool {
        self.role == Role::Sales
    }

    pub fn is_manager(&self) -> bool {
        self.role.manages_leads()
    }

    pub fn role_label(&self) -> &'static str {
        self.t(&format!("role.{}", self.role.as_str()))
    }

    pub fn switch_href(&self) -> String {
        let next: String = form_urlencoded::byte_serialize(self.path.as_bytes()).collect();
        format!("/lang/{}?next={next}", self.lang.other().code())
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
}

/// Renders a template into a response; a template failure is a logged 500.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    l: Lang,
    title: &'a str,
    message: String,
}

pub fn error_page(lang: Lang, err: &AppError) -> Response {
    err.log();
    let page = ErrorPage {
        l: lang,
        title: lang.t("error.page_title"),
        message: lang.error_message(err),
    };
    (err.status(), render(&page)).into_response()
}

/// An error shown as a page in the visitor's language.
pub struct PageError(pub Lang, pub AppError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.0, &self.1)
    }
}

pub type PageResult = Result<Response, PageError>;

/// Attaches the caller's language to a failure.
pub trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<AppError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError(lang, e.into()))
    }
}

/// Largest form body accepted from a page.
pub const MAX_FORM_BODY: usize = 256 * 1024;

/// A signed-in form post whose CSRF field and origin were checked.
pub struct PageForm {
    pub caller: Caller,
    pub pairs: Vec<(String, String)>,
}

impl PageForm {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or("").trim().to_string()
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn checked(&self, key: &str) -> bool {
        matches!(self.get(key), Some("on" | "true" | "1"))
    }
}

/// Checks the form's `_csrf` field against the session's token, and the request's origin.
pub fn check_csrf(
    headers: &HeaderMap,
    caller: &Caller,
    pairs: &[(String, String)],
) -> Result<(), AppError> {
    check_same_origin(headers)?;
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match &caller.csrf {
        Some(expected) if secrets_equal(sent, expected) => Ok(()),
        _ => Err(AppError::Csrf),
    }
}

impl FromRequest<AppState> for PageForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<PageForm, Response> {
        let (mut parts, body) = req.into_parts();
        let PageCaller(caller) = PageCaller::from_request_parts(&mut parts, state).await?;
        let lang = caller.lang;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| {
                let err = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest("bad_form")
                };
                error_page(lang, &err)
            })?;
        if bytes.len() > MAX_FORM_BODY {
            return Err(error_page(lang, &AppError::PayloadTooLarge));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        check_csrf(&parts.headers, &caller, &pairs).map_err(|e| error_page(lang, &e))?;
        Ok(PageForm { caller, pairs })
    }
}

/// The path's parameters as typed values (`Path<LeadId>`); a segment that does not parse is a
/// 400 `bad_path` error page in the visitor's language.
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        crate::api::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|crate::api::Path(v)| Path(v))
            .map_err(|e| error_page(request_lang(&parts.headers, None), &e))
    }
}

/// Where a person lands (issue 25): an agent in the workspace, a supervisor or admin on the
/// live view, a sales rep on their queue of customers (not the agents' calling targets),
/// finance on the customers.
pub async fn home(PageCaller(caller): PageCaller) -> Redirect {
    Redirect::to(landing(caller.user.role))
}

pub fn landing(role: Role) -> &'static str {
    match role {
        Role::Agent => "/workspace",
        Role::Supervisor | Role::Admin => "/supervisor/live",
        Role::Sales => "/customers?mine=1",
        Role::Finance => "/customers",
    }
}

/// GET /favicon.ico (issue 25): the app's icon, a small SVG bundled in the binary, so browsers
/// asking for it get an icon instead of a 404.
pub async fn favicon() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/favicon.svg"),
    )
        .into_response()
}

pub async fn not_found(headers: HeaderMap) -> Response {
    error_page(request_lang(&headers, None), &AppError::NotFound)
}
