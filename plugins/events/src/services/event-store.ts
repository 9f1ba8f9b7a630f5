import { fromDbBoolean, nowIso, parseJsonColumn, scopeToNodes, type AuditLog, type ManagerCredentials } from '@bilbycast/core';
import type { AlarmCounts, EventRecorder, LiveFeed, NodeEventInput, StoredEvent } from '@bilbycast/nodes';
import type { Knex } from 'knex';

export type EventSeverity = StoredEvent['severity'];
export const SEVERITIES: readonly EventSeverity[] = ['info', 'warning', 'critical'];

export const LIMITS = { category: 256, message: 10_000, raw_severity: 32, scope_id: 256, details_bytes: 32_768 } as const;

/** Newest unacknowledged alarms returned per node by activeAlarms(). */
const ACTIVE_ALARMS_CAP = 500;
/** Rows deleted or acknowledged per statement, to keep statements and bind lists small. */
const BATCH = 1000;

/** Conditions shared by the listing and the bulk acknowledgement; all must hold. */
export interface EventFilter {
  node_id?: string;
  /** Any of these. */
  severity?: EventSeverity[];
  category?: string;
  flow_id?: string;
  acknowledged?: boolean;
  /** Inclusive ISO-8601 bounds on created_at. */
  from?: string;
  to?: string;
  /** Case-insensitive substring of the message or the category (taken literally: `%` and `_` are not wildcards). */
  q?: string;
}

/** An event as the API shows it. */
export interface ListedEvent extends StoredEvent {
  node_name: string;
}

/** Who acts, for the node scope, `acknowledged_by` and the audit log. */
export interface EventActor {
  credentials: Pick<ManagerCredentials, 'user' | 'allowed_node_ids'>;
  ip: string | null;
}

export type AckSelection = { ids: number[] } | { filter: Omit<EventFilter, 'acknowledged'> };

type EventRow = Omit<StoredEvent, 'details' | 'acknowledged'> & { details: string | null; acknowledged: unknown };
type ListedRow = EventRow & { node_name: string };

/**
 * The event store: records node and manager events (the `events` service the nodes plugin
 * writes through), answers alarm questions, lists and acknowledges events within a caller's
 * node scope, and purges old events. Publishes `event` and `events_acknowledged` on the live feed.
 */
export class EventStore implements EventRecorder {
  constructor(
    private readonly db: Knex,
    private readonly liveFeed: LiveFeed,
    private readonly audit: AuditLog
  ) {}

  async record(input: NodeEventInput): Promise<StoredEvent> {
    const severity = SEVERITIES.includes(input.severity) ? input.severity : 'info';
    const row = {
      node_id: input.node_id,
      severity,
      raw_severity: clip(input.raw_severity, LIMITS.raw_severity) || severity,
      category: clip(input.category, LIMITS.category) || 'unknown',
      message: clip(input.message, LIMITS.message) || 'Unknown event',
      details: serializeDetails(input.details),
      flow_id: clip(input.flow_id, LIMITS.scope_id) || null,
      input_id: clip(input.input_id, LIMITS.scope_id) || null,
      output_id: clip(input.output_id, LIMITS.scope_id) || null,
      created_at: nowIso(),
      acknowledged: false,
      acknowledged_by: null,
      acknowledged_at: null
    };
    const [id] = await this.db('events').insert(row);
    const event = toStoredEvent({ ...row, id: Number(id) });
    this.liveFeed.publish('event', event);
    return event;
  }

