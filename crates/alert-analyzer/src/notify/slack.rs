//! The review summary to Slack (incoming webhook). The webhook URL is a secret: it is read
//! from the environment and never printed, logged or put in an error.

use super::{error_kind, secret_env, NotifyError};
use crate::AnalyzedReport;
use serde_json::{json, Value};
use sre_core::Severity;
use std::time::Duration;

/// The variable that holds the Slack incoming-webhook URL.
pub const SLACK_WEBHOOK_ENV: &str = "SRE_SLACK_WEBHOOK_URL";

/// The Slack message: a headline, the counts, the top findings and recommendations, as
/// Block Kit sections with a plain-text fallback (`text`).
pub fn slack_payload(analyzed: &AnalyzedReport) -> Value {
    let r = &analyzed.report;
    let headline = super::headline(analyzed);
    let line = |f: &sre_core::Finding| {
        format!(
            "• *{}* `{}` {}",
            f.resource.name.as_deref().unwrap_or("?"),
            f.code,
            f.message
        )
    };
    let detections: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.code.starts_with("AA1") && f.severity >= Severity::Warning)
        .take(8)
        .map(line)
        .collect();
    let advice: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.code.starts_with("AA2"))
        .take(8)
        .map(line)
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&headline, 150)}}),
    ];
    for (title, lines) in [("Needs attention", detections), ("Recommendations", advice)] {
        if !lines.is_empty() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&format!("*{title}*\n{}", lines.join("\n")), 3000)}}));
        }
    }
    json!({"text": headline, "blocks": blocks})
}

/// Slack limits texts; cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Posts `payload` to the webhook in [`SLACK_WEBHOOK_ENV`].
pub fn send_slack(payload: &Value, timeout: Duration) -> Result<(), NotifyError> {
    let url = secret_env(SLACK_WEBHOOK_ENV).ok_or(NotifyError::NoWebhook)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut resp = agent
        .post(&url)
        .header("Content-Type", "application/json")
        .send(payload.to_string().as_bytes())
        // ureq's errors can quote the URL: keep only the kind of failure.
        .map_err(|e| NotifyError::Unreachable(error_kind(&e)))?;
    let code = resp.status().as_u16();
    if code == 200 {
        return Ok(());
    }
    let body: String = resp
        .body_mut()
        .read_to_string()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Err(NotifyError::Refused { code, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_a_headline_and_sections() {
        let h = crate::examples::history().expect("example");
        let opts = crate::Options::default();
        let r = crate::report(&h, crate::analyze(&h, &opts), &opts, std::time::UNIX_EPOCH);
        let p = slack_payload(&r);
        assert!(p["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Alert review")));
        let blocks = p["blocks"].as_array().expect("blocks");
        assert_eq!(blocks[0]["type"], "header");
        assert!(blocks.iter().any(|b| b["text"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Recommendations"))));
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
