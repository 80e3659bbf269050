//! The ownership settings page (/admin/ownership), its 回收规则 section: the reclaim rules
//! (add, edit, retire), the warning days and the protection cap. Admins change them,
//! supervisors read them. A refused change shows its reason and changes nothing; a saved one
//! queues the recount of the countdowns it may move.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::IntentLevel;
use leadline_domain::ownership::{ReclaimBasis, ReclaimRule, RecordKind, RuleScope};
use leadline_store::StoreError;
use leadline_store::now;
use leadline_store::ownership::reclaim::{self, RuleInput, protection};

use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::reclaim::queue_recount;
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;
use crate::i18n::Lang;

/// A rule as the table shows it.
pub struct RuleLine {
    pub id: i64,
    pub basis: String,
    pub days: u16,
    pub kind: String,
    pub intent: String,
    pub grade: String,
    pub source: String,
}

/// One `<option>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The rule form as typed, or as stored when editing.
#[derive(Default)]
pub struct RuleForm {
    pub id: Option<i64>,
    pub basis: String,
    pub days: String,
    pub kind: String,
    pub intent: String,
    pub grade: String,
    pub source: String,
}

impl RuleForm {
    fn of(r: &ReclaimRule) -> RuleForm {
        RuleForm {
            id: Some(r.id),
            basis: r.basis.code().into(),
            days: r.days.to_string(),
            kind: r
                .scope
                .kind
                .map(|k| k.code().to_string())
                .unwrap_or_default(),
            intent: r
                .scope
                .intent
                .map(|i| i.code().to_string())
                .unwrap_or_default(),
            grade: r.scope.grade.clone().unwrap_or_default(),
            source: r.scope.source.clone().unwrap_or_default(),
        }
    }

    fn posted(form: &PageForm) -> RuleForm {
        RuleForm {
            id: form.text("id").parse().ok(),
            basis: form.text("basis"),
            days: form.text("days"),
            kind: form.text("kind"),
            intent: form.text("intent"),
            grade: form.text("grade"),
            source: form.text("source"),
        }
    }

    fn input(&self) -> Result<RuleInput, AppError> {
        let invalid = |f: &str, c: &'static str| AppError::from(StoreError::invalid(f, c));
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Ok(RuleInput {
            basis: ReclaimBasis::parse(&self.basis).ok_or_else(|| invalid("basis", "invalid"))?,
            days: self
                .days
                .parse()
                .map_err(|_| invalid("days", "out_of_range"))?,
            scope: RuleScope {
                kind: opt(&self.kind)
                    .map(|k| RecordKind::parse(&k).ok_or_else(|| invalid("kind", "invalid")))
                    .transpose()?,
                intent: opt(&self.intent)
                    .map(|i| IntentLevel::parse(&i).ok_or_else(|| invalid("intent", "invalid")))
                    .transpose()?,
                grade: opt(&self.grade),
                source: opt(&self.source),
            },
        })
    }
}

#[derive(Template)]
#[template(path = "ownership_admin.html")]
struct OwnershipPage {
    nav: Nav,
    admin: bool,
    error: Option<String>,
    rules: Vec<RuleLine>,
    form: RuleForm,
    heading: String,
    bases: Vec<Choice>,
    kinds: Vec<Choice>,
    intents: Vec<Choice>,
    warn_days: String,
    cap: i64,
}

