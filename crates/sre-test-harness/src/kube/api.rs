//! The REST protocol: paths, discovery, fault knobs, reads, writes, subresources.
//!
//! Everything here is synchronous and runs on the blocking pool; the transport in the parent
//! module only moves bytes.

use super::store::{selector_object_matches, EventType, Key, Selector, Store};
use super::{Faults, RESOURCES};
use base64::Engine as _;
use hyper::Method;
use serde_json::{json, Map, Value};
use std::sync::RwLock;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One HTTP request, as the router needs it.
pub(super) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Query,
    pub auth: Option<String>,
    pub content_type: String,
    pub body: bytes::Bytes,
}

/// Decoded query parameters.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(query: &str) -> Query {
        Query(
            query
                .split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    pub(super) fn is_watch(&self) -> bool {
        self.flag("watch")
    }

    fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

/// What a path addresses.
pub(super) enum Target {
    Version,
    Health,
    Api,
    Apis,
    Group(String),
    Discovery(String, String),
    Resource(Req),
    NotFound,
}

/// A request for objects: a collection, an object or an object's subresource.
#[derive(Debug, Clone)]
pub(super) struct Req {
    pub res: usize,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

impl Req {
    fn kind(&self) -> &'static str {
        RESOURCES[self.res].0
    }
    fn plural(&self) -> &'static str {
        RESOURCES[self.res].1
    }
    fn group(&self) -> &'static str {
        RESOURCES[self.res].2
    }
    fn namespaced(&self) -> bool {
        RESOURCES[self.res].4
    }
    /// `pods` or `pods/eviction`, as RBAC names it.
    pub(super) fn resource(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}/{s}", self.plural()),
            None => self.plural().to_string(),
        }
    }
    fn key(&self, name: &str) -> Key {
        (
            self.res,
            self.namespace.clone().unwrap_or_default(),
            name.to_string(),
        )
    }
}

fn group_enabled(group: &str, metrics_api: bool) -> bool {
    metrics_api || group != "metrics.k8s.io"
}

fn find_resource(group: &str, version: &str, plural: &str) -> Option<usize> {
    RESOURCES
        .iter()
        .position(|r| r.1 == plural && r.2 == group && r.3 == version)
}

/// Resources with a `status` subresource (as the real server serves them).
fn has_status(res: usize) -> bool {
    let (_, plural, group, ..) = RESOURCES[res];
    group != "metrics.k8s.io"
        && matches!(
            plural,
            "pods"
                | "nodes"
                | "namespaces"
                | "services"
                | "resourcequotas"
                | "deployments"
                | "replicasets"
                | "statefulsets"
                | "daemonsets"
                | "jobs"
                | "cronjobs"
                | "poddisruptionbudgets"
        )
}

fn read_only(res: usize) -> bool {
    RESOURCES[res].2 == "metrics.k8s.io"
}

