// The counter as a teller lives it: the review of everything printed, the next customer while
// the card is made, Order again, the station and D1 in the status bar, practice, and the card
// data that never crosses IPC outside review and submit.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import App from "../../App.svelte";
import { fakeBackend, fakeError, type FakeBackend } from "../fake-backend";

const PAN = "4000056655665556";

async function fill(consumer = "CUST-1001"): Promise<void> {
  await fireEvent.input(await screen.findByLabelText("Consumer ID"), { target: { value: consumer } });
  await fireEvent.change(screen.getByLabelText("Card product"), { target: { value: "DEMO_DEBIT" } });
  await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: PAN } });
  await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0730" } });
  await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
}

async function send(): Promise<void> {
  await fireEvent.click(screen.getByTestId("review-button"));
  await fireEvent.click(await screen.findByTestId("confirm-button"));
}

function renderApp(backend: FakeBackend) {
  return render(App, { props: { backend, pollMs: 5 } });
}

const inProduction = { detailsStatus: "CARD_PROD_READY", phase: "in_progress", status: "PENDING", reason: null } as const;
const madeCard = { detailsStatus: "CARD_PROD_DONE", phase: "done", status: "SUCCESSFUL", reason: null } as const;
const jam = { detailsStatus: "CARD_PROD_EXCEPTION", phase: "failed", status: "FAILED", reason: "PRINTER_JAM" } as const;

afterEach(() => {
  vi.useRealTimers();
  localStorage.clear();
});

describe("names and lines", () => {
  it("offers the printable spelling of an accented name in one click, with a live count", async () => {
    renderApp(fakeBackend());
    const name = (await screen.findByLabelText("Name on card")) as HTMLInputElement;
    await fireEvent.input(name, { target: { value: "JOSÉ PEÑA MÜLLER" } });
    expect(screen.getByTestId("name-count").textContent).toBe("16 of 26 characters");
    await fireEvent.click(screen.getByRole("button", { name: "Print as JOSE PENA MULLER" }));
    expect(name.value).toBe("JOSE PENA MULLER");
    expect(screen.queryByTestId("use-transliteration")).toBeNull();
  });

  it("names the refused character and the rule behind it", async () => {
    renderApp(
      fakeBackend({
        problems: [
          { field: "cardDesign.customLines[0]", code: "pattern", limit: null, character: "-" },
          { field: "cardData.name", code: "pattern", limit: null, character: "É" },
        ],
      }),
    );
    await fill();
    await fireEvent.click(screen.getByTestId("review-button"));
    const lines = await screen.findByTestId("error-cardDesign.customLines");
    expect(lines.textContent).toContain("Line 1: “-” is not allowed here: D1's rule for card and carrier lines");
    expect(screen.getByTestId("error-cardData.name").textContent).toContain("“É” is not allowed here: the name on the card takes only A–Z");
  });
});

