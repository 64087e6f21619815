//! Machine settings are the machine's: with a machine-wide file, what it owns cannot come from a
//! per-user file or a variable; the file itself must be root's and writable by its owner only;
//! `[keys]` and the new `[log]` keys are checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use desk_config::*;

fn custom_machine() -> String {
    production("").replace("\"production\"", "\"custom\"").replace(
        "[d1]\n",
        "[d1]\nauth_base_url = \"https://gw.bank.example/authz/v1\"\nbanking_base_url = \"https://gw.bank.example/banking/v1\"\n",
    )
}

#[test]
fn a_user_file_cannot_change_d1_banking_base_url_while_a_machine_file_exists() {
    let f = Files::new();
    let machine = f.write("machine.toml", &custom_machine());
    let user = f.write(
        "user.toml",
        "[d1]\nbanking_base_url = \"https://evil.example/banking/v1\"\n",
    );
    let base = sources().with_machine_file(&machine);
    assert_eq!(
        ok(Config::load(&base))
            .config
            .d1_endpoints()
            .unwrap()
            .banking_base_url,
        "https://gw.bank.example/banking/v1"
    );
    let p = problem_at(
        Config::load(&base.clone().with_user_file(&user)),
        "d1.banking_base_url",
    );
    assert_eq!(p.source, Some(user.display().to_string()));
    assert!(p.message.contains("belongs to the machine"), "{p}");
    assert!(
        p.message.contains(&machine.display().to_string()),
        "names the machine file: {p}"
    );
    // The value the user tried is not echoed as if it were accepted.
    assert_eq!(p.value, None);
}

#[test]
fn every_machine_section_is_refused_from_a_user_file_or_a_variable() {
    let f = Files::new();
    let machine = f.write("machine.toml", &production(""));
    let base = sources().with_machine_file(&machine);
    for (toml, key) in [
        ("environment = \"staging\"\n", "environment"),
        ("[d1]\nuse_mtls = true\n", "d1.use_mtls"),
        (
            "[d1.timeouts]\nread_seconds = 5\n",
            "d1.timeouts.read_seconds",
        ),
        ("[journal]\nretention_days = 31\n", "journal.retention_days"),
        ("[log]\nlevel = \"trace\"\n", "log.level"),
        ("[log]\njournald = true\n", "log.journald"),
        ("[keys]\nstore = \"keychain\"\n", "keys.store"),
    ] {
        let user = f.write("user.toml", toml);
        let p = problem_at(Config::load(&base.clone().with_user_file(&user)), key);
        assert_eq!(p.source, Some(user.display().to_string()), "{key}");
    }
    for (var, value, key) in [
        ("ISSUANCE_DESK__LOG__LEVEL", "debug", "log.level"),
        ("ISSUANCE_DESK__ENVIRONMENT", "training", "environment"),
        ("ISSUANCE_DESK__D1__ISSUER_ID", "BANK000002", "d1.issuer_id"),
        ("ISSUANCE_DESK__LOG__KEEP_DAYS", "1", "log.keep_days"),
    ] {
        let p = problem_at(Config::load(&base.clone().with_env(var, value)), key);
        assert_eq!(p.source.as_deref(), Some(var));
        assert!(p.message.contains("machine-wide file"), "{p}");
    }
    // What a user may still set: ui, retry, products, stations.
    let user = f.write(
        "user.toml",
        "[ui]\nlanguage = \"es\"\n[retry]\nbudget_seconds = 10\n",
    );
    let c = ok(Config::load(&base.clone().with_user_file(&user))).config;
    assert_eq!(c.ui.language, Language::Es);
    assert_eq!(c.retry.budget_seconds, 10);
}

