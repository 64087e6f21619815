//! ES256 JWT-bearer assertions and the cached access token.

use std::fmt;
use std::time::Duration;

use std::sync::Arc;

use josekit::JoseError;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsAlgorithm, JwsHeader, JwsSigner};
use josekit::jwt::JwtPayload;
use rand::Rng;
use rand::distr::Alphanumeric;
use zeroize::Zeroizing;

use crate::error::D1Error;
use desk_domain::IssuerId;
use desk_domain::Sensitive;

/// Signs ES256 somewhere the private key cannot be read from: a PKCS#11 token (a TPM or an
/// HSM). Implemented outside this crate (`desk-secrets`).
pub trait Es256Signer: Send + Sync {
    /// ECDSA P-256 over SHA-256 of `message`: the raw 64-byte `r || s` that JWS ES256 uses.
    /// A failure is reported by the implementation (logs) and becomes [`D1Error::Signing`].
    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerFailure>;
}

/// An [`Es256Signer`] could not sign (token absent, PIN refused, key missing …). Holds no
/// secret; the implementation says why in its own log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the external signer failed: {0}")]
pub struct SignerFailure(pub String);

/// The issuer's ES256 private signing key: either a P-256 private JWK with `kid` held in
/// memory (from the OS keychain), or an [`Es256Signer`] that signs where the key lives (a
/// PKCS#11 token), so the key never enters this process. `Debug` prints `<redacted>`; not
/// serializable; the JWK text given to the constructor is wiped after parsing.
pub struct SigningKey {
    kid: String,
    signer: Box<dyn JwsSigner>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Parses a private P-256 JWK (JSON text); the text is wiped when this returns.
    pub fn from_jwk_json(json: Zeroizing<String>) -> Result<Self, D1Error> {
        let bad = |reason: &str| D1Error::config("signingKey", reason);
        // serde_json's map cannot be wiped; it lives only for the duration of this call.
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json)
            .map_err(|_| bad("the signing key is not a JWK JSON object"))?;
        let field = |k: &str| map.get(k).and_then(|v| v.as_str());
        if field("kty") != Some("EC") || field("crv") != Some("P-256") {
            return Err(bad("the signing key must be an EC P-256 JWK (ES256)"));
        }
        if field("d").is_none() {
            return Err(bad("the signing key JWK has no private part `d`"));
        }
        let kid = field("kid")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("the signing key has no `kid`"))?
            .to_string();
        let jwk =
            Jwk::from_map(map.clone()).map_err(|_| bad("the signing key is not a valid JWK"))?;
        let signer = ES256
            .signer_from_jwk(&jwk)
            .map_err(|_| bad("the signing key is not a valid P-256 private key"))?;
        Ok(Self {
            kid,
            signer: Box::new(signer),
        })
    }

    /// A key that signs through `signer` (e.g. on a PKCS#11 token); `kid` is the key id
    /// registered at D1.
    pub fn external(kid: impl Into<String>, signer: Arc<dyn Es256Signer>) -> Result<Self, D1Error> {
        let kid = kid.into();
        if kid.is_empty() {
            return Err(D1Error::config(
                "signingKey",
                "the signing key has no `kid`",
            ));
        }
        Ok(Self {
            kid,
            signer: Box::new(ExternalJwsSigner(signer)),
        })
    }

    /// The key id sent in the assertion header.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// josekit's view of an [`Es256Signer`]: josekit builds the JWS (header, payload, base64url),
/// the signer only turns the signing input into `r || s`.
#[derive(Clone)]
struct ExternalJwsSigner(Arc<dyn Es256Signer>);

impl fmt::Debug for ExternalJwsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalJwsSigner")
    }
}

