//! Who owns a record and for how long (F9): reclaim countdowns, claim limits and cool-downs,
//! protection, referrals, the backup owner, and how a 撞单 (collision) case escalates.
//!
//! Pure rules: the store reads the facts (when a record was taken, its last valid follow-up,
//! how many leads a person claimed today…) and these functions say what follows from them at a
//! given moment, which the caller passes in, so that tests move the clock instead of waiting.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{IntentLevel, TeamId, UserId};

/// What kind of record a rule or a cool-down speaks of: a lead reached by phone, or a company
/// (a lead with a company name), which the regulations protect longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Phone,
    Company,
}

impl RecordKind {
    pub const ALL: [RecordKind; 2] = [RecordKind::Phone, RecordKind::Company];

    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Phone => "phone",
            RecordKind::Company => "company",
        }
    }

    pub fn parse(s: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.code() == s.trim())
    }

    /// A record with a company name is a company; otherwise it is a phone lead.
    pub fn of(company: Option<&str>) -> RecordKind {
        if company.is_some_and(|c| !c.trim().is_empty()) {
            RecordKind::Company
        } else {
            RecordKind::Phone
        }
    }
}

/// What a reclaim rule waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReclaimBasis {
    /// No valid follow-up (a call whose disposition counts) for N days.
    NoValidFollowUp,
    /// No progress (a rise in status or intent) for N days.
    NoProgress,
    /// No deal within N days of taking the record.
    NoDeal,
}

impl ReclaimBasis {
    pub const ALL: [ReclaimBasis; 3] = [
        ReclaimBasis::NoValidFollowUp,
        ReclaimBasis::NoProgress,
        ReclaimBasis::NoDeal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReclaimBasis::NoValidFollowUp => "no_valid_follow_up",
            ReclaimBasis::NoProgress => "no_progress",
            ReclaimBasis::NoDeal => "no_deal",
        }
    }

    pub fn parse(s: &str) -> Option<ReclaimBasis> {
        ReclaimBasis::ALL.into_iter().find(|b| b.code() == s.trim())
    }
}

/// Longest countdown a rule may set: ten years.
pub const MAX_RECLAIM_DAYS: u16 = 3650;

/// A reclaim rule (回收规则): a record whose facts match `scope` returns to its pool `days`
/// days after the moment its `basis` last moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimRule {
    pub id: i64,
    pub basis: ReclaimBasis,
    pub days: u16,
    pub scope: RuleScope,
}

/// Which records a rule applies to; a field left `None` matches every record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleScope {
    pub kind: Option<RecordKind>,
    pub intent: Option<IntentLevel>,
    pub grade: Option<String>,
    pub source: Option<String>,
}

impl RuleScope {
    fn matches(&self, r: &OwnedRecord) -> bool {
        self.kind.is_none_or(|k| k == r.kind)
            && self.intent.is_none_or(|i| Some(i) == r.intent)
            && self
                .grade
                .as_deref()
                .is_none_or(|g| Some(g) == r.grade.as_deref())
            && self
                .source
                .as_deref()
                .is_none_or(|s| Some(s) == r.source.as_deref())
    }

    /// How many facts the scope names: the more, the more specific the rule.
    fn specificity(&self) -> usize {
        usize::from(self.kind.is_some())
            + usize::from(self.intent.is_some())
            + usize::from(self.grade.is_some())
            + usize::from(self.source.is_some())
    }
}

/// The facts about an owned record that its countdown depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    pub kind: RecordKind,
    pub intent: Option<IntentLevel>,
    pub grade: Option<String>,
    pub source: Option<String>,
    /// When the present owner took it (claim, assignment, hand-over, entry).
    pub owned_since: DateTime<Utc>,
    pub last_valid_follow_up: Option<DateTime<Utc>>,
    pub last_progress: Option<DateTime<Utc>>,
    /// A deal protects the record for good.
    pub has_deal: bool,
    /// Protected by a supervisor until then.
    pub protected_until: Option<DateTime<Utc>>,
}

/// When an owned record returns to its pool, and the rule that sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReclaimDue {
    pub at: DateTime<Utc>,
    pub rule_id: i64,
    pub basis: ReclaimBasis,
}

