//! Flap detection: a weighted state-change percentage with hysteresis, in the spirit of
//! Nagios/Icinga (written from the description of the method, not from their code).
//!
//! # Algorithm
//!
//! 1. **States.** The window is cut into checks, one per `step`: check `k` covers
//!    `[from + k*step, from + (k+1)*step)` and its state is *firing* if the series has a
//!    firing sample in it, else *not firing* (pending and absent both count as not firing).
//! 2. **Changes.** Check `k >= 1` is a state change if its state differs from check `k-1`.
//! 3. **Percentage.** At check `k`, the sliding window holds the last `N` states
//!    (`N = checks`, default 21), that is the `N - 1` transitions ending at `k`. The `i`-th of
//!    those transitions, oldest first (`i = 0 .. N-2`), weighs
//!    `w_i = min_weight + (max_weight - min_weight) * i / (N - 2)` (default 0.8 to 1.2, so
//!    recent changes count more and the weights average 1). The percentage is
//!    `100 * sum(w_i * changed_i) / sum(w_i)`. It is computed only once the window is full
//!    (`k >= N - 1`); a series toggling at every check scores 100 %.
//! 4. **Hysteresis.** A series starts flapping at the first check whose percentage is
//!    *above* `high` (default 50) and stops at the first check whose percentage is *below*
//!    `low` (default 25); between the two thresholds it keeps its current state. Each
//!    stretch is a [`FlapInterval`] from the check that started it to the check that ended it
//!    (or the window's end, marked `open`).

use super::stats::percentile;
use crate::episodes::MergedSeries;
use crate::history::{Labels, Window};
use serde::Serialize;

/// Flap detection settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlapOptions {
    /// States in the sliding window (at least 3).
    pub checks: usize,
    /// Start flapping above this percentage.
    pub high: f64,
    /// Stop flapping below this percentage.
    pub low: f64,
    /// Weight of the oldest transition in the window.
    pub min_weight: f64,
    /// Weight of the newest transition in the window.
    pub max_weight: f64,
}

impl Default for FlapOptions {
    fn default() -> Self {
        FlapOptions {
            checks: 21,
            high: 50.0,
            low: 25.0,
            min_weight: 0.8,
            max_weight: 1.2,
        }
    }
}

/// One stretch of flapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlapInterval {
    /// The check at which the percentage rose above `high`.
    pub start: i64,
    /// The check at which it fell below `low`, or the window's end.
    pub end: i64,
    /// Still flapping at the window's end.
    pub open: bool,
    /// Highest percentage during the interval.
    pub max_percent: f64,
}

/// A series that flapped at least once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlapSeries {
    pub alertname: String,
    pub fingerprint: String,
    pub labels: Labels,
    pub intervals: Vec<FlapInterval>,
    /// Highest percentage over the whole window.
    pub max_percent: f64,
    /// State changes over the whole window.
    pub state_changes: usize,
    /// Total seconds spent flapping.
    pub flapping_seconds: i64,
    /// Lengths (seconds) of the not-firing gaps between firing runs inside the flapping
    /// stretches (each stretch extended back by one window): p50 and p90 by nearest rank.
    pub gap_p50: Option<i64>,
    pub gap_p90: Option<i64>,
}

/// The firing state of every check in the window.
pub fn states(series: &MergedSeries, window: &Window) -> Vec<bool> {
    let window = &window.sanitized();
    let n = usize::try_from(window.checks()).unwrap_or(0);
    let mut s = vec![false; n];
    for t in &series.firing {
        if let Ok(k) = usize::try_from((t - window.from) / window.step) {
            if let Some(slot) = s.get_mut(k) {
                *slot = true;
            }
        }
    }
    s
}

