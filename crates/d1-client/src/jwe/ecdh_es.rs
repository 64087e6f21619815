//! ECDH-ES key agreement (RFC 7518 §4.6, direct key agreement on P-256) on aws-lc-rs, as a
//! josekit [`JweEncrypter`]: josekit keeps the compact serialization and the content encryption
//! (A256GCM); this module only derives the content key and writes the `epk` header.
//!
//! Why not josekit's own `EcdhEsJweEncrypter`: it calls OpenSSL `Deriver::set_peer` on every
//! token, which on OpenSSL 3 re-validates D1's fixed public key with a full scalar
//! multiplication. Here D1's key is parsed and validated once ([`D1PublicKey::from_coordinates`])
//! and each token costs one ephemeral key generation and one ECDH.

use std::borrow::Cow;
use std::fmt;

use aws_lc_rs::agreement::{self, ECDH_P256, ParsedPublicKey, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::JoseError;
use josekit::jwe::{ECDH_ES, JweAlgorithm, JweContentEncryption, JweEncrypter, JweHeader};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// Length of a P-256 coordinate and of the shared secret `Z`.
const COORDINATE_LEN: usize = 32;

/// D1's P-256 public key, decoded and checked once: both coordinates in range and the point on
/// the curve (aws-lc's `EC_POINT_oct2point`). P-256 has cofactor 1 and an uncompressed point
/// cannot be the point at infinity, so that is the full public-key validation of SP 800-56A
/// §5.6.2.3.3; nothing about this key is checked again per token.
#[derive(Clone)]
pub(crate) struct D1PublicKey(ParsedPublicKey);

/// Why a JWK's coordinates are not a usable P-256 public key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    /// `x` or `y` is not base64url of exactly 32 bytes.
    Encoding,
    /// The point is not on P-256 (or a coordinate is not below the field prime).
    NotOnCurve,
}

impl D1PublicKey {
    /// From the JWK's base64url `x` and `y`.
    pub(crate) fn from_coordinates(x: &str, y: &str) -> Result<Self, KeyProblem> {
        let decode = |c: &str| {
            B64.decode(c)
                .ok()
                .filter(|b| b.len() == COORDINATE_LEN)
                .ok_or(KeyProblem::Encoding)
        };
        let mut point = Vec::with_capacity(1 + 2 * COORDINATE_LEN);
        point.push(0x04);
        point.extend_from_slice(&decode(x)?);
        point.extend_from_slice(&decode(y)?);
        ParsedPublicKey::try_from(UnparsedPublicKey::new(&ECDH_P256, point))
            .map(Self)
            .map_err(|_| KeyProblem::NotOnCurve)
    }
}

/// Derives a content key for one token with a fresh ephemeral key: `(epk header value, key)`.
/// The key is `key_len` bytes of Concat KDF output over `Z`, with `enc` as AlgorithmID
/// (RFC 7518 §4.6.2: direct key agreement).
fn agree_with_ephemeral(
    peer: &D1PublicKey,
    enc: &str,
    key_len: usize,
    apu: &[u8],
    apv: &[u8],
) -> Result<(Value, Zeroizing<Vec<u8>>), JoseError> {
    let ephemeral = PrivateKey::generate(&ECDH_P256).map_err(|_| crypto_error())?;
    agree(&ephemeral, peer, enc, key_len, apu, apv)
}

/// The key agreement with a given private key (an ephemeral one in production, the RFC's in the
/// known-answer test): `(epk header value, content key)`.
fn agree(
    private: &PrivateKey,
    peer: &D1PublicKey,
    enc: &str,
    key_len: usize,
    apu: &[u8],
    apv: &[u8],
) -> Result<(Value, Zeroizing<Vec<u8>>), JoseError> {
    let public = private.compute_public_key().map_err(|_| crypto_error())?;
    let point = public.as_ref();
    if point.len() != 1 + 2 * COORDINATE_LEN || point.first() != Some(&0x04) {
        return Err(crypto_error());
    }
    let (x, y) = point[1..].split_at(COORDINATE_LEN);
    let mut epk = Map::with_capacity(4);
    epk.insert("kty".into(), Value::String("EC".into()));
    epk.insert("crv".into(), Value::String("P-256".into()));
    epk.insert("x".into(), Value::String(B64.encode(x)));
    epk.insert("y".into(), Value::String(B64.encode(y)));
    let key = agreement::agree(private, peer.0.clone(), crypto_error(), |z| {
        concat_kdf(z, enc, key_len, apu, apv).ok_or_else(crypto_error)
    })?;
    Ok((Value::Object(epk), key))
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 as RFC 7518 §4.6.2 uses it, with SHA-256:
/// `SHA-256(round ‖ Z ‖ len(enc) ‖ enc ‖ len(apu) ‖ apu ‖ len(apv) ‖ apv ‖ key bits)` per
/// 32-byte round, truncated to `key_len`. `None` when a length does not fit its 32-bit field.
pub(crate) fn concat_kdf(
    z: &[u8],
    enc: &str,
    key_len: usize,
    apu: &[u8],
    apv: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let be32 = |n: usize| u32::try_from(n).ok().map(u32::to_be_bytes);
    let key_bits = be32(key_len.checked_mul(8)?)?;
    let (enc_len, apu_len, apv_len) = (be32(enc.len())?, be32(apu.len())?, be32(apv.len())?);
    let rounds = key_len.div_ceil(digest::SHA256_OUTPUT_LEN);
    let mut key = Zeroizing::new(Vec::with_capacity(rounds * digest::SHA256_OUTPUT_LEN));
    for round in 1..=rounds {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&be32(round)?);
        ctx.update(z);
        ctx.update(&enc_len);
        ctx.update(enc.as_bytes());
        ctx.update(&apu_len);
        ctx.update(apu);
        ctx.update(&apv_len);
        ctx.update(apv);
        ctx.update(&key_bits);
        key.extend_from_slice(ctx.finish().as_ref());
    }
    key.truncate(key_len);
    Some(key)
}

