//! The rules a flow must keep beyond its syntax, each broken rule worded for the admin who edits
//! the file: targets that exist, keys used once per node, 1–8 seats, names safe as file names.

use super::MAX_QUEUE_SEATS;
use super::flow::{Flow, Key, Node};
use std::collections::BTreeSet;
use std::fmt;
use thiserror::Error;

/// Why a flow file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FlowError {
    #[error("the flow file cannot be read: {0}")]
    Syntax(String),
    #[error("the flow file has {} problem(s):\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("- {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    BadNumber(String),
    NoLanguages,
    DefaultLanguageNotListed(String),
    UnknownStart(String),
    UnknownTarget {
        node: String,
        field: &'static str,
        target: String,
    },
    UnknownLanguage {
        node: String,
        language: String,
    },
    DuplicateKey {
        node: String,
        key: Key,
    },
    NoOptions(String),
    EmptyQueue(String),
    TooManySeats {
        node: String,
        count: usize,
    },
    DuplicateSeat {
        node: String,
        seat: String,
    },
    DigitCount {
        node: String,
        min: u32,
        max: u32,
    },
    EndKeyIsDigit(String),
    Zero {
        node: String,
        field: &'static str,
    },
    BadName {
        what: &'static str,
        name: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadNumber(number) => write!(f, "number {number:?} must be digits only"),
            Self::NoLanguages => write!(f, "languages lists no language"),
            Self::DefaultLanguageNotListed(language) => {
                write!(f, "default_language {language:?} is not in languages")
            }
            Self::UnknownStart(start) => {
                write!(f, "start names node {start:?}, which does not exist")
            }
            Self::UnknownTarget {
                node,
                field,
                target,
            } => {
                write!(
                    f,
                    "node {node:?}: {field} names node {target:?}, which does not exist"
                )
            }
            Self::UnknownLanguage { node, language } => {
                write!(
                    f,
                    "node {node:?}: language {language:?} is not in languages"
                )
            }
            Self::DuplicateKey { node, key } => write!(f, "node {node:?}: key {key} is used twice"),
            Self::NoOptions(node) => write!(f, "node {node:?} offers no option"),
            Self::EmptyQueue(node) => write!(f, "queue {node:?} has no seat; give 1 to 8 seats"),
            Self::TooManySeats { node, count } => write!(
                f,
                "queue {node:?} has {count} seats; a queue rings at most {MAX_QUEUE_SEATS}"
            ),
            Self::DuplicateSeat { node, seat } => {
                write!(f, "queue {node:?}: seat {seat:?} is listed twice")
            }
            Self::DigitCount { node, min, max } => write!(
                f,
                "node {node:?}: min_digits {min} and max_digits {max} must satisfy 1 ≤ min ≤ max ≤ 32"
            ),
            Self::EndKeyIsDigit(node) => {
                write!(
                    f,
                    "node {node:?}: end_key must be * or #, not a digit of the number"
                )
            }
            Self::Zero { node, field } => write!(f, "node {node:?}: {field} must be at least 1"),
            Self::BadName { what, name } => write!(
                f,
                "{what} {name:?} may hold only lower-case letters, digits, - and _ (1 to 64)"
            ),
        }
    }
}

/// Every problem of a parsed flow, in file order of the nodes (alphabetical).
pub(super) fn check(flow: &Flow) -> Vec<Problem> {
    let mut problems = Vec::new();
    if flow.number.is_empty() || !flow.number.chars().all(|c| c.is_ascii_digit()) {
        problems.push(Problem::BadNumber(flow.number.clone()));
    }
    if flow.languages.is_empty() {
        problems.push(Problem::NoLanguages);
    }
    for language in &flow.languages {
        name_problem(&mut problems, "language", language);
    }
    if !flow.languages.contains(&flow.default_language) {
        problems.push(Problem::DefaultLanguageNotListed(
            flow.default_language.clone(),
        ));
    }
    if !flow.nodes.contains_key(&flow.start) {
        problems.push(Problem::UnknownStart(flow.start.clone()));
    }
    for (name, node) in &flow.nodes {
        name_problem(&mut problems, "node name", name);
        NodeCheck {
            flow,
            name,
            problems: &mut problems,
        }
        .node(node);
    }
    problems
}

fn name_problem(problems: &mut Vec<Problem>, what: &'static str, name: &str) {
    let safe = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !safe {
        problems.push(Problem::BadName {
            what,
            name: name.to_owned(),
        });
    }
}

