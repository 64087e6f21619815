//! Defences that keep card numbers out of the journal even when a caller makes a mistake.
//!
//! * Identifier fields are validated and refused when they contain something shaped like a PAN
//!   (13–19 consecutive digits passing the Luhn check). The error never repeats the value.
//! * Free-text fields (D1 status, reason, error code and message, details) are scrubbed: any run of
//!   12 or more digits — also when written in groups separated by single spaces, dashes or dots —
//!   is replaced by [`REMOVED`]; control characters become spaces; the length is capped.

use desk_domain::luhn_valid;

use crate::error::{JournalError, Result};

/// What replaces a long digit run in free text.
pub const REMOVED: &str = "[number removed]";

/// Digit runs this long or longer are removed from free text.
pub const MIN_REMOVED_DIGITS: usize = 12;

/// Maximum stored length (characters) of an error message or history detail.
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// Maximum stored length (characters) of a D1 status or error code.
pub const MAX_CODE_CHARS: usize = 100;

/// A D1 id (valid by its type) must still never look like a card number.
pub fn refuse_pan_shaped(field: &'static str, value: &str) -> Result<()> {
    if has_pan_shaped_run(value, true) {
        return Err(invalid(field, "it looks like a card number"));
    }
    Ok(())
}

/// Most characters of a reason code.
pub const MAX_REASON_CODE_CHARS: usize = 40;

/// A reason code from a configured list (a spoiled card's reason): `^[a-z][a-z0-9_]{0,39}$`.
/// The ledger's `reason_code` domain is the same rule.
pub fn check_reason_code(field: &'static str, value: &str) -> Result<()> {
    let mut bytes = value.bytes();
    match bytes.next() {
        None => return Err(invalid(field, "it is empty")),
        Some(b) if !b.is_ascii_lowercase() => {
            return Err(invalid(field, "it must start with a letter a-z"));
        }
        Some(_) => {}
    }
    if value.len() > MAX_REASON_CODE_CHARS {
        return Err(invalid(field, "it is longer than 40 characters"));
    }
    if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(invalid(
            field,
            "only letters a-z, digits and '_' are allowed",
        ));
    }
    Ok(())
}

/// Configuration labels and the operator name: 1..=max printable characters, nothing PAN-shaped.
pub fn check_label(field: &'static str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(field, "it is empty"));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(field, "it is too long"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "it contains control characters"));
    }
    if has_pan_shaped_run(value, true) {
        return Err(invalid(field, "it looks like a card number"));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: &'static str) -> JournalError {
    JournalError::InvalidInput { field, reason }
}

/// Collects digit runs; with `separators`, single ' ', '-' or '.' between digits continue a run
/// (unless the run starts right after a letter).
fn digit_runs(s: &str, separators: bool) -> Vec<(usize, usize, String)> {
    let bytes = s.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        // Groups glued to a letter ("a716-4466…" in a UUID) are not joined across separators.
        let join = separators && (start == 0 || !bytes[start - 1].is_ascii_alphabetic());
        let mut digits = String::new();
        let mut end = i;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_digit() {
                digits.push(char::from(b));
                i += 1;
                end = i;
            } else if join
                && matches!(b, b' ' | b'-' | b'.')
                && i + 1 < bytes.len()
                && bytes[i + 1].is_ascii_digit()
            {
                i += 1;
            } else {
                break;
            }
        }
        runs.push((start, end, digits));
        i = end.max(start + 1);
    }
    runs
}

