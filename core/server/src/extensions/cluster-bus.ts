/**
 * Messages plugins exchange through the cluster bus, by topic. Plugins add their topics by
 * declaration merging: `declare module '@bilbycast/core' { interface BusTopics { 'x.y': X } }`.
 * Messages must be plain JSON values: a later shared broker carries them between instances.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by plugins
export interface BusTopics {}

export type BusTopic = keyof BusTopics & string;

/**
 * Publish/subscribe between the parts of the manager that other instances of it would also
 * need to hear about (a session ended, a setting changed, a node's status). This one delivers
 * within the process; a broker can stand behind the same interface without the plugins
 * changing. Each subscriber gets its own copy of the message, as it would from a broker.
 */
export interface ClusterBus {
  publish<T extends BusTopic>(topic: T, message: BusTopics[T]): void;
  /** Returns the unsubscribe function. */
  subscribe<T extends BusTopic>(topic: T, handler: (message: BusTopics[T]) => void): () => void;
}

export class InProcessBus implements ClusterBus {
  readonly #handlers = new Map<string, Set<(message: unknown) => void>>();

  constructor(private readonly onHandlerError: (topic: string, error: unknown) => void) {}

  publish<T extends BusTopic>(topic: T, message: BusTopics[T]): void {
    // Serialised once, as a broker would: a message that is not plain JSON fails here, in the publisher.
    const wire = JSON.stringify(message);
    for (const handler of this.#handlers.get(topic) ?? []) {
      // One failing subscriber must not keep the message from the others (or fail the publisher).
      try {
        handler(JSON.parse(wire));
      } catch (error) {
        this.onHandlerError(topic, error);
      }
    }
  }

  subscribe<T extends BusTopic>(topic: T, handler: (message: BusTopics[T]) => void): () => void {
    const handlers = this.#handlers.get(topic) ?? new Set();
    this.#handlers.set(topic, handlers);
    const entry = handler as (message: unknown) => void;
    handlers.add(entry);
    return () => handlers.delete(entry);
  }
}
