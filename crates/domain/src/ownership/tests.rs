use chrono::TimeZone;

use super::*;
use crate::Role;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
}

fn rule(id: i64, basis: ReclaimBasis, days: u16, scope: RuleScope) -> ReclaimRule {
    ReclaimRule {
        id,
        basis,
        days,
        scope,
    }
}

/// The out-of-the-box rule: 15 days without a valid follow-up.
fn default_rules() -> Vec<ReclaimRule> {
    vec![rule(
        1,
        ReclaimBasis::NoValidFollowUp,
        15,
        RuleScope::default(),
    )]
}

fn record() -> OwnedRecord {
    OwnedRecord {
        kind: RecordKind::Phone,
        intent: None,
        grade: None,
        source: None,
        owned_since: at(1, 9),
        last_valid_follow_up: None,
        last_progress: None,
        has_deal: false,
        protected_until: None,
    }
}

#[test]
fn a_record_returns_fifteen_days_after_it_was_taken_and_a_valid_follow_up_resets_it() {
    let due = reclaim_due(&record(), &default_rules()).unwrap();
    assert_eq!(due.at, at(16, 9));
    assert_eq!((due.rule_id, due.basis), (1, ReclaimBasis::NoValidFollowUp));

    let followed = OwnedRecord {
        last_valid_follow_up: Some(at(10, 14)),
        ..record()
    };
    assert_eq!(
        reclaim_due(&followed, &default_rules()).unwrap().at,
        at(25, 14)
    );
    // A follow-up from before the present owner took it does not count for them.
    let older = OwnedRecord {
        last_valid_follow_up: Some(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()),
        ..record()
    };
    assert_eq!(reclaim_due(&older, &default_rules()).unwrap().at, at(16, 9));
}

#[test]
fn the_most_specific_rule_sets_the_countdown_per_kind_intent_grade_and_source() {
    let rules = vec![
        rule(1, ReclaimBasis::NoValidFollowUp, 15, RuleScope::default()),
        rule(
            2,
            ReclaimBasis::NoValidFollowUp,
            30,
            RuleScope {
                intent: Some(IntentLevel::StrongDemand),
                ..RuleScope::default()
            },
        ),
        rule(
            3,
            ReclaimBasis::NoValidFollowUp,
            7,
            RuleScope {
                kind: Some(RecordKind::Company),
                source: Some("展会".into()),
                ..RuleScope::default()
            },
        ),
        rule(
            4,
            ReclaimBasis::NoValidFollowUp,
            60,
            RuleScope {
                grade: Some("A".into()),
                ..RuleScope::default()
            },
        ),
    ];
    let hot = OwnedRecord {
        intent: Some(IntentLevel::StrongDemand),
        ..record()
    };
    assert_eq!(reclaim_due(&hot, &rules).unwrap().rule_id, 2);
    assert_eq!(reclaim_due(&hot, &rules).unwrap().at, at(31, 9));

    let fair_company = OwnedRecord {
        kind: RecordKind::Company,
        source: Some("展会".into()),
        intent: Some(IntentLevel::StrongDemand),
        ..record()
    };
    // Two facts named beat one.
    assert_eq!(reclaim_due(&fair_company, &rules).unwrap().rule_id, 3);
    assert_eq!(reclaim_due(&fair_company, &rules).unwrap().at, at(8, 9));

    let grade_a = OwnedRecord {
        grade: Some("A".into()),
        ..record()
    };
    assert_eq!(reclaim_due(&grade_a, &rules).unwrap().rule_id, 4);
    // A phone lead from the fair matches only the catch-all.
    let phone_from_fair = OwnedRecord {
        source: Some("展会".into()),
        ..record()
    };
    assert_eq!(reclaim_due(&phone_from_fair, &rules).unwrap().rule_id, 1);
}

