//! The agent's day (issue 4): configuration (dispositions, revisit rules, calling hours,
//! holidays, do-not-call list), recording calls, and serving the next lead.

pub mod calls;
pub mod collision;
pub mod config;
pub mod live;
pub mod next;
pub mod notifications;
pub mod plans;
pub mod record;
pub mod revisit_preview;
pub mod ticker;
pub mod today;

pub use next::{
    CallingNow, Served, calling_now, due_revisits, next_call, next_call_skipping, release,
};
pub use record::{CallInput, DayCounters, Recorded, day_counters, record_call, stats_day};
