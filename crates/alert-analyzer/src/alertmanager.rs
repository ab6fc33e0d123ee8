//! What Alertmanager says now (API v2): which alerts are active, silenced or inhibited, and
//! which silences exist, who made them, why, and until when. History says what fired;
//! Alertmanager says what is being hidden right now, and a long silence is an alert someone
//! turned off without deleting it.

use crate::prometheus::{Auth, Endpoint};
use serde::{Deserialize, Serialize};
use sre_core::{CheckMeta, Finding, Resource, Severity};
use std::collections::BTreeMap;

/// A silence longer than this (from its start to its end) is reported (AA108).
pub const LONG_SILENCE_SECONDS: i64 = 7 * 86_400;

/// AA108: a silence that hides alerts for a long time.
pub const AA108: CheckMeta = CheckMeta {
    code: "AA108",
    name: "long-silence",
    title: "Alert silenced for a long time",
    severity: Severity::Warning,
    aliases: &[],
};

/// AA109: an alert firing right now under a silence or an inhibition.
pub const AA109: CheckMeta = CheckMeta {
    code: "AA109",
    name: "suppressed-alert",
    title: "Alert firing but suppressed",
    severity: Severity::Info,
    aliases: &[],
};

/// An alertname whose alerts arrive at one receiver in at least this many groups (AA110).
pub const FRAGMENTED_GROUPS: usize = 5;

/// AA110: one alertname split into many notification groups: `group_by` is finer than the
/// problem, so one incident pages once per instance.
pub const AA110: CheckMeta = CheckMeta {
    code: "AA110",
    name: "fragmented-grouping",
    title: "Alert split into many notification groups",
    severity: Severity::Warning,
    aliases: &[],
};

/// Why Alertmanager could not be read. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerError {
    #[error("cannot reach Alertmanager at {url}: {message}\n  hint: check the URL (`curl {url}/-/ready`)")]
    Unreachable { url: String, message: String },
    #[error("Alertmanager at {url} answered {code} for {path}: {message}")]
    Status {
        url: String,
        path: String,
        code: u16,
        message: String,
    },
    #[error("Alertmanager at {url} sent something other than API v2 JSON for {path}: {message}")]
    Invalid {
        url: String,
        path: String,
        message: String,
    },
}

/// One silence as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceInfo {
    pub id: String,
    /// `active`, `pending` or `expired`.
    pub state: String,
    /// The matchers, as `name="value"`, `name=~"regex"`, `name!="value"`.
    pub matchers: Vec<String>,
    pub created_by: String,
    pub comment: String,
    pub starts_at: String,
    pub ends_at: String,
    /// `ends_at - starts_at`, seconds.
    pub length_seconds: i64,
    /// Alerts it silences now.
    pub silencing: usize,
}

/// One notification group (`/api/v2/alerts/groups`): what one notification carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    pub receiver: String,
    /// The group's labels: the values of the route's `group_by`.
    pub labels: BTreeMap<String, String>,
    /// Alerts in the group, and how many of them are neither silenced nor inhibited.
    pub alerts: usize,
    pub active: usize,
    /// The alertnames in the group, sorted.
    pub alertnames: Vec<String>,
    /// Per alertname, its alerts in the group that are neither silenced nor inhibited (the
    /// ones a notification carries).
    pub active_by_alertname: BTreeMap<String, usize>,
}

