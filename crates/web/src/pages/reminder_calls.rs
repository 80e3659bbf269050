//! 催缴外呼 page (issue 27): the automatic reminder calls chasing past-due instalments — who is
//! called, for how much, how each attempt went, and why a series was skipped (do-not-call, no
//! number, paid meanwhile) — for the customers the caller may see.

use askama::Template;
use axum::extract::{RawQuery, State};
use leadline_store::telephony::reminder_calls::{self, ReminderCall};

use super::{Nav, OrPage, PageResult, render};
use crate::AppState;
use crate::api::reminder_calls::{STATUSES, parse_status};
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

#[derive(Template)]
#[template(path = "reminder_calls.html")]
struct ReminderCallsPage {
    nav: Nav,
    rows: Vec<ReminderCall>,
    status: String,
}

impl ReminderCallsPage {
    fn statuses(&self) -> &'static [&'static str] {
        &STATUSES
    }

    fn is_filter(&self, value: impl AsRef<str>) -> bool {
        self.status == value.as_ref()
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

/// GET /reminder-calls — the reminder call series (`?status=`).
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let status = pair(&pairs, "status").unwrap_or("").to_string();
    let filter = (!status.is_empty())
        .then(|| parse_status(&status))
        .transpose()
        .or_page(l)?;
    let rows = reminder_calls::list(&state.db, &caller.viewer, filter, 500)
        .await
        .or_page(l)?;
    Ok(render(&ReminderCallsPage {
        nav: Nav::new(&caller, "/reminder-calls"),
        rows,
        status,
    }))
}
