import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// End to end through the real binary (needs `npx tsc -b` first).
const BIN = path.join(__dirname, '..', 'bin', 'bilbycast-manager.js');

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let root: string;
let home: string;
let packs: string;

/** npm never reaches the registry in these tests: local tarballs with no dependencies only. */
function npmEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, npm_config_offline: 'true', npm_config_update_notifier: 'false' };
}

function cli(dataDir: string, args: string[]): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], {
    cwd: root,
    env: {
      ...npmEnv(),
      BILBYCAST_DATA_DIR: dataDir,
      BILBYCAST_MASTER_KEY: crypto.randomBytes(32).toString('hex')
    }
  });
}

/** Writes a CommonJS driver package and packs it into a .tgz; returns the tarball path. */
async function packDriver(name: string, deviceType: string, apiVersion = 1, version = '1.0.0', scripts?: Record<string, string>): Promise<string> {
  const dir = path.join(root, 'src', name);
  fs.mkdirSync(dir, { recursive: true });
  const manifest = {
    name,
    version,
    main: 'index.js',
    files: ['index.js'],
    peerDependencies: { '@bilbycast/driver-sdk': '^0.1.0' },
    bilbycast: { driver: './index.js', apiVersion },
    ...(scripts && { scripts })
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    `const { defineDriver, Joi } = require('@bilbycast/driver-sdk');
module.exports = defineDriver({
  device_type: ${JSON.stringify(deviceType)},
  display_name: 'Fixture device',
  commands: [
    { name: 'reboot', description: 'Reboots', requires_role: 'admin', params: Joi.object({}), timeout_ms: 10000, mutates: true },
    { name: 'get_status', description: 'Reads status', requires_role: 'viewer', params: Joi.object({}), timeout_ms: 2000, mutates: false }
  ]
});
`
  );
  const result = await run('npm', ['pack', '--pack-destination', packs], { cwd: dir, env: npmEnv() });
  if (result.status !== 0) throw new Error(`npm pack failed: ${result.stderr}`);
  const tgz = path.join(packs, `${name}-${version}.tgz`);
  if (!fs.existsSync(tgz)) throw new Error(`npm pack did not write ${tgz}`);
  return tgz;
}

function driverDeps(dataDir: string): Record<string, string> {
  const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, 'drivers', 'package.json'), 'utf8'));
  return manifest.dependencies ?? {};
}

beforeAll(() => {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'index.js'))) {
    throw new Error('core/manager/dist is missing: run `npx tsc -b` before these tests');
  }
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-cli-driver-'));
  home = path.join(root, 'home');
  packs = path.join(root, 'packs');
  fs.mkdirSync(home);
  fs.mkdirSync(packs);
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const BUILTIN = ['@bilbycast/driver-appear-x', '@bilbycast/driver-edge', '@bilbycast/driver-relay'];

describe('driver list', () => {
  it('lists only the built-in drivers for an empty data dir', async () => {
    const result = await cli(path.join(root, 'empty-data'), ['driver', 'list']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.map((l) => l.split('\t')[0])).toEqual(['appear_x', 'edge', 'relay']);
    for (const line of lines) expect(line).toMatch(/\tbuiltin\t\d+ commands$/);
  });

  it('prints a JSON listing of the built-in drivers and no refusals for an empty data dir', async () => {
    const result = await cli(path.join(root, 'empty-data-json'), ['driver', 'list', '--json']);
    expect(result.status).toBe(0);
    const listing = JSON.parse(result.stdout) as { loaded: { package: string; source: string }[]; refused: unknown[] };
    expect(listing.loaded.map((d) => d.package).sort()).toEqual(BUILTIN);
    expect(listing.loaded.every((d) => d.source === 'builtin')).toBe(true);
    expect(listing.refused).toEqual([]);
  });
});

