mod common;

use common::*;
use desk_config::*;

#[test]
fn no_configuration_means_training_defaults() {
    let loaded = ok(Config::load(&ConfigSources::defaults_only()));
    let c = &loaded.config;
    assert_eq!(c.environment, Environment::Training);
    assert_eq!(c.d1.issuer_id.as_deref(), Some("TRAINING01"));
    assert_eq!(c.d1_endpoints(), None);
    let ids: Vec<_> = c.products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["DEMO_DEBIT", "DEMO_CREDIT"]);
    let debit = c.product("DEMO_DEBIT").unwrap();
    assert_eq!(debit.display_name, "Visa Debit (demo)");
    assert_eq!(debit.payment_application.config, "VIS_163");
    assert_eq!(debit.pan_lengths, [16]);
    assert!(debit.bin_ranges[0].contains("4000056655665556"));
    assert!(!debit.bin_ranges[0].contains("5100000000000000"));
    assert_eq!(debit.exp_format, ExpFormat::Yymm);
    assert_eq!(debit.issuance_types, ["CREATION", "RENEWAL", "REPLACEMENT"]);
    let credit = c.product("DEMO_CREDIT").unwrap();
    assert_eq!(credit.payment_application.config, "MCA_123");
    assert_eq!(credit.bin_ranges[0].from_prefix(), "510000");
    assert_eq!(credit.bin_ranges[0].to_prefix(), "559999");
    assert_eq!(c.default_station().unwrap().id, "BRANCH-PS-01");
    assert_eq!(c.stations[1].name, "Back office printer");
    assert_eq!(c.services.priorities, ["STANDARD", "URGENT"]);
    assert_eq!(c.services.default_priority.as_deref(), Some("STANDARD"));
    assert_eq!(c.ui.idle_clear_seconds, 120);
    assert_eq!(c.retry.budget_seconds, 30);
    assert_eq!(c.journal.retention_days, 400);
    assert_eq!(c.d1.assertion_lifetime_seconds, 300);
    assert!(loaded.files.is_empty());
    assert!(loaded.env_vars.is_empty());
    // Training with no supervisor list: anyone may practise supervisor screens.
    assert!(c.is_supervisor("whoever", &[]));
}

#[test]
fn env_beats_user_beats_machine_beats_defaults() {
    // Only the keys a user may set once a machine file exists: ui, retry, products, stations.
    let f = Files::new();
    let machine = f.write(
        "machine.toml",
        "[ui]\nidle_clear_seconds = 300\nlanguage = \"en\"\n[retry]\nbase_delay_ms = 500\n[journal]\nretention_days = 100\n",
    );
    let user = f.write(
        "user.toml",
        "[ui]\nidle_clear_seconds = 200\nlanguage = \"es\"\n",
    );
    let base = sources().with_machine_file(&machine).with_user_file(&user);

    let with_env = base
        .clone()
        .with_env("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS", "100")
        .with_env("UNRELATED", "x");
    let loaded = ok(Config::load(&with_env));
    assert_eq!(loaded.config.ui.idle_clear_seconds, 100, "env wins");
    assert_eq!(
        loaded.config.ui.language,
        Language::Es,
        "user beats machine"
    );
    assert_eq!(
        loaded.config.retry.base_delay_ms, 500,
        "machine beats defaults"
    );
    assert_eq!(
        loaded.config.journal.retention_days, 100,
        "machine beats defaults"
    );
    assert_eq!(loaded.config.retry.budget_seconds, 30, "defaults remain");
    assert_eq!(loaded.env_vars, ["ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS"]);
    assert_eq!(
        loaded.files,
        [
            FileReport {
                layer: Layer::Machine,
                path: machine.clone(),
                read: true
            },
            FileReport {
                layer: Layer::User,
                path: user.clone(),
                read: true
            },
        ]
    );

    let loaded = ok(Config::load(&base));
    assert_eq!(
        loaded.config.ui.idle_clear_seconds, 200,
        "user beats machine"
    );

    let machine_only = sources().with_machine_file(&machine);
    assert_eq!(
        ok(Config::load(&machine_only)).config.ui.idle_clear_seconds,
        300
    );

    // Without a machine file, the user file may set what the machine would own.
    let user = f.write(
        "user2.toml",
        "[log]\nlevel = \"debug\"\n[journal]\nretention_days = 90\n",
    );
    let c = ok(Config::load(&sources().with_user_file(&user))).config;
    assert_eq!(c.log.level, LogLevel::Debug);
    assert_eq!(c.journal.retention_days, 90);
}

#[test]
fn a_list_in_a_higher_layer_replaces_the_lower_one() {
    let f = Files::new();
    let user = f.write(
        "user.toml",
        "[[stations]]\nid = \"ONLY-ONE\"\nname = \"The only printer\"\n",
    );
    let loaded = ok(Config::load(
        &ConfigSources::defaults_only().with_user_file(user),
    ));
    assert_eq!(loaded.config.stations.len(), 1);
    assert_eq!(loaded.config.default_station().unwrap().id, "ONLY-ONE");
}

#[test]
fn environment_variables_keep_leading_zeros_and_convert_numbers() {
    let sources = ConfigSources::defaults_only()
        .with_env("ISSUANCE_DESK__D1__ISSUER_ID", "0123456789")
        .with_env("ISSUANCE_DESK__D1__USE_MTLS", "true")
        .with_env("ISSUANCE_DESK__RETRY__BUDGET_SECONDS", "0")
        .with_env("ISSUANCE_DESK__UI__LANGUAGE", "es");
    let c = ok(Config::load(&sources)).config;
    assert_eq!(c.d1.issuer_id.as_deref(), Some("0123456789"));
    assert!(c.d1.use_mtls);
    assert_eq!(c.retry.budget_seconds, 0);
    assert_eq!(c.ui.language, Language::Es);
}