pub(super) fn target(path: &str, metrics_api: bool) -> Target {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (group, version, rest): (&str, &str, &[&str]) = match parts.as_slice() {
        ["version"] => return Target::Version,
        ["livez" | "readyz" | "healthz"] => return Target::Health,
        ["api"] => return Target::Api,
        ["apis"] => return Target::Apis,
        ["apis", g] if group_enabled(g, metrics_api) && RESOURCES.iter().any(|r| r.2 == *g) => {
            return Target::Group(g.to_string())
        }
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] if group_enabled(g, metrics_api) => (g, v, rest),
        _ => return Target::NotFound,
    };
    if !RESOURCES.iter().any(|r| r.2 == group && r.3 == version) {
        return Target::NotFound;
    }
    let req = |res: usize, namespace: Option<&str>, name: Option<&&str>, sub: Option<&&str>| {
        Target::Resource(Req {
            res,
            namespace: namespace.map(str::to_string),
            name: name.map(|n| n.to_string()),
            sub: sub.map(|s| s.to_string()),
        })
    };
    let valid_sub = |res: usize, sub: Option<&&str>| match sub {
        None => true,
        Some(&"status") => has_status(res),
        Some(&"eviction") => RESOURCES[res].1 == "pods" && group.is_empty(),
        Some(_) => false,
    };
    match rest {
        [] => Target::Discovery(group.to_string(), version.to_string()),
        ["namespaces", ns, plural, tail @ ..]
            if tail.len() <= 2 && find_resource(group, version, plural).is_some() =>
        {
            match find_resource(group, version, plural) {
                Some(res) if RESOURCES[res].4 && valid_sub(res, tail.get(1)) => {
                    req(res, Some(ns), tail.first(), tail.get(1))
                }
                _ => Target::NotFound,
            }
        }
        [plural, tail @ ..] if tail.len() <= 2 => match find_resource(group, version, plural) {
            // Namespaced objects are addressed under their namespace; only their
            // collection is served cluster-wide.
            Some(res) if (tail.is_empty() || !RESOURCES[res].4) && valid_sub(res, tail.get(1)) => {
                req(res, None, tail.first(), tail.get(1))
            }
            _ => Target::NotFound,
        },
        _ => Target::NotFound,
    }
}

/// The RBAC verb of a request.
pub(super) fn verb(method: &Method, req: &Req, watch: bool) -> &'static str {
    match (method.as_str(), req.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// What the fault knobs decide about a request before it is routed.
pub(super) enum Verdict {
    Pass,
    Hang,
    Answer(u16, String, Option<u32>),
}

pub(super) fn fault_verdict(f: &mut Faults, call: &Call, target: &Target) -> Verdict {
    if let Some(t) = &f.token {
        if call.auth.as_deref() != Some(format!("Bearer {t}").as_str()) {
            let (c, b) = status(401, "Unauthorized", "Unauthorized".to_string());
            return Verdict::Answer(c, b, None);
        }
    }
    if f.hang {
        return Verdict::Hang;
    }
    if f.expire_continue > 0 && call.query.get("continue").is_some_and(|c| !c.is_empty()) {
        f.expire_continue -= 1;
        let (c, b) = status(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".to_string(),
        );
        return Verdict::Answer(c, b, None);
    }
    if call.path.trim_end_matches('/') == "/readyz" {
        if let Some(check) = &f.unready {
            return Verdict::Answer(
                500,
                format!("[+]ping ok\n[-]{check} failed: reason withheld\nreadyz check failed\n"),
                None,
            );
        }
    }
    let Target::Resource(req) = target else {
        return Verdict::Pass;
    };
    let verb = verb(&call.method, req, call.query.is_watch());
    let resource = req.resource();
    let denied = f.deny.iter().any(|d| {
        (d.resource == "*" || d.resource == resource)
            && (d.verb == "*" || d.verb == verb)
            && match (&d.namespace, &req.namespace) {
                (None, _) => true,
                (Some(rule), Some(ns)) => rule == ns,
                // A user who may not read pods in one namespace may not read them all.
                (Some(_), None) => req.namespaced(),
            }
    });
    if denied {
        let subject = match &req.name {
            Some(n) => format!("{} \"{n}\"", req.plural()),
            None => req.plural().to_string(),
        };
        let scope = match &req.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let (c, b) = status(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"test\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
                req.group()
            ),
        );
        return Verdict::Answer(c, b, None);
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
            return Verdict::Answer(c, b, Some(retry));
        }
    }
    Verdict::Pass
}

pub(super) fn status(code: u16, reason: &str, message: String) -> (u16, String) {
    status_with(code, reason, message, None)
}

fn status_with(code: u16, reason: &str, message: String, details: Option<Value>) -> (u16, String) {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    (code, body.to_string())
}

fn not_found(req: &Req, name: &str) -> (u16, String) {
    status_with(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", req.plural()),
        Some(json!({"name": name, "group": req.group(), "kind": req.plural()})),
    )
}

