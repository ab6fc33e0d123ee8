//! JUnit XML, parsed by Python's `xml.etree` (a real XML parser).

use crate::external::{path_str, python, temp_file};
use crate::fixture::{clean_report, render_plain, report};
use sre_render::Format;

/// Prints, as JSON: the counts on <testsuites> and <testsuite>, and per test case its name and
/// how many <failure>, <error> and <system-out> children it has.
const SUMMARY: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1, len(suites)
s = suites[0]
attrs = lambda e: {k: e.get(k) for k in ("name", "tests", "failures", "errors", "skipped")}
cases = [{
    "classname": c.get("classname"),
    "name": c.get("name"),
    "failures": len(c.findall("failure")),
    "errors": len(c.findall("error")),
    "out": len(c.findall("system-out")),
    "failure_message": (c.find("failure").get("message") if c.find("failure") is not None else None),
    "failure_text": (c.find("failure").text if c.find("failure") is not None else None),
} for c in s.findall("testcase")]
print(json.dumps({"suites": attrs(root), "suite": attrs(s), "cases": cases}))
"#;

fn parse(text: &str) -> serde_json::Value {
    let (_dir, path) = temp_file("junit.xml", text);
    let run = python(SUMMARY, &[path_str(&path)]);
    assert!(
        run.success,
        "JUnit XML does not parse:\n{}{}",
        run.stdout, run.stderr
    );
    serde_json::from_str(&run.stdout).expect("summary JSON from python")
}

fn count(v: &serde_json::Value, key: &str) -> usize {
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c[key].as_u64() > Some(0))
        .count()
}

#[test]
fn junit_counts_match_the_test_cases() {
    let v = parse(&render_plain(&report(), Format::Junit));
    let cases = v["cases"].as_array().expect("cases");
    // 7 registered checks + 1 unregistered code (KD601) + "report errors".
    assert_eq!(cases.len(), 9);
    for attrs in [&v["suites"], &v["suite"]] {
        assert_eq!(attrs["name"], "sre k8s-doctor healthcheck");
        assert_eq!(attrs["tests"], cases.len().to_string());
        assert_eq!(attrs["failures"], count(&v, "failures").to_string());
        assert_eq!(attrs["errors"], count(&v, "errors").to_string());
    }
    // Failing: KD101, KD102, KD201, KD202, KD401, KD601. Passing: KD203 (info only), KD301.
    assert_eq!(count(&v, "failures"), 6);
    assert_eq!(count(&v, "errors"), 1);
    let case = |name: &str| {
        cases
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no test case {name}"))
    };
    assert_eq!(case("KD301 pvc-unbound")["failures"], 0);
    assert_eq!(case("KD203 pod-restarts")["failures"], 0);
    assert_eq!(case("KD203 pod-restarts")["out"], 1);
    let crash = case("KD201 pod-crashloop");
    assert_eq!(crash["failure_message"], "2 findings: 2 critical");
    let body = crash["failure_text"].as_str().expect("failure body");
    assert!(body.contains("container cart is in CrashLoopBackOff"));
    assert!(body.contains("container envoy is in CrashLoopBackOff"));
    assert_eq!(
        case("KD601 Cluster version is out of upstream support")["failures"],
        1
    );
    assert_eq!(case("report errors")["errors"], 1);
    assert!(cases.iter().all(|c| c["classname"] == "k8s-doctor"));
    // The image finding's message has quotes and <digest> & co; the parser read them back.
    let image = case("KD401 image-latest-tag")["failure_text"]
        .as_str()
        .expect("body")
        .to_string();
    assert!(image.contains("image \"nginx:latest\""));
    assert!(image.contains("sha256:<digest> & redeploy"));
}

#[test]
fn junit_clean_report_passes() {
    let v = parse(&render_plain(&clean_report(), Format::Junit));
    assert_eq!(v["suite"]["tests"], "2");
    assert_eq!(v["suite"]["failures"], "0");
    assert_eq!(v["suite"]["errors"], "0");
}
