//! The card rules of one card product: BIN ranges, PAN lengths, the printed name's length and
//! the wire format of the expiry. Deserialized straight from the configuration (`desk-config`),
//! checked against the PAN by the card rules (`d1-client`).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::field::{FieldError, FieldErrorCode};
use crate::luhn::luhn_valid;

/// The PAN lengths any product may allow.
pub const PAN_LENGTHS: std::ops::RangeInclusive<u32> = 12..=19;
/// The longest printed name (the track 1 name limit).
pub const NAME_MAX_LENGTH: u32 = 26;
/// The longest BIN prefix a range may name.
const PREFIX_MAX_DIGITS: usize = 19;

/// Wire format of `exp` (and `effectiveDate`) inside the encrypted card data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpFormat {
    /// `YYMM`, as D1's personalization guides say (default).
    #[default]
    #[serde(rename = "YYMM")]
    Yymm,
    /// `MMYY`, as some D1 JWE examples show.
    #[serde(rename = "MMYY")]
    Mmyy,
}

/// An inclusive range of BINs: the first `prefix_len` digits of the PAN, read as a number, lie
/// in `low..=high`. Written in the configuration as `{ from = "400000", to = "499999" }`: digit
/// strings of equal length, `from` not above `to`. A range that does not parse is refused when
/// it is read, naming `from` or `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinRange {
    pub low: u64,
    pub high: u64,
    pub prefix_len: u8,
}

impl BinRange {
    /// From the two prefixes as written. The error says what is wrong with which side.
    pub fn parse(from: &str, to: &str) -> Result<Self, BinRangeError> {
        let low = parse_prefix(from).map_err(BinRangeError::From)?;
        let high = parse_prefix(to).map_err(BinRangeError::To)?;
        check_to(from, to).map_err(BinRangeError::To)?;
        Ok(Self {
            low,
            high,
            prefix_len: u8::try_from(from.len()).unwrap_or(u8::MAX),
        })
    }

    /// `from` as written (zero-padded to `prefix_len`).
    pub fn from_prefix(&self) -> String {
        format!("{:0width$}", self.low, width = usize::from(self.prefix_len))
    }

    /// `to` as written.
    pub fn to_prefix(&self) -> String {
        format!(
            "{:0width$}",
            self.high,
            width = usize::from(self.prefix_len)
        )
    }

    /// Whether a PAN (digits only) starts with a BIN of this range.
    pub fn contains(&self, pan_digits: &str) -> bool {
        pan_digits
            .get(..usize::from(self.prefix_len))
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<u64>().ok())
            .is_some_and(|p| (self.low..=self.high).contains(&p))
    }
}

/// Why a BIN range as written is not one, and on which side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BinRangeError {
    #[error("from: {0}")]
    From(String),
    #[error("to: {0}")]
    To(String),
}

fn parse_prefix(v: &str) -> Result<u64, String> {
    if v.is_empty() || v.len() > PREFIX_MAX_DIGITS || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected 1 to {PREFIX_MAX_DIGITS} digits, written as a string"
        ));
    }
    v.parse()
        .map_err(|_| format!("expected 1 to {PREFIX_MAX_DIGITS} digits, written as a string"))
}

fn check_to(from: &str, to: &str) -> Result<(), String> {
    if from.len() != to.len() {
        Err(format!(
            "expected as many digits as \"from\" ({})",
            from.len()
        ))
    } else if from > to {
        Err(format!("must not be below \"from\" ({from})"))
    } else {
        Ok(())
    }
}

impl Serialize for BinRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BinRange", 2)?;
        st.serialize_field("from", &self.from_prefix())?;
        st.serialize_field("to", &self.to_prefix())?;
        st.end()
    }
}

/// One side of a range, read as a digit string; `to` is read knowing `from`, so that its
/// error is reported at `to`.
struct Prefix<'a> {
    from: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for Prefix<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Prefix<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string of 1 to {PREFIX_MAX_DIGITS} digits")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        parse_prefix(v).map_err(E::custom)?;
        if let Some(from) = self.from {
            check_to(from, v).map_err(E::custom)?;
        }
        Ok(v.to_owned())
    }
}

impl<'de> Deserialize<'de> for BinRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RangeVisitor;

        impl<'de> Visitor<'de> for RangeVisitor {
            type Value = BinRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a BIN range { from = \"…\", to = \"…\" }")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BinRange, A::Error> {
                let (mut from, mut to) = (None::<String>, None::<String>);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "from" if from.is_some() => return Err(de::Error::duplicate_field("from")),
                        "to" if to.is_some() => return Err(de::Error::duplicate_field("to")),
                        "from" => from = Some(map.next_value_seed(Prefix { from: None })?),
                        "to" => {
                            to = Some(map.next_value_seed(Prefix {
                                from: from.as_deref(),
                            })?)
                        }
                        other => return Err(de::Error::unknown_field(other, &["from", "to"])),
                    }
                }
                let from = from.ok_or_else(|| de::Error::missing_field("from"))?;
                let to = to.ok_or_else(|| de::Error::missing_field("to"))?;
                BinRange::parse(&from, &to).map_err(de::Error::custom)
            }
        }

        d.deserialize_map(RangeVisitor)
    }
}

