//! Identifiers: issuer, card, issuer request, correlation and operation ids.
//!
//! Each id is validated on construction, so a value of these types always matches its D1 pattern.

use std::fmt;
use std::sync::LazyLock;

use rand::Rng;
use rand::distr::Alphanumeric;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::validate::{FieldError, FieldErrorCode};

#[allow(clippy::expect_used)] // constant patterns, covered by unit tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

static CARD_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_-]{1,48}$"));
static ID64: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9_-]{1,64}$"));
static ISSUER_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_-]{10}$"));

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn check(path: &str, value: &str, min: usize, max: usize, regex: &Regex) -> Result<(), FieldError> {
    let n = value.chars().count();
    let code = if n == 0 {
        FieldErrorCode::Required
    } else if n < min {
        FieldErrorCode::TooShort
    } else if n > max {
        FieldErrorCode::TooLong
    } else if !regex.is_match(value) {
        FieldErrorCode::Pattern
    } else {
        return Ok(());
    };
    Err(FieldError::new(path, code))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $path:literal, $min:expr, $max:expr, $regex:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` against the D1 pattern for this id.
            pub fn parse(value: impl Into<String>) -> Result<Self, FieldError> {
                let value = value.into();
                check($path, &value, $min, $max, &$regex)?;
                Ok(Self(value))
            }

            /// The id as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, FieldError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// The issuer id given by Thales at onboarding: exactly 10 characters of `[A-Za-z0-9_-]`.
    IssuerId, "issuerId", 10, 10, ISSUER_ID
);
id_type!(
    /// Issuer-generated card id (`^[A-Za-z0-9_-]{1,48}$`); never derived from the PAN.
    CardId, "cardId", 1, 48, CARD_ID
);
id_type!(
    /// Issuer's id of one production request (`^[a-zA-Z0-9_-]{1,64}$`); D1 echoes it back.
    IssuerRequestId, "issuerRequestId", 1, 64, ID64
);
id_type!(
    /// `x-correlation-id` header value (`^[A-Za-z0-9_-]{1,64}$`), random, no personal data.
    CorrelationId, "correlationId", 1, 64, ID64
);
id_type!(
    /// D1's id of an accepted operation (`^[A-Za-z0-9_-]{1,64}$`).
    OperationId, "operationId", 1, 64, ID64
);

impl CardId {
    /// A fresh random card id: 32 random alphanumeric characters (no card data involved).
    pub fn generate() -> Self {
        Self(random_alnum(32))
    }
}

impl IssuerRequestId {
    /// A fresh random issuer request id: 32 random alphanumeric characters.
    pub fn generate() -> Self {
        Self(random_alnum(32))
    }
}

impl CorrelationId {
    /// A fresh random correlation id: 24 random alphanumeric characters.
    pub fn generate() -> Self {
        Self(random_alnum(24))
    }
}

/// The ids of one teller intent. Generate them once, journal them before the first send and
/// reuse them on every retry: D1's duplicate guard keys on the card id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderIds {
    pub card_id: CardId,
    pub issuer_request_id: IssuerRequestId,
    pub correlation_id: CorrelationId,
}

impl OrderIds {
    /// Three fresh random ids.
    pub fn generate() -> Self {
        Self {
            card_id: CardId::generate(),
            issuer_request_id: IssuerRequestId::generate(),
            correlation_id: CorrelationId::generate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_match_their_patterns_and_differ() {
        let a = OrderIds::generate();
        let b = OrderIds::generate();
        assert!(CardId::parse(a.card_id.as_str()).is_ok());
        assert!(IssuerRequestId::parse(a.issuer_request_id.as_str()).is_ok());
        assert!(CorrelationId::parse(a.correlation_id.as_str()).is_ok());
        assert_ne!(a.card_id, b.card_id);
        assert_ne!(a.correlation_id, b.correlation_id);
    }

    #[test]
    fn card_id_boundaries() {
        assert!(CardId::parse("a").is_ok());
        assert!(CardId::parse("A".repeat(48)).is_ok());
        assert_eq!(
            CardId::parse("A".repeat(49)).unwrap_err().code,
            FieldErrorCode::TooLong
        );
        assert_eq!(
            CardId::parse("").unwrap_err().code,
            FieldErrorCode::Required
        );
        assert_eq!(
            CardId::parse("ab/c").unwrap_err().code,
            FieldErrorCode::Pattern
        );
        assert_eq!(
            CardId::parse("é").unwrap_err().code,
            FieldErrorCode::Pattern
        );
        assert_eq!(
            CardId::parse("abc\n").unwrap_err().code,
            FieldErrorCode::Pattern
        );
    }

    #[test]
    fn issuer_id_is_exactly_ten_characters() {
        assert!(IssuerId::parse("ISSUER0001").is_ok());
        assert_eq!(
            IssuerId::parse("ISSUER001").unwrap_err().code,
            FieldErrorCode::TooShort
        );
        assert_eq!(
            IssuerId::parse("ISSUER00012").unwrap_err().code,
            FieldErrorCode::TooLong
        );
        assert_eq!(
            IssuerId::parse("ISSUER 001").unwrap_err().code,
            FieldErrorCode::Pattern
        );
        assert_eq!(
            IssuerId::parse("").unwrap_err().code,
            FieldErrorCode::Required
        );
    }

    #[test]
    fn correlation_id_boundaries_and_serde() {
        assert!(CorrelationId::parse("x".repeat(64)).is_ok());
        assert!(CorrelationId::parse("x".repeat(65)).is_err());
        let ok: Result<CorrelationId, _> = serde_json::from_str("\"abc-_9\"");
        assert!(ok.is_ok());
        let bad: Result<CorrelationId, _> = serde_json::from_str("\"a b\"");
        assert!(bad.is_err());
    }
}
