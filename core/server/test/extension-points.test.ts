import { LogCapture, createTestDatabase, testConfig } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { BackupTableRegistry, ConfigError, FeatureChecks, InProcessBus, SettingsRegistry, createManager } from '../src';

declare module '@bilbycast/core' {
  interface BusTopics {
    'test.ping': { n: number; at?: string };
  }
}

describe('the cluster bus (in process)', () => {
  it('delivers to every subscriber its own copy, isolates a failing subscriber, and unsubscribes', () => {
    const failures: unknown[] = [];
    const bus = new InProcessBus((_topic, error) => failures.push(error));
    const seen: { n: number }[][] = [[], []];
    bus.subscribe('test.ping', () => {
      throw new Error('broken subscriber');
    });
    const stop = bus.subscribe('test.ping', (m) => seen[0].push(m));
    bus.subscribe('test.ping', (m) => {
      m.n += 100; // a copy: the other subscriber does not see this
      seen[1].push(m);
    });
    bus.publish('test.ping', { n: 1 });
    expect(seen).toEqual([[{ n: 1 }], [{ n: 101 }]]);
    expect(failures.map((e) => (e as Error).message)).toEqual(['broken subscriber']);
    stop();
    bus.publish('test.ping', { n: 2 });
    expect(seen[0]).toEqual([{ n: 1 }]);
    expect(seen[1]).toEqual([{ n: 101 }, { n: 102 }]);
  });

  it('carries plain JSON only, as a broker would (a Date arrives as its ISO string)', () => {
    const bus = new InProcessBus(() => undefined);
    let got: unknown;
    bus.subscribe('test.ping', (m) => (got = m));
    bus.publish('test.ping', { n: 1, at: new Date('2026-01-02T03:04:05Z') as unknown as string });
    expect(got).toEqual({ n: 1, at: '2026-01-02T03:04:05.000Z' });
    expect(() => bus.publish('test.ping', { n: 1n as unknown as number })).toThrow(/BigInt/);
  });

  it('reports an async subscriber that rejects instead of leaving an unhandled rejection', async () => {
    const failures: unknown[] = [];
    const bus = new InProcessBus((_topic, error) => failures.push(error));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      bus.subscribe('test.ping', async () => {
        await Promise.resolve();
        throw new Error('async subscriber failed');
      });
      bus.publish('test.ping', { n: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(failures.map((e) => (e as Error).message)).toEqual(['async subscriber failed']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('delivers a message to the subscribers of the moment it is published, once each', () => {
    const bus = new InProcessBus(() => undefined);
    const calls: string[] = [];
    let stopSelf: () => void = () => undefined;
    const resubscribing = () => {
      calls.push('self');
      stopSelf();
      stopSelf = bus.subscribe('test.ping', resubscribing);
    };
    stopSelf = bus.subscribe('test.ping', resubscribing);
    let stopLater: () => void = () => undefined;
    bus.subscribe('test.ping', () => {
      calls.push('first');
      stopLater();
      bus.subscribe('test.ping', () => calls.push('added during delivery'));
    });
    stopLater = bus.subscribe('test.ping', () => calls.push('removed before its turn'));
    bus.subscribe('test.ping', () => calls.push('third'));
    bus.publish('test.ping', { n: 1 });
    expect(calls).toEqual(['self', 'first', 'third']);
  });

  it('needs one unsubscribe per subscription, also for the same function twice', () => {
    const bus = new InProcessBus(() => undefined);
    let count = 0;
    const handler = () => void count++;
    const stopOne = bus.subscribe('test.ping', handler);
    bus.subscribe('test.ping', handler);
    stopOne();
    bus.publish('test.ping', { n: 1 });
    expect(count).toBe(1);
  });
});

describe('the settings registry', () => {
  const make = () => {
    const failures: string[] = [];
    const registry = new SettingsRegistry(new InProcessBus(() => undefined), (key) => failures.push(key));
    return { registry, failures };
  };
  const interval = { key: 'stats_interval_ms', schema: Joi.number().integer().min(100).max(60_000), default: 1000, description: 'How often stats are sent' };

  it('starts from the default or the seeding option, validates changes, and tells the owner', () => {
    const { registry, failures } = make();
    registry.declare('@bilbycast/nodes', interval);
    registry.declare('@bilbycast/events', {
      key: 'events_retention_days',
      schema: Joi.number().integer().min(1).max(365),
      default: 30,
      description: 'Days kept',
      seed: { option: 'BILBYCAST_EVENTS_RETENTION_DAYS', value: 7 }
    });
    expect(registry.get('stats_interval_ms')).toBe(1000);
    expect(registry.list().map((s) => [s.key, s.value, s.source, s.seed_option])).toEqual([
      ['stats_interval_ms', 1000, 'default', null],
      ['events_retention_days', 7, 'config', 'BILBYCAST_EVENTS_RETENTION_DAYS']
    ]);
    const heard: number[] = [];
    registry.onChange<number>('stats_interval_ms', (v) => heard.push(v));
    registry.onChange('stats_interval_ms', () => {
      throw new Error('listener failed');
    });
    expect(registry.change('stats_interval_ms', '2500')).toBe(2500);
    expect(heard).toEqual([2500]);
    expect(failures).toEqual(['stats_interval_ms']);
    expect(registry.get('stats_interval_ms')).toBe(2500);
    expect(registry.list()[0].source).toBe('changed');
    expect(() => registry.change('stats_interval_ms', 5)).toThrow(expect.objectContaining({ code: 'invalid_setting' }));
    expect(() => registry.change('nothing', 5)).toThrow(expect.objectContaining({ code: 'unknown_setting' }));
    expect(registry.get('stats_interval_ms')).toBe(2500);
  });

  it('refuses a duplicate key, a badly named key, and an invalid default or seed', () => {
    const { registry } = make();
    registry.declare('a', interval);
    expect(() => registry.declare('b', interval)).toThrow('b: setting "stats_interval_ms" is already declared by a');
    expect(() => registry.declare('a', { ...interval, key: 'Stats.Interval' })).toThrow(/lower-case snake case/);
    expect(() => registry.declare('a', { ...interval, key: 'other', default: 5 })).toThrow(/the default is invalid/);
    // A bad seed is the operator's configuration error (the CLI exits with status 2), naming the option.
    const badSeed = () => registry.declare('a', { ...interval, key: 'third', seed: { option: 'BILBYCAST_X', value: 10 ** 9 } });
    expect(badSeed).toThrow(ConfigError);
    expect(badSeed).toThrow(/^BILBYCAST_X: must be less than or equal to 60000 \(setting third\)$/);
  });

  it('leaves no listener on a superseded value when a listener changes the setting again', () => {
    const { registry } = make();
    registry.declare('nodes', interval);
    const lastHeard: number[] = [];
    registry.onChange<number>('stats_interval_ms', (v) => {
      if (v > 5000) registry.change('stats_interval_ms', 5000); // a listener that clamps
    });
    registry.onChange<number>('stats_interval_ms', (v) => lastHeard.push(v));
    registry.change('stats_interval_ms', 8000);
    expect(registry.get('stats_interval_ms')).toBe(5000);
    expect(lastHeard).toEqual([5000]);
  });

  it('reports an async listener that rejects', async () => {
    const { registry, failures } = make();
    registry.declare('nodes', interval);
    registry.onChange('stats_interval_ms', async () => {
      await Promise.resolve();
      throw new Error('async listener failed');
    });
    registry.change('stats_interval_ms', 2000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toEqual(['stats_interval_ms']);
  });

  it('checks a change arriving on the bus, and converts it back from JSON', () => {
    const bus = new InProcessBus(() => undefined);
    const failures: unknown[] = [];
    const registry = new SettingsRegistry(bus, (_key, error) => failures.push(error));
    registry.declare('nodes', interval);
    registry.declare('license', { key: 'renew_after', schema: Joi.date(), default: new Date('2027-01-01T00:00:00Z'), description: 'When' });
    bus.publish('settings.changed', { key: 'stats_interval_ms', value: 'not a number' });
    expect(registry.get('stats_interval_ms')).toBe(1000);
    expect(failures).toEqual([expect.objectContaining({ code: 'invalid_setting' })]);
    registry.change('renew_after', '2028-02-03T00:00:00Z');
    expect(registry.get('renew_after')).toEqual(new Date('2028-02-03T00:00:00Z'));
  });

  it('applies a change announced on the bus by another instance', () => {
    const bus = new InProcessBus(() => undefined);
    const here = new SettingsRegistry(bus, () => undefined);
    const there = new SettingsRegistry(bus, () => undefined);
    here.declare('nodes', interval);
    there.declare('nodes', interval);
    there.change('stats_interval_ms', 4000);
    expect(here.get('stats_interval_ms')).toBe(4000);
  });
});

describe('backup table declarations and feature checks', () => {
  it('keeps durable tables in declaration order, ephemeral ones apart, and refuses a table declared twice', () => {
    const tables = new BackupTableRegistry();
    tables.declare('users', { durable: ['users'] });
    tables.declare('auth', { durable: ['auth_mfa'], ephemeral: ['auth_sessions'] });
    expect(tables.durable()).toEqual([
      { table: 'users', owner: 'users' },
      { table: 'auth_mfa', owner: 'auth' }
    ]);
    expect(tables.ephemeral()).toEqual([{ table: 'auth_sessions', owner: 'auth' }]);
    expect(tables.has('auth_sessions')).toBe(true);
    expect(() => tables.declare('nodes', { durable: ['users'] })).toThrow(/already declared for backup by users/);
  });

  it('warns at start about tables no plugin declared for backup', async () => {
    const database = await createTestDatabase('sqlite');
    const logs = new LogCapture();
    const widgets: Plugin<unknown> = {
      name: 'widgets',
      register(server) {
        server.manager.migrations.add('widgets', [
          {
            name: '001_tables',
            up: async (db) => {
              await db.schema.createTable('widgets', (t) => t.increments('id'));
              await db.schema.createTable('widget_cache', (t) => t.increments('id'));
            },
            down: async (db) => {
              await db.schema.dropTable('widget_cache');
              await db.schema.dropTable('widgets');
            }
          }
        ]);
        server.manager.backupTables.declare('widgets', { durable: ['widgets'] });
      }
    };
    const manager = await createManager({ config: testConfig(database, { log_level: 'info' }), plugins: [widgets], logDestination: logs });
    try {
      await manager.initialize();
      const warnings = logs.entries().filter((e) => e.level === 40);
      expect(warnings.map((e) => [e.msg, e.tables])).toEqual([[expect.stringMatching(/^tables no plugin declared for backup/), ['widget_cache']]]);
    } finally {
      await manager.stop();
      await database.cleanup();
    }
  });

  it('answers yes without a license, and the license’s answer once one is provided (only one)', () => {
    const features = new FeatureChecks();
    expect([features.allows('st2110'), features.limit('nodes')]).toEqual([true, null]);
    features.provide({ allows: (f) => f === 'ai', limit: (name) => (name === 'nodes' ? 25 : null) });
    expect([features.allows('st2110'), features.allows('ai'), features.limit('nodes'), features.limit('other')]).toEqual([false, true, 25, null]);
    expect(() => features.provide({ allows: () => true, limit: () => null })).toThrow(/already provided/);
  });
});
