//! The sales pipeline's rules: money in 分 shown as 元, an opportunity's move between stages
//! (a lost stage needs a reason), time spent in each stage, a customer's grade from its sales
//! over the grading window and when its next contact is due.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::Serialize;

pub use crate::money::{MAX_AMOUNT_FEN, parse_yuan, yuan_plain as yuan};

/// The grading window when the setting `customer_grade_window_months` is absent.
pub const DEFAULT_GRADE_WINDOW_MONTHS: u32 = 3;
/// The longest grading window a setting may ask for.
pub const MAX_GRADE_WINDOW_MONTHS: u32 = 36;

/// A stage of the board as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub id: i64,
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    pub position: i64,
    pub is_won: bool,
    pub is_lost: bool,
    pub active: bool,
}

/// Why a move is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefusal {
    /// A lost stage needs a reason from the configured list.
    #[error("a lost opportunity needs a reason")]
    LostReasonRequired,
    /// A retired stage takes no new cards.
    #[error("the stage is retired")]
    StageRetired,
    /// A reason was given for a stage that is not lost.
    #[error("a reason is only for a lost stage")]
    ReasonNotLost,
}

/// Whether an opportunity may move to `to`, with `lost_reason` (an active reason's id).
pub fn check_move(to: &Stage, lost_reason: Option<i64>) -> Result<(), MoveRefusal> {
    if !to.active {
        return Err(MoveRefusal::StageRetired);
    }
    match (to.is_lost, lost_reason) {
        (true, None) => Err(MoveRefusal::LostReasonRequired),
        (false, Some(_)) => Err(MoveRefusal::ReasonNotLost),
        _ => Ok(()),
    }
}

/// One stay in a stage: from `entered_at` to `left_at` (`None`: still there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageStay {
    pub stage_id: i64,
    pub entered_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

/// Time spent in each stage as of `now`, in the order the stages were first entered; a stage
/// entered twice (moved back) counts both stays. A stay ending before it began counts nothing.
pub fn time_in_stages(stays: &[StageStay], now: DateTime<Utc>) -> Vec<(i64, TimeDelta)> {
    let mut out: Vec<(i64, TimeDelta)> = Vec::new();
    for s in stays {
        let spent = (s.left_at.unwrap_or(now) - s.entered_at).max(TimeDelta::zero());
        match out.iter_mut().find(|(id, _)| *id == s.stage_id) {
            Some((_, total)) => *total += spent,
            None => out.push((s.stage_id, spent)),
        }
    }
    out
}

/// A duration as the board shows it: days and hours, or hours and minutes under a day.
pub fn stay_text(d: TimeDelta, zh: bool) -> String {
    let (days, hours, minutes) = (d.num_days(), d.num_hours() % 24, d.num_minutes() % 60);
    match (zh, days > 0) {
        (true, true) => format!("{days}天{hours}小时"),
        (true, false) => format!("{hours}小时{minutes}分"),
        (false, true) => format!("{days}d {hours}h"),
        (false, false) => format!("{hours}h {minutes}m"),
    }
}

/// A grade as configured: the lowest sales over the window that earns it and how often a
/// customer of the grade must be contacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GradeLevel {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    pub min_sales_fen: i64,
    pub contact_every_days: i64,
    pub position: i64,
}

/// The grade `sales_fen` earns: the level with the highest threshold not above it (a tie goes
/// to the first by position). `None` when even the lowest threshold is not reached.
pub fn grade_for_sales(sales_fen: i64, levels: &[GradeLevel]) -> Option<&GradeLevel> {
    levels
        .iter()
        .filter(|l| sales_fen >= l.min_sales_fen)
        .min_by_key(|l| (std::cmp::Reverse(l.min_sales_fen), l.position))
}

/// When the next contact is due: `every_days` after the last call or visit, or after `since`
/// (when it was graded) for a customer never contacted.
pub fn contact_due_at(
    last_contact: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    every_days: i64,
) -> DateTime<Utc> {
    let from = last_contact.unwrap_or(since);
    from.checked_add_signed(TimeDelta::days(every_days.clamp(0, 3650)))
        .unwrap_or(from)
}

/// How many whole days a contact due at `due` is late at `now` (0: not late).
pub fn days_late(due: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - due).num_days().max(0)
}

/// The start of the grading window ending at `now`: `months` calendar months earlier.
pub fn grade_window_start(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(months.clamp(1, MAX_GRADE_WINDOW_MONTHS)))
        .unwrap_or(now)
}

/// The grading window from the stored setting: a number of months from 1 to
/// [`MAX_GRADE_WINDOW_MONTHS`], else the default.
pub fn grade_window_months(setting: Option<&str>) -> u32 {
    setting
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|m| (1..=MAX_GRADE_WINDOW_MONTHS).contains(m))
        .unwrap_or(DEFAULT_GRADE_WINDOW_MONTHS)
}

/// The month a grading run belongs to (`2026-12`): one run per month across servers.
pub fn grading_month(now: DateTime<Utc>) -> String {
    now.format("%Y-%m").to_string()
}

/// A visit's outcome.
pub const VISIT_RESULTS: [&str; 5] = ["met", "not_met", "order", "follow_up", "other"];

/// Whether `code` is a known visit outcome.
pub fn visit_result(code: &str) -> Option<&'static str> {
    VISIT_RESULTS.iter().copied().find(|c| *c == code)
}

#[cfg(test)]
mod tests;
