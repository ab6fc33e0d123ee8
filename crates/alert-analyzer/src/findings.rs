//! Findings in the shared contract, and the whole report.
//!
//! Every finding is about an alert: `resource = Alert <alertname>` (with the namespace when
//! it is about one series that has a `namespace` label). Codes are stable; `AA1xx` are
//! detections, `AA2xx` recommendations (one per [`Recommendation`]).
//!
//! `sre_core::Report` has no slot for tool-specific sections, so the analysis travels beside
//! it: [`AnalyzedReport`] serializes as the report's JSON contract plus an `analysis` key.

use crate::analysis::stats::fmt_duration;
use crate::analysis::{Analysis, Options};
use crate::history::{History, Labels};
use crate::recommend::{Kind, Recommendation};
use serde::Serialize;
use serde_json::{json, Value};
use sre_core::{CheckMeta, Finding, Report, Resource, Severity};
use std::time::SystemTime;

/// Tool name in reports.
pub const TOOL: &str = "alert-analyzer";
/// Command name in reports.
pub const COMMAND: &str = "analyze";

/// One of the top N alertnames by episodes (then firing time).
///
/// Why: every episode is a notification; a few alerts usually make most of the noise.
/// Warning from `noisy_episodes` episodes (default 20) or a 25 % share of all firing time,
/// else info. Example: `AA101 Alert KubePodCrashLooping: #1 of 42 alertnames: 96 episodes`.
pub const AA101: CheckMeta = CheckMeta {
    code: "AA101",
    name: "noisy-alert",
    title: "Noisy alert",
    severity: Severity::Warning,
    aliases: &[],
};
/// A series flapped: its weighted state-change percentage rose above `high`
/// (see `analysis::flapping`).
///
/// Why: a flapping alert pages and resolves again and again for one problem.
/// Example: `AA102 Alert shop/HighLatency: flapped 2 time(s) for 1h10m, max 100%`.
pub const AA102: CheckMeta = CheckMeta {
    code: "AA102",
    name: "flapping-alert",
    title: "Flapping alert",
    severity: Severity::Warning,
    aliases: &[],
};
/// A group of alertnames whose episodes start together (a correlation cluster).
///
/// Why: one incident paging several times is noise; the group should be one notification.
/// Example: `AA103 Alert NodeDown: fires together with KubeletDown (Jaccard 0.95)`.
pub const AA103: CheckMeta = CheckMeta {
    code: "AA103",
    name: "correlated-alerts",
    title: "Alerts fire together",
    severity: Severity::Info,
    aliases: &[],
};
/// An alert whose starts follow a schedule (a narrow band of UTC hours, weekends, weekdays).
///
/// Why: an alert that fires every night at 02:00 is a job, not an incident.
/// Example: `AA104 Alert BackupSlow: 93% of 15 episodes start 02:00-03:00 UTC`.
pub const AA104: CheckMeta = CheckMeta {
    code: "AA104",
    name: "schedule-driven-alert",
    title: "Schedule-driven alert",
    severity: Severity::Info,
    aliases: &[],
};
/// A series firing at least `always_firing_share` (default 90 %) of the window.
///
/// Why: an alert that never resolves is ignored, and hides the next real problem.
/// Example: `AA105 Alert Watchdog-like: firing 100% of the window`.
pub const AA105: CheckMeta = CheckMeta {
    code: "AA105",
    name: "always-firing-alert",
    title: "Always-firing alert",
    severity: Severity::Warning,
    aliases: &[],
};
/// An alerting rule that neither fired nor was pending in the window.
///
/// Why: a rule that never fires is either dead weight or broken (a renamed metric).
/// Example: `AA106 Alert OldDiskAlert: rule in group node.rules never fired`.
pub const AA106: CheckMeta = CheckMeta {
    code: "AA106",
    name: "dead-rule",
    title: "Rule never fired",
    severity: Severity::Info,
    aliases: &[],
};
/// An alerting rule that was pending but never fired.
///
/// Why: its `for:` is longer than every spell of its condition: it can never page.
/// Example: `AA107 Alert SlowQueries: pending 12 times, longest 4m, for: 10m`.
pub const AA107: CheckMeta = CheckMeta {
    code: "AA107",
    name: "pending-never-fires",
    title: "Rule pending but never fires",
    severity: Severity::Warning,
    aliases: &[],
};
/// Recommendation: raise `for:` (value from the duration distribution).
pub const AA201: CheckMeta = CheckMeta {
    code: "AA201",
    name: "raise-for",
    title: "Raise for: to drop short episodes",
    severity: Severity::Info,
    aliases: &[],
};
/// Recommendation: add `keep_firing_for:` against flapping.
pub const AA202: CheckMeta = CheckMeta {
    code: "AA202",
    name: "add-keep-firing-for",
    title: "Add keep_firing_for: against flapping",
    severity: Severity::Info,
    aliases: &[],
};
/// Recommendation: group or inhibit correlated alerts.
pub const AA203: CheckMeta = CheckMeta {
    code: "AA203",
    name: "group-or-inhibit",
    title: "Group or inhibit correlated alerts",
    severity: Severity::Info,
    aliases: &[],
};
/// Recommendation: route a schedule-driven alert to a ticket.
pub const AA204: CheckMeta = CheckMeta {
    code: "AA204",
    name: "route-to-ticket",
    title: "Route schedule-driven alert to a ticket",
    severity: Severity::Info,
    aliases: &[],
};
/// Recommendation: delete or fix a dead rule.
pub const AA205: CheckMeta = CheckMeta {
    code: "AA205",
    name: "delete-or-fix-rule",
    title: "Delete or fix dead rule",
    severity: Severity::Info,
    aliases: &[],
};
/// Recommendation: fix a rule that is pending but never fires.
pub const AA206: CheckMeta = CheckMeta {
    code: "AA206",
    name: "fix-pending-rule",
    title: "Fix rule that never leaves pending",
    severity: Severity::Info,
    aliases: &[],
};
/// Recommendation: review an always-firing alert.
pub const AA207: CheckMeta = CheckMeta {
    code: "AA207",
    name: "review-always-firing",
    title: "Review always-firing alert",
    severity: Severity::Info,
    aliases: &[],
};

