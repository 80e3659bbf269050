//! Who may see a customer, for the sales lists and reports: the customers module's one SQL
//! rendering of the rule. Single customers are checked with `customers::may_read` /
//! `customers::may_edit`.

use leadline_domain::Viewer;

/// The SQL condition "customer aliased `c` is visible to `viewer`" (ids written as numbers):
/// the customers module's one rendering of the rule.
pub fn customer_condition(viewer: &Viewer, c: &str) -> String {
    crate::customers::visible_customers(viewer, c, |id| id.0.to_string())
}
