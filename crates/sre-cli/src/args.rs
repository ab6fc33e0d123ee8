//! Flags shared by every tool. Values here are raw (unset = `None`); [`crate::config`]
//! resolves them against the environment, the config file and the defaults.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use sre_core::Severity;
use sre_render::Format;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Flags accepted by every `sre` command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Configuration file [default: ./sre.yaml, else <user config dir>/sre/config.yaml]
    /// [env: SRE_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log verbosity on stderr: error, warn, info, debug, trace or off (RUST_LOG, when set,
    /// takes precedence with its full filter syntax) [env: SRE_LOG_LEVEL] [default: warn]
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format on stderr [env: SRE_LOG_FORMAT] [default: text]
    #[arg(long, global = true, value_name = "FORMAT", value_parser = PossibleValuesParser::new(["text", "json"]))]
    pub log_format: Option<String>,
    /// Colour in terminal output: auto (only on a terminal, never with NO_COLOR), always,
    /// never [env: SRE_COLOR] [default: auto]
    #[arg(long, global = true, value_name = "WHEN", value_parser = PossibleValuesParser::new(["auto", "always", "never"]))]
    pub color: Option<String>,
}

/// Flags accepted by every command that produces a report.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Output format [env: SRE_OUTPUT] [default: table]
    #[arg(short = 'o', long, value_name = "FORMAT", value_parser = format_parser())]
    pub output: Option<Format>,
    /// Write the report to PATH (atomically: temp file, then rename) instead of stdout
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Exit with code 1 when a finding at or above this severity exists
    /// [env: SRE_FAIL_ON] [default: critical]
    #[arg(long, value_name = "SEVERITY", value_parser = PossibleValuesParser::new(FailOn::NAMES).try_map(|s| s.parse::<FailOn>()))]
    pub fail_on: Option<FailOn>,
}

fn format_parser() -> impl TypedValueParser<Value = Format> {
    let names: Vec<&'static str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    PossibleValuesParser::new(names).try_map(|s| s.parse::<Format>())
}

/// The `--fail-on` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Critical,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// Valid names, for help and errors.
    pub const NAMES: [&'static str; 4] = ["critical", "warning", "info", "never"];

    /// The lowest severity that fails the run, or `None` for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "critical" => Ok(FailOn::Critical),
            "warning" => Ok(FailOn::Warning),
            "info" => Ok(FailOn::Info),
            "never" | "none" => Ok(FailOn::Never),
            _ => Err(format!(
                "unknown severity `{s}` (valid values: {})",
                FailOn::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            FailOn::Critical => "critical",
            FailOn::Warning => "warning",
            FailOn::Info => "info",
            FailOn::Never => "never",
        };
        f.write_str(s)
    }
}

/// When to colour terminal output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl FromStr for ColorWhen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ColorWhen::Auto),
            "always" => Ok(ColorWhen::Always),
            "never" => Ok(ColorWhen::Never),
            _ => Err(format!(
                "unknown colour mode `{s}` (valid values: auto, always, never)"
            )),
        }
    }
}

impl fmt::Display for ColorWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorWhen::Auto => "auto",
            ColorWhen::Always => "always",
            ColorWhen::Never => "never",
        })
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!(
                "unknown log format `{s}` (valid values: text, json)"
            )),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// A log level name as accepted by `--log-level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLevel(pub String);

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.to_ascii_lowercase();
        match l.as_str() {
            "error" | "warn" | "info" | "debug" | "trace" | "off" => Ok(LogLevel(l)),
            _ => Err(format!(
                "unknown log level `{s}` (valid values: error, warn, info, debug, trace, off)"
            )),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