fn bad_request(message: String) -> (u16, String) {
    status(400, "BadRequest", message)
}

pub(super) fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Routes one request that is not a watch.
pub(super) fn route(
    store: &RwLock<Store>,
    call: &Call,
    target: &Target,
    metrics_api: bool,
) -> (u16, String) {
    match target {
        Target::Version => (200, json!({"major": "1", "minor": "29", "gitVersion": "v1.29.2", "platform": "linux/amd64"}).to_string()),
        Target::Health => (200, "ok".to_string()),
        Target::Api => (200, json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}).to_string()),
        Target::Apis => (200, api_groups(metrics_api).to_string()),
        Target::Group(g) => (200, api_group(g).to_string()),
        Target::Discovery(g, v) => (200, resource_list(g, v).to_string()),
        Target::NotFound => status(404, "NotFound", format!("the server could not find the requested resource ({})", call.path)),
        Target::Resource(req) => resource_request(store, call, req),
    }
}

fn api_groups(metrics_api: bool) -> Value {
    let mut groups: Vec<(&str, &str)> = RESOURCES
        .iter()
        .filter(|r| !r.2.is_empty() && group_enabled(r.2, metrics_api))
        .map(|r| (r.2, r.3))
        .collect();
    groups.dedup();
    let list: Vec<Value> = groups.iter().map(|(g, _)| api_group(g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list})
}

fn api_group(group: &str) -> Value {
    let version = RESOURCES
        .iter()
        .find(|r| r.2 == group)
        .map_or("v1", |r| r.3);
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

fn short_names(plural: &str) -> &'static [&'static str] {
    match plural {
        "pods" => &["po"],
        "nodes" => &["no"],
        "namespaces" => &["ns"],
        "events" => &["ev"],
        "services" => &["svc"],
        "serviceaccounts" => &["sa"],
        "configmaps" => &["cm"],
        "resourcequotas" => &["quota"],
        "limitranges" => &["limits"],
        "deployments" => &["deploy"],
        "replicasets" => &["rs"],
        "statefulsets" => &["sts"],
        "daemonsets" => &["ds"],
        "cronjobs" => &["cj"],
        "poddisruptionbudgets" => &["pdb"],
        "networkpolicies" => &["netpol"],
        _ => &[],
    }
}

/// An `APIResourceList` with the subresources and verbs the server implements.
fn resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for (res, &(kind, plural, g, v, namespaced)) in RESOURCES.iter().enumerate() {
        if g != group || v != version {
            continue;
        }
        let verbs: &[&str] = if read_only(res) {
            &["get", "list"]
        } else {
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        };
        let mut entry = json!({
            "name": plural, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced,
            "kind": kind, "verbs": verbs,
        });
        if !read_only(res) {
            entry["shortNames"] = json!(short_names(plural));
            if matches!(
                plural,
                "pods"
                    | "services"
                    | "deployments"
                    | "replicasets"
                    | "statefulsets"
                    | "daemonsets"
                    | "jobs"
                    | "cronjobs"
            ) && g != "metrics.k8s.io"
            {
                entry["categories"] = json!(["all"]);
            }
        }
        resources.push(entry);
        if has_status(res) {
            resources.push(json!({
                "name": format!("{plural}/status"), "singularName": "", "namespaced": namespaced,
                "kind": kind, "verbs": ["get", "patch", "update"],
            }));
        }
        if plural == "pods" && g.is_empty() {
            resources.push(json!({
                "name": "pods/eviction", "singularName": "", "namespaced": true,
                "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"],
            }));
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version(group, version), "resources": resources})
}

/// The cursor in a `continue` token: the last key served and how many items came before.
fn encode_continue(key: &Key, returned: usize) -> String {
    BASE64.encode(json!([key.1, key.2, returned]).to_string())
}

