//! How Ansible's output spells values: results as `json.dumps(..., sort_keys=True,
//! ensure_ascii=False)` and loop labels as Python's `str()`. The spellings themselves live in
//! [`crate::pyfmt`]; this module fixes the options the console uses.

use serde_json::Value as Json;

use crate::pyfmt::{self, Dumps};

pub use crate::pyfmt::repr;

/// `json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent)`, as Ansible prints
/// results.
pub fn dumps(value: &Json, indent: Option<usize>) -> String {
    pyfmt::dumps(
        value,
        Dumps {
            indent,
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

/// A loop item's label as Ansible shows it: Python's `str()` (`(item=web)`,
/// `(item={'name': 'x'})`).
pub fn item_label(value: &Json) -> String {
    pyfmt::str(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_sorts_keys_and_uses_python_separators() {
        let v = json!({"b": [1, "x"], "a": {"d": null, "c": true}, "e": "é\n\"q\""});
        assert_eq!(
            dumps(&v, None),
            r#"{"a": {"c": true, "d": null}, "b": [1, "x"], "e": "é\n\"q\""}"#
        );
        assert_eq!(
            dumps(&v, Some(4)),
            "{\n    \"a\": {\n        \"c\": true,\n        \"d\": null\n    },\n    \"b\": [\n        1,\n        \"x\"\n    ],\n    \"e\": \"é\\n\\\"q\\\"\"\n}"
        );
        assert_eq!(
            dumps(&json!({"a": [], "b": {}}), Some(4)),
            "{\n    \"a\": [],\n    \"b\": {}\n}"
        );
    }

    #[test]
    fn labels_are_python_str() {
        assert_eq!(item_label(&json!("web 1")), "web 1");
        assert_eq!(item_label(&json!(1)), "1");
        assert_eq!(
            item_label(&json!({"a": "b", "c": true, "d": null, "e": [1.5, "it's"]})),
            "{'a': 'b', 'c': True, 'd': None, 'e': [1.5, \"it's\"]}"
        );
        assert_eq!(repr(&json!("a'b\"c\n")), "'a\\'b\"c\\n'");
    }
}
