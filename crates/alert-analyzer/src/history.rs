//! The input model: what Prometheus said about alerts over a window, and the offline history
//! file format.
//!
//! # The history file (`sre-alert-history/v1`)
//!
//! One JSON object. Times are Unix seconds; durations are seconds.
//!
//! ```json
//! {
//!   "format": "sre-alert-history/v1",
//!   "window": { "from": 1700000000, "to": 1700086400, "step": 60 },
//!   "series": [
//!     {
//!       "labels": { "alertname": "HighLatency", "namespace": "shop", "severity": "warning" },
//!       "source": "prod-eu",
//!       "firing": [1700000120, 1700000180],
//!       "pending": [1700000000, 1700000060],
//!       "activeAt": [[1700000000, 1700000000]]
//!     }
//!   ],
//!   "rules": [
//!     { "name": "HighLatency", "group": "shop.rules", "for": 120,
//!       "expr": "latency_p99 > 0.5", "labels": { "severity": "warning" } }
//!   ]
//! }
//! ```
//!
//! - `window`: the query window. It is half-open, `[from, to)`: the evaluation instants are
//!   `from`, `from + step`, ... below `to`. A `query_range` with `end = E` is saved with
//!   `to = E + step`. Samples outside the window are ignored.
//! - `series`: one entry per `ALERTS` series. `labels` is the full label set except
//!   `alertstate` (and `__name__`, dropped if present); it must contain `alertname`.
//!   `source` (optional) names the Prometheus the series came from; it is not part of the
//!   label set, so the same alert seen by two Prometheus servers deduplicates.
//!   `firing` and `pending` are the timestamps at which `ALERTS{alertstate="firing"}` and
//!   `ALERTS{alertstate="pending"}` had a value. Order and duplicates do not matter.
//!   `activeAt` (optional) holds `[t, activeAt]` pairs from `ALERTS_FOR_STATE`, whose value
//!   is the time the alert became active: one pair each time that value changed, at the
//!   first sample with the new value. Prometheus restores it after a restart, so the same
//!   `activeAt` on both sides of a gap means one episode, not two.
//! - `missing` (optional): `[source, message]` pairs for what could not be read when the
//!   history was fetched; reading the file back reports them again (`partial`).
//! - `rules`: the alerting rules as `/api/v1/rules` reports them: `name`, `group`, `for`
//!   (seconds, `0` when absent), `expr`, `labels`, optional `keepFiringFor` (seconds).
//!   Rules are optional (an empty list disables the dead-rule checks).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value of the `format` field.
pub const FORMAT: &str = "sre-alert-history/v1";

/// The most evaluation instants a window may hold (about 19 years at a 1-minute step); a
/// bound so that a typo in `step` cannot make the analysis allocate without limit.
pub const MAX_CHECKS: i64 = 10_000_000;

/// The largest absolute time (and step) accepted, about 34,800 years from 1970: far beyond any
/// real window, and small enough that sums of times cannot overflow.
pub const MAX_TIME: i64 = 1 << 40;

/// A label set, sorted by label name.
pub type Labels = BTreeMap<String, String>;

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The text is not JSON of the expected shape.
    #[error("invalid alert history at line {line}, column {column}")]
    Json {
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    /// The `format` field names another format or version.
    #[error("unsupported alert history format `{found}` (expected `{FORMAT}`)")]
    Format { found: String },
    /// The window is empty, inverted, or has a non-positive or too small step.
    #[error("invalid alert history window: {reason}")]
    Window { reason: String },
    /// A series has no `alertname` label.
    #[error("alert history series {index} has no `alertname` label")]
    NoAlertname { index: usize },
}

/// The query window: half-open `[from, to)` with one evaluation every `step` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    pub step: i64,
}

impl Window {
    /// Length of the window in seconds.
    pub fn len_seconds(&self) -> i64 {
        self.to - self.from
    }

    /// Number of evaluation instants (`ceil((to - from) / step)`).
    pub fn checks(&self) -> i64 {
        let step = self.step.max(1);
        (self.len_seconds().max(0) + step - 1) / step
    }

