//! The Luhn check digit: the one implementation every crate calls (the card rules, the
//! journal's guard against a PAN in free text). The D1 sandbox keeps its own on purpose: it is
//! the independent oracle the tests hold the desk against.

/// Whether `digits` (ASCII digits only) passes the Luhn check. Anything that is not an ASCII
/// digit makes it fail.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
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
}
