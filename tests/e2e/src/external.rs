//! A D1 that outlives the app: the standalone sandbox in its own process, and the desk's machine
//! configuration (`environment = "custom"`) for it, with the signing key in the real keychain.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use d1_sandbox::testkit::TestKeys;

use crate::{BoxError, SandboxControl};

/// The issuer of the external D1.
pub const ISSUER: &str = "E2EISSUER1";

/// The standalone sandbox; stopped when dropped.
pub struct ExternalD1 {
    process: Child,
    pub control: SandboxControl,
    keys: TestKeys,
    origin: String,
}

impl Drop for ExternalD1 {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl ExternalD1 {
    /// Starts the sandbox (config written into `dir`) and waits until it answers.
    pub async fn start(dir: &Path) -> Result<Self, BoxError> {
        let keys = TestKeys::try_generate_for(ISSUER)?;
        let port = free_port()?;
        let config = serde_json::json!({
            "port": port,
            "issuers": [{ "issuer_id": ISSUER, "signing_keys": { keys.signing_kid.clone(): keys.signing_public_jwk } }],
            "encryption_keys": [{ "kid": keys.encryption_kid, "private_jwk": keys.encryption_private_jwk }],
            "products": [{
                "id": "E2E_DEBIT", "bin_ranges": [{ "low": "400000", "high": "499999" }], "pan_lengths": [16],
                "exp_format": "YYMM", "issuance": ["CREATION", "RENEWAL", "REPLACEMENT"],
                "payment_application_configs": ["VIS_163"]
            }],
            "stations": ["E2E-PS-01"],
            "services": { "issuance": ["CREATION", "RENEWAL", "REPLACEMENT"], "priority": ["STANDARD"] },
            "production_clock": { "interval_ms": 300 }
        });
        let path = dir.join("sandbox.json");
        std::fs::write(&path, config.to_string())?;
        let binary =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/d1-sandbox");
        let process = Command::new(&binary)
            .arg("--config")
            .arg(&path)
            .spawn()
            .map_err(|e| format!("{} (built by scripts/e2e.sh): {e}", binary.display()))?;
        let origin = format!("http://127.0.0.1:{port}");
        let control = SandboxControl::at(format!("{origin}/_sandbox"))?;
        let d1 = Self {
            process,
            control,
            keys,
            origin,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while d1.control.counters().await.is_err() {
            if Instant::now() > deadline {
                return Err("the standalone sandbox did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(d1)
    }

    /// A desk's machine configuration for this D1; `extra` is appended (more sections).
    pub fn desk_config(&self, extra: &str) -> String {
        format!(
            r#"environment = "custom"

[d1]
issuer_id = "{ISSUER}"
auth_base_url = "{origin}/authz/v1"
banking_base_url = "{origin}/banking/v1"
signing_kid = "{kid}"
encryption_key = '{jwk}'

[services]
issuance = ["CREATION", "RENEWAL", "REPLACEMENT"]
priorities = ["STANDARD"]

[[products]]
id = "E2E_DEBIT"
display_name = "E2E Debit"
bin_ranges = [{{ from = "400000", to = "499999" }}]
pan_lengths = [16]

[products.payment_application]
config = "VIS_163"

[[stations]]
id = "E2E-PS-01"
name = "E2E printer"
default = true

{extra}
"#,
            origin = self.origin,
            kid = self.keys.signing_kid,
            jwk = self.keys.encryption_public_jwk,
        )
    }

    /// The keychain of a (debug) desk, `scope` as its `ISSUANCE_DESK_KEYCHAIN_SCOPE` (or none).
    pub fn keychain(scope: Option<&str>) -> Result<desk_secrets::SecretStore, BoxError> {
        let prefix = match scope {
            Some(scope) => format!("{}-{scope}", desk_secrets::DEVELOPMENT_PREFIX),
            None => desk_secrets::DEVELOPMENT_PREFIX.to_owned(),
        };
        Ok(desk_secrets::SecretStore::new(
            desk_secrets::Namespace::new(&prefix, "custom", ISSUER)?,
        ))
    }

    /// Puts this D1's signing key where a desk of `scope` reads it.
    pub fn import_signing_key(&self, scope: Option<&str>) -> Result<(), BoxError> {
        Self::keychain(scope)?
            .import_signing_key(self.keys.signing_private_jwk.to_string().as_bytes())?;
        Ok(())
    }
}
