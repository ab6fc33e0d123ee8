//! alert-analyzer integration tests: one binary, modules per area.

mod prometheus;
mod report;

use alert_analyzer::{History, Rule, Series};

pub const DAY: i64 = 86_400;
pub const HOUR: i64 = 3_600;
/// Monday 2023-11-13 00:00 UTC.
pub const MONDAY: i64 = 1_699_833_600;

/// One line per finding, for snapshots and readable assertions.
pub fn lines(report: &sre_core::Report) -> String {
    report
        .findings
        .iter()
        .map(|f| format!("{} {} [{}] {}\n", f.severity, f.code, f.resource, f.message))
        .collect()
}

/// Fourteen days at a one-minute step with one planted pattern per analysis:
/// - `BackupSlow`: 10 minutes every night at 02:00 (schedule-driven);
/// - `NodeDown` and `KubeletDown`: start within a minute of each other, 8 times (correlated),
///   the second one seen by two Prometheus servers (deduplicated);
/// - `Flappy`: toggles every minute for an hour on day 3 (flapping), quiet otherwise;
/// - `Blip`: 40 one- or two-minute blips (noisy, short: raise `for:`);
/// - `Watchdog`: firing the whole window (always firing);
/// - rules `OldDiskAlert` (no samples: dead) and `SlowQueries` (pending only).
pub fn synthetic() -> History {
    let step = 60;
    let mut h = History::new(MONDAY, MONDAY + 14 * DAY, step);
    let mut backup = Series::new("BackupSlow")
        .label("namespace", "ops")
        .label("severity", "warning");
    for d in 0..14 {
        let t = MONDAY + d * DAY + 2 * HOUR;
        backup = backup.firing_between(t, t + 600, step);
    }
    let mut node = Series::new("NodeDown").label("severity", "critical");
    let mut kubelet_a = Series::new("KubeletDown")
        .label("severity", "warning")
        .source("prom-a");
    let mut kubelet_b = Series::new("KubeletDown")
        .label("severity", "warning")
        .source("prom-b");
    for i in 0..8 {
        let t = MONDAY + i * 37 * HOUR + 5 * HOUR + 1_800;
        node = node.firing_between(t, t + 20 * 60, step);
        kubelet_a = kubelet_a.firing_between(t + 60, t + 25 * 60, step);
        kubelet_b = kubelet_b.firing_between(t + 60, t + 25 * 60, step);
    }
    let flap_start = MONDAY + 3 * DAY + 14 * HOUR;
    let flappy = Series::new("Flappy")
        .label("namespace", "shop")
        .firing((0..30).map(|i| flap_start + i * 2 * step));
    let mut blip = Series::new("Blip")
        .label("namespace", "shop")
        .label("severity", "page");
    for i in 0..40 {
        // Every 8 h 13 min (so no hour band), alternately 1 and 2 minutes long.
        let t = MONDAY + HOUR + i * (8 * HOUR + 13 * 60);
        blip = blip.firing_between(t, t + (1 + i % 2) * step, step);
    }
    let watchdog = Series::new("Watchdog").firing_between(MONDAY, MONDAY + 14 * DAY, step);
    let slow = Series::new("SlowQueries").pending_between(MONDAY + DAY, MONDAY + DAY + 240, step);
    h = h
        .with_series(backup)
        .with_series(node)
        .with_series(kubelet_a)
        .with_series(kubelet_b)
        .with_series(flappy)
        .with_series(blip)
        .with_series(watchdog)
        .with_series(slow);
    for (name, for_s) in [
        ("BackupSlow", 0),
        ("NodeDown", 60),
        ("KubeletDown", 60),
        ("Flappy", 0),
        ("Blip", 0),
        ("Watchdog", 0),
        ("OldDiskAlert", 300),
        ("SlowQueries", 600),
    ] {
        h = h.with_rule(Rule::new(name, "synthetic.rules", for_s, "vector(1)"));
    }
    h
}
