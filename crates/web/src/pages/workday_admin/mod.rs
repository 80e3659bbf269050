//! The agent's-day settings page (/admin/workday): dispositions (retire or bring back), revisit
//! rules (add, edit, delete), calling hours of the default or of one team (each weekday's spans;
//! the gaps are breaks), holidays and make-up days (add, remove) and the do-not-call list (add or
//! import numbers, remove one). Admins see everything; supervisors keep the do-not-call list.
//! A refused change shows its reason on the page, keeps what was typed and changes nothing.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::calling_hours::{
    DayKind, Holiday, SpanProblem, Window, WindowProblem, format_hhmm, parse_spans,
    validate_windows,
};
use leadline_domain::revisit::{AfterLast, DelayUnit, RevisitRule};
use leadline_domain::{IntentLevel, Role, TeamId};
use leadline_store::StoreError;
use leadline_store::auth::users;
use leadline_store::workday::config::{self, DncEntry, StoredDisposition};

use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::workday_admin::{RuleBody, rule_from};
use crate::api::{pair, query_pairs};
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;
use crate::i18n::Lang;

mod shown;
pub(crate) use shown::Shown;
pub use shown::{FieldErrors, Typed};

/// A revisit rule as the table shows it.
pub struct RuleLine {
    pub id: i64,
    pub disposition: String,
    pub intent: String,
    pub attempts: String,
    pub delay: String,
    pub max_attempts: String,
    pub after_last: String,
    pub active: bool,
}

/// One `<option>` of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(list: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    list.into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// The rule form's fields as typed: a new rule, the rule being edited, or a refused post kept
/// for correction.
pub struct RuleForm {
    /// None: a new rule.
    pub id: Option<i64>,
    pub disposition: String,
    pub intent: String,
    pub attempt_from: String,
    pub attempt_to: String,
    pub delay_amount: String,
    pub delay_unit: String,
    pub max_attempts: String,
    pub after_last: String,
    pub position: String,
    pub active: bool,
}

impl RuleForm {
    fn blank() -> RuleForm {
        RuleForm {
            id: None,
            disposition: String::new(),
            intent: String::new(),
            attempt_from: "1".into(),
            attempt_to: String::new(),
            delay_amount: String::new(),
            delay_unit: DelayUnit::Hours.code().into(),
            max_attempts: String::new(),
            after_last: AfterLast::Stop.code().into(),
            position: "0".into(),
            active: true,
        }
    }

    fn of(r: &RevisitRule) -> RuleForm {
        let text = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        RuleForm {
            id: Some(r.id),
            disposition: r.disposition.clone().unwrap_or_default(),
            intent: r.intent.map(|i| i.code().to_string()).unwrap_or_default(),
            attempt_from: r.attempt_from.to_string(),
            attempt_to: text(r.attempt_to),
            delay_amount: text(r.delay.map(|(a, _)| a)),
            delay_unit: r.delay.map_or(DelayUnit::Hours, |(_, u)| u).code().into(),
            max_attempts: text(r.max_attempts),
            after_last: r.after_last.code().into(),
            position: r.position.to_string(),
            active: r.active,
        }
    }

    fn posted(form: &PageForm) -> Result<RuleForm, AppError> {
        let id = match form.text("id").as_str() {
            "" => None,
            s => Some(s.parse().map_err(|_| AppError::NotFound)?),
        };
        Ok(RuleForm {
            id,
            disposition: form.text("disposition"),
            intent: form.text("intent"),
            attempt_from: form.text("attempt_from"),
            attempt_to: form.text("attempt_to"),
            delay_amount: form.text("delay_amount"),
            delay_unit: form.text("delay_unit"),
            max_attempts: form.text("max_attempts"),
            after_last: form.text("after_last"),
            position: form.text("position"),
            active: form.checked("active"),
        })
    }

    /// The rule the fields describe, read as the API reads a rule.
    fn rule(&self) -> Result<RevisitRule, AppError> {
        /// A whole number, full-width digits allowed; else the field's range is what is wrong.
        fn number(field: &str, text: &str) -> Result<Option<i64>, AppError> {
            let code = match field {
                "delay_amount" => "delay_range",
                "position" => "position_range",
                "max_attempts" => "max_attempts_range",
                _ => "attempt_range",
            };
            match leadline_domain::typed::normalise_times(text).trim() {
                "" => Ok(None),
                t => t
                    .parse()
                    .map(Some)
                    .map_err(|_| StoreError::invalid(field, code).into()),
            }
        }
        let body = RuleBody {
            disposition: Some(self.disposition.clone()),
            intent: Some(self.intent.clone()),
            attempt_from: number("attempt_from", &self.attempt_from)?
                .ok_or_else(|| AppError::from(StoreError::invalid("attempt_from", "required")))?,
            attempt_to: number("attempt_to", &self.attempt_to)?,
            delay_amount: number("delay_amount", &self.delay_amount)?,
            delay_unit: self.delay_unit.clone(),
            max_attempts: number("max_attempts", &self.max_attempts)?,
            after_last: self.after_last.clone(),
            position: number("position", &self.position)?.unwrap_or(0),
            active: self.active,
        };
        rule_from(self.id.unwrap_or(0), body)
    }
}

