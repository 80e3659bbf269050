//! Sales (issue 23): products and bundles, quotations, orders with their discount approval
//! (优惠销售申请), returns (退货), payment plans and payments (应收账款, 收款), collection
//! notices (催收单), the owner's due-date reminders and the receivables reports. The arithmetic
//! is the domain's (`leadline_domain::sales`, `sales_receivables`); what lives here is the
//! storage, who may do what, and the locks that keep two payments from overpaying.

pub mod access;
pub mod approvals;
pub mod ledger;
mod lines;
pub mod orders;
pub mod products;
pub mod quotations;
pub mod receivables;
pub mod reminders;
pub mod reports;

pub use lines::LineInput;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_ledger;
#[cfg(test)]
mod tests_payments;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use leadline_domain::call_stats as periods;

use crate::{Result, StoreError};

/// The calendar day `at` falls on in the organisation's `zone` (`call_stats::org_zone`): due
/// dates are compared with it.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    periods::stats_date(at, zone)
}

/// The instant a calendar day of the organisation's `zone` starts, in UTC.
pub fn day_start(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    periods::day_start(day, zone)
}

/// A stored 'YYYY-MM-DD' day.
pub(crate) fn parse_day(table: &'static str, row: i64, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::corrupt(table, row, format!("day {s:?}")))
}

/// A day as stored.
pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A required free-text reason, trimmed; `field` names it in the 422.
pub(crate) fn required_text(field: &str, text: Option<&str>, max: usize) -> Result<String> {
    let t = text.map(str::trim).unwrap_or_default();
    if t.is_empty() {
        return Err(StoreError::invalid(field, "required"));
    }
    if t.chars().count() > max {
        return Err(StoreError::invalid(field, "too_long"));
    }
    Ok(t.to_string())
}

/// The longest reason or note kept.
pub const MAX_NOTE: usize = 1000;
