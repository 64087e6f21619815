//! Where the D1 client's private keys come from, per `[keys] store`: the OS keychain (the key is
//! read into memory, wiped after use) or a PKCS#11 token (the key stays on the token and signs
//! there; only its PIN comes from the keychain). Used by [`crate::setup::d1_client`].

use std::sync::Arc;

use d1_client::{ClientIdentity, SigningKey};
use desk_config::{Config, KeyStore};
use desk_secrets::{SecretStore, Token, TokenConfig};
use zeroize::Zeroizing;

use crate::error::WorkflowError;

fn setup(what: impl Into<String>) -> WorkflowError {
    WorkflowError::Setup(what.into())
}

/// The token named by `[keys]`, or `None` when the keys are in the keychain.
pub fn token_config(config: &Config) -> Result<Option<TokenConfig>, WorkflowError> {
    let keys = &config.keys;
    if keys.store != KeyStore::Pkcs11 {
        return Ok(None);
    }
    Ok(Some(TokenConfig {
        module: keys
            .pkcs11_module
            .clone()
            .ok_or_else(|| setup("keys.pkcs11_module is not set"))?,
        token_label: keys
            .token_label
            .clone()
            .ok_or_else(|| setup("keys.token_label is not set"))?,
    }))
}

/// The private keys of one desk: logs in to the token once when `[keys] store = "pkcs11"`.
pub struct DeskKeys<'a> {
    config: &'a Config,
    secrets: &'a SecretStore,
    token: Option<Token>,
}

impl<'a> DeskKeys<'a> {
    /// Opens the key store of `config` (for a token: loads the module and logs in with the PIN
    /// from the keychain).
    pub fn open(config: &'a Config, secrets: &'a SecretStore) -> Result<Self, WorkflowError> {
        let token = match token_config(config)? {
            None => None,
            Some(token) => Some(
                secrets
                    .login_token(&token)
                    .map_err(|e| setup(format!("PKCS#11 token: {e}")))?,
            ),
        };
        Ok(DeskKeys {
            config,
            secrets,
            token,
        })
    }

    /// The ES256 signing key with `kid` (`d1.signing_kid`).
    pub fn signing_key(&self, kid: &str) -> Result<SigningKey, WorkflowError> {
        if let Some(token) = &self.token {
            let label = self
                .config
                .keys
                .signing_key_label
                .as_deref()
                .ok_or_else(|| setup("keys.signing_key_label is not set"))?;
            let key = token
                .private_key(label)
                .map_err(|e| setup(format!("signing key: {e}")))?;
            return SigningKey::external(kid, Arc::new(key)).map_err(|e| setup(e.user_message()));
        }
        let jwk = self
            .secrets
            .signing_key_jwk(kid)
            .map_err(|e| setup(format!("signing key: {e}")))?;
        let jwk = Zeroizing::new(
            jwk.expose_str()
                .ok_or_else(|| setup("the signing key is not JSON text"))?
                .to_owned(),
        );
        SigningKey::from_jwk_json(jwk).map_err(|e| setup(e.user_message()))
    }

    /// The mTLS client identity: certificate chain from the keychain, key from the keychain or
    /// the token.
    pub fn client_identity(&self) -> Result<ClientIdentity, WorkflowError> {
        if let Some(token) = &self.token {
            let label = self
                .config
                .keys
                .tls_key_label
                .as_deref()
                .ok_or_else(|| setup("keys.tls_key_label is not set"))?;
            let chain = self
                .secrets
                .mtls_certificate_chain()
                .map_err(|e| setup(format!("mTLS certificate: {e}")))?;
            let key = token
                .private_key(label)
                .map_err(|e| setup(format!("mTLS key: {e}")))?;
            return ClientIdentity::with_external_key(&chain, Arc::new(key))
                .map_err(|e| setup(e.user_message()));
        }
        let identity = self
            .secrets
            .mtls_identity()
            .map_err(|e| setup(format!("mTLS identity: {e}")))?;
        let key = identity
            .key_pem
            .expose_str()
            .ok_or_else(|| setup("the mTLS key in the keychain is not PEM text"))?;
        Ok(ClientIdentity::from_pem(&identity.cert_chain_pem, key))
    }
}
