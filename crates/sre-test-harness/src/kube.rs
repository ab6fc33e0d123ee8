//! A Kubernetes API test server: the real REST protocol over objects loaded from snapshot
//! files, for testing clients (ours and `kubectl`) where no kube-apiserver can run.
//!
//! Serves `/version`, `/livez`, `/readyz`, `/healthz`, discovery (`/api`, `/apis`,
//! resource lists per group version with namespaced flags and verbs), list (cluster-wide and
//! per namespace) with `limit`/`continue`, `labelSelector` and `fieldSelector`, get, create,
//! update, merge and JSON patch, delete (finalizers set a `deletionTimestamp`), and
//! `Status` objects for errors; bearer-token authentication and fault knobs (403 per
//! resource and verb, latency, every n-th request failing with 429/5xx and `Retry-After`, a
//! failing `/readyz`). Checked against the real `kubectl` in this crate's tests.
//!
//! ```no_run
//! let server = sre_test_harness::kube::KubeTestServer::start(vec![]).expect("starts");
//! println!("kubectl --kubeconfig {} get pods -A", server.kubeconfig().display());
//! ```

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `(kind, plural, group, version, namespaced)` of every resource the server knows.
pub const RESOURCES: &[(&str, &str, &str, &str, bool)] = &[
    ("Pod", "pods", "", "v1", true),
    ("Node", "nodes", "", "v1", false),
    ("Namespace", "namespaces", "", "v1", false),
    ("Event", "events", "", "v1", true),
    ("Service", "services", "", "v1", true),
    ("ServiceAccount", "serviceaccounts", "", "v1", true),
    ("ConfigMap", "configmaps", "", "v1", true),
    ("ResourceQuota", "resourcequotas", "", "v1", true),
    ("LimitRange", "limitranges", "", "v1", true),
    ("Deployment", "deployments", "apps", "v1", true),
    ("ReplicaSet", "replicasets", "apps", "v1", true),
    ("StatefulSet", "statefulsets", "apps", "v1", true),
    ("DaemonSet", "daemonsets", "apps", "v1", true),
    ("Job", "jobs", "batch", "v1", true),
    ("CronJob", "cronjobs", "batch", "v1", true),
    (
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "policy",
        "v1",
        true,
    ),
    (
        "NetworkPolicy",
        "networkpolicies",
        "networking.k8s.io",
        "v1",
        true,
    ),
    ("Role", "roles", "rbac.authorization.k8s.io", "v1", true),
    (
        "RoleBinding",
        "rolebindings",
        "rbac.authorization.k8s.io",
        "v1",
        true,
    ),
    (
        "ClusterRole",
        "clusterroles",
        "rbac.authorization.k8s.io",
        "v1",
        false,
    ),
    (
        "ClusterRoleBinding",
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        "v1",
        false,
    ),
    ("NodeMetrics", "nodes", "metrics.k8s.io", "v1beta1", false),
    ("PodMetrics", "pods", "metrics.k8s.io", "v1beta1", true),
];

const VERBS: [&str; 7] = [
    "get", "list", "create", "update", "patch", "delete", "watch",
];

/// Loads objects from snapshot files (YAML, multi-document YAML, JSON, `List` and typed
/// lists); items of typed lists get their kind from the list.
pub fn load_fixtures(paths: &[PathBuf]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for p in paths {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let docs: Vec<Value> =
            if text.trim_start().starts_with('{') || text.trim_start().starts_with('[') {
                vec![serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?]
            } else {
                let mut docs = Vec::new();
                for d in serde_yaml_ng::Deserializer::from_str(&text) {
                    let v: Option<Value> = serde::Deserialize::deserialize(d)
                        .map_err(|e| format!("{}: {e}", p.display()))?;
                    docs.extend(v);
                }
                docs
            };
        for d in docs {
            flatten(d, &mut out);
        }
    }
    Ok(out)
}

fn flatten(mut v: Value, out: &mut Vec<Value>) {
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(Value::Array(items)) = v.get_mut("items").map(Value::take) {
        let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
        for mut item in items {
            if item.get("kind").is_none() && !item_kind.is_empty() {
                item["kind"] = Value::from(item_kind.clone());
            }
            flatten(item, out);
        }
    } else if !kind.is_empty() {
        out.push(v);
    }
}

