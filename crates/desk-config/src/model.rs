//! The configuration types. Plain structs: they hold only public material (no secret ever
//! lives in the configuration; the signing key and the mTLS identity are in the OS keychain).

use std::path::PathBuf;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::ledger::LedgerConfig;
use crate::lenient;

pub use crate::keys::{KeyStore, KeysConfig};
/// A product's card rules are the shared vocabulary's: read straight from `[[products]]`.
pub use desk_domain::{BinRange, ExpFormat, ProductRules};

/// D1's published base URLs (REFERENCE.md §1.2 and §2).
pub const STAGING_AUTH_BASE_URL: &str = "https://api.d1-stg.thalescloud.io/authz/v1";
/// D1 staging banking base URL.
pub const STAGING_BANKING_BASE_URL: &str = "https://api.d1-stg.thalescloud.io/banking/v1";
/// D1 production authorization base URL.
pub const PRODUCTION_AUTH_BASE_URL: &str = "https://api.d1.thalescloud.io/authz/v1";
/// D1 production banking base URL.
pub const PRODUCTION_BANKING_BASE_URL: &str = "https://api.d1.thalescloud.io/banking/v1";

/// Which D1 the desk talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// In-process D1 sandbox with generated keys; no real card can be made. The default.
    #[default]
    Training,
    /// D1 staging (PreProd).
    Staging,
    /// D1 production.
    Production,
    /// Any base URLs (the bank's own gateway that speaks the D1 API, or a test peer).
    Custom,
}

impl Environment {
    /// The lower-case name, as written in the configuration (`training`, `staging`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Training => "training",
            Environment::Staging => "staging",
            Environment::Production => "production",
            Environment::Custom => "custom",
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The whole configuration, after merging every layer and validating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `training` | `staging` | `production` | `custom`.
    pub environment: Environment,
    /// How to reach D1 and the public keys involved.
    pub d1: D1Config,
    /// Card products configured at D1 onboarding.
    pub products: Vec<Product>,
    /// Personalization stations (printers) of this branch.
    pub stations: Vec<Station>,
    /// Service identifiers configured at D1 onboarding.
    pub services: Services,
    /// Who may use supervisor functions.
    pub supervisors: Supervisors,
    /// User-interface settings.
    pub ui: UiConfig,
    /// Retry budget for D1 calls.
    pub retry: RetryConfig,
    /// Order journal settings.
    pub journal: JournalConfig,
    /// Logging settings.
    pub log: LogConfig,
    /// Where the private keys live: the OS keychain (default) or a PKCS#11 token.
    pub keys: KeysConfig,
    /// The branch ledger (machine-wide file only; not configured by default).
    pub ledger: LedgerConfig,
    /// Which orders need a second person's approval (machine-wide file only; none by default).
    pub approvals: crate::counter::ApprovalsConfig,
    /// The reasons for a spoiled card.
    pub spoiled: crate::counter::SpoiledConfig,
}

/// The base URLs the D1 client must use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct D1Endpoints {
    /// e.g. `https://api.d1.thalescloud.io/authz/v1` (no trailing slash).
    pub auth_base_url: String,
    /// e.g. `https://api.d1.thalescloud.io/banking/v1` (no trailing slash).
    pub banking_base_url: String,
}

