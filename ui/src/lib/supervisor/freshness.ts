import type { OrderRow } from "../../ipc/backend";

/** A pending status older than this is shown as possibly out of date. */
export const STALE_AFTER_MS = 2 * 60_000;

export type Freshness = {
  /** `final`: cannot change any more; `checked`: recently confirmed by D1; `stale`: may have changed. */
  kind: "final" | "checked" | "stale";
  /** When the status was last known to be true (ms since the epoch). */
  at: number;
  ageMs: number;
};

/** How current an order's status is. A pending status is never shown as current without a recent check. */
export function freshness(row: Pick<OrderRow, "pending" | "checkedAt" | "updatedAt">, now: number): Freshness {
  const at = row.checkedAt ?? row.updatedAt ?? 0;
  const ageMs = Math.max(0, now - at);
  if (!row.pending) return { kind: "final", at, ageMs };
  return { kind: ageMs > STALE_AFTER_MS ? "stale" : "checked", at, ageMs };
}

/** `[key, n]` of the i18n age message (`supervisor.freshness.*`). */
export function ageMessage(ageMs: number): [string, number] {
  const minutes = Math.floor(ageMs / 60_000);
  if (minutes < 1) return ["supervisor.freshness.justNow", 0];
  if (minutes < 60) return ["supervisor.freshness.minutes", minutes];
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return ["supervisor.freshness.hours", hours];
  return ["supervisor.freshness.days", Math.floor(hours / 24)];
}

/** Local midnight of an `<input type="date">` value, or null when empty or invalid. */
export function dayStart(value: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return null;
  const t = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).getTime();
  return Number.isNaN(t) ? null : t;
}

/** Local midnight after the day of `value` (an inclusive "to" date). */
export function dayEnd(value: string): number | null {
  const start = dayStart(value);
  if (start === null) return null;
  const d = new Date(start);
  d.setDate(d.getDate() + 1);
  return d.getTime();
}
