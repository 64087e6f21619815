//! josekit's ECDH-ES key agreement + Concat KDF against RFC 7518 Appendix C.
//!
//! josekit does not expose its KDF, nor a way to fix the ephemeral key when encrypting. So this
//! test builds a JWE by hand whose content key is the RFC's derived key
//! (`VqqN6vgjbSBcIijNcacQGg`) and whose header carries the RFC's `epk` (Alice), `apu`, `apv` and
//! `enc` A128GCM, encrypts a plaintext with AES-128-GCM (OpenSSL directly), and asks josekit to
//! decrypt it with Bob's private key. josekit can only recover the plaintext if its ECDH plus
//! Concat KDF derive exactly the RFC's key. A second token made with a key one bit off must
//! fail, which shows the check is sensitive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwe::ECDH_ES;
use josekit::jwk::Jwk;
use openssl::symm::{Cipher, encrypt_aead};

const BOB_PRIVATE: &str = r#"{"kty":"EC","crv":"P-256",
 "x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
 "y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
 "d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}"#;

const HEADER: &str = r#"{"alg":"ECDH-ES","enc":"A128GCM","apu":"QWxpY2U","apv":"Qm9i","epk":{"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}}"#;

/// RFC 7518 Appendix C: the derived key is `VqqN6vgjbSBcIijNcacQGg`.
const RFC_DERIVED_KEY: &str = "VqqN6vgjbSBcIijNcacQGg";

fn token_with_key(key: &[u8], plaintext: &[u8]) -> String {
    let header_b64 = B64.encode(HEADER);
    let iv = [7u8; 12];
    let mut tag = [0u8; 16];
    let ct = encrypt_aead(
        Cipher::aes_128_gcm(),
        key,
        Some(&iv),
        header_b64.as_bytes(),
        plaintext,
        &mut tag,
    )
    .unwrap();
    format!(
        "{header_b64}..{}.{}.{}",
        B64.encode(iv),
        B64.encode(ct),
        B64.encode(tag)
    )
}

fn bob_decrypts(token: &str) -> Result<Vec<u8>, josekit::JoseError> {
    let jwk = Jwk::from_bytes(BOB_PRIVATE).unwrap();
    let decrypter = ECDH_ES.decrypter_from_jwk(&jwk).unwrap();
    josekit::jwe::deserialize_compact(token, &decrypter).map(|(payload, _)| payload)
}

#[test]
fn josekit_derives_the_rfc_7518_appendix_c_key() {
    let key = B64.decode(RFC_DERIVED_KEY).unwrap();
    assert_eq!(
        key,
        [
            86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26
        ]
    );
    let plaintext = br#"{"pan":"4000056655665556"}"#;
    assert_eq!(
        bob_decrypts(&token_with_key(&key, plaintext)).unwrap(),
        plaintext
    );
}

#[test]
fn a_key_one_bit_off_is_rejected() {
    let mut key = B64.decode(RFC_DERIVED_KEY).unwrap();
    key[0] ^= 1;
    assert!(bob_decrypts(&token_with_key(&key, b"x")).is_err());
}
