//! Import pages: upload a file, check its first rows and map its columns, choose the duplicate
//! policy and where the leads go, then follow the job to its result and error report.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use leadline_domain::CustomFieldDef;
use leadline_import::{Mapping, Target};
use leadline_store::imports::{self, ImportJob, SavedMapping};
use leadline_store::{auth::users, leads::custom_fields};

use super::{Nav, OrPage, PageError, PageForm, PageResult, check_csrf, render};
use crate::AppState;
use crate::api::imports::{
    StartRequest, assignment, may_import, parse_target, run_preview, saved_mapping, start_job,
    target_code, target_codes, visible_job,
};
use crate::api::uploads::{self, Upload};
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;
use crate::i18n::Lang;

/// One line of the recent-jobs table.
pub struct JobLine {
    pub id: i64,
    pub file_name: String,
    pub status: String,
    pub rows_done: i64,
    pub imported: i64,
    pub failed: i64,
    pub created: String,
}

#[derive(Template)]
#[template(path = "import_upload.html")]
struct UploadPage {
    nav: Nav,
    jobs: Vec<JobLine>,
    error: Option<String>,
}

/// An option of a `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A file column in the mapping table.
pub struct ColumnLine {
    pub index: usize,
    pub header: String,
    pub samples: String,
    pub targets: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "import_preview.html")]
struct PreviewPage {
    nav: Nav,
    upload: String,
    file_name: String,
    file_info: String,
    encoding: String,
    encodings: Vec<Opt>,
    sheets: Vec<Opt>,
    saved: Vec<Opt>,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    columns: Vec<ColumnLine>,
    problems: Vec<String>,
    owners: Vec<Opt>,
    teams: Vec<Opt>,
    dups: Vec<Opt>,
    into: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    nav: Nav,
    job: ImportJob,
    status: String,
    created: String,
}

fn status_label(l: Lang, status: &str) -> String {
    match status {
        "running" | "done" | "failed" => l.t(&format!("import.status_{status}")).to_string(),
        other => other.to_string(),
    }
}

fn job_line(nav: &Nav, j: &ImportJob) -> JobLine {
    JobLine {
        id: j.id,
        file_name: j.file_name.clone(),
        status: status_label(nav.lang, &j.status),
        rows_done: j.rows_done,
        imported: j.imported,
        failed: j.failed,
        created: nav.time(&j.created_at),
    }
}

fn refuse_non_importers(caller: &Caller) -> Result<(), PageError> {
    if may_import(caller.user.role) {
        Ok(())
    } else {
        Err(PageError(caller.lang, AppError::Forbidden))
    }
}

async fn upload_page(state: &AppState, caller: &Caller, error: Option<String>) -> PageResult {
    let l = caller.lang;
    let nav = Nav::new(caller, "/imports");
    let by = (!caller.user.role.is_admin()).then_some(caller.user.id);
    let jobs = imports::list_jobs(&state.db, by, 20)
        .await
        .or_page(l)?
        .iter()
        .map(|j| job_line(&nav, j))
        .collect();
    Ok(render(&UploadPage { nav, jobs, error }))
}

/// The upload form and the caller's recent imports.
pub async fn index(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    refuse_non_importers(&caller)?;
    upload_page(&state, &caller, None).await
}

/// Receives the file (multipart, with the form's `_csrf`), reads its first rows and shows the
/// mapping page; a file it cannot read goes back to the upload form with the reason.
pub async fn upload(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let l = caller.lang;
    refuse_non_importers(&caller)?;
    // Refuse a cross-site post before storing anything.
    crate::auth::check_same_origin(&headers).or_page(l)?;
    let form = form.map_err(|_| PageError(l, AppError::BadRequest("not_multipart")))?;
    let mut received = match uploads::receive(&state, caller.user.id, form).await {
        Ok(r) => r,
        Err(e) => return Err(PageError(l, e)),
    };
    if let Err(e) = check_csrf(&headers, &caller, &received.fields) {
        received.discard(&state).await;
        return Err(PageError(l, e));
    }
    let Some(upload) = received.upload.take() else {
        let msg = l.t("error.file_missing").to_string();
        return upload_page(&state, &caller, Some(msg)).await;
    };
    let encoding = received.get("encoding").unwrap_or("auto").to_string();
    let sheet = received.get("sheet").map(str::to_string);
    // Read it once now so that a file that is not what its name says is refused at once.
    let enc = (encoding != "auto").then_some(encoding.as_str());
    if let Err(e) = run_preview(&state, &upload, enc, sheet.as_deref(), None).await {
        upload.remove(&state).await;
        let msg = l.error_message(&e);
        return upload_page(&state, &caller, Some(msg)).await;
    }
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("upload", &upload.token);
    q.append_pair("encoding", &encoding);
    if let Some(s) = &sheet {
        q.append_pair("sheet", s);
    }
    Ok(Redirect::to(&format!("/imports/preview?{}", q.finish())).into_response())
}