/// Alertmanager's current state, summarized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub url: String,
    pub active: usize,
    pub silenced: usize,
    pub inhibited: usize,
    /// Per alertname: `[active, silenced, inhibited]`.
    pub by_alertname: BTreeMap<String, [usize; 3]>,
    /// Active and pending silences, longest first.
    pub silences: Vec<SilenceInfo>,
    /// Notification groups, largest first.
    pub groups: Vec<GroupInfo>,
    /// Why the groups could not be read (older Alertmanagers, proxies allowing some paths
    /// only); the rest of the state is still good.
    #[serde(skip)]
    pub groups_error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiAlert {
    labels: BTreeMap<String, String>,
    status: ApiAlertStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiAlertStatus {
    state: String,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct ApiGroup {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    receiver: ApiReceiver,
    #[serde(default)]
    alerts: Vec<ApiAlert>,
}

#[derive(Deserialize)]
struct ApiReceiver {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiSilence {
    id: String,
    status: ApiSilenceStatus,
    #[serde(default)]
    matchers: Vec<ApiMatcher>,
    starts_at: String,
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
struct ApiSilenceStatus {
    state: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

/// Reads the alerts and silences of the Alertmanager at `ep`.
pub fn read(ep: &Endpoint) -> Result<State, AlertmanagerError> {
    let base = ep.url.trim_end_matches('/').to_string();
    let shown = crate::prometheus::shown_url(&base);
    // The same TLS settings as for Prometheus: `--ca-file`, explicit skip-verify.
    let agent = crate::prometheus::agent(ep).map_err(|e| AlertmanagerError::Unreachable {
        url: shown.clone(),
        message: e.to_string(),
    })?;

    let get = |path: &str| -> Result<String, AlertmanagerError> {
        let mut req = agent.get(&format!("{base}{path}"));
        match &ep.auth {
            Auth::Bearer(t) => req = req.header("Authorization", &format!("Bearer {}", t.trim())),
            Auth::Basic { user, password } => {
                use base64::Engine as _;
                let v =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                req = req.header("Authorization", &format!("Basic {v}"));
            }
            Auth::None => {}
        }
        let mut resp = req.call().map_err(|e| AlertmanagerError::Unreachable {
            url: shown.clone(),
            message: e.to_string(),
        })?;
        let code = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| AlertmanagerError::Unreachable {
                url: shown.clone(),
                message: e.to_string(),
            })?;
        if code != 200 {
            return Err(AlertmanagerError::Status {
                url: shown.clone(),
                path: path.to_string(),
                code,
                message: body
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect(),
            });
        }
        Ok(body)
    };
    let invalid = |path: &str, e: serde_json::Error| AlertmanagerError::Invalid {
        url: shown.clone(),
        path: path.to_string(),
        message: e.to_string(),
    };
    let alerts_path = "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true";
    let alerts: Vec<ApiAlert> =
        serde_json::from_str(&get(alerts_path)?).map_err(|e| invalid(alerts_path, e))?;
    let silences: Vec<ApiSilence> = serde_json::from_str(&get("/api/v2/silences")?)
        .map_err(|e| invalid("/api/v2/silences", e))?;
    let groups_path = "/api/v2/alerts/groups?active=true&silenced=true&inhibited=true";
    let groups: Result<Vec<ApiGroup>, AlertmanagerError> = get(groups_path)
        .and_then(|body| serde_json::from_str(&body).map_err(|e| invalid(groups_path, e)));
    let mut state = summarize(shown, &alerts, &silences)?;
    match groups {
        Ok(groups) => state.groups = summarize_groups(&groups),
        Err(e) => state.groups_error = Some(e.to_string()),
    }
    Ok(state)
}

fn summarize_groups(groups: &[ApiGroup]) -> Vec<GroupInfo> {
    let mut out: Vec<GroupInfo> = groups
        .iter()
        .map(|g| {
            let mut alertnames: Vec<String> = g
                .alerts
                .iter()
                .filter_map(|a| a.labels.get("alertname").cloned())
                .collect();
            alertnames.sort();
            alertnames.dedup();
            let mut active_by_alertname: BTreeMap<String, usize> = BTreeMap::new();
            for a in &g.alerts {
                if a.status.silenced_by.is_empty() && a.status.inhibited_by.is_empty() {
                    if let Some(name) = a.labels.get("alertname") {
                        *active_by_alertname.entry(name.clone()).or_default() += 1;
                    }
                }
            }
            GroupInfo {
                receiver: g.receiver.name.clone(),
                labels: g.labels.clone(),
                alerts: g.alerts.len(),
                active: g
                    .alerts
                    .iter()
                    .filter(|a| a.status.silenced_by.is_empty() && a.status.inhibited_by.is_empty())
                    .count(),
                alertnames,
                active_by_alertname,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.alerts
            .cmp(&a.alerts)
            .then_with(|| a.receiver.cmp(&b.receiver))
            .then_with(|| a.labels.cmp(&b.labels))
    });
    out
}

/// Unix seconds of an RFC 3339 time (offsets and fractions allowed).
fn seconds(t: &str) -> Option<i64> {
    t.parse::<jiff::Timestamp>().ok().map(|ts| ts.as_second())
}

fn summarize(
    url: String,
    alerts: &[ApiAlert],
    silences: &[ApiSilence],
) -> Result<State, AlertmanagerError> {
    let mut by_alertname: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut silencing: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut active, mut silenced, mut inhibited) = (0, 0, 0);
    for a in alerts {
        let name = a.labels.get("alertname").cloned().unwrap_or_default();
        let counts = by_alertname.entry(name).or_default();
        if !a.status.silenced_by.is_empty() {
            silenced += 1;
            counts[1] += 1;
            for id in &a.status.silenced_by {
                *silencing.entry(id.as_str()).or_default() += 1;
            }
        } else if !a.status.inhibited_by.is_empty() {
            inhibited += 1;
            counts[2] += 1;
        } else if a.status.state == "active" {
            active += 1;
            counts[0] += 1;
        }
    }
    let mut infos = Vec::new();
    for s in silences.iter().filter(|s| s.status.state != "expired") {
        let time = |field: &str, value: &str| {
            seconds(value).ok_or_else(|| AlertmanagerError::Invalid {
                url: url.clone(),
                path: "/api/v2/silences".to_string(),
                message: format!(
                    "silence {}: {field} `{value}` is not an RFC 3339 time",
                    s.id
                ),
            })
        };
        let length_seconds = time("endsAt", &s.ends_at)? - time("startsAt", &s.starts_at)?;
        infos.push(SilenceInfo {
            id: s.id.clone(),
            state: s.status.state.clone(),
            matchers: s
                .matchers
                .iter()
                .map(|m| {
                    let op = match (m.is_equal, m.is_regex) {
                        (true, false) => "=",
                        (false, false) => "!=",
                        (true, true) => "=~",
                        (false, true) => "!~",
                    };
                    format!("{}{op}\"{}\"", m.name, m.value)
                })
                .collect(),
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
            starts_at: s.starts_at.clone(),
            ends_at: s.ends_at.clone(),
            length_seconds,
            silencing: silencing.get(s.id.as_str()).copied().unwrap_or(0),
        });
    }
    infos.sort_by(|a, b| {
        b.length_seconds
            .cmp(&a.length_seconds)
            .then(a.id.cmp(&b.id))
    });
    Ok(State {
        url,
        active,
        silenced,
        inhibited,
        by_alertname,
        silences: infos,
        groups: Vec::new(),
        groups_error: None,
    })
}

/// AA108 for long active or pending silences, AA109 for alerts firing under a silence or an
/// inhibition, AA110 for alertnames split into many notification groups.
pub fn findings(state: &State) -> Vec<Finding> {
    let mut out = Vec::new();
    // (receiver, alertname) -> (groups, alerts, the group_by keys seen), counting only
    // groups that notify about the alertname (a group whose alerts are all silenced or
    // inhibited sends nothing).
    let mut split: BTreeMap<(&str, &str), (usize, usize, Vec<&str>)> = BTreeMap::new();
    for g in &state.groups {
        for (name, active) in &g.active_by_alertname {
            let e = split
                .entry((g.receiver.as_str(), name.as_str()))
                .or_default();
            e.0 += 1;
            e.1 += active;
            for k in g.labels.keys() {
                if !e.2.contains(&k.as_str()) {
                    e.2.push(k);
                }
            }
        }
    }
    for ((receiver, name), (groups, alerts, keys)) in split {
        if groups < FRAGMENTED_GROUPS {
            continue;
        }
        out.push(
            Finding::new(
                &AA110,
                Resource::object("Alert", None, name),
                format!(
                    "arrives at receiver {receiver} as {groups} separate notification groups ({alerts} unsilenced alerts; group_by: {}): one incident, {groups} notifications",
                    if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
                ),
            )
            .evidence("receiver", receiver)
            .evidence("groups", groups)
            .evidence("alerts", alerts)
            .evidence("groupBy", keys.join(","))
            .remediation("Group by what identifies the incident, not the instance: drop per-instance labels (instance, pod) from the route's group_by, e.g. group_by: [alertname, cluster, namespace]; the instances are still listed inside the one notification."),
        );
    }
    for s in state
        .silences
        .iter()
        .filter(|s| s.length_seconds > LONG_SILENCE_SECONDS)
    {
        let days = s.length_seconds as f64 / 86_400.0;
        out.push(
            Finding::new(
                &AA108,
                Resource::object("Silence", None, &s.id),
                format!(
                    "silence of {days:.0} days ({} until {}) by {} hides {}: \"{}\"",
                    s.state,
                    s.ends_at,
                    if s.created_by.is_empty() { "unknown" } else { &s.created_by },
                    s.matchers.join(", "),
                    s.comment
                ),
            )
            .evidence("lengthSeconds", s.length_seconds)
            .evidence("createdBy", s.created_by.clone())
            .evidence("endsAt", s.ends_at.clone())
            .evidence("silencing", s.silencing)
            .remediation("A silence longer than a week is a disabled alert: fix the cause, change the rule (threshold, for:, routing) or delete it, then expire the silence (`amtool silence expire ID`)."),
        );
    }
    for (name, [_, silenced, inhibited]) in &state.by_alertname {
        if silenced + inhibited == 0 {
            continue;
        }
        out.push(
            Finding::new(
                &AA109,
                Resource::object("Alert", None, name),
                format!("{silenced} silenced and {inhibited} inhibited instance(s) firing now"),
            )
            .evidence("silenced", *silenced)
            .evidence("inhibited", *inhibited),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_long_silences() {
        let alerts: Vec<ApiAlert> = serde_json::from_str(
            r#"[{"labels":{"alertname":"A"},"status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
                {"labels":{"alertname":"B"},"status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}},
                {"labels":{"alertname":"C"},"status":{"state":"suppressed","silencedBy":[],"inhibitedBy":["f"]}}]"#,
        )
        .expect("alerts");
        let silences: Vec<ApiSilence> = serde_json::from_str(
            r#"[{"id":"s1","status":{"state":"active"},"matchers":[{"name":"alertname","value":"B","isRegex":false,"isEqual":true}],
                 "startsAt":"2026-11-01T00:00:00.000Z","endsAt":"2026-12-01T00:00:00.000Z","createdBy":"ana","comment":"noisy"},
                {"id":"s2","status":{"state":"expired"},"matchers":[],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-02-01T00:00:00Z"}]"#,
        )
        .expect("silences");
        let s = summarize("http://am".into(), &alerts, &silences).expect("valid");
        assert_eq!((s.active, s.silenced, s.inhibited), (1, 1, 1));
        assert_eq!(s.silences.len(), 1);
        assert_eq!(s.silences[0].length_seconds, 30 * 86_400);
        assert_eq!(s.silences[0].matchers, vec!["alertname=\"B\""]);
        let f = findings(&s);
        assert!(f
            .iter()
            .any(|f| f.code == "AA108" && f.message.contains("30 days")));
        assert_eq!(f.iter().filter(|f| f.code == "AA109").count(), 2);
        assert_eq!(
            seconds("2026-11-01T02:00:00.5+02:00"),
            seconds("2026-11-01T00:00:00Z")
        );
        let bad: Vec<ApiSilence> = serde_json::from_str(
            r#"[{"id":"s3","status":{"state":"active"},"startsAt":"yesterday","endsAt":"2026-12-01T00:00:00Z"}]"#,
        )
        .expect("silences");
        let err = summarize("http://am".into(), &[], &bad).expect_err("bad time");
        let groups: Vec<ApiGroup> = serde_json::from_str(&format!(
            "[{}]",
            (0..6)
                .map(|i| format!(r#"{{"labels":{{"alertname":"NodeDown","instance":"n{i}"}},"receiver":{{"name":"pager"}},
                    "alerts":[{{"labels":{{"alertname":"NodeDown","instance":"n{i}"}},"status":{{"state":"active","silencedBy":[],"inhibitedBy":[]}}}}]}}"#))
                .chain([r#"{"labels":{"alertname":"Big"},"receiver":{"name":"pager"},"alerts":[
                    {"labels":{"alertname":"Big"},"status":{"state":"active"}},
                    {"labels":{"alertname":"Big"},"status":{"state":"suppressed","silencedBy":["x"]}}]}"#.to_string()])
                .collect::<Vec<_>>()
                .join(",")
        ))
        .expect("groups");
        let mut s = s;
        s.groups = summarize_groups(&groups);
        assert_eq!(s.groups.len(), 7);
        assert_eq!((s.groups[0].alerts, s.groups[0].active), (2, 1));
        let f = findings(&s);
        let split: Vec<&Finding> = f.iter().filter(|f| f.code == "AA110").collect();
        assert_eq!(split.len(), 1, "{split:?}");
        assert!(
            split[0].message.contains("pager as 6 separate")
                && split[0].message.contains("alertname, instance"),
            "{}",
            split[0].message
        );
        assert!(
            err.to_string().contains("silence s3: startsAt `yesterday`"),
            "{err}"
        );
    }
}