describe("review", () => {
  it("shows everything that will be printed or sent, the card number masked", async () => {
    renderApp(fakeBackend());
    await fill();
    await fireEvent.change(screen.getByLabelText("Issuance type"), { target: { value: "RENEWAL" } });
    await fireEvent.change(screen.getByLabelText("Priority"), { target: { value: "URGENT" } });
    await fireEvent.change(screen.getByLabelText("Personalization station"), { target: { value: "BRANCH-PS-02" } });
    await fireEvent.input(screen.getByLabelText("Second line (optional)"), { target: { value: "ACME LTD" } });
    await fireEvent.change(screen.getByLabelText("Card design"), { target: { value: "CLASSIC_BLUE" } });
    await fireEvent.input(screen.getByLabelText("Member ID"), { target: { value: "M-77" } });
    await fireEvent.input(screen.getByLabelText("Custom lines on the card (one per line)"), { target: { value: "LINE ONE\nLINE TWO" } });
    await fireEvent.input(screen.getByLabelText("Carrier language (e.g. EN)"), { target: { value: "es" } });
    await fireEvent.input(screen.getByLabelText("Custom lines on the carrier (one per line)"), { target: { value: "Dear Ana" } });
    await fireEvent.click(screen.getByTestId("review-button"));

    const review = await screen.findByTestId("review-panel");
    const text = (id: string) => within(review).getByTestId(id).textContent?.trim();
    expect(text("review-consumer")).toBe("CUST-1001");
    expect(text("review-product")).toBe("Visa Debit (demo)");
    expect(text("review-issuance")).toBe("Renewal");
    expect(text("review-priority")).toBe("Urgent");
    expect(text("review-station")).toContain("Back office printer");
    expect(text("review-name")).toBe("ANA GARCIA");
    expect(text("review-second-line")).toBe("ACME LTD");
    expect(text("review-pan")).toBe("•••• 5556");
    expect(text("review-expiry")).toBe("07/30");
    expect(text("review-artwork")).toBe("Classic blue");
    expect(text("review-custom-lines")).toContain("LINE ONE");
    expect(text("review-custom-lines")).toContain("LINE TWO");
    expect(text("review-member-id")).toBe("M-77");
    expect(text("review-carrier-language")).toBe("ES");
    expect(text("review-carrier-lines")).toBe("Dear Ana");
    expect(review.textContent).not.toContain("4000");
  });

  it("sends the delivery options, images and carrier group chosen, and shows them at review", async () => {
    const backend = fakeBackend();
    renderApp(backend);
    await fill();
    await fireEvent.change(screen.getByLabelText("Delivery"), { target: { value: "BRANCH_PICKUP" } });
    await fireEvent.change(screen.getByLabelText("Card carrier"), { target: { value: "WELCOME_LETTER" } });
    expect(screen.queryByLabelText("Packaging")).toBeNull(); // nothing configured: not offered
    await fireEvent.click(screen.getByLabelText("Send the PIN by post"));
    await fireEvent.click(screen.getByLabelText("LOGO_UNIVERSITY"));
    await fireEvent.click(screen.getByLabelText("WELCOME_BANNER"));
    await fireEvent.input(screen.getByLabelText("Customer's own card image (ID)"), { target: { value: "aam/42.png" } });
    await fireEvent.input(screen.getByLabelText("Carrier group (cards sent together)"), { target: { value: "FAMILY-7" } });
    await fireEvent.input(screen.getByLabelText("Position in the group (1–99)"), { target: { value: "2" } });
    await fireEvent.click(screen.getByTestId("review-button"));

    const review = await screen.findByTestId("review-panel");
    const text = (id: string) => within(review).getByTestId(id).textContent?.trim();
    expect(text("review-delivery")).toBe("BRANCH_PICKUP");
    expect(text("review-card-carrier")).toBe("WELCOME_LETTER");
    expect(text("review-pin-mailer")).toBe("Yes");
    expect(text("review-design-images")).toBe("LOGO_UNIVERSITY");
    expect(text("review-carrier-images")).toBe("WELCOME_BANNER");
    expect(text("review-card-image")).toBe("aam/42.png");
    expect(text("review-multi-card")).toBe("FAMILY-7, position 2");
    expect(within(review).queryByTestId("review-alpha-card")).toBeNull();
    expect(within(review).queryByTestId("review-packaging")).toBeNull();

    await fireEvent.click(within(review).getByTestId("confirm-button"));
    await waitFor(() => expect(backend.submitted).toHaveLength(1));
    const sent = backend.submitted[0];
    expect(sent?.services).toEqual({ delivery: "BRANCH_PICKUP", packaging: null, cardCarrier: "WELCOME_LETTER", pinMailer: true, alphaCard: false });
    expect(sent?.design.images).toEqual(["LOGO_UNIVERSITY"]);
    expect(sent?.design.cardImage).toBe("aam/42.png");
    expect(sent?.carrier).toMatchObject({ images: ["WELCOME_BANNER"], multiCardId: "FAMILY-7", multiCardOrder: "2" });
  });

  it("never offers more than 5 images", async () => {
    const backend = fakeBackend();
    const options = await backend.formOptions();
    if (!options.ok) throw new Error("no options");
    const six = structuredClone(options.value);
    six.orderOptions.designImages = ["A", "B", "C", "D", "E", "F"];
    backend.formOptions = async () => ({ ok: true, value: six });
    renderApp(backend);
    await fill();
    for (const image of ["A", "B", "C", "D", "E"]) await fireEvent.click(screen.getByLabelText(image));
    expect((screen.getByLabelText("F") as HTMLInputElement).disabled).toBe(true);
    await fireEvent.click(screen.getByLabelText("A"));
    expect((screen.getByLabelText("F") as HTMLInputElement).disabled).toBe(false);
  });

  it("starts with the focus on its heading, so an Enter pressed again does not send", async () => {
    const backend = fakeBackend();
    renderApp(backend);
    await fill();
    await fireEvent.submit(screen.getByTestId("order-form"));
    const heading = await screen.findByRole("heading", { name: "Check the order" });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    await fireEvent.keyDown(document.activeElement ?? document.body, { key: "Enter" });
    // A held (repeated) Enter on the button does not activate it either.
    const confirm = screen.getByTestId("confirm-button");
    confirm.focus();
    const repeated = new KeyboardEvent("keydown", { key: "Enter", repeat: true, bubbles: true, cancelable: true });
    confirm.dispatchEvent(repeated);
    expect(repeated.defaultPrevented).toBe(true);
    expect(backend.submitted).toHaveLength(0);
  });
});

