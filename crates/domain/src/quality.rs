//! Call quality checks (质检): a supervisor scores a call against a configured checklist built from
//! the service rules (自报家门, courtesy, call length, letting the customer hang up first, …). The
//! arithmetic is in integers: a score is a whole number of points per item, and a percentage is
//! kept in tenths of a percent (853 = 85.3 %), rounded half up.

use serde::Serialize;

/// The most points one checklist item may be worth.
pub const MAX_ITEM_POINTS: i64 = 100;

/// One checklist item as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    pub id: i64,
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    pub max_score: i64,
    pub position: i64,
    pub active: bool,
}

/// One item's score as given by the reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct GivenScore {
    pub item_id: i64,
    pub score: i64,
}

/// One item's score as stored: the item's maximum at the time of the review is kept with it, so
/// that a later change of the checklist does not change a past review's percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ItemScore {
    pub item_id: i64,
    pub score: i64,
    pub max_score: i64,
}

/// Why a set of scores is refused; `item_id` names the item concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreProblem {
    /// An active item has no score.
    Missing { item_id: i64 },
    /// An item was scored twice.
    Repeated { item_id: i64 },
    /// A score below 0 or above the item's maximum.
    OutOfRange { item_id: i64, max_score: i64 },
    /// An item that is not on the checklist, or retired.
    Unknown { item_id: i64 },
    /// The checklist has no active item: nothing can be scored.
    EmptyChecklist,
}

/// Checks the reviewer's scores against the active checklist: every active item exactly once,
/// each within 0..=its maximum. Returns the scores in checklist order with their maxima.
pub fn check_scores(
    checklist: &[CheckItem],
    given: &[GivenScore],
) -> Result<Vec<ItemScore>, ScoreProblem> {
    let active: Vec<&CheckItem> = checklist.iter().filter(|i| i.active).collect();
    if active.is_empty() {
        return Err(ScoreProblem::EmptyChecklist);
    }
    for (n, g) in given.iter().enumerate() {
        if given[..n].iter().any(|o| o.item_id == g.item_id) {
            return Err(ScoreProblem::Repeated { item_id: g.item_id });
        }
        if !active.iter().any(|i| i.id == g.item_id) {
            return Err(ScoreProblem::Unknown { item_id: g.item_id });
        }
    }
    active
        .iter()
        .map(|item| {
            let g = given
                .iter()
                .find(|g| g.item_id == item.id)
                .ok_or(ScoreProblem::Missing { item_id: item.id })?;
            if !(0..=item.max_score).contains(&g.score) {
                return Err(ScoreProblem::OutOfRange {
                    item_id: item.id,
                    max_score: item.max_score,
                });
            }
            Ok(ItemScore {
                item_id: item.id,
                score: g.score,
                max_score: item.max_score,
            })
        })
        .collect()
}

/// `score` of `max` in tenths of a percent, rounded half up; `None` when nothing was possible.
pub fn percent_tenths(score: i64, max: i64) -> Option<i64> {
    if max <= 0 {
        return None;
    }
    Some((score * 2000 + max) / (2 * max))
}

/// A percentage in tenths shown as `85.3%`.
pub fn show_percent(tenths: i64) -> String {
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// The quality score of a period: all points given over all points possible across the period's
/// reviews (a long checklist weighs as much as it is long), in tenths of a percent.
pub fn period_score(reviews: &[(i64, i64)]) -> Option<i64> {
    let (score, max) = reviews
        .iter()
        .fold((0, 0), |(s, m), (score, max)| (s + score, m + max));
    percent_tenths(score, max)
}

/// The band a quality percentage falls in, for the assessment table: 优秀 ≥ 90 %, 良好 ≥ 75 %,
/// 合格 ≥ 60 %, else 待改进.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Excellent,
    Good,
    Pass,
    NeedsWork,
}

