//! Recommendations derived from an [`Analysis`], each citing the numbers behind it.
//!
//! | kind | when | suggestion |
//! |---|---|---|
//! | `raiseFor` | at least `raise_for_min_episodes` episodes, at least `raise_for_short_share` of them short (at most `short_episode` long) | `for:` = the smallest round duration (1m, 2m, 3m, 5m, 10m, 15m, 20m, 30m, 1h, ...) above the p50 of the short episodes' *active time* (firing duration plus the current `for:`); the episodes it would have silenced (active time at most the new value) are counted |
//! | `keepFiringFor` | the alert flapped | `keep_firing_for:` = the smallest round duration at least the p90 of the gaps between firing runs while flapping, so those gaps no longer resolve and re-fire |
//! | `groupOrInhibit` | a correlation cluster | one Alertmanager route with `group_by` over the cluster, or an inhibit rule from the cause to the consequences |
//! | `routeToTicket` | a schedule-driven alert | route to a ticket queue instead of paging, or fix the job behind it |
//! | `deleteOrFixRule` | a dead rule | delete it, or check its expression still matches series |
//! | `fixPendingRule` | a rule pending but never firing | lower `for:` below the longest pending run or revisit the threshold |
//! | `reviewAlwaysFiring` | an always-firing series | fix the cause, or silence/turn the rule into a dashboard |
//!
//! **Signal-to-noise** of an alertname: `signal` = episodes longer than `short_episode`
//! (long enough to act on), `noise` = the rest; the ratio is `signal / episodes` (0 to 1).
//!
//! **Review list**: every alertname with at least one recommendation, ranked by number of
//! recommendations, then noise episodes, then firing time (all descending), then name.

use crate::analysis::stats::{fmt_duration, round_above};
use crate::analysis::temporal::Schedule;
use crate::analysis::{Analysis, Options};
use crate::history::History;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What a recommendation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    RaiseFor,
    KeepFiringFor,
    GroupOrInhibit,
    RouteToTicket,
    DeleteOrFixRule,
    FixPendingRule,
    ReviewAlwaysFiring,
}

impl Kind {
    /// The camelCase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RaiseFor => "raiseFor",
            Kind::KeepFiringFor => "keepFiringFor",
            Kind::GroupOrInhibit => "groupOrInhibit",
            Kind::RouteToTicket => "routeToTicket",
            Kind::DeleteOrFixRule => "deleteOrFixRule",
            Kind::FixPendingRule => "fixPendingRule",
            Kind::ReviewAlwaysFiring => "reviewAlwaysFiring",
        }
    }
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub kind: Kind,
    /// The alert (or rule) it is about; for a group, its first member.
    pub alertname: String,
    /// Every alertname concerned (one, except for groups).
    pub alertnames: Vec<String>,
    /// Why, with the numbers.
    pub message: String,
    /// What to do, in one imperative sentence.
    pub action: String,
    /// The suggested value in seconds (`for:`, `keep_firing_for:`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_seconds: Option<i64>,
    /// The numbers behind it.
    pub evidence: Map<String, Value>,
}

/// Signal-to-noise of one alertname.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalToNoise {
    pub alertname: String,
    pub episodes: usize,
    pub signal: usize,
    pub noise: usize,
    pub ratio: f64,
}

/// One entry of the ranked review list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItem {
    pub rank: usize,
    pub alertname: String,
    pub recommendations: Vec<Kind>,
    pub episodes: usize,
    pub noise_episodes: usize,
    pub firing_seconds: i64,
}

/// Everything [`recommend`] derives.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recommendations {
    pub recommendations: Vec<Recommendation>,
    pub signal_to_noise: Vec<SignalToNoise>,
    pub review: Vec<ReviewItem>,
}

