/**
 * What one node may make the manager hold or store per minute, across its sessions (a
 * device that reconnects does not start afresh):
 *
 * - **bytes**: every frame it sends — beyond, frames are dropped unread (answers to commands
 *   in flight excepted);
 * - **events** and **event bytes**: events stored (the device's own and the manager's
 *   connection events alike) — beyond, events are dropped.
 *
 * Each limit's first breach in a minute is reported once (`exceeded` is true only then), so
 * the caller raises one warning, never one per dropped item.
 */
export interface NodeBudgetLimits {
  bytesPerMinute: number;
  eventsPerMinute: number;
  eventBytesPerMinute: number;
}

export type BudgetKind = 'bytes' | 'events' | 'event_bytes';

interface MinuteWindow {
  minute: number;
  bytes: number;
  events: number;
  eventBytes: number;
  reported: Set<BudgetKind>;
}

export interface BudgetDecision {
  allowed: boolean;
  /** Set on the first refusal of a kind within the minute. */
  exceeded?: BudgetKind;
}

export class NodeBudgets {
  readonly #windows = new Map<string, MinuteWindow>();

  constructor(
    private readonly limits: NodeBudgetLimits,
    private readonly now: () => number = Date.now
  ) {}

  /** Counts a frame's bytes; false when the node is over its byte budget for this minute. */
  takeBytes(nodeId: string, bytes: number): BudgetDecision {
    const window = this.#window(nodeId);
    window.bytes += bytes;
    return window.bytes <= this.limits.bytesPerMinute ? { allowed: true } : this.#refuse(window, 'bytes');
  }

  /** Counts an event about to be stored (`bytes`: its size as received or serialised). */
  takeEvent(nodeId: string, bytes: number): BudgetDecision {
    const window = this.#window(nodeId);
    if (window.events >= this.limits.eventsPerMinute) return this.#refuse(window, 'events');
    if (window.eventBytes + bytes > this.limits.eventBytesPerMinute) return this.#refuse(window, 'event_bytes');
    window.events += 1;
    window.eventBytes += bytes;
    return { allowed: true };
  }

  forget(nodeId: string): void {
    this.#windows.delete(nodeId);
  }

  #refuse(window: MinuteWindow, kind: BudgetKind): BudgetDecision {
    if (window.reported.has(kind)) return { allowed: false };
    window.reported.add(kind);
    return { allowed: false, exceeded: kind };
  }

  #window(nodeId: string): MinuteWindow {
    const minute = Math.floor(this.now() / 60_000);
    let window = this.#windows.get(nodeId);
    if (!window || window.minute !== minute) {
      window = { minute, bytes: 0, events: 0, eventBytes: 0, reported: new Set() };
      this.#windows.set(nodeId, window);
    }
    return window;
  }
}
