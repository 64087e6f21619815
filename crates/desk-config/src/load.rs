//! Merging the layers (figment) and turning every problem into a [`Problem`].

use std::path::{Path, PathBuf};

use figment::error::Kind;
use figment::providers::{Format, Toml};
use figment::value::Value;
use figment::{Figment, Metadata, Profile, Provider, Source};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ConfigError, Problem};
use crate::ledger::LedgerConfig;
use crate::model::{
    Config, D1Config, Environment, JournalConfig, KeysConfig, LogConfig, Product, RetryConfig,
    Services, Station, Supervisors, UiConfig,
};
use crate::sources::{ConfigSources, DEFAULTS_NAME, DefaultsLayer, ENV_NAME, EnvLayer, Layer};
use crate::validate;

/// A configuration file that was considered while loading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Machine-wide or per-user.
    pub layer: Layer,
    /// The path looked at.
    pub path: PathBuf,
    /// Whether the file existed and was read (a missing optional file is not an error).
    pub read: bool,
}

/// The result of [`Config::load`]: the configuration and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadedConfig {
    /// The effective, validated configuration.
    pub config: Config,
    /// The files considered, in layer order (machine, then user).
    pub files: Vec<FileReport>,
    /// Names of the `ISSUANCE_DESK__*` environment variables that were applied.
    pub env_vars: Vec<String>,
}

const TOP_LEVEL_KEYS: &[&str] = &[
    "environment",
    "d1",
    "products",
    "stations",
    "services",
    "supervisors",
    "ui",
    "retry",
    "journal",
    "log",
    "keys",
    "ledger",
    "approvals",
    "spoiled",
];

/// Sections as deserialized; `None` (or a missing list element) when it could not be read, in
/// which case its problem is already reported and its checks are skipped.
pub(crate) struct Draft {
    pub environment: Option<Environment>,
    pub d1: Option<D1Config>,
    /// (index in the merged list, product)
    pub products: Option<Vec<(usize, Product)>>,
    pub products_from_defaults: bool,
    pub stations: Option<Vec<(usize, Station)>>,
    pub stations_from_defaults: bool,
    pub services: Option<Services>,
    pub supervisors: Option<Supervisors>,
    pub ui: Option<UiConfig>,
    pub retry: Option<RetryConfig>,
    pub journal: Option<JournalConfig>,
    pub log: Option<LogConfig>,
    pub keys: Option<KeysConfig>,
    /// The machine-wide file, when one was read: its settings cannot be overridden.
    pub machine_file: Option<PathBuf>,
    /// `ui.idle_clear_seconds` as the machine file (or the defaults under it) sets it: the
    /// upper bound for a per-user file or a variable. `None` when no machine file was read.
    pub machine_idle_bound: Option<u32>,
    pub ledger: Option<LedgerConfig>,
    pub approvals: Option<crate::counter::ApprovalsConfig>,
    pub spoiled: Option<crate::counter::SpoiledConfig>,
}

/// Collects problems and knows where each merged value came from.
pub(crate) struct Reporter<'a> {
    figment: &'a Figment,
    root: &'a Value,
    machine_path: Option<PathBuf>,
    pub problems: Vec<Problem>,
}

/// One step of a key path.
enum Seg<'s> {
    Key(&'s str),
    Index(usize),
}

fn parse_key(key: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Seg::Key(name));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']').unwrap_or(stripped.len());
            if let Ok(i) = stripped[..end].parse() {
                out.push(Seg::Index(i));
            }
            rest = stripped.get(end + 1..).unwrap_or("");
        }
    }
    out
}