// These run in order against one data dir: install, then failed installs that must be undone.
describe('driver add', () => {
  let dataDir: string;
  const modules = () => path.join(dataDir, 'drivers', 'node_modules');

  beforeAll(() => {
    dataDir = path.join(root, 'data');
  });

  it('installs a packed driver, prints its device type, and records it in drivers/package.json', async () => {
    const tgz = await packDriver('acme-fixture-driver', 'fixture_device');
    const result = await cli(dataDir, ['driver', 'add', tgz]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Installing the local package ${tgz} (install scripts are not run)`);
    expect(result.stdout).toContain('Installed acme-fixture-driver@1.0.0: device type "fixture_device" (2 commands).');
    expect(result.stdout).toMatch(/Integrity sha512-[A-Za-z0-9+/=]+/);
    expect(result.stdout).toContain('Restart the manager to load it.');
    expect(Object.keys(driverDeps(dataDir))).toEqual(['acme-fixture-driver']);
    expect(fs.existsSync(path.join(modules(), 'acme-fixture-driver', 'index.js'))).toBe(true);
  });

  it("never runs a package's install scripts", async () => {
    const marker = path.join(root, 'postinstall-ran');
    const script = `node -e "require('fs').writeFileSync(${JSON.stringify(marker).replace(/"/g, "'")}, 'x')"`;
    const tgz = await packDriver('scripted-driver', 'scripted_device', 1, '1.0.0', { preinstall: script, install: script, postinstall: script });
    const result = await cli(path.join(root, 'scripted-data'), ['driver', 'add', tgz]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Installed scripted-driver@1.0.0');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses git repositories, URLs, version ranges and tags before running npm', async () => {
    for (const spec of [
      'github:acme/driver',
      'git+https://example.invalid/acme/driver.git',
      'https://example.invalid/driver-1.0.0.tgz',
      'acme-driver',
      'acme-driver@^1.0.0',
      'acme-driver@latest',
      '@acme/driver@1.x'
    ]) {
      const result = await cli(path.join(root, 'refused-data'), ['driver', 'add', spec]);
      expect([spec, result.status]).toEqual([spec, 1]);
      expect(result.stderr).toMatch(/not an npm package name with an exact version \(name@1\.2\.3\) or a local \.tgz file/);
      expect(fs.existsSync(path.join(root, 'refused-data', 'drivers', 'package.json'))).toBe(false);
    }
  });

  it('lists the installed driver as loaded from the data dir', async () => {
    const json = await cli(dataDir, ['driver', 'list', '--json']);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as { loaded: { source: string }[]; refused: unknown[] };
    expect({ ...parsed, loaded: parsed.loaded.filter((d) => d.source === 'data_dir') }).toEqual({
      loaded: [
        {
          device_type: 'fixture_device',
          display_name: 'Fixture device',
          package: 'acme-fixture-driver',
          version: '1.0.0',
          source: 'data_dir',
          commands: ['reboot', 'get_status']
        }
      ],
      refused: []
    });

    const text = await cli(dataDir, ['driver', 'list']);
    expect(text.status).toBe(0);
    expect(text.stdout.split('\n')).toContain('fixture_device\tacme-fixture-driver@1.0.0\tdata_dir\t2 commands');
  });

  it('refuses a driver for an unsupported apiVersion and undoes the install', async () => {
    const tgz = await packDriver('acme-future-driver', 'future_device', 99);
    const result = await cli(dataDir, ['driver', 'add', tgz]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('acme-future-driver refused: driver apiVersion 99 is not supported (this manager supports 1); the install was undone');
    expect(result.stdout).not.toContain('Installed');
    expect(Object.keys(driverDeps(dataDir))).toEqual(['acme-fixture-driver']);
    expect(fs.existsSync(path.join(modules(), 'acme-future-driver'))).toBe(false);
    expect(fs.existsSync(path.join(modules(), 'acme-fixture-driver', 'index.js'))).toBe(true);
  });

  it('refuses a driver whose device type is already claimed, naming both packages, and undoes it', async () => {
    const tgz = await packDriver('acme-clash-driver', 'fixture_device');
    const result = await cli(dataDir, ['driver', 'add', tgz]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('device type "fixture_device" is claimed by two drivers');
    expect(result.stderr).toContain('acme-fixture-driver@1.0.0 (data_dir)');
    expect(result.stderr).toContain('acme-clash-driver@1.0.0 (data_dir)');
    expect(result.stderr).toContain('the install was undone');
    expect(Object.keys(driverDeps(dataDir))).toEqual(['acme-fixture-driver']);
    expect(fs.existsSync(path.join(modules(), 'acme-clash-driver'))).toBe(false);
  });

  it('refuses an upgrade to an incompatible version and puts the previous version back', async () => {
    const tgz = await packDriver('acme-fixture-driver', 'fixture_device', 99, '2.0.0');
    const result = await cli(dataDir, ['driver', 'add', tgz]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('acme-fixture-driver refused: driver apiVersion 99 is not supported');
    const installed = JSON.parse(fs.readFileSync(path.join(modules(), 'acme-fixture-driver', 'package.json'), 'utf8'));
    expect(installed.version).toBe('1.0.0');
    expect(driverDeps(dataDir)['acme-fixture-driver']).toMatch(/acme-fixture-driver-1\.0\.0\.tgz$/);
  });

  it('still loads only the first driver afterwards', async () => {
    const result = await cli(dataDir, ['driver', 'list', '--json']);
    expect(result.status).toBe(0);
    const listing = JSON.parse(result.stdout) as { loaded: { package: string; source: string }[]; refused: unknown[] };
    expect(listing.loaded.filter((d) => d.source === 'data_dir').map((d) => d.package)).toEqual(['acme-fixture-driver']);
    expect(listing.refused).toEqual([]);
  });
});
