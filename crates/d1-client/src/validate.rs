//! Validation of [`CardRequestInstant`] equal to the vendor schema.
//!
//! Every pattern below is copied character for character from the vendor OpenAPI document
//! (`#/components/schemas/...`), including its unusual class ranges: in
//! `[A-Za-z0-9_.-\\\/%\^?=]` the `.-\\` part is the range `.` (U+002E) to `\` (U+005C), and in
//! `[\p{L}\p{N}@ ,.'_#;:\/-?=%\\\^+&]` the `\/-?` part is the range `/` (U+002F) to `?` (U+003F).
//! Lengths count Unicode scalar values, as JSON Schema does. A unit test checks each constant
//! against the document, and a property test checks the verdicts against a JSON Schema validator.

use std::sync::LazyLock;

pub use desk_domain::{FieldError, FieldErrorCode};
use regex::Regex;

use crate::model::{CardCarrierConfig, CardDesign, CardRequestInstant};

/// The vendor's patterns, verbatim.
pub mod patterns {
    /// `services.*`, `paymentApplication.config`.
    pub const ID64_LOWER_FIRST: &str = r"^[a-zA-Z0-9_-]{1,64}$";
    /// `consumerId`, `cardDesign.artworkId`.
    pub const ID64: &str = r"^[A-Za-z0-9_-]{1,64}$";
    /// `cardProductId`, `cardCarrierConfig.multiCardId`.
    pub const ID48: &str = r"^[A-Za-z0-9_-]{1,48}$";
    /// `cardDesign.images[]`, `cardCarrierConfig.images[]`.
    pub const IMAGE: &str = r"^[A-Za-z0-9_.-\\\/%\^?=]{0,64}$";
    /// `cardDesign.customLines[]`, `cardCarrierConfig.customLines[]`.
    pub const CUSTOM_LINE: &str = r"^[\p{L}\p{N}@ ,.'_#;:\/-?=%\\\^+&]{0,256}$";
    /// `cardDesign.cardImage`.
    pub const CARD_IMAGE: &str = r"^[A-Za-z0-9_\-\\\/.\^]{0,48}$";
    /// `cardDesign.memberId`.
    pub const MEMBER_ID: &str = r"^[A-Za-z0-9_\\\/.-]{1,48}$";
    /// `paymentApplication.*KeyIndex`.
    pub const KEY_INDEX: &str = r"^[A-F0-9]{2}$";
    /// `cardCarrierConfig.language`.
    pub const LANGUAGE: &str = r"^[A-Z]{2}$";
    /// `cardCarrierConfig.multiCardOrder`.
    pub const MULTI_CARD_ORDER: &str = r"^[0-9]{1,2}$";
}

struct Rule {
    regex: Regex,
    min: usize,
    max: usize,
}

/// Compiles a vendor pattern of the form `^[CLASS]{a,b}$`. The class is used verbatim; the
/// `{a,b}` bound is checked by counting characters (`min`, `max`, asserted equal to the
/// pattern's bounds), because a Unicode class repeated 256 times exceeds the regex crate's
/// size limit. `^[CLASS]*$` plus `a <= count <= b` accepts exactly what `^[CLASS]{a,b}$` does.
#[allow(clippy::expect_used)] // constant patterns, covered by unit tests
fn rule(pattern: &str, min: usize, max: usize) -> Rule {
    let (class, lo, hi) =
        split_class_pattern(pattern).expect("vendor pattern has the form ^[CLASS]{a,b}$");
    assert_eq!((lo, hi), (min, max), "bounds of {pattern}");
    let regex = Regex::new(&format!("^{class}*$")).expect("vendor class compiles");
    Rule { regex, min, max }
}

