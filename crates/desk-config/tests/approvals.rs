//! `[approvals]` and `[spoiled]`: valid, boundary and invalid values; approval rules need the
//! branch ledger and come from the machine-wide file only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use desk_config::*;

const LEDGER: &str = r#"[ledger]
host = "ledger.bank.example"
ca_bundle = "CA_PATH"
desk_id = "B0042-D1"
branch_id = "B0042"
"#;

/// A production machine file with a ledger and `extra` appended.
fn with_ledger(f: &Files, extra: &str) -> ConfigSources {
    let ca = f.write("ledger-ca.pem", &real_ca_pem());
    let ledger = LEDGER.replace("CA_PATH", &ca.display().to_string());
    f.machine(&production(&format!("{ledger}\n{extra}")))
}

#[test]
fn by_default_nothing_needs_approval_and_the_spoiled_reasons_are_the_usual_five() {
    let (_f, r) = load_machine(&production(""));
    let c = ok(r).config;
    assert!(!c.approvals.has_rules());
    assert_eq!(c.approvals.timeout_seconds, 300);
    assert!(!c.approvals.needs_approval("REPLACEMENT", "P1"));
    assert_eq!(
        c.spoiled.reasons,
        [
            "misprint",
            "damaged",
            "wrong_data",
            "customer_left",
            "test_card"
        ]
    );
    let training = ok(Config::load(&sources())).config;
    assert_eq!(training.approvals, ApprovalsConfig::default());
}

#[test]
fn approval_rules_by_issuance_type_or_product_with_a_ledger() {
    let f = Files::new();
    let c = ok(Config::load(&with_ledger(
        &f,
        "[approvals]\nissuance_types = [\"REPLACEMENT\"]\ntimeout_seconds = 120\n",
    )))
    .config;
    assert!(c.approvals.needs_approval("REPLACEMENT", "P1"));
    assert!(!c.approvals.needs_approval("CREATION", "P1"));
    assert_eq!(c.approvals.timeout_seconds, 120);
    let c = ok(Config::load(&with_ledger(
        &f,
        "[approvals]\nproduct_ids = [\"P1\"]\n",
    )))
    .config;
    assert!(c.approvals.needs_approval("CREATION", "P1"));
    assert!(!c.approvals.needs_approval("CREATION", "P2"));
    // Timeout bounds.
    for ok_value in [30, 3600] {
        ok(Config::load(&with_ledger(
            &f,
            &format!(
                "[approvals]\nissuance_types = [\"REPLACEMENT\"]\ntimeout_seconds = {ok_value}\n"
            ),
        )));
    }
    for bad in [0, 29, 3601] {
        let p = problem_at(
            Config::load(&with_ledger(
                &f,
                &format!(
                    "[approvals]\nissuance_types = [\"REPLACEMENT\"]\ntimeout_seconds = {bad}\n"
                ),
            )),
            "approvals.timeout_seconds",
        );
        assert!(p.message.contains("30 to 3600"), "{p}");
    }
}

#[test]
fn approval_rules_name_known_types_and_products() {
    let f = Files::new();
    let p = problem_at(
        Config::load(&with_ledger(
            &f,
            "[approvals]\nissuance_types = [\"REPLACEMENT\", \"REPLACE\"]\n",
        )),
        "approvals.issuance_types[1]",
    );
    assert!(p.message.contains("services.issuance"), "{p}");
    let p = problem_at(
        Config::load(&with_ledger(&f, "[approvals]\nproduct_ids = [\"P9\"]\n")),
        "approvals.product_ids[0]",
    );
    assert!(p.message.contains("configured product"), "{p}");
    let p = problem_at(
        Config::load(&with_ledger(
            &f,
            "[approvals]\nissuance_type = [\"REPLACEMENT\"]\n",
        )),
        "approvals.issuance_type",
    );
    assert!(p.message.contains("unknown"), "{p}");
}

