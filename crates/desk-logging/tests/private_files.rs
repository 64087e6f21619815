//! The log directory is 0700 and every log file 0600 on Unix, whatever the umask: the test runs
//! its body in a child process under `umask 0`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use desk_logging::{APP_FILE_PREFIX, FILE_SUFFIX, LogOptions, init};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn logs_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = logs.join(format!("{APP_FILE_PREFIX}.2020-01-01.{FILE_SUFFIX}"));
    std::fs::write(&old, "{}\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 0; exec \"$0\" --exact child_logs_under_umask_zero --nocapture")
        .arg(std::env::current_exe().unwrap())
        .env("LOG_MODE_CHILD_DIR", &logs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    assert_eq!(mode(&logs), 0o700, "the directory");
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn child_logs_under_umask_zero() {
    let Some(dir) = std::env::var_os("LOG_MODE_CHILD_DIR") else {
        return;
    };
    let guard = init(LogOptions {
        directory: Some(dir.into()),
        stderr: false,
        ..LogOptions::app()
    })
    .unwrap();
    tracing::info!("a line that creates today's file");
    drop(guard);
}
