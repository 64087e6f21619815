//! [`FieldError`]: one invalid field, named by its D1 path, with a stable code and the limit
//! that was crossed. The window turns the code into words; nothing here carries the value.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Stable error codes (serialized in snake_case) that the window maps to messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorCode {
    /// A required value is missing or empty.
    Required,
    /// Fewer characters than allowed (`limit`: the minimum).
    TooShort,
    /// More characters than allowed (`limit`: the maximum).
    TooLong,
    /// A character or form that the field does not allow.
    Pattern,
    /// A list holds more items than allowed (`limit`: the maximum).
    TooManyItems,
    /// Characters other than digits where only digits are allowed.
    NotDigits,
    /// The PAN's check digit is wrong (Luhn).
    InvalidLuhn,
    /// The PAN length is not one the card product allows.
    PanLengthNotAllowed,
    /// The PAN does not start with a BIN of the card product.
    BinNotAllowed,
    /// A date that is not a real MM/YY date.
    InvalidDate,
    /// The expiry date is in the past.
    Expired,
    /// The effective date is after the expiry date.
    EffectiveAfterExpiry,
    /// A product, station, priority or artwork this desk does not offer.
    NotOffered,
    /// An issuance type the chosen product does not allow.
    NotAllowedForProduct,
    /// A value the chosen product does not take (a CVV2 D1 computes itself).
    NotForProduct,
}

impl FieldErrorCode {
    /// The stable code string (same as the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::Pattern => "pattern",
            Self::TooManyItems => "too_many_items",
            Self::NotDigits => "not_digits",
            Self::InvalidLuhn => "invalid_luhn",
            Self::PanLengthNotAllowed => "pan_length_not_allowed",
            Self::BinNotAllowed => "bin_not_allowed",
            Self::InvalidDate => "invalid_date",
            Self::Expired => "expired",
            Self::EffectiveAfterExpiry => "effective_after_expiry",
            Self::NotOffered => "not_offered",
            Self::NotAllowedForProduct => "not_allowed_for_product",
            Self::NotForProduct => "not_for_product",
        }
    }
}

/// One invalid field: its D1 path (`cardDesign.customLines[3]`, serialized as `field`), a
/// stable code, and the length or count limit that was crossed when there is one. Never carries
/// the field's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    #[serde(rename = "field")]
    pub path: String,
    pub code: FieldErrorCode,
    /// The limit behind `too_short`, `too_long` and `too_many_items`.
    #[serde(default)]
    pub limit: Option<u32>,
    /// For `pattern`: the first character the field's rule does not allow, to name it (a
    /// character of a name or a card line, never of card data's digits).
    #[serde(default)]
    pub character: Option<String>,
}

impl FieldError {
    pub fn new(path: impl Into<String>, code: FieldErrorCode) -> Self {
        Self {
            path: path.into(),
            code,
            limit: None,
            character: None,
        }
    }

    /// The same error, with the limit that was crossed.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = u32::try_from(limit).ok();
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.code.as_str())?;
        if let Some(limit) = self.limit {
            write!(f, " (limit {limit})")?;
        }
        Ok(())
    }
}

/// Checks a count of characters against `min..=max`: the code of the first rule broken.
pub fn length_code(count: usize, min: usize, max: usize) -> Option<(FieldErrorCode, usize)> {
    if count == 0 && min > 0 {
        Some((FieldErrorCode::Required, min))
    } else if count < min {
        Some((FieldErrorCode::TooShort, min))
    } else if count > max {
        Some((FieldErrorCode::TooLong, max))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_field_code_and_limit() {
        let e = FieldError::new("cardData.name", FieldErrorCode::TooLong).with_limit(26);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"field": "cardData.name", "code": "too_long", "limit": 26, "character": null})
        );
        assert_eq!(e.to_string(), "cardData.name: too_long (limit 26)");
        let mut pattern = FieldError::new("cardDesign.customLines[1]", FieldErrorCode::Pattern);
        pattern.character = Some("-".into());
        assert_eq!(serde_json::to_value(&pattern).unwrap()["character"], "-");
        assert_eq!(
            pattern.to_string(),
            "cardDesign.customLines[1]: pattern",
            "the character is for the window's words, not the logs"
        );
    }

    #[test]
    fn codes_serialize_as_their_stable_string() {
        for code in [
            FieldErrorCode::InvalidLuhn,
            FieldErrorCode::PanLengthNotAllowed,
            FieldErrorCode::NotAllowedForProduct,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
    }

    #[test]
    fn length_code_boundaries() {
        assert_eq!(length_code(0, 1, 4), Some((FieldErrorCode::Required, 1)));
        assert_eq!(length_code(1, 1, 4), None);
        assert_eq!(length_code(4, 1, 4), None);
        assert_eq!(length_code(5, 1, 4), Some((FieldErrorCode::TooLong, 4)));
        assert_eq!(length_code(2, 3, 4), Some((FieldErrorCode::TooShort, 3)));
        assert_eq!(length_code(0, 0, 4), None);
    }
}
