import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { beforeAll, describe, expect, it } from "vitest";
import App from "../../App.svelte";
import { fakeBackend, fakeError } from "../fake-backend";
import { setLanguage, startI18n } from "../i18n";
import { NOW, fakeRow } from "./fake-journal";
import SupervisorScreen from "./SupervisorScreen.svelte";

const pending = fakeRow({
  cardId: "card-pending",
  consumerId: "CUST-2002",
  last4: "1234",
  state: "in_production",
  d1Status: "CARD_PROD_REQUESTED",
  pending: true,
  checkedAt: NOW - 10 * 60_000,
  updatedAt: NOW - 10 * 60_000,
});
const done = fakeRow();

function renderScreen(backend = fakeBackend({}, { pages: [{ items: [done, pending], next: "1.2" }, { items: [fakeRow({ cardId: "card-old" })], next: null }] })) {
  render(SupervisorScreen, { props: { backend, clock: () => NOW, pageSize: 2 } });
  return backend;
}

beforeAll(() => {
  startI18n();
});

describe("supervisor screen", () => {
  it("lists orders masked, with how current each status is; a pending status not checked lately says so", async () => {
    renderScreen();
    const rows = await screen.findAllByTestId("order-row");
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByTestId("row-card").textContent).toBe("•••• 5556");
    expect(within(rows[0]!).getByTestId("row-freshness").dataset.freshness).toBe("final");
    const stale = within(rows[1]!).getByTestId("row-freshness");
    expect(stale.dataset.freshness).toBe("stale");
    expect(stale.textContent).toContain("10 minutes ago");
    expect(stale.textContent).toContain("may have changed");
  });

  it("sends the filters and the search to Rust, and pages with the keyset cursor", async () => {
    const first = { items: [done, pending], next: "1.2" };
    const backend = renderScreen(fakeBackend({}, { pages: [first, first, { items: [fakeRow({ cardId: "card-old" })], next: null }] }));
    await screen.findAllByTestId("order-row");
    await fireEvent.change(screen.getByLabelText("Status"), { target: { value: "failed" } });
    await fireEvent.change(screen.getByLabelText("Station"), { target: { value: "BRANCH-PS-02" } });
    await fireEvent.input(screen.getByLabelText("Search"), { target: { value: " 5556 " } });
    // Dates are typed in the chosen language's order (English: month/day/year).
    await fireEvent.input(screen.getByLabelText("From"), { target: { value: "11/01/2026" } });
    await fireEvent.click(screen.getByTestId("apply-filters"));
    await waitFor(() => expect(backend.journalCalls.list).toHaveLength(2));
    const sent = backend.journalCalls.list[1]!;
    expect(sent).toMatchObject({ states: ["failed"], stationId: "BRANCH-PS-02", search: "5556", after: null, pageSize: 2 });
    expect(sent.from).toBe(new Date(2026, 10, 1).getTime());
    expect(sent.to).toBeNull();

    await fireEvent.click(screen.getByTestId("next-page"));
    await waitFor(() => expect(backend.journalCalls.list).toHaveLength(3));
    expect(backend.journalCalls.list[2]).toMatchObject({ after: "1.2", states: ["failed"] });
    expect(screen.getByTestId("page-number").textContent).toBe("Page 2");
    await fireEvent.click(screen.getByTestId("previous-page"));
    await waitFor(() => expect(backend.journalCalls.list).toHaveLength(4));
    expect(backend.journalCalls.list[3]!.after).toBeNull();
  });

  it("refreshes one pending order and shows its new status as just checked", async () => {
    const backend = fakeBackend(
      {},
      {
        pages: [{ items: [pending], next: null }],
        refreshed: { "card-pending": { ...pending, state: "done", d1Status: "CARD_PROD_DONE", pending: false, checkedAt: NOW, updatedAt: NOW } },
      },
    );
    renderScreen(backend);
    await fireEvent.click(await screen.findByTestId("refresh-one"));
    await waitFor(() => expect(screen.getByTestId("row-status").textContent).toBe("Done"));
    expect(backend.journalCalls.refresh).toEqual([["card-pending"]]);
    expect(screen.getByTestId("supervisor-notice").textContent).toContain("1 order checked with D1");
  });

  it("refresh all asks Rust for every pending order (empty list)", async () => {
    const backend = renderScreen();
    await fireEvent.click(await screen.findByTestId("refresh-all"));
    await waitFor(() => expect(backend.journalCalls.refresh).toEqual([[]]));
  });

  it("refresh all also updates a row shown as pending that finished meanwhile, so it never stays stale", async () => {
    const backend = fakeBackend(
      {},
      {
        pages: [{ items: [pending], next: null }],
        inFlight: [],
        refreshed: { "card-pending": { ...pending, state: "done", d1Status: "CARD_PROD_DONE", pending: false, checkedAt: NOW, updatedAt: NOW } },
      },
    );
    renderScreen(backend);
    expect((await screen.findByTestId("row-status")).textContent).toBe("In production");
    await fireEvent.click(screen.getByTestId("refresh-all"));
    await waitFor(() => expect(backend.journalCalls.refresh).toEqual([[], ["card-pending"]]));
    await waitFor(() => expect(screen.getByTestId("row-status").textContent).toBe("Done"));
  });

  it("opens the detail with the timeline and the error", async () => {
    const failed = fakeRow({ cardId: "card-failed", state: "failed", d1Status: "CARD_PROD_EXCEPTION", errorCode: "CARD_PROD_EXCEPTION", errorMessage: "Printer out of cards" });
    renderScreen(fakeBackend({}, { pages: [{ items: [failed], next: null }] }));
    await fireEvent.click(await screen.findByTestId("open-detail"));
    const dialog = await screen.findByRole("dialog");
    await within(dialog).findByTestId("detail-timeline");
    const steps = within(dialog).getAllByRole("listitem");
    expect(steps.map((s) => s.dataset.state)).toEqual(["intent", "accepted", "failed"]);
    expect(within(dialog).getByTestId("detail-error").textContent).toContain("Printer out of cards");
    await fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  });

  it("exports the current filter and says where the file is", async () => {
    const backend = renderScreen();
    await screen.findAllByTestId("order-row");
    await fireEvent.click(screen.getByTestId("export-csv"));
    const notice = await screen.findByTestId("supervisor-notice");
    expect(notice.textContent).toContain("/home/sofia/Downloads/issuance-desk-orders.csv");
    expect(backend.journalCalls.exports[0]).toMatchObject({ after: null, pageSize: 2 });
  });

  it("shows the exceptions that need action", async () => {
    const unknown = fakeRow({ cardId: "card-unknown", state: "outcome_unknown", pending: true, checkedAt: NOW });
    renderScreen(fakeBackend({}, { exceptions: [unknown] }));
    await fireEvent.click(screen.getByTestId("tab-exceptions"));
    const table = await screen.findByTestId("exceptions-table");
    expect(within(table).getByTestId("row-status").textContent).toBe("Outcome unknown");
  });

  it("charts ask for whole hour buckets of the last 24 hours and list failures by reason and station", async () => {
    const backend = renderScreen(
      fakeBackend(
        {},
        {
          stats: {
            bucket: "hour",
            buckets: [{ start: NOW - 3_600_000, orders: 3, failures: 1 }],
            failuresByReason: [{ label: "CARD_PROD_EXCEPTION", count: 1 }],
            failuresByStation: [{ label: "BRANCH-PS-01", count: 1 }],
          },
        },
      ),
    );
    await fireEvent.click(screen.getByTestId("tab-charts"));
    // Reasons and stations by name; the raw code on hover.
    const reasons = await screen.findByTestId("byReason-list");
    expect(reasons.textContent).toContain("Station exception");
    expect(within(reasons).getByTitle("CARD_PROD_EXCEPTION")).toBeTruthy();
    expect(screen.getByTestId("byStation-list").textContent).toContain("Counter 1 printer");
    expect(within(screen.getByTestId("byStation-list")).getByTitle("BRANCH-PS-01")).toBeTruthy();
    const call = backend.journalCalls.stats[0]!;
    expect(call.bucket).toBe("hour");
    expect(call.to - call.from).toBe(24 * 3_600_000);
    expect(call.to % 3_600_000).toBe(0);
  });

  it("a refusal from Rust is shown as such", async () => {
    renderScreen(fakeBackend({}, { error: fakeError("forbidden", "not_supervisor", { user: "ana" }) }));
    const alert = await screen.findByTestId("supervisor-error");
    expect(alert.dataset.kind).toBe("forbidden");
    expect(alert.textContent).toContain("ana is not a supervisor");
    expect(alert.textContent).toContain("Ask IT to add your user");
  });
});

