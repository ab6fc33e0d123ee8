//! The `Format` API and properties shared by all formats.

use crate::fixture::{clean_report, render_plain, report};
use sre_render::{render, Format, RenderOptions};

#[test]
fn names_round_trip_and_aliases_parse() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        assert_eq!(f.to_string(), f.as_str());
        assert!(!f.extension().is_empty());
    }
    assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
    assert_eq!("prom".parse::<Format>(), Ok(Format::Prometheus));
    assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
    assert_eq!(Format::default(), Format::Table);
}

#[test]
fn unknown_format_lists_valid_values() {
    let err = "xml"
        .parse::<Format>()
        .expect_err("xml is not a format")
        .to_string();
    assert_eq!(
        err,
        "unknown output format `xml` (valid values: table, json, yaml, markdown, html, sarif, junit, prometheus)"
    );
}

#[test]
fn every_format_mentions_every_finding_code() {
    let r = report();
    for format in Format::ALL {
        let out = render_plain(&r, format);
        for f in &r.findings {
            assert!(
                out.contains(&f.code),
                "{format} output lacks finding code {}",
                f.code
            );
        }
    }
}

#[test]
fn every_format_ends_with_a_newline_and_is_deterministic() {
    for r in [report(), clean_report()] {
        for format in Format::ALL {
            let a = render_plain(&r, format);
            assert!(
                a.ends_with('\n'),
                "{format} output does not end with a newline"
            );
            assert_eq!(
                a,
                render_plain(&r, format),
                "{format} output is not deterministic"
            );
            let colored = render(&r, format, &RenderOptions { color: true }).expect("render");
            if format != Format::Table {
                assert_eq!(a, colored, "only the table format may depend on colour");
            }
        }
    }
}
