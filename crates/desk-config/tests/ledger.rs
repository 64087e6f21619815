//! `[ledger]`: valid, boundary and invalid values, required keys, machine-wide file only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use desk_config::*;

/// A production file with a `[ledger]` section made of `body`.
fn with_ledger(f: &Files, body: &str) -> ConfigSources {
    let ca = f.write("ledger-ca.pem", &real_ca_pem());
    let text = production(&format!(
        "[ledger]\n{}\n",
        body.replace("CA_PATH", &ca.display().to_string())
    ));
    f.machine(&text)
}

const FULL: &str = r#"host = "ledger.bank.example"
port = 6432
dbname = "branch_ledger"
ca_bundle = "CA_PATH"
desk_id = "B0042-D1"
branch_id = "B0042"
connect_timeout_seconds = 5
"#;

#[test]
fn no_ledger_by_default_and_a_full_section_loads() {
    let (_f, r) = load_machine(&production(""));
    let c = ok(r).config;
    assert!(!c.ledger.is_configured());
    assert_eq!(c.ledger, LedgerConfig::default());
    assert_eq!(c.ledger.port, 5432);
    assert_eq!(c.ledger.dbname, "ledger");

    let f = Files::new();
    let c = ok(Config::load(&with_ledger(&f, FULL))).config;
    assert!(c.ledger.is_configured());
    assert_eq!(c.ledger.host.as_deref(), Some("ledger.bank.example"));
    assert_eq!(c.ledger.port, 6432);
    assert_eq!(c.ledger.dbname, "branch_ledger");
    assert_eq!(c.ledger.desk_id.as_deref(), Some("B0042-D1"));
    assert_eq!(c.ledger.role().as_deref(), Some("desk_B0042-D1"));
    assert_eq!(c.ledger.connect_timeout_seconds, 5);

    let with_user = format!("{FULL}user = \"ledger_desk_7\"\n");
    let c = ok(Config::load(&with_ledger(&f, &with_user))).config;
    assert_eq!(c.ledger.role().as_deref(), Some("ledger_desk_7"));
    // An IP address is a host.
    let ip = FULL.replace("ledger.bank.example", "10.1.2.3");
    ok(Config::load(&with_ledger(&f, &ip)));
}

#[test]
fn the_ledger_keys_are_required_together_and_checked() {
    let f = Files::new();
    let without = |key: &str| {
        FULL.lines()
            .filter(|l| !l.starts_with(key))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for key in ["ca_bundle", "desk_id", "branch_id"] {
        let p = problem_at(
            Config::load(&with_ledger(&f, &without(key))),
            &format!("ledger.{key}"),
        );
        assert!(
            p.message.contains("required when ledger.host is set"),
            "{p}"
        );
    }
    // Keys without a host: the host is what is missing.
    let p = problem_at(
        Config::load(&with_ledger(&f, &without("host"))),
        "ledger.desk_id",
    );
    assert!(p.message.contains("set ledger.host"), "{p}");

    for (from, to, key) in [
        ("6432", "0", "ledger.port"),
        ("6432", "65536", "ledger.port"),
        ("\"ledger.bank.example\"", "\"ledger bank\"", "ledger.host"),
        ("\"ledger.bank.example\"", "\"-x\"", "ledger.host"),
        ("\"branch_ledger\"", "\"branch ledger\"", "ledger.dbname"),
        ("\"B0042-D1\"", "\"B0042.D1\"", "ledger.desk_id"),
        (
            "\"B0042\"",
            &format!("\"{}\"", "B".repeat(41)),
            "ledger.branch_id",
        ),
        ("= 5", "= 0", "ledger.connect_timeout_seconds"),
        ("= 5", "= 121", "ledger.connect_timeout_seconds"),
    ] {
        let body = FULL.replace(from, to);
        problem_at(Config::load(&with_ledger(&f, &body)), key);
    }
    // Boundaries that are fine.
    for (from, to) in [
        ("6432", "1"),
        ("6432", "65535"),
        ("\"B0042\"", &format!("\"{}\"", "B".repeat(40))),
        ("= 5", "= 120"),
        ("= 5", "= 1"),
    ] {
        ok(Config::load(&with_ledger(&f, &FULL.replace(from, to))));
    }
    let bad_user = format!("{FULL}user = \"desk 1\"\n");
    problem_at(Config::load(&with_ledger(&f, &bad_user)), "ledger.user");
    let typo = format!("{FULL}hots = \"x\"\n");
    problem_at(Config::load(&with_ledger(&f, &typo)), "ledger.hots");
}

#[test]
fn the_ca_bundle_must_be_a_readable_pem_file() {
    let f = Files::new();
    let missing = FULL.replace("CA_PATH", "/nonexistent/ledger-ca.pem");
    let p = problem_at(Config::load(&with_ledger(&f, &missing)), "ledger.ca_bundle");
    assert!(p.message.contains("cannot read"), "{p}");
    let junk = f.write("junk.pem", "not a certificate");
    let body = FULL.replace("CA_PATH", &junk.display().to_string());
    let p = problem_at(Config::load(&with_ledger(&f, &body)), "ledger.ca_bundle");
    assert!(p.message.contains("PEM"), "{p}");
}

#[test]
fn the_ledger_comes_from_the_machine_file_only() {
    let f = Files::new();
    let sources = with_ledger(&f, FULL);
    let user = f.write("user.toml", "[ledger]\nhost = \"evil.example\"\n");
    let p = problem_at(
        Config::load(&sources.clone().with_user_file(&user)),
        "ledger.host",
    );
    assert!(p.message.contains("machine-wide file"), "{p}");
    let p = problem_at(
        Config::load(
            &sources
                .clone()
                .with_env("ISSUANCE_DESK__LEDGER__DBNAME", "other"),
        ),
        "ledger.dbname",
    );
    assert_eq!(p.source.as_deref(), Some("ISSUANCE_DESK__LEDGER__DBNAME"));
}
