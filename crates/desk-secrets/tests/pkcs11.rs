//! Keys on a real PKCS#11 token (SoftHSM2), the PIN in the real Secret Service:
//! `scripts/with-keyring.sh cargo test -p desk-secrets --test pkcs11`.
//!
//! Each test starts a token of its own and runs its body in a child process (see
//! `common/softhsm.rs`). What is proven: a signing key imported onto the token signs the D1
//! assertion the sandbox's token endpoint accepts; an mTLS handshake to the sandbox with the key
//! on the token; a key marked non-extractable cannot be read back (checked with raw `cryptoki`
//! calls, not through this crate), while an extractable control key can; a key generated on the
//! token signs what its public key verifies; wrong PIN, wrong label and missing module are clear
//! errors; an encrypted PKCS#8 key is decrypted in memory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "common/softhsm.rs"]
mod softhsm;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use d1_client::{ClientIdentity, D1Client, D1Config, IssuerId, SigningKey};
use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{Sandbox, SandboxConfig};
use desk_secrets::*;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use softhsm::{MODULE, PIN, SoftHsm, child_token_label};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn store() -> SecretStore {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests need a real Secret Service: run `scripts/with-keyring.sh cargo test -p desk-secrets`"
    );
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let issuer = format!("H{:05}{:04}", std::process::id() % 100_000, n);
    SecretStore::new(Namespace::new(DEVELOPMENT_PREFIX, "custom", &issuer).unwrap())
}

fn config(label: &str) -> TokenConfig {
    TokenConfig {
        module: MODULE.into(),
        token_label: label.to_string(),
    }
}

/// A store whose keychain holds the token's PIN, and the token logged in with it.
fn logged_in(label: &str) -> (SecretStore, Token) {
    let store = store();
    store.set_pkcs11_pin(PIN.as_bytes()).unwrap();
    let token = store.login_token(&config(label)).unwrap();
    (store, token)
}

fn p256() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn an_assertion_signed_on_the_token_is_accepted_by_the_sandbox() {
    SoftHsm::new("desk-assert").run_child("child_assertion_signed_on_the_token", &[]);
}

#[test]
fn child_assertion_signed_on_the_token() {
    let Some(label) = child_token_label() else {
        return;
    };
    let (store, token) = logged_in(&label);
    // The training keys of a sandbox: the private signing key goes onto the token, the sandbox
    // knows only the public one.
    let keys = TestKeys::generate();
    let private_jwk = keys.signing_private_jwk.to_string();
    let fingerprint = store
        .import_signing_key_to_token(&token, "d1-signing", private_jwk.as_bytes())
        .unwrap();
    assert!(fingerprint.as_str().starts_with("SHA256:"));
    assert!(
        store.status().unwrap().signing_key.is_none(),
        "nothing is left in the keychain"
    );
    assert!(token.is_non_extractable("d1-signing").unwrap());
    let token_key = token.private_key("d1-signing").unwrap();
    assert_eq!(token_key.kind(), TokenKeyKind::EcP256);

    runtime().block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::training().with_keys(&keys))
            .await
            .unwrap();
        let mut c = D1Config::new(
            sandbox.auth_base_url(),
            sandbox.banking_base_url(),
            IssuerId::parse(keys.issuer_id.clone()).unwrap(),
        );
        c.allow_plain_http_loopback = true;
        let signing_key =
            SigningKey::external(keys.signing_kid.clone(), Arc::new(token_key.clone())).unwrap();
        let client = D1Client::new(c.clone(), signing_key).unwrap();
        client.ensure_token().await.unwrap();
        assert_eq!(sandbox.control().tokens_issued(), 1);

        // A token key that is not the registered one is refused by D1.
        let (other, _) = token.generate_p256("other-key").unwrap();
        assert!(other.contains("PUBLIC KEY"));
        let wrong = SigningKey::external(
            keys.signing_kid.clone(),
            Arc::new(token.private_key("other-key").unwrap()),
        )
        .unwrap();
        let e = D1Client::new(c, wrong)
            .unwrap()
            .ensure_token()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "token_rejected", "{e}");
        sandbox.stop().await;
    });
}

// ---------------------------------------------------------------------------------------------

#[test]
fn an_mtls_handshake_with_the_key_on_the_token_succeeds() {
    SoftHsm::new("desk-mtls").run_child("child_mtls_with_the_key_on_the_token", &[]);
}