/// A running test server; stops when dropped.
pub struct KubeTestServer {
    url: String,
    dir: tempfile::TempDir,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    faults: Arc<Mutex<Faults>>,
}

/// Fault knobs, changeable while the server runs. Deterministic (every n-th request), so
/// tests do not depend on chance.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Bearer token every request must carry (`None`: no authentication).
    pub token: Option<String>,
    /// `(resource plural, verb)` pairs answered with 403 Forbidden; `*` matches any.
    pub deny: Vec<(String, String)>,
    /// Delay before every answer.
    pub latency: Duration,
    /// Every n-th resource request fails with `(status code, Retry-After seconds)`.
    pub fail_every: Option<(u64, u16, u32)>,
    /// When set, `/readyz` fails and names this check.
    pub unready: Option<String>,
    requests: u64,
}

impl KubeTestServer {
    /// Serves `objects` on a free loopback port and writes a kubeconfig pointing at it.
    pub fn start(objects: Vec<Value>) -> Result<KubeTestServer, String> {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?);
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("no TCP address")?;
        let url = format!("http://127.0.0.1:{port}");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        write_kubeconfig(&dir.path().join("kubeconfig"), &url).map_err(|e| e.to_string())?;
        let state = Arc::new(Mutex::new(objects));
        let faults = Arc::new(Mutex::new(Faults::default()));
        let (srv, f) = (Arc::clone(&server), Arc::clone(&faults));
        let thread = std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let header = |name: &'static str| {
                    request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.as_str().to_string())
                };
                let (auth, ctype) = (header("Authorization"), header("Content-Type"));
                let mut payload = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut payload);
                let call = Call {
                    method: request.method().clone(),
                    url: request.url().to_string(),
                    auth,
                    content_type: ctype.unwrap_or_default(),
                    body: payload,
                };
                let (code, body, retry_after) = serve(&state, &f, &call);
                let mut response = tiny_http::Response::from_string(body).with_status_code(code);
                let path = request.url().split('?').next().unwrap_or("");
                let content_type = if matches!(path, "/livez" | "/readyz" | "/healthz") {
                    "text/plain; charset=utf-8"
                } else {
                    "application/json"
                };
                let headers = [("Content-Type", content_type.to_string())]
                    .into_iter()
                    .chain(retry_after.map(|s| ("Retry-After", s.to_string())));
                for (k, v) in headers {
                    if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                        response.add_header(h);
                    }
                }
                let _ = request.respond(response);
            }
        });
        Ok(KubeTestServer {
            url,
            dir,
            server,
            thread: Some(thread),
            faults,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Changes the fault knobs (and writes the token into the kubeconfig when it changes).
    pub fn set_faults(&self, update: impl FnOnce(&mut Faults)) -> std::io::Result<()> {
        let token = {
            let mut f = self
                .faults
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            update(&mut f);
            f.requests = 0;
            f.token.clone()
        };
        write_kubeconfig_with_token(&self.kubeconfig(), &self.url, token.as_deref())
    }

    /// A kubeconfig whose current context points at this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

impl Drop for KubeTestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes a kubeconfig for `url` (plain HTTP on loopback, no credentials).
pub fn write_kubeconfig(path: &Path, url: &str) -> std::io::Result<()> {
    write_kubeconfig_with_token(path, url, None)
}

/// Writes a kubeconfig for `url` with an optional bearer token.
pub fn write_kubeconfig_with_token(
    path: &Path,
    url: &str,
    token: Option<&str>,
) -> std::io::Result<()> {
    let user = match token {
        Some(t) => format!("{{token: \"{t}\"}}"),
        None => "{}".to_string(),
    };
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: \"{url}\"}}\ncontexts:\n- name: test\n  context: {{cluster: test, user: test}}\ncurrent-context: test\nusers:\n- name: test\n  user: {user}\n"
        ),
    )
}

/// Applies authentication and fault knobs, then routes. Returns code, body, Retry-After.
/// One HTTP request, as the router needs it.
struct Call {
    method: tiny_http::Method,
    url: String,
    auth: Option<String>,
    content_type: String,
    body: String,
}