/// The flapping percentage at every check (`None` until the sliding window is full).
pub fn percentages(states: &[bool], opts: &FlapOptions) -> Vec<Option<f64>> {
    // With linear weights w_i = a + b*i over positions i = 0..m, the weighted sum is
    // a*C + b*T, where C counts the changes in the window and T sums their positions. Both
    // are integers and slide in O(1), so a series costs O(checks), not O(checks * window).
    let n = opts.checks.max(3);
    let m = n - 1;
    let a = opts.min_weight;
    let b = (opts.max_weight - opts.min_weight) / (m - 1) as f64;
    let total = a * m as f64 + b * (m * (m - 1) / 2) as f64;
    let changed = |j: usize| usize::from(states[j] != states[j - 1]);
    let mut out = vec![None; states.len()];
    if states.len() < n {
        return out;
    }
    // The window at check k holds the transitions at checks k-m+1 ..= k (position 0 oldest).
    let (mut c, mut t) = (0usize, 0usize);
    for (i, j) in (1..=m).enumerate() {
        c += changed(j);
        t += i * changed(j);
    }
    out[m] = Some(100.0 * (a * c as f64 + b * t as f64) / total);
    for (k, slot) in out.iter_mut().enumerate().skip(n) {
        let oldest = changed(k - m);
        // Every remaining change moves one position older; the oldest leaves.
        t -= c - oldest;
        c -= oldest;
        let newest = changed(k);
        c += newest;
        t += (m - 1) * newest;
        *slot = Some(100.0 * (a * c as f64 + b * t as f64) / total);
    }
    out
}

/// Applies the hysteresis to the percentages; intervals as `(start_check, end_check, open,
/// max_percent)`.
fn intervals(pct: &[Option<f64>], opts: &FlapOptions) -> Vec<(usize, usize, bool, f64)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, f64)> = None;
    for (k, p) in pct.iter().enumerate() {
        let Some(p) = *p else { continue };
        current = match current {
            None if p > opts.high => Some((k, p)),
            None => None,
            Some((start, max)) if p < opts.low => {
                out.push((start, k, false, max));
                None
            }
            Some((start, max)) => Some((start, max.max(p))),
        };
    }
    if let Some((start, max)) = current {
        out.push((start, pct.len(), true, max));
    }
    out
}

/// Flap analysis of one series; `None` if it never flapped.
pub fn analyze_series(
    series: &MergedSeries,
    window: &Window,
    opts: &FlapOptions,
) -> Option<FlapSeries> {
    // A series needs enough changes in one window to pass `high`; skip the rest cheaply.
    if series.firing.len() < 2 {
        return None;
    }
    let window = &window.sanitized();
    if !may_flap(series, window, opts) {
        return None;
    }
    let st = states(series, window);
    let state_changes = st.windows(2).filter(|w| w[0] != w[1]).count();
    let pct = percentages(&st, opts);
    let iv = intervals(&pct, opts);
    if iv.is_empty() {
        return None;
    }
    let t = |k: usize| (window.from + k as i64 * window.step).min(window.to);
    let mut gaps = Vec::new();
    for (start, end, _, _) in &iv {
        let lo = start.saturating_sub(opts.checks);
        let hi = (*end).min(st.len());
        gaps.extend(
            off_gaps(&st[lo..hi])
                .into_iter()
                .map(|g| g as i64 * window.step),
        );
    }
    gaps.sort_unstable();
    let intervals: Vec<FlapInterval> = iv
        .iter()
        .map(|(s, e, open, max)| FlapInterval {
            start: t(*s),
            end: if *open { window.to } else { t(*e) },
            open: *open,
            max_percent: *max,
        })
        .collect();
    Some(FlapSeries {
        alertname: series.alertname.clone(),
        fingerprint: series.fingerprint.clone(),
        labels: series.labels.clone(),
        max_percent: pct.iter().flatten().copied().fold(0.0, f64::max),
        state_changes,
        flapping_seconds: intervals.iter().map(|i| i.end - i.start).sum(),
        gap_p50: percentile(&gaps, 50),
        gap_p90: percentile(&gaps, 90),
        intervals,
    })
}

