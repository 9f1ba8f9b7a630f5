import { addressGroup } from '@bilbycast/core';

/** A socket's place among those not yet signed in. */
export interface SignInSlot {
  /** The socket has sent its auth frame: from now on it is never evicted. */
  authenticating(): void;
  /** Gives the slot back (idempotent). */
  release(): void;
}

/**
 * Bounds on `/ws/node` sockets that have not signed in yet: anyone who can reach the
 * manager can open them, so they are capped per source address (IPv6 by /64) and overall.
 * When the overall cap is reached, the oldest socket that has not even sent its auth frame is
 * evicted to make room: a real device sends `auth` as soon as it is connected, so only idle
 * sockets — the kind an attacker holds open to fill the cap — are ever evicted. A socket
 * holds its slot from the upgrade until its sign-in is settled and it is live or closed.
 */
export class UnauthenticatedSockets {
  readonly #byAddress = new Map<string, number>();
  /** Idle slots (no auth frame yet), oldest first, with how to evict each. */
  readonly #idle = new Map<number, () => void>();
  #total = 0;
  #nextId = 1;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number
  ) {}

  get total(): number {
    return this.#total;
  }

  /** Takes a slot, evicting the oldest idle socket if the overall cap is reached; null when none can be had. */
  acquire(address: string | null, evict: () => void): SignInSlot | null {
    const key = addressGroup(address);
    const current = this.#byAddress.get(key) ?? 0;
    if (current >= this.maxPerAddress) return null;
    if (this.#total >= this.maxTotal) {
      const oldest = this.#idle.entries().next();
      if (oldest.done) return null;
      const [id, evictOldest] = oldest.value;
      this.#idle.delete(id);
      // Its slot is freed once it has closed: until then the total exceeds the cap by the
      // sockets being evicted (each idle one can be evicted once).
      evictOldest();
    }
    const id = this.#nextId++;
    this.#byAddress.set(key, (this.#byAddress.get(key) ?? 0) + 1);
    this.#total++;
    this.#idle.set(id, evict);
    let released = false;
    return {
      authenticating: () => {
        this.#idle.delete(id);
      },
      release: () => {
        if (released) return;
        released = true;
        this.#idle.delete(id);
        this.#total--;
        const left = (this.#byAddress.get(key) ?? 1) - 1;
        if (left > 0) this.#byAddress.set(key, left);
        else this.#byAddress.delete(key);
      }
    };
  }
}
