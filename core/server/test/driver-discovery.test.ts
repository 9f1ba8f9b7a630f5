import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Joi, defineDriver } from '@bilbycast/driver-sdk';
import { LogCapture, createTestDatabase, testConfig, type TestDatabase } from '@bilbycast/tests';
import { ConfigError, DriverRegistry, createManager, type LoadedDriver, type Manager, type ManagerConfig } from '../src';

const SDK_DIR = path.dirname(require.resolve('@bilbycast/driver-sdk/package.json'));

interface FixtureOptions {
  version?: string;
  /** The package.json `bilbycast` block; null leaves it out. */
  bilbycast?: Record<string, unknown> | null;
  /** The entry module's source; default: a valid driver for deviceType. */
  source?: string;
  deviceType?: string;
}

/** The CommonJS entry of a driver package, as a third-party author would write it. */
function driverSource(deviceType: string, displayName = `Fixture ${deviceType}`): string {
  return `const { defineDriver, Joi } = require('@bilbycast/driver-sdk');
module.exports = defineDriver({
  device_type: ${JSON.stringify(deviceType)},
  display_name: ${JSON.stringify(displayName)},
  commands: [
    { name: 'reboot', description: 'Reboots the device', requires_role: 'admin', params: Joi.object({}), timeout_ms: 10000, mutates: true },
    { name: 'get_status', description: 'Reads status', requires_role: 'viewer', params: Joi.object({ verbose: Joi.boolean() }), timeout_ms: 2000, mutates: false }
  ]
});
`;
}

/** Writes a driver package into `<nodeModules>/<name>`. */
function writeDriverPackage(nodeModules: string, name: string, options: FixtureOptions = {}): string {
  const dir = path.join(nodeModules, name);
  fs.mkdirSync(dir, { recursive: true });
  const manifest: Record<string, unknown> = {
    name,
    version: options.version ?? '1.2.3',
    main: 'index.js',
    peerDependencies: { '@bilbycast/driver-sdk': '^0.1.0' }
  };
  if (options.bilbycast !== null) manifest.bilbycast = options.bilbycast ?? { driver: './index.js', apiVersion: 1 };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(dir, 'index.js'), options.source ?? driverSource(options.deviceType ?? name.replace(/\W/g, '_')));
  return dir;
}

/** Lists names in `<data_dir>/drivers/package.json` as `driver add` would. */
function listDataDirDrivers(dataDir: string, names: string[]): string {
  const driversDir = path.join(dataDir, 'drivers');
  fs.mkdirSync(path.join(driversDir, 'node_modules'), { recursive: true });
  const dependencies = Object.fromEntries(names.map((n) => [n, '*']));
  fs.writeFileSync(path.join(driversDir, 'package.json'), JSON.stringify({ name: 'bilbycast-drivers', private: true, dependencies }));
  return path.join(driversDir, 'node_modules');
}

/** A folder outside the data dir whose node_modules builtin/configured names resolve from. */
function makeResolveRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-drivers-resolve-'));
  fs.mkdirSync(path.join(root, 'node_modules', '@bilbycast'), { recursive: true });
  fs.symlinkSync(SDK_DIR, path.join(root, 'node_modules', '@bilbycast', 'driver-sdk'), 'dir');
  return root;
}

function validIntegratorDriver(deviceType: string) {
  return defineDriver({
    device_type: deviceType,
    display_name: 'Integrator device',
    commands: [{ name: 'ping', description: 'Ping', requires_role: 'viewer', params: Joi.object({}), timeout_ms: 1000, mutates: false }]
  });
}

