//! `[keys]`: where the D1 signing key and the mTLS private key live — the OS keychain (the
//! default) or a PKCS#11 token (a TPM or an HSM), where they sign without ever leaving it. Only
//! public names are configured here; the token's PIN is a secret and lives in the keychain.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::load::Reporter;
use crate::model::Environment;

/// Which store holds the private keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyStore {
    /// The OS keychain (Secret Service, Keychain, Credential Manager). The default.
    #[default]
    Keychain,
    /// A PKCS#11 token: the keys are non-extractable and sign on the token.
    Pkcs11,
}

impl KeyStore {
    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStore::Keychain => "keychain",
            KeyStore::Pkcs11 => "pkcs11",
        }
    }
}

/// `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// `keychain` (default) | `pkcs11`.
    pub store: KeyStore,
    /// The PKCS#11 module (absolute path of the vendor's `.so`/`.dll`), e.g.
    /// `/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1`.
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label (1 to 32 characters).
    pub token_label: Option<String>,
    /// `CKA_LABEL` of the ES256 signing key's private key object on the token.
    pub signing_key_label: Option<String>,
    /// `CKA_LABEL` of the mTLS private key object on the token (needed with `d1.use_mtls`).
    pub tls_key_label: Option<String>,
}

/// The longest token label PKCS#11 can hold (`CK_TOKEN_INFO.label` is 32 bytes).
pub const MAX_TOKEN_LABEL: usize = 32;
/// The longest object label accepted here.
pub const MAX_KEY_LABEL: usize = 64;

fn is_label(s: &str, max_bytes: usize) -> bool {
    !s.is_empty()
        && s.len() <= max_bytes
        && !s.trim().is_empty()
        && s == s.trim()
        && !s.chars().any(char::is_control)
}

pub(crate) fn check_keys(
    r: &mut Reporter<'_>,
    env: Option<Environment>,
    keys: &KeysConfig,
    use_mtls: bool,
) {
    let q = |s: &str| Some(format!("{s:?}"));
    let pkcs11_only = [
        ("keys.pkcs11_module", keys.pkcs11_module.is_some()),
        ("keys.token_label", keys.token_label.is_some()),
        ("keys.signing_key_label", keys.signing_key_label.is_some()),
        ("keys.tls_key_label", keys.tls_key_label.is_some()),
    ];
    if keys.store == KeyStore::Keychain {
        for (key, set) in pkcs11_only {
            if set {
                r.report(key, None, "only used with keys.store = \"pkcs11\"");
            }
        }
        return;
    }
    if env == Some(Environment::Training) {
        r.report(
            "keys.store",
            Some("\"pkcs11\"".into()),
            "training signs with its own generated keys: a PKCS#11 token is for staging, production and custom",
        );
    }
    match &keys.pkcs11_module {
        None => r.report(
            "keys.pkcs11_module",
            None,
            "required with keys.store = \"pkcs11\" (the absolute path of the token's PKCS#11 library)",
        ),
        Some(path) => {
            let shown = Some(format!("{:?}", path.display().to_string()));
            if !path.is_absolute() {
                r.report(
                    "keys.pkcs11_module",
                    shown,
                    "expected an absolute path to the PKCS#11 library",
                );
            } else if !path.is_file() {
                r.report(
                    "keys.pkcs11_module",
                    shown,
                    "no such file: install the token's PKCS#11 library or correct the path",
                );
            }
        }
    }
    match &keys.token_label {
        None => r.report(
            "keys.token_label",
            None,
            "required with keys.store = \"pkcs11\" (the label the token was initialized with)",
        ),
        Some(label) if !is_label(label, MAX_TOKEN_LABEL) => r.report(
            "keys.token_label",
            q(label),
            "expected 1 to 32 bytes, no control characters, no leading or trailing space",
        ),
        Some(_) => {}
    }
    match &keys.signing_key_label {
        None => r.report(
            "keys.signing_key_label",
            None,
            "required with keys.store = \"pkcs11\" (the label of the signing key on the token)",
        ),
        Some(label) if !is_label(label, MAX_KEY_LABEL) => r.report(
            "keys.signing_key_label",
            q(label),
            "expected 1 to 64 bytes, no control characters, no leading or trailing space",
        ),
        Some(_) => {}
    }
    match (&keys.tls_key_label, use_mtls) {
        (None, true) => r.report(
            "keys.tls_key_label",
            None,
            "required with keys.store = \"pkcs11\" and d1.use_mtls = true (the label of the mTLS key on the token)",
        ),
        (Some(label), true) if !is_label(label, MAX_KEY_LABEL) => r.report(
            "keys.tls_key_label",
            q(label),
            "expected 1 to 64 bytes, no control characters, no leading or trailing space",
        ),
        (Some(_), false) => r.report(
            "keys.tls_key_label",
            None,
            "only used with d1.use_mtls = true",
        ),
        _ => {}
    }
}
