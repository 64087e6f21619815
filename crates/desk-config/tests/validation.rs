mod common;

use common::*;
use desk_config::*;

/// Training file with one product whose body is `product` (after the id line).
fn training_product(product: &str) -> String {
    format!(
        r#"[[products]]
id = "P1"
display_name = "One"
pan_lengths = [16]
bin_ranges = [{{ from = "400000", to = "499999" }}]
[products.payment_application]
config = "VIS_163"

[[products]]
id = "P2"
display_name = "Two"
{product}
"#
    )
}

fn p2(pan_lengths: &str, bins: &str, extra: &str) -> String {
    training_product(&format!(
        "pan_lengths = {pan_lengths}\nbin_ranges = {bins}\n{extra}\n[products.payment_application]\nconfig = \"MCA_123\"\n"
    ))
}

#[test]
fn the_documented_pan_length_message() {
    let (f, r) = load_machine(&p2("[25]", r#"[{ from = "510000", to = "559999" }]"#, ""));
    let path = f.dir.path().join("machine.toml");
    let p = problem_at(r, "products[1].pan_lengths[0]");
    assert_eq!(
        p.to_string(),
        format!(
            "products[1].pan_lengths[0] = 25 (from {}): a PAN has 12 to 19 digits",
            path.display()
        )
    );
}

#[test]
fn pan_length_boundaries() {
    let bins = r#"[{ from = "510000", to = "559999" }]"#;
    ok(load_machine(&p2("[12, 19]", bins, "")).1);
    problem_at(
        load_machine(&p2("[11]", bins, "")).1,
        "products[1].pan_lengths[0]",
    );
    problem_at(
        load_machine(&p2("[16, 20]", bins, "")).1,
        "products[1].pan_lengths[1]",
    );
    problem_at(
        load_machine(&p2("[]", bins, "")).1,
        "products[1].pan_lengths",
    );
    let p = problem_at(
        load_machine(&p2("[\"x\"]", bins, "")).1,
        "products[1].pan_lengths[0]",
    );
    assert!(p.message.contains("not a whole number"), "{p}");
}

#[test]
fn bin_ranges() {
    let l = "[16]";
    ok(load_machine(&p2(l, r#"[{ from = "5100", to = "5100" }]"#, "")).1);
    let p = problem_at(
        load_machine(&p2(l, r#"[{ from = "559999", to = "510000" }]"#, "")).1,
        "products[1].bin_ranges[0].to",
    );
    assert!(p.message.contains("below"), "{p}");
    let p = problem_at(
        load_machine(&p2(l, r#"[{ from = "51000", to = "559999" }]"#, "")).1,
        "products[1].bin_ranges[0].to",
    );
    assert!(p.message.contains("as many digits"), "{p}");
    problem_at(
        load_machine(&p2(l, r#"[{ from = "51A000", to = "559999" }]"#, "")).1,
        "products[1].bin_ranges[0].from",
    );
    problem_at(
        load_machine(&p2(
            l,
            r#"[{ from = "5100000000000000", to = "5599999999999999" }]"#,
            "",
        ))
        .1,
        "products[1].bin_ranges[0].from",
    );
    problem_at(load_machine(&p2(l, "[]", "")).1, "products[1].bin_ranges");
    // A BIN written as a number instead of a string.
    let p = problem_at(
        load_machine(&p2(l, r#"[{ from = 510000, to = "559999" }]"#, "")).1,
        "products[1].bin_ranges[0].from",
    );
    assert!(p.message.contains("expected a string"), "{p}");
}

#[test]
fn product_ids_and_names() {
    let bins = r#"[{ from = "510000", to = "559999" }]"#;
    let with_id = |id: &str| {
        training_product(&format!(
            "pan_lengths = [16]\nbin_ranges = {bins}\n[products.payment_application]\nconfig = \"MCA_123\"\n"
        ))
        .replace("id = \"P2\"", &format!("id = \"{id}\""))
    };
    ok(load_machine(&with_id(&"A".repeat(48))).1);
    problem_at(load_machine(&with_id(&"A".repeat(49))).1, "products[1].id");
    problem_at(load_machine(&with_id("has space")).1, "products[1].id");
    problem_at(load_machine(&with_id("")).1, "products[1].id");
    let p = problem_at(load_machine(&with_id("P1")).1, "products[1].id");
    assert!(p.message.contains("same id"));
    problem_at(
        load_machine(&with_id("P2").replace("display_name = \"Two\"", "display_name = \"  \"")).1,
        "products[1].display_name",
    );
    let missing = with_id("P2").replace("display_name = \"Two\"\n", "");
    let p = problem_at(load_machine(&missing).1, "products[1].display_name");
    assert_eq!(p.message, "this key is required");
}

#[test]
fn payment_application_key_indexes() {
    let bins = r#"[{ from = "510000", to = "559999" }]"#;
    let with = |line: &str| {
        training_product(&format!(
            "pan_lengths = [16]\nbin_ranges = {bins}\n[products.payment_application]\nconfig = \"MCA_123\"\n{line}\n"
        ))
    };
    ok(load_machine(&with(
        "oda_key_index = \"0A\"\ncv_key_index = \"FF\"\npv_key_index = \"00\"",
    ))
    .1);
    problem_at(
        load_machine(&with("oda_key_index = \"0a\"")).1,
        "products[1].payment_application.oda_key_index",
    );
    problem_at(
        load_machine(&with("derivation_key_index = \"1\"")).1,
        "products[1].payment_application.derivation_key_index",
    );
    problem_at(
        load_machine(&with("pv_key_index = \"0G\"")).1,
        "products[1].payment_application.pv_key_index",
    );
    let p = problem_at(
        load_machine(&with("cv_key_index = 10")).1,
        "products[1].payment_application.cv_key_index",
    );
    assert!(p.message.contains("expected a string"), "{p}");
    let p = problem_at(
        load_machine(&with("colour = \"red\"")).1,
        "products[1].payment_application.colour",
    );
    assert!(p.message.contains("unknown key"), "{p}");
    let bad_config = with("").replace("config = \"MCA_123\"", "config = \"MCA 123\"");
    problem_at(
        load_machine(&bad_config).1,
        "products[1].payment_application.config",
    );
}

#[test]
fn product_options() {
    let bins = r#"[{ from = "510000", to = "559999" }]"#;
    let with = |extra: &str| p2("[16]", bins, extra);
    let c = ok(load_machine(&with(
        "name_max_length = 2\nexp_format = \"MMYY\"\nsupplies_cvv2 = true",
    ))
    .1)
    .config;
    assert_eq!(c.products[1].exp_format, ExpFormat::Mmyy);
    assert!(c.products[1].supplies_cvv2);
    assert_eq!(c.products[1].name_max_length, 2);
    assert_eq!(c.products[0].name_max_length, 26, "default");
    ok(load_machine(&with("name_max_length = 26")).1);
    problem_at(
        load_machine(&with("name_max_length = 1")).1,
        "products[1].name_max_length",
    );
    problem_at(
        load_machine(&with("name_max_length = 27")).1,
        "products[1].name_max_length",
    );
    let p = problem_at(
        load_machine(&with("exp_format = \"YYYYMM\"")).1,
        "products[1].exp_format",
    );
    assert!(
        p.message.contains("YYMM") && p.message.contains("MMYY"),
        "{p}"
    );
}

#[test]
fn artworks() {
    let bins = r#"[{ from = "510000", to = "559999" }]"#;
    let with = |a: &str| p2("[16]", bins, &format!("artworks = {a}"));
    let c = ok(load_machine(&with(
        r#"[{ id = "BLUE", display_name = "Blue" }, { id = "GREEN" }]"#,
    ))
    .1)
    .config;
    assert_eq!(c.products[1].artworks[1].id, "GREEN");
    problem_at(
        load_machine(&with(&format!(r#"[{{ id = "{}" }}]"#, "A".repeat(65)))).1,
        "products[1].artworks[0].id",
    );
    problem_at(
        load_machine(&with(r#"[{ id = "A" }, { id = "A" }]"#)).1,
        "products[1].artworks[1].id",
    );
    problem_at(
        load_machine(&with(r#"[{ id = "A", name = "x" }]"#)).1,
        "products[1].artworks[0].name",
    );
}

#[test]
fn issuance_types_must_exist_in_services() {
    let bins = r#"[{ from = "510000", to = "559999" }]"#;
    let c = ok(load_machine(&p2("[16]", bins, "issuance_types = [\"RENEWAL\"]")).1).config;
    assert_eq!(c.products[1].issuance_types, ["RENEWAL"]);
    assert_eq!(
        c.products[0].issuance_types,
        ["CREATION", "RENEWAL", "REPLACEMENT"],
        "omitted = all"
    );
    let p = problem_at(
        load_machine(&p2("[16]", bins, "issuance_types = [\"RENEWEL\"]")).1,
        "products[1].issuance_types[0]",
    );
    assert!(p.message.contains("CREATION, RENEWAL, REPLACEMENT"), "{p}");
    // Services changed: a product type no longer configured is caught.
    let text = p2("[16]", bins, "issuance_types = [\"RENEWAL\"]")
        + "[services]\nissuance = [\"CREATION\"]\n";
    problem_at(load_machine(&text).1, "products[1].issuance_types[0]");
}

#[test]
fn stations() {
    let st = |body: &str| format!("{body}\n");
    let c = ok(load_machine(&st("[[stations]]\nid = \"A\"\nname = \"a\"\n[[stations]]\nid = \"B\"\nname = \"b\"\ndefault = true")).1).config;
    assert_eq!(c.default_station().unwrap().id, "B");
    let c = ok(load_machine(&st(
        "[[stations]]\nid = \"A\"\nname = \"a\"\n[[stations]]\nid = \"B\"\nname = \"b\"",
    ))
    .1)
    .config;
    assert_eq!(
        c.default_station().unwrap().id,
        "A",
        "none marked: the first"
    );
    let p = problem_at(
        load_machine(&st("[[stations]]\nid = \"A\"\nname = \"a\"\ndefault = true\n[[stations]]\nid = \"B\"\nname = \"b\"\ndefault = true")).1,
        "stations[1].default",
    );
    assert!(p.message.contains("only one"), "{p}");
    ok(load_machine(&st(&format!(
        "[[stations]]\nid = \"{}\"\nname = \"a\"",
        "K".repeat(64)
    )))
    .1);
    ok(load_machine(&st("[[stations]]\nid = \"KIOSK PS/101:#1\"\nname = \"a\"")).1);
    problem_at(
        load_machine(&st(&format!(
            "[[stations]]\nid = \"{}\"\nname = \"a\"",
            "K".repeat(65)
        )))
        .1,
        "stations[0].id",
    );
    problem_at(
        load_machine(&st("[[stations]]\nid = \"\"\nname = \"a\"")).1,
        "stations[0].id",
    );
    problem_at(
        load_machine(&st("[[stations]]\nid = \" A\"\nname = \"a\"")).1,
        "stations[0].id",
    );
    problem_at(
        load_machine(&st("[[stations]]\nid = \"A\\tB\"\nname = \"a\"")).1,
        "stations[0].id",
    );
    problem_at(
        load_machine(&st("[[stations]]\nid = \"Ü\"\nname = \"a\"")).1,
        "stations[0].id",
    );
    problem_at(
        load_machine(&st(
            "[[stations]]\nid = \"A\"\nname = \"a\"\n[[stations]]\nid = \"A\"\nname = \"b\"",
        ))
        .1,
        "stations[1].id",
    );
    problem_at(load_machine("stations = []\n").1, "stations");
    let p = problem_at(load_machine("stations = \"A\"\n").1, "stations");
    assert!(p.message.contains("[[stations]]"), "{p}");
}

#[test]
fn services() {
    let c = ok(load_machine("[services]\npriorities = []\n").1).config;
    assert!(c.services.priorities.is_empty());
    assert_eq!(
        c.services.default_priority, None,
        "no priorities: none sent"
    );
    let c = ok(load_machine("[services]\npriorities = [\"LOW\", \"HIGH\"]\n").1).config;
    assert_eq!(
        c.services.default_priority.as_deref(),
        Some("LOW"),
        "not set: the first"
    );
}

#[test]
fn default_priority_must_be_listed() {
    let c = ok(load_machine(
        "[services]\npriorities = [\"LOW\", \"HIGH\"]\ndefault_priority = \"HIGH\"\n",
    )
    .1)
    .config;
    assert_eq!(c.services.default_priority.as_deref(), Some("HIGH"));
    let p = problem_at(
        load_machine("[services]\npriorities = [\"LOW\"]\ndefault_priority = \"HIGH\"\n").1,
        "services.default_priority",
    );
    assert!(p.message.contains("one of services.priorities"), "{p}");
}

#[test]
fn service_identifiers() {
    let c = ok(load_machine(&format!(
        "[services]\nissuance = [\"CREATION\", \"{}\"]\ndelivery = [\"NO_SHIPMENT\"]\npackaging = [\"NO_PACK\"]\ncard_carrier = [\"NO_CARRIER\"]\n",
        "R".repeat(64)
    ))
    .1)
    .config;
    assert_eq!(c.services.card_carrier, ["NO_CARRIER"]);
    problem_at(
        load_machine("[services]\nissuance = []\n").1,
        "services.issuance",
    );
    problem_at(
        load_machine(&format!(
            "[services]\nissuance = [\"{}\"]\n",
            "R".repeat(65)
        ))
        .1,
        "services.issuance[0]",
    );
    problem_at(
        load_machine("[services]\ndelivery = [\"by post\"]\n").1,
        "services.delivery[0]",
    );
    problem_at(
        load_machine("[services]\npackaging = [\"A\", \"A\"]\n").1,
        "services.packaging[1]",
    );
    problem_at(
        load_machine("[services]\ncard_carrier = [\"\"]\n").1,
        "services.card_carrier[0]",
    );
    problem_at(
        load_machine("[services]\ncarrier = []\n").1,
        "services.carrier",
    );
}

#[test]
fn order_option_images_and_the_pin_mailer() {
    let c = ok(load_machine(&format!(
        "[services]\npin_mailer = true\ndesign_images = [\"LOGO_1\", \"img/a%20b.png?v=2\", \"{}\"]\ncarrier_images = [\"W\"]\n",
        "i".repeat(64)
    ))
    .1)
    .config;
    assert!(c.services.pin_mailer);
    assert_eq!(c.services.design_images.len(), 3);
    assert_eq!(c.services.carrier_images, ["W"]);
    // Not offered unless configured; training offers them all, to practise.
    let none = desk_config::Services::default();
    assert!(!none.pin_mailer && none.design_images.is_empty() && none.carrier_images.is_empty());
    let c = ok(load_machine("").1).config;
    assert!(c.services.pin_mailer && !c.services.design_images.is_empty());
    problem_at(
        load_machine(&format!(
            "[services]\ndesign_images = [\"{}\"]\n",
            "i".repeat(65)
        ))
        .1,
        "services.design_images[0]",
    );
    problem_at(
        load_machine("[services]\ncarrier_images = [\"a b\"]\n").1,
        "services.carrier_images[0]",
    );
    problem_at(
        load_machine("[services]\ndesign_images = [\"A\", \"A\"]\n").1,
        "services.design_images[1]",
    );
    problem_at(
        load_machine("[services]\npin_mailer = \"perhaps\"\n").1,
        "services.pin_mailer",
    );
}

#[test]
fn numeric_ranges_at_their_boundaries() {
    let cases: &[(&str, &str, &[u32], &[u32])] = &[
        ("ui", "idle_clear_seconds", &[15, 3600], &[14, 3601]),
        ("retry", "budget_seconds", &[0, 300], &[301]),
        ("retry", "base_delay_ms", &[10, 10_000], &[9, 10_001]),
        (
            "retry",
            "no_record_after_seconds",
            &[5, 86_400],
            &[0, 4, 86_401],
        ),
        ("journal", "retention_days", &[30, 3650], &[29, 3651]),
        ("d1", "assertion_lifetime_seconds", &[30, 900], &[29, 901]),
        ("d1.timeouts", "connect_seconds", &[1, 120], &[0, 121]),
        ("d1.timeouts", "read_seconds", &[1, 600], &[0, 601]),
    ];
    for (section, key, good, bad) in cases {
        for v in *good {
            ok(load_machine(&format!("[{section}]\n{key} = {v}\n")).1);
        }
        for v in *bad {
            let p = problem_at(
                load_machine(&format!("[{section}]\n{key} = {v}\n")).1,
                &format!("{section}.{key}"),
            );
            assert_eq!(p.value, Some(v.to_string()));
        }
    }
    let p = problem_at(
        load_machine("[ui]\nidle_clear_seconds = -5\n").1,
        "ui.idle_clear_seconds",
    );
    assert!(p.message.contains("positive"), "{p}");
    let p = problem_at(
        load_machine("[ui]\nidle_clear_seconds = \"two minutes\"\n").1,
        "ui.idle_clear_seconds",
    );
    assert!(p.message.contains("not a whole number"), "{p}");
}

#[test]
fn enum_typos_name_the_allowed_values() {
    let (f, r) = load_machine("environment = \"prodution\"\n");
    let p = problem_at(r, "environment");
    assert_eq!(
        p.source,
        Some(f.dir.path().join("machine.toml").display().to_string())
    );
    assert!(p.message.contains("\"prodution\" is not allowed"), "{p}");
    assert!(
        p.message.contains("training, staging, production, custom"),
        "{p}"
    );
    let p = problem_at(load_machine("[ui]\nlanguage = \"fr\"\n").1, "ui.language");
    assert!(p.message.contains("auto, en, es"), "{p}");
    let p = problem_at(load_machine("[log]\nlevel = \"verbose\"\n").1, "log.level");
    assert!(p.message.contains("error, warn, info, debug, trace"), "{p}");
    for level in ["error", "warn", "info", "debug", "trace"] {
        ok(load_machine(&format!("[log]\nlevel = \"{level}\"\n")).1);
    }
    let p = problem_at(load_machine("[d1]\nuse_mtls = \"yes\"\n").1, "d1.use_mtls");
    assert!(p.message.contains("true or false"), "{p}");
}

#[test]
fn unknown_keys_are_errors_everywhere() {
    let (f, r) = load_machine("enviroment = \"training\"\n");
    let p = problem_at(r, "enviroment");
    assert_eq!(
        p.source,
        Some(f.dir.path().join("machine.toml").display().to_string())
    );
    assert!(p.message.contains("unknown key"), "{p}");
    problem_at(load_machine("[d1]\nissuer = \"X\"\n").1, "d1.issuer");
    problem_at(
        load_machine("[d1.timeouts]\nwrite_seconds = 3\n").1,
        "d1.timeouts.write_seconds",
    );
    problem_at(load_machine("[ui]\nidle = 3\n").1, "ui.idle");
    problem_at(load_machine("[retry]\nmax = 3\n").1, "retry.max");
    problem_at(load_machine("[journal]\ndays = 3\n").1, "journal.days");
    problem_at(load_machine("[log]\nfile = \"x\"\n").1, "log.file");
    problem_at(
        load_machine("[supervisors]\nadmins = []\n").1,
        "supervisors.admins",
    );
    problem_at(
        load_machine("[[stations]]\nid = \"A\"\nname = \"a\"\nprinter = \"x\"\n").1,
        "stations[0].printer",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    // `ui` has a typo in an enum value: that section is reported once (its range checks wait
    // for the typo to be fixed); every other section is still checked.
    let text = "[ui]\nidle_clear_seconds = 1\nlanguage = \"fr\"\n[retry]\nbudget_seconds = 999\n[journal]\nretention_days = 1\n[log]\nlevel = \"loud\"\ndirectory = \"relative/dir\"\n[[stations]]\nid = \"\"\nname = \"x\"\n";
    let err = load_machine(text).1.unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    for key in [
        "ui.language",
        "retry.budget_seconds",
        "journal.retention_days",
        "log.level",
        "stations[0].id",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "The configuration has {} problems:",
            err.problems().len()
        )),
        "{text}"
    );
    assert_eq!(text.lines().count(), err.problems().len() + 1);
    // Range problems of several sections are all reported, in order.
    let err = load_machine("[ui]\nidle_clear_seconds = 1\n[log]\ndirectory = \"relative\"\n[journal]\nretention_days = 1\n").1.unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ui.idle_clear_seconds",
            "journal.retention_days",
            "log.directory"
        ]
    );
}

#[test]
fn log_directory_must_be_absolute() {
    let c = ok(load_machine("[log]\ndirectory = \"/var/log/issuance-desk\"\n").1).config;
    assert_eq!(
        c.log.directory.as_deref(),
        Some(std::path::Path::new("/var/log/issuance-desk"))
    );
    problem_at(
        load_machine("[log]\ndirectory = \"logs\"\n").1,
        "log.directory",
    );
}

#[test]
fn production_requires_its_keys_and_its_own_products() {
    let err = load_machine("environment = \"production\"\n")
        .1
        .unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "d1.issuer_id",
            "d1.signing_kid",
            "d1.encryption_key",
            "products",
            "stations"
        ],
        "{err}"
    );
    assert!(err.problems()[3].message.contains("training only"));
    assert!(
        err.problems()[0]
            .message
            .contains("required for environment = production")
    );
    assert_eq!(
        err.problems()[0].source,
        None,
        "a missing key has no source"
    );
    assert_eq!(
        err.problems()[3].source.as_deref(),
        Some("built-in defaults")
    );
    for env in ["staging", "custom"] {
        let err = load_machine(&format!("environment = \"{env}\"\n"))
            .1
            .unwrap_err();
        assert!(
            err.problems().iter().any(|p| p.key == "d1.issuer_id"),
            "{err}"
        );
    }
    let c = ok(load_machine(&production("")).1).config;
    assert_eq!(c.d1.issuer_id.as_deref(), Some("BANK000001"));
    assert_eq!(c.d1.signing_kid.as_deref(), Some("sign-1"));
    assert!(
        !c.is_supervisor("whoever", &[]),
        "nobody is a supervisor by default in production"
    );
}

#[test]
fn issuer_id_is_exactly_ten_characters() {
    ok(load_machine(&production("").replace("BANK000001", "A-b_0123456"[..10].as_ref())).1);
    for bad in ["BANK00001", "BANK0000011", "BANK 00001", "BANKÖ00001"] {
        problem_at(
            load_machine(&production("").replace("BANK000001", bad)).1,
            "d1.issuer_id",
        );
    }
    // Training: optional, TRAINING01 when absent, still checked when given.
    problem_at(
        load_machine("[d1]\nissuer_id = \"SHORT\"\n").1,
        "d1.issuer_id",
    );
}

#[test]
fn signing_kid() {
    ok(load_machine(&production("").replace("sign-1", &"k".repeat(128))).1);
    problem_at(
        load_machine(&production("").replace("sign-1", &"k".repeat(129))).1,
        "d1.signing_kid",
    );
    problem_at(
        load_machine(&production("").replace("sign-1", "my kid")).1,
        "d1.signing_kid",
    );
    problem_at(
        load_machine(&production("").replace("sign-1", "")).1,
        "d1.signing_kid",
    );
}

fn with_key(jwk_toml: &str) -> String {
    production("").replace(&enc_jwk_toml(), jwk_toml)
}

#[test]
fn the_encryption_key_may_be_a_json_string() {
    let json = format!(
        r#"'{{"kty":"EC","crv":"P-256","kid":"k-json","x":"{ENC_X}","y":"{ENC_Y}","use":"enc"}}'"#
    );
    let c = ok(load_machine(&with_key(&json)).1).config;
    let key = c.d1.encryption_key.unwrap();
    assert_eq!(key.kid(), Some("k-json"));
    assert_eq!(key.to_json_value()["crv"], "P-256");
    // And from an environment variable (no machine file: with one, the key is the machine's).
    let f = Files::new();
    let path = f.write("u.toml", &production(""));
    let sources = sources()
        .with_user_file(path)
        .with_env("ISSUANCE_DESK__D1__ENCRYPTION_KEY", json.trim_matches('\''));
    let c = ok(Config::load(&sources)).config;
    assert_eq!(c.d1.encryption_key.unwrap().kid(), Some("k-json"));
}

#[test]
fn a_private_encryption_key_is_refused_without_echoing_it() {
    let d = "c2VjcmV0LXByaXZhdGUtc2NhbGFyLWNhbmFyeS0xMjM0NTY3";
    let jwk = format!(
        r#"{{ kty = "EC", crv = "P-256", kid = "k", x = "{ENC_X}", y = "{ENC_Y}", d = "{d}" }}"#
    );
    let err = load_machine(&with_key(&jwk)).1.unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.key, "d1.encryption_key");
    assert!(p.message.contains("private key"), "{p}");
    assert!(p.message.contains("PUBLIC"), "{p}");
    assert!(!err.to_string().contains(d) && !format!("{err:?}").contains(d));
}

#[test]
fn other_bad_encryption_keys() {
    let cases = [
        (
            format!(r#"{{ kty = "EC", crv = "P-384", kid = "k", x = "{ENC_X}", y = "{ENC_Y}" }}"#),
            "P-256",
        ),
        (
            format!(r#"{{ kty = "RSA", kid = "k", n = "{ENC_X}", e = "AQAB" }}"#),
            "EC key",
        ),
        (
            format!(r#"{{ kty = "EC", crv = "P-256", x = "{ENC_X}", y = "{ENC_Y}" }}"#),
            "kid",
        ),
        (
            format!(r#"{{ kty = "EC", crv = "P-256", kid = "k", x = "{ENC_X}", y = "{ENC_X}" }}"#),
            "point on the curve",
        ),
        (
            format!(
                r#"{{ kty = "EC", crv = "P-256", kid = "k", use = "sig", x = "{ENC_X}", y = "{ENC_Y}" }}"#
            ),
            "\"enc\"",
        ),
        (
            r#"{ kty = "EC", crv = "P-256", kid = "k" }"#.to_string(),
            "public point",
        ),
        ("'{\"kty\": '".to_string(), "not valid JSON"),
        ("'[1, 2]'".to_string(), "JSON object"),
        ("42".to_string(), "expected a JWK"),
    ];
    for (jwk, expected) in cases {
        let p = problem_at(load_machine(&with_key(&jwk)).1, "d1.encryption_key");
        assert!(p.message.contains(expected), "{jwk}: {p}");
        assert_eq!(p.value, None);
    }
}

fn custom(extra_d1: &str) -> String {
    production("")
        .replace("\"production\"", "\"custom\"")
        .replace("[d1]\n", &format!("[d1]\n{extra_d1}\n"))
}

#[test]
fn custom_base_urls() {
    let urls = |a: &str, b: &str| {
        custom(&format!(
            "auth_base_url = \"{a}\"\nbanking_base_url = \"{b}\""
        ))
    };
    let c = ok(load_machine(&urls(
        "https://gw.bank.example/authz/v1/",
        "https://gw.bank.example/banking/v1",
    ))
    .1)
    .config;
    assert_eq!(
        c.d1_endpoints().unwrap(),
        D1Endpoints {
            auth_base_url: "https://gw.bank.example/authz/v1".into(),
            banking_base_url: "https://gw.bank.example/banking/v1".into(),
        }
    );
    ok(load_machine(&urls(
        "http://127.0.0.1:8443/authz/v1",
        "http://localhost:8443/banking/v1",
    ))
    .1);
    ok(load_machine(&urls(
        "http://[::1]:8443/authz/v1",
        "https://x.example/banking/v1",
    ))
    .1);
    let p = problem_at(
        load_machine(&urls(
            "http://gw.bank.example/authz/v1",
            "https://x/banking/v1",
        ))
        .1,
        "d1.auth_base_url",
    );
    assert!(p.message.contains("https"), "{p}");
    problem_at(
        load_machine(&urls("https://gw/authz/v1", "ftp://gw/banking/v1")).1,
        "d1.banking_base_url",
    );
    problem_at(
        load_machine(&urls("not a url", "https://gw/banking/v1")).1,
        "d1.auth_base_url",
    );
    problem_at(
        load_machine(&urls(
            "https://user:pw@gw/authz/v1",
            "https://gw/banking/v1",
        ))
        .1,
        "d1.auth_base_url",
    );
    problem_at(
        load_machine(&urls("https://gw/authz/v1?x=1", "https://gw/banking/v1")).1,
        "d1.auth_base_url",
    );
    let err = load_machine(&custom("")).1.unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["d1.auth_base_url", "d1.banking_base_url"]);
    // Fixed URLs elsewhere: setting one is an error, not silently ignored.
    let p = problem_at(
        load_machine(
            &production("").replace("[d1]\n", "[d1]\nauth_base_url = \"https://x/authz/v1\"\n"),
        )
        .1,
        "d1.auth_base_url",
    );
    assert!(
        p.message.contains("only used with environment = custom"),
        "{p}"
    );
}

#[test]
fn extra_ca_bundle() {
    let f = Files::new();
    let key = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let key = openssl::pkey::PKey::from_ec_key(key).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "Test CA").unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509::builder().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(10).unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    let ca = f.write(
        "ca.pem",
        &String::from_utf8(b.build().to_pem().unwrap()).unwrap(),
    );
    let junk = f.write("junk.pem", "hello");
    let urls =
        "auth_base_url = \"https://gw/authz/v1\"\nbanking_base_url = \"https://gw/banking/v1\"\n";
    let with =
        |p: &std::path::Path| custom(&format!("{urls}extra_ca_bundle = \"{}\"", p.display()));
    let c = ok(load_machine(&with(&ca)).1).config;
    assert_eq!(c.d1.extra_ca_bundle.as_deref(), Some(ca.as_path()));
    let p = problem_at(load_machine(&with(&junk)).1, "d1.extra_ca_bundle");
    assert!(p.message.contains("PEM"), "{p}");
    let p = problem_at(
        load_machine(&with(&f.dir.path().join("none.pem"))).1,
        "d1.extra_ca_bundle",
    );
    assert!(p.message.contains("cannot read"), "{p}");
    let p = problem_at(
        load_machine(&production("").replace(
            "[d1]\n",
            &format!("[d1]\nextra_ca_bundle = \"{}\"\n", ca.display()),
        ))
        .1,
        "d1.extra_ca_bundle",
    );
    assert!(p.message.contains("custom"), "{p}");
}

#[test]
fn supervisors_come_from_the_machine_file_only() {
    let f = Files::new();
    let machine = f.write(
        "m.toml",
        &production("[supervisors]\nusers = [\"boss\"]\ngroups = [\"sup\"]\n"),
    );
    let machine_sources = sources().with_machine_file(&machine);
    let c = ok(Config::load(&machine_sources)).config;
    assert!(c.is_supervisor("boss", &[]));
    assert!(c.is_supervisor("teller2", &["staff", "sup"]));
    assert!(!c.is_supervisor("teller1", &["staff"]));
    // Training with a configured list: the list applies.
    let training = f.write("t.toml", "[supervisors]\nusers = [\"boss\"]\n");
    let c = ok(Config::load(&sources().with_machine_file(&training))).config;
    assert!(!c.is_supervisor("teller1", &[]));

    let user = f.write("u.toml", "[supervisors]\nusers = [\"me\"]\n");
    let p = problem_at(
        Config::load(&machine_sources.clone().with_user_file(&user)),
        "supervisors.users[0]",
    );
    assert_eq!(p.source, Some(user.display().to_string()));
    assert!(p.message.contains("machine-wide file"), "{p}");
    let p = problem_at(
        Config::load(
            &machine_sources
                .clone()
                .with_env("ISSUANCE_DESK__SUPERVISORS__GROUPS", "[\"users\"]"),
        ),
        "supervisors.groups[0]",
    );
    assert_eq!(
        p.source.as_deref(),
        Some("ISSUANCE_DESK__SUPERVISORS__GROUPS")
    );
    problem_at(
        load_machine("[supervisors]\nusers = [\" \"]\n").1,
        "supervisors.users[0]",
    );
    // Emptying the machine's list from a user file is refused too.
    let empty = f.write("e.toml", "[supervisors]\ngroups = []\n");
    let p = problem_at(
        Config::load(&machine_sources.clone().with_user_file(&empty)),
        "supervisors.groups",
    );
    assert_eq!(p.source, Some(empty.display().to_string()));
}