fn decode_continue(token: &str, req: &Req) -> Option<(Key, usize)> {
    let bytes = BASE64.decode(token).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let ns = v.get(0)?.as_str()?;
    if req.namespace.as_deref().is_some_and(|want| want != ns) {
        return None;
    }
    Some((
        (req.res, ns.to_string(), v.get(1)?.as_str()?.to_string()),
        usize::try_from(v.get(2)?.as_u64()?).ok()?,
    ))
}

fn resource_request(store: &RwLock<Store>, call: &Call, req: &Req) -> (u16, String) {
    let read = || {
        store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let write = || {
        store
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let dry_run = call.query.dry_run();
    if call.method != Method::GET && read_only(req.res) {
        return status(
            405,
            "MethodNotAllowed",
            format!(
                "the server does not allow this method on the requested resource ({})",
                req.plural()
            ),
        );
    }
    match (&call.method, req.name.as_deref(), req.sub.as_deref()) {
        (&Method::GET, None, _) => list(store, call, req),
        (&Method::GET, Some(name), None | Some("status")) => match read().get(&req.key(name)) {
            Some(json) => (200, json.to_string()),
            None => not_found(req, name),
        },
        (&Method::POST, None, None) => create(&mut write(), req, call, dry_run),
        (&Method::POST, Some(name), Some("eviction")) => {
            evict(&mut write(), req, name, &call.body, dry_run)
        }
        (&Method::PUT, Some(name), sub @ (None | Some("status"))) => {
            let new = match parse_json(&call.body) {
                Ok(v) => v,
                Err(e) => return e,
            };
            if let Some(n) = new.pointer("/metadata/name").and_then(Value::as_str) {
                if n != name {
                    return bad_request(format!(
                        "the name of the object ({n}) does not match the name on the URL ({name})"
                    ));
                }
            }
            let precondition = new
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .filter(|rv| !rv.is_empty())
                .map(str::to_string);
            modify(
                &mut write(),
                req,
                name,
                sub.is_some(),
                precondition,
                dry_run,
                |_| Ok(new),
            )
        }
        (&Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
            patch(&mut write(), req, call, name, sub.is_some(), dry_run)
        }
        (&Method::DELETE, Some(name), None) => delete(&mut write(), req, name, dry_run),
        (method, ..) => status(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported on {}", call.path),
        ),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, (u16, String)> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) | Ok(v @ Value::Array(_)) => Ok(v),
        Ok(_) => Err(bad_request("the body must be a JSON object".to_string())),
        Err(e) => Err(bad_request(format!("invalid JSON body: {e}"))),
    }
}

fn list(store: &RwLock<Store>, call: &Call, req: &Req) -> (u16, String) {
    let q = &call.query;
    let selector = match Selector::parse(
        q.get("labelSelector").unwrap_or(""),
        q.get("fieldSelector").unwrap_or(""),
    ) {
        Ok(s) => s,
        Err(e) => return bad_request(e),
    };
    let (after, returned) = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => match decode_continue(token, req) {
            Some((k, n)) => (Some(k), n),
            None => return bad_request("continue key is not valid".to_string()),
        },
        None => (None, 0),
    };
    let limit = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let keep = |json: &str| selector.matches_json(json);
    let page = {
        let store = store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let filter: Option<&dyn Fn(&str) -> bool> = if selector.is_empty() {
            None
        } else {
            Some(&keep)
        };
        store.list(
            req.res,
            req.namespace.as_deref(),
            after.as_ref(),
            limit,
            returned,
            filter,
        )
    };
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::from(page.rv.to_string()));
    if let Some(next) = &page.next {
        meta.insert(
            "continue".into(),
            Value::from(encode_continue(next, returned + page.items.len())),
        );
    }
    if let Some(n) = page.remaining {
        meta.insert("remainingItemCount".into(), Value::from(n));
    }
    let (_, _, group, version, _) = RESOURCES[req.res];
    let size: usize = page.items.iter().map(|i| i.len() + 1).sum();
    let mut body = String::with_capacity(size + 256);
    body.push_str(&format!(
        "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
        req.kind(),
        api_version(group, version),
        Value::Object(meta)
    ));
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("]}");
    (200, body)
}

