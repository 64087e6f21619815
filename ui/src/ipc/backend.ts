// The one host boundary. Components receive a `Backend`; the app gets the Tauri
// implementation, tests a fake one. Only files in this folder import `@tauri-apps/*`.
import type {
  AppInfo,
  Bucket,
  CardDataInput,
  CarrierDraft,
  DesignDraft,
  DeskSync,
  ExportResult,
  FieldError,
  FormOptions,
  InterruptedOrder,
  IpcError,
  LedgerStatus,
  OrderDraft as OrderDraftInput,
  OrderFields as OrderFieldsInput,
  OrderFilter,
  OrderPage,
  OrderProgress,
  OrderReview,
  OrderRow,
  OrderStats,
  OrderTimeline,
  PracticeGuide,
  ProductionView,
  RefreshResult,
  StationState,
  ServicesDraft,
  SubmittedOrder,
  SupervisorAccess,
  ApprovalOutcome,
  ApprovalView,
  BalanceRow,
  CounterTimeView,
  ExceptionRow,
  ReissueForm,
} from "./bindings";

export type {
  AppInfo,
  ApprovalOutcome,
  ApprovalState,
  ApprovalView,
  BalanceRow,
  CounterTimeView,
  ExceptionRow,
  ReissueForm,
  Bucket,
  ChartBucket,
  ChartLabel,
  DeskSync,
  Environment,
  ErrorKind,
  ExportResult,
  FieldError,
  FormOptions,
  InterruptedOrder,
  IpcError,
  LedgerState,
  LedgerStatus,
  OrderFilter,
  OrderPage,
  OrderProgress,
  OrderReview,
  OrderRow,
  OrderState,
  OrderStats,
  OrderTimeline,
  PracticeGuide,
  PracticeTrigger,
  ProductionPhase,
  ProductionView,
  RefreshResult,
  StationState,
  SubmittedOrder,
  SupervisorAccess,
  Verdict,
} from "./bindings";
/** The card fields the form has, every one present (Rust takes any subset of `CardDataInput`). */
export type CardDraft = Required<Pick<CardDataInput, "pan" | "exp" | "name" | "secondName" | "cvv2" | "panSequenceNumber">>;
/** The form's state: every field present. What Rust receives is the `OrderDraft` of the bindings. */
export type OrderDraft = Required<Omit<OrderDraftInput, "card" | "design" | "carrier" | "services">> & {
  card: CardDraft;
  design: Required<DesignDraft>;
  carrier: Required<CarrierDraft>;
  services: Required<ServicesDraft>;
};
/** The form without its card data (what the checks while typing see), every field present. */
export type OrderFields = Required<Omit<OrderFieldsInput, "design" | "carrier" | "services">> & {
  design: Required<DesignDraft>;
  carrier: Required<CarrierDraft>;
  services: Required<ServicesDraft>;
};
/** One problem with one field of the order (the Rust `FieldError`). */
export type FieldProblem = FieldError;
export type ProductOption = FormOptions["products"][number];
export type TimelineEntry = OrderTimeline["history"][number];
export type StationEvent = NonNullable<StationState["lastMade"]>;
export type CounterFigure = CounterTimeView["byDay"][number];

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export interface Backend {
  appInfo(): Promise<Result<AppInfo>>;
  /** Tells the shell that the first screen is interactive. */
  signalUiReady(): Promise<void>;
  /** Fetches a D1 token: proves the desk can reach and sign in to D1. */
  checkConnection(): Promise<Result<null>>;
  formOptions(): Promise<Result<FormOptions>>;
  /** Every problem with the fields but the card data, from the Rust validation. Sends nothing;
   * never receives card data (that crosses IPC only at review and submit). */
  checkOrder(fields: OrderFields): Promise<Result<FieldProblem[]>>;
  reviewOrder(draft: OrderDraft): Promise<Result<OrderReview>>;
  submitOrder(draft: OrderDraft, onProgress: (progress: OrderProgress) => void): Promise<Result<SubmittedOrder>>;
  /** Sends the same order again (same card id and encrypted data). */
  resendOrder(cardId: string, onProgress: (progress: OrderProgress) => void): Promise<Result<SubmittedOrder>>;
  orderStatus(cardId: string): Promise<Result<ProductionView>>;
  /** The orders the previous run left unfinished, with what is known of each now. */
  interruptedOrders(): Promise<Result<InterruptedOrder[]>>;
  /** Where this desk's record stands with the branch ledger. */
  ledgerStatus(): Promise<Result<LedgerStatus>>;
  /** Calls `listener` with every change of the ledger's state; returns the unsubscribe. */
  onLedgerChanged(listener: (status: LedgerStatus) => void): Promise<() => void>;
  /** Calls `listener` with the card id of every order that changes (`null`: any order may have
   * changed, reload once); returns the unsubscribe. */
  onOrderChanged(listener: (cardId: string | null) => void): Promise<() => void>;
  /** What the station did lately (last card made, last exception), from the journal. */
  stationState(stationId: string): Promise<Result<StationState>>;
  /** Training only: the practice triggers and demo card numbers; `null` elsewhere. */
  practiceGuide(): Promise<Result<PracticeGuide | null>>;

  // Supervisor: every call is refused in Rust (kind `forbidden`) for a user who is not one.
  /** Whether this OS user may use the supervisor screen. */
  supervisorAccess(): Promise<Result<SupervisorAccess>>;
  listOrders(filter: OrderFilter): Promise<Result<OrderPage>>;
  orderDetail(cardId: string): Promise<Result<OrderTimeline>>;
  /** Asks D1 about these orders; an empty list means every pending order. */
  refreshOrders(cardIds: string[]): Promise<Result<RefreshResult[]>>;
  /** `from`/`to`: milliseconds since the epoch, `[from, to)`. */
  orderStats(from: number, to: number, bucket: Bucket): Promise<Result<OrderStats>>;
  orderExceptions(): Promise<Result<OrderRow[]>>;
  /** Writes a masked CSV to the Downloads folder; says where. */
  exportOrders(filter: OrderFilter): Promise<Result<ExportResult>>;
  /** Every desk of the branch with its last sync (empty without a branch ledger). */
  deskSyncs(): Promise<Result<DeskSync[]>>;

  // Counter workflows.
  /** Asks a second person's approval of the reviewed order; the card data goes to Rust now and
   * waits there (encrypted, memory only) for the decision. */
  requestApproval(draft: OrderDraft, reason: string): Promise<Result<ApprovalView>>;
  /** Resolves once the request is decided: sent (with progress) or ended (nothing sent). */
  awaitApproval(cardId: string, onProgress: (progress: OrderProgress) => void): Promise<Result<ApprovalOutcome>>;
  cancelApproval(cardId: string): Promise<Result<ApprovalView>>;
  /** Calls `listener` with `approval` or `exception` when the branch's ones change. */
  onCounterChanged(listener: (kind: string) => void): Promise<() => void>;
  spoiledReasons(): Promise<Result<string[]>>;
  reportSpoiled(cardId: string, reason: string): Promise<Result<null>>;
  /** The form of a reissue of a spoiled order: everything but the card data. */
  reissueForm(cardId: string): Promise<Result<ReissueForm>>;
  // Supervisor (refused in Rust for anyone else).
  pendingApprovals(): Promise<Result<ApprovalView[]>>;
  decideApproval(cardId: string, approve: boolean, comment: string | null): Promise<Result<ApprovalView>>;
  /** `null`: no branch ledger (exceptions are then the journal's, read-only). */
  exceptionCases(): Promise<Result<ExceptionRow[] | null>>;
  takeException(cardId: string): Promise<Result<null>>;
  commentException(cardId: string, text: string): Promise<Result<null>>;
  resolveException(cardId: string, resolution: string): Promise<Result<null>>;
  /** `[from, to)` in ms; days in the window's zone. `null`: no branch ledger. */
  counterTime(from: number, to: number, utcOffsetMinutes: number): Promise<Result<CounterTimeView | null>>;
  dayBalance(from: number, to: number, utcOffsetMinutes: number): Promise<Result<BalanceRow[] | null>>;
  exportDayBalance(from: number, to: number, utcOffsetMinutes: number): Promise<Result<ExportResult | null>>;
}
