//! Receivables (应收账款), exact to the 分: an order's payment plan (instalments), what is still
//! owed after returns and payments, overpayment refused, the ageing buckets of the unpaid report
//! and when the owner is reminded of a due date.

use chrono::{Days, Months, NaiveDate};
use serde::Serialize;

/// With no plan given, an order is paid in one instalment this many days after its delivery
/// date (or, with no delivery date, after the day it was ordered): the usual net-30 terms.
pub const DEFAULT_TERM_DAYS: u64 = 30;

/// The owner is reminded this many days before an instalment falls due (and once after).
pub const REMIND_BEFORE_DAYS: u64 = 3;

/// The due date of the one instalment of an order without a plan.
pub fn default_due_date(delivery: Option<NaiveDate>, ordered_on: NaiveDate) -> NaiveDate {
    let from = delivery.unwrap_or(ordered_on);
    from.checked_add_days(Days::new(DEFAULT_TERM_DAYS))
        .unwrap_or(from)
}

/// `total_fen` in `n` instalments as even as 分 allow, the odd 分 on the last one (10,000 in
/// 3 → 3,333 + 3,333 + 3,334). `n` of 0 is taken as 1.
pub fn split_evenly(total_fen: i64, n: usize) -> Vec<i64> {
    let n = n.max(1);
    let count = i64::try_from(n).unwrap_or(i64::MAX);
    let base = total_fen.div_euclid(count);
    let last = total_fen - base * (count - 1);
    (0..count)
        .map(|i| if i + 1 == count { last } else { base })
        .collect()
}

/// The most instalments an evenly split plan may have (ten years of monthly payments).
pub const MAX_INSTALMENTS: u32 = 120;

/// A plan of `count` instalments a month apart from `first_due` (the 31st falls on a shorter
/// month's last day), `total_fen` split by [`split_evenly`].
pub fn even_plan(total_fen: i64, count: u32, first_due: NaiveDate) -> Vec<(NaiveDate, i64)> {
    let count = count.clamp(1, MAX_INSTALMENTS);
    split_evenly(total_fen, count as usize)
        .into_iter()
        .zip(0..count)
        .map(|(fen, i)| {
            let due = first_due
                .checked_add_months(Months::new(i))
                .unwrap_or(first_due);
            (due, fen)
        })
        .collect()
}

/// Why a payment plan is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanProblem {
    /// No instalment.
    Empty,
    /// An instalment of zero or less.
    Amount,
    /// The instalments do not add up to the order's total.
    Sum,
    /// Due dates not in order (each after the one before).
    Order,
    /// A due date before today.
    Past,
}

impl PlanProblem {
    pub fn code(self) -> &'static str {
        match self {
            PlanProblem::Empty => "plan_empty",
            PlanProblem::Amount => "amount_invalid",
            PlanProblem::Sum => "plan_sum_mismatch",
            PlanProblem::Order => "plan_dates_out_of_order",
            PlanProblem::Past => "plan_date_past",
        }
    }
}

/// Checks a plan: at least one instalment, each positive, due dates rising and none before
/// `today`, summing to `total_fen` to the 分. An order of 0 has a plan of no instalment.
pub fn check_plan(
    total_fen: i64,
    plan: &[(NaiveDate, i64)],
    today: NaiveDate,
) -> Result<(), PlanProblem> {
    if plan.is_empty() {
        return if total_fen == 0 {
            Ok(())
        } else {
            Err(PlanProblem::Empty)
        };
    }
    if plan.iter().any(|(_, a)| *a <= 0) {
        return Err(PlanProblem::Amount);
    }
    if plan.windows(2).any(|w| w[1].0 <= w[0].0) {
        return Err(PlanProblem::Order);
    }
    if plan.iter().any(|(due, _)| *due < today) {
        return Err(PlanProblem::Past);
    }
    let sum = plan.iter().try_fold(0i64, |s, (_, a)| s.checked_add(*a));
    if sum != Some(total_fen) {
        return Err(PlanProblem::Sum);
    }
    Ok(())
}

/// What an order still owes: its total less what was returned and what was paid.
pub fn owed_fen(total_fen: i64, returned_fen: i64, paid_fen: i64) -> i64 {
    total_fen - returned_fen - paid_fen
}

/// Why a payment is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentRefusal {
    /// Zero or less.
    NotPositive,
    /// More than the order still owes (`owed`).
    Overpayment { owed: i64 },
}

