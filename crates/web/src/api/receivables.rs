//! Receivables over JSON (issue 23): payments recorded by finance, returns, collection notices
//! (催收单), and the daily collections (收款日报) and unpaid reports (ageing 30/60/90), as JSON
//! or as a CSV or .xlsx file (`?format=csv|xlsx`).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadline_import::{CsvExport, ExportEncoding, XlsxExport};
use leadline_store::sales::receivables::{self, NewPayment, Returned};
use leadline_store::sales::reports::{self, CollectionsReport, UnpaidReport};
use leadline_store::{StoreError, now};
use serde::Deserialize;

use super::sales::day_param;
use super::{JsonBody, Path, pair, query_pairs};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::i18n::Lang;

/// Records a payment (收款) on an order: finance or an admin. CONTRACT: 201 with the payment;
/// 403 for anyone else; 404 no such order; 409 `order_not_confirmed`; 422 `overpayment` when
/// `amount_fen` exceeds what the order still owes (two at once cannot both pass).
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments", params(("id" = i64, Path, description = "Order id")),
    request_body(content = serde_json::Value, description = "`{amount_fen, method?: bank_transfer|cash|cheque|other, reference?, notes?, paid_at?}`"),
    responses((status = 201, description = "`{id, order_id, customer_id, amount_fen, paid_at, method, reference, recorded_by}`"),
        (status = 403, description = "forbidden: not finance"), (status = 404, description = "not_found"),
        (status = 409, description = "order_not_confirmed"),
        (status = 422, description = "overpayment | invalid_input")))]
pub async fn record_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<NewPayment>,
) -> ApiResult<impl IntoResponse> {
    let p = receivables::record_payment(&state.db, &caller.viewer, id, &body, now()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// The amount returned, for goods not itemised; or give `lines`.
    pub amount_fen: Option<i64>,
    /// Units of the order's lines that came back: each is worth its share of the line's total,
    /// exact to the 分.
    pub lines: Option<Vec<ReturnLineBody>>,
    /// Why the goods came back (required).
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    pub order_line_id: i64,
    pub quantity: i64,
}

/// Records a return (退货) with its reason, reducing what the order owes: `amount_fen`, or
/// `lines` (`[{order_line_id, quantity}]`) whose value is computed from the order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", request_body = ReturnBody,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 201, description = "The return"), (status = 403, description = "forbidden"),
        (status = 404, description = "not_found"), (status = 409, description = "order_not_confirmed"),
        (status = 422, description = "invalid_input: reason required, return_too_large, `lines.<id>` unknown or return_quantity (more than is left of the line), amount_fen and lines both or neither")))]
pub async fn record_return(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ReturnBody>,
) -> ApiResult<impl IntoResponse> {
    let returned = match (body.amount_fen, body.lines) {
        (Some(a), None) => Returned::Amount(a),
        (None, Some(lines)) => Returned::Lines(
            lines
                .into_iter()
                .map(|l| (l.order_line_id, l.quantity))
                .collect(),
        ),
        _ => return Err(StoreError::invalid("amount_fen", "amount_or_lines").into()),
    };
    let r = receivables::record_return_of(
        &state.db,
        &caller.viewer,
        id,
        returned,
        body.reason.as_deref(),
        now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NoticeBody {
    pub notes: Option<String>,
}

/// Issues a collection notice (催收单) for what an order still owes (finance or admin); printable
/// at `/sales/notices/{id}`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/notices", request_body = NoticeBody,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 201, description = "`{id, amount_due_fen, …}`"), (status = 403, description = "forbidden"),
        (status = 409, description = "nothing_owed")))]
pub async fn issue_notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    super::OptionalJson(body): super::OptionalJson<NoticeBody>,
) -> ApiResult<impl IntoResponse> {
    let n = receivables::issue_notice(&state.db, &caller.viewer, id, body.notes.as_deref(), now())
        .await?;
    Ok((StatusCode::CREATED, Json(n)))
}

/// The daily collections report (收款日报) of `day` (today by default) over the customers the
/// caller sees; `format=csv|xlsx` for a file.
#[utoipa::path(get, path = "/api/v1/reports/collections",
    params(("day" = Option<String>, Query, description = "YYYY-MM-DD"), ("format" = Option<String>, Query, description = "json | csv | xlsx")),
    responses((status = 200, description = "`{day, payments: [...], total_fen, by_method}` or the file")))]
pub async fn collections(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let today = leadline_store::call_stats::today(&state.db, now()).await?;
    let day = day_param(pair(&pairs, "day"), today.date)?;
    let report = reports::daily_collections(&state.db, &caller.viewer, day).await?;
    match pair(&pairs, "format") {
        None | Some("json") => Ok(Json(report).into_response()),
        Some(f) => {
            let (head, rows) = collections_table(&report, caller.lang, today.zone);
            file(f, &format!("收款日报-{day}"), &head, &rows)
        }
    }
}

/// The unpaid report as of `day` (today by default): by customer and by rep, aged 30/60/90.
#[utoipa::path(get, path = "/api/v1/reports/unpaid",
    params(("day" = Option<String>, Query, description = "YYYY-MM-DD: the day ages are counted to"), ("format" = Option<String>, Query, description = "json | csv | xlsx")),
    responses((status = 200, description = "`{today, customers: [{id, name, owner_name, ageing: {not_due, d1_30, d31_60, d61_90, over_90}, open_fen, overdue_fen}], reps: [...], total}` or the file")))]