#[test]
fn config_check_refuses_an_approval_rule_without_a_ledger() {
    for extra in [
        "[approvals]\nissuance_types = [\"REPLACEMENT\"]\n",
        "[approvals]\nproduct_ids = [\"P1\"]\n",
    ] {
        let (_f, r) = load_machine(&production(extra));
        let err = r.expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("approvals need the branch ledger"), "{text}");
        assert!(text.contains("[ledger]"), "{text}");
    }
    // A timeout alone is no rule.
    let (_f, r) = load_machine(&production("[approvals]\ntimeout_seconds = 60\n"));
    ok(r);
    // In training too (no ledger by default).
    let (_f, r) = load_machine("[approvals]\nissuance_types = [\"REPLACEMENT\"]\n");
    let text = r.expect_err("refused in training").to_string();
    assert!(text.contains("approvals need the branch ledger"), "{text}");
    // A per-user file cannot set approvals at all (machine-wide settings).
    let f = Files::new();
    let user = f.write(
        "approvals.toml",
        "[approvals]\nissuance_types = [\"REPLACEMENT\"]\n",
    );
    let p = problems(Config::load(&sources().with_user_file(&user)));
    assert!(p.iter().any(|p| p.contains("machine-wide file")), "{p:?}");
}

#[test]
fn approvals_come_from_the_machine_file_only() {
    let f = Files::new();
    let sources = with_ledger(&f, "[approvals]\nissuance_types = [\"REPLACEMENT\"]\n");
    // A teller switching dual control off: refused, naming the key and the source.
    let user = f.write("user.toml", "[approvals]\nissuance_types = []\n");
    let p = problem_at(
        Config::load(&sources.clone().with_user_file(&user)),
        "approvals.issuance_types",
    );
    assert!(p.message.contains("machine-wide file"), "{p}");
    let p = problem_at(
        Config::load(
            &sources
                .clone()
                .with_env("ISSUANCE_DESK__APPROVALS__TIMEOUT_SECONDS", "3600"),
        ),
        "approvals.timeout_seconds",
    );
    assert_eq!(
        p.source.as_deref(),
        Some("ISSUANCE_DESK__APPROVALS__TIMEOUT_SECONDS")
    );
}

#[test]
fn spoiled_reasons_are_codes_listed_once() {
    let (_f, r) = load_machine(&production(
        "[spoiled]\nreasons = [\"misprint\", \"chip_fault2\", \"x\"]\n",
    ));
    assert_eq!(
        ok(r).config.spoiled.reasons,
        ["misprint", "chip_fault2", "x"]
    );
    let forty = "r".repeat(40);
    let (_f, r) = load_machine(&production(&format!(
        "[spoiled]\nreasons = [\"{forty}\"]\n"
    )));
    ok(r);
    for (reasons, key) in [
        ("[]".to_owned(), "spoiled.reasons"),
        ("[\"Misprint\"]".to_owned(), "spoiled.reasons[0]"),
        ("[\"ok\", \"wrong data\"]".to_owned(), "spoiled.reasons[1]"),
        ("[\"ok\", \"2nd\"]".to_owned(), "spoiled.reasons[1]"),
        (format!("[\"{}\"]", "r".repeat(41)), "spoiled.reasons[0]"),
        (
            "[\"misprint\", \"misprint\"]".to_owned(),
            "spoiled.reasons[1]",
        ),
        (
            format!(
                "[{}]",
                (0..=MAX_SPOILED_REASONS)
                    .map(|i| format!("\"r{i}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "spoiled.reasons",
        ),
    ] {
        let (_f, r) = load_machine(&production(&format!("[spoiled]\nreasons = {reasons}\n")));
        problem_at(r, key);
    }
    // A per-user file may set its own list (not a security setting).
    let f = Files::new();
    let user = f.write("user.toml", "[spoiled]\nreasons = [\"misprint\"]\n");
    let c = ok(Config::load(&sources().with_user_file(&user))).config;
    assert_eq!(c.spoiled.reasons, ["misprint"]);
}
