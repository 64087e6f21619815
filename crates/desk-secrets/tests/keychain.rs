//! Runs against a real Secret Service: `scripts/with-keyring.sh cargo test -p desk-secrets`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)] // test helpers; the child reports on stdout

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use desk_secrets::*;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn in_keyring_session() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests need a real Secret Service: run `scripts/with-keyring.sh cargo test -p desk-secrets`"
    );
}

/// A store in a namespace of its own (tests run in parallel in one keyring).
fn store() -> SecretStore {
    in_keyring_session();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let issuer = format!("T{:05}{:04}", std::process::id() % 100_000, n);
    SecretStore::new(Namespace::new(DEVELOPMENT_PREFIX, "training", &issuer).unwrap())
}

fn p256() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn spki_sha256(key: &PKey<Private>) -> String {
    let der = key.public_key_to_der().unwrap();
    let hex: String = openssl::sha::sha256(&der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("SHA256:{hex}")
}

fn pkcs8_pem(key: &PKey<Private>) -> String {
    String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap()
}

fn self_signed(key: &PKey<Private>, cn: &str, days: u32) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    name.append_entry_by_text("O", "Test Bank").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(days).unwrap())
        .unwrap();
    b.sign(key, MessageDigest::sha256()).unwrap();
    b.build()
}

fn secret_tool_lookup(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// The base64 body of a PEM, to look for leaks.
fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn signing_key_round_trip_is_a_real_keychain_entry() {
    let s = store();
    let key = p256();
    let pem = pkcs8_pem(&key);
    let fp = s.import_signing_key(pem.as_bytes()).unwrap();
    assert_eq!(fp.as_str(), spki_sha256(&key));

    // Read back through a fresh store object (a mock store would have nothing).
    let again = SecretStore::new(
        Namespace::new(
            DEVELOPMENT_PREFIX,
            "training",
            s.service().rsplit('/').next().unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(
        again.signing_key().unwrap().expose_str(),
        Some(pem.as_str())
    );

    // And independently of this crate, with libsecret's secret-tool.
    assert_eq!(
        secret_tool_lookup(s.service(), SIGNING_KEY_USER).as_deref(),
        Some(pem.as_str()),
        "the entry must be in the Secret Service under service/username attributes"
    );
    s.remove_all().unwrap();
    assert_eq!(secret_tool_lookup(s.service(), SIGNING_KEY_USER), None);
}

#[test]
fn sec1_pem_is_stored_as_pkcs8() {
    let s = store();
    let key = p256();
    let sec1 = String::from_utf8(key.ec_key().unwrap().private_key_to_pem().unwrap()).unwrap();
    assert!(sec1.contains("BEGIN EC PRIVATE KEY"));
    let fp = s.import_signing_key(sec1.as_bytes()).unwrap();
    assert_eq!(fp.as_str(), spki_sha256(&key));
    let stored = s.signing_key().unwrap();
    assert_eq!(stored.expose_str(), Some(pkcs8_pem(&key).as_str()));
    s.remove_all().unwrap();
}

#[test]
fn a_private_jwk_is_accepted_and_stored_as_the_same_pem() {
    let s = store();
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let jwk = josekit::jwk::KeyPair::to_jwk_key_pair(&pair).to_string();
    let from_pem =
        PKey::private_key_from_pem(&josekit::jwk::KeyPair::to_pem_private_key(&pair)).unwrap();
    let fp = s.import_signing_key(jwk.as_bytes()).unwrap();
    assert_eq!(fp.as_str(), spki_sha256(&from_pem));
    assert_eq!(
        s.signing_key().unwrap().expose_str(),
        Some(pkcs8_pem(&from_pem).as_str())
    );
    // Exported back as a JWK with the kid, usable by josekit for ES256.
    let back = s.signing_key_jwk("sig-kid-1").unwrap();
    let back = josekit::jwk::Jwk::from_bytes(back.expose()).unwrap();
    assert_eq!(back.key_id(), Some("sig-kid-1"));
    assert!(josekit::jws::ES256.signer_from_jwk(&back).is_ok());
    s.remove_all().unwrap();
}

#[test]
fn anything_but_a_p256_private_key_is_refused_without_echoing_it() {
    let s = store();
    let p384 = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap(),
    )
    .unwrap();
    let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let p256_key = p256();
    let public_pem = String::from_utf8(p256_key.public_key_to_pem().unwrap()).unwrap();
    let cert_pem = String::from_utf8(self_signed(&p256_key, "x", 1).to_pem().unwrap()).unwrap();
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let public_jwk = josekit::jwk::KeyPair::to_jwk_public_key(&pair).to_string();

    let cases: Vec<(String, &str)> = vec![
        (pkcs8_pem(&p384), "P-256"),
        (pkcs8_pem(&rsa), "RSA-2048"),
        (public_pem, "a public key"),
        (cert_pem, "a certificate"),
        (public_jwk.clone(), "public key"),
        ("{ not json".to_string(), "not valid JSON"),
        ("hello".to_string(), "neither PEM"),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_string(),
            "cannot be read",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                .to_string(),
            "encrypted",
        ),
    ];
    for (input, expected) in cases {
        let err = s.import_signing_key(input.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), SecretsErrorKind::Invalid, "{err}");
        let text = err.to_string();
        assert!(
            text.contains(expected),
            "{text:?} should mention {expected:?}"
        );
        let body = pem_body(&input);
        if body.len() > 8 {
            assert!(!text.contains(&body) && !format!("{err:?}").contains(&body));
        }
    }
    // Nothing was stored.
    assert_eq!(
        s.signing_key().unwrap_err().kind(),
        SecretsErrorKind::NotFound
    );
}

