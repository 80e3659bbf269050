//! The agent's workspace: today's numbers and revisit list, and the notifications that reminder
//! jobs leave for agents.

pub mod demo;
pub mod notifications;
pub mod revisit_preview;
pub mod today;
