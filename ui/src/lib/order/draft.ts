import type { FieldProblem, FormOptions, OrderDraft, OrderFields, ProductOption, ReissueForm } from "../../ipc/backend";

/** A blank form, with the desk's default station and priority chosen. */
export function emptyDraft(options: FormOptions | null): OrderDraft {
  const station = options?.stations.find((s) => s.isDefault) ?? options?.stations[0];
  return {
    consumerId: "",
    cardProductId: "",
    issuanceType: "",
    priority: options?.priorities[0] ?? null,
    persoStation: station?.id ?? "",
    card: emptyCard(),
    design: { artworkId: null, customLines: [], memberId: null, images: [], cardImage: null },
    carrier: { language: null, customLines: [], images: [], multiCardId: null, multiCardOrder: null },
    services: { delivery: null, packaging: null, cardCarrier: null, pinMailer: false, alphaCard: false },
    reissueOf: null,
  };
}

/** The form of a reissue: the spoiled order's labels, design and lines; empty card data. */
export function reissueDraft(options: FormOptions | null, form: ReissueForm): OrderDraft {
  const empty = emptyDraft(options);
  return {
    ...empty,
    consumerId: form.consumerId,
    cardProductId: form.cardProductId,
    issuanceType: form.issuanceType,
    priority: form.priority ?? options?.priorities[0] ?? null,
    persoStation: form.persoStation,
    design: { ...empty.design, ...structuredClone(form.design) },
    carrier: { ...empty.carrier, ...structuredClone(form.carrier) },
    reissueOf: form.reissueOf,
  };
}

export function emptyCard(): OrderDraft["card"] {
  return { pan: "", exp: "", name: "", secondName: null, cvv2: null, panSequenceNumber: null };
}

/** A plain copy (works on Svelte state proxies too). Never used on card data. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The draft without its card data: what the checks while typing may see. */
export function fieldsOf(draft: OrderDraft): OrderFields {
  return {
    consumerId: draft.consumerId,
    cardProductId: draft.cardProductId,
    issuanceType: draft.issuanceType,
    priority: draft.priority,
    persoStation: draft.persoStation,
    design: plain(draft.design),
    carrier: plain(draft.carrier),
    services: plain(draft.services),
  };
}

/** A draft holding `fields` and no card data: *Order again* after a failure. */
export function draftFrom(fields: OrderFields): OrderDraft {
  return { ...plain(fields), card: emptyCard(), reissueOf: null };
}

/**
 * The form for the next customer: the same product and station (the desk's), the product's
 * default issuance type and the default priority; nothing of the previous customer.
 */
export function nextDraft(options: FormOptions | null, previous: OrderDraft): OrderDraft {
  const draft = emptyDraft(options);
  const product = productOf(options, previous.cardProductId);
  if (product) {
    draft.cardProductId = product.id;
    draft.issuanceType = product.issuanceTypes[0] ?? "";
  }
  if (options?.stations.some((s) => s.id === previous.persoStation)) draft.persoStation = previous.persoStation;
  return draft;
}

/** Whether a problem is about the card data (checked in the window while typing, and at review). */
export function isCardField(field: string): boolean {
  return field.startsWith("cardData.");
}

/** True when any card-data field holds something. */
export function hasCardData(draft: OrderDraft): boolean {
  const c = draft.card;
  return Boolean(c.pan || c.exp || c.name || c.secondName || c.cvv2 || c.panSequenceNumber);
}

/** Groups PAN digits by four, as printed on cards; drops anything but digits. */
export function groupPan(typed: string): string {
  const digits = typed.replace(/\D/g, "").slice(0, 19);
  return digits.replace(/(\d{4})(?=\d)/g, "$1 ");
}

/** Keeps digits and puts the slash of MM/YY in place. */
export function formatExpiry(typed: string): string {
  const digits = typed.replace(/\D/g, "").slice(0, 4);
  return digits.length > 2 ? `${digits.slice(0, 2)}/${digits.slice(2)}` : digits;
}

/** The form field a problem belongs to: list items go to their list. */
export function fieldOf(problem: FieldProblem): string {
  return problem.field.replace(/\[\d+\]$/, "").replace(/\[\d+\]/g, "");
}

/** The 1-based line number of a list-item problem, if it is one. */
export function lineOf(problem: FieldProblem): number | null {
  const match = /\[(\d+)\]$/.exec(problem.field);
  return match ? Number(match[1]) + 1 : null;
}

export function productOf(options: FormOptions | null, id: string): ProductOption | undefined {
  return options?.products.find((p) => p.id === id);
}
