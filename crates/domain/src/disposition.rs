//! Dispositions: how a call ended, configured by the admin, each with the lead status it sets and
//! the counters it moves (connected, valid conversation, qualified) and whether it puts the
//! number on the do-not-call list.

use serde::{Deserialize, Serialize};

use crate::LeadStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    /// The status the lead takes (None keeps it).
    pub sets_status: Option<LeadStatus>,
    pub connected: bool,
    pub valid_conversation: bool,
    pub qualified: bool,
    pub adds_dnc: bool,
    /// A valid follow-up (有效跟进): a call with it makes a pool lead the caller's and restarts
    /// the owner's reclaim countdown. Out of the box, every connected disposition.
    #[serde(default)]
    pub valid_follow_up: bool,
    /// The keyboard shortcut in the call form.
    pub hotkey: Option<char>,
    pub position: i64,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispositionProblem {
    #[error("code must be 1–32 lower-case letters, digits or underscores")]
    Code,
    #[error("both labels are required (at most 40 characters)")]
    Label,
    #[error("a hotkey is one letter or digit")]
    Hotkey,
    #[error("hotkey {0} is already used by {1}")]
    HotkeyTaken(char, String),
    #[error("a qualified or valid-conversation disposition must be connected")]
    NotConnected,
}

/// What one recorded call adds to the agent's daily statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StatsDelta {
    pub calls: i64,
    pub connected: i64,
    pub valid_conversations: i64,
    pub qualified: i64,
    pub talk_s: i64,
}

impl Disposition {
    pub fn label(&self, lang: &str) -> &str {
        if lang.starts_with("en") {
            &self.label_en
        } else {
            &self.label_zh
        }
    }

    /// Checks the disposition alone and its hotkey against the other active ones.
    pub fn validate(&self, others: &[Disposition]) -> Result<(), DispositionProblem> {
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 32
            && self
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !code_ok {
            return Err(DispositionProblem::Code);
        }
        for label in [&self.label_zh, &self.label_en] {
            let n = label.trim().chars().count();
            if n == 0 || n > 40 {
                return Err(DispositionProblem::Label);
            }
        }
        if (self.qualified || self.valid_conversation) && !self.connected {
            return Err(DispositionProblem::NotConnected);
        }
        if let Some(k) = self.hotkey {
            if !k.is_ascii_alphanumeric() {
                return Err(DispositionProblem::Hotkey);
            }
            if self.active
                && let Some(other) = others.iter().find(|o| {
                    o.active
                        && o.code != self.code
                        && o.hotkey.map(|h| h.eq_ignore_ascii_case(&k)) == Some(true)
                })
            {
                return Err(DispositionProblem::HotkeyTaken(k, other.code.clone()));
            }
        }
        Ok(())
    }

    /// The counters one call with this disposition and talk time adds. Talk time counts only
    /// connected calls (a ringing phone is not talk).
    pub fn stats_delta(&self, duration_s: i64) -> StatsDelta {
        StatsDelta {
            calls: 1,
            connected: i64::from(self.connected),
            valid_conversations: i64::from(self.valid_conversation),
            qualified: i64::from(self.qualified),
            talk_s: if self.connected { duration_s.max(0) } else { 0 },
        }
    }
}

/// Whether a call moving a lead from `old` to `new` is progress (推进), the fact the
/// `no_progress` reclaim rule waits for: new → contacted → call back → qualified → converted,
/// each step forward counts; a step back, the same status, or an end such as not interested,
/// an invalid number or do-not-call is no progress.
pub fn is_progress(old: LeadStatus, new: LeadStatus) -> bool {
    fn rank(s: LeadStatus) -> Option<u8> {
        match s {
            LeadStatus::New => Some(0),
            LeadStatus::Contacted => Some(1),
            LeadStatus::CallBack => Some(2),
            LeadStatus::Qualified => Some(3),
            LeadStatus::Converted => Some(4),
            LeadStatus::NotInterested | LeadStatus::InvalidNumber | LeadStatus::DoNotCall => None,
        }
    }
    match (rank(old), rank(new)) {
        (Some(a), Some(b)) => b > a,
        // From an end back into the process (a not-interested prospect calls back).
        (None, Some(b)) => b > 0,
        _ => false,
    }
}

