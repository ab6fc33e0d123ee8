//! End-to-end tests of the `sre` binary: exit codes, output formats, multi-call names,
//! configuration, bad input, completions, man page and the demo.

mod alert_analyzer;
mod basics;
mod browser;
mod config;
mod formats;
mod in_process;
mod inputs;
mod live;
mod multicall;

use sre_test_harness::cli::{workspace_root, Cli, CliOutput};

pub const EXAMPLE: &str = "examples/k8s-doctor/broken-cluster";

/// The `sre` binary, run from the workspace root with a fixed report clock, no colour
/// decisions inherited from the environment, and no user config.
pub fn sre() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_sre"))
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", "1709294400")
        .env("HOME", std::env::temp_dir())
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("sre-tests-no-config"),
        )
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env_remove("SRE_OUTPUT")
        .env_remove("SRE_FAIL_ON")
        .env_remove("SRE_CONFIG")
        .env_remove("SRE_COLOR")
        .env_remove("SRE_LOG_LEVEL")
        .env_remove("KUBECONFIG")
        .env_remove("SRE_SLACK_WEBHOOK_URL")
        .env_remove("SRE_PROMETHEUS_PASSWORD")
        .env_remove("KUBERNETES_SERVICE_HOST")
}

pub fn run(args: &[&str]) -> CliOutput {
    sre().args(args).run()
}
