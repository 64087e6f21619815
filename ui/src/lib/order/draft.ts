import type { FieldProblem, FormOptions, OrderDraft, ProductOption, ReissueForm } from "../../ipc/backend";

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
    reissueOf: null,
  };
}

/** The form of a reissue: the spoiled order's labels, design and lines; empty card data. */
export function reissueDraft(options: FormOptions | null, form: ReissueForm): OrderDraft {
  return {
    ...emptyDraft(options),
    consumerId: form.consumerId,
    cardProductId: form.cardProductId,
    issuanceType: form.issuanceType,
    priority: form.priority ?? options?.priorities[0] ?? null,
    persoStation: form.persoStation,
    design: structuredClone(form.design),
    carrier: structuredClone(form.carrier),
    reissueOf: form.reissueOf,
  };
}

export function emptyCard(): OrderDraft["card"] {
  return { pan: "", exp: "", name: "", secondName: null, cvv2: null, panSequenceNumber: null };
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
