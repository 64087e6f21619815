import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import App from "../../App.svelte";
import { fakeBackend, fakeError, type FakeBackend } from "../fake-backend";
import { startI18n } from "../i18n";
import SupervisorScreen from "../supervisor/SupervisorScreen.svelte";
import { NOW, fakeRow } from "../supervisor/fake-journal";
import { fakeApproval } from "./fake-counter";

const PAN = "4000056655665556";

async function fillReplacement(): Promise<void> {
  await fireEvent.input(await screen.findByLabelText("Consumer ID"), { target: { value: "CUST-1001" } });
  await fireEvent.change(screen.getByLabelText("Card product"), { target: { value: "DEMO_DEBIT" } });
  await fireEvent.change(screen.getByLabelText("Issuance type"), { target: { value: "REPLACEMENT" } });
  await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: PAN } });
  await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0730" } });
  await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
}

async function askApproval(backend: FakeBackend, reason = "card stolen"): Promise<HTMLElement> {
  const { container } = render(App, { props: { backend, pollMs: 5 } });
  await fillReplacement();
  await fireEvent.click(screen.getByTestId("review-button"));
  expect(await screen.findByTestId("needs-approval")).toBeTruthy();
  expect(screen.queryByTestId("confirm-button")).toBeNull();
  const ask = screen.getByTestId("request-approval-button") as HTMLButtonElement;
  expect(ask.disabled).toBe(true);
  await fireEvent.input(screen.getByTestId("approval-reason"), { target: { value: reason } });
  await fireEvent.click(ask);
  return container;
}

beforeAll(() => {
  startI18n();
});
afterEach(() => localStorage.clear());

describe("dual control at the counter", () => {
  it("asks for approval with a reason, waits with the card data out of the window, then follows the approved order", async () => {
    const backend = fakeBackend({ needsApproval: ["REPLACEMENT"] });
    const container = await askApproval(backend);
    const waiting = await screen.findByTestId("approval-wait");
    expect(waiting.dataset.state).toBe("pending");
    expect(screen.getByTestId("approval-reason-shown").textContent).toBe("card stolen");
    expect(screen.getByTestId("approval-countdown").textContent).toBe("5:00");
    expect(backend.counterCalls.requests[0]?.reason).toBe("card stolen");
    expect(backend.counterCalls.requests[0]?.draft.card.pan.replace(/ /g, "")).toBe(PAN);
    expect(container.innerHTML).not.toContain("4000");
    expect(container.innerHTML).not.toContain("ANA GARCIA");
    expect(backend.submitted).toHaveLength(0);

    backend.resolveApproval({
      outcome: "submitted",
      approval: fakeApproval({ state: "approved", decidedBy: "sofia" }),
      order: { outcome: "accepted", cardId: "card-0001", issuerRequestId: "req-0001", correlationId: "corr-0001", operationId: "op-0001", last4: "5556" },
    });
    const result = await screen.findByTestId("result-panel");
    await waitFor(() => expect(result.dataset.phase).toBe("done"));
  });

  it("says who declined and why, and that the card data was cleared", async () => {
    const backend = fakeBackend({ needsApproval: ["REPLACEMENT"] });
    await askApproval(backend);
    await screen.findByTestId("approval-wait");
    backend.resolveApproval({
      outcome: "ended",
      approval: fakeApproval({ state: "declined", decidedBy: "sofia", comment: "not the account holder", remainingMs: 0 }),
    });
    const title = await screen.findByTestId("approval-ended-title");
    expect(title.textContent).toBe("The order was declined");
    expect(screen.getByTestId("approval-decided-by").textContent).toContain("sofia");
    expect(screen.getByTestId("approval-comment").textContent).toBe("not the account holder");
    expect(screen.getByTestId("approval-cleared").textContent).toContain("nothing was sent");
    await fireEvent.click(screen.getByTestId("approval-new-order"));
    expect(((await screen.findByLabelText("Card number (PAN)")) as HTMLInputElement).value).toBe("");
  });

  it("tells an expired request and a canceled one apart", async () => {
    const expired = fakeBackend({ needsApproval: ["REPLACEMENT"] }, {}, {
      outcome: { outcome: "ended", approval: fakeApproval({ state: "expired", remainingMs: 0 }) },
    });
    await askApproval(expired);
    expect((await screen.findByTestId("approval-ended-title")).textContent).toBe("Nobody decided in time");
    document.body.innerHTML = "";

    const backend = fakeBackend({ needsApproval: ["REPLACEMENT"] });
    await askApproval(backend);
    await fireEvent.click(await screen.findByTestId("cancel-approval"));
    expect((await screen.findByTestId("approval-ended-title")).textContent).toBe("The request was canceled");
    expect(backend.counterCalls.canceled).toEqual(["card-0001"]);
  });

  it("waits in Spanish too", async () => {
    const backend = fakeBackend({ needsApproval: ["REPLACEMENT"] });
    render(App, { props: { backend, pollMs: 5 } });
    await fireEvent.change(await screen.findByTestId("language-select"), { target: { value: "es" } });
    await fireEvent.input(await screen.findByLabelText("ID de cliente"), { target: { value: "CUST-1001" } });
    await fireEvent.change(screen.getByLabelText("Producto de tarjeta"), { target: { value: "DEMO_DEBIT" } });
    await fireEvent.change(screen.getByLabelText("Tipo de emisión"), { target: { value: "REPLACEMENT" } });
    await fireEvent.input(screen.getByLabelText("Número de tarjeta (PAN)"), { target: { value: PAN } });
    await fireEvent.input(screen.getByLabelText("Caducidad (MM/AA)"), { target: { value: "0730" } });
    await fireEvent.input(screen.getByLabelText("Nombre en la tarjeta"), { target: { value: "ANA GARCIA" } });
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.input(await screen.findByTestId("approval-reason"), { target: { value: "robada" } });
    await fireEvent.click(screen.getByTestId("request-approval-button"));
    expect(await screen.findByRole("heading", { name: "Esperando aprobación" })).toBeTruthy();
  });
});