/// The dispositions a new installation starts with (the migration seeds the same rows).
pub fn defaults() -> Vec<Disposition> {
    let d = |code: &str, zh: &str, en: &str, status, flags: [bool; 4], key: char, position| {
        Disposition {
            code: code.into(),
            label_zh: zh.into(),
            label_en: en.into(),
            sets_status: Some(status),
            connected: flags[0],
            valid_conversation: flags[1],
            qualified: flags[2],
            adds_dnc: flags[3],
            valid_follow_up: flags[0],
            hotkey: Some(key),
            position,
            active: true,
        }
    };
    use LeadStatus as S;
    vec![
        d(
            "connected",
            "已接通",
            "Connected",
            S::Contacted,
            [true, true, false, false],
            '1',
            1,
        ),
        d(
            "no_answer",
            "未接",
            "No answer",
            S::CallBack,
            [false, false, false, false],
            '2',
            2,
        ),
        d(
            "busy",
            "占线",
            "Busy",
            S::CallBack,
            [false, false, false, false],
            '3',
            3,
        ),
        d(
            "wrong_number",
            "空号/错号",
            "Wrong number",
            S::InvalidNumber,
            [false, false, false, false],
            '4',
            4,
        ),
        d(
            "call_back",
            "要求回电",
            "Call back",
            S::CallBack,
            [true, true, false, false],
            '5',
            5,
        ),
        d(
            "not_interested",
            "无意向",
            "Not interested",
            S::NotInterested,
            [true, true, false, false],
            '6',
            6,
        ),
        d(
            "dnc_request",
            "要求勿扰",
            "Do-not-call request",
            S::DoNotCall,
            [true, false, false, true],
            '7',
            7,
        ),
        d(
            "qualified",
            "合格/有意向转销售",
            "Qualified (to sales)",
            S::Qualified,
            [true, true, true, false],
            '8',
            8,
        ),
    ]
}

