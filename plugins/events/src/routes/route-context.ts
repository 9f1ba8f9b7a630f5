import type { ResponseToolkit } from '@hapi/hapi';
import type { EventStore } from '../services/event-store';

/** What the events routes are bound to (`server.bind` in the plugin's register). */
export interface EventsRouteContext {
  store: EventStore;
}

export function contextOf(h: ResponseToolkit): EventsRouteContext {
  if (!h.context) throw new Error('events routes need the context the plugin binds (server.bind in register)');
  return h.context as EventsRouteContext;
}
