/**
 * Brute-force protection for `/ws/node` sign-in: after `maxFailures` failures within
 * `windowMs` for one key (a node id, or `token:` + the token's first 8 characters) every
 * attempt with that key is refused until the window ends. Devices retry every 5 s forever,
 * so a device with a bad secret simply stays locked out. In memory: a restart forgives.
 */
export class NodeAuthLimiter {
  readonly #failures = new Map<string, { count: number; windowStart: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now
  ) {}

  isLockedOut(key: string): boolean {
    const entry = this.#current(key);
    return entry !== undefined && entry.count >= this.maxFailures;
  }

  /** Records a failure; returns true when this failure starts a lockout. */
  recordFailure(key: string): boolean {
    const entry = this.#current(key) ?? { count: 0, windowStart: this.now() };
    entry.count += 1;
    this.#failures.set(key, entry);
    this.#prune();
    return entry.count === this.maxFailures;
  }

  recordSuccess(key: string): void {
    this.#failures.delete(key);
  }

  #current(key: string) {
    const entry = this.#failures.get(key);
    if (entry && this.now() - entry.windowStart >= this.windowMs) {
      this.#failures.delete(key);
      return undefined;
    }
    return entry;
  }

  // Bounded memory under a flood of random keys: drop expired windows once the map grows.
  #prune(): void {
    if (this.#failures.size < 10_000) return;
    for (const key of [...this.#failures.keys()]) this.#current(key);
  }
}
