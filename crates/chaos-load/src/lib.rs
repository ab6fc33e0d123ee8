//! `sre chaos-load`: an HTTP load generator that measures latency honestly.
//!
//! - [`scenario`]: `--scenario FILE.yaml` (weighted requests, CSV data, think time).
//! - [`schedule`]: the open model's arrival times (constant rate, ramping stages).
//! - [`http1`]: the hand-written HTTP/1.1 client of the hot path (plain and TLS); [`h2`]:
//!   the HTTP/2 client (hyper) for `--http2`.
//! - [`redirect`]: following redirects (`--redirects`).
//! - [`engine`]: worker threads and connections, the closed and open models, the
//!   coordinated-omission correction.
//! - [`stats`]: per-thread recorders (HDR histograms, status codes, error kinds, a
//!   per-second series), merged at the end.
//! - [`summary`], [`text`], [`html`], [`csv`]: the numbers as reports show them (HTML with
//!   charts; Locust and JMeter CSVs); [`threshold`]: CI thresholds.
//! - [`metrics`]: `--metrics-addr`, live Prometheus metrics of the run.
//! - [`combine`]: `compare` (before/after) and `merge` (several machines).
//! - [`tui`]: the live dashboard (ratatui) while a run goes on in a terminal.
//! - [`proxy`]: `sre chaos-load proxy`, the fault-injecting HTTP proxy, with its admin API;
//!   [`tcp_proxy`]: its TCP mode; [`experiment`]: load and a fault timeline together;
//!   [`stress`]: CPU, memory and disk exhaustion; [`fault`]: the faults, their scope and the seeded
//!   decisions.
//! - [`cli`]: `sre chaos-load run`, `compare`, `merge`, `proxy`; [`demo`]: what `sre demo`
//!   runs.

pub mod cli;
pub mod combine;
pub mod csv;
pub mod demo;
pub mod engine;
pub mod experiment;
pub mod fault;
pub mod h2;
pub mod html;
pub mod http1;
pub mod metrics;
pub mod proxy;
pub mod redirect;
pub mod scenario;
pub mod schedule;
pub mod stats;
pub mod stress;
pub mod summary;
pub mod tcp_proxy;
pub mod text;
pub mod threshold;
pub mod tui;

pub use sre_cli::url::shown_url;
