//! Sales arithmetic, exact to the 分: order lines, discounts in basis points of the list price,
//! and who must approve a discount (优惠销售申请) for a given role.

use std::collections::HashMap;

use serde::Serialize;

use crate::Role;

/// 100 bp = 1%; 10,000 bp = the whole list price.
pub const FULL_BP: i64 = 10_000;

/// One order or quotation line as agreed: a product at a list price, sold `quantity` times at
/// `unit_price_fen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub quantity: i64,
    pub list_price_fen: i64,
    pub unit_price_fen: i64,
}

/// Why a line cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProblem {
    /// Quantity zero or less.
    Quantity,
    /// A negative price.
    Price,
    /// A total that does not fit in an `i64` of 分 (never a real order).
    TooLarge,
}

impl LineProblem {
    pub fn code(self) -> &'static str {
        match self {
            LineProblem::Quantity => "quantity_invalid",
            LineProblem::Price => "price_invalid",
            LineProblem::TooLarge => "amount_too_large",
        }
    }
}

impl Line {
    /// A checked line: quantity at least 1, prices not negative, totals that fit.
    pub fn new(
        quantity: i64,
        list_price_fen: i64,
        unit_price_fen: i64,
    ) -> Result<Line, LineProblem> {
        if quantity < 1 {
            return Err(LineProblem::Quantity);
        }
        if list_price_fen < 0 || unit_price_fen < 0 {
            return Err(LineProblem::Price);
        }
        let line = Line {
            quantity,
            list_price_fen,
            unit_price_fen,
        };
        unit_price_fen
            .checked_mul(quantity)
            .and(list_price_fen.checked_mul(quantity))
            .ok_or(LineProblem::TooLarge)?;
        Ok(line)
    }

    /// unit × quantity.
    pub fn total_fen(&self) -> i64 {
        self.unit_price_fen * self.quantity
    }

    /// (list − unit) × quantity: what the customer is given off the list price (negative when
    /// sold above it).
    pub fn discount_fen(&self) -> i64 {
        (self.list_price_fen - self.unit_price_fen) * self.quantity
    }

    /// The discount off the list price in basis points, rounded up so that a price a hair under
    /// a limit counts as under it (4.001% is 401 bp, beyond a 400 bp limit). A price at or above
    /// the list price, or a free product, is 0.
    pub fn discount_bp(&self) -> i64 {
        let off = self.list_price_fen - self.unit_price_fen;
        if off <= 0 || self.list_price_fen == 0 {
            return 0;
        }
        // i128: off × 10,000 may not fit in i64 for a huge price.
        let (num, den) = (
            i128::from(off) * i128::from(FULL_BP),
            i128::from(self.list_price_fen),
        );
        let bp = (num + den - 1) / den;
        i64::try_from(bp).unwrap_or(FULL_BP)
    }
}

/// The sum of the lines' totals; `None` when it does not fit.
pub fn order_total_fen(lines: &[Line]) -> Option<i64> {
    lines
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.total_fen()))
}

/// The deepest discount among the lines, in basis points: what the request states and what
/// decides who must approve it.
pub fn deepest_discount_bp(lines: &[Line]) -> i64 {
    lines.iter().map(Line::discount_bp).max().unwrap_or(0)
}

/// Who must decide a discount request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalLevel {
    Supervisor,
    Admin,
}

impl ApprovalLevel {
    pub fn code(self) -> &'static str {
        match self {
            ApprovalLevel::Supervisor => "supervisor",
            ApprovalLevel::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalLevel> {
        match s {
            "supervisor" => Some(ApprovalLevel::Supervisor),
            "admin" => Some(ApprovalLevel::Admin),
            _ => None,
        }
    }
}

/// The deepest discount each role may give on its own (`discount_limits`), in basis points. A
/// role without a row may give none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscountLimits(pub HashMap<Role, i64>);

impl DiscountLimits {
    pub fn of(&self, role: Role) -> i64 {
        self.0.get(&role).copied().unwrap_or(0).clamp(0, FULL_BP)
    }

    /// Who must approve a discount of `discount_bp` asked by someone of `role`: nobody when it
    /// is within the role's own limit; the supervisor when it is within the supervisor's limit;
    /// the admin beyond it.
    pub fn approval_needed(&self, role: Role, discount_bp: i64) -> Option<ApprovalLevel> {
        if discount_bp <= self.of(role) {
            None
        } else if role != Role::Supervisor && discount_bp <= self.of(Role::Supervisor) {
            Some(ApprovalLevel::Supervisor)
        } else {
            Some(ApprovalLevel::Admin)
        }
    }