/// The code a new disposition gets when the admin types none (issue 25): its English label's
/// words in lower case with underscores (`Call back later` → `call_back_later`), cut to the 32
/// characters a code may have, when that code is free; else `d_<n>` with the first free `n`.
/// A disposition named only in Chinese thus needs no English typed.
pub fn code_from_label(label_en: &str, taken: &[&str]) -> String {
    let free = |code: &str| !taken.contains(&code);
    if let Some(words) = crate::custom_field::ascii_key(label_en) {
        let code: String = words.chars().take(32).collect();
        let code = code.trim_end_matches('_');
        if !code.is_empty() && free(code) {
            return code.to_string();
        }
    }
    (1..)
        .map(|n| format!("d_{n}"))
        .find(|c| free(c))
        .expect("some d_<n> is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_derived_from_the_english_label_or_numbered() {
        assert_eq!(code_from_label("Call back later", &[]), "call_back_later");
        assert_eq!(
            code_from_label(" Wrong number! ", &["busy"]),
            "wrong_number"
        );
        // Taken, or no English words: the first free d_<n>.
        assert_eq!(code_from_label("Busy", &["busy", "d_1"]), "d_2");
        assert_eq!(code_from_label("", &[]), "d_1");
        assert_eq!(code_from_label("稍后再打", &["d_1"]), "d_2");
        let long = code_from_label(&"word ".repeat(20), &[]);
        assert!(long.len() <= 32 && !long.ends_with('_'), "{long}");
        // Whatever it derives passes the disposition's own check.
        let mut d = by("busy");
        d.code = code_from_label("Left a message (voicemail)", &[]);
        d.hotkey = None;
        assert_eq!(d.code, "left_a_message_voicemail");
        assert!(d.validate(&[]).is_ok());
    }

    fn by(code: &str) -> Disposition {
        defaults().into_iter().find(|d| d.code == code).unwrap()
    }

    #[test]
    fn defaults_are_valid_and_distinct() {
        let all = defaults();
        for d in &all {
            assert_eq!(d.validate(&all), Ok(()), "{}", d.code);
        }
        let mut keys: Vec<char> = all.iter().filter_map(|d| d.hotkey).collect();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        assert_eq!(by("dnc_request").sets_status, Some(LeadStatus::DoNotCall));
        assert!(by("dnc_request").adds_dnc);
        assert!(all.iter().filter(|d| d.adds_dnc).count() == 1);
        assert_eq!(by("qualified").label("en"), "Qualified (to sales)");
        assert_eq!(by("qualified").label("zh-CN"), "合格/有意向转销售");
    }

    #[test]
    fn connected_defaults_are_valid_follow_ups() {
        let valid: Vec<String> = defaults()
            .into_iter()
            .filter(|d| d.valid_follow_up)
            .map(|d| d.code)
            .collect();
        assert_eq!(
            valid,
            [
                "connected",
                "call_back",
                "not_interested",
                "dnc_request",
                "qualified"
            ]
        );
    }

    #[test]
    fn progress_is_a_step_forward_in_the_process() {
        use LeadStatus as S;
        assert!(is_progress(S::New, S::Contacted));
        assert!(is_progress(S::Contacted, S::Qualified));
        assert!(is_progress(S::CallBack, S::Converted));
        assert!(is_progress(S::NotInterested, S::CallBack));
        assert!(!is_progress(S::Contacted, S::Contacted));
        assert!(!is_progress(S::Qualified, S::CallBack));
        assert!(!is_progress(S::Contacted, S::NotInterested));
        assert!(!is_progress(S::New, S::InvalidNumber));
        assert!(!is_progress(S::NotInterested, S::New));
    }

    #[test]
    fn counters_follow_the_flags() {
        assert_eq!(
            by("qualified").stats_delta(120),
            StatsDelta {
                calls: 1,
                connected: 1,
                valid_conversations: 1,
                qualified: 1,
                talk_s: 120
            }
        );
        assert_eq!(
            by("no_answer").stats_delta(30),
            StatsDelta {
                calls: 1,
                ..StatsDelta::default()
            },
            "ringing is not talk time"
        );
        assert_eq!(
            by("dnc_request").stats_delta(-5),
            StatsDelta {
                calls: 1,
                connected: 1,
                ..StatsDelta::default()
            },
            "negative durations count as zero"
        );
    }

    #[test]
    fn bad_dispositions_are_refused() {
        let all = defaults();
        let mut d = by("busy");
        d.code = "Busy!".into();
        assert_eq!(d.validate(&all), Err(DispositionProblem::Code));
        d.code = String::new();
        assert_eq!(d.validate(&all), Err(DispositionProblem::Code));
        d.code = "x".repeat(33);
        assert_eq!(d.validate(&all), Err(DispositionProblem::Code));
        let mut d = by("busy");
        d.label_en = "  ".into();
        assert_eq!(d.validate(&all), Err(DispositionProblem::Label));
        d.label_en = "x".repeat(41);
        assert_eq!(d.validate(&all), Err(DispositionProblem::Label));
        let mut d = by("busy");
        d.qualified = true;
        assert_eq!(d.validate(&all), Err(DispositionProblem::NotConnected));
        let mut d = by("busy");
        d.hotkey = Some('*');
        assert_eq!(d.validate(&all), Err(DispositionProblem::Hotkey));
    }

    #[test]
    fn hotkeys_are_unique_among_active_dispositions() {
        let all = defaults();
        let mut d = by("busy");
        d.code = "voicemail".into();
        assert_eq!(
            d.validate(&all),
            Err(DispositionProblem::HotkeyTaken('3', "busy".into()))
        );
        d.hotkey = Some('9');
        assert_eq!(d.validate(&all), Ok(()));
        // An inactive disposition may share a key, and a disposition keeps its own key on edit.
        let mut inactive = by("busy");
        inactive.code = "old".into();
        inactive.active = false;
        assert_eq!(inactive.validate(&all), Ok(()));
        assert_eq!(by("busy").validate(&all), Ok(()));
    }
}
