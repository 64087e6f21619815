//! The card rules, and the validated, zeroizing [`CardData`] they make of the teller's
//! [`CardDataInput`] (the shared input shape from `desk-domain`).
//!
//! Name charset (documented choice, ISO/IEC 7813-ish printable set for embossing and track 1):
//! `A–Z a–z 0–9`, space, and `. ' - /`. A name must hold at least one letter, may not start
//! or end with a space, and is limited per product (`name_max_length`, default 26, the track 1
//! name limit). Expiry is typed `MM/YY`, must not be before the current month (a card is valid
//! through the last day of its expiry month), and is sent as `YYMM` (default) or `MMYY`.

use std::fmt;

use desk_domain::{CardholderName, Cvv, FieldError, FieldErrorCode, PanLast4, Sensitive};
use time::{Month, OffsetDateTime};
use zeroize::{Zeroize, ZeroizeOnDrop};

// The input shape and the product rules are the shared vocabulary's; re-exported here so that
// `crate::card` still names everything card data is made of.
pub use desk_domain::{
    BinRange, CardDataInput, ExpFormat, ProductRules, TrackDataInput, luhn_valid, mask_pan_last4,
};

/// Validated card data, ready for the JWE. Wiped on drop, `Debug` prints `<redacted>`, no
/// `Serialize`: the only serialization is the private one inside [`crate::jwe`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CardData {
    pub(crate) pan: String,
    pub(crate) exp: String,
    pub(crate) name: String,
    pub(crate) second_name: Option<String>,
    pub(crate) encoded_name: Option<String>,
    pub(crate) cvv2: Option<String>,
    pub(crate) cvv1: Option<String>,
    pub(crate) pvv: Option<String>,
    pub(crate) pan_sequence_number: String,
    pub(crate) effective_date: Option<String>,
    pub(crate) payment_account_reference: Option<String>,
    pub(crate) track_data: Option<TrackData>,
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct TrackData {
    pub(crate) track1: Option<String>,
    pub(crate) track2: Option<String>,
    pub(crate) track3: Option<String>,
}

impl fmt::Debug for CardData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl CardData {
    /// The last 4 digits of the PAN (the most the app may show or journal).
    pub fn last4(&self) -> String {
        let n = self.pan.len();
        self.pan[n.saturating_sub(4)..].to_string()
    }

    /// The PAN masked for display (`•••• 1234`).
    pub fn masked_pan(&self) -> String {
        mask_pan_last4(&self.pan)
    }

    /// The last 4 digits as the journal keeps them. A validated PAN has at least 12 digits.
    pub fn pan_last4(&self) -> Result<PanLast4, FieldError> {
        PanLast4::of_pan(&self.pan)
    }

    /// Validates `input` against the card rules and `rules`, relative to the current time.
    pub fn from_input(
        input: &CardDataInput,
        rules: &ProductRules,
    ) -> Result<Self, Vec<FieldError>> {
        Self::from_input_at(input, rules, OffsetDateTime::now_utc())
    }