#[test]
fn of_several_bases_the_earliest_moment_wins() {
    let rules = vec![
        rule(1, ReclaimBasis::NoValidFollowUp, 15, RuleScope::default()),
        rule(2, ReclaimBasis::NoProgress, 20, RuleScope::default()),
        rule(3, ReclaimBasis::NoDeal, 90, RuleScope::default()),
    ];
    // Called every few days but never moving: no progress sends it back.
    let busy = OwnedRecord {
        last_valid_follow_up: Some(at(20, 9)),
        last_progress: Some(at(2, 9)),
        ..record()
    };
    let due = reclaim_due(&busy, &rules).unwrap();
    assert_eq!((due.at, due.basis), (at(22, 9), ReclaimBasis::NoProgress));
    // Moving along but never closing: the deal rule waits 90 days from taking it.
    let moving = OwnedRecord {
        last_valid_follow_up: Some(Utc.with_ymd_and_hms(2027, 2, 25, 9, 0, 0).unwrap()),
        last_progress: Some(Utc.with_ymd_and_hms(2027, 2, 25, 9, 0, 0).unwrap()),
        ..record()
    };
    let due = reclaim_due(&moving, &rules).unwrap();
    assert_eq!(due.basis, ReclaimBasis::NoDeal);
    assert_eq!(due.at, at(1, 9) + Duration::days(90));
}

#[test]
fn deals_protect_for_good_and_a_supervisor_protects_until_a_date() {
    let dealt = OwnedRecord {
        has_deal: true,
        ..record()
    };
    assert_eq!(reclaim_due(&dealt, &default_rules()), None);

    let protected = OwnedRecord {
        protected_until: Some(at(28, 0)),
        ..record()
    };
    let due = reclaim_due(&protected, &default_rules()).unwrap();
    assert_eq!(due.at, at(28, 0));
    assert_eq!(due.rule_id, 1, "the rule that fires is still named");
    // Protection that ended before the countdown changes nothing.
    let lapsed = OwnedRecord {
        protected_until: Some(at(3, 0)),
        ..record()
    };
    assert_eq!(
        reclaim_due(&lapsed, &default_rules()).unwrap().at,
        at(16, 9)
    );
    assert_eq!(reclaim_due(&record(), &[]), None, "no rule, no countdown");
}

#[test]
fn a_countdown_of_the_longest_allowed_rule_does_not_overflow() {
    let rules = vec![rule(
        1,
        ReclaimBasis::NoDeal,
        u16::MAX,
        RuleScope::default(),
    )];
    let due = reclaim_due(&record(), &rules).unwrap();
    assert_eq!(
        due.at,
        at(1, 9) + Duration::days(i64::from(MAX_RECLAIM_DAYS))
    );
}

#[test]
fn days_left_counts_a_part_of_a_day_as_a_day() {
    let due = at(16, 9);
    assert_eq!(days_left(due, at(1, 9)), 15);
    assert_eq!(days_left(due, at(1, 10)), 15);
    assert_eq!(days_left(due, at(15, 9)), 1);
    assert_eq!(days_left(due, at(16, 8)), 1);
    assert_eq!(days_left(due, at(16, 9)), 0);
    assert_eq!(days_left(due, at(20, 9)), 0);
}

#[test]
fn the_owner_is_warned_three_days_and_one_day_before_once_each() {
    let due = at(16, 9);
    let warn = [3, 1];
    assert_eq!(warning_due(due, &warn, None, at(13, 8)), None);
    assert_eq!(warning_due(due, &warn, None, at(13, 9)), Some(3));
    assert_eq!(warning_due(due, &warn, Some(3), at(14, 9)), None);
    assert_eq!(warning_due(due, &warn, Some(3), at(15, 9)), Some(1));
    assert_eq!(warning_due(due, &warn, Some(1), at(16, 8)), None);
    // A job that was down for days sends only the closest warning.
    assert_eq!(warning_due(due, &warn, None, at(15, 12)), Some(1));
    assert_eq!(
        warning_due(due, &warn, None, at(16, 9)),
        None,
        "due: reclaim, not warn"
    );
}

fn counts(today: u32, held: u32) -> ClaimCounts {
    ClaimCounts { today, held }
}

fn pool_lead(kind: RecordKind) -> ClaimTarget {
    ClaimTarget {
        owner: None,
        kind,
        released_by_claimant_at: None,
    }
}

