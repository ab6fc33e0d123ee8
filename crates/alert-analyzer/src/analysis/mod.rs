//! The analysis: [`analyze`] turns a [`History`] into an [`Analysis`], the numbers behind
//! every finding. `Analysis` serializes (camelCase) as the `analysis` section of the JSON
//! report.
//!
//! Definitions used throughout:
//! - **Firing time** of an episode is its duration (see [`mod@crate::episodes`]); the total is
//!   over all episodes of all series after deduplication. **Share** is a part of that total.
//! - **Noise ranking**: by episodes (each one is a notification), then firing time, then name.
//! - **Duration distribution**: nearest-rank percentiles ([`stats::percentile`]) of episode
//!   durations. **Time to resolve** of a resolved (not open) episode runs from its
//!   `pending_start` (or its start when it had no pending phase) to its end: how long the
//!   condition held, `for:` included.
//! - **Always firing**: a series whose firing time is at least `always_firing_share` of the
//!   window.
//! - **Dead rule**: an alerting rule whose name has neither an episode nor a pending sample
//!   in the window. **Pending never fires**: a rule whose name has pending samples but no
//!   episode (its `for:` outlasts every spell of its condition). Rules are matched to series
//!   by alertname, so two rules of one name in different groups are judged together.

pub mod correlation;
pub mod flapping;
pub mod stats;
pub mod temporal;

use crate::episodes::{self, Episode, MergedSeries};
use crate::history::{History, Labels};
use crate::recommend::{self, Recommendation, ReviewItem, SignalToNoise};
use correlation::{Correlation, CorrelationOptions};
use flapping::{FlapOptions, FlapSeries};
use serde::Serialize;
use std::collections::BTreeMap;
use temporal::{ScheduleOptions, TemporalProfile};

/// Everything the analysis can be tuned by.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    /// Largest gap inside one episode; `None` = [`episodes::default_max_gap`] of the step.
    pub max_gap: Option<i64>,
    /// How many of the noisiest alertnames become AA101 findings.
    pub top_n: usize,
    /// An AA101 finding is a warning from this many episodes on (or a 25 % share).
    pub noisy_episodes: usize,
    /// The labels whose values form the "label set" of the per-label-set noise ranking.
    pub label_set: Vec<String>,
    pub flap: FlapOptions,
    pub correlation: CorrelationOptions,
    pub schedule: ScheduleOptions,
    /// A series firing at least this share of the window is always firing.
    pub always_firing_share: f64,
    /// Episodes lasting at most this long (seconds) are short: noise for the signal-to-noise
    /// figure and the raise-`for:` recommendation.
    pub short_episode: i64,
    /// The raise-`for:` recommendation needs this many episodes ...
    pub raise_for_min_episodes: usize,
    /// ... of which at least this share are short.
    pub raise_for_short_share: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_gap: None,
            top_n: 10,
            noisy_episodes: 20,
            label_set: ["namespace", "service", "severity"]
                .map(String::from)
                .to_vec(),
            flap: FlapOptions::default(),
            correlation: CorrelationOptions::default(),
            schedule: ScheduleOptions::default(),
            always_firing_share: 0.9,
            short_episode: 600,
            raise_for_min_episodes: 5,
            raise_for_short_share: 0.5,
        }
    }
}

/// What was analyzed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowSummary {
    pub from: i64,
    pub to: i64,
    pub step: i64,
    pub max_gap: i64,
    pub sources: Vec<String>,
    /// Series in the input, before deduplication.
    pub input_series: usize,
    /// Distinct series after merging duplicates across sources.
    pub series: usize,
    pub rules: usize,
    pub episodes: usize,
    pub open_episodes: usize,
    pub firing_seconds: i64,
}

/// Noise of one alertname.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertNoise {
    pub rank: usize,
    pub alertname: String,
    pub series: usize,
    pub episodes: usize,
    pub firing_seconds: i64,
    pub share: f64,
}

