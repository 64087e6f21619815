import { describe, expect, it } from "vitest";
import { STALE_AFTER_MS, ageMessage, dayEnd, dayStart, freshness } from "./freshness";

const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);

describe("freshness", () => {
  it("a final status is final however old", () => {
    expect(freshness({ pending: false, checkedAt: NOW - 86_400_000, updatedAt: NOW - 86_400_000 }, NOW).kind).toBe("final");
  });

  it("a pending status checked within the limit is current, one second past it is stale", () => {
    const at = (age: number) => freshness({ pending: true, checkedAt: NOW - age, updatedAt: NOW - 3_600_000 }, NOW).kind;
    expect(at(STALE_AFTER_MS)).toBe("checked");
    expect(at(STALE_AFTER_MS + 1000)).toBe("stale");
  });

  it("without a check time the last change counts, never 'now'", () => {
    const f = freshness({ pending: true, checkedAt: null, updatedAt: NOW - 600_000 }, NOW);
    expect(f).toEqual({ kind: "stale", at: NOW - 600_000, ageMs: 600_000 });
    expect(freshness({ pending: true, checkedAt: null, updatedAt: null }, NOW).kind).toBe("stale");
  });

  it("ages read as minutes, hours, days", () => {
    expect(ageMessage(59_000)).toEqual(["supervisor.freshness.justNow", 0]);
    expect(ageMessage(5 * 60_000)).toEqual(["supervisor.freshness.minutes", 5]);
    expect(ageMessage(3 * 3_600_000)).toEqual(["supervisor.freshness.hours", 3]);
    expect(ageMessage(72 * 3_600_000)).toEqual(["supervisor.freshness.days", 3]);
  });

  it("date inputs become local day bounds; invalid input is no bound", () => {
    const start = dayStart("2026-11-25");
    expect(start).toBe(new Date(2026, 10, 25).getTime());
    expect(dayEnd("2026-11-25")).toBe(new Date(2026, 10, 26).getTime());
    expect(dayStart("")).toBeNull();
    expect(dayStart("25/11/2026")).toBeNull();
  });
});