fn choices(list: Vec<(String, String)>, current: &str, any: Option<String>) -> Vec<Choice> {
    any.map(|label| (String::new(), label))
        .into_iter()
        .chain(list)
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

fn line(l: Lang, r: &ReclaimRule) -> RuleLine {
    let any = || l.t("reclaim.any").to_string();
    RuleLine {
        id: r.id,
        basis: l
            .t(&format!("reclaim.basis.{}", r.basis.code()))
            .to_string(),
        days: r.days,
        kind: r.scope.kind.map_or_else(any, |k| {
            l.t(&format!("reclaim.kind.{}", k.code())).to_string()
        }),
        intent: r
            .scope
            .intent
            .map_or_else(any, |i| i.label(l.code()).to_string()),
        grade: r.scope.grade.clone().unwrap_or_else(any),
        source: r.scope.source.clone().unwrap_or_else(any),
    }
}

async fn page(
    state: &AppState,
    caller: &Caller,
    form: Option<RuleForm>,
    edit: Option<i64>,
    error: Option<String>,
) -> PageResult {
    let l = caller.lang;
    caller
        .require(leadline_domain::Role::manages_leads)
        .or_page(l)?;
    let db = &state.db;
    let stored = reclaim::list_rules(db).await.or_page(l)?;
    let form = form
        .or_else(|| {
            edit.and_then(|id| stored.iter().find(|r| r.id == id))
                .map(RuleForm::of)
        })
        .unwrap_or_else(|| RuleForm {
            basis: ReclaimBasis::NoValidFollowUp.code().into(),
            days: "15".into(),
            ..RuleForm::default()
        });
    let heading = l
        .t(if form.id.is_some() {
            "reclaim.edit_rule"
        } else {
            "reclaim.add_rule"
        })
        .to_string();
    let bases = ReclaimBasis::ALL
        .iter()
        .map(|b| {
            (
                b.code().to_string(),
                l.t(&format!("reclaim.basis.{}", b.code())).to_string(),
            )
        })
        .collect();
    let kinds = RecordKind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_string(),
                l.t(&format!("reclaim.kind.{}", k.code())).to_string(),
            )
        })
        .collect();
    let intents = IntentLevel::ALL
        .iter()
        .map(|i| (i.code().to_string(), i.label(l.code()).to_string()))
        .collect();
    let any = Some(l.t("reclaim.any").to_string());
    let warn = reclaim::warn_days(db).await.or_page(l)?;
    let p = OwnershipPage {
        nav: Nav::new(caller, "/admin/ownership"),
        admin: caller.user.role.is_admin(),
        error,
        rules: stored.iter().map(|r| line(l, r)).collect(),
        bases: choices(bases, &form.basis, None),
        kinds: choices(kinds, &form.kind, any.clone()),
        intents: choices(intents, &form.intent, any),
        form,
        heading,
        warn_days: warn
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(","),
        cap: protection::cap(db).await.or_page(l)?,
    };
    Ok(render(&p))
}

/// GET /admin/ownership (supervisors and admins); `?rule=<id>` fills the form with that rule.
pub async fn index(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let pairs = query_pairs(query.as_deref());
    let edit = pair(&pairs, "rule").and_then(|s| s.parse().ok());
    page(&state, &caller, None, edit, None).await
}

/// POST /admin/ownership/reclaim-rules: adds a rule, or changes the one `id` names (admin).
pub async fn rule_save(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let typed = RuleForm::posted(&form);
    let saved = async {
        let input = typed.input()?;
        let scopes = match typed.id {
            Some(id) => {
                let (before, after) =
                    reclaim::update_rule(&state.db, caller.user.id, id, input, now()).await?;
                vec![before.scope, after.scope]
            }
            None => vec![
                reclaim::create_rule(&state.db, caller.user.id, input, now())
                    .await?
                    .scope,
            ],
        };
        queue_recount(&state, scopes).await
    }
    .await;
    match saved {
        Ok(()) => Ok(Redirect::to("/admin/ownership#reclaim").into_response()),
        Err(e) => page(&state, caller, Some(typed), None, Some(l.error_message(&e))).await,
    }
}

/// POST /admin/ownership/reclaim-rules/delete: retires the rule `id` names (admin).
pub async fn rule_delete(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let id: i64 = form.text("id").parse().unwrap_or(0);
    let done = async {
        let gone = reclaim::delete_rule(&state.db, caller.user.id, id, now()).await?;
        queue_recount(&state, vec![gone.scope]).await
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to("/admin/ownership#reclaim").into_response()),
        Err(e) => page(&state, caller, None, None, Some(l.error_message(&e))).await,
    }
}

/// POST /admin/ownership/reclaim-settings: the warning days and the protection cap (admin).
pub async fn settings(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let done: Result<(), AppError> = async {
        let days = reclaim::parse_warn_days(&form.text("warn_days"))
            .ok_or_else(|| StoreError::invalid(reclaim::WARN_DAYS_KEY, "invalid"))?;
        let cap: i64 = form
            .text("cap")
            .parse()
            .map_err(|_| StoreError::invalid(protection::CAP_KEY, "not_a_number"))?;
        protection::set_cap(&state.db, caller.user.id, cap, now()).await?;
        reclaim::set_warn_days(&state.db, caller.user.id, &days, now()).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to("/admin/ownership#reclaim").into_response()),
        Err(e) => page(&state, caller, None, None, Some(l.error_message(&e))).await,
    }
}
