//! The customer pages (issue 23): the list and the sales rep's queue (/customers,
//! /customers?mine=1, /sales), the customer card (客户管理卡, /customers/{id}) with contacts,
//! history and timeline, adding and removing contacts, and converting a lead from its card.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::customer::ContactDraft;
use leadline_domain::money::yuan;
use leadline_domain::{ContactId, CustomerId, LeadId, UserId};
use leadline_store::customers::{self, Customer, CustomerLine, GradeLabel};
use leadline_store::now;

use super::{Nav, OrPage, PageError, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::i18n::Lang;

fn grade_label(grades: &[GradeLabel], code: Option<&str>, lang: Lang) -> String {
    match code.and_then(|c| grades.iter().find(|g| g.code == c)) {
        Some(g) => format!(
            "{} {}",
            g.code,
            if lang == Lang::Zh {
                &g.label_zh
            } else {
                &g.label_en
            }
        ),
        None => lang.t("customer.ungraded").to_string(),
    }
}

pub struct LineView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub grade: String,
    pub status: String,
    pub owner: String,
    pub owned_since: String,
    pub balance: String,
    pub city: String,
}

#[derive(Template)]
#[template(path = "customers_list.html")]
struct ListPage {
    nav: Nav,
    mine: bool,
    q: String,
    grade: String,
    grades: Vec<(String, String)>,
    items: Vec<LineView>,
    /// issue 24: the month's target progress on the rep's own queue.
    progress: Option<super::targets::ProgressView>,
}

/// The customer list; `mine=1` is the caller's queue, newest owned first.
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(query.as_deref());
    let filter = crate::api::customers::filter_of(&pairs).or_page(l)?;
    let rows = customers::list(&state.db, &caller.viewer, &filter)
        .await
        .or_page(l)?;
    let grades = customers::grade_labels(&state.db).await.or_page(l)?;
    let nav = Nav::new(&caller, "/customers");
    let items = rows
        .into_iter()
        .map(|c: CustomerLine| LineView {
            id: c.id.0,
            kind: l.t(&format!("customer.kind.{}", c.kind)).to_string(),
            grade: grade_label(&grades, c.grade.as_deref(), l),
            status: l.t(&format!("customer.status.{}", c.status)).to_string(),
            owner: c
                .owner_name
                .unwrap_or_else(|| l.t("customer.no_owner").to_string()),
            owned_since: c.owned_since.map(|t| nav.time(&t)).unwrap_or_default(),
            balance: yuan(c.balance_fen),
            city: c.city.unwrap_or_default(),
            name: c.name,
        })
        .collect();
    let progress = if filter.mine {
        super::targets::own_progress(&state.db, &nav, &caller)
            .await
            .or_page(l)?
    } else {
        None
    };
    Ok(render(&ListPage {
        progress,
        mine: filter.mine,
        q: pair(&pairs, "q").unwrap_or_default().to_string(),
        grade: filter.grade.clone().unwrap_or_default(),
        grades: grades
            .iter()
            .map(|g| (g.code.clone(), grade_label(&grades, Some(&g.code), l)))
            .collect(),
        items,
        nav,
    }))
}

/// The sales rep's queue (销售队列).
pub async fn queue() -> Redirect {
    Redirect::to("/customers?mine=1")
}

pub struct ContactView {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub phones: String,
    pub email: String,
    pub primary: bool,
}

pub struct HistoryView {
    pub at: String,
    pub action: String,
    pub by: String,
    pub to: String,
    pub note: String,
}

pub struct ItemView {
    pub kind: &'static str,
    pub at: String,
    pub label: String,
    pub who: String,
    pub detail: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "customer_card.html")]
struct CardPage {
    nav: Nav,
    c: Customer,
    kind: String,
    grade: String,
    status: String,
    balance: String,
    may_edit: bool,
    contacts: Vec<ContactView>,
    history: Vec<HistoryView>,
    timeline: Vec<ItemView>,
    /// issue 27: 拨打 and the placed calls with their recordings (`phone_pane.html`).
    phone: super::phone_pane::PhonePane,
}