fn crypto_error() -> JoseError {
    // josekit's variants wrap `anyhow::Error`, which any std error converts into.
    JoseError::InvalidKeyFormat(std::io::Error::other("ECDH-ES key agreement failed").into())
}

/// A `apu`/`apv` header value: absent → empty, base64url text → its bytes.
fn party_info(header: &JweHeader, name: &str) -> Result<Vec<u8>, JoseError> {
    use josekit::JoseHeader;
    match header.claim(name) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => B64.decode(s).map_err(|_| crypto_error()),
        Some(_) => Err(crypto_error()),
    }
}

/// josekit encrypter for `ECDH-ES` (direct key agreement) whose key agreement is aws-lc-rs.
#[derive(Clone)]
pub(crate) struct AwsLcEcdhEsEncrypter {
    peer: D1PublicKey,
    kid: String,
}

impl AwsLcEcdhEsEncrypter {
    pub(crate) fn new(peer: D1PublicKey, kid: String) -> Self {
        Self { peer, kid }
    }
}

impl fmt::Debug for AwsLcEcdhEsEncrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcEcdhEsEncrypter")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl JweEncrypter for AwsLcEcdhEsEncrypter {
    fn algorithm(&self) -> &dyn JweAlgorithm {
        &ECDH_ES
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn compute_content_encryption_key(
        &self,
        cencryption: &dyn JweContentEncryption,
        in_header: &JweHeader,
        out_header: &mut JweHeader,
    ) -> Result<Option<Cow<'_, [u8]>>, JoseError> {
        let apu = party_info(in_header, "apu")?;
        let apv = party_info(in_header, "apv")?;
        let (epk, key) = agree_with_ephemeral(
            &self.peer,
            cencryption.name(),
            cencryption.key_len(),
            &apu,
            &apv,
        )?;
        out_header.set_claim("epk", Some(epk))?;
        // josekit takes the key as an owned Vec and drops it unwiped (a documented limit).
        Ok(Some(Cow::Owned(key.to_vec())))
    }

    fn encrypt(
        &self,
        _key: &[u8],
        _in_header: &JweHeader,
        _out_header: &mut JweHeader,
    ) -> Result<Option<Vec<u8>>, JoseError> {
        // Direct key agreement: the JWE Encrypted Key is empty.
        Ok(None)
    }

    fn box_clone(&self) -> Box<dyn JweEncrypter> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwe::{JweHeader, deserialize_compact, serialize_compact};
    use josekit::jwk::Jwk;

    // RFC 7518 Appendix C: Alice's ephemeral key, Bob's static key, Z and the derived key.
    const ALICE_X: &str = "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0";
    const ALICE_Y: &str = "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps";
    const ALICE_D: &str = "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo";
    const BOB_X: &str = "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ";
    const BOB_Y: &str = "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck";
    const BOB_D: &str = "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw";
    const RFC_Z: [u8; 32] = [
        158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110,
        163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
    ];
    const RFC_KEY: [u8; 16] = [
        86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26,
    ];

    fn bob_public() -> D1PublicKey {
        D1PublicKey::from_coordinates(BOB_X, BOB_Y).unwrap()
    }

    fn bob_decrypter() -> josekit::jwe::alg::ecdh_es::EcdhEsJweDecrypter {
        let jwk = Jwk::from_bytes(format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{BOB_X}","y":"{BOB_Y}","d":"{BOB_D}"}}"#
        ))
        .unwrap();
        ECDH_ES.decrypter_from_jwk(&jwk).unwrap()
    }

    #[test]
    fn concat_kdf_derives_the_rfc_7518_appendix_c_key_from_its_z() {
        let key = concat_kdf(&RFC_Z, "A128GCM", 16, b"Alice", b"Bob").unwrap();
        assert_eq!(key.as_slice(), RFC_KEY);
        assert_eq!(B64.encode(key.as_slice()), "VqqN6vgjbSBcIijNcacQGg");
        // Every input is bound: another enc, party info or length gives another key.
        for other in [
            concat_kdf(&RFC_Z, "A256GCM", 16, b"Alice", b"Bob"),
            concat_kdf(&RFC_Z, "A128GCM", 16, b"Alicf", b"Bob"),
            concat_kdf(&RFC_Z, "A128GCM", 16, b"Alice", b""),
            concat_kdf(&RFC_Z[1..], "A128GCM", 16, b"Alice", b"Bob"),
        ] {
            assert_ne!(other.unwrap().as_slice(), RFC_KEY);
        }
        assert_ne!(
            &concat_kdf(&RFC_Z, "A128GCM", 32, b"Alice", b"Bob").unwrap()[..16],
            RFC_KEY,
            "the key length is an input of the KDF, not only a truncation"
        );
    }

    #[test]
    fn key_agreement_with_the_rfc_keys_gives_its_z_epk_and_key() {
        let alice =
            PrivateKey::from_private_key(&ECDH_P256, &B64.decode(ALICE_D).unwrap()).unwrap();
        let z = agreement::agree(&alice, bob_public().0, (), |z| Ok(z.to_vec())).unwrap();
        assert_eq!(z, RFC_Z);
        let (epk, key) = agree(&alice, &bob_public(), "A128GCM", 16, b"Alice", b"Bob").unwrap();
        assert_eq!(key.as_slice(), RFC_KEY);
        assert_eq!(
            epk,
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": ALICE_X, "y": ALICE_Y})
        );
    }

    #[test]
    fn josekit_decrypts_with_apu_apv_and_a_two_round_key() {
        let encrypter = AwsLcEcdhEsEncrypter::new(bob_public(), "bob".into());
        // A128GCM with the RFC's party info; A256CBC-HS512 needs 64 bytes: two KDF rounds.
        for enc in ["A128GCM", "A256GCM", "A256CBC-HS512"] {
            let mut header = JweHeader::new();
            header.set_content_encryption(enc);
            header.set_agreement_partyuinfo(b"Alice");
            header.set_agreement_partyvinfo(b"Bob");
            let token = serialize_compact(b"card data", &header, &encrypter).unwrap();
            let (plain, read) = deserialize_compact(&token, &bob_decrypter()).unwrap();
            assert_eq!(plain, b"card data", "{enc}");
            assert_eq!(read.algorithm(), Some("ECDH-ES"));
            assert_eq!(read.key_id(), Some("bob"));
            assert_eq!(read.agreement_partyuinfo(), Some(b"Alice".to_vec()));
        }
    }

    #[test]
    fn a_key_that_is_not_a_p256_point_is_refused_when_loaded() {
        let short = B64.encode([1u8; 31]);
        let long = B64.encode([1u8; 33]);
        for (x, y) in [
            (short.as_str(), BOB_Y),
            (BOB_X, long.as_str()),
            ("not base64!", BOB_Y),
            (BOB_X, ""),
        ] {
            assert_eq!(
                D1PublicKey::from_coordinates(x, y).err(),
                Some(KeyProblem::Encoding),
                "{x} {y}"
            );
        }
        // Bob's x with Alice's y: well-formed, but not on the curve.
        assert_eq!(
            D1PublicKey::from_coordinates(BOB_X, ALICE_Y).err(),
            Some(KeyProblem::NotOnCurve)
        );
        // A coordinate equal to the field prime p is out of range.
        let p = "_____wAAAAEAAAAAAAAAAAAAAAD_______________8";
        assert_eq!(
            D1PublicKey::from_coordinates(p, BOB_Y).err(),
            Some(KeyProblem::NotOnCurve)
        );
        assert_eq!(
            D1PublicKey::from_coordinates(&B64.encode([0u8; 32]), &B64.encode([0u8; 32])).err(),
            Some(KeyProblem::NotOnCurve)
        );
    }

    #[test]
    fn each_token_has_its_own_ephemeral_key() {
        let encrypter = AwsLcEcdhEsEncrypter::new(bob_public(), "bob".into());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let mut header = JweHeader::new();
            header.set_content_encryption("A256GCM");
            let token = serialize_compact(b"x", &header, &encrypter).unwrap();
            let (_, read) = deserialize_compact(&token, &bob_decrypter()).unwrap();
            let epk = read.claim("epk").unwrap().clone();
            assert!(seen.insert(epk.to_string()), "an ephemeral key was reused");
        }
    }

    #[test]
    fn debug_shows_the_kid_only() {
        let encrypter = AwsLcEcdhEsEncrypter::new(bob_public(), "bob".into());
        let text = format!("{encrypter:?}");
        assert!(text.contains("bob") && !text.contains(BOB_X), "{text}");
    }
}
