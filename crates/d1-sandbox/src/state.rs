//! Shared run-time state: keys, onboarding data, tokens, operations, faults, counters.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use josekit::jwe::ECDH_ES;
use josekit::jwe::alg::ecdh_es::EcdhEsJweDecrypter;
use josekit::jwk::Jwk;
use josekit::jws::ES256;
use josekit::jws::alg::ecdsa::EcdsaJwsVerifier;

use crate::config::{ProductConfig, ProductionClock, SandboxConfig, ServicesConfig};
use crate::error::SandboxError;
use crate::production::Operations;
use crate::schema::InstantSchema;

/// Locks a std mutex, recovering the data if a holder panicked (state stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct TokenInfo {
    pub issuer_id: String,
    pub expires_at: Instant,
}

#[derive(Default)]
pub(crate) struct Faults {
    pub fail_next: usize,
    pub fail_status: u16,
    /// `Retry-After` (seconds) sent with the `fail_next` answers.
    pub fail_retry_after: Option<u64>,
    /// The next order POSTs answered by a "gateway" with this status, after (or instead of)
    /// D1 processing them.
    pub gateway_next: usize,
    pub gateway_status: u16,
    pub gateway_forwards: bool,
    /// The next order POSTs are held this long before D1 processes them (whether or not the
    /// caller is still waiting).
    pub hold_next: usize,
    pub hold: Duration,
    pub drop_after_read: usize,
    pub latency: Duration,
    pub stations_offline: HashMap<String, String>,
    pub data_exception_next: usize,
    pub data_exception_reason: String,
    /// The next accepted orders end in CARD_PROD_EXCEPTION with this reason at the station.
    pub station_exception_next: usize,
    pub station_exception_reason: String,
    /// The next orders that pass every check are refused with FIELD_INVALID_VALUE on this field.
    pub refuse_next: usize,
    pub refuse_field: String,
    pub token_actual_lifetime: Option<Duration>,
}

pub(crate) struct Shared {
    pub issuers: HashSet<String>,
    /// kid → (issuer id, verifier)
    pub verifiers: HashMap<String, (String, EcdsaJwsVerifier)>,
    /// kid → decrypter
    pub decrypters: HashMap<String, EcdhEsJweDecrypter>,
    pub products: Vec<ProductConfig>,
    pub stations: HashSet<String>,
    pub services: ServicesConfig,
    pub token_lifetime: u64,
    pub scope: String,
    pub clock: ProductionClock,
    pub schema: InstantSchema,
    pub tokens: Mutex<HashMap<String, TokenInfo>>,
    pub operations: Mutex<Operations>,
    pub faults: Mutex<Faults>,
    pub tokens_issued: AtomicUsize,
    pub orders_accepted: AtomicUsize,
    /// Order POSTs that reached D1 (before any check).
    pub orders_received: AtomicUsize,
    /// The body of the last order D1 accepted, without `encryptedData` (what a test checks
    /// reached D1).
    pub last_accepted_request: Mutex<Option<serde_json::Value>>,
}

impl Shared {
    pub fn new(config: &SandboxConfig) -> Result<Self, SandboxError> {
        let mut issuers = HashSet::new();
        let mut verifiers = HashMap::new();
        for issuer in &config.issuers {
            if issuer.issuer_id.chars().count() != 10 {
                return Err(SandboxError::Config(format!(
                    "issuers[].issuer_id {:?} must be exactly 10 characters",
                    issuer.issuer_id
                )));
            }
            issuers.insert(issuer.issuer_id.clone());
            for (kid, jwk) in &issuer.signing_keys {
                let verifier = parse_jwk(kid, jwk).and_then(|jwk| {
                    ES256
                        .verifier_from_jwk(&jwk)
                        .map_err(|e| SandboxError::Key {
                            kid: kid.clone(),
                            reason: format!("not an ES256 public key: {e}"),
                        })
                })?;
                if verifiers
                    .insert(kid.clone(), (issuer.issuer_id.clone(), verifier))
                    .is_some()
                {
                    return Err(SandboxError::Config(format!(
                        "signing key kid {kid:?} is configured twice (kids must be unique)"
                    )));
                }
            }
        }
        let mut decrypters = HashMap::new();
        for key in &config.encryption_keys {
            let value: serde_json::Value =
                serde_json::from_str(key.private_jwk.expose()).map_err(|_| SandboxError::Key {
                    kid: key.kid.clone(),
                    reason: "encryption_keys[].private_jwk is not a JSON object".to_owned(),
                })?;
            let decrypter = parse_jwk(&key.kid, &value).and_then(|jwk| {
                ECDH_ES
                    .decrypter_from_jwk(&jwk)
                    .map_err(|_| SandboxError::Key {
                        kid: key.kid.clone(),
                        reason: "not a private P-256 key usable for ECDH-ES".to_owned(),
                    })
            })?;
            decrypters.insert(key.kid.clone(), decrypter);
        }
        for product in &config.products {
            for range in &product.bin_ranges {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if !digits(&range.low)
                    || !digits(&range.high)
                    || range.low.len() != range.high.len()
                {
                    return Err(SandboxError::Config(format!(
                        "products[{}].bin_ranges: low and high must be digit strings of the same length",
                        product.id
                    )));
                }
            }
        }
        let faults = Faults {
            fail_next: config.faults.fail_next.as_ref().map_or(0, |f| f.count),
            fail_status: config.faults.fail_next.as_ref().map_or(503, |f| f.status),
            drop_after_read: config.faults.drop_after_read_next,
            latency: Duration::from_millis(config.faults.latency_ms),
            stations_offline: config
                .faults
                .stations_offline
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            data_exception_next: config
                .faults
                .data_exception_next
                .as_ref()
                .map_or(0, |d| d.count),
            data_exception_reason: config
                .faults
                .data_exception_next
                .as_ref()
                .map_or_else(String::new, |d| d.reason.clone()),
            token_actual_lifetime: config
                .faults
                .token_actual_lifetime_secs
                .map(Duration::from_secs),
            ..Faults::default()
        };
        if let Some(f) = &config.faults.fail_next
            && !(400..=599).contains(&f.status)
        {
            return Err(SandboxError::Config(format!(
                "faults.fail_next.status {} must be an HTTP error status (500 or 503)",
                f.status
            )));
        }
        Ok(Self {
            issuers,
            verifiers,
            decrypters,
            products: config.products.clone(),
            stations: config.stations.iter().cloned().collect(),
            services: config.services.clone(),
            token_lifetime: config.token_lifetime_secs,
            scope: config.scope.clone(),
            clock: config.production_clock,
            schema: InstantSchema::load()?,
            tokens: Mutex::new(HashMap::new()),
            operations: Mutex::new(Operations::default()),
            faults: Mutex::new(faults),
            tokens_issued: AtomicUsize::new(0),
            orders_accepted: AtomicUsize::new(0),
            orders_received: AtomicUsize::new(0),
            last_accepted_request: Mutex::new(None),
        })
    }

    pub fn count_token(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }
}

fn parse_jwk(kid: &str, value: &serde_json::Value) -> Result<Jwk, SandboxError> {
    let Some(map) = value.as_object() else {
        return Err(SandboxError::Key {
            kid: kid.to_owned(),
            reason: "the JWK is not a JSON object".to_owned(),
        });
    };
    Jwk::from_map(map.clone()).map_err(|_| SandboxError::Key {
        kid: kid.to_owned(),
        reason: "not a valid JWK".to_owned(),
    })
}
