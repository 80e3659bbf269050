//! Sales pages (issue 23): orders (list, one order with its plan, returns and payments, and the
//! forms to confirm, return, pay and issue a 催收单), a new order for a customer, the discount
//! requests waiting for the decider (优惠销售申请), and the product list.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use leadline_domain::Role;
use leadline_store::StoreError;
use leadline_store::now;
use leadline_store::sales::LineInput;
use leadline_store::sales::approvals::{self, DiscountRequest};
use leadline_store::sales::orders::{self, EvenPlan, NewOrder, Order, OrderSummary, PlanInput};
use leadline_store::sales::products::{self, Product, ProductInput};
use leadline_store::sales::receivables::{self, NewPayment, Returned};
use leadline_store::telephony::reminder_calls::{self, ReminderCall};

use super::{Nav, OrPage, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::api::{pair, query_pairs};
use crate::auth::PageCaller;

/// An amount in 分 as yuan: "¥1,234.56", "-¥0.05".
pub fn yuan(fen: i64) -> String {
    let shown = leadline_domain::money::yuan(fen);
    match shown.strip_prefix('-') {
        Some(abs) => format!("-¥{abs}"),
        None => format!("¥{shown}"),
    }
}

/// A form's amount in yuan ("1234.5", "¥1,234.56") as 分, exactly (no floating point); 422
/// `amount_invalid` naming `field` otherwise.
pub fn parse_yuan(field: &str, s: &str) -> Result<i64, StoreError> {
    leadline_domain::money::parse_yuan(s)
        .ok_or_else(|| StoreError::invalid(field, "amount_invalid"))
}

#[derive(Template)]
#[template(path = "sales_orders.html")]
struct OrdersPage {
    nav: Nav,
    orders: Vec<OrderSummary>,
    status: String,
}

impl OrdersPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }
}

/// 订单: the orders the caller sees, `?status=` to narrow.
pub async fn orders_list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let status = pair(&pairs, "status")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let list = orders::list(&state.db, &caller.viewer, None, status.as_deref())
        .await
        .or_page(l)?;
    let nav = Nav::new(&caller, "/sales/orders");
    Ok(render(&OrdersPage {
        nav,
        orders: list,
        status: status.unwrap_or_default(),
    }))
}

#[derive(Template)]
#[template(path = "sales_order.html")]
struct OrderPage {
    nav: Nav,
    order: Order,
    may_collect: bool,
    /// The automatic calls about it (催缴, 回访确认).
    calls: Vec<ReminderCall>,
}

impl OrderPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }

    fn call_label(&self, call: &ReminderCall) -> String {
        let mut label = format!(
            "{} · {}",
            self.nav.t(&format!("reminder_calls.kind.{}", call.kind)),
            self.nav
                .t(&format!("reminder_calls.status.{}", call.status))
        );
        let answer = super::reminder_calls::answer_label(&self.nav, call);
        if !answer.is_empty() {
            label = format!("{label} · {answer}");
        }
        label
    }
}

/// One order: lines, plan, discount requests, returns, payments, and the forms.
pub async fn order_detail(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
) -> PageResult {
    let l = caller.lang;
    let order = orders::get(&state.db, &caller.viewer, id)
        .await
        .or_page(l)?;
    let nav = Nav::new(&caller, &format!("/sales/orders/{id}"));
    let may_collect = matches!(caller.user.role, Role::Finance | Role::Admin);
    let calls = reminder_calls::for_order(&state.db, id).await.or_page(l)?;
    Ok(render(&OrderPage {
        nav,
        order,
        may_collect,
        calls,
    }))
}