/// Noise of one label set (the values of [`Options::label_set`]; absent labels omitted).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSetNoise {
    pub rank: usize,
    pub labels: Labels,
    pub alertnames: usize,
    pub episodes: usize,
    pub firing_seconds: i64,
    pub share: f64,
}

/// Noise rankings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Noise {
    pub by_alertname: Vec<AlertNoise>,
    pub by_label_set: Vec<LabelSetNoise>,
}

/// Duration distribution of one alertname (seconds).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DurationStats {
    pub alertname: String,
    pub episodes: usize,
    pub p50: i64,
    pub p90: i64,
    pub max: i64,
    pub mean: f64,
    /// Episodes no longer than [`Options::short_episode`], and their p50 duration.
    pub short_episodes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_p50: Option<i64>,
    /// Resolved (not open) episodes and their time to resolve.
    pub resolved: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_time_to_resolve: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_time_to_resolve: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_time_to_resolve: Option<i64>,
    /// Every episode duration, ascending (not serialized: the report carries the summary).
    #[serde(skip)]
    pub sorted: Vec<i64>,
}

/// A series firing most of the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlwaysFiring {
    pub alertname: String,
    pub fingerprint: String,
    pub labels: Labels,
    pub firing_seconds: i64,
    pub share: f64,
}

/// A rule that never fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStatus {
    pub name: String,
    pub group: String,
    pub for_seconds: i64,
    pub expr: String,
    /// Pending samples seen for the rule's alertname (0 for a dead rule).
    pub pending_samples: usize,
    /// Longest run of consecutive pending checks, in seconds.
    pub longest_pending_seconds: i64,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub window: WindowSummary,
    pub noise: Noise,
    pub durations: Vec<DurationStats>,
    pub flapping: Vec<FlapSeries>,
    pub correlation: Correlation,
    pub temporal: Vec<TemporalProfile>,
    pub always_firing: Vec<AlwaysFiring>,
    pub dead_rules: Vec<RuleStatus>,
    pub pending_never_firing: Vec<RuleStatus>,
    pub signal_to_noise: Vec<SignalToNoise>,
    pub recommendations: Vec<Recommendation>,
    pub review: Vec<ReviewItem>,
}

/// Runs every analysis and the recommendations over a history.
pub fn analyze(history: &History, opts: &Options) -> Analysis {
    let w = history.window.sanitized();
    let max_gap = opts
        .max_gap
        .unwrap_or_else(|| episodes::default_max_gap(w.step));
    let merged = episodes::merge_series(history);
    let mut eps: Vec<Episode> = merged
        .iter()
        .flat_map(|s| episodes::episodes_of(s, &w, max_gap))
        .collect();
    episodes::sort_episodes(&mut eps);
    let firing_seconds: i64 = eps.iter().map(|e| e.duration).sum();

    let window = WindowSummary {
        from: w.from,
        to: w.to,
        step: w.step,
        max_gap,
        sources: history.sources(),
        input_series: history.series.len(),
        series: merged.len(),
        rules: history.rules.len(),
        episodes: eps.len(),
        open_episodes: eps.iter().filter(|e| e.open).count(),
        firing_seconds,
    };
    let durations = durations(&eps, opts);
    let (dead_rules, pending_never_firing) = rules(history, &merged, &eps);
    let mut analysis = Analysis {
        window,
        noise: noise(&merged, &eps, firing_seconds, opts),
        flapping: merged
            .iter()
            .filter_map(|s| flapping::analyze_series(s, &w, &opts.flap))
            .collect(),
        correlation: correlation::correlate(&eps, w.len_seconds(), &opts.correlation),
        temporal: temporal::profiles(&eps, w.len_seconds(), &opts.schedule),
        always_firing: always_firing(&merged, &eps, w.len_seconds(), opts),
        durations,
        dead_rules,
        pending_never_firing,
        signal_to_noise: Vec::new(),
        recommendations: Vec::new(),
        review: Vec::new(),
    };
    let r = recommend::recommend(history, &analysis, opts);
    analysis.signal_to_noise = r.signal_to_noise;
    analysis.recommendations = r.recommendations;
    analysis.review = r.review;
    analysis
}

