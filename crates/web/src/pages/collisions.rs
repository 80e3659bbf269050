//! Collision case pages: the list by status, the case screen with the buttons each person may
//! use (协商归属 / 无法协商，提交主管 / 申诉 / 裁定), and the ledger with penalties in 元.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::{CaseId, UserId};
use leadline_store::now;
use leadline_store::ownership::cases::{self, Case, LedgerFilter, LedgerRow, Side, StatusFilter};

use super::Path;
use super::{Nav, OrPage, PageForm, PageResult, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::error::AppError;

/// 分 as 元, exactly: 137037 → "1370.37".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Basis points as a percentage: 3000 → "30%", 1250 → "12.5%".
pub fn percent(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{}%", f64::from(bp) / 100.0)
    }
}

#[derive(Template)]
#[template(path = "collisions_list.html")]
struct ListPage {
    nav: Nav,
    status: &'static str,
    cases: Vec<Case>,
}

impl ListPage {
    fn side_name(&self, s: &Side) -> String {
        s.person
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }
}

/// GET /collisions?status=
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let (status, code) = match pair(&pairs, "status").unwrap_or("open") {
        "settled" => (StatusFilter::Settled, "settled"),
        "decided" => (StatusFilter::Decided, "decided"),
        "all" => (StatusFilter::All, "all"),
        _ => (StatusFilter::Open, "open"),
    };
    let cases = cases::list(&state.db, &caller.viewer, status, false, now())
        .await
        .or_page(l)?;
    Ok(render(&ListPage {
        nav: Nav::new(&caller, "/collisions"),
        status: code,
        cases,
    }))
}

#[derive(Template)]
#[template(path = "collision_case.html")]
struct CasePage {
    nav: Nav,
    case: Case,
    error: Option<String>,
}

impl CasePage {
    fn t(&self, key: &str) -> &'static str {
        self.nav.t(key)
    }

    fn when(&self, t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.as_ref().map(|t| self.nav.time(t)).unwrap_or_default()
    }

    fn stage_label(&self) -> &'static str {
        match self.case.stage.map(|s| s.code()) {
            Some("parties") => self.t("collision.stage_parties"),
            Some("supervisor") => self.t("collision.stage_supervisor"),
            Some("leadership") => self.t("collision.stage_leadership"),
            _ => "",
        }
    }

    fn status_label(&self) -> &'static str {
        status_label(&self.nav, &self.case.status)
    }

    fn penalty(&self) -> String {
        self.case.penalty_bp.map(percent).unwrap_or_default()
    }

    fn parties(&self) -> Vec<(UserId, String)> {
        [&self.case.existing, &self.case.new]
            .iter()
            .filter_map(|s| s.person.as_ref().map(|p| (p.id, p.name.clone())))
            .collect()
    }

    fn winner_name(&self) -> String {
        self.parties()
            .into_iter()
            .find(|(id, _)| Some(*id) == self.case.winner_id)
            .map(|(_, n)| n)
            .unwrap_or_default()
    }

    fn proposed_name(&self) -> String {
        self.parties()
            .into_iter()
            .find(|(id, _)| Some(*id) == self.case.proposed_winner_id)
            .map(|(_, n)| n)
            .unwrap_or_default()
    }

    fn sides(&self) -> Vec<(&'static str, &Side)> {
        vec![
            (self.t("collision.side_existing"), &self.case.existing),
            (self.t("collision.side_new"), &self.case.new),
        ]
    }
}

fn status_label(nav: &Nav, status: &str) -> &'static str {
    match status {
        "open" => nav.t("collision.status_open"),
        "settled" => nav.t("collision.status_settled"),
        "decided" => nav.t("collision.status_decided"),
        _ => nav.t("collision.status_withdrawn"),
    }
}