/// What the preview page was asked for, from its query or the start form.
struct PreviewChoice {
    encoding: String,
    sheet: Option<String>,
    saved: Option<String>,
    /// Targets chosen in the form, by column; `None` to propose them.
    targets: Option<Vec<Option<Target>>>,
    on_duplicate: String,
    into: String,
    error: Option<String>,
}

fn target_label(l: Lang, code: &str, defs: &[CustomFieldDef]) -> String {
    match code.strip_prefix("cf.") {
        Some(key) => defs
            .iter()
            .find(|d| d.key == key)
            .map(|d| d.label(l.code()).to_string())
            .unwrap_or_else(|| key.to_string()),
        None => l.t(&format!("import.target_{code}")).to_string(),
    }
}

fn opts(items: impl IntoIterator<Item = (String, String)>, selected: &str) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(value, label)| Opt {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

async fn preview_page(
    state: &AppState,
    caller: &Caller,
    upload: &Upload,
    choice: PreviewChoice,
) -> PageResult {
    let l = caller.lang;
    let nav = Nav::new(caller, "/imports");
    let defs = custom_fields::list(&state.db).await.or_page(l)?;
    let saved_list: Vec<SavedMapping> = imports::mappings(&state.db).await.or_page(l)?;
    let saved = match choice.saved.as_deref() {
        Some(key) => Some(saved_mapping(state, key).await.or_page(l)?),
        None => None,
    };
    let enc = (choice.encoding != "auto").then_some(choice.encoding.as_str());
    let preview = run_preview(state, upload, enc, choice.sheet.as_deref(), saved)
        .await
        .or_page(l)?;
    let proposed: Vec<Target> = preview
        .mapping
        .columns
        .iter()
        .map(|c| c.target.clone())
        .collect();
    let chosen: Vec<Target> = match &choice.targets {
        Some(t) => t
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.clone()
                    .or_else(|| proposed.get(i).cloned())
                    .unwrap_or(Target::Ignore)
            })
            .collect(),
        None => proposed,
    };
    let codes = target_codes(&defs);
    let columns = preview
        .headers
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let current = chosen
                .get(i)
                .map(target_code)
                .unwrap_or_else(|| "ignore".into());
            let samples: Vec<&str> = preview
                .rows
                .iter()
                .filter_map(|r| r.get(i).map(String::as_str))
                .filter(|s| !s.is_empty())
                .take(3)
                .collect();
            ColumnLine {
                index: i,
                header: header.clone(),
                samples: samples.join(" · "),
                targets: opts(
                    codes.iter().map(|c| (c.clone(), target_label(l, c, &defs))),
                    &current,
                ),
            }
        })
        .collect();
    let problems = Mapping::new(&preview.headers, chosen)
        .problems(&defs)
        .iter()
        .map(|p| l.t(&format!("import.problem_{}", p.code())).to_string())
        .collect();
    let info = &preview.info;
    let file_info = match (info.encoding, &info.sheet) {
        (Some(e), _) => l.tf("import.csv_info", &[("encoding", e)]),
        (None, Some(s)) => l.tf("import.sheet_info", &[("sheet", s)]),
        _ => String::new(),
    };
    let people = users::list_users(&state.db).await.or_page(l)?;
    let owners = people
        .iter()
        .filter(|u| u.active && caller.viewer.may_assign_to(Some(u.id), u.team_id))
        .map(|u| Opt {
            value: u.id.0.to_string(),
            label: format!("{} ({})", u.display_name, u.username),
            selected: false,
        })
        .collect();
    let teams = users::list_teams(&state.db)
        .await
        .or_page(l)?
        .into_iter()
        .filter(|t| caller.user.role.is_admin() || caller.viewer.supervised_teams.contains(&t.id))
        .map(|t| Opt {
            value: t.id.0.to_string(),
            label: t.name,
            selected: false,
        })
        .collect();
    let page = PreviewPage {
        upload: upload.token.clone(),
        file_name: upload.file_name.clone(),
        file_info,
        encodings: opts(
            ["auto", "utf-8", "gbk", "gb18030"].iter().map(|e| {
                (
                    e.to_string(),
                    l.t(&format!("import.encoding_{}", e.replace('-', "")))
                        .to_string(),
                )
            }),
            &choice.encoding,
        ),
        encoding: choice.encoding,
        sheets: opts(
            info.sheets.iter().map(|s| (s.clone(), s.clone())),
            info.sheet.as_deref().unwrap_or(""),
        ),
        saved: opts(
            saved_list
                .iter()
                .map(|m| (m.id.to_string(), m.name.clone())),
            choice.saved.as_deref().unwrap_or(""),
        ),
        headers: preview.headers.clone(),
        rows: preview.rows.clone(),
        columns,
        problems,
        owners,
        teams,
        dups: opts(
            ["skip", "update", "collision"]
                .iter()
                .map(|p| (p.to_string(), l.t(&format!("import.dup_{p}")).to_string())),
            if choice.on_duplicate.is_empty() {
                "skip"
            } else {
                &choice.on_duplicate
            },
        ),
        into: choice.into,
        error: choice.error,
        nav,
    };
    Ok(render(&page))
}