/// True when `s` holds something shaped like a PAN: 13–19 digits passing the Luhn check, either
/// consecutive or (with `separators`) written in groups of 1–7 digits joined by single ' ', '-'
/// or '.' (any consecutive chain of such groups counts; a group glued to a letter does not
/// chain). A UUID never matches: its all-digit groups of 4 add up to at most 12 digits, its 8-
/// and 12-character groups break a chain, and partly-hex groups are glued to letters.
pub(crate) fn has_pan_shaped_run(s: &str, separators: bool) -> bool {
    let pan = |d: &str| (13..=19).contains(&d.len()) && luhn_valid(d);
    // Consecutive digit groups with their byte spans.
    let groups = digit_runs(s, false);
    if groups.iter().any(|(_, _, d)| pan(d)) {
        return true;
    }
    if !separators {
        return false;
    }
    let bytes = s.as_bytes();
    let joined = |a: &(usize, usize, String), b: &(usize, usize, String)| {
        b.0 == a.1 + 1 && matches!(bytes.get(a.1), Some(b' ' | b'-' | b'.'))
    };
    for start in 0..groups.len() {
        let mut digits = String::new();
        for k in start..groups.len() {
            let g = &groups[k];
            let glued = (g.0 > 0 && bytes[g.0 - 1].is_ascii_alphabetic())
                || bytes.get(g.1).is_some_and(u8::is_ascii_alphabetic);
            if glued || g.2.len() > 7 || (k > start && !joined(&groups[k - 1], g)) {
                break;
            }
            digits.push_str(&g.2);
            if digits.len() > 19 {
                break;
            }
            if k > start && pan(&digits) {
                return true;
            }
        }
    }
    false
}

/// Makes free text safe to store: long digit runs removed, control characters replaced, capped.
pub fn scrub_free_text(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut last = 0;
    for (start, end, digits) in digit_runs(s, true) {
        if digits.len() >= MIN_REMOVED_DIGITS {
            out.push_str(&s[last..start]);
            out.push_str(REMOVED);
            last = end;
        }
    }
    out.push_str(&s[last..]);
    let cleaned: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    cleaned.trim().to_owned()
}

