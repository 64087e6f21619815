//! Breaks every field of `cardRequestInstant` in turn (every property, every array item kind,
//! boundary lengths, one character outside each class) and checks the answer: status,
//! errorCode and the field path. Valid boundaries are checked too (202, or a later business
//! rule proving the schema let the value through).
#![allow(clippy::unwrap_used, clippy::too_many_arguments)]

mod common;

use common::*;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Accepted,
    Error(u16, &'static str, String),
}

fn format(field: &str) -> Expect {
    Expect::Error(400, "FIELD_INVALID_FORMAT", field.to_owned())
}

fn value(field: &str) -> Expect {
    Expect::Error(400, "FIELD_INVALID_VALUE", field.to_owned())
}

/// Sets (or with `None` removes) the value at a `/`-separated path, creating objects.
fn set(body: &mut Value, path: &str, v: Option<Value>) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut cur = body;
    for p in &parts[..parts.len() - 1] {
        if !cur.get(*p).is_some_and(Value::is_object) {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    let last = parts[parts.len() - 1];
    match v {
        Some(v) => cur[last] = v,
        None => {
            cur.as_object_mut().unwrap().remove(last);
        }
    }
}

fn s(n: usize, c: char) -> Value {
    json!(c.to_string().repeat(n))
}

/// Cases for one array of strings: count limit and item pattern probes.
fn array_cases(
    cases: &mut Vec<(String, Option<Value>, Expect)>,
    path: &str,
    field: &str,
    max_items: usize,
    ok_item: &str,
    max_len: usize,
    ok_chars: &[&str],
    bad_chars: &[&str],
) {
    let item = |v: Value| Some(json!([ok_item, v]));
    cases.push((path.into(), Some(json!([])), Expect::Accepted));
    cases.push((
        path.into(),
        Some(json!(vec![ok_item; max_items])),
        Expect::Accepted,
    ));
    cases.push((
        path.into(),
        Some(json!(vec![ok_item; max_items + 1])),
        format(field),
    ));
    cases.push((path.into(), Some(json!(ok_item)), format(field)));
    cases.push((path.into(), item(json!("")), Expect::Accepted));
    cases.push((path.into(), item(s(max_len, 'A')), Expect::Accepted));
    cases.push((
        path.into(),
        item(s(max_len + 1, 'A')),
        format(&format!("{field}[1]")),
    ));
    cases.push((path.into(), item(json!(7)), format(&format!("{field}[1]"))));
    for c in ok_chars {
        cases.push((path.into(), item(json!(format!("A{c}1"))), Expect::Accepted));
    }
    for c in bad_chars {
        cases.push((
            path.into(),
            item(json!(format!("A{c}1"))),
            format(&format!("{field}[1]")),
        ));
    }
}

/// Cases for a string with a pattern and length bounds.
fn string_cases(
    cases: &mut Vec<(String, Option<Value>, Expect)>,
    path: &str,
    field: &str,
    min: usize,
    max: usize,
    filler: char,
    valid_outcome: Expect,
    ok_chars: &[&str],
    bad_chars: &[&str],
) {
    if min > 0 {
        cases.push((path.into(), Some(s(min - 1, filler)), format(field)));
    }
    cases.push((
        path.into(),
        Some(s(min.max(1), filler)),
        valid_outcome.clone(),
    ));
    cases.push((path.into(), Some(s(max, filler)), valid_outcome.clone()));
    cases.push((path.into(), Some(s(max + 1, filler)), format(field)));
    cases.push((path.into(), Some(json!(12)), format(field)));
    cases.push((path.into(), Some(json!(null)), format(field)));
    for c in ok_chars {
        cases.push((
            path.into(),
            Some(json!(format!("A{c}"))),
            valid_outcome.clone(),
        ));
    }
    for c in bad_chars {
        cases.push((path.into(), Some(json!(format!("A{c}"))), format(field)));
    }
}

fn all_cases() -> Vec<(String, Option<Value>, Expect)> {
    let mut c: Vec<(String, Option<Value>, Expect)> = Vec::new();
    let id_bad = &[" ", ".", "/", "é", "+"][..];
    let id_ok = &["_", "-", "9"][..];

    // Required properties (distributionChannel is the discriminator: tested in endpoints.rs).
    for (path, field) in [
        ("/persoStation", "persoStation"),
        ("/services", "services"),
        ("/services/issuance", "services.issuance"),
        ("/encryptedData", "encryptedData"),
        ("/paymentApplication", "paymentApplication"),
        ("/paymentApplication/config", "paymentApplication.config"),
    ] {
        c.push((path.into(), None, format(field)));
    }

    string_cases(
        &mut c,
        "/consumerId",
        "consumerId",
        1,
        64,
        'c',
        Expect::Accepted,
        id_ok,
        id_bad,
    );
    string_cases(
        &mut c,
        "/cardProductId",
        "cardProductId",
        1,
        48,
        'P',
        value("cardProductId"),
        id_ok,
        id_bad,
    );
    // persoStation: a string, nothing more in the schema; an unknown one is a business error.
    c.push((
        "/persoStation".into(),
        Some(json!(5)),
        format("persoStation"),
    ));
    c.push((
        "/persoStation".into(),
        Some(json!("")),
        value("persoStation"),
    ));
    c.push((
        "/persoStation".into(),
        Some(json!("any thing é")),
        value("persoStation"),
    ));
    c.push((
        "/encryptedData".into(),
        Some(json!(5)),
        format("encryptedData"),
    ));

    // services: no "type" in the document, so a non-object passes the schema as written and is
    // caught by the business rules.
    c.push((
        "/services".into(),
        Some(json!("CREATION")),
        value("services.issuance"),
    ));
    string_cases(
        &mut c,
        "/services/issuance",
        "services.issuance",
        1,
        64,
        'I',
        value("services.issuance"),
        id_ok,
        id_bad,
    );
    for (name, field) in [
        ("priority", "services.priority"),
        ("delivery", "services.delivery"),
        ("packaging", "services.packaging"),
        ("cardCarrier", "services.cardCarrier"),
    ] {
        string_cases(
            &mut c,
            &format!("/services/{name}"),
            field,
            1,
            64,
            'X',
            value(field),
            id_ok,
            id_bad,
        );
    }
    for (name, field) in [
        ("pinMailer", "services.pinMailer"),
        ("alphaCard", "services.alphaCard"),
    ] {
        c.push((
            format!("/services/{name}"),
            Some(json!(true)),
            Expect::Accepted,
        ));
        c.push((
            format!("/services/{name}"),
            Some(json!(false)),
            Expect::Accepted,
        ));
        c.push((
            format!("/services/{name}"),
            Some(json!("true")),
            format(field),
        ));
        c.push((format!("/services/{name}"), Some(json!(1)), format(field)));
    }

    // cardDesign
    c.push(("/cardDesign".into(), Some(json!("x")), format("cardDesign")));
    c.push(("/cardDesign".into(), Some(json!({})), Expect::Accepted));
    // images: `.-\\` inside the class is a RANGE (0x2E..0x5C): '[' and '@' are in, '-' is not.
    let image_ok = &["_", ".", "/", "\\", "%", "^", "?", "=", "[", "@", ":", "<"][..];
    let image_bad = &["-", "]", " ", "*", "é", "~", "{"][..];
    array_cases(
        &mut c,
        "/cardDesign/images",
        "cardDesign.images",
        5,
        "img_1",
        64,
        image_ok,
        image_bad,
    );
    // customLines: `\/-?` is a RANGE (0x2F..0x3F): '<' and '>' are in, '-' is not;
    // \p{L} and \p{N} are Unicode classes, \p{M} (combining marks) is not in this class.
    let line_ok = &[
        "@", " ", ",", ".", "'", "_", "#", ";", ":", "/", "?", "=", "%", "\\", "^", "+", "&", "<",
        ">", "É", "ß", "Ж", "٣", "漢",
    ][..];
    let line_bad = &[
        "-",
        "*",
        "!",
        "\"",
        "$",
        "(",
        ")",
        "[",
        "~",
        "\u{0301}",
        "\u{1F600}",
        "\t",
    ][..];
    array_cases(
        &mut c,
        "/cardDesign/customLines",
        "cardDesign.customLines",
        10,
        "Line 1",
        256,
        line_ok,
        line_bad,
    );
    string_cases(
        &mut c,
        "/cardDesign/cardImage",
        "cardDesign.cardImage",
        0,
        48,
        'i',
        Expect::Accepted,
        &["_", "-", "\\", "/", ".", "^"],
        &[" ", "%", "?", "é", ":"],
    );
    string_cases(
        &mut c,
        "/cardDesign/artworkId",
        "cardDesign.artworkId",
        1,
        64,
        'a',
        Expect::Accepted,
        id_ok,
        id_bad,
    );
    string_cases(
        &mut c,
        "/cardDesign/memberId",
        "cardDesign.memberId",
        1,
        48,
        'm',
        Expect::Accepted,
        &["_", "\\", "/", ".", "-"],
        &[" ", "%", "^", "é", ":"],
    );

    // paymentApplication
    c.push((
        "/paymentApplication".into(),
        Some(json!("VIS_163")),
        format("paymentApplication"),
    ));
    string_cases(
        &mut c,
        "/paymentApplication/config",
        "paymentApplication.config",
        1,
        64,
        'C',
        value("paymentApplication.config"),
        id_ok,
        id_bad,
    );
    for name in [
        "odaKeyIndex",
        "derivationKeyIndex",
        "pvKeyIndex",
        "cvKeyIndex",
    ] {
        let path = format!("/paymentApplication/{name}");
        let field = format!("paymentApplication.{name}");
        for ok in ["00", "A9", "FF"] {
            c.push((path.clone(), Some(json!(ok)), Expect::Accepted));
        }
        for bad in [
            json!("0"),
            json!("000"),
            json!("0a"),
            json!("G0"),
            json!(""),
            json!(10),
        ] {
            c.push((path.clone(), Some(bad), format(&field)));
        }
    }

    // cardCarrierConfig
    c.push((
        "/cardCarrierConfig".into(),
        Some(json!([])),
        format("cardCarrierConfig"),
    ));
    c.push((
        "/cardCarrierConfig/language".into(),
        Some(json!("EN")),
        Expect::Accepted,
    ));
    for bad in [json!("E"), json!("ENG"), json!("en"), json!("É1"), json!(1)] {
        c.push((
            "/cardCarrierConfig/language".into(),
            Some(bad),
            format("cardCarrierConfig.language"),
        ));
    }
    array_cases(
        &mut c,
        "/cardCarrierConfig/images",
        "cardCarrierConfig.images",
        5,
        "img_1",
        64,
        image_ok,
        image_bad,
    );
    array_cases(
        &mut c,
        "/cardCarrierConfig/customLines",
        "cardCarrierConfig.customLines",
        10,
        "Line 1",
        256,
        line_ok,
        line_bad,
    );
    string_cases(
        &mut c,
        "/cardCarrierConfig/multiCardId",
        "cardCarrierConfig.multiCardId",
        1,
        48,
        'M',
        Expect::Accepted,
        id_ok,
        id_bad,
    );
    for ok in ["0", "7", "99"] {
        c.push((
            "/cardCarrierConfig/multiCardOrder".into(),
            Some(json!(ok)),
            Expect::Accepted,
        ));
    }
    for bad in [json!(""), json!("100"), json!("a"), json!("1a"), json!(1)] {
        c.push((
            "/cardCarrierConfig/multiCardOrder".into(),
            Some(bad),
            format("cardCarrierConfig.multiCardOrder"),
        ));
    }

    // Deprecated but still in the schema.
    c.push(("/state".into(), Some(json!("ACTIVE")), Expect::Accepted));
    c.push(("/state".into(), Some(json!("SUSPENDED")), Expect::Accepted));
    c.push(("/state".into(), Some(json!("active")), format("state")));
    c.push(("/state".into(), Some(json!("BLOCKED")), format("state")));
    string_cases(
        &mut c,
        "/oldCardId",
        "oldCardId",
        1,
        48,
        'o',
        Expect::Accepted,
        id_ok,
        id_bad,
    );

    // issuerRequestId: not in cardRequestInstant, checked with cardRequestThales' pattern.
    string_cases(
        &mut c,
        "/issuerRequestId",
        "issuerRequestId",
        1,
        64,
        'r',
        Expect::Accepted,
        id_ok,
        id_bad,
    );
    c
}

#[tokio::test]
async fn every_field_of_card_request_instant_broken_in_turn() {
    let env = Env::start().await;
    let token = env.token().await;
    let cases = all_cases();
    assert!(cases.len() > 300, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (path, v, expected) in &cases {
        let mut b = body(&env.keys);
        set(&mut b, path, v.clone());
        let r = env.order(&token, &card_id(), &b).await;
        let got = if r.status == 202 {
            Expect::Accepted
        } else {
            match r.code() {
                Some(code) => Expect::Error(
                    r.status,
                    match code {
                        "FIELD_INVALID_FORMAT" => "FIELD_INVALID_FORMAT",
                        "FIELD_INVALID_VALUE" => "FIELD_INVALID_VALUE",
                        other => Box::leak(other.to_owned().into_boxed_str()),
                    },
                    r.error().unwrap_or_default().to_owned(),
                ),
                None => Expect::Error(r.status, "-", r.error().unwrap_or_default().to_owned()),
            }
        };
        if &got != expected {
            failures.push(format!(
                "{path} = {v:?}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_first_field_in_error_is_reported_deterministically() {
    let env = Env::start().await;
    let token = env.token().await;
    let mut b = body(&env.keys);
    set(&mut b, "/services/priority", Some(json!("a b")));
    set(
        &mut b,
        "/cardDesign/customLines",
        Some(json!(["ok", "ok", "ok", "bad*", "bad*"])),
    );
    set(&mut b, "/cardCarrierConfig/language", Some(json!("en")));
    for _ in 0..5 {
        let r = env.order(&token, &card_id(), &b).await;
        assert_eq!(
            r.triple(),
            (
                400,
                Some("FIELD_INVALID_FORMAT"),
                Some("cardCarrierConfig.language")
            )
        );
    }
    set(&mut b, "/cardCarrierConfig/language", Some(json!("EN")));
    let r = env.order(&token, &card_id(), &b).await;
    assert_eq!(r.error(), Some("cardDesign.customLines[3]"));
}
