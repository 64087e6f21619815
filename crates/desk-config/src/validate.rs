//! Checks after merging: every value, then the cross-field rules.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::load::{Draft, Reporter};
use crate::model::{Config, D1Config, EncryptionKey, Environment, Product, Services, Station};

/// The issuer id used in training when none is configured.
pub const TRAINING_ISSUER_ID: &str = "TRAINING01";

/// `^[A-Za-z0-9_-]{1,max}$`
pub(crate) fn is_ident(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `^[A-F0-9]{2}$`
fn is_key_index(s: &str) -> bool {
    s.len() == 2
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// 1–64 printable ASCII characters, no leading or trailing space.
fn is_station_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !s.starts_with(' ')
        && !s.ends_with(' ')
}

/// A name shown to people: 1–64 characters, no control characters, not blank.
fn is_label(s: &str) -> bool {
    let n = s.chars().count();
    (1..=64).contains(&n) && !s.trim().is_empty() && !s.chars().any(char::is_control)
}

fn q(s: &str) -> Option<String> {
    Some(format!("{s:?}"))
}

const IDENT64: &str = "expected 1 to 64 characters among A-Z a-z 0-9 _ -";

pub(crate) fn validate(r: &mut Reporter<'_>, draft: Draft) -> Option<Config> {
    let env = draft.environment;
    if let (Some(env), Some(d1)) = (env, &draft.d1) {
        check_d1(r, env, d1);
    }
    if let Some(services) = &draft.services {
        check_services(r, services);
    }
    if let Some(products) = &draft.products {
        check_products(
            r,
            env,
            products,
            draft.products_from_defaults,
            draft.services.as_ref(),
        );
    }
    if let Some(stations) = &draft.stations {
        check_stations(r, env, stations, draft.stations_from_defaults);
    }
    if let Some(s) = &draft.supervisors {
        for (list, name) in [(&s.users, "users"), (&s.groups, "groups")] {
            for (i, v) in list.iter().enumerate() {
                if v.trim().is_empty() || v.chars().any(char::is_control) || v.len() > 256 {
                    r.report(
                        &format!("supervisors.{name}[{i}]"),
                        q(v),
                        "expected a user or group name",
                    );
                }
            }
        }
        let mut keys = r.leaves("supervisors");
        // An emptied list has no leaves: check the lists themselves too.
        keys.extend([
            "supervisors.users".to_string(),
            "supervisors.groups".to_string(),
        ]);
        keys.sort();
        keys.dedup();
        for leaf in keys {
            if !r.is_machine_or_default(&leaf) {
                r.report(
                    &leaf,
                    None,
                    "supervisors can only be set in the machine-wide file (not in a per-user file or an environment variable)",
                );
            }
        }
    }
    if let Some(machine) = &draft.machine_file {
        check_machine_only(r, machine, draft.ui.as_ref(), draft.machine_idle_bound);
    }
    if let Some(ui) = &draft.ui
        && !(15..=3600).contains(&ui.idle_clear_seconds)
    {
        r.report(
            "ui.idle_clear_seconds",
            Some(ui.idle_clear_seconds.to_string()),
            "expected 15 to 3600 seconds",
        );
    }
    if let (Some(keys), Some(d1)) = (&draft.keys, &draft.d1) {
        crate::keys::check_keys(r, env, keys, d1.use_mtls);
    }
    if let Some(retry) = &draft.retry {
        if retry.budget_seconds > 300 {
            r.report(
                "retry.budget_seconds",
                Some(retry.budget_seconds.to_string()),
                "expected 0 to 300 seconds (0 turns retries off)",
            );
        }
        if !(10..=10_000).contains(&retry.base_delay_ms) {
            r.report(
                "retry.base_delay_ms",
                Some(retry.base_delay_ms.to_string()),
                "expected 10 to 10000 milliseconds",
            );
        }
        if !(5..=86_400).contains(&retry.no_record_after_seconds) {
            r.report(
                "retry.no_record_after_seconds",
                Some(retry.no_record_after_seconds.to_string()),
                "expected 5 to 86400 seconds",
            );
        }
    }
    if let Some(journal) = &draft.journal
        && !(30..=3650).contains(&journal.retention_days)
    {
        r.report(
            "journal.retention_days",
            Some(journal.retention_days.to_string()),
            "expected 30 to 3650 days",
        );
    }
    if let Some(log) = &draft.log {
        check_log(r, log);
    }

    if let Some(ledger) = &draft.ledger {
        crate::ledger::check_ledger(r, ledger);
    }
    if let Some(approvals) = &draft.approvals {
        crate::counter::check_approvals(
            r,
            approvals,
            draft.services.as_ref(),
            draft.products.as_deref(),
            draft.ledger.as_ref().is_some_and(|l| l.is_configured()),
        );
    }
    if let Some(spoiled) = &draft.spoiled {
        crate::counter::check_spoiled(r, spoiled);
    }

    let mut d1 = draft.d1?;
    let mut services = draft.services?;
    if services.default_priority.is_none() {
        services.default_priority = services.priorities.first().cloned();
    }
    let environment = env?;
    if environment == Environment::Training && d1.issuer_id.is_none() {
        d1.issuer_id = Some(TRAINING_ISSUER_ID.to_string());
    }
    let products = draft
        .products?
        .into_iter()
        .map(|(_, mut p)| {
            if p.issuance_types.is_empty() {
                p.issuance_types = services.issuance.clone();
            }
            p
        })
        .collect();
    Some(Config {
        environment,
        d1,
        products,
        stations: draft.stations?.into_iter().map(|(_, s)| s).collect(),
        services,
        supervisors: draft.supervisors?,
        ui: draft.ui?,
        retry: draft.retry?,
        journal: draft.journal?,
        log: draft.log?,
        keys: draft.keys?,
        ledger: draft.ledger?,
        approvals: draft.approvals?,
        spoiled: draft.spoiled?,
    })
}

/// Sections that belong to the machine once a machine-wide file exists (`supervisors` always
/// does: it is checked on its own). `ledger` is listed so that section is covered when present.
pub(crate) const MACHINE_ONLY: &[&str] = &["environment", "d1", "ledger", "journal", "log", "keys"];

/// With a machine-wide file, the machine-only sections and the upper bound of the idle time
/// come from it (or the defaults) alone: a per-user file or an environment variable that sets
/// them is a problem naming the key and where it came from.
fn check_machine_only(
    r: &mut Reporter<'_>,
    machine: &std::path::Path,
    ui: Option<&crate::model::UiConfig>,
    idle_bound: Option<u32>,
) {
    let mut leaves: Vec<String> = MACHINE_ONLY.iter().flat_map(|k| r.leaves(k)).collect();
    leaves.sort();
    leaves.dedup();
    for leaf in leaves {
        if !r.is_machine_or_default(&leaf) {
            r.report(
                &leaf,
                None,
                format!(
                    "this setting belongs to the machine: with a machine-wide file ({}) it can only be set there, not in a per-user file or an environment variable",
                    machine.display()
                ),
            );
        }
    }
    if let (Some(ui), Some(bound)) = (ui, idle_bound)
        && ui.idle_clear_seconds > bound
        && !r.is_machine_or_default("ui.idle_clear_seconds")
    {
        r.report(
            "ui.idle_clear_seconds",
            Some(ui.idle_clear_seconds.to_string()),
            format!(
                "at most {bound} seconds here: the machine-wide file ({}) sets the upper bound; a shorter time is allowed",
                machine.display()
            ),
        );
    }
}

fn check_log(r: &mut Reporter<'_>, log: &crate::model::LogConfig) {
    if let Some(dir) = &log.directory
        && !dir.is_absolute()
    {
        r.report(
            "log.directory",
            Some(format!("{:?}", dir.display().to_string())),
            "expected an absolute directory path",
        );
    }
    if !(1..=3650).contains(&log.keep_days) {
        r.report(
            "log.keep_days",
            Some(log.keep_days.to_string()),
            "expected 1 to 3650 days of daily log files",
        );
    }
    if log.journald && !cfg!(target_os = "linux") {
        r.report(
            "log.journald",
            Some("true".into()),
            "the system journal (systemd-journald) exists on Linux only",
        );
    }
}

fn check_d1(r: &mut Reporter<'_>, env: Environment, d1: &D1Config) {
    let needs_keys = env != Environment::Training;
    match &d1.issuer_id {
        Some(id) if id.chars().count() != 10 || !is_ident(id, 10) => r.report(
            "d1.issuer_id",
            q(id),
            "expected exactly 10 characters among A-Z a-z 0-9 _ - (the issuerId given at D1 onboarding)",
        ),
        None if needs_keys => r.report(
            "d1.issuer_id",
            None,
            format!("required for environment = {env} (the issuerId given at D1 onboarding)"),
        ),
        _ => {}
    }
    match &d1.signing_kid {
        Some(kid)
            if kid.is_empty()
                || kid.len() > 128
                || !kid.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            r.report(
                "d1.signing_kid",
                q(kid),
                "expected 1 to 128 printable characters without spaces (the kid of your signing key registered at D1)",
            )
        }
        None if needs_keys => r.report(
            "d1.signing_kid",
            None,
            format!("required for environment = {env} (the kid of your ES256 signing key registered at D1)"),
        ),
        _ => {}
    }
    match &d1.encryption_key {
        Some(key) => {
            if let Err(message) = check_encryption_key(key) {
                // The value is never echoed: it could be a private key pasted by mistake.
                r.report("d1.encryption_key", None, message);
            }
        }
        None if needs_keys => r.report(
            "d1.encryption_key",
            None,
            format!("required for environment = {env} (D1's P-256 public encryption key as a JWK, with its kid)"),
        ),
        None => {}
    }

    for (key, url) in [
        ("d1.auth_base_url", &d1.auth_base_url),
        ("d1.banking_base_url", &d1.banking_base_url),
    ] {
        match (env, url) {
            (Environment::Custom, Some(url)) => {
                if let Err(message) = check_url(url) {
                    r.report(key, q(url), message);
                }
            }
            (Environment::Custom, None) => r.report(key, None, "required for environment = custom"),
            (_, Some(url)) => r.report(
                key,
                q(url),
                format!(
                    "only used with environment = custom; {env} uses {}",
                    if env == Environment::Training {
                        "the built-in sandbox"
                    } else {
                        "D1's published URLs"
                    }
                ),
            ),
            (_, None) => {}
        }
    }
    if let Some(path) = &d1.extra_ca_bundle {
        let shown = Some(format!("{:?}", path.display().to_string()));
        if env != Environment::Custom {
            r.report(
                "d1.extra_ca_bundle",
                shown,
                "only used with environment = custom",
            );
        } else {
            match std::fs::read(path) {
                Err(e) => r.report(
                    "d1.extra_ca_bundle",
                    shown,
                    format!("cannot read the file: {e}"),
                ),
                Ok(bytes) => match openssl::x509::X509::stack_from_pem(&bytes) {
                    Ok(certs) if !certs.is_empty() => {}
                    _ => r.report(
                        "d1.extra_ca_bundle",
                        shown,
                        "expected a PEM file of one or more CA certificates (-----BEGIN CERTIFICATE-----)",
                    ),
                },
            }
        }
    }
    if let Some(aud) = &d1.assertion_audience
        && (aud.is_empty() || aud.len() > 256 || aud.chars().any(|c| c.is_control() || c == ' '))
    {
        r.report(
            "d1.assertion_audience",
            q(aud),
            "expected 1 to 256 printable characters without spaces (the aud claim D1 expects, e.g. its token URL)",
        );
    }
    if !(30..=900).contains(&d1.assertion_lifetime_seconds) {
        r.report(
            "d1.assertion_lifetime_seconds",
            Some(d1.assertion_lifetime_seconds.to_string()),
            "expected 30 to 900 seconds (D1 accepts assertions that expire within 15 minutes)",
        );
    }
    if !(1..=120).contains(&d1.timeouts.connect_seconds) {
        r.report(
            "d1.timeouts.connect_seconds",
            Some(d1.timeouts.connect_seconds.to_string()),
            "expected 1 to 120 seconds",
        );
    }
    if !(1..=600).contains(&d1.timeouts.read_seconds) {
        r.report(
            "d1.timeouts.read_seconds",
            Some(d1.timeouts.read_seconds.to_string()),
            "expected 1 to 600 seconds",
        );
    }
}

