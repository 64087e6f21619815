//! The test hooks and the machine-file path override work in debug builds only.
//!
//! Run both ways (scripts/test-all.sh does):
//!   cargo test -p desk-config --test release_hooks             (debug: the hooks are honoured)
//!   cargo test --release -p desk-config --test release_hooks   (release: every hook is ignored)
//!
//! The hooks are read from the process environment, which a test cannot change safely, so the
//! test starts this same test binary again with every hook set and reads what it saw.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)] // the child reports on stdout

use std::process::Command;

use desk_config::{
    Config, ConfigFile, ConfigSources, MACHINE_CONFIG_ENV, USER_CONFIG_ENV,
    default_machine_config_path, dev_hooks,
};

const CHILD: &str = "DESK_CONFIG_RELEASE_HOOKS_CHILD";

/// Runs in the child: prints what the hooks returned, one `name=value` per line.
#[test]
fn child_reports_the_hooks() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let sources = ConfigSources::from_process();
    let loaded = Config::load(&sources);
    let report = [
        ("data_dir", format!("{:?}", dev_hooks::data_dir())),
        ("log_dir", format!("{:?}", dev_hooks::log_dir())),
        ("sandbox_port", format!("{:?}", dev_hooks::sandbox_port())),
        (
            "training_step_ms",
            format!("{:?}", dev_hooks::training_step_ms()),
        ),
        ("crash_at", format!("{:?}", dev_hooks::crash_at())),
        ("crash_marker", format!("{:?}", dev_hooks::crash_marker())),
        ("ready_file", format!("{:?}", dev_hooks::ready_file())),
        ("rust_log", format!("{:?}", dev_hooks::rust_log())),
        (
            "machine_file",
            format!("{:?}", sources.machine_file.map(|f| f.path)),
        ),
        (
            "user_file",
            format!("{:?}", sources.user_file.map(|f| f.path)),
        ),
        (
            "files_read",
            format!(
                "{:?}",
                loaded
                    .map(|l| l
                        .files
                        .into_iter()
                        .filter(|f| f.read)
                        .map(|f| f.path)
                        .collect::<Vec<_>>())
                    .unwrap_or_default()
            ),
        ),
    ];
    for (name, value) in report {
        println!("HOOK {name}={value}");
    }
}

#[test]
fn hooks_work_in_debug_builds_only() {
    let dir = tempfile::tempdir().unwrap();
    // A machine file a teller could write, naming themselves supervisor of production.
    let evil = dir.path().join("evil.toml");
    std::fs::write(
        &evil,
        "environment = \"training\"\n[supervisors]\nusers = [\"mallory\"]\n",
    )
    .unwrap();
    let user = dir.path().join("user.toml");
    std::fs::write(&user, "[ui]\nlanguage = \"es\"\n").unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_reports_the_hooks",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(dev_hooks::MACHINE_CONFIG, &evil)
        .env(dev_hooks::USER_CONFIG, &user)
        .env(dev_hooks::DATA_DIR, dir.path())
        .env(dev_hooks::LOG_DIR, dir.path().join("logs"))
        .env(dev_hooks::SANDBOX_PORT, "4567")
        .env(dev_hooks::TRAINING_STEP_MS, "10")
        .env(dev_hooks::CRASH_AT, "sending")
        .env(dev_hooks::CRASH_MARKER, dir.path().join("marker"))
        .env(dev_hooks::READY_FILE, dir.path().join("ready"))
        .env(dev_hooks::RUST_LOG, "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let value = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.split_once(&format!("HOOK {name}=")).map(|(_, v)| v))
            .unwrap_or_else(|| panic!("the child did not report {name}: {stdout}"))
            .to_string()
    };
    let hooks = [
        "data_dir",
        "log_dir",
        "sandbox_port",
        "training_step_ms",
        "crash_at",
        "crash_marker",
        "ready_file",
        "rust_log",
    ];
    assert_eq!(dev_hooks::ENABLED, cfg!(debug_assertions));
    if cfg!(debug_assertions) {
        for hook in hooks {
            assert!(value(hook).starts_with("Some("), "{hook}: {stdout}");
        }
        assert_eq!(value("sandbox_port"), "Some(4567)");
        assert_eq!(value("machine_file"), format!("{:?}", Some(&evil)));
        assert_eq!(value("user_file"), format!("{:?}", Some(&user)));
        assert_eq!(value("files_read"), format!("{:?}", [&evil, &user]));
    } else {
        for hook in hooks {
            assert_eq!(value(hook), "None", "{hook} is read by a release build");
        }
        assert_eq!(
            value("machine_file"),
            format!("{:?}", Some(default_machine_config_path())),
            "a release build reads the documented machine file only"
        );
        assert_ne!(value("user_file"), format!("{:?}", Some(&user)));
        assert!(
            !value("files_read").contains("evil.toml"),
            "a release build read the file named by {}",
            dev_hooks::MACHINE_CONFIG
        );
    }
}

#[test]
fn from_vars_honours_the_path_overrides_in_debug_builds_only() {
    let vars = vec![
        (
            MACHINE_CONFIG_ENV.to_string(),
            "/tmp/teller.toml".to_string(),
        ),
        (USER_CONFIG_ENV.to_string(), String::new()),
    ];
    let sources = ConfigSources::from_vars(vars);
    if cfg!(debug_assertions) {
        assert_eq!(
            sources.machine_file,
            Some(ConfigFile::required("/tmp/teller.toml"))
        );
        assert_eq!(sources.user_file, None);
    } else {
        assert_eq!(
            sources.machine_file,
            Some(ConfigFile::optional(default_machine_config_path()))
        );
        assert!(sources.user_file.is_none_or(|f| !f.required));
    }
}
