import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import App from "./App.svelte";
import { fakeBackend, fakeError, type FakeBackend } from "./lib/fake-backend";

const CANARY_PAN = "4000 0566 5566 5556";

async function fillValidOrder(): Promise<void> {
  await fireEvent.input(await screen.findByLabelText("Consumer ID"), { target: { value: "CUST-1001" } });
  await fireEvent.change(screen.getByLabelText("Card product"), { target: { value: "DEMO_DEBIT" } });
  await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: CANARY_PAN.replace(/ /g, "") } });
  await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0730" } });
  await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
}

function renderApp(backend: FakeBackend) {
  return render(App, { props: { backend, pollMs: 5 } });
}

afterEach(() => {
  vi.useRealTimers();
  localStorage.clear();
});

describe("shell", () => {
  it("shows the environment from the backend and the order screen, then signals ready once the form is usable", async () => {
    const backend = fakeBackend({ environment: "training" });
    renderApp(backend);
    expect((await screen.findByTestId("environment-name")).textContent).toBe("TRAINING");
    expect(screen.getByRole("heading", { name: "Order a card" })).toBeTruthy();
    await waitFor(() => expect(backend.readySignals).toBe(1));
    expect(screen.getByTestId("order-form")).toBeTruthy();
  });

  it("shows production unmistakably", async () => {
    renderApp(fakeBackend({ environment: "production" }));
    const banner = await screen.findByTestId("environment-banner");
    expect(banner.classList.contains("production")).toBe(true);
    expect(banner.textContent).toContain("PRODUCTION");
  });

  it("explains a start failure instead of showing a blank window", async () => {
    renderApp(fakeBackend({ failStartWith: fakeError("internal", "The journal could not be opened.") }));
    expect((await screen.findByRole("alert")).textContent).toContain("The journal could not be opened.");
  });

  it("shows D1 connectivity failing with its reason in the status bar", async () => {
    renderApp(fakeBackend({ connection: fakeError("unavailable", "D1 is temporarily unavailable.") }));
    const status = await screen.findByTestId("connection-status");
    await waitFor(() => expect(status.textContent).toContain("Not connected: D1 is temporarily unavailable."));
  });
});

describe("order form", () => {
  it("groups the PAN by four and puts the slash in the expiry", async () => {
    renderApp(fakeBackend());
    await fillValidOrder();
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe(CANARY_PAN);
    expect((screen.getByLabelText("Expiry (MM/YY)") as HTMLInputElement).value).toBe("07/30");
  });

  it("shows Rust's problems next to their fields, announces the count and sends nothing", async () => {
    const backend = fakeBackend({
      problems: [
        { field: "cardData.pan", code: "invalid_luhn", limit: null },
        { field: "cardDesign.customLines[1]", code: "too_long", limit: 256 },
      ],
    });
    renderApp(backend);
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    expect((await screen.findByTestId("error-cardData.pan")).textContent).toContain("check digit");
    expect(screen.getByTestId("error-cardDesign.customLines").textContent).toContain("Line 2: Too long: at most 256 characters.");
    expect(screen.getByTestId("form-summary").textContent).toBe("2 fields need correcting.");
    expect(screen.getByLabelText("Card number (PAN)").getAttribute("aria-invalid")).toBe("true");
    expect(backend.submitted).toHaveLength(0);
  });

  it("holds a blur check's messages while a button is pressed, so the button does not move away", async () => {
    renderApp(fakeBackend({ problems: [{ field: "consumerId", code: "required", limit: null }] }));
    const consumer = await screen.findByLabelText("Consumer ID");
    await fireEvent.pointerDown(window);
    await fireEvent.blur(consumer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(screen.queryByTestId("error-consumerId")).toBeNull();
    await fireEvent.pointerUp(window);
    expect((await screen.findByTestId("error-consumerId")).textContent).toBe("Required.");
  });

  it("clears the card data after the idle time", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    renderApp(fakeBackend());
    await fillValidOrder();
    await vi.advanceTimersByTimeAsync(121_000);
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
    expect((screen.getByLabelText("Name on card") as HTMLInputElement).value).toBe("");
    expect(screen.getByTestId("notice").textContent).toContain("120 seconds");
    expect((screen.getByLabelText("Consumer ID") as HTMLInputElement).value).toBe("CUST-1001");
  });

  it("speaks Spanish when the teller switches language, keeping what was typed", async () => {
    renderApp(fakeBackend());
    await fillValidOrder();
    await fireEvent.change(screen.getByTestId("language-select"), { target: { value: "es" } });
    expect(await screen.findByRole("heading", { name: "Pedir una tarjeta" })).toBeTruthy();
    expect((screen.getByLabelText("ID de cliente") as HTMLInputElement).value).toBe("CUST-1001");
    expect(screen.getByTestId("environment-name").textContent).toBe("FORMACIÓN");
  });
});