/// Splits `^[CLASS]{a,b}$` (or `{a}`) into (`[CLASS]`, a, b).
pub(crate) fn split_class_pattern(pattern: &str) -> Option<(&str, usize, usize)> {
    let body = pattern.strip_prefix("^[")?.strip_suffix("}$")?;
    let open = body.rfind("]{")?;
    let class = &pattern[1..open + 3];
    let bounds = &body[open + 2..];
    let (lo, hi) = match bounds.split_once(',') {
        Some((lo, hi)) => (lo.parse().ok()?, hi.parse().ok()?),
        None => {
            let n = bounds.parse().ok()?;
            (n, n)
        }
    };
    Some((class, lo, hi))
}

struct Rules {
    id64: Rule,
    id64_upper_first: Rule,
    id48: Rule,
    image: Rule,
    custom_line: Rule,
    card_image: Rule,
    member_id: Rule,
    key_index: Rule,
    language: Rule,
    multi_card_order: Rule,
}

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules {
    id64: rule(patterns::ID64_LOWER_FIRST, 1, 64),
    id64_upper_first: rule(patterns::ID64, 1, 64),
    id48: rule(patterns::ID48, 1, 48),
    image: rule(patterns::IMAGE, 0, 64),
    custom_line: rule(patterns::CUSTOM_LINE, 0, 256),
    card_image: rule(patterns::CARD_IMAGE, 0, 48),
    member_id: rule(patterns::MEMBER_ID, 1, 48),
    key_index: rule(patterns::KEY_INDEX, 2, 2),
    language: rule(patterns::LANGUAGE, 2, 2),
    multi_card_order: rule(patterns::MULTI_CARD_ORDER, 1, 2),
});

const IMAGES_MAX_ITEMS: usize = 5;
const CUSTOM_LINES_MAX_ITEMS: usize = 10;

/// The first character of `value` that the rule of the field at `path` does not allow (a
/// `pattern` error named for a person: "'-' is not allowed"). `None` when every character is
/// allowed or the field has no character rule. List items are named with their index
/// (`cardDesign.customLines[2]`).
pub fn disallowed_character(path: &str, value: &str) -> Option<char> {
    let field = match path.find('[') {
        Some(i) => &path[..i],
        None => path,
    };
    let r = &*RULES;
    let rule = match field {
        "cardData.name" | "cardData.secondName" => {
            return value
                .trim()
                .chars()
                .find(|c| !crate::card::name_char_allowed(*c));
        }
        "consumerId" | "cardDesign.artworkId" => &r.id64_upper_first,
        "cardProductId" | "cardCarrierConfig.multiCardId" => &r.id48,
        "services.issuance"
        | "services.priority"
        | "services.delivery"
        | "services.packaging"
        | "services.cardCarrier" => &r.id64,
        "cardDesign.images" | "cardCarrierConfig.images" => &r.image,
        "cardDesign.customLines" | "cardCarrierConfig.customLines" => &r.custom_line,
        "cardDesign.cardImage" => &r.card_image,
        "cardDesign.memberId" => &r.member_id,
        "cardCarrierConfig.language" => &r.language,
        "cardCarrierConfig.multiCardOrder" => &r.multi_card_order,
        _ => return None,
    };
    let mut one = [0u8; 4];
    value
        .chars()
        .find(|c| !rule.regex.is_match(c.encode_utf8(&mut one)))
}

struct Collector(Vec<FieldError>);

impl Collector {
    fn string(&mut self, path: &str, value: &str, rule: &Rule, required: bool) {
        let n = value.chars().count();
        let error = if n == 0 && required && rule.min > 0 {
            FieldError::new(path, FieldErrorCode::Required)
        } else if n < rule.min {
            FieldError::new(path, FieldErrorCode::TooShort).with_limit(rule.min)
        } else if n > rule.max {
            FieldError::new(path, FieldErrorCode::TooLong).with_limit(rule.max)
        } else if !rule.regex.is_match(value) {
            FieldError::new(path, FieldErrorCode::Pattern)
        } else {
            return;
        };
        self.0.push(error);
    }

