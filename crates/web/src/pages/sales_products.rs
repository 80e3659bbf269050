//! The product edit page (issue 23, admin): name, code, unit, price in yuan read exactly to the
//! fen, what a bundle holds, and whether the product is on sale or retired. A refused change
//! shows the form again as typed, the problem at its field.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use leadline_domain::Role;
use leadline_store::StoreError;
use leadline_store::now;
use leadline_store::sales::products::{self, BundleItem, Product, ProductInput};

use super::sales::parse_yuan;
use super::{Nav, OrPage, PageError, PageForm, PageResult, Path, render};
use crate::AppState;
use crate::auth::{Caller, PageCaller};
use crate::error::AppError;

/// The rows of bundle items the form offers.
const ITEM_ROWS: usize = 6;

#[derive(Template)]
#[template(path = "sales_product_edit.html")]
struct ProductEditPage {
    nav: Nav,
    id: i64,
    /// The other products a bundle may hold.
    choices: Vec<Product>,
    code: String,
    name: String,
    unit: String,
    price: String,
    active: bool,
    /// (product id, quantity) per row, as typed.
    items: Vec<(String, String)>,
    error: Option<String>,
    problems: Vec<(String, String)>,
}

impl ProductEditPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    fn chosen(&self, row: &usize, product: &i64) -> bool {
        self.items
            .get(*row)
            .is_some_and(|(p, _)| *p == product.to_string())
    }

    fn quantity(&self, row: &usize) -> &str {
        self.items.get(*row).map_or("", |(_, q)| q.as_str())
    }
}

fn admin_only(caller: &Caller) -> Result<(), PageError> {
    if caller.user.role == Role::Admin {
        Ok(())
    } else {
        Err(PageError(caller.lang, AppError::Forbidden))
    }
}

/// 编辑产品: the form, filled from the product.
pub async fn edit_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
) -> PageResult {
    admin_only(&caller)?;
    let p = products::get(&state.db, id).await.or_page(caller.lang)?;
    let mut items: Vec<(String, String)> = p
        .items
        .iter()
        .map(|i| (i.product_id.to_string(), i.quantity.to_string()))
        .collect();
    items.resize(ITEM_ROWS.max(items.len()), (String::new(), String::new()));
    let fields = Fields {
        code: p.code.clone().unwrap_or_default(),
        name: p.name.clone(),
        unit: p.unit.clone(),
        price: leadline_domain::money::yuan(p.price_fen).replace(',', ""),
        active: p.active,
        items,
    };
    page(&state, &caller, id, fields, None).await
}

struct Fields {
    code: String,
    name: String,
    unit: String,
    price: String,
    active: bool,
    items: Vec<(String, String)>,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    id: i64,
    f: Fields,
    error: Option<&AppError>,
) -> PageResult {
    let l = caller.lang;
    let choices = products::list(&state.db, true)
        .await
        .or_page(l)?
        .into_iter()
        .filter(|p| p.id != id && !p.is_bundle)
        .collect();
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
    let mut resp = render(&ProductEditPage {
        nav: Nav::new(caller, "/sales/products"),
        id,
        choices,
        code: f.code,
        name: f.name,
        unit: f.unit,
        price: f.price,
        active: f.active,
        items: f.items,
        error: error.map(|e| l.error_message(e)),
        problems,
    });
    if error.is_some() {
        *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

fn read(form: &PageForm, f: &Fields) -> Result<ProductInput, StoreError> {
    let mut items = Vec::new();
    for (i, (product, quantity)) in f.items.iter().enumerate() {
        if product.is_empty() {
            continue;
        }
        items.push(BundleItem {
            bundle_id: 0,
            product_id: product
                .parse()
                .map_err(|_| StoreError::invalid("items", "product_unknown"))?,
            name: String::new(),
            quantity: quantity
                .parse()
                .map_err(|_| StoreError::invalid(&format!("quantity_{i}"), "quantity_invalid"))?,
        });
    }
    Ok(ProductInput {
        code: Some(form.text("code")).filter(|c| !c.is_empty()),
        name: form.text("name"),
        unit: form.text("unit"),
        price_fen: parse_yuan("price", &f.price)?,
        active: Some(f.active),
        items,
    })
}

/// Saves the product edit form (admin).
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: PageForm,
) -> PageResult {
    admin_only(&form.caller)?;
    let fields = Fields {
        code: form.text("code"),
        name: form.text("name"),
        unit: form.text("unit"),
        price: form.text("price"),
        active: form.text("status") != "retired",
        items: (0..ITEM_ROWS)
            .map(|i| {
                (
                    form.text(&format!("item_{i}")),
                    form.text(&format!("quantity_{i}")),
                )
            })
            .collect(),
    };
    let saved = match read(&form, &fields) {
        Ok(input) => products::update(&state.db, &form.caller.viewer, id, &input, now()).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/sales/products").into_response()),
        Err(e @ StoreError::Invalid(_)) => {
            page(&state, &form.caller, id, fields, Some(&e.into())).await
        }
        Err(e) => Err(e).or_page(form.caller.lang),
    }
}
