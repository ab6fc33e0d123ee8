//! The HTML page: self-contained, charts present, tags balanced.

use crate::external::{path_str, python, temp_file};
use crate::fixture::{clean_report, render_plain, report};
use sre_render::Format;

#[test]
fn html_is_self_contained() {
    for r in [report(), clean_report()] {
        let out = render_plain(&r, Format::Html);
        assert!(out.contains("<svg"), "no inline SVG chart");
        let lower = out.to_ascii_lowercase();
        for banned in [
            "<script src",
            "src=",
            "<link",
            "@import",
            "url(",
            "http://",
            "https://",
        ] {
            assert!(!lower.contains(banned), "HTML contains `{banned}`");
        }
        // At most one script, inline: the findings filter.
        assert!(
            lower.matches("<script").count() <= 1,
            "more than the one inline script"
        );
    }
}

#[test]
fn html_has_charts_cards_findings_errors_and_checks() {
    let r = report();
    let out = render_plain(&r, Format::Html);
    assert!(out.contains("Findings by severity"));
    assert!(out.contains("Findings by resource kind"));
    // The severity chart writes each count as text.
    assert!(out.contains(
        "<title id=\"chart-severity\">Findings by severity: 3 critical, 4 warning, 1 info</title>"
    ));
    // Kinds in the per-kind chart: Pods 4, Nodes 2, one file, the cluster.
    assert!(out.contains("Findings by resource kind: Pod 4, Node 2, Cluster 1, File 1"));
    assert!(out.contains("<h2 id=\"errors\">Errors</h2>"));
    assert!(out.contains("metrics.k8s.io/v1beta1"));
    assert!(out.contains("Partial report."));
    // The check without findings is listed as passing; the info-only check passes too.
    for code in ["KD301", "KD203"] {
        let row = out
            .lines()
            .find(|l| l.contains(&format!("<code>{code}</code>")) && l.contains("badge pass"))
            .map(str::to_string);
        assert!(row.is_some(), "check {code} is not shown as passing");
    }
    assert!(
        out.contains("Pin the image by digest: nginx:1.25.3@sha256:&lt;digest&gt; &amp; redeploy")
    );
    assert!(!render_plain(&clean_report(), Format::Html).contains("id=\"errors\""));
}

/// Python's HTML parser checks that every non-void element is closed in order.
const BALANCE: &str = r#"
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "hr", "img", "input", "link", "rect", "col", "wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unexpected </%s> at %s, open: %s" % (tag, self.getpos(), self.stack[-3:]))
        else:
            self.stack.pop()
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
if p.stack:
    p.errors.append("unclosed: %s" % p.stack)
print("\n".join(p.errors))
sys.exit(1 if p.errors else 0)
"#;

#[test]
fn html_tags_are_balanced() {
    for r in [report(), clean_report()] {
        let (_dir, path) = temp_file("report.html", &render_plain(&r, Format::Html));
        let run = python(BALANCE, &[path_str(&path)]);
        assert!(
            run.success,
            "HTML is not well nested:\n{}{}",
            run.stdout, run.stderr
        );
    }
}

#[test]
fn a_score_in_the_target_becomes_a_gauge() {
    let mut r = crate::fixture::report();
    r.target.insert("score".into(), serde_json::json!(72));
    r.target.insert("grade".into(), serde_json::json!("C"));
    let html = crate::fixture::render_plain(&r, sre_render::Format::Html);
    assert!(
        html.contains("aria-label=\"Score 72 of 100, grade C\""),
        "no gauge"
    );
    let plain = crate::fixture::render_plain(&crate::fixture::report(), sre_render::Format::Html);
    assert!(!plain.contains("card gauge"), "gauge without a score");
}
