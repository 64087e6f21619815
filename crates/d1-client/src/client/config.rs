//! [`D1Config`]: where D1 is, how the client reaches it (timeouts, TLS, retries) and what the
//! assertion says. Checked once, by [`crate::D1Client::new`].

use std::time::Duration;

use desk_domain::IssuerId;

use super::retry::RetryPolicy;
use crate::auth::MAX_ASSERTION_LIFETIME;
use crate::error::D1Error;
use crate::tls::ClientIdentity;

/// Connection and behaviour settings. Holds public material and the mTLS identity only; the
/// signing key is passed to [`D1Client::new`] separately.
#[derive(Clone, Debug)]
pub struct D1Config {
    /// e.g. `https://api.d1.thalescloud.io/authz/v1`
    pub auth_base_url: String,
    /// e.g. `https://api.d1.thalescloud.io/banking/v1`
    pub banking_base_url: String,
    pub issuer_id: IssuerId,
    /// mTLS client identity, when D1 (or the gateway) requires one.
    pub client_identity: Option<ClientIdentity>,
    /// Extra trusted CA certificates (PEM bundle), added to the platform roots.
    pub extra_ca_pem: Option<String>,
    /// Trust only `extra_ca_pem`, not the platform roots (test peers, private gateways).
    pub trust_only_extra_ca: bool,
    /// Allow `http://` base URLs, and only on a loopback host (tests and development builds
    /// against a local sandbox). Never for staging or production; the desk sets it only in
    /// development builds.
    pub allow_plain_http_loopback: bool,
    pub connect_timeout: Duration,
    /// Longest wait for any read from the server.
    pub read_timeout: Duration,
    /// Longest time for one whole request.
    pub request_timeout: Duration,
    /// `exp - iat` of the assertion; at most 15 minutes (default 5).
    pub assertion_lifetime: Duration,
    /// Optional `aud` claim of the assertion. D1 marks `aud` optional and publishes no value
    /// for it (REFERENCE.md §1.3), so there is no default.
    pub assertion_audience: Option<String>,
    /// Refresh the token this long before it expires (at most half its lifetime).
    pub token_refresh_margin: Duration,
    pub retry: RetryPolicy,
}

impl D1Config {
    /// Settings with defaults: 5 s connect, 20 s read, 30 s per request, 5 min assertions,
    /// refresh 60 s before expiry, [`RetryPolicy::default`].
    pub fn new(
        auth_base_url: impl Into<String>,
        banking_base_url: impl Into<String>,
        issuer_id: IssuerId,
    ) -> Self {
        Self {
            auth_base_url: auth_base_url.into(),
            banking_base_url: banking_base_url.into(),
            issuer_id,
            client_identity: None,
            extra_ca_pem: None,
            trust_only_extra_ca: false,
            allow_plain_http_loopback: false,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            assertion_lifetime: Duration::from_secs(300),
            assertion_audience: None,
            token_refresh_margin: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    pub(super) fn check(&self) -> Result<(), D1Error> {
        for (key, url) in [
            ("authBaseUrl", &self.auth_base_url),
            ("bankingBaseUrl", &self.banking_base_url),
        ] {
            let parsed =
                reqwest::Url::parse(url).map_err(|_| D1Error::config(key, "is not a valid URL"))?;
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            match parsed.scheme() {
                "https" => {}
                "http" if self.allow_plain_http_loopback && loopback => {}
                "http" if self.allow_plain_http_loopback => {
                    return Err(D1Error::config(
                        key,
                        "plain http:// is allowed on a loopback host only",
                    ));
                }
                _ => return Err(D1Error::config(key, "must be an https:// URL")),
            }
        }
        if self.assertion_lifetime.is_zero() || self.assertion_lifetime > MAX_ASSERTION_LIFETIME {
            return Err(D1Error::config(
                "assertionLifetime",
                "must be between 1 second and 15 minutes",
            ));
        }
        if self.trust_only_extra_ca && self.extra_ca_pem.is_none() {
            return Err(D1Error::config(
                "trustOnlyExtraCa",
                "needs an extra CA bundle",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{D1Client, SigningKey};
    use zeroize::Zeroizing;

    fn signing_key() -> SigningKey {
        let mut jwk = josekit::jws::ES256
            .generate_key_pair()
            .unwrap()
            .to_jwk_private_key();
        jwk.set_key_id("k");
        SigningKey::from_jwk_json(Zeroizing::new(jwk.to_string())).unwrap()
    }

    #[test]
    fn bad_tls_material_is_a_config_error_naming_the_key() {
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let mut c = D1Config::new("https://a/authz/v1", "https://a/banking/v1", issuer);
        c.extra_ca_pem = Some("not a certificate".into());
        let e = D1Client::new(c.clone(), signing_key()).unwrap_err();
        assert!(e.to_string().contains("extraCaPem"), "{e}");
        c.extra_ca_pem = None;
        c.client_identity = Some(ClientIdentity::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "nokey",
        ));
        let e = D1Client::new(c.clone(), signing_key()).unwrap_err();
        assert!(e.to_string().contains("clientIdentity"), "{e}");
        c.client_identity = None;
        c.trust_only_extra_ca = true;
        let e = D1Client::new(c, signing_key()).unwrap_err();
        assert!(e.to_string().contains("trustOnlyExtraCa"), "{e}");
    }

    #[test]
    fn config_is_checked() {
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let mut c = D1Config::new("https://a/authz/v1", "https://a/banking/v1", issuer.clone());
        assert!(c.check().is_ok());
        c.assertion_lifetime = Duration::from_secs(15 * 60 + 1);
        assert_eq!(c.check().unwrap_err().kind(), "config");
        let mut c = D1Config::new("http://a/authz/v1", "https://a/banking/v1", issuer.clone());
        assert!(c.check().unwrap_err().to_string().contains("authBaseUrl"));
        c.allow_plain_http_loopback = true;
        assert!(c.check().unwrap_err().to_string().contains("loopback"));
        c.auth_base_url = "http://127.0.0.1:8080/authz/v1".into();
        assert!(c.check().is_ok());
        let c = D1Config::new("https://a/authz/v1", "not a url", issuer);
        assert!(
            c.check()
                .unwrap_err()
                .to_string()
                .contains("bankingBaseUrl")
        );
        assert_eq!(
            format!("{:?}", ClientIdentity::from_pem("C", "K")),
            "ClientIdentity(<redacted>)"
        );
    }
}