impl Band {
    pub fn of(tenths: i64) -> Band {
        match tenths {
            900.. => Band::Excellent,
            750.. => Band::Good,
            600.. => Band::Pass,
            _ => Band::NeedsWork,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Band::Excellent => "excellent",
            Band::Good => "good",
            Band::Pass => "pass",
            Band::NeedsWork => "needs_work",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, max: i64, active: bool) -> CheckItem {
        CheckItem {
            id,
            code: format!("i{id}"),
            label_zh: format!("项{id}"),
            label_en: format!("Item {id}"),
            max_score: max,
            position: id,
            active,
        }
    }

    fn g(item_id: i64, score: i64) -> GivenScore {
        GivenScore { item_id, score }
    }

    #[test]
    fn every_active_item_scored_once_within_its_maximum() {
        let list = [item(1, 10, true), item(2, 15, true), item(3, 5, false)];
        let ok = check_scores(&list, &[g(2, 15), g(1, 0)]).unwrap();
        assert_eq!(
            ok,
            vec![
                ItemScore {
                    item_id: 1,
                    score: 0,
                    max_score: 10
                },
                ItemScore {
                    item_id: 2,
                    score: 15,
                    max_score: 15
                },
            ],
            "checklist order, the maxima kept"
        );
        assert_eq!(
            check_scores(&list, &[g(1, 10)]),
            Err(ScoreProblem::Missing { item_id: 2 })
        );
        assert_eq!(
            check_scores(&list, &[g(1, 11), g(2, 1)]),
            Err(ScoreProblem::OutOfRange {
                item_id: 1,
                max_score: 10
            })
        );
        assert_eq!(
            check_scores(&list, &[g(1, -1), g(2, 1)]),
            Err(ScoreProblem::OutOfRange {
                item_id: 1,
                max_score: 10
            })
        );
        assert_eq!(
            check_scores(&list, &[g(1, 1), g(2, 1), g(3, 1)]),
            Err(ScoreProblem::Unknown { item_id: 3 }),
            "a retired item is not scored"
        );
        assert_eq!(
            check_scores(&list, &[g(1, 1), g(1, 2), g(2, 1)]),
            Err(ScoreProblem::Repeated { item_id: 1 })
        );
        assert_eq!(
            check_scores(&[item(3, 5, false)], &[]),
            Err(ScoreProblem::EmptyChecklist)
        );
    }

    #[test]
    fn percentages_round_half_up_in_tenths() {
        assert_eq!(percent_tenths(85, 100), Some(850));
        assert_eq!(percent_tenths(2, 3), Some(667), "66.666… → 66.7");
        assert_eq!(percent_tenths(1, 3), Some(333));
        assert_eq!(percent_tenths(1, 8), Some(125), "12.5 exactly");
        assert_eq!(percent_tenths(1, 16), Some(63), "6.25 → 6.3, half up");
        assert_eq!(percent_tenths(0, 0), None);
        assert_eq!(show_percent(853), "85.3%");
        assert_eq!(show_percent(1000), "100.0%");
        assert_eq!(show_percent(5), "0.5%");
    }

    #[test]
    fn a_period_weighs_every_point_not_every_review() {
        // 9/10 and 50/100: 59/110 = 53.6 %, not the mean of 90 % and 50 %.
        assert_eq!(period_score(&[(9, 10), (50, 100)]), Some(536));
        assert_eq!(period_score(&[]), None);
    }

    #[test]
    fn bands_at_their_thresholds() {
        assert_eq!(Band::of(1000), Band::Excellent);
        assert_eq!(Band::of(900), Band::Excellent);
        assert_eq!(Band::of(899), Band::Good);
        assert_eq!(Band::of(750), Band::Good);
        assert_eq!(Band::of(749), Band::Pass);
        assert_eq!(Band::of(600), Band::Pass);
        assert_eq!(Band::of(599), Band::NeedsWork);
        assert_eq!(Band::of(0), Band::NeedsWork);
    }
}
