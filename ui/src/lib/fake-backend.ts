import type {
  Backend,
  Environment,
  FieldProblem,
  FormOptions,
  InterruptedOrder,
  IpcError,
  LedgerStatus,
  OrderDraft,
  OrderProgress,
  ProductionView,
  Result,
  SubmittedOrder,
} from "../ipc/backend";

import { fakeCounter, type CounterScript, type FakeCounter } from "./counter/fake-counter";
import { fakeJournal, type FakeJournal, type JournalScript } from "./supervisor/fake-journal";

/** What a scripted fake backend answers. Every rule stays in Rust: the fake only replays. */
export interface FakeScript {
  environment?: Environment;
  failStartWith?: IpcError;
  connection?: IpcError | null;
  /** Problems `checkOrder` and `reviewOrder` report. */
  problems?: FieldProblem[];
  submitError?: IpcError;
  outcome?: SubmittedOrder["outcome"];
  /** Production statuses returned by successive `orderStatus` calls (the last repeats); an
   * `IpcError` in the list is returned as the failure of that call. */
  statuses?: Array<Pick<ProductionView, "detailsStatus" | "phase" | "status" | "reason"> | IpcError>;
  /** What `interruptedOrders` answers (changeable by the test; then call `emitOrderChanged`). */
  interrupted?: InterruptedOrder[];
  /** What `ledgerStatus` answers (default: no ledger configured). */
  ledger?: LedgerStatus;
  /** Issuance types whose review says a second person's approval is needed. */
  needsApproval?: string[];
}

export interface FakeBackend extends Backend, FakeJournal, FakeCounter {
  readySignals: number;
  submitted: OrderDraft[];
  resent: string[];
  script: FakeScript;
  /** Plays the shell's `order-changed` event. */
  emitOrderChanged(cardId: string): void;
  /** Plays the shell's `ledger-changed` event. */
  emitLedgerChanged(status: LedgerStatus): void;
}

export function fakeError(kind: IpcError["kind"], message: string, extra: Partial<IpcError> = {}): IpcError {
  return { kind, message, code: null, whatToDo: null, correlationId: null, cardId: null, fields: [], ...extra };
}

export const FAKE_OPTIONS: FormOptions = {
  products: [
    {
      id: "DEMO_DEBIT",
      displayName: "Visa Debit (demo)",
      displayNameEs: "Visa Débito (demo)",
      issuanceTypes: ["CREATION", "RENEWAL", "REPLACEMENT"],
      suppliesCvv2: false,
      artworks: [{ id: "CLASSIC_BLUE", name: "Classic blue" }],
      panLengths: [16],
      nameMaxLength: 26,
    },
  ],
  stations: [
    { id: "BRANCH-PS-01", name: "Counter 1 printer", isDefault: true },
    { id: "BRANCH-PS-02", name: "Back office printer", isDefault: false },
  ],
  priorities: ["STANDARD", "URGENT"],
};

const ok = <T>(value: T): Result<T> => ({ ok: true, value });

/** An in-memory backend for component tests. */
export function fakeBackend(
  script: FakeScript = {},
  journal: JournalScript = {},
  counter: CounterScript = {},
): FakeBackend {
  let statusCalls = 0;
  const listeners = new Set<(cardId: string) => void>();
  const ledgerListeners = new Set<(status: LedgerStatus) => void>();
  const order = (): SubmittedOrder => ({
    outcome: script.outcome ?? "accepted",
    cardId: "card-0001",
    issuerRequestId: "req-0001",
    correlationId: "corr-0001",
    operationId: script.outcome === "unknown" ? null : "op-0001",
    last4: "5556",
  });
  const backend: FakeBackend = {
    ...fakeJournal(journal),
    ...fakeCounter(counter),
    readySignals: 0,
    submitted: [],
    resent: [],
    script,
    emitOrderChanged(cardId) {
      listeners.forEach((listener) => listener(cardId));
    },
    emitLedgerChanged(status) {
      ledgerListeners.forEach((listener) => listener(status));
    },
    async ledgerStatus() {
      return ok(
        script.ledger ?? { state: "not_configured", waiting: 0, waitingSince: null, lastSync: null, problem: null },
      );
    },
    async onLedgerChanged(listener) {
      ledgerListeners.add(listener);
      return () => ledgerListeners.delete(listener);
    },
    async interruptedOrders() {
      return ok(structuredClone(script.interrupted ?? []));
    },
    async onOrderChanged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async appInfo() {
      if (script.failStartWith) return { ok: false, error: script.failStartWith };
      return ok({
        productName: "Issuance Desk",
        version: "0.0.0-test",
        environment: script.environment ?? "training",
        idleClearSeconds: 120,
        language: null,
      });
    },
    async signalUiReady() {
      backend.readySignals += 1;
    },
    async checkConnection() {
      return script.connection ? { ok: false, error: script.connection } : ok(null);
    },
    async formOptions() {
      return ok(FAKE_OPTIONS);
    },
    async checkOrder() {
      return ok(script.problems ?? []);
    },
    async reviewOrder(draft) {
      if (script.problems?.length) {
        return { ok: false, error: fakeError("validation", "Some fields need correcting.", { fields: script.problems }) };
      }
      return ok({
        consumerId: draft.consumerId,
        productName: "Visa Debit (demo)",
        productNameEs: "Visa Débito (demo)",
        stationName: "Counter 1 printer",
        issuanceType: draft.issuanceType,
        priority: draft.priority,
        maskedPan: `•••• ${draft.card.pan.replace(/\D/g, "").slice(-4)}`,
        artworkName: null,
        customLineCount: draft.design.customLines.length,
        needsApproval: script.needsApproval?.includes(draft.issuanceType) ?? false,
      });
    },
    async submitOrder(draft, onProgress) {
      backend.submitted.push(structuredClone(draft));
      const stages: OrderProgress[] = [{ stage: "encrypting" }, { stage: "authenticating" }, { stage: "sending" }];
      stages.forEach(onProgress);
      if (script.submitError) return { ok: false, error: script.submitError };
      const submitted = order();
      if (submitted.operationId) onProgress({ stage: "accepted", operationId: submitted.operationId });
      return ok(submitted);
    },
    async resendOrder(cardId, onProgress) {
      backend.resent.push(cardId);
      onProgress({ stage: "sending" });
      script.submitError = undefined;
      return ok({ ...order(), outcome: "accepted", operationId: "op-0001" });
    },
    async orderStatus(cardId) {
      const statuses = script.statuses ?? [{ detailsStatus: "CARD_PROD_DONE", phase: "done", status: "SUCCESSFUL", reason: null }];
      const s = statuses[Math.min(statusCalls, statuses.length - 1)];
      statusCalls += 1;
      if (!s) return { ok: false, error: fakeError("internal", "no status") };
      if ("kind" in s) return { ok: false, error: s };
      return ok({
        cardId,
        operationId: "op-0001",
        startTime: "2026-11-25T10:00:00Z",
        endTime: s.phase === "in_progress" ? null : "2026-11-25T10:00:06Z",
        ...s,
      });
    },
  };
  return backend;
}
