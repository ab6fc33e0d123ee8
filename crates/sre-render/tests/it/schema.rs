//! The JSON report contract, `docs/report.schema.json`: rendered reports and the documented
//! example are valid against it (checked by Python's `jsonschema`, draft 2020-12), it rejects
//! invalid documents, and it agrees with `sre_core` on the version and on every field the
//! serializer emits.

use crate::external::{path_str, python, temp_file, PY_MISSING_MODULE};
use crate::fixture::{clean_report, render_plain, report};
use serde_json::Value;
use sre_core::{Report, SCHEMA_VERSION};
use sre_render::Format;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Exit code of [`VALIDATE`] when the schema itself is not a valid draft 2020-12 schema.
const PY_BAD_SCHEMA: i32 = 4;

/// Validates argv[2] against the draft 2020-12 schema in argv[1]; prints every violation as
/// `path/to/field: message`.
const VALIDATE: &str = r#"
import json, sys
try:
    import jsonschema
except ModuleNotFoundError:
    print("the Python module jsonschema is missing: pip install jsonschema", file=sys.stderr)
    sys.exit(3)
schema = json.load(open(sys.argv[1], encoding="utf-8"))
try:
    jsonschema.Draft202012Validator.check_schema(schema)
except jsonschema.exceptions.SchemaError as e:
    print(e, file=sys.stderr)
    sys.exit(4)
doc = json.load(open(sys.argv[2], encoding="utf-8"))
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
for e in errors:
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
sys.exit(1 if errors else 0)
"#;

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn schema_path() -> PathBuf {
    docs_dir().join("report.schema.json")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(schema_path()).expect("reading docs/report.schema.json");
    serde_json::from_str(&text).expect("docs/report.schema.json is not JSON")
}

/// `Ok(())` when valid, `Err(violations)` otherwise; panics if the validator cannot run.
fn validate(text: &str) -> Result<(), String> {
    let (_dir, path) = temp_file("report.json", text);
    let schema = schema_path();
    let run = python(VALIDATE, &[path_str(&schema), path_str(&path)]);
    match run.code {
        Some(0) => Ok(()),
        Some(1) => Err(run.stdout),
        Some(PY_MISSING_MODULE) => panic!(
            "{} (install it with: pip install jsonschema)",
            run.stderr.trim()
        ),
        Some(PY_BAD_SCHEMA) => panic!(
            "docs/report.schema.json is not a valid draft 2020-12 schema:\n{}",
            run.stderr
        ),
        _ => panic!(
            "the report schema validator failed to run:\n{}{}",
            run.stdout, run.stderr
        ),
    }
}

fn assert_valid(what: &str, text: &str) {
    if let Err(violations) = validate(text) {
        panic!("{what} violates docs/report.schema.json:\n{violations}\n--- document ---\n{text}");
    }
}

#[test]
fn rendered_reports_match_the_schema() {
    for (what, r) in [
        ("the fixture report", report()),
        ("a clean report", clean_report()),
    ] {
        assert_valid(what, &render_plain(&r, Format::Json));
    }
    // `-o yaml` is the same document.
    let yaml: Value =
        serde_yaml_ng::from_str(&render_plain(&report(), Format::Yaml)).expect("YAML parses");
    assert_valid("the YAML report", &yaml.to_string());
}

#[test]
fn the_schema_version_is_the_one_sre_core_emits() {
    let schema = schema();
    assert_eq!(
        schema["properties"]["schemaVersion"]["const"].as_str(),
        Some(SCHEMA_VERSION),
        "docs/report.schema.json describes another schemaVersion than sre_core::SCHEMA_VERSION"
    );
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn the_schema_rejects_invalid_reports() {
    type Mutation = fn(&mut Value);
    let cases: [(&str, Mutation, &str); 8] = [
        (
            "a finding with an unknown severity",
            |d| d["findings"][0]["severity"] = "fatal".into(),
            "findings/0/severity: 'fatal' is not one of",
        ),
        (
            "no schemaVersion",
            |d| {
                d.as_object_mut()
                    .expect("a JSON object")
                    .remove("schemaVersion");
            },
            "'schemaVersion' is a required property",
        ),
        (
            "another schemaVersion",
            |d| d["schemaVersion"] = "2".into(),
            "schemaVersion: '1' was expected",
        ),
        (
            "a line number of 0",
            |d| {
                for f in d["findings"].as_array_mut().expect("findings") {
                    if f["resource"].get("line").is_some() {
                        f["resource"]["line"] = 0.into();
                    }
                }
            },
            "/resource/line: 0 is less than the minimum of 1",
        ),
        (
            "errors in a report that is not partial",
            |d| d["partial"] = false.into(),
            "partial: True was expected",
        ),
        (
            "a null remediation",
            |d| d["findings"][0]["remediation"] = Value::Null,
            "findings/0/remediation: None is not of type 'string'",
        ),
        (
            "a negative count",
            |d| d["summary"]["info"] = (-1).into(),
            "summary/info: -1 is less than the minimum of 0",
        ),
        (
            "a timestamp that is not RFC 3339",
            |d| d["generatedAt"] = "14/11/2023 22:13".into(),
            "generatedAt: '14/11/2023 22:13' does not match",
        ),
    ];
    let valid: Value =
        serde_json::from_str(&render_plain(&report(), Format::Json)).expect("valid JSON");
    assert_valid("the fixture report", &valid.to_string());
    for (what, mutate, expected) in cases {
        let mut doc = valid.clone();
        mutate(&mut doc);
        let violations = validate(&doc.to_string())
            .expect_err(&format!("the schema accepted a report with {what}"));
        assert!(
            violations.contains(expected),
            "a report with {what}: expected a violation containing `{expected}`, got:\n{violations}"
        );
    }
}

/// A local `$ref` is followed, so a property may point at a `$defs` entry.
fn resolve<'a>(schema: &'a Value, pointer: &str) -> &'a Value {
    let node = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("`{pointer}` is missing from docs/report.schema.json"));
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            schema,
            r.strip_prefix('#').expect("only local $refs are used"),
        ),
        None => node,
    }
}

