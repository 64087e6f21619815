/**
 * The event subscriptions of one component. Subscribing is a round trip to the shell, so a
 * component can be gone before its subscription is in place: `end()` also ends those that
 * arrive later, and none is left listening for a window part that no longer exists.
 */
export class Subscriptions {
  #stops: (() => void)[] = [];
  #ended = false;

  /** Keeps a subscription; resolves once it is in place. */
  async add(pending: Promise<() => void>): Promise<void> {
    const stop = await pending;
    if (this.#ended) stop();
    else this.#stops.push(stop);
  }

  /** Ends every subscription, including those still on their way. */
  end(): void {
    this.#ended = true;
    for (const stop of this.#stops.splice(0)) stop();
  }
}
