//! Property test: the typed validator and a JSON Schema validator running the vendor document's
//! `#/components/schemas/cardRequestInstant` agree on every generated request — same verdict and
//! same set of failing JSON paths. Values are boundary lengths, Unicode (letters, numbers,
//! combining marks, other scripts, emoji), the edges of the vendor's odd class ranges, and
//! arbitrary strings. Case count: `PROPTEST_CASES` (default 20 000 requests, each holding ~30
//! generated strings, so every field sees ~16 000–20 000 values).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::collections::BTreeSet;
use std::sync::LazyLock;

use d1_client::{
    CardCarrierConfig, CardDesign, CardRequestInstant, InstantChannel, IssuerRequestId,
    PaymentApplication, Services, patterns, validate_request,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

const VENDOR: &str = include_str!("../../d1-sandbox/openapi/inbound-physical-card-api.json");

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(VENDOR).unwrap();
    let schema = json!({
        "$ref": "#/components/schemas/cardRequestInstant",
        "components": doc["components"].clone(),
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap()
});

/// Characters chosen to sit on and around every class boundary in the vendor patterns, plus
/// Unicode categories that \p{L} / \p{N} include or exclude.
const EDGE: &[char] = &[
    'a',
    'z',
    'A',
    'Z',
    '0',
    '9',
    '_',
    '-',
    '.',
    '/',
    '\\',
    '%',
    '^',
    '?',
    '=',
    '@',
    ' ',
    ',',
    '\'',
    '#',
    ';',
    ':',
    '+',
    '&',
    '<',
    '>',
    '[',
    ']',
    '`',
    '{',
    '|',
    '}',
    '~',
    '!',
    '"',
    '$',
    '(',
    ')',
    '*',
    '\t',
    '\n',
    '\r',
    '\0',
    '\u{7f}',
    'é',
    'Ö',
    'ß',
    'ñ',
    'ǅ',
    'ʰ',
    'Ω',
    'Ж',
    'ع',
    '中',
    'ー',
    'ก',
    '\u{301}',
    '\u{300}',
    '\u{93f}',
    '\u{20dd}',
    '٣',
    '²',
    'Ⅻ',
    '½',
    '𝟘',
    '\u{a0}',
    '\u{200b}',
    '\u{200d}',
    '\u{2028}',
    '\u{feff}',
    '😀',
    '\u{10ffff}',
    '＠',
    '／',
    'ａ',
    '１',
];

fn edge_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::sample::select(EDGE),
        1 => any::<char>(),
    ]
}

/// A string for a field whose valid characters are `valid` and whose bounds are `lo..=hi`.
fn field(valid: &'static str, lo: usize, hi: usize) -> BoxedStrategy<String> {
    let valid: Vec<char> = valid.chars().collect();
    let lens = vec![
        0,
        1,
        lo.saturating_sub(1),
        lo,
        lo + 1,
        hi.saturating_sub(1),
        hi,
        hi + 1,
    ];
    let v2 = valid.clone();
    prop_oneof![
        // Only valid characters, at a boundary length.
        3 => (proptest::sample::select(lens.clone()), any::<u64>()).prop_map(move |(n, seed)| {
            (0..n).map(|i| valid[(seed as usize).wrapping_add(i * 7919) % valid.len()]).collect()
        }),
        // Valid characters with one edge character planted somewhere.
        3 => (proptest::sample::select(lens), edge_char(), any::<prop::sample::Index>()).prop_map(move |(n, c, at)| {
            let mut s: Vec<char> = (0..n.max(1)).map(|i| v2[i % v2.len()]).collect();
            let i = at.index(s.len());
            s[i] = c;
            s.into_iter().collect()
        }),
        // Short runs of edge characters.
        2 => proptest::collection::vec(edge_char(), 0..6).prop_map(|v| v.into_iter().collect()),
        // Anything.
        1 => any::<String>(),
    ]
    .boxed()
}

const ID: &str = "abcxyzABCXYZ0189_-";
const IMAGE: &str = "aZ09_.-/\\%^?=@[<>;:"; // .-\\ is a range: includes / : ; < = > ? @ [ \
const LINE: &str = "aZ09 ,.'_#;:/<>?=%\\^+&@éÖ中٣²Ⅻǅ";
const CARD_IMAGE: &str = "aZ09_-\\/.^";
const MEMBER: &str = "aZ09_\\/.-";
const HEX: &str = "0123456789ABCDEF";

/// Only valid characters at a valid length (for requests that are valid as a whole).
fn good(valid: &'static str, lo: usize, hi: usize) -> BoxedStrategy<String> {
    let valid: Vec<char> = valid.chars().collect();
    let lens = vec![lo, lo + 1, hi.saturating_sub(1).max(lo), hi];
    (proptest::sample::select(lens), any::<u64>())
        .prop_map(move |(n, seed)| {
            (0..n)
                .map(|i| valid[(seed as usize).wrapping_add(i * 31) % valid.len()])
                .collect()
        })
        .boxed()
}

