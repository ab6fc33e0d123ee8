//! A Jira issue for each top offender of the review list, with the numbers and the
//! recommendations in its description. Each issue carries the label `LABEL-<alertname>`;
//! before creating one, an open issue (status category not Done) with that label is looked
//! up, so a weekly rerun adds nothing while the last issue is still open.
//!
//! REST API 3 (Jira Cloud: descriptions in Atlassian Document Format) or 2 (Data Center,
//! Server, and Cloud: wiki-markup text). Search uses `/search/jql` (Cloud) and falls back to
//! `/rest/api/2/search` where that is missing (Data Center).

use super::{error_kind, secret_env, NotifyArgs, NotifyError, JIRA_TOKEN_ENV};
use crate::recommend::ReviewItem;
use crate::AnalyzedReport;
use serde_json::{json, Value};
use std::time::Duration;

/// One issue to create (if no open one has its label).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub alertname: String,
    /// The dedup label, `LABEL-<alertname>`.
    pub label: String,
    /// The `POST /rest/api/N/issue` body.
    pub body: Value,
}

/// A Jira label for `alertname`. Jira labels cannot hold spaces, so anything outside
/// `[A-Za-z0-9_.-]` becomes `_`; when that changed the name (or it had to be shortened to
/// fit Jira's 255 characters), a hash of the real name is appended, so `job:Down` and
/// `job_Down` never share a label (and so never share an issue).
pub fn label_for(prefix: &str, alertname: &str) -> String {
    let slug: String = alertname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let plain = format!("{prefix}-{slug}");
    if slug == alertname && plain.len() <= 255 {
        return plain;
    }
    // FNV-1a 64: stable across runs and versions, which dedup relies on.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in alertname.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let suffix = format!("-{:08x}", h >> 32);
    let head: String = plain.chars().take(255 - suffix.len()).collect();
    format!("{head}{suffix}")
}

/// A JQL string literal: in double quotes, with `\` and `"` escaped.
fn jql_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn settings(args: &NotifyArgs) -> (String, String, String, usize, String) {
    (
        args.jira_project.clone().unwrap_or_default(),
        args.jira_issue_type
            .clone()
            .unwrap_or_else(|| "Task".into()),
        // Cloud (an account email with an API token) speaks 3; Data Center only 2.
        args.jira_api.clone().unwrap_or_else(|| {
            if args.jira_user.is_some() {
                "3".into()
            } else {
                "2".into()
            }
        }),
        args.jira_top.unwrap_or(5),
        args.jira_label
            .clone()
            .unwrap_or_else(|| "alert-analyzer".into()),
    )
}

/// Checks the flags before any work: the project key and label are usable and, unless
/// `--dry-run`, the token is set.
pub fn preflight(args: &NotifyArgs) -> Result<(), NotifyError> {
    if args.jira_url.is_none() {
        return Ok(());
    }
    let (project, _, _, _, label) = settings(args);
    let key_ok = project
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        && project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(NotifyError::Jira(format!(
            "--jira-project `{project}` is not a project key: use the key in the project's issue keys, e.g. OPS for OPS-123"
        )));
    }
    if label.is_empty()
        || label.len() > 200
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(NotifyError::Jira(format!(
            "--jira-label `{label}` is not usable: use 1 to 200 of A-Z, a-z, 0-9, `_`, `.` and `-`"
        )));
    }
    if args.jira_api.as_deref() == Some("3") && args.jira_user.is_none() {
        return Err(NotifyError::Jira(
            "--jira-api 3 is Jira Cloud's API, which needs --jira-user EMAIL (the token is then an API token); Data Center speaks --jira-api 2 with a personal access token".into(),
        ));
    }
    check_url(args.jira_url.as_deref().unwrap_or(""))?;
    if !args.dry_run && secret_env(JIRA_TOKEN_ENV).is_none() {
        return Err(NotifyError::Jira(format!(
            "--jira-url needs the token in {JIRA_TOKEN_ENV} (Jira Cloud: an API token, with --jira-user EMAIL; Data Center: a personal access token)"
        )));
    }
    Ok(())
}