#[test]
fn child_mtls_with_the_key_on_the_token() {
    let Some(label) = child_token_label() else {
        return;
    };
    let (store, token) = logged_in(&label);
    let pki = TestPki::generate();
    let status = store
        .import_mtls_identity_to_token(
            &token,
            "d1-mtls",
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .unwrap();
    assert!(status.subject.contains("issuance-desk-test-client"));
    let s = store.status().unwrap();
    assert!(s.mtls_certificate.is_some() && !s.mtls_key_present);
    let chain = store.mtls_certificate_chain().unwrap();
    let keys = TestKeys::generate();

    runtime().block_on(async {
        let sandbox = Sandbox::start(
            SandboxConfig::training()
                .with_keys(&keys)
                .with_tls(pki.server_tls(true)),
        )
        .await
        .unwrap();
        let config = |identity: Option<ClientIdentity>| {
            let mut c = D1Config::new(
                sandbox.auth_base_url(),
                sandbox.banking_base_url(),
                IssuerId::parse(keys.issuer_id.clone()).unwrap(),
            );
            c.extra_ca_pem = Some(pki.ca_cert_pem.clone());
            c.trust_only_extra_ca = true;
            c.client_identity = identity;
            c.retry = d1_client::RetryPolicy::none();
            c
        };
        let signing = || {
            SigningKey::from_jwk_json(zeroize::Zeroizing::new(
                keys.signing_private_jwk.to_string(),
            ))
            .unwrap()
        };
        let identity = ClientIdentity::with_external_key(
            &chain,
            Arc::new(token.private_key("d1-mtls").unwrap()),
        )
        .unwrap();
        let client = D1Client::new(config(Some(identity)), signing()).unwrap();
        client.ensure_token().await.unwrap();
        assert_eq!(sandbox.control().tokens_issued(), 1);

        // Control: without the client certificate the sandbox refuses the handshake.
        let e = D1Client::new(config(None), signing())
            .unwrap()
            .ensure_token()
            .await
            .unwrap_err();
        assert!(matches!(e.kind(), "tls" | "transport"), "{e}");
        assert_eq!(
            sandbox.control().tokens_issued(),
            1,
            "no token without a certificate"
        );
        // And a token key that is not the certificate's fails the handshake too.
        token.generate_p256("not-the-cert").unwrap();
        let mismatched = ClientIdentity::with_external_key(
            &chain,
            Arc::new(token.private_key("not-the-cert").unwrap()),
        )
        .unwrap();
        let e = D1Client::new(config(Some(mismatched)), signing())
            .unwrap()
            .ensure_token()
            .await
            .unwrap_err();
        // The server refuses the bad CertificateVerify after the client's side of the TLS 1.3
        // handshake ended; how the client classifies that alert is the exchange's business.
        assert!(matches!(e.kind(), "tls" | "transport"), "{e}");
        assert_eq!(
            sandbox.control().tokens_issued(),
            1,
            "no token for a wrong key"
        );
        sandbox.stop().await;
    });
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_non_extractable_key_cannot_be_read_back() {
    let hsm = SoftHsm::new("desk-extract");
    hsm.run_child("child_import_keys", &[]);
    // A separate process, raw cryptoki calls: what any program with the PIN could try.
    let out = hsm.run_child("child_try_to_read_the_keys", &[]);
    assert!(out.contains("CONTROL READ OK"), "{out}");
}

#[test]
fn child_import_keys() {
    let Some(label) = child_token_label() else {
        return;
    };
    let (store, token) = logged_in(&label);
    store
        .import_signing_key_to_token(
            &token,
            "imported",
            p256().private_key_to_pem_pkcs8().unwrap().as_slice(),
        )
        .unwrap();
    token.generate_p256("generated").unwrap();
}

#[test]
fn child_try_to_read_the_keys() {
    let Some(label) = child_token_label() else {
        return;
    };
    let ctx = Pkcs11::new(MODULE).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == label)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
        .unwrap();
    for name in ["imported", "generated"] {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(name.as_bytes().to_vec()),
            ])
            .unwrap();
        assert_eq!(found.len(), 1, "{name}");
        let key = found[0];
        let info = session
            .get_attribute_info(key, &[AttributeType::Value])
            .unwrap();
        assert!(
            matches!(info.as_slice(), [AttributeInfo::Sensitive]),
            "{name}: CKA_VALUE is {info:?}"
        );
        let read = session
            .get_attributes(key, &[AttributeType::Value])
            .unwrap();
        assert!(
            !read.iter().any(|a| matches!(a, Attribute::Value(_))),
            "{name}: the private value was read back"
        );
        let flags = session
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                ],
            )
            .unwrap();
        assert!(flags.contains(&Attribute::Sensitive(true)), "{name}");
        assert!(flags.contains(&Attribute::Extractable(false)), "{name}");
        if name == "generated" {
            assert!(flags.contains(&Attribute::NeverExtractable(true)));
        }
        // Nor can it be made extractable again (PKCS#11: CKA_EXTRACTABLE only goes to false).
        let _ = session.update_attributes(key, &[Attribute::Extractable(true)]);
        let _ = session.update_attributes(key, &[Attribute::Sensitive(false)]);
        let info = session
            .get_attribute_info(key, &[AttributeType::Value])
            .unwrap();
        assert!(
            matches!(info.as_slice(), [AttributeInfo::Sensitive]),
            "{name}: became readable: {info:?}"
        );
    }
    // Control: the same reading succeeds on a key created extractable and not sensitive, so the
    // checks above can fail.
    let d = vec![7u8; 32];
    let control = session
        .create_object(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::EcParams(vec![
                0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
            ]),
            Attribute::Value(d.clone()),
        ])
        .unwrap();
    let read = session
        .get_attributes(control, &[AttributeType::Value])
        .unwrap();
    assert!(read.contains(&Attribute::Value(d)));
    println!("CONTROL READ OK");
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_key_generated_on_the_token_signs_what_its_public_key_verifies() {
    SoftHsm::new("desk-generate").run_child("child_generate_and_sign", &[]);
}