  async activeAlarms(
    nodeId: string,
    excludeCategories: ReadonlySet<string> = new Set()
  ): Promise<{ severity: EventSeverity; raw_severity: string; category: string }[]> {
    const query = this.db('events')
      .select('severity', 'raw_severity', 'category')
      .where({ node_id: nodeId, acknowledged: false })
      .whereIn('severity', ['warning', 'critical']);
    if (excludeCategories.size > 0) query.whereNotIn('category', [...excludeCategories]);
    return query
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' }
      ])
      .limit(ACTIVE_ALARMS_CAP);
  }

  async alarmCounts(allowedNodeIds: string[] | null): Promise<AlarmCounts> {
    const rows: { severity: EventSeverity; n: number | string }[] = await scopeToNodes(this.db('events'), { allowed_node_ids: allowedNodeIds }, 'node_id')
      .where('acknowledged', false)
      .whereIn('severity', ['warning', 'critical'])
      .select('severity')
      .count({ n: '*' })
      .groupBy('severity');
    const of = (severity: EventSeverity) => Number(rows.find((r) => r.severity === severity)?.n ?? 0);
    const critical = of('critical');
    const warning = of('warning');
    return { count: critical + warning, critical, warning };
  }

  /** Deletes events created before the cutoff (an ISO-8601 time); returns how many. */
  async purgeOlderThan(cutoffIso: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const ids = (await this.db('events').where('created_at', '<', cutoffIso).limit(BATCH).pluck('id')) as number[];
      if (ids.length > 0) deleted += await this.db('events').whereIn('id', ids).del();
      if (ids.length < BATCH) break;
    }
    // Unacknowledged alarms may have gone: open dashboards recount.
    if (deleted > 0) this.liveFeed.publish('events_removed', { count: deleted });
    return deleted;
  }

  /** One page of the events matching the filter within the scope, newest first, and the total matching. */
  async list(
    filter: EventFilter,
    scope: Pick<ManagerCredentials, 'allowed_node_ids'>,
    page: { page: number; per_page: number }
  ): Promise<{ total: number; events: ListedEvent[] }> {
    const matching = () => applyFilter(scopeToNodes(this.db('events'), scope, 'events.node_id'), filter);
    const [{ n }] = await matching().count<{ n: number | string }[]>({ n: '*' });
    const rows = (await withNodeName(matching())
      .orderBy([
        { column: 'events.created_at', order: 'desc' },
        { column: 'events.id', order: 'desc' }
      ])
      .limit(page.per_page)
      .offset((page.page - 1) * page.per_page)) as ListedRow[];
    return { total: Number(n), events: rows.map(toListedEvent) };
  }

  /** The event, when it exists within the scope. */
  async get(id: number, scope: Pick<ManagerCredentials, 'allowed_node_ids'>): Promise<ListedEvent | undefined> {
    const row = (await withNodeName(scopeToNodes(this.db('events'), scope, 'events.node_id'))
      .where('events.id', id)
      .first()) as ListedRow | undefined;
    return row && toListedEvent(row);
  }

  /**
   * Acknowledges one event within the actor's scope; undefined when there is none. Acknowledging
   * again changes nothing: the first acknowledger and time stay.
   */
  async acknowledge(id: number, actor: EventActor): Promise<ListedEvent | undefined> {
    const outcome = await this.db.transaction(async (trx) => {
      const event = await scopeToNodes(trx('events'), actor.credentials, 'node_id')
        .where({ id })
        .first<{ node_id: string; severity: string; category: string } | undefined>('node_id', 'severity', 'category');
      if (!event) return undefined;
      // The conditional update decides between concurrent acknowledgements.
      const changed = (await trx('events').where({ id, acknowledged: false }).update(acknowledgement(actor))) > 0;
      if (changed) {
        await this.audit.record(
          {
            ...auditActor(actor),
            action: 'event.ack',
            target_type: 'event',
            target_id: String(id),
            details: { node_id: event.node_id, severity: event.severity, category: event.category }
          },
          trx
        );
      }
      return { nodeId: event.node_id, changed };
    });
    if (!outcome) return undefined;
    if (outcome.changed) this.liveFeed.publish('events_acknowledged', { node_ids: [outcome.nodeId] });
    return this.get(id, actor.credentials);
  }

  /** Acknowledges the unacknowledged events of the selection within the actor's scope; returns how many. */
  async acknowledgeMany(selection: AckSelection, actor: EventActor): Promise<number> {
    const update = acknowledgement(actor);
    const { count, nodeIds } = await this.db.transaction(async (trx) => {
      const nodeIds = new Set<string>();
      let count = 0;
      let after = 0;
      for (;;) {
        const query = scopeToNodes(trx('events'), actor.credentials, 'events.node_id').where('events.acknowledged', false).where('events.id', '>', after);
        if ('ids' in selection) query.whereIn('events.id', selection.ids);
        else applyFilter(query, selection.filter);
        const batch = (await query.select('events.id', 'events.node_id').orderBy('events.id').limit(BATCH)) as { id: number; node_id: string }[];
        if (batch.length === 0) break;
        count += await trx('events')
          .whereIn(
            'id',
            batch.map((r) => r.id)
          )
          .where('acknowledged', false)
          .update(update);
        for (const row of batch) nodeIds.add(row.node_id);
        after = Number(batch[batch.length - 1].id);
        if (batch.length < BATCH) break;
      }
      if (count > 0) {
        await this.audit.record({ ...auditActor(actor), action: 'events.ack', target_type: 'event', details: { count, ...selection } }, trx);
      }
      return { count, nodeIds: [...nodeIds].sort() };
    });
    if (count > 0) this.liveFeed.publish('events_acknowledged', { node_ids: nodeIds });
    return count;
  }
}

