//! The product list (产品) with prices in 分, and bundles (套餐): a bundle is a product of its
//! own, at its own price, listing what it holds. Admins keep the list; everyone reads it.

use chrono::{DateTime, Utc};
use leadline_domain::{Role, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Db, Result, StoreError, db_run, in_tx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Product {
    pub id: i64,
    pub code: Option<String>,
    pub name: String,
    pub unit: String,
    pub price_fen: i64,
    pub is_bundle: bool,
    pub active: bool,
    /// What a bundle holds (empty for a plain product).
    #[sqlx(skip)]
    pub items: Vec<BundleItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct BundleItem {
    #[serde(skip_deserializing)]
    pub bundle_id: i64,
    pub product_id: i64,
    #[serde(default)]
    #[sqlx(default)]
    pub name: String,
    pub quantity: i64,
}

/// What an admin writes for a product.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductInput {
    pub code: Option<String>,
    pub name: String,
    #[serde(default)]
    pub unit: String,
    pub price_fen: i64,
    #[serde(default)]
    pub active: Option<bool>,
    /// For a bundle: what it holds. A product with items is a bundle.
    #[serde(default)]
    pub items: Vec<BundleItem>,
}

const SELECT: &str = "SELECT id, code, name, unit, price_fen, is_bundle, active FROM products";
const ITEMS: &str = "SELECT b.bundle_id, b.product_id, p.name, b.quantity FROM bundle_items b \
    JOIN products p ON p.id = b.product_id ORDER BY b.bundle_id, p.name, b.product_id";

/// Every product (active ones only unless `all`), by name, with bundles' items.
pub async fn list(db: &Db, all: bool) -> Result<Vec<Product>> {
    let sql = if all {
        format!("{SELECT} ORDER BY name, id")
    } else {
        format!("{SELECT} WHERE active = TRUE ORDER BY name, id")
    };
    let (mut products, items): (Vec<Product>, Vec<BundleItem>) = db_run!(db, |pool| {
        (
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?,
            sqlx::query_as(ITEMS).fetch_all(pool).await?,
        )
    });
    for p in &mut products {
        p.items = items
            .iter()
            .filter(|i| i.bundle_id == p.id)
            .cloned()
            .collect();
    }
    Ok(products)
}

/// One product.
pub async fn get(db: &Db, id: i64) -> Result<Product> {
    list(db, true)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(StoreError::NotFound)
}

/// Adds a product or bundle (admin).
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    input: &ProductInput,
    now: DateTime<Utc>,
) -> Result<Product> {
    save(db, viewer, None, input, now).await
}

/// Changes a product (admin): its price applies to lines written from now on; orders keep the
/// price they were written at.
pub async fn update(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    input: &ProductInput,
    now: DateTime<Utc>,
) -> Result<Product> {
    save(db, viewer, Some(id), input, now).await
}

async fn save(
    db: &Db,
    viewer: &Viewer,
    id: Option<i64>,
    input: &ProductInput,
    now: DateTime<Utc>,
) -> Result<Product> {
    if viewer.role != Role::Admin {
        return Err(StoreError::Forbidden);
    }
    let input = checked(input)?;
    let actor = viewer.user_id;
    let id = in_tx!(db, |tx| save_body(tx, actor, id, input, now))?;
    get(db, id).await
}

fn checked(input: &ProductInput) -> Result<ProductInput> {
    let mut problems = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(leadline_domain::FieldProblem {
            field: "name".into(),
            code: "required",
        });
    }
    if input.price_fen < 0 {
        problems.push(leadline_domain::FieldProblem {
            field: "price_fen".into(),
            code: "price_invalid",
        });
    }
    if input.items.iter().any(|i| i.quantity < 1) {
        problems.push(leadline_domain::FieldProblem {
            field: "items".into(),
            code: "quantity_invalid",
        });
    }
    if !problems.is_empty() {
        return Err(StoreError::Invalid(problems));
    }
    Ok(ProductInput {
        code: input
            .code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        name,
        unit: input.unit.trim().to_string(),
        ..input.clone()
    })
}

async fn save_body(
    tx: &mut impl Tx,
    actor: leadline_domain::UserId,
    id: Option<i64>,
    input: ProductInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let action = if id.is_some() { "update" } else { "create" };
    let is_bundle = !input.items.is_empty();
    let active = input.active.unwrap_or(true);
    let args = vec![
        Arg::OptText(input.code.clone()),
        Arg::Text(input.name.clone()),
        Arg::Text(input.unit.clone()),
        Arg::I64(input.price_fen),
        Arg::Bool(is_bundle),
        Arg::Bool(active),
        Arg::Time(now),
    ];
    let id = match id {
        None => tx
            .fetch_one_unique(
                "INSERT INTO products (code, name, unit, price_fen, is_bundle, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                &args,
                "product_code",
            )
            .await?
            .i64(0)?,
        Some(id) => {
            let mut args = args;
            args.push(Arg::I64(id));
            tx.fetch_first(
                "UPDATE products SET code = $1, name = $2, unit = $3, price_fen = $4, is_bundle = $5, \
                 active = $6, updated_at = $7 WHERE id = $8 RETURNING id",
                &args,
                Some("product_code"),
            )
            .await?
            .ok_or(StoreError::NotFound)?
            .i64(0)?
        }
    };
    tx.execute(
        "DELETE FROM bundle_items WHERE bundle_id = $1",
        &[Arg::I64(id)],
    )
    .await?;
    for item in &input.items {
        if item.product_id == id {
            return Err(StoreError::invalid("items", "bundle_contains_itself"));
        }
        let known = tx
            .fetch_optional(
                "SELECT is_bundle FROM products WHERE id = $1",
                &[Arg::I64(item.product_id)],
            )
            .await?
            .ok_or_else(|| StoreError::invalid("items", "product_unknown"))?;
        if known.bool(0)? {
            return Err(StoreError::invalid("items", "bundle_in_bundle"));
        }
        tx.fetch_first(
            "INSERT INTO bundle_items (bundle_id, product_id, quantity) VALUES ($1, $2, $3) RETURNING bundle_id",
            &[Arg::I64(id), Arg::I64(item.product_id), Arg::I64(item.quantity)],
            Some("bundle_item"),
        )
        .await?;
    }
    tx.execute(
        audit::INSERT,
        &AuditEntry {
            entity: "product",
            entity_id: id,
            actor: Some(actor),
            action,
            before: None,
            after: Some(json!({
                "code": input.code, "name": input.name, "unit": input.unit,
                "price_fen": input.price_fen, "active": active,
                "items": input.items.iter().map(|i| json!({"product_id": i.product_id, "quantity": i.quantity})).collect::<Vec<_>>(),
            })),
            at: now,
        }
        .args(),
    )
    .await?;
    Ok(id)
}