    /// The window with its values forced into range (times within [`MAX_TIME`], `to > from`,
    /// `step >= 1` and at most [`MAX_CHECKS`] checks). Equal to `self` for a window that
    /// passes validation; the analysis uses it so that an unvalidated window can neither
    /// panic nor allocate without bound.
    pub fn sanitized(&self) -> Window {
        let from = self.from.clamp(-MAX_TIME, MAX_TIME - 1);
        let to = self.to.clamp(from + 1, MAX_TIME);
        let min_step = (to - from + MAX_CHECKS - 1) / MAX_CHECKS;
        let step = self.step.clamp(min_step.max(1), MAX_TIME);
        Window { from, to, step }
    }

    /// True if `t` lies in `[from, to)`.
    pub fn contains(&self, t: i64) -> bool {
        t >= self.from && t < self.to
    }

    fn validate(&self) -> Result<(), HistoryError> {
        let reason = if self.step <= 0 {
            format!("step must be positive (got {})", self.step)
        } else if self.from < -MAX_TIME || self.to > MAX_TIME || self.step > MAX_TIME {
            format!("times and step must lie within +/-{MAX_TIME} seconds")
        } else if self.to <= self.from {
            format!("`to` ({}) must be after `from` ({})", self.to, self.from)
        } else if self.checks() > MAX_CHECKS {
            format!(
                "{} evaluations of {}s exceed the limit of {MAX_CHECKS}; use a larger step",
                self.checks(),
                self.step
            )
        } else {
            return Ok(());
        };
        Err(HistoryError::Window { reason })
    }
}

/// One `ALERTS` series: its labels and when it was firing or pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub firing: Vec<i64>,
    #[serde(default)]
    pub pending: Vec<i64>,
    /// From `ALERTS_FOR_STATE`: `[t, activeAt]` pairs, the first sample time at which the
    /// alert's activation time took a new value. Optional; it lets an episode ride over a
    /// Prometheus restart (the same activation on both sides of a gap).
    #[serde(default, rename = "activeAt", skip_serializing_if = "Vec::is_empty")]
    pub active_at: Vec<[i64; 2]>,
}

impl Series {
    /// A series with only an `alertname` label and no samples.
    pub fn new(alertname: &str) -> Self {
        let mut labels = Labels::new();
        labels.insert("alertname".to_string(), alertname.to_string());
        Series {
            labels,
            source: None,
            firing: Vec::new(),
            pending: Vec::new(),
            active_at: Vec::new(),
        }
    }

    /// The `alertname` label (empty if missing; [`History::validate`] rejects that).
    pub fn alertname(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// Adds a label.
    #[must_use]
    pub fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }

    /// Sets the source (which Prometheus the series came from).
    #[must_use]
    pub fn source(mut self, source: &str) -> Self {
        self.source = Some(source.to_string());
        self
    }

    /// Adds firing samples.
    #[must_use]
    pub fn firing(mut self, at: impl IntoIterator<Item = i64>) -> Self {
        self.firing.extend(at);
        self
    }

    /// Adds a firing sample every `step` seconds in `[start, end)`.
    #[must_use]
    pub fn firing_between(self, start: i64, end: i64, step: i64) -> Self {
        self.firing(every(start, end, step))
    }

    /// Adds pending samples.
    #[must_use]
    pub fn pending(mut self, at: impl IntoIterator<Item = i64>) -> Self {
        self.pending.extend(at);
        self
    }

    /// Records that from `t` on, `ALERTS_FOR_STATE` gave the activation time `active_at`.
    #[must_use]
    pub fn active_since(mut self, t: i64, active_at: i64) -> Self {
        self.active_at.push([t, active_at]);
        self
    }

    /// Adds a pending sample every `step` seconds in `[start, end)`.
    #[must_use]
    pub fn pending_between(self, start: i64, end: i64, step: i64) -> Self {
        self.pending(every(start, end, step))
    }
}

fn every(start: i64, end: i64, step: i64) -> impl Iterator<Item = i64> {
    let step = step.max(1);
    (0..)
        .map(move |k| start + k * step)
        .take_while(move |t| *t < end)
}

/// An alerting rule as `/api/v1/rules` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: String,
    #[serde(default)]
    pub group: String,
    /// The rule's `for:` in seconds (0 when absent).
    #[serde(default, rename = "for")]
    pub for_seconds: i64,
    #[serde(default)]
    pub expr: String,
    #[serde(default)]
    pub labels: Labels,
    /// The rule's `keep_firing_for:` in seconds, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<i64>,
}

