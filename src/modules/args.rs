//! Typed access to a module's templated arguments, with Ansible's coercions and clear errors.

use indexmap::IndexMap;
use serde_json::Value as Json;

/// A module's arguments after templating. `omit` has already removed its keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleArgs {
    module: String,
    values: IndexMap<String, Json>,
}

/// An argument is missing, of the wrong type, or not allowed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArgError {
    /// A required argument is missing.
    #[error("{module}: missing required argument '{name}'")]
    Missing {
        /// The module.
        module: String,
        /// The argument.
        name: String,
    },
    /// An argument has a value that cannot be used.
    #[error("{module}: argument '{name}' {problem}")]
    Invalid {
        /// The module.
        module: String,
        /// The argument.
        name: String,
        /// What is wrong ("must be a boolean, got 'maybe'").
        problem: String,
    },
    /// Arguments that cannot be combined, or other misuse.
    #[error("{module}: {message}")]
    Other {
        /// The module.
        module: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl ModuleArgs {
    /// Wraps templated arguments for `module`.
    pub fn new(module: impl Into<String>, values: IndexMap<String, Json>) -> Self {
        ModuleArgs {
            module: module.into(),
            values,
        }
    }

    /// The module these arguments are for.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// The first of several aliases that is set (`path`, `dest`, `name`).
    pub fn get_any<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &Json)> {
        names.iter().find_map(|n| self.get(n).map(|v| (*n, v)))
    }

    /// Every argument name given.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// A string argument; numbers and booleans are converted as Ansible does.
    pub fn str(&self, name: &str) -> Result<Option<String>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(Json::Number(n)) => Ok(Some(n.to_string())),
            Some(Json::Bool(b)) => Ok(Some(if *b { "True" } else { "False" }.to_string())),
            Some(other) => Err(self.invalid(name, format!("must be a string, got {other}"))),
        }
    }

    /// A required string argument.
    pub fn req_str(&self, name: &str) -> Result<String, ArgError> {
        self.str(name)?.ok_or_else(|| ArgError::Missing {
            module: self.module.clone(),
            name: name.to_string(),
        })
    }

    /// A boolean argument with Ansible's spellings (`yes`, `on`, `1`, `true`... any case).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_bool(v)
                .map(Some)
                .ok_or_else(|| self.invalid(name, format!("must be a boolean, got {v}"))),
        }
    }

    /// A boolean argument with a default.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ArgError> {
        Ok(self.bool(name)?.unwrap_or(default))
    }

    /// An integer argument (strings of digits accepted).
    pub fn int(&self, name: &str) -> Result<Option<i64>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.invalid(name, format!("must be an integer, got {n}"))),
            Some(Json::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(name, format!("must be an integer, got '{s}'"))),
            Some(other) => Err(self.invalid(name, format!("must be an integer, got {other}"))),
        }
    }

    /// A list argument: a list, or a comma-separated string, as Ansible accepts.
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Json::String(s) => Ok(s.clone()),
                    Json::Number(n) => Ok(n.to_string()),
                    other => {
                        Err(self.invalid(name, format!("must be a list of strings, got {other}")))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Json::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            )),
            Some(other) => Err(self.invalid(name, format!("must be a list, got {other}"))),
        }
    }

    /// Rejects arguments the module does not know, naming them.
    pub fn check_known(&self, known: &[&str]) -> Result<(), ArgError> {
        let unknown: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k) && !k.starts_with('_'))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ArgError::Other {
                module: self.module.clone(),
                message: format!(
                    "unsupported parameters: {} (supported: {})",
                    unknown.join(", "),
                    known.join(", ")
                ),
            })
        }
    }

    /// An `Invalid` error for argument `name`.
    pub fn invalid(&self, name: &str, problem: impl Into<String>) -> ArgError {
        ArgError::Invalid {
            module: self.module.clone(),
            name: name.to_string(),
            problem: problem.into(),
        }
    }

    /// An `Other` error for this module.
    pub fn error(&self, message: impl Into<String>) -> ArgError {
        ArgError::Other {
            module: self.module.clone(),
            message: message.into(),
        }
    }
}

/// Ansible's boolean coercion: `yes/on/1/true/y/t` and `no/off/0/false/n/f`, any case.
pub fn parse_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => {
            let x = n.as_f64()?;
            if x == 1.0 {
                Some(true)
            } else if x == 0.0 {
                Some(false)
            } else {
                None
            }
        }
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" | "1.0" => Some(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "0.0" | "" => Some(false),
            _ => None,
        },
        Json::Null => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Json) -> ModuleArgs {
        let map = v
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        ModuleArgs::new("copy", map)
    }

    #[test]
    fn booleans_take_ansible_spellings() {
        let a = args(json!({"a": "yes", "b": "Off", "c": 1, "d": "maybe"}));
        assert_eq!(a.bool("a"), Ok(Some(true)));
        assert_eq!(a.bool("b"), Ok(Some(false)));
        assert_eq!(a.bool("c"), Ok(Some(true)));
        assert!(
            a.bool("d")
                .unwrap_err()
                .to_string()
                .contains("must be a boolean")
        );
    }

    #[test]
    fn unknown_arguments_are_named() {
        let a = args(json!({"dest": "/x", "bogus": 1}));
        let e = a.check_known(&["dest", "src"]).unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }
}
