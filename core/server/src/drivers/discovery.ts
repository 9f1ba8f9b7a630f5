import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SUPPORTED_DRIVER_API_VERSIONS, describeDriverProblem, type DriverDefinition } from '@bilbycast/driver-sdk';
import { ConfigError } from '../config/errors';

/** Where a driver came from. */
export type DriverSource = 'builtin' | 'config' | 'data_dir' | 'integrator';

export interface LoadedDriver {
  definition: DriverDefinition;
  package: string;
  version: string;
  source: DriverSource;
}

export interface RefusedDriver {
  package: string;
  version?: string;
  source: DriverSource;
  reason: string;
}

export interface DriverDiscoveryOptions {
  /** Package names shipped with this build (the deployment's own dependencies). */
  builtin: string[];
  /** Package names from the `drivers` config option. */
  configured: string[];
  /** The data dir; `<data_dir>/drivers/package.json` lists operator-installed drivers. */
  dataDir: string;
  /** Driver objects an integrator passes to createManager() directly. */
  integrator: { definition: unknown; package: string; version: string }[];
  /** Folders from which builtin and configured package names are resolved. */
  resolvePaths: string[];
}

export const DATA_DIR_DRIVERS = 'drivers';

/** The `bilbycast` block a driver package declares in its package.json. */
interface DriverManifest {
  driver: string;
  apiVersion: number;
}

/**
 * Finds and loads every driver. A driver that cannot be used is refused with a reason and
 * startup goes on; two drivers claiming one device type stop startup with a ConfigError
 * naming both packages.
 */
export async function discoverDrivers(options: DriverDiscoveryOptions): Promise<{
  loaded: LoadedDriver[];
  refused: RefusedDriver[];
}> {
  const loaded: LoadedDriver[] = [];
  const refused: RefusedDriver[] = [];
  const accept = (result: LoadedDriver | RefusedDriver) => {
    if ('reason' in result) {
      refused.push(result);
      return;
    }
    const clash = loaded.find((d) => d.definition.device_type === result.definition.device_type);
    if (clash) {
      throw new ConfigError(
        `device type "${result.definition.device_type}" is claimed by two drivers: ` +
          `${clash.package}@${clash.version} (${clash.source}) and ${result.package}@${result.version} (${result.source})`
      );
    }
    loaded.push(result);
  };

  for (const name of options.builtin) accept(await loadDriverPackage(name, 'builtin', options.resolvePaths));
  for (const name of options.configured) accept(await loadDriverPackage(name, 'config', options.resolvePaths));
  for (const name of dataDirDriverNames(options.dataDir)) {
    const driversDir = path.join(options.dataDir, DATA_DIR_DRIVERS);
    linkDriverSdk(driversDir);
    accept(await loadDriverPackage(name, 'data_dir', [driversDir]));
  }
  for (const entry of options.integrator) {
    const problem = describeDriverProblem(entry.definition);
    accept(
      problem
        ? { package: entry.package, version: entry.version, source: 'integrator', reason: `invalid driver: ${problem}` }
        : { definition: entry.definition as DriverDefinition, package: entry.package, version: entry.version, source: 'integrator' }
    );
  }
  return { loaded, refused };
}

/** Names listed as dependencies in `<data_dir>/drivers/package.json` (none if it is absent). */
export function dataDirDriverNames(dataDir: string): string[] {
  const manifest = path.join(dataDir, DATA_DIR_DRIVERS, 'package.json');
  if (!fs.existsSync(manifest)) return [];
  let parsed: { dependencies?: Record<string, string> };
  try {
    parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new ConfigError(`${manifest} is not valid JSON: ${(err as Error).message}`);
  }
  return Object.keys(parsed.dependencies ?? {});
}

/**
 * Drivers installed in the data dir import `@bilbycast/driver-sdk` as a peer dependency; link
 * the host's own copy there so they share it (npm install does not fetch it for them).
 */
function linkDriverSdk(driversDir: string): void {
  const target = path.join(driversDir, 'node_modules', '@bilbycast', 'driver-sdk');
  const sdkDir = path.dirname(require.resolve('@bilbycast/driver-sdk/package.json'));
  const existing = fs.lstatSync(target, { throwIfNoEntry: false });
  if (existing) {
    // A real folder is the operator's choice; a link is ours, replaced when it dangles or
    // points at another copy (the manager was moved or reinstalled elsewhere).
    if (!existing.isSymbolicLink()) return;
    if (fs.existsSync(target) && fs.realpathSync(target) === fs.realpathSync(sdkDir)) return;
    fs.unlinkSync(target);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.symlinkSync(sdkDir, target, 'dir');
}

async function loadDriverPackage(name: string, source: DriverSource, resolvePaths: string[]): Promise<LoadedDriver | RefusedDriver> {
  const refuse = (reason: string, version?: string): RefusedDriver => ({ package: name, version, source, reason });

  const manifestPath = findPackageManifest(name, resolvePaths);
  if (!manifestPath) return refuse('package is not installed');
  let pkg: { version?: string; bilbycast?: Partial<DriverManifest> };
  try {
    pkg = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as typeof pkg;
  } catch (err) {
    return refuse(`package.json cannot be read: ${(err as Error).message}`);
  }
  const version = pkg.version ?? '0.0.0';
  const block = pkg.bilbycast;
  if (!block || typeof block.driver !== 'string' || typeof block.apiVersion !== 'number') {
    return refuse('package.json has no "bilbycast": { "driver", "apiVersion" } block', version);
  }
  if (!SUPPORTED_DRIVER_API_VERSIONS.includes(block.apiVersion)) {
    return refuse(`driver apiVersion ${block.apiVersion} is not supported (this manager supports ${SUPPORTED_DRIVER_API_VERSIONS.join(', ')})`, version);
  }

  let exported: unknown;
  try {
    exported = await importModule(path.resolve(path.dirname(manifestPath), block.driver));
  } catch (err) {
    return refuse(`driver entry ${block.driver} failed to load: ${(err as Error).message}`, version);
  }
  const definition = pickDriverExport(exported);
  const problem = describeDriverProblem(definition);
  if (problem) return refuse(`invalid driver export: ${problem}`, version);
  return { definition: definition as DriverDefinition, package: name, version, source };
}

/** A package's package.json as Node resolves `name` from `paths`, even when its "exports" map hides it. */
function findPackageManifest(name: string, paths: string[]): string | undefined {
  try {
    return require.resolve(`${name}/package.json`, { paths });
  } catch {
    // Not found, or ERR_PACKAGE_PATH_NOT_EXPORTED: look in the node_modules folders directly.
  }
  for (const start of paths) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name, 'package.json');
      if (fs.existsSync(candidate)) return candidate;
      if (path.dirname(dir) === dir) break;
    }
  }
  return undefined;
}

/** CommonJS drivers load with require(); ESM-only ones through import(). */
async function importModule(file: string): Promise<unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a driver package found at run time, not an import of this one
    return require(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw err;
    return import(pathToFileURL(file).href);
  }
}

function pickDriverExport(mod: unknown): unknown {
  const m = mod as { default?: unknown; driver?: unknown } | null;
  if (m && typeof m === 'object') {
    if (m.driver !== undefined) return m.driver;
    if (m.default !== undefined) {
      const inner = m.default as { driver?: unknown };
      return inner && typeof inner === 'object' && inner.driver !== undefined ? inner.driver : m.default;
    }
  }
  return mod;
}
