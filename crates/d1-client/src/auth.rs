//! ES256 JWT-bearer assertions and the cached access token.

use std::fmt;
use std::time::Duration;

use josekit::jwk::Jwk;
use josekit::jws::ES256;
use josekit::jws::JwsHeader;
use josekit::jws::alg::ecdsa::EcdsaJwsSigner;
use josekit::jwt::JwtPayload;
use rand::Rng;
use rand::distr::Alphanumeric;
use zeroize::Zeroizing;

use crate::error::D1Error;
use crate::ids::IssuerId;

/// The issuer's ES256 private signing key (a P-256 private JWK with `kid`, from the OS
/// keychain). `Debug` prints `<redacted>`; not serializable; the JWK text given to the
/// constructor is wiped after parsing.
pub struct SigningKey {
    kid: String,
    signer: EcdsaJwsSigner,
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
        Ok(Self { kid, signer })
    }

    /// The key id sent in the assertion header.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// An OAuth access token. `Debug` prints `<redacted>`; wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(pub(crate) Zeroizing<String>);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A signed assertion (JWT). Wiped on drop; `Debug` prints `<redacted>`.
pub(crate) struct Assertion(pub(crate) Zeroizing<String>);

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Assertion(<redacted>)")
    }
}

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
    // Whole seconds: drop sub-second precision so exp - iat is exactly the lifetime.
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| D1Error::Signing)?
        .as_secs();
    let iat = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    payload.set_issued_at(&iat);
    payload.set_expires_at(&(iat + lifetime));
    payload.set_jwt_id(random_jti());
    let jwt = josekit::jwt::encode_with_signer(&payload, &header, &key.signer)
        .map_err(|_| D1Error::Signing)?;
    Ok(Assertion(Zeroizing::new(jwt)))
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
            josekit::jwt::decode_with_verifier(a.0.as_str(), &verifier).unwrap();
        assert_eq!(header.algorithm(), Some("ES256"));
        assert_eq!(header.key_id(), Some("sig-1"));
        assert_eq!(payload.issuer(), Some("ISSUER0001"));
        assert_eq!(payload.subject(), Some("ISSUER0001"));
        assert!(payload.audience().is_none());
        let iat = payload.issued_at().unwrap();
        let exp = payload.expires_at().unwrap();
        assert_eq!(exp.duration_since(iat).unwrap(), Duration::from_secs(300));
        let (pb, _) = josekit::jwt::decode_with_verifier(b.0.as_str(), &verifier).unwrap();
        assert_ne!(payload.jwt_id(), pb.jwt_id(), "jti is unique");
        assert_eq!(payload.jwt_id().unwrap().len(), 32);
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
            format!("{:?}", AccessToken(Zeroizing::new("tok".into()))),
            "AccessToken(<redacted>)"
        );
    }
}
