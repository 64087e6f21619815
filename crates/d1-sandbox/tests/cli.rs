//! The `d1-sandbox` binary: --help, config errors, and serving from a config file.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_d1-sandbox");

#[test]
fn help_lists_the_options() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "--port",
        "--config",
        "--tls-cert",
        "--tls-key",
        "--client-ca",
    ] {
        assert!(text.contains(opt), "{opt} missing from:\n{text}");
    }
}

#[test]
fn config_errors_name_the_key_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.toml");
    std::fs::write(
        &path,
        "port = 0\nstations = [\"S1\"]\ntoken_lifetme_secs = 5\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("token_lifetme_secs"), "{err}");
    assert!(err.contains("line 3"), "{err}");

    let path = dir.path().join("sandbox.json");
    std::fs::write(&path, r#"{"issuers":[{"issuer_id":"SHORT"}]}"#).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("issuer_id"), "{err}");

    let out = Command::new(BIN)
        .args(["--config", "/nonexistent/sandbox.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("/nonexistent/sandbox.toml")
    );
}

#[test]
fn serves_from_a_config_file_on_an_ephemeral_port() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.toml");
    std::fs::write(
        &path,
        "production_clock = \"stepped\"\n[faults]\nlatency_ms = 0\n",
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("addr=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().map(str::to_owned));
            }
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .ok()
        .flatten();
    let Some(addr) = addr else {
        child.kill().unwrap();
        panic!("the listening address was not logged");
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("http://{addr}/_sandbox/counters"))
            .await
            .unwrap()
            .status()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status.as_u16(), 200);
}