fn share(part: i64, total: i64) -> f64 {
    if total > 0 {
        part as f64 / total as f64
    } else {
        0.0
    }
}

fn noise(merged: &[MergedSeries], eps: &[Episode], total: i64, opts: &Options) -> Noise {
    #[derive(Default)]
    struct Acc {
        episodes: usize,
        seconds: i64,
        members: std::collections::BTreeSet<String>,
    }
    let mut by_name: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut by_set: BTreeMap<Labels, Acc> = BTreeMap::new();
    for s in merged {
        by_name
            .entry(&s.alertname)
            .or_default()
            .members
            .insert(s.fingerprint.clone());
    }
    for e in eps {
        let a = by_name.entry(&e.alertname).or_default();
        a.episodes += 1;
        a.seconds += e.duration;
        let key: Labels = opts
            .label_set
            .iter()
            .filter_map(|l| e.labels.get(l).map(|v| (l.clone(), v.clone())))
            .collect();
        let b = by_set.entry(key).or_default();
        b.episodes += 1;
        b.seconds += e.duration;
        b.members.insert(e.alertname.clone());
    }
    let mut by_alertname: Vec<AlertNoise> = by_name
        .into_iter()
        .filter(|(_, a)| a.episodes > 0)
        .map(|(n, a)| AlertNoise {
            rank: 0,
            alertname: n.to_string(),
            series: a.members.len(),
            episodes: a.episodes,
            firing_seconds: a.seconds,
            share: share(a.seconds, total),
        })
        .collect();
    by_alertname.sort_by(|x, y| {
        (y.episodes, y.firing_seconds)
            .cmp(&(x.episodes, x.firing_seconds))
            .then_with(|| x.alertname.cmp(&y.alertname))
    });
    let mut by_label_set: Vec<LabelSetNoise> = by_set
        .into_iter()
        .map(|(labels, a)| LabelSetNoise {
            rank: 0,
            labels,
            alertnames: a.members.len(),
            episodes: a.episodes,
            firing_seconds: a.seconds,
            share: share(a.seconds, total),
        })
        .collect();
    by_label_set.sort_by(|x, y| {
        (y.episodes, y.firing_seconds)
            .cmp(&(x.episodes, x.firing_seconds))
            .then_with(|| x.labels.cmp(&y.labels))
    });
    for (i, n) in by_alertname.iter_mut().enumerate() {
        n.rank = i + 1;
    }
    for (i, n) in by_label_set.iter_mut().enumerate() {
        n.rank = i + 1;
    }
    Noise {
        by_alertname,
        by_label_set,
    }
}

fn durations(eps: &[Episode], opts: &Options) -> Vec<DurationStats> {
    let mut by: BTreeMap<&str, Vec<&Episode>> = BTreeMap::new();
    for e in eps {
        by.entry(&e.alertname).or_default().push(e);
    }
    by.into_iter()
        .map(|(name, es)| {
            let mut d: Vec<i64> = es.iter().map(|e| e.duration).collect();
            d.sort_unstable();
            let short: Vec<i64> = d
                .iter()
                .copied()
                .filter(|x| *x <= opts.short_episode)
                .collect();
            let mut ttr: Vec<i64> = es
                .iter()
                .filter(|e| !e.open)
                .map(|e| e.end - e.pending_start.unwrap_or(e.start))
                .collect();
            ttr.sort_unstable();
            DurationStats {
                alertname: name.to_string(),
                episodes: d.len(),
                p50: stats::percentile(&d, 50).unwrap_or(0),
                p90: stats::percentile(&d, 90).unwrap_or(0),
                max: d.last().copied().unwrap_or(0),
                mean: stats::mean(&d).unwrap_or(0.0),
                short_episodes: short.len(),
                short_p50: stats::percentile(&short, 50),
                resolved: ttr.len(),
                mean_time_to_resolve: stats::mean(&ttr),
                p50_time_to_resolve: stats::percentile(&ttr, 50),
                p90_time_to_resolve: stats::percentile(&ttr, 90),
                sorted: d,
            }
        })
        .collect()
}

