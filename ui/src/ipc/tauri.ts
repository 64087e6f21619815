import { Channel } from "@tauri-apps/api/core";
import { commands, events, type OrderProgress } from "./bindings";
import type { Backend, IpcError, Result } from "./backend";

type SpectaResult<T> = { status: "ok"; data: T } | { status: "error"; error: IpcError };

function toResult<T>(result: SpectaResult<T>): Result<T> {
  return result.status === "ok" ? { ok: true, value: result.data } : { ok: false, error: result.error };
}

function progressChannel(onProgress: (progress: OrderProgress) => void): Channel<OrderProgress> {
  const channel = new Channel<OrderProgress>();
  channel.onmessage = onProgress;
  return channel;
}

export const tauriBackend: Backend = {
  async appInfo() {
    return toResult(await commands.appInfo());
  },
  async signalUiReady() {
    await events.uiReady.emit();
  },
  async checkConnection() {
    return toResult(await commands.checkConnection());
  },
  async formOptions() {
    return toResult(await commands.orderFormOptions());
  },
  async checkOrder(fields) {
    return toResult(await commands.checkOrder(fields));
  },
  async reviewOrder(draft) {
    return toResult(await commands.reviewOrder(draft));
  },
  async submitOrder(draft, onProgress) {
    return toResult(await commands.submitOrder(draft, progressChannel(onProgress)));
  },
  async resendOrder(cardId, onProgress) {
    return toResult(await commands.resendOrder(cardId, progressChannel(onProgress)));
  },
  async orderStatus(cardId) {
    return toResult(await commands.orderStatus(cardId));
  },
  async ledgerStatus() {
    return toResult(await commands.ledgerStatus());
  },
  async onLedgerChanged(listener) {
    return events.ledgerChanged.listen((event) => listener(event.payload));
  },
  async interruptedOrders() {
    return toResult(await commands.interruptedOrders());
  },
  async onOrderChanged(listener) {
    return events.orderChanged.listen((event) => listener(event.payload.cardId));
  },
  async stationState(stationId) {
    return toResult(await commands.stationState(stationId));
  },
  async practiceGuide() {
    return toResult(await commands.practiceGuide());
  },
  async supervisorAccess() {
    return toResult(await commands.supervisorAccess());
  },
  async listOrders(filter) {
    return toResult(await commands.listOrders(filter));
  },
  async orderDetail(cardId) {
    return toResult(await commands.orderDetail(cardId));
  },
  async refreshOrders(cardIds) {
    return toResult(await commands.refreshOrders(cardIds));
  },
  async orderStats(from, to, bucket) {
    return toResult(await commands.orderStats(from, to, bucket));
  },
  async orderExceptions() {
    return toResult(await commands.orderExceptions());
  },
  async deskSyncs() {
    return toResult(await commands.deskSyncs());
  },
  async exportOrders(filter) {
    return toResult(await commands.exportOrders(filter));
  },
};
