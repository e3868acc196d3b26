//! Ansible's filters, one file per family, registered into the environment here. Filters
//! that Jinja2 and minijinja share keep minijinja's implementation unless Ansible's differs.

mod basic;
pub(crate) mod crypt;
mod data;
mod hash;
mod net;
mod paths;
pub(crate) mod regex;
pub(crate) mod yaml;

pub(crate) use basic::{ansible_bool, py_split as core_split, py_type_name};
pub(crate) use paths::glob_files as paths_glob;

use minijinja::value::{Rest, Value, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};

/// Adds every filter to `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    basic::register(env);
    data::register(env);
    hash::register(env);
    net::register(env);
    paths::register(env);
    regex::register(env);
    yaml::register(env);
}

/// An `InvalidOperation` error with `msg`, for filters.
pub(crate) fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The items of a sequence-like value, or an error naming the filter.
pub(crate) fn items_of(filter: &str, v: &Value) -> Result<Vec<Value>, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("{filter} got an undefined value"),
        ));
    }
    if v.as_str().is_some() {
        return Err(fail(format!("{filter} expects a list, got a string")));
    }
    Ok(v.try_iter()
        .map_err(|_| fail(format!("{filter} expects a list, got {}", v.kind())))?
        .collect())
}

/// The (key, value) pairs of a mapping, or an error naming the filter.
pub(crate) fn pairs_of(filter: &str, v: &Value) -> Result<Vec<(Value, Value)>, Error> {
    if v.kind() != minijinja::value::ValueKind::Map {
        return Err(fail(format!(
            "{filter} expects a dictionary, got {}",
            v.kind()
        )));
    }
    let mut out = Vec::new();
    for k in v.try_iter()? {
        let item = v.get_item(&k)?;
        out.push((k, item));
    }
    Ok(out)
}

/// Registers filter `f` so that an undefined input is an error naming the filter, as with
/// Ansible's strict undefined (only `default`, `mandatory` and tests accept undefined).
pub(crate) fn strict<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let func = Value::from_function(f);
    env.add_filter(
        name,
        move |state: &mut State, args: Rest<ValueOrKwargs>| -> Result<Value, Error> {
            let args = args.into_values();
            if args.first().is_some_and(|a| a.is_undefined()) {
                return Err(Error::new(
                    ErrorKind::UndefinedError,
                    format!("the `{name}` filter got an undefined value"),
                ));
            }
            func.call(state, &args)
        },
    );
}