describe("the next customer", () => {
  it("moves the order to the production list and frees the form at once, focus on Consumer ID", async () => {
    const backend = fakeBackend({ statuses: [inProduction] });
    renderApp(backend);
    await fill();
    await fireEvent.change(screen.getByLabelText("Issuance type"), { target: { value: "REPLACEMENT" } });
    await fireEvent.change(screen.getByLabelText("Personalization station"), { target: { value: "BRANCH-PS-02" } });
    await send();

    const item = await screen.findByTestId("result-panel");
    expect(item.textContent).toContain("CUST-1001");
    expect(item.textContent).toContain("•••• 5556");
    expect(screen.getByTestId("notice").textContent).toContain("CUST-1001");
    const consumer = screen.getByLabelText("Consumer ID") as HTMLInputElement;
    await waitFor(() => expect(document.activeElement).toBe(consumer));
    expect(consumer.value).toBe("");
    expect((screen.getByLabelText("Card product") as HTMLSelectElement).value).toBe("DEMO_DEBIT");
    expect((screen.getByLabelText("Personalization station") as HTMLSelectElement).value).toBe("BRANCH-PS-02");
    expect((screen.getByLabelText("Issuance type") as HTMLSelectElement).value).toBe("CREATION");
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
  });

  it("follows two orders at once, each to its own end", async () => {
    const backend = fakeBackend({
      distinctCardIds: true,
      statusesByCard: { "card-0001": [inProduction, inProduction, inProduction, madeCard], "card-0002": [madeCard] },
    });
    renderApp(backend);
    await fill("CUST-A");
    await send();
    await screen.findByTestId("result-panel");
    await fill("CUST-B");
    await send();
    await waitFor(() => expect(screen.getAllByTestId("result-panel")).toHaveLength(2));
    await waitFor(() => {
      const phases = screen.getAllByTestId("result-panel").map((i) => [i.dataset.cardId, i.dataset.phase]);
      expect(phases).toEqual([
        ["card-0002", "done"],
        ["card-0001", "done"],
      ]);
    });
    expect(backend.submitted.map((d) => d.consumerId)).toEqual(["CUST-A", "CUST-B"]);
  });

  it("re-asks D1 at once when the shell says a listed order changed", async () => {
    const backend = fakeBackend({ statuses: [inProduction] });
    render(App, { props: { backend, pollMs: 60_000 } });
    await fill();
    await send();
    const item = await screen.findByTestId("result-panel");
    await waitFor(() => expect(item.dataset.phase).toBe("in_progress"));
    backend.script.statuses = [madeCard];
    backend.emitOrderChanged("card-0001");
    await waitFor(() => expect(item.dataset.phase).toBe("done"));
  });

  it("Order again after a station exception keeps every field but the card data", async () => {
    const backend = fakeBackend({ statuses: [jam] });
    renderApp(backend);
    await fill("CUST-4001");
    await fireEvent.change(screen.getByLabelText("Personalization station"), { target: { value: "BRANCH-PS-02" } });
    await fireEvent.input(screen.getByLabelText("Member ID"), { target: { value: "M-9" } });
    await send();
    const item = await screen.findByTestId("result-panel");
    await waitFor(() => expect(item.dataset.phase).toBe("failed"));
    expect(within(item).getByTestId("production-reason").textContent).toContain("The printer jammed");
    expect(within(item).getByTestId("production-reason-code").textContent).toBe("PRINTER_JAM");
    expect(within(item).getByTestId("production-next").textContent).toContain("Back office printer");

    await fireEvent.click(within(item).getByTestId("order-again-button"));
    expect((screen.getByLabelText("Consumer ID") as HTMLInputElement).value).toBe("CUST-4001");
    expect((screen.getByLabelText("Card product") as HTMLSelectElement).value).toBe("DEMO_DEBIT");
    expect((screen.getByLabelText("Personalization station") as HTMLSelectElement).value).toBe("BRANCH-PS-02");
    expect((screen.getByLabelText("Member ID") as HTMLInputElement).value).toBe("M-9");
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
    expect((screen.getByLabelText("Name on card") as HTMLInputElement).value).toBe("");
  });

  it("Order again after D1 refused the order keeps every field but the card data", async () => {
    renderApp(fakeBackend({ submitError: fakeError("rejected", "field_invalid_value", { cardId: "card-0001" }) }));
    await fill("CUST-5001");
    await send();
    await fireEvent.click(await screen.findByTestId("back-to-form"));
    expect((screen.getByLabelText("Consumer ID") as HTMLInputElement).value).toBe("CUST-5001");
    expect((screen.getByLabelText("Card product") as HTMLSelectElement).value).toBe("DEMO_DEBIT");
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
  });
});