/// Scrubs an optional free-text value; empty after scrubbing becomes `None`.
pub(crate) fn scrub_opt(s: Option<&str>, max_chars: usize) -> Option<String> {
    s.map(|v| scrub_free_text(v, max_chars))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "4000056655665556";

    #[test]
    fn reason_codes_are_short_lower_case_words() {
        for ok in ["misprint", "wrong_data", "a", "test_card2", &"r".repeat(40)] {
            assert!(check_reason_code("reason", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Misprint",
            "2nd",
            "_x",
            "wrong data",
            "wrong-data",
            "é",
            &"r".repeat(41),
        ] {
            assert!(check_reason_code("reason", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scrub_removes_plain_grouped_and_embedded_runs() {
        for text in [
            CANARY.to_owned(),
            format!("card {CANARY} refused"),
            "4000 0566 5566 5556".to_owned(),
            "4000-0566-5566-5556".to_owned(),
            "4000.0566.5566.5556".to_owned(),
            format!("x{CANARY}y"),
            "123456789012".to_owned(),
        ] {
            let s = scrub_free_text(&text, 1000);
            assert!(!s.contains("5566"), "{s}");
            assert!(s.contains(REMOVED), "{s}");
        }
    }

    #[test]
    fn scrub_keeps_short_numbers_dates_and_ids() {
        let text = "HTTP 503 at 2026-11-25T01:02:03.456Z, retry 3 of 5, code 12345678901";
        assert_eq!(scrub_free_text(text, 1000), text);
        let uuid = "550e8400-e29b-41d4-a716-44665544000a";
        assert_eq!(scrub_free_text(uuid, 1000), uuid);
        // A 12-digit group is a 12-digit run: removed, as the rule says.
        let all_digit_group = "550e8400-e29b-41d4-a716-446655440000";
        assert!(scrub_free_text(all_digit_group, 1000).ends_with(REMOVED));
    }

    #[test]
    fn scrub_caps_length_and_replaces_control_characters() {
        assert_eq!(scrub_free_text("a\nb\tc\u{0}d", 100), "a b c d");
        assert_eq!(scrub_free_text(&"é".repeat(50), 10).chars().count(), 10);
        assert_eq!(scrub_opt(Some("   "), 10), None);
    }

    #[test]
    fn ids_refuse_pan_shapes() {
        // The D1 pattern itself is the id types' (desk_domain); here only the PAN shape.
        assert!(refuse_pan_shaped("card_id", "a").is_ok());
        assert!(refuse_pan_shaped("card_id", "550e8400-e29b-41d4-a716-446655440000").is_ok());
        // UUID with an all-digit 12-char group is fine (12 digits is not PAN-shaped).
        assert!(refuse_pan_shaped("card_id", "12345678-1234-1234-1234-123456789012").is_ok());
        assert!(refuse_pan_shaped("consumer_id", CANARY).is_err());
        assert!(refuse_pan_shaped("consumer_id", &format!("C{CANARY}")).is_err());
        assert!(refuse_pan_shaped("consumer_id", "a-4000-0566-5566-5556").is_err());
        assert!(refuse_pan_shaped("consumer_id", "1-4000-0566-5566-5556-9").is_err());
        assert!(refuse_pan_shaped("consumer_id", "3782-822463-10005").is_err());
        // 16 digits that fail Luhn are a legitimate number, not a PAN.
        assert!(refuse_pan_shaped("consumer_id", "4000056655665557").is_ok());
    }

    #[test]
    fn uuids_are_never_pan_shaped() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 11
        };
        for _ in 0..20_000 {
            // Digit-heavy UUID-shaped ids: every hex digit is a decimal digit 90% of the time.
            let id: String = [8, 4, 4, 4, 12]
                .iter()
                .map(|&n| {
                    (0..n)
                        .map(|_| {
                            let r = next();
                            if r % 10 == 0 {
                                'a'
                            } else {
                                char::from(b'0' + u8::try_from(r % 10).unwrap_or(0))
                            }
                        })
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("-");
            assert!(refuse_pan_shaped("card_id", &id).is_ok(), "{id}");
        }
    }

    #[test]
    fn labels_refuse_empty_control_long_and_pan_shapes() {
        assert!(check_label("operator", "DOMAIN\\jane.doe", 256).is_ok());
        assert!(check_label("operator", " ", 256).is_err());
        assert!(check_label("operator", "a\u{7}", 256).is_err());
        assert!(check_label("station_id", &"s".repeat(129), 128).is_err());
        assert!(check_label("station_id", &"s".repeat(128), 128).is_ok());
        assert!(check_label("station_id", "4000 0566 5566 5556", 128).is_err());
    }

    #[test]
    fn refusal_messages_never_repeat_the_value() {
        let e = refuse_pan_shaped("consumer_id", CANARY)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("consumer_id"));
        assert!(!e.contains("5556"));
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn has_run(s: &str, n: usize) -> bool {
        let mut run = 0;
        for b in s.bytes() {
            run = if b.is_ascii_digit() { run + 1 } else { 0 };
            if run >= n {
                return true;
            }
        }
        false
    }

    proptest! {
        /// Whatever surrounds a card number, the scrubbed text never holds 12 digits in a row,
        /// nor the card number in its grouped forms.
        #[test]
        fn scrubbed_text_never_keeps_a_pan(
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            sep in prop::sample::select(vec!["", " ", "-", "."]),
        ) {
            let pan = ["4000", "0566", "5566", "5556"].join(sep);
            let out = scrub_free_text(&format!("{before}{pan}{after}"), 10_000);
            prop_assert!(!has_run(&out, 12), "{out}");
            prop_assert!(!out.contains(&pan), "{out}");
        }

        /// Text without long digit runs or control characters comes back unchanged (trimmed).
        #[test]
        fn ordinary_text_is_kept(text in "[A-Za-z0-9 ,.:_-]{0,80}") {
            prop_assume!(!digit_runs(&text, true).iter().any(|r| r.2.len() >= MIN_REMOVED_DIGITS));
            prop_assert_eq!(scrub_free_text(&text, 1000), text.trim());
        }
    }
}
