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
} from "./bindings";

export type { AppInfo, Environment, ErrorKind, OrderProgress, ProductionPhase } from "./bindings";
export type IpcError = IpcError_Serialize;
export type FieldProblem = FieldProblem_Serialize;
export type FormOptions = FormOptions_Serialize;
export type ProductOption = FormOptions_Serialize["products"][number];
/** The form's state: every field present. */
export type OrderDraft = OrderDraft_Serialize;
export type OrderReview = OrderReview_Serialize;
export type SubmittedOrder = SubmittedOrder_Serialize;
export type ProductionView = ProductionView_Serialize;

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export interface Backend {
  appInfo(): Promise<Result<AppInfo>>;
  /** Tells the shell that the first screen is interactive. */
  signalUiReady(): Promise<void>;
  /** Fetches a D1 token: proves the desk can reach and sign in to D1. */
  checkConnection(): Promise<Result<null>>;
  formOptions(): Promise<Result<FormOptions>>;
  /** Every problem with the draft, from the Rust validation. Sends nothing. */
  checkOrder(draft: OrderDraft): Promise<Result<FieldProblem[]>>;
  reviewOrder(draft: OrderDraft): Promise<Result<OrderReview>>;
  submitOrder(draft: OrderDraft, onProgress: (progress: OrderProgress) => void): Promise<Result<SubmittedOrder>>;
  /** Sends the same order again (same card id and encrypted data). */
  resendOrder(cardId: string, onProgress: (progress: OrderProgress) => void): Promise<Result<SubmittedOrder>>;
  orderStatus(cardId: string): Promise<Result<ProductionView>>;
}