/// When `record` returns to its pool unless something moves first; `None` when it never does
/// (a deal, or no rule applies). For each basis the most specific matching rule counts (ties:
/// the shorter countdown); of the bases, the earliest moment wins. A supervisor's protection
/// holds the record at least until it ends.
pub fn reclaim_due(record: &OwnedRecord, rules: &[ReclaimRule]) -> Option<ReclaimDue> {
    if record.has_deal {
        return None;
    }
    let due = ReclaimBasis::ALL
        .into_iter()
        .filter_map(|basis| {
            let rule = rules
                .iter()
                .filter(|r| r.basis == basis && r.scope.matches(record))
                .max_by(|a, b| {
                    a.scope
                        .specificity()
                        .cmp(&b.scope.specificity())
                        .then(b.days.cmp(&a.days))
                        .then(b.id.cmp(&a.id))
                })?;
            let since = match basis {
                ReclaimBasis::NoValidFollowUp => record.last_valid_follow_up,
                ReclaimBasis::NoProgress => record.last_progress,
                ReclaimBasis::NoDeal => None,
            }
            .map_or(record.owned_since, |t| t.max(record.owned_since));
            let at = since + Duration::days(i64::from(rule.days.min(MAX_RECLAIM_DAYS)));
            Some(ReclaimDue {
                at,
                rule_id: rule.id,
                basis,
            })
        })
        .min_by_key(|d| (d.at, d.rule_id))?;
    Some(match record.protected_until {
        Some(p) if p > due.at => ReclaimDue { at: p, ..due },
        _ => due,
    })
}

/// Whole days left before `due` as the list shows them (还剩 N 天): a part of a day counts as a
/// day, and a moment already past shows 0.
pub fn days_left(due: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let left = due - now;
    if left <= Duration::zero() {
        return 0;
    }
    let days = left.num_days();
    if left > Duration::days(days) {
        days + 1
    } else {
        days
    }
}

/// The warning to send now, if any: the smallest of `warn_days` (e.g. 3 and 1 days before)
/// whose moment has come, unless a warning at least that close was already sent for this
/// countdown (`last_warned`, in days before). Returns the number of days the warning speaks of.
pub fn warning_due(
    due: DateTime<Utc>,
    warn_days: &[u16],
    last_warned: Option<u16>,
    now: DateTime<Utc>,
) -> Option<u16> {
    if now >= due {
        return None;
    }
    let closest = warn_days
        .iter()
        .copied()
        .filter(|d| now >= due - Duration::days(i64::from(*d)))
        .min()?;
    match last_warned {
        Some(sent) if sent <= closest => None,
        _ => Some(closest),
    }
}

/// How often a person may claim (领取) from a pool. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLimits {
    pub per_day: Option<u32>,
    pub held_at_once: Option<u32>,
    /// How long a former owner waits before taking the same phone lead back.
    pub cooldown_phone_minutes: u32,
    /// … and the same company.
    pub cooldown_company_minutes: u32,
}

impl Default for ClaimLimits {
    /// Out of the box: 30 claims a day, no cap on records held, and the regulations' examples
    /// of cool-down (1 hour for a phone lead, 12 hours for a company).
    fn default() -> Self {
        ClaimLimits {
            per_day: Some(30),
            held_at_once: None,
            cooldown_phone_minutes: 60,
            cooldown_company_minutes: 12 * 60,
        }
    }
}

impl ClaimLimits {
    pub fn cooldown(&self, kind: RecordKind) -> Duration {
        Duration::minutes(i64::from(match kind {
            RecordKind::Phone => self.cooldown_phone_minutes,
            RecordKind::Company => self.cooldown_company_minutes,
        }))
    }
}

/// Limits set for a role and, overriding it, for a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSetting {
    pub role: Option<crate::Role>,
    pub team: Option<TeamId>,
    pub limits: ClaimLimits,
}

