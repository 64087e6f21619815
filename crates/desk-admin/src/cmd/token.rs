//! The PKCS#11 token of `[keys] store = "pkcs11"`: logging in (PIN from the keychain),
//! `secrets set-pin` and `secrets generate`.

use desk_config::Config;
use desk_secrets::{SecretBytes, SecretStore, Token};
use order_workflow::key_store::token_config;

use crate::cmd::prompt;
use crate::error::{AdminError, Outcome};
use crate::output::line;

/// The key labels of `[keys]`.
pub struct Labels {
    signing: Option<String>,
    tls: Option<String>,
}

impl Labels {
    fn of(config: &Config) -> Self {
        Labels {
            signing: config.keys.signing_key_label.clone(),
            tls: config.keys.tls_key_label.clone(),
        }
    }

    /// `keys.signing_key_label`.
    pub fn signing(&self) -> Result<&str, AdminError> {
        self.signing
            .as_deref()
            .ok_or_else(|| AdminError::Config("keys.signing_key_label is not set".into()))
    }

    /// `keys.tls_key_label`.
    pub fn tls(&self) -> Result<&str, AdminError> {
        self.tls.as_deref().ok_or_else(|| {
            AdminError::Config(
                "keys.tls_key_label is not set (it is needed with d1.use_mtls = true)".into(),
            )
        })
    }
}

/// The logged-in token and its labels when the configuration puts the keys on one.
pub fn open(store: &SecretStore, config: &Config) -> Result<Option<(Token, Labels)>, AdminError> {
    let Some(token) = token_config(config).map_err(|e| AdminError::Config(e.to_string()))? else {
        return Ok(None);
    };
    let token = store
        .login_token(&token)
        .map_err(|e| AdminError::from_secrets(&e))?;
    Ok(Some((token, Labels::of(config))))
}

pub fn set_pin(store: &SecretStore, config: &Config, pin_stdin: bool) -> Outcome {
    let Some(token_config) = token_config(config).map_err(|e| AdminError::Config(e.to_string()))?
    else {
        return Err(AdminError::Config(
            "keys.store is not \"pkcs11\": there is no token PIN to store".into(),
        ));
    };
    let pin = SecretBytes::from_secret(prompt::secret(
        "token PIN",
        &format!("PIN of token {:?}: ", token_config.token_label),
        pin_stdin,
        "--pin-stdin",
    )?);
    // Log in first: a wrong PIN is never stored (a few wrong logins lock a token).
    Token::login(&token_config, &pin).map_err(|e| AdminError::from_secrets(&e))?;
    store
        .set_pkcs11_pin(pin.expose())
        .map_err(|e| AdminError::from_secrets(&e))?;
    tracing::info!(service = store.service(), token = %token_config.token_label, "token PIN stored");
    line(format!(
        "The token {:?} accepted the PIN; stored in {}",
        token_config.token_label,
        store.service()
    ));
    Ok(())
}

pub fn generate(store: &SecretStore, config: &Config, signing: bool) -> Outcome {
    let Some((token, labels)) = open(store, config)? else {
        return Err(AdminError::Config(
            "keys.store is not \"pkcs11\": keys are generated on a PKCS#11 token only".into(),
        ));
    };
    let label = if signing {
        labels.signing()?
    } else {
        labels.tls()?
    };
    let (public_pem, fingerprint) = token
        .generate_p256(label)
        .map_err(|e| AdminError::from_secrets(&e))?;
    tracing::info!(token = %token.label(), key = %label, %fingerprint, "key generated on the token");
    line(format!(
        "Generated a P-256 key {label:?} on token {:?} (non-extractable)\n  public key {fingerprint}\n{}",
        token.label(),
        public_pem.trim_end()
    ));
    line(if signing {
        "Register this public key at D1 with the kid of d1.signing_kid."
    } else {
        "Put this public key in the mTLS certificate request, then import the certificate with `secrets import --mtls-cert FILE`."
    });
    Ok(())
}
