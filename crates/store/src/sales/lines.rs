//! Order and quotation lines as written: each product's list price read inside the writing
//! transaction, the agreed price checked by the domain, the totals and the deepest discount.

use leadline_domain::FieldProblem;
use leadline_domain::sales::{self, Line};
use serde::{Deserialize, Serialize};

use crate::db::sql::Arg;
use crate::db::tx::Tx;
use crate::{Result, StoreError};

/// A line as asked: a product, how many, and the agreed unit price (the list price when
/// absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineInput {
    pub product_id: i64,
    pub quantity: i64,
    #[serde(default)]
    pub unit_price_fen: Option<i64>,
}

/// A line priced against the product list.
#[derive(Debug, Clone)]
pub(crate) struct Priced {
    pub product_id: i64,
    pub line: Line,
}

/// Prices `lines` (`lines[i].…` named in the 422), refusing unknown or retired products.
pub(crate) async fn price(tx: &mut impl Tx, lines: &[LineInput]) -> Result<Vec<Priced>> {
    if lines.is_empty() {
        return Err(StoreError::invalid("lines", "required"));
    }
    if lines.len() > 200 {
        return Err(StoreError::invalid("lines", "too_many"));
    }
    let mut problems = Vec::new();
    let mut priced = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let row = tx
            .fetch_optional(
                "SELECT price_fen, active FROM products WHERE id = $1",
                &[Arg::I64(l.product_id)],
            )
            .await?;
        let list = match row {
            Some(r) if r.bool(1)? => r.i64(0)?,
            _ => {
                problems.push(FieldProblem {
                    field: format!("lines[{i}].product_id"),
                    code: "product_unknown",
                });
                continue;
            }
        };
        match Line::new(l.quantity, list, l.unit_price_fen.unwrap_or(list)) {
            Ok(line) => priced.push(Priced {
                product_id: l.product_id,
                line,
            }),
            Err(p) => problems.push(FieldProblem {
                field: format!("lines[{i}]"),
                code: p.code(),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(StoreError::Invalid(problems));
    }
    let all: Vec<Line> = priced.iter().map(|p| p.line).collect();
    if sales::order_total_fen(&all).is_none() {
        return Err(StoreError::invalid("lines", "amount_too_large"));
    }
    Ok(priced)
}

/// The total of priced lines (checked by [`price`]).
pub(crate) fn total(lines: &[Priced]) -> i64 {
    lines.iter().map(|p| p.line.total_fen()).sum()
}

/// The deepest discount of priced lines.
pub(crate) fn deepest_bp(lines: &[Priced]) -> i64 {
    let all: Vec<Line> = lines.iter().map(|p| p.line).collect();
    sales::deepest_discount_bp(&all)
}

/// Writes priced lines into `table` (`order_lines` or `quotation_lines`) under `parent`.
pub(crate) async fn insert(
    tx: &mut impl Tx,
    table: &'static str,
    parent: i64,
    lines: &[Priced],
) -> Result<()> {
    let parent_col = match table {
        "order_lines" => "order_id",
        _ => "quotation_id",
    };
    let sql = format!(
        "INSERT INTO {table} ({parent_col}, product_id, position, quantity, list_price_fen, \
         unit_price_fen, discount_fen, line_total_fen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    for (i, p) in lines.iter().enumerate() {
        tx.execute(
            &sql,
            &[
                Arg::I64(parent),
                Arg::I64(p.product_id),
                Arg::I64(i64::try_from(i).unwrap_or(i64::MAX)),
                Arg::I64(p.line.quantity),
                Arg::I64(p.line.list_price_fen),
                Arg::I64(p.line.unit_price_fen),
                Arg::I64(p.line.discount_fen()),
                Arg::I64(p.line.total_fen()),
            ],
        )
        .await?;
    }
    Ok(())
}

/// A stored line, as read back.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoredLine {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub list_price_fen: i64,
    pub unit_price_fen: i64,
    pub discount_fen: i64,
    pub line_total_fen: i64,
    /// Units of this line returned so far (退货 with lines); 0 where not read (quotations).
    #[sqlx(default)]
    pub returned_quantity: i64,
}
