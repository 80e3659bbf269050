//! Revisit rules: by disposition, intent level and attempt number, how long until the lead is
//! called again, how many attempts it gets, and what happens after the last one. The rule fills
//! the next revisit time; the agent's own time wins.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::IntentLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayUnit {
    Minutes,
    Hours,
    Days,
}

impl DelayUnit {
    pub const ALL: [DelayUnit; 3] = [DelayUnit::Minutes, DelayUnit::Hours, DelayUnit::Days];
    pub fn code(self) -> &'static str {
        match self {
            DelayUnit::Minutes => "minutes",
            DelayUnit::Hours => "hours",
            DelayUnit::Days => "days",
        }
    }
    pub fn parse(s: &str) -> Option<DelayUnit> {
        DelayUnit::ALL.into_iter().find(|u| u.code() == s.trim())
    }
    /// `amount` of this unit; `None` beyond what a [`Duration`] holds (about 292 million years).
    pub fn duration(self, amount: i64) -> Option<Duration> {
        match self {
            DelayUnit::Minutes => Duration::try_minutes(amount),
            DelayUnit::Hours => Duration::try_hours(amount),
            DelayUnit::Days => Duration::try_days(amount),
        }
    }
}

/// What happens to a lead after its last allowed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterLast {
    /// No more revisits; the lead keeps the status the disposition set.
    Stop,
    /// Back to the shared pool as a fresh lead (no owner, attempts reset) for another agent.
    ReturnToPool,
    /// Marked invalid (空号错号 / invalid) and no longer called.
    MarkInvalid,
}

impl AfterLast {
    pub const ALL: [AfterLast; 3] = [
        AfterLast::Stop,
        AfterLast::ReturnToPool,
        AfterLast::MarkInvalid,
    ];
    pub fn code(self) -> &'static str {
        match self {
            AfterLast::Stop => "stop",
            AfterLast::ReturnToPool => "return_to_pool",
            AfterLast::MarkInvalid => "mark_invalid",
        }
    }
    pub fn parse(s: &str) -> Option<AfterLast> {
        AfterLast::ALL.into_iter().find(|u| u.code() == s.trim())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisitRule {
    pub id: i64,
    /// None matches every disposition.
    pub disposition: Option<String>,
    /// None matches every intent level (and calls without one).
    pub intent: Option<IntentLevel>,
    /// The attempt numbers (1 = the first call) the rule covers, inclusive.
    pub attempt_from: i64,
    pub attempt_to: Option<i64>,
    /// None: no revisit is scheduled.
    pub delay: Option<(i64, DelayUnit)>,
    /// The attempt after which `after_last` applies (None: unlimited).
    pub max_attempts: Option<i64>,
    pub after_last: AfterLast,
    pub position: i64,
    pub active: bool,
}

/// The highest attempt number a rule may name: far more calls than any lead gets.
pub const MAX_ATTEMPT: i64 = 1_000;
/// Positions order the rules on the settings page; any sane list fits in ±this.
pub const MAX_POSITION: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    #[error("attempt numbers run from 1 to 1000 and the range must not be empty")]
    Attempts,
    #[error("the delay must be between 1 minute and 365 days")]
    Delay,
    #[error("maximum attempts must be between 1 and 1000")]
    MaxAttempts,
    #[error("the position must be between -1000000 and 1000000")]
    Position,
}

impl RevisitRule {
    pub fn validate(&self) -> Result<(), RuleProblem> {
        let attempts = 1..=MAX_ATTEMPT;
        if !attempts.contains(&self.attempt_from)
            || self
                .attempt_to
                .is_some_and(|to| to < self.attempt_from || to > MAX_ATTEMPT)
        {
            return Err(RuleProblem::Attempts);
        }
        if let Some((amount, unit)) = self.delay
            && (amount < 1
                || unit
                    .duration(amount)
                    .is_none_or(|d| d > Duration::days(365)))
        {
            return Err(RuleProblem::Delay);
        }
        if self.max_attempts.is_some_and(|m| !attempts.contains(&m)) {
            return Err(RuleProblem::MaxAttempts);
        }
        if !(-MAX_POSITION..=MAX_POSITION).contains(&self.position) {
            return Err(RuleProblem::Position);
        }
        Ok(())
    }

