//! Imports over JSON: upload a file (multipart), preview its columns and proposed mapping,
//! start a job that runs in the background, follow it, download the rows it refused; saved
//! column mappings. Supervisors and admins import; a job is visible to its creator and admins.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadline_domain::ids::ImportJobId;
use leadline_domain::{CustomFieldDef, Role, TeamId, UserId};
use leadline_import::{Mapping, Target};
use leadline_store::imports::{self, ImportJob, OnDuplicate};
use leadline_store::{StoreError, auth::users, leads::custom_fields};
use serde::Deserialize;
use serde_json::{Value, json};

use super::JsonBody;
use super::uploads::{self, Received, Upload};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use leadline_engine::import_job::{self, NotResumed};
use leadline_engine::import_run::{self, Assign, ImportOptions, Preview};

/// Who may import: supervisors and admins (product: imports belong to managers; an agent
/// loading a list would take leads past the ownership rules).
pub fn may_import(role: Role) -> bool {
    role.manages_leads()
}

/// The code a column's target has in forms and in the API: `name`, `phone`, … or `cf.<key>`.
pub fn target_code(target: &Target) -> String {
    match target {
        Target::Custom(key) => format!("cf.{key}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "ignore".into()),
    }
}

/// A target from its code; `None` for an unknown one.
pub fn parse_target(code: &str) -> Option<Target> {
    let code = code.trim();
    if let Some(key) = code.strip_prefix("cf.") {
        return (!key.is_empty()).then(|| Target::Custom(key.to_string()));
    }
    serde_json::from_value(Value::String(code.to_string())).ok()
}

/// The standard targets, in the order the mapping table lists them.
pub const STANDARD_TARGETS: [&str; 14] = [
    "ignore",
    "name",
    "phone",
    "company",
    "email",
    "title",
    "city",
    "region",
    "source",
    "tags",
    "status",
    "intent",
    "owner",
    "referred_by",
];

/// Mapping codes: the standard targets then the custom fields.
pub fn target_codes(defs: &[CustomFieldDef]) -> Vec<String> {
    STANDARD_TARGETS
        .iter()
        .map(|s| s.to_string())
        .chain(defs.iter().map(|d| format!("cf.{}", d.key)))
        .collect()
}

/// What a preview answers: the file's first rows, the proposed mapping and its problems, and
/// the upload token to start the import with.
pub fn preview_json(upload: &Upload, preview: &Preview) -> Value {
    json!({
        "upload": upload.token,
        "file_name": upload.file_name,
        "info": preview.info,
        "headers": preview.headers,
        "rows": preview.rows,
        "mapping": preview.mapping,
        "targets": preview.mapping.columns.iter().map(|c| target_code(&c.target)).collect::<Vec<_>>(),
        "problems": preview.problems.iter().map(|p| json!({"code": p.code(), "detail": p})).collect::<Vec<_>>(),
    })
}

/// A job as the API shows it: its row and the outcome counts grouped.
pub fn job_json(job: &ImportJob) -> Value {
    let mut v = serde_json::to_value(job).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "counts".into(),
            json!({
                "imported": job.imported,
                "updated": job.updated,
                "skipped": job.skipped,
                "collisions": job.collisions,
                "joined": job.joined,
                "cases": job.cases,
                "referred": job.referred,
                "failed": job.failed,
            }),
        );
        obj.insert(
            "errors_url".into(),
            json!(format!("/api/v1/imports/{}/errors", job.id)),
        );
    }
    v
}

/// The upload a form names: its `file` part, or the `upload` token of an earlier preview.
pub async fn upload_of(
    state: &AppState,
    user: UserId,
    form: &mut Received,
) -> Result<Upload, AppError> {
    if let Some(u) = form.upload.take() {
        return Ok(u);
    }
    match form.get("upload") {
        Some(token) => uploads::find(state, user, token).await,
        None => Err(AppError::BadRequest("file_missing")),
    }
}

/// A saved mapping by id or name.
pub async fn saved_mapping(state: &AppState, key: &str) -> Result<Mapping, AppError> {
    let all = imports::mappings(&state.db).await?;
    let found = all
        .into_iter()
        .find(|m| m.id.to_string() == key || m.name == key)
        .ok_or(AppError::NotFound)?;
    serde_json::from_value(found.mapping.0).map_err(|_| AppError::BadRequest("bad_mapping"))
}

