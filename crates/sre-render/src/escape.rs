//! Escaping for the text formats.
//!
//! These are hand-written instead of coming from a templating or XML crate: each format needs
//! only a handful of character substitutions, the rules are short and fully specified, and a
//! dependency would add build time and an API surface for every tool that links this crate.
//! Every function here is total: any `&str` produces safe output.

/// Escapes text for HTML element content and attribute values (quoted with `"` or `'`).
/// Control characters other than whitespace are not allowed in HTML text, so they become
/// U+FFFD.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for XML 1.0 element content and attribute values.
///
/// Besides the five markup characters, XML 1.0 forbids most C0 control characters even as
/// character references, so they are replaced by U+FFFD; tabs and newlines are kept, except
/// in attributes where a parser would normalise them to spaces, so they are written as
/// character references there.
pub(crate) fn xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// The XML 1.0 `Char` production (tab, newline and carriage return are handled by the caller).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes text for one cell of a GitHub-flavoured Markdown table (also safe in list items).
///
/// Markdown punctuation that could start emphasis, code, links or HTML is backslash-escaped
/// (CommonMark allows a backslash before any ASCII punctuation), `|` is escaped so it does not
/// end the cell, and line breaks become `<br>` because a table row must stay on one line.
pub(crate) fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("<br>");
                }
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a Prometheus label value: backslash, double quote and line feed.
pub fn prom_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_all_five() {
        assert_eq!(
            html(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn xml_replaces_forbidden_controls() {
        assert_eq!(xml("a\u{1}b\nc", false), "a\u{FFFD}b\nc");
        assert_eq!(xml("a\nb'", true), "a&#10;b&apos;");
    }

    #[test]
    fn markdown_keeps_cells_on_one_line() {
        assert_eq!(markdown("a|b\r\nc\nd"), "a\\|b<br>c<br>d");
        assert_eq!(markdown("<b>*x*</b>"), "\\<b\\>\\*x\\*\\</b\\>");
    }

    #[test]
    fn prom_label_escapes() {
        assert_eq!(prom_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
