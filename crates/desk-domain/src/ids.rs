//! The D1 identifiers: issuer, consumer, card, issuer request, correlation and operation ids.
//!
//! Each id is validated on construction, so a value of these types always matches its D1
//! pattern; crates pass them on typed (the journal stores them through `ToSql`/`FromSql`), so the
//! proof is never lost by a trip through `String`.

use std::fmt;
use std::sync::LazyLock;

use rand::Rng;
use rand::distr::Alphanumeric;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::field::{FieldError, length_code};

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
    if let Some((code, limit)) = length_code(value.chars().count(), min, max) {
        return Err(FieldError::new(path, code).with_limit(limit));
    }
    if !regex.is_match(value) {
        return Err(FieldError::new(path, crate::FieldErrorCode::Pattern));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $path:literal, $min:expr, $max:expr, $regex:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// A string in the generated TypeScript.
        #[cfg(feature = "specta")]
        impl specta::Type for $name {
            fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
                <String as specta::Type>::definition(types)
            }
        }

        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        #[cfg(feature = "postgres")]
        impl postgres_types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &postgres_types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_sql(ty, out)
            }

            fn accepts(ty: &postgres_types::Type) -> bool {
                <String as postgres_types::ToSql>::accepts(ty)
            }

            postgres_types::to_sql_checked!();
        }

        /// A value the server returns that does not match the pattern is refused, not an id.
        #[cfg(feature = "postgres")]
        impl<'a> postgres_types::FromSql<'a> for $name {
            fn from_sql(
                ty: &postgres_types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                let text = <&str as postgres_types::FromSql>::from_sql(ty, raw)?;
                Ok(Self::parse(text)?)
            }

            fn accepts(ty: &postgres_types::Type) -> bool {
                <&str as postgres_types::FromSql>::accepts(ty)
            }
        }

        /// A stored value that no longer matches the pattern is a corrupt row, not an id.
        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                Self::parse(value.as_str()?)
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

id_type!(
    /// The issuer id given by Thales at onboarding: exactly 10 characters of `[A-Za-z0-9_-]`.
    IssuerId, "issuerId", 10, 10, ISSUER_ID
);
id_type!(
    /// D1's id of the bank's customer (`^[A-Za-z0-9_-]{1,64}$`).
    ConsumerId, "consumerId", 1, 64, ID64
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
    use crate::FieldErrorCode;

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
        let too_long = CardId::parse("A".repeat(49)).unwrap_err();
        assert_eq!(too_long.code, FieldErrorCode::TooLong);
        assert_eq!(too_long.limit, Some(48));
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
