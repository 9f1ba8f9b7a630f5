import type { EventsOptions } from '@bilbycast/events';
import type { NodesOptions } from '@bilbycast/nodes';

/** Environment variables of the nodes and events plugins' options in the standard build. */
export const DEVICE_ENV = {
  registration_token_ttl_hours: 'BILBYCAST_REGISTRATION_TOKEN_TTL_HOURS',
  offline_after_secs: 'BILBYCAST_NODE_OFFLINE_AFTER_SECS',
  events_per_minute: 'BILBYCAST_NODE_EVENTS_PER_MINUTE',
  retention_days: 'BILBYCAST_EVENTS_RETENTION_DAYS'
} as const;

function numberFrom(env: NodeJS.ProcessEnv, variable: string): number | undefined {
  const value = env[variable];
  // The plugins validate the number (a bad one stops start-up with exit status 2).
  return value === undefined || value === '' ? undefined : Number(value);
}

export function nodesOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NodesOptions {
  return {
    registration_token_ttl_hours: numberFrom(env, DEVICE_ENV.registration_token_ttl_hours),
    offline_after_secs: numberFrom(env, DEVICE_ENV.offline_after_secs),
    events_per_minute: numberFrom(env, DEVICE_ENV.events_per_minute)
  };
}

export function eventsOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EventsOptions {
  return { retention_days: numberFrom(env, DEVICE_ENV.retention_days) };
}
