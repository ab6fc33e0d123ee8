//! Sending the review: the summary to Slack (incoming webhook), the Markdown review with the
//! HTML report attached by email (SMTP), and a Jira issue per top offender, deduplicated by
//! a label. Secrets (the webhook URL, the SMTP password, the Jira token) are read from the
//! environment and never printed, logged or put in an error.

pub mod email;
pub mod jira;
pub mod slack;

use crate::history::History;
use crate::AnalyzedReport;
use std::path::PathBuf;
use std::time::Duration;

pub use slack::{send_slack, slack_payload, SLACK_WEBHOOK_ENV};

/// The variable that holds the SMTP password (for `--smtp-user`).
pub const SMTP_PASSWORD_ENV: &str = "SRE_SMTP_PASSWORD";
/// The variable that holds the Jira API token (Cloud) or personal access token (Data Center).
pub const JIRA_TOKEN_ENV: &str = "SRE_JIRA_TOKEN";

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587)
    Starttls,
    /// TLS from the first byte (SMTPS, port 465)
    Tls,
    /// No encryption (a local relay on port 25); refused with --smtp-user
    None,
}

/// The flags of the notifications, shown under their own heading in `--help`.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Notifications")]
#[group(skip)]
#[command(group(clap::ArgGroup::new("notify").multiple(true).args(["slack", "email_to", "jira_url"])))]
pub struct NotifyArgs {
    /// Send the summary to Slack, to the incoming webhook in SRE_SLACK_WEBHOOK_URL
    #[arg(long)]
    pub slack: bool,
    /// Email the review (Markdown text, the HTML report attached) to this address;
    /// repeatable
    #[arg(long, value_name = "ADDRESS", requires_all = ["email_from", "smtp_server"])]
    pub email_to: Vec<String>,
    /// The sender of the email, e.g. "Alert review <alerts@example.com>"
    #[arg(long, value_name = "ADDRESS", requires = "email_to")]
    pub email_from: Option<String>,
    /// SMTP server as HOST or HOST:PORT (default port: 587 with starttls, 465 with tls,
    /// 25 with none)
    #[arg(long, value_name = "HOST[:PORT]", requires = "email_to")]
    pub smtp_server: Option<String>,
    /// SMTP encryption [default: starttls]
    #[arg(long, value_name = "MODE", value_enum, requires = "email_to")]
    pub smtp_tls: Option<SmtpTls>,
    /// SMTP user; the password is read from SRE_SMTP_PASSWORD
    #[arg(long, value_name = "USER", requires = "email_to")]
    pub smtp_user: Option<String>,
    /// PEM file of the CA that signed the SMTP server's certificate (added to the system's)
    #[arg(long, value_name = "FILE", requires = "email_to")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Create a Jira issue for each of the top offenders of the review list, at this Jira
    /// (e.g. https://example.atlassian.net); the token is read from SRE_JIRA_TOKEN
    #[arg(long, value_name = "URL", requires = "jira_project")]
    pub jira_url: Option<String>,
    /// The Jira project key for the issues, e.g. OPS
    #[arg(long, value_name = "KEY", requires = "jira_url")]
    pub jira_project: Option<String>,
    /// The issue type [default: Task]
    #[arg(long, value_name = "NAME", requires = "jira_url")]
    pub jira_issue_type: Option<String>,
    /// Jira REST API version: 3 (Jira Cloud, descriptions in Atlassian Document Format;
    /// needs --jira-user) or 2 (Data Center and Server, and Cloud) [default: 3 with
    /// --jira-user, else 2]
    #[arg(long, value_name = "VERSION", requires = "jira_url", value_parser = clap::builder::PossibleValuesParser::new(["2", "3"]))]
    pub jira_api: Option<String>,
    /// Jira Cloud account email: the token is then an API token sent with Basic auth;
    /// without it the token is a personal access token sent as Bearer (Data Center)
    #[arg(long, value_name = "EMAIL", requires = "jira_url")]
    pub jira_user: Option<String>,
    /// How many alerts of the review list get an issue [default: 5]
    #[arg(long, value_name = "N", requires = "jira_url")]
    pub jira_top: Option<usize>,
    /// Label on every issue; each also gets LABEL-<alertname>, which is how reruns find the
    /// open issue instead of opening a second one [default: alert-analyzer]
    #[arg(long, value_name = "LABEL", requires = "jira_url")]
    pub jira_label: Option<String>,
    /// Print what would be sent (Slack message, email, Jira issues) on stderr instead of
    /// sending it; nothing is contacted
    #[arg(long, requires = "notify")]
    pub dry_run: bool,
}

/// Why a notification was not delivered. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("--slack needs the incoming-webhook URL in {SLACK_WEBHOOK_ENV} (it is a secret: keep it out of flags and files you share)")]
    NoWebhook,
    #[error("the Slack webhook (from {SLACK_WEBHOOK_ENV}) could not be reached: {0}")]
    Unreachable(String),
    #[error("the Slack webhook (from {SLACK_WEBHOOK_ENV}) answered {code}: {body}\n  hint: `no_service` or `invalid_token` means the webhook was revoked; create a new one")]
    Refused { code: u16, body: String },
    #[error("email: {0}")]
    Email(String),
    #[error("Jira: {0}")]
    Jira(String),
}

/// Checks the notification flags and secrets before any work, so a typo does not surface
/// after a long fetch.
pub fn preflight(args: &NotifyArgs) -> Result<(), NotifyError> {
    if args.slack && !args.dry_run && secret_env(SLACK_WEBHOOK_ENV).is_none() {
        return Err(NotifyError::NoWebhook);
    }
    email::preflight(args)?;
    jira::preflight(args)
}

/// Sends every notification asked for; each is tried even if an earlier one failed, and
/// the failures are returned together.
pub fn send(
    args: &NotifyArgs,
    analyzed: &AnalyzedReport,
    history: &History,
    timeout: Duration,
) -> Result<(), Vec<NotifyError>> {
    let mut errors = Vec::new();
    if args.slack {
        let payload = slack_payload(analyzed);
        if args.dry_run {
            eprintln!(
                "dry run: this message would go to the Slack webhook in {SLACK_WEBHOOK_ENV}:\n{}",
                serde_json::to_string_pretty(&payload).unwrap_or_default()
            );
        } else if let Err(e) = send_slack(&payload, timeout) {
            errors.push(e);
        }
    }
    if !args.email_to.is_empty() {
        if let Err(e) = email::send(args, analyzed, history, timeout) {
            errors.push(e);
        }
    }
    if args.jira_url.is_some() {
        if let Err(e) = jira::send(args, analyzed, timeout) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// "Alert review FROM to TO: N findings (W warning, I info)", with ", partial" when so.
pub(crate) fn headline(analyzed: &AnalyzedReport) -> String {
    let r = &analyzed.report;
    let window = r.target.get("window").cloned().unwrap_or_default();
    format!(
        "Alert review {} to {}: {} findings ({} warning, {} info){}",
        window["from"].as_str().unwrap_or("?"),
        window["to"].as_str().unwrap_or("?"),
        r.summary.total(),
        r.summary.warning,
        r.summary.info,
        if r.partial { ", partial" } else { "" }
    )
}

/// ureq's errors can quote the URL (which may be a secret): keep only the kind of failure.
pub(crate) fn error_kind(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::Io(io) => format!("{}", io.kind()),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Tls(_) => "TLS failure".to_string(),
        _ => "request failed".to_string(),
    }
}

/// A secret from the environment, trimmed; `None` when unset or blank.
pub(crate) fn secret_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
