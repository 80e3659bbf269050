//! Chart geometry for server-drawn inline SVG: grouped bars (today against yesterday per hour)
//! and horizontal bars (the funnel, target progress). This computes coordinates only; the
//! askama templates draw the `<rect>`s, so labels stay escaped and no chart library or CDN is
//! needed on an intranet.

use serde::Serialize;

/// One bar, in the chart's own units (the SVG `viewBox`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub value: i64,
    /// Which series (0: the first, e.g. today) it belongs to.
    pub series: usize,
    /// The category's index (the hour).
    pub index: usize,
}

/// A grouped vertical bar chart of up to two series over the same categories.
#[derive(Debug, Clone, Serialize)]
pub struct GroupedBars {
    pub width: i64,
    pub height: i64,
    /// The baseline's y.
    pub base: i64,
    pub bars: Vec<Bar>,
    /// (x of the label's centre, label) of every category that gets one.
    pub labels: Vec<(i64, String)>,
    pub max: i64,
}

/// Space below the baseline for the category labels.
const LABEL_H: i64 = 18;
const TOP: i64 = 8;

/// Bars for `series` (each the same length) in a `width` × `height` box; every `label_every`-th
/// category is labelled with `label(i)`. Heights scale to the largest value (at least 1).
pub fn grouped_bars(
    series: &[&[i64]],
    width: i64,
    height: i64,
    label_every: usize,
    label: impl Fn(usize) -> String,
) -> GroupedBars {
    let n = series.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let max = series
        .iter()
        .flat_map(|s| s.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let base = height - LABEL_H;
    let plot_h = base - TOP;
    let slot = width / n as i64;
    let k = series.len().max(1) as i64;
    let bar_w = ((slot - 2) / k).max(1);
    let mut bars = Vec::new();
    for (si, s) in series.iter().enumerate() {
        for (i, v) in s.iter().enumerate() {
            let h = if *v <= 0 {
                0
            } else {
                (v * plot_h / max).max(1)
            };
            bars.push(Bar {
                x: i as i64 * slot + 1 + si as i64 * bar_w,
                y: base - h,
                w: bar_w,
                h,
                value: *v,
                series: si,
                index: i,
            });
        }
    }
    let labels = (0..n)
        .filter(|i| label_every > 0 && i % label_every == 0)
        .map(|i| (i as i64 * slot + slot / 2, label(i)))
        .collect();
    GroupedBars {
        width,
        height,
        base,
        bars,
        labels,
        max,
    }
}

/// A horizontal bar's length out of `full` for `value` of `max` (0 when max is 0).
pub fn bar_len(value: i64, max: i64, full: i64) -> i64 {
    if max <= 0 || value <= 0 {
        0
    } else {
        (value.min(max) * full / max).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_sit_on_the_baseline() {
        let today = [0, 2, 4];
        let yesterday = [1, 0, 0];
        let c = grouped_bars(&[&today, &yesterday], 300, 118, 1, |i| format!("{i}"));
        assert_eq!(c.base, 100);
        let t: Vec<i64> = c
            .bars
            .iter()
            .filter(|b| b.series == 0)
            .map(|b| b.h)
            .collect();
        assert_eq!(t, vec![0, 46, 92]);
        assert!(c.bars.iter().all(|b| b.y + b.h == c.base));
        assert_eq!(c.labels.len(), 3);
        assert_eq!(bar_len(5, 10, 200), 100);
        assert_eq!(bar_len(0, 0, 200), 0);
        assert_eq!(bar_len(20, 10, 200), 200);
    }
}