    /// Same as [`CardData::from_input`] with an explicit clock (for tests and replays).
    /// Returns every error found; paths are prefixed with `cardData.`.
    pub fn from_input_at(
        input: &CardDataInput,
        rules: &ProductRules,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |path: &str, code, limit: Option<usize>| {
            let error = FieldError::new(format!("cardData.{path}"), code);
            errors.push(match limit {
                Some(limit) => error.with_limit(limit),
                None => error,
            });
        };
        let name_max = usize::try_from(rules.name_max_length).unwrap_or(usize::MAX);

        let pan = input.pan.digits();
        if let Err(error) = rules.check_pan(pan.expose()) {
            err("pan", error.code, error.limit.map(|l| l as usize));
        }

        let exp = match parse_mm_yy(input.exp.expose()) {
            Ok(ym) if ym < (now.year(), u8::from(now.month())) => {
                err("exp", FieldErrorCode::Expired, None);
                None
            }
            Ok(ym) => Some(ym),
            Err(code) => {
                err("exp", code, None);
                None
            }
        };

        if let Some((code, limit)) = check_name(input.name.expose().trim(), name_max, true) {
            err("name", code, limit);
        }
        for (path, v) in [
            ("secondName", &input.second_name),
            ("encodedName", &input.encoded_name),
        ] {
            if let Some((code, limit)) = v
                .as_ref()
                .map(CardholderName::expose)
                .and_then(|v| check_name(v.trim(), name_max, false))
            {
                err(path, code, limit);
            }
        }
        for (path, v, min, max) in [
            ("cvv2", input.cvv2.as_ref().map(Cvv::expose), 3, 4),
            ("cvv1", input.cvv1.as_ref().map(Cvv::expose), 3, 4),
            ("pvv", text(&input.pvv), 4, 4),
            ("panSequenceNumber", text(&input.pan_sequence_number), 2, 2),
        ] {
            if let Some((code, limit)) = v.and_then(|v| check_digits(v.trim(), min, max)) {
                err(path, code, limit);
            }
        }
        let effective = match text(&input.effective_date).map(str::trim) {
            None | Some("") => None,
            Some(v) => match parse_mm_yy(v) {
                Ok(ym) => {
                    if exp.is_some_and(|e| ym > e) {
                        err("effectiveDate", FieldErrorCode::EffectiveAfterExpiry, None);
                    }
                    Some(ym)
                }
                Err(code) => {
                    err("effectiveDate", code, None);
                    None
                }
            },
        };
        if let Some(par) = non_empty(text(&input.payment_account_reference)) {
            let n = par.chars().count();
            let problem = if n < 29 {
                Some((FieldErrorCode::TooShort, Some(29)))
            } else if n > 29 {
                Some((FieldErrorCode::TooLong, Some(29)))
            } else if !par
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                Some((FieldErrorCode::Pattern, None))
            } else {
                None
            };
            if let Some((code, limit)) = problem {
                err("paymentAccountReference", code, limit);
            }
        }
        if let Some(t) = &input.track_data {
            let t1 = |c: char| (' '..='_').contains(&c);
            let t23 = |c: char| c.is_ascii_digit() || c == '=' || c == 'D';
            for (path, v, max, ok) in [
                (
                    "trackData.track1",
                    text(&t.track1),
                    79usize,
                    &t1 as &dyn Fn(char) -> bool,
                ),
                ("trackData.track2", text(&t.track2), 40, &t23),
                ("trackData.track3", text(&t.track3), 107, &t23),
            ] {
                if let Some(v) = non_empty(v) {
                    if v.chars().count() > max {
                        err(path, FieldErrorCode::TooLong, Some(max));
                    } else if !v.chars().all(ok) {
                        err(path, FieldErrorCode::Pattern, None);
                    }
                }
            }
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        let Some(exp) = exp else {
            return Err(vec![FieldError::new(
                "cardData.exp",
                FieldErrorCode::InvalidDate,
            )]);
        };
        let opt = |v: Option<&str>| non_empty(v).map(str::to_string);
        let name = |v: &Option<CardholderName>| opt(v.as_ref().map(CardholderName::expose));
        let cvv = |v: &Option<Cvv>| opt(v.as_ref().map(Cvv::expose));
        Ok(CardData {
            pan: pan.expose().clone(),
            exp: format_exp(exp, rules.exp_format),
            name: input.name.expose().trim().to_string(),
            second_name: name(&input.second_name),
            encoded_name: name(&input.encoded_name),
            cvv2: cvv(&input.cvv2),
            cvv1: cvv(&input.cvv1),
            pvv: opt(text(&input.pvv)),
            pan_sequence_number: opt(text(&input.pan_sequence_number))
                .unwrap_or_else(|| "00".into()),
            effective_date: effective.map(|e| format_exp(e, rules.exp_format)),
            payment_account_reference: opt(text(&input.payment_account_reference)),
            track_data: input.track_data.as_ref().and_then(|t| {
                let t = TrackData {
                    track1: opt(text(&t.track1)),
                    track2: opt(text(&t.track2)),
                    track3: opt(text(&t.track3)),
                };
                (t.track1.is_some() || t.track2.is_some() || t.track3.is_some()).then_some(t)
            }),
        })
    }
}

/// The text of an optional sensitive field.
fn text(v: &Option<Sensitive<String>>) -> Option<&str> {
    v.as_ref().map(|s| s.expose().as_str())
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// A problem's code, and the limit it crossed when there is one.
type Problem = (FieldErrorCode, Option<usize>);

/// What a printed name may hold: what a card's track 1 can carry.
pub(crate) fn name_char_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '\'' | '-' | '/')
}

fn check_name(name: &str, max: usize, required: bool) -> Option<Problem> {
    if name.is_empty() {
        return required.then_some((FieldErrorCode::Required, None));
    }
    if name.chars().count() > max {
        return Some((FieldErrorCode::TooLong, Some(max)));
    }
    if !name.chars().all(name_char_allowed) || !name.chars().any(|c| c.is_ascii_alphabetic()) {
        return Some((FieldErrorCode::Pattern, None));
    }
    None
}

