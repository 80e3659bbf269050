//! Lead pages: the list with filters, saved views and group counts; the detail page with its
//! timeline (the create and edit forms are in `lead_form`).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{CustomFieldDef, FieldKind, IntentLevel, LeadId, LeadStatus, ViewId};
use leadline_store::auth::users::User;
use leadline_store::leads::views::SavedView;
use leadline_store::leads::{self, CountRow, Lead, Sort};
use leadline_store::{audit, auth::users, leads::custom_fields, leads::views, workday::calls};
use serde_json::{Map, Value};

use super::Path;
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

pub use super::lead_form::{FieldInput, create, edit_form, new_form, update};

/// One choice in a select box.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(super) fn choices<'a>(
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

pub struct TimelineEntry {
    pub when: String,
    pub who: String,
    pub action: String,
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
    /// issue 27: 拨打 and the placed calls with their recordings (`phone_pane.html`).
    phone: super::phone_pane::PhonePane,
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
            // A lead's own wording where it has one ("领取了本线索"), else the audit's.
            action: {
                let own = format!("lead.action.{}", h.action);
                if l.has(&own) {
                    l.t(&own).to_string()
                } else {
                    super::admin::action_label(l, &h.action)
                }
            },
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
    let phone = super::phone_pane::for_lead(&state.db, &nav, lead.id)
        .await
        .or_page(l)?;
    let page = DetailPage {
        phone,
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