#[test]
fn child_generate_and_sign() {
    let Some(label) = child_token_label() else {
        return;
    };
    let (_store, token) = logged_in(&label);
    let (public_pem, fingerprint) = token.generate_p256("fresh").unwrap();
    let public = PKey::public_key_from_pem(public_pem.as_bytes()).unwrap();
    let spki = public.public_key_to_der().unwrap();
    let hex: String = openssl::sha::sha256(&spki)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(fingerprint.hex(), hex);
    let key = token.private_key("fresh").unwrap();
    let raw = d1_client::Es256Signer::sign_es256(&key, b"header.payload").unwrap();
    let sig = openssl::ecdsa::EcdsaSig::from_private_components(
        openssl::bn::BigNum::from_slice(&raw[..32]).unwrap(),
        openssl::bn::BigNum::from_slice(&raw[32..]).unwrap(),
    )
    .unwrap();
    let ec = public.ec_key().unwrap();
    assert!(
        sig.verify(&openssl::sha::sha256(b"header.payload"), &ec)
            .unwrap()
    );
    assert!(
        !sig.verify(&openssl::sha::sha256(b"header.payloaD"), &ec)
            .unwrap()
    );
    // The Debug form names the key, nothing else.
    assert!(format!("{key:?}").contains("fresh"));
    // A replaced label keeps one key pair.
    token.generate_p256("fresh").unwrap();
    assert!(token.private_key("fresh").is_ok());
    token.remove_key("fresh").unwrap();
    let e = token.private_key("fresh").unwrap_err();
    assert_eq!(e.kind(), SecretsErrorKind::Token);
    assert!(
        e.to_string().contains("no private key labelled \"fresh\""),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_wrong_pin_a_wrong_label_and_a_missing_module_are_clear_errors() {
    SoftHsm::new("desk-errors").run_child("child_errors", &[]);
}

#[test]
fn child_errors() {
    let Some(label) = child_token_label() else {
        return;
    };
    let store = store();
    // No PIN in the keychain yet.
    let e = store.login_token(&config(&label)).unwrap_err();
    assert_eq!(e.kind(), SecretsErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("PKCS#11 token PIN"), "{e}");
    // PINs are checked before they are stored.
    assert!(store.set_pkcs11_pin(b"123").is_err());
    assert!(store.set_pkcs11_pin(b"12\n34").is_err());
    store.set_pkcs11_pin(b"not-the-pin").unwrap();
    let e = store.login_token(&config(&label)).unwrap_err();
    assert_eq!(e.kind(), SecretsErrorKind::Token);
    assert!(e.to_string().contains("CKR_PIN_INCORRECT"), "{e}");
    assert!(!e.to_string().contains("not-the-pin"), "{e}");
    store.set_pkcs11_pin(PIN.as_bytes()).unwrap();
    let e = store.login_token(&config("no-such-token")).unwrap_err();
    assert!(
        e.to_string()
            .contains("no token labelled \"no-such-token\""),
        "{e}"
    );
    assert!(
        e.to_string().contains(&label),
        "lists the tokens found: {e}"
    );
    let missing = TokenConfig {
        module: "/nonexistent/libpkcs11.so".into(),
        token_label: label.clone(),
    };
    let e = store.login_token(&missing).unwrap_err();
    assert!(e.to_string().contains("cannot be loaded"), "{e}");
    // The PIN is removed with the rest.
    store.remove_all().unwrap();
    assert_eq!(
        store.pkcs11_pin().unwrap_err().kind(),
        SecretsErrorKind::NotFound
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn an_encrypted_pkcs8_key_is_decrypted_in_memory() {
    let key = p256();
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"s3cret pass")
        .unwrap();
    assert!(is_encrypted_pkcs8(&encrypted));
    assert!(!is_encrypted_pkcs8(
        &key.private_key_to_pem_pkcs8().unwrap()
    ));
    let plain = decrypt_pkcs8_pem(&encrypted, b"s3cret pass", "signing key").unwrap();
    let back = PKey::private_key_from_pem(plain.expose()).unwrap();
    assert!(back.public_eq(&key));
    assert_eq!(format!("{plain:?}"), "<redacted>");
    let e = decrypt_pkcs8_pem(&encrypted, b"wrong", "signing key").unwrap_err();
    assert!(e.to_string().contains("passphrase is wrong"), "{e}");
    assert!(decrypt_pkcs8_pem(&encrypted, b"", "signing key").is_err());
    let e = decrypt_pkcs8_pem(
        &key.private_key_to_pem_pkcs8().unwrap(),
        b"x",
        "signing key",
    )
    .unwrap_err();
    assert!(e.to_string().contains("not an encrypted"), "{e}");
    // Giving an encrypted key to an import without its passphrase says how to give one.
    let e = store().import_signing_key(&encrypted).unwrap_err();
    assert!(e.to_string().contains("--passphrase-stdin"), "{e}");
}
