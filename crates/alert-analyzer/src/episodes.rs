//! From samples to episodes.
//!
//! # Semantics
//!
//! - **Series identity.** A series is identified by its label set without `alertstate` and
//!   `__name__`; the [`fingerprint`] is a stable 64-bit FNV-1a hash of the sorted
//!   `name=value` pairs, written as 16 hex digits (it is not Prometheus's own fingerprint).
//!   The `source` is not part of the identity: series with the same fingerprint from several
//!   sources are **merged** (their samples united), so an alert seen by two Prometheus
//!   servers counts once. The merged series lists every source.
//! - **Samples.** Each firing sample at `t` stands for one evaluation step, `[t, t + step)`.
//!   Samples are sorted and deduplicated first; samples outside the window are ignored.
//!   A timestamp that is both firing and pending (two sources disagreeing) counts as firing.
//! - **Episodes.** Consecutive firing samples of one series belong to the same episode while
//!   they are at most `max_gap` seconds apart (default [`default_max_gap`]:
//!   `max(2 * step, 300)`, which rides over a missed scrape or a Prometheus restart). A larger
//!   gap means the alert resolved and fired again: a new episode starts. An episode runs from
//!   its first sample to its last sample plus one step (clipped to the window's end), so a
//!   single sample is an episode of one step.
//! - **Restarts.** A longer gap does not end the episode when `ALERTS_FOR_STATE` (the
//!   series' `activeAt`) gives the same activation time at the samples on both sides of
//!   it: Prometheus restored the alert's state after a restart (or lost samples), and the
//!   alert never resolved. The episode's duration then includes the gap. Prometheus
//!   restores that state only for rules whose `for:` exceeds
//!   `--rules.alert.for-grace-period` (10m by default) and outages shorter than
//!   `--rules.alert.for-outage-tolerance` (1h); other alerts get a new activation time
//!   after a restart, and the gap rule applies.
//! - **Pending.** If pending samples lead up to an episode (the last one at most `max_gap`
//!   before its start, each at most `max_gap` after the previous one, none before the
//!   previous episode), the earliest of them is the episode's `pending_start`.
//! - **Open episodes.** An episode whose last sample is in the window's last step
//!   (`last + step >= to`) may still be firing: it is marked `open`, and its duration is a
//!   lower bound.

use crate::history::{History, Labels, Window};
use serde::Serialize;
use std::collections::BTreeMap;

/// The default largest gap between samples of one episode: `max(2 * step, 300)` seconds.
pub fn default_max_gap(step: i64) -> i64 {
    (2 * step).max(300)
}

/// The stable fingerprint of a label set (FNV-1a 64 over sorted `name`, `value` pairs,
/// ignoring `alertstate` and `__name__`), as 16 lowercase hex digits.
pub fn fingerprint(labels: &Labels) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        if is_ignored(k) {
            continue;
        }
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn is_ignored(label: &str) -> bool {
    label == "alertstate" || label == "__name__"
}

/// One alert series after deduplication across sources: sorted, unique samples inside the
/// window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedSeries {
    pub fingerprint: String,
    pub alertname: String,
    pub labels: Labels,
    /// Every source that reported the series, sorted (empty if none was named).
    pub sources: Vec<String>,
    pub firing: Vec<i64>,
    pub pending: Vec<i64>,
    /// `[t, activeAt]` change points from `ALERTS_FOR_STATE`, sorted by `t`.
    #[serde(skip)]
    pub active_at: Vec<[i64; 2]>,
}

impl MergedSeries {
    /// The activation time `ALERTS_FOR_STATE` gave at `t`, if known.
    fn active_at(&self, t: i64) -> Option<i64> {
        let i = self.active_at.partition_point(|p| p[0] <= t);
        i.checked_sub(1).map(|i| self.active_at[i][1])
    }

    /// True if the samples at `a` and `b` belong to the same activation of the alert.
    fn same_activation(&self, a: i64, b: i64) -> bool {
        self.active_at(a).is_some() && self.active_at(a) == self.active_at(b)
    }
}

