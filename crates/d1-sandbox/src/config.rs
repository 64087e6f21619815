//! Sandbox configuration: what D1 would know about an issuer after onboarding, plus faults.
//!
//! Deserializable from TOML or JSON (`SandboxConfig::from_file`). `Default` is the training setup
//! without keys; add keys with [`SandboxConfig::with_keys`] or in the file.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::SandboxError;
use crate::secret::Secret;

/// The issuer id of the training setup (exactly 10 characters, as D1 requires).
pub const TRAINING_ISSUER_ID: &str = "TRAINING01";

/// Full sandbox configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Address to listen on (loopback by default).
    pub bind: IpAddr,
    /// Port; 0 picks a free ephemeral port.
    pub port: u16,
    /// Issuers known to this D1, each with its ES256 public signing keys.
    pub issuers: Vec<IssuerConfig>,
    /// D1's P-256 private encryption keys (for `encryptedData`), chosen by `kid`.
    pub encryption_keys: Vec<EncryptionKeyConfig>,
    /// `expires_in` of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// `scope` returned with access tokens.
    pub scope: String,
    /// Card products configured at onboarding.
    pub products: Vec<ProductConfig>,
    /// Registered personalization stations (`persoStation`).
    pub stations: Vec<String>,
    /// Service identifiers configured at onboarding.
    pub services: ServicesConfig,
    /// How production advances.
    pub production_clock: ProductionClock,
    /// Faults active from the start.
    pub faults: FaultsConfig,
    /// TLS (and client-certificate verification); plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// Serve the `/_sandbox/…` control API.
    pub control_api: bool,
}

/// One issuer and its ES256 public keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Exactly 10 characters.
    pub issuer_id: String,
    /// Public JWKs (P-256) by `kid`.
    #[serde(default)]
    pub signing_keys: BTreeMap<String, serde_json::Value>,
}

/// One D1 encryption key pair (private half).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionKeyConfig {
    /// The `kid` clients put in the JWE header.
    pub kid: String,
    /// Private P-256 JWK (JSON text or inline object).
    pub private_jwk: Secret,
}

/// Wire format of `exp` in the encrypted card data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ExpFormat {
    /// Year then month, e.g. `2906` (the personalization guides' format).
    #[default]
    #[serde(rename = "YYMM")]
    Yymm,
    /// Month then year, e.g. `0629`.
    #[serde(rename = "MMYY")]
    Mmyy,
}

/// An inclusive BIN range: the PAN's first `low.len()` digits must lie between `low` and `high`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinRange {
    /// Lowest prefix, digits only.
    pub low: String,
    /// Highest prefix, same length as `low`.
    pub high: String,
}

/// A card product configured at onboarding.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductConfig {
    /// `cardProductId`.
    pub id: String,
    /// BIN ranges the PAN must fall in.
    pub bin_ranges: Vec<BinRange>,
    /// Allowed PAN lengths.
    pub pan_lengths: Vec<usize>,
    /// `exp` format of this product.
    #[serde(default)]
    pub exp_format: ExpFormat,
    /// `services.issuance` values this product allows.
    pub issuance: Vec<String>,
    /// `paymentApplication.config` values this product allows.
    pub payment_application_configs: Vec<String>,
}

/// Service identifiers known to this D1 (any other value is `FIELD_INVALID_VALUE`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    /// `services.issuance`.
    pub issuance: Vec<String>,
    /// `services.priority`.
    pub priority: Vec<String>,
    /// `services.delivery`.
    pub delivery: Vec<String>,
    /// `services.packaging`.
    pub packaging: Vec<String>,
    /// `services.cardCarrier`.
    pub card_carrier: Vec<String>,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            issuance: strings(&["CREATION", "RENEWAL", "REPLACEMENT"]),
            priority: strings(&["STANDARD", "URGENT"]),
            delivery: strings(&["NO_SHIPMENT"]),
            packaging: strings(&["NO_PACK"]),
            card_carrier: strings(&["NO_CARRIER"]),
        }
    }
}

/// How production moves CARD_PROD_REQUESTED → CARD_PROD_READY → CARD_PROD_DONE.
///
/// In files: `"instant"`, `"stepped"` or `{ interval_ms = 3000 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductionClock {
    /// Orders finish (or fail) as soon as they are accepted.
    Instant,
    /// Orders move one step per `SandboxControl::advance_production()`.
    Stepped,
    /// Orders move one step per interval of wall time.
    Interval(Duration),
}

