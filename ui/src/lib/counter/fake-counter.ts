import type {
  ApprovalOutcome,
  ApprovalView,
  BalanceRow,
  CounterTimeView,
  ExceptionRow,
  ExportResult,
  IpcError,
  OrderDraft,
  OrderProgress,
  ReissueForm,
  Result,
} from "../../ipc/backend";

/** What the fake counter workflows answer. They replay; every rule stays in Rust and the
 * ledger (the fake never decides who may approve). */
export interface CounterScript {
  /** What `requestApproval` answers (default: a pending request of `teller1`). */
  request?: ApprovalView | IpcError;
  /** What `awaitApproval` resolves to; `null`: it waits until `resolveApproval` is called. */
  outcome?: ApprovalOutcome | null;
  /** The open requests the Approvals view lists. */
  pending?: ApprovalView[];
  /** What `decideApproval` answers (default: the request, decided). */
  decision?: IpcError;
  reasons?: string[];
  spoiledError?: IpcError;
  reissue?: ReissueForm;
  /** `null`: no ledger. */
  cases?: ExceptionRow[] | null;
  caseError?: IpcError;
  counterTime?: CounterTimeView | null;
  balance?: BalanceRow[] | null;
}

export interface FakeCounter {
  counterCalls: {
    requests: Array<{ draft: OrderDraft; reason: string }>;
    canceled: string[];
    decisions: Array<{ cardId: string; approve: boolean; comment: string | null }>;
    spoiled: Array<{ cardId: string; reason: string }>;
    cases: Array<{ action: string; cardId: string; text?: string }>;
  };
  /** Ends a pending `awaitApproval` with this outcome. */
  resolveApproval(outcome: ApprovalOutcome): void;
  /** Plays the shell's `counter-changed` event. */
  emitCounterChanged(kind: string): void;
  requestApproval(draft: OrderDraft, reason: string): Promise<Result<ApprovalView>>;
  awaitApproval(cardId: string, onProgress: (p: OrderProgress) => void): Promise<Result<ApprovalOutcome>>;
  cancelApproval(cardId: string): Promise<Result<ApprovalView>>;
  pendingApprovals(): Promise<Result<ApprovalView[]>>;
  decideApproval(cardId: string, approve: boolean, comment: string | null): Promise<Result<ApprovalView>>;
  onCounterChanged(listener: (kind: string) => void): Promise<() => void>;
  spoiledReasons(): Promise<Result<string[]>>;
  reportSpoiled(cardId: string, reason: string): Promise<Result<null>>;
  reissueForm(cardId: string): Promise<Result<ReissueForm>>;
  exceptionCases(): Promise<Result<ExceptionRow[] | null>>;
  takeException(cardId: string): Promise<Result<null>>;
  commentException(cardId: string, text: string): Promise<Result<null>>;
  resolveException(cardId: string, text: string): Promise<Result<null>>;
  counterTime(from: number, to: number, utcOffsetMinutes: number): Promise<Result<CounterTimeView | null>>;
  dayBalance(from: number, to: number, utcOffsetMinutes: number): Promise<Result<BalanceRow[] | null>>;
  exportDayBalance(from: number, to: number, utcOffsetMinutes: number): Promise<Result<ExportResult | null>>;
}

export const APPROVAL_NOW = Date.UTC(2026, 10, 25, 10, 0, 0);

export function fakeApproval(overrides: Partial<ApprovalView> = {}): ApprovalView {
  return {
    cardId: "card-0001",
    state: "pending",
    deskId: "B0042-D1",
    requestedBy: "teller1",
    consumerId: "CUST-1001",
    productId: "DEMO_DEBIT",
    stationId: "BRANCH-PS-01",
    issuanceType: "REPLACEMENT",
    last4: "5556",
    reason: "card stolen",
    requestedAt: APPROVAL_NOW,
    expiresAt: APPROVAL_NOW + 300_000,
    remainingMs: 300_000,
    decidedBy: null,
    comment: null,
    decidedAt: null,
    isMine: false,
    ...overrides,
  };
}

