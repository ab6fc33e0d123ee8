//! Logging: `tracing` to stderr, never stdout (stdout carries results only).

use crate::args::LogFormat;
use crate::config::Logging;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `--log-level` with its
/// full directive syntax. Calling it twice is harmless (the second call does nothing).
pub fn init(logging: &Logging, color: bool) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(spec.trim())
            .map_err(|e| anyhow::anyhow!("invalid RUST_LOG `{spec}`: {e}"))?,
        _ => EnvFilter::try_new(&logging.level.value.0)
            .map_err(|e| anyhow::anyhow!("invalid log level: {e}"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let result = match logging.format.value {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(color).with_target(false).try_init(),
    };
    // A second initialisation (tests calling the CLI in-process) is not an error.
    drop(result);
    Ok(())
}
