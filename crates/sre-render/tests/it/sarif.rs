//! SARIF: valid against the official SARIF 2.1.0 schema, and shaped as GitHub code scanning
//! requires.

use crate::external::{path_str, python, temp_file, PY_MISSING_MODULE};
use crate::fixture::{clean_report, render_plain, report};
use serde_json::Value;
use sre_render::Format;
use std::collections::HashSet;
use std::path::PathBuf;

/// Validates argv[2] against the draft-04 schema in argv[1]; prints every violation.
const VALIDATE: &str = r#"
import json, sys
try:
    import jsonschema
except ModuleNotFoundError:
    print("the Python module jsonschema is missing: pip install jsonschema", file=sys.stderr)
    sys.exit(3)
schema = json.load(open(sys.argv[1], encoding="utf-8"))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
for e in errors:
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
sys.exit(1 if errors else 0)
"#;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json")
}

/// `Ok(())` when valid, `Err(violations)` otherwise; panics if the validator cannot run.
fn validate(text: &str) -> Result<(), String> {
    let (_dir, path) = temp_file("report.sarif", text);
    let schema = schema_path();
    let run = python(VALIDATE, &[path_str(&schema), path_str(&path)]);
    if run.code == Some(PY_MISSING_MODULE) {
        panic!(
            "{} (install it with: pip install jsonschema)",
            run.stderr.trim()
        );
    }
    match run.code {
        Some(0) => Ok(()),
        Some(1) => Err(run.stdout),
        _ => panic!(
            "the SARIF validator failed to run:\n{}{}",
            run.stdout, run.stderr
        ),
    }
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    for r in [report(), clean_report()] {
        if let Err(violations) = validate(&render_plain(&r, Format::Sarif)) {
            panic!("SARIF output violates the SARIF 2.1.0 schema:\n{violations}");
        }
    }
}

#[test]
fn the_schema_check_can_fail() {
    // Proves the validator is really applied: a wrong version and a bad level are rejected.
    let mut doc: Value =
        serde_json::from_str(&render_plain(&report(), Format::Sarif)).expect("valid JSON");
    doc["version"] = "2.0.0".into();
    doc["runs"][0]["results"][0]["level"] = "fatal".into();
    let violations = validate(&doc.to_string()).expect_err("schema accepted an invalid log");
    assert!(violations.contains("version"), "{violations}");
    assert!(violations.contains("level"), "{violations}");
}

