// D1's state as the status bar shows it: the outcome of the last real D1 call (an order, a
// status question, a resend, a connection check), not only the periodic token check. A call
// that got no answer from D1 (unreachable, unavailable, credentials refused) turns it red; any
// answer from D1 — even a refusal or "no such order" — turns it green.
import { writable, type Readable } from "svelte/store";
import type { Backend, IpcError, Result } from "../ipc/backend";

export type D1Health = { state: "checking" } | { state: "ok"; at: number } | { state: "failing"; error: IpcError; at: number };

/** The kinds and codes of errors that mean D1 did not answer this desk. */
export function d1DidNotAnswer(error: IpcError): boolean {
  switch (error.kind) {
    case "unavailable":
      return true;
    case "checking":
      // "not seen yet" and "no record" are D1's own answers (a 404).
      return error.code !== "not_found" && error.code !== "no_record";
    case "setup":
      // D1 refused the desk's sign-in, or the secure connection failed.
      return ["token_rejected", "unauthorized", "tls", "forbidden", "signing"].includes(error.code ?? "");
    default:
      return false;
  }
}

export interface D1HealthWatch {
  health: Readable<D1Health>;
  /** `backend` with every D1 call reporting its outcome to `health`. */
  backend: Backend;
}

/** Wraps the D1 calls of `backend`; the status bar reads `health`. */
export function watchD1(backend: Backend, clock: () => number = Date.now): D1HealthWatch {
  const health = writable<D1Health>({ state: "checking" });
  const note = <T>(result: Result<T>): Result<T> => {
    if (result.ok) health.set({ state: "ok", at: clock() });
    else if (d1DidNotAnswer(result.error)) health.set({ state: "failing", error: result.error, at: clock() });
    return result;
  };
  const watched: Backend = {
    ...backend,
    checkConnection: async () => note(await backend.checkConnection()),
    submitOrder: async (draft, onProgress) => note(await backend.submitOrder(draft, onProgress)),
    resendOrder: async (cardId, onProgress) => note(await backend.resendOrder(cardId, onProgress)),
    orderStatus: async (cardId) => note(await backend.orderStatus(cardId)),
  };
  return { health, backend: watched };
}
