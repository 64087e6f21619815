// The words for an error from the shell. Rust sends a stable `code` (a union in the bindings)
// and facts; what happened and what to do are here, in every language (`error.codes.<code>`,
// `error.advice.<code>` in src/locales).
import type { IpcError } from "../ipc/backend";

type Translate = (key: string, options?: { values?: Record<string, string | number>; default?: string }) => string;

/** The facts an error's words may quote (`{correlationId}`, `{graceMinutes}`, `{keys}`, …). */
export function errorValues(error: IpcError): Record<string, string | number> {
  const values: Record<string, string | number> = { code: error.code };
  if (error.correlationId) values.correlationId = error.correlationId;
  if (error.cardId) values.cardId = error.cardId;
  if (error.httpStatus != null) values.httpStatus = error.httpStatus;
  if (error.d1ErrorCode) values.d1ErrorCode = error.d1ErrorCode;
  if (error.graceMinutes != null) values.graceMinutes = error.graceMinutes;
  if (error.user) values.user = error.user;
  if (error.ledgerError) values.ledgerError = error.ledgerError;
  if (error.configProblems.length > 0) {
    values.keys = error.configProblems.map((p) => (p.source ? `${p.key} (${p.source})` : p.key)).join("\n");
  }
  return values;
}

/** What happened, in the window's language. */
export function errorMessage(t: Translate, error: IpcError): string {
  return t(`error.codes.${error.code}`, { values: errorValues(error), default: t("error.codes.internal") });
}

/** What to do next, when the locales say it for this code. */
export function errorAdvice(t: Translate, error: IpcError): string | null {
  const advice = t(`error.advice.${error.code}`, { values: errorValues(error), default: "" });
  return advice === "" ? null : advice;
}
