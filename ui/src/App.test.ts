import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./lib/fake-backend";

describe("App", () => {
  it("shows the environment from the backend and the order screen, then signals ready", async () => {
    const backend = fakeBackend({ environment: "training" });
    render(App, { props: { backend } });
    expect(await screen.findByTestId("environment-name")).toHaveProperty("textContent", "TRAINING");
    expect(screen.getByRole("heading", { name: "Order a card" })).toBeTruthy();
    expect(backend.readySignals).toBe(1);
  });

  it("shows production unmistakably", async () => {
    render(App, { props: { backend: fakeBackend({ environment: "production" }) } });
    const banner = await screen.findByTestId("environment-banner");
    expect(banner.classList.contains("production")).toBe(true);
    expect(banner.textContent).toContain("PRODUCTION");
  });

  it("explains a start failure instead of showing a blank window", async () => {
    const backend = fakeBackend({
      failWith: { kind: "internal", message: "The journal could not be opened.", correlationId: null },
    });
    render(App, { props: { backend } });
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("The journal could not be opened.");
  });
});
