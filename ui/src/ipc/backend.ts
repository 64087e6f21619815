// The one host boundary. Components receive a `Backend`; the app gets the Tauri
// implementation, tests a fake one. Only files in this folder import `@tauri-apps/*`.
import type { AppInfo, IpcError } from "./bindings";

export type { AppInfo, Environment, ErrorKind, IpcError } from "./bindings";

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export interface Backend {
  appInfo(): Promise<Result<AppInfo>>;
  /** Tells the shell that the first screen is interactive. */
  signalUiReady(): Promise<void>;
}
