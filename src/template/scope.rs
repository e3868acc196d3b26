//! Lazy variables: the render context is an object over a [`VarScope`]. A variable whose raw
//! value holds templates is rendered when it is read, in the same scope; lists and mappings
//! holding templates become lazy objects whose items are rendered when read. `vars` and
//! `hostvars` are provided here too. Recursion (`a: "{{ b }}"`, `b: "{{ a }}"`) is detected and
//! reported instead of overflowing the stack.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use serde_json::Value as Json;

use super::convert::{escape_backslashes, escape_expr_strings, json_has_template};
use super::{OMIT, Templar, TemplateError, is_template, json_value, single_expression};
use crate::vars::{VarMap, VarScope};

/// How deep lazy renders may nest before it is called a loop.
const MAX_DEPTH: usize = 64;

/// Converted template-free data by (layer address, variable name).
pub(crate) type DataCache = Mutex<HashMap<(usize, String), (Weak<VarMap>, Value)>>;

/// The name under which templates reach their resolver (for lookups).
pub(crate) const RESOLVER_KEY: &str = "__jig_resolver__";

/// Per-render state: the scope, the cache of resolved variables and the first error met
/// inside a lazy render (object lookups cannot return errors, so it is kept here).
pub(crate) struct Resolver {
    pub(crate) templar: Templar,
    pub(crate) scope: VarScope,
    stack: Mutex<Vec<String>>,
    cache: Mutex<HashMap<String, Value>>,
    /// The first error met inside a lazy render, with the variables being resolved then.
    error: Mutex<Option<(TemplateError, Vec<String>)>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps half-updated in a way that matters.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Resolver {
    pub(crate) fn new(templar: Templar, scope: VarScope) -> Arc<Resolver> {
        Arc::new(Resolver {
            templar,
            scope,
            stack: Mutex::new(Vec::new()),
            cache: Mutex::new(HashMap::new()),
            error: Mutex::new(None),
        })
    }

    /// The root context value for a render.
    pub(crate) fn context(self: &Arc<Self>) -> Value {
        Value::from_object(ScopeObj {
            resolver: self.clone(),
            emits: Mutex::new((0, None)),
        })
    }

    /// Turns a render's result into the final one: an error met inside a lazy variable explains
    /// an outer "undefined" better than the outer error does.
    pub(crate) fn finish<T>(&self, out: Result<T, TemplateError>) -> Result<T, TemplateError> {
        match out {
            Ok(v) => Ok(v),
            Err(outer) => match lock(&self.error).take() {
                Some((inner, roots))
                    if matches!(&outer, TemplateError::Undefined { name, .. }
                        if !super::error::root_name(name).is_some_and(|r| roots.iter().any(|x| x == r)))
                        && !matches!(inner, TemplateError::Recursion { .. }) =>
                {
                    Err(self.pinpoint(outer))
                }
                Some((inner, _))
                    if matches!(outer, TemplateError::Undefined { .. })
                        || matches!(inner, TemplateError::Recursion { .. }) =>
                {
                    Err(inner)
                }
                _ => Err(self.pinpoint(outer)),
            },
        }
    }

    /// The first dotted path in `text` (`r.rc`, `a.b.c`) whose root variable is defined but
    /// whose attribute is missing from the variable's (untemplated) value: the usual culprit
    /// when a registered result lacks a key, e.g. a task skipped in check mode.
    fn missing_attribute(&self, text: &str) -> Option<String> {
        for path in super::error::dotted_paths(text) {
            let mut parts = path.split('.');
            let Some(mut value) = parts.next().and_then(|root| self.scope.get(root)) else {
                continue;
            };
            for key in parts {
                match value.get(key) {
                    Some(next) => value = next,
                    None if value.is_object() => return Some(path.to_string()),
                    None => break,
                }
            }
        }
        None
    }

    /// For an undefined error whose text is a whole expression (`foo ~ 'x'`), names the first
    /// variable in it that the scope does not define.
    fn pinpoint(&self, err: TemplateError) -> TemplateError {
        match err {
            TemplateError::Undefined {
                name,
                template,
                line,
            } if super::error::root_name(&name).is_none() => {
                // With no usable snippet the name is a placeholder; look at the whole template.
                let text = if name == super::error::UNKNOWN_OPERAND {
                    template.as_str()
                } else {
                    name.as_str()
                };
                let culprit = super::error::identifiers(text)
                    .into_iter()
                    .find(|id| self.scope.get(id).is_none() && !super::error::is_builtin_name(id))
                    .map(str::to_string)
                    .or_else(|| self.missing_attribute(text));
                TemplateError::Undefined {
                    name: culprit.unwrap_or(name),
                    template,
                    line,
                }
            }
            other => other,
        }
    }

    fn record(&self, err: TemplateError, label: &str) {
        let mut roots: Vec<String> = lock(&self.stack).clone();
        roots.push(label.to_string());
        // Lazy mapping entries are labelled `var.key`; the variable is what templates name.
        let roots = roots
            .into_iter()
            .map(|r| super::error::root_name(&r).unwrap_or(&r).to_string())
            .collect();
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some((err, roots));
        }
    }

