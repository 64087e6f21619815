//! A real SoftHSM2 token per test: its own `SOFTHSM2_CONF` and token directory, initialized with
//! `softhsm2-util --init-token`. SoftHSM reads `SOFTHSM2_CONF` once per process (at
//! `C_Initialize`), and a test cannot set the process environment, so each test body runs in a
//! child process of the test binary with the variable set ([`SoftHsm::run_child`]).
//!
//! SoftHSM2 missing is a failure, never a skip: `scripts/setup.sh` installs `softhsm2`.
//! (Shared with desk-admin's tests through `#[path]`.)
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const PIN: &str = "4711-user-pin";
pub const SO_PIN: &str = "0815-so-pin";
const CHILD_VAR: &str = "DESK_SOFTHSM_CHILD";
const LABEL_VAR: &str = "DESK_SOFTHSM_LABEL";

/// A freshly initialized token in its own directory (removed on drop).
pub struct SoftHsm {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub label: String,
}

fn require_softhsm() {
    assert!(
        Path::new(MODULE).is_file(),
        "SoftHSM2 is not installed ({MODULE} is missing): run scripts/setup.sh, or apt-get install softhsm2"
    );
}

impl SoftHsm {
    /// A new token labelled `label`, with [`PIN`] and [`SO_PIN`].
    pub fn new(label: &str) -> SoftHsm {
        require_softhsm();
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        let out = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                PIN,
            ])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap_or_else(|e| {
                panic!("softhsm2-util cannot run ({e}): run scripts/setup.sh, or apt-get install softhsm2")
            });
        assert!(
            out.status.success(),
            "softhsm2-util --init-token failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        SoftHsm {
            dir,
            conf,
            label: label.to_string(),
        }
    }

    /// Runs the test `child` of this test binary in a child process that sees this token
    /// (`SOFTHSM2_CONF`) plus `env`; fails when the child fails. Returns its output.
    pub fn run_child(&self, child: &str, env: &[(&str, &str)]) -> String {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", child, "--nocapture", "--test-threads=1"])
            .env(CHILD_VAR, "1")
            .env(LABEL_VAR, &self.label)
            .env("SOFTHSM2_CONF", &self.conf);
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "child {child} failed:\n{text}");
        assert!(
            text.contains("1 passed"),
            "child {child} did not run:\n{text}"
        );
        text
    }

    /// A command (e.g. the admin CLI) that sees this token.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("SOFTHSM2_CONF", &self.conf);
        command
    }
}

/// In a child started by [`SoftHsm::run_child`]: the token's label; `None` in the parent run
/// (the child test then returns at once).
pub fn child_token_label() -> Option<String> {
    std::env::var_os(CHILD_VAR)?;
    require_softhsm();
    std::env::var(LABEL_VAR).ok()
}
