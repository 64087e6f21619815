#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::new_without_default
)]
use std::path::PathBuf;

use desk_config::{Config, ConfigError, ConfigSources, LoadedConfig, MachineFileOwner};

/// Built-in defaults only, with machine files owned by whoever runs the tests accepted (the
/// app requires root; a test run by a developer cannot create root-owned files).
pub fn sources() -> ConfigSources {
    ConfigSources::defaults_only().with_machine_file_owner(test_owner())
}

/// The user id of this process (the owner of a file it creates).
#[cfg(unix)]
pub fn test_owner() -> MachineFileOwner {
    use std::os::unix::fs::MetadataExt;
    let file = tempfile::NamedTempFile::new().unwrap();
    MachineFileOwner::Uid(file.as_file().metadata().unwrap().uid())
}

#[cfg(not(unix))]
pub fn test_owner() -> MachineFileOwner {
    MachineFileOwner::Root
}

pub const ENC_X: &str = "4jJKfP_MAejWBXwDJKthJLuVyy_AFnIHPUzE9IpBbbY";
pub const ENC_Y: &str = "KrWoarkfRg_iLM_jpQmJLR78yFtLbzOq-d4aiGQzIu0";

pub fn enc_jwk_toml() -> String {
    format!(r#"{{ kty = "EC", crv = "P-256", kid = "d1-enc-1", x = "{ENC_X}", y = "{ENC_Y}" }}"#)
}

/// A valid production file; `extra` is appended (it may add tables).
pub fn production(extra: &str) -> String {
    format!(
        r#"environment = "production"
[d1]
issuer_id = "BANK000001"
signing_kid = "sign-1"
encryption_key = {jwk}

[[products]]
id = "P1"
display_name = "Product one"
pan_lengths = [16]
bin_ranges = [{{ from = "455600", to = "455699" }}]
[products.payment_application]
config = "VIS_163"

[[stations]]
id = "ST-1"
name = "Printer"
{extra}
"#,
        jwk = enc_jwk_toml()
    )
}

pub struct Files {
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn machine(&self, content: &str) -> ConfigSources {
        let path = self.write("machine.toml", content);
        sources().with_machine_file(path)
    }
}

pub fn load_machine(content: &str) -> (Files, Result<LoadedConfig, ConfigError>) {
    let files = Files::new();
    let result = Config::load(&files.machine(content));
    (files, result)
}

/// The problems of a load that must fail, as displayed strings.
pub fn problems(result: Result<LoadedConfig, ConfigError>) -> Vec<String> {
    match result {
        Ok(_) => panic!("expected the configuration to be refused"),
        Err(e) => e.problems().iter().map(|p| p.to_string()).collect(),
    }
}

/// Asserts exactly one problem mentions `key` and returns it.
pub fn problem_at(result: Result<LoadedConfig, ConfigError>, key: &str) -> desk_config::Problem {
    let err = result.expect_err("expected the configuration to be refused");
    let found: Vec<_> = err
        .problems()
        .iter()
        .filter(|p| p.key == key)
        .cloned()
        .collect();
    assert_eq!(found.len(), 1, "expected one problem at {key}, got: {err}");
    found[0].clone()
}

pub fn ok(result: Result<LoadedConfig, ConfigError>) -> LoadedConfig {
    match result {
        Ok(c) => c,
        Err(e) => panic!("expected a valid configuration, got:\n{e}"),
    }
}

/// A self-signed CA certificate, PEM (the configuration only checks the file is PEM).
pub fn real_ca_pem() -> String {
    let key = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let key = openssl::pkey::PKey::from_ec_key(key).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "Ledger CA").unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    String::from_utf8(b.build().to_pem().unwrap()).unwrap()
}