impl<'a> Reporter<'a> {
    /// The deepest merged value along `key`, with the dict keys walked to reach it.
    fn deepest(&self, key: &str) -> (&'a Value, Vec<String>) {
        let mut value = self.root;
        let mut keys = Vec::new();
        for seg in parse_key(key) {
            let next = match (&seg, value) {
                (Seg::Key(k), Value::Dict(_, dict)) => dict.get(*k),
                (Seg::Index(i), Value::Array(_, items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(v) => {
                    value = v;
                    match seg {
                        Seg::Key(k) => keys.push(k.to_string()),
                        Seg::Index(i) => keys.push(i.to_string()),
                    }
                }
                None => break,
            }
        }
        (value, keys)
    }

    fn metadata_of(&self, value: &Value) -> Option<&'a Metadata> {
        self.figment.get_metadata(value.tag())
    }

    /// Where the value at `key` came from, for people.
    /// `None` when the key is absent from every layer (a required key that is missing).
    pub fn source_of(&self, key: &str) -> Option<String> {
        let (value, keys) = self.deepest(key);
        if keys.len() < parse_key(key).len() || matches!(value, Value::Empty(..)) {
            return None;
        }
        let metadata = self.metadata_of(value)?;
        Some(describe(metadata, &keys))
    }

    /// Whether the value at `key` comes from the built-in defaults.
    pub fn is_default(&self, key: &str) -> bool {
        let (value, _) = self.deepest(key);
        self.metadata_of(value)
            .is_some_and(|m| m.name == DEFAULTS_NAME)
    }

    /// Whether the value at `key` comes from the machine-wide file (or the defaults).
    pub fn is_machine_or_default(&self, key: &str) -> bool {
        let (value, _) = self.deepest(key);
        let Some(metadata) = self.metadata_of(value) else {
            return true;
        };
        if metadata.name == DEFAULTS_NAME {
            return true;
        }
        match (&metadata.source, &self.machine_path) {
            (Some(Source::File(p)), Some(machine)) => same_file(p, machine),
            _ => false,
        }
    }

    /// The leaf keys under `key` (empty tables and lists included), for the machine-only rules.
    pub fn leaves(&self, key: &str) -> Vec<String> {
        fn walk(value: &Value, prefix: String, out: &mut Vec<String>) {
            match value {
                // An emptied table or list is a setting too (it replaces the lower layer's).
                Value::Dict(_, dict) if dict.is_empty() => out.push(prefix),
                Value::Array(_, items) if items.is_empty() => out.push(prefix),
                Value::Dict(_, dict) => {
                    for (k, v) in dict {
                        walk(v, format!("{prefix}.{k}"), out);
                    }
                }
                Value::Array(_, items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(v, format!("{prefix}[{i}]"), out);
                    }
                }
                _ => out.push(prefix),
            }
        }
        let (value, keys) = self.deepest(key);
        let mut out = Vec::new();
        if keys.len() == parse_key(key).len() {
            walk(value, key.to_string(), &mut out);
        }
        out
    }

    /// Report a problem at `key`. `value` is shown to people: never pass secret material.
    /// Whether a problem at `key` was already reported.
    pub fn has_problem_at(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }

    pub fn report(&mut self, key: &str, value: Option<String>, message: impl Into<String>) {
        // A value set aside because it could not be read is not reported again as missing or
        // out of range (crate::recover).
        if self.problems.iter().any(|p| p.key == key) {
            return;
        }
        let source = self.source_of(key);
        self.problems.push(Problem {
            key: key.to_string(),
            value,
            source,
            message: message.into(),
        });
    }

