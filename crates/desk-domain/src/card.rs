//! Card data as the teller types it: the one input shape from the window (IPC) to the card
//! rules and the JWE. Every value is [`Sensitive`]: wiped on drop, `<redacted>` in `Debug`,
//! never serializable. [`PanLast4`] is the only card-derived value allowed anywhere else.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::field::{FieldError, FieldErrorCode};
use crate::sensitive::Sensitive;

macro_rules! sensitive_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Sensitive<String>);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(Sensitive::new(value.into()))
            }

            /// The text itself; see [`Sensitive::expose`].
            pub fn expose(&self) -> &str {
                self.0.expose()
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        /// A string in the generated TypeScript.
        #[cfg(feature = "specta")]
        impl specta::Type for $name {
            fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
                <String as specta::Type>::definition(types)
            }
        }
    };
}

sensitive_text!(
    /// A card number as typed: digits, maybe with spaces between groups.
    Pan
);
sensitive_text!(
    /// A card verification value (CVV2 printed on the card, or CVV1 on the stripe).
    Cvv
);
sensitive_text!(
    /// A name printed or encoded on the card.
    CardholderName
);

impl Pan {
    /// The digits without the spaces a teller may type between groups.
    pub fn digits(&self) -> Sensitive<String> {
        Sensitive::new(self.expose().chars().filter(|c| *c != ' ').collect())
    }
}

/// Track data overrides, as typed or imported.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct TrackDataInput {
    pub track1: Option<Sensitive<String>>,
    pub track2: Option<Sensitive<String>>,
    pub track3: Option<Sensitive<String>>,
}

/// The card data of an order as the teller typed it, straight from the form. Deserializable
/// (IPC); not serializable; `Debug` shows no value; every string is wiped on drop. The card
/// rules (`d1_client::CardData::from_input`) turn it into the validated wire form.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct CardDataInput {
    pub pan: Pan,
    /// `MM/YY`.
    pub exp: Sensitive<String>,
    pub name: CardholderName,
    pub second_name: Option<CardholderName>,
    pub encoded_name: Option<CardholderName>,
    pub cvv2: Option<Cvv>,
    pub cvv1: Option<Cvv>,
    pub pvv: Option<Sensitive<String>>,
    /// Two digits; `"00"` when absent.
    pub pan_sequence_number: Option<Sensitive<String>>,
    /// `MM/YY`.
    pub effective_date: Option<Sensitive<String>>,
    pub payment_account_reference: Option<Sensitive<String>>,
    pub track_data: Option<TrackDataInput>,
}

impl CardDataInput {
    /// The three mandatory fields; the optional ones start empty.
    pub fn new(pan: impl Into<String>, exp: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            pan: Pan::new(pan),
            exp: Sensitive::new(exp.into()),
            name: CardholderName::new(name),
            ..Self::default()
        }
    }
}

/// The last 4 digits of a PAN: the only card data the app may show, journal or export.
///
/// Only exactly 4 ASCII digits are accepted, so a longer PAN cannot be stored by mistake.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PanLast4([u8; 4]);

impl PanLast4 {
    /// Accepts exactly 4 ASCII digits, nothing else (no spaces, no longer input).
    pub fn new(digits: &str) -> Result<Self, FieldError> {
        match <[u8; 4]>::try_from(digits.as_bytes()) {
            Ok(arr) if arr.iter().all(u8::is_ascii_digit) => Ok(Self(arr)),
            _ => Err(FieldError::new("panLast4", FieldErrorCode::Pattern)),
        }
    }

    /// The last 4 digits of a validated PAN (digits only, at least 4 of them).
    pub fn of_pan(pan_digits: &str) -> Result<Self, FieldError> {
        let start = pan_digits.len().saturating_sub(4);
        Self::new(pan_digits.get(start..).unwrap_or_default())
    }

    /// The 4 digits.
    pub fn as_str(&self) -> &str {
        // All 4 bytes are ASCII digits (checked in `new`), hence valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// The masked display form, `•••• 1234`.
    pub fn masked(&self) -> String {
        format!("\u{2022}\u{2022}\u{2022}\u{2022} {}", self.as_str())
    }
}

impl TryFrom<&str> for PanLast4 {
    type Error = FieldError;
    fn try_from(value: &str) -> Result<Self, FieldError> {
        Self::new(value)
    }
}

impl fmt::Debug for PanLast4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PanLast4({})", self.as_str())
    }
}

impl fmt::Display for PanLast4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PanLast4 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A string of 4 digits in the generated TypeScript.
#[cfg(feature = "specta")]
impl specta::Type for PanLast4 {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <String as specta::Type>::definition(types)
    }
}

#[cfg(feature = "rusqlite")]
impl rusqlite::types::ToSql for PanLast4 {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
    }
}

#[cfg(feature = "rusqlite")]
impl rusqlite::types::FromSql for PanLast4 {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Self::new(value.as_str()?).map_err(|_| rusqlite::types::FromSqlError::InvalidType)
    }
}

/// `"•••• 1234"`-style display of a PAN: only the last 4 digits survive.
pub fn mask_pan_last4(pan: &str) -> String {
    let digits: Vec<char> = pan.chars().filter(char::is_ascii_digit).collect();
    let last4: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•••• {last4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_deserializes_from_ipc_json_and_shows_nothing() {
        let i: CardDataInput = serde_json::from_str(
            r#"{"pan":"4000 0566 5566 5556","exp":"11/29","name":"JANE DOE","cvv2":"123","trackData":{"track2":"1=2"}}"#,
        )
        .unwrap();
        assert_eq!(i.pan.digits().expose(), "4000056655665556");
        assert_eq!(i.cvv2.as_ref().map(Cvv::expose), Some("123"));
        let shown = format!("{i:?}");
        for secret in ["4000", "5556", "11/29", "JANE", "123", "1=2"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        let empty: CardDataInput = serde_json::from_str("{}").unwrap();
        assert!(empty.pan.expose().is_empty());
    }

    #[test]
    fn pan_last4_takes_exactly_four_digits() {
        assert_eq!(PanLast4::new("0000").unwrap().as_str(), "0000");
        assert_eq!(PanLast4::new("5556").unwrap().masked(), "•••• 5556");
        for bad in ["555", "55566", "55a6", " 556", ""] {
            assert!(PanLast4::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PanLast4::of_pan("4000056655665556").unwrap().as_str(),
            "5556"
        );
        assert_eq!(
            serde_json::to_value(PanLast4::new("1234").unwrap()).unwrap(),
            "1234"
        );
    }

    #[test]
    fn mask_keeps_only_last_four() {
        assert_eq!(mask_pan_last4("4000 0566 5566 5556"), "•••• 5556");
        assert_eq!(mask_pan_last4("12"), "•••• 12");
    }
}
