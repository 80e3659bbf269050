//! Leadline storage: one `Db` handle over SQLite or PostgreSQL, repositories per aggregate, and the
//! embedded migrations for both backends.

pub mod audit;
pub mod auth;
// issue 24: call statistics (rollups per agent and slot, the organisation's zone, reports)
pub mod call_stats;
// issue 24: assessment (月度 / 年度考核) and commission
pub mod assessment;
// Customers converted from leads, their card, contacts and the sales rep's queue (issue 23).
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod demo;
mod error;
pub mod imports;
// issue 27: IVR flows saved by admins, versioned and audited.
pub mod ivr_flows;
// The jobs queue every feature's background work is claimed from (reminders today; reclaim,
// reminder calls and report rollups next), once across app servers.
pub mod jobs;
pub mod kb;
pub mod leads;
// What changed, told to every app server (LISTEN/NOTIFY on PostgreSQL, in-process on SQLite).
pub mod notify;
pub mod ownership;
// The sales pipeline (issue 23): opportunities and their board, visits and route plans, grades.
pub mod pipeline;
// issue 23: sales
pub mod sales;
// issue 24: call quality checks (质检)
pub mod quality;
// issue 24: customer reports (新开拓客户, 年度客户分析)
pub mod reports;
pub mod scripts;
pub mod search;
// issue 24: sales targets (销售定额) and their progress
pub mod targets;
pub mod telephony;
// issue 26: copy SQLite into PostgreSQL, back up and restore either, each verified.
pub mod transfer;
// Import files received over HTTP, in the database so that every app server can read them.
pub mod uploads;
// What knowledge articles and call scripts share as versioned documents: the stale-version
// check, the end of every write (search entry, audit entry) and the soft delete.
pub(crate) mod versioned;
// issue 24: daily work reports (工作日报) and work plans (周 / 月计划表)
pub mod work_reports;
// The agent's day: configuration, next call, record call, plans, counters, live view, ticker,
// notifications.
pub mod workday;

pub use db::{Backend, Db};
pub use error::{DuplicatePhone, StoreError};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The current time, truncated to microseconds so that it reads back equal on both backends.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let t = chrono::Utc::now();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