describe("supervisor screen, names and languages", () => {
  it("shows products, issuance types and stations by name, the raw codes on hover", async () => {
    renderScreen(fakeBackend({}, { pages: [{ items: [fakeRow({ issuanceType: "REPLACEMENT", state: "failed", d1Status: "CARD_PROD_EXCEPTION" })], next: null }] }));
    const row = (await screen.findAllByTestId("order-row"))[0]!;
    const product = within(row).getByTestId("row-product");
    await waitFor(() => expect(product.textContent).toContain("Visa Debit (demo)"));
    expect(product.textContent).toContain("Replacement");
    expect(product.getAttribute("title")).toBe("DEMO_DEBIT · REPLACEMENT");
    expect(within(row).getByTitle("BRANCH-PS-01").textContent).toBe("Counter 1 printer");
    expect(within(row).getByTestId("row-status").getAttribute("title")).toContain("CARD_PROD_EXCEPTION");
  });

  it("gives every id of an order a Copy button and says the journal's notes in Spanish", async () => {
    const failed = fakeRow({ cardId: "card-failed", state: "failed", d1Status: "CARD_PROD_EXCEPTION", errorCode: "CARD_PROD_EXCEPTION", errorMessage: "PRINTER_JAM" });
    renderScreen(fakeBackend({}, { pages: [{ items: [failed], next: null }] }));
    setLanguage("es");
    try {
      await fireEvent.click(await screen.findByTestId("open-detail"));
      const dialog = await screen.findByRole("dialog");
      await within(dialog).findByTestId("detail-timeline");
      for (const id of ["detail-correlation-id", "detail-card-id", "detail-operation-id", "detail-issuer-request-id"]) {
        expect(within(dialog).getByTestId(id)).toBeTruthy();
      }
      expect(within(dialog).getAllByRole("button", { name: /^Copiar/ }).length).toBe(4);
      expect(within(dialog).getByTestId("detail-timeline").textContent).toContain("Operación de D1 op-0001");
      expect(within(dialog).getByTestId("detail-error").textContent).toContain("La impresora se atascó");
      expect(within(dialog).getByTestId("detail-error").textContent).toContain("PRINTER_JAM");
    } finally {
      setLanguage("en");
    }
  });

  it("reads dates in the Spanish order (day/month/year) and refuses an impossible one", async () => {
    const backend = renderScreen();
    setLanguage("es");
    try {
      await screen.findAllByTestId("order-row");
      const from = screen.getByLabelText("Desde") as HTMLInputElement;
      expect(from.placeholder).toBe("DD/MM/AAAA");
      await fireEvent.input(from, { target: { value: "30/11/2026" } });
      await fireEvent.click(screen.getByTestId("apply-filters"));
      await waitFor(() => expect(backend.journalCalls.list.at(-1)?.from).toBe(new Date(2026, 10, 30).getTime()));
      await fireEvent.input(from, { target: { value: "31/11/2026" } });
      expect(from.getAttribute("aria-invalid")).toBe("true");
    } finally {
      setLanguage("en");
    }
  });
});