impl Config {
    /// The built-in configuration: the training environment with demo products and stations.
    pub fn training_defaults() -> Self {
        Config {
            environment: Environment::Training,
            d1: D1Config::default(),
            products: vec![
                Product {
                    id: "DEMO_DEBIT".into(),
                    display_name: "Visa Debit (demo)".into(),
                    display_name_es: Some("Visa Débito (demo)".into()),
                    payment_application: PaymentApplication {
                        config: "VIS_163".into(),
                        oda_key_index: Some("01".into()),
                        derivation_key_index: Some("01".into()),
                        pv_key_index: None,
                        cv_key_index: None,
                    },
                    issuance_types: Vec::new(),
                    bin_ranges: vec![BinRange {
                        low: 400_000,
                        high: 499_999,
                        prefix_len: 6,
                    }],
                    pan_lengths: vec![16],
                    name_max_length: default_name_max_length(),
                    exp_format: ExpFormat::Yymm,
                    supplies_cvv2: false,
                    artworks: vec![
                        Artwork {
                            id: "CLASSIC_BLUE".into(),
                            display_name: Some("Classic blue".into()),
                        },
                        Artwork {
                            id: "CITY_SKYLINE".into(),
                            display_name: Some("City skyline".into()),
                        },
                    ],
                },
                Product {
                    id: "DEMO_CREDIT".into(),
                    display_name: "Mastercard Credit (demo)".into(),
                    display_name_es: Some("Mastercard Crédito (demo)".into()),
                    payment_application: PaymentApplication {
                        config: "MCA_123".into(),
                        oda_key_index: Some("01".into()),
                        derivation_key_index: Some("01".into()),
                        pv_key_index: None,
                        cv_key_index: None,
                    },
                    issuance_types: Vec::new(),
                    bin_ranges: vec![BinRange {
                        low: 510_000,
                        high: 559_999,
                        prefix_len: 6,
                    }],
                    pan_lengths: vec![16],
                    name_max_length: default_name_max_length(),
                    exp_format: ExpFormat::Yymm,
                    supplies_cvv2: true,
                    artworks: Vec::new(),
                },
            ],
            stations: vec![
                Station {
                    id: "BRANCH-PS-01".into(),
                    name: "Counter 1 printer".into(),
                    default: true,
                },
                Station {
                    id: "BRANCH-PS-02".into(),
                    name: "Back office printer".into(),
                    default: false,
                },
            ],
            // Training offers every order option, so a teller can practise them all.
            services: Services {
                delivery: vec!["NO_SHIPMENT".into(), "BRANCH_PICKUP".into()],
                packaging: vec!["NO_PACK".into(), "GIFT_SLEEVE".into()],
                card_carrier: vec!["NO_CARRIER".into(), "WELCOME_LETTER".into()],
                pin_mailer: true,
                design_images: vec!["LOGO_CLUB".into(), "LOGO_UNIVERSITY".into()],
                carrier_images: vec!["WELCOME_BANNER".into()],
                ..Services::default()
            },
            supervisors: Supervisors::default(),
            ui: UiConfig::default(),
            retry: RetryConfig::default(),
            journal: JournalConfig::default(),
            log: LogConfig::default(),
            keys: KeysConfig::default(),
            ledger: LedgerConfig::default(),
            approvals: crate::counter::ApprovalsConfig::default(),
            spoiled: crate::counter::SpoiledConfig::default(),
        }
    }

    /// The D1 base URLs to use: D1's published ones for staging and production, the configured
    /// ones for custom, and `None` for training (the in-process sandbox gives its own at run time).
    pub fn d1_endpoints(&self) -> Option<D1Endpoints> {
        match self.environment {
            Environment::Training => None,
            Environment::Staging => Some(D1Endpoints {
                auth_base_url: STAGING_AUTH_BASE_URL.into(),
                banking_base_url: STAGING_BANKING_BASE_URL.into(),
            }),
            Environment::Production => Some(D1Endpoints {
                auth_base_url: PRODUCTION_AUTH_BASE_URL.into(),
                banking_base_url: PRODUCTION_BANKING_BASE_URL.into(),
            }),
            Environment::Custom => Some(D1Endpoints {
                auth_base_url: self
                    .d1
                    .auth_base_url
                    .clone()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string(),
                banking_base_url: self
                    .d1
                    .banking_base_url
                    .clone()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string(),
            }),
        }
    }

    /// The station preselected in the form: the one marked `default = true`, else the first.
    pub fn default_station(&self) -> Option<&Station> {
        self.stations
            .iter()
            .find(|s| s.default)
            .or_else(|| self.stations.first())
    }