impl Default for ProductionClock {
    fn default() -> Self {
        Self::Interval(Duration::from_secs(3))
    }
}

impl<'de> Deserialize<'de> for ProductionClock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Interval { interval_ms: u64 },
        }
        match Repr::deserialize(deserializer)? {
            Repr::Name(name) => match name.as_str() {
                "instant" => Ok(Self::Instant),
                "stepped" => Ok(Self::Stepped),
                other => Err(serde::de::Error::custom(format!(
                    "unknown production_clock {other:?}: use \"instant\", \"stepped\" or {{ interval_ms = N }}"
                ))),
            },
            Repr::Interval { interval_ms: 0 } => Err(serde::de::Error::custom(
                "production_clock.interval_ms must be at least 1",
            )),
            Repr::Interval { interval_ms } => {
                Ok(Self::Interval(Duration::from_millis(interval_ms)))
            }
        }
    }
}

/// Faults active from the start (the same as `SandboxControl` can set at run time).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsConfig {
    /// Answer the next `count` banking calls with `status` (500 or 503).
    pub fail_next: Option<FailNextConfig>,
    /// Read the next N order requests, record them, then drop the connection without answering.
    pub drop_after_read_next: usize,
    /// Added latency before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Stations offline, with the reason reported in CARD_PROD_EXCEPTION.
    pub stations_offline: BTreeMap<String, String>,
    /// The next N accepted orders end in DATA_EXCEPTION with this reason.
    pub data_exception_next: Option<DataExceptionConfig>,
    /// Tokens really stop working after this many seconds (while `expires_in` says more).
    pub token_actual_lifetime_secs: Option<u64>,
}

/// `faults.fail_next`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailNextConfig {
    /// How many calls.
    pub count: usize,
    /// 500 or 503.
    pub status: u16,
}

/// `faults.data_exception_next`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataExceptionConfig {
    /// How many orders.
    pub count: usize,
    /// `details.reason`.
    pub reason: String,
}

/// Server TLS; with `client_ca_pem`, clients must present a certificate signed by it (mTLS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Server certificate chain (PEM).
    pub cert_pem: String,
    /// Server private key (PEM).
    pub key_pem: Secret,
    /// CA that client certificates must chain to; `None` = no client certificate asked.
    pub client_ca_pem: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self::training()
    }
}