    /// Whether someone of `role` may decide a request at `level`: an admin any; a supervisor
    /// those at the supervisor's level (the store also requires the requester's team).
    pub fn may_decide(role: Role, level: ApprovalLevel) -> bool {
        match role {
            Role::Admin => true,
            Role::Supervisor => level == ApprovalLevel::Supervisor,
            Role::Agent | Role::Sales | Role::Finance => false,
        }
    }
}

/// What can happen to a quotation (报价单): a draft is sent to the customer, who accepts or
/// rejects it; only an accepted one becomes an order (then `ordered`).
pub fn quotation_next(status: &str, action: &str) -> Option<&'static str> {
    match (status, action) {
        ("draft", "send") => Some("sent"),
        ("sent", "accept") => Some("accepted"),
        ("sent", "reject") => Some("rejected"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> DiscountLimits {
        DiscountLimits(HashMap::from([
            (Role::Agent, 0),
            (Role::Sales, 500),
            (Role::Supervisor, 1500),
            (Role::Finance, 0),
            (Role::Admin, 10_000),
        ]))
    }

    #[test]
    fn a_line_totals_unit_times_quantity_and_its_discount_is_off_the_list_price() {
        let l = Line::new(3, 50_000, 47_501).unwrap();
        assert_eq!(l.total_fen(), 142_503);
        assert_eq!(l.discount_fen(), 7_497);
        // 2,499 / 50,000 = 4.998% → 500 bp (rounded up).
        assert_eq!(l.discount_bp(), 500);
        assert_eq!(Line::new(1, 50_000, 47_500).unwrap().discount_bp(), 500);
        assert_eq!(Line::new(1, 50_000, 47_499).unwrap().discount_bp(), 501);
        assert_eq!(Line::new(1, 50_000, 60_000).unwrap().discount_bp(), 0);
        assert_eq!(Line::new(1, 0, 0).unwrap().discount_bp(), 0);
        assert_eq!(Line::new(1, 50_000, 0).unwrap().discount_bp(), 10_000);
        assert_eq!(Line::new(2, 333, 1).unwrap().discount_bp(), 9_970);
    }

    #[test]
    fn lines_refuse_no_quantity_negative_prices_and_totals_that_overflow() {
        assert_eq!(Line::new(0, 100, 100), Err(LineProblem::Quantity));
        assert_eq!(Line::new(-2, 100, 100), Err(LineProblem::Quantity));
        assert_eq!(Line::new(1, 100, -1), Err(LineProblem::Price));
        assert_eq!(Line::new(1, -100, 1), Err(LineProblem::Price));
        assert_eq!(
            Line::new(i64::MAX / 2, 100, 100),
            Err(LineProblem::TooLarge)
        );
        let big = Line::new(1, i64::MAX, i64::MAX).unwrap();
        assert_eq!(order_total_fen(&[big, big]), None);
    }

    #[test]
    fn an_order_totals_its_lines_and_states_its_deepest_discount() {
        let lines = [
            Line::new(2, 50_000, 50_000).unwrap(),
            Line::new(1, 19_900, 18_000).unwrap(),
            Line::new(10, 1_250, 1_199).unwrap(),
        ];
        assert_eq!(order_total_fen(&lines), Some(100_000 + 18_000 + 11_990));
        // 1,900 / 19,900 = 9.548% → 955 bp; 51 / 1,250 = 4.08% → 408 bp.
        assert_eq!(deepest_discount_bp(&lines), 955);
        assert_eq!(deepest_discount_bp(&[]), 0);
    }

    #[test]
    fn within_ones_own_limit_nobody_approves_up_to_the_supervisors_the_supervisor_beyond_the_admin()
    {
        let l = seeded();
        assert_eq!(l.approval_needed(Role::Sales, 0), None);
        assert_eq!(l.approval_needed(Role::Sales, 500), None);
        assert_eq!(
            l.approval_needed(Role::Sales, 501),
            Some(ApprovalLevel::Supervisor)
        );
        assert_eq!(
            l.approval_needed(Role::Sales, 1500),
            Some(ApprovalLevel::Supervisor)
        );
        assert_eq!(
            l.approval_needed(Role::Sales, 1501),
            Some(ApprovalLevel::Admin)
        );
        // An agent may give nothing off.
        assert_eq!(
            l.approval_needed(Role::Agent, 1),
            Some(ApprovalLevel::Supervisor)
        );
        assert_eq!(l.approval_needed(Role::Supervisor, 1500), None);
        assert_eq!(
            l.approval_needed(Role::Supervisor, 1501),
            Some(ApprovalLevel::Admin)
        );
        assert_eq!(l.approval_needed(Role::Admin, 10_000), None);
        // A role without a row gives nothing off.
        let none = DiscountLimits::default();
        assert_eq!(
            none.approval_needed(Role::Sales, 1),
            Some(ApprovalLevel::Admin)
        );
    }

    #[test]
    fn supervisors_decide_their_level_and_admins_every_level() {
        use ApprovalLevel::*;
        assert!(DiscountLimits::may_decide(Role::Supervisor, Supervisor));
        assert!(!DiscountLimits::may_decide(Role::Supervisor, Admin));
        assert!(DiscountLimits::may_decide(Role::Admin, Admin));
        assert!(DiscountLimits::may_decide(Role::Admin, Supervisor));
        for r in [Role::Agent, Role::Sales, Role::Finance] {
            assert!(!DiscountLimits::may_decide(r, Supervisor));
        }
    }

    #[test]
    fn a_quotation_is_sent_then_accepted_or_rejected_and_nothing_else() {
        assert_eq!(quotation_next("draft", "send"), Some("sent"));
        assert_eq!(quotation_next("sent", "accept"), Some("accepted"));
        assert_eq!(quotation_next("sent", "reject"), Some("rejected"));
        for (from, action) in [
            ("draft", "accept"),
            ("draft", "reject"),
            ("sent", "send"),
            ("accepted", "reject"),
            ("rejected", "accept"),
            ("ordered", "send"),
            ("sent", "order"),
        ] {
            assert_eq!(quotation_next(from, action), None, "{from} {action}");
        }
    }
}
