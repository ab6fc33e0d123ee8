//! Loading snapshots: files or directories of Kubernetes objects as users actually have them.
//!
//! Accepted: `kubectl get ... -o yaml|json` output (including `kind: List`), typed lists
//! (`PodList`, whose items carry no `kind`), multi-document YAML, single objects, the JSON
//! files of `kubectl cluster-info dump --output-directory` and its stdout form (concatenated
//! JSON with `==== START logs ...` blocks), `kubectl version -o json`, and
//! `metrics.k8s.io/v1beta1` `NodeMetricsList`/`PodMetricsList`. Unknown kinds are counted
//! and ignored. Directories are read recursively; only `.json`, `.yaml` and `.yml` files are
//! taken from them (a dump also holds `logs.txt` files). Files are parsed in parallel.

use crate::model::{Cluster, RawObject};
use rayon::prelude::*;
use serde::Deserialize;
use sre_cli::progress::Progress;
use std::path::{Path, PathBuf};

/// Why a snapshot could not be loaded. Every variant names the file (and line and column).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot path {0} does not exist")]
    Missing(PathBuf),
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid {format}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        format: &'static str,
        message: String,
    },
    #[error(
        "no Kubernetes objects found in {0}\n  hint: give files written by `kubectl get nodes,pods,events,replicasets -A -o yaml > cluster.yaml` \
or a directory written by `kubectl cluster-info dump --all-namespaces --output-directory DIR`"
    )]
    Empty(String),
}

/// A loaded snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub cluster: Cluster,
    pub files: usize,
}

/// Loads every path (file or directory; `-` is standard input, for
/// `kubectl get pods -A -o yaml | sre k8s-doctor diagnostics --snapshot -`).
pub fn load(paths: &[PathBuf]) -> Result<Snapshot, SnapshotError> {
    let mut files = Vec::new();
    let mut stdin_cluster = None;
    for p in paths {
        if p.as_os_str() == "-" {
            let mut bytes = Vec::new();
            let name = PathBuf::from("<stdin>");
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|source| {
                SnapshotError::Io {
                    path: name.clone(),
                    source,
                }
            })?;
            stdin_cluster = Some(parse_bytes(&name, &bytes)?);
        } else if p.is_dir() {
            collect_dir(p, &mut files)?;
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(SnapshotError::Missing(p.clone()));
        }
    }
    // The same file reached twice (overlapping paths, a symlink) is read once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    let progress = Progress::new(files.len() as u64, "reading snapshot");
    // Each worker folds its files into one partial cluster; partials are merged in file
    // order. This keeps one accumulator per thread instead of one per file.
    let parsed = files
        .par_iter()
        .map(|f| {
            let r = load_file(f);
            progress.inc(1);
            r
        })
        .try_fold(Cluster::default, |mut acc, r| {
            acc.merge(r?);
            Ok::<_, SnapshotError>(acc)
        })
        .try_reduce(Cluster::default, |mut a, b| {
            a.merge(b);
            Ok(a)
        });
    progress.finish();
    let mut cluster = Cluster::default();
    let from_stdin = stdin_cluster.is_some();
    if let Some(c) = stdin_cluster {
        cluster.merge(c);
    }
    cluster.merge(parsed?);
    cluster.dedup();
    if cluster.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(SnapshotError::Empty(names.join(", ")));
    }
    Ok(Snapshot {
        cluster,
        files: files.len() + usize::from(from_stdin),
    })
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_symlink())))
        .collect();
    entries.sort();
    for (p, is_link) in entries {
        if p.is_dir() {
            // Symlinked directories are not followed: a link to `.` would loop.
            if is_link {
                tracing::debug!(path = %p.display(), "Not following a symlinked directory");
            } else {
                collect_dir(&p, out)?;
            }
        } else if matches!(extension(&p).as_deref(), Some("json" | "yaml" | "yml")) {
            out.push(p);
        }
    }
    Ok(())
}

/// The lowercase extension (`.JSON` files exist).
fn extension(p: &Path) -> Option<String> {
    p.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Parses one file into a partial cluster.
pub fn load_file(path: &Path) -> Result<Cluster, SnapshotError> {
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
        path: path.into(),
        source,
    })?;
    parse_bytes(path, &bytes)
}

/// Parses file contents (`path` is used in errors only).
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Cluster, SnapshotError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(SnapshotError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            format: "text",
            message: "the file is UTF-16 (PowerShell's `>` writes UTF-16); convert it with `iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8` or write it with `Out-File -Encoding utf8`".to_string(),
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut cluster = Cluster::default();
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let json_ext = extension(path).as_deref() == Some("json");
    match first {
        None => {}
        Some(b'{') | Some(b'[') => parse_json(path, bytes, &mut cluster)?,
        Some(_) if json_ext => parse_json(path, bytes, &mut cluster)?,
        Some(_) => parse_yaml(path, bytes, &mut cluster)?,
    }
    Ok(cluster)
}

fn parse_json(path: &Path, bytes: &[u8], cluster: &mut Cluster) -> Result<(), SnapshotError> {
    let owned;
    let bytes = if contains(bytes, b"==== START logs for") {
        owned = blank_log_blocks(bytes);
        &owned[..]
    } else {
        bytes
    };
    let json_err = |e: serde_json::Error| SnapshotError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        format: "JSON",
        message: strip_location(&e.to_string()),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let items = Vec::<RawObject>::deserialize(&mut de).map_err(json_err)?;
        de.end().map_err(json_err)?;
        for o in items {
            add(cluster, o);
        }
        return Ok(());
    }
    for o in de.into_iter::<RawObject>() {
        add(cluster, o.map_err(json_err)?);
    }
    Ok(())
}