impl CardPage {
    fn text(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
}

/// The customer card (客户管理卡).
pub async fn card(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<CustomerId>,
) -> PageResult {
    let l = caller.lang;
    let c = customers::get(&state.db, &caller.viewer, id)
        .await
        .or_page(l)?;
    let history = customers::history(&state.db, &c).await.or_page(l)?;
    let timeline = customers::timeline(&state.db, &c).await.or_page(l)?;
    let grades = customers::grade_labels(&state.db).await.or_page(l)?;
    let nav = Nav::new(&caller, &format!("/customers/{id}"));
    let contacts = c
        .contacts
        .iter()
        .map(|k| ContactView {
            id: k.id.0,
            name: k.name.clone(),
            title: k.title.clone().unwrap_or_default(),
            phones: k
                .phones
                .iter()
                .map(|p| p.raw.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            email: k.email.clone().unwrap_or_default(),
            primary: k.is_primary,
        })
        .collect();
    let history = history
        .into_iter()
        .map(|h| HistoryView {
            at: nav.time(&h.at),
            action: l.t(&format!("customer.event.{}", h.action)).to_string(),
            by: h.actor_name.unwrap_or_default(),
            to: h.to_name.unwrap_or_default(),
            note: match h.reason.as_deref() {
                Some(m @ ("phone" | "company" | "email")) if h.action == "link_lead" => {
                    l.t(&format!("customer.matched.{m}")).to_string()
                }
                other => other.unwrap_or_default().to_string(),
            },
        })
        .collect();
    let timeline = timeline
        .into_iter()
        .map(|i| ItemView {
            kind: i.kind,
            at: nav.time(&i.at),
            label: l.t(&format!("customer.item.{}", i.kind)).to_string(),
            who: i.who.unwrap_or_default(),
            detail: {
                let stage = if l == Lang::Zh {
                    i.label_zh
                } else {
                    i.label_en
                };
                [stage.or(i.code), i.text]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ")
            },
            amount: i.amount_fen.map(yuan).unwrap_or_default(),
        })
        .collect();
    let phone = super::phone_pane::for_customer(&state.db, &nav, id)
        .await
        .or_page(l)?;
    Ok(render(&CardPage {
        phone,
        kind: l.t(&format!("customer.kind.{}", c.kind.code())).to_string(),
        grade: grade_label(&grades, c.grade.as_deref(), l),
        status: l
            .t(&format!("customer.status.{}", c.status.code()))
            .to_string(),
        balance: yuan(c.balance_fen),
        may_edit: c.access == "edit",
        contacts,
        history,
        timeline,
        nav,
        c,
    }))
}

/// Adds a contact from the card's form (phones separated by commas).
pub async fn add_contact(
    State(state): State<AppState>,
    Path(id): Path<CustomerId>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    let draft = ContactDraft {
        name: form.text("name"),
        title: Some(form.text("title")),
        phones: form
            .text("phones")
            .split([',', '，', ';', '；'])
            .map(str::to_string)
            .collect(),
        email: Some(form.text("email")),
        is_primary: form.get("is_primary").is_some(),
    };
    customers::add_contact(&state.db, &form.caller.viewer, id, &draft, now())
        .await
        .or_page(l)?;
    Ok(Redirect::to(&format!("/customers/{id}#contacts")).into_response())
}

/// Removes a contact from the card.
pub async fn delete_contact(
    State(state): State<AppState>,
    Path((id, contact)): Path<(CustomerId, ContactId)>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    customers::delete_contact(&state.db, &form.caller.viewer, id, contact, now())
        .await
        .or_page(l)?;
    Ok(Redirect::to(&format!("/customers/{id}#contacts")).into_response())
}

/// The lead card's conversion pane: the customer the lead became (a link when the caller may
/// see it), else 转为客户 with a choice of sales rep for whoever may change the lead.
pub struct LeadPane {
    pub customer: Option<i64>,
    /// The customer's name and owner, when the caller may see it.
    pub customer_name: String,
    pub owner: Option<String>,
    /// 已转为客户，由 <rep> 负责: for whoever may not see the customer.
    pub converted_line: String,
    pub converted: bool,
    pub may_convert: bool,
    pub reps: Vec<(i64, String)>,
}

pub async fn lead_pane(
    state: &AppState,
    caller: &crate::auth::Caller,
    lead: &leadline_store::leads::Lead,
) -> leadline_store::Result<LeadPane> {
    let customer = customers::of_lead(&state.db, lead.id).await?;
    let seen = match customer {
        Some(c) => customers::get(&state.db, &caller.viewer, c).await.ok(),
        None => None,
    };
    let visible = seen.is_some();
    // Issue 23: who took the lead over, for an agent who converted it for a rep.
    let converted_line = match customer {
        Some(c) if !visible => match customers::owner_name(&state.db, c).await? {
            Some(owner) => caller.lang.tf("lead.converted_to", &[("owner", &owner)]),
            None => caller.lang.t("lead.converted").to_string(),
        },
        _ => String::new(),
    };
    let may_convert = customer.is_none()
        && lead.deleted_at.is_none()
        && caller.viewer.access(&lead.holder()) == leadline_domain::Access::Edit;
    let reps = if may_convert {
        customers::sales_reps(&state.db)
            .await?
            .into_iter()
            .map(|p| (p.id.0, p.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(LeadPane {
        customer: customer.filter(|_| visible).map(|c| c.0),
        customer_name: seen.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        owner: seen.and_then(|c| c.owner).map(|o| o.name),
        converted_line,
        converted: customer.is_some(),
        may_convert,
        reps,
    })
}

/// Converts a lead from its card (the sales rep optional), then shows the customer's card.
pub async fn convert(
    State(state): State<AppState>,
    Path(id): Path<LeadId>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    let rep = match form
        .get("sales_rep_id")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(UserId(s.parse().map_err(|_| {
            PageError(
                l,
                leadline_store::StoreError::invalid("sales_rep_id", "bad_id").into(),
            )
        })?)),
    };
    let c = customers::convert(&state.db, &form.caller.viewer, id, rep, now())
        .await
        .or_page(l)?;
    // The converter may not see a customer handed to someone else: back to the lead then.
    match customers::get(&state.db, &form.caller.viewer, c.customer_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{}", c.customer_id)).into_response()),
        Err(_) => Ok(Redirect::to(&format!("/leads/{id}?converted=1")).into_response()),
    }
}
