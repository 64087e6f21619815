import { describe, expect, it } from "vitest";
import bindings from "../ipc/bindings.ts?raw";
import en from "../locales/en.json";
import es from "../locales/es.json";
import { fakeError } from "./fake-backend";
import { errorAdvice, errorMessage } from "./errors";

/** Every error code Rust can send: the string literals of the generated unions. */
function codesInBindings(): string[] {
  const codes: string[] = [];
  for (const name of ["D1ErrorCode", "DeskErrorCode"]) {
    const start = bindings.indexOf(`export type ${name} =`);
    expect(start, name).toBeGreaterThan(-1);
    const body = bindings.slice(start, bindings.indexOf(";", start)).replace(/\/\*\*[\s\S]*?\*\//g, "");
    codes.push(...[...body.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1] as string));
  }
  return codes;
}

describe("error words", () => {
  it("every code Rust can send has a message in every language", () => {
    const codes = codesInBindings();
    expect(codes.length).toBeGreaterThan(30);
    for (const [language, words] of [["en", en], ["es", es]] as const) {
      const messages = words.error.codes as Record<string, string>;
      const missing = codes.filter((code) => !messages[code]);
      expect(missing, language).toEqual([]);
      const advice = words.error.advice as Record<string, string>;
      expect(Object.keys(advice).filter((code) => !codes.includes(code)), `${language}: advice for unknown codes`).toEqual([]);
    }
  });

  it("quotes the facts Rust sends, never words Rust wrote", () => {
    const t = (key: string, options?: { values?: Record<string, string | number>; default?: string }) => {
      const [section, group, code] = key.split(".");
      const table = (en as unknown as Record<string, Record<string, Record<string, string>>>)[section ?? ""]?.[group ?? ""] ?? {};
      const text = table[code ?? ""] ?? options?.default ?? key;
      return text.replace(/\{(\w+)\}/g, (_, name: string) => String(options?.values?.[name] ?? `{${name}}`));
    };
    expect(errorMessage(t, fakeError("checking", "no_record", { graceMinutes: 10 }))).toBe(
      "D1 has no record of this order 10 minutes after it was sent.",
    );
    expect(errorMessage(t, fakeError("forbidden", "not_supervisor", { user: "ana" }))).toBe("ana is not a supervisor on this desk.");
    const config = fakeError("setup", "config_invalid", { configProblems: [{ key: "ui.idle_clear_second", source: "/etc/x.toml" }] });
    expect(errorMessage(t, config)).toContain("ui.idle_clear_second (/etc/x.toml)");
    expect(errorAdvice(t, config)).toContain("issuance-desk-admin config check");
    expect(errorAdvice(t, fakeError("rejected", "unknown_order"))).toBeNull();
  });
});
