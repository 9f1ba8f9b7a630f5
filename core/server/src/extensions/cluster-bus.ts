/**
 * Messages plugins exchange through the cluster bus, by topic. Plugins add their topics by
 * declaration merging: `declare module '@bilbycast/core' { interface BusTopics { 'x.y': X } }`.
 * Messages must be plain JSON values: a later shared broker carries them between instances.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by plugins
export interface BusTopics {}

export type BusTopic = Extract<keyof BusTopics, string>;

/**
 * Publish/subscribe between the parts of the manager that other instances of it would also
 * need to hear about (a session ended, a setting changed, a node's status). This one delivers
 * within the process; a broker can stand behind the same interface without the plugins
 * changing. Each subscriber gets its own copy of the message, as it would from a broker.
 */
export interface ClusterBus {
  publish<T extends BusTopic>(topic: T, message: BusTopics[T]): void;
  /** Returns the unsubscribe function. A handler may be async: its rejection is reported like a throw. */
  subscribe<T extends BusTopic>(topic: T, handler: (message: BusTopics[T]) => unknown): () => void;
}

/** A handler's return value is ignored, but for a promise: its rejection is reported like a throw. */
type Subscription = { handler: (message: unknown) => unknown };

export class InProcessBus implements ClusterBus {
  // One object per subscription, so that subscribing the same function twice needs two unsubscribes.
  readonly #subscriptions = new Map<string, Set<Subscription>>();

  constructor(private readonly onHandlerError: (topic: string, error: unknown) => void) {}

  publish<T extends BusTopic>(topic: T, message: BusTopics[T]): void {
    // Serialised once, as a broker would: a message that is not plain JSON fails here, in the publisher.
    const wire = JSON.stringify(message);
    // Delivered to the subscribers of this moment: one added by a handler hears the next message, not
    // this one; one removed by a handler before its turn hears nothing more.
    const subscriptions = this.#subscriptions.get(topic) ?? new Set<Subscription>();
    for (const subscription of [...subscriptions]) {
      if (subscriptions.has(subscription)) this.#deliver(topic, subscription, wire);
    }
  }

  subscribe<T extends BusTopic>(topic: T, handler: (message: BusTopics[T]) => unknown): () => void {
    const subscriptions = this.#subscriptions.get(topic) ?? new Set();
    this.#subscriptions.set(topic, subscriptions);
    const subscription: Subscription = { handler: handler as Subscription['handler'] };
    subscriptions.add(subscription);
    return () => subscriptions.delete(subscription);
  }

  /** One failing subscriber must not keep the message from the others (or fail the publisher). */
  #deliver(topic: string, subscription: Subscription, wire: string): void {
    try {
      const result = subscription.handler(JSON.parse(wire));
      if (result instanceof Promise) result.catch((error: unknown) => this.onHandlerError(topic, error));
    } catch (error) {
      this.onHandlerError(topic, error);
    }
  }
}
