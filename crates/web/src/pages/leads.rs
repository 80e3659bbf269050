//! Lead pages: the list with filters, saved views and group counts; the detail page with its
//! timeline; the create and edit forms with custom fields rendered by type.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{
    CustomFieldDef, FieldKind, IntentLevel, LeadDraft, LeadId, LeadStatus, UserId, ViewId,
};
use leadline_store::auth::users::User;
use leadline_store::leads::views::SavedView;
use leadline_store::leads::{self, CountRow, CreateOptions, Lead, LeadPatch, Sort};
use leadline_store::{
    StoreError, audit, auth::users, leads::custom_fields, leads::views, workday::calls,
};
use serde_json::{Map, Value};

use super::Path;
use super::{Nav, OrPage, PageError, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

/// One choice in a select box.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(
    items: impl IntoIterator<Item = (String, String)>,
    current: &'a [&'a str],
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice {
            selected: current.contains(&value.as_str()),
            value,
            label,
        })
        .collect()
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub company: String,
    pub city: String,
    pub status: String,
    pub intent: String,
    pub owner: String,
    /// 还剩 N 天 before it returns to its pool.
    pub countdown: Option<String>,
    pub tags: String,
    pub created: String,
}

pub struct CountLine {
    pub label: String,
    pub count: i64,
    pub href: String,
}

#[derive(Template)]
#[template(path = "leads_list.html")]
struct ListPage {
    nav: Nav,
    q: String,
    statuses: Vec<Choice>,
    intents: Vec<Choice>,
    owners: Vec<Choice>,
    sorts: Vec<Choice>,
    groups: Vec<Choice>,
    text_filters: Vec<(String, String, String)>,
    custom_filters: Vec<FieldInput>,
    created_from: String,
    created_to: String,
    rows: Vec<Row>,
    next_href: Option<String>,
    views: Vec<SavedView>,
    current_query: String,
    /// The filter (and saved view) for the export links.
    export_query: String,
    counts: Vec<CountLine>,
    total: i64,
    show_deleted: bool,
    error: Option<String>,
    /// 批量分配 / 转移, for supervisors and admins (issue 22).
    batch: Option<super::people::BatchForm>,
}

