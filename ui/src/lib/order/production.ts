import type { IpcError, OrderFields, SubmittedOrder } from "../../ipc/backend";

/** An order in the production list: sent, followed until its card is made or it failed. */
export type InProduction = {
  order: SubmittedOrder;
  consumerId: string;
  productName: string;
  stationId: string;
  stationName: string;
  /** What *Order again* puts back in the form (never card data). */
  fields: OrderFields;
  /** When it was sent (ms). */
  at: number;
  /** Why the window follows an order it could not confirm (e.g. sent, not recorded). */
  notice?: IpcError;
};