    /// Turn a deserialization error of the value at `base` into a problem.
    pub(crate) fn report_de(&mut self, base: &str, error: figment::Error) {
        let mut key = base.to_string();
        for seg in &error.path {
            if seg.parse::<usize>().is_ok() {
                key.push_str(&format!("[{seg}]"));
            } else if key.is_empty() {
                key.push_str(seg);
            } else {
                key.push('.');
                key.push_str(seg);
            }
        }
        let join = |k: &str, name: &str| {
            if k == name || k.ends_with(&format!(".{name}")) {
                k.to_string()
            } else if k.is_empty() {
                name.to_string()
            } else {
                format!("{k}.{name}")
            }
        };
        let (key, message) = match &error.kind {
            Kind::UnknownField(name, expected) => (
                join(&key, name),
                format!(
                    "unknown key (a typo?); the keys allowed here are: {}",
                    expected.join(", ")
                ),
            ),
            Kind::MissingField(name) => (join(&key, name), "this key is required".to_string()),
            Kind::UnknownVariant(value, expected) => (
                key,
                format!(
                    "{value:?} is not allowed; use one of: {}",
                    expected.join(", ")
                ),
            ),
            Kind::InvalidType(actual, expected) => {
                (key, format!("expected {expected}, found {actual}"))
            }
            Kind::DuplicateField(name) => (join(&key, name), "this key is set twice".to_string()),
            other => (key, other.to_string()),
        };
        if self.problems.iter().any(|p| p.key == key) {
            return;
        }
        let source = self.source_of(&key);
        self.problems.push(Problem {
            key,
            value: None,
            source,
            message,
        });
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn describe(metadata: &Metadata, keys: &[String]) -> String {
    if metadata.name == ENV_NAME {
        let dict_keys: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .take_while(|k| k.parse::<usize>().is_err())
            .collect();
        return metadata.interpolate(&Profile::Default, &dict_keys);
    }
    match &metadata.source {
        Some(Source::File(path)) => path.display().to_string(),
        _ => metadata.name.to_string(),
    }
}

/// The first line (where) and last line (what) of a TOML parse error, without the quoted source
/// line (which could show a value).
fn short_toml_error(error: &figment::Error) -> String {
    let text = match &error.kind {
        Kind::Message(m) => m.clone(),
        other => other.to_string(),
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.contains(" | "))
        .collect();
    match (lines.first(), lines.last()) {
        (Some(first), Some(last)) if lines.len() > 1 => format!("{first}: {last}"),
        (Some(first), _) => (*first).to_string(),
        _ => "the file is not valid TOML".to_string(),
    }
}

impl Config {
    /// Merge built-in defaults < machine-wide file < per-user file < environment variables,
    /// then validate. Every problem is collected into one [`ConfigError`].
    pub fn load(sources: &ConfigSources) -> Result<LoadedConfig, ConfigError> {
        let mut problems = Vec::new();
        let mut files = Vec::new();
        let mut figment = Figment::from(DefaultsLayer);

        let layers = [
            (Layer::Machine, &sources.machine_file),
            (Layer::User, &sources.user_file),
        ];
        for (layer, file) in layers {
            let Some(file) = file else { continue };
            let path = &file.path;
            if layer == Layer::Machine
                && path.is_file()
                && let Some(message) =
                    crate::trust::machine_file_problem(path, sources.machine_file_owner)
            {
                problems.push(Problem {
                    key: String::new(),
                    value: None,
                    source: Some(path.display().to_string()),
                    message,
                });
                continue;
            }
            if path.is_file() {
                let provider = Toml::file_exact(path);
                match provider.data() {
                    Ok(_) => {
                        figment = figment.merge(provider);
                        files.push(FileReport {
                            layer,
                            path: path.clone(),
                            read: true,
                        });
                    }
                    Err(e) => problems.push(Problem {
                        key: String::new(),
                        value: None,
                        source: Some(path.display().to_string()),
                        message: short_toml_error(&e),
                    }),
                }
            } else if path.exists() {
                problems.push(Problem {
                    key: String::new(),
                    value: None,
                    source: Some(path.display().to_string()),
                    message: "this is not a file".to_string(),
                });
            } else if file.required {
                problems.push(Problem {
                    key: String::new(),
                    value: None,
                    source: Some(path.display().to_string()),
                    message: "the configuration file does not exist".to_string(),
                });
            } else {
                files.push(FileReport {
                    layer,
                    path: path.clone(),
                    read: false,
                });
            }
        }

        let machine_read = files
            .iter()
            .find(|f| f.layer == Layer::Machine && f.read)
            .map(|f| f.path.clone());
        let machine_idle_bound = machine_read.as_deref().map(machine_idle_seconds);

        let env = EnvLayer {
            prefix: sources.env_prefix.clone(),
            vars: sources.env_vars.clone(),
        };
        let env_vars: Vec<String> = env.keys().into_iter().map(|(name, _)| name).collect();
        figment = figment.merge(env);

        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }

        let root = match figment.find_value("") {
            Ok(v) => v,
            Err(e) => {
                return Err(ConfigError::Invalid(vec![Problem {
                    key: String::new(),
                    value: None,
                    source: None,
                    message: e.to_string(),
                }]));
            }
        };
        let machine_path = sources.machine_file.as_ref().map(|f| f.path.clone());
        let mut reporter = Reporter {
            figment: &figment,
            root: &root,
            machine_path,
            problems: Vec::new(),
        };

        let mut draft = read_draft(&mut reporter, &root);
        draft.machine_file = machine_read;
        draft.machine_idle_bound = machine_idle_bound;
        let config = validate::validate(&mut reporter, draft);
        match config {
            Some(config) if reporter.problems.is_empty() => Ok(LoadedConfig {
                config,
                files,
                env_vars,
            }),
            _ => Err(ConfigError::Invalid(reporter.problems)),
        }
    }
}

fn read_draft(reporter: &mut Reporter<'_>, root: &Value) -> Draft {
    let empty = figment::value::Dict::new();
    let dict = match root {
        Value::Dict(_, d) => d,
        _ => &empty,
    };
    for key in dict.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            reporter.report(
                key,
                None,
                format!(
                    "unknown key (a typo?); the top-level keys are: {}",
                    TOP_LEVEL_KEYS.join(", ")
                ),
            );
        }
    }

    let products_from_defaults = reporter.is_default("products");
    let stations_from_defaults = reporter.is_default("stations");
    Draft {
        environment: section(reporter, dict.get("environment"), "environment"),
        d1: section(reporter, dict.get("d1"), "d1"),
        products: list(reporter, dict.get("products"), "products"),
        products_from_defaults,
        stations: list(reporter, dict.get("stations"), "stations"),
        stations_from_defaults,
        services: section(reporter, dict.get("services"), "services"),
        supervisors: section(reporter, dict.get("supervisors"), "supervisors"),
        ui: section(reporter, dict.get("ui"), "ui"),
        retry: section(reporter, dict.get("retry"), "retry"),
        journal: section(reporter, dict.get("journal"), "journal"),
        log: section(reporter, dict.get("log"), "log"),
        keys: section(reporter, dict.get("keys"), "keys"),
        machine_file: None,
        machine_idle_bound: None,
        ledger: section(reporter, dict.get("ledger"), "ledger"),
        approvals: section(reporter, dict.get("approvals"), "approvals"),
        spoiled: section(reporter, dict.get("spoiled"), "spoiled"),
    }
}