/// Every key the serializer emits is declared under `pointer`, and `required` lists exactly
/// the keys present in every instance (optional fields are the ones sometimes omitted).
fn assert_fields_declared(schema: &Value, pointer: &str, instances: &[&Value]) {
    assert!(
        !instances.is_empty(),
        "no instances of `{pointer}` to check"
    );
    let object = resolve(schema, pointer);
    let declared: BTreeSet<&str> = object["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("`{pointer}` has no properties"))
        .keys()
        .map(String::as_str)
        .collect();
    let required: BTreeSet<&str> = object["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut always: Option<BTreeSet<&str>> = None;
    for instance in instances {
        let keys: BTreeSet<&str> = instance
            .as_object()
            .unwrap_or_else(|| panic!("`{pointer}` instance is not an object: {instance}"))
            .keys()
            .map(String::as_str)
            .collect();
        let undeclared: Vec<_> = keys.difference(&declared).collect();
        assert!(
            undeclared.is_empty(),
            "the serializer emits {undeclared:?} at `{pointer}`, which docs/report.schema.json does not declare"
        );
        always = Some(match always {
            None => keys,
            Some(a) => a.intersection(&keys).copied().collect(),
        });
    }
    assert_eq!(
        required,
        always.unwrap_or_default(),
        "`{pointer}`: `required` must list exactly the fields the serializer always emits"
    );
}

#[test]
fn the_schema_declares_every_field_the_serializer_emits() {
    let schema = schema();
    let docs: Vec<Value> = [report(), clean_report()]
        .iter()
        .map(|r| serde_json::from_str(&render_plain(r, Format::Json)).expect("valid JSON"))
        .collect();
    let all = |field: &str| -> Vec<&Value> {
        docs.iter()
            .flat_map(|d| d[field].as_array().expect("an array").iter())
            .collect()
    };
    let findings = all("findings");
    let resources: Vec<&Value> = findings.iter().map(|f| &f["resource"]).collect();
    let summaries: Vec<&Value> = docs.iter().map(|d| &d["summary"]).collect();
    let tops: Vec<&Value> = docs.iter().collect();
    assert_fields_declared(&schema, "", &tops);
    assert_fields_declared(&schema, "/properties/summary", &summaries);
    assert_fields_declared(&schema, "/properties/errors/items", &all("errors"));
    assert_fields_declared(&schema, "/properties/checks/items", &all("checks"));
    assert_fields_declared(&schema, "/properties/findings/items", &findings);
    assert_fields_declared(&schema, "/$defs/finding/properties/resource", &resources);
}

/// Every field and definition says what it means.
#[test]
fn every_field_is_described() {
    fn walk(node: &Value, at: &str, missing: &mut Vec<String>) {
        let Some(object) = node.as_object() else {
            return;
        };
        for key in ["properties", "$defs"] {
            for (name, sub) in object
                .get(key)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let described = sub
                    .get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| !d.trim().is_empty());
                if !described {
                    missing.push(format!("{at}/{key}/{name}"));
                }
                walk(sub, &format!("{at}/{key}/{name}"), missing);
            }
        }
        for key in ["items", "if", "then"] {
            if let Some(sub) = object.get(key) {
                walk(sub, &format!("{at}/{key}"), missing);
            }
        }
    }
    let schema = schema();
    for key in ["$id", "title", "description"] {
        assert!(
            schema[key].as_str().is_some_and(|s| !s.is_empty()),
            "the schema has no {key}"
        );
    }
    let mut missing = Vec::new();
    // The `if`/`then` pair only restates fields, so its properties need no descriptions.
    let mut top = schema.clone();
    if let Some(o) = top.as_object_mut() {
        o.remove("if");
        o.remove("then");
    }
    walk(&top, "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

/// The JSON code blocks in `docs/report-schema.md`.
fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (current.as_mut(), line.trim_end()) {
            (None, "```json") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unterminated ```json block");
    blocks
}

#[test]
fn the_documented_example_is_a_valid_report() {
    let markdown = std::fs::read_to_string(docs_dir().join("report-schema.md"))
        .expect("reading docs/report-schema.md");
    let blocks = json_blocks(&markdown);
    assert_eq!(
        blocks.len(),
        1,
        "docs/report-schema.md should hold one example report"
    );
    let text = &blocks[0];
    assert_valid("the example in docs/report-schema.md", text);
    // It is exactly what the serializer writes for a finished report: no invented or missing
    // fields, summary and order as `Report::finish` makes them.
    let value: Value = serde_json::from_str(text).expect("the example is JSON");
    let example: Report = serde_json::from_value(value.clone()).expect("the example is a Report");
    assert_eq!(
        serde_json::to_value(&example).expect("serializing the example"),
        value,
        "the example is not in the form the serializer writes"
    );
    let mut finished = example.clone();
    finished.finish();
    assert_eq!(
        finished, example,
        "the example's summary, order or partial flag disagree with its findings"
    );
    assert_eq!(example.schema_version, SCHEMA_VERSION);
}
