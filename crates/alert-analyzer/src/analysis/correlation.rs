//! Correlation: which alertnames start firing together.
//!
//! # Method
//!
//! - Two episodes **co-occur** when their starts are at most `window` seconds apart
//!   (default 300). For a pair of alertnames A and B, episodes are matched one to one,
//!   greedily in time order (each A episode takes the earliest unmatched B episode in reach);
//!   `co_occurrences` is the number of matches, so it never exceeds either side's count.
//! - **Jaccard** = `co / (a + b - co)`, where `a`, `b` are the episode counts: 1.0 when every
//!   episode of each has a partner.
//! - **Lift** = `co * T / (a * b)`, where `T = max(1, window length / (2 * correlation
//!   window))` is the number of match slots in the analysis window (a start matches anything
//!   within a slot `2 * window` wide): how much more often the two start together than two
//!   independent alerts with the same counts would (about 1 for independent alerts).
//! - A pair is reported when it has at least `min_co_occurrences` matches and a lift of at
//!   least `min_lift` (default 2: twice what chance gives), which keeps alerts that merely
//!   fire all the time out of the list. **Clusters** are
//!   the connected components of the graph whose edges are the reported pairs with Jaccard at
//!   least `min_jaccard`; each cluster of two or more alertnames is an incident group.

use crate::episodes::Episode;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Correlation settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelationOptions {
    /// Largest distance between two starts that still counts as together (seconds).
    pub window: i64,
    /// Pairs with fewer matches are not reported.
    pub min_co_occurrences: usize,
    /// Pairs with a lower lift are not reported.
    pub min_lift: f64,
    /// Pairs below this Jaccard index do not join clusters.
    pub min_jaccard: f64,
}

impl Default for CorrelationOptions {
    fn default() -> Self {
        CorrelationOptions {
            window: 300,
            min_co_occurrences: 3,
            min_lift: 2.0,
            min_jaccard: 0.5,
        }
    }
}

/// Two alertnames that fire together.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub a_episodes: usize,
    pub b_episodes: usize,
    pub co_occurrences: usize,
    pub jaccard: f64,
    pub lift: f64,
}

/// A group of alertnames linked by strong pairs: likely one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// Members, sorted.
    pub alertnames: Vec<String>,
    /// Number of strong pairs inside the cluster.
    pub pairs: usize,
    pub min_jaccard: f64,
    pub max_jaccard: f64,
    /// Largest co-occurrence count of a pair inside the cluster.
    pub max_co_occurrences: usize,
}

/// Pairs (sorted by Jaccard, then matches, descending) and clusters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Correlation {
    pub pairs: Vec<Pair>,
    pub clusters: Vec<Cluster>,
}

/// Greedy one-to-one matching of two sorted start lists within `w` seconds.
pub fn co_occurrences(a: &[i64], b: &[i64], w: i64) -> usize {
    let (mut j, mut n) = (0, 0);
    for &x in a {
        while j < b.len() && b[j] < x.saturating_sub(w) {
            j += 1;
        }
        if j < b.len() && b[j] <= x.saturating_add(w) {
            n += 1;
            j += 1;
        }
    }
    n
}

/// Counts per pair of name indices: a dense matrix for up to [`Counts::DENSE`] names (fast,
/// at most 64 MiB), a hash map beyond.
enum Counts {
    Dense { n: usize, c: Vec<u32> },
    Sparse(HashMap<(usize, usize), u32>),
}

impl Counts {
    const DENSE: usize = 4_096;

    fn new(n: usize) -> Self {
        if n <= Self::DENSE {
            Counts::Dense {
                n,
                c: vec![0; n * n],
            }
        } else {
            Counts::Sparse(HashMap::new())
        }
    }

    fn add(&mut self, i: usize, j: usize) {
        match self {
            Counts::Dense { n, c } => {
                if let Some(x) = c.get_mut(i * *n + j) {
                    *x = x.saturating_add(1);
                }
            }
            Counts::Sparse(m) => {
                let x = m.entry((i, j)).or_default();
                *x = x.saturating_add(1);
            }
        }
    }

