// Display names of the codes D1 and the configuration use (priorities, issuance types, station
// and D1 reasons, failure codes), in the teller's language. Unknown codes are shown as they come;
// the raw code stays available to IT (on hover, or beside the name).

type Translate = (key: string, options?: { default?: string; values?: Record<string, string | number> }) => string;

export function priorityName(t: Translate, code: string | null | undefined): string {
  return code ? t(`priority.${code}`, { default: code }) : "—";
}

export function issuanceName(t: Translate, code: string): string {
  return t(`issuance.${code}`, { default: code });
}

/** A station's or D1's reason (e.g. `PRINTER_JAM`) in plain words; unknown ones as they come. */
export function reasonName(t: Translate, code: string): string {
  return t(`reason.${code}`, { default: code });
}

/** Whether `reasonName` knows the reason (else the raw text is all there is). */
export function knowsReason(t: Translate, code: string): boolean {
  return t(`reason.${code}`, { default: "" }) !== "";
}

/** A failure code of the journal (D1's status of a failed order, or the refusal's code). */
export function failureName(t: Translate, code: string): string {
  return t(`failure.${code}`, { default: code });
}
