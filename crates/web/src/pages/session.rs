//! Sign-in and sign-out pages, the language switch, and the user's API tokens.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use leadline_store::auth::{self as store_auth, ApiToken, SESSION_TTL, phone_pin};
use serde::Deserialize;

use super::Path;
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::auth::{
    LANG_COOKIE, PageCaller, SESSION_COOKIE, client_of, cookie, request_lang, session_cookie,
    sign_in,
};
use crate::error::AppError;
use crate::i18n::Lang;
use leadline_domain::TokenId;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Lang,
    next: String,
    username: String,
    error: Option<String>,
}

/// Only local paths may be a post-login destination. Control characters are refused too: a line
/// break cannot go in a `Location` header (a 500), and browsers drop tabs, so `/<tab>/evil.example`
/// would lead off-site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        // Each role's own landing page (`home`).
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let l = request_lang(&headers, None);
    render(&LoginPage {
        l,
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
    })
}

pub async fn login_submit(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let l = request_lang(&parts.headers, None);
    let client = client_of(&parts.extensions);
    let bytes = match axum::body::to_bytes(body, super::MAX_FORM_BODY).await {
        Ok(b) => b,
        Err(_) => return super::error_page(l, &AppError::PayloadTooLarge),
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Err(e) = crate::auth::check_same_origin(&parts.headers) {
        return super::error_page(l, &e);
    }
    let (username, password, next) = (
        get("username"),
        get("password"),
        safe_next(Some(&get("next"))),
    );
    match sign_in(&state, &username, &password, &client).await {
        Ok(user) => match store_auth::create_session(&state.db, user.id).await {
            Ok(session) => {
                let cookie =
                    session_cookie(&session.id, state.secure_cookies, SESSION_TTL.num_seconds());
                ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
            }
            Err(e) => super::error_page(l, &e.into()),
        },
        Err(e @ (AppError::InvalidCredentials | AppError::Throttled)) => {
            let page = LoginPage {
                l,
                next,
                username,
                error: Some(l.error_message(&e)),
            };
            (e.status(), render(&page)).into_response()
        }
        Err(e) => super::error_page(l, &e),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, form: PageForm) -> Response {
    if let Some(sid) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = store_auth::delete_session(&state.db, &sid).await
    {
        return super::error_page(form.caller.lang, &e.into());
    }
    (
        [(
            header::SET_COOKIE,
            session_cookie("", state.secure_cookies, 0),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

/// Switches the interface language (a preference cookie) and returns to the page.
pub async fn switch_lang(Path(code): Path<String>, RawQuery(q): RawQuery) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let pairs = crate::api::query_pairs(q.as_deref());
    let next = safe_next(crate::api::pair(&pairs, "next"));
    let c = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    ([(header::SET_COOKIE, c)], Redirect::to(&next)).into_response()
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    tokens: Vec<ApiToken>,
    new_secret: Option<String>,
    /// Whether the person has a phone PIN for the IVR (issue 27).
    has_pin: bool,
}

pub async fn tokens(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    let tokens = store_auth::list_tokens(&state.db, caller.user.id)
        .await
        .or_page(caller.lang)?;
    let has_pin = phone_pin::has_phone_pin(&state.db, caller.user.id)
        .await
        .or_page(caller.lang)?;
    Ok(render(&TokensPage {
        nav: Nav::new(&caller, "/tokens"),
        tokens,
        new_secret: None,
        has_pin,
    }))
}

pub async fn create_token(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let (_, secret) = store_auth::create_token(&state.db, caller.user.id, &form.text("name"))
        .await
        .or_page(caller.lang)?;
    let tokens = store_auth::list_tokens(&state.db, caller.user.id)
        .await
        .or_page(caller.lang)?;
    let has_pin = phone_pin::has_phone_pin(&state.db, caller.user.id)
        .await
        .or_page(caller.lang)?;
    Ok(render(&TokensPage {
        nav: Nav::new(caller, "/tokens"),
        tokens,
        new_secret: Some(secret),
        has_pin,
    }))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(TokenId(id)): Path<TokenId>,
    form: PageForm,
) -> PageResult {
    store_auth::revoke_token(&state.db, form.caller.user.id, id)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to("/tokens").into_response())
}

/// Sets (or, with `clear`, clears) the person's own phone PIN for the IVR (issue 27).
pub async fn set_phone_pin(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let pin = form.text("pin");
    let pin = (form.text("clear") != "1").then_some(pin.as_str());
    phone_pin::set_phone_pin(
        &state.db,
        &caller.viewer,
        caller.user.id,
        pin,
        leadline_store::now(),
    )
    .await
    .or_page(caller.lang)?;
    Ok(Redirect::to("/tokens#phone-pin").into_response())
}