/// A payment of `amount_fen` on an order owing `owed_fen`: partial or whole, never more.
pub fn check_payment(owed_fen: i64, amount_fen: i64) -> Result<(), PaymentRefusal> {
    if amount_fen <= 0 {
        Err(PaymentRefusal::NotPositive)
    } else if amount_fen > owed_fen {
        Err(PaymentRefusal::Overpayment {
            owed: owed_fen.max(0),
        })
    } else {
        Ok(())
    }
}

/// Why a return is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnRefusal {
    NotPositive,
    /// More than is left of the order after earlier returns (`left`).
    TooLarge {
        left: i64,
    },
}

/// What returning `quantity` more units of an order line is worth, exact to the 分: the line's
/// total spread over its units, so that returning every unit, in any number of returns, gives
/// back the line's total exactly (each return takes what the units returned so far are worth
/// less what was refunded before them, rounded down). `None` for a quantity of zero or less, or
/// more than is left of the line (`returned_before` units came back already).
pub fn line_refund_fen(
    line_total_fen: i64,
    line_quantity: i64,
    returned_before: i64,
    quantity: i64,
) -> Option<i64> {
    if quantity <= 0 || line_quantity <= 0 || returned_before + quantity > line_quantity {
        return None;
    }
    let worth = |units: i64| line_total_fen * units / line_quantity;
    Some(worth(returned_before + quantity) - worth(returned_before))
}

/// A return (退货) of `amount_fen` on an order of `total_fen` with `returned_fen` returned
/// already. A return after payment is allowed: the customer's balance goes below zero (a credit
/// the company owes back).
pub fn check_return(
    total_fen: i64,
    returned_fen: i64,
    amount_fen: i64,
) -> Result<(), ReturnRefusal> {
    let left = total_fen - returned_fen;
    if amount_fen <= 0 {
        Err(ReturnRefusal::NotPositive)
    } else if amount_fen > left {
        Err(ReturnRefusal::TooLarge { left: left.max(0) })
    } else {
        Ok(())
    }
}

/// What is still open of each instalment: returns take off the last instalments first (the
/// goods not kept are the ones not yet to be paid for), payments settle the earliest first.
pub fn open_per_instalment(amounts: &[i64], returned_fen: i64, paid_fen: i64) -> Vec<i64> {
    settle_instalments(amounts, returned_fen, paid_fen)
        .into_iter()
        .map(|s| s.open_fen)
        .collect()
}

/// How one instalment stands: the part returned, the part paid and the part still open
/// (together its amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstalmentState {
    pub returned_fen: i64,
    pub paid_fen: i64,
    pub open_fen: i64,
}

/// Each instalment's [`InstalmentState`] after `returned_fen` of returns (off the last ones
/// first) and `paid_fen` of payments (the earliest first). The store keeps `paid_fen` and
/// `open_fen` on each instalment by this rule; its SQL backfill is held to it by a test.
pub fn settle_instalments(
    amounts: &[i64],
    returned_fen: i64,
    paid_fen: i64,
) -> Vec<InstalmentState> {
    let mut out: Vec<InstalmentState> = amounts
        .iter()
        .map(|a| InstalmentState {
            open_fen: *a,
            ..InstalmentState::default()
        })
        .collect();
    let mut returned = returned_fen.max(0);
    for s in out.iter_mut().rev() {
        let take = returned.min(s.open_fen).max(0);
        s.open_fen -= take;
        s.returned_fen = take;
        returned -= take;
    }
    let mut paid = paid_fen.max(0);
    for s in out.iter_mut() {
        let take = paid.min(s.open_fen).max(0);
        s.open_fen -= take;
        s.paid_fen = take;
        paid -= take;
    }
    out
}

/// How late an open amount is, for the unpaid report (账龄).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBucket {
    /// Not yet due (due today counts as not late).
    NotDue,
    Days1To30,
    Days31To60,
    Days61To90,
    Over90,
}

impl AgeBucket {
    pub const ALL: [AgeBucket; 5] = [
        AgeBucket::NotDue,
        AgeBucket::Days1To30,
        AgeBucket::Days31To60,
        AgeBucket::Days61To90,
        AgeBucket::Over90,
    ];

    /// The bucket of an amount due on `due` as of `today`.
    pub fn of(due: NaiveDate, today: NaiveDate) -> AgeBucket {
        match (today - due).num_days() {
            ..=0 => AgeBucket::NotDue,
            1..=30 => AgeBucket::Days1To30,
            31..=60 => AgeBucket::Days31To60,
            61..=90 => AgeBucket::Days61To90,
            _ => AgeBucket::Over90,
        }
    }

