//! The one error type of this crate.

use serde::Serialize;

/// A stable, serializable classification of [`SecretsError`] (for the UI and the CLI's exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretsErrorKind {
    /// No D-Bus session, or no Secret Service (e.g. gnome-keyring) running in it.
    NoSecretService,
    /// The keychain is locked (or access was refused).
    Locked,
    /// The secret is not in the keychain.
    NotFound,
    /// What was given to import is not acceptable (wrong key type, mismatch, unreadable PEM...).
    Invalid,
    /// Any other failure of the OS keychain.
    Platform,
    /// The PKCS#11 token cannot be used (module, token, PIN, key object).
    Token,
}

/// Errors of this crate. Messages are for people and never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No D-Bus session / Secret Service.
    #[error(
        "no D-Bus session / Secret Service is not running: the OS keychain cannot be reached. Log in to a desktop session with a keyring (GNOME Keyring or KeePassXC) and try again ({detail})"
    )]
    NoSecretService {
        /// The platform's own words (no secret material).
        detail: String,
    },
    /// The keychain is locked.
    #[error("the keychain is locked: unlock it and try again ({detail})")]
    Locked {
        /// The platform's own words.
        detail: String,
    },
    /// Nothing stored under this name.
    #[error(
        "no {what} in the keychain for {service}: import it with `issuance-desk-admin secrets import`"
    )]
    NotFound {
        /// `signing key`, `mTLS certificate`, `mTLS private key`.
        what: &'static str,
        /// The keychain service name looked at.
        service: String,
    },
    /// Refused input.
    #[error("{message}")]
    Invalid {
        /// What is wrong and what to do.
        message: String,
    },
    /// Other keychain failure.
    #[error("the OS keychain failed: {detail}")]
    Platform {
        /// The platform's own words.
        detail: String,
    },
    /// The PKCS#11 token failed or refused.
    #[error("the PKCS#11 token cannot be used: {detail}")]
    Token {
        /// What went wrong (PKCS#11 return values and our words; never key material or PIN).
        detail: String,
    },
}

impl SecretsError {
    /// The stable kind.
    pub fn kind(&self) -> SecretsErrorKind {
        match self {
            SecretsError::NoSecretService { .. } => SecretsErrorKind::NoSecretService,
            SecretsError::Locked { .. } => SecretsErrorKind::Locked,
            SecretsError::NotFound { .. } => SecretsErrorKind::NotFound,
            SecretsError::Invalid { .. } => SecretsErrorKind::Invalid,
            SecretsError::Platform { .. } => SecretsErrorKind::Platform,
            SecretsError::Token { .. } => SecretsErrorKind::Token,
        }
    }

    pub(crate) fn token(detail: impl Into<String>) -> Self {
        SecretsError::Token {
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        SecretsError::Invalid {
            message: message.into(),
        }
    }

    /// Map a keyring error. `BadEncoding` carries the stored bytes: they are zeroized here and
    /// never shown.
    pub(crate) fn from_keyring(error: keyring::Error, what: &'static str, service: &str) -> Self {
        use zeroize::Zeroize;
        match error {
            keyring::Error::NoEntry => SecretsError::NotFound {
                what,
                service: service.to_string(),
            },
            keyring::Error::NoStorageAccess(inner) => SecretsError::Locked {
                detail: inner.to_string(),
            },
            keyring::Error::PlatformFailure(inner) => {
                if is_no_service(inner.as_ref()) {
                    SecretsError::NoSecretService {
                        detail: inner.to_string(),
                    }
                } else {
                    SecretsError::Platform {
                        detail: inner.to_string(),
                    }
                }
            }
            keyring::Error::BadEncoding(mut bytes) => {
                bytes.zeroize();
                SecretsError::Platform {
                    detail: format!("the stored {what} is not text: remove it and import it again"),
                }
            }
            keyring::Error::TooLong(attr, limit) => SecretsError::Platform {
                detail: format!("the keychain limits {attr} to {limit} bytes"),
            },
            keyring::Error::Invalid(attr, reason) => SecretsError::Platform {
                detail: format!("the keychain refused {attr}: {reason}"),
            },
            keyring::Error::Ambiguous(items) => SecretsError::Platform {
                detail: format!(
                    "{} entries match the {what} of {service}: remove them (`issuance-desk-admin secrets remove`) and import again",
                    items.len()
                ),
            },
            other => SecretsError::Platform {
                detail: other.to_string(),
            },
        }
    }
}

#[cfg(target_os = "linux")]
fn is_no_service(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    match inner.downcast_ref::<dbus_secret_service::Error>() {
        Some(dbus_secret_service::Error::Unavailable) => true,
        Some(dbus_secret_service::Error::Dbus(e)) => {
            // Connection-level failures: no session bus, or nobody owns org.freedesktop.secrets.
            let name = e.name().unwrap_or("");
            name.is_empty()
                || name == "org.freedesktop.DBus.Error.ServiceUnknown"
                || name == "org.freedesktop.DBus.Error.NoServer"
                || name == "org.freedesktop.DBus.Error.FileNotFound"
                || name == "org.freedesktop.DBus.Error.NotSupported"
                || name == "org.freedesktop.DBus.Error.Spawn.ExecFailed"
                || name.starts_with("org.freedesktop.DBus.Error.Spawn")
                || name == "org.freedesktop.DBus.Error.NameHasNoOwner"
        }
        _ => false,
    }
}

#[cfg(not(target_os = "linux"))]
fn is_no_service(_inner: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_locked_keychain_maps_to_locked() {
        for inner in [
            dbus_secret_service::Error::Locked,
            dbus_secret_service::Error::Prompt,
        ] {
            let e = SecretsError::from_keyring(
                keyring::Error::NoStorageAccess(Box::new(inner)),
                "signing key",
                "s",
            );
            assert_eq!(e.kind(), SecretsErrorKind::Locked);
            assert!(
                e.to_string()
                    .starts_with("the keychain is locked: unlock it and try again")
            );
        }
    }

    #[test]
    fn an_unavailable_service_maps_to_no_secret_service() {
        let e = SecretsError::from_keyring(
            keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Unavailable)),
            "signing key",
            "s",
        );
        assert_eq!(e.kind(), SecretsErrorKind::NoSecretService);
    }

    #[test]
    fn other_failures_are_platform_and_never_show_stored_bytes() {
        let e = SecretsError::from_keyring(
            keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Parse)),
            "signing key",
            "s",
        );
        assert_eq!(e.kind(), SecretsErrorKind::Platform);
        let canary = b"-----BEGIN PRIVATE KEY-----\xffCANARY".to_vec();
        let e = SecretsError::from_keyring(keyring::Error::BadEncoding(canary), "signing key", "s");
        assert_eq!(e.kind(), SecretsErrorKind::Platform);
        assert!(!format!("{e} {e:?}").contains("CANARY"));
    }

    #[test]
    fn kinds_serialize_as_stable_names() {
        let names: Vec<String> = [
            SecretsErrorKind::NoSecretService,
            SecretsErrorKind::Locked,
            SecretsErrorKind::NotFound,
            SecretsErrorKind::Invalid,
            SecretsErrorKind::Platform,
            SecretsErrorKind::Token,
        ]
        .iter()
        .map(|k| serde_json::to_string(k).unwrap_or_default())
        .collect();
        assert_eq!(
            names,
            [
                "\"no_secret_service\"",
                "\"locked\"",
                "\"not_found\"",
                "\"invalid\"",
                "\"platform\"",
                "\"token\""
            ]
        );
    }
}