    fn depth_guard(&self, name: &str) -> Result<(), TemplateError> {
        let mut stack = lock(&self.stack);
        if stack.iter().any(|n| n == name) || stack.len() >= MAX_DEPTH {
            let mut chain = stack.clone();
            chain.push(name.to_string());
            return Err(TemplateError::Recursion { chain });
        }
        stack.push(name.to_string());
        Ok(())
    }

    fn pop(&self) {
        lock(&self.stack).pop();
    }

    /// Renders a template to a string in this resolver's scope.
    /// `escape` applies Ansible's `escape_backslashes` (task strings from YAML); template
    /// files are rendered without it.
    pub(crate) fn render_string(
        self: &Arc<Self>,
        source: &str,
        name: Option<&str>,
        escape: bool,
    ) -> Result<String, TemplateError> {
        self.render_with(source, name, escape, self.context())
    }

    fn render_with(
        self: &Arc<Self>,
        source: &str,
        name: Option<&str>,
        escape: bool,
        ctx: Value,
    ) -> Result<String, TemplateError> {
        let env = self.templar.env();
        let mut text = if escape {
            escape_backslashes(source)
        } else {
            std::borrow::Cow::Borrowed(source)
        };
        let syntax = env.syntax();
        let delims = [syntax.variable_delimiters(), syntax.block_delimiters()];
        if let Some(rewritten) = super::chain::rewrite_template(&text, &delims) {
            text = std::borrow::Cow::Owned(rewritten);
        }
        if let Some(rewritten) = super::mutable::rewrite(&text, syntax.block_delimiters()) {
            text = std::borrow::Cow::Owned(rewritten);
        }
        let r = match name {
            Some(n) => env.render_named_str(n, &text, ctx),
            None => env.render_str(&text, ctx),
        };
        let mut out = r.map_err(|e| TemplateError::from_mj(e, name.unwrap_or(source)))?;
        // Ansible's preserve_trailing_newlines: the result ends with at least as many newlines
        // as the source did.
        let trailing = |s: &str| s.len() - s.trim_end_matches('\n').len();
        let missing = trailing(source).saturating_sub(trailing(&out));
        out.extend(std::iter::repeat_n('\n', missing));
        Ok(out)
    }

    /// Evaluates a bare expression; an undefined result is returned as undefined. `escape`
    /// applies Ansible's `escape_backslashes` (not for conditionals).
    pub(crate) fn eval_expr(
        self: &Arc<Self>,
        expr: &str,
        escape: bool,
    ) -> Result<Value, TemplateError> {
        let env = self.templar.env();
        let mut text = if escape && expr.contains('\\') {
            escape_expr_strings(expr)
        } else {
            expr.to_string()
        };
        if let Some(rewritten) = super::chain::rewrite_expr(&text) {
            text = rewritten;
        }
        let compiled = env
            .compile_expression_owned(text)
            .map_err(|e| TemplateError::from_mj(e, expr))?;
        compiled
            .eval(self.context())
            .map_err(|e| TemplateError::from_mj(e, expr))
    }

