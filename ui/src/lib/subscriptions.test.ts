import { describe, expect, it } from "vitest";
import { Subscriptions } from "./subscriptions";

describe("Subscriptions", () => {
  it("ends those in place, and those that arrive after the end, once each", async () => {
    const ended: string[] = [];
    const subscriptions = new Subscriptions();
    await subscriptions.add(Promise.resolve(() => ended.push("early")));
    let arrive: (stop: () => void) => void = () => {};
    const late = subscriptions.add(new Promise((resolve) => (arrive = resolve)));
    subscriptions.end();
    expect(ended).toEqual(["early"]);
    arrive(() => ended.push("late"));
    await late;
    expect(ended).toEqual(["early", "late"]);
    subscriptions.end();
    expect(ended).toEqual(["early", "late"]);
  });

  it("leaves a subscription alone until the end", async () => {
    const ended: string[] = [];
    const subscriptions = new Subscriptions();
    await subscriptions.add(Promise.resolve(() => ended.push("one")));
    expect(ended).toEqual([]);
  });
});