    fn matches(&self, disposition: &str, intent: Option<IntentLevel>, attempt: i64) -> bool {
        self.active
            && self.disposition.as_deref().is_none_or(|d| d == disposition)
            && self.intent.is_none_or(|i| Some(i) == intent)
            && self.attempt_from <= attempt
            && self.attempt_to.is_none_or(|to| attempt <= to)
    }

    /// Higher is more specific: a named disposition outweighs a named intent, which outweighs
    /// a bounded attempt range.
    fn specificity(&self) -> u8 {
        (u8::from(self.disposition.is_some()) << 2)
            | (u8::from(self.intent.is_some()) << 1)
            | u8::from(self.attempt_to.is_some())
    }
}

/// What the rules decide for one recorded call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Call the lead again at `at`.
    Revisit {
        at: DateTime<Utc>,
        rule_id: Option<i64>,
        overridden: bool,
    },
    /// No revisit (no rule matched, or the rule schedules none).
    None { rule_id: Option<i64> },
    /// That was the last allowed attempt.
    LastAttempt { action: AfterLast, rule_id: i64 },
}

impl Outcome {
    pub fn revisit_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Outcome::Revisit { at, .. } => Some(*at),
            _ => None,
        }
    }
    pub fn rule_id(&self) -> Option<i64> {
        match self {
            Outcome::Revisit { rule_id, .. } | Outcome::None { rule_id } => *rule_id,
            Outcome::LastAttempt { rule_id, .. } => Some(*rule_id),
        }
    }
}

/// The rule that applies: the most specific match, ties broken by position then id.
pub fn matching_rule<'a>(
    rules: &'a [RevisitRule],
    disposition: &str,
    intent: Option<IntentLevel>,
    attempt: i64,
) -> Option<&'a RevisitRule> {
    rules
        .iter()
        .filter(|r| r.matches(disposition, intent, attempt))
        .min_by_key(|r| (std::cmp::Reverse(r.specificity()), r.position, r.id))
}

/// Decides the next revisit for a call that was attempt number `attempt` (1 = first call) of
/// the lead. The agent's `override_at` wins over every rule, the last-attempt action included.
pub fn next_revisit(
    rules: &[RevisitRule],
    disposition: &str,
    intent: Option<IntentLevel>,
    attempt: i64,
    now: DateTime<Utc>,
    override_at: Option<DateTime<Utc>>,
) -> Outcome {
    let rule = matching_rule(rules, disposition, intent, attempt);
    if let Some(at) = override_at {
        return Outcome::Revisit {
            at,
            rule_id: rule.map(|r| r.id),
            overridden: true,
        };
    }
    let Some(rule) = rule else {
        return Outcome::None { rule_id: None };
    };
    if rule.max_attempts.is_some_and(|max| attempt >= max) {
        return Outcome::LastAttempt {
            action: rule.after_last,
            rule_id: rule.id,
        };
    }
    // A delay past chrono's range (refused when a rule is saved) schedules nothing rather
    // than overflow.
    let at = rule
        .delay
        .and_then(|(amount, unit)| unit.duration(amount))
        .and_then(|d| now.checked_add_signed(d));
    match at {
        Some(at) => Outcome::Revisit {
            at,
            rule_id: Some(rule.id),
            overridden: false,
        },
        None => Outcome::None {
            rule_id: Some(rule.id),
        },
    }
}

/// An agent's revisit time must not lie in the past (a minute's slack for clocks) nor more than
/// a year ahead.
pub fn override_is_valid(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let (Some(from), Some(to)) = (
        now.checked_sub_signed(Duration::minutes(1)),
        now.checked_add_signed(Duration::days(366)),
    ) else {
        return false;
    };
    from <= at && at <= to
}

