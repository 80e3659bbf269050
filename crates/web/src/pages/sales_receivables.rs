//! Receivables pages (issue 23): the daily collections report (收款日报), the unpaid report by
//! customer and rep with ageing (应收账龄), each with CSV and .xlsx links, and the printable
//! collection notice (催收单).

use askama::Template;
use axum::extract::{RawQuery, State};
use leadline_store::sales::receivables::{self, Notice};
use leadline_store::sales::reports::{self, CollectionsReport, UnpaidLine, UnpaidReport};

use super::sales::yuan;
use super::{Nav, OrPage, PageResult, Path, render};
use crate::AppState;
use crate::api::sales::day_param;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;
use crate::i18n::Lang;

#[derive(Template)]
#[template(path = "sales_collections.html")]
struct CollectionsPage {
    nav: Nav,
    report: CollectionsReport,
}

impl CollectionsPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }
}

/// 收款日报 of `?day=` (today by default).
pub async fn collections(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let today = leadline_store::call_stats::today(&state.db, leadline_store::now())
        .await
        .or_page(l)?;
    let day = day_param(pair(&pairs, "day"), today.date).or_page(l)?;
    let report = reports::daily_collections(&state.db, &caller.viewer, day)
        .await
        .or_page(l)?;
    let nav = Nav::new(&caller, "/sales/collections");
    Ok(render(&CollectionsPage { nav, report }))
}

#[derive(Template)]
#[template(path = "sales_unpaid.html")]
struct UnpaidPage {
    nav: Nav,
    report: UnpaidReport,
}

impl UnpaidPage {
    /// The two tables: by customer, by rep (title key, lines, element id).
    fn sections(&self) -> [(&'static str, &[UnpaidLine], &'static str); 2] {
        [
            (
                "sales.by_customer",
                &self.report.customers,
                "unpaid-customers",
            ),
            ("sales.by_rep", &self.report.reps, "unpaid-reps"),
        ]
    }

    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }
}

/// 应收账龄 as of `?day=` (today by default).
pub async fn unpaid(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let today = leadline_store::call_stats::today(&state.db, leadline_store::now())
        .await
        .or_page(l)?;
    let day = day_param(pair(&pairs, "day"), today.date).or_page(l)?;
    let report = reports::unpaid(&state.db, &caller.viewer, day)
        .await
        .or_page(l)?;
    let nav = Nav::new(&caller, "/sales/unpaid");
    Ok(render(&UnpaidPage { nav, report }))
}

#[derive(Template)]
#[template(path = "sales_notice.html")]
struct NoticePage {
    l: Lang,
    notice: Notice,
}

impl NoticePage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }
}

/// A collection notice (催收单), on a bare page for printing.
pub async fn notice(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
) -> PageResult {
    let l = caller.lang;
    let notice = receivables::notice(&state.db, &caller.viewer, id)
        .await
        .or_page(l)?;
    Ok(render(&NoticePage { l, notice }))
}
