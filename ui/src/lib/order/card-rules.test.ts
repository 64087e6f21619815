import { describe, expect, it } from "vitest";
import vectors from "../../../../crates/d1-client/tests/card-rules-vectors.json";
import { checkExpiry, checkPan, luhnValid } from "./card-rules";

// The same vectors the Rust card rules are tested with (crates/d1-client/tests/card_rules_vectors.rs).
describe("card rules, against the Rust rule's vectors", () => {
  it("has vectors to check", () => {
    expect(vectors.pan.length).toBeGreaterThanOrEqual(10);
    expect(vectors.exp.length).toBeGreaterThanOrEqual(10);
  });

  it.each(vectors.pan)("PAN $pan for lengths $lengths → $code", ({ pan, lengths, code }) => {
    expect(checkPan(pan, lengths)).toBe(code);
  });

  it.each(vectors.exp)("expiry '$exp' → $code", ({ exp, code }) => {
    expect(checkExpiry(exp, vectors.now)).toBe(code);
  });

  it("checks the Luhn digit of every length", () => {
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
  });
});
