//! Token, order and productionStatus endpoints over real HTTP.
#![allow(clippy::unwrap_used, clippy::too_many_arguments)]

mod common;

use common::*;
use d1_sandbox::testkit::TestKeys;
use d1_sandbox::{ExpFormat, IssuerConfig, ProductionClock};
use serde_json::{Value, json};

// ---------- token ----------

#[tokio::test]
async fn token_form_and_json_bodies_both_work() {
    let env = Env::start_with(|c| {
        let mut c = c;
        c.token_lifetime_secs = 600;
        c
    })
    .await;
    let a = assertion(&env.keys);
    let r = env
        .token_reply(&[("grant_type", GRANT), ("assertion", &a)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 600);
    assert_eq!(r.body["scope"], "banking");
    assert!(r.body["access_token"].as_str().unwrap().len() >= 32);

    let r = reply(
        env.http
            .post(format!("{}/oauth2/token", env.sandbox.auth_base_url()))
            .json(&json!({"grant_type": GRANT, "assertion": assertion(&env.keys)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(env.sandbox.control().tokens_issued(), 2);
    // Two tokens are distinct and both usable.
    assert_ne!(r.body["access_token"], Value::Null);
}

#[tokio::test]
async fn token_request_field_errors() {
    let env = Env::start().await;
    let a = assertion(&env.keys);
    let r = env.token_reply(&[("assertion", &a)]).await;
    assert_eq!(
        r.triple(),
        (400, Some("FIELD_INVALID_FORMAT"), Some("grant_type"))
    );
    let r = env
        .token_reply(&[("grant_type", "client_credentials"), ("assertion", &a)])
        .await;
    assert_eq!(
        r.triple(),
        (400, Some("FIELD_INVALID_VALUE"), Some("grant_type"))
    );
    let r = env.token_reply(&[("grant_type", GRANT)]).await;
    assert_eq!(
        r.triple(),
        (400, Some("FIELD_INVALID_FORMAT"), Some("assertion"))
    );
    let r = reply(
        env.http
            .post(format!("{}/oauth2/token", env.sandbox.auth_base_url()))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), None);
    assert_eq!(env.sandbox.control().tokens_issued(), 0);
}

async fn token_error(env: &Env, assertion: &str) -> (u16, Option<String>, String) {
    let r = env
        .token_reply(&[("grant_type", GRANT), ("assertion", assertion)])
        .await;
    (
        r.status,
        r.code().map(str::to_owned),
        r.error().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn token_rejects_every_bad_assertion() {
    let env = Env::start().await;
    let keys = &env.keys;
    let other = TestKeys::generate();
    let t = now();
    let cases: Vec<(&str, String, &str)> = vec![
        ("garbage", "not-a-jwt".to_owned(), "not a signed JWT"),
        (
            "no kid",
            sign(
                &keys.signing_private_jwk,
                &Claims {
                    kid: None,
                    ..Claims::valid(keys)
                },
            ),
            "no kid",
        ),
        (
            "unknown kid",
            sign(
                &other.signing_private_jwk,
                &Claims {
                    kid: Some(other.signing_kid.clone()),
                    ..Claims::valid(keys)
                },
            ),
            "kid",
        ),
        (
            "signed by another key under our kid",
            sign(&other.signing_private_jwk, &Claims::valid(keys)),
            "signature",
        ),
        (
            "iss is another issuer",
            sign(
                &keys.signing_private_jwk,
                &Claims {
                    iss: Some("OTHERISSUE".into()),
                    ..Claims::valid(keys)
                },
            ),
            "iss",
        ),
        (
            "sub differs from iss",
            sign(
                &keys.signing_private_jwk,
                &Claims {
                    sub: Some("someone".into()),
                    ..Claims::valid(keys)
                },
            ),
            "sub",
        ),
        (
            "no exp",
            sign(
                &keys.signing_private_jwk,
                &Claims {
                    exp: None,
                    ..Claims::valid(keys)
                },
            ),
            "exp",
        ),
        (
            "exp in the past",
            sign(
                &keys.signing_private_jwk,
                &Claims {
                    exp: Some(t - 120),
                    ..Claims::valid(keys)
                },
            ),
            "expired",
        ),
        (
            "exp beyond now + 15 min",
            sign(
                &keys.signing_private_jwk,
                &Claims {
                    exp: Some(t + 15 * 60 + 120),
                    ..Claims::valid(keys)
                },
            ),
            "15 minutes",
        ),
    ];
    for (label, a, needle) in cases {
        let (status, code, error) = token_error(&env, &a).await;
        assert_eq!(status, 401, "{label}: {error}");
        assert_eq!(code.as_deref(), Some("AUTHORIZER_UNAUTHORIZED"), "{label}");
        assert!(error.contains(needle), "{label}: {error}");
    }
    // HS256 (alg confusion) with our kid is refused too.
    let hs = josekit::jws::HS256
        .signer_from_bytes(b"0123456789abcdef0123456789abcdef")
        .unwrap();
    let mut header = josekit::jws::JwsHeader::new();
    header.set_key_id(&keys.signing_kid);
    let mut p = josekit::jwt::JwtPayload::new();
    p.set_issuer(&keys.issuer_id);
    p.set_subject(&keys.issuer_id);
    p.set_claim("exp", Some(json!(t + 60))).unwrap();
    let a = josekit::jwt::encode_with_signer(&p, &header, &hs).unwrap();
    assert_eq!(token_error(&env, &a).await.0, 401);
    assert_eq!(env.sandbox.control().tokens_issued(), 0);
}

#[tokio::test]
async fn token_boundaries_exp_just_inside_15_minutes_and_small_skew_accepted() {
    let env = Env::start().await;
    let keys = &env.keys;
    for exp in [now() + 15 * 60, now() - 5] {
        let a = sign(
            &keys.signing_private_jwk,
            &Claims {
                exp: Some(exp),
                ..Claims::valid(keys)
            },
        );
        let r = env
            .token_reply(&[("grant_type", GRANT), ("assertion", &a)])
            .await;
        assert_eq!(r.status, 200, "exp offset {}: {:?}", exp - now(), r.body);
    }
}

// ---------- order: auth, path, issuer ----------

#[tokio::test]
async fn order_accepted_then_status_advances_on_stepped_clock() {
    let env = Env::start().await;
    let token = env.token().await;
    let card = card_id();
    let body = body(&env.keys);
    let r = env.order(&token, &card, &body).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let op_id = r.body["operationId"].as_str().unwrap().to_owned();
    assert!(!op_id.is_empty() && op_id.len() <= 64);
    assert_eq!(env.sandbox.control().orders_accepted(), 1);

    let s = env.status(&token, &card).await;
    assert_eq!(s.status, 200);
    let op = &s.body["operations"][0];
    assert_eq!(op["operationId"], op_id.as_str());
    assert_eq!(op["operation"], "PRODUCE");
    assert_eq!(op["status"], "PENDING");
    assert_eq!(op["cardId"], card.as_str());
    assert_eq!(op["issuerRequestId"], body["issuerRequestId"]);
    assert_eq!(op["details"]["status"], "CARD_PROD_REQUESTED");
    assert!(op.get("endTime").is_none());
    assert!(op["startTime"].as_str().unwrap().ends_with('Z'));
    // Only what D1 shows: no card data, no station secrets.
    let keys: Vec<&str> = op.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys.iter()
            .filter(|k| ![
                "operationId",
                "operation",
                "status",
                "startTime",
                "cardId",
                "details",
                "issuerRequestId"
            ]
            .contains(k))
            .count(),
        0,
        "{keys:?}"
    );

    env.sandbox.control().advance_production();
    assert_eq!(
        env.detail(&token, &card).await,
        ("PENDING".into(), "CARD_PROD_READY".into())
    );
    env.sandbox.control().advance_production();
    assert_eq!(
        env.detail(&token, &card).await,
        ("SUCCESSFUL".into(), "CARD_PROD_DONE".into())
    );
    let s = env.status(&token, &card).await;
    assert!(s.body["operations"][0]["endTime"].is_string());
}

#[tokio::test]
async fn instant_clock_finishes_at_once() {
    let env = Env::start_with(|c| c.with_clock(ProductionClock::Instant)).await;
    let token = env.token().await;
    let card = card_id();
    assert_eq!(env.order(&token, &card, &body(&env.keys)).await.status, 202);
    assert_eq!(
        env.detail(&token, &card).await,
        ("SUCCESSFUL".into(), "CARD_PROD_DONE".into())
    );
}

#[tokio::test]
async fn bearer_token_is_required_and_checked() {
    let env = Env::start().await;
    let card = card_id();
    let url = env.card_url(&env.keys.issuer_id, &card, "operations:production");
    let r = reply(
        env.http
            .post(&url)
            .json(&body(&env.keys))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.triple().0, 401);
    assert_eq!(r.code(), Some("AUTHORIZER_UNAUTHORIZED"));
    let r = env.order("made-up-token", &card, &body(&env.keys)).await;
    assert_eq!((r.status, r.code()), (401, Some("AUTHORIZER_UNAUTHORIZED")));
    let r = env.status("made-up-token", &card).await;
    assert_eq!((r.status, r.code()), (401, Some("AUTHORIZER_UNAUTHORIZED")));
    assert_eq!(env.sandbox.control().orders_accepted(), 0);
}

#[tokio::test]
async fn path_patterns_issuer_unknown_and_forbidden() {
    // A second issuer exists: a token for TRAINING01 must not reach it.
    let env = Env::start_with(|mut c| {
        c.issuers.push(IssuerConfig {
            issuer_id: "OTHERBANK1".into(),
            signing_keys: Default::default(),
        });
        c.production_clock = ProductionClock::Stepped;
        c
    })
    .await;
    let token = env.token().await;
    let b = body(&env.keys).to_string().into_bytes();
    let card = card_id();
    type Case<'a> = (&'a str, String, (u16, Option<&'a str>));
    let cases: Vec<Case> = vec![
        (
            "TRAINING0",
            card.clone(),
            (400, Some("FIELD_INVALID_FORMAT")),
        ),
        (
            "TRAINING012",
            card.clone(),
            (400, Some("FIELD_INVALID_FORMAT")),
        ),
        (
            "TRAINING01",
            "bad.card".into(),
            (400, Some("FIELD_INVALID_FORMAT")),
        ),
        (
            "TRAINING01",
            "x".repeat(49),
            (400, Some("FIELD_INVALID_FORMAT")),
        ),
        ("UNKNOWN001", card.clone(), (404, None)),
        (
            "OTHERBANK1",
            card.clone(),
            (403, Some("AUTHORIZER_FORBIDDEN")),
        ),
    ];
    for (issuer, card_id, expected) in cases {
        let r = env.order_raw(&token, issuer, &card_id, b.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            expected,
            "{issuer}/{card_id}: {:?}",
            r.body
        );
    }
    let r = env.order_raw(&token, "TRAINING0", &card, b.clone()).await;
    assert_eq!(r.error(), Some("issuerId"));
    let r = env
        .order_raw(&token, "TRAINING01", "bad.card", b.clone())
        .await;
    assert_eq!(r.error(), Some("cardId"));
    // Boundaries that are valid: cardId of 1 and of 48 characters.
    for id in ["a".to_owned(), "Z_-9".repeat(12)] {
        let r = env
            .order_raw(
                &token,
                "TRAINING01",
                &id,
                body(&env.keys).to_string().into_bytes(),
            )
            .await;
        assert_eq!(r.status, 202, "{id}: {:?}", r.body);
    }
}

#[tokio::test]
async fn body_must_be_json_object_and_instant() {
    let env = Env::start().await;
    let token = env.token().await;
    let issuer = env.keys.issuer_id.clone();
    for raw in [&b"not json"[..], b"[1,2]", b""] {
        let r = env
            .order_raw(&token, &issuer, &card_id(), raw.to_vec())
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.code(), None, "general error, no code");
    }
    for (channel, expected) in [
        (json!("THALES"), (403, Some("OPERATION_NOT_ALLOWED"))),
        (json!("CENTRAL"), (403, Some("OPERATION_NOT_ALLOWED"))),
        (json!("BRANCH"), (400, Some("FIELD_INVALID_FORMAT"))),
        (json!(1), (400, Some("FIELD_INVALID_FORMAT"))),
        (Value::Null, (400, Some("FIELD_INVALID_FORMAT"))),
    ] {
        let mut b = body(&env.keys);
        if channel.is_null() {
            b.as_object_mut().unwrap().remove("distributionChannel");
        } else {
            b["distributionChannel"] = channel.clone();
        }
        let r = env.order(&token, &card_id(), &b).await;
        assert_eq!((r.status, r.code()), expected, "{channel}");
        assert_eq!(r.error(), Some("distributionChannel"));
    }
}

// ---------- encrypted data ----------

#[tokio::test]
async fn crypto_and_parsing_errors() {
    let env = Env::start().await;
    let token = env.token().await;
    let other = TestKeys::generate();
    let plain = card(CANARY_PAN).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown kid",
            jwe_with(
                &other.encryption_public_jwk,
                &other.encryption_kid,
                "A256GCM",
                &plain,
            ),
            "CRYPTO_ERROR",
        ),
        (
            "our kid, other key",
            jwe_with(
                &other.encryption_public_jwk,
                &env.keys.encryption_kid,
                "A256GCM",
                &plain,
            ),
            "CRYPTO_ERROR",
        ),
        (
            "wrong enc",
            jwe_with(
                &env.keys.encryption_public_jwk,
                &env.keys.encryption_kid,
                "A128GCM",
                &plain,
            ),
            "CRYPTO_ERROR",
        ),
        (
            "not a JWE",
            "abc.def.ghi.jkl.mno".to_owned(),
            "CRYPTO_ERROR",
        ),
        (
            "plaintext not JSON",
            jwe(&env.keys, "pan=4000056655665556"),
            "PARSING_ERROR",
        ),
        (
            "plaintext JSON array",
            jwe(&env.keys, "[]"),
            "PARSING_ERROR",
        ),
    ];
    for (label, enc, code) in cases {
        let mut b = body(&env.keys);
        b["encryptedData"] = json!(enc);
        let r = env.order(&token, &card_id(), &b).await;
        assert_eq!((r.status, r.code()), (400, Some(code)), "{label}");
        assert_eq!(r.error(), Some("encryptedData"), "{label}");
    }
    // Tampered ciphertext.
    let mut b = body(&env.keys);
    let enc = b["encryptedData"].as_str().unwrap().to_owned();
    let mut parts: Vec<String> = enc.split('.').map(str::to_owned).collect();
    parts[3] = format!("A{}", &parts[3][1..]);
    if parts[3] == enc.split('.').nth(3).unwrap() {
        parts[3] = format!("B{}", &parts[3][1..]);
    }
    b["encryptedData"] = json!(parts.join("."));
    let r = env.order(&token, &card_id(), &b).await;
    assert_eq!(r.code(), Some("CRYPTO_ERROR"));
    assert_eq!(env.sandbox.control().orders_accepted(), 0);
}

#[tokio::test]
async fn card_data_rules_name_the_field() {
    let env = Env::start().await;
    let token = env.token().await;
    let exp = future_yymm();
    let past = {
        let y = time::OffsetDateTime::now_utc().year() - 1;
        format!("{:02}12", y % 100)
    };
    let cases: Vec<(&str, Value, (&str, &str))> = vec![
        (
            "Luhn fails",
            json!({"pan": "4000056655665557", "exp": exp, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pan"),
        ),
        (
            "letters in pan",
            json!({"pan": "40000566556655a6", "exp": exp, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pan"),
        ),
        (
            "11 digits",
            json!({"pan": "40000000006", "exp": exp, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pan"),
        ),
        (
            "Luhn-valid 19 digits but product length 16",
            json!({"pan": "4000000000000000006", "exp": exp, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pan"),
        ),
        (
            "BIN outside DEMO_DEBIT",
            json!({"pan": "5555555555554444", "exp": exp, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pan"),
        ),
        (
            "pan missing",
            json!({"exp": exp, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pan"),
        ),
        (
            "pan a number",
            json!({"pan": 4000056655665556u64, "exp": exp, "name": "A"}),
            ("PARSING_ERROR", "encryptedData.pan"),
        ),
        (
            "exp in the past",
            json!({"pan": CANARY_PAN, "exp": past, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.exp"),
        ),
        (
            "exp month 13",
            json!({"pan": CANARY_PAN, "exp": format!("{}13", &exp[..2]), "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.exp"),
        ),
        (
            "exp MMYY on a YYMM product",
            json!({"pan": CANARY_PAN, "exp": format!("12{}", &exp[..2]), "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.exp"),
        ),
        (
            "exp missing",
            json!({"pan": CANARY_PAN, "name": "A"}),
            ("FIELD_INVALID_VALUE", "encryptedData.exp"),
        ),
        (
            "name missing",
            json!({"pan": CANARY_PAN, "exp": exp}),
            ("FIELD_INVALID_VALUE", "encryptedData.name"),
        ),
        (
            "name blank",
            json!({"pan": CANARY_PAN, "exp": exp, "name": "  "}),
            ("FIELD_INVALID_VALUE", "encryptedData.name"),
        ),
        (
            "cvv2 letters",
            json!({"pan": CANARY_PAN, "exp": exp, "name": "A", "cvv2": "12a"}),
            ("FIELD_INVALID_VALUE", "encryptedData.cvv2"),
        ),
        (
            "pvv 3 digits",
            json!({"pan": CANARY_PAN, "exp": exp, "name": "A", "pvv": "123"}),
            ("FIELD_INVALID_VALUE", "encryptedData.pvv"),
        ),
        (
            "trackData not object",
            json!({"pan": CANARY_PAN, "exp": exp, "name": "A", "trackData": "x"}),
            ("PARSING_ERROR", "encryptedData.trackData"),
        ),
    ];
    for (label, card_data, (code, field)) in cases {
        let b = body_with(&env.keys, &card_data);
        let r = env.order(&token, &card_id(), &b).await;
        assert_eq!(r.triple(), (400, Some(code), Some(field)), "{label}");
    }
    // All optional fields, valid.
    let full = json!({"pan": CANARY_PAN, "exp": exp, "name": "ADA LOVELACE", "secondName": "ACME LTD",
        "encodedName": "LOVELACE/ADA", "cvv2": "123", "cvv1": "456", "pvv": "1234", "panSequenceNumber": "01",
        "effectiveDate": "2401", "paymentAccountReference": "V0010013018036776871785726071",
        "trackData": {"track1": "x", "track2": "y"}});
    let r = env
        .order(&token, &card_id(), &body_with(&env.keys, &full))
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(env.sandbox.control().orders_accepted(), 1);
}

#[tokio::test]
async fn mmyy_product_reads_exp_month_first() {
    let env = Env::start_with(|mut c| {
        c.products[0].exp_format = ExpFormat::Mmyy;
        c.production_clock = ProductionClock::Stepped;
        c
    })
    .await;
    let token = env.token().await;
    let yymm = future_yymm();
    let mmyy = format!("{}{}", &yymm[2..], &yymm[..2]);
    let ok = json!({"pan": CANARY_PAN, "exp": mmyy, "name": "A"});
    assert_eq!(
        env.order(&token, &card_id(), &body_with(&env.keys, &ok))
            .await
            .status,
        202
    );
    let bad = json!({"pan": CANARY_PAN, "exp": yymm, "name": "A"});
    let r = env
        .order(&token, &card_id(), &body_with(&env.keys, &bad))
        .await;
    assert_eq!(
        r.triple(),
        (400, Some("FIELD_INVALID_VALUE"), Some("encryptedData.exp"))
    );
}

// ---------- onboarding configuration ----------

#[tokio::test]
async fn configured_products_stations_services_and_payment_configs() {
    let env = Env::start_with(|mut c| {
        c.products[1].issuance = vec!["CREATION".into()];
        c.production_clock = ProductionClock::Stepped;
        c
    })
    .await;
    let token = env.token().await;
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, (u16, &str, &str))> = vec![
        (
            "unknown product",
            |b| b["cardProductId"] = json!("GOLD_CARD"),
            (400, "FIELD_INVALID_VALUE", "cardProductId"),
        ),
        (
            "unknown station",
            |b| b["persoStation"] = json!("BRANCH-PS-99"),
            (400, "FIELD_INVALID_VALUE", "persoStation"),
        ),
        (
            "unknown issuance",
            |b| b["services"]["issuance"] = json!("UPGRADE"),
            (400, "FIELD_INVALID_VALUE", "services.issuance"),
        ),
        (
            "unknown priority",
            |b| b["services"]["priority"] = json!("ASAP"),
            (400, "FIELD_INVALID_VALUE", "services.priority"),
        ),
        (
            "unknown delivery",
            |b| b["services"]["delivery"] = json!("COURIER"),
            (400, "FIELD_INVALID_VALUE", "services.delivery"),
        ),
        (
            "unknown packaging",
            |b| b["services"]["packaging"] = json!("BOX"),
            (400, "FIELD_INVALID_VALUE", "services.packaging"),
        ),
        (
            "unknown carrier",
            |b| b["services"]["cardCarrier"] = json!("LETTER"),
            (400, "FIELD_INVALID_VALUE", "services.cardCarrier"),
        ),
        (
            "config of the other product",
            |b| b["paymentApplication"]["config"] = json!("MCA_123"),
            (400, "FIELD_INVALID_VALUE", "paymentApplication.config"),
        ),
    ];
    for (label, edit, (status, code, field)) in cases {
        let mut b = body(&env.keys);
        edit(&mut b);
        let r = env.order(&token, &card_id(), &b).await;
        assert_eq!(r.triple(), (status, Some(code), Some(field)), "{label}");
    }
    // Known defaults for the central-only services are accepted.
    let mut b = body(&env.keys);
    b["services"] = json!({"issuance": "RENEWAL", "priority": "URGENT", "delivery": "NO_SHIPMENT", "packaging": "NO_PACK", "cardCarrier": "NO_CARRIER"});
    assert_eq!(env.order(&token, &card_id(), &b).await.status, 202);

    // DEMO_CREDIT allows only CREATION here: REPLACEMENT is 403.
    let credit = json!({"pan": "5555555555554444", "exp": future_yymm(), "name": "A"});
    let mut b = body_with(&env.keys, &credit);
    b["cardProductId"] = json!("DEMO_CREDIT");
    b["paymentApplication"]["config"] = json!("MCA_123");
    b["services"]["issuance"] = json!("REPLACEMENT");
    let r = env.order(&token, &card_id(), &b).await;
    assert_eq!(
        r.triple(),
        (
            403,
            Some("OPERATION_NOT_ALLOWED"),
            Some("services.issuance")
        )
    );
    b["services"]["issuance"] = json!("CREATION");
    assert_eq!(env.order(&token, &card_id(), &b).await.status, 202);

    // Without cardProductId the product is found by BIN.
    let mut b = body_with(&env.keys, &credit);
    b.as_object_mut().unwrap().remove("cardProductId");
    b["paymentApplication"]["config"] = json!("MCA_123");
    assert_eq!(env.order(&token, &card_id(), &b).await.status, 202);
    let mut b = body_with(
        &env.keys,
        &json!({"pan": "6011000990139424", "exp": future_yymm(), "name": "A"}),
    );
    b.as_object_mut().unwrap().remove("cardProductId");
    let r = env.order(&token, &card_id(), &b).await;
    assert_eq!(
        r.triple(),
        (400, Some("FIELD_INVALID_VALUE"), Some("encryptedData.pan"))
    );
}

// ---------- duplicate guard ----------

#[tokio::test]
async fn duplicate_guard_pending_successful_failed_and_idempotent_retry() {
    let env = Env::start().await;
    let token = env.token().await;
    let control = env.sandbox.control();
    let card = card_id();
    let first = body(&env.keys);
    assert_eq!(env.order(&token, &card, &first).await.status, 202);

    // Same cardId and same issuerRequestId (a client retry) while PENDING: refused.
    let r = env.order(&token, &card, &first).await;
    assert_eq!(
        r.triple(),
        (403, Some("OPERATION_NOT_ALLOWED"), Some("cardId"))
    );
    // A new issuerRequestId does not get around it.
    let r = env.order(&token, &card, &body(&env.keys)).await;
    assert_eq!(r.code(), Some("OPERATION_NOT_ALLOWED"));

    control.advance_production();
    control.advance_production();
    assert_eq!(env.detail(&token, &card).await.0, "SUCCESSFUL");
    let r = env.order(&token, &card, &first).await;
    assert_eq!(
        r.triple(),
        (403, Some("OPERATION_NOT_ALLOWED"), Some("cardId"))
    );

    // FAILED → allowed again, and productionStatus lists both operations.
    let card2 = card_id();
    control.data_exception_next(1, "chip data rejected");
    assert_eq!(
        env.order(&token, &card2, &body(&env.keys)).await.status,
        202
    );
    control.advance_production();
    assert_eq!(env.detail(&token, &card2).await.0, "FAILED");
    assert_eq!(
        env.order(&token, &card2, &body(&env.keys)).await.status,
        202
    );
    let s = env.status(&token, &card2).await;
    let ops = s.body["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["status"], "FAILED");
    assert_eq!(ops[1]["status"], "PENDING");
    assert_ne!(ops[0]["operationId"], ops[1]["operationId"]);
    assert_eq!(control.orders_accepted(), 3);
}

#[tokio::test]
async fn production_status_unknown_card_is_404_and_correlation_id_is_echoed() {
    let env = Env::start().await;
    let token = env.token().await;
    let r = env.status(&token, &card_id()).await;
    assert_eq!(r.status, 404);

    let r = reply(
        env.http
            .get(env.card_url(&env.keys.issuer_id, &card_id(), "productionStatus"))
            .bearer_auth(&token)
            .header("x-correlation-id", "corr_ABC-123")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.correlation.as_deref(), Some("corr_ABC-123"));
    let long = "a".repeat(65);
    for bad in ["has space", "dot.ted", long.as_str()] {
        let r = reply(
            env.http
                .post(env.card_url(&env.keys.issuer_id, &card_id(), "operations:production"))
                .bearer_auth(&token)
                .header("x-correlation-id", bad)
                .json(&body(&env.keys))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            r.triple(),
            (400, Some("FIELD_INVALID_FORMAT"), Some("x-correlation-id")),
            "{bad}"
        );
        assert_eq!(r.correlation, None);
    }
    let ok64 = "b".repeat(64);
    let r = reply(
        env.http
            .post(format!("{}/oauth2/token", env.sandbox.auth_base_url()))
            .header("x-correlation-id", &ok64)
            .form(&[("grant_type", GRANT), ("assertion", &assertion(&env.keys))])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.correlation.as_deref(), Some(ok64.as_str()));
}

// ---------- configuration errors at start ----------

#[tokio::test]
async fn invalid_configurations_are_clear_start_errors() {
    use d1_sandbox::{EncryptionKeyConfig, Sandbox, SandboxConfig, Secret};
    let keys = TestKeys::generate();
    let base = || SandboxConfig::training().with_keys(&keys);
    let mut cases: Vec<(&str, SandboxConfig, &str)> = Vec::new();

    let mut c = base();
    c.issuers[0].issuer_id = "SHORT".into();
    cases.push(("issuer id length", c, "issuer_id"));

    let mut c = base();
    c.issuers[0].signing_keys.insert(
        "bad".into(),
        json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "BB"}),
    );
    cases.push(("bad signing JWK", c, "\"bad\""));

    let mut c = base();
    let mut second = c.issuers[0].clone();
    second.issuer_id = "SECOND0001".into();
    c.issuers.push(second);
    cases.push(("kid used by two issuers", c, "twice"));

    let mut c = base();
    c.encryption_keys.push(EncryptionKeyConfig {
        kid: "enc-public-only".into(),
        private_jwk: Secret::from(&keys.encryption_public_jwk),
    });
    cases.push(("public key given as private", c, "enc-public-only"));

    let mut c = base();
    c.products[0].bin_ranges[0].high = "4999".into();
    cases.push(("BIN range lengths differ", c, "bin_ranges"));

    let mut c = base();
    c.faults.fail_next = Some(d1_sandbox::FailNextConfig {
        count: 1,
        status: 200,
    });
    cases.push(("fail_next with a success status", c, "fail_next.status"));

    let private_d = keys.encryption_private_jwk["d"]
        .as_str()
        .unwrap()
        .to_owned();
    for (label, config, needle) in cases {
        let err = Sandbox::start(config).await.unwrap_err().to_string();
        assert!(err.contains(needle), "{label}: {err}");
        assert!(!err.contains(&private_d), "{label}: key material in {err}");
    }
}

#[tokio::test]
async fn fractional_exp_is_accepted() {
    let env = Env::start().await;
    let signer = josekit::jws::ES256
        .signer_from_jwk(
            &josekit::jwk::Jwk::from_map(env.keys.signing_private_jwk.as_object().unwrap().clone())
                .unwrap(),
        )
        .unwrap();
    let mut header = josekit::jws::JwsHeader::new();
    header.set_key_id(&env.keys.signing_kid);
    let mut p = josekit::jwt::JwtPayload::new();
    p.set_issuer(&env.keys.issuer_id);
    p.set_subject(&env.keys.issuer_id);
    p.set_claim("exp", Some(json!(now() as f64 + 60.5)))
        .unwrap();
    let a = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    let r = env
        .token_reply(&[("grant_type", GRANT), ("assertion", &a)])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}