/// A cheap necessary condition, from the samples alone: some window of `checks - 1`
/// transitions holds enough changes to pass `high` even if each had the largest weight.
/// Most series fail it, and then the per-check states are never built.
fn may_flap(series: &MergedSeries, window: &Window, opts: &FlapOptions) -> bool {
    let m = opts.checks.max(3) - 1;
    let total = (opts.min_weight + opts.max_weight) / 2.0 * m as f64;
    let n = window.checks();
    // Changes happen where a run of consecutive firing checks starts and just after it ends.
    let mut changes: Vec<i64> = Vec::new();
    let mut prev: Option<i64> = None;
    for t in &series.firing {
        let k = (t - window.from) / window.step;
        match prev {
            Some(p) if k == p || k == p + 1 => {}
            Some(p) => {
                changes.push(p + 1);
                if k > 0 {
                    changes.push(k);
                }
            }
            None if k > 0 => changes.push(k),
            None => {}
        }
        prev = Some(k);
    }
    if let Some(p) = prev {
        if p + 1 < n {
            changes.push(p + 1);
        }
    }
    let mut lo = 0;
    for hi in 0..changes.len() {
        while changes[hi] - changes[lo] >= m as i64 {
            lo += 1;
        }
        if (hi - lo + 1) as f64 * opts.max_weight > opts.high / 100.0 * total {
            return true;
        }
    }
    false
}