describe("spoiled card and reissue", () => {
  it("records a spoiled card with a reason, then opens the reissue with everything but the card data", async () => {
    const backend = fakeBackend();
    render(App, { props: { backend, pollMs: 5 } });
    await fireEvent.input(await screen.findByLabelText("Consumer ID"), { target: { value: "CUST-1001" } });
    await fireEvent.change(screen.getByLabelText("Card product"), { target: { value: "DEMO_DEBIT" } });
    await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: PAN } });
    await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0730" } });
    await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    const result = await screen.findByTestId("result-panel");
    await waitFor(() => expect(result.dataset.phase).toBe("done"));

    await fireEvent.click(await screen.findByTestId("spoiled-button"));
    const reason = screen.getByTestId("spoiled-reason") as HTMLSelectElement;
    expect([...reason.options].map((o) => o.textContent)).toContain("Misprint");
    await fireEvent.change(reason, { target: { value: "misprint" } });
    await fireEvent.click(screen.getByTestId("spoiled-confirm"));
    expect(await screen.findByTestId("spoiled-recorded")).toBeTruthy();
    expect(backend.counterCalls.spoiled).toEqual([{ cardId: "card-0001", reason: "misprint" }]);

    await fireEvent.click(screen.getByTestId("reissue-button"));
    expect(((await screen.findByLabelText("Consumer ID")) as HTMLInputElement).value).toBe("CUST-1001");
    expect((screen.getByLabelText("Card number (PAN)") as HTMLInputElement).value).toBe("");
    expect(screen.getByTestId("notice").textContent).toContain("card-0001");
    await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: PAN } });
    await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0731" } });
    await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    await waitFor(() => expect(backend.submitted).toHaveLength(2));
    expect(backend.submitted[1]?.reissueOf).toBe("card-0001");
    expect(backend.submitted[1]?.design.customLines).toEqual(["WELCOME"]);
  });

  it("shows the ledger's refusal in the teller's words", async () => {
    const backend = fakeBackend({}, {}, {
      spoiledError: fakeError("rejected", "already_spoiled"),
    });
    render(App, { props: { backend, pollMs: 5 } });
    await fireEvent.input(await screen.findByLabelText("Consumer ID"), { target: { value: "CUST-1001" } });
    await fireEvent.change(screen.getByLabelText("Card product"), { target: { value: "DEMO_DEBIT" } });
    await fireEvent.input(screen.getByLabelText("Card number (PAN)"), { target: { value: PAN } });
    await fireEvent.input(screen.getByLabelText("Expiry (MM/YY)"), { target: { value: "0730" } });
    await fireEvent.input(screen.getByLabelText("Name on card"), { target: { value: "ANA GARCIA" } });
    await fireEvent.click(screen.getByTestId("review-button"));
    await fireEvent.click(await screen.findByTestId("confirm-button"));
    await fireEvent.click(await screen.findByTestId("spoiled-button"));
    await fireEvent.change(screen.getByTestId("spoiled-reason"), { target: { value: "damaged" } });
    await fireEvent.click(screen.getByTestId("spoiled-confirm"));
    expect((await screen.findByTestId("spoiled-error")).textContent).toBe("This card was already reported spoiled.");
  });
});

