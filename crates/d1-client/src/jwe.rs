//! Encryption of the card data as a compact JWE (`ECDH-ES` + `A256GCM`, `kid`, P-256).
//!
//! josekit writes the compact serialization and does the AES-GCM; the ECDH-ES key agreement is
//! our own encrypter on aws-lc-rs ([`ecdh_es`]), with D1's key validated once when it is loaded.

mod ecdh_es;

use std::fmt;

use josekit::jwe::JweHeader;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::card::CardData;
use crate::error::D1Error;
use ecdh_es::{AwsLcEcdhEsEncrypter, D1PublicKey, KeyProblem};

/// D1's P-256 public encryption key, from a JWK in configuration (`kty` EC, `crv` P-256,
/// `kid` required). A JWK holding private material (`d`) is refused: configuration holds
/// public keys only. The point is decoded and validated here, once; encrypting a token does not
/// check it again.
#[derive(Clone)]
pub struct EncryptionKey {
    kid: String,
    encrypter: AwsLcEcdhEsEncrypter,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl EncryptionKey {
    /// Parses a public JWK given as JSON text.
    pub fn from_jwk_json(json: &str) -> Result<Self, D1Error> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|_| {
            D1Error::config(
                "encryptionKey",
                "the D1 encryption key is not valid JWK JSON",
            )
        })?;
        Self::from_jwk_value(&value)
    }

    /// Parses a public JWK given as a JSON value.
    pub fn from_jwk_value(value: &serde_json::Value) -> Result<Self, D1Error> {
        let bad = |reason: &str| D1Error::config("encryptionKey", reason);
        let map = value
            .as_object()
            .ok_or_else(|| bad("the D1 encryption key must be a JWK object"))?;
        if map.contains_key("d") {
            return Err(bad(
                "the D1 encryption key must be a public JWK (it holds a private part `d`)",
            ));
        }
        let field = |k: &str| map.get(k).and_then(|v| v.as_str());
        if field("kty") != Some("EC") || field("crv") != Some("P-256") {
            return Err(bad("the D1 encryption key must be an EC P-256 JWK"));
        }
        let kid = field("kid")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("the D1 encryption key has no `kid`"))?
            .to_string();
        if let Some(alg) = field("alg").filter(|a| *a != "ECDH-ES") {
            return Err(bad(&format!(
                "the D1 encryption key is for `{alg}`, expected `ECDH-ES`"
            )));
        }
        if map.get("use").is_some_and(|u| u.as_str() != Some("enc")) {
            return Err(bad("the D1 encryption key's `use` must be `enc`"));
        }
        let derives = |ops: &Vec<serde_json::Value>| ops.iter().any(|o| o == "deriveKey");
        if map
            .get("key_ops")
            .is_some_and(|ops| !ops.as_array().is_some_and(derives))
        {
            return Err(bad(
                "the D1 encryption key's `key_ops` must include `deriveKey`",
            ));
        }
        let (Some(x), Some(y)) = (field("x"), field("y")) else {
            return Err(bad(
                "the D1 encryption key needs its `x` and `y` coordinates",
            ));
        };
        let point = D1PublicKey::from_coordinates(x, y).map_err(|p| match p {
            KeyProblem::Encoding => {
                bad("the D1 encryption key's `x` and `y` must be base64url of 32 bytes each")
            }
            KeyProblem::NotOnCurve => {
                bad("the D1 encryption key is not a valid P-256 public key (not on the curve)")
            }
        })?;
        let encrypter = AwsLcEcdhEsEncrypter::new(point, kid.clone());
        Ok(Self { kid, encrypter })
    }

    /// The key id sent in the JWE header.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// A compact JWE. Not secret in the cryptographic sense, but treated like card data: it is never
/// logged or stored, so `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Jwe(String);

impl Jwe {
    /// The compact serialization (five base64url parts).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Jwe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Jwe(<redacted>)")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Plain<'a> {
    pan: &'a str,
    exp: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    second_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoded_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvv2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvv1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pvv: Option<&'a str>,
    pan_sequence_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_account_reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_data: Option<PlainTracks<'a>>,
}

#[derive(Serialize)]
struct PlainTracks<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    track1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track3: Option<&'a str>,
}