/// `--jira-url` must be https (plain http only to a loopback address, for tests and
/// tunnels): the token travels with every request.
fn check_url(url: &str) -> Result<(), NotifyError> {
    let shown = crate::prometheus::shown_url(url);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => hostport.split(':').next().unwrap_or(""),
    };
    let loopback = matches!(host, "localhost" | "::1") || host.starts_with("127.");
    match scheme {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        "http" if !host.is_empty() => Err(NotifyError::Jira(format!(
            "--jira-url {shown} is plain http: the token would travel unencrypted; use https"
        ))),
        _ => Err(NotifyError::Jira(format!(
            "--jira-url `{shown}` is not a URL: give the site's address, e.g. https://example.atlassian.net or https://jira.example.com"
        ))),
    }
}

/// The issues for the top `--jira-top` entries of the review list.
pub fn plan(args: &NotifyArgs, analyzed: &AnalyzedReport) -> Vec<Planned> {
    let (project, issue_type, api, top, prefix) = settings(args);
    let window = analyzed
        .report
        .target
        .get("window")
        .cloned()
        .unwrap_or_default();
    let span = format!(
        "{} to {}",
        window["from"].as_str().unwrap_or("?"),
        window["to"].as_str().unwrap_or("?")
    );
    analyzed
        .analysis
        .review
        .iter()
        .take(top)
        .map(|item| {
            let label = label_for(&prefix, &item.alertname);
            let (intro, facts, advice) = description(analyzed, item, &span);
            let description = if api == "2" {
                Value::from(wiki(&intro, &facts, &advice))
            } else {
                adf(&intro, &facts, &advice)
            };
            Planned {
                alertname: item.alertname.clone(),
                body: json!({"fields": {
                    "project": {"key": project},
                    "issuetype": {"name": issue_type},
                    "summary": format!("Alert review: {} (#{} of {span})", item.alertname, item.rank)
                        .chars().take(255).collect::<String>(),
                    "labels": [prefix, label],
                    "description": description,
                }}),
                label,
            }
        })
        .collect()
}

/// The description's parts: an intro line, the numbers, and `(what, action)` advice lines
/// (recommendations with their action, then findings).
fn description(
    analyzed: &AnalyzedReport,
    item: &ReviewItem,
    span: &str,
) -> (String, Vec<String>, Vec<(String, String)>) {
    let intro = format!(
        "{} is #{} on alert-analyzer's review list for {span}.",
        item.alertname, item.rank
    );
    let facts = vec![
        format!(
            "Episodes: {} ({} of them shorter than 10 minutes)",
            item.episodes, item.noise_episodes
        ),
        format!(
            "Time firing: {}",
            humantime::format_duration(Duration::from_secs(
                u64::try_from(item.firing_seconds).unwrap_or(0)
            ))
        ),
    ];
    let mut advice: Vec<(String, String)> = analyzed
        .analysis
        .recommendations
        .iter()
        .filter(|r| r.alertnames.contains(&item.alertname))
        .map(|r| (r.message.clone(), r.action.clone()))
        .collect();
    advice.extend(
        analyzed
            .report
            .findings
            .iter()
            .filter(|f| {
                f.code.starts_with("AA1")
                    && f.resource.name.as_deref() == Some(item.alertname.as_str())
            })
            .map(|f| (format!("[{}] {}", f.code, f.message), String::new())),
    );
    (intro, facts, advice)
}

/// Jira wiki markup (API 2), with the markup characters escaped.
fn wiki(intro: &str, facts: &[String], advice: &[(String, String)]) -> String {
    let esc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if matches!(c, '\n' | '\r') {
                out.push(' ');
                continue;
            }
            if matches!(
                c,
                '\\' | '{'
                    | '}'
                    | '['
                    | ']'
                    | '*'
                    | '_'
                    | '|'
                    | '^'
                    | '~'
                    | '+'
                    | '?'
                    | '-'
                    | '#'
                    | '!'
            ) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let mut text = format!("{}\n\n", esc(intro));
    for f in facts {
        text.push_str(&format!("* {}\n", esc(f)));
    }
    if !advice.is_empty() {
        text.push_str("\nh3. What to change\n");
        for (what, action) in advice {
            if action.is_empty() {
                text.push_str(&format!("* {}\n", esc(what)));
            } else {
                text.push_str(&format!("* {} _{}_\n", esc(what), esc(action)));
            }
        }
    }
    text
}

