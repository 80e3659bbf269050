//! Money, exact: integer 分 (1/100 yuan), never floating point.

/// What a customer still owes, in 分: confirmed orders less returns less payments. `None` when
/// the sum does not fit (a corrupt figure, never a real one).
pub fn balance_fen(ordered_fen: i64, returned_fen: i64, paid_fen: i64) -> Option<i64> {
    ordered_fen.checked_sub(returned_fen)?.checked_sub(paid_fen)
}

/// An amount in 分 shown in yuan with two decimals and thousands separators: 123456 →
/// "1,234.56", -5 → "-0.05".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let (whole, cents) = (abs / 100, abs % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{cents:02}")
}

/// The largest amount an amount typed in may carry (a hundred billion 元), so that sums never overflow.
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000_000;

/// `fen` as 元 with two decimals and no separators (files and form fields): `123456` → `"1234.56"`, `-5` → `"-0.05"`.
pub fn yuan_plain(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// 元 as typed (`"1234.5"`, `"1,234.56"`, `"¥88"`) in 分, exactly: at most two decimals, not
/// negative, at most [`MAX_AMOUNT_FEN`]. No floating point on the way.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s: String = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let fen = whole.checked_mul(100)?.checked_add(frac)?;
    (fen <= MAX_AMOUNT_FEN).then_some(fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balance_is_orders_less_returns_less_payments_to_the_fen() {
        assert_eq!(balance_fen(100_000, 0, 0), Some(100_000));
        assert_eq!(balance_fen(100_001, 20_000, 30_000), Some(50_001));
        assert_eq!(balance_fen(100_000, 0, 100_000), Some(0));
        assert_eq!(balance_fen(i64::MIN, 1, 0), None);
    }

    #[test]
    fn yuan_are_shown_with_two_decimals_and_groups() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(123_456), "1,234.56");
        assert_eq!(yuan(100_000_000), "1,000,000.00");
    }
}
