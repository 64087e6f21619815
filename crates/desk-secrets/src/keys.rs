//! Parsing and checking keys and certificates (OpenSSL through the `openssl` crate, JWK through
//! josekit). Error messages never quote the input.

use josekit::jwk::KeyPair;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;
use zeroize::Zeroizing;

use crate::error::SecretsError;
use crate::secret::{CertificateStatus, PublicFingerprint};

/// Parse a P-256 private key given as PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`) or as
/// a JWK (JSON with `d`).
pub(crate) fn parse_signing_key(input: &[u8]) -> Result<PKey<Private>, SecretsError> {
    let text = std::str::from_utf8(input).map_err(|_| {
        SecretsError::invalid("the signing key is not text: expected a PEM file or a JWK (JSON)")
    })?;
    let trimmed = text.trim_start();
    let key = if trimmed.starts_with('{') {
        parse_jwk_private(trimmed)?
    } else if trimmed.starts_with("-----BEGIN") {
        parse_pem_private(trimmed, "signing key")?
    } else {
        return Err(SecretsError::invalid(
            "the signing key is neither PEM (-----BEGIN PRIVATE KEY-----) nor a JWK (JSON)",
        ));
    };
    require_p256(&key, "signing key")?;
    Ok(key)
}

fn parse_jwk_private(text: &str) -> Result<PKey<Private>, SecretsError> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| {
            SecretsError::invalid(format!(
                "the signing key JWK is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
    let member = |name: &str| map.get(name).and_then(|v| v.as_str());
    if member("kty") != Some("EC") {
        return Err(SecretsError::invalid(
            "the signing key must be an EC P-256 key (JWK \"kty\": \"EC\")",
        ));
    }
    if member("crv") != Some("P-256") {
        return Err(SecretsError::invalid(
            "the signing key must be a P-256 key (JWK \"crv\": \"P-256\") for ES256",
        ));
    }
    if !map.contains_key("d") {
        return Err(SecretsError::invalid(
            "this JWK is a public key (no \"d\"): import the PRIVATE signing key; D1 only keeps the public one",
        ));
    }
    let jwk = josekit::jwk::Jwk::from_map(map)
        .map_err(|_| SecretsError::invalid("the signing key JWK is not a valid key"))?;
    let pair = josekit::jwk::alg::ec::EcKeyPair::from_jwk(&jwk).map_err(|_| {
        SecretsError::invalid("the signing key JWK is not a valid P-256 private key")
    })?;
    let der = Zeroizing::new(pair.to_der_private_key());
    PKey::private_key_from_der(&der)
        .map_err(|_| SecretsError::invalid("the signing key JWK is not a valid P-256 private key"))
}

pub(crate) fn parse_pem_private(text: &str, what: &str) -> Result<PKey<Private>, SecretsError> {
    if text.contains("ENCRYPTED") {
        return Err(SecretsError::invalid(format!(
            "the {what} is encrypted: give its passphrase (`issuance-desk-admin secrets import` asks for it on a terminal, or reads it with --passphrase-stdin)"
        )));
    }
    if !text.contains("PRIVATE KEY-----") {
        let found = if text.contains("CERTIFICATE-----") {
            "a certificate"
        } else if text.contains("PUBLIC KEY-----") {
            "a public key"
        } else {
            "not a private key"
        };
        return Err(SecretsError::invalid(format!(
            "the {what} file holds {found}: expected a private key (-----BEGIN PRIVATE KEY-----)"
        )));
    }
    PKey::private_key_from_pem(text.as_bytes()).map_err(|_| {
        SecretsError::invalid(format!("the {what} PEM cannot be read as a private key"))
    })
}

fn require_p256(key: &PKey<Private>, what: &str) -> Result<(), SecretsError> {
    if key.id() != Id::EC {
        return Err(SecretsError::invalid(format!(
            "the {what} must be an EC P-256 key for ES256 (this one is {})",
            key_type_name(key)
        )));
    }
    let ec = key
        .ec_key()
        .map_err(|_| SecretsError::invalid(format!("the {what} is not a usable EC key")))?;
    if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
        return Err(SecretsError::invalid(format!(
            "the {what} must be on curve P-256 (prime256v1) for ES256 (this one is {})",
            key_type_name(key)
        )));
    }
    ec.check_key()
        .map_err(|_| SecretsError::invalid(format!("the {what} is not a valid P-256 key")))?;
    Ok(())
}

fn key_type_name(key: &PKey<Private>) -> String {
    match key.id() {
        Id::RSA => format!("RSA-{}", key.bits()),
        Id::EC => match key.ec_key().ok().and_then(|k| k.group().curve_name()) {
            Some(Nid::X9_62_PRIME256V1) => "EC P-256".into(),
            Some(Nid::SECP384R1) => "EC P-384".into(),
            Some(Nid::SECP521R1) => "EC P-521".into(),
            _ => "EC on another curve".into(),
        },
        Id::ED25519 => "Ed25519".into(),
        _ => "another key type".into(),
    }
}

/// The canonical stored form: PKCS#8 PEM.
pub(crate) fn to_pkcs8_pem(key: &PKey<Private>) -> Result<Zeroizing<String>, SecretsError> {
    let pem = Zeroizing::new(
        key.private_key_to_pem_pkcs8()
            .map_err(|_| SecretsError::invalid("the key cannot be written as PKCS#8"))?,
    );
    let text = std::str::from_utf8(&pem)
        .map_err(|_| SecretsError::invalid("the key cannot be written as PKCS#8"))?;
    Ok(Zeroizing::new(text.to_string()))
}

pub(crate) fn fingerprint(key: &PKey<Private>) -> Result<PublicFingerprint, SecretsError> {
    let spki = key
        .public_key_to_der()
        .map_err(|_| SecretsError::invalid("the public part of the key cannot be encoded"))?;
    Ok(PublicFingerprint::of_spki(&spki))
}

/// Parse a certificate chain (leaf first).
pub(crate) fn parse_chain(pem: &[u8]) -> Result<Vec<X509>, SecretsError> {
    let certs = X509::stack_from_pem(pem).map_err(|_| {
        SecretsError::invalid("the mTLS certificate file cannot be read: expected PEM certificates (-----BEGIN CERTIFICATE-----)")
    })?;
    if certs.is_empty() {
        return Err(SecretsError::invalid(
            "the mTLS certificate file holds no certificate: expected PEM (-----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// Check an mTLS client key type: RSA of at least 2048 bits or EC P-256/P-384 (D1 asks for
/// RSA-4096 or ECDSA P-256).
pub(crate) fn require_mtls_key_type(key: &PKey<Private>) -> Result<(), SecretsError> {
    match key.id() {
        Id::RSA if key.bits() >= 2048 => Ok(()),
        Id::EC => match key.ec_key().ok().and_then(|k| k.group().curve_name()) {
            Some(Nid::X9_62_PRIME256V1) | Some(Nid::SECP384R1) => Ok(()),
            _ => Err(SecretsError::invalid(format!(
                "the mTLS private key must be RSA (2048 bits or more) or EC P-256/P-384 (this one is {})",
                key_type_name(key)
            ))),
        },
        _ => Err(SecretsError::invalid(format!(
            "the mTLS private key must be RSA (2048 bits or more) or EC P-256/P-384 (this one is {})",
            key_type_name(key)
        ))),
    }
}

pub(crate) fn chain_to_pem(certs: &[X509]) -> Result<String, SecretsError> {
    let mut out = String::new();
    for cert in certs {
        let pem = cert
            .to_pem()
            .map_err(|_| SecretsError::invalid("a certificate cannot be re-encoded as PEM"))?;
        out.push_str(&String::from_utf8_lossy(&pem));
    }
    Ok(out)
}

fn name_to_string(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn certificate_status(certs: &[X509]) -> Result<CertificateStatus, SecretsError> {
    let leaf = certs
        .first()
        .ok_or_else(|| SecretsError::invalid("the stored mTLS certificate chain is empty"))?;
    let spki = leaf
        .public_key()
        .and_then(|k| k.public_key_to_der())
        .map_err(|_| SecretsError::invalid("the certificate's public key cannot be read"))?;
    let now = openssl::asn1::Asn1Time::days_from_now(0)
        .map_err(|_| SecretsError::invalid("the current time cannot be read"))?;
    let expired = leaf.not_after() < now;
    Ok(CertificateStatus {
        subject: name_to_string(leaf.subject_name()),
        issuer: name_to_string(leaf.issuer_name()),
        not_before: leaf.not_before().to_string(),
        not_after: leaf.not_after().to_string(),
        expired,
        chain_length: certs.len(),
        fingerprint: PublicFingerprint::of_spki(&spki),
    })
}

/// Whether a PEM text is an encrypted PKCS#8 private key.
pub(crate) fn is_encrypted_pkcs8(input: &[u8]) -> bool {
    std::str::from_utf8(input).is_ok_and(|t| {
        t.trim_start()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    })
}

/// Decrypts an encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2) in memory
/// and returns the plain PKCS#8 PEM, wiped on drop. Nothing touches the disk.
pub(crate) fn decrypt_pkcs8_pem(
    input: &[u8],
    passphrase: &[u8],
    what: &str,
) -> Result<Zeroizing<String>, SecretsError> {
    if !is_encrypted_pkcs8(input) {
        return Err(SecretsError::invalid(format!(
            "the {what} is not an encrypted PKCS#8 key (-----BEGIN ENCRYPTED PRIVATE KEY-----): import it without a passphrase"
        )));
    }
    if passphrase.is_empty() {
        return Err(SecretsError::invalid(format!(
            "the {what} is encrypted and the passphrase is empty"
        )));
    }
    let key = PKey::private_key_from_pem_passphrase(input, passphrase).map_err(|_| {
        SecretsError::invalid(format!(
            "the {what} cannot be decrypted: the passphrase is wrong or the file is damaged"
        ))
    })?;
    to_pkcs8_pem(&key)
}
