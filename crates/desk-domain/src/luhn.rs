//! The Luhn check digit: the one implementation every crate calls (the card rules, the
//! journal's guard against a PAN in free text). The D1 sandbox keeps its own on purpose: it is
//! the independent oracle the tests hold the desk against.

/// The Luhn sum of `digits`, doubling every second digit from the right when `doubled_first`
/// (the rightmost digit is the check digit's neighbour); `None` when one is not an ASCII digit.
fn luhn_sum(digits: &str, doubled_first: bool) -> Option<u32> {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(b - b'0');
        if (i % 2 == 0) == doubled_first {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    Some(sum)
}

/// Whether `digits` (ASCII digits only) passes the Luhn check. Anything that is not an ASCII
/// digit makes it fail.
pub fn luhn_valid(digits: &str) -> bool {
    luhn_sum(digits, false).is_some_and(|sum| sum.is_multiple_of(10))
}

/// The check digit that makes `body` followed by it pass the Luhn check; `None` when `body`
/// holds anything but ASCII digits.
pub fn luhn_check_digit(body: &str) -> Option<char> {
    let sum = luhn_sum(body, true)?;
    char::from_digit((10 - sum % 10) % 10, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert!(luhn_valid("4000056655665556"));
        assert!(luhn_valid("5555555555554444"));
        assert!(luhn_valid("400000000002"));
        assert!(!luhn_valid("4000056655665557"));
        assert!(!luhn_valid("40000566556655a6"));
        assert!(!luhn_valid("4000 0566 5566 5556"));
    }

    #[test]
    fn the_check_digit_completes_a_valid_number() {
        assert_eq!(luhn_check_digit("400005665566555"), Some('6'));
        assert_eq!(luhn_check_digit("555555555555444"), Some('4'));
        assert_eq!(luhn_check_digit("40000000000"), Some('2'));
        assert_eq!(luhn_check_digit("4a"), None);
        for body in ["4", "41111111111111", "3782822463100", "601100099013942"] {
            let digit = luhn_check_digit(body).unwrap();
            assert!(luhn_valid(&format!("{body}{digit}")), "{body}{digit}");
        }
    }
}
