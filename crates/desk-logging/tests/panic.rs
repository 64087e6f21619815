//! A panic in a child thread is logged with its location under a fixed message; the payload
//! (which here carries a canary PAN) is in no file. One process-wide logger per test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use desk_config::LogLevel;
use desk_logging::{LogOptions, PANIC_MESSAGE, init};

const CANARY_PAN: &str = "4000056655665556";

#[test]
fn a_panic_is_logged_with_its_location_but_never_its_payload() {
    let dir = tempfile::tempdir().unwrap();
    let guard = init(LogOptions {
        directory: Some(dir.path().to_path_buf()),
        level: LogLevel::Info,
        stderr: false,
        ..LogOptions::app()
    })
    .unwrap();
    let line = line!() + 4;
    let worker = std::thread::Builder::new()
        .name("order-worker".into())
        .spawn(|| {
            panic!("failed while formatting pan={CANARY_PAN}");
        })
        .unwrap();
    assert!(worker.join().is_err(), "the thread panicked");
    drop(guard);

    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(
        !text.contains(CANARY_PAN),
        "the panic payload reached a log file"
    );
    assert!(
        !text.contains("failed while formatting"),
        "no part of the payload is logged"
    );
    let event: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["target"] == "panic")
        .expect("the panic is logged");
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["message"], PANIC_MESSAGE);
    assert_eq!(event["thread"], "order-worker");
    let location = event["location"].as_str().unwrap();
    assert!(
        location.ends_with(&format!("panic.rs:{line}:13")),
        "location {location} names the file and line"
    );
}
