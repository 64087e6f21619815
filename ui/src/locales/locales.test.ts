import { describe, expect, it } from "vitest";
import en from "./en.json";
import es from "./es.json";

type Tree = { [key: string]: string | Tree };

/** Every key path of a locale file, with its text. */
function entries(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === "string") out.set(prefix + key, value);
    else for (const [k, v] of entries(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

/** The `{placeholders}` of a message (ICU plural arms included), sorted. */
function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)[,}]/g)].map((m) => m[1] ?? ""))].sort();
}

const LANGUAGES: Record<string, Map<string, string>> = { en: entries(en as Tree), es: entries(es as Tree) };

describe("locale files", () => {
  for (const [language, messages] of Object.entries(LANGUAGES)) {
    for (const [other, otherMessages] of Object.entries(LANGUAGES)) {
      if (other === language) continue;
      it(`${language} has every key ${other} has`, () => {
        const missing = [...otherMessages.keys()].filter((key) => !messages.has(key));
        expect(missing).toEqual([]);
      });
    }
    it(`${language} has no empty message`, () => {
      const empty = [...messages].filter(([, text]) => text.trim() === "").map(([key]) => key);
      expect(empty).toEqual([]);
    });
  }

  it("every message takes the same values in both languages", () => {
    const differ = [...LANGUAGES.en!].filter(([key, text]) => {
      const spanish = LANGUAGES.es!.get(key);
      return spanish !== undefined && placeholders(spanish).join() !== placeholders(text).join();
    });
    expect(differ.map(([key]) => key)).toEqual([]);
  });
});
