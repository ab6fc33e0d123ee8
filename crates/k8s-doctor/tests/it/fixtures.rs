//! Every check has fixtures that make it fire and fixtures that keep it quiet.

use crate::{fixtures_dir, lines};
use k8s_doctor::checks::{Thresholds, ALL};
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

fn files(code: &str, kind: &str) -> Vec<PathBuf> {
    let prefix = format!("{code}-{kind}.");
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    v.sort();
    v
}

fn run(code: &str, kind: &str) -> sre_core::Report {
    let check = k8s_doctor::checks::find(code).expect("registered check");
    let paths = files(code, kind);
    assert!(
        !paths.is_empty(),
        "check {code} has no `{code}-{kind}.*` fixture in tests/fixtures"
    );
    k8s_doctor::report(
        check.commands[0],
        &paths,
        &[code.to_string()],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .unwrap_or_else(|e| panic!("fixture {code}-{kind} does not load: {e:#}"))
}

#[test]
fn every_check_fires_on_its_fixture() {
    let mut all = String::new();
    for check in ALL {
        let code = check.meta.code;
        if code == "KD390" {
            // Fires from expired suppression rules, not from cluster objects: see
            // suppressions::expired_rules_stop_applying_and_are_reported.
            continue;
        }
        let report = run(code, "fires");
        let own: Vec<_> = report.findings_for(code).collect();
        assert!(
            !own.is_empty(),
            "{code} did not fire on its fixture:\n{}",
            lines(&report)
        );
        assert!(
            report.findings.iter().all(|f| f.code == code),
            "--check {code} let other checks through:\n{}",
            lines(&report)
        );
        for f in own {
            assert!(
                !f.message.is_empty() && f.remediation.as_deref().is_some_and(|r| !r.is_empty())
                    || f.severity == sre_core::Severity::Info,
                "{code} finding lacks message or remediation: {f:?}"
            );
        }
        all.push_str(&format!(
            "## {code} {}\n{}\n",
            check.meta.name,
            lines(&report)
        ));
    }
    insta::assert_snapshot!("fixtures_fire", all);
}

#[test]
fn every_check_stays_quiet_on_healthy_fixture() {
    for check in ALL.iter().filter(|c| c.meta.code != "KD390") {
        let code = check.meta.code;
        let report = run(code, "quiet");
        assert_eq!(
            report.findings_for(code).count(),
            0,
            "{code} fired on its quiet fixture:\n{}",
            lines(&report)
        );
    }
}

#[test]
fn restart_thresholds_are_configurable() {
    let paths = files("KD206", "fires");
    let t = Thresholds {
        restart_warning: 20,
        restart_critical: 30,
        node_load_percent: 90,
    };
    let r = k8s_doctor::report(
        k8s_doctor::checks::Command::Diagnostics,
        &paths,
        &["KD206".into()],
        t,
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(r.findings.len(), 0, "{}", lines(&r));
    let t = Thresholds {
        restart_warning: 1,
        restart_critical: 5,
        node_load_percent: 90,
    };
    let r = k8s_doctor::report(
        k8s_doctor::checks::Command::Diagnostics,
        &paths,
        &["KD206".into()],
        t,
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(r.summary.critical, 2, "{}", lines(&r));
}

#[test]
fn node_load_threshold_is_configurable() {
    let paths = files("KD210", "fires");
    let t = Thresholds {
        node_load_percent: 99,
        ..Thresholds::default()
    };
    let r = k8s_doctor::report(
        k8s_doctor::checks::Command::Diagnostics,
        &paths,
        &["KD210".into()],
        t,
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(r.findings.len(), 0, "{}", lines(&r));
}

#[test]
fn hardened_workloads_pass_every_audit_check() {
    // The quiet fixture of the audit checks is one hardened Deployment and one hardened
    // CronJob: precision matters as much as recall, so it must produce no finding at all.
    let paths = files("KD301", "quiet");
    let r = k8s_doctor::report(
        k8s_doctor::checks::Command::Audit,
        &paths,
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .expect("loads");
    assert_eq!(r.target["workloads"], 2);
    assert!(r.findings.is_empty(), "{}", lines(&r));
}
