//! Test helpers shared by every crate of the workspace; a dev-dependency only, never shipped.
//!
//! Tests in this project prove behaviour against real programs rather than mocks, so this
//! crate does three things:
//!
//! - [`cli`]: run a binary as a process ([`Cli`]) with no terminal on stdin and a timeout,
//!   capture its exit code and output ([`CliOutput`]), and [`normalize`] the output (temp
//!   paths, ports) before comparing it with a snapshot.
//! - [`program`]: find a program the test needs ([`require_program`]) or fail with the Debian
//!   package that provides it. A missing program is a failure, never a skip.
//! - [`service`]: start a real service ([`Service`], described by a [`ServiceSpec`]) on a free
//!   loopback port with its own temporary directory, wait until it is ready, and kill it by its
//!   process id when the handle is dropped, also when the test panics. [`prometheus`] is a
//!   ready-made Prometheus.
//!
//! Every helper panics with a message that says what ran and what to do next, because its
//! callers are tests, where a panic is the failure report.
//!
//! # Example
//!
//! ```
//! use sre_test_harness::{normalize, Cli};
//!
//! let out = Cli::new("sh").args(["-c", "echo \"tmp is $1\"; exit 3", "sh", "/tmp/x1"]).run();
//! assert_eq!(out.status, Some(3));
//! assert_eq!(normalize(&out.stdout, &[("/tmp/x1", "[TMP]")]), "tmp is [TMP]\n");
//! ```
//!
//! Starting a real Prometheus (the `prometheus` Debian package must be installed; `cargo xtask
//! test` installs it):
//!
//! ```no_run
//! let prom = sre_test_harness::prometheus(None, &[]);
//! let (status, body) = prom.get("/api/v1/query?query=1%2B1");
//! assert_eq!(status, 200, "{body}");
//! // The process is killed and its directory removed here.
//! drop(prom);
//! ```

pub mod cli;
pub mod http_server;
pub mod jira;
pub mod kube;
pub mod program;
pub mod service;

pub use cli::{normalize, workspace_root, Cli, CliOutput};
pub use program::{require_program, require_program_in};
pub use service::{prometheus, Ready, Service, ServiceSpec};