#[test]
fn the_machine_sets_the_upper_bound_of_the_idle_time() {
    let f = Files::new();
    let machine = f.write("machine.toml", "[ui]\nidle_clear_seconds = 200\n");
    let base = sources().with_machine_file(&machine);
    for (value, allowed) in [(15, true), (199, true), (200, true), (201, false)] {
        let result = Config::load(
            &base
                .clone()
                .with_env("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS", value.to_string()),
        );
        if allowed {
            assert_eq!(ok(result).config.ui.idle_clear_seconds, value);
        } else {
            let p = problem_at(result, "ui.idle_clear_seconds");
            assert!(p.message.contains("at most 200 seconds"), "{p}");
        }
    }
    // No value in the machine file: the default (120) is the bound.
    let machine = f.write("m2.toml", "[ui]\nlanguage = \"en\"\n");
    let user = f.write("u.toml", "[ui]\nidle_clear_seconds = 121\n");
    let p = problem_at(
        Config::load(&sources().with_machine_file(&machine).with_user_file(&user)),
        "ui.idle_clear_seconds",
    );
    assert!(p.message.contains("at most 120 seconds"), "{p}");
    // No machine file at all: the documented range only.
    let c = ok(Config::load(&sources().with_user_file(&user))).config;
    assert_eq!(c.ui.idle_clear_seconds, 121);
}

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_machine_file_others_may_write_is_refused() {
    let f = Files::new();
    let machine = f.write("machine.toml", "[supervisors]\nusers = [\"boss\"]\n");
    let base = sources().with_machine_file(&machine);
    for (mode, who) in [
        (0o664, "its group"),
        (0o646, "others"),
        (0o666, "its group and by others"),
        (0o620, "its group"),
    ] {
        chmod(&machine, mode);
        let err = Config::load(&base).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("writable by {who} (mode {mode:04o})")),
            "{text}"
        );
        assert!(text.contains(&machine.display().to_string()), "{text}");
        assert!(text.contains("chmod 644"), "{text}");
    }
    for mode in [0o644, 0o600, 0o444, 0o640] {
        chmod(&machine, mode);
        assert!(
            ok(Config::load(&base)).config.is_supervisor("boss", &[]),
            "mode {mode:o}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_machine_file_not_owned_by_the_expected_owner_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let f = Files::new();
    let machine = f.write("machine.toml", "[supervisors]\nusers = [\"boss\"]\n");
    let mine = std::fs::metadata(&machine).unwrap().uid();
    // Owned by this process's user: accepted when that is the expected owner ...
    let as_mine = ConfigSources::defaults_only()
        .with_machine_file(&machine)
        .with_machine_file_owner(MachineFileOwner::Uid(mine));
    assert!(Config::load(&as_mine).is_ok());
    // ... refused when another user is expected.
    let other = ConfigSources::defaults_only()
        .with_machine_file(&machine)
        .with_machine_file_owner(MachineFileOwner::Uid(mine + 1));
    let text = Config::load(&other).unwrap_err().to_string();
    assert!(
        text.contains(&format!(
            "owned by user id {mine}, not user id {}",
            mine + 1
        )),
        "{text}"
    );
    // What the app requires: root. As root (CI) the file is accepted, otherwise refused.
    let as_app = ConfigSources::defaults_only().with_machine_file(&machine);
    assert_eq!(as_app.machine_file_owner, MachineFileOwner::Root);
    match Config::load(&as_app) {
        Ok(_) => assert_eq!(mine, 0, "a file not owned by root was accepted"),
        Err(e) => {
            assert_ne!(mine, 0, "{e}");
            assert!(e.to_string().contains("not root"), "{e}");
            assert!(e.to_string().contains("chown root:root"), "{e}");
        }
    }
    // The documented path is always held to root ownership.
    assert_eq!(
        ConfigSources::from_vars(Vec::new()).machine_file_owner,
        MachineFileOwner::Root
    );
}

fn keys_file(keys: &str, use_mtls: bool) -> String {
    production(&format!("[keys]\n{keys}")).replace(
        "signing_kid = \"sign-1\"\n",
        &format!("signing_kid = \"sign-1\"\nuse_mtls = {use_mtls}\n"),
    )
}

#[test]
fn keys_pkcs11_needs_its_module_token_and_labels() {
    let f = Files::new();
    let module = f.write("libpkcs11-stand-in.so", "not really a library");
    let good = format!(
        "store = \"pkcs11\"\npkcs11_module = \"{}\"\ntoken_label = \"issuance-desk\"\nsigning_key_label = \"d1-signing\"\n",
        module.display()
    );
    let c = ok(load_machine(&keys_file(&good, false)).1).config;
    assert_eq!(c.keys.store, KeyStore::Pkcs11);
    assert_eq!(c.keys.signing_key_label.as_deref(), Some("d1-signing"));
    // mTLS needs the TLS key's label.
    let p = problem_at(
        load_machine(&keys_file(&good, true)).1,
        "keys.tls_key_label",
    );
    assert!(p.message.contains("d1.use_mtls"), "{p}");
    let with_tls = format!("{good}tls_key_label = \"d1-mtls\"\n");
    let c = ok(load_machine(&keys_file(&with_tls, true)).1).config;
    assert_eq!(c.keys.tls_key_label.as_deref(), Some("d1-mtls"));
    let p = problem_at(
        load_machine(&keys_file(&with_tls, false)).1,
        "keys.tls_key_label",
    );
    assert!(p.message.contains("only used with d1.use_mtls"), "{p}");

    for key in ["pkcs11_module", "token_label", "signing_key_label"] {
        let without: String = good
            .lines()
            .filter(|l| !l.starts_with(key))
            .map(|l| format!("{l}\n"))
            .collect();
        let p = problem_at(
            load_machine(&keys_file(&without, false)).1,
            &format!("keys.{key}"),
        );
        assert!(p.message.contains("required"), "{p}");
    }
    for (from, to, key) in [
        (
            module.display().to_string(),
            "relative/lib.so".to_string(),
            "keys.pkcs11_module",
        ),
        (
            module.display().to_string(),
            "/nonexistent/libpkcs11.so".to_string(),
            "keys.pkcs11_module",
        ),
        (
            "\"issuance-desk\"".into(),
            format!("\"{}\"", "t".repeat(33)),
            "keys.token_label",
        ),
        (
            "\"issuance-desk\"".into(),
            "\" padded\"".into(),
            "keys.token_label",
        ),
        (
            "\"d1-signing\"".into(),
            "\"\"".into(),
            "keys.signing_key_label",
        ),
        (
            "\"d1-signing\"".into(),
            format!("\"{}\"", "k".repeat(65)),
            "keys.signing_key_label",
        ),
    ] {
        problem_at(
            load_machine(&keys_file(&good.replace(&from, &to), false)).1,
            key,
        );
    }
    // Boundaries that pass: a 32-byte token label, a 64-byte key label.
    let long = good
        .replace("\"issuance-desk\"", &format!("\"{}\"", "t".repeat(32)))
        .replace("\"d1-signing\"", &format!("\"{}\"", "k".repeat(64)));
    ok(load_machine(&keys_file(&long, false)).1);
    // A PIN never belongs in the file.
    let p = problem_at(
        load_machine(&keys_file(&format!("{good}pin = \"1234\"\n"), false)).1,
        "keys.pin",
    );
    assert!(p.message.contains("unknown key"), "{p}");
    assert!(!p.to_string().contains("1234"), "{p}");
}

#[test]
fn keys_default_to_the_keychain_and_refuse_stray_pkcs11_settings() {
    let c = ok(Config::load(&ConfigSources::defaults_only())).config;
    assert_eq!(c.keys.store, KeyStore::Keychain);
    let p = problem_at(
        load_machine(&keys_file("token_label = \"t\"\n", false)).1,
        "keys.token_label",
    );
    assert!(p.message.contains("keys.store = \"pkcs11\""), "{p}");
    let p = problem_at(load_machine("[keys]\nstore = \"pkcs11\"\n").1, "keys.store");
    assert!(p.message.contains("training"), "{p}");
    let p = problem_at(
        load_machine(&keys_file("store = \"hsm\"\n", false)).1,
        "keys.store",
    );
    assert!(p.message.contains("keychain, pkcs11"), "{p}");
}

#[test]
fn log_retention_and_journald() {
    let c = ok(Config::load(&ConfigSources::defaults_only())).config;
    assert_eq!(c.log.keep_days, 14);
    assert!(!c.log.journald);
    for (days, valid) in [(0, false), (1, true), (3650, true), (3651, false)] {
        let r = load_machine(&format!("[log]\nkeep_days = {days}\n")).1;
        if valid {
            assert_eq!(ok(r).config.log.keep_days, days);
        } else {
            let p = problem_at(r, "log.keep_days");
            assert!(p.message.contains("1 to 3650"), "{p}");
        }
    }
    let r = load_machine("[log]\njournald = true\n").1;
    if cfg!(target_os = "linux") {
        assert!(ok(r).config.log.journald);
    } else {
        problem_at(r, "log.journald");
    }
    problem_at(
        load_machine("[log]\njournald = \"maybe\"\n").1,
        "log.journald",
    );
}

#[test]
fn the_assertion_audience_is_optional_and_checked() {
    let c = ok(load_machine(&production("")).1).config;
    assert_eq!(c.d1.assertion_audience, None);
    let with = |aud: &str| {
        production("").replace(
            "signing_kid = \"sign-1\"\n",
            &format!("signing_kid = \"sign-1\"\nassertion_audience = \"{aud}\"\n"),
        )
    };
    let c = ok(load_machine(&with("https://api.d1.thalescloud.io")).1).config;
    assert_eq!(
        c.d1.assertion_audience.as_deref(),
        Some("https://api.d1.thalescloud.io")
    );
    ok(load_machine(&with(&"a".repeat(256))).1);
    for bad in ["", "has space", &"a".repeat(257)] {
        problem_at(load_machine(&with(bad)).1, "d1.assertion_audience");
    }
}
