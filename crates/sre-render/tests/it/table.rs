//! The terminal table: colour only on request, alignment, summary line.

use crate::fixture::{clean_report, render_plain, report};
use sre_render::{render, Format, RenderOptions};

#[test]
fn colour_only_when_asked() {
    let r = report();
    let colored = render(&r, Format::Table, &RenderOptions { color: true }).expect("render");
    let plain = render(&r, Format::Table, &RenderOptions { color: false }).expect("render");
    assert!(
        colored.contains("\u{1b}["),
        "color=true output has no escape codes"
    );
    assert!(
        !plain.contains('\u{1b}'),
        "color=false output has escape codes"
    );
    // Colour is the only difference: stripping the escapes gives the plain table.
    assert_eq!(strip_ansi(&colored), plain);
}

#[test]
fn columns_are_aligned_and_messages_complete() {
    let r = report();
    let out = render_plain(&r, Format::Table);
    let lines: Vec<&str> = out.lines().collect();
    let header = lines
        .iter()
        .find(|l| l.starts_with("SEVERITY"))
        .expect("header line");
    let col = |name: &str| header.find(name).expect("column in header");
    let (code, resource, message) = (col("CODE"), col("RESOURCE"), col("MESSAGE"));
    for f in &r.findings {
        let first_line = f.message.lines().next().expect("message line");
        let line = lines
            .iter()
            .find(|l| l.contains(first_line) && l.contains(&f.resource.to_string()))
            .expect("a row for every finding");
        let chars: Vec<char> = line.chars().collect();
        let at = |i: usize| chars[i..].iter().collect::<String>();
        assert!(
            at(code).starts_with(&f.code),
            "CODE column misaligned: {line}"
        );
        assert!(
            at(resource).starts_with(&f.resource.to_string()),
            "RESOURCE misaligned: {line}"
        );
        assert!(
            at(message).starts_with(first_line),
            "MESSAGE misaligned: {line}"
        );
    }
    assert!(lines[0].starts_with("k8s-doctor healthcheck: context=prod-eu1 nodes=3 pods=42"));
    assert_eq!(
        lines.last().copied(),
        Some("3 critical, 4 warning, 1 info (8 findings) (partial report)")
    );
}

#[test]
fn clean_report_says_no_findings() {
    let out = render_plain(&clean_report(), Format::Table);
    assert_eq!(
        out,
        "k8s-doctor healthcheck: source=kubeconfig\n\nno findings\n"
    );
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences: ESC [ parameters final-byte (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