#[test]
fn an_agent_claims_thirty_a_day_by_default() {
    let limits = ClaimLimits::default();
    let lead = pool_lead(RecordKind::Phone);
    assert_eq!(
        check_claim(&limits, counts(29, 500), &lead, at(1, 9)),
        Ok(())
    );
    assert_eq!(
        check_claim(&limits, counts(30, 0), &lead, at(1, 9)),
        Err(ClaimRefusal::DailyLimit)
    );
    assert_eq!(ClaimRefusal::DailyLimit.code(), "claim_limit");
    assert_eq!(claims_left(&limits, counts(12, 3)), (Some(18), None));
    assert_eq!(claims_left(&limits, counts(40, 3)), (Some(0), None));
}

#[test]
fn an_owned_record_cannot_be_claimed_whatever_the_limits() {
    let owned = ClaimTarget {
        owner: Some(UserId(7)),
        ..pool_lead(RecordKind::Phone)
    };
    assert_eq!(
        check_claim(&ClaimLimits::default(), counts(99, 99), &owned, at(1, 9)),
        Err(ClaimRefusal::AlreadyOwned)
    );
    assert_eq!(ClaimRefusal::AlreadyOwned.code(), "already_owned");
}

#[test]
fn a_cap_on_records_held_at_once_is_checked() {
    let limits = ClaimLimits {
        held_at_once: Some(200),
        ..ClaimLimits::default()
    };
    let lead = pool_lead(RecordKind::Phone);
    assert_eq!(
        check_claim(&limits, counts(0, 199), &lead, at(1, 9)),
        Ok(())
    );
    assert_eq!(
        check_claim(&limits, counts(0, 200), &lead, at(1, 9)),
        Err(ClaimRefusal::HeldLimit)
    );
    assert_eq!(claims_left(&limits, counts(0, 150)), (Some(30), Some(50)));
}

#[test]
fn a_former_owner_waits_an_hour_for_a_phone_lead_and_twelve_for_a_company() {
    let limits = ClaimLimits::default();
    let released = at(1, 9);
    let phone = ClaimTarget {
        released_by_claimant_at: Some(released),
        ..pool_lead(RecordKind::Phone)
    };
    assert_eq!(
        check_claim(
            &limits,
            counts(0, 0),
            &phone,
            released + Duration::minutes(59)
        ),
        Err(ClaimRefusal::Cooldown { until: at(1, 10) })
    );
    assert_eq!(
        check_claim(&limits, counts(0, 0), &phone, at(1, 10)),
        Ok(())
    );
    let company = ClaimTarget {
        kind: RecordKind::Company,
        ..phone
    };
    assert_eq!(
        check_claim(&limits, counts(0, 0), &company, at(1, 20)),
        Err(ClaimRefusal::Cooldown { until: at(1, 21) })
    );
    assert_eq!(
        check_claim(&limits, counts(0, 0), &company, at(1, 21)),
        Ok(())
    );
    assert_eq!(RecordKind::of(Some("星河科技")), RecordKind::Company);
    assert_eq!(RecordKind::of(Some("  ")), RecordKind::Phone);
}

#[test]
fn a_team_setting_overrides_the_role_setting_which_overrides_the_default() {
    let strict = ClaimLimits {
        per_day: Some(10),
        ..ClaimLimits::default()
    };
    let generous = ClaimLimits {
        per_day: Some(80),
        ..ClaimLimits::default()
    };
    let settings = vec![
        LimitSetting {
            role: Some(Role::Agent),
            team: None,
            limits: strict,
        },
        LimitSetting {
            role: None,
            team: Some(TeamId(2)),
            limits: generous,
        },
    ];
    assert_eq!(limits_for(Role::Agent, Some(TeamId(1)), &settings), strict);
    assert_eq!(
        limits_for(Role::Agent, Some(TeamId(2)), &settings),
        generous
    );
    assert_eq!(limits_for(Role::Agent, None, &settings), strict);
    assert_eq!(
        limits_for(Role::Sales, None, &settings),
        ClaimLimits::default()
    );
}

#[test]
fn a_referred_record_goes_to_the_referrers_owner() {
    assert_eq!(owner_on_entry(Some(UserId(3)), UserId(9)), UserId(3));
    assert_eq!(owner_on_entry(None, UserId(9)), UserId(9));
}