/// Every check, by code.
pub const CHECKS: &[CheckMeta] = &[
    AA101, AA102, AA103, AA104, AA105, AA106, AA107, AA201, AA202, AA203, AA204, AA205, AA206,
    AA207,
];

fn alert(name: &str, labels: Option<&Labels>) -> Resource {
    let ns = labels.and_then(|l| l.get("namespace")).map(String::as_str);
    Resource::object("Alert", ns, name)
}

fn labels_text(labels: &Labels) -> String {
    labels
        .iter()
        .filter(|(k, _)| *k != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A share as a percentage: one decimal below 10 %, whole numbers above.
fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn check_of(kind: Kind) -> &'static CheckMeta {
    match kind {
        Kind::RaiseFor => &AA201,
        Kind::KeepFiringFor => &AA202,
        Kind::GroupOrInhibit => &AA203,
        Kind::RouteToTicket => &AA204,
        Kind::DeleteOrFixRule => &AA205,
        Kind::FixPendingRule => &AA206,
        Kind::ReviewAlwaysFiring => &AA207,
    }
}

/// The findings of an analysis (unsorted; [`Report::finish`] sorts them).
pub fn findings(a: &Analysis, opts: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    let names = a.noise.by_alertname.len();
    for n in a.noise.by_alertname.iter().take(opts.top_n) {
        let snr = a
            .signal_to_noise
            .iter()
            .find(|s| s.alertname == n.alertname);
        let sev = if n.episodes >= opts.noisy_episodes || n.share >= 0.25 {
            Severity::Warning
        } else {
            Severity::Info
        };
        let mut f = Finding::new(
            &AA101,
            alert(&n.alertname, None),
            format!(
                "#{} of {names} alertnames: {}, firing {} ({} of all firing time)",
                n.rank,
                plural(n.episodes, "episode", "episodes"),
                fmt_duration(n.firing_seconds),
                pct(n.share)
            ),
        )
        .severity(sev)
        .remediation(
            "Review the rule: see the AA2xx recommendations for this alert, or tune its threshold.",
        )
        .evidence("rank", n.rank)
        .evidence("episodes", n.episodes)
        .evidence("series", n.series)
        .evidence("firingSeconds", n.firing_seconds)
        .evidence("share", n.share);
        if let Some(s) = snr {
            f = f
                .evidence("signalToNoise", s.ratio)
                .evidence("shortEpisodes", s.noise);
        }
        out.push(f);
    }
    for s in &a.flapping {
        let labels = labels_text(&s.labels);
        out.push(
            Finding::new(
                &AA102,
                alert(&s.alertname, Some(&s.labels)),
                format!(
                    "{}flapped {} for {}, max {:.0}% weighted state changes, {} changes",
                    if labels.is_empty() { String::new() } else { format!("{{{labels}}} ") },
                    plural(s.intervals.len(), "time", "times"),
                    fmt_duration(s.flapping_seconds),
                    s.max_percent,
                    s.state_changes
                ),
            )
            .remediation("Add keep_firing_for: (see AA202) or smooth the expression (avg_over_time) so it stops toggling.")
            .evidence("fingerprint", s.fingerprint.as_str())
            .evidence("maxPercent", s.max_percent)
            .evidence("stateChanges", s.state_changes)
            .evidence("flappingSeconds", s.flapping_seconds)
            .evidence("intervals", json!(s.intervals)),
        );
    }
    for c in &a.correlation.clusters {
        let lead = c.alertnames.first().cloned().unwrap_or_default();
        out.push(
            Finding::new(
                &AA103,
                alert(&lead, None),
                format!(
                    "fires together with {} (Jaccard {:.2}-{:.2}, up to {} co-occurrences)",
                    c.alertnames.get(1..).unwrap_or_default().join(", "),
                    c.min_jaccard,
                    c.max_jaccard,
                    c.max_co_occurrences
                ),
            )
            .remediation("Group these alerts in one Alertmanager route or inhibit the consequences by the cause (AA203).")
            .evidence("alertnames", json!(c.alertnames))
            .evidence("pairs", c.pairs)
            .evidence("minJaccard", c.min_jaccard)
            .evidence("maxJaccard", c.max_jaccard),
        );
    }
    for p in &a.temporal {
        let Some(s) = &p.schedule else { continue };
        out.push(
            Finding::new(
                &AA104,
                alert(&p.alertname, None),
                format!(
                    "{} of {} episodes start {}",
                    pct(s.share()),
                    p.episodes,
                    s.describe()
                ),
            )
            .remediation(
                "Route it to a ticket instead of a page, or fix the scheduled job (AA204).",
            )
            .evidence("episodes", p.episodes)
            .evidence("share", s.share())
            .evidence("schedule", json!(s))
            .evidence("hours", json!(p.hours))
            .evidence("weekdays", json!(p.weekdays)),
        );
    }
    for f in &a.always_firing {
        let labels = labels_text(&f.labels);
        out.push(
            Finding::new(
                &AA105,
                alert(&f.alertname, Some(&f.labels)),
                format!(
                    "{}firing {} of the window ({})",
                    if labels.is_empty() {
                        String::new()
                    } else {
                        format!("{{{labels}}} ")
                    },
                    pct(f.share),
                    fmt_duration(f.firing_seconds)
                ),
            )
            .remediation(
                "Fix the cause, or turn the rule into a dashboard or an info-level inhibitor.",
            )
            .evidence("fingerprint", f.fingerprint.as_str())
            .evidence("firingSeconds", f.firing_seconds)
            .evidence("share", f.share)
            .evidence("threshold", opts.always_firing_share),
        );
    }
    for r in &a.dead_rules {
        out.push(
            Finding::new(&AA106, alert(&r.name, None), format!("rule in group {} never fired nor was pending in the window", r.group))
                .remediation("Delete the rule, or check that its expression still matches series (renamed metrics, labels).")
                .evidence("group", r.group.as_str())
                .evidence("expr", r.expr.as_str()),
        );
    }
    for r in &a.pending_never_firing {
        out.push(
            Finding::new(
                &AA107,
                alert(&r.name, None),
                format!(
                    "pending at {} evaluations, longest run {}, but for: is {}: never fired",
                    r.pending_samples,
                    fmt_duration(r.longest_pending_seconds),
                    fmt_duration(r.for_seconds)
                ),
            )
            .remediation(
                "Lower for: below the pending runs you want to page on, or revisit the threshold.",
            )
            .evidence("group", r.group.as_str())
            .evidence("pendingSamples", r.pending_samples)
            .evidence("longestPendingSeconds", r.longest_pending_seconds)
            .evidence("forSeconds", r.for_seconds),
        );
    }
    out.extend(a.recommendations.iter().map(recommendation_finding));
    out
}

fn recommendation_finding(r: &Recommendation) -> Finding {
    let mut f = Finding::new(
        check_of(r.kind),
        alert(&r.alertname, None),
        r.message.clone(),
    )
    .remediation(r.action.clone());
    if let Some(s) = r.suggested_seconds {
        f = f.evidence("suggestedSeconds", s);
    }
    for (k, v) in &r.evidence {
        f = f.evidence(k, v.clone());
    }
    f
}

/// A report and the analysis behind it. Serializes as the report's JSON contract with an
/// extra top-level `analysis` key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzedReport {
    #[serde(flatten)]
    pub report: Report,
    pub analysis: Analysis,
}

fn rfc3339(t: i64) -> Value {
    let st = u64::try_from(t)
        .ok()
        .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
    match st {
        Some(st) => Value::from(humantime::format_rfc3339_seconds(st).to_string()),
        None => Value::from(t),
    }
}

/// Builds the whole report (tool `alert-analyzer`, command `analyze`) generated at `now`.
/// `target` holds the window (`from`, `to` as RFC 3339, `step`, `maxGap` in seconds), the
/// sources, and the series, rule and episode counts.
pub fn report(
    history: &History,
    analysis: Analysis,
    opts: &Options,
    now: SystemTime,
) -> AnalyzedReport {
    let mut report = Report::new(TOOL, COMMAND, now);
    let w = &analysis.window;
    let target = json!({
        "window": { "from": rfc3339(w.from), "to": rfc3339(w.to), "step": w.step, "maxGap": w.max_gap },
        "sources": history.sources(),
        "series": w.series,
        "inputSeries": w.input_series,
        "rules": w.rules,
        "episodes": w.episodes,
    });
    if let Value::Object(m) = target {
        report.target = m;
    }
    report.add_checks(CHECKS);
    for f in findings(&analysis, opts) {
        report.push(f);
    }
    report.finish();
    AnalyzedReport { report, analysis }
}