    /// Pairs `(i, j, count)`, `i < j`, counted at least `min` times, sorted.
    fn at_least(&self, min: usize) -> Vec<(usize, usize, u32)> {
        let min = u32::try_from(min).unwrap_or(u32::MAX);
        let mut out: Vec<(usize, usize, u32)> = match self {
            Counts::Dense { n, c } => c
                .iter()
                .enumerate()
                .filter(|(_, x)| **x >= min)
                .map(|(k, x)| (k / n, k % n, *x))
                .collect(),
            Counts::Sparse(m) => m
                .iter()
                .filter(|(_, x)| **x >= min)
                .map(|((i, j), x)| (*i, *j, *x))
                .collect(),
        };
        out.sort_unstable();
        out
    }
}

/// Correlates the episode starts of every pair of alertnames.
pub fn correlate(episodes: &[Episode], window_len: i64, opts: &CorrelationOptions) -> Correlation {
    let mut starts: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for e in episodes {
        starts.entry(&e.alertname).or_default().push(e.start);
    }
    for v in starts.values_mut() {
        v.sort_unstable();
    }
    let slots = (window_len / opts.window.max(1).saturating_mul(2)).max(1) as f64;
    let names: Vec<(&str, Vec<i64>)> = starts.into_iter().collect();
    // Candidate pairs first: one sweep over all starts in time order counts, per pair of
    // names, the starts within the window of each other. That count bounds the one-to-one
    // matches from above, so only pairs that could pass the filters are matched exactly
    // (instead of every pair of names).
    let mut events: Vec<(i64, usize)> = names
        .iter()
        .enumerate()
        .flat_map(|(i, (_, s))| s.iter().map(move |t| (*t, i)))
        .collect();
    events.sort_unstable();
    let mut close = Counts::new(names.len());
    for (k, (t, i)) in events.iter().enumerate() {
        for (_, j) in events[k + 1..]
            .iter()
            .take_while(|(u, _)| u - t <= opts.window)
        {
            if i != j {
                close.add((*i).min(*j), (*i).max(*j));
            }
        }
    }
    let mut pairs = Vec::new();
    for (i, j, bound) in close.at_least(opts.min_co_occurrences.max(1)) {
        let ((a, sa), (b, sb)) = (&names[i], &names[j]);
        // The lift with `bound` matches is the most this pair can reach.
        if f64::from(bound) * slots / (sa.len() as f64 * sb.len() as f64) < opts.min_lift {
            continue;
        }
        {
            let co = co_occurrences(sa, sb, opts.window);
            if co == 0 || co < opts.min_co_occurrences {
                continue;
            }
            let (na, nb) = (sa.len(), sb.len());
            let lift = co as f64 * slots / (na as f64 * nb as f64);
            if lift < opts.min_lift {
                continue;
            }
            pairs.push(Pair {
                a: (*a).to_string(),
                b: (*b).to_string(),
                a_episodes: na,
                b_episodes: nb,
                co_occurrences: co,
                jaccard: co as f64 / (na + nb - co) as f64,
                lift,
            });
        }
    }
    pairs.sort_by(|x, y| {
        y.jaccard
            .total_cmp(&x.jaccard)
            .then_with(|| y.co_occurrences.cmp(&x.co_occurrences))
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
    let clusters = clusters(&pairs, opts.min_jaccard);
    Correlation { pairs, clusters }
}

fn clusters(pairs: &[Pair], min_jaccard: f64) -> Vec<Cluster> {
    let strong: Vec<&Pair> = pairs.iter().filter(|p| p.jaccard >= min_jaccard).collect();
    let mut names: Vec<&str> = strong
        .iter()
        .flat_map(|p| [p.a.as_str(), p.b.as_str()])
        .collect();
    names.sort_unstable();
    names.dedup();
    let idx = |n: &str| names.binary_search(&n).unwrap_or(0);
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for p in &strong {
        let (ra, rb) = (find(&mut parent, idx(&p.a)), find(&mut parent, idx(&p.b)));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: BTreeMap<usize, (Vec<String>, Vec<&Pair>)> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().0.push((*n).to_string());
    }
    for p in &strong {
        let r = find(&mut parent, idx(&p.a));
        groups.entry(r).or_default().1.push(p);
    }
    let mut out: Vec<Cluster> = groups
        .into_values()
        .map(|(alertnames, inner)| Cluster {
            pairs: inner.len(),
            min_jaccard: inner.iter().map(|p| p.jaccard).fold(1.0, f64::min),
            max_jaccard: inner.iter().map(|p| p.jaccard).fold(0.0, f64::max),
            max_co_occurrences: inner.iter().map(|p| p.co_occurrences).max().unwrap_or(0),
            alertnames,
        })
        .collect();
    out.sort_by(|x, y| {
        y.alertnames
            .len()
            .cmp(&x.alertnames.len())
            .then_with(|| x.alertnames.cmp(&y.alertnames))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episodes::episodes;
    use crate::history::{History, Series};

    const DAY: i64 = 86_400;

    #[test]
    fn greedy_matching_is_one_to_one() {
        assert_eq!(co_occurrences(&[0, 10], &[5], 300), 1);
        assert_eq!(co_occurrences(&[0, 1000], &[200, 1100], 300), 2);
        assert_eq!(co_occurrences(&[0], &[301], 300), 0);
    }

    #[test]
    fn always_together_has_jaccard_one_and_clusters() {
        // A starts at 09:00 each day for 10 days, B 50 s later, C 4 h later (never together),
        // D within a minute of A on 4 of the 10 days only.
        let mut h = History::new(0, 10 * DAY, 60);
        let days = 0..10;
        let at = |off: i64| days.clone().map(move |d| d * DAY + 9 * 3600 + off);
        h = h
            .with_series(Series::new("A").firing(at(0)))
            .with_series(Series::new("B").firing(at(50)))
            .with_series(Series::new("C").firing(at(4 * 3600)))
            .with_series(Series::new("D").firing(at(30).take(4)));
        let c = correlate(
            &episodes(&h, 300),
            h.window.len_seconds(),
            &CorrelationOptions::default(),
        );
        let ab = c.pairs.iter().find(|p| p.a == "A" && p.b == "B");
        let Some(ab) = ab else {
            panic!("A and B must pair: {c:?}")
        };
        assert_eq!(
            (ab.co_occurrences, ab.a_episodes, ab.b_episodes),
            (10, 10, 10)
        );
        assert!((ab.jaccard - 1.0).abs() < 1e-12);
        // 10 days / 600 s = 1440 slots; lift = 10 * 1440 / (10 * 10) = 144.
        assert!((ab.lift - 144.0).abs() < 1e-9, "{}", ab.lift);
        assert!(!c.pairs.iter().any(|p| p.a == "C" || p.b == "C"));
        // A-D: 4 matches of 10 and 4 -> Jaccard 4 / 10 = 0.4, below the cluster threshold.
        let ad = c.pairs.iter().find(|p| p.a == "A" && p.b == "D");
        assert!(
            ad.is_some_and(|p| (p.jaccard - 0.4).abs() < 1e-12),
            "{ad:?}"
        );
        assert_eq!(c.clusters.len(), 1);
        assert_eq!(c.clusters[0].alertnames, vec!["A", "B"]);
    }

    #[test]
    fn chains_join_into_one_cluster() {
        let mut h = History::new(0, 10 * DAY, 60);
        for (name, off) in [("X", 0), ("Y", 200), ("Z", 400)] {
            h = h.with_series(Series::new(name).firing((0..5).map(|d| d * DAY + off)));
        }
        let c = correlate(
            &episodes(&h, 300),
            h.window.len_seconds(),
            &CorrelationOptions::default(),
        );
        // X-Y and Y-Z are within 300 s, X-Z (400 s) is not.
        assert_eq!(c.pairs.len(), 2, "{c:?}");
        assert_eq!(c.clusters.len(), 1);
        assert_eq!(c.clusters[0].alertnames, vec!["X", "Y", "Z"]);
        assert_eq!(c.clusters[0].pairs, 2);
    }
}