/// D1's encryption key must be an EC P-256 *public* JWK with a kid.
pub(crate) fn check_encryption_key(key: &EncryptionKey) -> Result<(), String> {
    let jwk = key.jwk();
    let text = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    if jwk.contains_key("d") {
        return Err("this JWK contains a private key (member \"d\"): configure D1's PUBLIC encryption key only, and remove this private key from the file".into());
    }
    if text("kty") != Some("EC") {
        return Err("expected an EC key (\"kty\": \"EC\")".into());
    }
    if text("crv") != Some("P-256") {
        return Err("expected a P-256 key (\"crv\": \"P-256\")".into());
    }
    match text("kid") {
        Some(kid) if !kid.is_empty() => {}
        _ => return Err("the JWK needs its \"kid\" (D1 uses it to pick the key)".into()),
    }
    if let Some(u) = text("use")
        && u != "enc"
    {
        return Err(format!("\"use\" is {u:?}: expected \"enc\""));
    }
    if text("x").is_none() || text("y").is_none() {
        return Err("the JWK needs the public point (\"x\" and \"y\")".into());
    }
    let parsed = josekit::jwk::Jwk::from_map(jwk.clone())
        .map_err(|_| "the JWK is not a valid key".to_string())?;
    josekit::jwe::ECDH_ES
        .encrypter_from_jwk(&parsed)
        .map_err(|_| {
            "the JWK is not a valid P-256 public key (\"x\"/\"y\" are not a point on the curve)"
                .to_string()
        })?;
    Ok(())
}

fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a valid URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL must not contain credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected a base URL without ?query or #fragment".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                None => false,
            };
            if loopback && crate::dev_hooks::ENABLED {
                Ok(())
            } else if loopback {
                Err("expected https:// (plain http:// to this machine is accepted by development builds only)".into())
            } else {
                Err("expected https:// (plain http:// is only allowed to this machine, localhost, 127.0.0.1, ::1, in development builds)".into())
            }
        }
        other => Err(format!("expected https://, not {other}://")),
    }
}

fn check_ids(r: &mut Reporter<'_>, key: &str, ids: &[String]) {
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !is_ident(id, 64) {
            r.report(&format!("{key}[{i}]"), q(id), IDENT64);
        } else if !seen.insert(id.as_str()) {
            r.report(&format!("{key}[{i}]"), q(id), "listed twice");
        }
    }
}

/// Image identifiers as D1's schema allows them (1–64 of `A-Z a-z 0-9 _ . - \\ / % ^ ? =`).
fn check_images(r: &mut Reporter<'_>, key: &str, ids: &[String]) {
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let ok = (1..=64).contains(&id.len())
            && id.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'_' | b'.' | b'-' | b'\\' | b'/' | b'%' | b'^' | b'?' | b'='
                    )
            });
        if !ok {
            r.report(
                &format!("{key}[{i}]"),
                q(id),
                "must be 1 to 64 characters among A-Z a-z 0-9 _ . - \\ / % ^ ? =",
            );
        } else if !seen.insert(id.as_str()) {
            r.report(&format!("{key}[{i}]"), q(id), "listed twice");
        }
    }
}