describe("submission", () => {
  it("reviews masked, submits, clears the card data and follows production to done", async () => {
    const backend = fakeBackend({
      statuses: [
        { detailsStatus: "CARD_PROD_REQUESTED", phase: "in_progress", status: "PENDING", reason: null },
        { detailsStatus: "CARD_PROD_READY", phase: "in_progress", status: "PENDING", reason: null },
        { detailsStatus: "CARD_PROD_DONE", phase: "done", status: "SUCCESSFUL", reason: null },
      ],
    });
    const { container } = renderApp(backend);
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    expect((await screen.findByTestId("review-pan")).textContent).toBe("•••• 5556");
    expect(container.textContent).not.toContain("4000");

    await fireEvent.click(screen.getByTestId("confirm-button"));
    const result = await screen.findByTestId("result-panel");
    await waitFor(() => expect(result.getAttribute("data-phase")).toBe("done"));
    expect(screen.getByTestId("result-title").textContent).toContain("Card ready");
    const steps = within(screen.getByTestId("timeline")).getAllByRole("listitem");
    expect(steps.map((s) => s.getAttribute("data-status"))).toEqual([
      "CARD_PROD_REQUESTED",
      "CARD_PROD_READY",
      "CARD_PROD_DONE",
    ]);
    expect(screen.getByTestId("operation-id").textContent).toBe("op-0001");
    expect(backend.submitted[0]?.card.pan.replace(/ /g, "")).toBe("4000056655665556");
    expect(container.innerHTML).not.toMatch(/4000.?0566/);

    await fireEvent.click(screen.getByTestId("new-order-button"));
    expect((await screen.findByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
  });

  it("shows a station exception with its reason and what to do", async () => {
    renderApp(
      fakeBackend({
        statuses: [{ detailsStatus: "CARD_PROD_EXCEPTION", phase: "failed", status: "FAILED", reason: "Station offline" }],
      }),
    );
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    expect((await screen.findByTestId("production-reason")).textContent).toContain("Station offline");
    expect(screen.getByTestId("result-title").textContent).toContain("The card was not made");
  });

  it("shows an unknown D1 status as it comes, not as an error", async () => {
    renderApp(
      fakeBackend({
        statuses: [{ detailsStatus: "CARD_PROD_QUEUED_AT_AGENT", phase: "in_progress", status: "PENDING", reason: null }],
      }),
    );
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    expect((await screen.findByTestId("timeline")).textContent).toContain("CARD_PROD_QUEUED_AT_AGENT");
  });

  it("offers to send the same order again when D1 was unavailable", async () => {
    const backend = fakeBackend({
      submitError: fakeError("unavailable", "D1 is temporarily unavailable.", {
        code: "unavailable",
        cardId: "card-0001",
        correlationId: "corr-0001",
      }),
    });
    renderApp(backend);
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    expect((await screen.findByTestId("error-message")).textContent).toBe("D1 is temporarily unavailable.");
    expect(screen.getByTestId("error-correlation-id").textContent).toBe("corr-0001");
    await fireEvent.click(screen.getByTestId("retry-button"));
    await screen.findByTestId("result-panel");
    expect(backend.resent).toEqual(["card-0001"]);
    expect(backend.submitted).toHaveLength(1);
  });

  it("never offers a retry for a rejection", async () => {
    renderApp(
      fakeBackend({
        submitError: fakeError("rejected", "D1 rejected the order.", { code: "field_invalid_value", cardId: "card-0001" }),
      }),
    );
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    await screen.findByTestId("error-panel");
    expect(screen.queryByTestId("retry-button")).toBeNull();
  });
});