impl Rule {
    /// A rule with no labels and no `keep_firing_for`.
    pub fn new(name: &str, group: &str, for_seconds: i64, expr: &str) -> Self {
        Rule {
            name: name.to_string(),
            group: group.to_string(),
            for_seconds,
            expr: expr.to_string(),
            labels: Labels::new(),
            keep_firing_for: None,
        }
    }

    /// Adds a label.
    #[must_use]
    pub fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }
}

/// A whole history: window, series and rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub format: String,
    pub window: Window,
    #[serde(default)]
    pub series: Vec<Series>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What could not be read when the history was fetched (a source that was down, rules
    /// that could not be listed): `[source, message]` pairs. A history read back with them
    /// gives a `partial` report again. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<(String, String)>,
}

impl History {
    /// An empty history over `[from, to)` at `step` seconds.
    pub fn new(from: i64, to: i64, step: i64) -> Self {
        History {
            format: FORMAT.to_string(),
            window: Window { from, to, step },
            series: Vec::new(),
            rules: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// Adds a series.
    #[must_use]
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a rule.
    #[must_use]
    pub fn with_rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Parses and validates a history file.
    pub fn from_json(text: &str) -> Result<Self, HistoryError> {
        let history: History = serde_json::from_str(text).map_err(|source| HistoryError::Json {
            line: source.line(),
            column: source.column(),
            source,
        })?;
        history.validate()?;
        Ok(history)
    }

    /// The history as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain maps, vectors and integers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the format, the window and that every series has an `alertname`.
    pub fn validate(&self) -> Result<(), HistoryError> {
        if self.format != FORMAT {
            return Err(HistoryError::Format {
                found: self.format.clone(),
            });
        }
        self.window.validate()?;
        if let Some(index) = self.series.iter().position(|s| s.alertname().is_empty()) {
            return Err(HistoryError::NoAlertname { index });
        }
        Ok(())
    }

    /// The distinct sources, sorted.
    pub fn sources(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .series
            .iter()
            .filter_map(|s| s.source.clone())
            .collect();
        s.sort();
        s.dedup();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_validation() {
        let h = History::new(0, 3600, 60)
            .with_series(
                Series::new("A")
                    .label("severity", "page")
                    .source("p1")
                    .firing([60, 0]),
            )
            .with_rule(Rule::new("A", "g", 300, "up == 0"));
        let back = History::from_json(&h.to_json()).map_err(|e| e.to_string());
        assert_eq!(back, Ok(h));
        assert_eq!(
            Window {
                from: 0,
                to: 3601,
                step: 60
            }
            .checks(),
            61
        );
        let ok = Window {
            from: 0,
            to: 3600,
            step: 60,
        };
        assert_eq!(ok.sanitized(), ok);
        let bad = Window {
            from: i64::MIN,
            to: i64::MIN,
            step: 0,
        }
        .sanitized();
        assert!(
            bad.to > bad.from && bad.step >= 1 && bad.checks() <= MAX_CHECKS,
            "{bad:?}"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = History::from_json("{\n \"format\": 3}")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("invalid alert history at line 2, column 12".to_string())
        );
        let bad = History::new(0, 60, 60);
        let text = bad.to_json().replace(FORMAT, "sre-alert-history/v9");
        let e = History::from_json(&text)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(&e, Err(m) if m.contains("sre-alert-history/v9")),
            "{e:?}"
        );
        let e = History::new(100, 50, 60)
            .validate()
            .map_err(|e| e.to_string());
        assert!(matches!(&e, Err(m) if m.contains("must be after")), "{e:?}");
        let e = History::new(0, MAX_TIME + 1, 60)
            .validate()
            .map_err(|e| e.to_string());
        assert!(matches!(&e, Err(m) if m.contains("within")), "{e:?}");
        let e = History::new(0, 60, 0).validate().map_err(|e| e.to_string());
        assert!(
            matches!(&e, Err(m) if m.contains("step must be positive")),
            "{e:?}"
        );
        let mut nameless = History::new(0, 60, 60).with_series(Series::new("A"));
        nameless.series[0].labels.clear();
        assert!(matches!(
            nameless.validate(),
            Err(HistoryError::NoAlertname { index: 0 })
        ));
    }
}
