//! Test and training material: ES256/ECDH-ES key pairs as JWKs and a small PKI for TLS and mTLS.
//!
//! These keys are for tests and training only. They are plain JSON values so the app can keep
//! training keys in its data directory; `Debug` still hides the private parts.

use josekit::jwk::Jwk;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};

use crate::config::{TRAINING_ISSUER_ID, TlsConfig};
use crate::error::SandboxError;
use crate::secret::Secret;

/// An issuer's ES256 signing key pair and D1's P-256 encryption key pair, as JWKs with `kid`s.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct TestKeys {
    /// Issuer id (10 characters).
    pub issuer_id: String,
    /// `kid` of the signing key (JWT header).
    pub signing_kid: String,
    /// Private signing JWK (client side).
    pub signing_private_jwk: serde_json::Value,
    /// Public signing JWK (sandbox side).
    pub signing_public_jwk: serde_json::Value,
    /// `kid` of the encryption key (JWE header).
    pub encryption_kid: String,
    /// Private encryption JWK (sandbox side).
    pub encryption_private_jwk: serde_json::Value,
    /// Public encryption JWK (client side).
    pub encryption_public_jwk: serde_json::Value,
}

impl std::fmt::Debug for TestKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKeys")
            .field("issuer_id", &self.issuer_id)
            .field("signing_kid", &self.signing_kid)
            .field("signing_private_jwk", &"<redacted>")
            .field("signing_public_jwk", &self.signing_public_jwk)
            .field("encryption_kid", &self.encryption_kid)
            .field("encryption_private_jwk", &"<redacted>")
            .field("encryption_public_jwk", &self.encryption_public_jwk)
            .finish()
    }
}

impl TestKeys {
    /// Fresh keys for issuer `TRAINING01`.
    ///
    /// # Panics
    /// Only if OpenSSL cannot generate a P-256 key (a broken installation). Use
    /// [`Self::try_generate`] to get an error instead.
    #[allow(clippy::expect_used)]
    pub fn generate() -> TestKeys {
        Self::try_generate().expect("OpenSSL P-256 key generation failed")
    }

    /// Fresh keys for issuer `TRAINING01`.
    pub fn try_generate() -> Result<TestKeys, SandboxError> {
        Self::try_generate_for(TRAINING_ISSUER_ID)
    }

    /// Fresh keys for the given issuer id.
    pub fn try_generate_for(issuer_id: &str) -> Result<TestKeys, SandboxError> {
        let suffix = random_suffix();
        let signing_kid = format!("sig-{suffix}");
        let encryption_kid = format!("enc-{suffix}");
        let (signing_private_jwk, signing_public_jwk) = ec_pair(&signing_kid, "ES256")?;
        let (encryption_private_jwk, encryption_public_jwk) = ec_pair(&encryption_kid, "ECDH-ES")?;
        Ok(TestKeys {
            issuer_id: issuer_id.to_owned(),
            signing_kid,
            signing_private_jwk,
            signing_public_jwk,
            encryption_kid,
            encryption_private_jwk,
            encryption_public_jwk,
        })
    }
}

fn random_suffix() -> String {
    use rand::Rng as _;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(12)
        .map(char::from)
        .collect()
}

fn ec_pair(kid: &str, alg: &str) -> Result<(serde_json::Value, serde_json::Value), SandboxError> {
    let pair = EcKeyPair::generate(EcCurve::P256)
        .map_err(|e| SandboxError::Testkit(format!("P-256 key generation failed: {e}")))?;
    let finish = |mut jwk: Jwk| {
        jwk.set_key_id(kid);
        jwk.set_algorithm(alg);
        let map: serde_json::Map<String, serde_json::Value> = jwk.into();
        serde_json::Value::Object(map)
    };
    Ok((
        finish(pair.to_jwk_private_key()),
        finish(pair.to_jwk_public_key()),
    ))
}

/// A throw-away PKI: a CA, a server certificate for `127.0.0.1` and `localhost`, a client
/// certificate, all P-256, all PEM.
#[derive(Clone)]
pub struct TestPki {
    /// CA certificate (trust anchor for both sides).
    pub ca_cert_pem: String,
    /// Server certificate (SAN `127.0.0.1`, `localhost`).
    pub server_cert_pem: String,
    /// Server private key (PKCS#8).
    pub server_key_pem: String,
    /// Client certificate (CN `issuance-desk-test-client`).
    pub client_cert_pem: String,
    /// Client private key (PKCS#8).
    pub client_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .field("server_key_pem", &"<redacted>")
            .field("client_cert_pem", &self.client_cert_pem)
            .field("client_key_pem", &"<redacted>")
            .finish()
    }
}

impl TestPki {
    /// A fresh PKI.
    ///
    /// # Panics
    /// Only if key generation fails (a broken crypto provider). Use [`Self::try_generate`] to
    /// get an error instead.
    #[allow(clippy::expect_used)]
    pub fn generate() -> TestPki {
        Self::try_generate().expect("test PKI generation failed")
    }

    /// A fresh PKI.
    pub fn try_generate() -> Result<TestPki, SandboxError> {
        let err = |e: rcgen::Error| SandboxError::Testkit(format!("certificate generation: {e}"));
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Issuance Desk test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?)
            .map_err(err)?;

        let server_key = KeyPair::generate().map_err(err)?;
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(err)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "d1-sandbox");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params.signed_by(&server_key, &ca).map_err(err)?;

        let client_key = KeyPair::generate().map_err(err)?;
        let mut client_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, "issuance-desk-test-client");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &ca).map_err(err)?;

        Ok(TestPki {
            ca_cert_pem: ca.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        })
    }

    /// Server TLS settings; with `require_client_cert`, clients must present a certificate
    /// issued by this PKI's CA.
    pub fn server_tls(&self, require_client_cert: bool) -> TlsConfig {
        TlsConfig {
            cert_pem: self.server_cert_pem.clone(),
            key_pem: Secret::new(self.server_key_pem.clone()),
            client_ca_pem: require_client_cert.then(|| self.ca_cert_pem.clone()),
        }
    }

    /// Client certificate and key in one PEM (what `reqwest::Identity::from_pem` takes).
    pub fn client_identity_pem(&self) -> String {
        format!("{}{}", self.client_cert_pem, self.client_key_pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_kids_and_debug_hides_private_parts() {
        let k = TestKeys::generate();
        assert_eq!(k.issuer_id, "TRAINING01");
        assert_eq!(k.signing_public_jwk["kid"], k.signing_kid.as_str());
        assert_eq!(k.encryption_public_jwk["kid"], k.encryption_kid.as_str());
        assert_eq!(k.signing_public_jwk["crv"], "P-256");
        assert!(k.signing_public_jwk.get("d").is_none());
        let d = k.signing_private_jwk["d"].as_str().unwrap().to_owned();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&d));
        assert_ne!(TestKeys::generate().signing_kid, k.signing_kid);
        // Round-trips through JSON (the app stores training keys).
        let back: TestKeys = serde_json::from_str(&serde_json::to_string(&k).unwrap()).unwrap();
        assert_eq!(back, k);
    }

    #[test]
    fn pki_is_pem_and_debug_hides_keys() {
        let p = TestPki::generate();
        assert!(p.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(p.server_key_pem.contains("PRIVATE KEY"));
        assert!(!format!("{p:?}").contains("PRIVATE KEY"));
        assert!(p.client_identity_pem().contains("CERTIFICATE"));
        assert!(p.server_tls(true).client_ca_pem.is_some());
        assert!(p.server_tls(false).client_ca_pem.is_none());
    }
}
