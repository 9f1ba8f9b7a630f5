import { boundContext } from '@bilbycast/core';
import type { ResponseToolkit } from '@hapi/hapi';
import type { EventStore } from '../services/event-store';

/** What the events routes are bound to (`server.bind` in the plugin's register). */
export interface EventsRouteContext {
  store: EventStore;
}

export function contextOf(h: ResponseToolkit): EventsRouteContext {
  return boundContext<EventsRouteContext>(h, 'events');
}