fn always_firing(
    merged: &[MergedSeries],
    eps: &[Episode],
    window_len: i64,
    opts: &Options,
) -> Vec<AlwaysFiring> {
    let mut secs: BTreeMap<&str, i64> = BTreeMap::new();
    for e in eps {
        *secs.entry(&e.fingerprint).or_default() += e.duration;
    }
    merged
        .iter()
        .filter_map(|s| {
            let f = secs.get(s.fingerprint.as_str()).copied().unwrap_or(0);
            let share = share(f, window_len);
            (f > 0 && share >= opts.always_firing_share).then(|| AlwaysFiring {
                alertname: s.alertname.clone(),
                fingerprint: s.fingerprint.clone(),
                labels: s.labels.clone(),
                firing_seconds: f,
                share,
            })
        })
        .collect()
}

fn rules(
    history: &History,
    merged: &[MergedSeries],
    eps: &[Episode],
) -> (Vec<RuleStatus>, Vec<RuleStatus>) {
    let step = history.window.sanitized().step;
    let mut dead = Vec::new();
    let mut pending_only = Vec::new();
    let fired: std::collections::BTreeSet<&str> =
        eps.iter().map(|e| e.alertname.as_str()).collect();
    let mut by_name: BTreeMap<&str, Vec<&MergedSeries>> = BTreeMap::new();
    for s in merged {
        by_name.entry(&s.alertname).or_default().push(s);
    }
    for r in &history.rules {
        if fired.contains(r.name.as_str()) {
            continue;
        }
        let series = by_name.get(r.name.as_str()).map_or(&[][..], Vec::as_slice);
        let pending_samples = series.iter().map(|s| s.pending.len()).sum();
        let longest = series
            .iter()
            .map(|s| longest_run(&s.pending, step))
            .max()
            .unwrap_or(0);
        let status = RuleStatus {
            name: r.name.clone(),
            group: r.group.clone(),
            for_seconds: r.for_seconds,
            expr: r.expr.clone(),
            pending_samples,
            longest_pending_seconds: longest * step,
        };
        if pending_samples == 0 {
            dead.push(status);
        } else {
            pending_only.push(status);
        }
    }
    let key = |r: &RuleStatus| (r.name.clone(), r.group.clone());
    dead.sort_by_key(key);
    pending_only.sort_by_key(key);
    (dead, pending_only)
}