#[test]
fn mtls_identity_round_trip_and_status() {
    let s = store();
    let key = p256();
    let cert = self_signed(&key, "BANK000001-PPR", 365);
    let cert_pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
    let key_pem = pkcs8_pem(&key);
    let status = s
        .import_mtls_identity(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap();
    assert_eq!(status.subject, "CN=BANK000001-PPR, O=Test Bank");
    assert!(!status.expired);
    assert_eq!(status.chain_length, 1);
    assert_eq!(status.fingerprint.as_str(), spki_sha256(&key));

    let id = s.mtls_identity().unwrap();
    assert_eq!(id.cert_chain_pem, cert_pem);
    assert_eq!(id.key_pem.expose_str(), Some(key_pem.as_str()));
    assert_eq!(format!("{id:?}").matches("<redacted>").count(), 1);
    assert!(!format!("{id:?}").contains(&pem_body(&key_pem)));
    let combined = id.to_combined_pem();
    assert!(
        combined
            .expose_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    assert_eq!(
        secret_tool_lookup(s.service(), MTLS_KEY_USER).as_deref(),
        Some(key_pem.as_str())
    );
    assert_eq!(
        secret_tool_lookup(s.service(), MTLS_CERT_USER).as_deref(),
        Some(cert_pem.as_str())
    );

    let signing = p256();
    s.import_signing_key(pkcs8_pem(&signing).as_bytes())
        .unwrap();
    let st = s.status().unwrap();
    assert_eq!(st.service, s.service());
    assert_eq!(
        st.signing_key.as_ref().unwrap().fingerprint.as_str(),
        spki_sha256(&signing)
    );
    assert!(st.mtls_key_present);
    assert_eq!(
        st.mtls_certificate.as_ref().unwrap().subject,
        status.subject
    );
    // The status is safe to print and serialize: no private material.
    let json = serde_json::to_string(&st).unwrap();
    for secret in [pem_body(&key_pem), pem_body(&pkcs8_pem(&signing))] {
        assert!(!json.contains(&secret) && !format!("{st:?}").contains(&secret));
    }

    s.remove_all().unwrap();
    let st = s.status().unwrap();
    assert_eq!(st.signing_key, None);
    assert_eq!(st.mtls_certificate, None);
    assert!(!st.mtls_key_present);
}

#[test]
fn an_mtls_key_that_does_not_match_the_certificate_is_refused() {
    let s = store();
    let key = p256();
    let other = p256();
    let cert_pem = String::from_utf8(self_signed(&key, "c", 30).to_pem().unwrap()).unwrap();
    let err = s
        .import_mtls_identity(cert_pem.as_bytes(), pkcs8_pem(&other).as_bytes())
        .unwrap_err();
    assert_eq!(err.kind(), SecretsErrorKind::Invalid);
    assert!(err.to_string().contains("does not match"), "{err}");

    let err = s
        .import_mtls_identity(b"not a certificate", pkcs8_pem(&key).as_bytes())
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    let err = s
        .import_mtls_identity(cert_pem.as_bytes(), cert_pem.as_bytes())
        .unwrap_err();
    assert!(err.to_string().contains("holds a certificate"), "{err}");
    assert!(!s.status().unwrap().mtls_key_present);
    assert_eq!(s.status().unwrap().mtls_certificate, None);
}

#[test]
fn an_rsa_mtls_identity_is_accepted() {
    let s = store();
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let cert_pem = String::from_utf8(self_signed(&key, "rsa", 30).to_pem().unwrap()).unwrap();
    s.import_mtls_identity(cert_pem.as_bytes(), pkcs8_pem(&key).as_bytes())
        .unwrap();
    assert!(s.mtls_identity().is_ok());
    s.remove_all().unwrap();
}

#[test]
fn an_expired_certificate_is_reported_as_expired() {
    let s = store();
    let key = p256();
    let cert = {
        let mut b = X509::builder().unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "old").unwrap();
        let name = name.build();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(1_000_000_000).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(1_100_000_000).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        b.build()
    };
    let status = s
        .import_mtls_identity(&cert.to_pem().unwrap(), pkcs8_pem(&key).as_bytes())
        .unwrap();
    assert!(status.expired);
    assert!(status.not_after.contains("2004"), "{}", status.not_after);
    s.remove_all().unwrap();
}

#[test]
fn missing_secrets_are_not_found_with_a_clear_message() {
    let s = store();
    let err = s.signing_key().unwrap_err();
    assert_eq!(err.kind(), SecretsErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!(
            "no signing key in the keychain for {}: import it with `issuance-desk-admin secrets import`",
            s.service()
        )
    );
    assert_eq!(
        s.mtls_identity().unwrap_err().kind(),
        SecretsErrorKind::NotFound
    );
    // Removing what is not there is fine.
    s.remove_all().unwrap();
}

#[test]
fn namespaces_are_separate() {
    in_keyring_session();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let issuer = format!("N{:05}{:04}", std::process::id() % 100_000, n);
    let dev = SecretStore::new(Namespace::new(DEVELOPMENT_PREFIX, "production", &issuer).unwrap());
    let rel = SecretStore::new(Namespace::new(RELEASE_PREFIX, "production", &issuer).unwrap());
    let stg = SecretStore::new(Namespace::new(DEVELOPMENT_PREFIX, "staging", &issuer).unwrap());
    assert_eq!(
        dev.service(),
        format!("issuance-desk-dev/production/{issuer}")
    );
    assert_eq!(rel.service(), format!("issuance-desk/production/{issuer}"));
    dev.import_signing_key(pkcs8_pem(&p256()).as_bytes())
        .unwrap();
    assert_eq!(
        rel.signing_key().unwrap_err().kind(),
        SecretsErrorKind::NotFound
    );
    assert_eq!(
        stg.signing_key().unwrap_err().kind(),
        SecretsErrorKind::NotFound
    );
    dev.remove_all().unwrap();
}

#[test]
fn namespace_parts_are_checked() {
    assert!(Namespace::new(RELEASE_PREFIX, "production", "BANK000001").is_ok());
    for (p, e, i) in [
        ("", "production", "BANK000001"),
        (RELEASE_PREFIX, "prod/uction", "BANK000001"),
        (RELEASE_PREFIX, "production", ""),
        (RELEASE_PREFIX, "production", "BANK 00001"),
    ] {
        let err = Namespace::new(p, e, i).unwrap_err();
        assert_eq!(err.kind(), SecretsErrorKind::Invalid);
    }
    let long = "a".repeat(65);
    assert!(Namespace::new(RELEASE_PREFIX, "production", &long).is_err());
    assert!(Namespace::new(RELEASE_PREFIX, "production", &long[..64]).is_ok());
}

#[test]
fn secret_bytes_never_show() {
    let s = store();
    let pem = pkcs8_pem(&p256());
    s.import_signing_key(pem.as_bytes()).unwrap();
    let secret = s.signing_key().unwrap();
    assert_eq!(format!("{secret:?}"), "<redacted>");
    assert_eq!(format!("{:?}", Some(&secret)), "Some(<redacted>)");
    s.remove_all().unwrap();
}

/// Runs `child_without_secret_service` in a child process with the given environment changes.
fn run_child(configure: impl FnOnce(&mut Command)) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "child_without_secret_service",
        "--ignored",
        "--nocapture",
    ])
    .env("DESK_SECRETS_CHILD", "1");
    configure(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn without_a_session_bus_the_error_is_no_secret_service() {
    let empty_runtime = tempfile::tempdir().unwrap();
    for variant in ["missing socket", "no bus at all"] {
        let stdout = run_child(|cmd| {
            cmd.env("XDG_RUNTIME_DIR", empty_runtime.path());
            if variant == "missing socket" {
                cmd.env(
                    "DBUS_SESSION_BUS_ADDRESS",
                    "unix:path=/nonexistent/issuance-desk-test/bus",
                );
            } else {
                cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
                    .env_remove("DISPLAY");
            }
        });
        assert!(
            stdout.contains("KIND=NoSecretService"),
            "{variant}: {stdout}"
        );
        assert!(
            stdout.contains("MESSAGE=no D-Bus session / Secret Service is not running"),
            "{variant}: {stdout}"
        );
    }
}

#[test]
#[ignore = "run as a child process by without_a_session_bus_the_error_is_no_secret_service"]
fn child_without_secret_service() {
    if std::env::var_os("DESK_SECRETS_CHILD").is_none() {
        return;
    }
    let s = SecretStore::new(Namespace::new(DEVELOPMENT_PREFIX, "training", "CHILD00001").unwrap());
    let pem = pkcs8_pem(&p256());
    let import = s.import_signing_key(pem.as_bytes()).unwrap_err();
    let read = s.signing_key().unwrap_err();
    let status = s.status().unwrap_err();
    for err in [&import, &read, &status] {
        assert_eq!(err.kind(), SecretsErrorKind::NoSecretService, "{err}");
        assert!(!err.to_string().contains(&pem_body(&pem)));
    }
    println!("KIND={:?}", read.kind());
    println!("MESSAGE={read}");
}

#[test]
fn a_locked_keychain_is_reported_as_locked() {
    in_keyring_session();
    // Locking the collection would disturb the other tests: run in a keyring session of its own.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/with-keyring.sh");
    let out = Command::new("timeout")
        .arg("120")
        .arg(script)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_locked_keychain",
            "--ignored",
            "--nocapture",
        ])
        .env_remove("ISSUANCE_DESK_IN_KEYRING_SESSION")
        .env("DESK_SECRETS_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("KIND=Locked"), "{stdout}");
    assert!(
        stdout.contains("MESSAGE=the keychain is locked: unlock it and try again"),
        "{stdout}"
    );
}

#[test]
#[ignore = "run as a child process by a_locked_keychain_is_reported_as_locked"]
fn child_locked_keychain() {
    if std::env::var_os("DESK_SECRETS_CHILD").is_none() {
        return;
    }
    let s = SecretStore::new(Namespace::new(DEVELOPMENT_PREFIX, "training", "LOCKED0001").unwrap());
    let pem = pkcs8_pem(&p256());
    s.import_signing_key(pem.as_bytes()).unwrap();
    let lock = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
    let read = s.signing_key().unwrap_err();
    assert!(!read.to_string().contains(&pem_body(&pem)));
    println!("KIND={:?}", read.kind());
    println!("MESSAGE={read}");
}
