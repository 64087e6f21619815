// The journal's notes (written by Rust in plain English for the log: "operation 3f2a…",
// "outcome unknown: transport", "resent with the same card id", a D1 reason such as
// PRINTER_JAM, a refusal's message) in the supervisor's language. Unknown notes are shown as
// they are.
import { failureName, reasonName } from "../names";

type Translate = (key: string, options?: { default?: string; values?: Record<string, string | number> }) => string;

const PATTERNS: Array<[RegExp, (t: Translate, m: RegExpExecArray) => string]> = [
  [/^operation (\S+)$/, (t, m) => t("history.operation", { values: { id: m[1] ?? "" } })],
  [/^resent with the same card id$/, (t) => t("history.resent")],
  [/^outcome unknown: (.+)$/, (t, m) => t("history.outcomeUnknown", { values: { why: failureName(t, cause(m[1])) } })],
  [/^not sent: (.+)$/, (t, m) => t("history.notSent", { values: { why: failureName(t, cause(m[1])) } })],
  [/^D1 had no record of the order (\d+) s after it was last sent$/, (t, m) => t("history.noRecord", { values: { seconds: Number(m[1]) } })],
];

/** `Unknown { reason: … }`-style debug text is reduced to its code. */
function cause(text: string | undefined): string {
  const word = /[A-Za-z_]+/.exec(text ?? "")?.[0] ?? "unknown";
  return word.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** A history note in the current language. */
export function historyNote(t: Translate, note: string): string {
  for (const [pattern, render] of PATTERNS) {
    const match = pattern.exec(note);
    if (match) return render(t, match);
  }
  return reasonName(t, note);
}

/** The error of an order in words: a refusal by its code, a production exception by its reason. */
export function errorWords(t: Translate, code: string | null, message: string | null): string {
  if (code) {
    const known = t(`error.codes.${code}`, { default: "" });
    if (known) return known;
  }
  return message ? historyNote(t, message) : "";
}
