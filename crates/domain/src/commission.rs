//! Commission (提成) and the assessment's bonus (issue 24), as pure functions.
//!
//! Rules: a default rate in basis points (1 bp = 0.01 %) on collected revenue, a rate per product
//! that overrides the default for that product's share, and optional fixed amounts per qualified
//! lead and per new customer. A payment is split over its order's lines pro rata to the lines'
//! totals, exactly to the 分 (largest remainder: each line gets the floor of its share, the 分
//! left over go one each to the lines with the largest remainders, the earlier line first on a
//! tie); each line's commission is its share × rate ÷ 10 000 rounded half up to the 分.

use serde::{Deserialize, Serialize};

/// The highest rate: 100 %.
pub const MAX_RATE_BP: i64 = 10_000;
/// The highest fixed bonus per qualified lead or new customer: 100 000 元.
pub const MAX_FIXED_FEN: i64 = 10_000_000;

/// A product-specific rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRate {
    pub product_id: i64,
    pub rate_bp: i64,
}

/// The configured commission rules (提成规则).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommissionRules {
    /// The rate on collected revenue for products without their own rate.
    pub default_rate_bp: i64,
    #[serde(default)]
    pub products: Vec<ProductRate>,
    /// A fixed amount per qualified lead in the month.
    #[serde(default)]
    pub per_qualified_fen: i64,
    /// A fixed amount per new customer in the month.
    #[serde(default)]
    pub per_new_customer_fen: i64,
}

impl CommissionRules {
    /// The rate that applies to a product.
    pub fn rate_for(&self, product_id: i64) -> i64 {
        self.products
            .iter()
            .find(|p| p.product_id == product_id)
            .map_or(self.default_rate_bp, |p| p.rate_bp)
    }

    /// The first problem as (field, code): rates within 0–100 %, fixed amounts within range, one
    /// rate per product.
    pub fn problem(&self) -> Option<(String, &'static str)> {
        if !(0..=MAX_RATE_BP).contains(&self.default_rate_bp) {
            return Some(("default_rate_bp".into(), "out_of_range"));
        }
        for (i, p) in self.products.iter().enumerate() {
            if !(0..=MAX_RATE_BP).contains(&p.rate_bp) {
                return Some((format!("products[{i}].rate_bp"), "out_of_range"));
            }
            if self.products[..i]
                .iter()
                .any(|q| q.product_id == p.product_id)
            {
                return Some((format!("products[{i}].product_id"), "duplicate"));
            }
        }
        if !(0..=MAX_FIXED_FEN).contains(&self.per_qualified_fen) {
            return Some(("per_qualified_fen".into(), "out_of_range"));
        }
        if !(0..=MAX_FIXED_FEN).contains(&self.per_new_customer_fen) {
            return Some(("per_new_customer_fen".into(), "out_of_range"));
        }
        None
    }
}

/// `amount × rate_bp ÷ 10 000`, rounded half up (away from zero) to the 分.
pub fn rate_of(amount_fen: i64, rate_bp: i64) -> i64 {
    let p = i128::from(amount_fen) * i128::from(rate_bp);
    let q = (p.abs() + 5_000) / 10_000;
    let q = if p < 0 { -q } else { q };
    i64::try_from(q).unwrap_or(if p < 0 { i64::MIN } else { i64::MAX })
}

/// Splits `amount_fen` over `weights` pro rata, exactly: the parts sum to the amount. Each part
/// is the floor of its share; the 分 left over go one each to the largest remainders, the
/// earlier on a tie. Without any positive weight the whole amount goes to the first part.
pub fn split_pro_rata(amount_fen: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let total: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    let mut parts = vec![0i64; weights.len()];
    if total == 0 {
        parts[0] = amount_fen;
        return parts;
    }
    let a = i128::from(amount_fen);
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let num = a * i128::from((*w).max(0));
        let floor = num.div_euclid(total);
        parts[i] = floor as i64;
        given += floor;
        rems.push((num.rem_euclid(total), i));
    }
    rems.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let left = (a - given) as usize;
    for (_, i) in rems.into_iter().take(left) {
        parts[i] += 1;
    }
    parts
}

/// One order line as the split sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub product_id: i64,
    pub total_fen: i64,
}

/// The commission on one payment of an order with `lines`: the payment split over the lines
/// pro rata, each share at its product's rate. An order without lines earns the default rate.
pub fn payment_commission(rules: &CommissionRules, amount_fen: i64, lines: &[Line]) -> i64 {
    if lines.is_empty() {
        return rate_of(amount_fen, rules.default_rate_bp);
    }
    let weights: Vec<i64> = lines.iter().map(|l| l.total_fen).collect();
    split_pro_rata(amount_fen, &weights)
        .into_iter()
        .zip(lines)
        .map(|(share, l)| rate_of(share, rules.rate_for(l.product_id)))
        .sum()
}

/// The month's figures a bonus is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BonusParts {
    /// Commission on the month's collections.
    pub commission_fen: i64,
    /// Fixed amounts for qualified leads.
    pub qualified_bonus_fen: i64,
    /// Fixed amounts for new customers.
    pub new_customer_bonus_fen: i64,
    /// Collision penalties (subtracted).
    pub penalties_fen: i64,
    /// The sum of manual adjustments (either sign).
    pub adjustments_fen: i64,
}