/// One weekday's line of the calling-hours form.
pub struct DayHours {
    pub weekday: u8,
    pub name: &'static str,
    /// "09:00-12:00, 14:00-18:00" as typed or as stored.
    pub spans: String,
    /// Why the spans typed were refused.
    pub error: Option<String>,
}

/// The calling hours shown: the default or one team's.
pub struct HoursView {
    /// None: the default.
    pub team: Option<i64>,
    pub teams: Vec<Choice>,
    /// (weekday name, "09:00–12:00, 14:00–18:00") as stored.
    pub stored: Vec<(&'static str, String)>,
    pub days: Vec<DayHours>,
    /// A team whose windows equal the default's.
    pub same_as_default: bool,
}

#[derive(Template)]
#[template(path = "workday_admin.html")]
struct WorkdayPage {
    nav: Nav,
    admin: bool,
    dispositions: Vec<StoredDisposition>,
    /// The lead statuses a new disposition may set: (code, label).
    statuses: Vec<(&'static str, &'static str)>,
    rules: Vec<RuleLine>,
    rule_form: RuleForm,
    /// "Add a revisit rule" or "Edit revisit rule #id".
    rule_heading: String,
    rule_dispositions: Vec<Choice>,
    rule_intents: Vec<Choice>,
    rule_units: Vec<Choice>,
    rule_after: Vec<Choice>,
    hours: HoursView,
    /// (holiday, its kind's name)
    holidays: Vec<(Holiday, &'static str)>,
    dnc: Vec<DncEntry>,
    dnc_total: i64,
    /// The organisation's statistics zone (issue 24).
    org_zone: String,
    message: Option<String>,
    error: Option<String>,
    /// What is wrong with each refused field, shown beside it.
    errors: FieldErrors,
    /// The refused disposition or holiday form's fields as typed.
    typed: Typed,
}

/// "09:00-12:00, 14:00-18:00" for one weekday's windows (`sep` between start and end).
fn spans(windows: &[Window], weekday: u8, sep: &str) -> String {
    windows
        .iter()
        .filter(|w| w.weekday == weekday)
        .map(|w| {
            format!(
                "{}{sep}{}",
                format_hhmm(w.start_minute),
                format_hhmm(w.end_minute)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn hours_view(
    state: &AppState,
    l: Lang,
    team: Option<TeamId>,
    typed: Option<Vec<String>>,
) -> Result<HoursView, super::PageError> {
    let db = &state.db;
    let windows = config::windows(db, team).await.or_page(l)?;
    let same_as_default = match team {
        Some(_) => windows == config::windows(db, None).await.or_page(l)?,
        None => false,
    };
    let day_name = |d: u8| l.t(&format!("workday.weekday.{d}"));
    let days = (1..=7u8)
        .map(|d| DayHours {
            weekday: d,
            name: day_name(d),
            spans: typed
                .as_ref()
                .and_then(|t| t.get(usize::from(d) - 1).cloned())
                .unwrap_or_else(|| spans(&windows, d, "-")),
            error: None,
        })
        .collect();
    let mut teams = vec![(String::new(), l.t("workday.hours_default").to_string())];
    teams.extend(
        users::list_teams(db)
            .await
            .or_page(l)?
            .into_iter()
            .map(|t| (t.id.0.to_string(), t.name)),
    );
    let current = team.map(|t| t.0.to_string()).unwrap_or_default();
    Ok(HoursView {
        team: team.map(|t| t.0),
        teams: choices(teams, &current),
        stored: (1..=7u8)
            .map(|d| (day_name(d), spans(&windows, d, "–")))
            .collect(),
        days,
        same_as_default,
    })
}

pub(crate) async fn page(state: &AppState, caller: &Caller, shown: Shown) -> PageResult {
    let l = caller.lang;
    if !caller.user.role.manages_leads() {
        return Err(super::PageError(l, AppError::Forbidden));
    }
    let db = &state.db;
    let stored_rules = config::revisit_rules(db).await.or_page(l)?;
    let dispositions = config::dispositions(db).await.or_page(l)?;
    let any = l.t("workday.any");
    let rules = stored_rules
        .iter()
        .map(|r| RuleLine {
            id: r.id,
            // The disposition's name in the reader's language, not its code.
            disposition: match &r.disposition {
                None => any.to_string(),
                Some(code) => dispositions
                    .iter()
                    .find(|d| &d.d.code == code)
                    .map_or_else(|| code.clone(), |d| d.d.label(l.code()).to_string()),
            },
            intent: r
                .intent
                .map(|i| i.label(l.code()).to_string())
                .unwrap_or_else(|| any.to_string()),
            attempts: match r.attempt_to {
                Some(to) => format!("{}–{to}", r.attempt_from),
                None => format!("{}+", r.attempt_from),
            },
            delay: r
                .delay
                .map(|(a, u)| {
                    l.tn(
                        &format!("workday.delay.{}", u.code()),
                        a,
                        &[("n", &a.to_string())],
                    )
                })
                .unwrap_or_else(|| "—".into()),
            max_attempts: r
                .max_attempts
                .map(|m| m.to_string())
                .unwrap_or_else(|| "—".into()),
            after_last: l
                .t(&format!("workday.after.{}", r.after_last.code()))
                .to_string(),
            active: r.active,
        })
        .collect();
    let rule_form = shown
        .rule_form
        .or_else(|| {
            let id = shown.edit_rule?;
            stored_rules.iter().find(|r| r.id == id).map(RuleForm::of)
        })
        .unwrap_or_else(RuleForm::blank);
    let rule_heading = match rule_form.id {
        Some(id) => l.tf("workday.rule_edit", &[("id", &id.to_string())]),
        None => l.t("workday.rule_add").to_string(),
    };
    let any = (String::new(), any.to_string());
    let rule_dispositions = choices(
        std::iter::once(any.clone()).chain(
            dispositions
                .iter()
                .map(|d| (d.d.code.clone(), d.d.label(l.code()).to_string())),
        ),
        &rule_form.disposition,
    );
    let rule_intents = choices(
        std::iter::once(any).chain(
            IntentLevel::ALL
                .iter()
                .map(|i| (i.code().to_string(), i.label(l.code()).to_string())),
        ),
        &rule_form.intent,
    );
    let rule_units = choices(
        DelayUnit::ALL.iter().map(|u| {
            (
                u.code().to_string(),
                l.t(&format!("workday.unit.{}", u.code())).to_string(),
            )
        }),
        &rule_form.delay_unit,
    );
    let rule_after = choices(
        AfterLast::ALL.iter().map(|a| {
            (
                a.code().to_string(),
                l.t(&format!("workday.after.{}", a.code())).to_string(),
            )
        }),
        &rule_form.after_last,
    );
    let (dnc, dnc_total) = config::dnc_list(db, 50, 0).await.or_page(l)?;
    let (status, error) = match shown.error {
        Some((status, e)) => (status, Some(e)),
        None => (StatusCode::OK, None),
    };
    let p = WorkdayPage {
        nav: Nav::new(caller, "/admin/workday"),
        admin: caller.user.role == Role::Admin,
        dispositions,
        statuses: leadline_domain::LeadStatus::ALL
            .iter()
            .map(|s| (s.code(), s.label(l.code())))
            .collect(),
        rules,
        rule_form,
        rule_heading,
        rule_dispositions,
        rule_intents,
        rule_units,
        rule_after,
        hours: {
            let mut hours = hours_view(state, l, shown.team, shown.typed_hours).await?;
            for day in &mut hours.days {
                let field = format!("day_{}", day.weekday);
                day.error = FieldErrors::get_in(&shown.field_errors, &field).map(str::to_string);
            }
            hours
        },
        org_zone: leadline_store::call_stats::org_zone(db)
            .await
            .or_page(l)?
            .name()
            .to_string(),
        holidays: config::holidays(db)
            .await
            .or_page(l)?
            .into_iter()
            .map(|h| {
                let kind = l.t(&format!("workday.kind.{}", h.kind.code()));
                (h, kind)
            })
            .collect(),
        dnc,
        dnc_total,
        message: shown.message,
        error,
        errors: FieldErrors(shown.field_errors),
        typed: Typed(shown.typed),
    };
    Ok((status, render(&p)).into_response())
}

/// The team a form or query names ("" or absent: the default), which must exist.
async fn team_named(state: &AppState, text: &str) -> Result<Option<TeamId>, AppError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let id: i64 = text.trim().parse().map_err(|_| AppError::NotFound)?;
    let teams = users::list_teams(&state.db).await?;
    teams
        .iter()
        .find(|t| t.id.0 == id)
        .map(|t| Some(t.id))
        .ok_or(AppError::NotFound)
}

/// GET /admin/workday?team=…&rule=… (`team`: whose calling hours; `rule`: the rule to edit)
pub async fn index(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(query): RawQuery,
) -> PageResult {
    let pairs = query_pairs(query.as_deref());
    let team = team_named(&state, pair(&pairs, "team").unwrap_or(""))
        .await
        .or_page(caller.lang)?;
    let shown = Shown {
        team,
        edit_rule: pair(&pairs, "rule").and_then(|s| s.parse().ok()),
        ..Shown::default()
    };
    page(&state, &caller, shown).await
}

/// POST /admin/workday/rules: adds a revisit rule, or replaces the one `id` names (admin).
pub async fn rule_save(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let typed = RuleForm::posted(&form).or_page(l)?;
    let saved = match typed.rule() {
        Ok(rule) => config::save_revisit_rule(&state.db, caller.user.id, &rule)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => {
            let shown = Shown {
                rule_form: Some(typed),
                ..Shown::refused(l, &e)
            };
            page(&state, caller, shown).await
        }
    }
}

/// POST /admin/workday/rules/delete: deletes the rule `id` names (admin).
pub async fn rule_delete(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let id: i64 = form.text("id").parse().unwrap_or(0);
    match config::delete_revisit_rule(&state.db, caller.user.id, id).await {
        Ok(()) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &AppError::from(e))).await,
    }
}

/// One weekday's spans as typed ("09:00-12:00, 14:00-18:00"), or the refusal in words.
fn parse_day(l: Lang, weekday: u8, text: &str) -> Result<Vec<Window>, String> {
    let day = l.t(&format!("workday.weekday.{weekday}"));
    let say = |key: &str, span: &str| l.tf(key, &[("day", day), ("span", span)]);
    let list: Vec<Window> = match parse_spans(text) {
        Ok(spans) => spans
            .into_iter()
            .map(|(start_minute, end_minute)| Window {
                weekday,
                start_minute,
                end_minute,
            })
            .collect(),
        Err(SpanProblem::Unreadable(span)) => return Err(say("workday.hours_bad_span", &span)),
        Err(SpanProblem::Backwards(span)) => return Err(say("workday.hours_backwards", &span)),
    };
    match validate_windows(&list) {
        Ok(()) => Ok(list),
        Err(WindowProblem::Overlap) => Err(say("workday.hours_overlap", "")),
        Err(_) => Err(say("workday.hours_backwards", text.trim())),
    }
}

/// POST /admin/workday/hours: replaces the default's or a team's calling windows, one line per
/// weekday; `reset=1` makes a team use the default again (admin).
pub async fn hours(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let team = team_named(&state, &form.text("team_id")).await.or_page(l)?;
    let back = match team {
        Some(t) => format!("/admin/workday?team={}", t.0),
        None => "/admin/workday".to_string(),
    };
    if form.get("reset").is_some() {
        // Only a team falls back to the default; the default itself has nothing to fall to.
        if team.is_none() {
            let e = AppError::from(StoreError::invalid("team", "required"));
            return page(&state, caller, Shown::refused(l, &e)).await;
        }
        config::set_windows(&state.db, caller.user.id, team, &[])
            .await
            .or_page(l)?;
        return Ok(Redirect::to(&back).into_response());
    }
    let typed: Vec<String> = (1..=7u8).map(|d| form.text(&format!("day_{d}"))).collect();
    let mut windows = Vec::new();
    let mut problems = Vec::new();
    let mut field_errors = Vec::new();
    for (d, text) in (1..=7u8).zip(&typed) {
        match parse_day(l, d, text) {
            Ok(list) => windows.extend(list),
            Err(e) => {
                field_errors.push((format!("day_{d}"), e.clone()));
                problems.push(e);
            }
        }
    }
    let refused = if problems.is_empty() {
        config::set_windows(&state.db, caller.user.id, team, &windows)
            .await
            .err()
            .map(|e| {
                let e = AppError::from(e);
                (e.status(), l.error_message(&e))
            })
    } else {
        Some((StatusCode::UNPROCESSABLE_ENTITY, problems.join("；")))
    };
    match refused {
        None => Ok(Redirect::to(&back).into_response()),
        Some(error) => {
            let shown = Shown {
                error: Some(error),
                team,
                typed_hours: Some(typed),
                field_errors,
                ..Shown::default()
            };
            page(&state, caller, shown).await
        }
    }
}

/// POST /admin/workday/dnc: add numbers (one per line).
pub async fn dnc_add(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require(Role::manages_leads).or_page(l)?;
    let lines: Vec<String> = form
        .text("numbers")
        .lines()
        .map(|s| {
            s.split([',', '\t', ';'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .collect();
    match config::dnc_add(&state.db, caller.user.id, &lines, &form.text("reason")).await {
        Ok(r) => {
            let bad: Vec<String> = r.invalid.iter().map(|n| n.to_string()).collect();
            let msg = l.tf(
                "workday.dnc_added",
                &[
                    ("added", &r.added.to_string()),
                    ("already", &r.already.to_string()),
                    ("invalid", &bad.join(", ")),
                ],
            );
            let shown = Shown {
                message: Some(msg),
                ..Shown::default()
            };
            page(&state, caller, shown).await
        }
        Err(e) => page(&state, caller, Shown::refused(l, &AppError::from(e))).await,
    }
}

/// POST /admin/workday/dnc/remove
pub async fn dnc_remove(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require(Role::manages_leads).or_page(l)?;
    match config::dnc_remove(&state.db, caller.user.id, &form.text("e164")).await {
        Ok(()) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &AppError::from(e))).await,
    }
}

/// POST /admin/workday/holidays: add (or replace) a day; `remove=1` removes it.
pub async fn holiday(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let typed = || {
        ["day", "name", "kind"]
            .into_iter()
            .map(|f| (f, form.text(f)))
            .collect::<Vec<_>>()
    };
    let refused = |e: StoreError| Shown::refused_form(l, &AppError::from(e), "holiday", typed());
    let Some(day) = leadline_domain::dates::parse_date(form.text("day").trim()) else {
        return page(
            &state,
            caller,
            refused(StoreError::invalid("day", "invalid_date")),
        )
        .await;
    };
    let result = if form.get("remove").is_some() {
        config::delete_holiday(&state.db, caller.user.id, day).await
    } else {
        let Some(kind) = DayKind::parse(&form.text("kind")) else {
            return page(
                &state,
                caller,
                refused(StoreError::invalid("kind", "unknown")),
            )
            .await;
        };
        let name = form.text("name");
        if name.trim().chars().count() > 60 {
            return page(
                &state,
                caller,
                refused(StoreError::invalid("name", "too_long")),
            )
            .await;
        }
        config::put_holiday(
            &state.db,
            caller.user.id,
            &Holiday {
                day,
                kind,
                name: name.trim().to_string(),
            },
        )
        .await
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, refused(e)).await,
    }
}

/// POST /admin/workday/dispositions/valid-follow-up: whether a call with this disposition is a
/// valid follow-up (有效跟进: it makes a pool lead the caller's and restarts the countdown).
pub async fn toggle_valid_follow_up(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let id: i64 = form.text("id").parse().unwrap_or(0);
    let all = config::dispositions(&state.db).await.or_page(l)?;
    let Some(current) = all.into_iter().find(|d| d.id == id) else {
        return Err(super::PageError(l, AppError::NotFound));
    };
    let mut d = current.d;
    d.valid_follow_up = !d.valid_follow_up;
    match config::save_disposition(&state.db, caller.user.id, Some(id), &d).await {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &AppError::from(e))).await,
    }
}

/// POST /admin/workday/dispositions/toggle: retire a disposition or bring it back.
pub async fn toggle_disposition(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let id: i64 = form.text("id").parse().unwrap_or(0);
    let all = config::dispositions(&state.db).await.or_page(l)?;
    let Some(current) = all.into_iter().find(|d| d.id == id) else {
        return Err(super::PageError(l, AppError::NotFound));
    };
    let mut d = current.d;
    d.active = !d.active;
    match config::save_disposition(&state.db, caller.user.id, Some(id), &d).await {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &AppError::from(e))).await,
    }
}

/// POST /admin/workday/org-zone: the organisation's statistics zone (admin, issue 24).
pub async fn org_zone(State(state): State<AppState>, form: PageForm) -> PageResult {
    let caller = &form.caller;
    let l = caller.lang;
    caller.require_admin().or_page(l)?;
    let name = form.text("org_time_zone");
    match leadline_store::call_stats::set_org_zone(
        &state.db,
        caller.user.id,
        &name,
        leadline_store::now(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/admin/workday").into_response()),
        Err(e) => page(&state, caller, Shown::refused(l, &AppError::from(e))).await,
    }
}
