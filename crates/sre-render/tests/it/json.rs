//! The JSON contract and its YAML twin.

use crate::fixture::{render_plain, report};
use sre_core::Report;
use sre_render::Format;

#[test]
fn json_round_trips_into_an_equal_report() {
    let r = report();
    let out = render_plain(&r, Format::Json);
    let back: Report = serde_json::from_str(&out).expect("JSON output parses as a Report");
    assert_eq!(back, r);
}

#[test]
fn json_uses_the_contract_field_names() {
    let out = render_plain(&report(), Format::Json);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    for key in [
        "schemaVersion",
        "tool",
        "command",
        "generatedAt",
        "target",
        "summary",
        "partial",
        "errors",
        "checks",
        "findings",
    ] {
        assert!(v.get(key).is_some(), "missing top-level field {key}");
    }
    assert_eq!(v["findings"][0]["resource"]["kind"], "Node");
}

#[test]
fn yaml_round_trips_into_an_equal_report() {
    let r = report();
    let out = render_plain(&r, Format::Yaml);
    let back: Report = serde_yaml_ng::from_str(&out).expect("YAML output parses as a Report");
    assert_eq!(back, r);
}
