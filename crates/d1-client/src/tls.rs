//! TLS of the D1 client: which servers are trusted (platform roots, an extra CA bundle, or only
//! that bundle) and the mTLS client identity — a PEM certificate and key held in memory, or a
//! certificate whose private key signs on a PKCS#11 token (a `rustls::sign::SigningKey`
//! implemented by `desk-secrets`), in which case the key never enters this process.

use std::fmt;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::sign::CertifiedKey;
use zeroize::Zeroizing;

use crate::client::D1Config;
use crate::error::D1Error;

/// The mTLS client identity. Wiped on drop (the in-memory key); `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct ClientIdentity(Identity);

#[derive(Clone)]
enum Identity {
    /// The certificate (chain) and its private key, PEM, in memory.
    Pem(Zeroizing<String>),
    /// The certificate chain (public) and a key that signs elsewhere.
    External {
        chain: Vec<CertificateDer<'static>>,
        key: Arc<dyn rustls::sign::SigningKey>,
    },
}

impl ClientIdentity {
    /// From the certificate PEM and the private-key PEM.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Self {
        Self(Identity::Pem(Zeroizing::new(format!(
            "{}\n{}\n",
            cert_pem.trim_end(),
            key_pem.trim_end()
        ))))
    }

    /// From the certificate chain (PEM, leaf first) and a key that signs where it lives (a
    /// PKCS#11 token). The key must be the certificate's.
    pub fn with_external_key(
        cert_chain_pem: &str,
        key: Arc<dyn rustls::sign::SigningKey>,
    ) -> Result<Self, D1Error> {
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| D1Error::config("clientIdentity", "is not a PEM certificate chain"))?;
        if chain.is_empty() {
            return Err(D1Error::config("clientIdentity", "holds no certificate"));
        }
        Ok(Self(Identity::External { chain, key }))
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientIdentity(<redacted>)")
    }
}

/// Applies the TLS settings of `config` to the reqwest builder: reqwest's own TLS options for
/// an in-memory identity (or none), a preconfigured rustls client config when the key signs
/// elsewhere.
pub(crate) fn configure(
    mut builder: reqwest::ClientBuilder,
    config: &D1Config,
) -> Result<reqwest::ClientBuilder, D1Error> {
    if let Some(ClientIdentity(Identity::External { chain, key })) = &config.client_identity {
        let tls = external_key_config(config, chain.clone(), key.clone())?;
        return Ok(builder.tls_backend_preconfigured(tls));
    }
    if let Some(pem) = &config.extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|_| D1Error::config("extraCaPem", "is not a PEM certificate bundle"))?;
        if certs.is_empty() {
            return Err(D1Error::config("extraCaPem", "holds no certificate"));
        }
        builder = if config.trust_only_extra_ca {
            builder.tls_certs_only(certs)
        } else {
            builder.tls_certs_merge(certs)
        };
    }
    if let Some(ClientIdentity(Identity::Pem(pem))) = &config.client_identity {
        let identity = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|_| {
            D1Error::config(
                "clientIdentity",
                "is not a PEM certificate with its private key",
            )
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// The rustls client config reqwest would build (same provider, same verifier), with a client
/// certificate whose key signs through `key`.
fn external_key_config(
    config: &D1Config,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<dyn rustls::sign::SigningKey>,
) -> Result<rustls::ClientConfig, D1Error> {
    let tls_error = || {
        D1Error::config(
            "tls",
            "the HTTPS client could not be built from these settings",
        )
    };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let extra = match &config.extra_ca_pem {
        None => Vec::new(),
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| D1Error::config("extraCaPem", "is not a PEM certificate bundle"))?;
            if certs.is_empty() {
                return Err(D1Error::config("extraCaPem", "holds no certificate"));
            }
            certs
        }
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|_| tls_error())?;
    let builder = if config.trust_only_extra_ca {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(extra);
        if added == 0 {
            return Err(D1Error::config("extraCaPem", "holds no usable certificate"));
        }
        builder.with_root_certificates(roots)
    } else {
        let verifier = if extra.is_empty() {
            rustls_platform_verifier::Verifier::new(provider)
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
        }
        .map_err(|_| tls_error())?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };
    let certified = Arc::new(CertifiedKey::new(chain, key));
    let mut tls = builder.with_client_cert_resolver(Arc::new(FixedClientCert(certified)));
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls)
}

/// Always offers the one configured client certificate.
struct FixedClientCert(Arc<CertifiedKey>);

impl fmt::Debug for FixedClientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedClientCert")
    }
}

impl ResolvesClientCert for FixedClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // Offer the certificate only when the key can sign with a scheme the server accepts.
        self.0
            .key
            .choose_scheme(sigschemes)
            .map(|_| Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}