/// `ui.idle_clear_seconds` from the defaults and the machine file alone (the default when the
/// file does not set it or sets something unreadable, which is reported elsewhere).
fn machine_idle_seconds(machine: &Path) -> u32 {
    Figment::from(DefaultsLayer)
        .merge(Toml::file_exact(machine))
        .find_value("ui")
        .ok()
        .and_then(|ui| UiConfig::deserialize(&ui).ok())
        .map(|ui| ui.idle_clear_seconds)
        .unwrap_or_else(|| UiConfig::default().idle_clear_seconds)
}

fn section<T: DeserializeOwned + Default>(
    reporter: &mut Reporter<'_>,
    value: Option<&Value>,
    key: &str,
) -> Option<T> {
    let Some(value) = value else {
        return Some(T::default());
    };
    crate::recover::read_all(reporter, value, key)
}

fn list<T: DeserializeOwned>(
    reporter: &mut Reporter<'_>,
    value: Option<&Value>,
    key: &str,
) -> Option<Vec<(usize, T)>> {
    let items = match value {
        None => return Some(Vec::new()),
        Some(Value::Array(_, items)) => items,
        Some(_) => {
            reporter.report(
                key,
                None,
                format!("expected a list of tables (write each entry as [[{key}]])"),
            );
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(v) = crate::recover::read_all(reporter, item, &format!("{key}[{i}]")) {
            out.push((i, v));
        }
    }
    Some(out)
}
