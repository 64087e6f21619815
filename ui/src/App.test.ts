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

  it("signals ready before the order-change subscriptions are in place, and ends those that arrive after the window closed", async () => {
    const backend = fakeBackend({ environment: "training" });
    const subscribe = backend.onOrderChanged.bind(backend);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let subscribed = 0;
    let ended = 0;
    backend.onOrderChanged = async (listener) => {
      await held;
      const stop = await subscribe(listener);
      subscribed += 1;
      return () => {
        ended += 1;
        stop();
      };
    };
    const view = renderApp(backend);
    await waitFor(() => expect(backend.readySignals).toBe(1));
    expect(screen.getByTestId("order-form")).toBeTruthy();
    expect(subscribed).toBe(0);
    view.unmount();
    release();
    await waitFor(() => expect(subscribed).toBeGreaterThan(0));
    await waitFor(() => expect(ended).toBe(subscribed));
  });

  it("shows production unmistakably", async () => {
    renderApp(fakeBackend({ environment: "production" }));
    const banner = await screen.findByTestId("environment-banner");
    expect(banner.classList.contains("production")).toBe(true);
    expect(banner.textContent).toContain("PRODUCTION");
  });

  it("explains a start failure instead of showing a blank window", async () => {
    renderApp(fakeBackend({ failStartWith: fakeError("internal", "journal") }));
    const alert = (await screen.findByRole("alert")).textContent;
    expect(alert).toContain("The order journal failed.");
    expect(alert).toContain("call IT");
  });

  it("shows D1 connectivity failing with its reason in the status bar", async () => {
    renderApp(fakeBackend({ connection: fakeError("unavailable", "unavailable") }));
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
        { field: "cardData.pan", code: "invalid_luhn", limit: null, character: null },
        { field: "cardDesign.customLines[1]", code: "too_long", limit: 256, character: null },
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
    renderApp(fakeBackend({ problems: [{ field: "consumerId", code: "required", limit: null, character: null }] }));
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

    // The form is already free for the next customer.
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
    expect((screen.getByLabelText("Consumer ID") as HTMLInputElement).value).toBe("");
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
      submitError: fakeError("unavailable", "unavailable", {
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
        submitError: fakeError("rejected", "field_invalid_value", { cardId: "card-0001" }),
      }),
    );
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    await screen.findByTestId("error-panel");
    expect(screen.queryByTestId("retry-button")).toBeNull();
  });
});

