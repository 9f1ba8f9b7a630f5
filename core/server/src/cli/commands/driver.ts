import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../config/errors';
import { DATA_DIR_DRIVERS, discoverDrivers, type LoadedDriver, type RefusedDriver } from '../../drivers/discovery';
import { describeDriver } from '../../drivers/registry';
import { commandConfig, commandManager } from '../command-context';
import { CommandFailed, type CliManifest } from '../program';

/** `driver list` and `driver add <npm-spec>`. */
export function registerDriverCommands(program: Command, manifest: CliManifest): void {
  const driver = program.command('driver').description('list and install device drivers');

  driver
    .command('list')
    .description('list loaded drivers and refused ones with the reason')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = commandConfig(manifest, program.opts(), true);
      const manager = await commandManager(manifest, config);
      await manager.context.db.destroy();
      const { drivers } = manager.context;
      if (opts.json) {
        console.log(JSON.stringify({ loaded: drivers.list().map(describeDriver), refused: drivers.refused }, null, 2));
        return;
      }
      for (const d of drivers.list()) {
        console.log(`${d.definition.device_type}\t${d.package}@${d.version}\t${d.source}\t${d.definition.commands.length} commands`);
      }
      for (const r of drivers.refused) console.log(`refused\t${r.package}@${r.version ?? '?'}\t${r.source}\t${r.reason}`);
      if (drivers.list().length === 0 && drivers.refused.length === 0) console.log('No drivers.');
    });

  driver
    .command('add <package>')
    .description(
      'install a driver into <data_dir>/drivers — name@1.2.3 from the npm registry, or a local .tgz — with npm (install scripts never run) and check that it loads; restart to use it'
    )
    .action(async (spec: string) => {
      const source = driverSource(spec);
      const config = commandConfig(manifest, program.opts(), true);
      console.log(`Installing ${source.description} (install scripts are not run)…`);
      const dir = path.join(config.data_dir, DATA_DIR_DRIVERS);
      const manifestFile = path.join(dir, 'package.json');
      fs.mkdirSync(dir, { recursive: true });
      if (!fs.existsSync(manifestFile)) {
        const initial = { name: 'bilbycast-drivers', private: true, description: 'Drivers installed with bilbycast-manager driver add', dependencies: {} };
        fs.writeFileSync(manifestFile, `${JSON.stringify(initial, null, 2)}\n`);
      }
      const lockFile = path.join(dir, 'package-lock.json');
      const before = fs.readFileSync(manifestFile, 'utf8');
      const lockBefore = fs.existsSync(lockFile) ? fs.readFileSync(lockFile, 'utf8') : undefined;
      const depsBefore = dependencies(before);

      runNpm(['install', '--save', '--save-exact', '--omit=dev', '--legacy-peer-deps', source.spec], dir);
      const depsAfter = dependencies(fs.readFileSync(manifestFile, 'utf8'));
      const changed = Object.keys(depsAfter).filter((name) => depsAfter[name] !== depsBefore[name]);
      // Puts package.json and the lock file back, and lets npm bring node_modules in line with
      // them: a new package is pruned, an upgraded one returns to its previous version.
      const undo = () => {
        fs.writeFileSync(manifestFile, before);
        if (lockBefore === undefined) fs.rmSync(lockFile, { force: true });
        else fs.writeFileSync(lockFile, lockBefore);
        runNpm(['install', '--omit=dev', '--legacy-peer-deps'], dir);
      };

      let found: { loaded: LoadedDriver[]; refused: RefusedDriver[] };
      try {
        found = await discoverDrivers({
          builtin: manifest.builtinDrivers,
          configured: config.drivers,
          dataDir: config.data_dir,
          integrator: [],
          resolvePaths: manifest.driverResolvePaths
        });
      } catch (err) {
        undo();
        if (err instanceof ConfigError) throw new CommandFailed(`${err.message}; the install was undone`);
        throw err;
      }
      const refused = found.refused.filter((r) => r.source === 'data_dir' && changed.includes(r.package));
      if (refused.length > 0) {
        undo();
        throw new CommandFailed(refused.map((r) => `${r.package} refused: ${r.reason}`).join('; ') + '; the install was undone');
      }
      const integrity = lockedIntegrity(lockFile);
      for (const d of found.loaded.filter((l) => l.source === 'data_dir' && changed.includes(l.package))) {
        console.log(`Installed ${d.package}@${d.version}: device type "${d.definition.device_type}" (${d.definition.commands.length} commands).`);
        // Recorded in <data_dir>/drivers/package-lock.json: what was checked is what later installs get.
        if (integrity[d.package]) console.log(`Integrity ${integrity[d.package]}`);
      }
      console.log('Restart the manager to load it.');
    });
}

/** A registry package at one exact version, e.g. `@acme/bilbycast-driver-x@1.2.3`. */
const EXACT_REGISTRY_SPEC = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*@\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * What `driver add` may install, and how to say it: a registry package at an exact version,
 * or a local `.tgz` file. Git repositories, URLs, version ranges and tags are refused: what is
 * checked must be exactly what gets installed.
 */
export function driverSource(spec: string): { spec: string; description: string } {
  if (EXACT_REGISTRY_SPEC.test(spec)) return { spec, description: `${spec} from the npm registry` };
  if (spec.endsWith('.tgz') && !/^[a-z][a-z0-9+.-]*:/i.test(spec)) {
    const file = path.resolve(spec);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new CommandFailed(`no such file: ${file}`);
    return { spec: file, description: `the local package ${file}` };
  }
  throw new CommandFailed(
    `"${spec}" is not an npm package name with an exact version (name@1.2.3) or a local .tgz file; git repositories, URLs, version ranges and tags are refused`
  );
}

/** Integrity hashes of the installed packages, as npm recorded them in the lock file. */
function lockedIntegrity(lockFile: string): Record<string, string> {
  if (!fs.existsSync(lockFile)) return {};
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { packages?: Record<string, { integrity?: string }> };
  const found: Record<string, string> = {};
  for (const [where, entry] of Object.entries(lock.packages ?? {})) {
    if (where.startsWith('node_modules/') && entry.integrity) found[where.slice('node_modules/'.length)] = entry.integrity;
  }
  return found;
}

function dependencies(manifestText: string): Record<string, string> {
  return (JSON.parse(manifestText) as { dependencies?: Record<string, string> }).dependencies ?? {};
}

function runNpm(args: string[], cwd: string): void {
  // --ignore-scripts: npm runs none of the install scripts a package (or its dependencies)
  // ships; its code first runs when the check below loads it, as it would in the manager.
  const result = spawnSync('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier'], {
    cwd,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, npm_config_prefix: undefined, npm_config_workspace: undefined }
  });
  if (result.error) throw new CommandFailed(`could not run npm: ${result.error.message}`);
  if (result.status !== 0) throw new CommandFailed(`npm ${args[0]} failed (exit ${result.status})`);
}
