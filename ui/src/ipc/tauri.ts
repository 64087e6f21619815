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

// The form's products and stations are asked for as soon as the page loads, while the window
// still asks who it is (`appInfo`): the first `formOptions()` takes that answer, every later
// call asks again. They come from the configuration and never change while the app runs.
let firstFormOptions: ReturnType<typeof commands.orderFormOptions> | null = commands.orderFormOptions();
// A window that could not start never asks: its early answer is not an unhandled failure.
firstFormOptions.catch(() => {});

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
    const asked = firstFormOptions ?? commands.orderFormOptions();
    firstFormOptions = null;
    return toResult(await asked);
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
  async requestApproval(draft, reason) {
    return toResult(await commands.requestApproval(draft, reason));
  },
  async awaitApproval(cardId, onProgress) {
    return toResult(await commands.awaitApproval(cardId, progressChannel(onProgress)));
  },
  async cancelApproval(cardId) {
    return toResult(await commands.cancelApproval(cardId));
  },
  async onCounterChanged(listener) {
    return events.counterChanged.listen((event) => listener(event.payload.kind));
  },
  async spoiledReasons() {
    return toResult(await commands.spoiledReasons());
  },
  async reportSpoiled(cardId, reason) {
    return toResult(await commands.reportSpoiled(cardId, reason));
  },
  async reissueForm(cardId) {
    return toResult(await commands.reissueForm(cardId));
  },
  async pendingApprovals() {
    return toResult(await commands.pendingApprovals());
  },
  async decideApproval(cardId, approve, comment) {
    return toResult(await commands.decideApproval(cardId, approve, comment));
  },
  async exceptionCases() {
    return toResult(await commands.exceptionCases());
  },
  async takeException(cardId) {
    return toResult(await commands.takeException(cardId));
  },
  async commentException(cardId, text) {
    return toResult(await commands.commentException(cardId, text));
  },
  async resolveException(cardId, resolution) {
    return toResult(await commands.resolveException(cardId, resolution));
  },
  async counterTime(from, to, utcOffsetMinutes) {
    return toResult(await commands.counterTime(from, to, utcOffsetMinutes));
  },
  async dayBalance(from, to, utcOffsetMinutes) {
    return toResult(await commands.dayBalance(from, to, utcOffsetMinutes));
  },
  async exportDayBalance(from, to, utcOffsetMinutes) {
    return toResult(await commands.exportDayBalance(from, to, utcOffsetMinutes));
  },
};