fn check_digits(v: &str, min: usize, max: usize) -> Option<Problem> {
    if v.is_empty() {
        return None;
    }
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        Some((FieldErrorCode::NotDigits, None))
    } else if v.len() < min {
        Some((FieldErrorCode::TooShort, Some(min)))
    } else if v.len() > max {
        Some((FieldErrorCode::TooLong, Some(max)))
    } else {
        None
    }
}

/// Parses `MM/YY` into (year, month).
fn parse_mm_yy(v: &str) -> Result<(i32, u8), FieldErrorCode> {
    let v = v.trim();
    if v.is_empty() {
        return Err(FieldErrorCode::Required);
    }
    let b = v.as_bytes();
    if b.len() != 5 || b[2] != b'/' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return Err(FieldErrorCode::InvalidDate);
    }
    let month = (b[0] - b'0') * 10 + (b[1] - b'0');
    let yy = i32::from((b[3] - b'0') * 10 + (b[4] - b'0'));
    if Month::try_from(month).is_err() {
        return Err(FieldErrorCode::InvalidDate);
    }
    Ok((2000 + yy, month))
}

fn format_exp((year, month): (i32, u8), format: ExpFormat) -> String {
    let yy = year % 100;
    match format {
        ExpFormat::Yymm => format!("{yy:02}{month:02}"),
        ExpFormat::Mmyy => format!("{month:02}{yy:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CANARY: &str = "4000056655665556";
    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00 UTC);

    fn input() -> CardDataInput {
        CardDataInput::new(CANARY, "11/29", "JANE Q DOE")
    }

    fn errs(i: &CardDataInput, r: &ProductRules) -> Vec<(String, FieldErrorCode)> {
        match CardData::from_input_at(i, r, NOW) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|e| (e.path, e.code)).collect(),
        }
    }

    fn one(path: &str, code: FieldErrorCode) -> Vec<(String, FieldErrorCode)> {
        vec![(format!("cardData.{path}"), code)]
    }

    #[test]
    fn valid_input_gives_wire_values_and_defaults() {
        let d = CardData::from_input_at(&input(), &ProductRules::default(), NOW).unwrap();
        assert_eq!(d.exp, "2911");
        assert_eq!(d.pan_sequence_number, "00");
        assert_eq!(d.last4(), "5556");
        assert_eq!(d.masked_pan(), "•••• 5556");
        let mmyy = ProductRules {
            exp_format: ExpFormat::Mmyy,
            ..Default::default()
        };
        assert_eq!(
            CardData::from_input_at(&input(), &mmyy, NOW).unwrap().exp,
            "1129"
        );
    }

    #[test]
    fn pan_rules() {
        let r = ProductRules::default();
        let mut i = input();
        i.pan = "4000 0566 5566 5556".into(); // spaces between groups are accepted
        assert!(errs(&i, &r).is_empty());
        i.pan = "4000056655665557".into();
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::InvalidLuhn));
        i.pan = "40000566556655a6".into();
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::NotDigits));
        i.pan = "42424242426".into(); // 11 digits
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::TooShort));
        i.pan = "42424242424242424242".into(); // 20 digits
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::TooLong));
        i.pan = "".into();
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::Required));
        i.pan = "４000056655665556".into(); // full-width digit
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::NotDigits));
    }

    #[test]
    fn pan_length_and_bin_per_product() {
        let r = ProductRules {
            bin_ranges: vec![BinRange {
                low: 400005,
                high: 400006,
                prefix_len: 6,
            }],
            pan_lengths: vec![16],
            ..Default::default()
        };
        assert!(errs(&input(), &r).is_empty());
        let mut i = input();
        i.pan = "5555555555554444".into();
        assert_eq!(errs(&i, &r), one("pan", FieldErrorCode::BinNotAllowed));
        i.pan = "400005000000000005".into(); // 18 digits, Luhn-valid
        assert_eq!(
            errs(&i, &r),
            one("pan", FieldErrorCode::PanLengthNotAllowed)
        );
        // 12 and 19 are the boundaries of the default rules.
        let d = ProductRules::default();
        i.pan = "400000000002".into();
        assert!(errs(&i, &d).is_empty(), "{:?}", errs(&i, &d));
        i.pan = "4000000000000000006".into();
        assert!(errs(&i, &d).is_empty());
    }

    #[test]
    fn expiry_rules() {
        let r = ProductRules::default();
        let mut i = input();
        i.exp = "11/26".into(); // current month is still valid
        assert!(errs(&i, &r).is_empty());
        i.exp = "10/26".into();
        assert_eq!(errs(&i, &r), one("exp", FieldErrorCode::Expired));
        for bad in ["13/27", "00/27", "1/27", "11-27", "1127", "ab/cd"] {
            i.exp = bad.into();
            assert_eq!(
                errs(&i, &r),
                one("exp", FieldErrorCode::InvalidDate),
                "{bad}"
            );
        }
        i.exp = "".into();
        assert_eq!(errs(&i, &r), one("exp", FieldErrorCode::Required));
        i.exp = "12/29".into();
        i.effective_date = Some("01/30".into());
        assert_eq!(
            errs(&i, &r),
            one("effectiveDate", FieldErrorCode::EffectiveAfterExpiry)
        );
        i.effective_date = Some("11/26".into());
        assert_eq!(
            CardData::from_input_at(&i, &r, NOW)
                .unwrap()
                .effective_date
                .as_deref(),
            Some("2611")
        );
    }

    #[test]
    fn name_rules() {
        let r = ProductRules {
            name_max_length: 10,
            ..Default::default()
        };
        let mut i = input();
        i.name = "O'NEIL-SMITH".into(); // 12 > 10
        assert_eq!(errs(&i, &r), one("name", FieldErrorCode::TooLong));
        i.name = "MR. J/DOE".into();
        assert!(errs(&i, &r).is_empty());
        i.name = "ZOË".into();
        assert_eq!(errs(&i, &r), one("name", FieldErrorCode::Pattern));
        i.name = "...".into();
        assert_eq!(errs(&i, &r), one("name", FieldErrorCode::Pattern));
        i.name = "   ".into();
        assert_eq!(errs(&i, &r), one("name", FieldErrorCode::Required));
        i.name = "JOE".into();
        i.second_name = Some("A\u{0301}".into());
        assert_eq!(errs(&i, &r), one("secondName", FieldErrorCode::Pattern));
    }

    #[test]
    fn optional_numeric_fields() {
        let r = ProductRules::default();
        let mut i = input();
        i.cvv2 = Some("12".into());
        i.pvv = Some("12345".into());
        i.pan_sequence_number = Some("0x".into());
        i.cvv1 = Some("123".into());
        assert_eq!(
            errs(&i, &r),
            vec![
                ("cardData.cvv2".into(), FieldErrorCode::TooShort),
                ("cardData.pvv".into(), FieldErrorCode::TooLong),
                (
                    "cardData.panSequenceNumber".into(),
                    FieldErrorCode::NotDigits
                ),
            ]
        );
        i.cvv2 = Some("1234".into());
        i.pvv = Some("1234".into());
        i.pan_sequence_number = Some("01".into());
        let d = CardData::from_input_at(&i, &r, NOW).unwrap();
        assert_eq!(d.pan_sequence_number, "01");
    }

    #[test]
    fn par_and_tracks() {
        let r = ProductRules::default();
        let mut i = input();
        i.payment_account_reference = Some("V0010013816180398947283928".into()); // 26
        i.track_data = Some(TrackDataInput {
            track1: Some("B4000056655665556^DOE/JANE^2911101".into()),
            track2: Some("4000056655665556=2911101?".into()),
            track3: Some("x".repeat(108).into()),
        });
        assert_eq!(
            errs(&i, &r),
            vec![
                (
                    "cardData.paymentAccountReference".into(),
                    FieldErrorCode::TooShort
                ),
                ("cardData.trackData.track2".into(), FieldErrorCode::Pattern),
                ("cardData.trackData.track3".into(), FieldErrorCode::TooLong),
            ]
        );
        i.payment_account_reference = Some("V0010013816180398947283928123".into());
        i.track_data = Some(TrackDataInput {
            track1: None,
            track2: Some("4000056655665556=2911101".into()),
            track3: None,
        });
        assert!(errs(&i, &r).is_empty());
    }

    #[test]
    fn debug_is_redacted_and_errors_never_carry_values() {
        let d = CardData::from_input_at(&input(), &ProductRules::default(), NOW).unwrap();
        assert_eq!(format!("{d:?}"), "<redacted>");
        let shown = format!("{:?}", input());
        assert!(
            !shown.contains("5556") && !shown.contains("JANE"),
            "{shown}"
        );
        let mut i = input();
        i.pan = "4000056655665557".into();
        let e = CardData::from_input_at(&i, &ProductRules::default(), NOW).unwrap_err();
        let text = format!("{e:?} {}", e[0]);
        assert!(!text.contains("400005665566555"));
    }

    #[test]
    fn input_deserializes_from_ipc_json() {
        let i: CardDataInput = serde_json::from_str(
            r#"{"pan":"4000056655665556","exp":"11/29","name":"JANE DOE","trackData":{"track2":"1=2"}}"#,
        )
        .unwrap();
        assert!(CardData::from_input_at(&i, &ProductRules::default(), NOW).is_ok());
    }
}