/// The properties GitHub code scanning needs (docs: "SARIF support for code scanning"),
/// asserted directly so a regression names the missing piece.
#[test]
fn sarif_has_what_github_code_scanning_requires() {
    let r = report();
    let doc: Value = serde_json::from_str(&render_plain(&r, Format::Sarif)).expect("SARIF is JSON");
    assert_eq!(
        doc["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "sre k8s-doctor");
    assert!(driver.get("version").is_none() && driver.get("semanticVersion").is_none());

    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules
        .iter()
        .map(|x| x["id"].as_str().expect("rule id"))
        .collect();
    assert_eq!(
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len(),
        "rule ids are not unique"
    );
    for c in &r.checks {
        let rule = rules
            .iter()
            .find(|x| x["id"] == c.code.as_str())
            .expect("a rule per check");
        assert_eq!(rule["shortDescription"]["text"], c.title.as_str());
        assert!(rule["defaultConfiguration"]["level"].is_string());
    }
    let crash = rules
        .iter()
        .find(|x| x["id"] == "KD201")
        .expect("KD201 rule");
    assert_eq!(crash["name"], "PodCrashloop");
    assert_eq!(crash["defaultConfiguration"]["level"], "error");

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), r.findings.len());
    let mut fingerprints = HashSet::new();
    for (res, f) in results.iter().zip(&r.findings) {
        assert_eq!(res["ruleId"], f.code.as_str());
        let index = usize::try_from(res["ruleIndex"].as_u64().expect("ruleIndex")).expect("index");
        assert_eq!(
            rules[index]["id"], res["ruleId"],
            "ruleIndex points at another rule"
        );
        let expected = match f.severity {
            sre_core::Severity::Critical => "error",
            sre_core::Severity::Warning => "warning",
            sre_core::Severity::Info => "note",
        };
        assert_eq!(res["level"], expected);
        assert!(res["message"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with(&f.message)));
        let loc = &res["locations"][0];
        let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(!uri.is_empty() && !uri.contains(' '));
        assert!(loc["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1));
        let fp = res["partialFingerprints"]["sreFindingHash/v1"]
            .as_str()
            .expect("fingerprint");
        assert!(
            fingerprints.insert(fp.to_string()),
            "duplicate fingerprint {fp}"
        );
    }

    // File resource: repository-relative path with line and column.
    let file = results
        .iter()
        .find(|x| x["ruleId"] == "KD401")
        .expect("file finding");
    let phys = &file["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], "deploy/web.yaml");
    assert_eq!(phys["region"]["startLine"], 23);
    assert_eq!(phys["region"]["startColumn"], 18);
    assert!(file["locations"][0].get("logicalLocations").is_none());

    // Namespaced object: logical location plus a synthetic, stable physical one.
    let pod = results
        .iter()
        .find(|x| x["ruleId"] == "KD202")
        .expect("pod finding");
    let logical = &pod["locations"][0]["logicalLocations"][0];
    assert_eq!(
        logical["fullyQualifiedName"],
        "Pod/shop/checkout-5c6d7f-abcde"
    );
    assert_eq!(logical["name"], "checkout-5c6d7f-abcde");
    assert_eq!(logical["kind"], "resource");
    assert_eq!(
        pod["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "k8s/shop/pod/checkout-5c6d7f-abcde"
    );
    // Cluster-scoped object.
    let node = results
        .iter()
        .find(|x| x["ruleId"] == "KD101")
        .expect("node finding");
    assert_eq!(
        node["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "Node/node-3"
    );
    assert_eq!(
        node["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "k8s/_cluster/node/node-3"
    );

    // Partial report: the invocation failed and says why.
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let note = &inv["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert!(note["message"]["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("metrics.k8s.io/v1beta1: ")));
}

#[test]
fn fingerprints_are_stable_across_unrelated_changes() {
    let fp = |r: &sre_core::Report| -> Vec<String> {
        let doc: Value = serde_json::from_str(&render_plain(r, Format::Sarif)).expect("JSON");
        doc["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|x| {
                x["partialFingerprints"]["sreFindingHash/v1"]
                    .as_str()
                    .expect("fp")
                    .to_string()
            })
            .collect()
    };
    let a = report();
    let mut b = report();
    // A later run with other messages and evidence keeps the same identities.
    for f in &mut b.findings {
        f.message.push_str(" (again)");
        f.evidence.clear();
    }
    assert_eq!(fp(&a), fp(&b));
}

#[test]
fn suppressed_findings_are_sarif_suppressions_and_valid() {
    let mut r = report();
    let f = r.findings[0].clone();
    r.suppressed.push(sre_core::Suppressed {
        finding: f.clone(),
        reason: "accepted risk".into(),
        source: "config sre.yaml".into(),
    });
    let text = render_plain(&r, Format::Sarif);
    if let Err(violations) = validate(&text) {
        panic!("SARIF with suppressions violates the schema:\n{violations}");
    }
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let results = v["runs"][0]["results"].as_array().expect("results");
    let sup: Vec<&serde_json::Value> = results
        .iter()
        .filter(|x| x.get("suppressions").is_some())
        .collect();
    assert_eq!(sup.len(), 1);
    assert_eq!(sup[0]["suppressions"][0]["kind"], "external");
    assert_eq!(
        sup[0]["suppressions"][0]["justification"],
        "accepted risk (config sre.yaml)"
    );
    assert_eq!(sup[0]["ruleId"], f.code.as_str());
}
