//! `log.journald`: every event also goes to the system journal, as journal fields, under the
//! program's `SYSLOG_IDENTIFIER`.
//!
//! Where systemd-journald runs, the event is read back with `journalctl`. Where it does not
//! (containers, CI), the test — as root — listens on journald's socket path itself and reads the
//! datagrams the layer sends there: the real wire format, checked field by field. Neither
//! possible (no journald and not root) is a failure, not a skip.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use desk_config::LogLevel;
use desk_logging::{LogOptions, init};

const SOCKET: &str = "/run/systemd/journal/socket";

/// Parses journald's native protocol (`KEY=value\n`, or `KEY\n<u64 LE length><value>\n`)
/// into `KEY=value` lines.
fn parse_native(datagram: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
            break;
        };
        let line = &rest[..nl];
        if let Some(eq) = line.iter().position(|b| *b == b'=') {
            out.push_str(&String::from_utf8_lossy(&line[..eq]));
            out.push('=');
            out.push_str(&String::from_utf8_lossy(&line[eq + 1..]));
            out.push('\n');
            rest = &rest[nl + 1..];
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let len_bytes: [u8; 8] = rest[nl + 1..nl + 9].try_into().unwrap();
            let len = u64::from_le_bytes(len_bytes) as usize;
            let value = &rest[nl + 9..nl + 9 + len];
            out.push_str(&format!("{key}={}\n", String::from_utf8_lossy(value)));
            rest = &rest[nl + 9 + len + 1..];
        }
    }
    out
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

#[test]
fn events_reach_the_system_journal_with_their_fields() {
    let marker = format!("journald-marker-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let real_journald = Path::new(SOCKET).exists();
    // Stand-in listener on the journald socket path when no journald runs (removed at the end).
    let mut created_dirs = Vec::new();
    let listener = if real_journald {
        None
    } else {
        assert!(
            is_root(),
            "no systemd-journald here and not root: cannot test log.journald (run as root, as CI does)"
        );
        for d in ["/run/systemd", "/run/systemd/journal"] {
            if !Path::new(d).exists() {
                std::fs::create_dir(d).unwrap();
                created_dirs.push(d);
            }
        }
        let socket = UnixDatagram::bind(SOCKET).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Some(socket)
    };

    let guard = init(LogOptions {
        directory: Some(dir.path().to_path_buf()),
        level: LogLevel::Info,
        stderr: false,
        journald: true,
        panic_hook: false,
        ..LogOptions::admin()
    })
    .unwrap();
    tracing::info!(card_id = "c-journal-1", duration_ms = 12u64, "{marker}");

    let received = match &listener {
        Some(socket) => {
            let mut buf = vec![0u8; 65536];
            let mut found = String::new();
            // Other events (none expected) are skipped until ours arrives.
            for _ in 0..10 {
                let Ok(n) = socket.recv(&mut buf) else {
                    break;
                };
                let text = parse_native(&buf[..n]);
                if text.contains(&marker) {
                    found = text;
                    break;
                }
            }
            found
        }
        None => {
            std::thread::sleep(Duration::from_millis(500));
            let out = std::process::Command::new("journalctl")
                .args(["-o", "export", "--no-pager", "-t", "issuance-desk-admin"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .split("\n\n")
                .find(|entry| entry.contains(&marker))
                .unwrap_or_default()
                .to_string()
        }
    };
    drop(guard);
    if listener.is_some() {
        let _ = std::fs::remove_file(SOCKET);
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    assert!(!received.is_empty(), "the event did not reach the journal");
    let lines: Vec<&str> = received.lines().collect();
    for field in [
        format!("MESSAGE={marker}"),
        "SYSLOG_IDENTIFIER=issuance-desk-admin".to_string(),
        "CARD_ID=c-journal-1".to_string(),
        "DURATION_MS=12".to_string(),
        "PRIORITY=5".to_string(),
    ] {
        assert!(
            lines.contains(&field.as_str()),
            "{field} missing from {received:?}"
        );
    }
    // The files still get it too.
    let files: String = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(files.contains(&marker));
}
