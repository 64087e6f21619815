//! The admin CLI with keys on a real PKCS#11 token (SoftHSM2) and the PIN in the real Secret
//! Service: `set-pin` checks the PIN on the token before storing it; an encrypted PKCS#8 signing
//! key and the mTLS key are imported onto the token (passphrase from standard input), nothing
//! private lands in the keychain; `doctor` fetches a real token from the sandbox with the
//! assertion and the mTLS handshake both signed on the token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../desk-secrets/tests/common/softhsm.rs"]
mod softhsm;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{Sandbox, SandboxConfig};
use softhsm::{MODULE, PIN, SoftHsm};

const BIN: &str = env!("CARGO_BIN_EXE_issuance-desk-admin");
const ISSUER: &str = "ADMTOKEN01";

fn secret_tool_lookup(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        .filter(|s| !s.is_empty())
}

struct Cli<'a> {
    hsm: &'a SoftHsm,
    machine: &'a Path,
    logs: &'a Path,
}

impl Cli<'_> {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.hsm.command(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("ISSUANCE_DESK") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .env("ISSUANCE_DESK_MACHINE_CONFIG", self.machine)
            .env("ISSUANCE_DESK_USER_CONFIG", "")
            .env("ISSUANCE_DESK_LOG_DIR", self.logs)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn expect(out: &Output, code: i32) -> String {
    let all = text(out);
    assert_eq!(out.status.code(), Some(code), "{all}");
    all
}

