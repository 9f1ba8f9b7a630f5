import { addressKey } from '../services/auth-limiter';

/**
 * Bounds on `/ws/node` sockets that have not signed in yet: anyone who can reach the
 * manager can open them, so they are capped overall and per source address (IPv6 by /64).
 * A socket holds its slot from the upgrade until its sign-in is answered or it closes.
 */
export class UnauthenticatedSockets {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number
  ) {}

  get total(): number {
    return this.#total;
  }

  /** Takes a slot; returns its release (call once), or null when a cap is reached. */
  acquire(address: string | null): (() => void) | null {
    const key = addressKey(address);
    const current = this.#byAddress.get(key) ?? 0;
    if (this.#total >= this.maxTotal || current >= this.maxPerAddress) return null;
    this.#byAddress.set(key, current + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#byAddress.get(key) ?? 1) - 1;
      if (left > 0) this.#byAddress.set(key, left);
      else this.#byAddress.delete(key);
    };
  }
}
