// Dates, times and numbers in the teller's chosen language (never the OS default): "8:38"
// and "30/11/2026" in Spanish, "8:38 AM" and "11/30/2026" in English.

export function formatTime(ms: number | null, language: string | null | undefined): string {
  if (ms === null) return "—";
  return new Date(ms).toLocaleTimeString(language ?? "en", { hour: "2-digit", minute: "2-digit" });
}

export function formatDateTime(ms: number | null, language: string | null | undefined, seconds = false): string {
  if (ms === null) return "—";
  return new Date(ms).toLocaleString(language ?? "en", { dateStyle: "short", timeStyle: seconds ? "medium" : "short" });
}

export function formatNumber(n: number, language: string | null | undefined): string {
  return new Intl.NumberFormat(language ?? "en").format(n);
}

/** The order of day, month and year in `language`'s short dates, e.g. `["month", "day", "year"]`. */
export function dateOrder(language: string | null | undefined): Array<"day" | "month" | "year"> {
  const parts = new Intl.DateTimeFormat(language ?? "en", { day: "2-digit", month: "2-digit", year: "numeric" }).formatToParts(
    new Date(2026, 10, 30),
  );
  return parts.filter((p) => p.type === "day" || p.type === "month" || p.type === "year").map((p) => p.type as "day" | "month" | "year");
}

/** A date typed in `language`'s order (`30/11/2026` in Spanish) as `yyyy-mm-dd`, or null. */
export function parseLocalDate(typed: string, language: string | null | undefined): string | null {
  const numbers = typed.trim().split(/[^0-9]+/).filter(Boolean);
  if (numbers.length !== 3) return null;
  const order = dateOrder(language);
  const value: Record<string, number> = {};
  order.forEach((part, i) => (value[part] = Number(numbers[i])));
  const { day, month, year } = value as { day: number; month: number; year: number };
  if (year < 1000 || month < 1 || month > 12 || day < 1) return null;
  const date = new Date(year, month - 1, day);
  if (date.getMonth() !== month - 1 || date.getDate() !== day) return null;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** `yyyy-mm-dd` shown in `language`'s order. */
export function formatLocalDate(iso: string, language: string | null | undefined): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) return "";
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).toLocaleDateString(language ?? "en", {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
  });
}