fn serve(
    objects: &Mutex<Vec<Value>>,
    faults: &Mutex<Faults>,
    call: &Call,
) -> (u16, String, Option<u32>) {
    let (latency, verdict) = {
        let mut f = faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let path = call.url.split('?').next().unwrap_or(&call.url);
        let verb = match call.method {
            tiny_http::Method::Get => None,
            tiny_http::Method::Post => Some("create"),
            tiny_http::Method::Put => Some("update"),
            tiny_http::Method::Patch => Some("patch"),
            tiny_http::Method::Delete => Some("delete"),
            _ => None,
        };
        let verdict = fault_verdict(&mut f, path, verb, call.auth.as_deref());
        (f.latency, verdict)
    };
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    if let Some(v) = verdict {
        return v;
    }
    let mut objects = objects
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (code, body) = if call.method == tiny_http::Method::Get {
        handle(&objects, &call.method, &call.url)
    } else {
        write(&mut objects, call)
    };
    (code, body, None)
}

/// POST (create), PUT (update), PATCH (JSON merge patch; strategic merge patches are
/// applied as merge patches, which covers maps and whole-list replacement) and DELETE
/// (honouring finalizers with a `deletionTimestamp`).
fn write(objects: &mut Vec<Value>, call: &Call) -> (u16, String) {
    let path = call.url.split('?').next().unwrap_or(&call.url);
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (group, version, rest): (&str, &str, &[&str]) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => {
            return status(
                404,
                "NotFound",
                format!("the server could not find the requested resource ({path})"),
            )
        }
    };
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return status(404, "NotFound", "unknown path".to_string()),
    };
    let Some(&(kind, ..)) = RESOURCES
        .iter()
        .find(|r| r.1 == plural && r.2 == group && r.3 == version)
    else {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({plural})"),
        );
    };
    let same = |o: &Value, n: &str| {
        o.get("kind").and_then(Value::as_str) == Some(kind)
            && o.pointer("/metadata/name").and_then(Value::as_str) == Some(n)
            && namespace.is_none_or(|ns| {
                o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
            })
    };
    let parse = |body: &str| {
        serde_json::from_str::<Value>(body)
            .map_err(|e| status(400, "BadRequest", format!("invalid JSON body: {e}")))
    };
    match (&call.method, name) {
        (tiny_http::Method::Post, None) => {
            let mut obj = match parse(&call.body) {
                Ok(o) => o,
                Err(e) => return e,
            };
            let Some(n) = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return status(
                    422,
                    "Invalid",
                    format!("{kind} is invalid: metadata.name: Required value"),
                );
            };
            if objects.iter().any(|o| same(o, &n)) {
                return status(
                    409,
                    "AlreadyExists",
                    format!("{plural} \"{n}\" already exists"),
                );
            }
            obj["kind"] = Value::from(kind);
            obj["apiVersion"] = Value::from(api_version(group, version));
            if let Some(ns) = namespace {
                obj["metadata"]["namespace"] = Value::from(ns);
            }
            obj["metadata"]["uid"] = Value::from(format!("uid-{}-{}", objects.len(), n));
            obj["metadata"]["resourceVersion"] = Value::from("1");
            objects.push(obj.clone());
            (201, obj.to_string())
        }
        (method, Some(n)) => {
            let Some(i) = objects.iter().position(|o| same(o, n)) else {
                return status(404, "NotFound", format!("{plural} \"{n}\" not found"));
            };
            match method {
                tiny_http::Method::Delete => {
                    let has_finalizers = objects[i]
                        .pointer("/metadata/finalizers")
                        .and_then(Value::as_array)
                        .is_some_and(|f| !f.is_empty());
                    if has_finalizers {
                        objects[i]["metadata"]["deletionTimestamp"] =
                            Value::from("2024-03-01T12:00:00Z");
                        (200, objects[i].to_string())
                    } else {
                        let gone = objects.remove(i);
                        (200, gone.to_string())
                    }
                }
                tiny_http::Method::Put => match parse(&call.body) {
                    Ok(mut obj) => {
                        obj["kind"] = Value::from(kind);
                        obj["apiVersion"] = Value::from(api_version(group, version));
                        objects[i] = obj;
                        (200, objects[i].to_string())
                    }
                    Err(e) => e,
                },
                tiny_http::Method::Patch => {
                    let patch = match parse(&call.body) {
                        Ok(p) => p,
                        Err(e) => return e,
                    };
                    if call.content_type.starts_with("application/json-patch+json") {
                        if let Err(m) = json_patch(&mut objects[i], &patch) {
                            return status(422, "Invalid", m);
                        }
                    } else {
                        merge_patch(&mut objects[i], &patch);
                    }
                    (200, objects[i].to_string())
                }
                _ => status(
                    405,
                    "MethodNotAllowed",
                    format!("{method} is not supported"),
                ),
            }
        }
        (method, None) => status(
            405,
            "MethodNotAllowed",
            format!("{method} on a collection is not supported"),
        ),
    }
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// RFC 6902 JSON patch: `add`, `replace`, `remove` (the operations kubectl users write).
fn json_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch.as_array().ok_or("a JSON patch must be an array")?;
    for op in ops {
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("missing path")?;
        let (parent, key) = path.rsplit_once('/').ok_or("invalid path")?;
        let key = key.replace("~1", "/").replace("~0", "~");
        let container = target
            .pointer_mut(parent)
            .ok_or_else(|| format!("path {parent} not found"))?;
        match (op.get("op").and_then(Value::as_str), container) {
            (Some("add" | "replace"), Value::Object(m)) => {
                m.insert(key, op.get("value").cloned().unwrap_or(Value::Null));
            }
            (Some("remove"), Value::Object(m)) => {
                m.remove(&key)
                    .ok_or_else(|| format!("path {path} not found"))?;
            }
            (Some(other), _) => {
                return Err(format!("unsupported JSON patch op `{other}` at {path}"))
            }
            (None, _) => return Err("missing op".to_string()),
        }
    }
    Ok(())
}