fn parse_yaml(path: &Path, bytes: &[u8], cluster: &mut Cluster) -> Result<(), SnapshotError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(bytes, e.valid_up_to());
        SnapshotError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            format: "YAML",
            message: "the file is not UTF-8 text".to_string(),
        }
    })?;
    // YAML merge keys (`<<: *defaults`) need a generic tree first; only pay for it when the
    // file uses them.
    let merge_keys = text.contains("<<:");
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let parsed = if merge_keys {
            serde_yaml_ng::Value::deserialize(doc).and_then(|mut v| {
                v.apply_merge()?;
                Option::<RawObject>::deserialize(v)
            })
        } else {
            Option::<RawObject>::deserialize(doc)
        };
        let o = parsed.map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            SnapshotError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                format: "YAML",
                message: strip_location(&e.to_string()),
            }
        })?;
        if let Some(o) = o {
            add(cluster, o);
        }
    }
    Ok(())
}

/// Flattens lists; items of typed lists (`PodList`) get their kind from the list.
fn add(cluster: &mut Cluster, mut o: RawObject) {
    crate::model::end_object();
    if let Some(items) = o.items.take() {
        let item_kind = o.kind.strip_suffix("List").unwrap_or("").to_string();
        for mut item in items {
            if item.kind.is_empty() && !item_kind.is_empty() {
                item.kind = item_kind.clone();
            }
            add(cluster, item);
        }
        return;
    }
    cluster.add(o);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Blanks the `==== START logs ... ==== END logs ...` blocks of a `cluster-info dump` written
/// to stdout, keeping the newlines so that error line numbers still match the file.
fn blank_log_blocks(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_logs = false;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let start = line.starts_with(b"==== START logs for");
        if start || in_logs {
            in_logs = !line.starts_with(b"==== END logs for");
            if line.ends_with(b"\n") {
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, col)
}

/// serde_json and serde_yaml append " at line L column C"; we print the location first.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Cluster, SnapshotError> {
        parse_bytes(Path::new("f"), s.as_bytes())
    }

    #[test]
    fn typed_list_items_get_kind() -> Result<(), SnapshotError> {
        let c = parse(r#"{"kind":"PodList","items":[{"metadata":{"name":"a","namespace":"x"}}]}"#)?;
        assert_eq!(c.pods.len(), 1);
        Ok(())
    }

    #[test]
    fn multi_doc_yaml_and_unknown_kinds() -> Result<(), SnapshotError> {
        let c = parse("kind: Node\nmetadata: {name: n1}\n---\nkind: Widget\n---\n---\nfoo: 1\n")?;
        assert_eq!(c.nodes.len(), 1);
        assert_eq!(c.other_objects, 1);
        assert_eq!(c.ignored_documents, 1);
        Ok(())
    }

    #[test]
    fn concatenated_json_with_logs() -> Result<(), SnapshotError> {
        let s = "{\"kind\":\"NodeList\",\"items\":[{\"metadata\":{\"name\":\"n\"}}]}\n==== START logs for container a of pod x/y ====\nhello {\n==== END logs for container a of pod x/y ====\n{\"kind\":\"PodList\",\"items\":[]}\n";
        let c = parse(s)?;
        assert_eq!(c.nodes.len(), 1);
        Ok(())
    }

    #[test]
    fn errors_carry_line_and_column() {
        let e = parse("kind: Pod\nmetadata:\n  name: [unclosed\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:") && e.contains("invalid YAML"), "{e}");
        let e = parse("{\"kind\": \"Pod\",\n \"metadata\": }")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:2:"), "{e}");
    }

    #[test]
    fn owned_pods_skip_audit_fields_and_bare_pods_keep_them() -> Result<(), SnapshotError> {
        let probe = "readinessProbe: {httpGet: {port: http}}";
        let s = format!(
            "kind: List\nitems:\n- kind: Pod\n  metadata: {{name: owned, namespace: x, ownerReferences: [{{kind: ReplicaSet, name: rs, controller: true}}]}}\n  spec: {{containers: [{{name: c, image: i, {probe}}}]}}\n- kind: Pod\n  metadata: {{name: bare, namespace: x}}\n  spec: {{containers: [{{name: c, image: i, {probe}}}]}}\n"
        );
        let c = parse(&s)?;
        assert_eq!(c.pods.len(), 2);
        assert!(c
            .pods
            .iter()
            .all(|p| p.spec.containers[0].readiness_probe.is_none()));
        assert_eq!(c.workloads.len(), 1);
        assert_eq!(c.workloads[0].name, "bare");
        assert!(c.workloads[0].spec.containers[0].readiness_probe.is_some());
        Ok(())
    }

    #[test]
    fn version_document() -> Result<(), SnapshotError> {
        let c = parse(
            r#"{"clientVersion":{"gitVersion":"v1.32.4"},"serverVersion":{"major":"1","minor":"29","gitVersion":"v1.29.2"}}"#,
        )?;
        assert_eq!(c.server_version.as_deref(), Some("v1.29.2"));
        Ok(())
    }
}