fn check_services(r: &mut Reporter<'_>, s: &Services) {
    if s.issuance.is_empty() {
        r.report(
            "services.issuance",
            None,
            "at least one issuance type is required (e.g. CREATION)",
        );
    }
    check_ids(r, "services.issuance", &s.issuance);
    check_ids(r, "services.priorities", &s.priorities);
    check_ids(r, "services.delivery", &s.delivery);
    check_ids(r, "services.packaging", &s.packaging);
    check_ids(r, "services.card_carrier", &s.card_carrier);
    check_images(r, "services.design_images", &s.design_images);
    check_images(r, "services.carrier_images", &s.carrier_images);
    if let Some(default) = &s.default_priority
        && !s.priorities.contains(default)
    {
        r.report(
            "services.default_priority",
            q(default),
            "must be one of services.priorities",
        );
    }
}

fn check_products(
    r: &mut Reporter<'_>,
    env: Option<Environment>,
    products: &[(usize, Product)],
    from_defaults: bool,
    services: Option<&Services>,
) {
    if from_defaults && env.is_some_and(|e| e != Environment::Training) {
        r.report(
            "products",
            None,
            "the demo products are for training only: configure your [[products]] in the machine-wide file",
        );
    }
    if products.is_empty() && !r.problems.iter().any(|p| p.key.starts_with("products[")) {
        r.report(
            "products",
            None,
            "at least one [[products]] entry is required",
        );
    }
    let mut ids = HashSet::new();
    for (i, p) in products {
        let k = |field: &str| format!("products[{i}].{field}");
        if !is_ident(&p.id, 48) {
            r.report(
                &k("id"),
                q(&p.id),
                "expected 1 to 48 characters among A-Z a-z 0-9 _ - (the cardProductId)",
            );
        } else if !ids.insert(p.id.as_str()) {
            r.report(&k("id"), q(&p.id), "another product has the same id");
        }
        if !is_label(&p.display_name) {
            r.report(
                &k("display_name"),
                q(&p.display_name),
                "expected 1 to 64 characters, no control characters",
            );
        }
        if let Some(es) = &p.display_name_es
            && !is_label(es)
        {
            r.report(
                &k("display_name_es"),
                q(es),
                "expected 1 to 64 characters, no control characters",
            );
        }
        let pa = &p.payment_application;
        if !is_ident(&pa.config, 64) {
            r.report(&k("payment_application.config"), q(&pa.config), IDENT64);
        }
        for (name, value) in [
            ("oda_key_index", &pa.oda_key_index),
            ("derivation_key_index", &pa.derivation_key_index),
            ("pv_key_index", &pa.pv_key_index),
            ("cv_key_index", &pa.cv_key_index),
        ] {
            if let Some(v) = value
                && !is_key_index(v)
            {
                r.report(
                    &k(&format!("payment_application.{name}")),
                    q(v),
                    "expected two upper-case hexadecimal digits (00 to FF), written as a string",
                );
            }
        }
        if let Some(services) = services {
            for (j, t) in p.issuance_types.iter().enumerate() {
                if !services.issuance.contains(t) {
                    r.report(
                        &k(&format!("issuance_types[{j}]")),
                        q(t),
                        format!(
                            "not a configured issuance type; services.issuance has: {}",
                            services.issuance.join(", ")
                        ),
                    );
                }
            }
        }
        if p.pan_lengths.is_empty() {
            r.report(
                &k("pan_lengths"),
                None,
                "at least one PAN length is required",
            );
        }
        for (j, len) in p.pan_lengths.iter().enumerate() {
            if !(12..=19).contains(len) {
                r.report(
                    &k(&format!("pan_lengths[{j}]")),
                    Some(len.to_string()),
                    "a PAN has 12 to 19 digits",
                );
            }
        }
        let shortest_pan = p
            .pan_lengths
            .iter()
            .copied()
            .filter(|l| (12..=19).contains(l))
            .min();
        if p.bin_ranges.is_empty() {
            r.report(&k("bin_ranges"), None, "at least one BIN range is required");
        }
        // Each range was checked as it was read (digits, equal lengths, `from` <= `to`).
        for (j, range) in p.bin_ranges.iter().enumerate() {
            if let Some(shortest) = shortest_pan
                && u32::from(range.prefix_len) >= shortest
            {
                r.report(
                    &k(&format!("bin_ranges[{j}].from")),
                    q(&range.from_prefix()),
                    format!("a BIN must be shorter than the shortest PAN length ({shortest})"),
                );
            }
        }
        if !(2..=26).contains(&p.name_max_length) {
            r.report(
                &k("name_max_length"),
                Some(p.name_max_length.to_string()),
                "expected 2 to 26 characters (the track 1 limit the encoded name is derived from)",
            );
        }
        let mut artworks = HashSet::new();
        for (j, a) in p.artworks.iter().enumerate() {
            if !is_ident(&a.id, 64) {
                r.report(&k(&format!("artworks[{j}].id")), q(&a.id), IDENT64);
            } else if !artworks.insert(a.id.as_str()) {
                r.report(&k(&format!("artworks[{j}].id")), q(&a.id), "listed twice");
            }
            if let Some(name) = &a.display_name
                && !is_label(name)
            {
                r.report(
                    &k(&format!("artworks[{j}].display_name")),
                    q(name),
                    "expected 1 to 64 characters, no control characters",
                );
            }
        }
    }
}