    /// Renders a string the way Ansible templates a value: exactly one `{{ expr }}` keeps the
    /// expression's native type, anything else becomes a string.
    pub(crate) fn render_native(
        self: &Arc<Self>,
        source: &str,
        name: Option<&str>,
    ) -> Result<Value, TemplateError> {
        match single_expression(source) {
            Some(expr) => {
                let v = self.eval_expr(expr, true)?;
                if v.is_undefined() {
                    return Err(TemplateError::undefined(expr.trim(), source));
                }
                Ok(v)
            }
            None => {
                // Jinja's native concatenation: output made of exactly one `{{ }}` (statements
                // aside) keeps that expression's type.
                let ctx = self.context();
                let text = self.render_with(source, name, true, ctx.clone())?;
                if let Some(obj) = ctx.downcast_object_ref::<ScopeObj>() {
                    let emits = lock(&obj.emits);
                    if let (1, Some(v)) = (emits.0, &emits.1)
                        && super::convert::formatted(v) == text
                    {
                        return Ok(v.clone());
                    }
                }
                Ok(Value::from(text))
            }
        }
    }

    /// The value of variable `name` as templates see it, rendered lazily.
    fn variable(self: &Arc<Self>, name: &str) -> Option<Value> {
        if let Some(v) = lock(&self.cache).get(name) {
            return Some(v.clone());
        }
        let (layer, raw) = self
            .scope
            .layers()
            .iter()
            .rev()
            .find_map(|(_, m)| m.get(name).map(|v| (m, v)))?;
        let v = match raw {
            Json::Array(_) | Json::Object(_) => self.shared_data(layer, name, raw)?,
            _ => self.lazy(raw, name)?,
        };
        lock(&self.cache).insert(name.to_string(), v.clone());
        Some(v)
    }

    /// Lists and mappings without templates are converted once per layer and shared by every
    /// later render (facts, inventory data); the layer is immutable behind its `Arc`, and the
    /// `Weak` proves the entry is still about the same map.
    fn shared_data(self: &Arc<Self>, layer: &Arc<VarMap>, name: &str, raw: &Json) -> Option<Value> {
        let key = (Arc::as_ptr(layer) as usize, name.to_string());
        let cache = self.templar.data_cache();
        if let Some((weak, v)) = lock(cache).get(&key)
            && weak.upgrade().is_some_and(|l| Arc::ptr_eq(&l, layer))
        {
            return Some(v.clone());
        }
        if json_has_template(raw) {
            return self.lazy(raw, name);
        }
        let v = json_value(raw);
        let mut c = lock(cache);
        if c.len() >= 4096 {
            c.retain(|_, (w, _)| w.strong_count() > 0);
        }
        c.insert(key, (Arc::downgrade(layer), v.clone()));
        Some(v)
    }

    /// Converts a raw value to a template value, rendering strings now and wrapping containers
    /// that hold templates in lazy objects. `None` (undefined) if rendering failed; the error
    /// is recorded.
    pub(crate) fn lazy(self: &Arc<Self>, raw: &Json, label: &str) -> Option<Value> {
        match raw {
            Json::String(s) if is_template(s) => {
                if let Err(e) = self.depth_guard(label) {
                    self.record(e, label);
                    return None;
                }
                let r = self.render_native(s, None);
                self.pop();
                match r {
                    Ok(v) => Some(v),
                    Err(e) => {
                        self.record(e.in_variable(label), label);
                        None
                    }
                }
            }
            Json::Array(items) if json_has_template(raw) => Some(Value::from_object(LazySeq {
                resolver: self.clone(),
                items: Arc::new(items.clone()),
                label: label.to_string(),
                cache: Mutex::new(HashMap::new()),
            })),
            Json::Object(map) if json_has_template(raw) => Some(Value::from_object(LazyMap {
                resolver: self.clone(),
                map: Arc::new(map.clone()),
                label: label.to_string(),
                cache: Mutex::new(HashMap::new()),
            })),
            other => Some(json_value(other)),
        }
    }
}

/// The root context of a render: every variable of the scope, plus `vars` and `hostvars`.
#[derive(Debug)]
pub(crate) struct ScopeObj {
    pub(crate) resolver: Arc<Resolver>,
    /// How many `{{ }}` this render emitted, and the last value (for native results).
    emits: Mutex<(usize, Option<Value>)>,
}