/// Reads the header and first rows (on a blocking thread).
pub async fn run_preview(
    state: &AppState,
    upload: &Upload,
    encoding: Option<&str>,
    sheet: Option<&str>,
    saved: Option<Mapping>,
) -> Result<Preview, AppError> {
    let defs = custom_fields::list(&state.db).await?;
    let (path, name) = (upload.path.clone(), upload.file_name.clone());
    let (encoding, sheet) = (encoding.map(str::to_string), sheet.map(str::to_string));
    let preview = tokio::task::spawn_blocking(move || {
        import_run::preview(
            &path,
            &name,
            encoding.as_deref(),
            sheet.as_deref(),
            &defs,
            saved.as_ref(),
        )
    })
    .await
    .map_err(|e| AppError::Internal(format!("preview thread: {e}")))??;
    Ok(preview)
}

fn encoding_field(v: Option<&str>) -> Option<&str> {
    v.filter(|e| !e.eq_ignore_ascii_case("auto"))
}

fn id_field(v: Option<&str>, code: &'static str) -> Result<Option<i64>, AppError> {
    v.map(|s| s.parse::<i64>().map_err(|_| AppError::BadRequest(code)))
        .transpose()
}

/// Where rows go, from `into` (`pool`, `owner` with `owner_id`, `owner_column`, `round_robin`
/// with `team_id`), refused when the caller may not hand leads to that person or team.
pub async fn assignment(
    state: &AppState,
    caller: &Caller,
    into: Option<&str>,
    owner_id: Option<&str>,
    team_id: Option<&str>,
) -> Result<Assign, AppError> {
    match into.unwrap_or("pool") {
        "pool" => Ok(Assign::Pool),
        "owner" => {
            let id = id_field(owner_id, "unknown_owner")?
                .ok_or(AppError::BadRequest("unknown_owner"))?;
            let owner = match users::get_user(&state.db, UserId(id)).await {
                Ok(u) if u.active => u,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(AppError::BadRequest("unknown_owner"));
                }
                Err(e) => return Err(e.into()),
            };
            if !caller.viewer.may_assign_to(Some(owner.id), owner.team_id) {
                return Err(AppError::Forbidden);
            }
            Ok(Assign::Owner { user_id: owner.id })
        }
        // TODO(import_run): the owner column names people row by row and the engine does not
        // check them against `may_assign_to`; until it does, only admins may assign that way.
        "owner_column" if caller.user.role.is_admin() => Ok(Assign::OwnerColumn),
        "owner_column" => Err(AppError::Forbidden),
        "round_robin" => {
            let id =
                id_field(team_id, "unknown_team")?.ok_or(AppError::BadRequest("unknown_team"))?;
            let team = TeamId(id);
            if !(caller.user.role.is_admin() || caller.viewer.supervised_teams.contains(&team)) {
                return Err(AppError::Forbidden);
            }
            Ok(Assign::RoundRobin { team_id: team })
        }
        _ => Err(AppError::BadRequest("bad_assignment")),
    }
}

/// The mapping a start request asks for: a full mapping object, a list of target codes (one per
/// column, in order), or — absent — the preview's (a saved mapping reapplied, or guessed).
pub fn mapping_from(text: Option<&str>, preview: &Preview) -> Result<Mapping, AppError> {
    let Some(text) = text else {
        return Ok(preview.mapping.clone());
    };
    if let Ok(m) = serde_json::from_str::<Mapping>(text) {
        return Ok(m);
    }
    let codes: Vec<String> =
        serde_json::from_str(text).map_err(|_| AppError::BadRequest("bad_mapping"))?;
    let targets = codes
        .iter()
        .map(|c| parse_target(c).ok_or(AppError::BadRequest("bad_mapping")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Mapping::new(&preview.headers, targets))
}

/// The options of a start request; see [`create`].
pub struct StartRequest<'a> {
    pub encoding: Option<&'a str>,
    pub sheet: Option<&'a str>,
    pub on_duplicate: Option<&'a str>,
    pub assign: Assign,
    pub mapping: Mapping,
    pub save_mapping_as: Option<&'a str>,
}

/// Registers the job and queues its run: a job in the jobs table that this server starts at
/// once unless another takes it first; the upload is removed once it is done (a failed job keeps
/// its file so it can be resumed).
pub async fn start_job(
    state: &AppState,
    caller: &Caller,
    upload: &Upload,
    req: StartRequest<'_>,
) -> Result<ImportJob, AppError> {
    let on_duplicate = match req.on_duplicate {
        None => OnDuplicate::Skip,
        Some(s) => OnDuplicate::parse(s).ok_or(AppError::BadRequest("bad_on_duplicate"))?,
    };
    let options = ImportOptions {
        mapping: req.mapping,
        on_duplicate,
        assign: req.assign,
        encoding: encoding_field(req.encoding).map(str::to_string),
        sheet: req.sheet.map(str::to_string),
        delimiter: None,
    };
    let job = import_run::start_stored(
        &state.db,
        caller.user.id,
        &upload.stored,
        &upload.path,
        &options,
    )
    .await?;
    if let Some(name) = req.save_mapping_as {
        let value = serde_json::to_value(&options.mapping)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        imports::save_mapping(&state.db, caller.user.id, name, &value).await?;
    }
    import_job::queue_start(&state.db, &state.hub, &job)
        .await
        .map_err(job_error)?;
    Ok(job)
}

