//! Templating: minijinja configured to behave like Ansible's Jinja2.
//!
//! This module owns the template environment (filters, tests, lookups, Python-style methods,
//! `trim_blocks`, the `#jinja2:` header) and the rules for templating values: a string that is
//! exactly one `{{ expr }}` keeps the expression's native type; other strings render to
//! strings; lists and mappings are templated recursively. Variables are resolved lazily from a
//! [`crate::vars::VarScope`]: a variable whose value is itself a template is rendered when it is
//! read, in the same scope.