impl ScopeObj {
    /// Notes a value written by `{{ }}`.
    pub(crate) fn record_emit(&self, v: &Value) {
        let mut e = lock(&self.emits);
        e.0 += 1;
        e.1 = if e.0 == 1 { Some(v.clone()) } else { None };
    }
}

/// Whether `v` is one of the objects that expose a whole variable scope (`vars`, `hostvars`,
/// the render context), which are never walked eagerly.
pub(crate) fn is_scope_object(v: &Value) -> bool {
    v.downcast_object_ref::<ScopeObj>().is_some()
        || v.downcast_object_ref::<VarsObj>().is_some()
        || v.downcast_object_ref::<HostVarsObj>().is_some()
}

impl Object for ScopeObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if let Some(v) = self.resolver.variable(name) {
            return Some(v);
        }
        match name {
            "vars" => Some(Value::from_object(VarsObj {
                resolver: self.resolver.clone(),
            })),
            "hostvars" => Some(Value::from_object(HostVarsObj {
                resolver: self.resolver.clone(),
                cache: Mutex::new(HashMap::new()),
            })),
            "omit" => Some(Value::from(OMIT)),
            RESOLVER_KEY => Some(Value::from_dyn_object(self.clone())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.resolver
                .scope
                .names()
                .into_iter()
                .map(Value::from)
                .collect(),
        )
    }
}

/// `vars`: every variable of the scope, by name.
#[derive(Debug)]
struct VarsObj {
    resolver: Arc<Resolver>,
}

impl Object for VarsObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.resolver.variable(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.resolver
                .scope
                .names()
                .into_iter()
                .map(Value::from)
                .collect(),
        )
    }
}

/// `hostvars`: each inventory host's variables, its scope resolved lazily on first use.
#[derive(Debug)]
struct HostVarsObj {
    resolver: Arc<Resolver>,
    cache: Mutex<HashMap<String, Value>>,
}

impl Object for HostVarsObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let host = key.as_str()?;
        if let Some(v) = lock(&self.cache).get(host) {
            return Some(v.clone());
        }
        let source = self.resolver.scope.hostvars()?;
        let scope = source.scope_of(host)?;
        let r = Resolver::new(self.resolver.templar.clone(), scope);
        let v = Value::from_object(VarsObj { resolver: r });
        lock(&self.cache).insert(host.to_string(), v.clone());
        Some(v)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.resolver.scope.hostvars() {
            Some(src) => {
                Enumerator::Values(src.host_names().into_iter().map(Value::from).collect())
            }
            None => Enumerator::Empty,
        }
    }
}

/// A mapping whose values hold templates, rendered on access.
#[derive(Debug)]
struct LazyMap {
    resolver: Arc<Resolver>,
    map: Arc<serde_json::Map<String, Json>>,
    label: String,
    cache: Mutex<HashMap<String, Value>>,
}

impl Object for LazyMap {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = match key.as_str() {
            Some(s) => s.to_string(),
            None => key.to_string(),
        };
        if let Some(v) = lock(&self.cache).get(&k) {
            return Some(v.clone());
        }
        let raw = self.map.get(&k)?;
        let v = self.resolver.lazy(raw, &format!("{}.{}", self.label, k))?;
        lock(&self.cache).insert(k, v.clone());
        Some(v)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.map.keys().map(|k| Value::from(k.as_str())).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map.len())
    }
}

/// A list whose items hold templates, rendered on access.
#[derive(Debug)]
struct LazySeq {
    resolver: Arc<Resolver>,
    items: Arc<Vec<Json>>,
    label: String,
    cache: Mutex<HashMap<usize, Value>>,
}

impl Object for LazySeq {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let idx = usize::try_from(key.clone()).ok()?;
        if let Some(v) = lock(&self.cache).get(&idx) {
            return Some(v.clone());
        }
        let raw = self.items.get(idx)?;
        let v = self
            .resolver
            .lazy(raw, &format!("{}[{}]", self.label, idx))?;
        lock(&self.cache).insert(idx, v.clone());
        Some(v)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.items.len())
    }
}