fn job_error(e: leadline_engine::jobs_runner::JobError) -> AppError {
    AppError::Internal(format!("queueing an import: {e}"))
}

async fn multipart_form(
    state: &AppState,
    caller: &Caller,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Received, AppError> {
    if !may_import(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let form = form.map_err(|_| AppError::BadRequest("not_multipart"))?;
    uploads::receive(state, caller.user.id, form).await
}

/// Sends a file (multipart part `file`) or names an earlier upload (`upload`), and answers its
/// header, first ten rows, proposed mapping (`mapping`: a saved mapping's id or name to reuse)
/// and problems, with the `upload` token to start the import with. Optional fields: `encoding`
/// (`auto`, `utf-8`, `gbk`, `gb18030`…), `sheet`.
#[utoipa::path(post, path = "/api/v1/imports/preview",
    request_body(content_type = "multipart/form-data", description = "`file`, or `upload`; optional `encoding`, `sheet`, `mapping`"),
    responses((status = 200), (status = 400, description = "`name_mismatch`, `binary_file`, `empty_file`, `legacy_xls`…"),
        (status = 403), (status = 413, description = "payload_too_large")))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let mut form = multipart_form(&state, &caller, form).await?;
    let fresh = form.upload.is_some();
    let upload = upload_of(&state, caller.user.id, &mut form).await?;
    let outcome = async {
        let saved = match form.get("mapping") {
            Some(key) => Some(saved_mapping(&state, key).await?),
            None => None,
        };
        run_preview(
            &state,
            &upload,
            encoding_field(form.get("encoding")),
            form.get("sheet"),
            saved,
        )
        .await
    }
    .await;
    match outcome {
        Ok(p) => Ok(Json(preview_json(&upload, &p)).into_response()),
        Err(e) => {
            // A file that cannot be read is not kept; an earlier upload stays for another try.
            if fresh {
                upload.remove(&state).await;
            }
            Err(e)
        }
    }
}

/// Starts an import and answers 202 with the job; it runs in the background (follow it with
/// `GET /api/v1/imports/{id}`). Multipart fields: `file` (or `upload` from a preview);
/// `on_duplicate` (`skip`, `update` fills empty fields, `collision` imports and records a
/// collision); `into` (`pool`, `owner` + `owner_id`, `owner_column`, `round_robin` + `team_id`);
/// `mapping` (a mapping object, or a JSON list of target codes `name`, `phone`, `company`,
/// `cf.<key>`, `ignore`… one per column; absent: guessed, or `saved_mapping` by id or name
/// reapplied); `save_mapping_as` (a name); `encoding`; `sheet`. A `referred_by` column names
/// the existing customer who referred the row (their phone, or `#<lead id>`): the row goes to
/// that customer's owner whatever `into` says (counted in `counts.referred`), and a customer
/// nobody holds refuses the row (in the error report).
#[utoipa::path(post, path = "/api/v1/imports",
    request_body(content_type = "multipart/form-data", description = "`file` or `upload`, `on_duplicate`, `into`, `owner_id`, `team_id`, `mapping`, `saved_mapping`, `save_mapping_as`, `encoding`, `sheet`"),
    responses((status = 202, description = "The job"), (status = 400, description = "a file or option problem, by code"),
        (status = 403), (status = 413, description = "payload_too_large")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let mut form = multipart_form(&state, &caller, form).await?;
    let fresh = form.upload.is_some();
    let upload = upload_of(&state, caller.user.id, &mut form).await?;
    let outcome = async {
        let assign = assignment(
            &state,
            &caller,
            form.get("into"),
            form.get("owner_id"),
            form.get("team_id"),
        )
        .await?;
        let saved = match form.get("saved_mapping") {
            Some(key) => Some(saved_mapping(&state, key).await?),
            None => None,
        };
        let preview = run_preview(
            &state,
            &upload,
            encoding_field(form.get("encoding")),
            form.get("sheet"),
            saved,
        )
        .await?;
        let mapping = mapping_from(form.get("mapping"), &preview)?;
        let req = StartRequest {
            encoding: form.get("encoding"),
            sheet: form.get("sheet"),
            on_duplicate: form.get("on_duplicate"),
            assign,
            mapping,
            save_mapping_as: form.get("save_mapping_as"),
        };
        start_job(&state, &caller, &upload, req).await
    }
    .await;
    match outcome {
        Ok(job) => Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/api/v1/imports/{}", job.id))],
            Json(job_json(&job)),
        )
            .into_response()),
        Err(e) => {
            if fresh {
                upload.remove(&state).await;
            }
            Err(e)
        }
    }
}

