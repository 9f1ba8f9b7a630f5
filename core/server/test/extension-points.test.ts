import Joi from 'joi';
import { BackupTableRegistry, FeatureChecks, InProcessBus, SettingsRegistry } from '../src';

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
});

describe('the settings registry', () => {
  const make = () => {
    const failures: string[] = [];
    const registry = new SettingsRegistry(new InProcessBus(() => undefined), (key) => failures.push(key));
    return { registry, failures };
  };
  const interval = { key: 'nodes.stats_interval_ms', schema: Joi.number().integer().min(100).max(60_000), default: 1000, description: 'How often stats are sent' };

  it('starts from the default or the seeding option, validates changes, and tells the owner', () => {
    const { registry, failures } = make();
    registry.declare('@bilbycast/nodes', interval);
    registry.declare('@bilbycast/events', { key: 'events.retention_days', schema: Joi.number().integer().min(1).max(365), default: 30, description: 'Days kept', seed: { option: 'BILBYCAST_EVENTS_RETENTION_DAYS', value: 7 } });
    expect(registry.get('nodes.stats_interval_ms')).toBe(1000);
    expect(registry.list().map((s) => [s.key, s.value, s.source, s.seed_option])).toEqual([
      ['nodes.stats_interval_ms', 1000, 'default', null],
      ['events.retention_days', 7, 'config', 'BILBYCAST_EVENTS_RETENTION_DAYS']
    ]);
    const heard: number[] = [];
    registry.onChange<number>('nodes.stats_interval_ms', (v) => heard.push(v));
    registry.onChange('nodes.stats_interval_ms', () => {
      throw new Error('listener failed');
    });
    expect(registry.change('nodes.stats_interval_ms', '2500')).toBe(2500);
    expect(heard).toEqual([2500]);
    expect(failures).toEqual(['nodes.stats_interval_ms']);
    expect(registry.get('nodes.stats_interval_ms')).toBe(2500);
    expect(registry.list()[0].source).toBe('changed');
    expect(() => registry.change('nodes.stats_interval_ms', 5)).toThrow(expect.objectContaining({ code: 'invalid_setting' }));
    expect(() => registry.change('nodes.nothing', 5)).toThrow(expect.objectContaining({ code: 'unknown_setting' }));
    expect(registry.get('nodes.stats_interval_ms')).toBe(2500);
  });

  it('refuses a duplicate key, a badly named key, and an invalid default or seed', () => {
    const { registry } = make();
    registry.declare('a', interval);
    expect(() => registry.declare('b', interval)).toThrow(/already declared by a/);
    expect(() => registry.declare('a', { ...interval, key: 'NoDot' })).toThrow(/plugin\.name/);
    expect(() => registry.declare('a', { ...interval, key: 'nodes.other', default: 5 })).toThrow(/the default is invalid/);
    expect(() => registry.declare('a', { ...interval, key: 'nodes.third', seed: { option: 'BILBYCAST_X', value: 10 ** 9 } })).toThrow(/BILBYCAST_X is invalid/);
  });

  it('applies a change announced on the bus by another instance', () => {
    const bus = new InProcessBus(() => undefined);
    const here = new SettingsRegistry(bus, () => undefined);
    const there = new SettingsRegistry(bus, () => undefined);
    here.declare('nodes', interval);
    there.declare('nodes', interval);
    there.change('nodes.stats_interval_ms', 4000);
    expect(here.get('nodes.stats_interval_ms')).toBe(4000);
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

  it('answers yes without a license, and the license’s answer once one is provided (only one)', () => {
    const features = new FeatureChecks();
    expect([features.allows('st2110'), features.nodeAllowance()]).toEqual([true, null]);
    features.provide({ allows: (f) => f === 'ai', nodeAllowance: () => 25 });
    expect([features.allows('st2110'), features.allows('ai'), features.nodeAllowance()]).toEqual([false, true, 25]);
    expect(() => features.provide({ allows: () => true, nodeAllowance: () => null })).toThrow(/already provided/);
  });
});