function applyFilter<T extends Knex.QueryBuilder>(query: T, filter: EventFilter): T {
  if (filter.node_id !== undefined) query.where('events.node_id', filter.node_id);
  if (filter.severity !== undefined) query.whereIn('events.severity', filter.severity);
  if (filter.category !== undefined) query.where('events.category', filter.category);
  if (filter.flow_id !== undefined) query.where('events.flow_id', filter.flow_id);
  if (filter.acknowledged !== undefined) query.where('events.acknowledged', filter.acknowledged);
  if (filter.from !== undefined) query.where('events.created_at', '>=', filter.from);
  if (filter.to !== undefined) query.where('events.created_at', '<=', filter.to);
  if (filter.q) {
    // "!" escapes LIKE wildcards on both databases (a backslash means different things in their string literals).
    const pattern = `%${filter.q.toLowerCase().replace(/[!%_]/g, '!$&')}%`;
    query.where((w) => void w.whereRaw("lower(events.message) like ? escape '!'", [pattern]).orWhereRaw("lower(events.category) like ? escape '!'", [pattern]));
  }
  return query;
}

function withNodeName(query: Knex.QueryBuilder): Knex.QueryBuilder {
  return query.join('nodes', 'nodes.id', 'events.node_id').select('events.*', 'nodes.name as node_name');
}

function acknowledgement(actor: EventActor) {
  return { acknowledged: true, acknowledged_by: actor.credentials.user.id, acknowledged_at: nowIso() };
}

function auditActor(actor: EventActor) {
  return { user_id: actor.credentials.user.id, username: actor.credentials.user.username, ip: actor.ip };
}

/** The string cut to at most `max` UTF-16 units (never half a surrogate pair); '' for a non-string or blank value. */
function clip(value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') return '';
  if (value.length <= max) return value;
  const cut = value.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** Details as JSON: a plain object as is, anything else as `{ value }`, an oversized one replaced by a marker. */
function serializeDetails(details: unknown): string | null {
  if (details === null || details === undefined) return null;
  const plain = typeof details === 'object' && !Array.isArray(details) && [Object.prototype, null].includes(Object.getPrototypeOf(details) as object | null);
  const json = JSON.stringify(plain ? details : { value: details });
  const bytes = Buffer.byteLength(json);
  return bytes <= LIMITS.details_bytes ? json : JSON.stringify({ truncated: true, original_bytes: bytes });
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: Number(row.id),
    node_id: row.node_id,
    severity: row.severity,
    raw_severity: row.raw_severity,
    category: row.category,
    message: row.message,
    details: parseJsonColumn<Record<string, unknown> | null>(row.details, null),
    flow_id: row.flow_id,
    input_id: row.input_id,
    output_id: row.output_id,
    created_at: row.created_at,
    acknowledged: fromDbBoolean(row.acknowledged),
    acknowledged_by: row.acknowledged_by,
    acknowledged_at: row.acknowledged_at
  };
}

function toListedEvent(row: ListedRow): ListedEvent {
  return { ...toStoredEvent(row), node_name: row.node_name };
}
