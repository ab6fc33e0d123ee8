//! Integration tests of `sre-render`: one binary, one module per concern.
//!
//! Every format is pinned by an insta snapshot of the same fixture report; the machine formats
//! are also checked by the real consumers where they exist on the machine (`promtool`,
//! Python's `xml.etree` and `jsonschema` with the official SARIF schema and with
//! `docs/report.schema.json`, the JSON report contract).

// Tests may panic on broken expectations; `expect` messages say what went wrong.
#![allow(clippy::unwrap_used)]

mod escaping;
mod external;
mod fixture;
mod formats;
mod html;
mod json;
mod junit;
mod prometheus;
mod sarif;
mod schema;
mod snapshots;
mod table;
