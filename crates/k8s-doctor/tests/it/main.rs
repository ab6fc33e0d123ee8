//! k8s-doctor integration tests: one binary, modules per area.

mod bad_input;
mod docs;
mod example;
mod fixtures;
mod regressions;
mod suppressions;

use std::path::PathBuf;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/k8s-doctor/broken-cluster")
}

/// One line per finding, for snapshots and readable assertions.
pub fn lines(report: &sre_core::Report) -> String {
    report
        .findings
        .iter()
        .map(|f| format!("{} {} [{}] {}\n", f.severity, f.code, f.resource, f.message))
        .collect()
}