/// The order's forms: `action` = confirm | cancel | return | payment | notice.
pub async fn order_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    form: PageForm,
) -> PageResult {
    let (l, v, at) = (form.caller.lang, &form.caller.viewer, now());
    match action.as_str() {
        "confirm" => {
            orders::confirm(&state.db, v, id, at).await.or_page(l)?;
        }
        "cancel" => {
            orders::cancel(&state.db, v, id, at).await.or_page(l)?;
        }
        "return" => {
            // Units of lines when any is given (`qty_<line id>`), else the amount in 元.
            let mut lines = Vec::new();
            for (key, value) in &form.pairs {
                let (Some(line), false) = (key.strip_prefix("qty_"), value.trim().is_empty())
                else {
                    continue;
                };
                let line = line.parse::<i64>().unwrap_or(0);
                let qty = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| StoreError::invalid(&format!("lines.{line}"), "return_quantity"))
                    .or_page(l)?;
                if qty != 0 {
                    lines.push((line, qty));
                }
            }
            let returned = if lines.is_empty() {
                Returned::Amount(parse_yuan("amount", &form.text("amount")).or_page(l)?)
            } else {
                Returned::Lines(lines)
            };
            let reason = form.text("reason");
            receivables::record_return_of(&state.db, v, id, returned, Some(&reason), at)
                .await
                .or_page(l)?;
        }
        "payment" => {
            let p = NewPayment {
                amount_fen: parse_yuan("amount", &form.text("amount")).or_page(l)?,
                method: Some(form.text("method")).filter(|m| !m.is_empty()),
                reference: Some(form.text("reference")),
                notes: Some(form.text("notes")),
                paid_at: None,
            };
            receivables::record_payment(&state.db, v, id, &p, at)
                .await
                .or_page(l)?;
        }
        "notice" => {
            let n = receivables::issue_notice(&state.db, v, id, Some(&form.text("notes")), at)
                .await
                .or_page(l)?;
            return Ok(Redirect::to(&format!("/sales/notices/{}", n.id)).into_response());
        }
        _ => return Err(super::PageError(l, crate::error::AppError::NotFound)),
    }
    Ok(Redirect::to(&format!("/sales/orders/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "sales_new_order.html")]
struct NewOrderPage {
    nav: Nav,
    customer_id: i64,
    products: Vec<Product>,
    /// What was typed, shown again when the order is refused.
    values: Vec<(String, String)>,
    /// The refusal, worded, with the fields it names.
    error: Option<String>,
    problems: Vec<(String, String)>,
}

impl NewOrderPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }

    /// The value typed into `field`, or `default`.
    fn v<'a>(&'a self, field: &str, default: &'a str) -> &'a str {
        self.values
            .iter()
            .find(|(k, _)| k == field)
            .map_or(default, |(_, v)| v.as_str())
    }

    fn chosen(&self, field: &str, product: &i64) -> bool {
        self.v(field, "") == product.to_string()
    }

    /// What is wrong with `field`, worded, if anything.
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The rows of instalments the new order form offers.
const PLAN_ROWS: usize = 6;

/// The new order form for `?customer_id=`: up to five lines from the product list and the
/// payment plan.
pub async fn new_order_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    RawQuery(q): RawQuery,
) -> PageResult {
    let l = caller.lang;
    let pairs = query_pairs(q.as_deref());
    let customer_id = pair(&pairs, "customer_id")
        .and_then(|c| c.parse().ok())
        .ok_or(crate::error::AppError::BadRequest("customer_id_required"))
        .or_page(l)?;
    new_order_page(&state, &caller, customer_id, Vec::new(), None).await
}

async fn new_order_page(
    state: &AppState,
    caller: &crate::auth::Caller,
    customer_id: i64,
    values: Vec<(String, String)>,
    error: Option<&crate::error::AppError>,
) -> PageResult {
    let l = caller.lang;
    let products = products::list(&state.db, false).await.or_page(l)?;
    let label = |field: &str| plan_field_label(l, field);
    let problems = error
        .map(|e| {
            e.problems()
                .iter()
                .map(|p| {
                    (
                        p.field.clone(),
                        l.t(&format!("problem.{}", p.code)).to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let page = NewOrderPage {
        nav: Nav::new(caller, "/sales/orders/new"),
        customer_id,
        products,
        values,
        error: error.map(|e| l.error_message_labelled(e, label)),
        problems,
    };
    let mut resp = render(&page);
    if error.is_some() {
        *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// The label of a plan row's field (`plan_due_2` → "Due date (3)").
fn plan_field_label(l: crate::i18n::Lang, field: &str) -> Option<String> {
    let (key, row) = field
        .strip_prefix("plan_due_")
        .map(|r| ("sales.plan_due", r))
        .or_else(|| {
            field
                .strip_prefix("plan_amount_")
                .map(|r| ("sales.plan_amount_yuan", r))
        })?;
    let row: usize = row.parse().ok()?;
    Some(format!("{} ({})", l.t(key), row + 1))
}

fn form_date(field: &str, s: &str) -> Result<Option<chrono::NaiveDate>, StoreError> {
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| StoreError::invalid(field, "date_invalid"))
}

/// The new order form read into an order: lines, delivery date, and the plan as typed
/// (instalment rows, or a count and first due date to split evenly). Field errors name the
/// form's fields.
fn read_new_order(form: &PageForm) -> Result<NewOrder, StoreError> {
    let mut lines = Vec::new();
    for i in 0..5 {
        let product = form.text(&format!("product_{i}"));
        if product.is_empty() {
            continue;
        }
        let product_id = product
            .parse()
            .map_err(|_| StoreError::invalid("product", "product_unknown"))?;
        let quantity = form
            .text(&format!("quantity_{i}"))
            .parse()
            .map_err(|_| StoreError::invalid("quantity", "quantity_invalid"))?;
        let price = form.text(&format!("price_{i}"));
        let unit_price_fen = if price.is_empty() {
            None
        } else {
            Some(parse_yuan("price", &price)?)
        };
        lines.push(LineInput {
            product_id,
            quantity,
            unit_price_fen,
        });
    }
    let mut instalments = Vec::new();
    for i in 0..PLAN_ROWS {
        let (due_field, amount_field) = (format!("plan_due_{i}"), format!("plan_amount_{i}"));
        let (due, amount) = (form.text(&due_field), form.text(&amount_field));
        match (form_date(&due_field, &due)?, amount.is_empty()) {
            (None, true) => {}
            (None, false) => return Err(StoreError::invalid(&due_field, "required")),
            (Some(_), true) => return Err(StoreError::invalid(&amount_field, "required")),
            (Some(due_date), false) => instalments.push(PlanInput {
                due_date,
                amount_fen: parse_yuan(&amount_field, &amount)?,
            }),
        }
    }
    let count = form.text("plan_count");
    let first_due = form_date("plan_first_due", &form.text("plan_first_due"))?;
    let even_plan = match (count.is_empty(), first_due) {
        (true, None) => None,
        (false, None) => return Err(StoreError::invalid("plan_first_due", "required")),
        (true, Some(_)) => return Err(StoreError::invalid("plan_count", "required")),
        (false, Some(first_due_date)) => Some(EvenPlan {
            count: count
                .parse()
                .map_err(|_| StoreError::invalid("plan_count", "plan_count_invalid"))?,
            first_due_date,
        }),
    };
    Ok(NewOrder {
        lines,
        delivery_date: form_date("delivery_date", &form.text("delivery_date"))?,
        notes: Some(form.text("notes")),
        discount_reason: Some(form.text("discount_reason")).filter(|r| !r.is_empty()),
        instalments,
        even_plan,
        ..NewOrder::default()
    })
}

/// Writes the order of the new order form; a refused order shows the form again as typed,
/// with the problem at its field.
pub async fn create_order(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let customer: i64 = form
        .text("customer_id")
        .parse()
        .map_err(|_| StoreError::invalid("customer_id", "required"))
        .or_page(l)?;
    let written = match read_new_order(&form) {
        Ok(new) => orders::create(&state.db, &form.caller.viewer, customer, &new, now()).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(o) => Ok(Redirect::to(&format!("/sales/orders/{}", o.summary.id)).into_response()),
        Err(e @ StoreError::Invalid(_)) => {
            let values = form.pairs.clone();
            new_order_page(&state, &form.caller, customer, values, Some(&e.into())).await
        }
        Err(e) => Err(e).or_page(l),
    }
}

#[derive(Template)]
#[template(path = "sales_approvals.html")]
struct ApprovalsPage {
    nav: Nav,
    requests: Vec<DiscountRequest>,
}

impl ApprovalsPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }
    fn percent(&self, bp: &i64) -> String {
        format!("{}.{:02}%", bp / 100, bp % 100)
    }
}

/// 优惠销售申请: the requests waiting for the caller's decision (their own, for a rep).
pub async fn approvals_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
) -> PageResult {
    let l = caller.lang;
    let requests = approvals::pending_for(&state.db, &caller.viewer)
        .await
        .or_page(l)?;
    let nav = Nav::new(&caller, "/sales/approvals");
    Ok(render(&ApprovalsPage { nav, requests }))
}

/// Approves or rejects (`decision` = approve | reject) with a note.
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    let l = form.caller.lang;
    let approve = form.text("decision") == "approve";
    let note = form.text("note");
    approvals::decide(
        &state.db,
        &form.caller.viewer,
        id,
        approve,
        Some(&note),
        now(),
    )
    .await
    .or_page(l)?;
    Ok(Redirect::to("/sales/approvals").into_response())
}

#[derive(Template)]
#[template(path = "sales_products.html")]
struct ProductsPage {
    nav: Nav,
    products: Vec<Product>,
}

impl ProductsPage {
    fn yuan(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        yuan(*fen.borrow())
    }
}

/// 产品: the list; admins add products here.
pub async fn products_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
) -> PageResult {
    let l = caller.lang;
    let all = caller.user.role == Role::Admin;
    let products = products::list(&state.db, all).await.or_page(l)?;
    let nav = Nav::new(&caller, "/sales/products");
    Ok(render(&ProductsPage { nav, products }))
}

/// Adds a product (admin).
pub async fn create_product(State(state): State<AppState>, form: PageForm) -> PageResult {
    let l = form.caller.lang;
    let input = ProductInput {
        code: Some(form.text("code")),
        name: form.text("name"),
        unit: form.text("unit"),
        price_fen: parse_yuan("price", &form.text("price")).or_page(l)?,
        ..ProductInput::default()
    };
    products::create(&state.db, &form.caller.viewer, &input, now())
        .await
        .or_page(l)?;
    Ok(Redirect::to("/sales/products").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_amounts_are_read_and_shown_exactly() {
        assert_eq!(parse_yuan("a", "1234.5").unwrap(), 123_450);
        assert_eq!(parse_yuan("a", "¥1,234.56").unwrap(), 123_456);
        assert_eq!(parse_yuan("a", "0.01").unwrap(), 1);
        assert_eq!(parse_yuan("a", "7").unwrap(), 700);
        assert!(parse_yuan("a", "1.234").is_err());
        assert!(parse_yuan("a", "abc").is_err());
        assert!(parse_yuan("a", "").is_err());
        assert_eq!(yuan(123_456), "¥1,234.56");
        assert_eq!(yuan(-5), "-¥0.05");
    }
}