/// The limits that bind a person: their team's setting if there is one, else their role's,
/// else the defaults.
pub fn limits_for(
    role: crate::Role,
    team: Option<TeamId>,
    settings: &[LimitSetting],
) -> ClaimLimits {
    let by_team = team.and_then(|t| settings.iter().find(|s| s.team == Some(t)));
    let by_role = || {
        settings
            .iter()
            .find(|s| s.team.is_none() && s.role == Some(role))
    };
    by_team
        .or_else(by_role)
        .map(|s| s.limits)
        .unwrap_or_default()
}

/// What a person has done that their limits count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimCounts {
    /// Claims since the start of the organisation's day.
    pub today: u32,
    /// Records owned now.
    pub held: u32,
}

/// Why a claim is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// Someone owns it already.
    AlreadyOwned,
    /// The day's claims are used up.
    DailyLimit,
    /// The person holds as many records as they may.
    HeldLimit,
    /// The person owned it until recently and must wait until then.
    Cooldown { until: DateTime<Utc> },
}

impl ClaimRefusal {
    /// The error code the API answers with (409).
    pub fn code(self) -> &'static str {
        match self {
            ClaimRefusal::AlreadyOwned => "already_owned",
            ClaimRefusal::DailyLimit | ClaimRefusal::HeldLimit => "claim_limit",
            ClaimRefusal::Cooldown { .. } => "cooldown",
        }
    }
}

/// The facts about the record being claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimTarget {
    pub owner: Option<UserId>,
    pub kind: RecordKind,
    /// When the claimant last gave it up (released or reclaimed), if ever.
    pub released_by_claimant_at: Option<DateTime<Utc>>,
}

/// Whether `claimant` may take `target` now.
pub fn check_claim(
    limits: &ClaimLimits,
    counts: ClaimCounts,
    target: &ClaimTarget,
    now: DateTime<Utc>,
) -> Result<(), ClaimRefusal> {
    if target.owner.is_some() {
        return Err(ClaimRefusal::AlreadyOwned);
    }
    if let Some(released) = target.released_by_claimant_at {
        let until = released + limits.cooldown(target.kind);
        if now < until {
            return Err(ClaimRefusal::Cooldown { until });
        }
    }
    if limits.per_day.is_some_and(|cap| counts.today >= cap) {
        return Err(ClaimRefusal::DailyLimit);
    }
    if limits.held_at_once.is_some_and(|cap| counts.held >= cap) {
        return Err(ClaimRefusal::HeldLimit);
    }
    Ok(())
}

/// What is left of each limit, as the pool page shows it; `None` where there is no limit.
pub fn claims_left(limits: &ClaimLimits, counts: ClaimCounts) -> (Option<u32>, Option<u32>) {
    (
        limits.per_day.map(|cap| cap.saturating_sub(counts.today)),
        limits
            .held_at_once
            .map(|cap| cap.saturating_sub(counts.held)),
    )
}

/// Who a record goes to when it is entered, imported or claimed: the owner of the customer who
/// referred it (老客户带来的新客户仍属于原销售人员) if there is one, else the person acting.
pub fn owner_on_entry(referrer_owner: Option<UserId>, acting: UserId) -> UserId {
    referrer_owner.unwrap_or(acting)
}

/// A period of leave, from and until (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Absence {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Who receives a record's revisits and reminders at `now`: the primary owner, unless they are
/// away, then the backup owner, then the supervisor of the primary's team.
pub fn reminder_recipient(
    primary: UserId,
    absences: &[Absence],
    backup: Option<UserId>,
    supervisor: Option<UserId>,
    now: DateTime<Utc>,
) -> UserId {
    let away = absences.iter().any(|a| a.from <= now && now < a.until);
    if !away {
        return primary;
    }
    backup.or(supervisor).unwrap_or(primary)
}

/// How a collision case (撞单) is settled, per the regulations: first the two people between
/// themselves, then the supervisor (sales manager), then the company's leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollisionPolicy {
    /// How long the two have to settle it themselves, without penalty.
    pub settle_hours: u32,
    /// Penalty on each side when the supervisor decides, in basis points of base pay (3000 = 30%).
    pub supervisor_penalty_bp: u32,
    /// … when leadership decides (an appeal, or the supervisor did not decide in time).
    pub leadership_penalty_bp: u32,
    /// How long the supervisor has before the case goes to leadership.
    pub supervisor_hours: u32,
    /// Losing this many cases within `repeat_days` flags a person as possible 恶意抢单.
    pub repeat_losses: u32,
    pub repeat_days: u32,
}