/// Card-data rules of one card product (from configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRules {
    /// Allowed BIN ranges; empty means any BIN.
    pub bin_ranges: Vec<BinRange>,
    /// Allowed PAN lengths, each within [`PAN_LENGTHS`].
    pub pan_lengths: Vec<u32>,
    /// Maximum length of `name`, `secondName` and `encodedName` (at most [`NAME_MAX_LENGTH`]).
    pub name_max_length: u32,
    /// Wire format of `exp` and `effectiveDate`.
    pub exp_format: ExpFormat,
}

impl Default for ProductRules {
    fn default() -> Self {
        Self {
            bin_ranges: Vec::new(),
            pan_lengths: PAN_LENGTHS.collect(),
            name_max_length: NAME_MAX_LENGTH,
            exp_format: ExpFormat::Yymm,
        }
    }
}

impl ProductRules {
    /// Checks a PAN (digits only, spaces already removed) against the card rules and this
    /// product: digits, 12–19 of them, an allowed length, an allowed BIN, the check digit.
    /// The error is at `cardData.pan`.
    pub fn check_pan(&self, pan: &str) -> Result<(), FieldError> {
        let error = |code| FieldError::new("cardData.pan", code);
        if pan.is_empty() {
            return Err(error(FieldErrorCode::Required));
        }
        if !pan.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(FieldErrorCode::NotDigits));
        }
        let len = u32::try_from(pan.len()).unwrap_or(u32::MAX);
        if len < *PAN_LENGTHS.start() {
            return Err(error(FieldErrorCode::TooShort).with_limit(12));
        }
        if len > *PAN_LENGTHS.end() {
            return Err(error(FieldErrorCode::TooLong).with_limit(19));
        }
        if !self.pan_lengths.contains(&len) {
            return Err(error(FieldErrorCode::PanLengthNotAllowed));
        }
        if !self.bin_ranges.is_empty() && !self.bin_ranges.iter().any(|b| b.contains(pan)) {
            return Err(error(FieldErrorCode::BinNotAllowed));
        }
        if !luhn_valid(pan) {
            return Err(error(FieldErrorCode::InvalidLuhn));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[allow(dead_code)]
        bin_ranges: Vec<BinRange>,
    }

    fn parse_json(json: &str) -> Result<Vec<BinRange>, String> {
        serde_json::from_str::<Holder>(json)
            .map(|h| h.bin_ranges)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn bin_ranges_read_from_the_configuration_shape() {
        let r = parse_json(r#"{"bin_ranges":[{"from":"400000","to":"499999"}]}"#).unwrap();
        assert_eq!(
            r,
            [BinRange {
                low: 400_000,
                high: 499_999,
                prefix_len: 6
            }]
        );
        assert_eq!(
            serde_json::to_value(r[0]).unwrap(),
            serde_json::json!({"from": "400000", "to": "499999"})
        );
        let leading_zero = BinRange::parse("0100", "0199").unwrap();
        assert_eq!(leading_zero.from_prefix(), "0100");
        assert!(leading_zero.contains("0150123412341234"));
    }

    #[test]
    fn an_unparsable_bin_range_is_an_error_naming_its_side() {
        for (json, says) in [
            (r#"{"from":"51A000","to":"559999"}"#, "1 to 19 digits"),
            (r#"{"from":"51000","to":"559999"}"#, "as many digits"),
            (r#"{"from":"559999","to":"510000"}"#, "below"),
            (r#"{"from":510000,"to":"559999"}"#, "expected a string"),
            (r#"{"from":"","to":""}"#, "1 to 19 digits"),
            (r#"{"from":"51"}"#, "missing field `to`"),
            (r#"{"from":"51","to":"52","x":1}"#, "unknown field `x`"),
        ] {
            let error = parse_json(&format!(r#"{{"bin_ranges":[{json}]}}"#)).unwrap_err();
            assert!(error.contains(says), "{json}: {error}");
        }
        assert!(matches!(
            BinRange::parse("5", "4"),
            Err(BinRangeError::To(_))
        ));
        assert!(matches!(
            BinRange::parse("x", "4"),
            Err(BinRangeError::From(_))
        ));
        assert!(BinRange::parse(&"9".repeat(19), &"9".repeat(19)).is_ok());
        assert!(BinRange::parse(&"9".repeat(20), &"9".repeat(20)).is_err());
    }

    #[test]
    fn pan_rules_per_product() {
        let rules = ProductRules {
            bin_ranges: vec![BinRange::parse("400005", "400006").unwrap()],
            pan_lengths: vec![16],
            ..ProductRules::default()
        };
        let code = |pan: &str| rules.check_pan(pan).err().map(|e| (e.code, e.limit));
        assert_eq!(code("4000056655665556"), None);
        assert_eq!(
            code("5555555555554444"),
            Some((FieldErrorCode::BinNotAllowed, None))
        );
        assert_eq!(
            code("400005000000000005"),
            Some((FieldErrorCode::PanLengthNotAllowed, None))
        );
        assert_eq!(
            code("4000056655665557"),
            Some((FieldErrorCode::InvalidLuhn, None))
        );
        assert_eq!(
            code("42424242426"),
            Some((FieldErrorCode::TooShort, Some(12)))
        );
        assert_eq!(
            code("42424242424242424242"),
            Some((FieldErrorCode::TooLong, Some(19)))
        );
        assert_eq!(code(""), Some((FieldErrorCode::Required, None)));
        assert_eq!(
            code("40000566556655a6"),
            Some((FieldErrorCode::NotDigits, None))
        );
    }
}