fn fault_verdict(
    f: &mut Faults,
    path: &str,
    write_verb: Option<&str>,
    auth: Option<&str>,
) -> Option<(u16, String, Option<u32>)> {
    if let Some(t) = &f.token {
        if auth != Some(format!("Bearer {t}").as_str()) {
            let (c, b) = status(401, "Unauthorized", "Unauthorized".to_string());
            return Some((c, b, None));
        }
    }
    if path == "/readyz" {
        if let Some(check) = &f.unready {
            return Some((
                500,
                format!("[+]ping ok\n[-]{check} failed: reason withheld\nreadyz check failed\n"),
                None,
            ));
        }
    }
    let is_resource = path.starts_with("/api/") || path.starts_with("/apis/");
    if !is_resource {
        return None;
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    // /api/v1/<plural>[/<name>] or /api/v1/namespaces/<ns>/<plural>[/<name>] (and /apis/g/v/...)
    let rest: &[&str] = if parts.first() == Some(&"api") {
        parts.get(2..).unwrap_or(&[])
    } else {
        parts.get(3..).unwrap_or(&[])
    };
    let (plural, read_verb) = match rest {
        ["namespaces", _, plural] | [plural] => (*plural, "list"),
        ["namespaces", _, plural, _] | [plural, _] => (*plural, "get"),
        _ => ("", ""),
    };
    let verb = write_verb.unwrap_or(read_verb);
    if !plural.is_empty()
        && f.deny
            .iter()
            .any(|(r, v)| (r == "*" || r == plural) && (v == "*" || v == verb))
    {
        let (c, b) = status(
            403,
            "Forbidden",
            format!("{plural} is forbidden: User \"test\" cannot {verb} resource \"{plural}\""),
        );
        return Some((c, b, None));
    }
    if let Some((every, code, retry)) = f.fail_every {
        f.requests += 1;
        if every > 0 && f.requests.is_multiple_of(every) {
            let reason = if code == 429 {
                "TooManyRequests"
            } else {
                "ServiceUnavailable"
            };
            let (c, b) = status(code, reason, "injected failure".to_string());
            return Some((c, b, Some(retry)));
        }
    }
    None
}

fn status(code: u16, reason: &str, message: String) -> (u16, String) {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    (code, body.to_string())
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Routes one request.
fn handle(objects: &[Value], method: &tiny_http::Method, url: &str) -> (u16, String) {
    if *method != tiny_http::Method::Get {
        return status(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported yet"),
        );
    }
    let (path, query_string) = url.split_once('?').unwrap_or((url, ""));
    let query: Vec<(String, String)> = query_string
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect();
    let q = Query(query);
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        ["version"] => (200, json!({"major": "1", "minor": "29", "gitVersion": "v1.29.2", "platform": "linux/amd64"}).to_string()),
        ["livez"] | ["readyz"] | ["healthz"] => (200, "ok".to_string()),
        ["api"] => (200, json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}).to_string()),
        ["apis"] => (200, api_groups().to_string()),
        ["api", "v1"] => (200, resource_list("", "v1").to_string()),
        ["apis", group, version] => (200, resource_list(group, version).to_string()),
        ["api", "v1", rest @ ..] => resource_request(objects, "", "v1", rest, &q),
        ["apis", group, version, rest @ ..] => resource_request(objects, group, version, rest, &q),
        _ => status(404, "NotFound", format!("the server could not find the requested resource ({path})")),
    }
}