/// Atlassian Document Format (API 3): a paragraph, a bullet list of the numbers, and a
/// heading with a bullet list of the advice (the action in italics).
fn adf(intro: &str, facts: &[String], advice: &[(String, String)]) -> Value {
    let text = |s: &str| json!({"type": "text", "text": s});
    let item = |parts: Vec<Value>| json!({"type": "listItem", "content": [{"type": "paragraph", "content": parts}]});
    let mut content = vec![
        json!({"type": "paragraph", "content": [text(intro)]}),
        json!({"type": "bulletList", "content": facts.iter().map(|f| item(vec![text(f)])).collect::<Vec<_>>()}),
    ];
    if !advice.is_empty() {
        content.push(
            json!({"type": "heading", "attrs": {"level": 3}, "content": [text("What to change")]}),
        );
        content.push(
            json!({"type": "bulletList", "content": advice.iter().map(|(what, action)| {
            let mut parts = vec![text(what)];
            if !action.is_empty() {
                parts.push(text(" "));
                parts.push(json!({"type": "text", "text": action, "marks": [{"type": "em"}]}));
            }
            item(parts)
        }).collect::<Vec<_>>()}),
        );
    }
    json!({"type": "doc", "version": 1, "content": content})
}

/// The first error message of a Jira error body (`errorMessages`, `errors`), else its start.
fn jira_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let mut parts: Vec<String> = v["errorMessages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(errors) = v["errors"].as_object() {
            parts.extend(
                errors
                    .iter()
                    .map(|(field, m)| format!("{field}: {}", m.as_str().unwrap_or("invalid"))),
            );
        }
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    body.chars().take(200).collect()
}

