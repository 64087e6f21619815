//! Issuance Desk credentials in the OS keychain: the ES256 signing private key and the mTLS
//! client identity. Stored with `keyring` (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows), never in a file, never in a plaintext fallback.
//!
//! Keychain layout: service `<prefix>/<environment>/<issuerId>` (prefix `issuance-desk`, or
//! `issuance-desk-dev` for development builds), usernames `signing-key` (PKCS#8 PEM),
//! `mtls-cert` (certificate chain PEM, leaf first) and `mtls-key` (PKCS#8 PEM).
//!
//! ```no_run
//! use desk_secrets::{Namespace, SecretStore, RELEASE_PREFIX};
//! let store = SecretStore::new(Namespace::new(RELEASE_PREFIX, "production", "BANK000001")?);
//! let status = store.status()?;
//! println!("{}", status.service);
//! # Ok::<(), desk_secrets::SecretsError>(())
//! ```

mod error;
mod keys;
mod ledger;
pub mod pkcs11;
mod secret;

use josekit::jwk::KeyPair;
use zeroize::Zeroizing;

pub use error::{SecretsError, SecretsErrorKind};
pub use pkcs11::{Token, TokenConfig, TokenKey, TokenKeyKind};
pub use secret::{
    CertificateStatus, MtlsIdentity, PublicFingerprint, SecretBytes, SecretsStatus,
    SigningKeyStatus,
};

/// Prefix of release builds.
pub const RELEASE_PREFIX: &str = "issuance-desk";
/// Prefix of development builds (so a developer's tests never touch the real entries).
pub const DEVELOPMENT_PREFIX: &str = "issuance-desk-dev";
pub use ledger::{LEDGER_CERT_USER, LEDGER_KEY_USER};
/// Keychain username of the ES256 signing key.
pub const SIGNING_KEY_USER: &str = "signing-key";
/// Keychain username of the mTLS certificate chain.
pub const MTLS_CERT_USER: &str = "mtls-cert";
/// Keychain username of the mTLS private key.
pub const MTLS_KEY_USER: &str = "mtls-key";
/// Keychain username of the PKCS#11 token's user PIN.
pub const PKCS11_PIN_USER: &str = "pkcs11-pin";

const SIGNING_KEY: &str = "signing key";
const MTLS_CERT: &str = "mTLS certificate";
const MTLS_KEY: &str = "mTLS private key";
const PKCS11_PIN: &str = "PKCS#11 token PIN";

/// Decrypts an encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) with its
/// passphrase, in memory, and returns the plain PKCS#8 PEM (wiped on drop) to give to an
/// import function. `what` names the key in messages (`signing key`, `mTLS private key`).
pub fn decrypt_pkcs8_pem(
    pem: &[u8],
    passphrase: &[u8],
    what: &str,
) -> Result<SecretBytes, SecretsError> {
    let plain = keys::decrypt_pkcs8_pem(pem, passphrase, what)?;
    Ok(SecretBytes::from_string(plain.to_string()))
}

/// Whether `pem` is an encrypted PKCS#8 private key (it needs a passphrase).
pub fn is_encrypted_pkcs8(pem: &[u8]) -> bool {
    keys::is_encrypted_pkcs8(pem)
}

/// Where the secrets of one desk setup live: `<prefix>/<environment>/<issuerId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    service: String,
}

impl Namespace {
    /// `prefix` is [`RELEASE_PREFIX`] or [`DEVELOPMENT_PREFIX`]; `environment` is `training`,
    /// `staging`, `production` or `custom`; `issuer_id` is the D1 issuerId. Each part: 1 to 64
    /// characters among `A-Z a-z 0-9 _ - .`.
    pub fn new(prefix: &str, environment: &str, issuer_id: &str) -> Result<Self, SecretsError> {
        for (name, part) in [
            ("prefix", prefix),
            ("environment", environment),
            ("issuer id", issuer_id),
        ] {
            let ok = !part.is_empty()
                && part.len() <= 64
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(SecretsError::invalid(format!(
                    "the keychain namespace {name} {part:?} must be 1 to 64 characters among A-Z a-z 0-9 _ - ."
                )));
            }
        }
        Ok(Namespace {
            service: format!("{prefix}/{environment}/{issuer_id}"),
        })
    }

    /// The keychain service name.
    pub fn service(&self) -> &str {
        &self.service
    }
}