async fn case_page(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: CaseId,
    error: Option<String>,
) -> PageResult {
    let case = cases::get(&state.db, &caller.viewer, id, now())
        .await
        .or_page(caller.lang)?;
    let status = if error.is_some() {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        render(&CasePage {
            nav: Nav::new(caller, &format!("/collisions/{id}")),
            case,
            error,
        }),
    )
        .into_response())
}

/// GET /collisions/{id}
pub async fn detail(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<CaseId>,
) -> PageResult {
    case_page(&state, &caller, id, None).await
}

fn winner(form: &PageForm) -> Result<UserId, AppError> {
    form.get("winner_id")
        .and_then(|v| v.parse().ok())
        .map(UserId)
        .ok_or(AppError::BadRequest("bad_form"))
}

/// Runs one action of the case page and shows the case again (with the refusal, if any).
async fn act(
    state: &AppState,
    form: &PageForm,
    id: CaseId,
    result: Result<Case, AppError>,
) -> PageResult {
    let caller = &form.caller;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/collisions/{id}")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Store(leadline_store::StoreError::NotFound))) => {
            Err(super::PageError(caller.lang, e))
        }
        Err(e) => case_page(state, caller, id, Some(caller.lang.error_message(&e))).await,
    }
}

/// POST /collisions/{id}/settle
pub async fn settle(
    State(state): State<AppState>,
    Path(id): Path<CaseId>,
    form: PageForm,
) -> PageResult {
    let r = match winner(&form) {
        Ok(w) => cases::settle(&state.db, &form.caller.viewer, id, w, now())
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    act(&state, &form, id, r).await
}

/// POST /collisions/{id}/escalate
pub async fn escalate(
    State(state): State<AppState>,
    Path(id): Path<CaseId>,
    form: PageForm,
) -> PageResult {
    let r = cases::escalate(&state.db, &form.caller.viewer, id, now())
        .await
        .map_err(AppError::from);
    act(&state, &form, id, r).await
}

/// POST /collisions/{id}/appeal
pub async fn appeal(
    State(state): State<AppState>,
    Path(id): Path<CaseId>,
    form: PageForm,
) -> PageResult {
    let r = cases::appeal(&state.db, &form.caller.viewer, id, now())
        .await
        .map_err(AppError::from);
    act(&state, &form, id, r).await
}

/// POST /collisions/{id}/decision
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<CaseId>,
    form: PageForm,
) -> PageResult {
    let note = Some(form.text("note")).filter(|n| !n.is_empty());
    let r = match winner(&form) {
        Ok(w) => cases::decide(&state.db, &form.caller.viewer, id, w, note, now())
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    act(&state, &form, id, r).await
}

#[derive(Template)]
#[template(path = "collision_ledger.html")]
struct LedgerPage {
    nav: Nav,
    rows: Vec<LedgerRow>,
}

impl LedgerPage {
    fn fen(&self, r: &LedgerRow) -> String {
        r.penalty_fen.map(yuan).unwrap_or_else(|| "—".into())
    }

    fn pct(&self, r: &LedgerRow) -> String {
        percent(u32::try_from(r.penalty_bp).unwrap_or(0))
    }

    fn stage(&self, r: &LedgerRow) -> &'static str {
        match r.stage.as_str() {
            "parties" => self.nav.t("collision.stage_parties"),
            "supervisor" => self.nav.t("collision.stage_supervisor"),
            _ => self.nav.t("collision.stage_leadership"),
        }
    }
}

/// GET /collision-ledger?user_id=
pub async fn ledger(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let filter = LedgerFilter {
        user: pair(&pairs, "user_id")
            .and_then(|v| v.parse().ok())
            .map(UserId),
        ..LedgerFilter::default()
    };
    let rows = cases::ledger(&state.db, &caller.viewer, &filter)
        .await
        .or_page(l)?;
    Ok(render(&LedgerPage {
        nav: Nav::new(&caller, "/collision-ledger"),
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalties_are_shown_exactly() {
        assert_eq!(yuan(137_037), "1370.37");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(percent(3000), "30%");
        assert_eq!(percent(1250), "12.5%");
    }
}
