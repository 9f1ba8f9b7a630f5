import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Manager } from '@bilbycast/core';
import { SimulatedDevice, type DeviceCredentials, type DeviceKind } from '@bilbycast/device-simulator';
import { createDefaultManager, defaultManifest } from '@bilbycast/manager';

export const DEMO_USERNAME = 'admin';
export const DEMO_PASSWORD = 'Demo-Passw0rd!';

/** The demo fleet: what a small broadcaster might run. */
export const DEMO_NODES: { name: string; kind: DeviceKind; device_type: string; description: string }[] = [
  { name: 'Sydney playout edge', kind: 'edge', device_type: 'edge', description: 'SRT contribution into the Sydney playout centre' },
  { name: 'Melbourne studio edge', kind: 'edge', device_type: 'edge', description: 'Studio 2 return feeds' },
  { name: 'Perth OB truck', kind: 'edge', device_type: 'edge', description: 'Outside broadcast unit 4' },
  { name: 'Cloud relay (ap-southeast-2)', kind: 'relay', device_type: 'relay', description: 'NAT traversal relay' },
  { name: 'Appear X chassis, MCR', kind: 'gateway', device_type: 'appear_x', description: 'Master control room encoder chassis' }
];

interface SavedDevice extends DeviceCredentials {
  name: string;
}

export interface Demo {
  manager: Manager;
  devices: SimulatedDevice[];
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the standard manager on `dataDir` with a demo administrator, registers the demo
 * nodes once (their credentials are kept in `<dataDir>/demo-fleet.json`, so a restart
 * reconnects the same nodes) and runs them as simulated devices.
 */
export async function startDemo(options: { dataDir: string; port: number; host?: string; env?: NodeJS.ProcessEnv }): Promise<Demo> {
  const config = loadConfig({
    env: options.env ?? {},
    plugins: defaultManifest.plugins,
    overrides: {
      data_dir: options.dataDir,
      host: options.host ?? '127.0.0.1',
      port: options.port,
      admin_username: DEMO_USERNAME,
      admin_password: DEMO_PASSWORD,
      log_level: 'warn'
    }
  });
  const manager = await createDefaultManager(config);
  await manager.start();
  const address = manager.server.listener.address() as { port: number };
  const url = `http://${config.host}:${address.port}`;
  const fleetFile = path.join(options.dataDir, 'demo-fleet.json');
  const saved: SavedDevice[] = fs.existsSync(fleetFile) ? (JSON.parse(fs.readFileSync(fleetFile, 'utf8')) as { devices: SavedDevice[] }).devices : [];

  const session = await signIn(manager);
  const existing = new Set(((await api(manager, session, 'GET', '/api/v1/nodes')) as { id: string }[]).map((n) => n.id));
  const devices: SimulatedDevice[] = [];
  for (const node of DEMO_NODES) {
    const known = saved.find((s) => s.name === node.name && existing.has(s.node_id));
    const registration = known
      ? { credentials: { node_id: known.node_id, node_secret: known.node_secret } }
      : {
          registration_token: (
            (await api(manager, session, 'POST', '/api/v1/nodes', { name: node.name, device_type: node.device_type, description: node.description })) as {
              registration_token: string;
            }
          ).registration_token
        };
    const device = new SimulatedDevice({
      url: `ws://${config.host}:${address.port}/ws/node`,
      kind: node.kind,
      name: node.name,
      reconnect_delay_ms: 2000,
      ...registration
    });
    device.on('credentials', (credentials: DeviceCredentials) => {
      const others = saved.filter((s) => s.name !== node.name);
      saved.splice(0, saved.length, ...others, { name: node.name, ...credentials });
      fs.writeFileSync(fleetFile, JSON.stringify({ devices: saved }, null, 2), { mode: 0o600 });
    });
    device.start();
    devices.push(device);
  }

  // Now and then something happens on the edges, so the events page and alarm badge move.
  const incidents = setInterval(() => {
    const edges = devices.filter((d) => d.kind === 'edge' && d.state === 'online');
    const edge = edges[Math.floor(Math.random() * edges.length)];
    edge?.raiseEvent(pick(INCIDENTS));
  }, 20_000).unref();

  return {
    manager,
    devices,
    url,
    async stop() {
      clearInterval(incidents);
      await Promise.all(devices.map((d) => d.stop()));
      await manager.stop();
    }
  };
}

const INCIDENTS = [
  { severity: 'warning', category: 'srt', message: 'SRT packet loss above 1% on contribution input', details: { error_code: 'srt_loss', loss_percent: 1.4 } },
  { severity: 'critical', category: 'srt', message: 'SRT input lost: no packets for 5 s', details: { error_code: 'input_lost' } },
  { severity: 'info', category: 'srt', message: 'SRT input recovered' },
  { severity: 'warning', category: 'system_resources', message: 'CPU above 85% for 60 s', details: { error_code: 'cpu_high', cpu_percent: 88 } }
];

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

/** Signs the demo administrator in; the session cookie and CSRF header for `api()`. */
async function signIn(manager: Manager): Promise<Record<string, string>> {
  const login = await manager.server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: DEMO_USERNAME, password: DEMO_PASSWORD } });
  if (login.statusCode !== 200)
    throw new Error(`the demo administrator cannot sign in (${login.statusCode}); was ${manager.context.config.data_dir} set up with another password?`);
  const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
  return { cookie: cookies.join('; '), 'x-csrf-token': (login.result as { csrf_token: string }).csrf_token };
}

async function api(manager: Manager, headers: Record<string, string>, method: string, url: string, payload?: object): Promise<unknown> {
  const res = await manager.server.inject({ method, url, payload, headers });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.payload}`);
  return res.result;
}

/** `npm run demo` */
export async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.BILBYCAST_DEMO_DATA_DIR ?? '.demo');
  const port = Number(process.env.BILBYCAST_PORT ?? 8080);
  const demo = await startDemo({ dataDir, port });
  console.log(`bilbycast-manager demo running at ${demo.url}
  sign in as "${DEMO_USERNAME}" with password "${DEMO_PASSWORD}"
  ${demo.devices.length} simulated devices: ${DEMO_NODES.map((n) => n.name).join(', ')}
  API documentation: ${demo.url}/documentation    data: ${dataDir}
  Ctrl-C stops it; the next run reconnects the same nodes.`);
  const shutdown = () => {
    demo.stop().then(
      () => process.exit(0),
      () => process.exit(1)
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
