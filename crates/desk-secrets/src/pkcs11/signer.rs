//! A private key on the token that signs there: as the D1 assertion signer (ES256, raw
//! `r || s`) and as the mTLS client key (`rustls::sign::SigningKey`: ECDSA P-256/P-384,
//! DER-encoded; RSA-PSS with SHA-256). The message is hashed here and the token signs the
//! digest (`CKM_ECDSA`, `CKM_RSA_PKCS_PSS`), which every token supports.

use std::fmt;
use std::sync::Arc;

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use d1_client::rustls;
use d1_client::rustls::sign::{Signer, SigningKey};
use d1_client::rustls::{SignatureAlgorithm, SignatureScheme};
use d1_client::{Es256Signer, SignerFailure};
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};

use super::Token;
use crate::error::SecretsError;

/// What kind of key the token holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKeyKind {
    /// ECDSA on P-256 (ES256 and TLS `ecdsa_secp256r1_sha256`).
    EcP256,
    /// ECDSA on P-384 (TLS `ecdsa_secp384r1_sha384`).
    EcP384,
    /// RSA (TLS `rsa_pss_rsae_sha256`).
    Rsa,
}

impl TokenKeyKind {
    pub(crate) fn of(public: &PKey<Public>) -> Result<Self, SecretsError> {
        match public.id() {
            Id::RSA => Ok(TokenKeyKind::Rsa),
            Id::EC => match public.ec_key().ok().and_then(|k| k.group().curve_name()) {
                Some(Nid::X9_62_PRIME256V1) => Ok(TokenKeyKind::EcP256),
                Some(Nid::SECP384R1) => Ok(TokenKeyKind::EcP384),
                _ => Err(SecretsError::token(
                    "the key on the token is on a curve other than P-256 or P-384",
                )),
            },
            _ => Err(SecretsError::token(
                "the key on the token is neither EC nor RSA",
            )),
        }
    }
}

/// A private key object on a logged-in token. `Debug` shows the label only; there is nothing
/// secret in it (the key stays on the token).
#[derive(Clone)]
pub struct TokenKey(Arc<Inner>);

struct Inner {
    token: Token,
    handle: ObjectHandle,
    kind: TokenKeyKind,
    label: String,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("token", &self.0.token.label())
            .field("label", &self.0.label)
            .field("kind", &self.0.kind)
            .finish()
    }
}

impl TokenKey {
    pub(crate) fn new(token: Token, handle: ObjectHandle, kind: TokenKeyKind, label: &str) -> Self {
        TokenKey(Arc::new(Inner {
            token,
            handle,
            kind,
            label: label.to_string(),
        }))
    }

    /// What kind of key this is.
    pub fn kind(&self) -> TokenKeyKind {
        self.0.kind
    }

    /// The object's label.
    pub fn label(&self) -> &str {
        &self.0.label
    }

    /// Signs `message` on the token: ECDSA returns `r || s`, RSA the PSS signature.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let (mechanism, digest) = match self.0.kind {
            TokenKeyKind::EcP256 => (Mechanism::Ecdsa, openssl::sha::sha256(message).to_vec()),
            TokenKeyKind::EcP384 => (Mechanism::Ecdsa, openssl::sha::sha384(message).to_vec()),
            TokenKeyKind::Rsa => (
                Mechanism::RsaPkcsPss(PkcsPssParams {
                    hash_alg: MechanismType::SHA256,
                    mgf: PkcsMgfType::MGF1_SHA256,
                    s_len: 32.into(),
                }),
                openssl::sha::sha256(message).to_vec(),
            ),
        };
        let handle = self.0.handle;
        let signature = self
            .0
            .token
            .with_session(|s| s.sign(&mechanism, handle, &digest));
        if let Err(e) = &signature {
            tracing::warn!(token = self.0.token.label(), key = %self.0.label, error = %e, "signing on the token failed");
        }
        signature
    }
}

impl Es256Signer for TokenKey {
    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerFailure> {
        if self.0.kind != TokenKeyKind::EcP256 {
            return Err(SignerFailure(
                "the signing key on the token is not a P-256 key (ES256)".into(),
            ));
        }
        let raw = self
            .sign_raw(message)
            .map_err(|e| SignerFailure(e.to_string()))?;
        <[u8; 64]>::try_from(raw.as_slice()).map_err(|_| {
            SignerFailure("the token returned an ECDSA signature of the wrong size".into())
        })
    }
}

impl SigningKey for TokenKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let scheme = match self.0.kind {
            TokenKeyKind::EcP256 => SignatureScheme::ECDSA_NISTP256_SHA256,
            TokenKeyKind::EcP384 => SignatureScheme::ECDSA_NISTP384_SHA384,
            TokenKeyKind::Rsa => SignatureScheme::RSA_PSS_SHA256,
        };
        offered.contains(&scheme).then(|| {
            Box::new(TokenTlsSigner {
                key: self.clone(),
                scheme,
            }) as Box<dyn Signer>
        })
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.0.kind {
            TokenKeyKind::EcP256 | TokenKeyKind::EcP384 => SignatureAlgorithm::ECDSA,
            TokenKeyKind::Rsa => SignatureAlgorithm::RSA,
        }
    }
}

/// One TLS handshake's signature, made on the token.
struct TokenTlsSigner {
    key: TokenKey,
    scheme: SignatureScheme,
}

impl fmt::Debug for TokenTlsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenTlsSigner")
            .field("key", &self.key)
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl Signer for TokenTlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let failed = || rustls::Error::General("signing on the PKCS#11 token failed".into());
        let raw = self.key.sign_raw(message).map_err(|_| failed())?;
        match self.key.kind() {
            TokenKeyKind::Rsa => Ok(raw),
            // TLS carries ECDSA signatures DER-encoded (Ecdsa-Sig-Value), the token gives r || s.
            TokenKeyKind::EcP256 | TokenKeyKind::EcP384 => {
                if raw.len() % 2 != 0 || raw.is_empty() {
                    return Err(failed());
                }
                let (r, s) = raw.split_at(raw.len() / 2);
                let r = BigNum::from_slice(r).map_err(|_| failed())?;
                let s = BigNum::from_slice(s).map_err(|_| failed())?;
                EcdsaSig::from_private_components(r, s)
                    .and_then(|sig| sig.to_der())
                    .map_err(|_| failed())
            }
        }
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