    /// The product with this id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// Whether `user` (OS user name) or one of `groups` (the user's OS groups) may use supervisor
    /// functions.
    ///
    /// The lists come from the machine-wide file only (a per-user file or an environment variable
    /// cannot set them). In `training`, when both lists are empty, everyone is a supervisor so the
    /// supervisor screens can be practised; in every other environment empty lists mean nobody.
    /// Names compare exactly, except on Windows where they compare ignoring ASCII case.
    pub fn is_supervisor(&self, user: &str, groups: &[&str]) -> bool {
        let s = &self.supervisors;
        if self.environment == Environment::Training && s.users.is_empty() && s.groups.is_empty() {
            return true;
        }
        let same = |a: &str, b: &str| {
            if cfg!(windows) {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        s.users.iter().any(|u| same(u, user))
            || s.groups
                .iter()
                .any(|g| groups.iter().any(|mine| same(g, mine)))
    }
}

/// `[d1]`: how to reach D1 and its public material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct D1Config {
    /// Exactly 10 characters `[A-Za-z0-9_-]`, given at D1 onboarding. Required outside
    /// training; in training it is `TRAINING01` when not set.
    pub issuer_id: Option<String>,
    /// Custom environment only: the authorization base URL (`.../authz/v1`).
    pub auth_base_url: Option<String>,
    /// Custom environment only: the banking base URL (`.../banking/v1`).
    pub banking_base_url: Option<String>,
    /// Custom environment only: extra trusted CA certificates (PEM file).
    pub extra_ca_bundle: Option<PathBuf>,
    /// D1's P-256 public encryption key as a JWK (with its `kid`).
    pub encryption_key: Option<EncryptionKey>,
    /// The `kid` of the issuer's ES256 signing key (the private key lives in the OS keychain).
    pub signing_kid: Option<String>,
    /// Present the mTLS client identity from the OS keychain.
    #[serde(deserialize_with = "lenient::bool")]
    pub use_mtls: bool,
    /// Lifetime of the JWT assertion, in seconds (D1 allows at most 15 minutes).
    #[serde(deserialize_with = "lenient::u32")]
    pub assertion_lifetime_seconds: u32,
    /// The assertion's `aud` claim; not sent when absent. D1 marks `aud` optional and does not
    /// document its value (REFERENCE.md §1.3), so there is no default.
    pub assertion_audience: Option<String>,
    /// Network timeouts.
    pub timeouts: Timeouts,
}

impl Default for D1Config {
    fn default() -> Self {
        D1Config {
            issuer_id: None,
            auth_base_url: None,
            banking_base_url: None,
            extra_ca_bundle: None,
            encryption_key: None,
            signing_kid: None,
            use_mtls: false,
            assertion_lifetime_seconds: 300,
            assertion_audience: None,
            timeouts: Timeouts::default(),
        }
    }
}

/// `[d1.timeouts]`, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// TCP + TLS connection timeout.
    #[serde(deserialize_with = "lenient::u32")]
    pub connect_seconds: u32,
    /// Time to wait for a response once the request is sent.
    #[serde(deserialize_with = "lenient::u32")]
    pub read_seconds: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect_seconds: 10,
            read_seconds: 30,
        }
    }
}

/// D1's public encryption key, as a JWK object. Written in the file either as a TOML inline
/// table or as a string holding the JWK JSON. Validated after loading: an EC P-256 public key
/// with a `kid` and no private part.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct EncryptionKey {
    jwk: serde_json::Map<String, serde_json::Value>,
}

impl EncryptionKey {
    /// The JWK members.
    pub fn jwk(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.jwk
    }

    /// The JWK as a JSON value (what `d1-client` takes).
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.jwk.clone())
    }

    /// The JWK as a JSON string.
    pub fn to_json_string(&self) -> String {
        serde_json::Value::Object(self.jwk.clone()).to_string()
    }

    /// The key id (`kid`), when present (always present once the configuration is validated).
    pub fn kid(&self) -> Option<&str> {
        self.jwk.get("kid").and_then(|v| v.as_str())
    }

    /// Wrap a JWK (not validated here: [`crate::Config::load`] validates).
    pub fn from_jwk(jwk: serde_json::Map<String, serde_json::Value>) -> Self {
        EncryptionKey { jwk }
    }
}

