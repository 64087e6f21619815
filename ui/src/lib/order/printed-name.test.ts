import { describe, expect, it } from "vitest";
import { printable, transliteration } from "./printed-name";

describe("printed name", () => {
  it("offers the name without accents", () => {
    expect(transliteration("JOSÉ PEÑA MÜLLER")).toBe("JOSE PENA MULLER");
    expect(transliteration("JOSE\u0301 PEN\u0303A")).toBe("JOSE PENA"); // typed decomposed
    expect(transliteration("STRAßE ØSTERGÅRD")).toBe("STRASSE OSTERGARD");
    expect(transliteration("Łukasz Żółw")).toBe("Lukasz Zolw");
  });

  it("offers nothing for a name that prints as it is, or that cannot be made printable", () => {
    expect(transliteration("ANNE-MARIE O'NEIL")).toBeNull();
    expect(transliteration("")).toBeNull();
    expect(transliteration("李小龍")).toBeNull();
    expect(transliteration("ANA ™")).toBeNull();
  });

  it("knows the track's characters", () => {
    expect(printable("J. SMITH/ACME 2")).toBe(true);
    expect(printable("JOSÉ")).toBe(false);
    expect(printable("ANA_GARCIA")).toBe(false);
  });
});