impl Default for CollisionPolicy {
    fn default() -> Self {
        CollisionPolicy {
            settle_hours: 48,
            supervisor_penalty_bp: 3000,
            leadership_penalty_bp: 5000,
            supervisor_hours: 72,
            repeat_losses: 3,
            repeat_days: 30,
        }
    }
}

/// Who may decide an open case at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStage {
    /// The two people may settle it between themselves.
    Parties,
    /// The supervisor decides.
    Supervisor,
    /// The company's leadership (admin) decides.
    Leadership,
}

impl CaseStage {
    pub fn code(self) -> &'static str {
        match self {
            CaseStage::Parties => "parties",
            CaseStage::Supervisor => "supervisor",
            CaseStage::Leadership => "leadership",
        }
    }

    /// The penalty on each side of a decision taken at this stage, in basis points.
    pub fn penalty_bp(self, policy: &CollisionPolicy) -> u32 {
        match self {
            CaseStage::Parties => 0,
            CaseStage::Supervisor => policy.supervisor_penalty_bp,
            CaseStage::Leadership => policy.leadership_penalty_bp,
        }
    }
}

/// The stage of a case opened at `opened` (and `appealed`, if it was) at `now`.
pub fn case_stage(
    policy: &CollisionPolicy,
    opened: DateTime<Utc>,
    appealed: bool,
    now: DateTime<Utc>,
) -> CaseStage {
    let parties_end = opened + Duration::hours(i64::from(policy.settle_hours));
    let supervisor_end = parties_end + Duration::hours(i64::from(policy.supervisor_hours));
    if appealed || now >= supervisor_end {
        CaseStage::Leadership
    } else if now >= parties_end {
        CaseStage::Supervisor
    } else {
        CaseStage::Parties
    }
}

/// When the clock of a case starts, as [`case_stage`] reads it: its opening, or earlier when
/// the two said they cannot settle (an escalation moves the case to the supervisor at once, and
/// the supervisor's time runs from that moment).
pub fn case_start(
    policy: &CollisionPolicy,
    opened: DateTime<Utc>,
    escalated: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let settle = Duration::hours(i64::from(policy.settle_hours));
    match escalated {
        Some(e) if e < opened + settle => e - settle,
        _ => opened,
    }
}

/// When the present stage of a case started at `start` (see [`case_start`]) ends: the two's
/// time, then the supervisor's; leadership has no deadline.
pub fn stage_deadline(
    policy: &CollisionPolicy,
    start: DateTime<Utc>,
    stage: CaseStage,
) -> Option<DateTime<Utc>> {
    let parties_end = start + Duration::hours(i64::from(policy.settle_hours));
    match stage {
        CaseStage::Parties => Some(parties_end),
        CaseStage::Supervisor => {
            Some(parties_end + Duration::hours(i64::from(policy.supervisor_hours)))
        }
        CaseStage::Leadership => None,
    }
}

/// Whether the loser of a supervisor's decision taken at `decided` may still appeal at `now`:
/// within the supervisor's time again (72 hours by default).
pub fn may_appeal(policy: &CollisionPolicy, decided: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now <= decided + Duration::hours(i64::from(policy.supervisor_hours))
}

/// A penalty in 分 on a base pay in 分: exact, rounded half up.
pub fn penalty_fen(base_pay_fen: i64, bp: u32) -> i64 {
    (i128::from(base_pay_fen) * i128::from(bp) + 5_000)
        .div_euclid(10_000)
        .try_into()
        .unwrap_or(i64::MAX)
}

/// Whether the moments a person lost cases at make them a possible 恶意抢单 at `now`.
pub fn repeat_loser(
    policy: &CollisionPolicy,
    losses: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> bool {
    let since = now - Duration::days(i64::from(policy.repeat_days));
    policy.repeat_losses > 0
        && losses.iter().filter(|t| **t > since && **t <= now).count()
            >= policy.repeat_losses as usize
}

#[cfg(test)]
mod tests;
