import type { Logger } from 'pino';

/** Writes nobody waits for (status, health, last seen, events): a failure is logged, and `drain` lets shutdown finish them. */
export class BackgroundWrites {
  readonly #writes = new Set<Promise<unknown>>();

  constructor(private readonly logger: Logger) {}

  track(write: Promise<unknown>): void {
    const tracked = write.catch((err: unknown) => this.logger.warn({ err }, 'node state write failed'));
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  async drain(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
  }
}