/// RFC 3339 in UTC, for timestamps the server sets.
pub(super) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Sets what the server owns on a stored object: kind, apiVersion, namespace.
fn stamp(obj: &mut Value, req: &Req) {
    let (kind, _, group, version, namespaced) = RESOURCES[req.res];
    obj["kind"] = Value::from(kind);
    obj["apiVersion"] = Value::from(api_version(group, version));
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    if namespaced {
        if let Some(ns) = &req.namespace {
            obj["metadata"]["namespace"] = Value::from(ns.as_str());
        }
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
}

fn create(store: &mut Store, req: &Req, call: &Call, dry_run: bool) -> (u16, String) {
    let mut obj = match parse_json(&call.body) {
        Ok(o @ Value::Object(_)) => o,
        Ok(_) => return bad_request("the body must be a JSON object".to_string()),
        Err(e) => return e,
    };
    create_value(store, req, &mut obj, dry_run)
}

fn create_value(store: &mut Store, req: &Req, obj: &mut Value, dry_run: bool) -> (u16, String) {
    let kind = req.kind();
    if let (Some(body_ns), Some(ns)) = (
        obj.pointer("/metadata/namespace").and_then(Value::as_str),
        &req.namespace,
    ) {
        if body_ns != ns {
            return bad_request("the namespace of the provided object does not match the namespace sent on the request".to_string());
        }
    }
    if req.namespaced() && req.namespace.is_none() {
        return status(
            405,
            "MethodNotAllowed",
            format!("create {} needs a namespace in the path", req.plural()),
        );
    }
    stamp(obj, req);
    let name = match obj.pointer("/metadata/name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => match obj.pointer("/metadata/generateName").and_then(Value::as_str) {
            Some(prefix) => {
                let uid = store.uid();
                let n = format!("{prefix}{}", &uid[uid.len() - 5..]);
                obj["metadata"]["name"] = Value::from(n.clone());
                n
            }
            None => {
                return status_with(
                    422,
                    "Invalid",
                    format!("{kind} \"\" is invalid: metadata.name: Required value: name or generateName is required"),
                    Some(json!({"kind": kind, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]})),
                )
            }
        },
    };
    let key = req.key(&name);
    if store.get(&key).is_some() {
        return status_with(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", req.plural()),
            Some(json!({"name": name, "group": req.group(), "kind": req.plural()})),
        );
    }
    obj["metadata"]["uid"] = Value::from(store.uid());
    obj["metadata"]["creationTimestamp"] = Value::from(now_rfc3339());
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("deletionTimestamp");
    }
    if dry_run {
        return (201, obj.to_string());
    }
    let json = store.commit(key, obj.clone(), EventType::Added);
    (201, json.to_string())
}

