//! Deserializers that accept numbers and booleans written as strings.
//!
//! Environment variables are always text: `ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS=300` arrives as the
//! string `"300"`. The environment layer keeps every value as a string (so an issuer id such as
//! `0123456789` keeps its leading zero) and these helpers turn numeric and boolean keys back into
//! numbers and booleans.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

struct U32Visitor;

impl<'de> Visitor<'de> for U32Visitor {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::custom(format!("{v} is not a positive whole number")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        Err(E::custom(format!("{v} is not a whole number")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        v.trim()
            .parse::<u32>()
            .map_err(|_| E::custom(format!("{v:?} is not a whole number")))
    }
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "true" | "TRUE" | "True" | "1" => Ok(true),
            "false" | "FALSE" | "False" | "0" => Ok(false),
            _ => Err(E::custom(format!("{v:?} is not true or false"))),
        }
    }
}

struct U32SeqVisitor;

impl<'de> Visitor<'de> for U32SeqVisitor {
    type Value = Vec<u32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of whole numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u32>, A::Error> {
        let mut out = Vec::new();
        while let Some(Lenient(v)) = seq.next_element::<Lenient>()? {
            out.push(v);
        }
        Ok(out)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u32>, E> {
        v.split(',')
            .map(|part| U32Visitor.visit_str(part))
            .collect()
    }
}

struct Lenient(u32);

impl<'de> serde::Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(U32Visitor).map(Lenient)
    }
}

/// A `u32` written as a number or as a string of digits.
pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    d.deserialize_any(U32Visitor)
}

/// A `bool` written as a boolean or as `"true"`/`"false"`.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// A list of `u32`, each written as a number or a string; an environment variable may also give
/// them comma-separated (`16,19`).
pub fn vec_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    d.deserialize_any(U32SeqVisitor)
}
