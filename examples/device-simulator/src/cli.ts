/** The `bilbycast-simulator` command: a fleet of simulated devices against one manager. */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { SimulatedDevice } from './device';
import { createFleet } from './fleet';
import { DEVICE_KINDS, type DeviceCredentials, type DeviceKind, type SimulatedDeviceOptions } from './types';

const USAGE = `Usage: bilbycast-simulator --url ws://HOST:PORT/ws/node [options]

Simulated bilbycast devices that dial the manager's /ws/node.

  --url URL                 manager WebSocket URL (ws:// or wss://), required
  --edges N                 simulated edges (default 0)
  --relays N                simulated relays (default 0)
  --gateways N              simulated gateways (default 0)
  --tokens T1,T2,...        registration tokens, handed in order (edges, relays, gateways)
                            to the devices that have no saved credentials
  --token-file FILE         the same, one token per line (# comments allowed)
  --credentials FILE        JSON {devices:[{kind,name,node_id,node_secret}]}: read at start,
                            rewritten (mode 0600) on every registration and secret rotation
  --insecure                accept any TLS certificate (self-signed dev managers)
  --stats-interval-ms MS    stats cadence (default 1000, gateways 5000)
  --flows N                 flows per edge / IP inputs per gateway (default 2)
  --ramp-ms MS              spread the connection starts over MS milliseconds
  --quiet                   no line per device state change, only the periodic summary
  -h, --help                this text
`;

const SUMMARY_INTERVAL_MS = 5000;
/** Registrations arrive in bursts: coalesce credential file rewrites. */
const CREDENTIALS_WRITE_DELAY_MS = 200;

class UsageError extends Error {}

interface Writable {
  write(text: string): unknown;
}

export interface CliIo {
  stdout?: Writable;
  stderr?: Writable;
  /** Stops the fleet when aborted; without it SIGINT/SIGTERM do. */
  signal?: AbortSignal;
}

interface SavedDevice extends DeviceCredentials {
  kind: DeviceKind;
  name: string;
}

interface Plan {
  url: string;
  devices: Array<Omit<SimulatedDeviceOptions, 'url'>>;
  credentialsFile?: string;
  saved: Map<string, SavedDevice>;
  quiet: boolean;
  ramp_ms?: number;
}

const key = (kind: string, name: string) => `${kind}/${name}`;

function count(value: string | undefined, option: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${option} must be an integer ≥ ${min} (got '${value}')`);
  return Number(value);
}

function readTokenFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --token-file ${file}: ${(err as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function readCredentials(file: string): Map<string, SavedDevice> {
  const saved = new Map<string, SavedDevice>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return saved;
    throw new UsageError(`cannot read --credentials ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--credentials ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const list = (parsed as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(list)) throw new UsageError(`--credentials ${file} must hold {"devices": [...]}`);
  list.forEach((entry, i) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const valid = DEVICE_KINDS.includes(e.kind as DeviceKind) && [e.name, e.node_id, e.node_secret].every((v) => typeof v === 'string' && v !== '');
    if (!valid) throw new UsageError(`--credentials ${file}: devices[${i}] needs kind (edge|relay|gateway), name, node_id and node_secret`);
    const device = e as unknown as SavedDevice;
    saved.set(key(device.kind, device.name), { kind: device.kind, name: device.name, node_id: device.node_id, node_secret: device.node_secret });
  });
  return saved;
}

