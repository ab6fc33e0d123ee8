//! Scenario files (`--scenario FILE.yaml`): several requests with weights, per-request
//! headers and bodies, values from a CSV file, and think time; the same file runs on a
//! laptop and in CI.
//!
//! ```yaml
//! url: http://api.shop.svc:8080        # base: each request's path is appended
//! headers: {X-Tenant: load-test}       # sent with every request
//! data: users.csv                      # optional: each send takes the next row
//! think: 50ms                          # optional: pause after each answer
//! requests:
//!   - name: list items
//!     path: /items?user=${user_id}
//!     weight: 3
//!   - name: add item
//!     method: POST
//!     path: /items
//!     headers: {Content-Type: application/json}
//!     body: '{"user": "${user_id}", "sku": "${sku}"}'
//! ```
//!
//! `${column}` in a path, header value or body is replaced by that column of the current
//! CSV row (the first line names the columns; rows are taken in turn, all connections
//! sharing one sequence). A request without placeholders is serialized once.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    data: Option<String>,
    think: Option<String>,
    requests: Vec<FileRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRequest {
    name: Option<String>,
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    #[serde(default = "one")]
    weight: u32,
}

fn get() -> String {
    "GET".into()
}

fn one() -> u32 {
    1
}

/// One request of a scenario: the HTTP/1.1 text with `${column}` placeholders.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub weight: u32,
    pub head: bool,
    /// The request text; `templated` when it holds placeholders to fill per send.
    text: String,
    templated: bool,
}

/// A parsed scenario.
#[derive(Debug)]
pub struct Scenario {
    /// The base URL (`url:`), unless `--url` overrides it.
    pub url: Option<String>,
    pub steps: Vec<Step>,
    /// Cumulative weights, for the pick.
    cumulative: Vec<u64>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    next_row: AtomicU64,
    pub think: Option<Duration>,
}

/// The settings a scenario's requests share with plain runs.
pub struct Common<'a> {
    pub host_header: &'a str,
    /// The base URL's path, before each request's path (`/api` in `http://h/api`).
    pub base_path: &'a str,
    pub close: bool,
}

impl Scenario {
    /// Reads and checks a scenario file; `data:` is relative to the file.
    pub fn read(path: &Path) -> Result<Scenario, String> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let file: File = serde_yaml_ng::from_str(&text).map_err(|e| match e.location() {
            Some(l) => format!("{shown}:{}:{}: {e}", l.line(), l.column()),
            None => format!("{shown}: {e}"),
        })?;
        if file.requests.is_empty() {
            return Err(format!(
                "{shown}: `requests` is empty: give at least one request"
            ));
        }
        let (columns, rows) = match &file.data {
            Some(d) => {
                let p = path.parent().unwrap_or(Path::new(".")).join(d);
                read_csv(&p)?
            }
            None => (Vec::new(), Vec::new()),
        };
        let think = file
            .think
            .as_deref()
            .map(|t| {
                sre_cli::units::parse_duration(t).map_err(|e| format!("{shown}: think `{t}`: {e}"))
            })
            .transpose()?;
        let mut steps = Vec::new();
        for (i, r) in file.requests.iter().enumerate() {
            let at = format!("{shown}: requests[{i}]");
            let method = r.method.to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("{at}: `{}` is not an HTTP method", r.method));
            }
            if !r.path.starts_with('/') {
                return Err(format!("{at}: path `{}` must start with /", r.path));
            }
            if r.weight == 0 {
                return Err(format!("{at}: weight must be at least 1"));
            }
            let mut headers = file.headers.clone();
            headers.extend(r.headers.clone());
            for (k, v) in &headers {
                if k.is_empty() || k.contains(char::is_whitespace) || k.contains(':') {
                    return Err(format!("{at}: `{k}` is not a header name"));
                }
                if v.contains(['\r', '\n']) {
                    return Err(format!(
                        "{at}: header {k}: a value cannot hold a line break"
                    ));
                }
            }
            // Every placeholder must name a column.
            let all = format!(
                "{} {} {}",
                r.path,
                headers.values().cloned().collect::<Vec<_>>().join(" "),
                r.body.as_deref().unwrap_or("")
            );
            for name in placeholders(&all) {
                if !columns.iter().any(|c| c == name) {
                    return Err(if columns.is_empty() {
                        format!(
                            "{at}: `${{{name}}}` needs a `data:` CSV file with a `{name}` column"
                        )
                    } else {
                        format!(
                            "{at}: `${{{name}}}` is not a column of the data file (columns: {})",
                            columns.join(", ")
                        )
                    });
                }
            }
            steps.push(Step {
                name: r
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{method} {}", r.path)),
                weight: r.weight,
                head: method == "HEAD",
                text: String::new(),
                templated: false,
            });
            let step = steps.last_mut().ok_or("no step")?;
            step.text = request_template(&method, &r.path, &headers, r.body.as_deref());
            step.templated = !placeholders(&step.text).is_empty();
        }
        let mut total = 0u64;
        let cumulative = steps
            .iter()
            .map(|s| {
                total += u64::from(s.weight);
                total
            })
            .collect();
        Ok(Scenario {
            url: file.url,
            steps,
            cumulative,
            columns,
            rows,
            next_row: AtomicU64::new(0),
            think,
        })
    }

    /// Which step a random number picks, by weight.
    pub fn pick(&self, random: u64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let r = random % total;
        self.cumulative.partition_point(|c| *c <= r)
    }

    /// The bytes of step `i` for this send: its text with `Host`, the base path and the
    /// next CSV row filled in.
    pub fn request(&self, i: usize, common: &Common<'_>) -> Vec<u8> {
        let step = &self.steps[i];
        let mut text = step
            .text
            .replacen("{{BASE}}", common.base_path, 1)
            .replacen("{{HOST}}", common.host_header, 1);
        if common.close {
            text = text.replacen("\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1);
        }
        if step.templated && !self.rows.is_empty() {
            let k = self.next_row.fetch_add(1, Ordering::Relaxed) as usize % self.rows.len();
            for (c, v) in self.columns.iter().zip(&self.rows[k]) {
                text = text.replace(&format!("${{{c}}}"), v);
            }
        }
        // The body's length is known only now.
        fix_length(text)
    }
}

fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                out.push(&after[..j]);
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

/// The request text with `{{BASE}}` and `{{HOST}}` to fill and a `{{LENGTH}}` marker.
fn request_template(
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: Option<&str>,
) -> String {
    let mut t = format!("{method} {{{{BASE}}}}{path} HTTP/1.1\r\nHost: {{{{HOST}}}}\r\n");
    let has = |n: &str| headers.keys().any(|k| k.eq_ignore_ascii_case(n));
    if !has("user-agent") {
        t.push_str(concat!(
            "User-Agent: sre-chaos-load/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !has("accept") {
        t.push_str("Accept: */*\r\n");
    }
    for (k, v) in headers {
        t.push_str(&format!("{k}: {v}\r\n"));
    }
    if body.is_some() || matches!(method, "POST" | "PUT" | "PATCH") {
        t.push_str("Content-Length: {{LENGTH}}\r\n");
    }
    t.push_str("\r\n");
    t.push_str(body.unwrap_or(""));
    t
}

/// Puts the body's length in place of `{{LENGTH}}`.
fn fix_length(text: String) -> Vec<u8> {
    match text.find("\r\n\r\n") {
        Some(i) if text[..i].contains("{{LENGTH}}") => {
            let body_len = text.len() - (i + 4);
            text.replacen("{{LENGTH}}", &body_len.to_string(), 1)
                .into_bytes()
        }
        _ => text.into_bytes(),
    }
}

/// A CSV file: the header line names the columns.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let shown = path.display().to_string();
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{shown}: {e}"))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (i, r) in reader.records().enumerate() {
        let r = r.map_err(|e| format!("{shown}: row {}: {e}", i + 2))?;
        let row: Vec<String> = r.iter().map(String::from).collect();
        if row.iter().any(|v| v.contains(['\r', '\n'])) {
            return Err(format!(
                "{shown}: row {}: a value cannot hold a line break",
                i + 2
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(format!("{shown}: no rows after the header line"));
    }
    Ok((columns, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_pick_and_fill() {
        let dir = tempfile_dir();
        std::fs::write(dir.join("users.csv"), "user_id,sku\nu1,s1\nu2,s2\n").expect("csv");
        std::fs::write(
            dir.join("s.yaml"),
            "url: http://h:8080/api\nheaders: {X-T: a}\ndata: users.csv\nthink: 10ms\nrequests:\n  - name: list\n    path: /items?u=${user_id}\n    weight: 3\n  - method: post\n    path: /items\n    body: '{\"u\":\"${user_id}\",\"s\":\"${sku}\"}'\n",
        )
        .expect("yaml");
        let s = Scenario::read(&dir.join("s.yaml")).expect("scenario");
        assert_eq!(s.url.as_deref(), Some("http://h:8080/api"));
        assert_eq!(s.think, Some(Duration::from_millis(10)));
        assert_eq!(
            (s.steps[0].name.as_str(), s.steps[1].name.as_str()),
            ("list", "POST /items")
        );
        // Weights 3:1 over 0..4.
        assert_eq!(
            (0..4).map(|r| s.pick(r)).collect::<Vec<_>>(),
            vec![0, 0, 0, 1]
        );
        let common = Common {
            host_header: "h:8080",
            base_path: "/api",
            close: false,
        };
        let a = String::from_utf8(s.request(0, &common)).expect("utf8");
        assert!(
            a.starts_with("GET /api/items?u=u1 HTTP/1.1\r\nHost: h:8080\r\n"),
            "{a}"
        );
        assert!(a.contains("X-T: a\r\n"));
        let b = String::from_utf8(s.request(1, &common)).expect("utf8");
        assert!(b.ends_with("\r\n\r\n{\"u\":\"u2\",\"s\":\"s2\"}"), "{b}");
        assert!(b.contains("Content-Length: 19\r\n"), "{b}");
        // Rows go round.
        let c = String::from_utf8(s.request(0, &common)).expect("utf8");
        assert!(c.contains("u=u1"), "{c}");

        for (yaml, expect) in [
            ("requests: []\n", "`requests` is empty"),
            ("requests:\n  - path: items\n", "must start with /"),
            (
                "requests:\n  - path: /x/${id}\n",
                "needs a `data:` CSV file",
            ),
            (
                "requests:\n  - path: /\n    weight: 0\n",
                "weight must be at least 1",
            ),
            (
                "requests:\n  - path: /\n    colour: red\n",
                "unknown field `colour`",
            ),
            ("requests:\n  - path: /\n  bad indent\n", "s.yaml:"),
        ] {
            std::fs::write(dir.join("s.yaml"), yaml).expect("yaml");
            let e = Scenario::read(&dir.join("s.yaml")).expect_err(yaml);
            assert!(e.contains(expect), "{yaml}: {e}");
        }
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("chaos-load-scenario-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    }
}