describe('driver discovery', () => {
  let database: TestDatabase;
  let resolveRoot: string;
  const managers: Manager[] = [];

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    resolveRoot = makeResolveRoot();
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.context.db.destroy();
    await database.cleanup();
    fs.rmSync(resolveRoot, { recursive: true, force: true });
  });

  async function create(overrides: Partial<ManagerConfig> = {}, extra: Partial<Parameters<typeof createManager>[0]> = {}) {
    const manager = await createManager({
      config: testConfig(database, overrides),
      driverResolvePaths: [resolveRoot],
      ...extra
    });
    managers.push(manager);
    return manager;
  }

  it('loads a driver installed in <data_dir>/drivers and listed in its package.json', async () => {
    const nodeModules = listDataDirDrivers(database.dataDir, ['acme-edge-driver']);
    writeDriverPackage(nodeModules, 'acme-edge-driver', { version: '2.0.1', deviceType: 'acme_edge' });

    const manager = await create();
    const driver = manager.context.drivers.get('acme_edge');
    expect(driver).toBeDefined();
    expect(driver!.package).toBe('acme-edge-driver');
    expect(driver!.version).toBe('2.0.1');
    expect(driver!.source).toBe('data_dir');
    expect(driver!.definition.display_name).toBe('Fixture acme_edge');
    expect(driver!.definition.commands.map((c) => c.name)).toEqual(['reboot', 'get_status']);
    expect(manager.context.drivers.definition('acme_edge')).toBe(driver!.definition);
    expect(manager.context.drivers.refused).toEqual([]);
    // The host's SDK was linked in for the driver's peer dependency.
    const link = path.join(nodeModules, '@bilbycast', 'driver-sdk');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.realpathSync(link)).toBe(fs.realpathSync(SDK_DIR));
  });

  it('relinks the SDK when the link left in the data dir no longer points at the host copy', async () => {
    const nodeModules = listDataDirDrivers(database.dataDir, ['moved-host-driver']);
    writeDriverPackage(nodeModules, 'moved-host-driver', { deviceType: 'moved' });
    // As left behind by a manager installed at a path that no longer exists.
    const link = path.join(nodeModules, '@bilbycast', 'driver-sdk');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(database.dataDir, 'old-install', 'driver-sdk'), link, 'dir');

    const manager = await create();
    expect(manager.context.drivers.refused).toEqual([]);
    expect(manager.context.drivers.get('moved')?.package).toBe('moved-host-driver');
    expect(fs.realpathSync(link)).toBe(fs.realpathSync(SDK_DIR));
  });

  it('finds a driver package whose exports map does not expose package.json', async () => {
    const nodeModules = listDataDirDrivers(database.dataDir, ['exports-map-driver']);
    const dir = writeDriverPackage(nodeModules, 'exports-map-driver', { deviceType: 'exports_map', version: '4.0.0' });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...manifest, exports: { '.': './index.js' } }));
    writeDriverPackage(path.join(resolveRoot, 'node_modules'), 'exports-map-cfg-driver', { deviceType: 'exports_cfg' });
    const cfgDir = path.join(resolveRoot, 'node_modules', 'exports-map-cfg-driver');
    const cfgManifest = JSON.parse(fs.readFileSync(path.join(cfgDir, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(cfgDir, 'package.json'), JSON.stringify({ ...cfgManifest, exports: { '.': './index.js' } }));

    const manager = await create({ drivers: ['exports-map-cfg-driver'] });
    expect(manager.context.drivers.refused).toEqual([]);
    expect(manager.context.drivers.get('exports_map')).toMatchObject({ package: 'exports-map-driver', version: '4.0.0', source: 'data_dir' });
    expect(manager.context.drivers.get('exports_cfg')).toMatchObject({ package: 'exports-map-cfg-driver', source: 'config' });
  });

  it('refuses a driver built for another apiVersion, logs it at warn, and still starts', async () => {
    const nodeModules = listDataDirDrivers(database.dataDir, ['future-driver', 'good-driver']);
    writeDriverPackage(nodeModules, 'future-driver', { version: '3.0.0', bilbycast: { driver: './index.js', apiVersion: 2 } });
    writeDriverPackage(nodeModules, 'good-driver', { deviceType: 'good' });
    const logs = new LogCapture();

    const manager = await create({ log_level: 'warn' }, { logDestination: logs });
    expect(manager.context.drivers.refused).toEqual([
      {
        package: 'future-driver',
        version: '3.0.0',
        source: 'data_dir',
        reason: 'driver apiVersion 2 is not supported (this manager supports 1)'
      }
    ]);
    expect(manager.context.drivers.get('future_driver')).toBeUndefined();
    expect(manager.context.drivers.list().map((d) => d.package)).toEqual(['good-driver']);

    const warnings = logs.entries().filter((e) => e.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ driver: 'future-driver', version: '3.0.0', source: 'data_dir' });
    expect(warnings[0].msg).toBe('driver refused: driver apiVersion 2 is not supported (this manager supports 1)');

    // Admins see the refusal through the API (credentials injected through a stand-in strategy).
    manager.server.auth.scheme('injected-only', () => ({ authenticate: (_request, h) => h.unauthenticated(new Error('none')) }));
    manager.server.auth.strategy('injected', 'injected-only');
    manager.server.auth.default({ strategy: 'injected', mode: 'try' });
    await manager.initialize();
    const health = await manager.server.inject('/health');
    expect(health.statusCode).toBe(200);
    const admin = { user: { id: 'a', username: 'a', display_name: null, email: null, role: 'admin' }, role: 'admin', allowed_node_ids: null, method: 'token' };
    const listing = await manager.server.inject({ url: '/api/v1/drivers', auth: { strategy: 'injected', credentials: admin } });
    expect(listing.statusCode).toBe(200);
    expect(listing.result).toMatchObject({
      loaded: [{ device_type: 'good', package: 'good-driver', source: 'data_dir' }],
      refused: [{ package: 'future-driver', version: '3.0.0', source: 'data_dir', reason: 'driver apiVersion 2 is not supported (this manager supports 1)' }]
    });
    await manager.stop();
    managers.pop();
  });

  it('refuses each unusable package with its own reason', async () => {
    const names = ['no-block-driver', 'throwing-driver', 'invalid-driver', 'missing-driver', 'bad-entry-path-driver', 'broken-manifest-driver'];
    const nodeModules = listDataDirDrivers(database.dataDir, names);
    writeDriverPackage(nodeModules, 'no-block-driver', { bilbycast: null });
    const broken = writeDriverPackage(nodeModules, 'broken-manifest-driver');
    fs.writeFileSync(path.join(broken, 'package.json'), '{ "name":');
    writeDriverPackage(nodeModules, 'throwing-driver', { source: "throw new Error('driver exploded on load');\n" });
    writeDriverPackage(nodeModules, 'invalid-driver', {
      source: "const { Joi } = require('@bilbycast/driver-sdk');\nmodule.exports = { device_type: 'Invalid Type', display_name: 'x', commands: [] };\n"
    });
    writeDriverPackage(nodeModules, 'bad-entry-path-driver', { bilbycast: { driver: './dist/missing.js', apiVersion: 1 } });

    const manager = await create();
    const reasons = Object.fromEntries(manager.context.drivers.refused.map((r) => [r.package, r.reason]));
    expect(Object.keys(reasons).sort()).toEqual([...names].sort());
    expect(reasons['no-block-driver']).toBe('package.json has no "bilbycast": { "driver", "apiVersion" } block');
    expect(reasons['throwing-driver']).toBe('driver entry ./index.js failed to load: driver exploded on load');
    expect(reasons['invalid-driver']).toMatch(/^invalid driver export: "device_type" with value "Invalid Type" fails to match/);
    expect(reasons['missing-driver']).toBe('package is not installed');
    expect(reasons['broken-manifest-driver']).toMatch(/^package\.json cannot be read: /);
    expect(reasons['bad-entry-path-driver']).toMatch(/^driver entry \.\/dist\/missing\.js failed to load: Cannot find module/);
    for (const r of manager.context.drivers.refused) expect(r.source).toBe('data_dir');
    expect(manager.context.drivers.refused.find((r) => r.package === 'missing-driver')!.version).toBeUndefined();
    expect(manager.context.drivers.list()).toEqual([]);
  });

  it('accepts a driver exported as `driver` or `default`', async () => {
    const nodeModules = listDataDirDrivers(database.dataDir, ['named-export-driver', 'default-export-driver']);
    const named = driverSource('named').replace('module.exports = defineDriver(', 'exports.driver = defineDriver(');
    const dflt = driverSource('dflt').replace('module.exports = defineDriver(', 'exports.default = defineDriver(');
    writeDriverPackage(nodeModules, 'named-export-driver', { source: named });
    writeDriverPackage(nodeModules, 'default-export-driver', { source: dflt });

    const manager = await create();
    expect(manager.context.drivers.refused).toEqual([]);
    expect(manager.context.drivers.get('named')?.package).toBe('named-export-driver');
    expect(manager.context.drivers.get('dflt')?.package).toBe('default-export-driver');
  });

  it('stops startup when two drivers claim one device type, naming both packages', async () => {
    writeDriverPackage(path.join(resolveRoot, 'node_modules'), 'builtin-relay-driver', { deviceType: 'relay' });
    const nodeModules = listDataDirDrivers(database.dataDir, ['other-relay-driver']);
    writeDriverPackage(nodeModules, 'other-relay-driver', { deviceType: 'relay', version: '9.9.9' });

    const attempt = createManager({
      config: testConfig(database),
      builtinDrivers: ['builtin-relay-driver'],
      driverResolvePaths: [resolveRoot]
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      'device type "relay" is claimed by two drivers: builtin-relay-driver@1.2.3 (builtin) and other-relay-driver@9.9.9 (data_dir)'
    );
  });

  it('loads builtin drivers from the resolve paths with source builtin', async () => {
    writeDriverPackage(path.join(resolveRoot, 'node_modules'), 'builtin-gw-driver', { deviceType: 'gateway' });
    const manager = await create({}, { builtinDrivers: ['builtin-gw-driver'] });
    expect(manager.context.drivers.get('gateway')).toMatchObject({ package: 'builtin-gw-driver', source: 'builtin' });
  });

  it('loads configured drivers with source config and refuses a configured name that is not installed', async () => {
    writeDriverPackage(path.join(resolveRoot, 'node_modules'), '@acme/cfg-driver', { deviceType: 'cfg_device', version: '0.4.0' });

    const manager = await create({ drivers: ['@acme/cfg-driver', 'not-there-driver'] });
    expect(manager.context.drivers.get('cfg_device')).toMatchObject({ package: '@acme/cfg-driver', version: '0.4.0', source: 'config' });
    expect(manager.context.drivers.refused).toEqual([
      { package: 'not-there-driver', version: undefined, source: 'config', reason: 'package is not installed' }
    ]);
  });

  it('loads integrator-passed driver objects and refuses an invalid one', async () => {
    const manager = await create(
      {},
      {
        drivers: [
          { definition: validIntegratorDriver('embedded'), package: 'my-integration', version: '5.0.0' },
          { definition: { device_type: 'broken', display_name: 'Broken' }, package: 'broken-integration', version: '0.0.1' }
        ]
      }
    );
    const loaded = manager.context.drivers.get('embedded');
    expect(loaded).toMatchObject({ package: 'my-integration', version: '5.0.0', source: 'integrator' });
    expect(loaded!.definition.commands.map((c) => c.name)).toEqual(['ping']);
    expect(manager.context.drivers.get('broken')).toBeUndefined();
    expect(manager.context.drivers.refused).toEqual([
      { package: 'broken-integration', version: '0.0.1', source: 'integrator', reason: 'invalid driver: "commands" is required' }
    ]);
  });

  it('rejects an integrator driver that claims a type a data-dir driver already has', async () => {
    const nodeModules = listDataDirDrivers(database.dataDir, ['edge-driver']);
    writeDriverPackage(nodeModules, 'edge-driver', { deviceType: 'edge' });
    const attempt = createManager({
      config: testConfig(database),
      driverResolvePaths: [resolveRoot],
      drivers: [{ definition: validIntegratorDriver('edge'), package: 'embedded-edge', version: '1.0.0' }]
    });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/edge-driver@1\.2\.3 \(data_dir\) and embedded-edge@1\.0\.0 \(integrator\)/);
  });

  it('stops startup with a ConfigError when <data_dir>/drivers/package.json is not JSON', async () => {
    fs.mkdirSync(path.join(database.dataDir, 'drivers'), { recursive: true });
    fs.writeFileSync(path.join(database.dataDir, 'drivers', 'package.json'), '{ not json');
    const attempt = createManager({ config: testConfig(database), driverResolvePaths: [resolveRoot] });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/drivers[\\/]package\.json is not valid JSON/);
  });

  it('lists drivers sorted by device type, whatever their source', async () => {
    writeDriverPackage(path.join(resolveRoot, 'node_modules'), 'zeta-driver', { deviceType: 'zeta' });
    const nodeModules = listDataDirDrivers(database.dataDir, ['mid-driver']);
    writeDriverPackage(nodeModules, 'mid-driver', { deviceType: 'mid' });

    const manager = await create(
      {},
      {
        builtinDrivers: ['zeta-driver'],
        drivers: [{ definition: validIntegratorDriver('alpha'), package: 'alpha-integration', version: '1.0.0' }]
      }
    );
    expect(manager.context.drivers.list().map((d) => [d.definition.device_type, d.source])).toEqual([
      ['alpha', 'integrator'],
      ['mid', 'data_dir'],
      ['zeta', 'builtin']
    ]);
  });
});

describe('DriverRegistry', () => {
  const loaded = (deviceType: string): LoadedDriver => ({
    definition: validIntegratorDriver(deviceType),
    package: `${deviceType}-pkg`,
    version: '1.0.0',
    source: 'integrator'
  });

  it('lists by device type regardless of insertion order and looks drivers up by type', () => {
    const refused = [{ package: 'x', source: 'config' as const, reason: 'package is not installed' }];
    const registry = new DriverRegistry([loaded('relay'), loaded('edge'), loaded('gateway'), loaded('bridge')], refused);
    expect(registry.list().map((d) => d.definition.device_type)).toEqual(['bridge', 'edge', 'gateway', 'relay']);
    expect(registry.get('gateway')?.package).toBe('gateway-pkg');
    expect(registry.get('nope')).toBeUndefined();
    expect(registry.definition('edge')?.device_type).toBe('edge');
    expect(registry.refused).toEqual(refused);
  });
});