pub async fn unpaid(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(q.as_deref());
    let today = leadline_store::call_stats::today(&state.db, now()).await?;
    let day = day_param(pair(&pairs, "day"), today.date)?;
    let report = reports::unpaid(&state.db, &caller.viewer, day).await?;
    match pair(&pairs, "format") {
        None | Some("json") => Ok(Json(report).into_response()),
        Some(f) => {
            let (head, rows) = unpaid_table(&report, caller.lang);
            file(f, &format!("应收账龄-{day}"), &head, &rows)
        }
    }
}

/// The day's payments as a table, their times in the organisation's `tz` (the day's zone).
pub(crate) fn collections_table(
    r: &CollectionsReport,
    lang: Lang,
    tz: chrono_tz::Tz,
) -> (Vec<String>, Vec<Vec<String>>) {
    let head = [
        "sales.paid_at",
        "sales.customer",
        "sales.order",
        "sales.owner",
        "sales.amount_yuan",
        "sales.method",
        "sales.reference",
        "sales.recorded_by",
    ]
    .iter()
    .map(|k| lang.t(k).to_string())
    .collect();
    let mut rows: Vec<Vec<String>> = r
        .payments
        .iter()
        .map(|p| {
            vec![
                p.paid_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                p.customer_name.clone(),
                p.order_id.to_string(),
                p.owner_name.clone().unwrap_or_default(),
                leadline_domain::money::yuan_plain(p.amount_fen),
                lang.t(&format!("sales.method_{}", p.method)).to_string(),
                p.reference.clone().unwrap_or_default(),
                p.recorder_name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut total = vec![String::new(); 8];
    total[0] = lang.t("sales.total").to_string();
    total[4] = leadline_domain::money::yuan_plain(r.total_fen);
    rows.push(total);
    (head, rows)
}

pub(crate) fn unpaid_table(r: &UnpaidReport, lang: Lang) -> (Vec<String>, Vec<Vec<String>>) {
    let head = [
        "sales.kind",
        "sales.name",
        "sales.owner",
        "sales.not_due",
        "sales.d1_30",
        "sales.d31_60",
        "sales.d61_90",
        "sales.over_90",
        "sales.open_total",
    ]
    .iter()
    .map(|k| lang.t(k).to_string())
    .collect();
    let mut rows = Vec::new();
    for (kind, lines) in [
        ("sales.by_customer", &r.customers),
        ("sales.by_rep", &r.reps),
    ] {
        for l in lines {
            let a = &l.ageing;
            rows.push(vec![
                lang.t(kind).to_string(),
                l.name.clone(),
                l.owner_name.clone().unwrap_or_default(),
                leadline_domain::money::yuan_plain(a.not_due),
                leadline_domain::money::yuan_plain(a.d1_30),
                leadline_domain::money::yuan_plain(a.d31_60),
                leadline_domain::money::yuan_plain(a.d61_90),
                leadline_domain::money::yuan_plain(a.over_90),
                leadline_domain::money::yuan_plain(a.total()),
            ]);
        }
    }
    let a = &r.total;
    rows.push(vec![
        lang.t("sales.total").to_string(),
        String::new(),
        String::new(),
        leadline_domain::money::yuan_plain(a.not_due),
        leadline_domain::money::yuan_plain(a.d1_30),
        leadline_domain::money::yuan_plain(a.d31_60),
        leadline_domain::money::yuan_plain(a.d61_90),
        leadline_domain::money::yuan_plain(a.over_90),
        leadline_domain::money::yuan_plain(a.total()),
    ]);
    (head, rows)
}

/// A table as a CSV (UTF-8 with BOM, for Excel) or .xlsx download.
pub(crate) fn file(
    format: &str,
    name: &str,
    head: &[String],
    rows: &[Vec<String>],
) -> ApiResult<Response> {
    let internal = |e: std::fmt::Arguments| AppError::Internal(e.to_string());
    let (bytes, mime, ext) = match format {
        "csv" => {
            let mut w = CsvExport::new(Vec::new(), ExportEncoding::Utf8Bom)
                .map_err(|e| internal(format_args!("{e}")))?;
            w.write_header(head)
                .map_err(|e| internal(format_args!("{e}")))?;
            for r in rows {
                w.write_row(r).map_err(|e| internal(format_args!("{e}")))?;
            }
            (
                w.finish().map_err(|e| internal(format_args!("{e}")))?,
                "text/csv; charset=utf-8",
                "csv",
            )
        }
        "xlsx" => {
            let mut w =
                XlsxExport::new(Vec::new(), "Sheet1").map_err(|e| internal(format_args!("{e}")))?;
            w.write_header(head)
                .map_err(|e| internal(format_args!("{e}")))?;
            for r in rows {
                w.write_row(r).map_err(|e| internal(format_args!("{e}")))?;
            }
            (
                w.finish().map_err(|e| internal(format_args!("{e}")))?,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        }
        _ => return Err(AppError::BadRequest("format_invalid")),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                super::exports::attachment(&format!("{name}.{ext}")),
            ),
        ],
        bytes,
    )
        .into_response())
}