/// Merges the history's series by fingerprint. The result is sorted by alertname, then
/// fingerprint.
pub fn merge_series(history: &History) -> Vec<MergedSeries> {
    let w = history.window.sanitized();
    let mut by_fp: BTreeMap<String, MergedSeries> = BTreeMap::new();
    for s in &history.series {
        let labels: Labels = s
            .labels
            .iter()
            .filter(|(k, _)| !is_ignored(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let fp = fingerprint(&labels);
        let m = by_fp.entry(fp.clone()).or_insert_with(|| MergedSeries {
            fingerprint: fp,
            alertname: s.alertname().to_string(),
            labels,
            sources: Vec::new(),
            firing: Vec::new(),
            pending: Vec::new(),
            active_at: Vec::new(),
        });
        m.active_at.extend(s.active_at.iter().copied());
        m.sources.extend(s.source.clone());
        m.firing
            .extend(s.firing.iter().copied().filter(|t| w.contains(*t)));
        m.pending
            .extend(s.pending.iter().copied().filter(|t| w.contains(*t)));
    }
    let mut out: Vec<MergedSeries> = by_fp
        .into_values()
        .map(|mut m| {
            m.sources.sort();
            m.sources.dedup();
            for v in [&mut m.firing, &mut m.pending] {
                v.sort_unstable();
                v.dedup();
            }
            let firing = &m.firing;
            m.pending.retain(|t| firing.binary_search(t).is_err());
            m.active_at.sort_unstable();
            m.active_at.dedup();
            m
        })
        .collect();
    out.sort_by(|a, b| {
        a.alertname
            .cmp(&b.alertname)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    out
}

/// One continuous stretch of firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Episode {
    pub alertname: String,
    pub fingerprint: String,
    pub labels: Labels,
    pub sources: Vec<String>,
    /// First firing sample.
    pub start: i64,
    /// Last firing sample plus one step, clipped to the window's end.
    pub end: i64,
    /// `end - start`, in seconds.
    pub duration: i64,
    /// The first pending sample of the run that led to this episode, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_start: Option<i64>,
    /// The episode may still be firing at the window's end.
    pub open: bool,
    /// Number of firing samples in the episode.
    pub samples: usize,
}

/// The episodes of one merged series, in time order.
pub fn episodes_of(series: &MergedSeries, window: &Window, max_gap: i64) -> Vec<Episode> {
    let window = &window.sanitized();
    let mut out = Vec::new();
    let mut runs: Vec<(i64, i64, usize)> = Vec::new();
    for &t in &series.firing {
        match runs.last_mut() {
            Some((_, last, n)) if t - *last <= max_gap || series.same_activation(*last, t) => {
                *last = t;
                *n += 1;
            }
            _ => runs.push((t, t, 1)),
        }
    }
    let mut prev_last = i64::MIN;
    for (start, last, samples) in runs {
        let end = (last + window.step).min(window.to);
        out.push(Episode {
            alertname: series.alertname.clone(),
            fingerprint: series.fingerprint.clone(),
            labels: series.labels.clone(),
            sources: series.sources.clone(),
            start,
            end,
            duration: end - start,
            pending_start: pending_start(&series.pending, prev_last, start, max_gap),
            open: last + window.step >= window.to,
            samples,
        });
        prev_last = last;
    }
    out
}

/// Walks back from `start` through pending samples chained by at most `max_gap`.
fn pending_start(pending: &[i64], after: i64, start: i64, max_gap: i64) -> Option<i64> {
    let mut i = pending.partition_point(|p| *p < start);
    let mut earliest = None;
    let mut next = start;
    while i > 0 {
        let p = pending[i - 1];
        if p <= after || next - p > max_gap {
            break;
        }
        earliest = Some(p);
        next = p;
        i -= 1;
    }
    earliest
}

/// Every episode of the history (series merged across sources), sorted by start, then
/// alertname and fingerprint.
pub fn episodes(history: &History, max_gap: i64) -> Vec<Episode> {
    let mut all: Vec<Episode> = merge_series(history)
        .iter()
        .flat_map(|s| episodes_of(s, &history.window, max_gap))
        .collect();
    sort_episodes(&mut all);
    all
}

pub(crate) fn sort_episodes(all: &mut [Episode]) {
    all.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then_with(|| a.alertname.cmp(&b.alertname))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Series;

    fn durations(h: &History) -> Vec<i64> {
        episodes(h, default_max_gap(60))
            .iter()
            .map(|e| e.duration)
            .collect()
    }

    #[test]
    fn a_restart_gap_with_the_same_activation_is_one_episode() {
        // Firing 0..=1740 (30 samples), down for 30 minutes, firing 3600..=4740 (20 samples).
        let firing = || {
            Series::new("A")
                .firing_between(0, 1800, 60)
                .firing_between(3600, 4800, 60)
        };
        // No ALERTS_FOR_STATE: two episodes.
        assert_eq!(durations(&hist(firing())), vec![1800, 1200]);
        // The same activation on both sides: one episode, the gap included.
        assert_eq!(durations(&hist(firing().active_since(0, -300))), vec![4800]);
        // A new activation after the gap (it resolved while Prometheus was down): two.
        let refired = firing().active_since(0, -300).active_since(3600, 3600);
        assert_eq!(durations(&hist(refired)), vec![1800, 1200]);
        // A new activation inside the gap, even with no sample there: two.
        let changed = firing().active_since(0, -300).active_since(2400, 2400);
        assert_eq!(durations(&hist(changed)), vec![1800, 1200]);
        // Known only after the gap: two (nothing says it is the same activation).
        assert_eq!(
            durations(&hist(firing().active_since(3600, -300))),
            vec![1800, 1200]
        );
        // Two sources with different activation times, interleaved: the value at each
        // side differs, so two (the safe answer).
        let ha = History::new(0, 10_000, 60)
            .with_series(firing().source("a").active_since(0, -300))
            .with_series(
                Series::new("A")
                    .source("b")
                    .firing_between(3600, 4800, 60)
                    .active_since(3600, -240),
            );
        assert_eq!(durations(&ha), vec![1800, 1200]);
    }

    #[test]
    fn the_gap_rule_is_inclusive_at_max_gap() {
        // default_max_gap(60) = 300: samples 300 s apart stay one episode, 360 s split.
        assert_eq!(
            durations(&hist(Series::new("A").firing([0, 300]))),
            vec![360]
        );
        assert_eq!(
            durations(&hist(Series::new("A").firing([0, 360]))),
            vec![60, 60]
        );
    }

    fn hist(series: Series) -> History {
        History::new(0, 10_000, 60).with_series(series)
    }

    #[test]
    fn gap_splits_episodes_and_single_sample_is_one_step() {
        // 0..=240 (5 samples), then a 300 s gap (kept), then a 360 s gap (split), then one sample.
        let h = hist(Series::new("A").firing([0, 60, 120, 180, 240, 540, 900]));
        let eps = episodes(&h, default_max_gap(60));
        let spans: Vec<_> = eps
            .iter()
            .map(|e| (e.start, e.end, e.duration, e.samples))
            .collect();
        assert_eq!(spans, vec![(0, 600, 600, 6), (900, 960, 60, 1)]);
        assert!(eps.iter().all(|e| !e.open));
    }

    #[test]
    fn unsorted_duplicates_and_open_at_end() {
        let h = hist(Series::new("A").firing([9_960, 9_900, 9_900, 9_840, 20_000]));
        let eps = episodes(&h, 300);
        assert_eq!(eps.len(), 1);
        assert_eq!(
            (eps[0].start, eps[0].end, eps[0].samples),
            (9_840, 10_000, 3)
        );
        assert!(eps[0].open);
    }

    #[test]
    fn dedup_across_sources() {
        let a = Series::new("A")
            .label("ns", "x")
            .source("p1")
            .firing([0, 60]);
        let b = Series::new("A")
            .label("ns", "x")
            .source("p2")
            .firing([60, 120])
            .pending([0]);
        let h = hist(a).with_series(b);
        let merged = merge_series(&h);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].sources, vec!["p1", "p2"]);
        assert_eq!(merged[0].firing, vec![0, 60, 120]);
        assert!(merged[0].pending.is_empty(), "firing wins over pending");
        let eps = episodes(&h, 300);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0].duration, 180);
    }

    #[test]
    fn pending_start_is_found_and_bounded() {
        // Pending 0..300, firing 300..600; pending again at 5000 (orphan), firing at 6000
        // with pending 5700..6000.
        let s = Series::new("A")
            .pending_between(0, 300, 60)
            .firing_between(300, 600, 60)
            .pending([5_000])
            .pending_between(5_700, 6_000, 60)
            .firing([6_000]);
        let eps = episodes(&hist(s), 300);
        let p: Vec<_> = eps.iter().map(|e| e.pending_start).collect();
        assert_eq!(p, vec![Some(0), Some(5_700)]);
    }

    #[test]
    fn fingerprint_ignores_alertstate_and_order() {
        let mut a = Labels::new();
        a.insert("b".into(), "2".into());
        a.insert("a".into(), "1".into());
        let mut b = a.clone();
        b.insert("alertstate".into(), "firing".into());
        assert_eq!(fingerprint(&a), fingerprint(&b));
        a.insert("a".into(), "3".into());
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 16);
    }
}
