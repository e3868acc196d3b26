//! Templating: minijinja configured to behave like Ansible's Jinja2.
//!
//! This module owns the template environment (filters, tests, lookups, Python-style methods,
//! `trim_blocks`, the `#jinja2:` header) and the rules for templating values: a string that is
//! exactly one `{{ expr }}` keeps the expression's native type; other strings render to
//! strings; lists and mappings are templated recursively. Variables are resolved lazily from a
//! [`crate::vars::VarScope`]: a variable whose value is itself a template is rendered when it is
//! read, in the same scope.
//!
//! Layout: `error` (the error type and its conversion from minijinja), `scope` (the lazy
//! variable objects and the per-render resolver), `convert` (minijinja values to JSON, Python
//! `repr`/`str`, `escape_backslashes`), `chain` (chained undefined lookups under `default` and
//! `is defined`), `mutable` (`append`/`update` on values a template creates), `filters/`,
//! `tests`, `methods` (Python methods on values), `lookups`, `header` (`#jinja2:`).
//!
//! Deliberate differences from ansible-core 2.19, each because the alternative would reject
//! content that older Ansible accepted or needs a dependency jig does not carry:
//! - a conditional whose result is not a bool uses Jinja truthiness (2.19 rejects it unless
//!   `ALLOW_BROKEN_CONDITIONALS` is set);
//! - in-place mutation works on lists and dicts a template made with `{% set %}`; values from
//!   variables stay immutable and mutating them is an error that shows the alternative;
//! - `password_hash` and `password` with `encrypt=` are errors (no crypt(3) implementation);
//! - `random`/`shuffle` with `seed=` are repeatable but not Python's sequence;
//! - `strftime` formats local time by shifting UTC, so `%Z` prints `UTC`.

mod chain;
mod convert;
mod error;
mod filters;
mod header;
mod lookups;
mod methods;
mod mutable;
mod pyrandom;
mod scope;
pub(crate) mod tests;
mod url;
mod version;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value as Json;

use crate::vars::VarScope;

pub use error::TemplateError;

use scope::Resolver;

/// The value of the magic variable `omit`: a marker that makes [`Templar::template_value`] drop
/// the mapping entry or list item holding it.
pub const OMIT: &str = "__omit_place_holder__5e3c7d1a9b2f4e6088a1c0d2f3b4a596";

/// True if the string contains template syntax (`{{`, `{%` or `{#`).
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The template engine, configured like Ansible's Jinja2. Cheap to clone.
#[derive(Clone)]
pub struct Templar {
    inner: Arc<Inner>,
}

struct Inner {
    /// The environment for task strings: trim_blocks on, Ansible's trailing-newline rule.
    env: Environment<'static>,
    /// Converted template-free lists and mappings, shared by every render (see `scope`).
    data: Arc<scope::DataCache>,
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templar")
    }
}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

/// Builds an environment with Ansible's filters, tests, functions and the given syntax.
fn build_env(syntax: SyntaxConfig) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(convert::formatter);
    env.set_unknown_method_callback(methods::unknown_method);
    // Deep but finite: a runaway recursive macro must become an error, not a stack overflow.
    env.set_recursion_limit(200);
    minijinja_contrib::add_to_environment(&mut env);
    filters::register(&mut env);
    tests::register(&mut env);
    lookups::register(&mut env);
    env.add_function(chain::CHAIN_FN, chain::chain);
    env.add_function(mutable::MUT_FN, mutable::make_mut);
    env
}

/// The syntax Ansible uses for task strings and templates unless a header says otherwise.
fn default_syntax() -> SyntaxConfig {
    header::HeaderOptions::default()
        .syntax()
        .unwrap_or_default()
}

impl Templar {
    /// A templar with Ansible's default options.
    pub fn new() -> Templar {
        Templar {
            inner: Arc::new(Inner {
                env: build_env(default_syntax()),
                data: Arc::default(),
            }),
        }
    }

