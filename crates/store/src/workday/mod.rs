//! The agent's day (issue 4): configuration (dispositions, revisit rules, calling hours,
//! holidays, do-not-call list), recording calls, and serving the next lead.

pub mod config;
pub mod next;
pub mod record;

pub use next::{Served, due_revisits, next_call, release};
pub use record::{CallInput, DayCounters, Recorded, day_counters, record_call, stats_day};