    fn opt(&mut self, path: &str, value: &Option<String>, rule: &Rule) {
        if let Some(v) = value {
            self.string(path, v, rule, false);
        }
    }

    fn list(&mut self, path: &str, values: &[String], max_items: usize, rule: &Rule) {
        if values.len() > max_items {
            self.0
                .push(FieldError::new(path, FieldErrorCode::TooManyItems).with_limit(max_items));
        }
        for (i, v) in values.iter().enumerate() {
            self.string(&format!("{path}[{i}]"), v, rule, false);
        }
    }
}

/// Checks `request` against every constraint of the vendor schema `cardRequestInstant`
/// (`encryptedData` aside, which [`crate::PreparedOrder::prepare`] adds). Returns every error
/// found, in field order; empty means valid. `persoStation` has no constraint in the schema
/// beyond being a string, so any value passes here (stations come from configuration).
pub fn validate_request(request: &CardRequestInstant) -> Vec<FieldError> {
    let r = &*RULES;
    let mut c = Collector(Vec::new());
    c.opt("consumerId", &request.consumer_id, &r.id64_upper_first);
    c.opt("cardProductId", &request.card_product_id, &r.id48);
    // issuerRequestId is an IssuerRequestId: valid by construction.

    let s = &request.services;
    c.string("services.issuance", &s.issuance, &r.id64, true);
    c.opt("services.priority", &s.priority, &r.id64);
    c.opt("services.delivery", &s.delivery, &r.id64);
    c.opt("services.packaging", &s.packaging, &r.id64);
    c.opt("services.cardCarrier", &s.card_carrier, &r.id64);

    let p = &request.payment_application;
    c.string("paymentApplication.config", &p.config, &r.id64, true);
    c.opt(
        "paymentApplication.odaKeyIndex",
        &p.oda_key_index,
        &r.key_index,
    );
    c.opt(
        "paymentApplication.derivationKeyIndex",
        &p.derivation_key_index,
        &r.key_index,
    );
    c.opt(
        "paymentApplication.pvKeyIndex",
        &p.pv_key_index,
        &r.key_index,
    );
    c.opt(
        "paymentApplication.cvKeyIndex",
        &p.cv_key_index,
        &r.key_index,
    );

    if let Some(d) = &request.card_design {
        validate_card_design(&mut c, d);
    }
    if let Some(cc) = &request.card_carrier_config {
        validate_carrier(&mut c, cc);
    }
    c.0
}

fn validate_card_design(c: &mut Collector, d: &CardDesign) {
    let r = &*RULES;
    c.list("cardDesign.images", &d.images, IMAGES_MAX_ITEMS, &r.image);
    c.list(
        "cardDesign.customLines",
        &d.custom_lines,
        CUSTOM_LINES_MAX_ITEMS,
        &r.custom_line,
    );
    c.opt("cardDesign.cardImage", &d.card_image, &r.card_image);
    c.opt("cardDesign.artworkId", &d.artwork_id, &r.id64_upper_first);
    c.opt("cardDesign.memberId", &d.member_id, &r.member_id);
}