impl BonusParts {
    /// Fixed amounts from the rules for the month's counts.
    pub fn fixed(rules: &CommissionRules, qualified: i64, new_customers: i64) -> (i64, i64) {
        (
            qualified.saturating_mul(rules.per_qualified_fen),
            new_customers.saturating_mul(rules.per_new_customer_fen),
        )
    }

    /// The bonus (绩效奖金) figure: commission and fixed amounts, less penalties, plus
    /// adjustments. It may be negative (penalties larger than what was earned); it is shown as is.
    pub fn total(&self) -> i64 {
        self.commission_fen
            .saturating_add(self.qualified_bonus_fen)
            .saturating_add(self.new_customer_bonus_fen)
            .saturating_sub(self.penalties_fen)
            .saturating_add(self.adjustments_fen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> CommissionRules {
        CommissionRules {
            default_rate_bp: 300,
            products: vec![ProductRate {
                product_id: 7,
                rate_bp: 1_000,
            }],
            per_qualified_fen: 500,
            per_new_customer_fen: 2_000,
        }
    }

    #[test]
    fn rates_round_half_up_to_the_fen() {
        assert_eq!(rate_of(10_000, 0), 0);
        assert_eq!(rate_of(10_000, MAX_RATE_BP), 10_000);
        assert_eq!(rate_of(1, 5_000), 1, "0.5 分 rounds up");
        assert_eq!(rate_of(1, 4_999), 0, "0.4999 分 rounds down");
        assert_eq!(rate_of(3, 5_000), 2, "1.5 分 rounds up");
        assert_eq!(rate_of(-3, 5_000), -2, "half away from zero");
        assert_eq!(rate_of(12_345, 250), 309, "308.625 → 309");
        assert_eq!(rate_of(i64::MAX, MAX_RATE_BP), i64::MAX);
    }

    #[test]
    fn pro_rata_split_sums_exactly() {
        assert_eq!(split_pro_rata(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split_pro_rata(101, &[1, 1, 1]), vec![34, 34, 33]);
        assert_eq!(split_pro_rata(10, &[0, 0]), vec![10, 0]);
        assert_eq!(split_pro_rata(0, &[5, 5]), vec![0, 0]);
        assert_eq!(split_pro_rata(1, &[1, 3]), vec![0, 1]);
        assert!(split_pro_rata(5, &[]).is_empty());
        for amount in [1, 7, 99, 12_345, 1_000_000_007] {
            for w in [
                vec![3, 7, 11],
                vec![1, 1, 1, 1, 1, 1, 1],
                vec![999, 1],
                vec![0, 5, 0],
            ] {
                let parts = split_pro_rata(amount, &w);
                assert_eq!(parts.iter().sum::<i64>(), amount, "{amount} over {w:?}");
                let total: i64 = w.iter().sum();
                for (p, wi) in parts.iter().zip(&w) {
                    let exact = amount as f64 * *wi as f64 / total as f64;
                    assert!((*p as f64 - exact).abs() < 1.0, "{p} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn product_rate_overrides_the_default_on_its_share() {
        let r = rules();
        let lines = [
            Line {
                product_id: 7,
                total_fen: 30_000,
            },
            Line {
                product_id: 8,
                total_fen: 10_000,
            },
        ];
        // 40 000 paid in full: 30 000 × 10 % + 10 000 × 3 %.
        assert_eq!(payment_commission(&r, 40_000, &lines), 3_000 + 300);
        // Half paid: 15 000 × 10 % + 5 000 × 3 %.
        assert_eq!(payment_commission(&r, 20_000, &lines), 1_500 + 150);
        // 1 分: it goes to the larger line (remainder 0.75 against 0.25) at 10 %, rounding to 0.
        assert_eq!(payment_commission(&r, 1, &lines), 0);
        // No lines: the default rate.
        assert_eq!(payment_commission(&r, 10_000, &[]), 300);
    }

    #[test]
    fn bonus_adds_up_and_may_go_negative() {
        let r = rules();
        let (q, n) = BonusParts::fixed(&r, 3, 2);
        assert_eq!((q, n), (1_500, 4_000));
        let parts = BonusParts {
            commission_fen: 3_300,
            qualified_bonus_fen: q,
            new_customer_bonus_fen: n,
            penalties_fen: 10_000,
            adjustments_fen: -100,
        };
        assert_eq!(parts.total(), 3_300 + 1_500 + 4_000 - 10_000 - 100);
    }

    #[test]
    fn rules_are_checked() {
        assert_eq!(rules().problem(), None);
        let mut r = rules();
        r.default_rate_bp = MAX_RATE_BP + 1;
        assert_eq!(r.problem().unwrap().0, "default_rate_bp");
        let mut r = rules();
        r.products.push(ProductRate {
            product_id: 7,
            rate_bp: 1,
        });
        assert_eq!(
            r.problem().unwrap(),
            ("products[1].product_id".into(), "duplicate")
        );
        let mut r = rules();
        r.per_qualified_fen = -1;
        assert_eq!(r.problem().unwrap().0, "per_qualified_fen");
    }
}
