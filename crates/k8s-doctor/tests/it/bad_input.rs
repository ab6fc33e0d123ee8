//! Bad input: clear errors with file, line and column; never a panic.

use crate::example_dir;
use k8s_doctor::checks::{Command, Thresholds};
use std::time::UNIX_EPOCH;

fn load(dir: &std::path::Path) -> Result<sre_core::Report, String> {
    k8s_doctor::report(
        Command::Diagnostics,
        &[dir.to_path_buf()],
        &[],
        Thresholds::default(),
        UNIX_EPOCH,
    )
    .map_err(|e| format!("{e:#}"))
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("pods.yaml");
    std::fs::write(
        &p,
        "kind: Pod\nmetadata:\n  name: x\n  labels: {a: b\nspec: {}\n",
    )
    .expect("write");
    let err = load(dir.path()).unwrap_err();
    assert!(
        err.contains(&format!("{}:", p.display())) && err.contains("invalid YAML"),
        "{err}"
    );
    let loc = err.split(&format!("{}:", p.display())).nth(1).unwrap_or("");
    assert!(
        loc.split(':')
            .next()
            .and_then(|l| l.parse::<u32>().ok())
            .is_some(),
        "no line number: {err}"
    );
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("pods.json");
    std::fs::write(&p, "{\"kind\": \"PodList\",\n \"items\": [\n  {\"metadata\": {\"name\": \"a\"}},\n  {\"metadata\": \n").expect("write");
    let err = load(dir.path()).unwrap_err();
    assert!(
        err.contains(&format!("{}:5:", p.display()))
            || err.contains(&format!("{}:4:", p.display())),
        "{err}"
    );
    assert!(err.contains("invalid JSON"), "{err}");
}

#[test]
fn no_kubernetes_objects_gives_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("values.yaml"),
        "replicaCount: 3\nimage: {repository: nginx}\n",
    )
    .expect("write");
    let err = load(dir.path()).unwrap_err();
    assert!(
        err.contains("no Kubernetes objects") && err.contains("hint: "),
        "{err}"
    );
}

#[test]
fn missing_path_is_named() {
    let err = load(std::path::Path::new("/nonexistent/snap")).unwrap_err();
    assert!(err.contains("/nonexistent/snap"), "{err}");
}

#[test]
fn truncated_and_garbage_files_never_panic() {
    let mut cases = 0;
    for entry in std::fs::read_dir(example_dir()).expect("example dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        for cut in [
            1,
            7,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() * 9 / 10,
            bytes.len() - 1,
        ] {
            let slice = &bytes[..cut.min(bytes.len())];
            // Either loads (a truncation can still be a valid document) or fails with the path.
            if let Err(e) = k8s_doctor::snapshot::parse_bytes(&path, slice) {
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            }
            cases += 1;
        }
    }
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in [0usize, 1, 10, 100, 4096] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed & 0xff) as u8
            })
            .collect();
        let _ = k8s_doctor::snapshot::parse_bytes(std::path::Path::new("garbage.bin"), &garbage);
        let mut json = b"{\"kind\":\"PodList\",\"items\":[".to_vec();
        json.extend_from_slice(&garbage);
        let _ = k8s_doctor::snapshot::parse_bytes(std::path::Path::new("g.json"), &json);
        cases += 2;
    }
    assert!(cases > 40);
}

#[test]
fn wrong_field_types_are_errors_with_location_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p.yaml"), "kind: Pod\nmetadata: {name: x}\nstatus:\n  containerStatuses:\n  - name: c\n    restartCount: lots\n").expect("write");
    let err = load(dir.path()).unwrap_err();
    assert!(err.contains("p.yaml:6:"), "{err}");
}