/// Lengths (in checks) of the not-firing runs that lie between two firing runs.
fn off_gaps(states: &[bool]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen_firing = false;
    let mut run = 0;
    for s in states {
        if *s {
            if seen_firing && run > 0 {
                out.push(run);
            }
            seen_firing = true;
            run = 0;
        } else {
            run += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episodes::merge_series;
    use crate::history::{History, Series};

    const STEP: i64 = 60;

    /// Toggling every step for an hour (checks 60..120), steady before and after.
    fn toggling() -> (MergedSeries, Window) {
        let firing = (60..120).filter(|k| k % 2 == 0).map(|k| k * STEP);
        let h = History::new(0, 240 * STEP, STEP).with_series(Series::new("Flappy").firing(firing));
        let m = merge_series(&h);
        (m[0].clone(), h.window)
    }

    #[test]
    fn weights_and_full_toggle_percentage() {
        let opts = FlapOptions::default();
        let alternating: Vec<bool> = (0..21).map(|k| k % 2 == 0).collect();
        let p = percentages(&alternating, &opts);
        assert_eq!(p[19], None);
        assert!((p[20].unwrap_or(0.0) - 100.0).abs() < 1e-9);
        // Only the newest transition changed: weight 1.2 of a total of 20 -> 6 %.
        let mut last = vec![false; 21];
        last[20] = true;
        assert!((percentages(&last, &opts)[20].unwrap_or(0.0) - 6.0).abs() < 1e-9);
        // Only the oldest: 0.8 / 20 -> 4 %.
        let mut first = vec![true; 21];
        first[0] = false;
        assert!((percentages(&first, &opts)[20].unwrap_or(0.0) - 4.0).abs() < 1e-9);
    }

    /// The percentage computed directly from its definition.
    fn direct(states: &[bool], k: usize, opts: &FlapOptions) -> f64 {
        let m = opts.checks - 1;
        let w = |i: usize| {
            opts.min_weight + (opts.max_weight - opts.min_weight) * i as f64 / (m - 1) as f64
        };
        let first = k + 1 - m;
        let sum: f64 = (first..=k)
            .filter(|j| states[*j] != states[*j - 1])
            .map(|j| w(j - first))
            .sum();
        100.0 * sum / (0..m).map(w).sum::<f64>()
    }

    #[test]
    fn sliding_sums_match_the_definition() {
        // A deterministic irregular sequence (linear congruential generator).
        let mut x: u64 = 42;
        let states: Vec<bool> = (0..500)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 33).is_multiple_of(3)
            })
            .collect();
        for checks in [3, 5, 21] {
            let opts = FlapOptions {
                checks,
                ..FlapOptions::default()
            };
            let p = percentages(&states, &opts);
            assert!(p[..checks - 1].iter().all(Option::is_none));
            for (k, pk) in p.iter().enumerate().skip(checks - 1) {
                let d = direct(&states, k, &opts);
                assert!(
                    pk.is_some_and(|v| (v - d).abs() < 1e-9),
                    "k={k} {pk:?} vs {d}"
                );
            }
        }
    }

    #[test]
    fn prefilter_never_drops_a_flapping_series() {
        // Series of varying change density; whenever the percentages pass `high`, the cheap
        // prefilter must have let the series through.
        let opts = FlapOptions::default();
        let mut x: u64 = 7;
        let mut flapped = 0;
        for density in 2..12u64 {
            for _ in 0..20 {
                let firing: Vec<i64> = (0..300)
                    .filter(|_| {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        (x >> 33).is_multiple_of(density)
                    })
                    .map(|k| k * STEP)
                    .collect();
                let h =
                    History::new(0, 300 * STEP, STEP).with_series(Series::new("R").firing(firing));
                let m = merge_series(&h);
                let Some(s) = m.first() else { continue };
                let high = percentages(&states(s, &h.window), &opts)
                    .iter()
                    .any(|p| p.is_some_and(|p| p > opts.high));
                assert_eq!(analyze_series(s, &h.window, &opts).is_some(), high);
                assert!(!high || may_flap(s, &h.window, &opts));
                flapped += usize::from(high);
            }
        }
        assert!(
            flapped > 10,
            "the sample must contain flapping series: {flapped}"
        );
    }

    #[test]
    fn toggling_hour_flaps_then_stops_with_hysteresis() {
        let (s, w) = toggling();
        let opts = FlapOptions::default();
        let f = analyze_series(&s, &w, &opts);
        let Some(f) = f else {
            panic!("toggling series must flap")
        };
        assert_eq!(f.intervals.len(), 1, "{f:?}");
        let iv = &f.intervals[0];
        assert!((f.max_percent - 100.0).abs() < 1e-9);
        // Firing at even checks 60..=118: every check from 60 to 119 is a change.
        assert_eq!(f.state_changes, 60);
        // The interval starts at the first check above `high`, part-way into the toggling.
        let pct = percentages(&states(&s, &w), &opts);
        let first_above = pct.iter().position(|p| p.is_some_and(|p| p > 50.0));
        assert_eq!(first_above.map(|k| k as i64 * STEP), Some(iv.start));
        assert!(iv.start > 60 * STEP && iv.start < 80 * STEP, "{iv:?}");
        // It stops only below 25 %, after the toggling ended; while falling it passes through
        // 25..50 % and keeps flapping there (hysteresis).
        assert!(!iv.open);
        assert!(iv.end > 120 * STEP && iv.end < 140 * STEP, "{iv:?}");
        let stop = (iv.end / STEP) as usize;
        assert!(pct[stop].is_some_and(|p| p < 25.0));
        let in_band = (stop - 5..stop)
            .filter(|k| pct[*k].is_some_and(|p| (25.0..=50.0).contains(&p)))
            .count();
        assert!(
            in_band > 0,
            "some check between the thresholds kept it flapping"
        );
        // Gaps between firing runs are one step.
        assert_eq!((f.gap_p50, f.gap_p90), (Some(STEP), Some(STEP)));
    }

    #[test]
    fn between_thresholds_never_starts() {
        // A change every 3rd check: 6 or 7 of 20 transitions, about 30-35 %: above low,
        // below high, so never flapping.
        let firing = (0..240).filter(|k| (k / 3) % 2 == 0).map(|k| k * STEP);
        let h = History::new(0, 240 * STEP, STEP).with_series(Series::new("Slow").firing(firing));
        let m = merge_series(&h);
        let opts = FlapOptions::default();
        let pct = percentages(&states(&m[0], &h.window), &opts);
        let max = pct.iter().flatten().copied().fold(0.0, f64::max);
        assert!(max > 25.0 && max < 50.0, "{max}");
        assert_eq!(analyze_series(&m[0], &h.window, &opts), None);
    }

    #[test]
    fn steady_series_does_not_flap() {
        let h = History::new(0, 240 * STEP, STEP)
            .with_series(Series::new("Steady").firing_between(0, 100 * STEP, STEP));
        let m = merge_series(&h);
        assert_eq!(
            analyze_series(&m[0], &h.window, &FlapOptions::default()),
            None
        );
    }
}
