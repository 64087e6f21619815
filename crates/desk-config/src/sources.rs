//! Where the configuration comes from: the layers and their file paths.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

use crate::model::Config;

/// Environment variable that replaces the machine-wide file path (empty: no machine file).
/// Debug builds only ([`crate::dev_hooks`]).
pub const MACHINE_CONFIG_ENV: &str = crate::dev_hooks::MACHINE_CONFIG;
/// Environment variable that replaces the per-user file path (empty: no user file).
/// Debug builds only ([`crate::dev_hooks`]).
pub const USER_CONFIG_ENV: &str = crate::dev_hooks::USER_CONFIG;
/// Prefix of the environment variables that set keys: `ISSUANCE_DESK__SECTION__KEY`.
pub const ENV_PREFIX: &str = "ISSUANCE_DESK__";

pub(crate) const DEFAULTS_NAME: &str = "built-in defaults";
pub(crate) const ENV_NAME: &str = "environment variable";

/// The documented machine-wide file path of this OS:
/// Linux `/etc/issuance-desk/config.toml`, Windows `%ProgramData%\IssuanceDesk\config.toml`,
/// macOS `/Library/Application Support/IssuanceDesk/config.toml`.
pub fn default_machine_config_path() -> PathBuf {
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        base.join("IssuanceDesk").join("config.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/IssuanceDesk/config.toml")
    } else {
        PathBuf::from("/etc/issuance-desk/config.toml")
    }
}

/// The per-user file path: the OS config directory (`dirs::config_dir()`: `$XDG_CONFIG_HOME` or
/// `~/.config` on Linux, `%APPDATA%` on Windows, `~/Library/Application Support` on macOS)
/// + `issuance-desk/config.toml`. `None` when the OS gives no config directory.
pub fn default_user_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("issuance-desk").join("config.toml"))
}

/// Which layer a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The machine-wide file pushed by IT.
    Machine,
    /// The per-user file.
    User,
}

/// A configuration file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The path.
    pub path: PathBuf,
    /// A missing file is an error (an explicit override) rather than "not configured".
    pub required: bool,
}

impl ConfigFile {
    /// A file that may be absent (the documented default paths).
    pub fn optional(path: impl Into<PathBuf>) -> Self {
        ConfigFile {
            path: path.into(),
            required: false,
        }
    }

    /// A file that must exist (an explicit override or a test file).
    pub fn required(path: impl Into<PathBuf>) -> Self {
        ConfigFile {
            path: path.into(),
            required: true,
        }
    }
}

/// Who must own the machine-wide file (Unix; the check is skipped on other systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineFileOwner {
    /// root (uid 0): what the app and the CLI require of the documented path.
    Root,
    /// This user id (tests that cannot create root-owned files).
    Uid(u32),
    /// Anyone: the debug-only path override, which already trusts whoever set the variable.
    Anyone,
}

/// The inputs of [`crate::Config::load`]. Tests build one by hand; the app uses
/// [`ConfigSources::from_process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSources {
    /// The machine-wide file, if any.
    pub machine_file: Option<ConfigFile>,
    /// The per-user file, if any.
    pub user_file: Option<ConfigFile>,
    /// Environment variables to consider (name, value); only those starting with `env_prefix`
    /// are used.
    pub env_vars: Vec<(String, String)>,
    /// Normally [`ENV_PREFIX`].
    pub env_prefix: String,
    /// Who must own the machine-wide file. Whatever this says, a machine file that group or
    /// others may write is refused (Unix).
    pub machine_file_owner: MachineFileOwner,
}

impl Default for ConfigSources {
    /// Built-in defaults only: no file, no environment variable.
    fn default() -> Self {
        ConfigSources {
            machine_file: None,
            user_file: None,
            env_vars: Vec::new(),
            env_prefix: ENV_PREFIX.to_string(),
            machine_file_owner: MachineFileOwner::Root,
        }
    }
}

impl ConfigSources {
    /// Built-in defaults only.
    pub fn defaults_only() -> Self {
        Self::default()
    }