fn validate_carrier(c: &mut Collector, cc: &CardCarrierConfig) {
    let r = &*RULES;
    c.opt("cardCarrierConfig.language", &cc.language, &r.language);
    c.list(
        "cardCarrierConfig.images",
        &cc.images,
        IMAGES_MAX_ITEMS,
        &r.image,
    );
    c.list(
        "cardCarrierConfig.customLines",
        &cc.custom_lines,
        CUSTOM_LINES_MAX_ITEMS,
        &r.custom_line,
    );
    c.opt("cardCarrierConfig.multiCardId", &cc.multi_card_id, &r.id48);
    c.opt(
        "cardCarrierConfig.multiCardOrder",
        &cc.multi_card_order,
        &r.multi_card_order,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PaymentApplication, Services};

    fn base() -> CardRequestInstant {
        CardRequestInstant {
            perso_station: "KIOSK-PS-101".into(),
            services: Services {
                issuance: "CREATION".into(),
                ..Default::default()
            },
            payment_application: PaymentApplication {
                config: "VISA".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn codes(r: &CardRequestInstant) -> Vec<(String, FieldErrorCode)> {
        validate_request(r)
            .into_iter()
            .map(|e| (e.path, e.code))
            .collect()
    }

    #[test]
    fn class_split_keeps_the_vendor_class_verbatim() {
        assert_eq!(
            split_class_pattern(patterns::CUSTOM_LINE),
            Some((r"[\p{L}\p{N}@ ,.'_#;:\/-?=%\\\^+&]", 0, 256))
        );
        assert_eq!(
            split_class_pattern(patterns::KEY_INDEX),
            Some(("[A-F0-9]", 2, 2))
        );
        assert_eq!(
            split_class_pattern(patterns::IMAGE),
            Some((r"[A-Za-z0-9_.-\\\/%\^?=]", 0, 64))
        );
    }

    #[test]
    fn the_full_vendor_patterns_agree_with_the_split_form() {
        // Compile the vendor patterns whole (with a larger size limit) and compare on samples.
        let samples = [
            "",
            "a",
            "A1_-",
            "a b",
            "Zoë",
            "e\u{301}",
            "<>?",
            "[]",
            "\\/^%=",
            "x".repeat(65).leak(),
        ];
        for (pattern, min, max) in [
            (patterns::IMAGE, 0, 64),
            (patterns::CUSTOM_LINE, 0, 256),
            (patterns::CARD_IMAGE, 0, 48),
            (patterns::MEMBER_ID, 1, 48),
            (patterns::ID48, 1, 48),
        ] {
            let whole = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 28)
                .build()
                .unwrap();
            let r = rule(pattern, min, max);
            for s in samples {
                let n = s.chars().count();
                let split = n >= min && n <= max && r.regex.is_match(s);
                assert_eq!(whole.is_match(s), split, "{pattern} on {s:?}");
            }
        }
    }

    #[test]
    fn minimal_request_is_valid() {
        assert!(validate_request(&base()).is_empty());
    }

    #[test]
    fn required_fields_report_required() {
        let mut r = base();
        r.services.issuance.clear();
        r.payment_application.config.clear();
        assert_eq!(
            codes(&r),
            vec![
                ("services.issuance".into(), FieldErrorCode::Required),
                ("paymentApplication.config".into(), FieldErrorCode::Required)
            ]
        );
    }

    #[test]
    fn custom_line_path_and_unicode_classes() {
        let mut r = base();
        let mut lines: Vec<String> = vec!["Zoë Ångström 42".into(); 3];
        lines.push("bad\u{1F600}".into()); // emoji is not L/N/M
        lines.push("e\u{0301}".into()); // combining mark: not in \p{L}\p{N}, so invalid
        lines.push("٣ 中文 /09:;<=>?".into()); // the \/-? range includes < and >
        lines.push("Jean-Paul".into()); // ...and so a literal '-' is NOT allowed
        r.card_design = Some(CardDesign {
            custom_lines: lines,
            ..Default::default()
        });
        assert_eq!(
            codes(&r),
            vec![
                ("cardDesign.customLines[3]".into(), FieldErrorCode::Pattern),
                ("cardDesign.customLines[4]".into(), FieldErrorCode::Pattern),
                ("cardDesign.customLines[6]".into(), FieldErrorCode::Pattern)
            ]
        );
    }

    #[test]
    fn image_range_dot_to_backslash_is_a_range() {
        let mut r = base();
        let images = vec!["a<b>@[\\".into(), "/x;:".into(), "]".into(), "a b".into()];
        r.card_design = Some(CardDesign {
            images,
            ..Default::default()
        });
        assert_eq!(
            codes(&r),
            vec![
                ("cardDesign.images[2]".into(), FieldErrorCode::Pattern),
                ("cardDesign.images[3]".into(), FieldErrorCode::Pattern)
            ]
        );
    }

    #[test]
    fn item_counts_and_lengths() {
        let mut r = base();
        r.card_carrier_config = Some(CardCarrierConfig {
            images: vec!["a".into(); 6],
            custom_lines: vec!["x".repeat(257)],
            language: Some("eng".into()),
            multi_card_order: Some("100".into()),
            multi_card_id: Some(String::new()),
        });
        r.consumer_id = Some("c".repeat(65));
        assert_eq!(
            codes(&r),
            vec![
                ("consumerId".into(), FieldErrorCode::TooLong),
                ("cardCarrierConfig.language".into(), FieldErrorCode::TooLong),
                (
                    "cardCarrierConfig.images".into(),
                    FieldErrorCode::TooManyItems
                ),
                (
                    "cardCarrierConfig.customLines[0]".into(),
                    FieldErrorCode::TooLong
                ),
                (
                    "cardCarrierConfig.multiCardId".into(),
                    FieldErrorCode::TooShort
                ),
                (
                    "cardCarrierConfig.multiCardOrder".into(),
                    FieldErrorCode::TooLong
                ),
            ]
        );
    }

    #[test]
    fn key_indexes_are_two_upper_hex_digits() {
        let mut r = base();
        r.payment_application.oda_key_index = Some("0F".into());
        r.payment_application.derivation_key_index = Some("0f".into());
        r.payment_application.pv_key_index = Some("G1".into());
        r.payment_application.cv_key_index = Some("1".into());
        assert_eq!(
            codes(&r),
            vec![
                (
                    "paymentApplication.derivationKeyIndex".into(),
                    FieldErrorCode::Pattern
                ),
                (
                    "paymentApplication.pvKeyIndex".into(),
                    FieldErrorCode::Pattern
                ),
                (
                    "paymentApplication.cvKeyIndex".into(),
                    FieldErrorCode::TooShort
                ),
            ]
        );
    }

    #[test]
    fn codes_serialize_as_stable_snake_case() {
        let e = FieldError::new("cardDesign.customLines", FieldErrorCode::TooManyItems);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"field":"cardDesign.customLines","code":"too_many_items","limit":null,"character":null}"#
        );
        let mut request = base();
        request.card_design = Some(CardDesign {
            custom_lines: vec!["A".into(); 11],
            ..CardDesign::default()
        });
        assert_eq!(validate_request(&request), [e.with_limit(10)]);
        assert_eq!(FieldErrorCode::InvalidLuhn.as_str(), "invalid_luhn");
    }

    #[test]
    fn the_disallowed_character_is_named_per_field() {
        // D1's card-line class has no hyphen ("/-?" is a range from '/' to '?'), but letters
        // with accents are fine; the printed name is the other way round.
        assert_eq!(
            disallowed_character("cardDesign.customLines[2]", "SAN-JOSÉ"),
            Some('-')
        );
        assert_eq!(
            disallowed_character("cardDesign.customLines[0]", "SAN JOSÉ 3/4"),
            None
        );
        assert_eq!(
            disallowed_character("cardData.name", "JOSÉ PEÑA"),
            Some('É')
        );
        assert_eq!(
            disallowed_character("cardData.name", "ANNE-MARIE O'NEIL"),
            None
        );
        assert_eq!(
            disallowed_character("cardData.secondName", "ACME™"),
            Some('™')
        );
        assert_eq!(disallowed_character("consumerId", "CUST 1"), Some(' '));
        assert_eq!(
            disallowed_character("cardCarrierConfig.multiCardOrder", "1a"),
            Some('a')
        );
        assert_eq!(disallowed_character("persoStation", "any thing"), None);
        assert_eq!(disallowed_character("cardDesign.memberId", ""), None);
    }
}
