//! Reading a section so that one run of `config check` names every problem: when a value of a
//! section cannot be read (a type error, an unknown key, a typo in an enum), the problem is
//! reported, that value is set aside and the section is read again, until it reads or nothing
//! more can be set aside. The rest of the section is then validated as usual, so a type error
//! no longer hides the other problems of its section.

use figment::error::Kind;
use figment::value::Value;
use serde::de::DeserializeOwned;

use crate::load::Reporter;

/// Most values set aside in one section (a guard: each round removes one).
const MAX_SET_ASIDE: usize = 256;

/// Deserializes `value` as `T`, reporting every value it cannot read under `key`. `None` when
/// the section still cannot be read (e.g. a required key is missing).
pub(crate) fn read_all<T: DeserializeOwned>(
    reporter: &mut Reporter<'_>,
    value: &Value,
    key: &str,
) -> Option<T> {
    let mut value = value.clone();
    for _ in 0..MAX_SET_ASIDE {
        match T::deserialize(&value) {
            Ok(read) => return Some(read),
            Err(error) => {
                let offender = offender(&error.path, &error.kind);
                reporter.report_de(key, error);
                if !offender.is_some_and(|path| set_aside(&mut value, &path)) {
                    return None;
                }
            }
        }
    }
    None
}

/// The path of the value to set aside for this error, if one can be.
fn offender(path: &[String], kind: &Kind) -> Option<Vec<String>> {
    let mut path = path.to_vec();
    let named = match kind {
        // A required key cannot be made up.
        Kind::MissingField(_) => return None,
        Kind::UnknownField(name, _) => Some(name.as_str()),
        Kind::DuplicateField(name) => Some(*name),
        _ => None,
    };
    // figment's path may or may not end with the key it names.
    if let Some(name) = named
        && path.last().map(String::as_str) != Some(name)
    {
        path.push(name.to_owned());
    }
    // An item of a list goes with its whole list: removing one item would shift the indexes
    // that the next problems name.
    while path.last().is_some_and(|seg| seg.parse::<usize>().is_ok()) {
        path.pop();
    }
    (!path.is_empty()).then_some(path)
}

/// Removes the value at `path` (a key of a table); false when there is none.
fn set_aside(value: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for seg in parents {
        current = match current {
            Value::Dict(_, dict) => match dict.get_mut(seg) {
                Some(next) => next,
                None => return false,
            },
            Value::Array(_, items) => {
                match seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match current {
        Value::Dict(_, dict) => dict.remove(last).is_some(),
        _ => false,
    }
}