impl JwsSigner for ExternalJwsSigner {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &ES256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn signature_len(&self) -> usize {
        64
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.0
            .sign_es256(message)
            .map(|rs| rs.to_vec())
            .map_err(|e| JoseError::InvalidSignature(anyhow::Error::new(e)))
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// An OAuth access token: [`Sensitive`], so `Debug` prints `AccessToken(<redacted>)` and it
/// is wiped on drop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken(pub(crate) Sensitive<String>);

/// A signed assertion (JWT): [`Sensitive`], wiped on drop, `Debug` prints
/// `Assertion(<redacted>)`.
#[derive(Debug)]
pub(crate) struct Assertion(pub(crate) Sensitive<String>);

/// The maximum assertion lifetime D1 accepts.
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(15 * 60);

fn random_jti() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Builds and signs the JWT-bearer assertion: header `alg` ES256, `typ` JWT, `kid`; claims
/// `iss` = `sub` = issuer id, `iat` = `now`, `exp` = `now + lifetime`, a fresh random `jti`, and
/// `aud` when configured.
pub(crate) fn sign_assertion(
    key: &SigningKey,
    issuer_id: &IssuerId,
    audience: Option<&str>,
    now: std::time::SystemTime,
    lifetime: Duration,
) -> Result<Assertion, D1Error> {
    if lifetime > MAX_ASSERTION_LIFETIME || lifetime.is_zero() {
        return Err(D1Error::config(
            "assertionLifetime",
            "must be between 1 second and 15 minutes",
        ));
    }
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(key.kid.as_str());
    let mut payload = JwtPayload::new();
    payload.set_issuer(issuer_id.as_str());
    payload.set_subject(issuer_id.as_str());
    if let Some(aud) = audience {
        payload.set_audience(vec![aud]);
    }
    // Whole seconds: exp - iat is exactly the lifetime.
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| D1Error::Signing)?
        .as_secs();
    // Integer seconds (RFC 7519 NumericDate): josekit's set_issued_at writes a float.
    payload
        .set_claim("iat", Some(serde_json::Value::from(secs)))
        .map_err(|_| D1Error::Signing)?;
    payload
        .set_claim(
            "exp",
            Some(serde_json::Value::from(secs + lifetime.as_secs())),
        )
        .map_err(|_| D1Error::Signing)?;
    payload.set_jwt_id(random_jti());
    let jwt = josekit::jwt::encode_with_signer(&payload, &header, key.signer.as_ref())
        .map_err(|_| D1Error::Signing)?;
    Ok(Assertion(Sensitive::new(jwt)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn test_key() -> (SigningKey, Jwk) {
        let pair = ES256.generate_key_pair().unwrap();
        let mut private = pair.to_jwk_private_key();
        private.set_key_id("sig-1");
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("sig-1");
        (
            SigningKey::from_jwk_json(Zeroizing::new(private.to_string())).unwrap(),
            public,
        )
    }

    #[test]
    fn assertion_has_the_claims_d1_requires() {
        let (key, public) = test_key();
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let now = std::time::SystemTime::now();
        let a = sign_assertion(&key, &issuer, None, now, Duration::from_secs(300)).unwrap();
        let b = sign_assertion(&key, &issuer, None, now, Duration::from_secs(300)).unwrap();
        let verifier = ES256.verifier_from_jwk(&public).unwrap();
        let (payload, header) =
            josekit::jwt::decode_with_verifier(a.0.expose().as_str(), &verifier).unwrap();
        assert_eq!(header.algorithm(), Some("ES256"));
        assert_eq!(header.key_id(), Some("sig-1"));
        assert_eq!(payload.issuer(), Some("ISSUER0001"));
        assert_eq!(payload.subject(), Some("ISSUER0001"));
        assert!(payload.audience().is_none());
        let iat = payload.issued_at().unwrap();
        let exp = payload.expires_at().unwrap();
        assert_eq!(exp.duration_since(iat).unwrap(), Duration::from_secs(300));
        let (pb, _) = josekit::jwt::decode_with_verifier(b.0.expose().as_str(), &verifier).unwrap();
        assert_ne!(payload.jwt_id(), pb.jwt_id(), "jti is unique");
        assert_eq!(payload.jwt_id().unwrap().len(), 32);
    }

    /// An [`Es256Signer`] in memory (OpenSSL), standing in for a token in this unit test; the
    /// real PKCS#11 one is tested against SoftHSM2 in `desk-secrets`.
    struct OpensslSigner(openssl::ec::EcKey<openssl::pkey::Private>);

    impl Es256Signer for OpensslSigner {
        fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerFailure> {
            let digest = openssl::sha::sha256(message);
            let sig = openssl::ecdsa::EcdsaSig::sign(&digest, &self.0)
                .map_err(|e| SignerFailure(e.to_string()))?;
            let mut out = [0u8; 64];
            out[..32].copy_from_slice(&sig.r().to_vec_padded(32).unwrap());
            out[32..].copy_from_slice(&sig.s().to_vec_padded(32).unwrap());
            Ok(out)
        }
    }

    struct FailingSigner;

    impl Es256Signer for FailingSigner {
        fn sign_es256(&self, _message: &[u8]) -> Result<[u8; 64], SignerFailure> {
            Err(SignerFailure("token not present".into()))
        }
    }

    #[test]
    fn an_external_signer_makes_an_assertion_the_public_key_verifies() {
        let group =
            openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let ec = openssl::ec::EcKey::generate(&group).unwrap();
        let public_pem = ec.public_key_to_pem().unwrap();
        let key = SigningKey::external("hsm-1", Arc::new(OpensslSigner(ec))).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let a = sign_assertion(
            &key,
            &issuer,
            None,
            std::time::SystemTime::now(),
            Duration::from_secs(60),
        )
        .unwrap();
        let verifier = ES256.verifier_from_pem(&public_pem).unwrap();
        let (payload, header) =
            josekit::jwt::decode_with_verifier(a.0.expose().as_str(), &verifier).unwrap();
        assert_eq!(header.algorithm(), Some("ES256"));
        assert_eq!(header.key_id(), Some("hsm-1"));
        assert_eq!(payload.issuer(), Some("ISSUER0001"));

        let failing = SigningKey::external("hsm-1", Arc::new(FailingSigner)).unwrap();
        let e = sign_assertion(
            &failing,
            &issuer,
            None,
            std::time::SystemTime::now(),
            Duration::from_secs(60),
        )
        .unwrap_err();
        assert_eq!(e.kind(), "signing");
        assert!(SigningKey::external("", Arc::new(FailingSigner)).is_err());
    }

    #[test]
    fn lifetime_above_fifteen_minutes_is_refused() {
        let (key, _) = test_key();
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let now = std::time::SystemTime::now();
        assert!(
            sign_assertion(
                &key,
                &issuer,
                Some("https://api.d1.thalescloud.io"),
                now,
                MAX_ASSERTION_LIFETIME
            )
            .is_ok()
        );
        let e = sign_assertion(
            &key,
            &issuer,
            None,
            now,
            MAX_ASSERTION_LIFETIME + Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(e.kind(), "config");
    }

    #[test]
    fn signing_key_errors_and_redaction() {
        let (key, public) = test_key();
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
        let e = SigningKey::from_jwk_json(Zeroizing::new(public.to_string())).unwrap_err();
        assert!(e.to_string().contains("private"), "{e}");
        assert!(SigningKey::from_jwk_json(Zeroizing::new("{".into())).is_err());
        let mut no_kid: serde_json::Value = serde_json::from_str(
            &ES256
                .generate_key_pair()
                .unwrap()
                .to_jwk_private_key()
                .to_string(),
        )
        .unwrap();
        no_kid.as_object_mut().unwrap().remove("kid");
        let e = SigningKey::from_jwk_json(Zeroizing::new(no_kid.to_string())).unwrap_err();
        assert!(e.to_string().contains("kid"));
        assert_eq!(
            format!("{:?}", AccessToken(Sensitive::new("tok".into()))),
            "AccessToken(<redacted>)"
        );
    }
}