fn rec(
    kind: Kind,
    names: Vec<String>,
    message: String,
    action: String,
    suggested: Option<i64>,
    evidence: Value,
) -> Recommendation {
    Recommendation {
        kind,
        alertname: names.first().cloned().unwrap_or_default(),
        alertnames: names,
        message,
        action,
        suggested_seconds: suggested,
        evidence: match evidence {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Derives recommendations, signal-to-noise and the review list. The history supplies the
/// rules (current `for:` and `keep_firing_for:`).
pub fn recommend(history: &History, a: &Analysis, opts: &Options) -> Recommendations {
    let rule = |name: &str| history.rules.iter().find(|r| r.name == name);
    let mut out = Vec::new();

    // Raise `for:` against short episodes.
    for d in &a.durations {
        if d.episodes < opts.raise_for_min_episodes.max(1) {
            continue;
        }
        let short_share = d.short_episodes as f64 / d.episodes as f64;
        if short_share < opts.raise_for_short_share || d.short_episodes == 0 {
            continue;
        }
        // A scheduled alert's short episodes are a job's, not noise: route it instead.
        if a.temporal
            .iter()
            .any(|p| p.alertname == d.alertname && p.schedule.is_some())
        {
            continue;
        }
        let current = rule(&d.alertname).map_or(0, |r| r.for_seconds);
        // Active time of a short episode: firing duration plus the `for:` it already waited.
        let Some(short_p50) = d.short_p50 else {
            continue;
        };
        let suggested = round_above(short_p50.saturating_add(current));
        let silenced = d
            .sorted
            .iter()
            .filter(|x| x.saturating_add(current) <= suggested)
            .count();
        let msg = format!(
            "{} of {} episodes ({}) lasted at most {} (p50 {}); for: {} would have silenced {} of {} episodes ({}), delaying real alerts by {}",
            d.short_episodes,
            d.episodes,
            pct(short_share),
            fmt_duration(opts.short_episode),
            fmt_duration(short_p50),
            fmt_duration(suggested),
            silenced,
            d.episodes,
            pct(silenced as f64 / d.episodes as f64),
            fmt_duration(suggested.saturating_sub(current)),
        );
        out.push(rec(
            Kind::RaiseFor,
            vec![d.alertname.clone()],
            msg,
            format!(
                "Raise for: from {} to {} on rule {}.",
                fmt_duration(current),
                fmt_duration(suggested),
                d.alertname
            ),
            Some(suggested),
            json!({
                "episodes": d.episodes, "shortEpisodes": d.short_episodes,
                "shortThresholdSeconds": opts.short_episode, "shortP50Seconds": short_p50,
                "p50Seconds": d.p50, "p90Seconds": d.p90,
                "currentForSeconds": current, "suggestedForSeconds": suggested,
                "silencedEpisodes": silenced, "ruleFound": rule(&d.alertname).is_some(),
            }),
        ));
    }

    // keep_firing_for against flapping: one per alertname, from its worst series.
    let mut worst: BTreeMap<&str, &crate::analysis::flapping::FlapSeries> = BTreeMap::new();
    for f in &a.flapping {
        let e = worst.entry(&f.alertname).or_insert(f);
        if f.max_percent > e.max_percent {
            *e = f;
        }
    }
    for (name, f) in worst {
        let Some(gap) = f.gap_p90 else { continue };
        let suggested = round_above(gap - 1);
        if rule(name)
            .and_then(|r| r.keep_firing_for)
            .is_some_and(|k| k >= suggested)
        {
            continue;
        }
        let msg = format!(
            "flapped for {} in {} interval(s), up to {:.0}% weighted state changes ({} changes); the gaps between firing runs have a p90 of {}, which keep_firing_for: {} bridges",
            fmt_duration(f.flapping_seconds),
            f.intervals.len(),
            f.max_percent,
            f.state_changes,
            fmt_duration(gap),
            fmt_duration(suggested),
        );
        out.push(rec(
            Kind::KeepFiringFor,
            vec![name.to_string()],
            msg,
            format!(
                "Set keep_firing_for: {} on rule {name}.",
                fmt_duration(suggested)
            ),
            Some(suggested),
            json!({
                "maxPercent": f.max_percent, "stateChanges": f.state_changes,
                "flappingSeconds": f.flapping_seconds, "gapP50Seconds": f.gap_p50,
                "gapP90Seconds": gap, "suggestedKeepFiringForSeconds": suggested,
            }),
        ));
    }

    // Group or inhibit correlated alerts.
    for c in &a.correlation.clusters {
        let msg = format!(
            "{} start within {} of each other (Jaccard {:.2} to {:.2}, up to {} co-occurrences)",
            c.alertnames.join(", "),
            fmt_duration(opts.correlation.window),
            c.min_jaccard,
            c.max_jaccard,
            c.max_co_occurrences,
        );
        out.push(rec(
            Kind::GroupOrInhibit,
            c.alertnames.clone(),
            msg,
            format!(
                "Group {} in one Alertmanager route (group_by), or inhibit the consequences by the cause.",
                c.alertnames.join(", ")
            ),
            None,
            json!({
                "alertnames": c.alertnames, "pairs": c.pairs, "minJaccard": c.min_jaccard,
                "maxJaccard": c.max_jaccard, "maxCoOccurrences": c.max_co_occurrences,
                "windowSeconds": opts.correlation.window,
            }),
        ));
    }

    // Schedule-driven alerts go to a ticket.
    for p in &a.temporal {
        let Some(s) = &p.schedule else { continue };
        let msg = format!(
            "{} of its {} episodes start {}: a scheduled job, not an incident",
            pct(s.share()),
            p.episodes,
            s.describe(),
        );
        let hours: Vec<u8> = match s {
            Schedule::Hours { hours, .. } => hours.clone(),
            _ => Vec::new(),
        };
        out.push(rec(
            Kind::RouteToTicket,
            vec![p.alertname.clone()],
            msg,
            format!(
                "Route {} to a ticket queue instead of a page, or fix the job behind it.",
                p.alertname
            ),
            None,
            json!({ "episodes": p.episodes, "share": s.share(), "schedule": s.describe(), "hoursUtc": hours }),
        ));
    }

    for r in &a.dead_rules {
        out.push(rec(
            Kind::DeleteOrFixRule,
            vec![r.name.clone()],
            format!(
                "rule {} (group {}) neither fired nor was pending in the window",
                r.name, r.group
            ),
            format!(
                "Delete rule {}, or check that `{}` still matches series.",
                r.name, r.expr
            ),
            None,
            json!({ "group": r.group, "expr": r.expr, "forSeconds": r.for_seconds }),
        ));
    }
    for r in &a.pending_never_firing {
        out.push(rec(
            Kind::FixPendingRule,
            vec![r.name.clone()],
            format!(
                "rule {} was pending at {} evaluations but never fired: its longest pending run ({}) is shorter than for: {}",
                r.name,
                r.pending_samples,
                fmt_duration(r.longest_pending_seconds),
                fmt_duration(r.for_seconds)
            ),
            format!(
                "Lower for: on rule {} below the pending runs worth a page, or revisit its threshold.",
                r.name
            ),
            None,
            json!({ "group": r.group, "pendingSamples": r.pending_samples,
                    "longestPendingSeconds": r.longest_pending_seconds, "forSeconds": r.for_seconds }),
        ));
    }
    let mut always: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for f in &a.always_firing {
        let e = always.entry(&f.alertname).or_insert((0, 0.0));
        e.0 += 1;
        e.1 = e.1.max(f.share);
    }
    for (name, (series, share)) in always {
        out.push(rec(
            Kind::ReviewAlwaysFiring,
            vec![name.to_string()],
            format!(
                "{series} series fired for up to {} of the window: an alert that never resolves is ignored",
                pct(share)
            ),
            format!("Fix the cause of {name}, or turn it into a dashboard."),
            None,
            json!({ "series": series, "maxShare": share, "thresholdShare": opts.always_firing_share }),
        ));
    }

    let signal_to_noise: Vec<SignalToNoise> = a
        .durations
        .iter()
        .map(|d| {
            let noise = d.short_episodes;
            let signal = d.episodes - noise;
            SignalToNoise {
                alertname: d.alertname.clone(),
                episodes: d.episodes,
                signal,
                noise,
                ratio: if d.episodes > 0 {
                    signal as f64 / d.episodes as f64
                } else {
                    0.0
                },
            }
        })
        .collect();

    let mut kinds: BTreeMap<&str, Vec<Kind>> = BTreeMap::new();
    for r in &out {
        for n in &r.alertnames {
            kinds.entry(n).or_default().push(r.kind);
        }
    }
    let mut review: Vec<ReviewItem> = kinds
        .into_iter()
        .map(|(name, mut ks)| {
            ks.sort();
            ks.dedup();
            let sn = signal_to_noise.iter().find(|s| s.alertname == name);
            let firing = a
                .noise
                .by_alertname
                .iter()
                .find(|n| n.alertname == name)
                .map_or(0, |n| n.firing_seconds);
            ReviewItem {
                rank: 0,
                alertname: name.to_string(),
                recommendations: ks,
                episodes: sn.map_or(0, |s| s.episodes),
                noise_episodes: sn.map_or(0, |s| s.noise),
                firing_seconds: firing,
            }
        })
        .collect();
    review.sort_by(|x, y| {
        (y.recommendations.len(), y.noise_episodes, y.firing_seconds)
            .cmp(&(x.recommendations.len(), x.noise_episodes, x.firing_seconds))
            .then_with(|| x.alertname.cmp(&y.alertname))
    });
    for (i, r) in review.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Recommendations {
        recommendations: out,
        signal_to_noise,
        review,
    }
}
