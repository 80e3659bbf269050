//! Dispositions on the calling settings page (issue 25): an admin adds one, renames one and
//! gives it a hotkey on the page, through the same checks as the API.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use leadline_store::workday::config;

use super::workday_admin::{Shown, page};
use super::{OrPage, PageError, PageForm, PageResult};
use crate::AppState;
use crate::api::workday_admin::{DispositionBody, apply, blank_disposition};
use crate::error::AppError;

/// The disposition fields a form sent; a field left out stays as it is.
fn body(form: &PageForm, new: bool) -> DispositionBody {
    let flag = |key: &str| new.then(|| form.checked(key));
    DispositionBody {
        code: new.then(|| form.text("code")),
        label_zh: form.get("label_zh").map(|s| s.trim().to_string()),
        label_en: form.get("label_en").map(|s| s.trim().to_string()),
        sets_status: if new {
            form.get("sets_status").map(str::to_string)
        } else {
            None
        },
        connected: flag("connected"),
        valid_conversation: flag("valid_conversation"),
        qualified: flag("qualified"),
        adds_dnc: flag("adds_dnc"),
        valid_follow_up: flag("valid_follow_up"),
        hotkey: form.get("hotkey").map(str::to_string),
        position: None,
        active: None,
    }
}

/// POST /admin/workday/dispositions/add
pub async fn add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let saved = match apply(blank_disposition(), body(&form, true)) {
        Ok(d) => config::save_disposition(&state.db, caller.user.id, None, &d)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &e)).await,
    }
}

/// POST /admin/workday/dispositions/edit: a new name (both languages) or hotkey.
pub async fn edit(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let id: i64 = form
        .text("id")
        .parse()
        .map_err(|_| PageError(l, AppError::NotFound))?;
    let all = config::dispositions(&state.db).await.or_page(l)?;
    let Some(current) = all.into_iter().find(|d| d.id == id) else {
        return Err(PageError(l, AppError::NotFound));
    };
    let saved = match apply(current.d, body(&form, false)) {
        Ok(d) => config::save_disposition(&state.db, caller.user.id, Some(id), &d)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &e)).await,
    }
}
