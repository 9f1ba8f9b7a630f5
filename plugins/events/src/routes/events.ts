import { apiError, callerOf, isoDate } from '@bilbycast/core';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { LIMITS, SEVERITIES, type AckSelection, type EventActor, type EventFilter } from '../services/event-store';
import { contextOf } from './route-context';

const SEVERITY = SEVERITIES.join('|');
/** One severity or a comma-separated list of them, converted to a list without repeats. */
const severityList = Joi.string()
  .max(64)
  .pattern(new RegExp(`^\\s*(${SEVERITY})\\s*(,\\s*(${SEVERITY})\\s*)*$`))
  .custom((value: string) => [...new Set(value.split(',').map((s) => s.trim()))])
  .messages({ 'string.pattern.base': `{{#label}} must be ${SEVERITIES.join(', ')} or a comma-separated list of them` });

// Four-digit years keep ISO-8601 text comparable as created_at is stored.
const isoTime = isoDate().min('0000-01-01T00:00:00.000Z').max('9999-12-31T23:59:59.999Z');

const filterFields = {
  node_id: Joi.string().guid().lowercase(),
  severity: severityList,
  category: Joi.string().max(LIMITS.category),
  flow_id: Joi.string().max(LIMITS.scope_id),
  from: isoTime,
  to: isoTime.when('from', {
    is: Joi.exist(),
    then: Joi.date().min(Joi.ref('from')).messages({ 'date.min': '{{#label}} must not be before "from"' })
  }),
  q: Joi.string().max(256).allow('')
};

const listQuery = Joi.object({
  ...filterFields,
  acknowledged: Joi.boolean(),
  page: Joi.number().integer().min(1).max(1_000_000).default(1),
  per_page: Joi.number().integer().min(1).max(200).default(50)
});

const eventId = Joi.number().integer().min(1).max(Number.MAX_SAFE_INTEGER);
const noQuery = Joi.object({});

const bulkPayload = Joi.object({
  ids: Joi.array().items(eventId).min(1).max(1000).unique(),
  filter: Joi.object(filterFields)
})
  .xor('ids', 'filter')
  .required();

/** A filter as validated by joi (severity converted to a list, times to Dates). */
type FilterInput = Omit<EventFilter, 'severity' | 'from' | 'to'> & { severity?: EventFilter['severity']; from?: Date; to?: Date };

function toFilter({ from, to, q, ...rest }: FilterInput): EventFilter {
  return { ...rest, ...(from && { from: from.toISOString() }), ...(to && { to: to.toISOString() }), ...(q && { q }) };
}

function actorOf(request: Request): EventActor {
  return { credentials: callerOf(request), ip: request.clientIp };
}

const eventNotFound = () => apiError(404, 'event_not_found', 'No such event');

const authenticated = { bilbycast: { access: 'authenticated' as const } };
const operator = { bilbycast: { access: { role: 'operator' as const } } };

async function listEvents(request: Request, h: ResponseToolkit) {
  const { page, per_page, ...filter } = request.query as FilterInput & { page: number; per_page: number };
  const { total, events } = await contextOf(h).store.list(toFilter(filter), callerOf(request), { page, per_page });
  return h.response(events).header('X-Total-Count', String(total));
}

function countAlarms(request: Request, h: ResponseToolkit) {
  return contextOf(h).store.alarmCounts(callerOf(request).allowed_node_ids);
}

async function acknowledgeEvent(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: number };
  const event = await contextOf(h).store.acknowledge(id, actorOf(request));
  if (!event) throw eventNotFound();
  return event;
}

async function acknowledgeEvents(request: Request, h: ResponseToolkit) {
  const payload = request.payload as { ids: number[] } | { filter: FilterInput };
  const selection: AckSelection = 'ids' in payload ? { ids: payload.ids } : { filter: toFilter(payload.filter) };
  return { acknowledged: await contextOf(h).store.acknowledgeMany(selection, actorOf(request)) };
}

/** `/api/v1/events`: listing and counting (Viewer+), acknowledgement (Operator+), within the caller's node scope. */
export const eventRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/events',
    options: {
      tags: ['api', 'events'],
      description: 'List events newest first, filtered and paged; X-Total-Count holds the number matching',
      plugins: authenticated,
      validate: { query: listQuery },
      handler: listEvents
    }
  },
  {
    method: 'GET',
    path: '/api/v1/events/count',
    options: {
      tags: ['api', 'events'],
      description: 'Unacknowledged alarm counts: count = critical + warning',
      plugins: authenticated,
      validate: { query: noQuery },
      handler: countAlarms
    }
  },
  {
    method: 'POST',
    path: '/api/v1/events/{id}/ack',
    options: {
      tags: ['api', 'events'],
      description: 'Acknowledge an event (operator); acknowledging again keeps the first acknowledgement',
      plugins: operator,
      validate: { query: noQuery, params: Joi.object({ id: eventId.required() }), payload: Joi.object({}).allow(null) },
      handler: acknowledgeEvent
    }
  },
  {
    method: 'POST',
    path: '/api/v1/events/ack',
    options: {
      tags: ['api', 'events'],
      description: 'Acknowledge the unacknowledged events given by ids or matching a filter (operator)',
      plugins: operator,
      validate: { query: noQuery, payload: bulkPayload },
      handler: acknowledgeEvents
    }
  }
];