type Mk = fn(&'static str, usize, usize) -> BoxedStrategy<String>;

/// Whether `mk` is the valid-only generator (probed by its output, not by pointer comparison).
fn is_good(mk: Mk) -> bool {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let s = mk("a", 3, 3);
    (0..64).all(|_| {
        s.new_tree(&mut runner)
            .map(|t| t.current() == "aaa")
            .unwrap_or(false)
    })
}

fn opt(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(0.8, s)
}

fn list(s: BoxedStrategy<String>, max: usize, mk: Mk) -> impl Strategy<Value = Vec<String>> {
    // In valid-only mode the item strategy never yields an empty string for `ID`-like fields
    // and lists stay within maxItems.
    let over = if is_good(mk) { max } else { max + 1 };
    prop_oneof![
        4 => proptest::collection::vec(s.clone(), 0..=2),
        1 => proptest::collection::vec(s, max..=over),
    ]
}

fn services(mk: Mk) -> impl Strategy<Value = Services> {
    (
        mk(ID, 1, 64),
        opt(mk(ID, 1, 64)),
        opt(mk(ID, 1, 64)),
        opt(mk(ID, 1, 64)),
        opt(mk(ID, 1, 64)),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
    )
        .prop_map(
            |(issuance, priority, delivery, packaging, card_carrier, pin_mailer, alpha_card)| {
                Services {
                    issuance,
                    priority,
                    delivery,
                    packaging,
                    card_carrier,
                    pin_mailer,
                    alpha_card,
                }
            },
        )
}

fn payment(mk: Mk) -> impl Strategy<Value = PaymentApplication> {
    (
        mk(ID, 1, 64),
        opt(mk(HEX, 2, 2)),
        opt(mk(HEX, 2, 2)),
        opt(mk(HEX, 2, 2)),
        opt(mk(HEX, 2, 2)),
    )
        .prop_map(|(config, oda, der, pv, cv)| PaymentApplication {
            config,
            oda_key_index: oda,
            derivation_key_index: der,
            pv_key_index: pv,
            cv_key_index: cv,
        })
}

fn design(mk: Mk) -> impl Strategy<Value = CardDesign> {
    (
        list(mk(IMAGE, 0, 64), 5, mk),
        list(mk(LINE, 0, 256), 10, mk),
        opt(mk(CARD_IMAGE, 0, 48)),
        opt(mk(ID, 1, 64)),
        opt(mk(MEMBER, 1, 48)),
    )
        .prop_map(
            |(images, custom_lines, card_image, artwork_id, member_id)| CardDesign {
                images,
                custom_lines,
                card_image,
                artwork_id,
                member_id,
            },
        )
}

fn carrier(mk: Mk) -> impl Strategy<Value = CardCarrierConfig> {
    (
        opt(mk("ABCXYZ", 2, 2)),
        list(mk(IMAGE, 0, 64), 5, mk),
        list(mk(LINE, 0, 256), 10, mk),
        opt(mk(ID, 1, 48)),
        opt(mk("0123456789", 1, 2)),
    )
        .prop_map(
            |(language, images, custom_lines, multi_card_id, multi_card_order)| CardCarrierConfig {
                language,
                images,
                custom_lines,
                multi_card_id,
                multi_card_order,
            },
        )
}

fn request() -> impl Strategy<Value = CardRequestInstant> {
    prop_oneof![1 => request_with(good), 3 => request_with(field)]
}

fn request_with(mk: Mk) -> impl Strategy<Value = CardRequestInstant> {
    (
        opt(mk(ID, 1, 64)),
        opt(mk(ID, 1, 48)),
        mk(LINE, 0, 20),
        services(mk),
        payment(mk),
        proptest::option::of(design(mk)),
        proptest::option::of(carrier(mk)),
        any::<bool>(),
    )
        .prop_map(
            |(
                consumer_id,
                card_product_id,
                perso_station,
                services,
                payment_application,
                card_design,
                card_carrier_config,
                rid,
            )| {
                CardRequestInstant {
                    distribution_channel: InstantChannel,
                    consumer_id,
                    card_product_id,
                    perso_station,
                    issuer_request_id: rid.then(IssuerRequestId::generate),
                    services,
                    payment_application,
                    card_design,
                    card_carrier_config,
                }
            },
        )
}

/// `/cardDesign/customLines/3` → `cardDesign.customLines[3]`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

fn schema_paths(r: &CardRequestInstant) -> BTreeSet<String> {
    let mut v = serde_json::to_value(r).unwrap();
    v["encryptedData"] = Value::String("eyJhbGciOiJFQ0RILUVTIn0..iv.ct.tag".into());
    VALIDATOR
        .iter_errors(&v)
        .map(|e| dotted(e.instance_path().as_str()))
        .collect()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn typed_validator_equals_vendor_schema(r in request()) {
        let ours: BTreeSet<String> = validate_request(&r).into_iter().map(|e| e.path).collect();
        let theirs = schema_paths(&r);
        prop_assert_eq!(ours, theirs, "request: {:?}", r);
    }
}

#[test]
fn generator_reaches_both_verdicts_on_every_field() {
    // Guard against a generator that only ever produces valid (or invalid) values.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = request();
    let mut failing = BTreeSet::new();
    let mut valid = 0;
    for _ in 0..3000 {
        let r = strategy.new_tree(&mut runner).unwrap().current();
        let errs = validate_request(&r);
        if errs.is_empty() {
            valid += 1;
        }
        for e in errs {
            let path = e.path.split('[').next().unwrap().to_string();
            failing.insert(path);
        }
    }
    assert!(valid > 30, "only {valid} valid requests generated");
    for path in [
        "consumerId",
        "cardProductId",
        "services.issuance",
        "services.priority",
        "services.delivery",
        "services.packaging",
        "services.cardCarrier",
        "paymentApplication.config",
        "paymentApplication.odaKeyIndex",
        "paymentApplication.derivationKeyIndex",
        "paymentApplication.pvKeyIndex",
        "paymentApplication.cvKeyIndex",
        "cardDesign.images",
        "cardDesign.customLines",
        "cardDesign.cardImage",
        "cardDesign.artworkId",
        "cardDesign.memberId",
        "cardCarrierConfig.language",
        "cardCarrierConfig.images",
        "cardCarrierConfig.customLines",
        "cardCarrierConfig.multiCardId",
        "cardCarrierConfig.multiCardOrder",
    ] {
        assert!(
            failing.contains(path),
            "no invalid value generated for {path}"
        );
    }
}

#[test]
fn pattern_constants_are_the_vendor_text() {
    let doc: Value = serde_json::from_str(VENDOR).unwrap();
    let s = &doc["components"]["schemas"];
    let p = |v: &Value| v["pattern"].as_str().unwrap().to_string();
    assert_eq!(p(&s["consumerId"]), patterns::ID64);
    assert_eq!(p(&s["cardProductId"]), patterns::ID48);
    for k in [
        "issuance",
        "priority",
        "delivery",
        "packaging",
        "cardCarrier",
    ] {
        assert_eq!(
            p(&s["services"]["properties"][k]),
            patterns::ID64_LOWER_FIRST
        );
    }
    let pa = &s["paymentApplication"]["properties"];
    assert_eq!(p(&pa["config"]), patterns::ID64_LOWER_FIRST);
    for k in [
        "odaKeyIndex",
        "derivationKeyIndex",
        "pvKeyIndex",
        "cvKeyIndex",
    ] {
        assert_eq!(p(&pa[k]), patterns::KEY_INDEX);
    }
    let cd = &s["cardDesign"]["properties"];
    assert_eq!(p(&cd["images"]["items"]), patterns::IMAGE);
    assert_eq!(p(&cd["customLines"]["items"]), patterns::CUSTOM_LINE);
    assert_eq!(p(&cd["cardImage"]), patterns::CARD_IMAGE);
    assert_eq!(p(&cd["artworkId"]), patterns::ID64);
    assert_eq!(p(&cd["memberId"]), patterns::MEMBER_ID);
    let cc = &s["cardCarrierConfig"]["properties"];
    assert_eq!(p(&cc["language"]), patterns::LANGUAGE);
    assert_eq!(p(&cc["images"]["items"]), patterns::IMAGE);
    assert_eq!(p(&cc["customLines"]["items"]), patterns::CUSTOM_LINE);
    assert_eq!(p(&cc["multiCardId"]), patterns::ID48);
    assert_eq!(p(&cc["multiCardOrder"]), patterns::MULTI_CARD_ORDER);
    // The typed model has exactly the schema's non-deprecated properties.
    let mut props: Vec<&str> = s["cardRequestInstant"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    props.retain(|k| {
        !s["cardRequestInstant"]["properties"][*k]["deprecated"]
            .as_bool()
            .unwrap_or(false)
    });
    props.sort();
    assert_eq!(
        props,
        [
            "cardCarrierConfig",
            "cardDesign",
            "cardProductId",
            "consumerId",
            "distributionChannel",
            "encryptedData",
            "paymentApplication",
            "persoStation",
            "services"
        ]
    );
}
