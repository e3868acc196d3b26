//! Keyword inheritance: play -> block -> (include) -> task.
//!
//! Inner values override outer ones, except `when` and `tags`, which accumulate, `vars`, which
//! become stacked block-variable layers, and `environment`, which merges in order. The result
//! of walking down to a task is an [`Inherit`], from which [`Inherit::for_task`] derives the
//! effective keywords of one task.

use std::sync::Arc;

use serde_json::Value as Json;

use crate::playbook::{Block, Keywords, Role, Task};
use crate::vars::{Layer, VarMap};

/// Everything a task inherits from the play, blocks, role entries and includes around it.
#[derive(Clone, Debug, Default)]
pub struct Inherit {
    /// Conditions of the enclosing blocks (all must hold for every task inside).
    pub when: Vec<Json>,
    /// Tags of the enclosing blocks and play.
    pub tags: Vec<String>,
    /// Block and include variables, outermost first.
    pub vars: Vec<(Layer, Arc<VarMap>)>,
    /// Other keywords, merged (inner wins); `when`, `tags` and `vars` are empty here.
    pub kw: Keywords,
    /// The role the tasks belong to.
    pub role: Option<Arc<Role>>,
    /// A failure here is caught by an enclosing `rescue`, so it is not counted as failed yet.
    pub rescuable: bool,
    /// `notify` of the innermost enclosing block that has one (a task's own `notify` wins).
    pub notify: Vec<String>,
}

/// Merges the scalar keywords of `inner` over `outer`; environments are concatenated.
pub fn merge(outer: &Keywords, inner: &Keywords) -> Keywords {
    fn pick(o: &Option<Json>, i: &Option<Json>) -> Option<Json> {
        i.clone().or_else(|| o.clone())
    }
    let mut environment = outer.environment.clone();
    environment.extend(inner.environment.iter().cloned());
    Keywords {
        when: Vec::new(),
        tags: Vec::new(),
        vars: VarMap::new(),
        become_: pick(&outer.become_, &inner.become_),
        become_user: pick(&outer.become_user, &inner.become_user),
        become_method: pick(&outer.become_method, &inner.become_method),
        become_flags: pick(&outer.become_flags, &inner.become_flags),
        environment,
        ignore_errors: pick(&outer.ignore_errors, &inner.ignore_errors),
        ignore_unreachable: pick(&outer.ignore_unreachable, &inner.ignore_unreachable),
        check_mode: pick(&outer.check_mode, &inner.check_mode),
        diff: pick(&outer.diff, &inner.diff),
        no_log: pick(&outer.no_log, &inner.no_log),
        delegate_to: pick(&outer.delegate_to, &inner.delegate_to),
        delegate_facts: pick(&outer.delegate_facts, &inner.delegate_facts),
        run_once: pick(&outer.run_once, &inner.run_once),
        any_errors_fatal: pick(&outer.any_errors_fatal, &inner.any_errors_fatal),
        connection: pick(&outer.connection, &inner.connection),
        remote_user: pick(&outer.remote_user, &inner.remote_user),
        throttle: pick(&outer.throttle, &inner.throttle),
        timeout: pick(&outer.timeout, &inner.timeout),
        module_defaults: merge_module_defaults(&outer.module_defaults, &inner.module_defaults),
    }
}

/// `module_defaults` of outer and inner scopes as one list, outer first: as in Ansible, every
/// level applies and an inner one wins for the same argument.
fn merge_module_defaults(outer: &Option<Json>, inner: &Option<Json>) -> Option<Json> {
    let as_list = |v: &Option<Json>| -> Vec<Json> {
        match v {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(a)) => a.clone(),
            Some(other) => vec![other.clone()],
        }
    };
    let mut all = as_list(outer);
    all.extend(as_list(inner));
    (!all.is_empty()).then_some(Json::Array(all))
}

impl Inherit {
    /// What the items of `block` inherit.
    pub fn enter_block(&self, block: &Block) -> Inherit {
        let mut inh = self.enter_keywords(&block.keywords);
        if let Some(role) = &block.role {
            inh.role = Some(role.clone());
        }
        if !block.rescue.is_empty() {
            inh.rescuable = true;
        }
        if !block.notify.is_empty() {
            inh.notify = block.notify.clone();
        }
        inh
    }

