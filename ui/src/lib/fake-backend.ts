import type {
  Backend,
  Environment,
  FieldProblem,
  FormOptions,
  InterruptedOrder,
  IpcError,
  LedgerStatus,
  OrderDraft,
  OrderFields,
  OrderProgress,
  PracticeGuide,
  ProductionView,
  Result,
  StationState,
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
  /** Like `statuses`, for one card id (each card counts its own calls). */
  statusesByCard?: Record<string, Array<Pick<ProductionView, "detailsStatus" | "phase" | "status" | "reason"> | IpcError>>;
  /** What `interruptedOrders` answers (changeable by the test; then call `emitOrderChanged`). */
  interrupted?: InterruptedOrder[];
  /** What `ledgerStatus` answers (default: no ledger configured). */
  ledger?: LedgerStatus;
  /** What `stationState` answers, by station id (default: no orders yet). */
  stations?: Record<string, Omit<StationState, "stationId" | "stationName">>;
  /** What `practiceGuide` answers (default: none, as outside training). */
  practice?: PracticeGuide | null;
  /** Successive `submitOrder` answers get card ids card-0001, card-0002, … */
  distinctCardIds?: boolean;
  /** Issuance types whose review says a second person's approval is needed. */
  needsApproval?: string[];
}

export interface FakeBackend extends Backend, FakeJournal, FakeCounter {
  readySignals: number;
  submitted: OrderDraft[];
  /** Every draft `checkOrder` received, as it was received. */
  checked: OrderFields[];
  resent: string[];
  script: FakeScript;
  /** Plays the shell's `order-changed` event. */
  emitOrderChanged(cardId: string | null): void;
  /** Plays the shell's `ledger-changed` event. */
  emitLedgerChanged(status: LedgerStatus): void;
}

/** An error as the shell sends it: a kind, a code and facts (the words are the locales'). */
export function fakeError(kind: IpcError["kind"], code: IpcError["code"], extra: Partial<IpcError> = {}): IpcError {
  return {
    kind,
    code,
    correlationId: null,
    cardId: null,
    httpStatus: null,
    d1ErrorCode: null,
    fields: [],
    graceMinutes: null,
    user: null,
    configProblems: [],
    ledgerError: null,
    ...extra,
  };
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
    {
      id: "DEMO_CREDIT",
      displayName: "Mastercard Credit (demo)",
      displayNameEs: "Mastercard Crédito (demo)",
      issuanceTypes: ["CREATION", "REPLACEMENT"],
      suppliesCvv2: true,
      artworks: [],
      panLengths: [16],
      nameMaxLength: 26,
    },
  ],
  stations: [
    { id: "BRANCH-PS-01", name: "Counter 1 printer", isDefault: true },
    { id: "BRANCH-PS-02", name: "Back office printer", isDefault: false },
  ],
  priorities: ["STANDARD", "URGENT"],
  orderOptions: {
    delivery: ["NO_SHIPMENT", "BRANCH_PICKUP"],
    packaging: [],
    cardCarrier: ["NO_CARRIER", "WELCOME_LETTER"],
    pinMailer: true,
    alphaCard: true,
    designImages: ["LOGO_CLUB", "LOGO_UNIVERSITY"],
    carrierImages: ["WELCOME_BANNER"],
  },
};

const ok = <T>(value: T): Result<T> => ({ ok: true, value });

/** An in-memory backend for component tests. */
export function fakeBackend(
  script: FakeScript = {},
  journal: JournalScript = {},
  counter: CounterScript = {},
): FakeBackend {
  let statusCalls = 0;
  const cardCalls = new Map<string, number>();
  let submissions = 0;
  const listeners = new Set<(cardId: string | null) => void>();
  const ledgerListeners = new Set<(status: LedgerStatus) => void>();
  const order = (): SubmittedOrder => ({
    outcome: script.outcome ?? "accepted",
    cardId: script.distinctCardIds ? `card-${String(submissions).padStart(4, "0")}` : "card-0001",
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
    checked: [],
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
    async checkOrder(fields) {
      backend.checked.push(JSON.parse(JSON.stringify(fields)) as OrderFields);
      // Like Rust: the check without card data reports no card-data problem.
      return ok((script.problems ?? []).filter((p) => !p.field.startsWith("cardData.")));
    },
    async stationState(stationId) {
      const known = script.stations?.[stationId] ?? { lastMade: null, lastException: null, lastFailed: false };
      const station = FAKE_OPTIONS.stations.find((s) => s.id === stationId);
      return ok({ stationId, stationName: station?.name ?? null, ...known });
    },
    async practiceGuide() {
      return ok(script.practice ?? null);
    },
    async reviewOrder(draft) {
      if (script.problems?.length) {
        return { ok: false, error: fakeError("validation", "invalid_fields", { fields: script.problems }) };
      }
      const station = FAKE_OPTIONS.stations.find((s) => s.id === draft.persoStation);
      const artwork = FAKE_OPTIONS.products[0]?.artworks.find((a) => a.id === draft.design.artworkId);
      return ok({
        consumerId: draft.consumerId,
        productId: draft.cardProductId,
        productName: "Visa Debit (demo)",
        productNameEs: "Visa Débito (demo)",
        stationId: draft.persoStation,
        stationName: station?.name ?? "",
        issuanceType: draft.issuanceType,
        priority: draft.priority,
        maskedPan: `•••• ${draft.card.pan.replace(/\D/g, "").slice(-4)}`,
        nameOnCard: draft.card.name.trim(),
        secondLine: draft.card.secondName?.trim() || null,
        expiry: draft.card.exp,
        artworkId: draft.design.artworkId,
        artworkName: artwork?.name ?? null,
        customLines: draft.design.customLines.filter((l) => l !== ""),
        memberId: draft.design.memberId,
        carrierLanguage: draft.carrier.language,
        carrierLines: draft.carrier.customLines.filter((l) => l !== ""),
        designImages: [...draft.design.images],
        cardImage: draft.design.cardImage,
        carrierImages: [...draft.carrier.images],
        multiCardId: draft.carrier.multiCardId,
        multiCardOrder: draft.carrier.multiCardOrder,
        delivery: draft.services.delivery,
        packaging: draft.services.packaging,
        cardCarrier: draft.services.cardCarrier,
        pinMailer: draft.services.pinMailer,
        alphaCard: draft.services.alphaCard,
        needsApproval: script.needsApproval?.includes(draft.issuanceType) ?? false,
      });
    },
    async submitOrder(draft, onProgress) {
      submissions += 1;
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
      const own = script.statusesByCard?.[cardId];
      const statuses = own ?? script.statuses ?? [{ detailsStatus: "CARD_PROD_DONE", phase: "done", status: "SUCCESSFUL", reason: null }];
      const calls = own ? (cardCalls.get(cardId) ?? 0) : statusCalls;
      const s = statuses[Math.min(calls, statuses.length - 1)];
      if (own) cardCalls.set(cardId, calls + 1);
      else statusCalls += 1;
      if (!s) return { ok: false, error: fakeError("internal", "internal") };
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
