// The card-data feedback while the teller types: grouping, length, check digit, expiry format.
// A copy of the Rust card rules (crates/d1-client/src/card.rs) for what the window checks before
// the review, tested against the same vectors (crates/d1-client/tests/card-rules-vectors.json),
// so that the card data does not cross IPC on every keystroke. The Rust rules still decide, at
// review and at submit (BIN ranges, name charset and length are checked only there).

/** The `FieldErrorCode` strings of the Rust rules these checks can give. */
export type CardRuleCode = "required" | "not_digits" | "too_short" | "too_long" | "pan_length_not_allowed" | "invalid_luhn" | "invalid_date" | "expired";

/** Luhn check over ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The PAN's problem for a product taking `lengths` digits (12–19 when unknown), or null. */
export function checkPan(typed: string, lengths: readonly number[] = DEFAULT_LENGTHS): CardRuleCode | null {
  // Spaces between digit groups are allowed; anything else is not a digit.
  const pan = typed.replaceAll(" ", "");
  if (pan === "") return "required";
  if (!/^[0-9]+$/.test(pan)) return "not_digits";
  if (pan.length < 12) return "too_short";
  if (pan.length > 19) return "too_long";
  if (!lengths.includes(pan.length)) return "pan_length_not_allowed";
  if (!luhnValid(pan)) return "invalid_luhn";
  return null;
}

/** The expiry's problem (`MM/YY`, not before the current month of `now`), or null. */
export function checkExpiry(typed: string, now: { year: number; month: number }): CardRuleCode | null {
  const exp = typed.trim();
  if (exp === "") return "required";
  const match = /^([0-9]{2})\/([0-9]{2})$/.exec(exp);
  if (!match) return "invalid_date";
  const month = Number(match[1]);
  const year = 2000 + Number(match[2]);
  if (month < 1 || month > 12) return "invalid_date";
  if (year < now.year || (year === now.year && month < now.month)) return "expired";
  return null;
}

/** The current month, as the expiry rule reads it (UTC, like the Rust rule). */
export function currentMonth(at: Date = new Date()): { year: number; month: number } {
  return { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1 };
}

const DEFAULT_LENGTHS = [12, 13, 14, 15, 16, 17, 18, 19] as const;
