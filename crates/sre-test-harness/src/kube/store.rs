//! The object store: every object pre-serialized in a B-tree keyed by (resource, namespace,
//! name), a global resourceVersion, and a bounded log of watch events.
//!
//! Reads never parse: a page of a list is a range of the tree and a concatenation of
//! strings. Objects are parsed only when a selector or a write needs their fields.

use super::RESOURCES;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use tokio::sync::broadcast;

/// `(index into RESOURCES, namespace ("" when cluster-scoped), name)`.
pub(super) type Key = (usize, String, String);

/// How far a watcher may fall behind the writes before its stream ends with 410 Gone.
const BROADCAST_CAPACITY: usize = 4_096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One write, as watchers see it.
#[derive(Debug)]
pub(super) struct Event {
    pub rv: u64,
    pub res: usize,
    pub namespace: String,
    pub kind: EventType,
    pub object: Arc<str>,
    /// The object before a modification (for selectors: an object that stops matching is
    /// DELETED for that watcher, one that starts matching is ADDED).
    pub prev: Option<Arc<str>>,
}

/// Where a watch starts.
pub(super) enum Start {
    /// Every current object (ADDED), then changes.
    Snapshot(Vec<Arc<str>>),
    /// Logged events after the requested resourceVersion, then changes.
    Replay(Vec<Arc<Event>>),
    /// The requested resourceVersion is older than the log.
    Gone { requested: u64, oldest: u64 },
}

/// An object ready to be stored (see `super::Objects`).
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub res: usize,
    pub namespace: String,
    pub name: String,
    pub json: Arc<str>,
}

pub(super) struct Store {
    objects: BTreeMap<Key, Arc<str>>,
    /// Objects per (resource, namespace) and per resource, for `remainingItemCount`.
    counts: HashMap<(usize, String), usize>,
    kind_counts: Vec<usize>,
    rv: u64,
    log: VecDeque<Arc<Event>>,
    /// Watches from a resourceVersion below this one cannot be served from the log.
    log_floor: u64,
    log_capacity: usize,
    events: broadcast::Sender<Arc<Event>>,
    next_uid: u64,
}

/// One page of a list.
pub(super) struct Page {
    pub items: Vec<Arc<str>>,
    /// The key of the last item when more may follow.
    pub next: Option<Key>,
    /// Items left after this page (only when no selector filters the list).
    pub remaining: Option<usize>,
    pub rv: u64,
}

impl Store {
    /// Loaded objects all carry resourceVersion 1, the store's starting version. The log
    /// keeps the last `log_capacity` events.
    pub(super) fn new(objects: Vec<Prepared>, log_capacity: usize) -> Store {
        let mut store = Store {
            objects: BTreeMap::new(),
            counts: HashMap::new(),
            kind_counts: vec![0; RESOURCES.len()],
            rv: 1,
            log: VecDeque::new(),
            log_floor: 1,
            log_capacity,
            events: broadcast::channel(BROADCAST_CAPACITY).0,
            next_uid: 0,
        };
        for p in objects {
            store.insert((p.res, p.namespace, p.name), p.json);
        }
        store
    }

    pub(super) fn resource_version(&self) -> u64 {
        self.rv
    }

    fn insert(&mut self, key: Key, json: Arc<str>) -> Option<Arc<str>> {
        let (res, ns) = (key.0, key.1.clone());
        let old = self.objects.insert(key, json);
        if old.is_none() {
            *self.counts.entry((res, ns)).or_default() += 1;
            self.kind_counts[res] += 1;
        }
        old
    }

    fn remove(&mut self, key: &Key) -> Option<Arc<str>> {
        let old = self.objects.remove(key);
        if old.is_some() {
            if let Some(c) = self.counts.get_mut(&(key.0, key.1.clone())) {
                *c = c.saturating_sub(1);
            }
            self.kind_counts[key.0] = self.kind_counts[key.0].saturating_sub(1);
        }
        old
    }

    pub(super) fn get(&self, key: &Key) -> Option<Arc<str>> {
        self.objects.get(key).cloned()
    }

    /// Parses a stored object (for writes).
    pub(super) fn get_value(&self, key: &Key) -> Option<Value> {
        self.objects
            .get(key)
            .and_then(|j| serde_json::from_str(j).ok())
    }

