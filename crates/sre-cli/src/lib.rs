//! Runtime conventions shared by every sre-toolkit tool.
//!
//! - [`args`]: the flags every report-producing command takes (`-o`, `--output-file`,
//!   `--fail-on`) and the global ones (`--config`, `--log-level`, `--log-format`, `--color`).
//! - [`config`]: the one configuration file and its resolution
//!   (flags > `SRE_*` environment > config file > defaults), with the source of every value.
//! - [`exit`]: exit codes (0 clean, 1 findings at or above `--fail-on`, 2 error).
//! - [`output`]: renders a report and writes it to stdout or atomically to a file.
//! - [`logging`], [`progress`], [`units`], [`clock`].
//!
//! ```
//! use sre_cli::units::{parse_duration, parse_size};
//! assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 86_400);
//! assert_eq!(parse_size("1Gi").unwrap(), 1 << 30);
//! ```

pub mod args;
pub mod clock;
pub mod config;
pub mod exit;
pub mod logging;
pub mod output;
pub mod progress;
pub mod signal;
pub mod units;
pub mod url;

pub use exit::ExitStatus;