/// Decoded query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn api_groups() -> Value {
    let mut groups: Vec<(&str, &str)> = RESOURCES
        .iter()
        .filter(|r| !r.2.is_empty())
        .map(|r| (r.2, r.3))
        .collect();
    groups.dedup();
    let list: Vec<Value> = groups
        .iter()
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list})
}

fn resource_list(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.2 == group && r.3 == version)
        .map(|(kind, plural, _, _, namespaced)| {
            json!({"name": plural, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced, "kind": kind, "verbs": VERBS})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version(group, version), "resources": resources})
}

fn resource_request(
    objects: &[Value],
    group: &str,
    version: &str,
    rest: &[&str],
    q: &Query,
) -> (u16, String) {
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        ["namespaces", name] => (None, "namespaces", Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return status(404, "NotFound", "unknown path".to_string()),
    };
    let Some(&(kind, ..)) = RESOURCES
        .iter()
        .find(|r| r.1 == plural && r.2 == group && r.3 == version)
    else {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({plural})"),
        );
    };
    let matching = objects.iter().filter(|o| {
        o.get("kind").and_then(Value::as_str) == Some(kind)
            && namespace.is_none_or(|ns| {
                o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
            })
    });
    if let Some(name) = name {
        return match matching
            .into_iter()
            .find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
        {
            Some(o) => (200, with_api_version(o, group, version).to_string()),
            None => status(404, "NotFound", format!("{plural} \"{name}\" not found")),
        };
    }
    let labels = q.get("labelSelector").unwrap_or("");
    let fields = q.get("fieldSelector").unwrap_or("");
    let mut items: Vec<&Value> = matching
        .filter(|o| label_match(o, labels) && field_match(o, fields))
        .collect();
    items.sort_by_key(|o| {
        (
            o.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or(""),
            o.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
    });
    // `continue` is an opaque token to clients; here it is the offset of the next item.
    let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let page: Vec<Value> = items
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|o| with_api_version(o, group, version))
        .collect();
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::from("1"));
    if end < items.len() {
        meta.insert("continue".into(), Value::from(end.to_string()));
        meta.insert("remainingItemCount".into(), Value::from(items.len() - end));
    }
    (200, json!({"kind": format!("{kind}List"), "apiVersion": api_version(group, version), "metadata": meta, "items": page}).to_string())
}

fn with_api_version(o: &Value, group: &str, version: &str) -> Value {
    let mut o = o.clone();
    o["apiVersion"] = Value::from(api_version(group, version));
    o
}

/// Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated.
fn label_match(o: &Value, selector: &str) -> bool {
    let labels = o.pointer("/metadata/labels").and_then(Value::as_object);
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                get(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k.trim()) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                get(k).is_none()
            } else {
                get(term).is_some()
            }
        })
}

/// Field selectors (`metadata.name=x`, `spec.nodeName!=y`, `involvedObject.kind=Pod`):
/// any dotted path into the object, `=`, `==` or `!=`.
fn field_match(o: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            let (path, want, negate) = match term.split_once("!=") {
                Some((p, v)) => (p, v, true),
                None => match term.split_once("==").or_else(|| term.split_once('=')) {
                    Some((p, v)) => (p, v, false),
                    None => return false,
                },
            };
            let pointer = format!("/{}", path.trim().replace('.', "/"));
            let got = o.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
            (got == want.trim()) != negate
        })
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