    /// Objects of `res` in `namespace` (or all namespaces) after `after`, in key order.
    pub(super) fn range<'a>(
        &'a self,
        res: usize,
        namespace: Option<&'a str>,
        after: Option<&Key>,
    ) -> impl Iterator<Item = (&'a Key, &'a Arc<str>)> + 'a {
        let start = match after {
            Some(k) => Bound::Excluded(k.clone()),
            None => Bound::Included((res, namespace.unwrap_or("").to_string(), String::new())),
        };
        self.objects
            .range((start, Bound::Unbounded))
            .take_while(move |(k, _)| k.0 == res && namespace.is_none_or(|ns| k.1 == ns))
    }

    /// One page: up to `limit` objects accepted by `keep`, after the key `after`.
    /// `returned` is how many items earlier pages held (for `remainingItemCount`).
    pub(super) fn list(
        &self,
        res: usize,
        namespace: Option<&str>,
        after: Option<&Key>,
        limit: usize,
        returned: usize,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) -> Page {
        let mut items = Vec::new();
        let mut last = None;
        let mut more = false;
        for (k, json) in self.range(res, namespace, after) {
            if keep.is_some_and(|keep| !keep(json)) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(Arc::clone(json));
            last = Some(k);
        }
        let remaining = match (keep, more) {
            (None, true) => {
                let total = match namespace {
                    Some(ns) => self
                        .counts
                        .get(&(res, ns.to_string()))
                        .copied()
                        .unwrap_or(0),
                    None => self.kind_counts[res],
                };
                Some(total.saturating_sub(returned + items.len()))
            }
            _ => None,
        };
        Page {
            next: if more { last.cloned() } else { None },
            items,
            remaining,
            rv: self.rv,
        }
    }

    /// Starts a watch: what to send first and a receiver for every later write. Called
    /// under the store's read lock, so no write falls between the two.
    pub(super) fn subscribe(
        &self,
        res: usize,
        namespace: Option<&str>,
        from: Option<u64>,
    ) -> (Start, broadcast::Receiver<Arc<Event>>, u64) {
        let rx = self.events.subscribe();
        let start = match from {
            None | Some(0) => Start::Snapshot(
                self.range(res, namespace, None)
                    .map(|(_, j)| Arc::clone(j))
                    .collect(),
            ),
            Some(r) if r < self.log_floor => Start::Gone {
                requested: r,
                oldest: self.log_floor,
            },
            Some(r) => {
                let first = self.log.partition_point(|e| e.rv <= r);
                Start::Replay(
                    self.log
                        .range(first..)
                        .filter(|e| e.res == res && namespace.is_none_or(|ns| e.namespace == ns))
                        .cloned()
                        .collect(),
                )
            }
        };
        (start, rx, self.rv)
    }

    /// Stores a created or changed object with the next resourceVersion and logs the event.
    pub(super) fn commit(&mut self, key: Key, mut obj: Value, kind: EventType) -> Arc<str> {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::from(self.rv.to_string());
        let json: Arc<str> = Arc::from(obj.to_string());
        let prev = self.insert(key.clone(), Arc::clone(&json));
        self.log_event(key, kind, Arc::clone(&json), prev);
        json
    }

    /// Removes an object; the DELETED event carries it with the next resourceVersion.
    pub(super) fn delete(&mut self, key: &Key, mut obj: Value) -> Arc<str> {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::from(self.rv.to_string());
        let json: Arc<str> = Arc::from(obj.to_string());
        let prev = self.remove(key);
        self.log_event(key.clone(), EventType::Deleted, Arc::clone(&json), prev);
        json
    }

    fn log_event(&mut self, key: Key, kind: EventType, object: Arc<str>, prev: Option<Arc<str>>) {
        let event = Arc::new(Event {
            rv: self.rv,
            res: key.0,
            namespace: key.1,
            kind,
            object,
            prev,
        });
        self.log.push_back(Arc::clone(&event));
        while self.log.len() > self.log_capacity {
            if let Some(old) = self.log.pop_front() {
                self.log_floor = old.rv;
            }
        }
        // No receiver is not an error: nobody watches.
        let _ = self.events.send(event);
    }

    /// A fresh uid for a created object.
    pub(super) fn uid(&mut self) -> String {
        self.next_uid += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next_uid)
    }
}

/// A parsed `labelSelector` or `fieldSelector`, applied to serialized objects: a cheap
/// substring test rules out most objects before any parsing.
#[derive(Debug, Clone, Default)]
pub(super) struct Selector {
    labels: Vec<LabelTerm>,
    fields: Vec<(String, String, bool)>,
    /// Byte strings every matching object's JSON must contain.
    needles: Vec<String>,
}

