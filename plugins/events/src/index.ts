import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@bilbycast/core';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { eventsMigrations } from './migrations';
import { eventRoutes } from './routes/events';
import type { EventsRouteContext } from './routes/route-context';
import { EventStore } from './services/event-store';

export { EventStore, SEVERITIES, type EventFilter, type ListedEvent, type EventActor, type AckSelection, type EventSeverity } from './services/event-store';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };

export interface EventsOptions {
  /** Events older than this many days are deleted (default 30). */
  retention_days?: number;
  /** How often the retention purge runs (default one hour); it also runs at start. */
  retention_interval_ms?: number;
}

const DAY_MS = 86_400_000;

const optionsSchema = Joi.object({
  retention_days: Joi.number().integer().min(1).max(365).default(30),
  // setInterval takes at most 2^31-1 ms; a longer delay would fire at once, every millisecond.
  retention_interval_ms: Joi.number().integer().min(1000).max(2_147_483_647).default(3_600_000)
});

/**
 * The events plugin: owns the `events` table, provides the `events` service (the nodes
 * plugin's EventRecorder), serves `/api/v1/events` and purges events past their retention.
 */
export const plugin: Plugin<EventsOptions> = {
  name: pkg.name,
  version: pkg.version,
  dependencies: ['@bilbycast/nodes'],
  register(server, rawOptions) {
    const validated = optionsSchema.validate(rawOptions ?? {}) as Joi.ValidationResult<Required<EventsOptions>>;
    if (validated.error) throw new ConfigError(`events options: ${validated.error.message}`);
    const options = validated.value;
    const { manager } = server;
    // The nodes plugin must come first: its migration creates the table events refer to.
    const liveFeed = manager.services.get('liveFeed');
    if (!liveFeed) throw new ConfigError(`${pkg.name} must be registered after @bilbycast/nodes`);

    manager.migrations.add('events', eventsMigrations);
    manager.backupTables.declare('events', { durable: ['events'] });
    const store = new EventStore(manager.db, liveFeed, manager.audit);
    manager.services.provide('events', store);
    server.bind({ store } satisfies EventsRouteContext);
    server.route(eventRoutes);

    // One purge at a time: a run still going when the next is due is not doubled.
    let running: Promise<void> | undefined;
    const purge = () => {
      running ??= store
        .purgeOlderThan(new Date(Date.now() - options.retention_days * DAY_MS).toISOString())
        .then((deleted) => {
          if (deleted > 0) manager.logger.info({ deleted, retention_days: options.retention_days }, 'purged old events');
        })
        .catch((err: unknown) => manager.logger.warn({ err }, 'could not purge old events'))
        .finally(() => {
          running = undefined;
        });
    };
    let timer: NodeJS.Timeout | undefined;
    server.ext('onPostStart', () => {
      purge();
      timer = setInterval(purge, options.retention_interval_ms).unref();
    });
    server.ext('onPreStop', async () => {
      clearInterval(timer);
      await running;
    });
  }
};

export default plugin;
