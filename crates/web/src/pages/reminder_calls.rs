//! 催缴与回访外呼 page (issue 27): the automatic calls chasing past-due instalments (催缴) and
//! confirming new orders (回访确认) — who is called, for how much, how each attempt went, what the
//! customer answered, and why a series was skipped (do-not-call, no number, paid
//! meanwhile) — for the customers the caller may see.

use askama::Template;
use axum::extract::{RawQuery, State};
use leadline_store::telephony::reminder_calls::{self, ReminderCall};

use super::{Nav, OrPage, PageResult, render};
use crate::AppState;
use crate::api::reminder_calls::{KINDS, STATUSES, parse_kind, parse_status};
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

#[derive(Template)]
#[template(path = "reminder_calls.html")]
struct ReminderCallsPage {
    nav: Nav,
    rows: Vec<ReminderCall>,
    status: String,
    kind: String,
}

impl ReminderCallsPage {
    fn statuses(&self) -> &'static [&'static str] {
        &STATUSES
    }

    fn kinds(&self) -> &'static [&'static str] {
        &KINDS
    }

    fn is_filter(&self, value: impl AsRef<str>) -> bool {
        self.status == value.as_ref()
    }

    fn is_kind(&self, value: impl AsRef<str>) -> bool {
        self.kind == value.as_ref()
    }

    fn kind_label(&self, row: &ReminderCall) -> &'static str {
        self.nav.t(&format!("reminder_calls.kind.{}", row.kind))
    }

    /// The day spoken: a payment's due day, a revisit's order day.
    fn day<'a>(&self, row: &'a ReminderCall) -> &'a str {
        row.due_date
            .as_deref()
            .or(row.order_date.as_deref())
            .unwrap_or("—")
    }

    fn answer_label(&self, row: &ReminderCall) -> &'static str {
        answer_label(&self.nav, row)
    }

    fn status_label(&self, row: &ReminderCall) -> &'static str {
        self.nav.t(&format!("reminder_calls.status.{}", row.status))
    }

    fn skip_label(&self, row: &ReminderCall) -> &'static str {
        match &row.skip_reason {
            Some(reason) => self.nav.t(&format!("reminder_calls.skip.{reason}")),
            None => "",
        }
    }

    fn result_label(&self, row: &ReminderCall) -> &'static str {
        match &row.result {
            Some(result) => self.nav.t(&format!("reminder_calls.result.{result}")),
            None => "—",
        }
    }

    fn yuan(&self, fen: &i64) -> String {
        super::sales::yuan(*fen)
    }
}

/// What the customer's key meant, when it meant something ("" otherwise).
pub(super) fn answer_label(nav: &Nav, row: &ReminderCall) -> &'static str {
    match (row.kind.as_str(), row.key_pressed.as_deref()) {
        ("payment", Some("1")) => nav.t("reminder_calls.answer.payment.1"),
        ("revisit", Some("1")) => nav.t("reminder_calls.answer.revisit.1"),
        ("revisit", Some("2")) => nav.t("reminder_calls.answer.revisit.2"),
        _ => "",
    }
}

/// GET /reminder-calls — the reminder call series (`?status=`, `?kind=`).
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let status = pair(&pairs, "status").unwrap_or("").to_string();
    let kind = pair(&pairs, "kind").unwrap_or("").to_string();
    let filter = (!status.is_empty())
        .then(|| parse_status(&status))
        .transpose()
        .or_page(l)?;
    let of_kind = (!kind.is_empty())
        .then(|| parse_kind(&kind))
        .transpose()
        .or_page(l)?;
    let rows = reminder_calls::list(&state.db, &caller.viewer, filter, of_kind, 500)
        .await
        .or_page(l)?;
    Ok(render(&ReminderCallsPage {
        nav: Nav::new(&caller, "/reminder-calls"),
        rows,
        status,
        kind,
    }))
}