#[derive(Debug, Clone)]
enum LabelTerm {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

impl Selector {
    pub(super) fn parse(labels: &str, fields: &str) -> Result<Selector, String> {
        let mut s = Selector::default();
        for term in split_terms(labels) {
            let t = parse_label_term(term)?;
            match &t {
                LabelTerm::Eq(_, v) if plain(v) => s.needles.push(format!("\"{v}\"")),
                LabelTerm::Exists(k) if plain(k) => s.needles.push(format!("\"{k}\"")),
                _ => {}
            }
            s.labels.push(t);
        }
        for term in split_terms(fields) {
            let (path, want, negate) = match term.split_once("!=") {
                Some((p, v)) => (p, v, true),
                None => match term.split_once("==").or_else(|| term.split_once('=')) {
                    Some((p, v)) => (p, v, false),
                    None => return Err(format!("invalid field selector term `{term}`")),
                },
            };
            let (path, want) = (path.trim(), want.trim());
            if !negate && plain(want) && !want.is_empty() {
                s.needles.push(want.to_string());
            }
            s.fields.push((
                format!("/{}", path.replace('.', "/")),
                want.to_string(),
                negate,
            ));
        }
        Ok(s)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether the serialized object matches.
    pub(super) fn matches_json(&self, json: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        if !self
            .needles
            .iter()
            .all(|n| memchr::memmem::find(json.as_bytes(), n.as_bytes()).is_some())
        {
            return false;
        }
        serde_json::from_str::<Value>(json).is_ok_and(|v| self.matches(&v))
    }

    pub(super) fn matches(&self, o: &Value) -> bool {
        let labels = o.pointer("/metadata/labels").and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|t| match t {
            LabelTerm::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelTerm::Ne(k, v) => get(k) != Some(v.as_str()),
            LabelTerm::In(k, vs) => get(k).is_some_and(|g| vs.iter().any(|v| v == g)),
            LabelTerm::NotIn(k, vs) => get(k).is_none_or(|g| vs.iter().all(|v| v != g)),
            LabelTerm::Exists(k) => get(k).is_some(),
            LabelTerm::Absent(k) => get(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|(pointer, want, negate)| {
                let got = match o.pointer(pointer) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                (got == *want) != *negate
            })
    }
}

/// Whether a selector value can be searched for verbatim in serialized JSON.
fn plain(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b))
}

/// Splits a selector at the commas outside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_label_term(term: &str) -> Result<LabelTerm, String> {
    let set = |rest: &str| -> Result<Vec<String>, String> {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("invalid label selector term `{term}`: expected (values)"))?;
        Ok(inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect())
    };
    let words: Vec<&str> = term.splitn(2, char::is_whitespace).collect();
    if let [key, rest] = words.as_slice() {
        let rest = rest.trim_start();
        if let Some(values) = rest.strip_prefix("notin") {
            return Ok(LabelTerm::NotIn(key.to_string(), set(values)?));
        }
        if let Some(values) = rest.strip_prefix("in") {
            return Ok(LabelTerm::In(key.to_string(), set(values)?));
        }
    }
    Ok(if let Some((k, v)) = term.split_once("!=") {
        LabelTerm::Ne(k.trim().to_string(), v.trim().to_string())
    } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        LabelTerm::Eq(k.trim().to_string(), v.trim().to_string())
    } else if let Some(k) = term.strip_prefix('!') {
        LabelTerm::Absent(k.trim().to_string())
    } else {
        LabelTerm::Exists(term.to_string())
    })
}

/// A `LabelSelector` object (`matchLabels`, `matchExpressions`) against an object's labels.
pub(super) fn selector_object_matches(selector: &Value, labels: Option<&Value>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| get(k) == v.as_str()));
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|es| {
            es.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => get(key).is_some_and(|g| values.contains(&g)),
                    Some("NotIn") => get(key).is_none_or(|g| !values.contains(&g)),
                    Some("Exists") => get(key).is_some(),
                    Some("DoesNotExist") => get(key).is_none(),
                    _ => false,
                }
            })
        });
    match_labels && expressions
}

/// The watch event line for `object`.
pub(super) fn event_line(kind: &str, object: &str) -> String {
    format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n")
}

/// The `Status` of the `ERROR` event a watch from a compacted resourceVersion gets, as the
/// real server words it.
pub(super) fn gone_status(requested: u64, oldest: u64) -> String {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {requested} ({oldest})"),
        "reason": "Expired", "code": 410,
    })
    .to_string()
}