impl SandboxConfig {
    /// The training setup: issuer `TRAINING01`, products `DEMO_DEBIT` and `DEMO_CREDIT`, stations
    /// `BRANCH-PS-01` and `BRANCH-PS-02`, priorities `STANDARD`/`URGENT`, a 3 s production step,
    /// plain HTTP on an ephemeral loopback port. It has no keys: add them with [`Self::with_keys`].
    pub fn training() -> Self {
        let issuance = strings(&["CREATION", "RENEWAL", "REPLACEMENT"]);
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            issuers: vec![IssuerConfig {
                issuer_id: TRAINING_ISSUER_ID.to_owned(),
                signing_keys: BTreeMap::new(),
            }],
            encryption_keys: Vec::new(),
            token_lifetime_secs: 900,
            scope: "banking".to_owned(),
            products: vec![
                ProductConfig {
                    id: "DEMO_DEBIT".to_owned(),
                    bin_ranges: vec![BinRange {
                        low: "400000".to_owned(),
                        high: "499999".to_owned(),
                    }],
                    pan_lengths: vec![16],
                    exp_format: ExpFormat::Yymm,
                    issuance: issuance.clone(),
                    payment_application_configs: strings(&["VIS_163"]),
                },
                ProductConfig {
                    id: "DEMO_CREDIT".to_owned(),
                    bin_ranges: vec![BinRange {
                        low: "510000".to_owned(),
                        high: "559999".to_owned(),
                    }],
                    pan_lengths: vec![16],
                    exp_format: ExpFormat::Yymm,
                    issuance,
                    payment_application_configs: strings(&["MCA_123"]),
                },
            ],
            stations: strings(&["BRANCH-PS-01", "BRANCH-PS-02"]),
            services: ServicesConfig::default(),
            production_clock: ProductionClock::default(),
            faults: FaultsConfig::default(),
            tls: None,
            control_api: true,
        }
    }

    /// Uses `keys` for everything: the first issuer takes `keys.issuer_id` and the signing public
    /// key (replacing the issuer list), and the encryption private key replaces the key list.
    #[cfg(feature = "testkit")]
    pub fn with_keys(mut self, keys: &crate::testkit::TestKeys) -> Self {
        let mut signing_keys = BTreeMap::new();
        signing_keys.insert(keys.signing_kid.clone(), keys.signing_public_jwk.clone());
        self.issuers = vec![IssuerConfig {
            issuer_id: keys.issuer_id.clone(),
            signing_keys,
        }];
        self.encryption_keys = vec![EncryptionKeyConfig {
            kid: keys.encryption_kid.clone(),
            private_jwk: Secret::from(&keys.encryption_private_jwk),
        }];
        self
    }

    /// Sets the production clock.
    pub fn with_clock(mut self, clock: ProductionClock) -> Self {
        self.production_clock = clock;
        self
    }

    /// Sets TLS.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Reads a `.toml` or `.json` file (decided by the extension; anything else is tried as TOML).
    pub fn from_file(path: &Path) -> Result<Self, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::ConfigFile {
            path: path.to_owned(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Self::from_json_str(&text).map_err(|message| SandboxError::ConfigParse {
                path: path.to_owned(),
                message,
            })
        } else {
            Self::from_toml_str(&text).map_err(|message| SandboxError::ConfigParse {
                path: path.to_owned(),
                message,
            })
        }
    }

    /// Parses TOML text; the error names the key and position.
    pub fn from_toml_str(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned() + &span_hint(text, e.span()))
    }

    /// Parses JSON text; the error names line and column.
    pub fn from_json_str(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_setup_matches_the_documented_defaults() {
        let c = SandboxConfig::default();
        assert_eq!(c.issuers[0].issuer_id, "TRAINING01");
        assert_eq!(c.issuers[0].issuer_id.chars().count(), 10);
        assert_eq!(c.products[0].id, "DEMO_DEBIT");
        assert_eq!(c.products[1].id, "DEMO_CREDIT");
        assert_eq!(c.stations, vec!["BRANCH-PS-01", "BRANCH-PS-02"]);
        assert_eq!(c.services.priority, vec!["STANDARD", "URGENT"]);
        assert_eq!(c.token_lifetime_secs, 900);
        assert!(c.bind.is_loopback());
    }

    #[test]
    fn toml_file_with_clock_faults_and_inline_jwk() {
        let c = SandboxConfig::from_toml_str(
            r#"
port = 18443
token_lifetime_secs = 600
stations = ["S1"]
production_clock = { interval_ms = 250 }
[[issuers]]
issuer_id = "ISSUER0001"
signing_keys.k1 = { kty = "EC", crv = "P-256", x = "a", y = "b" }
[[encryption_keys]]
kid = "enc-1"
private_jwk = { kty = "EC", crv = "P-256", x = "a", y = "b", d = "c" }
[faults]
latency_ms = 5
fail_next = { count = 2, status = 503 }
stations_offline = { S1 = "ribbon empty" }
"#,
        )
        .unwrap();
        assert_eq!(c.port, 18443);
        assert_eq!(
            c.production_clock,
            ProductionClock::Interval(Duration::from_millis(250))
        );
        assert_eq!(c.issuers[0].signing_keys["k1"]["kty"], "EC");
        assert!(c.encryption_keys[0].private_jwk.expose().contains("\"d\""));
        assert_eq!(c.faults.fail_next.as_ref().map(|f| f.count), Some(2));
        assert_eq!(c.faults.stations_offline["S1"], "ribbon empty");
        // Products not given: training products stay.
        assert_eq!(c.products.len(), 2);
    }

    #[test]
    fn json_clock_names_and_bad_values() {
        let c = SandboxConfig::from_json_str(r#"{"production_clock":"stepped"}"#).unwrap();
        assert_eq!(c.production_clock, ProductionClock::Stepped);
        let c = SandboxConfig::from_json_str(r#"{"production_clock":"instant"}"#).unwrap();
        assert_eq!(c.production_clock, ProductionClock::Instant);
        assert!(SandboxConfig::from_json_str(r#"{"production_clock":"fast"}"#).is_err());
        assert!(SandboxConfig::from_json_str(r#"{"production_clock":{"interval_ms":0}}"#).is_err());
        let err = SandboxConfig::from_toml_str("prot = 1").unwrap_err();
        assert!(err.contains("prot"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn debug_output_hides_private_keys() {
        let c = SandboxConfig::from_json_str(
            r#"{"encryption_keys":[{"kid":"e","private_jwk":{"d":"PRIVATE_D_VALUE"}}]}"#,
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("PRIVATE_D_VALUE"));
        assert!(dbg.contains("<redacted>"));
    }
}