impl<'de> Deserialize<'de> for EncryptionKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Object(serde_json::Map<String, serde_json::Value>),
        }
        match Raw::deserialize(d)
            .map_err(|_| de::Error::custom("expected a JWK: a table or a string of JSON"))?
        {
            Raw::Object(jwk) => Ok(EncryptionKey { jwk }),
            Raw::Text(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(jwk)) => Ok(EncryptionKey { jwk }),
                Ok(_) => Err(de::Error::custom("expected a JWK: a JSON object")),
                Err(e) => Err(de::Error::custom(format!(
                    "the JWK is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ))),
            },
        }
    }
}

/// `[[products]]`: one card product configured at D1 onboarding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// `cardProductId`: `^[A-Za-z0-9_-]{1,48}$`.
    pub id: String,
    /// Name shown to the teller.
    pub display_name: String,
    /// Spanish name shown when the UI language is Spanish.
    #[serde(default)]
    pub display_name_es: Option<String>,
    /// `paymentApplication` sent with every order of this product.
    pub payment_application: PaymentApplication,
    /// Issuance types allowed for this product (ids from `[services].issuance`). Empty or absent:
    /// all configured issuance types (filled in when loading).
    #[serde(default)]
    pub issuance_types: Vec<String>,
    /// BIN (PAN prefix) ranges of this product, `{ from = "400000", to = "499999" }`. A range
    /// that does not parse is a configuration error at its `from` or `to`.
    pub bin_ranges: Vec<BinRange>,
    /// Allowed PAN lengths (12–19).
    #[serde(deserialize_with = "lenient::vec_u32")]
    pub pan_lengths: Vec<u32>,
    /// Maximum length of the printed name (2–26, default 26: the track 1 limit).
    #[serde(default = "default_name_max_length", deserialize_with = "lenient::u32")]
    pub name_max_length: u32,
    /// Wire format of `exp` in the encrypted card data.
    #[serde(default)]
    pub exp_format: ExpFormat,
    /// Whether the teller types the CVV2 (otherwise D1 computes it).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub supplies_cvv2: bool,
    /// Artworks (`cardDesign.artworkId`) the teller may pick.
    #[serde(default)]
    pub artworks: Vec<Artwork>,
}

fn default_name_max_length() -> u32 {
    desk_domain::NAME_MAX_LENGTH
}

impl Product {
    /// The card rules the teller's card data is checked against.
    pub fn rules(&self) -> ProductRules {
        ProductRules {
            bin_ranges: self.bin_ranges.clone(),
            pan_lengths: self.pan_lengths.clone(),
            name_max_length: self.name_max_length,
            exp_format: self.exp_format,
        }
    }
}

/// `paymentApplication` (EMV): the config reference and the key indexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentApplication {
    /// `^[a-zA-Z0-9_-]{1,64}$`.
    pub config: String,
    /// `^[A-F0-9]{2}$`.
    #[serde(default)]
    pub oda_key_index: Option<String>,
    /// `^[A-F0-9]{2}$`.
    #[serde(default)]
    pub derivation_key_index: Option<String>,
    /// `^[A-F0-9]{2}$`.
    #[serde(default)]
    pub pv_key_index: Option<String>,
    /// `^[A-F0-9]{2}$`.
    #[serde(default)]
    pub cv_key_index: Option<String>,
}

