//! The IVR page for admins (`/ivr`, IVR 流程): the flow file in an editor with the problems that
//! kept a change out, its saved versions, and the prompts per language with a player each and an
//! upload form for recorded ones.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use leadline_store::ivr_flows;
use leadline_telephony::prompts::{self, prompt_names};

use super::{Nav, OrPage, PageError, PageForm, PageResult, check_csrf, render};
use crate::AppState;
use crate::api::ivr::{Saved, flow_text, save};
use crate::api::prompts::accept;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

/// One prompt's row: per language, its length when the file is there.
pub struct PromptRow {
    pub name: String,
    pub cells: Vec<PromptCell>,
}

pub struct PromptCell {
    pub language: String,
    /// `None`: no file yet.
    pub seconds: Option<String>,
}

/// A saved version in the history list.
pub struct VersionLine {
    pub version: i64,
    pub by: String,
    pub at: String,
    pub shown: bool,
}

#[derive(Template)]
#[template(path = "ivr.html")]
struct IvrPage {
    nav: Nav,
    number: String,
    name: String,
    version: i64,
    /// The text in the editor: the shown version, or the refused change to mend.
    toml: String,
    problems: Vec<String>,
    versions: Vec<VersionLine>,
    languages: Vec<String>,
    prompt_names: Vec<String>,
    rows: Vec<PromptRow>,
    missing: usize,
    notice: Option<String>,
    error: Option<String>,
}

/// What the page shows besides the current state.
#[derive(Default)]
struct Shown {
    version: Option<i64>,
    toml: Option<String>,
    problems: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
}

fn require_admin(caller: &Caller) -> Result<(), PageError> {
    caller
        .require_admin()
        .map_err(|e| PageError(caller.lang, e))
}

async fn page(state: &AppState, caller: &Caller, shown: Shown, status: StatusCode) -> PageResult {
    let l = caller.lang;
    let nav = Nav::new(caller, "/ivr");
    let flow = state.ivr.flow();
    let text = flow_text(state, &flow.number, shown.version)
        .await
        .or_page(l)?
        .ok_or(PageError(l, AppError::NotFound))?;
    let versions = ivr_flows::history(&state.db, &flow.number)
        .await
        .or_page(l)?
        .iter()
        .map(|v| VersionLine {
            version: v.version,
            by: v.saved_by_name.clone().unwrap_or_default(),
            at: nav.time(&v.saved_at),
            shown: v.version == text.version,
        })
        .collect();
    let names = prompt_names(&flow);
    let dir = state.ivr.prompt_dir.clone();
    let (languages, survey_names) = (flow.languages.clone(), names.clone());
    let (present, missing) =
        tokio::task::spawn_blocking(move || prompts::survey(&dir, &languages, &survey_names))
            .await
            .map_err(|e| PageError(l, AppError::Internal(e.to_string())))?;
    let rows = names
        .iter()
        .map(|name| PromptRow {
            name: name.clone(),
            cells: flow
                .languages
                .iter()
                .map(|language| PromptCell {
                    language: language.clone(),
                    seconds: present
                        .iter()
                        .find(|p| &p.language == language && &p.prompt == name)
                        .map(|p| match p.duration_ms {
                            Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
                            None => l.t("ivr.prompt_unreadable").to_string(),
                        }),
                })
                .collect(),
        })
        .collect();
    let body = IvrPage {
        nav,
        number: flow.number.clone(),
        name: flow.name.clone(),
        version: text.version,
        toml: shown.toml.unwrap_or(text.toml),
        problems: shown.problems,
        versions,
        languages: flow.languages.clone(),
        prompt_names: names.into_iter().collect(),
        rows,
        missing: missing.len(),
        notice: shown.notice,
        error: shown.error,
    };
    Ok((status, render(&body)).into_response())
}

/// The page; `?version=N` puts an older version in the editor (saving it makes it current).
pub async fn index(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    require_admin(&caller)?;
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let notice = if let Some(v) = pair(&pairs, "saved") {
        Some(format!("{} {v}", l.t("ivr.saved")))
    } else {
        pair(&pairs, "uploaded").map(|p| format!("{} {p}", l.t("ivr.uploaded")))
    };
    let shown = Shown {
        version: pair(&pairs, "version").and_then(|v| v.parse().ok()),
        notice,
        ..Shown::default()
    };
    page(&state, &caller, shown, StatusCode::OK).await
}

/// Saves the editor's text as the next version; a refused text comes back in the editor with
/// every problem listed (422), nothing stored.
pub async fn save_flow(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    require_admin(caller)?;
    let l = caller.lang;
    let number = state.ivr.flow().number;
    let text = form.get("toml").unwrap_or("").replace("\r\n", "\n");
    match save(&state, caller, &number, &text).await.or_page(l)? {
        Saved::Version(version) => {
            Ok(Redirect::to(&format!("/ivr?saved={version}")).into_response())
        }
        Saved::Refused(problems) => {
            let shown = Shown {
                toml: Some(text),
                problems,
                ..Shown::default()
            };
            page(&state, caller, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Receives a recorded prompt (multipart: `_csrf`, `language`, `prompt`, `file`).
pub async fn upload_prompt(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> PageResult {
    require_admin(&caller)?;
    let l = caller.lang;
    crate::auth::check_same_origin(&headers).or_page(l)?;
    let mut form = form.map_err(|_| PageError(l, AppError::BadRequest("not_multipart")))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut file = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(PageError(l, AppError::PayloadTooLarge));
            }
            Err(_) => return Err(PageError(l, AppError::BadRequest("bad_form"))),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let bytes = field.bytes().await.map_err(|e| {
                let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                PageError(
                    l,
                    if too_large {
                        AppError::PayloadTooLarge
                    } else {
                        AppError::BadRequest("bad_form")
                    },
                )
            })?;
            file = Some(bytes);
        } else {
            let value = field
                .text()
                .await
                .map_err(|_| PageError(l, AppError::BadRequest("bad_form")))?;
            fields.push((name, value));
        }
    }
    check_csrf(&headers, &caller, &fields).or_page(l)?;
    let get = |key: &str| pair(&fields, key).unwrap_or_default().to_owned();
    let (language, prompt) = (get("language"), get("prompt"));
    let refused = |message: String, status: StatusCode| {
        let shown = Shown {
            error: Some(message),
            ..Shown::default()
        };
        (shown, status)
    };
    let (shown, status) = match file.filter(|f| !f.is_empty()) {
        None => refused(
            l.t("error.file_missing").to_string(),
            StatusCode::BAD_REQUEST,
        ),
        Some(bytes) => match accept(&state, &language, &prompt, &bytes).await {
            Ok(_) => {
                let done: String =
                    form_urlencoded::byte_serialize(format!("{language}/{prompt}").as_bytes())
                        .collect();
                return Ok(Redirect::to(&format!("/ivr?uploaded={done}")).into_response());
            }
            Err(refusal) => refused(refusal.message(l), refusal.status),
        },
    };
    page(&state, &caller, shown, status).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prompt_upload_limit_holds_five_minutes_of_cd_stereo() {
        let five_minutes_44k_stereo = 5 * 60 * 44_100 * 2 * 2;
        assert!(crate::ivr::MAX_PROMPT_BYTES > five_minutes_44k_stereo);
    }
}
