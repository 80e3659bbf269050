//! The flow file's typed form: what each node kind holds, and `Flow::parse`, the one door through
//! which a flow file becomes a `Flow` (TOML syntax and field types by serde, cross-node rules by
//! `problems`).

use super::problems::{FlowError, check};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// One flow: the number it answers and its nodes by name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The number callers dial (digits only), e.g. `9000`.
    pub number: String,
    /// What admins see in lists.
    pub name: String,
    /// Languages prompts exist in (folder names: `cmn`, `en`, `yue`, …).
    pub languages: Vec<String>,
    /// The language prompts play in until the caller chooses.
    pub default_language: String,
    /// The node a call starts at.
    pub start: String,
    pub nodes: BTreeMap<String, Node>,
}

impl Flow {
    /// Reads and checks a flow file; every problem found is reported, not only the first.
    pub fn parse(text: &str) -> Result<Self, FlowError> {
        let flow: Self =
            toml::from_str(text).map_err(|error| FlowError::Syntax(error.to_string()))?;
        let problems = check(&flow);
        if problems.is_empty() {
            Ok(flow)
        } else {
            Err(FlowError::Invalid(problems))
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }
}

/// What a node does; `kind` in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    LanguageMenu(LanguageMenu),
    Menu(Menu),
    Collect(Collect),
    Queue(Queue),
    Voicemail(Voicemail),
    Play(Play),
    Hangup(Hangup),
}

/// Plays a prompt and sets the call's language from the key pressed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageMenu {
    pub prompt: String,
    pub options: Vec<LanguageOption>,
    pub timeout_s: u32,
    pub retries: u32,
    pub on_fail: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageOption {
    pub key: Key,
    pub language: String,
    pub next: String,
}

/// Plays a prompt and goes where the key pressed says.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    pub prompt: String,
    pub options: Vec<MenuOption>,
    pub timeout_s: u32,
    pub retries: u32,
    pub on_fail: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    pub key: Key,
    pub next: String,
}

/// Collects a number (a policy or order number, a rep's PIN) and has it looked up; the answer is
/// spoken, then the call goes on to `next`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    pub prompt: String,
    pub lookup: Lookup,
    pub min_digits: u32,
    pub max_digits: u32,
    /// The key that ends the number early; `#` when absent.
    #[serde(default = "hash_key")]
    pub end_key: Key,
    /// Seconds to wait for the next digit.
    pub timeout_s: u32,
    pub retries: u32,
    pub on_fail: String,
    pub next: String,
}

fn hash_key() -> Key {
    Key('#')
}

/// The look-ups a collect node may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// An order or policy number → its status and the amount due from the receivables.
    ReceivableStatus,
    /// A rep's PIN → their month's results and commission from the assessment.
    RepResults,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReceivableStatus => "receivable_status",
            Self::RepResults => "rep_results",
        }
    }
}

/// Rings a group of seats while the caller waits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Played while waiting.
    pub prompt: String,
    /// Seat extensions as registered with Kamailio, 1 to 8.
    pub seats: Vec<String>,
    pub strategy: RingStrategy,
    /// Seconds one seat rings before the next is tried (ignored by `ring_all`).
    pub ring_timeout_s: u32,
    /// Seconds the caller may wait in all before the call goes to `on_timeout`.
    pub max_wait_s: u32,
    pub on_timeout: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingStrategy {
    /// Every free seat rings at once; the first to answer takes the call.
    RingAll,
    /// Seats ring one after another in the order listed.
    InOrder,
    /// Like `in_order`, starting after the seat that took the previous call.
    RoundRobin,
    /// The seat idle longest rings first.
    LongestIdle,
}

/// Asks for a category by key, then records after the tone until `#`, hang-up or `max_s`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    /// Names the categories and their keys.
    pub prompt: String,
    /// Played after the category is chosen, before the tone.
    pub record_prompt: String,
    pub categories: Vec<Category>,
    pub timeout_s: u32,
    pub retries: u32,
    pub on_fail: String,
    pub max_s: u32,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub key: Key,
    /// Stored with the voicemail (`complaint`, `suggestion`, …); an admin may re-file it.
    pub category: String,
}

/// Plays a prompt, then goes on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Play {
    pub prompt: String,
    pub next: String,
}

/// Plays an optional prompt, then hangs up.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hangup {
    pub prompt: Option<String>,
}

/// One DTMF key: `0`–`9`, `*` or `#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Key(pub char);

impl TryFrom<String> for Key {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(key @ ('0'..='9' | '*' | '#')), None) => Ok(Key(key)),
            _ => Err(format!(
                "{text:?} is not a phone key: use one of 0-9, * or #"
            )),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