    /// The first due date of each bucket but the last, as of `today`: a due date on or after
    /// `bounds[k]` (and before `bounds[k - 1]`) is in `ALL[k]`; one before `bounds[3]` is over
    /// 90 days. The SQL of the unpaid report buckets by these (held to [`AgeBucket::of`] by a
    /// test).
    pub fn bounds(today: NaiveDate) -> [NaiveDate; 4] {
        [0, 30, 60, 90].map(|d| today.checked_sub_days(Days::new(d)).unwrap_or(today))
    }

    pub fn code(self) -> &'static str {
        match self {
            AgeBucket::NotDue => "not_due",
            AgeBucket::Days1To30 => "d1_30",
            AgeBucket::Days31To60 => "d31_60",
            AgeBucket::Days61To90 => "d61_90",
            AgeBucket::Over90 => "over_90",
        }
    }
}

/// Open amounts summed per bucket, in 分.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ageing {
    pub not_due: i64,
    pub d1_30: i64,
    pub d31_60: i64,
    pub d61_90: i64,
    pub over_90: i64,
}

impl Ageing {
    pub fn add(&mut self, bucket: AgeBucket, fen: i64) {
        match bucket {
            AgeBucket::NotDue => self.not_due += fen,
            AgeBucket::Days1To30 => self.d1_30 += fen,
            AgeBucket::Days31To60 => self.d31_60 += fen,
            AgeBucket::Days61To90 => self.d61_90 += fen,
            AgeBucket::Over90 => self.over_90 += fen,
        }
    }

    pub fn merge(&mut self, other: &Ageing) {
        self.not_due += other.not_due;
        self.d1_30 += other.d1_30;
        self.d31_60 += other.d31_60;
        self.d61_90 += other.d61_90;
        self.over_90 += other.over_90;
    }

    /// Everything open, due or not.
    pub fn total(&self) -> i64 {
        self.not_due + self.overdue()
    }

    /// What is past its due date.
    pub fn overdue(&self) -> i64 {
        self.d1_30 + self.d31_60 + self.d61_90 + self.over_90
    }
}

/// Which reminder an open instalment is owed today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Within [`REMIND_BEFORE_DAYS`] of its due date (or on it), not yet reminded.
    Before,
    /// Past its due date and still open, not yet reminded of that.
    After,
}

