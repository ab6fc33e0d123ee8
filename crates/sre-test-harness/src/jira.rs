//! A Jira REST API stand-in for the notification tests: no Jira can run on these machines
//! (it is a SaaS, and Data Center needs a licence). It speaks the documented wire format of
//! the three endpoints a reporter uses, and checks what it receives against their documented
//! shapes:
//!
//! - `POST /rest/api/{2,3}/issue` (create issue): `fields.project.key`,
//!   `fields.issuetype.name` (or `id`), `fields.summary` (a string of at most 255
//!   characters), `fields.labels` (strings without spaces), and `fields.description`: a
//!   string with API 2, an Atlassian Document Format `doc` (version 1, block nodes with
//!   non-empty text nodes) with API 3. Answers `201 {"id","key","self"}`, or `400` with
//!   `errorMessages` and `errors` as Jira does.
//! - `GET /rest/api/{2,3}/search/jql` (Cloud's search) and `GET /rest/api/2/search` (Data
//!   Center's), with `jql` of the form `project = "P" AND labels = "L" AND statusCategory
//!   != Done`; a Data Center stand-in answers 404 to `search/jql` as Data Center does.
//! - Any request without the expected `Authorization` header gets `401`.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// One issue created through the stand-in.
#[derive(Debug, Clone)]
pub struct Issue {
    pub key: String,
    /// The API version it was created with (2 or 3).
    pub api: u8,
    /// The `fields` object as received.
    pub fields: Value,
    pub done: bool,
}

#[derive(Default)]
struct State {
    issues: Vec<Issue>,
    requests: Vec<String>,
}