describe("card data in the window", () => {
  it("never sends card data with the checks while typing; the check digit is confirmed in the window", async () => {
    const backend = fakeBackend();
    renderApp(backend);
    await fill();
    for (const label of ["Consumer ID", "Card number (PAN)", "Expiry (MM/YY)", "Name on card"]) {
      await fireEvent.blur(screen.getByLabelText(label));
    }
    await waitFor(() => expect(backend.checked.length).toBeGreaterThan(0));
    expect(await screen.findByTestId("pan-ok")).toBeTruthy();
    for (const sent of backend.checked) {
      expect(Object.keys(sent)).not.toContain("card");
      expect(JSON.stringify(sent)).not.toContain("5556");
      expect(JSON.stringify(sent)).not.toContain("ANA GARCIA");
    }
  });

  it("says a wrong check digit and a past expiry on leaving the field, without asking Rust", async () => {
    const backend = fakeBackend();
    renderApp(backend);
    await fill();
    await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: "4000056655665557" } });
    await fireEvent.blur(screen.getByLabelText("Card number (PAN)"));
    await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0120" } });
    await fireEvent.blur(screen.getByLabelText("Expiry (MM/YY)"));
    expect((await screen.findByTestId("error-cardData.pan")).textContent).toContain("check digit");
    expect(screen.getByTestId("error-cardData.exp").textContent).toContain("in the past");
    expect(screen.queryByTestId("pan-ok")).toBeNull();
  });

  it("masks the CVV2 until shown and lets no card field be copied or cut", async () => {
    renderApp(fakeBackend());
    await fill();
    await fireEvent.change(screen.getByLabelText("Card product"), { target: { value: "DEMO_CREDIT" } });
    const cvv = (await screen.findByLabelText("CVV2")) as HTMLInputElement;
    expect(cvv.type).toBe("password");
    const show = screen.getByTestId("cvv2-show");
    expect(show.getAttribute("aria-pressed")).toBe("false");
    await fireEvent.click(show);
    expect(cvv.type).toBe("text");
    await fireEvent.click(show);
    expect(cvv.type).toBe("password");
    for (const label of ["Card number (PAN)", "Expiry (MM/YY)", "Name on card", "CVV2"]) {
      const copy = new Event("copy", { bubbles: true, cancelable: true });
      screen.getByLabelText(label).dispatchEvent(copy);
      expect(copy.defaultPrevented, label).toBe(true);
      const cut = new Event("cut", { bubbles: true, cancelable: true });
      screen.getByLabelText(label).dispatchEvent(cut);
      expect(cut.defaultPrevented, label).toBe(true);
    }
  });

  it("clears the card data when the window is hidden, and after the window was left a while", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    renderApp(fakeBackend());
    await fill();
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    await waitFor(() => expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe(""));
    expect(screen.getByTestId("notice").textContent).toContain("hidden");
    expect((screen.getByLabelText("Consumer ID") as HTMLInputElement).value).toBe("CUST-1001");

    await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: PAN } });
    window.dispatchEvent(new Event("blur"));
    await vi.advanceTimersByTimeAsync(5_000);
    window.dispatchEvent(new Event("focus"));
    await vi.advanceTimersByTimeAsync(20_000);
    // A short absence keeps it.
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).not.toBe("");
    window.dispatchEvent(new Event("blur"));
    await vi.advanceTimersByTimeAsync(16_000);
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
  });

  it("counts the time away from the last input: a window used without focus keeps its card data", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    renderApp(fakeBackend());
    await fill();
    window.dispatchEvent(new Event("blur"));
    await vi.advanceTimersByTimeAsync(10_000);
    await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
    await vi.advanceTimersByTimeAsync(10_000);
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).not.toBe("");
    await vi.advanceTimersByTimeAsync(6_000);
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
    expect(screen.getByTestId("notice").textContent).toContain("left for another");
  });

  it("counts idle time per screen: typing on the supervisor screen does not keep card data", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    renderApp(fakeBackend({}, { access: { allowed: true, user: "sofia", branch: false } }));
    await fill();
    await fireEvent.click(await screen.findByTestId("nav-supervisor"));
    const supervisor = await screen.findByTestId("supervisor-screen", {}, { timeout: 10_000 });
    for (let i = 0; i < 13; i += 1) {
      await fireEvent.keyDown(supervisor, { key: "a" });
      await fireEvent.pointerDown(supervisor);
      await vi.advanceTimersByTimeAsync(10_000);
    }
    await fireEvent.click(screen.getByTestId("nav-order"));
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
  });
});