fn status_label(nav: &Nav, code: &str) -> String {
    LeadStatus::parse(code)
        .map(|s| s.label(nav.lang.code()).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn intent_label(nav: &Nav, code: &str) -> String {
    IntentLevel::parse(code)
        .map(|s| s.label(nav.lang.code()).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn row(nav: &Nav, lead: &Lead) -> Row {
    Row {
        id: lead.id.0,
        name: lead.name.clone(),
        phone: lead
            .phones
            .first()
            .map(|p| p.raw.clone())
            .unwrap_or_default(),
        company: lead.company.clone().unwrap_or_default(),
        city: lead.city.clone().unwrap_or_default(),
        status: lead.status.label(nav.lang.code()).to_string(),
        intent: lead
            .intent
            .map(|i| i.label(nav.lang.code()).to_string())
            .unwrap_or_default(),
        owner: lead
            .owner_name
            .clone()
            .unwrap_or_else(|| nav.t("lead.pool").to_string()),
        countdown: super::pools::countdown(nav.lang, lead),
        tags: lead.tags.join(", "),
        created: nav.time(&lead.created_at),
    }
}

fn query_string(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish()
}

fn group_label(
    nav: &Nav,
    group_by: &str,
    c: &CountRow,
    people: &[User],
    defs: &[CustomFieldDef],
) -> String {
    let Some(v) = &c.value else {
        return nav.t("common.none").to_string();
    };
    match group_by {
        "status" => status_label(nav, v),
        "intent" => intent_label(nav, v),
        "owner" => people
            .iter()
            .find(|u| u.id.0.to_string() == *v)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| v.clone()),
        g if g.starts_with("cf.") && defs.iter().any(|d| d.key == g[3..]) => v.clone(),
        _ => v.clone(),
    }
}

/// The filter key and value that select one group, for the count links.
fn group_filter(group_by: &str, c: &CountRow) -> Option<(String, String)> {
    let key = match group_by {
        "owner" => "owner",
        "created_month" => return None,
        g => g,
    };
    let value = c.value.clone().unwrap_or_else(|| {
        if key == "owner" {
            "pool".into()
        } else {
            String::new()
        }
    });
    (!value.is_empty()).then(|| (key.to_string(), value))
}

pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let nav = Nav::new(
        &caller,
        &format!("/leads?{}", query.as_deref().unwrap_or("")),
    );
    let all_pairs = query_pairs(query.as_deref());
    let batch = super::people::batch_form(&state, &nav, &caller.viewer, &all_pairs)
        .await
        .or_page(l)?;
    let pairs: Vec<(String, String)> = all_pairs
        .into_iter()
        .filter(|(k, _)| !super::people::OUTCOME_KEYS.contains(&k.as_str()))
        .collect();
    let defs = custom_fields::list(&state.db).await.or_page(l)?;
    let people = if caller.user.role.manages_leads() {
        users::list_users(&state.db).await.or_page(l)?
    } else {
        Vec::new()
    };
    let saved = views::list(&state.db, caller.user.id).await.or_page(l)?;
    let get = |k: &str| pair(&pairs, k).unwrap_or("").to_string();
    let sort = Sort::parse(&get("sort")).unwrap_or_default();
    let group_by = match get("group_by") {
        g if g.is_empty() => "status".to_string(),
        g => g,
    };
    let (mut rows, mut next_href, mut counts, mut total, mut error) =
        (Vec::new(), None, Vec::new(), 0, None);
    match crate::api::leads::filter_for(&state, &caller, &pairs).await {
        Ok(filter) => {
            let page = leads::list(
                &state.db,
                &caller.viewer,
                &filter,
                sort,
                50,
                pair(&pairs, "cursor"),
            )
            .await;
            let page = match page {
                Ok(mut page) => leadline_store::ownership::pools::mask_leads(
                    &state.db,
                    &caller.viewer,
                    &mut page.items,
                )
                .await
                .map(|()| page),
                Err(e) => Err(e),
            };
            match page {
                Ok(page) => {
                    rows = page.items.iter().map(|lead| row(&nav, lead)).collect();
                    next_href = page.next_cursor.map(|c| {
                        let mut p: Vec<(String, String)> = pairs
                            .iter()
                            .filter(|(k, _)| k != "cursor")
                            .cloned()
                            .collect();
                        p.push(("cursor".into(), c));
                        format!("/leads?{}", query_string(&p))
                    });
                }
                Err(e) => error = Some(l.error_message(&e.into())),
            }
            match leads::counts(
                &state.db,
                &caller.viewer,
                &filter,
                &group_by,
                &defs,
                crate::api::workspace::zone_of(&caller),
            )
            .await
            {
                Ok(groups) => {
                    total = groups.iter().map(|g| g.count).sum();
                    counts = groups
                        .iter()
                        .map(|c| {
                            let mut p: Vec<(String, String)> = pairs
                                .iter()
                                .filter(|(k, _)| k != "cursor")
                                .cloned()
                                .collect();
                            if let Some((k, v)) = group_filter(&group_by, c) {
                                p.retain(|(pk, _)| *pk != k);
                                p.push((k, v));
                            }
                            CountLine {
                                label: group_label(&nav, &group_by, c, &people, &defs),
                                count: c.count,
                                href: format!("/leads?{}", query_string(&p)),
                            }
                        })
                        .collect();
                }
                Err(e) => error = Some(l.error_message(&e.into())),
            }
        }
        Err(e) => error = Some(l.error_message(&e)),
    }
    let status = get("status");
    let intent = get("intent");
    let owner = get("owner");
    let lang = l.code();
    let mut owner_items = vec![
        (String::new(), l.t("lead.any").to_string()),
        ("me".to_string(), l.t("lead.mine").to_string()),
        ("pool".to_string(), l.t("lead.pool").to_string()),
    ];
    owner_items.extend(
        people
            .iter()
            .filter(|u| u.active)
            .map(|u| (u.id.0.to_string(), u.display_name.clone())),
    );
    let mut group_items: Vec<(String, String)> = leads::GROUPS
        .iter()
        .map(|g| (g.to_string(), l.t(&format!("field.{g}")).to_string()))
        .collect();
    group_items.extend(
        defs.iter()
            .filter(|d| d.kind != FieldKind::Text)
            .map(|d| (format!("cf.{}", d.key), d.label(lang).to_string())),
    );
    let custom_filters = defs
        .iter()
        .filter(|d| {
            matches!(
                d.kind,
                FieldKind::Select
                    | FieldKind::MultiSelect
                    | FieldKind::Number
                    | FieldKind::Text
                    | FieldKind::Date
            )
        })
        .map(|d| FieldInput::new(d, lang, get(&format!("cf.{}", d.key)), Vec::new(), true))
        .collect();
    let page = ListPage {
        q: get("q"),
        statuses: choices(
            std::iter::once((String::new(), l.t("lead.any").to_string())).chain(
                LeadStatus::ALL
                    .iter()
                    .map(|s| (s.code().to_string(), s.label(lang).to_string())),
            ),
            &[status.as_str()],
        ),
        intents: choices(
            std::iter::once((String::new(), l.t("lead.any").to_string())).chain(
                IntentLevel::ALL
                    .iter()
                    .map(|s| (s.code().to_string(), s.label(lang).to_string())),
            ),
            &[intent.as_str()],
        ),
        owners: choices(owner_items, &[owner.as_str()]),
        sorts: choices(
            Sort::ALL.iter().map(|s| {
                (
                    s.code().to_string(),
                    l.t(&format!("sort.{}", s.code())).to_string(),
                )
            }),
            &[sort.code()],
        ),
        groups: choices(group_items, &[group_by.as_str()]),
        text_filters: ["source", "city", "region", "company", "tag"]
            .iter()
            .map(|k| {
                (
                    k.to_string(),
                    l.t(&format!("field.{k}")).to_string(),
                    get(k),
                )
            })
            .collect(),
        custom_filters,
        created_from: get("created_from"),
        created_to: get("created_to"),
        rows,
        next_href,
        views: saved,
        current_query: query_string(
            &pairs
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "view"))
                .cloned()
                .collect::<Vec<_>>(),
        ),
        export_query: query_string(
            &pairs
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "group_by" | "format"))
                .cloned()
                .collect::<Vec<_>>(),
        ),
        counts,
        total,
        show_deleted: get("deleted") == "true",
        error,
        batch,
        nav,
    };
    Ok(render(&page))
}

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
    fn new(
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

pub struct TimelineEntry {
    pub when: String,
    pub who: String,
    pub action: &'static str,
    pub changes: Vec<(String, String, String)>,
}

pub struct CallLine {
    pub when: String,
    pub agent: String,
    pub duration: i64,
    pub disposition: String,
    pub intent: String,
    pub notes: String,
}

#[derive(Template)]
#[template(path = "lead_detail.html")]
struct DetailPage {
    nav: Nav,
    lead: Lead,
    status: String,
    intent: String,
    owner: String,
    custom: Vec<(String, String)>,
    timeline: Vec<TimelineEntry>,
    calls: Vec<CallLine>,
    collisions: Vec<(i64, String, String)>,
    /// The script pane and knowledge search (`lead_knowledge.html`).
    knowledge: super::scripts::LeadPane,
    /// 归属记录, the countdown and 释放到公海 (`pools_lead_pane.html`).
    ownership: super::pools::LeadPane,
    /// 转为客户, or the customer it became (`customers_lead_pane.html`).
    conversion: super::customers::LeadPane,
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(show_value).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// One audited change as lines of (label, before, after) in the viewer's words; a change to the
/// custom values becomes one line per custom field that changed.
fn change_lines(
    nav: &Nav,
    defs: &[CustomFieldDef],
    people: &[User],
    field: &str,
    before: &Value,
    after: &Value,
) -> Vec<(String, String, String)> {
    let l = nav.lang;
    let shown = |v: String| {
        if v.is_empty() {
            l.t("lead.empty").to_string()
        } else {
            v
        }
    };
    if field == "custom" {
        let empty = Map::new();
        let b = before.as_object().unwrap_or(&empty);
        let a = after.as_object().unwrap_or(&empty);
        let mut keys: Vec<&String> = defs.iter().map(|d| &d.key).collect();
        for k in b.keys().chain(a.keys()) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        return keys
            .into_iter()
            .filter_map(|k| {
                let (x, y) = (
                    b.get(k).unwrap_or(&Value::Null),
                    a.get(k).unwrap_or(&Value::Null),
                );
                (x != y).then(|| {
                    let label = defs
                        .iter()
                        .find(|d| d.key == *k)
                        .map(|d| d.label(l.code()).to_string())
                        .unwrap_or_else(|| k.clone());
                    (label, shown(show_value(x)), shown(show_value(y)))
                })
            })
            .collect();
    }
    let (b, a) = match field {
        "status" => (
            status_label(nav, before.as_str().unwrap_or("")),
            status_label(nav, after.as_str().unwrap_or("")),
        ),
        "intent" => (
            intent_label(nav, before.as_str().unwrap_or("")),
            intent_label(nav, after.as_str().unwrap_or("")),
        ),
        "owner_id" => {
            let name = |v: &Value| match v.as_i64() {
                None => l.t("lead.pool").to_string(),
                Some(id) => people
                    .iter()
                    .find(|u| u.id.0 == id)
                    .map(|u| u.display_name.clone())
                    .unwrap_or_else(|| format!("#{id}")),
            };
            (name(before), name(after))
        }
        _ => (show_value(before), show_value(after)),
    };
    vec![(l.field_label(field), shown(b), shown(a))]
}

/// A lead's audit trail as timeline entries in the viewer's words, newest first (the lead page
/// and the agent workspace show the same history).
pub(crate) async fn timeline(
    nav: &Nav,
    db: &leadline_store::Db,
    history: &[audit::AuditRecord],
) -> leadline_store::Result<Vec<TimelineEntry>> {
    let l = nav.lang;
    let defs = custom_fields::list(db).await?;
    let people = users::list_users(db).await?;
    Ok(history
        .iter()
        .rev()
        .map(|h| TimelineEntry {
            when: nav.time(&h.at),
            who: h.actor_name.clone().unwrap_or_default(),
            action: l.t(&format!("lead.action.{}", h.action)),
            changes: if h.action == "update" {
                h.changes()
                    .into_iter()
                    .flat_map(|(field, before, after)| {
                        change_lines(nav, &defs, &people, &field, &before, &after)
                    })
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect())
}

/// One recorded call as the history table shows it.
pub(crate) fn call_line(nav: &Nav, c: calls::CallRecord) -> CallLine {
    let l = nav.lang;
    CallLine {
        when: nav.time(&c.started_at),
        agent: c.agent_name,
        duration: c.duration_s,
        disposition: l.t(&format!("disp.{}", c.disposition)).to_string(),
        intent: c
            .intent
            .as_deref()
            .map(|i| intent_label(nav, i))
            .unwrap_or_default(),
        notes: c.notes,
    }
}

pub async fn detail(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<LeadId>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let lang = l.code();
    let mut lead = leads::get(&state.db, &caller.viewer, id).await.or_page(l)?;
    leadline_store::ownership::pools::mask_lead(&state.db, &caller.viewer, &mut lead)
        .await
        .or_page(l)?;
    let nav = Nav::new(&caller, &format!("/leads/{id}"));
    let defs = custom_fields::list(&state.db).await.or_page(l)?;
    let custom = defs
        .iter()
        .filter_map(|d| {
            lead.custom
                .get(&d.key)
                .map(|v| (d.label(lang).to_string(), show_value(v)))
        })
        .collect();
    let history = audit::history(&state.db, "lead", lead.id.0)
        .await
        .or_page(l)?;
    let timeline = timeline(&nav, &state.db, &history).await.or_page(l)?;
    let calls = calls::for_lead(&state.db, lead.id)
        .await
        .or_page(l)?
        .into_iter()
        .map(|c| call_line(&nav, c))
        .collect();
    let collisions = leads::collisions(&state.db, lead.id)
        .await
        .or_page(l)?
        .into_iter()
        .map(|(other, phone, at)| (other.0, phone, nav.time(&at)))
        .collect();
    let chosen_script = pair(&query_pairs(query.as_deref()), "script").and_then(|s| s.parse().ok());
    let knowledge = super::scripts::lead_pane(&state, &caller, &lead, chosen_script)
        .await
        .or_page(l)?;
    let ownership = super::pools::lead_pane(&state, &caller, &nav, &lead)
        .await
        .or_page(l)?;
    let conversion = super::customers::lead_pane(&state, &caller, &lead)
        .await
        .or_page(l)?;
    let page = DetailPage {
        ownership,
        conversion,
        knowledge,
        status: lead.status.label(lang).to_string(),
        intent: lead
            .intent
            .map(|i| i.label(lang).to_string())
            .unwrap_or_default(),
        owner: lead
            .owner_name
            .clone()
            .unwrap_or_else(|| l.t("lead.pool").to_string()),
        lead,
        custom,
        timeline,
        calls,
        collisions,
        nav,
    };
    Ok(render(&page))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<LeadId>,
    form: PageForm,
) -> PageResult {
    leads::delete(&state.db, &form.caller.viewer, id)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to(&format!("/leads/{id}")).into_response())
}

pub async fn restore(
    State(state): State<AppState>,
    Path(id): Path<LeadId>,
    form: PageForm,
) -> PageResult {
    leads::restore(&state.db, &form.caller.viewer, id)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to(&format!("/leads/{id}")).into_response())
}

/// Saves the list's current filter under a name.
pub async fn save_view(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    let pairs = query_pairs(Some(&form.text("query")));
    crate::api::leads::filter_for(&state, caller, &pairs)
        .await
        .or_page(l)?;
    let filter = views::filter_of_query(&pairs);
    let view = views::save(&state.db, caller.user.id, &form.text("name"), &filter)
        .await
        .or_page(l)?;
    Ok(Redirect::to(&format!("/leads?view={}", view.id)).into_response())
}

pub async fn delete_view(
    State(state): State<AppState>,
    Path(ViewId(id)): Path<ViewId>,
    form: PageForm,
) -> PageResult {
    views::delete(&state.db, form.caller.user.id, id)
        .await
        .or_page(form.caller.lang)?;
    Ok(Redirect::to("/leads").into_response())
}