/// Upper bound of the plaintext size (validated inputs are short); reserving it up front means
/// the buffer never reallocates, so no unwiped copy is left behind by growth.
const PLAINTEXT_CAPACITY: usize = 4096;

/// Serializes `card` privately into a zeroizing buffer and encrypts it for `key`.
pub fn encrypt_card_data(card: &CardData, key: &EncryptionKey) -> Result<Jwe, D1Error> {
    let plain = Plain {
        pan: &card.pan,
        exp: &card.exp,
        name: &card.name,
        second_name: card.second_name.as_deref(),
        encoded_name: card.encoded_name.as_deref(),
        cvv2: card.cvv2.as_deref(),
        cvv1: card.cvv1.as_deref(),
        pvv: card.pvv.as_deref(),
        pan_sequence_number: &card.pan_sequence_number,
        effective_date: card.effective_date.as_deref(),
        payment_account_reference: card.payment_account_reference.as_deref(),
        track_data: card.track_data.as_ref().map(|t| PlainTracks {
            track1: t.track1.as_deref(),
            track2: t.track2.as_deref(),
            track3: t.track3.as_deref(),
        }),
    };
    let mut buf = Zeroizing::new(Vec::with_capacity(PLAINTEXT_CAPACITY));
    serde_json::to_writer(&mut *buf, &plain).map_err(|_| D1Error::Encryption)?;
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_key_id(key.kid.as_str());
    let token = josekit::jwe::serialize_compact(&buf, &header, &key.encrypter)
        .map_err(|_| D1Error::Encryption)?;
    Ok(Jwe(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{CardDataInput, ProductRules, TrackDataInput};
    use josekit::jwe::ECDH_ES;
    use josekit::jwk::Jwk;
    use josekit::jwk::alg::ec::EcCurve;
    use serde_json::json;

    fn keypair() -> (EncryptionKey, Jwk) {
        let pair = ECDH_ES.generate_ec_key_pair(EcCurve::P256).unwrap();
        let mut private = pair.to_jwk_private_key();
        private.set_key_id("d1-enc-1");
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("d1-enc-1");
        let key = EncryptionKey::from_jwk_json(&public.to_string()).unwrap();
        (key, private)
    }

    fn full_card() -> CardData {
        let input = CardDataInput {
            pan: "4000056655665556".into(),
            exp: "11/29".into(),
            name: "JANE Q DOE".into(),
            second_name: Some("ACME LTD".into()),
            encoded_name: Some("DOE/JANE Q".into()),
            cvv2: Some("123".into()),
            cvv1: Some("456".into()),
            pvv: Some("7890".into()),
            pan_sequence_number: Some("01".into()),
            effective_date: Some("11/26".into()),
            payment_account_reference: Some("V0010013816180398947283928123".into()),
            track_data: Some(TrackDataInput {
                track1: Some("B4000056655665556^DOE/JANE Q^2911101".into()),
                track2: Some("4000056655665556=2911101".into()),
                track3: Some("0123=45".into()),
            }),
        };
        let now = time::macros::datetime!(2026-11-25 10:00 UTC);
        CardData::from_input_at(&input, &ProductRules::default(), now).unwrap()
    }

    fn decrypt(
        token: &str,
        private: &Jwk,
    ) -> Result<(serde_json::Value, JweHeader), josekit::JoseError> {
        let decrypter = ECDH_ES.decrypter_from_jwk(private)?;
        let (payload, header) = josekit::jwe::deserialize_compact(token, &decrypter)?;
        Ok((serde_json::from_slice(&payload).unwrap(), header))
    }

    #[test]
    fn decrypts_to_every_field_with_the_right_header() {
        let (key, private) = keypair();
        let jwe = encrypt_card_data(&full_card(), &key).unwrap();
        assert_eq!(jwe.as_str().split('.').count(), 5);
        assert_eq!(
            jwe.as_str().split('.').nth(1),
            Some(""),
            "ECDH-ES direct: empty encrypted key"
        );
        let (payload, header) = decrypt(jwe.as_str(), &private).unwrap();
        assert_eq!(header.algorithm(), Some("ECDH-ES"));
        assert_eq!(header.content_encryption(), Some("A256GCM"));
        assert_eq!(header.key_id(), Some("d1-enc-1"));
        assert_eq!(
            payload,
            json!({
                "pan": "4000056655665556", "exp": "2911", "name": "JANE Q DOE",
                "secondName": "ACME LTD", "encodedName": "DOE/JANE Q", "cvv2": "123", "cvv1": "456",
                "pvv": "7890", "panSequenceNumber": "01", "effectiveDate": "2611",
                "paymentAccountReference": "V0010013816180398947283928123",
                "trackData": {"track1": "B4000056655665556^DOE/JANE Q^2911101",
                    "track2": "4000056655665556=2911101", "track3": "0123=45"}
            })
        );
    }

    #[test]
    fn minimal_card_omits_absent_fields_and_defaults_psn() {
        let (key, private) = keypair();
        let input = CardDataInput::new("4000056655665556", "01/30", "JO");
        let card = CardData::from_input(&input, &ProductRules::default()).unwrap();
        let (payload, _) =
            decrypt(encrypt_card_data(&card, &key).unwrap().as_str(), &private).unwrap();
        assert_eq!(
            payload,
            json!({"pan": "4000056655665556", "exp": "3001", "name": "JO", "panSequenceNumber": "00"})
        );
    }

    #[test]
    fn every_token_is_fresh_and_tampering_fails() {
        let (key, private) = keypair();
        let card = full_card();
        let a = encrypt_card_data(&card, &key).unwrap();
        let b = encrypt_card_data(&card, &key).unwrap();
        assert_ne!(a, b, "a new ephemeral key and IV per token");
        let parts: Vec<&str> = a.as_str().split('.').collect();
        // Flip one character of the ciphertext, then of the tag, then of the protected header.
        for idx in [3usize, 4, 0] {
            let mut p: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
            let mut chars: Vec<char> = p[idx].chars().collect();
            let i = chars.len() / 2;
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            p[idx] = chars.into_iter().collect();
            assert!(
                decrypt(&p.join("."), &private).is_err(),
                "tampered part {idx} must fail"
            );
        }
        // Another recipient's key cannot decrypt it.
        let (_, other) = keypair();
        assert!(decrypt(a.as_str(), &other).is_err());
    }

    #[test]
    fn key_config_errors_are_clear() {
        let (_, private) = keypair();
        let e = EncryptionKey::from_jwk_json(&private.to_string()).unwrap_err();
        assert!(e.to_string().contains("public"), "{e}");
        let no_kid = json!({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert!(
            EncryptionKey::from_jwk_value(&no_kid)
                .unwrap_err()
                .to_string()
                .contains("kid")
        );
        let rsa = json!({"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"});
        assert!(
            EncryptionKey::from_jwk_value(&rsa)
                .unwrap_err()
                .to_string()
                .contains("P-256")
        );
        assert!(EncryptionKey::from_jwk_json("not json").is_err());
        let good = json!({"kty":"EC","crv":"P-256","kid":"k",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert!(EncryptionKey::from_jwk_value(&good).is_ok());
        let with = |k: &str, v: serde_json::Value| {
            let mut j = good.clone();
            j[k] = v;
            EncryptionKey::from_jwk_value(&j)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        // Optional members that say "not for this": refused, as josekit refused them.
        assert!(with("alg", json!("ECDH-ES+A256KW")).contains("ECDH-ES+A256KW"));
        assert!(with("use", json!("sig")).contains("`use`"));
        assert!(with("key_ops", json!(["encrypt"])).contains("deriveKey"));
        assert!(with("key_ops", json!("deriveKey")).contains("deriveKey"));
        // Coordinates: missing, wrong length, not on the curve.
        assert!(with("x", json!(null)).contains("`x` and `y`"));
        assert!(with("y", json!("AAAA")).contains("32 bytes"));
        assert!(with("y", json!("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")).contains("curve"));
        // Members that fit are accepted.
        for (k, v) in [
            ("alg", json!("ECDH-ES")),
            ("use", json!("enc")),
            ("key_ops", json!(["deriveKey", "deriveBits"])),
        ] {
            let mut j = good.clone();
            j[k] = v;
            assert!(EncryptionKey::from_jwk_value(&j).is_ok(), "{k}");
        }
        assert_eq!(format!("{:?}", Jwe("x".into())), "Jwe(<redacted>)");
    }
}
