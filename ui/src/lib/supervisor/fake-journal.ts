import type {
  Bucket,
  DeskSync,
  ExportResult,
  IpcError,
  OrderFilter,
  OrderPage,
  OrderRow,
  OrderStats,
  OrderTimeline,
  RefreshResult,
  Result,
  SupervisorAccess,
} from "../../ipc/backend";

/** What the fake journal answers. It replays; every rule (filters, access) stays in Rust. */
export interface JournalScript {
  access?: SupervisorAccess;
  /** Returned by successive `listOrders` calls (the last repeats). */
  pages?: OrderPage[];
  exceptions?: OrderRow[];
  stats?: OrderStats;
  /** The orders Rust considers in flight for "refresh all" (default: the pending rows). */
  inFlight?: string[];
  /** Rows a refresh returns, by card id (unchanged row when missing). */
  refreshed?: Record<string, OrderRow>;
  /** Every supervisor call fails with this (e.g. `forbidden`). */
  error?: IpcError;
  /** The branch's desks and their last sync (a ledger is configured). */
  desks?: DeskSync[];
  /** The counter part of an order's detail (approval, spoiled/reissue links, exception steps). */
  counter?: Record<string, Partial<Pick<OrderTimeline, "counter" | "approval" | "case">>>;
}

export interface FakeJournal {
  journalCalls: {
    list: OrderFilter[];
    detail: string[];
    refresh: string[][];
    stats: Array<{ from: number; to: number; bucket: Bucket }>;
    exports: OrderFilter[];
  };
  supervisorAccess(): Promise<Result<SupervisorAccess>>;
  listOrders(filter: OrderFilter): Promise<Result<OrderPage>>;
  orderDetail(cardId: string): Promise<Result<OrderTimeline>>;
  refreshOrders(cardIds: string[]): Promise<Result<RefreshResult[]>>;
  orderStats(from: number, to: number, bucket: Bucket): Promise<Result<OrderStats>>;
  orderExceptions(): Promise<Result<OrderRow[]>>;
  exportOrders(filter: OrderFilter): Promise<Result<ExportResult>>;
  deskSyncs(): Promise<Result<DeskSync[]>>;
}

export const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);

export function fakeRow(overrides: Partial<OrderRow> = {}): OrderRow {
  return {
    createdAt: NOW - 60_000,
    updatedAt: NOW - 30_000,
    checkedAt: NOW - 30_000,
    operator: "ana",
    consumerId: "CUST-1001",
    productId: "DEMO_DEBIT",
    stationId: "BRANCH-PS-01",
    issuanceType: "CREATION",
    last4: "5556",
    cardId: "card-0001",
    issuerRequestId: "req-0001",
    correlationId: "corr-0001",
    operationId: "op-0001",
    state: "done",
    d1Status: "CARD_PROD_DONE",
    errorCode: null,
    errorMessage: null,
    pending: false,
    deskId: null,
    ...overrides,
  };
}

const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export function fakeJournal(script: JournalScript = {}): FakeJournal {
  const calls: FakeJournal["journalCalls"] = { list: [], detail: [], refresh: [], stats: [], exports: [] };
  const rows = (): OrderRow[] => (script.pages ?? []).flatMap((p) => p.items);
  const fail = (): Result<never> | null => (script.error ? { ok: false, error: script.error } : null);
  return {
    journalCalls: calls,
    async supervisorAccess() {
      return ok(script.access ?? { allowed: true, user: "sofia", branch: script.desks !== undefined });
    },
    async listOrders(filter) {
      calls.list.push(JSON.parse(JSON.stringify(filter)) as OrderFilter);
      const pages = script.pages ?? [{ items: [], next: null }];
      const page = pages[Math.min(calls.list.length - 1, pages.length - 1)] ?? { items: [], next: null };
      return fail() ?? ok(page);
    },
    async deskSyncs() {
      return fail() ?? ok(script.desks ?? []);
    },
    async orderDetail(cardId) {
      calls.detail.push(cardId);
      const order = rows().find((r) => r.cardId === cardId) ?? fakeRow({ cardId });
      return (
        fail() ??
        ok({
          order,
          history: [
            { at: (order.createdAt ?? NOW) + 0, state: "intent", d1Status: null, detail: null },
            { at: (order.createdAt ?? NOW) + 1000, state: "accepted", d1Status: null, detail: order.operationId ? `operation ${order.operationId}` : null },
            { at: order.updatedAt ?? NOW, state: order.state, d1Status: order.d1Status ?? null, detail: order.errorMessage ?? null },
          ],
          counter: { reissueOf: null, spoiledAt: null, spoiledReason: null, reissuedBy: [] },
          approval: null,
          case: [],
          ...script.counter?.[cardId],
        })
      );
    },
    async refreshOrders(cardIds) {
      calls.refresh.push([...cardIds]);
      const ids = cardIds.length
        ? cardIds
        : (script.inFlight ?? rows().filter((r) => r.pending).map((r) => r.cardId));
      return (
        fail() ??
        ok(
          ids.map((cardId) => ({
            cardId,
            order: script.refreshed?.[cardId] ?? rows().find((r) => r.cardId === cardId) ?? null,
            error: null,
          })),
        )
      );
    },
    async orderStats(from, to, bucket) {
      calls.stats.push({ from, to, bucket });
      return fail() ?? ok(script.stats ?? { bucket, buckets: [], failuresByReason: [], failuresByStation: [] });
    },
    async orderExceptions() {
      return fail() ?? ok(script.exceptions ?? []);
    },
    async exportOrders(filter) {
      calls.exports.push(JSON.parse(JSON.stringify(filter)) as OrderFilter);
      return fail() ?? ok({ path: "/home/sofia/Downloads/issuance-desk-orders.csv", orders: rows().length });
    },
  };
}
