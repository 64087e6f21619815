//! A string that never shows itself: no `Serialize`, `Debug` prints `<redacted>`, zeroized on drop.

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// Secret text (a private JWK, a private key PEM).
///
/// Deserializes from a string or, for JWKs written inline in TOML/JSON, from any JSON value
/// (kept as its JSON text). It cannot be serialized and its `Debug` output is `<redacted>`.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps secret text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// The secret text, for the one place that needs it.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&serde_json::Value> for Secret {
    fn from(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::String(s) => Self::new(s.clone()),
            other => Self::new(other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Self::from(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_inline_jwk_is_kept_as_json() {
        let s: Secret = serde_json::from_str(r#"{"kty":"EC","d":"SECRETD"}"#).unwrap();
        assert_eq!(format!("{s:?}"), "<redacted>");
        let v: serde_json::Value = serde_json::from_str(s.expose()).unwrap();
        assert_eq!(v["d"], "SECRETD");
        let s: Secret = serde_json::from_str(r#""-----BEGIN""#).unwrap();
        assert_eq!(s.expose(), "-----BEGIN");
    }
}
