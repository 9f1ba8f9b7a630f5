import type { Logger } from 'pino';
import type { BackgroundWrites } from './background-writes';
import type { ActiveAlarm, EventRecorder, NodeEventInput } from './event-recorder';
import { NodeBudgets, type BudgetKind, type NodeBudgetLimits } from './node-budget';

/**
 * Events about nodes on their way to the event store (the `events` service; without it they
 * are only logged) — the device's own and those the manager raises — within each node's
 * per-minute budgets, which also count the bytes a node sends. The first breach of a budget
 * in a minute raises one warning, itself outside the budget it reports.
 */
export class NodeEvents {
  readonly #budgets: NodeBudgets;

  constructor(
    private readonly deps: { store: () => EventRecorder | undefined; logger: Logger; writes: BackgroundWrites },
    private readonly limits: NodeBudgetLimits,
    now?: () => number
  ) {
    this.#budgets = new NodeBudgets(limits, now);
  }

  /**
   * An event the manager raises about a node; true when it is stored. By default it counts
   * against the node's event budget like the device's own (a device that reconnects in a loop
   * makes the manager raise events too); `exempt` ones are bounded otherwise (see callers).
   */
  raise(
    nodeId: string,
    severity: NodeEventInput['severity'],
    category: string,
    message: string,
    details: Record<string, unknown>,
    budget: 'budget' | 'exempt' = 'budget'
  ): boolean {
    const bytes = Buffer.byteLength(message) + Buffer.byteLength(JSON.stringify(details)) + Buffer.byteLength(category) + 64;
    if (budget === 'budget' && !this.takeEvent(nodeId, bytes)) return false;
    this.record({ node_id: nodeId, severity, raw_severity: severity, category, message, details });
    return true;
  }

  /** Counts an event of `bytes` against the node's event budgets; false when it must be dropped. */
  takeEvent(nodeId: string, bytes: number): boolean {
    const decision = this.#budgets.takeEvent(nodeId, bytes);
    if (decision.exceeded) this.#budgetExceeded(nodeId, decision.exceeded);
    return decision.allowed;
  }

  /** Counts a frame's bytes against the node's byte budget; false when the node is over it. */
  takeBytes(nodeId: string, bytes: number): boolean {
    const decision = this.#budgets.takeBytes(nodeId, bytes);
    if (decision.exceeded) this.#budgetExceeded(nodeId, decision.exceeded);
    return decision.allowed;
  }

  record(event: NodeEventInput): void {
    const store = this.deps.store();
    if (!store) {
      this.deps.logger.info({ node_id: event.node_id, severity: event.severity, category: event.category }, event.message);
      return;
    }
    this.deps.writes.track(store.record(event).catch((err: unknown) => this.deps.logger.warn({ err, node_id: event.node_id }, 'could not store a node event')));
  }

  /** The node's newest unacknowledged alarms but those of `excluded` categories; undefined without an event store. */
  activeAlarms(nodeId: string, excluded: ReadonlySet<string>): Promise<ActiveAlarm[]> | undefined {
    return this.deps.store()?.activeAlarms(nodeId, excluded);
  }

  forget(nodeId: string): void {
    this.#budgets.forget(nodeId);
  }

  /** One warning per node, limit and minute. */
  #budgetExceeded(nodeId: string, kind: BudgetKind): void {
    const { eventsPerMinute, eventBytesPerMinute, bytesPerMinute } = this.limits;
    const warning = {
      events: {
        code: 'event_rate_limit_exceeded',
        limit: eventsPerMinute,
        text: `More than ${eventsPerMinute} events in a minute; further events are dropped until the minute ends`
      },
      event_bytes: {
        code: 'event_bytes_limit_exceeded',
        limit: eventBytesPerMinute,
        text: `More than ${eventBytesPerMinute} bytes of events in a minute; further events are dropped until the minute ends`
      },
      bytes: {
        code: 'message_bytes_limit_exceeded',
        limit: bytesPerMinute,
        text: `More than ${bytesPerMinute} bytes of messages in a minute; further messages are dropped until the minute ends`
      }
    }[kind];
    this.deps.logger.warn({ node_id: nodeId, limit: kind }, 'node over its per-minute budget');
    const category = kind === 'bytes' ? 'message_rate_limit' : 'event_rate_limit';
    this.record({
      node_id: nodeId,
      severity: 'warning',
      raw_severity: 'warning',
      category,
      message: warning.text,
      details: { error_code: warning.code, limit_per_minute: warning.limit }
    });
  }
}