    /// What the app and the CLI use: the documented OS paths, plus the process environment.
    /// Debug builds only: `ISSUANCE_DESK_MACHINE_CONFIG` / `ISSUANCE_DESK_USER_CONFIG` replace
    /// the paths (an empty value means "no such file"; a path given this way must exist).
    pub fn from_process() -> Self {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::from_vars(vars)
    }

    /// Like [`ConfigSources::from_process`], with an explicit list of environment variables.
    /// The path overrides in `vars` are honoured in debug builds only.
    pub fn from_vars(vars: Vec<(String, String)>) -> Self {
        let lookup = |name: &str| crate::dev_hooks::lookup(&vars, name);
        let mut machine_file_owner = MachineFileOwner::Root;
        let machine_file = match lookup(MACHINE_CONFIG_ENV) {
            Some(p) if p.is_empty() => None,
            Some(p) => {
                machine_file_owner = MachineFileOwner::Anyone;
                Some(ConfigFile::required(p))
            }
            None => Some(ConfigFile::optional(default_machine_config_path())),
        };
        let user_file = match lookup(USER_CONFIG_ENV) {
            Some(p) if p.is_empty() => None,
            Some(p) => Some(ConfigFile::required(p)),
            None => default_user_config_path().map(ConfigFile::optional),
        };
        ConfigSources {
            machine_file,
            user_file,
            env_vars: vars,
            env_prefix: ENV_PREFIX.to_string(),
            machine_file_owner,
        }
    }

    /// Set who must own the machine-wide file (tests that cannot create root-owned files).
    pub fn with_machine_file_owner(mut self, owner: MachineFileOwner) -> Self {
        self.machine_file_owner = owner;
        self
    }

    /// Set the machine-wide file (must exist).
    pub fn with_machine_file(mut self, path: impl AsRef<Path>) -> Self {
        self.machine_file = Some(ConfigFile::required(path.as_ref()));
        self
    }

    /// Set the per-user file (must exist).
    pub fn with_user_file(mut self, path: impl AsRef<Path>) -> Self {
        self.user_file = Some(ConfigFile::required(path.as_ref()));
        self
    }

    /// Add an environment variable.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars.push((name.into(), value.into()));
        self
    }
}

/// The built-in defaults as a figment provider, named so errors say "built-in defaults".
pub(crate) struct DefaultsLayer;

impl Provider for DefaultsLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(DEFAULTS_NAME)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        figment::providers::Serialized::defaults(Config::training_defaults()).data()
    }
}

/// `ISSUANCE_DESK__SECTION__KEY=value` variables as a figment provider. Values stay strings
/// (numbers and booleans are converted by the typed structs), except values starting with `[`
/// or `{`, which are parsed as lists / tables (`[16, 19]`).
pub(crate) struct EnvLayer {
    pub prefix: String,
    pub vars: Vec<(String, String)>,
}

impl EnvLayer {
    /// The variables that belong to this layer, as (variable name, key path) pairs.
    pub fn keys(&self) -> Vec<(String, Vec<String>)> {
        self.vars
            .iter()
            .filter_map(|(name, _)| {
                let rest = name.strip_prefix(&self.prefix)?;
                let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
                if path.iter().any(|p| p.is_empty()) {
                    return None;
                }
                Some((name.clone(), path))
            })
            .collect()
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        let prefix = self.prefix.clone();
        Metadata::named(ENV_NAME).interpolater(move |_profile, keys| {
            let upper: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
            format!("{prefix}{}", upper.join("__"))
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut root = Dict::new();
        for (name, path) in self.keys() {
            let Some(raw) = self.vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v) else {
                continue;
            };
            let trimmed = raw.trim_start();
            let value: Value = if trimmed.starts_with('[') || trimmed.starts_with('{') {
                raw.parse().unwrap_or_else(|_| Value::from(raw.clone()))
            } else {
                Value::from(raw.clone())
            };
            insert(&mut root, &path, value);
        }
        let mut map = Map::new();
        map.insert(Profile::Default, root);
        Ok(map)
    }
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}