fn config(origin: &str, banking: &str, ca: &Path, keys: &TestKeys, token: &str) -> String {
    format!(
        r#"environment = "custom"
[d1]
issuer_id = "{ISSUER}"
auth_base_url = "{origin}"
banking_base_url = "{banking}"
extra_ca_bundle = "{ca}"
encryption_key = '{enc}'
signing_kid = "{kid}"
use_mtls = true
[retry]
budget_seconds = 1
[keys]
store = "pkcs11"
pkcs11_module = "{MODULE}"
token_label = "{token}"
signing_key_label = "d1-signing"
tls_key_label = "d1-mtls"
[[products]]
id = "VISA_DEBIT"
display_name = "Visa Debit"
pan_lengths = [16]
bin_ranges = [{{ from = "400000", to = "499999" }}]
[products.payment_application]
config = "VIS_163"
[[stations]]
id = "ST-1"
name = "Counter 1"
[services]
issuance = ["CREATION"]
priorities = ["STANDARD"]
"#,
        ca = ca.display(),
        enc = keys.encryption_public_jwk,
        kid = keys.signing_kid,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_signs_on_the_token_after_an_encrypted_key_is_imported_onto_it() {
    let keys = TestKeys::try_generate_for(ISSUER).unwrap();
    let pki = TestPki::generate();
    let sandbox = Sandbox::start(
        SandboxConfig::training()
            .with_keys(&keys)
            .with_tls(pki.server_tls(true)),
    )
    .await
    .unwrap();
    let hsm = SoftHsm::new("admin-token");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_cert_pem).unwrap();
    let machine = dir.path().join("machine.toml");
    std::fs::write(
        &machine,
        config(
            &sandbox.auth_base_url(),
            &sandbox.banking_base_url(),
            &ca,
            &keys,
            &hsm.label,
        ),
    )
    .unwrap();
    let logs = dir.path().join("logs");
    let cli = Cli {
        hsm: &hsm,
        machine: &machine,
        logs: &logs,
    };
    let run =
        |args: &[&str], stdin: Option<&str>| tokio::task::block_in_place(|| cli.run(args, stdin));
    let service = format!("issuance-desk-dev/custom/{ISSUER}");

    // The PIN: a wrong one is refused by the token and never stored.
    let all = expect(
        &run(&["secrets", "set-pin", "--pin-stdin"], Some("0000-wrong\n")),
        4,
    );
    assert!(all.contains("CKR_PIN_INCORRECT"), "{all}");
    assert!(secret_tool_lookup(&service, "pkcs11-pin").is_none());
    // No terminal and no --pin-stdin: a usage error saying what to do.
    let all = expect(&run(&["secrets", "set-pin"], None), 2);
    assert!(all.contains("--pin-stdin"), "{all}");
    expect(
        &run(
            &["secrets", "set-pin", "--pin-stdin"],
            Some(&format!("{PIN}\n")),
        ),
        0,
    );
    assert_eq!(
        secret_tool_lookup(&service, "pkcs11-pin").as_deref(),
        Some(PIN)
    );

    // The signing key as encrypted PKCS#8, decrypted in memory.
    let pair = josekit::jwk::alg::ec::EcKeyPair::from_jwk(
        &josekit::jwk::Jwk::from_bytes(keys.signing_private_jwk.to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    let private = openssl::pkey::PKey::private_key_from_pem(&pair.to_pem_private_key()).unwrap();
    let encrypted = private
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"open sesame")
        .unwrap();
    let key_file = dir.path().join("signing.p8.pem");
    std::fs::write(&key_file, &encrypted).unwrap();
    let key_arg = key_file.to_str().unwrap();
    let all = expect(
        &run(&["secrets", "import", "--signing-key", key_arg], None),
        2,
    );
    assert!(all.contains("--passphrase-stdin"), "{all}");
    let all = expect(
        &run(
            &[
                "secrets",
                "import",
                "--signing-key",
                key_arg,
                "--passphrase-stdin",
            ],
            Some("wrong\n"),
        ),
        1,
    );
    assert!(all.contains("passphrase is wrong"), "{all}");
    let all = expect(
        &run(
            &[
                "secrets",
                "import",
                "--signing-key",
                key_arg,
                "--passphrase-stdin",
            ],
            Some("open sesame\n"),
        ),
        0,
    );
    assert!(all.contains("onto token \"admin-token\""), "{all}");
    assert!(!all.contains("open sesame"), "{all}");
    assert!(secret_tool_lookup(&service, "signing-key").is_none());

    // The mTLS key onto the token, its certificate into the keychain.
    let cert = dir.path().join("client.crt");
    std::fs::write(&cert, &pki.client_cert_pem).unwrap();
    let tls_key = dir.path().join("client.key");
    std::fs::write(&tls_key, &pki.client_key_pem).unwrap();
    expect(
        &run(
            &[
                "secrets",
                "import",
                "--mtls-cert",
                cert.to_str().unwrap(),
                "--mtls-key",
                tls_key.to_str().unwrap(),
            ],
            None,
        ),
        0,
    );
    assert!(secret_tool_lookup(&service, "mtls-cert").is_some());
    assert!(secret_tool_lookup(&service, "mtls-key").is_none());

    let all = expect(&run(&["secrets", "status"], None), 0);
    assert!(all.contains("\"d1-signing\""), "{all}");
    assert!(all.contains("non-extractable"), "{all}");
    assert!(!all.contains("EXTRACTABLE"), "{all}");

    // doctor: a real token fetch, the assertion and the mTLS handshake signed on the token.
    let before = sandbox.control().tokens_issued();
    let all = expect(&run(&["doctor"], None), 0);
    assert!(all.contains("[ok]   PKCS#11 token"), "{all}");
    assert!(all.contains("key on the token"), "{all}");
    assert_eq!(sandbox.control().tokens_issued(), before + 1);

    // A key generated on the token is not the one D1 knows: doctor fails with D1's refusal.
    let all = expect(&run(&["secrets", "generate", "--signing"], None), 0);
    assert!(all.contains("BEGIN PUBLIC KEY"), "{all}");
    expect(&run(&["doctor"], None), 5);

    // Nothing secret in the logs.
    let mut logged = String::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        logged.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    for secret in [PIN, "open sesame", "0000-wrong"] {
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
    expect(&run(&["secrets", "remove", "--yes"], None), 0);
    sandbox.stop().await;
}
