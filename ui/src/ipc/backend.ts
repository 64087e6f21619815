// The one host boundary. Components receive a `Backend`; the app gets the Tauri
// implementation, tests a fake one. Only files in this folder import `@tauri-apps/*`.
import type {
  AppInfo,
  FieldProblem_Serialize,
  FormOptions_Serialize,
  IpcError_Serialize,
  OrderDraft_Serialize,
  OrderProgress,
  OrderReview_Serialize,
  ProductionView_Serialize,
  SubmittedOrder_Serialize,
  Bucket,
  ExportResult,
  OrderFilter_Deserialize,
  OrderPage_Serialize,
  OrderRow_Serialize,
  OrderStats,
  OrderTimeline_Serialize,
  RefreshResult_Serialize,
  SupervisorAccess,
  DeskSync_Serialize,
  InterruptedOrder_Serialize,
  LedgerStatus_Serialize,
  OrderFields_Serialize,
  StationState_Serialize,
  PracticeGuide as PracticeGuide_Serialize,
  ApprovalOutcome_Serialize,
  ApprovalView_Serialize,
  BalanceRow,
  CounterTimeView_Serialize,
  ExceptionRow_Serialize,
  ReissueForm_Serialize,
} from "./bindings";

export type { AppInfo, Environment, ErrorKind, OrderProgress, ProductionPhase, Verdict } from "./bindings";
export type InterruptedOrder = InterruptedOrder_Serialize;
export type LedgerStatus = LedgerStatus_Serialize;
export type { LedgerState } from "./bindings";
export type IpcError = IpcError_Serialize;
export type FieldProblem = FieldProblem_Serialize;
export type FormOptions = FormOptions_Serialize;
export type ProductOption = FormOptions_Serialize["products"][number];
/** The form's state: every field present. */
export type OrderDraft = OrderDraft_Serialize;
/** The form without its card data: what the checks while typing see. */
export type OrderFields = OrderFields_Serialize;
export type StationState = StationState_Serialize;
export type StationEvent = NonNullable<StationState_Serialize["lastMade"]>;
export type PracticeGuide = PracticeGuide_Serialize;
export type { PracticeTrigger } from "./bindings";
export type OrderReview = OrderReview_Serialize;
export type SubmittedOrder = SubmittedOrder_Serialize;
export type ProductionView = ProductionView_Serialize;
export type { Bucket, ChartBucket, ChartLabel, ExportResult, OrderState, OrderStats, SupervisorAccess } from "./bindings";
export type OrderFilter = OrderFilter_Deserialize;
export type OrderPage = OrderPage_Serialize;
export type OrderRow = OrderRow_Serialize;
export type OrderTimeline = OrderTimeline_Serialize;
export type TimelineEntry = OrderTimeline_Serialize["history"][number];
export type RefreshResult = RefreshResult_Serialize;
export type DeskSync = DeskSync_Serialize;
export type ApprovalView = ApprovalView_Serialize;
export type ApprovalOutcome = ApprovalOutcome_Serialize;
export type ReissueForm = ReissueForm_Serialize;
export type ExceptionRow = ExceptionRow_Serialize;
export type CounterTimeView = CounterTimeView_Serialize;
export type CounterFigure = CounterTimeView_Serialize["byDay"][number];
export type { ApprovalState, BalanceRow } from "./bindings";

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
  /** Calls `listener` with the card id of every order that changes; returns the unsubscribe. */
  onOrderChanged(listener: (cardId: string) => void): Promise<() => void>;
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