describe("status bar", () => {
  it("names the chosen station and warns when its last order failed", async () => {
    const at = Date.UTC(2026, 10, 30, 9, 15);
    renderApp(
      fakeBackend({
        stations: {
          "BRANCH-PS-02": {
            lastMade: null,
            lastException: { at, cardId: "card-x", consumerId: "CUST-X", d1Status: "CARD_PROD_EXCEPTION", reason: "PRINTER_JAM" },
            lastFailed: true,
          },
        },
      }),
    );
    const status = await screen.findByTestId("station-status");
    await waitFor(() => expect(status.textContent).toContain("Counter 1 printer"));
    await fireEvent.change(await screen.findByLabelText("Personalization station"), { target: { value: "BRANCH-PS-02" } });
    await waitFor(() => expect(status.textContent).toContain("Back office printer"));
    expect(status.dataset.lastFailed).toBe("true");
    expect(status.textContent).toContain("The printer jammed");
    expect(status.textContent).toContain("PRINTER_JAM");
    expect((await screen.findByTestId("station-warning")).textContent).toContain("The printer jammed");
  });

  it("turns D1 red when a real call fails and green when one succeeds", async () => {
    const backend = fakeBackend({
      submitError: fakeError("unavailable", "unavailable", { cardId: "card-0001" }),
    });
    renderApp(backend);
    const connection = await screen.findByTestId("connection-status");
    await waitFor(() => expect(connection.dataset.state).toBe("ok"));
    await fill();
    await send();
    await screen.findByTestId("error-panel");
    await waitFor(() => expect(connection.dataset.state).toBe("failing"));
    expect(connection.textContent).toContain("D1 is temporarily unavailable.");
    await fireEvent.click(screen.getByTestId("retry-button"));
    await waitFor(() => expect(connection.dataset.state).toBe("ok"));
  });
});

describe("practice", () => {
  it("lists the demo card numbers and the failures to practise, in training only", async () => {
    renderApp(
      fakeBackend({
        practice: {
          cases: [
            { trigger: "unavailable", consumerId: "PRACTICE-503" },
            { trigger: "station_jam", consumerId: "PRACTICE-STATION-JAM" },
          ],
          demoCards: [{ productId: "DEMO_DEBIT", pan: "4000000000000002", needsCvv2: false }],
        },
      }),
    );
    await fireEvent.click(await screen.findByTestId("practice-toggle"));
    expect(screen.getByTestId("practice-cards").textContent).toContain("4000 0000 0000 0002");
    const triggers = within(screen.getByTestId("practice-triggers")).getAllByRole("row");
    expect(triggers.map((r) => r.textContent)).toEqual(
      expect.arrayContaining([expect.stringContaining("PRACTICE-503"), expect.stringContaining("The printer jams")]),
    );
  });

  it("shows no practice help outside training", async () => {
    renderApp(fakeBackend({ environment: "production" }));
    await screen.findByTestId("order-form");
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("practice-help")).toBeNull();
  });
});