    pub(crate) fn env(&self) -> &Environment<'static> {
        &self.inner.env
    }

    pub(crate) fn data_cache(&self) -> &scope::DataCache {
        &self.inner.data
    }

    /// Renders a string template to a string.
    pub fn render_str(&self, template: &str, scope: &VarScope) -> Result<String, TemplateError> {
        if !is_template(template) {
            return Ok(template.to_string());
        }
        let resolver = Resolver::new(self.clone(), scope.clone());
        let out = resolver.render_string(template, None, true);
        resolver.finish(out)
    }

    /// Templates a value recursively (lists, mappings, keys too). A string that is exactly one
    /// `{{ expr }}` keeps the expression's native type (list, dict, int, bool, none). Mapping
    /// entries and list items whose value is the `omit` placeholder are dropped.
    pub fn template_value(&self, value: &Json, scope: &VarScope) -> Result<Json, TemplateError> {
        if !convert::json_has_template(value) {
            return Ok(value.clone());
        }
        let resolver = Resolver::new(self.clone(), scope.clone());
        let out = self.template_json(value, &resolver);
        resolver.finish(out)
    }

    fn template_json(&self, value: &Json, resolver: &Arc<Resolver>) -> Result<Json, TemplateError> {
        match value {
            Json::String(s) if is_template(s) => {
                let v = resolver.render_native(s, None)?;
                convert::value_to_json(&v).map_err(|e| TemplateError::from_mj(e, s))
            }
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.template_json(item, resolver)?;
                    if !is_omit(&v) {
                        out.push(v);
                    }
                }
                Ok(Json::Array(out))
            }
            Json::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let key = if is_template(k) {
                        resolver.render_string(k, None, true)?
                    } else {
                        k.clone()
                    };
                    let v = self.template_json(v, resolver)?;
                    if !is_omit(&v) {
                        out.insert(key, v);
                    }
                }
                Ok(Json::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// A conditional (`when`, `changed_when`, `failed_when`, `until`, `assert that`): a bool
    /// literal, or a bare Jinja expression (Ansible wraps it in `{% if %}`); a string wrapped in
    /// `{{ }}` is accepted too. Returns Ansible's truthiness.
    pub fn eval_condition(
        &self,
        condition: &Json,
        scope: &VarScope,
    ) -> Result<bool, TemplateError> {
        match condition {
            // An empty conditional imposes no condition, as in Ansible.
            Json::Null => Ok(true),
            Json::Bool(b) => Ok(*b),
            Json::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Json::Array(items) => {
                for c in items {
                    if !self.eval_condition(c, scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Json::Object(_) => Err(TemplateError::Invalid {
                message: "a conditional must be an expression, not a mapping".into(),
                template: condition.to_string(),
                hint: "write the condition as a string, e.g. `when: x is defined`".into(),
            }),
            Json::String(s) => {
                let resolver = Resolver::new(self.clone(), scope.clone());
                // A conditional with embedded templates around other text (`"{{ a }} == 1"`)
                // is rendered first, then the text is evaluated, as older Ansible did.
                let rendered;
                let expr = match single_expression(s) {
                    Some(e) => e,
                    None if is_template(s) => {
                        rendered = resolver.finish(resolver.render_string(s, None, false))?;
                        rendered.as_str()
                    }
                    None => s.as_str(),
                };
                let out = resolver.eval_expr(expr, false).and_then(|v| {
                    if v.is_undefined() {
                        Err(TemplateError::undefined(expr.trim(), s))
                    } else {
                        Ok(convert::truthy(&v))
                    }
                });
                resolver.finish(out)
            }
        }
    }

    /// A bare expression's value (`debug: var=`, `loop` items given as a bare name in
    /// with_items).
    pub fn eval_expr(&self, expr: &str, scope: &VarScope) -> Result<Json, TemplateError> {
        let resolver = Resolver::new(self.clone(), scope.clone());
        let out = resolver.eval_expr(expr, true).and_then(|v| {
            if v.is_undefined() {
                Err(TemplateError::undefined(expr.trim(), expr))
            } else {
                convert::value_to_json(&v).map_err(|e| TemplateError::from_mj(e, expr))
            }
        });
        resolver.finish(out)
    }

    /// Runs lookup `name` as `query()` does (always a list): the terms and keyword options
    /// are given as data, already templated, so that `with_<lookup>` loops and other callers
    /// reach every lookup jig implements with Ansible's semantics and errors.
    pub fn query(
        &self,
        name: &str,
        terms: &[Json],
        options: &serde_json::Map<String, Json>,
        scope: &VarScope,
    ) -> Result<Vec<Json>, TemplateError> {
        let mut call = scope.clone();
        let args: crate::vars::VarMap = [
            (
                "__jig_lookup_name".to_string(),
                Json::String(name.to_string()),
            ),
            (
                "__jig_lookup_terms".to_string(),
                Json::Array(terms.to_vec()),
            ),
            (
                "__jig_lookup_options".to_string(),
                Json::Object(options.clone()),
            ),
        ]
        .into_iter()
        .collect();
        call.push(crate::vars::Layer::TaskVars, Arc::new(args));
        let expr = "query(__jig_lookup_name, *__jig_lookup_terms, **__jig_lookup_options)";
        match self.eval_expr(expr, &call)? {
            Json::Array(items) => Ok(items),
            other => Ok(vec![other]),
        }
    }

    /// Renders a template file for the `template` module: `#jinja2:` header honoured,
    /// trim_blocks on, trailing newline kept; `{% include %}`/`{% import %}`/`{% extends %}`
    /// are searched as by [`Templar::render_file_in`] with the scope's `role_path` and
    /// `playbook_dir` as bases.
    pub fn render_file(&self, path: &Path, scope: &VarScope) -> Result<String, TemplateError> {
        let mut bases: Vec<PathBuf> = Vec::new();
        for key in ["role_path", "playbook_dir"] {
            if let Some(Json::String(dir)) = scope.get(key) {
                bases.push(PathBuf::from(dir));
            }
        }
        self.render_file_in(path, scope, &bases)
    }

    /// [`Templar::render_file`] with the task's search path: names in `{% include %}`,
    /// `{% import %}` and `{% extends %}` are looked up as Ansible's template action does,
    /// in each of `bases` (the role, the task file's directory, the playbook directory) and
    /// then the template's own directory, each as `<dir>/templates/<name>` then
    /// `<dir>/<name>`. Public roles document extending their templates from the playbook
    /// (`{% extends 'roles/ROLE/templates/x.j2' %}`), which needs the bare directories.
    pub fn render_file_in(
        &self,
        path: &Path,
        scope: &VarScope,
        bases: &[PathBuf],
    ) -> Result<String, TemplateError> {
        let source = std::fs::read_to_string(path).map_err(|e| TemplateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let (opts, body) = header::parse(&source).map_err(|message| TemplateError::Invalid {
            message,
            template: path.display().to_string(),
            hint: "fix the `#jinja2:` header on the first line".into(),
        })?;
        let syntax = opts
            .syntax()
            .map_err(|e| TemplateError::from_mj(e, &source))?;
        let mut env = build_env(syntax);
        let mut dirs: Vec<PathBuf> = Vec::new();
        for base in bases.iter().map(PathBuf::as_path).chain(path.parent()) {
            for dir in [base.join("templates"), base.to_path_buf()] {
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        }
        env.set_loader(move |name| {
            let candidate = Path::new(name);
            if candidate.is_absolute() {
                return read_optional(candidate);
            }
            for dir in &dirs {
                if let Some(text) = read_optional(&dir.join(candidate))? {
                    return Ok(Some(text));
                }
            }
            Ok(None)
        });
        let templar = Templar {
            inner: Arc::new(Inner {
                env,
                data: self.inner.data.clone(),
            }),
        };
        let resolver = Resolver::new(templar, scope.clone());
        let name = path.display().to_string();
        let out = resolver.render_string(body, Some(&name), false);
        resolver.finish(out)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, minijinja::Error> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot read template {}: {e}", path.display()),
        )),
    }
}

fn is_omit(v: &Json) -> bool {
    matches!(v, Json::String(s) if s == OMIT)
}

/// The expression inside a string that is exactly one `{{ ... }}` (no text around it), as
/// Ansible's native rendering sees it.
pub(crate) fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    Some(inner)
}

/// Converts a JSON value into a template value (plain, without lazy templating).
pub(crate) fn json_value(v: &Json) -> Value {
    crate::template::convert::ser(v)
}

#[cfg(test)]
mod unit_tests;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod recorded_tests;

#[cfg(test)]
mod parity_tests;
