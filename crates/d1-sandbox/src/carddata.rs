//! `encryptedData`: JWE decryption and the card-data rules. Nothing here is logged or kept;
//! every clear value lives in zeroizing buffers and is dropped when the order is checked.

use std::collections::HashMap;

use josekit::jwe::JweDecrypter;
use josekit::jwe::alg::ecdh_es::EcdhEsJweDecrypter;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::api_error::ApiError;
use crate::config::{ExpFormat, ProductConfig};

/// A clear card-data value: a string (zeroized on drop) or a value of the wrong JSON type.
pub(crate) enum Field {
    Str(Zeroizing<String>),
    WrongType,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Str(Zeroizing::new(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
        Ok(Field::Str(Zeroizing::new(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::WrongType)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field, E> {
        Ok(Field::WrongType)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field, E> {
        Ok(Field::WrongType)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field, E> {
        Ok(Field::WrongType)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::WrongType)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::WrongType)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::WrongType)
    }
}

/// `trackData`: an object of optional strings, or the wrong type.
pub(crate) enum TrackField {
    Obj(TrackData),
    WrongType,
}

#[derive(Deserialize)]
pub(crate) struct TrackData {
    track1: Option<Field>,
    track2: Option<Field>,
    track3: Option<Field>,
}

impl<'de> Deserialize<'de> for TrackField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TrackField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TrackField, A::Error> {
                TrackData::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(TrackField::Obj)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TrackField, A::Error> {
                FieldVisitor.visit_seq(seq).map(|_| TrackField::WrongType)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<TrackField, E> {
                Ok(TrackField::WrongType)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<TrackField, E> {
                Ok(TrackField::WrongType)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<TrackField, E> {
                Ok(TrackField::WrongType)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<TrackField, E> {
                Ok(TrackField::WrongType)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<TrackField, E> {
                Ok(TrackField::WrongType)
            }
            fn visit_unit<E: de::Error>(self) -> Result<TrackField, E> {
                Ok(TrackField::WrongType)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The decrypted card data (plaintext keys per the shared contract).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CardData {
    pan: Option<Field>,
    exp: Option<Field>,
    name: Option<Field>,
    second_name: Option<Field>,
    encoded_name: Option<Field>,
    cvv2: Option<Field>,
    cvv1: Option<Field>,
    pvv: Option<Field>,
    pan_sequence_number: Option<Field>,
    effective_date: Option<Field>,
    payment_account_reference: Option<Field>,
    track_data: Option<TrackField>,
}

impl std::fmt::Debug for CardData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardData(<redacted>)")
    }
}

/// Decrypts a compact JWE (ECDH-ES + A256GCM, key chosen by `kid`) and parses the card data.
pub(crate) fn decrypt(
    jwe: &str,
    decrypters: &HashMap<String, EcdhEsJweDecrypter>,
) -> Result<CardData, ApiError> {
    let result = josekit::jwe::deserialize_compact_with_selector(jwe, |header| {
        if header.algorithm() != Some("ECDH-ES") || header.content_encryption() != Some("A256GCM") {
            return Ok(None);
        }
        Ok(header
            .key_id()
            .and_then(|kid| decrypters.get(kid))
            .map(|d| d as &dyn JweDecrypter))
    });
    let plaintext = match result {
        Ok((plaintext, _header)) => Zeroizing::new(plaintext),
        Err(_) => return Err(ApiError::crypto("encryptedData")),
    };
    serde_json::from_slice::<CardData>(&plaintext).map_err(|_| ApiError::parsing("encryptedData"))
}

fn field<'a>(name: &str, value: &'a Option<Field>) -> Result<Option<&'a str>, ApiError> {
    match value {
        None => Ok(None),
        Some(Field::Str(s)) => Ok(Some(s.as_str())),
        Some(Field::WrongType) => Err(ApiError::parsing(format!("encryptedData.{name}"))),
    }
}

fn required<'a>(name: &str, value: &'a Option<Field>) -> Result<&'a str, ApiError> {
    field(name, value)?.ok_or_else(|| ApiError::invalid_value(format!("encryptedData.{name}")))
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Luhn check over ASCII digits.
pub(crate) fn luhn(pan: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in pan.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !pan.is_empty() && sum.is_multiple_of(10)
}

/// (year, month) from a 4-digit date in the given format.
fn year_month(s: &str, format: ExpFormat) -> Option<(i32, u8)> {
    if !digits(s, 4, 4) {
        return None;
    }
    let a: u8 = s.get(0..2)?.parse().ok()?;
    let b: u8 = s.get(2..4)?.parse().ok()?;
    let (yy, mm) = match format {
        ExpFormat::Yymm => (a, b),
        ExpFormat::Mmyy => (b, a),
    };
    (1..=12).contains(&mm).then_some((2000 + i32::from(yy), mm))
}

impl CardData {
    /// PAN after the generic checks (digits, 12–19, Luhn).
    pub fn pan(&self) -> Result<&str, ApiError> {
        let pan = required("pan", &self.pan)?;
        if !digits(pan, 12, 19) || !luhn(pan) {
            return Err(ApiError::invalid_value("encryptedData.pan"));
        }
        Ok(pan)
    }

    /// Every rule that needs the product: BIN range and length, `exp` format and date, then the
    /// other fields.
    pub fn check(&self, product: &ProductConfig) -> Result<(), ApiError> {
        let pan = self.pan()?;
        if !product_accepts_pan(product, pan) {
            return Err(ApiError::invalid_value("encryptedData.pan"));
        }
        let exp = required("exp", &self.exp)?;
        let now = OffsetDateTime::now_utc();
        match year_month(exp, product.exp_format) {
            Some((year, month)) if (year, month) >= (now.year(), u8::from(now.month())) => {}
            _ => return Err(ApiError::invalid_value("encryptedData.exp")),
        }
        let name = required("name", &self.name)?;
        if name.trim().is_empty() || name.chars().count() > 128 {
            return Err(ApiError::invalid_value("encryptedData.name"));
        }
        for (label, value) in [
            ("secondName", &self.second_name),
            ("encodedName", &self.encoded_name),
        ] {
            if let Some(v) = field(label, value)?
                && v.chars().count() > 128
            {
                return Err(ApiError::invalid_value(format!("encryptedData.{label}")));
            }
        }
        let digit_rules: [(&str, &Option<Field>, usize, usize); 4] = [
            ("cvv2", &self.cvv2, 3, 4),
            ("cvv1", &self.cvv1, 3, 4),
            ("pvv", &self.pvv, 4, 4),
            ("panSequenceNumber", &self.pan_sequence_number, 2, 3),
        ];
        for (label, value, min, max) in digit_rules {
            if let Some(v) = field(label, value)?
                && !digits(v, min, max)
            {
                return Err(ApiError::invalid_value(format!("encryptedData.{label}")));
            }
        }
        if let Some(v) = field("effectiveDate", &self.effective_date)?
            && year_month(v, product.exp_format).is_none()
        {
            return Err(ApiError::invalid_value("encryptedData.effectiveDate"));
        }
        if let Some(v) = field("paymentAccountReference", &self.payment_account_reference)?
            && !(v.len() == 29 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ApiError::invalid_value(
                "encryptedData.paymentAccountReference",
            ));
        }
        match &self.track_data {
            None => {}
            Some(TrackField::WrongType) => {
                return Err(ApiError::parsing("encryptedData.trackData"));
            }
            Some(TrackField::Obj(t)) => {
                field("trackData.track1", &t.track1)?;
                field("trackData.track2", &t.track2)?;
                field("trackData.track3", &t.track3)?;
            }
        }
        Ok(())
    }
}

/// PAN length and BIN range of a product.
pub(crate) fn product_accepts_pan(product: &ProductConfig, pan: &str) -> bool {
    product.pan_lengths.contains(&pan.len())
        && product.bin_ranges.iter().any(|r| {
            pan.get(..r.low.len())
                .is_some_and(|prefix| prefix >= r.low.as_str() && prefix <= r.high.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_valid_and_rejects_one_digit_off() {
        assert!(luhn("4000056655665556"));
        assert!(!luhn("4000056655665557"));
        assert!(luhn("5555555555554444"));
        assert!(!luhn(""));
        assert!(!luhn("40000566556655a6"));
    }

    #[test]
    fn year_month_per_format() {
        assert_eq!(year_month("2906", ExpFormat::Yymm), Some((2029, 6)));
        assert_eq!(year_month("0629", ExpFormat::Mmyy), Some((2029, 6)));
        assert_eq!(year_month("2913", ExpFormat::Yymm), None);
        assert_eq!(year_month("2900", ExpFormat::Yymm), None);
        assert_eq!(year_month("290", ExpFormat::Yymm), None);
        assert_eq!(year_month("29-6", ExpFormat::Yymm), None);
    }

    #[test]
    fn wrong_types_are_parsing_errors_naming_the_field() {
        let c: CardData =
            serde_json::from_str(r#"{"pan": 4000056655665556, "exp":"2906","name":"A"}"#).unwrap();
        assert_eq!(c.pan().unwrap_err(), ApiError::parsing("encryptedData.pan"));
        let c: CardData = serde_json::from_str(r#"{"exp":"2906"}"#).unwrap();
        assert_eq!(
            c.pan().unwrap_err(),
            ApiError::invalid_value("encryptedData.pan")
        );
        assert!(format!("{c:?}").contains("redacted"));
    }
}
