import type { FieldProblem, ProductOption } from "../../ipc/backend";
import { lineOf } from "./draft";

type Translate = (key: string, options?: { values?: Record<string, string | number> }) => string;

/** Which rule a field's characters follow, for the words of a `pattern` refusal. */
function ruleOf(field: string): string {
  if (field.startsWith("cardData.name") || field.startsWith("cardData.secondName")) return "name";
  if (field.includes("customLines")) return "lines";
  return "id";
}

/** A character as a person can read it: quoted, or named when it does not show. */
function characterName(t: Translate, character: string): string {
  if (character === " ") return t("problem.space");
  if (/\p{M}|\p{C}/u.test(character)) {
    return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return `“${character}”`;
}

/** A problem in the teller's words. The rule that found it lives in Rust. */
export function problemText(t: Translate, problem: FieldProblem, product?: ProductOption): string {
  const values: Record<string, string | number> = { code: problem.code };
  let key = `problem.${problem.code}`;
  if (problem.code === "too_long" && problem.limit == null) key = "problem.too_long_nolimit";
  if (problem.limit != null) values.limit = problem.limit;
  if (problem.code === "pan_length_not_allowed") values.lengths = product?.panLengths.join(" / ") ?? "12–19";
  if (problem.code === "pattern" && problem.character) {
    key = "problem.patternCharacter";
    values.character = characterName(t, problem.character);
    values.rule = t(`problem.rule.${ruleOf(problem.field)}`);
  }
  let text = t(key, { values });
  if (text === key) text = t("problem.unknown", { values });
  const line = lineOf(problem);
  return line ? `${t("order.line", { values: { line } })}: ${text}` : text;
}
