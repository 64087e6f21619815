//! The one error type of this crate: every problem found, each naming its key and source.

use std::fmt;

use serde::Serialize;

/// One thing wrong with the configuration.
///
/// Displayed as `key = value (from source): what is expected`, for example
/// `products[1].pan_lengths[0] = 25 (from /etc/issuance-desk/config.toml): a PAN has 12 to 19 digits`.
/// `value` is left out for keys whose value must not be echoed (the encryption key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The key path, e.g. `products[1].bin_ranges[0].to`; empty for a whole file.
    pub key: String,
    /// The offending value as written, when it is safe and useful to show it.
    pub value: Option<String>,
    /// Where the value came from: a file path, an environment variable name or
    /// `built-in defaults`, when known.
    pub source: Option<String>,
    /// What is wrong and what is expected, in plain English.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            match &self.source {
                Some(source) => write!(f, "{source}: {}", self.message),
                None => f.write_str(&self.message),
            }
        } else {
            f.write_str(&self.key)?;
            if let Some(value) = &self.value {
                write!(f, " = {value}")?;
            }
            if let Some(source) = &self.source {
                write!(f, " (from {source})")?;
            }
            write!(f, ": {}", self.message)
        }
    }
}

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The configuration (after merging every layer) has one or more problems.
    /// All problems found are listed, not only the first.
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// Every problem found.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(problems) => problems,
        }
    }
}

fn list(problems: &[Problem]) -> String {
    let mut out = match problems.len() {
        1 => String::from("The configuration has 1 problem:"),
        n => format!("The configuration has {n} problems:"),
    };
    for problem in problems {
        out.push_str("\n  - ");
        out.push_str(&problem.to_string());
    }
    out
}