#[test]
fn while_the_owner_is_away_reminders_go_to_the_backup_then_the_supervisor() {
    let leave = [Absence {
        from: at(10, 0),
        until: at(17, 0),
    }];
    let (owner, backup, sup) = (UserId(1), Some(UserId(2)), Some(UserId(3)));
    assert_eq!(
        reminder_recipient(owner, &leave, backup, sup, at(9, 23)),
        owner
    );
    assert_eq!(
        reminder_recipient(owner, &leave, backup, sup, at(10, 0)),
        UserId(2)
    );
    assert_eq!(
        reminder_recipient(owner, &leave, None, sup, at(12, 0)),
        UserId(3)
    );
    assert_eq!(
        reminder_recipient(owner, &leave, None, None, at(12, 0)),
        owner
    );
    assert_eq!(
        reminder_recipient(owner, &leave, backup, sup, at(17, 0)),
        owner
    );
}

#[test]
fn a_case_goes_from_the_two_people_to_the_supervisor_then_to_leadership() {
    let policy = CollisionPolicy::default();
    let opened = at(1, 9);
    assert_eq!(
        case_stage(&policy, opened, false, at(3, 8)),
        CaseStage::Parties
    );
    assert_eq!(
        case_stage(&policy, opened, false, at(3, 9)),
        CaseStage::Supervisor
    );
    assert_eq!(
        case_stage(&policy, opened, false, at(6, 8)),
        CaseStage::Supervisor
    );
    assert_eq!(
        case_stage(&policy, opened, false, at(6, 9)),
        CaseStage::Leadership
    );
    assert_eq!(
        case_stage(&policy, opened, true, at(3, 10)),
        CaseStage::Leadership
    );

    assert_eq!(CaseStage::Parties.penalty_bp(&policy), 0);
    assert_eq!(CaseStage::Supervisor.penalty_bp(&policy), 3000);
    assert_eq!(CaseStage::Leadership.penalty_bp(&policy), 5000);
    // 30% and 50% of a 4,567.89 yuan base pay, in 分, exactly.
    assert_eq!(penalty_fen(456_789, 3000), 137_037);
    assert_eq!(penalty_fen(456_789, 5000), 228_395);
    assert_eq!(penalty_fen(0, 5000), 0);
}

#[test]
fn losing_three_cases_in_thirty_days_flags_a_person() {
    let policy = CollisionPolicy::default();
    let now = at(31, 9);
    let losses = [at(2, 9), at(15, 9), at(30, 9)];
    assert!(repeat_loser(&policy, &losses, now));
    assert!(!repeat_loser(&policy, &losses[1..], now));
    // The first loss falls out of the window a day later.
    assert!(!repeat_loser(&policy, &losses, now + Duration::days(1)));
}

#[test]
fn an_escalation_moves_a_case_to_the_supervisor_at_once_and_starts_their_time() {
    let policy = CollisionPolicy::default();
    let opened = at(1, 9);
    // Not escalated: the clock starts at the opening.
    assert_eq!(case_start(&policy, opened, None), opened);
    let start = case_start(&policy, opened, Some(at(1, 12)));
    assert_eq!(
        case_stage(&policy, start, false, at(1, 12)),
        CaseStage::Supervisor
    );
    assert_eq!(
        stage_deadline(&policy, start, CaseStage::Supervisor),
        Some(at(4, 12))
    );
    assert_eq!(
        case_stage(&policy, start, false, at(4, 12)),
        CaseStage::Leadership
    );
    // An escalation after the two's time changes nothing.
    assert_eq!(case_start(&policy, opened, Some(at(5, 9))), opened);
    assert_eq!(
        stage_deadline(&policy, opened, CaseStage::Parties),
        Some(at(3, 9))
    );
    assert_eq!(stage_deadline(&policy, opened, CaseStage::Leadership), None);
    // The loser of a supervisor's decision may appeal within 72 hours.
    assert!(may_appeal(&policy, at(2, 9), at(5, 9)));
    assert!(!may_appeal(&policy, at(2, 9), at(5, 10)));
}
