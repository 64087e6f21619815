//! Nothing ordered is lost or ordered twice when the app dies mid-order. The app is SIGKILLed at
//! injected points of a real order; D1 (the standalone sandbox, in its own process) lives on;
//! the next start must find the order and bring it to a known state.
//!
//! The desk runs as `custom` against that D1, with its signing key in the real keychain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test crate: failing loudly is the point

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use d1_sandbox::testkit::TestKeys;
use desk_e2e::{Desk, SandboxControl};
use order_journal::{Journal, OrderState};
use order_workflow::crash;

const ISSUER: &str = "E2EISSUER1";

struct ExternalD1 {
    process: Child,
    control: SandboxControl,
    config: PathBuf,
}

impl Drop for ExternalD1 {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the standalone sandbox and writes the desk's machine configuration for it.
fn external_d1(dir: &Path) -> ExternalD1 {
    let keys = TestKeys::try_generate_for(ISSUER).unwrap();
    let port = free_port();
    let sandbox_config = serde_json::json!({
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
    let sandbox_path = dir.join("sandbox.json");
    std::fs::write(&sandbox_path, sandbox_config.to_string()).unwrap();
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/d1-sandbox");
    let process = Command::new(&binary)
        .args(["--config", sandbox_path.to_str().unwrap()])
        .spawn()
        .unwrap_or_else(|e| panic!("{} (built by scripts/e2e.sh): {e}", binary.display()));

    let origin = format!("http://127.0.0.1:{port}");
    let desk_config = format!(
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
"#,
        kid = keys.signing_kid,
        jwk = keys.encryption_public_jwk,
    );
    let config = dir.join("desk.toml");
    std::fs::write(&config, desk_config).unwrap();

    // The signing key goes where the (debug) app reads it: the real keychain.
    let namespace =
        desk_secrets::Namespace::new(desk_secrets::DEVELOPMENT_PREFIX, "custom", ISSUER).unwrap();
    desk_secrets::SecretStore::new(namespace)
        .import_signing_key(keys.signing_private_jwk.to_string().as_bytes())
        .unwrap();

    let control = SandboxControl::at(format!("{origin}/_sandbox")).unwrap();
    ExternalD1 {
        process,
        control,
        config,
    }
}

async fn wait_for_sandbox(d1: &ExternalD1) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while d1.control.counters().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the standalone sandbox did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Orders a card, lets the app reach `point`, SIGKILLs it, starts it again on the same data, and
/// returns the order's state once the new start has reconciled it.
async fn crash_at(point: &str) -> (OrderState, Option<String>, u64, u64) {
    let work = tempfile::tempdir().unwrap();
    let d1 = external_d1(work.path());
    wait_for_sandbox(&d1).await;
    let marker = work.path().join("crashed");
    let config = d1.config.to_str().unwrap().to_owned();
    let crash_env = [
        ("ISSUANCE_DESK_MACHINE_CONFIG", config.as_str()),
        ("ISSUANCE_DESK_CRASH_AT", point),
        ("ISSUANCE_DESK_CRASH_MARKER", marker.to_str().unwrap()),
    ];
    let desk = Desk::start_with(tempfile::tempdir().unwrap(), &crash_env)
        .await
        .unwrap();
    desk.find("order-form").await.unwrap();
    desk.type_into("consumerId", "CUST-CRASH").await.unwrap();
    desk.choose("cardProductId", "E2E_DEBIT").await.unwrap();
    desk.type_into("pan", desk_e2e::CANARY_PAN).await.unwrap();
    desk.type_into("exp", "0730").await.unwrap();
    desk.type_into("name", "ANA GARCIA").await.unwrap();
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Ok(pid) = std::fs::read_to_string(&marker) {
            break pid;
        }
        assert!(Instant::now() < deadline, "the app never reached {point}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed = Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (_, orders_before_restart) = d1.control.counters().await.unwrap();
    let data_dir = desk.abandon_after_crash().await;
    let journal_path = data_dir.path().join("journal.sqlite3");
    let card_id = Journal::open(&journal_path).unwrap().in_flight().unwrap()[0]
        .card_id
        .clone();

    // The next start reconciles what the crash left in flight.
    let desk = Desk::start_with(
        data_dir,
        &[("ISSUANCE_DESK_MACHINE_CONFIG", config.as_str())],
    )
    .await
    .unwrap();
    desk.find("order-form").await.unwrap();
    let journal = Journal::open(&journal_path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let order = loop {
        let order = journal.detail(&card_id).unwrap().order;
        if !matches!(
            order.state,
            OrderState::Intent | OrderState::Sending | OrderState::OutcomeUnknown
        ) {
            break order;
        }
        assert!(
            Instant::now() < deadline,
            "the order stayed {:?} after the restart",
            order.state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (_, orders_after) = d1.control.counters().await.unwrap();
    // Whatever happened, the canary PAN is nowhere on disk.
    for entry in std::fs::read_dir(journal_path.parent().unwrap())
        .unwrap()
        .flatten()
    {
        // The journal's -wal and -shm files may vanish while we look: skip what is gone.
        if let Ok(bytes) = std::fs::read(entry.path()) {
            assert!(
                !bytes
                    .windows(16)
                    .any(|w| w == desk_e2e::CANARY_PAN.as_bytes()),
                "canary PAN in {}",
                entry.path().display()
            );
        }
    }
    desk.stop().await.unwrap();

    (
        order.state,
        order.operation_id,
        orders_before_restart,
        orders_after,
    )
}

#[tokio::test]
async fn killed_before_sending_the_order_is_closed_as_never_sent() {
    let (state, operation, before, after) = crash_at(crash::INTENT_RECORDED).await;
    assert_eq!(state, OrderState::Abandoned);
    assert_eq!(operation, None);
    assert_eq!(
        (before, after),
        (0, 0),
        "nothing reached D1, nothing was sent after the restart"
    );
}

#[tokio::test]
async fn killed_while_sending_d1_is_asked_and_nothing_is_sent_twice() {
    let (state, _, before, after) = crash_at(crash::SENDING).await;
    assert_eq!(
        state,
        OrderState::Abandoned,
        "D1 never received it: closed, not resent blindly"
    );
    assert_eq!((before, after), (0, 0));
}

#[tokio::test]
async fn killed_after_d1_accepted_the_order_is_found_with_its_operation() {
    let (state, operation, before, after) = crash_at(crash::ACCEPTED_UNRECORDED).await;
    assert!(
        matches!(state, OrderState::InProduction | OrderState::Done),
        "{state:?}"
    );
    assert!(
        operation.is_some(),
        "the operation id was recovered from D1"
    );
    assert_eq!((before, after), (1, 1), "one card, not two");
}
