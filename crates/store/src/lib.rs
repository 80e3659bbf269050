//! Leadline storage: one `Db` handle over SQLite or PostgreSQL, repositories per aggregate, and the
//! embedded migrations for both backends.

pub mod audit;
pub mod auth;
pub mod calls;
pub mod custom_fields;
pub mod db;
pub mod demo;
pub mod demo_kb;
mod error;
pub mod imports;
pub mod kb;
pub mod leads;
pub mod scripts;
pub mod search;
pub mod sql;
pub mod sqlite_writer;
pub mod test_db;
// Import files received over HTTP, in the database so that every app server can read them.
pub mod uploads;
pub mod users;
pub mod views;
// The agent's day: dispositions, revisit rules, calling hours, DNC, record call, next call (issue 4).
pub mod workday;
// The agent workspace: job queue, plans and targets, ticker, live view (issue 4).
pub mod jobs;
pub mod live;
pub mod plans;
pub mod ticker;
pub mod workspace;

pub use db::{Backend, Db};
pub use error::StoreError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The current time, truncated to microseconds so that it reads back equal on both backends.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let t = chrono::Utc::now();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