fn check_stations(
    r: &mut Reporter<'_>,
    env: Option<Environment>,
    stations: &[(usize, Station)],
    from_defaults: bool,
) {
    if from_defaults && env.is_some_and(|e| e != Environment::Training) {
        r.report(
            "stations",
            None,
            "the demo stations are for training only: configure your [[stations]] in the machine-wide file",
        );
    }
    if stations.is_empty() && !r.problems.iter().any(|p| p.key.starts_with("stations[")) {
        r.report(
            "stations",
            None,
            "at least one [[stations]] entry is required",
        );
    }
    let mut ids = HashSet::new();
    let mut defaults = 0;
    for (i, s) in stations {
        if !is_station_id(&s.id) {
            r.report(
                &format!("stations[{i}].id"),
                q(&s.id),
                "expected 1 to 64 printable ASCII characters, no leading or trailing space (the persoStation registered at D1)",
            );
        } else if !ids.insert(s.id.as_str()) {
            r.report(
                &format!("stations[{i}].id"),
                q(&s.id),
                "another station has the same id",
            );
        }
        if !is_label(&s.name) {
            r.report(
                &format!("stations[{i}].name"),
                q(&s.name),
                "expected 1 to 64 characters, no control characters",
            );
        }
        if s.default {
            defaults += 1;
            if defaults > 1 {
                r.report(
                    &format!("stations[{i}].default"),
                    Some("true".into()),
                    "only one station can be the default",
                );
            }
        }
    }
}
