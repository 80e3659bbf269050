//! Who is calling: bearer tokens for the API, session cookies for pages (and the API from pages),
//! CSRF checks for cookie-authenticated writes, and the sign-in procedure with throttling.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use leadline_domain::{Role, Viewer};
use leadline_store::auth::users::User;
use leadline_store::auth::{self as store_auth, throttle, users};

use crate::AppState;
use crate::error::AppError;
use crate::i18n::Lang;

pub const SESSION_COOKIE: &str = "leadline_session";
pub const LANG_COOKIE: &str = "leadline_lang";

/// The signed-in person making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub viewer: Viewer,
    /// The session's CSRF token; `None` when authenticated by bearer token.
    pub csrf: Option<String>,
    pub lang: Lang,
    /// What the caller signed in with, so that a long response (an event stream) can end once
    /// it is no longer good.
    pub credential: Credential,
    /// Someone passed the caller a voicemail (issue 27): their pages link the list. Looked up
    /// for pages only; API requests leave it `false`.
    pub has_voicemails: bool,
}

/// A bearer token or a session id. Its `Debug` never shows the secret.
#[derive(Clone)]
pub enum Credential {
    Token(String),
    Session(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Token(_) => "Token(***)",
            Credential::Session(_) => "Session(***)",
        })
    }
}

impl Caller {
    pub fn require(&self, allowed: impl Fn(Role) -> bool) -> Result<(), AppError> {
        if allowed(self.user.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        self.require(Role::is_admin)
    }

    /// The caller as their token or session signs them in now, or `None` once it no longer
    /// does (revoked, logged out, expired or deactivated since the request began).
    pub async fn signed_in_now(
        &self,
        db: &leadline_store::Db,
    ) -> leadline_store::Result<Option<User>> {
        let user = match &self.credential {
            Credential::Token(t) => store_auth::token_user(db, t).await?,
            Credential::Session(s) => store_auth::session_user(db, s).await?.map(|(u, _)| u),
        };
        Ok(user.filter(|u| u.id == self.user.id && u.active))
    }
}

/// The value of one cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The language for this request: the cookie set by the switch, else the user's own, else zh-CN.
pub fn request_lang(headers: &HeaderMap, user: Option<&User>) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::parse(&c))
        .or_else(|| user.and_then(|u| Lang::parse(&u.locale)))
        .unwrap_or_default()
}

/// Refuses a cookie-authenticated write that a browser says came from another site.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site == "cross-site"
    {
        return Err(AppError::Csrf);
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if origin == "null" || origin_host != host {
            return Err(AppError::Csrf);
        }
    }
    Ok(())
}

/// Compares secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn caller_from(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    let headers = &parts.headers;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let (user, csrf, credential) = if let Some(token) = bearer {
        let user = store_auth::token_user(&state.db, token)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        (user, None, Credential::Token(token.to_string()))
    } else {
        let sid = cookie(headers, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?;
        let (user, csrf) = store_auth::session_user(&state.db, &sid)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        (user, Some(csrf), Credential::Session(sid))
    };
    let viewer = users::viewer(&state.db, &user).await?;
    let lang = request_lang(headers, Some(&user));
    Ok(Caller {
        user,
        viewer,
        csrf,
        lang,
        credential,
        has_voicemails: false,
    })
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    /// API authentication: a bearer token, or the session cookie plus the `X-CSRF-Token` header
    /// for writes.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
        let caller = caller_from(parts, state).await?;
        if let Some(csrf) = &caller.csrf
            && is_write(&parts.method)
        {
            check_same_origin(&parts.headers)?;
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !secrets_equal(sent, csrf) {
                return Err(AppError::Csrf);
            }
        }
        Ok(caller)
    }
}

/// A page visitor who must be signed in; form posts check the CSRF field themselves
/// (see `pages::form::Form`).
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PageCaller, Self::Rejection> {
        use axum::response::{IntoResponse, Redirect};
        match caller_from(parts, state).await {
            Ok(mut c) if c.csrf.is_some() => {
                // Admins see every voicemail; anyone else only those passed to them.
                if c.user.role != leadline_domain::Role::Admin {
                    let passed = leadline_store::telephony::voicemails::has_passed_voicemails(
                        &state.db, c.user.id,
                    )
                    .await;
                    c.has_voicemails =
                        passed.map_err(|e| crate::pages::error_page(c.lang, &AppError::from(e)))?;
                }
                Ok(PageCaller(c))
            }
            Ok(_) | Err(AppError::Unauthenticated) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => {
                let lang = request_lang(&parts.headers, None);
                Err(crate::pages::error_page(lang, &e))
            }
        }
    }
}

/// The client address used for throttling (the TCP peer; forwarded headers are not trusted).
pub fn client_of(parts_ext: &axum::http::Extensions) -> String {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Checks a username and password. The attempt is counted before the password is checked, so
/// that parallel attempts cannot outrun the throttle (`leadline_store::auth::throttle`).
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    client: &str,
) -> Result<User, AppError> {
    let username = username.trim();
    let now = leadline_store::now();
    let Some(attempt) = throttle::reserve(&state.db, username, client, now).await? else {
        return Err(AppError::Throttled);
    };
    let found = users::find_for_login(&state.db, username).await?;
    let password = password.to_string();
    // Verify even for unknown users, so timing does not reveal which usernames exist.
    let hash = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into());
    let ok = tokio::task::spawn_blocking(move || users::verify_password(&hash, &password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    match found {
        Some((user, _)) if ok && user.active => {
            throttle::succeeded(&state.db, &attempt, user.id, now).await?;
            Ok(user)
        }
        _ => {
            state
                .metrics
                .login_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            throttle::failed(&state.db, &attempt, now).await?;
            tracing::info!(username, client, "failed sign-in");
            Err(AppError::InvalidCredentials)
        }
    }
}

/// The `Set-Cookie` value for a session.
pub fn session_cookie(value: &str, secure: bool, max_age_secs: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}
