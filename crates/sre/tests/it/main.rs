//! End-to-end tests of the `sre` binary: exit codes, output formats, multi-call names,
//! configuration, bad input, completions, man page and the demo.

mod alert_analyzer;
mod basics;
mod browser;
mod chaos_experiment;
mod chaos_load;
mod chaos_proxy;
mod chaos_stress;
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
        .env_remove("SRE_SMTP_PASSWORD")
        .env_remove("SRE_JIRA_TOKEN")
        .env_remove("KUBERNETES_SERVICE_HOST")
}

pub fn run(args: &[&str]) -> CliOutput {
    sre().args(args).run()
}

/// The value of the Prometheus sample `name` (with its labels, as written) in `text`; 0
/// when absent.
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `done` every 50 ms until it holds; fails naming `what` after `limit`.
pub fn wait_until(limit: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A long-running `sre` (an exporter) as a child process, killed on drop if still running.
pub struct Server {
    child: std::process::Child,
    /// Its base URL, from the `listening on URL` line it prints on stderr.
    pub url: String,
}

/// Starts `sre ARGS`, a server that prints `listening on URL` on stderr; the rest of stderr
/// is drained so the child never blocks on a full pipe.
pub fn start_server(args: &[&std::ffi::OsStr]) -> Server {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sre"))
        .args(args)
        .env("SRE_CONFIG", "/dev/null")
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the server starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let url = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            panic!("the server printed no `listening on` line");
        }
    };
    Server { child, url }
}

impl Server {
    /// Sends SIGTERM and returns the exit status (failing if it takes over 20 s).
    pub fn stop(mut self) -> std::process::ExitStatus {
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
        let mut status = None;
        wait_until(
            std::time::Duration::from_secs(20),
            "SIGTERM to stop the server",
            || {
                status = self.child.try_wait().expect("wait");
                status.is_some()
            },
        );
        status.expect("exited")
    }

    /// Waits for the process to end by itself (failing after `limit`).
    pub fn wait(mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        let mut status = None;
        wait_until(limit, "the process to end", || {
            status = self.child.try_wait().expect("wait");
            status.is_some()
        });
        status.expect("exited")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // `Child` knows when it was reaped: an exited server is not signalled again.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
