//! Statistics days as numbers: the per-agent day rollup is keyed by the local date in the
//! organisation's zone, counted in days since 1970-01-01, and rebuilt from the 15-minute slots
//! as a few runs of slots that share one UTC offset.
//!
//! A slot's day is the local date of the slot's start: the same day every report reads from the
//! slots ([`super::slot_range`]), as long as each local midnight falls on a slot boundary (every
//! offset in use today is a whole number of quarter hours).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{slot_range, stats_date};

const DAY_S: i64 = 86_400;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01")
}

/// `date` as days since 1970-01-01.
pub fn day_number(date: NaiveDate) -> i64 {
    (date - epoch()).num_days()
}

/// The date of a day number.
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::Duration::try_days(day)?)
}

/// The day (number) the slot starting at `slot` counts in, in `zone`.
pub fn day_of_slot(slot: i64, zone: Tz) -> i64 {
    let at = DateTime::<Utc>::from_timestamp(slot, 0).unwrap_or_default();
    day_number(stats_date(at, zone))
}

/// Slots `[first, end)` and how their day number is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRun {
    /// Whole 24-hour days at one UTC offset: day = (slot + offset_s) / 86400.
    Shifted { first: i64, end: i64, offset_s: i64 },
    /// One day whose length is not 24 hours (the clocks changed): every slot is `day`.
    Single { first: i64, end: i64, day: i64 },
}

/// The runs covering every slot from `min_slot` to `max_slot` (both included), in order.
/// Each local day lies wholly in one run, so the runs' days never overlap.
pub fn day_runs(min_slot: i64, max_slot: i64, zone: Tz) -> Vec<DayRun> {
    let mut out: Vec<DayRun> = Vec::new();
    if max_slot < min_slot {
        return out;
    }
    let first_day = day_of_slot(min_slot, zone);
    let last_day = day_of_slot(max_slot.max(min_slot), zone);
    for day in first_day..=last_day {
        let Some(date) = date_of_day(day) else {
            continue;
        };
        let (first, end) = slot_range(date, date, zone);
        if end - first != DAY_S {
            out.push(DayRun::Single { first, end, day });
            continue;
        }
        let offset_s = day * DAY_S - first;
        match out.last_mut() {
            Some(DayRun::Shifted {
                end: run_end,
                offset_s: o,
                ..
            }) if *o == offset_s && *run_end == first => *run_end = end,
            _ => out.push(DayRun::Shifted {
                first,
                end,
                offset_s,
            }),
        }
    }
    out
}

impl DayRun {
    /// The day of a slot inside this run.
    pub fn day_of(&self, slot: i64) -> i64 {
        match *self {
            DayRun::Shifted { offset_s, .. } => (slot + offset_s).div_euclid(DAY_S),
            DayRun::Single { day, .. } => day,
        }
    }

    pub fn bounds(&self) -> (i64, i64) {
        match *self {
            DayRun::Shifted { first, end, .. } | DayRun::Single { first, end, .. } => (first, end),
        }
    }
}

/// Slots per day, for the checks below.
#[cfg(test)]
const SLOTS_PER_DAY: i64 = DAY_S / super::SLOT_S;

#[cfg(test)]
mod tests {
    use super::super::SLOT_S;
    use super::*;
    use chrono::TimeZone;

    fn every_slot_matches(zone: Tz, from: DateTime<Utc>, days: i64) -> usize {
        let min = super::super::slot_of(from);
        let max = min + days * SLOTS_PER_DAY * SLOT_S;
        let runs = day_runs(min, max, zone);
        let mut slot = min;
        while slot <= max {
            let run = runs
                .iter()
                .find(|r| r.bounds().0 <= slot && slot < r.bounds().1)
                .expect("a run covers every slot");
            assert_eq!(
                run.day_of(slot),
                day_of_slot(slot, zone),
                "{zone} slot {slot}"
            );
            slot += SLOT_S;
        }
        runs.len()
    }

    #[test]
    fn a_fixed_offset_zone_is_one_run_and_each_slot_keeps_its_local_day() {
        let from = Utc.with_ymd_and_hms(2025, 12, 20, 0, 0, 0).unwrap();
        assert_eq!(every_slot_matches(chrono_tz::Asia::Shanghai, from, 40), 1);
        assert_eq!(every_slot_matches(chrono_tz::Asia::Kathmandu, from, 40), 1);
    }

    #[test]
    fn clock_changes_split_the_runs_and_the_short_and_long_days_stand_alone() {
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        // Spring forward and fall back: two runs of ordinary days around each changed day.
        assert_eq!(
            every_slot_matches(chrono_tz::America::New_York, from, 400),
            5
        );
        // Lord Howe moves its clocks by half an hour.
        assert_eq!(
            every_slot_matches(chrono_tz::Australia::Lord_Howe, from, 400),
            5
        );
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(date_of_day(day_number(d)), Some(d));
    }
}