describe("order truth", () => {
  async function submitValidOrder(): Promise<void> {
    await fillValidOrder();
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
  }

  it("follows an order that was sent but not recorded instead of saying nothing was sent", async () => {
    const backend = fakeBackend({
      submitError: fakeError("checking", "sent_not_recorded", {
        cardId: "card-0001",
        correlationId: "corr-0001",
      }),
      statuses: [{ detailsStatus: "CARD_PROD_DONE", phase: "done", status: "SUCCESSFUL", reason: null }],
    });
    renderApp(backend);
    await submitValidOrder();
    const result = await screen.findByTestId("result-panel");
    expect(screen.queryByTestId("error-panel")).toBeNull();
    await waitFor(() => expect(result.getAttribute("data-phase")).toBe("done"));
    expect(screen.getByTestId("card-id").textContent).toBe("card-0001");
  });

  it("says D1 has not seen an order yet and offers the same order again, never a new one", async () => {
    const backend = fakeBackend({
      outcome: "unknown",
      statuses: [fakeError("rejected", "not_found", { cardId: "card-0001" })],
    });
    renderApp(backend);
    await submitValidOrder();
    expect((await screen.findByTestId("not-seen-yet")).textContent).toContain("has not seen this order yet");
    expect(screen.queryByText(/no card was made/i)).toBeNull();
    await fireEvent.click(screen.getByTestId("resend-button"));
    await waitFor(() => expect(backend.resent).toEqual(["card-0001"]));
    expect(backend.submitted).toHaveLength(1);
  });

  it("asks a person to check the station's tray when D1 has no record after the grace period", async () => {
    renderApp(
      fakeBackend({
        outcome: "unknown",
        statuses: [fakeError("checking", "no_record", { cardId: "card-0001", graceMinutes: 10 })],
      }),
    );
    await submitValidOrder();
    expect((await screen.findByTestId("no-record")).textContent).toContain("output tray");
    expect(screen.getByTestId("result-title").textContent).toContain("Checking whether D1 received the order");
  });

  it("lists the orders the last run left unfinished and updates each as D1 answers", async () => {
    const interrupted = (verdict: "checking" | "made" | "not_received", cardId: string, consumerId: string) => ({
      cardId,
      consumerId,
      productId: "DEMO_DEBIT",
      productName: "Visa Debit (demo)",
      productNameEs: "Visa Débito (demo)",
      stationId: "BRANCH-PS-01",
      stationName: "Counter 1 printer",
      last4: "5556",
      createdAt: Date.UTC(2026, 10, 30, 9, 15),
      state: verdict === "made" ? ("done" as const) : verdict === "checking" ? ("sending" as const) : ("abandoned" as const),
      d1Status: null,
      reason: null,
      errorCode: null,
      correlationId: "corr",
      operationId: null,
      verdict,
    });
    const backend = fakeBackend({
      interrupted: [interrupted("checking", "card-a", "CUST-A"), interrupted("not_received", "card-b", "CUST-B")],
    });
    renderApp(backend);
    const rows = await screen.findAllByTestId("interrupted-order");
    expect(rows.map((r) => r.getAttribute("data-verdict"))).toEqual(["checking", "not_received"]);
    expect(rows[0]?.textContent).toContain("CUST-A");
    expect(rows[0]?.textContent).toContain("•••• 5556");
    expect(rows[0]?.textContent).toContain("do not order again yet");
    expect(within(rows[0] as HTMLElement).queryByTestId("interrupted-dismiss")).toBeNull();
    expect(rows[1]?.textContent).toContain("you may order again");

    // D1 answers: the first one was made.
    backend.script.interrupted = [interrupted("made", "card-a", "CUST-A"), interrupted("not_received", "card-b", "CUST-B")];
    backend.emitOrderChanged("card-a");
    await waitFor(() => expect(screen.getAllByTestId("interrupted-order")[0]?.getAttribute("data-verdict")).toBe("made"));
    expect(screen.getAllByTestId("interrupted-order")[0]?.textContent).toContain("Hand it to the customer.");
    for (const button of screen.getAllByTestId("interrupted-dismiss")) await fireEvent.click(button);
    await waitFor(() => expect(screen.queryByTestId("interrupted-orders")).toBeNull());
    expect(screen.getByTestId("order-form")).toBeTruthy();
  });

  it("tells the interrupted orders in Spanish too", async () => {
    renderApp(
      fakeBackend({
        interrupted: [
          {
            cardId: "card-a",
            consumerId: "CUST-A",
            productId: "DEMO_DEBIT",
            productName: "Visa Debit (demo)",
            productNameEs: "Visa Débito (demo)",
            stationId: "BRANCH-PS-01",
            stationName: "Counter 1 printer",
            last4: "5556",
            createdAt: Date.UTC(2026, 10, 30, 9, 15),
            state: "no_record",
            d1Status: null,
            reason: null,
            errorCode: null,
            correlationId: "corr",
            operationId: null,
            verdict: "needs_person",
          },
        ],
      }),
    );
    await screen.findByTestId("interrupted-orders");
    await fireEvent.change(screen.getByTestId("language-select"), { target: { value: "es" } });
    const row = await screen.findByTestId("interrupted-order");
    await waitFor(() => expect(row.textContent).toContain("D1 no tiene constancia"));
    expect(row.textContent).toContain("Visa Débito (demo)");
    expect(row.textContent).toContain("bandeja de salida");
  });
});

describe("branch ledger", () => {
  it("says 'this desk only' without a ledger", async () => {
    renderApp(fakeBackend());
    const ledger = await screen.findByTestId("ledger-status");
    expect(ledger.textContent).toContain("this desk only");
  });

  it("shows the changes waiting for the ledger and since when, then up to date", async () => {
    const since = new Date(2026, 10, 30, 10, 42).getTime();
    const backend = fakeBackend({
      ledger: { state: "unreachable", waiting: 3, waitingSince: since, lastSync: null, problem: "unreachable" },
    });
    renderApp(backend);
    const ledger = await screen.findByTestId("ledger-status");
    await waitFor(() => expect(ledger.textContent).toContain("3 changes waiting since 10:42"));
    expect(ledger.textContent).toContain("unreachable");
    backend.emitLedgerChanged({ state: "up_to_date", waiting: 0, waitingSince: null, lastSync: Date.now(), problem: null });
    await waitFor(() => expect(screen.getByTestId("ledger-status").getAttribute("data-state")).toBe("up_to_date"));
    expect(screen.getByTestId("ledger-status").textContent).toContain("up to date");
  });
});