/// The mapping page for an upload: `upload`, and optionally `encoding`, `sheet`, `mapping` (a
/// saved mapping's id to apply).
pub async fn preview(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    refuse_non_importers(&caller)?;
    let pairs = query_pairs(query.as_deref());
    let get = |k: &str| pair(&pairs, k).map(str::trim).filter(|v| !v.is_empty());
    let upload = uploads::find(&state, caller.user.id, get("upload").unwrap_or(""))
        .await
        .or_page(l)?;
    let choice = PreviewChoice {
        encoding: get("encoding").unwrap_or("auto").to_string(),
        sheet: get("sheet").map(str::to_string),
        saved: get("mapping").map(str::to_string),
        targets: None,
        on_duplicate: "skip".into(),
        into: "pool".into(),
        error: None,
    };
    preview_page(&state, &caller, &upload, choice).await
}

/// Starts the import from the mapping page's form; a refused option shows the page again with
/// the reason and the choices kept.
pub async fn start(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    refuse_non_importers(caller)?;
    let upload = uploads::find(&state, caller.user.id, &form.text("upload"))
        .await
        .or_page(l)?;
    let non_empty = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty());
    let mut targets = Vec::new();
    while let Some(code) = form.get(&format!("col.{}", targets.len())) {
        targets.push(parse_target(code));
    }
    let encoding = non_empty("encoding").unwrap_or("auto").to_string();
    let sheet = non_empty("sheet").map(str::to_string);
    let outcome: Result<ImportJob, AppError> = async {
        if targets.iter().any(Option::is_none) {
            return Err(AppError::BadRequest("bad_mapping"));
        }
        let enc = (encoding != "auto").then_some(encoding.as_str());
        let preview = run_preview(&state, &upload, enc, sheet.as_deref(), None).await?;
        let mapping = Mapping::new(
            &preview.headers,
            targets.iter().flatten().cloned().collect(),
        );
        let assign = assignment(
            &state,
            caller,
            non_empty("into"),
            non_empty("owner_id"),
            non_empty("team_id"),
        )
        .await?;
        let req = StartRequest {
            encoding: enc,
            sheet: sheet.as_deref(),
            on_duplicate: non_empty("on_duplicate"),
            assign,
            mapping,
            save_mapping_as: non_empty("save_mapping_as"),
        };
        start_job(&state, caller, &upload, req).await
    }
    .await;
    match outcome {
        Ok(job) => Ok(Redirect::to(&format!("/imports/{}", job.id)).into_response()),
        Err(AppError::Forbidden) => Err(PageError(l, AppError::Forbidden)),
        Err(e) => {
            let choice = PreviewChoice {
                encoding,
                sheet,
                saved: None,
                targets: Some(targets),
                on_duplicate: form.text("on_duplicate"),
                into: form.text("into"),
                error: Some(l.error_message(&e)),
            };
            preview_page(&state, caller, &upload, choice).await
        }
    }
}

/// A job's progress and result; `static/import.js` keeps it current while it runs.
pub async fn job(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<leadline_domain::ids::ImportJobId>,
) -> PageResult {
    let l = caller.lang;
    let job = visible_job(&state, &caller, id).await.or_page(l)?;
    let nav = Nav::new(&caller, &format!("/imports/{id}"));
    let page = JobPage {
        status: status_label(l, &job.status),
        created: nav.time(&job.created_at),
        job,
        nav,
    };
    Ok(render(&page))
}

/// The few lines that poll a running job.
pub async fn script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/import.js"),
    )
        .into_response()
}