/// The credentials of one namespace in the OS keychain. Cheap to create; every call talks to
/// the keychain (nothing is cached in memory).
#[derive(Debug, Clone)]
pub struct SecretStore {
    namespace: Namespace,
}

impl SecretStore {
    /// A store for this namespace. Does not touch the keychain yet.
    pub fn new(namespace: Namespace) -> Self {
        SecretStore { namespace }
    }

    /// The keychain service name.
    pub fn service(&self) -> &str {
        self.namespace.service()
    }

    fn entry(&self, user: &str, what: &'static str) -> Result<keyring::Entry, SecretsError> {
        keyring::Entry::new(self.service(), user)
            .map_err(|e| SecretsError::from_keyring(e, what, self.service()))
    }

    fn read(&self, user: &str, what: &'static str) -> Result<SecretBytes, SecretsError> {
        let entry = self.entry(user, what)?;
        entry
            .get_password()
            .map(SecretBytes::from_string)
            .map_err(|e| SecretsError::from_keyring(e, what, self.service()))
    }

    fn read_optional(
        &self,
        user: &str,
        what: &'static str,
    ) -> Result<Option<SecretBytes>, SecretsError> {
        match self.read(user, what) {
            Ok(v) => Ok(Some(v)),
            Err(SecretsError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write(&self, user: &str, what: &'static str, value: &str) -> Result<(), SecretsError> {
        let entry = self.entry(user, what)?;
        entry
            .set_password(value)
            .map_err(|e| SecretsError::from_keyring(e, what, self.service()))
    }

    fn delete(&self, user: &str, what: &'static str) -> Result<(), SecretsError> {
        let entry = self.entry(user, what)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretsError::from_keyring(e, what, self.service())),
        }
    }

    /// Import the ES256 signing private key, given as PEM (PKCS#8 or SEC1) or as a JWK with `d`.
    /// Refuses anything that is not a P-256 private key. Stored as PKCS#8 PEM, replacing any
    /// previous one. Returns the public key's fingerprint (to compare with what D1 registered).
    pub fn import_signing_key(&self, pem_or_jwk: &[u8]) -> Result<PublicFingerprint, SecretsError> {
        let key = keys::parse_signing_key(pem_or_jwk)?;
        let fingerprint = keys::fingerprint(&key)?;
        let pem = keys::to_pkcs8_pem(&key)?;
        self.write(SIGNING_KEY_USER, SIGNING_KEY, &pem)?;
        Ok(fingerprint)
    }

    /// Import the mTLS client identity: the certificate chain (PEM, leaf first) and its private
    /// key (PEM). Checks both parse and that the key matches the leaf certificate's public key.
    /// Returns the certificate's public description.
    pub fn import_mtls_identity(
        &self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<CertificateStatus, SecretsError> {
        self.import_identity(
            (MTLS_CERT_USER, MTLS_CERT),
            (MTLS_KEY_USER, MTLS_KEY),
            cert_pem,
            key_pem,
        )
    }

    /// Checks a client identity (certificate chain, leaf first, and the private key that matches
    /// the leaf) and stores both under `cert` and `key` (keychain user, label for messages).
    pub(crate) fn import_identity(
        &self,
        cert: (&str, &'static str),
        key: (&str, &'static str),
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<CertificateStatus, SecretsError> {
        let certs = keys::parse_chain(cert_pem)?;
        let key_text = std::str::from_utf8(key_pem)
            .map_err(|_| SecretsError::invalid(format!("the {} is not a PEM text file", key.1)))?;
        let private = keys::parse_pem_private(key_text.trim_start(), key.1)?;
        keys::require_mtls_key_type(&private)?;
        let leaf_key = certs
            .first()
            .and_then(|c| c.public_key().ok())
            .ok_or_else(|| SecretsError::invalid("the certificate's public key cannot be read"))?;
        if !leaf_key.public_eq(&private) {
            return Err(SecretsError::invalid(format!(
                "the {} does not match the certificate (the first certificate of the file must be the one issued for this key)",
                key.1
            )));
        }
        let status = keys::certificate_status(&certs)?;
        let chain = keys::chain_to_pem(&certs)?;
        let key_pem = keys::to_pkcs8_pem(&private)?;
        self.write(cert.0, cert.1, &chain)?;
        if let Err(e) = self.write(key.0, key.1, &key_pem) {
            // Do not leave a certificate without its key.
            let _ = self.delete(cert.0, cert.1);
            return Err(e);
        }
        Ok(status)
    }

    /// A stored client identity (certificate chain and private key).
    pub(crate) fn identity(
        &self,
        cert: (&str, &'static str),
        key: (&str, &'static str),
    ) -> Result<MtlsIdentity, SecretsError> {
        let cert_bytes = self.read(cert.0, cert.1)?;
        let key_pem = self.read(key.0, key.1)?;
        let cert_chain_pem = cert_bytes
            .expose_str()
            .ok_or_else(|| SecretsError::Platform {
                detail: format!("the stored {} is not text: import it again", cert.1),
            })?
            .to_string();
        Ok(MtlsIdentity {
            cert_chain_pem,
            key_pem,
        })
    }

    /// The signing private key as PKCS#8 PEM.
    pub fn signing_key(&self) -> Result<SecretBytes, SecretsError> {
        self.read(SIGNING_KEY_USER, SIGNING_KEY)
    }

    /// The signing private key as a JWK JSON string (what `d1-client` takes), with `kid`, `alg`
    /// `ES256` and `use` `sig` set.
    pub fn signing_key_jwk(&self, kid: &str) -> Result<SecretBytes, SecretsError> {
        let pem = self.signing_key()?;
        let pair = josekit::jwk::alg::ec::EcKeyPair::from_pem(
            pem.expose(),
            Some(josekit::jwk::alg::ec::EcCurve::P256),
        )
        .map_err(|_| SecretsError::Platform {
            detail: "the stored signing key cannot be read: remove it and import it again".into(),
        })?;
        let mut jwk = pair.to_jwk_key_pair();
        jwk.set_key_id(kid);
        jwk.set_algorithm("ES256");
        jwk.set_key_use("sig");
        let text = Zeroizing::new(jwk.to_string());
        Ok(SecretBytes::from_string(text.to_string()))
    }

    /// The mTLS identity (certificate chain and private key).
    pub fn mtls_identity(&self) -> Result<MtlsIdentity, SecretsError> {
        self.identity((MTLS_CERT_USER, MTLS_CERT), (MTLS_KEY_USER, MTLS_KEY))
    }

    /// What is stored: presence, public fingerprints, certificate subject and expiry. Never
    /// secret material.
    pub fn status(&self) -> Result<SecretsStatus, SecretsError> {
        let signing_key = match self.read_optional(SIGNING_KEY_USER, SIGNING_KEY)? {
            None => None,
            Some(pem) => {
                let text = pem.expose_str().unwrap_or("");
                let key = keys::parse_pem_private(text, SIGNING_KEY).map_err(|_| {
                    SecretsError::Platform {
                        detail:
                            "the stored signing key cannot be read: remove it and import it again"
                                .into(),
                    }
                })?;
                Some(SigningKeyStatus {
                    fingerprint: keys::fingerprint(&key)?,
                    algorithm: "ES256 (P-256)",
                })
            }
        };
        let mtls_certificate = match self.read_optional(MTLS_CERT_USER, MTLS_CERT)? {
            None => None,
            Some(pem) => Some(keys::certificate_status(&keys::parse_chain(pem.expose())?)?),
        };
        let mtls_key_present = self.read_optional(MTLS_KEY_USER, MTLS_KEY)?.is_some();
        Ok(SecretsStatus {
            service: self.service().to_string(),
            signing_key,
            mtls_certificate,
            mtls_key_present,
        })
    }

    /// Store the PKCS#11 token's user PIN (4 to 255 characters, no control characters).
    pub fn set_pkcs11_pin(&self, pin: &[u8]) -> Result<(), SecretsError> {
        let text = std::str::from_utf8(pin)
            .map_err(|_| SecretsError::invalid("the token PIN must be text"))?;
        let n = text.chars().count();
        if !(4..=255).contains(&n) || text.chars().any(char::is_control) {
            return Err(SecretsError::invalid(
                "the token PIN must be 4 to 255 characters without control characters",
            ));
        }
        self.write(PKCS11_PIN_USER, PKCS11_PIN, text)
    }

    /// The PKCS#11 token's user PIN.
    pub fn pkcs11_pin(&self) -> Result<SecretBytes, SecretsError> {
        self.read(PKCS11_PIN_USER, PKCS11_PIN)
    }

    /// Logs in to the token with the PIN from the keychain.
    pub fn login_token(&self, config: &TokenConfig) -> Result<Token, SecretsError> {
        let pin = self.pkcs11_pin()?;
        Token::login(config, &pin)
    }

    /// Import the ES256 signing private key (PEM or JWK, as [`SecretStore::import_signing_key`])
    /// onto the token as a non-extractable key labelled `label`. Nothing is stored in the
    /// keychain; a signing key the keychain held for this namespace is removed.
    pub fn import_signing_key_to_token(
        &self,
        token: &Token,
        label: &str,
        pem_or_jwk: &[u8],
    ) -> Result<PublicFingerprint, SecretsError> {
        let key = keys::parse_signing_key(pem_or_jwk)?;
        let fingerprint = token.import_private_key(label, &key)?;
        self.delete(SIGNING_KEY_USER, SIGNING_KEY)?;
        Ok(fingerprint)
    }

    /// Import the mTLS identity with its private key onto the token (non-extractable, labelled
    /// `label`) and the certificate chain into the keychain (it is public). A mTLS key the
    /// keychain held for this namespace is removed.
    pub fn import_mtls_identity_to_token(
        &self,
        token: &Token,
        label: &str,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<CertificateStatus, SecretsError> {
        let certs = keys::parse_chain(cert_pem)?;
        let key_text = std::str::from_utf8(key_pem)
            .map_err(|_| SecretsError::invalid("the mTLS private key is not a PEM text file"))?;
        let key = keys::parse_pem_private(key_text.trim_start(), "mTLS private key")?;
        keys::require_mtls_key_type(&key)?;
        let leaf_key = certs
            .first()
            .and_then(|c| c.public_key().ok())
            .ok_or_else(|| SecretsError::invalid("the certificate's public key cannot be read"))?;
        if !leaf_key.public_eq(&key) {
            return Err(SecretsError::invalid(
                "the mTLS private key does not match the certificate (the first certificate of the file must be the one issued for this key)",
            ));
        }
        let status = keys::certificate_status(&certs)?;
        token.import_private_key(label, &key)?;
        self.write(MTLS_CERT_USER, MTLS_CERT, &keys::chain_to_pem(&certs)?)?;
        self.delete(MTLS_KEY_USER, MTLS_KEY)?;
        Ok(status)
    }

    /// Store the mTLS certificate chain for a key already on the token (generated there):
    /// checks the leaf certificate is the token key's.
    pub fn import_mtls_certificate_for_token(
        &self,
        token: &Token,
        label: &str,
        cert_pem: &[u8],
    ) -> Result<CertificateStatus, SecretsError> {
        let certs = keys::parse_chain(cert_pem)?;
        let public = token.public_key(label)?;
        let leaf_key = certs
            .first()
            .and_then(|c| c.public_key().ok())
            .ok_or_else(|| SecretsError::invalid("the certificate's public key cannot be read"))?;
        if !leaf_key.public_eq(&public) {
            return Err(SecretsError::invalid(format!(
                "the certificate is not for the key {label:?} on the token"
            )));
        }
        let status = keys::certificate_status(&certs)?;
        self.write(MTLS_CERT_USER, MTLS_CERT, &keys::chain_to_pem(&certs)?)?;
        Ok(status)
    }

    /// The mTLS certificate chain (PEM, leaf first) alone, for a key on a token.
    pub fn mtls_certificate_chain(&self) -> Result<String, SecretsError> {
        let cert = self.read(MTLS_CERT_USER, MTLS_CERT)?;
        cert.expose_str()
            .map(str::to_string)
            .ok_or_else(|| SecretsError::Platform {
                detail: "the stored mTLS certificate is not text: import it again".into(),
            })
    }

    /// Remove the signing key and the mTLS identity of this namespace (absent entries are fine).
    pub fn remove_all(&self) -> Result<(), SecretsError> {
        self.delete(SIGNING_KEY_USER, SIGNING_KEY)?;
        self.delete(MTLS_CERT_USER, MTLS_CERT)?;
        self.delete(MTLS_KEY_USER, MTLS_KEY)?;
        self.delete(PKCS11_PIN_USER, PKCS11_PIN)?;
        self.remove_ledger_identity()?;
        Ok(())
    }
}