    /// What tasks inherit from keywords applied around them (a block, an `apply:`).
    pub fn enter_keywords(&self, kw: &Keywords) -> Inherit {
        let mut inh = self.clone();
        inh.when.extend(kw.when.iter().cloned());
        inh.tags.extend(kw.tags.iter().cloned());
        if !kw.vars.is_empty() {
            inh.vars.push((Layer::BlockVars, Arc::new(kw.vars.clone())));
        }
        inh.kw = merge(&self.kw, kw);
        inh
    }

    /// The task's effective conditions, tags and keywords.
    pub fn for_task(&self, task: &Task) -> Effective {
        let mut when = self.when.clone();
        when.extend(task.keywords.when.iter().cloned());
        let mut tags = self.tags.clone();
        tags.extend(task.keywords.tags.iter().cloned());
        Effective {
            when,
            tags,
            kw: merge(&self.kw, &task.keywords),
            role: task.role.clone().or_else(|| self.role.clone()),
            notify: if task.notify.is_empty() {
                self.notify.clone()
            } else {
                task.notify.clone()
            },
        }
    }
}

/// One task's effective keywords after inheritance.
#[derive(Clone, Debug)]
pub struct Effective {
    /// All conditions that must hold.
    pub when: Vec<Json>,
    /// All tags.
    pub tags: Vec<String>,
    /// Merged keywords (task over block over play).
    pub kw: Keywords,
    /// The task's role.
    pub role: Option<Arc<Role>>,
    /// Handler names or `listen` topics notified on change (the task's or its block's).
    pub notify: Vec<String>,
}

/// Reads the keywords of an `apply:` mapping (include_tasks / include_role).
pub fn from_apply(apply: &Json) -> Keywords {
    let mut kw = Keywords::default();
    let Json::Object(m) = apply else {
        return kw;
    };
    for (k, v) in m {
        match k.as_str() {
            "when" => match v {
                Json::Array(a) => kw.when.extend(a.iter().cloned()),
                other => kw.when.push(other.clone()),
            },
            "tags" => match v {
                Json::Array(a) => kw.tags.extend(a.iter().map(tag_string)),
                Json::String(s) => kw.tags.extend(
                    s.split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()),
                ),
                other => kw.tags.push(tag_string(other)),
            },
            "vars" => {
                if let Json::Object(vars) = v {
                    kw.vars = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
            }
            "environment" => kw.environment.push(v.clone()),
            "become" => kw.become_ = Some(v.clone()),
            "become_user" => kw.become_user = Some(v.clone()),
            "become_method" => kw.become_method = Some(v.clone()),
            "become_flags" => kw.become_flags = Some(v.clone()),
            "ignore_errors" => kw.ignore_errors = Some(v.clone()),
            "check_mode" => kw.check_mode = Some(v.clone()),
            "diff" => kw.diff = Some(v.clone()),
            "no_log" => kw.no_log = Some(v.clone()),
            "delegate_to" => kw.delegate_to = Some(v.clone()),
            "run_once" => kw.run_once = Some(v.clone()),
            "any_errors_fatal" => kw.any_errors_fatal = Some(v.clone()),
            _ => {}
        }
    }
    kw
}

fn tag_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inner_wins_and_when_tags_accumulate() {
        let outer = Keywords {
            become_: Some(json!(true)),
            become_user: Some(json!("root")),
            environment: vec![json!({"A": "1"})],
            ..Keywords::default()
        };
        let inner = Keywords {
            become_user: Some(json!("app")),
            environment: vec![json!({"B": "2"})],
            when: vec![json!("x")],
            tags: vec!["t".into()],
            ..Keywords::default()
        };
        let base = Inherit {
            when: vec![json!("a")],
            tags: vec!["play".into()],
            kw: outer,
            ..Inherit::default()
        };
        let inh = base.enter_keywords(&inner);
        assert_eq!(inh.kw.become_, Some(json!(true)));
        assert_eq!(inh.kw.become_user, Some(json!("app")));
        assert_eq!(inh.kw.environment.len(), 2);
        assert_eq!(inh.when, vec![json!("a"), json!("x")]);
        assert_eq!(inh.tags, vec!["play".to_string(), "t".to_string()]);
    }

    #[test]
    fn apply_reads_common_keywords() {
        let kw = from_apply(&json!({"tags": "a, b", "become": true, "vars": {"x": 1}}));
        assert_eq!(kw.tags, vec!["a", "b"]);
        assert_eq!(kw.become_, Some(json!(true)));
        assert_eq!(kw.vars["x"], json!(1));
    }
}