describe("screen navigation", () => {
  it("a supervisor gets Order | Supervisor in the header", async () => {
    render(App, { props: { backend: fakeBackend({}, { access: { allowed: true, user: "sofia", branch: false } }), pollMs: 5 } });
    await fireEvent.click(await screen.findByTestId("nav-supervisor"));
    expect(await screen.findByTestId("supervisor-screen")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("nav-order"));
    expect(screen.queryByTestId("supervisor-screen")).toBeNull();
  });

  it("a teller sees no supervisor navigation", async () => {
    render(App, { props: { backend: fakeBackend({}, { access: { allowed: false, user: "ana", branch: false } }), pollMs: 5 } });
    await screen.findByRole("heading", { name: "Order a card" });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("screen-nav")).toBeNull();
  });
});

describe("supervisor screen on the branch ledger", () => {
  it("says 'this desk only' without a ledger", async () => {
    render(SupervisorScreen, { props: { backend: fakeBackend({}, { pages: [{ items: [fakeRow()], next: null }] }), clock: () => NOW } });
    expect((await screen.findByTestId("supervisor-scope")).textContent).toContain("This desk only");
    expect(screen.queryByLabelText("Desk")).toBeNull();
  });

  it("shows every desk's last sync, flags a stale desk, filters by desk and names the desk of each row", async () => {
    const backend = fakeBackend(
      {},
      {
        pages: [{ items: [fakeRow({ deskId: "B1-D2", operator: "luis" })], next: null }],
        desks: [
          { branchId: "B1", deskId: "B1-D1", lastSync: NOW - 5_000, lastEvent: NOW - 60_000, stale: false, isThisDesk: true },
          { branchId: "B1", deskId: "B1-D2", lastSync: NOW - 3_600_000, lastEvent: null, stale: true, isThisDesk: false },
        ],
      },
    );
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    const scope = await screen.findByTestId("supervisor-scope");
    await waitFor(() => expect(scope.getAttribute("data-branch")).toBe("true"));
    const desks = await screen.findAllByTestId("desk-sync");
    expect(desks.map((d) => d.getAttribute("data-stale"))).toEqual(["false", "true"]);
    expect(desks[1]?.textContent).toContain("not synced lately");
    expect((await screen.findByTestId("row-desk")).textContent).toContain("B1-D2");
    await fireEvent.input(screen.getByLabelText("Desk"), { target: { value: "B1-D2" } });
    await fireEvent.click(screen.getByTestId("apply-filters"));
    await waitFor(() => expect(backend.journalCalls.list.at(-1)?.deskId).toBe("B1-D2"));
  });

  it("follows changes from any desk without being asked", async () => {
    const backend = fakeBackend({}, { pages: [{ items: [fakeRow()], next: null }], desks: [] });
    render(SupervisorScreen, { props: { backend, clock: () => NOW } });
    await screen.findAllByTestId("order-row");
    const before = backend.journalCalls.list.length;
    backend.emitOrderChanged("card-from-desk-2");
    await waitFor(() => expect(backend.journalCalls.list.length).toBeGreaterThan(before));
  });
});