/// The running stand-in; stops when dropped.
pub struct JiraStandIn {
    url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JiraStandIn {
    /// Starts on a loopback port. `authorization` is the exact `Authorization` header
    /// expected; `cloud: false` behaves like Data Center (no `search/jql`).
    pub fn start(authorization: &str, cloud: bool) -> JiraStandIn {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("cannot start the Jira stand-in: {e}")),
        );
        let url = format!(
            "http://{}",
            server
                .server_addr()
                .to_ip()
                .unwrap_or_else(|| panic!("the Jira stand-in has no IP address"))
        );
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st, auth) = (
            Arc::clone(&server),
            Arc::clone(&state),
            authorization.to_string(),
        );
        let thread = std::thread::spawn(move || {
            for mut request in s.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let given = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string());
                let (code, answer) = {
                    let mut state = st.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    state
                        .requests
                        .push(format!("{} {}", request.method(), request.url()));
                    if given.as_deref() != Some(auth.as_str()) {
                        (
                            401,
                            json!({"errorMessages": ["You are not authenticated."], "errors": {}}),
                        )
                    } else {
                        handle(&mut state, request.method(), request.url(), &body, cloud)
                    }
                };
                let header = tiny_http::Header::from_bytes("Content-Type", "application/json")
                    .unwrap_or_else(|()| panic!("static header"));
                let _ = request.respond(
                    tiny_http::Response::from_string(answer.to_string())
                        .with_status_code(code)
                        .with_header(header),
                );
            }
        });
        JiraStandIn {
            url,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The issues created so far.
    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }

    /// `METHOD /path?query` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// Moves an issue to the Done status category.
    pub fn resolve(&self, key: &str) {
        for i in &mut self.lock().issues {
            if i.key == key {
                i.done = true;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for JiraStandIn {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bad(field: &str, message: &str) -> (u16, Value) {
    (
        400,
        json!({"errorMessages": [], "errors": {field: message}}),
    )
}

fn handle(
    state: &mut State,
    method: &tiny_http::Method,
    url: &str,
    body: &str,
    cloud: bool,
) -> (u16, Value) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let api = match path {
        p if p.starts_with("/rest/api/2/") => 2,
        // Data Center has no API 3.
        p if p.starts_with("/rest/api/3/") && cloud => 3,
        _ => return (404, json!({"errorMessages": ["Not found"]})),
    };
    let rest = &path["/rest/api/2".len()..];
    match (method, rest) {
        (tiny_http::Method::Post, "/issue") => create(state, api, body),
        (tiny_http::Method::Get, "/search/jql") if cloud => search(state, query, true),
        (tiny_http::Method::Get, "/search") if api == 2 && !cloud => search(state, query, false),
        _ => (404, json!({"errorMessages": ["Not found"]})),
    }
}

fn create(state: &mut State, api: u8, body: &str) -> (u16, Value) {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return (
            400,
            json!({"errorMessages": ["Unexpected character: the body is not JSON"]}),
        );
    };
    let f = &v["fields"];
    let Some(project) = f["project"]["key"].as_str() else {
        return bad("project", "project is required");
    };
    if !(f["issuetype"]["name"].is_string() || f["issuetype"]["id"].is_string()) {
        return bad("issuetype", "Specify an issue type");
    }
    match f["summary"].as_str() {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= 255 && !s.contains('\n') => {}
        _ => {
            return bad(
                "summary",
                "Summary must be a single line of at most 255 characters.",
            )
        }
    }
    if let Some(labels) = f.get("labels") {
        let ok = labels.as_array().is_some_and(|a| {
            a.iter().all(|l| {
                l.as_str().is_some_and(|s| {
                    !s.is_empty() && s.len() <= 255 && !s.contains(char::is_whitespace)
                })
            })
        });
        if !ok {
            return bad("labels", "Labels must be strings without spaces.");
        }
    }
    match (api, f.get("description")) {
        (_, None) | (2, Some(Value::String(_))) => {}
        (3, Some(d)) => {
            if let Err(e) = adf_doc(d) {
                return bad("description", &format!("Operation value must be an Atlassian Document (see the Atlassian Document Format): {e}"));
            }
        }
        _ => return bad("description", "Operation value must be a string"),
    }
    let n = state.issues.len() + 1;
    let key = format!("{project}-{n}");
    state.issues.push(Issue {
        key: key.clone(),
        api,
        fields: f.clone(),
        done: false,
    });
    (
        201,
        json!({"id": n.to_string(), "key": key, "self": format!("/rest/api/{api}/issue/{n}")}),
    )
}

/// Checks the ADF structure a reporter uses: `doc` version 1 holding paragraphs, headings
/// (level 1-6) and bullet lists of list items holding paragraphs, of non-empty text nodes
/// with `em`/`strong`/`code` marks.
pub fn adf_doc(d: &Value) -> Result<(), String> {
    if d["type"] != "doc" || d["version"] != 1 {
        return Err("the root must be {\"type\":\"doc\",\"version\":1}".into());
    }
    let blocks = d["content"]
        .as_array()
        .ok_or("doc.content must be an array")?;
    blocks.iter().try_for_each(block)
}

fn block(b: &Value) -> Result<(), String> {
    match b["type"].as_str() {
        Some("paragraph") => inline(b),
        Some("heading") => match b["attrs"]["level"].as_u64() {
            Some(1..=6) => inline(b),
            _ => Err("heading needs attrs.level 1-6".into()),
        },
        Some("bulletList") => {
            let items = b["content"]
                .as_array()
                .ok_or("bulletList.content must be an array")?;
            if items.is_empty() {
                return Err("bulletList must not be empty".into());
            }
            items.iter().try_for_each(|i| {
                if i["type"] != "listItem" {
                    return Err("bulletList holds only listItem".to_string());
                }
                i["content"]
                    .as_array()
                    .ok_or("listItem.content must be an array")?
                    .iter()
                    .try_for_each(block)
            })
        }
        other => Err(format!("unsupported block node {other:?}")),
    }
}

fn inline(b: &Value) -> Result<(), String> {
    for t in b["content"].as_array().ok_or("content must be an array")? {
        if t["type"] != "text" || t["text"].as_str().is_none_or(str::is_empty) {
            return Err("inline content must be non-empty text nodes".into());
        }
        if let Some(marks) = t.get("marks") {
            let ok = marks.as_array().is_some_and(|m| {
                m.iter()
                    .all(|m| matches!(m["type"].as_str(), Some("em" | "strong" | "code")))
            });
            if !ok {
                return Err("unsupported mark".into());
            }
        }
    }
    Ok(())
}

fn search(state: &State, query: &str, cloud: bool) -> (u16, Value) {
    let jql = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "jql")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let quoted = |field: &str| {
        let start = jql.find(&format!("{field} = \""))? + field.len() + 4;
        let end = jql[start..].find('"')?;
        Some(jql[start..start + end].to_string())
    };
    let (Some(project), Some(label)) = (quoted("project"), quoted("labels")) else {
        return (
            400,
            json!({"errorMessages": [format!("Error in the JQL Query: {jql}")]}),
        );
    };
    let open_only = jql.contains("statusCategory != Done");
    let found: Vec<Value> = state
        .issues
        .iter()
        .filter(|i| i.key.starts_with(&format!("{project}-")))
        .filter(|i| !(open_only && i.done))
        .filter(|i| {
            i.fields["labels"]
                .as_array()
                .is_some_and(|a| a.iter().any(|l| l == label.as_str()))
        })
        .map(|i| json!({"id": i.key.rsplit('-').next(), "key": i.key, "fields": {"summary": i.fields["summary"]}}))
        .collect();
    if cloud {
        (200, json!({"issues": found, "isLast": true}))
    } else {
        (
            200,
            json!({"startAt": 0, "maxResults": 1, "total": found.len(), "issues": found}),
        )
    }
}