const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export function fakeCounter(script: CounterScript = {}): FakeCounter {
  const calls: FakeCounter["counterCalls"] = { requests: [], canceled: [], decisions: [], spoiled: [], cases: [] };
  const listeners = new Set<(kind: string) => void>();
  let pendingResolve: ((outcome: ApprovalOutcome) => void) | null = null;
  const fake: FakeCounter = {
    counterCalls: calls,
    resolveApproval(outcome) {
      pendingResolve?.(outcome);
      pendingResolve = null;
    },
    emitCounterChanged(kind) {
      listeners.forEach((l) => l(kind));
    },
    async requestApproval(draft, reason) {
      calls.requests.push({ draft: structuredClone(draft), reason });
      const answer = script.request ?? fakeApproval({ reason, isMine: true });
      return "kind" in answer ? { ok: false, error: answer } : ok(answer);
    },
    async awaitApproval() {
      if (script.outcome) return ok(script.outcome);
      return ok(await new Promise<ApprovalOutcome>((resolve) => (pendingResolve = resolve)));
    },
    async cancelApproval(cardId) {
      calls.canceled.push(cardId);
      const approval = fakeApproval({ cardId, state: "canceled", remainingMs: 0, isMine: true });
      fake.resolveApproval({ outcome: "ended", approval });
      return ok(approval);
    },
    async pendingApprovals() {
      return ok(structuredClone(script.pending ?? []));
    },
    async decideApproval(cardId, approve, comment) {
      calls.decisions.push({ cardId, approve, comment });
      if (script.decision) return { ok: false, error: script.decision };
      const request = script.pending?.find((r) => r.cardId === cardId) ?? fakeApproval({ cardId });
      script.pending = (script.pending ?? []).filter((r) => r.cardId !== cardId);
      return ok({ ...request, state: approve ? "approved" : "declined", decidedBy: "sofia", comment, remainingMs: 0 });
    },
    async onCounterChanged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async spoiledReasons() {
      return ok(script.reasons ?? ["misprint", "damaged", "wrong_data", "customer_left", "test_card"]);
    },
    async reportSpoiled(cardId, reason) {
      calls.spoiled.push({ cardId, reason });
      return script.spoiledError ? { ok: false, error: script.spoiledError } : ok(null);
    },
    async reissueForm(cardId) {
      return ok(
        script.reissue ?? {
          reissueOf: cardId,
          consumerId: "CUST-1001",
          cardProductId: "DEMO_DEBIT",
          issuanceType: "CREATION",
          priority: "STANDARD",
          persoStation: "BRANCH-PS-01",
          design: { artworkId: "CLASSIC_BLUE", customLines: ["WELCOME"], memberId: null, images: [], cardImage: null },
          carrier: { language: null, customLines: [], images: [], multiCardId: null, multiCardOrder: null },
          complete: true,
        },
      );
    },
    async exceptionCases() {
      return ok(script.cases === undefined ? [] : structuredClone(script.cases));
    },
    async takeException(cardId) {
      calls.cases.push({ action: "take", cardId });
      if (script.caseError) return { ok: false, error: script.caseError };
      script.cases = (script.cases ?? []).map((c) =>
        c.order.cardId === cardId ? { ...c, owner: "sofia", takenAt: APPROVAL_NOW, isMine: true } : c,
      );
      return ok(null);
    },
    async commentException(cardId, text) {
      calls.cases.push({ action: "comment", cardId, text });
      return script.caseError ? { ok: false, error: script.caseError } : ok(null);
    },
    async resolveException(cardId, text) {
      calls.cases.push({ action: "resolve", cardId, text });
      if (script.caseError) return { ok: false, error: script.caseError };
      script.cases = (script.cases ?? []).filter((c) => c.order.cardId !== cardId);
      return ok(null);
    },
    async counterTime() {
      return ok(script.counterTime === undefined ? null : structuredClone(script.counterTime));
    },
    async dayBalance() {
      return ok(script.balance === undefined ? null : structuredClone(script.balance));
    },
    async exportDayBalance() {
      return ok(script.balance ? { path: "/home/sofia/Downloads/issuance-desk-balance.csv", orders: script.balance.length } : null);
    },
  };
  return fake;
}