struct NodeCheck<'a> {
    flow: &'a Flow,
    name: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl NodeCheck<'_> {
    fn node(&mut self, node: &Node) {
        match node {
            Node::LanguageMenu(menu) => {
                self.prompt(&menu.prompt);
                self.no_answer(menu.timeout_s, &menu.on_fail);
                self.keys(menu.options.iter().map(|option| option.key));
                for option in &menu.options {
                    self.target("next", &option.next);
                    if !self.flow.languages.contains(&option.language) {
                        self.problems.push(Problem::UnknownLanguage {
                            node: self.name.to_owned(),
                            language: option.language.clone(),
                        });
                    }
                }
            }
            Node::Menu(menu) => {
                self.prompt(&menu.prompt);
                self.no_answer(menu.timeout_s, &menu.on_fail);
                self.keys(menu.options.iter().map(|option| option.key));
                for option in &menu.options {
                    self.target("next", &option.next);
                }
            }
            Node::Collect(collect) => {
                self.prompt(&collect.prompt);
                self.no_answer(collect.timeout_s, &collect.on_fail);
                self.target("next", &collect.next);
                let (min, max) = (collect.min_digits, collect.max_digits);
                if min == 0 || min > max || max > 32 {
                    self.problems.push(Problem::DigitCount {
                        node: self.name.to_owned(),
                        min,
                        max,
                    });
                }
                if collect.end_key.0.is_ascii_digit() {
                    self.problems
                        .push(Problem::EndKeyIsDigit(self.name.to_owned()));
                }
            }
            Node::Queue(queue) => {
                self.prompt(&queue.prompt);
                self.target("on_timeout", &queue.on_timeout);
                self.positive("ring_timeout_s", queue.ring_timeout_s);
                self.positive("max_wait_s", queue.max_wait_s);
                let node = self.name.to_owned();
                match queue.seats.len() {
                    0 => self.problems.push(Problem::EmptyQueue(node)),
                    count if count > super::MAX_QUEUE_SEATS => {
                        self.problems.push(Problem::TooManySeats { node, count })
                    }
                    _ => {}
                }
                let mut seen = BTreeSet::new();
                for seat in &queue.seats {
                    name_problem(self.problems, "seat", seat);
                    if !seen.insert(seat) {
                        let node = self.name.to_owned();
                        self.problems.push(Problem::DuplicateSeat {
                            node,
                            seat: seat.clone(),
                        });
                    }
                }
            }
            Node::Voicemail(voicemail) => {
                self.prompt(&voicemail.prompt);
                self.prompt(&voicemail.record_prompt);
                self.no_answer(voicemail.timeout_s, &voicemail.on_fail);
                self.positive("max_s", voicemail.max_s);
                self.target("next", &voicemail.next);
                self.keys(voicemail.categories.iter().map(|category| category.key));
                for category in &voicemail.categories {
                    name_problem(self.problems, "category", &category.category);
                }
            }
            Node::Play(play) => {
                self.prompt(&play.prompt);
                self.target("next", &play.next);
            }
            Node::Hangup(hangup) => {
                if let Some(prompt) = &hangup.prompt {
                    self.prompt(prompt);
                }
            }
        }
    }

    fn prompt(&mut self, prompt: &str) {
        name_problem(self.problems, "prompt", prompt);
    }

    fn target(&mut self, field: &'static str, target: &str) {
        if !self.flow.nodes.contains_key(target) {
            let (node, target) = (self.name.to_owned(), target.to_owned());
            self.problems.push(Problem::UnknownTarget {
                node,
                field,
                target,
            });
        }
    }

    fn positive(&mut self, field: &'static str, value: u32) {
        if value == 0 {
            self.problems.push(Problem::Zero {
                node: self.name.to_owned(),
                field,
            });
        }
    }

    fn no_answer(&mut self, timeout_s: u32, on_fail: &str) {
        self.positive("timeout_s", timeout_s);
        self.target("on_fail", on_fail);
    }

    fn keys(&mut self, keys: impl Iterator<Item = Key>) {
        let mut seen = BTreeSet::new();
        let mut any = false;
        for key in keys {
            any = true;
            if !seen.insert(key) {
                self.problems.push(Problem::DuplicateKey {
                    node: self.name.to_owned(),
                    key,
                });
            }
        }
        if !any {
            self.problems.push(Problem::NoOptions(self.name.to_owned()));
        }
    }
}
