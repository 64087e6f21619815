import type { Backend, Environment, IpcError } from "../ipc/backend";

export interface FakeBackend extends Backend {
  readySignals: number;
}

/** An in-memory backend for component tests. */
export function fakeBackend(options: { environment?: Environment; failWith?: IpcError } = {}): FakeBackend {
  const backend: FakeBackend = {
    readySignals: 0,
    async appInfo() {
      if (options.failWith) return { ok: false, error: options.failWith };
      return {
        ok: true,
        value: { productName: "Issuance Desk", version: "0.0.0-test", environment: options.environment ?? "training" },
      };
    },
    async signalUiReady() {
      backend.readySignals += 1;
    },
  };
  return backend;
}
