//! Secret bytes and the public descriptions that are safe to show.

use std::fmt;

use desk_domain::Sensitive;
use serde::Serialize;
use zeroize::Zeroizing;

/// Secret material (a private key PEM or JWK, a PIN): the shared [`Sensitive`] bytes, so it is
/// zeroized on drop, `Debug` prints `<redacted>`, and it is not `Serialize`, not `Display`; not
/// `Clone` either.
pub struct SecretBytes(Sensitive<Vec<u8>>);

impl SecretBytes {
    pub(crate) fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        SecretBytes(Sensitive::new(bytes.to_vec()))
    }

    pub(crate) fn from_string(text: String) -> Self {
        SecretBytes(Sensitive::new(text.into_bytes()))
    }

    /// Wraps bytes that are already secret (a PIN or passphrase typed by IT).
    pub fn from_secret(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self::new(bytes)
    }

    /// The secret bytes. Do not copy them anywhere that outlives the use.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }

    /// The secret as text (PEM and JWK are text), if it is UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.0.expose()).ok()
    }
}

impl fmt::Debug for SecretBytes {
    /// The one redaction of `Sensitive`: `<redacted>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// SHA-256 of a public key's DER SubjectPublicKeyInfo, shown as `SHA256:<64 hex digits>`.
/// The same value as `openssl pkey -pubin -outform DER | sha256sum`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PublicFingerprint(String);

impl PublicFingerprint {
    pub(crate) fn of_spki(spki_der: &[u8]) -> Self {
        let digest = openssl::sha::sha256(spki_der);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        PublicFingerprint(format!("SHA256:{hex}"))
    }

    /// The lower-case hex digest without the `SHA256:` prefix.
    pub fn hex(&self) -> &str {
        self.0.trim_start_matches("SHA256:")
    }

    /// `SHA256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The mTLS client identity read from the keychain.
#[derive(Debug)]
pub struct MtlsIdentity {
    /// The certificate chain, leaf first, PEM (public).
    pub cert_chain_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: SecretBytes,
}

impl MtlsIdentity {
    /// Certificate chain then key, in one PEM buffer (what `reqwest::Identity::from_pem` takes).
    pub fn to_combined_pem(&self) -> SecretBytes {
        let mut out = Zeroizing::new(Vec::with_capacity(
            self.cert_chain_pem.len() + self.key_pem.expose().len() + 1,
        ));
        out.extend_from_slice(self.cert_chain_pem.as_bytes());
        if !self.cert_chain_pem.ends_with('\n') {
            out.push(b'\n');
        }
        out.extend_from_slice(self.key_pem.expose());
        SecretBytes::new(out)
    }
}

/// The signing key, described without secret material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigningKeyStatus {
    /// SHA-256 of the public key (SPKI): compare with the key registered at D1.
    pub fingerprint: PublicFingerprint,
    /// Always `ES256 (P-256)`.
    pub algorithm: &'static str,
}

/// The mTLS client certificate, described without secret material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateStatus {
    /// Subject of the leaf certificate, e.g. `CN=BANK000001-PRD, O=Bank`.
    pub subject: String,
    /// Issuer of the leaf certificate.
    pub issuer: String,
    /// Start of validity, e.g. `Nov 25 01:00:00 2026 GMT`.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// Whether `not_after` is in the past.
    pub expired: bool,
    /// Number of certificates in the stored chain.
    pub chain_length: usize,
    /// SHA-256 of the leaf certificate's public key (SPKI).
    pub fingerprint: PublicFingerprint,
}

/// What the keychain holds for one namespace: presence and public facts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretsStatus {
    /// The keychain service name, e.g. `issuance-desk/production/BANK000001`.
    pub service: String,
    /// The ES256 signing key, if present.
    pub signing_key: Option<SigningKeyStatus>,
    /// The mTLS certificate, if present.
    pub mtls_certificate: Option<CertificateStatus>,
    /// Whether the mTLS private key is present.
    pub mtls_key_present: bool,
}
