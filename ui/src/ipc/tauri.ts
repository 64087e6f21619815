import { commands, events } from "./bindings";
import type { Backend, Result } from "./backend";

type SpectaResult<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

function toResult<T, E>(result: SpectaResult<T, E>): Result<T> {
  return result.status === "ok"
    ? { ok: true, value: result.data }
    : { ok: false, error: result.error as Extract<Result<T>, { ok: false }>["error"] };
}

export const tauriBackend: Backend = {
  async appInfo() {
    return toResult(await commands.appInfo());
  },
  async signalUiReady() {
    await events.uiReady.emit();
  },
};