/** Parses the arguments into the devices to run; UsageError on anything wrong. */
function plan(argv: string[]): Plan | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        edges: { type: 'string' },
        relays: { type: 'string' },
        gateways: { type: 'string' },
        tokens: { type: 'string' },
        'token-file': { type: 'string' },
        credentials: { type: 'string' },
        insecure: { type: 'boolean' },
        'stats-interval-ms': { type: 'string' },
        flows: { type: 'string' },
        'ramp-ms': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!values.url) throw new UsageError('--url is required');
  if (!/^wss?:\/\/[^/]/i.test(values.url)) throw new UsageError(`--url must be a ws:// or wss:// URL (got '${values.url}')`);
  const counts: Record<DeviceKind, number> = {
    edge: count(values.edges, 'edges') ?? 0,
    relay: count(values.relays, 'relays') ?? 0,
    gateway: count(values.gateways, 'gateways') ?? 0
  };
  if (counts.edge + counts.relay + counts.gateway === 0) throw new UsageError('nothing to simulate: give --edges, --relays and/or --gateways');
  if (values.tokens !== undefined && values['token-file'] !== undefined) throw new UsageError('give --tokens or --token-file, not both');
  const tokens =
    values['token-file'] !== undefined
      ? readTokenFile(values['token-file'])
      : (values.tokens ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '');
  const saved = values.credentials !== undefined ? readCredentials(values.credentials) : new Map<string, SavedDevice>();
  const statsInterval = count(values['stats-interval-ms'], 'stats-interval-ms', 1);
  const flows = count(values.flows, 'flows');

  const devices: Plan['devices'] = [];
  let nextToken = 0;
  let missing = 0;
  for (const kind of DEVICE_KINDS) {
    for (let i = 1; i <= counts[kind]; i++) {
      const name = `${kind}-${i}`;
      const found = saved.get(key(kind, name));
      const device: Omit<SimulatedDeviceOptions, 'url'> = { kind, name };
      if (found) device.credentials = { node_id: found.node_id, node_secret: found.node_secret };
      else if (nextToken < tokens.length) device.registration_token = tokens[nextToken++];
      else missing++;
      if (values.insecure) device.tls = { rejectUnauthorized: false };
      if (statsInterval !== undefined) device.stats_interval_ms = statsInterval;
      if (flows !== undefined) device.flows = flows;
      devices.push(device);
    }
  }
  if (missing > 0) {
    throw new UsageError(
      `${missing} device(s) have neither saved credentials nor a registration token ` +
        `(${tokens.length} token(s), ${saved.size} saved credential(s)); add tokens with --tokens or --token-file`
    );
  }
  return { url: values.url, devices, credentialsFile: values.credentials, saved, quiet: values.quiet === true, ramp_ms: count(values['ramp-ms'], 'ramp-ms') };
}

/** Rewrites the credentials file (mode 0600, atomically) shortly after each change. */
function credentialStore(file: string, saved: Map<string, SavedDevice>, stderr: Writable) {
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, `${JSON.stringify({ devices: [...saved.values()] }, null, 2)}\n`, { mode: 0o600 });
      fs.chmodSync(tmp, 0o600);
      fs.renameSync(tmp, file);
    } catch (err) {
      stderr.write(`bilbycast-simulator: cannot write --credentials ${file}: ${(err as Error).message}\n`);
    }
  };
  return {
    update(kind: DeviceKind, name: string, credentials: DeviceCredentials) {
      saved.set(key(kind, name), { kind, name, ...credentials });
      timer ??= setTimeout(flush, CREDENTIALS_WRITE_DELAY_MS);
    },
    /** Writes now if a change is pending. */
    close() {
      if (timer) flush();
    }
  };
}

function stopSignal(io: CliIo): Promise<void> {
  if (io.signal) {
    const signal = io.signal;
    return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Runs the command until stopped; resolves with the exit code (2 for bad arguments). */
export async function runCli(argv: string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let setup: Plan | 'help';
  try {
    setup = plan(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr.write(`bilbycast-simulator: ${err.message}\nRun 'bilbycast-simulator --help' for usage.\n`);
    return 2;
  }
  if (setup === 'help') {
    stdout.write(USAGE);
    return 0;
  }
  const { url, quiet } = setup;
  const store = setup.credentialsFile ? credentialStore(setup.credentialsFile, setup.saved, stderr) : undefined;
  const fleet = createFleet({ url, devices: setup.devices, ramp_ms: setup.ramp_ms });
  const log = (line: string) => stdout.write(`${new Date().toISOString()} ${line}\n`);
  const online = () => fleet.devices.filter((d) => d.state === 'online').length;
  const summary = () => log(`online ${online()}/${fleet.devices.length}`);

  for (const device of fleet.devices) watch(device);
  function watch(device: SimulatedDevice) {
    let reason = '';
    device.on('credentials', (credentials) => store?.update(device.kind, device.name, credentials));
    device.on('disconnected', (why) => (reason = why));
    if (quiet) return;
    device.on('registered', (credentials) => log(`${device.name} registered as ${credentials.node_id}`));
    device.on('auth_error', (message) => log(`${device.name} auth_error: ${message}`));
    device.on('state', (state) => log(`${device.name} ${state}${state === 'backoff' && reason ? ` (${reason})` : ''}`));
  }

  fleet.start();
  const summaryTimer = setInterval(summary, SUMMARY_INTERVAL_MS);
  await stopSignal(io);
  clearInterval(summaryTimer);
  await fleet.stop();
  store?.close();
  summary();
  return 0;
}

/** Entry point of bin/bilbycast-simulator.js. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runCli(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bilbycast-simulator: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  );
}
