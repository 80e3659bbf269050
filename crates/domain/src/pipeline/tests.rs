use chrono::TimeZone;

use super::*;

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
}

fn levels() -> Vec<GradeLevel> {
    let l = |code: &str, min: i64, every: i64, position: i64| GradeLevel {
        code: code.into(),
        label_zh: code.into(),
        label_en: code.into(),
        min_sales_fen: min,
        contact_every_days: every,
        position,
    };
    // Out of order on purpose: the thresholds decide, not the list's order.
    vec![
        l("C", 0, 30, 3),
        l("A", 10_000_000, 7, 1),
        l("B", 2_000_000, 14, 2),
    ]
}

#[test]
fn money_is_shown_in_yuan_with_two_decimals_and_read_back_exactly() {
    assert_eq!(yuan(123_456), "1234.56");
    assert_eq!(yuan(5), "0.05");
    assert_eq!(yuan(-5), "-0.05");
    assert_eq!(yuan(0), "0.00");
    assert_eq!(parse_yuan("1234.56"), Some(123_456));
    assert_eq!(parse_yuan("1,234.5"), Some(123_450));
    assert_eq!(parse_yuan("¥88"), Some(8_800));
    assert_eq!(parse_yuan(".07"), Some(7));
    // 0.1 + 0.2 is 30 分, not 30.000000000000004.
    assert_eq!(parse_yuan("0.30"), Some(30));
    for bad in [
        "",
        ".",
        "1.234",
        "-1",
        "1e3",
        "abc",
        "1.2.3",
        "100000000000.01",
    ] {
        assert_eq!(parse_yuan(bad), None, "{bad:?}");
    }
    assert_eq!(parse_yuan("100000000000"), Some(MAX_AMOUNT_FEN));
}

#[test]
fn the_grade_is_the_highest_threshold_reached_exactly_at_the_fen() {
    let levels = levels();
    let g = |fen| grade_for_sales(fen, &levels).map(|l| l.code.as_str());
    assert_eq!(g(10_000_000), Some("A"));
    assert_eq!(g(9_999_999), Some("B"));
    assert_eq!(g(2_000_000), Some("B"));
    assert_eq!(g(1_999_999), Some("C"));
    assert_eq!(g(0), Some("C"));
    // Returns larger than the orders: below every threshold.
    assert_eq!(g(-1), None);
}

#[test]
fn the_next_contact_is_due_by_the_grades_frequency() {
    let levels = levels();
    let every = |code: &str| {
        levels
            .iter()
            .find(|l| l.code == code)
            .unwrap()
            .contact_every_days
    };
    let last = Some(at(1, 9));
    assert_eq!(contact_due_at(last, at(20, 0), every("A")), at(8, 9));
    assert_eq!(contact_due_at(last, at(20, 0), every("B")), at(15, 9));
    assert_eq!(
        contact_due_at(last, at(20, 0), every("C")),
        Utc.with_ymd_and_hms(2026, 3, 31, 9, 0, 0).unwrap()
    );
    // Never contacted: counted from when it was graded.
    assert_eq!(contact_due_at(None, at(2, 0), every("A")), at(9, 0));
    assert_eq!(days_late(at(8, 9), at(10, 10)), 2);
    assert_eq!(days_late(at(8, 9), at(8, 8)), 0);
}

#[test]
fn time_in_stage_adds_each_stay_and_counts_the_present_one_to_now() {
    let stays = [
        StageStay {
            stage_id: 1,
            entered_at: at(1, 0),
            left_at: Some(at(3, 12)),
        },
        StageStay {
            stage_id: 2,
            entered_at: at(3, 12),
            left_at: Some(at(4, 0)),
        },
        // Moved back to the first stage, still there.
        StageStay {
            stage_id: 1,
            entered_at: at(4, 0),
            left_at: None,
        },
    ];
    let got = time_in_stages(&stays, at(5, 6));
    assert_eq!(
        got,
        vec![(1, TimeDelta::hours(60 + 30)), (2, TimeDelta::hours(12)),]
    );
    assert_eq!(stay_text(TimeDelta::hours(90), true), "3天18小时");
    assert_eq!(stay_text(TimeDelta::minutes(125), false), "2h 5m");
}

#[test]
fn a_lost_stage_needs_a_reason_and_a_retired_stage_takes_no_card() {
    let stage = |is_lost, active| Stage {
        id: 1,
        code: "x".into(),
        label_zh: "x".into(),
        label_en: "x".into(),
        position: 1,
        is_won: false,
        is_lost,
        active,
    };
    assert_eq!(
        check_move(&stage(true, true), None),
        Err(MoveRefusal::LostReasonRequired)
    );
    assert_eq!(check_move(&stage(true, true), Some(3)), Ok(()));
    assert_eq!(
        check_move(&stage(false, true), Some(3)),
        Err(MoveRefusal::ReasonNotLost)
    );
    assert_eq!(check_move(&stage(false, true), None), Ok(()));
    assert_eq!(
        check_move(&stage(false, false), None),
        Err(MoveRefusal::StageRetired)
    );
}

#[test]
fn the_grading_window_reads_its_setting_and_counts_calendar_months() {
    assert_eq!(grade_window_months(None), 3);
    assert_eq!(grade_window_months(Some("6")), 6);
    assert_eq!(grade_window_months(Some("0")), 3);
    assert_eq!(grade_window_months(Some("abc")), 3);
    let end = Utc.with_ymd_and_hms(2026, 5, 31, 0, 0, 0).unwrap();
    assert_eq!(
        grade_window_start(end, 3),
        Utc.with_ymd_and_hms(2026, 2, 28, 0, 0, 0).unwrap()
    );
    assert_eq!(grading_month(end), "2026-05");
}
