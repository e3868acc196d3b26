//! Variables: the layers a host's variables come from, their precedence, and lookup.
//!
//! A [`VarScope`] is the stack of layers visible to one task on one host, lowest precedence
//! first, as DESIGN.md orders them: role defaults; inventory group_vars (all, parents,
//! children); inventory host_vars; facts; play vars and vars_files; role vars and params; block
//! vars; task vars; include_vars, set_fact and registered results; extra vars. Values are stored
//! untemplated; the templating layer resolves them lazily when a template reads them, so a role
//! default may refer to a fact that is gathered later. A scope is cheap to clone and extend:
//! layers are shared behind `Arc`s.

pub mod extra;

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;

/// A map of variable names to (untemplated) values.
pub type VarMap = IndexMap<String, Json>;

/// Where a layer of variables comes from, in increasing precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// `roles/x/defaults/`.
    RoleDefaults,
    /// `group_vars/all` and `[all:vars]`.
    GroupVarsAll,
    /// Other groups' vars, parents before children.
    GroupVars,
    /// Host variables from the inventory and `host_vars/`.
    HostVars,
    /// Gathered facts (`ansible_*`, `ansible_facts`).
    Facts,
    /// Play `vars:`, `vars_files:` and `vars_prompt`.
    PlayVars,
    /// `roles/x/vars/` and role parameters.
    RoleVars,
    /// Block `vars:`.
    BlockVars,
    /// Task `vars:` (and loop variables).
    TaskVars,
    /// `include_vars`, `set_fact` and `register` results.
    HostFacts,
    /// `-e` extra vars.
    ExtraVars,
    /// Magic variables jig sets (`inventory_hostname`, `groups`, `ansible_check_mode`...).
    Magic,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Layer::RoleDefaults => "role defaults",
            Layer::GroupVarsAll => "group_vars/all",
            Layer::GroupVars => "group_vars",
            Layer::HostVars => "host_vars",
            Layer::Facts => "facts",
            Layer::PlayVars => "play vars",
            Layer::RoleVars => "role vars",
            Layer::BlockVars => "block vars",
            Layer::TaskVars => "task vars",
            Layer::HostFacts => "set_fact/register/include_vars",
            Layer::ExtraVars => "extra vars",
            Layer::Magic => "magic variables",
        };
        f.write_str(s)
    }
}

/// Gives templates access to other hosts' variables (`hostvars`).
pub trait HostVarsSource: Send + Sync + fmt::Debug {
    /// Every inventory host name, in inventory order.
    fn host_names(&self) -> Vec<String>;
    /// The scope of host `name` as the current play sees it, if the host exists.
    fn scope_of(&self, name: &str) -> Option<VarScope>;
}

/// The variables one task sees on one host: layers in precedence order.
#[derive(Clone, Debug, Default)]
pub struct VarScope {
    layers: Vec<(Layer, Arc<VarMap>)>,
    hostvars: Option<Arc<dyn HostVarsSource>>,
}

impl VarScope {
    /// An empty scope.
    pub fn new() -> Self {
        VarScope::default()
    }

    /// Adds a layer. Layers may be pushed in any order; lookup honours [`Layer`] order, and
    /// among layers of the same kind the one pushed last wins.
    pub fn push(&mut self, layer: Layer, vars: Arc<VarMap>) {
        let at = self
            .layers
            .iter()
            .position(|(l, _)| *l > layer)
            .unwrap_or(self.layers.len());
        self.layers.insert(at, (layer, vars));
    }

    /// A copy of this scope with one more layer.
    pub fn with(&self, layer: Layer, vars: Arc<VarMap>) -> Self {
        let mut s = self.clone();
        s.push(layer, vars);
        s
    }

    /// Sets the source of `hostvars`.
    pub fn set_hostvars(&mut self, source: Arc<dyn HostVarsSource>) {
        self.hostvars = Some(source);
    }

    /// The source of `hostvars`, if any.
    pub fn hostvars(&self) -> Option<&Arc<dyn HostVarsSource>> {
        self.hostvars.as_ref()
    }

    /// The untemplated value of `name` from the highest layer that defines it.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.layers.iter().rev().find_map(|(_, m)| m.get(name))
    }

    /// Like [`VarScope::get`], also naming the layer that won (for `jig explain`).
    pub fn get_with_layer(&self, name: &str) -> Option<(Layer, &Json)> {
        self.layers
            .iter()
            .rev()
            .find_map(|(l, m)| m.get(name).map(|v| (*l, v)))
    }

    /// Every variable name visible in this scope, without duplicates, lowest layer first.
    pub fn names(&self) -> Vec<String> {
        let mut seen = indexmap::IndexSet::new();
        for (_, m) in &self.layers {
            for k in m.keys() {
                seen.insert(k.clone());
            }
        }
        seen.into_iter().collect()
    }

    /// The layers, lowest precedence first.
    pub fn layers(&self) -> &[(Layer, Arc<VarMap>)] {
        &self.layers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, Json)]) -> Arc<VarMap> {
        Arc::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn higher_layers_win_whatever_the_push_order() {
        let mut s = VarScope::new();
        s.push(Layer::ExtraVars, map(&[("a", json!("extra"))]));
        s.push(
            Layer::RoleDefaults,
            map(&[("a", json!("default")), ("b", json!(1))]),
        );
        s.push(Layer::PlayVars, map(&[("a", json!("play"))]));
        assert_eq!(s.get("a"), Some(&json!("extra")));
        assert_eq!(s.get("b"), Some(&json!(1)));
        assert_eq!(
            s.get_with_layer("a").map(|(l, _)| l),
            Some(Layer::ExtraVars)
        );
        assert_eq!(s.names(), vec!["a".to_string(), "b".to_string()]);
    }
}
