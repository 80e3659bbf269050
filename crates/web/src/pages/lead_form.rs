//! The lead create and edit forms: custom fields rendered by type, the owners a caller may
//! pick, and the round trip of a refused form with its problems named.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{
    CustomFieldDef, FieldKind, IntentLevel, LeadDraft, LeadId, LeadStatus, UserId,
};
use leadline_store::leads::{self, CreateOptions, LeadPatch};
use leadline_store::{StoreError, auth::users, leads::custom_fields};
use serde_json::{Map, Value};

use super::Path;
use super::leads::{Choice, choices};
use super::{Nav, OrPage, PageError, PageForm, PageResult, render};
use crate::AppState;
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

/// A custom field as a form control.
pub struct FieldInput {
    pub key: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    pub options: Vec<Choice>,
}

impl FieldInput {
    pub(super) fn new(
        def: &CustomFieldDef,
        lang: &str,
        value: String,
        values: Vec<String>,
        for_filter: bool,
    ) -> FieldInput {
        let chosen: Vec<&str> = if values.is_empty() {
            vec![value.as_str()]
        } else {
            values.iter().map(String::as_str).collect()
        };
        let mut opts: Vec<(String, String)> = Vec::new();
        if for_filter || def.kind == FieldKind::Select {
            opts.push((String::new(), "—".to_string()));
        }
        opts.extend(def.options.iter().map(|o| (o.clone(), o.clone())));
        FieldInput {
            key: def.key.clone(),
            label: def.label(lang).to_string(),
            kind: if for_filter && def.kind == FieldKind::MultiSelect {
                "select"
            } else {
                def.kind.code()
            },
            required: def.required && !for_filter,
            options: choices(opts, &chosen),
            value,
        }
    }
}

#[derive(Template)]
#[template(path = "lead_form.html")]
struct FormPage {
    nav: Nav,
    action: String,
    title: &'static str,
    lead_id: Option<i64>,
    version: i64,
    name: String,
    phones: String,
    company: String,
    email: String,
    job_title: String,
    city: String,
    region: String,
    source: String,
    tags: String,
    statuses: Vec<Choice>,
    intents: Vec<Choice>,
    owners: Vec<Choice>,
    custom: Vec<FieldInput>,
    error: Option<String>,
    bad_fields: Vec<String>,
    /// The number is a colleague's (issue 22, cases): the refusal is the collision screen,
    /// with 提交撞单 to record the entry as a case.
    collision: bool,
}

impl FormPage {
    fn bad(&self, field: &str) -> bool {
        self.bad_fields.iter().any(|f| f == field)
    }
}

/// Owners a caller may pick: itself and the pool; supervisors their teams; admins everyone.
async fn owner_choices(
    state: &AppState,
    caller: &Caller,
    current: Option<UserId>,
) -> Result<Vec<Choice>, PageError> {
    let l = caller.lang;
    let people = users::list_users(&state.db).await.or_page(l)?;
    let mut items = vec![(String::new(), l.t("lead.pool").to_string())];
    for u in people.iter().filter(|u| u.active) {
        if caller.viewer.may_assign_to(Some(u.id), u.team_id) || Some(u.id) == current {
            items.push((
                u.id.0.to_string(),
                format!("{} ({})", u.display_name, u.username),
            ));
        }
    }
    let cur = current.map(|c| c.0.to_string()).unwrap_or_default();
    Ok(choices(items, &[cur.as_str()]))
}

fn draft_from_form(form: &PageForm, defs: &[CustomFieldDef]) -> LeadDraft {
    let opt = |k: &str| Some(form.text(k)).filter(|s| !s.is_empty());
    let mut custom = Map::new();
    for d in defs {
        let key = format!("cf.{}", d.key);
        if d.kind == FieldKind::MultiSelect {
            let vals: Vec<Value> = form
                .all(&key)
                .into_iter()
                .filter(|v| !v.is_empty())
                .map(Value::String)
                .collect();
            custom.insert(d.key.clone(), Value::Array(vals));
        } else {
            custom.insert(d.key.clone(), Value::String(form.text(&key)));
        }
    }
    LeadDraft {
        name: form.text("name"),
        phones: form.text("phones").lines().map(str::to_string).collect(),
        company: opt("company"),
        title: opt("title"),
        city: opt("city"),
        region: opt("region"),
        source: opt("source"),
        tags: vec![form.text("tags")],
        status: opt("status"),
        intent: opt("intent"),
        custom,
        email: opt("email"),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site per form state; a struct would only rename them"
)]
async fn form_page(
    state: &AppState,
    caller: &Caller,
    lead_id: Option<i64>,
    version: i64,
    draft: &LeadDraft,
    owner: Option<UserId>,
    error: Option<&AppError>,
    path: &str,
) -> Result<FormPage, PageError> {
    let l = caller.lang;
    let lang = l.code();
    let defs = custom_fields::list(&state.db).await.or_page(l)?;
    let status = draft.status.clone().unwrap_or_else(|| "new".into());
    let intent = draft.intent.clone().unwrap_or_default();
    let custom = defs
        .iter()
        .map(|d| {
            let v = draft.custom.get(&d.key);
            let (value, values) = match v {
                Some(Value::Array(a)) => (
                    String::new(),
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                ),
                Some(Value::String(s)) => (s.clone(), Vec::new()),
                Some(other) => (other.to_string(), Vec::new()),
                None => (String::new(), Vec::new()),
            };
            FieldInput::new(d, lang, value, values, false)
        })
        .collect();
    let bad_fields = error
        .map(|e| e.problems().iter().map(|p| p.field.clone()).collect())
        .unwrap_or_default();
    Ok(FormPage {
        nav: Nav::new(caller, path),
        action: lead_id
            .map(|id| format!("/leads/{id}"))
            .unwrap_or_else(|| "/leads".into()),
        title: l.t(if lead_id.is_some() {
            "lead.edit_title"
        } else {
            "lead.new_title"
        }),
        lead_id,
        version,
        name: draft.name.clone(),
        phones: draft.phones.join("\n"),
        company: draft.company.clone().unwrap_or_default(),
        email: draft.email.clone().unwrap_or_default(),
        job_title: draft.title.clone().unwrap_or_default(),
        city: draft.city.clone().unwrap_or_default(),
        region: draft.region.clone().unwrap_or_default(),
        source: draft.source.clone().unwrap_or_default(),
        tags: draft.tags.join(", "),
        statuses: choices(
            LeadStatus::ALL
                .iter()
                .map(|s| (s.code().to_string(), s.label(lang).to_string())),
            &[status.as_str()],
        ),
        intents: choices(
            std::iter::once((String::new(), "—".to_string())).chain(
                IntentLevel::ALL
                    .iter()
                    .map(|s| (s.code().to_string(), s.label(lang).to_string())),
            ),
            &[intent.as_str()],
        ),
        owners: owner_choices(state, caller, owner).await?,
        custom,
        error: error.map(|e| {
            l.error_message_labelled(e, |field| {
                defs.iter()
                    .find(|d| d.key == field)
                    .map(|d| d.label(lang).to_string())
            })
        }),
        bad_fields,
        collision: lead_id.is_none()
            && matches!(error, Some(AppError::Store(StoreError::DuplicatePhone(_)))),
    })
}

