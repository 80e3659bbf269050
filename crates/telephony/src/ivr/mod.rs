//! IVR flows: a TOML file an admin can read and change (nodes for a language menu, menus, digit
//! collection with a look-up, a queue to 1–8 seats, voicemail by category, prompts, hang-up),
//! checked into typed structs, and a pure step function that turns a caller's keys, timer expiries
//! and finished prompts into the actions the call service performs.

mod flow;
mod problems;
mod step;

pub use flow::{
    Category, Collect, Flow, Hangup, Key, LanguageMenu, LanguageOption, Lookup, Menu, MenuOption,
    Node, Play, Queue, RingStrategy, Voicemail,
};
pub use problems::{FlowError, Problem};
pub use step::{Action, CallState, Event};

/// The demo flow answering 9000, shipped with the program.
pub const DEMO_FLOW: &str = include_str!("../../flows/9000.toml");

/// Most seats one queue may ring (the regulations' call center has up to eight).
pub const MAX_QUEUE_SEATS: usize = 8;

#[cfg(test)]
mod tests_flow;
#[cfg(test)]
mod tests_step;
