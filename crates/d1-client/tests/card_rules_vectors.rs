//! The card rules against the vectors the window's copy of them is tested with
//! (`card-rules-vectors.json`, read by `ui/src/lib/order/card-rules.test.ts` too): the instant
//! feedback while typing cannot drift from the rule that decides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use d1_client::{CardData, CardDataInput, ProductRules};
use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

fn vectors() -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/card-rules-vectors.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn now(v: &Value) -> OffsetDateTime {
    let year = v["now"]["year"].as_i64().unwrap() as i32;
    let month = Month::try_from(v["now"]["month"].as_u64().unwrap() as u8).unwrap();
    let date = Date::from_calendar_date(year, month, 15).unwrap();
    PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc()
}

/// The code of the error on `path`, or `None` when that field is valid.
fn code_of(
    input: &CardDataInput,
    rules: &ProductRules,
    now: OffsetDateTime,
    path: &str,
) -> Option<String> {
    match CardData::from_input_at(input, rules, now) {
        Ok(_) => None,
        Err(errors) => errors
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.code.as_str().to_owned()),
    }
}

#[test]
fn every_pan_vector_gets_the_code_it_names() {
    let v = vectors();
    let now = now(&v);
    let cases = v["pan"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let pan = case["pan"].as_str().unwrap();
        let rules = ProductRules {
            pan_lengths: serde_json::from_value(case["lengths"].clone()).unwrap(),
            ..ProductRules::default()
        };
        let input = CardDataInput::new(pan, "07/30", "ANA GARCIA");
        let expected = case["code"].as_str().map(str::to_owned);
        assert_eq!(
            code_of(&input, &rules, now, "cardData.pan"),
            expected,
            "PAN {pan:?}"
        );
    }
}

#[test]
fn every_expiry_vector_gets_the_code_it_names() {
    let v = vectors();
    let now = now(&v);
    for case in v["exp"].as_array().unwrap() {
        let exp = case["exp"].as_str().unwrap();
        let input = CardDataInput::new("4111111111111111", exp, "ANA GARCIA");
        let expected = case["code"].as_str().map(str::to_owned);
        assert_eq!(
            code_of(&input, &ProductRules::default(), now, "cardData.exp"),
            expected,
            "expiry {exp:?}"
        );
    }
}
