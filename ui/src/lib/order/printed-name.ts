// The printed name's characters: what a card's magnetic stripe (track 1) can carry — the same
// set as the Rust rule (crates/d1-client/src/card.rs `name_char_allowed`), which decides at
// review. Here only to offer a transliteration while the teller types.

const ALLOWED = /^[A-Za-z0-9 .'\-/]$/;

/** Letters that do not decompose into a base letter and accents. */
const SPECIAL: Record<string, string> = {
  ß: "SS", ẞ: "SS", Æ: "AE", æ: "ae", Œ: "OE", œ: "oe", Ø: "O", ø: "o", Đ: "D", đ: "d",
  Ł: "L", ł: "l", Þ: "TH", þ: "th", Ð: "D", ð: "d", ı: "i",
};

/** Whether every character of `name` can be printed on the card. */
export function printable(name: string): boolean {
  return [...name].every((c) => ALLOWED.test(c));
}

/**
 * `name` with accents removed and special letters spelt out (JOSÉ PEÑA MÜLLER → JOSE PENA
 * MULLER), or null when it is already printable or cannot be made so.
 */
export function transliteration(name: string): string | null {
  if (printable(name)) return null;
  const out = [...name.normalize("NFD")]
    .filter((c) => !/\p{M}/u.test(c))
    .map((c) => SPECIAL[c] ?? c)
    .join("")
    .normalize("NFC");
  return printable(out) && out !== name ? out : null;
}