/// Creates the planned issues that have no open twin; prints what it did on stderr.
pub fn send(
    args: &NotifyArgs,
    analyzed: &AnalyzedReport,
    timeout: Duration,
) -> Result<(), NotifyError> {
    preflight(args)?;
    let planned = plan(args, analyzed);
    let Some(url) = &args.jira_url else {
        return Ok(());
    };
    let base = url.trim_end_matches('/');
    let shown = crate::prometheus::shown_url(base);
    let (project, _, api, _, _) = settings(args);
    if args.dry_run {
        for p in &planned {
            eprintln!(
                "dry run: unless an open {project} issue has the label {}, this issue would be created at {shown}/rest/api/{api}/issue:\n{}",
                p.label,
                serde_json::to_string_pretty(&p.body).unwrap_or_default()
            );
        }
        return Ok(());
    }
    let token = secret_env(JIRA_TOKEN_ENV).unwrap_or_default();
    let authorization = match &args.jira_user {
        Some(user) => {
            use base64::Engine as _;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
            )
        }
        None => format!("Bearer {token}"),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let call = |req: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
                what: &str|
     -> Result<(u16, String), NotifyError> {
        let mut resp =
            req.map_err(|e| NotifyError::Jira(format!("{what} at {shown}: {}", error_kind(&e))))?;
        let code = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        if code == 401 || code == 403 {
            return Err(NotifyError::Jira(format!(
                "{shown} answered {code} to {what}: the token in {JIRA_TOKEN_ENV} was refused or may not create issues in {project}\n  hint: Jira Cloud needs --jira-user EMAIL with an API token; Data Center a personal access token"
            )));
        }
        Ok((code, body))
    };
    let mut failures = Vec::new();
    for p in &planned {
        let jql = format!(
            "project = {} AND labels = {} AND statusCategory != Done",
            jql_string(&project),
            jql_string(&p.label)
        );
        let search = |path: &str| {
            call(
                agent
                    .get(&format!("{base}{path}"))
                    .header("Authorization", &authorization)
                    .header("Accept", "application/json")
                    .query("jql", &jql)
                    .query("fields", "summary")
                    .query("maxResults", "1")
                    .call(),
                "the search for open issues",
            )
        };
        let searched = search(&format!("/rest/api/{api}/search/jql")).and_then(|(code, body)| {
            if code == 404 {
                // Data Center and Server have only the classic search.
                search("/rest/api/2/search")
            } else {
                Ok((code, body))
            }
        });
        let found: Value = match searched {
            Ok((200, body)) => match serde_json::from_str(&body) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!(
                        "{}: the search answer is not JSON ({e})",
                        p.alertname
                    ));
                    continue;
                }
            },
            // Neither search exists: not a Jira base URL, and every issue would fail alike.
            Ok((404, _)) => {
                return Err(NotifyError::Jira(format!(
                    "{shown} has no issue search (404 for /rest/api/{api}/search/jql and /rest/api/2/search)\n  hint: --jira-url is the site's base URL, with its context path if it has one (e.g. https://example.com/jira)"
                )));
            }
            Ok((code, body)) => {
                failures.push(format!(
                    "{}: the search for open issues answered {code}: {}",
                    p.alertname,
                    jira_message(&body)
                ));
                continue;
            }
            // Refused credentials or an unreachable server: the next issue would fail alike.
            Err(e) => return Err(e),
        };
        if let Some(existing) = found["issues"].as_array().and_then(|a| a.first()) {
            let key = existing["key"]
                .as_str()
                .or_else(|| existing["id"].as_str())
                .unwrap_or("?");
            eprintln!(
                "jira: {} already has the open issue {key} (label {}); not duplicated",
                p.alertname, p.label
            );
            continue;
        }
        let (code, body) = match call(
            agent
                .post(&format!("{base}/rest/api/{api}/issue"))
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json")
                .send(p.body.to_string().as_bytes()),
            "creating an issue",
        ) {
            Ok(answer) => answer,
            Err(e) => {
                failures.push(format!("{}: {e}", p.alertname));
                continue;
            }
        };
        if code == 201 || code == 200 {
            let key = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["key"].as_str().map(String::from))
                .unwrap_or_else(|| "?".into());
            eprintln!(
                "jira: created {key} for {} (label {})",
                p.alertname, p.label
            );
        } else {
            failures.push(format!("{}: {code} {}", p.alertname, jira_message(&body)));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(NotifyError::Jira(format!(
            "{shown} refused {} issue(s): {}",
            failures.len(),
            failures.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_wiki_and_adf() {
        assert_eq!(label_for("aa", "DiskFull"), "aa-DiskFull");
        // Names that slug alike keep distinct labels.
        let (a, b) = (label_for("aa", "job:Down"), label_for("aa", "job_Down"));
        assert!(
            a.starts_with("aa-job_Down-") && a.len() == "aa-job_Down-".len() + 8,
            "{a}"
        );
        assert_eq!(b, "aa-job_Down");
        assert_ne!(label_for("aa", "Disk Full"), label_for("aa", "Disk/Full"));
        let long = label_for("aa", &"x".repeat(300));
        assert_eq!(long.len(), 255);
        assert_ne!(long, label_for("aa", &"x".repeat(301)));
        assert_eq!(jql_string(r#"a"b\c"#), r#""a\"b\\c""#);
        for (url, ok) in [
            ("https://example.atlassian.net", true),
            ("https://u:p@jira.example.com/jira", true),
            ("http://127.0.0.1:8080", true),
            ("http://[::1]:8080", true),
            ("http://jira.example.com", false),
            ("jira.example.com", false),
            ("https://", false),
        ] {
            assert_eq!(check_url(url).is_ok(), ok, "{url}");
        }
        let advice = vec![("for: 5m*".to_string(), "raise it".to_string())];
        let w = wiki("A [b]\\", &["1 - 2\nx".into()], &advice);
        assert!(w.starts_with("A \\[b\\]\\\\\n\n* 1 \\- 2 x\n"), "{w}");
        assert!(
            w.contains("h3. What to change\n* for: 5m\\* _raise it_\n"),
            "{w}"
        );
        let d = adf("intro", &["fact".into()], &advice);
        assert_eq!(
            (d["type"].as_str(), d["version"].as_i64()),
            (Some("doc"), Some(1))
        );
        assert_eq!(d["content"][2]["attrs"]["level"], 3);
        assert_eq!(
            d["content"][3]["content"][0]["content"][0]["content"][2]["marks"][0]["type"],
            "em"
        );
        assert_eq!(
            jira_message(r#"{"errorMessages":["no"],"errors":{"summary":"too long"}}"#),
            "no; summary: too long"
        );
    }
}
