import type { FieldProblem, ProductOption } from "../../ipc/backend";
import { lineOf } from "./draft";

type Translate = (key: string, options?: { values?: Record<string, string | number> }) => string;

/** A problem in the teller's words. The rule that found it lives in Rust. */
export function problemText(t: Translate, problem: FieldProblem, product?: ProductOption): string {
  const values: Record<string, string | number> = { code: problem.code };
  let key = `problem.${problem.code}`;
  if (problem.code === "too_long" && problem.limit == null) key = "problem.too_long_nolimit";
  if (problem.limit != null) values.limit = problem.limit;
  if (problem.code === "pan_length_not_allowed") values.lengths = product?.panLengths.join(" / ") ?? "12–19";
  let text = t(key, { values });
  if (text === key) text = t("problem.unknown", { values });
  const line = lineOf(problem);
  return line ? `${t("order.line", { values: { line } })}: ${text}` : text;
}