describe("supervisor: approvals, exceptions, counter time", () => {
  const branch = { access: { allowed: true, user: "sofia", branch: true }, desks: [] };

  it("lists the branch's requests with a badge and decides one with a comment; the requester's own is not offered", async () => {
    const backend = fakeBackend({}, branch, {
      pending: [fakeApproval(), fakeApproval({ cardId: "card-mine", requestedBy: "sofia", isMine: true })],
    });
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    expect((await screen.findByTestId("approvals-badge")).textContent).toBe("1");
    await fireEvent.click(screen.getByTestId("tab-approvals"));
    const requests = await screen.findAllByTestId("approval-request");
    expect(requests).toHaveLength(2);
    expect(within(requests[1]!).getByTestId("approval-mine")).toBeTruthy();
    expect(within(requests[1]!).queryByTestId("approve-button")).toBeNull();
    await fireEvent.input(within(requests[0]!).getByTestId("approval-comment-input"), { target: { value: "ID checked" } });
    await fireEvent.click(within(requests[0]!).getByTestId("approve-button"));
    expect((await screen.findByTestId("approval-decided")).textContent).toContain("5556");
    expect(backend.counterCalls.decisions).toEqual([{ cardId: "card-0001", approve: true, comment: "ID checked" }]);
  });

  it("shows the ledger's refusal of a self-approval", async () => {
    const backend = fakeBackend({}, branch, {
      pending: [fakeApproval()],
      decision: fakeError("rejected", "self_approval"),
    });
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    await fireEvent.click(await screen.findByTestId("tab-approvals"));
    await fireEvent.click(await screen.findByTestId("approve-button"));
    const error = await screen.findByTestId("approval-decision-error");
    expect(error.textContent).toContain("another person must decide");
  });

  it("takes an exception, then resolves it; it leaves the queue", async () => {
    const failed = fakeRow({ cardId: "card-bad", state: "failed", d1Status: "DATA_EXCEPTION" });
    const backend = fakeBackend({}, branch, {
      cases: [{ order: failed, owner: null, takenAt: null, lastComment: null, isMine: false }],
    });
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    await fireEvent.click(await screen.findByTestId("tab-exceptions"));
    const row = await screen.findByTestId("exception-case");
    expect(within(row).getByTestId("case-owner").textContent).toContain("Nobody yet");
    expect(within(row).queryByTestId("resolve-button")).toBeNull();
    await fireEvent.click(within(row).getByTestId("take-button"));
    await waitFor(() => expect(within(screen.getByTestId("exception-case")).getByTestId("case-owner").textContent).toContain("sofia"));
    const taken = screen.getByTestId("exception-case");
    await fireEvent.input(within(taken).getByTestId("case-text"), { target: { value: "data corrected" } });
    await fireEvent.click(within(taken).getByTestId("resolve-button"));
    expect(await screen.findByTestId("no-exceptions")).toBeTruthy();
    expect(backend.counterCalls.cases.map((c) => c.action)).toEqual(["take", "resolve"]);
  });

  it("shows the counter time per day, desk and station, the slowest orders and the day's balance", async () => {
    const figure = (key: string, medianMs: number, p95Ms: number, orders = 2) => ({ key, orders, medianMs, p95Ms });
    const backend = fakeBackend({}, branch, {
      counterTime: {
        overall: figure("", 150_000, 231_000, 4),
        byDesk: [figure("B0042-D1", 150_000, 231_000, 4)],
        byStation: [figure("BRANCH-PS-01", 150_000, 231_000, 4)],
        byDay: [figure("2026-11-25", 150_000, 231_000, 4)],
        slowest: [{ cardId: "card-9", deskId: "B0042-D1", stationId: "BRANCH-PS-01", operator: "ana", sentAt: NOW, doneAt: NOW + 240_000, counterMs: 240_000 }],
      },
      balance: [{ day: "2026-11-25", stationId: "BRANCH-PS-01", issued: 3, spoiled: 1, reissued: 1 }],
    });
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    await fireEvent.click(await screen.findByTestId("tab-counter"));
    expect((await screen.findByTestId("counter-overall")).textContent).toBe("4 cards: median 150 s, 95th percentile 231 s.");
    expect(within(screen.getByTestId("counter-table")).getByText("2026-11-25")).toBeTruthy();
    await fireEvent.click(screen.getByLabelText("Per desk"));
    expect(within(screen.getByTestId("counter-table")).getByText("B0042-D1")).toBeTruthy();
    expect(screen.getByTestId("counter-slowest").textContent).toContain("240 s");
    const balance = screen.getByTestId("balance-table");
    expect(within(balance).getAllByRole("cell").map((c) => c.textContent)).toEqual(["2026-11-25", "BRANCH-PS-01", "3", "1", "1"]);
    await fireEvent.click(screen.getByTestId("export-balance"));
    expect((await screen.findByTestId("balance-exported")).textContent).toContain("issuance-desk-balance.csv");
  });

  it("says the counter report needs the branch ledger when there is none", async () => {
    const backend = fakeBackend({}, {}, { counterTime: null, balance: null });
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    await fireEvent.click(await screen.findByTestId("tab-counter"));
    expect(await screen.findByTestId("counter-needs-ledger")).toBeTruthy();
    expect(screen.queryByTestId("tab-approvals")).toBeNull();
  });
});
