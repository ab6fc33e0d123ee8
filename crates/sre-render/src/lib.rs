//! Renders one [`Report`] in every output format the toolkit offers.
//!
//! Every tool builds a single [`sre_core::Report`]; this crate turns it into text for people
//! (a terminal [`Format::Table`], [`Format::Markdown`], a self-contained [`Format::Html`] page)
//! and for machines ([`Format::Json`], the versioned contract, plus [`Format::Yaml`],
//! [`Format::Sarif`] for code scanning, [`Format::Junit`] for CI test reports and
//! [`Format::Prometheus`] for the node-exporter textfile collector). Because all formats are
//! fed by the same model, a finding shown in one format is shown in all of them.
//!
//! Rendering is pure: [`render`] returns a `String` and does no I/O, reads no clock and uses
//! no randomness, so the same report always renders to the same bytes.
//!
//! ```
//! use sre_core::{CheckMeta, Finding, Report, Resource, Severity};
//! use sre_render::{render, Format, RenderOptions};
//! use std::time::UNIX_EPOCH;
//!
//! const CHECK: CheckMeta = CheckMeta {
//!     code: "KD101", name: "node-not-ready", title: "Node is not Ready",
//!     severity: Severity::Critical, aliases: &[],
//! };
//! let mut report = Report::new("k8s-doctor", "healthcheck", UNIX_EPOCH);
//! report.add_checks(&[CHECK]);
//! report.push(Finding::new(&CHECK, Resource::object("Node", None, "node-1"), "kubelet stopped"));
//! report.finish();
//!
//! let format: Format = "md".parse()?;
//! assert_eq!(format, Format::Markdown);
//! let text = render(&report, Format::Table, &RenderOptions::default())?;
//! assert!(text.contains("KD101"));
//! assert!(text.ends_with("1 critical, 0 warning, 0 info (1 finding)\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use sre_core::Report;
use std::fmt;
use std::str::FromStr;

mod common;
mod escape;
mod html;
mod json;
mod junit;
mod markdown;
mod prometheus;
mod sarif;
mod table;
mod yaml;

pub use escape::html as html_escape;
/// Escapes a Prometheus label value (backslash, double quote, line feed), for exporters.
pub use escape::prom_label as prometheus_label_value;

/// The self-contained HTML page of `report` with a tool's own `section` (HTML, e.g. inline
/// SVG charts) placed before the findings.
pub fn html_with_section(report: &Report, section: &str) -> String {
    let page = html::render(report);
    // Before the findings; at the end if the page's markup ever changes.
    let marker = "<section>\n<h2 id=\"findings\">";
    match page.find(marker) {
        Some(at) => format!("{}{section}{}", &page[..at], &page[at..]),
        None => page.replace("<footer>", &format!("{section}<footer>")),
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Aligned columns for a terminal (the default).
    #[default]
    Table,
    /// The versioned JSON report contract, pretty-printed.
    Json,
    /// The same document as `Json`, as YAML.
    Yaml,
    /// A Markdown document, e.g. for a pull-request comment or a wiki page.
    Markdown,
    /// One self-contained HTML page with inline CSS and SVG charts.
    Html,
    /// SARIF 2.1.0, for GitHub code scanning and other static-analysis viewers.
    Sarif,
    /// JUnit XML, one test case per check, for CI test reports.
    Junit,
    /// Prometheus text exposition format 0.0.4, for the node-exporter textfile collector.
    Prometheus,
}

impl Format {
    /// Every format, in the order they are listed in help texts.
    pub const ALL: [Format; 8] = [
        Format::Table,
        Format::Json,
        Format::Yaml,
        Format::Markdown,
        Format::Html,
        Format::Sarif,
        Format::Junit,
        Format::Prometheus,
    ];

    /// The name accepted by `--output` and shown in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Prometheus => "prometheus",
        }
    }

    /// The usual file extension, without the dot (`prom` is what the node-exporter textfile
    /// collector reads).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Sarif => "sarif",
            Format::Junit => "xml",
            Format::Prometheus => "prom",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a format name is not one of [`Format::ALL`] or an alias.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown output format `{0}` (valid values: table, json, yaml, markdown, html, sarif, junit, prometheus)"
)]
pub struct ParseFormatError(pub String);

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses a format name, case-insensitively. `md`, `yml` and `prom` are accepted as
    /// aliases of `markdown`, `yaml` and `prometheus`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "md" => Some(Format::Markdown),
            "yml" => Some(Format::Yaml),
            "prom" => Some(Format::Prometheus),
            _ => None,
        };
        alias
            .or_else(|| Format::ALL.into_iter().find(|f| f.as_str() == lower))
            .ok_or_else(|| ParseFormatError(s.to_string()))
    }
}

/// How to render. Construct with `RenderOptions::default()` or a struct literal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Use ANSI colours and bold in the table format. Other formats ignore it. Off by default:
    /// the caller decides from the terminal, `--color` and `NO_COLOR`.
    pub color: bool,
}

/// A report could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Serializing to JSON failed (JSON, SARIF).
    #[error("could not serialize the report as {format}")]
    Json {
        format: Format,
        #[source]
        source: serde_json::Error,
    },
    /// Serializing to YAML failed.
    #[error("could not serialize the report as yaml")]
    Yaml(#[source] serde_yaml_ng::Error),
}

/// Renders `report` in `format`. The result always ends with a newline.
pub fn render(
    report: &Report,
    format: Format,
    opts: &RenderOptions,
) -> Result<String, RenderError> {
    match format {
        Format::Table => Ok(table::render(report, opts)),
        Format::Json => json::render(report),
        Format::Yaml => yaml::render(report),
        Format::Markdown => Ok(markdown::render(report)),
        Format::Html => Ok(html::render(report)),
        Format::Sarif => sarif::render(report),
        Format::Junit => Ok(junit::render(report)),
        Format::Prometheus => Ok(prometheus::render(report)),
    }
}
