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

#[test]
fn suppressed_findings_are_shown_in_human_formats_and_counted_for_machines() {
    let mut r = report();
    let f = r.findings[0].clone();
    r.suppressed.push(sre_core::Suppressed {
        finding: f,
        reason: "accepted risk XYZ".into(),
        source: "flag --exclude KD1".into(),
    });
    for format in [
        Format::Table,
        Format::Markdown,
        Format::Html,
        Format::Json,
        Format::Yaml,
        Format::Sarif,
    ] {
        let out = render_plain(&r, format);
        assert!(
            out.contains("accepted risk XYZ"),
            "{format} does not list the suppression"
        );
    }
    assert!(render_plain(&r, Format::Table).contains("1 suppressed"));
    let prom = render_plain(&r, Format::Prometheus);
    assert!(
        prom.contains("sre_findings_suppressed{")
            && prom
                .lines()
                .any(|l| l.starts_with("sre_findings_suppressed{") && l.ends_with(" 1")),
        "{prom}"
    );
    let run = crate::external::promtool_check_metrics(&prom);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn yaml_timestamp_stays_a_string_for_yaml_1_1_readers() {
    let out = render_plain(&report(), Format::Yaml);
    assert!(out.contains("generatedAt: '2023-11-14T22:13:20Z'"), "{out}");
    // PyYAML (YAML 1.1) reads it back as a string, as the contract says.
    let script = "import sys, yaml\nd = yaml.safe_load(open(sys.argv[1]))\nassert isinstance(d['generatedAt'], str), type(d['generatedAt'])\n";
    let (_dir, path) = crate::external::temp_file("r.yaml", &out);
    let run = crate::external::python(script, &[crate::external::path_str(&path)]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
}
