/**
 * Brute-force protection for `/ws/node` sign-in.
 *
 * - A **credential key** (a node id, or `token:` + a token's first 8 characters) is locked
 *   out after `maxFailures` failures within `windowMs` *from one source address*: a device
 *   is never locked out by failures that come from somewhere else.
 * - A **source address** (IPv6 by its /64) is locked out after `maxFailuresPerAddress`
 *   failures within the window, whatever keys it tries, so random ids cannot be tried at
 *   will.
 * - Devices retry every 5 s forever, so a device with a bad secret is locked out again every
 *   window: consecutive lockouts of one key from one address form an **episode**, reported
 *   once when it starts and once when a successful sign-in from there ends it (with the
 *   number of lockouts).
 *
 * Attempts still being checked count as failures until they settle, so a burst of parallel
 * sign-ins cannot get past a limit before the first failure is recorded.
 *
 * Every operation is O(1): windows expire from a queue in start order, on a monotonic clock
 * (a wall-clock step cannot stretch a lockout). Memory is bounded by `maxKeys` (the oldest
 * windows and episodes are dropped first). In memory: a restart forgives.
 */
import { performance } from 'node:perf_hooks';
import { addressGroup } from '@bilbycast/core';

export interface AuthLimiterOptions {
  maxFailures: number;
  maxFailuresPerAddress: number;
  windowMs: number;
  /** Most counters (and episodes) kept (default 100 000). */
  maxKeys?: number;
  /** An episode with no lockout for this long is over: the next lockout starts a new one (default 24 h). */
  episodeIdleMs?: number;
  /** The clock for windows and episodes (default: monotonic); tests give a manual one. */
  now?: () => number;
}

export type AuthGate = { allowed: true } | { allowed: false; reason: 'key_locked' | 'address_locked' };

export interface LockoutEpisode {
  /** Wall-clock time the episode started (epoch ms). */
  startedAtMs: number;
  lockouts: number;
  lastLockoutAtMs: number;
}

/** What a failure changed: `lockout` when it started one, `episode` telling whether that is a new episode. */
export interface FailureOutcome {
  lockout: 'none' | 'key' | 'address';
  /** The key's episode after this failure (for a key lockout). */
  episode?: LockoutEpisode & { isNew: boolean };
}

/** Counters over fixed windows; windows are queued in start order, so expiry pops the head. */
export class WindowCounters {
  readonly #entries = new Map<string, { count: number; start: number; seq: number }>();
  #queue: { key: string; start: number; seq: number }[] = [];
  #head = 0;
  #seq = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  count(key: string): number {
    this.#expire();
    return this.#entries.get(key)?.count ?? 0;
  }

  /** Adds one to the key's current window (starting one if needed); returns the new count. */
  increment(key: string): number {
    this.#expire();
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { count: 0, start: this.now(), seq: this.#seq++ };
      this.#entries.set(key, entry);
      this.#queue.push({ key, start: entry.start, seq: entry.seq });
      // Over the bound: the oldest windows go first.
      while (this.#entries.size > this.maxKeys) this.#dropHead();
    }
    entry.count += 1;
    return entry.count;
  }

  delete(key: string): void {
    // Its queue slot stays until it reaches the head, where its sequence number no longer matches.
    this.#entries.delete(key);
  }

  #expire(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.#head < this.#queue.length && this.#queue[this.#head].start <= cutoff) this.#dropHead();
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #dropHead(): void {
    const { key, seq } = this.#queue[this.#head++];
    if (this.#entries.get(key)?.seq === seq) this.#entries.delete(key);
  }
}

export class NodeAuthLimiter {
  readonly #pairs: WindowCounters;
  readonly #addresses: WindowCounters;
  readonly #episodes = new Map<string, LockoutEpisode>();
  /** Attempts being checked right now, by address and by (address, key). */
  readonly #inFlight = new Map<string, number>();
  readonly #maxKeys: number;
  readonly #episodeIdleMs: number;
  readonly #now: () => number;
  readonly #wallClock: () => number;

  constructor(private readonly options: AuthLimiterOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#wallClock = options.now ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#episodeIdleMs = options.episodeIdleMs ?? 24 * 3_600_000;
    this.#pairs = new WindowCounters(options.windowMs, this.#maxKeys, this.#now);
    this.#addresses = new WindowCounters(options.windowMs, this.#maxKeys, this.#now);
  }

  /** Whether an attempt from this address with this key may be checked at all (attempts in flight count as failures). */
  gate(address: string | null, key: string): AuthGate {
    const byAddress = addressGroup(address);
    const pair = pairKey(address, key);
    if (this.#addresses.count(byAddress) + this.#pending(byAddress) >= this.options.maxFailuresPerAddress) return { allowed: false, reason: 'address_locked' };
    if (this.#pairs.count(pair) + this.#pending(pair) >= this.options.maxFailures) return { allowed: false, reason: 'key_locked' };
    return { allowed: true };
  }

  /** An attempt that passed the gate is being checked; call the returned function once it has settled (either way). */
  begin(address: string | null, key: string): () => void {
    const keys = [addressGroup(address), pairKey(address, key)];
    for (const k of keys) this.#inFlight.set(k, this.#pending(k) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const k of keys) {
        const left = this.#pending(k) - 1;
        if (left > 0) this.#inFlight.set(k, left);
        else this.#inFlight.delete(k);
      }
    };
  }

  #pending(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  recordFailure(address: string | null, key: string): FailureOutcome {
    const byAddress = this.#addresses.increment(addressGroup(address));
    const byPair = this.#pairs.increment(pairKey(address, key));
    if (byPair === this.options.maxFailures) return { lockout: 'key', episode: this.#noteLockout(pairKey(address, key)) };
    if (byAddress === this.options.maxFailuresPerAddress) return { lockout: 'address' };
    return { lockout: 'none' };
  }

  /** A successful sign-in clears the key's failures from that address and ends its episode there (returned, if one was open). */
  recordSuccess(address: string | null, key: string): LockoutEpisode | undefined {
    const pair = pairKey(address, key);
    this.#pairs.delete(pair);
    const episode = this.#episodes.get(pair);
    this.#episodes.delete(pair);
    return episode && this.#now() - episode.lastLockoutAtMs < this.#episodeIdleMs ? episode : undefined;
  }

  #noteLockout(pair: string): LockoutEpisode & { isNew: boolean } {
    const now = this.#now();
    const open = this.#episodes.get(pair);
    // Re-inserted either way, so the Map's order stays least-recent-first for eviction.
    this.#episodes.delete(pair);
    if (open && now - open.lastLockoutAtMs < this.#episodeIdleMs) {
      open.lockouts += 1;
      open.lastLockoutAtMs = now;
      this.#episodes.set(pair, open);
      return { ...open, isNew: false };
    }
    const episode = { startedAtMs: this.#wallClock(), lockouts: 1, lastLockoutAtMs: now };
    this.#episodes.set(pair, episode);
    if (this.#episodes.size > this.#maxKeys) this.#episodes.delete(this.#episodes.keys().next().value!);
    return { ...episode, isNew: true };
  }
}

function pairKey(address: string | null, key: string): string {
  return `${addressGroup(address)}\u0000${key}`;
}
