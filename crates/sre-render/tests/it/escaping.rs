//! Report text comes from the examined system, so every renderer must survive hostile input:
//! markup, quotes, table separators, line breaks, terminal escapes and XML-illegal characters.

use crate::external::{path_str, promtool_check_metrics, python, temp_file};
use crate::fixture::{render_plain, POD_CRASHLOOP};
use sre_core::{Finding, Report, Resource};
use sre_render::{render, Format, RenderOptions};
use std::time::UNIX_EPOCH;

const NASTY: &str =
    "</td><script>alert('x')</script> & \"q\" | a\\b\nline2 \u{1b}[31mred\u{1b}[0m \u{1}";

fn hostile() -> Report {
    let mut r = Report::new("k8s-doctor", "health\"check\\\n", UNIX_EPOCH);
    r.target.insert("source".into(), NASTY.into());
    r.add_checks(&[POD_CRASHLOOP]);
    r.push(
        Finding::new(
            &POD_CRASHLOOP,
            Resource::object("Pod", Some("ns"), "<b>pod</b>"),
            NASTY,
        )
        .remediation(NASTY)
        .evidence("<k>", NASTY),
    );
    r.push(Finding::new(
        &POD_CRASHLOOP,
        Resource::file("dir/my file's <x>.yaml", Some(1), None),
        NASTY,
    ));
    r.error(NASTY, NASTY);
    r.finish();
    r
}

#[test]
fn html_escapes_everything() {
    let out = render_plain(&hostile(), Format::Html);
    assert!(!out.contains("<script>alert"), "unescaped script tag");
    assert!(!out.contains("<b>pod"), "unescaped resource markup");
    assert!(!out.contains("<k>"), "unescaped evidence key");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{1}'),
        "control characters leaked"
    );
    assert!(out.contains(
        "&lt;/td&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
    ));
}

#[test]
fn markdown_rows_stay_on_one_line() {
    let out = render_plain(&hostile(), Format::Markdown);
    let findings = out.split("## Findings").nth(1).expect("findings section");
    let findings = findings
        .split("## Errors")
        .next()
        .expect("findings section");
    let rows: Vec<&str> = findings.lines().filter(|l| l.starts_with('|')).collect();
    // Header, separator and one row per finding, each with 6 cells (7 unescaped pipes).
    assert_eq!(rows.len(), 4, "{findings}");
    for row in rows {
        let unescaped = row
            .match_indices('|')
            .filter(|(i, _)| !row[..*i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 7, "a cell separator leaked in: {row}");
    }
    // `\<` is CommonMark's escaped, literal `<`, and `<br>` is ours: no other tag can start.
    assert!(
        !out.replace("\\<", "").replace("<br>", "").contains('<'),
        "raw HTML leaked"
    );
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{1}'),
        "control characters leaked"
    );
}

#[test]
fn table_neutralises_terminal_escapes() {
    let r = hostile();
    let out = render(&r, Format::Table, &RenderOptions::default()).expect("render");
    assert!(
        !out.contains('\u{1b}'),
        "an escape sequence from report data reached the terminal"
    );
    assert!(!out.contains('\u{1}'));
}

#[test]
fn junit_stays_well_formed() {
    let (_dir, path) = temp_file("junit.xml", &render_plain(&hostile(), Format::Junit));
    let script = "import sys, xml.etree.ElementTree as ET\n\
                  r = ET.parse(sys.argv[1]).getroot()\n\
                  c = r.find('testsuite').find('testcase')\n\
                  assert c.get('name') == 'KD201 pod-crashloop', c.get('name')\n\
                  assert \"<script>alert('x')</script>\" in c.find('failure').text\n";
    let run = python(script, &[path_str(&path)]);
    assert!(
        run.success,
        "JUnit XML broke on hostile text:\n{}{}",
        run.stdout, run.stderr
    );
}

#[test]
fn prometheus_labels_are_escaped() {
    let text = render_plain(&hostile(), Format::Prometheus);
    assert!(
        text.contains("command=\"health\\\"check\\\\\\n\""),
        "{text}"
    );
    let run = promtool_check_metrics(&text);
    assert!(
        run.success,
        "promtool rejected escaped labels:\n{}{}\n{text}",
        run.stdout, run.stderr
    );
}

#[test]
fn json_sarif_and_yaml_parse_back() {
    let r = hostile();
    let json: Report = serde_json::from_str(&render_plain(&r, Format::Json)).expect("json");
    assert_eq!(json, r);
    let yaml: Report = serde_yaml_ng::from_str(&render_plain(&r, Format::Yaml)).expect("yaml");
    assert_eq!(yaml, r);
    let sarif: serde_json::Value =
        serde_json::from_str(&render_plain(&r, Format::Sarif)).expect("sarif");
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"],
        "dir/my%20file%27s%20%3Cx%3E.yaml"
    );
}