#[test]
fn a_bad_environment_variable_is_named() {
    let sources =
        ConfigSources::defaults_only().with_env("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS", "soon");
    let p = problem_at(Config::load(&sources), "ui.idle_clear_seconds");
    assert_eq!(
        p.source.as_deref(),
        Some("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS")
    );
    assert!(p.message.contains("not a whole number"), "{p}");

    let sources =
        ConfigSources::defaults_only().with_env("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS", "5");
    let p = problem_at(Config::load(&sources), "ui.idle_clear_seconds");
    assert_eq!(
        p.to_string(),
        "ui.idle_clear_seconds = 5 (from ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS): expected 15 to 3600 seconds"
    );
}

#[test]
fn an_unknown_environment_variable_key_is_an_error() {
    let sources = ConfigSources::defaults_only().with_env("ISSUANCE_DESK__UI__IDLE_CLEAR", "30");
    let p = problem_at(Config::load(&sources), "ui.idle_clear");
    assert_eq!(p.source.as_deref(), Some("ISSUANCE_DESK__UI__IDLE_CLEAR"));
    assert!(
        p.message.contains("idle_clear_seconds"),
        "lists the allowed keys: {p}"
    );
}

#[test]
fn path_overrides_from_the_environment() {
    let f = Files::new();
    let m = f.write("m.toml", "[ui]\nidle_clear_seconds = 77\n");
    let sources = ConfigSources::from_vars(vec![
        (MACHINE_CONFIG_ENV.into(), m.display().to_string()),
        (USER_CONFIG_ENV.into(), String::new()),
    ]);
    assert_eq!(sources.machine_file, Some(ConfigFile::required(&m)));
    assert_eq!(sources.user_file, None, "empty value = no user file");
    assert_eq!(ok(Config::load(&sources)).config.ui.idle_clear_seconds, 77);

    // Without overrides: the documented paths, optional.
    let sources = ConfigSources::from_vars(Vec::new());
    assert_eq!(
        sources.machine_file,
        Some(ConfigFile::optional(default_machine_config_path()))
    );
    #[cfg(target_os = "linux")]
    assert_eq!(
        default_machine_config_path(),
        std::path::PathBuf::from("/etc/issuance-desk/config.toml")
    );
    assert!(default_user_config_path().is_none_or(|p| p.ends_with("issuance-desk/config.toml")));
}

#[test]
fn a_missing_optional_file_is_reported_as_not_read() {
    let f = Files::new();
    let missing = f.dir.path().join("absent.toml");
    let sources = ConfigSources {
        machine_file: Some(ConfigFile::optional(&missing)),
        ..ConfigSources::defaults_only()
    };
    let loaded = ok(Config::load(&sources));
    assert_eq!(
        loaded.files,
        [FileReport {
            layer: Layer::Machine,
            path: missing,
            read: false
        }]
    );
}

#[test]
fn a_missing_required_file_is_an_error() {
    let f = Files::new();
    let missing = f.dir.path().join("absent.toml");
    let err = Config::load(&sources().with_machine_file(&missing)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("absent.toml") && text.contains("does not exist"),
        "{text}"
    );
}

#[test]
fn a_toml_syntax_error_names_the_file_and_line() {
    let f = Files::new();
    let path = f.write(
        "bad.toml",
        "[ui]\nidle_clear_seconds = 120\nlanguage = \"en\n",
    );
    let err = Config::load(&ConfigSources::defaults_only().with_user_file(&path)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("line 3"), "{text}");
}

#[test]
fn the_example_file_is_valid_and_complete() {
    let f = Files::new();
    let path = f.write("example.toml", EXAMPLE_CONFIG);
    let c = ok(Config::load(&sources().with_machine_file(&path))).config;
    assert_eq!(c.environment, Environment::Production);
    assert_eq!(
        c.d1.encryption_key.as_ref().unwrap().kid(),
        Some("d1-enc-2026-01")
    );
    assert_eq!(
        c.d1_endpoints().unwrap(),
        D1Endpoints {
            auth_base_url: "https://api.d1.thalescloud.io/authz/v1".into(),
            banking_base_url: "https://api.d1.thalescloud.io/banking/v1".into(),
        }
    );
    assert_eq!(c.products.len(), 2);
    assert_eq!(c.products[0].artworks.len(), 2);
    assert_eq!(
        c.products[1]
            .payment_application
            .derivation_key_index
            .as_deref(),
        Some("02")
    );
    // Every key of the effective configuration appears in the example (commented or not).
    let json = serde_json::to_value(&c).unwrap();
    let mut keys = Vec::new();
    collect_keys(&json, &mut keys);
    for key in keys {
        assert!(
            EXAMPLE_CONFIG.contains(&key),
            "the example does not document {key}"
        );
    }
}

fn collect_keys(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if !["kty", "crv", "kid", "x", "y", "use"].contains(&k.as_str()) {
                    out.push(k.clone());
                }
                collect_keys(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_keys(i, out)),
        _ => {}
    }
}

#[test]
fn staging_uses_d1_published_urls() {
    let (_f, r) = load_machine(&production("").replace("\"production\"", "\"staging\""));
    let c = ok(r).config;
    assert_eq!(
        c.d1_endpoints().unwrap(),
        D1Endpoints {
            auth_base_url: "https://api.d1-stg.thalescloud.io/authz/v1".into(),
            banking_base_url: "https://api.d1-stg.thalescloud.io/banking/v1".into(),
        }
    );
}

#[test]
fn the_effective_configuration_serializes() {
    let c = ok(Config::load(&ConfigSources::defaults_only())).config;
    let toml_like = serde_json::to_string(&c).unwrap();
    assert!(toml_like.contains("\"environment\":\"training\""));
}
