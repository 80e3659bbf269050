//! Dispositions on the calling settings page (issue 25): an admin adds one, renames one and
//! gives it a hotkey on the page, through the same checks as the API.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::disposition::code_from_label;
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

/// The fields of the new-disposition form, to show it again as typed when it is refused.
const NEW_FIELDS: [&str; 10] = [
    "code",
    "label_zh",
    "label_en",
    "sets_status",
    "hotkey",
    "connected",
    "valid_conversation",
    "qualified",
    "adds_dnc",
    "valid_follow_up",
];

/// The fields a disposition row's form sends.
const ROW_FIELDS: [&str; 3] = ["label_zh", "label_en", "hotkey"];

fn typed<'a>(form: &PageForm, fields: &[&'a str]) -> Vec<(&'a str, String)> {
    fields.iter().map(|&f| (f, form.text(f))).collect()
}

/// POST /admin/workday/dispositions/add. A code left blank is derived from the English name
/// (or numbered), and a blank English name takes the Chinese one, so that an admin who names a
/// disposition only in Chinese types nothing else.
pub async fn add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let mut fields = body(&form, true);
    // Named only in Chinese: the English name is the Chinese one until someone translates it.
    if fields
        .label_en
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        fields.label_en = fields.label_zh.clone();
    }
    if fields.code.as_deref().is_none_or(|c| c.trim().is_empty()) {
        let stored = config::dispositions(&state.db).await.or_page(l)?;
        let taken: Vec<&str> = stored.iter().map(|d| d.d.code.as_str()).collect();
        let label_en = fields.label_en.clone().unwrap_or_default();
        fields.code = Some(code_from_label(&label_en, &taken));
    }
    let saved = match apply(blank_disposition(), fields) {
        Ok(d) => config::save_disposition(&state.db, caller.user.id, None, &d)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => {
            let shown = Shown::refused_form(l, &e, "new_disp", typed(&form, &NEW_FIELDS));
            page(&state, caller, shown).await
        }
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
        Err(e) => {
            let shown =
                Shown::refused_form(l, &e, &format!("disp_{id}"), typed(&form, &ROW_FIELDS));
            page(&state, caller, shown).await
        }
    }
}