/// Longest run of samples exactly one step apart (sorted input), in samples.
fn longest_run(samples: &[i64], step: i64) -> i64 {
    let (mut best, mut run) = (0, 0);
    let mut prev = None;
    for &t in samples {
        run = if prev.is_some_and(|p| t - p == step) {
            run + 1
        } else {
            1
        };
        best = best.max(run);
        prev = Some(t);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Rule, Series};

    const H: i64 = 3_600;

    #[test]
    fn noise_ranks_by_episodes_and_shares_firing_time() {
        // A: 3 episodes of 10 min (1800 s); B: 1 episode of 1 h (3600 s); C: 3 episodes of
        // 1 min (180 s). Total 5580 s.
        let mut a = Series::new("A")
            .label("namespace", "shop")
            .label("severity", "page");
        let mut c = Series::new("C")
            .label("namespace", "shop")
            .label("severity", "page");
        for i in 0..3 {
            a = a.firing_between(i * 2 * H, i * 2 * H + 600, 60);
            c = c.firing([i * 2 * H + H]);
        }
        let b = Series::new("B")
            .label("namespace", "db")
            .firing_between(0, H, 60);
        let h = History::new(0, 24 * H, 60)
            .with_series(a)
            .with_series(b)
            .with_series(c);
        let an = analyze(&h, &Options::default());
        let ranked: Vec<_> = an
            .noise
            .by_alertname
            .iter()
            .map(|n| (n.rank, n.alertname.as_str(), n.episodes, n.firing_seconds))
            .collect();
        assert_eq!(
            ranked,
            vec![(1, "A", 3, 1800), (2, "C", 3, 180), (3, "B", 1, 3600)]
        );
        assert!((an.noise.by_alertname[0].share - 1800.0 / 5580.0).abs() < 1e-12);
        let sets: Vec<_> = an
            .noise
            .by_label_set
            .iter()
            .map(|n| {
                (
                    n.labels.values().cloned().collect::<Vec<_>>().join(","),
                    n.episodes,
                    n.alertnames,
                )
            })
            .collect();
        assert_eq!(
            sets,
            vec![("shop,page".to_string(), 6, 2), ("db".to_string(), 1, 1)]
        );
        assert_eq!(an.window.firing_seconds, 5580);
    }

    #[test]
    fn durations_by_hand() {
        // Durations 1, 2, 5, 10, 30 minutes; pending 2 min before the 30-minute one.
        let mut s = Series::new("D");
        for (i, m) in [1, 2, 5, 10, 30].iter().enumerate() {
            let t = i as i64 * 4 * H;
            s = s.firing_between(t, t + m * 60, 60);
        }
        s = s.pending_between(16 * H - 120, 16 * H, 60);
        let an = analyze(
            &History::new(0, 24 * H, 60).with_series(s),
            &Options::default(),
        );
        let d = &an.durations[0];
        // Nearest rank of 5: p50 rank 3 -> 300; p90 rank 5 -> 1800.
        assert_eq!((d.episodes, d.p50, d.p90, d.max), (5, 300, 1800, 1800));
        assert!((d.mean - 576.0).abs() < 1e-9);
        // Short (<= 600 s): 60, 120, 300, 600 -> p50 rank 2 = 120.
        assert_eq!((d.short_episodes, d.short_p50), (4, Some(120)));
        // Time to resolve adds the 120 s pending phase to the last: 60,120,300,600,1920.
        assert_eq!(d.resolved, 5);
        assert_eq!(d.mean_time_to_resolve, Some(600.0));
        assert_eq!(
            (d.p50_time_to_resolve, d.p90_time_to_resolve),
            (Some(300), Some(1920))
        );
    }

    #[test]
    fn always_firing_dead_and_pending_rules() {
        let h = History::new(0, 10 * H, 60)
            .with_series(Series::new("Always").firing_between(0, 9 * H + 1800, 60))
            .with_series(Series::new("Mostly").firing_between(0, 8 * H, 60))
            .with_series(
                Series::new("Waits")
                    .pending_between(H, H + 240, 60)
                    .pending_between(5 * H, 5 * H + 120, 60),
            )
            .with_rule(Rule::new("Always", "g", 0, "1"))
            .with_rule(Rule::new("Dead", "g", 300, "absent(up)"))
            .with_rule(Rule::new("Waits", "g", 600, "x > 1"));
        let an = analyze(&h, &Options::default());
        let af: Vec<_> = an
            .always_firing
            .iter()
            .map(|a| (a.alertname.as_str(), a.share))
            .collect();
        assert_eq!(af, vec![("Always", 0.95)]);
        let dead: Vec<_> = an.dead_rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(dead, vec!["Dead"]);
        let p = &an.pending_never_firing;
        assert_eq!(p.len(), 1);
        assert_eq!(
            (
                p[0].name.as_str(),
                p[0].pending_samples,
                p[0].longest_pending_seconds
            ),
            ("Waits", 6, 240)
        );
    }
}
