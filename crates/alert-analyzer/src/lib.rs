//! The analysis core of `sre alert-analyzer`: alert noise, flapping, correlation, timing
//! patterns and dead rules from Prometheus alert history, with recommendations.
//!
//! The analysis modules are pure: no network, no clock, no files. The sources
//! ([`prometheus`], [`alertmanager`]) and [`cli`] build a [`History`] and pass the time.
//!
//! - [`history`]: the input model and the offline `sre-alert-history/v1` file format.
//! - [`mod@episodes`]: samples to firing episodes (gaps, pending, open, dedup across sources).
//! - [`analysis`]: [`analyze`] computes noise, durations, flapping, correlation, temporal
//!   profiles, always-firing series and dead rules.
//! - [`mod@recommend`]: recommendations citing their numbers, signal-to-noise, a review list.
//! - [`mod@findings`]: `AA1xx`/`AA2xx` findings and the whole [`sre_core::Report`].
//!
//! ```
//! use alert_analyzer::{analyze, report, History, Options, Rule, Series};
//! use std::time::UNIX_EPOCH;
//!
//! let history = History::new(0, 86_400, 60)
//!     .with_series(Series::new("DiskFull").label("namespace", "db").firing_between(0, 86_400, 60))
//!     .with_rule(Rule::new("DiskFull", "node.rules", 300, "disk_free < 0.1"))
//!     .with_rule(Rule::new("NeverFires", "node.rules", 0, "up == 2"));
//! let opts = Options::default();
//! let out = report(&history, analyze(&history, &opts), &opts, UNIX_EPOCH);
//! assert_eq!(out.report.findings_for("AA105").count(), 1); // always firing
//! assert_eq!(out.report.findings_for("AA106").count(), 1); // dead rule
//! ```

pub mod alertmanager;
pub mod analysis;
pub mod cli;
pub mod episodes;
pub mod examples;
pub mod findings;
pub mod grafana;
pub mod history;
pub mod html;
pub mod notify;
pub mod prometheus;
pub mod recommend;
pub mod serve;

pub use analysis::{analyze, Analysis, Options};
pub use episodes::{episodes, Episode};
pub use findings::{findings, report, AnalyzedReport, CHECKS};
pub use history::{History, HistoryError, Rule, Series, Window};
pub use recommend::{recommend, Recommendation, Recommendations};