/// The rules a new installation starts with (the migration seeds the same rows).
pub fn defaults() -> Vec<RevisitRule> {
    use AfterLast::*;
    use DelayUnit::*;
    let r = |id, d: &str, intent, from, to, delay, max, after| RevisitRule {
        id,
        disposition: Some(d.to_string()),
        intent,
        attempt_from: from,
        attempt_to: to,
        delay,
        max_attempts: max,
        after_last: after,
        position: id,
        active: true,
    };
    vec![
        r(
            1,
            "no_answer",
            None,
            1,
            Some(2),
            Some((2, Hours)),
            Some(6),
            MarkInvalid,
        ),
        r(
            2,
            "no_answer",
            None,
            3,
            None,
            Some((1, Days)),
            Some(6),
            MarkInvalid,
        ),
        r(
            3,
            "busy",
            None,
            1,
            None,
            Some((30, Minutes)),
            Some(6),
            ReturnToPool,
        ),
        r(
            4,
            "call_back",
            None,
            1,
            None,
            Some((1, Days)),
            Some(10),
            ReturnToPool,
        ),
        r(
            5,
            "connected",
            Some(IntentLevel::Interested),
            1,
            None,
            Some((1, Days)),
            Some(8),
            ReturnToPool,
        ),
        r(
            6,
            "connected",
            Some(IntentLevel::Positive),
            1,
            None,
            Some((1, Days)),
            Some(8),
            ReturnToPool,
        ),
        r(
            7,
            "connected",
            Some(IntentLevel::StrongDemand),
            1,
            None,
            Some((4, Hours)),
            Some(8),
            ReturnToPool,
        ),
        r(
            8,
            "connected",
            None,
            1,
            None,
            Some((3, Days)),
            Some(8),
            ReturnToPool,
        ),
        r(
            9,
            "not_interested",
            None,
            1,
            None,
            Some((30, Days)),
            Some(3),
            Stop,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
    }

    fn revisit_in(
        rules: &[RevisitRule],
        d: &str,
        i: Option<IntentLevel>,
        attempt: i64,
    ) -> Option<Duration> {
        next_revisit(rules, d, i, attempt, now(), None)
            .revisit_at()
            .map(|t| t - now())
    }

    #[test]
    fn default_rules_schedule_by_disposition_intent_and_attempt() {
        let rules = defaults();
        assert_eq!(
            revisit_in(&rules, "no_answer", None, 1),
            Some(Duration::hours(2))
        );
        assert_eq!(
            revisit_in(&rules, "no_answer", None, 2),
            Some(Duration::hours(2))
        );
        assert_eq!(
            revisit_in(&rules, "no_answer", None, 3),
            Some(Duration::days(1)),
            "later attempts wait longer"
        );
        assert_eq!(
            revisit_in(&rules, "busy", None, 1),
            Some(Duration::minutes(30))
        );
        assert_eq!(
            revisit_in(&rules, "connected", Some(IntentLevel::Interested), 1),
            Some(Duration::days(1)),
            "connected / 有意向 → tomorrow"
        );
        assert_eq!(
            revisit_in(&rules, "connected", Some(IntentLevel::StrongDemand), 1),
            Some(Duration::hours(4))
        );
        assert_eq!(
            revisit_in(&rules, "connected", Some(IntentLevel::Resistant), 1),
            Some(Duration::days(3)),
            "the catch-all"
        );
        assert_eq!(
            revisit_in(&rules, "connected", None, 1),
            Some(Duration::days(3))
        );
        assert_eq!(
            revisit_in(&rules, "wrong_number", None, 1),
            None,
            "no rule, no revisit"
        );
        assert_eq!(revisit_in(&rules, "qualified", None, 1), None);
    }

    #[test]
    fn the_last_attempt_applies_the_rules_action() {
        let rules = defaults();
        assert_eq!(
            next_revisit(&rules, "no_answer", None, 6, now(), None),
            Outcome::LastAttempt {
                action: AfterLast::MarkInvalid,
                rule_id: 2
            }
        );
        assert_eq!(
            next_revisit(&rules, "no_answer", None, 7, now(), None),
            Outcome::LastAttempt {
                action: AfterLast::MarkInvalid,
                rule_id: 2
            },
            "past the limit too"
        );
        assert!(
            next_revisit(&rules, "no_answer", None, 5, now(), None)
                .revisit_at()
                .is_some()
        );
        assert_eq!(
            next_revisit(&rules, "busy", None, 6, now(), None),
            Outcome::LastAttempt {
                action: AfterLast::ReturnToPool,
                rule_id: 3
            }
        );
        assert_eq!(
            next_revisit(&rules, "not_interested", None, 3, now(), None),
            Outcome::LastAttempt {
                action: AfterLast::Stop,
                rule_id: 9
            }
        );
    }

    #[test]
    fn the_agents_time_wins() {
        let rules = defaults();
        let mine = now() + Duration::minutes(17);
        assert_eq!(
            next_revisit(&rules, "no_answer", None, 1, now(), Some(mine)),
            Outcome::Revisit {
                at: mine,
                rule_id: Some(1),
                overridden: true
            }
        );
        assert_eq!(
            next_revisit(&rules, "no_answer", None, 6, now(), Some(mine)),
            Outcome::Revisit {
                at: mine,
                rule_id: Some(2),
                overridden: true
            },
            "even over the last-attempt action"
        );
        assert_eq!(
            next_revisit(&rules, "qualified", None, 1, now(), Some(mine)),
            Outcome::Revisit {
                at: mine,
                rule_id: None,
                overridden: true
            },
            "even without a rule"
        );
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let base = RevisitRule {
            id: 1,
            disposition: None,
            intent: None,
            attempt_from: 1,
            attempt_to: None,
            delay: Some((1, DelayUnit::Days)),
            max_attempts: None,
            after_last: AfterLast::Stop,
            position: 0,
            active: true,
        };
        let any = base.clone();
        let by_intent = RevisitRule {
            id: 2,
            intent: Some(IntentLevel::Positive),
            delay: Some((2, DelayUnit::Hours)),
            ..base.clone()
        };
        let by_disp = RevisitRule {
            id: 3,
            disposition: Some("busy".into()),
            delay: Some((3, DelayUnit::Minutes)),
            ..base.clone()
        };
        let by_range = RevisitRule {
            id: 4,
            attempt_to: Some(1),
            delay: Some((4, DelayUnit::Minutes)),
            ..base.clone()
        };
        let rules = vec![any, by_intent, by_disp, by_range];
        assert_eq!(
            matching_rule(&rules, "x", None, 2).map(|r| r.id),
            Some(1),
            "the catch-all"
        );
        assert_eq!(
            matching_rule(&rules, "x", None, 1).map(|r| r.id),
            Some(4),
            "a bounded range beats open"
        );
        assert_eq!(
            matching_rule(&rules, "x", Some(IntentLevel::Positive), 1).map(|r| r.id),
            Some(2),
            "intent beats range"
        );
        assert_eq!(
            matching_rule(&rules, "busy", Some(IntentLevel::Positive), 1).map(|r| r.id),
            Some(3),
            "disposition beats intent"
        );
        assert_eq!(
            revisit_in(&rules, "busy", None, 1),
            Some(Duration::minutes(3))
        );
        // Ties go to the lower position, then the lower id.
        let a = RevisitRule {
            id: 10,
            position: 5,
            delay: Some((10, DelayUnit::Minutes)),
            ..base.clone()
        };
        let b = RevisitRule {
            id: 11,
            position: 2,
            delay: Some((11, DelayUnit::Minutes)),
            ..base.clone()
        };
        let c = RevisitRule {
            id: 9,
            position: 2,
            delay: Some((9, DelayUnit::Minutes)),
            ..base.clone()
        };
        assert_eq!(
            matching_rule(&[a, b, c], "x", None, 1).map(|r| r.id),
            Some(9)
        );
    }

    #[test]
    fn inactive_rules_and_ranges_do_not_match() {
        let rule = RevisitRule {
            id: 1,
            disposition: Some("busy".into()),
            intent: None,
            attempt_from: 2,
            attempt_to: Some(3),
            delay: Some((1, DelayUnit::Hours)),
            max_attempts: None,
            after_last: AfterLast::Stop,
            position: 0,
            active: true,
        };
        let rules = [rule.clone()];
        assert!(
            matching_rule(&rules, "busy", None, 1).is_none(),
            "below the range"
        );
        assert!(matching_rule(&rules, "busy", None, 2).is_some());
        assert!(matching_rule(&rules, "busy", None, 3).is_some());
        assert!(
            matching_rule(&rules, "busy", None, 4).is_none(),
            "above the range"
        );
        assert!(
            matching_rule(&rules, "no_answer", None, 2).is_none(),
            "other disposition"
        );
        let off = [RevisitRule {
            active: false,
            ..rule.clone()
        }];
        assert!(matching_rule(&off, "busy", None, 2).is_none());
        let intent = [RevisitRule {
            intent: Some(IntentLevel::Interested),
            ..rule
        }];
        assert!(
            matching_rule(&intent, "busy", None, 2).is_none(),
            "a call without intent misses an intent rule"
        );
        assert!(matching_rule(&intent, "busy", Some(IntentLevel::Positive), 2).is_none());
        assert!(matching_rule(&intent, "busy", Some(IntentLevel::Interested), 2).is_some());
    }

    #[test]
    fn a_rule_without_delay_schedules_nothing() {
        let rules = [RevisitRule {
            id: 7,
            disposition: None,
            intent: None,
            attempt_from: 1,
            attempt_to: None,
            delay: None,
            max_attempts: Some(3),
            after_last: AfterLast::ReturnToPool,
            position: 0,
            active: true,
        }];
        assert_eq!(
            next_revisit(&rules, "x", None, 1, now(), None),
            Outcome::None { rule_id: Some(7) }
        );
        assert_eq!(
            next_revisit(&rules, "x", None, 3, now(), None).rule_id(),
            Some(7)
        );
        assert_eq!(
            next_revisit(&[], "x", None, 1, now(), None),
            Outcome::None { rule_id: None }
        );
        assert_eq!(next_revisit(&[], "x", None, 1, now(), None).rule_id(), None);
    }

    #[test]
    fn rules_and_overrides_are_validated() {
        for r in defaults() {
            assert_eq!(r.validate(), Ok(()));
        }
        let r = defaults().remove(0);
        assert_eq!(
            RevisitRule {
                attempt_from: 0,
                ..r.clone()
            }
            .validate(),
            Err(RuleProblem::Attempts)
        );
        assert_eq!(
            RevisitRule {
                attempt_from: 3,
                attempt_to: Some(2),
                ..r.clone()
            }
            .validate(),
            Err(RuleProblem::Attempts)
        );
        assert_eq!(
            RevisitRule {
                delay: Some((0, DelayUnit::Hours)),
                ..r.clone()
            }
            .validate(),
            Err(RuleProblem::Delay)
        );
        assert_eq!(
            RevisitRule {
                delay: Some((366, DelayUnit::Days)),
                ..r.clone()
            }
            .validate(),
            Err(RuleProblem::Delay)
        );
        assert_eq!(
            RevisitRule {
                max_attempts: Some(0),
                ..r.clone()
            }
            .validate(),
            Err(RuleProblem::MaxAttempts)
        );
        for (rule, problem) in [
            (
                RevisitRule {
                    delay: Some((i64::MAX, DelayUnit::Minutes)),
                    ..r.clone()
                },
                RuleProblem::Delay,
            ),
            (
                RevisitRule {
                    attempt_from: i64::MAX,
                    attempt_to: None,
                    ..r.clone()
                },
                RuleProblem::Attempts,
            ),
            (
                RevisitRule {
                    attempt_to: Some(i64::MAX),
                    ..r.clone()
                },
                RuleProblem::Attempts,
            ),
            (
                RevisitRule {
                    max_attempts: Some(i64::MAX),
                    ..r.clone()
                },
                RuleProblem::MaxAttempts,
            ),
            (
                RevisitRule {
                    position: i64::MIN,
                    ..r.clone()
                },
                RuleProblem::Position,
            ),
        ] {
            assert_eq!(rule.validate(), Err(problem), "{rule:?}");
        }
        // A stored rule past the range schedules nothing instead of overflowing.
        let huge = [RevisitRule {
            delay: Some((i64::MAX, DelayUnit::Days)),
            ..r.clone()
        }];
        assert_eq!(
            next_revisit(&huge, "no_answer", None, 1, now(), None),
            Outcome::None { rule_id: Some(1) }
        );
        assert!(override_is_valid(now() + Duration::hours(1), now()));
        assert!(
            override_is_valid(now() - Duration::seconds(30), now()),
            "a little clock slack"
        );
        assert!(!override_is_valid(now() - Duration::hours(1), now()));
        assert!(!override_is_valid(now() + Duration::days(400), now()));
    }

    #[test]
    fn codes_round_trip() {
        for u in DelayUnit::ALL {
            assert_eq!(DelayUnit::parse(u.code()), Some(u));
        }
        for a in AfterLast::ALL {
            assert_eq!(AfterLast::parse(a.code()), Some(a));
        }
        assert_eq!(DelayUnit::parse("weeks"), None);
        assert_eq!(AfterLast::parse("explode"), None);
    }
}