/// A job the caller may see: their own, or any for an admin; 404 otherwise.
pub async fn visible_job(
    state: &AppState,
    caller: &Caller,
    id: ImportJobId,
) -> Result<ImportJob, AppError> {
    if !may_import(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let job = imports::get_job(&state.db, id.0).await?;
    if job.created_by != caller.user.id && !caller.user.role.is_admin() {
        return Err(AppError::NotFound);
    }
    Ok(job)
}

/// A job's status (`running`, `done`, `failed`), rows done, outcome counts and error.
#[utoipa::path(get, path = "/api/v1/imports/{id}", responses((status = 200), (status = 403), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ImportJobId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(job_json(&visible_job(&state, &caller, id).await?)))
}

/// Recent jobs, newest first: the caller's own (an admin's: everyone's).
#[utoipa::path(get, path = "/api/v1/imports", responses((status = 200, description = "`{\"items\": [...]}`"), (status = 403)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    if !may_import(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let by = (!caller.user.role.is_admin()).then_some(caller.user.id);
    let jobs = imports::list_jobs(&state.db, by, 50).await?;
    Ok(Json(
        json!({ "items": jobs.iter().map(job_json).collect::<Vec<_>>() }),
    ))
}

/// Resumes a failed or interrupted job from its last committed batch (202): queues a run that
/// any server may take. A job whose run is queued or running, or that committed within
/// [`import_job::STALLED_AFTER`] (a `leadline import` may be running it), is refused with
/// `job_running`, so two runners never work one file.
#[utoipa::path(post, path = "/api/v1/imports/{id}/resume", responses((status = 202), (status = 400, description = "`job_done`, `job_running`, `upload_gone`"), (status = 403), (status = 404)))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ImportJobId>,
) -> ApiResult<Response> {
    let job = visible_job(&state, &caller, id).await?;
    match import_job::queue_resume(&state.db, &state.hub, &job)
        .await
        .map_err(job_error)?
    {
        Ok(()) => Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response()),
        Err(NotResumed::Done) => Err(AppError::BadRequest("job_done")),
        Err(NotResumed::Running) => Err(AppError::BadRequest("job_running")),
        Err(NotResumed::FileGone) => Err(AppError::BadRequest("upload_gone")),
    }
}

/// The rows a job refused, each with its reason, in the file's own format and encoding; the
/// reasons are in the caller's language only.
#[utoipa::path(get, path = "/api/v1/imports/{id}/errors", responses((status = 200, description = "A CSV or .xlsx file"), (status = 403), (status = 404)))]
pub async fn errors(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ImportJobId>,
) -> ApiResult<Response> {
    let job = visible_job(&state, &caller, id).await?;
    let english = caller.lang == crate::i18n::Lang::En;
    let (bytes, content_type, name) = import_run::error_report(&state.db, &job, english).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                super::exports::attachment(&name),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Saved column mappings, by name.
#[utoipa::path(get, path = "/api/v1/import-mappings", responses((status = 200), (status = 403)))]
pub async fn list_mappings(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    if !may_import(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    Ok(Json(
        json!({ "items": imports::mappings(&state.db).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingSave {
    pub name: String,
    /// `{"columns": [{"header": "手机", "target": "phone"}, …]}`
    #[schema(value_type = Object)]
    pub mapping: Value,
}

/// Saves (or replaces, by name) a column mapping for later files.
#[utoipa::path(post, path = "/api/v1/import-mappings", request_body = MappingSave,
    responses((status = 201), (status = 400, description = "bad_mapping"), (status = 403), (status = 422)))]
pub async fn save_mapping(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<MappingSave>,
) -> ApiResult<Response> {
    if !may_import(caller.user.role) {
        return Err(AppError::Forbidden);
    }
    let mapping: Mapping =
        serde_json::from_value(body.mapping).map_err(|_| AppError::BadRequest("bad_mapping"))?;
    let value = serde_json::to_value(&mapping).map_err(|e| AppError::Internal(e.to_string()))?;
    let saved = imports::save_mapping(&state.db, caller.user.id, &body.name, &value).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_codes_round_trip() {
        for code in STANDARD_TARGETS {
            let t = parse_target(code).expect(code);
            assert_eq!(target_code(&t), code);
        }
        assert_eq!(
            parse_target("cf.industry"),
            Some(Target::Custom("industry".into()))
        );
        assert_eq!(
            target_code(&Target::Custom("industry".into())),
            "cf.industry"
        );
        assert_eq!(parse_target("cf."), None);
        assert_eq!(parse_target("salary"), None);
    }
}
