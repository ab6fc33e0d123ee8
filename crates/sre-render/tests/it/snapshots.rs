//! Every format of the fixture report, pinned. Review changes with `cargo insta review`.

use crate::fixture::{clean_report, render_plain, report};
use sre_render::Format;

#[test]
fn table() {
    insta::assert_snapshot!("table", render_plain(&report(), Format::Table));
}

#[test]
fn table_clean() {
    insta::assert_snapshot!("table_clean", render_plain(&clean_report(), Format::Table));
}

#[test]
fn json() {
    insta::assert_snapshot!("json", render_plain(&report(), Format::Json));
}

#[test]
fn yaml() {
    insta::assert_snapshot!("yaml", render_plain(&report(), Format::Yaml));
}

#[test]
fn markdown() {
    insta::assert_snapshot!("markdown", render_plain(&report(), Format::Markdown));
}

#[test]
fn html() {
    insta::assert_snapshot!("html", render_plain(&report(), Format::Html));
}

#[test]
fn sarif() {
    insta::assert_snapshot!("sarif", render_plain(&report(), Format::Sarif));
}

#[test]
fn junit() {
    insta::assert_snapshot!("junit", render_plain(&report(), Format::Junit));
}

#[test]
fn prometheus() {
    insta::assert_snapshot!("prometheus", render_plain(&report(), Format::Prometheus));
}

#[test]
fn prometheus_clean() {
    insta::assert_snapshot!(
        "prometheus_clean",
        render_plain(&clean_report(), Format::Prometheus)
    );
}