/// Update and patch: `change` turns the stored object into the new one. On the `status`
/// subresource only `.status` changes; on the main resource `.status` is kept for kinds that
/// have the subresource, as the real server does.
fn modify(
    store: &mut Store,
    req: &Req,
    name: &str,
    status_only: bool,
    precondition: Option<String>,
    dry_run: bool,
    change: impl FnOnce(Value) -> Result<Value, (u16, String)>,
) -> (u16, String) {
    let key = req.key(name);
    let Some(old) = store.get_value(&key) else {
        return not_found(req, name);
    };
    if let Some(rv) = precondition {
        if old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            != Some(rv.as_str())
        {
            return status_with(
                409,
                "Conflict",
                format!("Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", req.plural()),
                Some(json!({"name": name, "group": req.group(), "kind": req.plural()})),
            );
        }
    }
    let changed = match change(old.clone()) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad_request("the result must be a JSON object".to_string()),
        Err(e) => return e,
    };
    let mut new = if status_only {
        let mut new = old.clone();
        match changed.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        new
    } else {
        let mut new = changed;
        if !new.get("metadata").is_some_and(Value::is_object) {
            new["metadata"] = json!({});
        }
        for field in ["uid", "creationTimestamp", "deletionTimestamp"] {
            match old["metadata"].get(field) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        if has_status(req.res) {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        new
    };
    new["metadata"]["name"] = Value::from(name);
    stamp(&mut new, req);
    if dry_run {
        return (200, new.to_string());
    }
    let json = store.commit(key, new, EventType::Modified);
    (200, json.to_string())
}

/// PATCH: JSON merge patch, strategic merge patch (applied as a merge patch without its
/// `$` directives: maps merge, lists are replaced), JSON patch, and server-side apply
/// (merged into the object, creating it when absent).
fn patch(
    store: &mut Store,
    req: &Req,
    call: &Call,
    name: &str,
    status_only: bool,
    dry_run: bool,
) -> (u16, String) {
    let ctype = call.content_type.as_str();
    let patch: Value = if ctype.starts_with("application/apply-patch+yaml") {
        match serde_yaml_ng::from_slice(&call.body) {
            Ok(v) => v,
            Err(e) => return bad_request(format!("invalid apply patch: {e}")),
        }
    } else {
        match parse_json(&call.body) {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
    if ctype.starts_with("application/apply-patch+yaml")
        && !status_only
        && store.get(&req.key(name)).is_none()
    {
        let mut obj = patch;
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        obj["metadata"]["name"] = Value::from(name);
        return create_value(store, req, &mut obj, dry_run);
    }
    let strategic = ctype.starts_with("application/strategic-merge-patch+json");
    let json_patch_type = ctype.starts_with("application/json-patch+json");
    modify(store, req, name, status_only, None, dry_run, |mut obj| {
        if json_patch_type {
            json_patch(&mut obj, &patch).map_err(|m| status(422, "Invalid", m))?;
        } else {
            let mut patch = patch.clone();
            if strategic {
                strip_directives(&mut patch);
            }
            merge_patch(&mut obj, &patch);
        }
        Ok(obj)
    })
}

/// Removes strategic-merge-patch directives (`$patch`, `$setElementOrder/...`,
/// `$retainKeys`, `$deleteFromPrimitiveList/...`).
fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
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

/// RFC 6902 JSON patch: `add`, `replace`, `remove` and `test`, on maps and lists.
fn json_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch.as_array().ok_or("a JSON patch must be an array")?;
    for op in ops {
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("missing path")?;
        let value = || op.get("value").cloned().unwrap_or(Value::Null);
        let kind = op.get("op").and_then(Value::as_str).ok_or("missing op")?;
        if kind == "test" {
            if target.pointer(path) != Some(&value()) {
                return Err(format!("test failed at {path}"));
            }
            continue;
        }
        let (parent, key) = path.rsplit_once('/').ok_or("invalid path")?;
        let key = key.replace("~1", "/").replace("~0", "~");
        let container = target
            .pointer_mut(parent)
            .ok_or_else(|| format!("path {parent} not found"))?;
        match (kind, container) {
            ("add" | "replace", Value::Object(m)) => {
                if kind == "replace" && !m.contains_key(&key) {
                    return Err(format!("path {path} not found"));
                }
                m.insert(key, value());
            }
            ("remove", Value::Object(m)) => {
                m.remove(&key)
                    .ok_or_else(|| format!("path {path} not found"))?;
            }
            ("add", Value::Array(a)) => {
                let i = if key == "-" {
                    a.len()
                } else {
                    key.parse()
                        .map_err(|_| format!("invalid index at {path}"))?
                };
                if i > a.len() {
                    return Err(format!("index out of range at {path}"));
                }
                a.insert(i, value());
            }
            ("replace" | "remove", Value::Array(a)) => {
                let i: usize = key
                    .parse()
                    .map_err(|_| format!("invalid index at {path}"))?;
                if i >= a.len() {
                    return Err(format!("index out of range at {path}"));
                }
                if kind == "replace" {
                    a[i] = value();
                } else {
                    a.remove(i);
                }
            }
            (other, _) => return Err(format!("unsupported JSON patch op `{other}` at {path}")),
        }
    }
    Ok(())
}

/// DELETE: objects with finalizers get a `deletionTimestamp` and stay until deleted again
/// without finalizers; others go at once.
fn delete(store: &mut Store, req: &Req, name: &str, dry_run: bool) -> (u16, String) {
    let key = req.key(name);
    let Some(mut obj) = store.get_value(&key) else {
        return not_found(req, name);
    };
    let has_finalizers = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        if obj.pointer("/metadata/deletionTimestamp").is_none() {
            obj["metadata"]["deletionTimestamp"] = Value::from(now_rfc3339());
            obj["metadata"]["deletionGracePeriodSeconds"] = Value::from(0);
            if !dry_run {
                return (200, store.commit(key, obj, EventType::Modified).to_string());
            }
        }
        return (200, obj.to_string());
    }
    if dry_run {
        return (200, obj.to_string());
    }
    (200, store.delete(&key, obj).to_string())
}

/// POST `pods/NAME/eviction`: deletes the pod unless the one PodDisruptionBudget selecting it
/// allows no disruption (429, as the real server answers). Pods that are not running, or
/// already terminating, are evicted without asking their budget.
fn evict(store: &mut Store, req: &Req, name: &str, body: &[u8], dry_run: bool) -> (u16, String) {
    if let Err(e) = parse_json(body) {
        return e;
    }
    let key = req.key(name);
    let Some(pod) = store.get_value(&key) else {
        return not_found(req, name);
    };
    let ns = req.namespace.clone().unwrap_or_default();
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ignores_budget = pod.pointer("/metadata/deletionTimestamp").is_some()
        || matches!(phase, "Succeeded" | "Failed" | "Pending");
    if !ignores_budget {
        let Some(pdb_res) = RESOURCES.iter().position(|r| r.0 == "PodDisruptionBudget") else {
            return status(
                500,
                "InternalError",
                "no PodDisruptionBudget resource".to_string(),
            );
        };
        let labels = pod.pointer("/metadata/labels");
        let budgets: Vec<(Key, Value)> = store
            .range(pdb_res, Some(&ns), None)
            .filter_map(|(k, j)| {
                serde_json::from_str::<Value>(j)
                    .ok()
                    .map(|v| (k.clone(), v))
            })
            .filter(|(_, pdb)| {
                pdb.pointer("/spec/selector")
                    .is_some_and(|s| s.is_object() && selector_object_matches(s, labels))
            })
            .collect();
        if budgets.len() > 1 {
            return status(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".to_string());
        }
        if let Some((pdb_key, mut pdb)) = budgets.into_iter().next() {
            let allowed = pdb
                .pointer("/status/disruptionsAllowed")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if allowed <= 0 {
                let number = |p: &str| pdb.pointer(p).and_then(Value::as_i64).unwrap_or(0);
                return status_with(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.".to_string(),
                    Some(json!({"causes": [{
                        "reason": "DisruptionBudget",
                        "message": format!(
                            "The disruption budget {} needs {} healthy pods and has {} currently",
                            pdb_key.2,
                            number("/status/desiredHealthy"),
                            number("/status/currentHealthy"),
                        ),
                    }]})),
                );
            }
            if !dry_run {
                pdb["status"]["disruptionsAllowed"] = Value::from(allowed - 1);
                store.commit(pdb_key, pdb, EventType::Modified);
            }
        }
    }
    let (code, answer) = delete(store, req, name, dry_run);
    if code != 200 {
        return (code, answer);
    }
    (201, json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}).to_string())
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
