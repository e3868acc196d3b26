//! `report.json`: the [`Report`] as JSON, in the versioned schema documented in
//! docs/report-schema.md (`"schema": "jig.report/1"`).

use super::model::Report;

/// The report as pretty-printed JSON, ending with a newline.
pub fn render(report: &Report) -> String {
    // Serializing plain data (strings, numbers, maps with string keys) cannot fail.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        serde_json::json!({ "schema": super::model::SCHEMA, "errors": [e.to_string()] }).to_string()
    });
    text.push('\n');
    text
}
