//! `hostvars`: every host's variables, as the current play sees them, for templates.
//!
//! The executor owns one [`HostVarsTable`] per play and refreshes a host's entry whenever that
//! host's facts or registered values change. Entries are stored without their own `hostvars`
//! link; [`HostVarsSource::scope_of`] adds it on the way out through a weak self-reference, so the
//! table and the scopes it hands out never keep each other alive.

use std::sync::{Arc, RwLock, Weak};

use indexmap::IndexMap;

use super::{HostVarsSource, VarScope};

/// The table behind `hostvars` for one play.
#[derive(Debug)]
pub struct HostVarsTable {
    me: Weak<HostVarsTable>,
    scopes: RwLock<IndexMap<String, VarScope>>,
}

impl HostVarsTable {
    /// An empty table, ready to be shared with scopes through [`VarScope::set_hostvars`].
    pub fn new() -> Arc<HostVarsTable> {
        Arc::new_cyclic(|me| HostVarsTable {
            me: me.clone(),
            scopes: RwLock::new(IndexMap::new()),
        })
    }

    /// Sets (or replaces) the scope of host `name`. Insertion order is the order of
    /// [`HostVarsSource::host_names`], so insert hosts in inventory order.
    pub fn set(&self, name: &str, scope: VarScope) {
        // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
        let mut map = self.scopes.write().unwrap_or_else(|e| e.into_inner());
        map.insert(name.to_string(), scope);
    }
}

impl HostVarsSource for HostVarsTable {
    fn host_names(&self) -> Vec<String> {
        let map = self.scopes.read().unwrap_or_else(|e| e.into_inner());
        map.keys().cloned().collect()
    }

    fn scope_of(&self, name: &str) -> Option<VarScope> {
        let map = self.scopes.read().unwrap_or_else(|e| e.into_inner());
        let mut scope = map.get(name)?.clone();
        if let Some(me) = self.me.upgrade() {
            scope.set_hostvars(me);
        }
        Some(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::{Layer, VarMap};
    use serde_json::json;

    #[test]
    fn scopes_come_back_with_hostvars_linked() {
        let table = HostVarsTable::new();
        let mut vars = VarMap::new();
        vars.insert("x".into(), json!(1));
        let mut s = VarScope::new();
        s.push(Layer::HostVars, Arc::new(vars));
        table.set("web1", s);
        table.set("web2", VarScope::new());
        assert_eq!(table.host_names(), vec!["web1", "web2"]);
        let got = table.scope_of("web1").unwrap();
        assert_eq!(got.get("x"), Some(&json!(1)));
        let again = got.hostvars().unwrap().scope_of("web1").unwrap();
        assert_eq!(again.get("x"), Some(&json!(1)));
        assert!(table.scope_of("nope").is_none());
    }
}