/// The reminder an instalment due on `due`, with `open_fen` still open, is owed on `today`,
/// given which it has had. One of each, at most.
pub fn reminder_due(
    due: NaiveDate,
    today: NaiveDate,
    open_fen: i64,
    reminded_before: bool,
    reminded_after: bool,
) -> Option<Reminder> {
    if open_fen <= 0 {
        return None;
    }
    let from = due
        .checked_sub_days(Days::new(REMIND_BEFORE_DAYS))
        .unwrap_or(due);
    if today > due {
        (!reminded_after).then_some(Reminder::After)
    } else if today >= from {
        (!reminded_before).then_some(Reminder::Before)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn one_instalment_by_default_thirty_days_after_delivery_or_the_order() {
        assert_eq!(
            default_due_date(Some(d("2026-12-20")), d("2026-12-07")),
            d("2027-01-19")
        );
        assert_eq!(default_due_date(None, d("2026-12-07")), d("2027-01-06"));
    }

    #[test]
    fn an_even_split_puts_the_odd_fen_on_the_last_and_sums_exactly() {
        assert_eq!(split_evenly(10_000, 3), vec![3_333, 3_333, 3_334]);
        assert_eq!(split_evenly(10_001, 3), vec![3_333, 3_333, 3_335]);
        assert_eq!(split_evenly(2, 3), vec![0, 0, 2]);
        assert_eq!(split_evenly(500, 0), vec![500]);
        for (t, n) in [(99_999, 7), (1, 1), (123_456_789, 12)] {
            assert_eq!(split_evenly(t, n).iter().sum::<i64>(), t);
        }
    }

    #[test]
    fn a_plan_must_sum_to_the_total_to_the_fen_with_rising_dates_from_today() {
        let today = d("2026-12-07");
        let plan = [(d("2026-12-31"), 60_000), (d("2027-01-31"), 40_000)];
        assert_eq!(check_plan(100_000, &plan, today), Ok(()));
        assert_eq!(check_plan(100_001, &plan, today), Err(PlanProblem::Sum));
        assert_eq!(check_plan(100_000, &[], today), Err(PlanProblem::Empty));
        assert_eq!(check_plan(0, &[], today), Ok(()));
        assert_eq!(
            check_plan(
                100_000,
                &[(d("2026-12-31"), 100_001), (d("2027-01-31"), -1)],
                today
            ),
            Err(PlanProblem::Amount)
        );
        assert_eq!(
            check_plan(100_000, &[plan[1], plan[0]], today),
            Err(PlanProblem::Order)
        );
        // Due today is fine; yesterday is not.
        assert_eq!(check_plan(100_000, &[(today, 100_000)], today), Ok(()));
        assert_eq!(
            check_plan(100_000, &[(d("2026-12-06"), 100_000)], today),
            Err(PlanProblem::Past)
        );
    }

    #[test]
    fn an_even_plan_is_monthly_from_the_first_due_date_with_the_odd_fen_last() {
        assert_eq!(
            even_plan(100_000, 3, d("2027-01-31")),
            vec![
                (d("2027-01-31"), 33_333),
                (d("2027-02-28"), 33_333),
                (d("2027-03-31"), 33_334)
            ]
        );
        assert_eq!(
            even_plan(500, 0, d("2027-01-01")),
            vec![(d("2027-01-01"), 500)]
        );
        for (t, n) in [(1, 1), (99_999, 7), (123_457, 12)] {
            let p = even_plan(t, n, d("2027-01-15"));
            assert_eq!(p.len(), n as usize);
            assert_eq!(p.iter().map(|x| x.1).sum::<i64>(), t);
            assert_eq!(check_plan(t, &p, d("2027-01-15")), Ok(()));
        }
    }

    #[test]
    fn partial_payments_and_returns_reduce_what_is_owed_and_overpayment_is_refused() {
        let owed = owed_fen(100_000, 0, 30_000);
        assert_eq!(owed, 70_000);
        assert_eq!(check_payment(owed, 69_999), Ok(()));
        assert_eq!(check_payment(owed, 70_000), Ok(()));
        assert_eq!(
            check_payment(owed, 70_001),
            Err(PaymentRefusal::Overpayment { owed: 70_000 })
        );
        assert_eq!(check_payment(owed, 0), Err(PaymentRefusal::NotPositive));
        // A return of 20,000.01 yuan… of 2,001 分 leaves 67,999 to pay.
        let owed = owed_fen(100_000, 2_001, 30_000);
        assert_eq!(owed, 67_999);
        assert_eq!(
            check_payment(owed, 68_000),
            Err(PaymentRefusal::Overpayment { owed: 67_999 })
        );
        // Paid in full, then goods returned: a credit, and nothing more may be paid.
        assert_eq!(owed_fen(100_000, 10_000, 100_000), -10_000);
        assert_eq!(
            check_payment(-10_000, 1),
            Err(PaymentRefusal::Overpayment { owed: 0 })
        );
    }

    #[test]
    fn returns_cannot_exceed_what_is_left_of_the_order() {
        assert_eq!(check_return(100_000, 0, 100_000), Ok(()));
        assert_eq!(check_return(100_000, 40_000, 60_000), Ok(()));
        assert_eq!(
            check_return(100_000, 40_000, 60_001),
            Err(ReturnRefusal::TooLarge { left: 60_000 })
        );
        assert_eq!(check_return(100_000, 0, 0), Err(ReturnRefusal::NotPositive));
    }

    #[test]
    fn returned_units_give_back_the_line_total_to_the_fen() {
        // 3 units for 100.00: 33.33, 33.33, 33.34 — one at a time or all at once.
        assert_eq!(line_refund_fen(10_000, 3, 0, 1), Some(3_333));
        assert_eq!(line_refund_fen(10_000, 3, 1, 1), Some(3_333));
        assert_eq!(line_refund_fen(10_000, 3, 2, 1), Some(3_334));
        assert_eq!(line_refund_fen(10_000, 3, 0, 3), Some(10_000));
        assert_eq!(line_refund_fen(10_000, 3, 1, 2), Some(6_667));
        assert_eq!(line_refund_fen(10_000, 3, 2, 2), None, "only one left");
        assert_eq!(line_refund_fen(10_000, 3, 0, 0), None);
        assert_eq!(line_refund_fen(10_000, 3, 0, -1), None);
        // Any split of 7 units of 999.99 sums to the line's total.
        for split in [[1, 1, 5], [3, 2, 2], [6, 0, 1]] {
            let mut before = 0;
            let mut sum = 0;
            for q in split.into_iter().filter(|q| *q > 0) {
                sum += line_refund_fen(99_999, 7, before, q).unwrap();
                before += q;
            }
            assert_eq!(sum, 99_999, "{split:?}");
        }
    }

    #[test]
    fn returns_take_off_the_last_instalments_and_payments_settle_the_first() {
        let plan = [30_000, 30_000, 40_000];
        assert_eq!(
            open_per_instalment(&plan, 0, 0),
            vec![30_000, 30_000, 40_000]
        );
        assert_eq!(
            open_per_instalment(&plan, 0, 45_000),
            vec![0, 15_000, 40_000]
        );
        assert_eq!(
            open_per_instalment(&plan, 50_000, 0),
            vec![30_000, 20_000, 0]
        );
        assert_eq!(
            open_per_instalment(&plan, 50_000, 45_000),
            vec![0, 5_000, 0]
        );
        assert_eq!(open_per_instalment(&plan, 10_000, 90_000), vec![0, 0, 0]);
        let open = open_per_instalment(&plan, 12_345, 6_789);
        assert_eq!(open.iter().sum::<i64>(), 100_000 - 12_345 - 6_789);
        // Each instalment's parts add up to it: 50,000 returned off the last two, 45,000 paid
        // on the first two.
        assert_eq!(
            settle_instalments(&plan, 50_000, 45_000),
            vec![
                InstalmentState {
                    returned_fen: 0,
                    paid_fen: 30_000,
                    open_fen: 0
                },
                InstalmentState {
                    returned_fen: 10_000,
                    paid_fen: 15_000,
                    open_fen: 5_000
                },
                InstalmentState {
                    returned_fen: 40_000,
                    paid_fen: 0,
                    open_fen: 0
                },
            ]
        );
    }

    #[test]
    fn the_bucket_bounds_agree_with_the_bucket_of_each_day() {
        let today = d("2026-03-01");
        let bounds = AgeBucket::bounds(today);
        for back in -5i64..200 {
            let due = today - chrono::TimeDelta::days(back);
            let k = bounds.iter().position(|b| due >= *b).unwrap_or(4);
            assert_eq!(AgeBucket::ALL[k], AgeBucket::of(due, today), "{due}");
        }
    }

    #[test]
    fn ageing_buckets_start_the_day_after_the_due_date() {
        let due = d("2026-09-01");
        assert_eq!(AgeBucket::of(due, d("2026-08-20")), AgeBucket::NotDue);
        assert_eq!(AgeBucket::of(due, d("2026-09-01")), AgeBucket::NotDue);
        assert_eq!(AgeBucket::of(due, d("2026-09-02")), AgeBucket::Days1To30);
        assert_eq!(AgeBucket::of(due, d("2026-10-01")), AgeBucket::Days1To30);
        assert_eq!(AgeBucket::of(due, d("2026-10-02")), AgeBucket::Days31To60);
        assert_eq!(AgeBucket::of(due, d("2026-10-31")), AgeBucket::Days31To60);
        assert_eq!(AgeBucket::of(due, d("2026-11-01")), AgeBucket::Days61To90);
        assert_eq!(AgeBucket::of(due, d("2026-11-30")), AgeBucket::Days61To90);
        assert_eq!(AgeBucket::of(due, d("2026-12-01")), AgeBucket::Over90);
        let mut a = Ageing::default();
        a.add(AgeBucket::NotDue, 100);
        a.add(AgeBucket::Days1To30, 2_000);
        a.add(AgeBucket::Over90, 30_001);
        assert_eq!((a.total(), a.overdue()), (32_101, 32_001));
    }

    #[test]
    fn the_owner_is_reminded_once_before_and_once_after_a_due_date() {
        let due = d("2026-12-10");
        assert_eq!(reminder_due(due, d("2026-12-06"), 1, false, false), None);
        assert_eq!(
            reminder_due(due, d("2026-12-07"), 1, false, false),
            Some(Reminder::Before)
        );
        assert_eq!(
            reminder_due(due, d("2026-12-10"), 1, false, false),
            Some(Reminder::Before)
        );
        assert_eq!(reminder_due(due, d("2026-12-08"), 1, true, false), None);
        assert_eq!(
            reminder_due(due, d("2026-12-11"), 1, true, false),
            Some(Reminder::After)
        );
        assert_eq!(reminder_due(due, d("2026-12-11"), 1, true, true), None);
        assert_eq!(reminder_due(due, d("2026-12-11"), 0, false, false), None);
    }
}