/// A card artwork (`cardDesign.artworkId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artwork {
    /// `^[A-Za-z0-9_-]{1,64}$`.
    pub id: String,
    /// Name shown to the teller (defaults to the id).
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `[[stations]]`: a personalization station (`persoStation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// `persoStation` as registered at D1: 1–64 printable ASCII characters, no leading or
    /// trailing space (the vendor schema gives no pattern).
    pub id: String,
    /// Name shown to the teller.
    pub name: String,
    /// Preselected in the form (at most one; none → the first station).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub default: bool,
}

/// `[services]`: identifiers configured at D1 onboarding (`^[a-zA-Z0-9_-]{1,64}$`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Services {
    /// `services.issuance` values.
    pub issuance: Vec<String>,
    /// `services.priority` values (empty: priority is not sent).
    pub priorities: Vec<String>,
    /// The preselected priority (must be one of `priorities`); when not set, the first priority
    /// (filled in when loading).
    pub default_priority: Option<String>,
    /// `services.delivery` values (empty: not sent, D1 applies `NO_SHIPMENT`).
    pub delivery: Vec<String>,
    /// `services.packaging` values (empty: not sent, D1 applies `NO_PACK`).
    pub packaging: Vec<String>,
    /// `services.cardCarrier` values (empty: not sent, D1 applies `NO_CARRIER`).
    pub card_carrier: Vec<String>,
    /// Whether the form offers `services.pinMailer` (the PIN sent to the customer by post).
    #[serde(deserialize_with = "lenient::bool")]
    pub pin_mailer: bool,
    /// `cardDesign.images` the teller may add to the card (at most 5 per order).
    pub design_images: Vec<String>,
    /// `cardCarrierConfig.images` the teller may add to the carrier (at most 5 per order).
    pub carrier_images: Vec<String>,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            issuance: vec!["CREATION".into(), "RENEWAL".into(), "REPLACEMENT".into()],
            priorities: vec!["STANDARD".into(), "URGENT".into()],
            default_priority: None,
            delivery: Vec::new(),
            packaging: Vec::new(),
            card_carrier: Vec::new(),
            pin_mailer: false,
            design_images: Vec::new(),
            carrier_images: Vec::new(),
        }
    }
}

/// `[supervisors]`: machine-wide file only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Supervisors {
    /// OS user names.
    pub users: Vec<String>,
    /// OS group names.
    pub groups: Vec<String>,
}

/// UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Follow the OS locale.
    #[default]
    Auto,
    /// English.
    En,
    /// Spanish.
    Es,
}

/// `[ui]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Sensitive fields clear after this many idle seconds (15–3600, default 120).
    #[serde(deserialize_with = "lenient::u32")]
    pub idle_clear_seconds: u32,
    /// `auto` | `en` | `es`.
    pub language: Language,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            idle_clear_seconds: 120,
            language: Language::Auto,
        }
    }
}

/// `[retry]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Total time spent retrying one call (0–300 s, default 30; 0 = no retry).
    #[serde(deserialize_with = "lenient::u32")]
    pub budget_seconds: u32,
    /// First backoff delay, doubled each attempt (10–10000 ms, default 200).
    #[serde(deserialize_with = "lenient::u32")]
    pub base_delay_ms: u32,
    /// How long after its last send an order D1 has no record of stays "checking" before it
    /// becomes an exception for a person (5–86400 s, default 600).
    #[serde(deserialize_with = "lenient::u32")]
    pub no_record_after_seconds: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            budget_seconds: 30,
            base_delay_ms: 200,
            no_record_after_seconds: 600,
        }
    }
}

/// `[journal]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Orders older than this are purged (30–3650 days, default 400).
    #[serde(deserialize_with = "lenient::u32")]
    pub retention_days: u32,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            retention_days: 400,
        }
    }
}

/// Log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    #[default]
    Info,
    /// Verbose.
    Debug,
    /// Very verbose.
    Trace,
}

impl LogLevel {
    /// As written in the configuration and understood by `tracing` filters.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error` | `warn` | `info` | `debug` | `trace`.
    pub level: LogLevel,
    /// Absolute directory for log files (default: the OS log directory, chosen by the app).
    pub directory: Option<PathBuf>,
    /// Days of daily log files kept on this PC (1–3650, default 14). The bank's central store
    /// (`journald` → SIEM) keeps them as long as its policy says.
    #[serde(deserialize_with = "lenient::u32")]
    pub keep_days: u32,
    /// Also send every log event to the system journal (systemd-journald, Linux only), from
    /// where the bank's log shipper forwards it to the SIEM.
    #[serde(deserialize_with = "lenient::bool")]
    pub journald: bool,
}

/// Daily log files kept by default.
pub const DEFAULT_LOG_KEEP_DAYS: u32 = 14;

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: LogLevel::default(),
            directory: None,
            keep_days: DEFAULT_LOG_KEEP_DAYS,
            journald: false,
        }
    }
}