pub async fn new_form(State(state): State<AppState>, PageCaller(caller): PageCaller) -> PageResult {
    let page = form_page(
        &state,
        &caller,
        None,
        0,
        &LeadDraft::default(),
        Some(caller.user.id),
        None,
        "/leads/new",
    )
    .await?;
    Ok(render(&page))
}

fn form_owner(form: &PageForm) -> Option<UserId> {
    form.get("owner_id")
        .and_then(|v| v.parse::<i64>().ok())
        .map(UserId)
}

pub async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let defs = custom_fields::list(&state.db).await.or_page(l)?;
    let draft = draft_from_form(&form, &defs);
    let owner = form_owner(&form);
    let opts = CreateOptions {
        pool: owner.is_none(),
        owner,
        allow_collision: form.checked("allow_collision"),
        referred_by: None,
    };
    match leads::create(&state.db, &caller.viewer, &draft, &opts).await {
        // Entered as a collision: on to the case (issue 22, cases).
        Ok(lead) if opts.allow_collision => {
            let case =
                leadline_store::ownership::cases::opened_by(&state.db, &caller.viewer, lead.id)
                    .await
                    .or_page(l)?;
            Ok(Redirect::to(&match case {
                Some(id) => format!("/collisions/{id}"),
                None => format!("/leads/{}", lead.id),
            })
            .into_response())
        }
        Ok(lead) => Ok(Redirect::to(&format!("/leads/{}", lead.id)).into_response()),
        Err(e) => {
            let err = AppError::from(e);
            let page = form_page(
                &state,
                caller,
                None,
                0,
                &draft,
                owner,
                Some(&err),
                "/leads/new",
            )
            .await?;
            Ok((err.status(), render(&page)).into_response())
        }
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<LeadId>,
) -> PageResult {
    let lead = leads::get(&state.db, &caller.viewer, id)
        .await
        .or_page(caller.lang)?;
    let path = format!("/leads/{id}/edit");
    let page = form_page(
        &state,
        &caller,
        Some(id.0),
        lead.version,
        &lead.to_draft(),
        lead.owner_id,
        None,
        &path,
    )
    .await?;
    Ok(render(&page))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<LeadId>,
    form: PageForm,
) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let defs = custom_fields::list(&state.db).await.or_page(l)?;
    let draft = draft_from_form(&form, &defs);
    let owner = form_owner(&form);
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    let patch = LeadPatch {
        name: Some(draft.name.clone()),
        phones: Some(draft.phones.clone()),
        company: Some(draft.company.clone()),
        email: Some(draft.email.clone()),
        title: Some(draft.title.clone()),
        city: Some(draft.city.clone()),
        region: Some(draft.region.clone()),
        source: Some(draft.source.clone()),
        tags: Some(draft.tags.clone()),
        status: draft.status.clone(),
        intent: Some(draft.intent.clone()),
        custom: Some(
            draft
                .custom
                .iter()
                .map(|(k, v)| (k.clone(), if v == "" { Value::Null } else { v.clone() }))
                .collect(),
        ),
        owner: Some(owner),
        expected_version: Some(version.ok_or(AppError::BadRequest("bad_form")).or_page(l)?),
        allow_collision: form.checked("allow_collision"),
    };
    match leads::update(&state.db, &caller.viewer, id, &patch).await {
        Ok(lead) => Ok(Redirect::to(&format!("/leads/{}", lead.id)).into_response()),
        Err(e @ (StoreError::Forbidden | StoreError::NotFound)) => Err(PageError(l, e.into())),
        Err(e) => {
            let err = AppError::from(e);
            let path = format!("/leads/{id}/edit");
            let page = form_page(
                &state,
                caller,
                Some(id.0),
                version.unwrap_or(0),
                &draft,
                owner,
                Some(&err),
                &path,
            )
            .await?;
            Ok((err.status(), render(&page)).into_response())
        }
    }
}
